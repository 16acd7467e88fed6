// A session JobManager on the local driver with real tailor-taskmanager
// processes: jobs submitted over RPC share TaskManagers, run side by side
// with the same stage names, are cancelled one by one, and Stop ends it all.

#include "scheduler/session_runner.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "common/http/client.hpp"
#include "common/rpc.hpp"
#include "common/secret.hpp"
#include "scheduler/session_flags.hpp"
#include "tailor/v1/rpc.pb.h"
#include "tailor/v1/session.pb.h"
#include "tests/common/temp_dir.hpp"

namespace tailor::scheduler {
namespace {

using test::TempDir;

// Two stages named alike in every job: upper-cases its files, then sorts.
std::string twoStageSpec(const std::string& name, const std::string& firstCommand = "tr a-z A-Z") {
  return "name: " + name +
         "\n"
         "stages:\n"
         "  - name: shout\n"
         "    parallelism: 2\n"
         "    resources: {cpus: 0.25, mem: 64MiB}\n"
         "    input: {files: [\"data/*.txt\"]}\n"
         "    command: \"" +
         firstCommand +
         "\"\n"
         "  - name: sort\n"
         "    parallelism: 1\n"
         "    resources: {cpus: 0.25, mem: 64MiB}\n"
         "    inputs:\n"
         "      - {stage: shout, partitioning: hash}\n"
         "    env: {LC_ALL: C}\n"
         "    command: sort\n";
}

v1::SessionSubmitJobRequest submission(const std::string& id, const std::string& spec) {
  v1::SessionSubmitJobRequest request;
  request.set_job_id(id);
  request.set_spec_name("job.yaml");
  request.set_spec_yaml(spec);
  auto* a = request.add_files();
  a->set_path("data/a.txt");
  a->set_content("pear\napple\n");
  auto* b = request.add_files();
  b->set_path("data/b.txt");
  b->set_content("fig\n" + id + "\n");
  return request;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SessionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SessionRunOptions options;
    options.name = "test";
    options.workDir = temp_.str() + "/session";
    options.taskManagerBinary = TAILOR_TASKMANAGER_BINARY;
    options.localResources = Resources{2000, 2048, 10000, 0};
    options.idleTimeout = Duration(60000);
    options.heartbeatInterval = Duration(200);
    options.logLevel = "warn";
    std::promise<std::string> listening;
    auto address = listening.get_future();
    options.listening = [&listening](const std::string& at) { listening.set_value(at); };
    // The session's secret, as a Dispatcher gives it; the runtime makes it
    // this process's call secret, which the calls below carry.
    ::setenv(secret::kEnvironmentVariable, "the session's secret", 1);
    session_ = std::thread([this, options] { result_ = runSession(options); });
    ASSERT_EQ(address.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    address_ = address.get();
  }

  void TearDown() override {
    if (session_.joinable()) {
      v1::SessionStopRequest stop;
      (void)call<v1::SessionStopResponse>("Stop", stop);
      session_.join();
    }
    rpc::setCallSecret("");
  }

  // One RPC to the session; an error for a failed call or an error answer.
  template <typename Response, typename Request>
  Result<Response> call(const std::string& method, const Request& request,
                        const std::string& service = "Session") {
    http::ClientRequest call;
    call.method = "POST";
    call.url = "http://" + address_ + rpc::methodPath(service, method);
    call.headers = {{"Content-Type", rpc::kContentType}, {"Accept", rpc::kContentType}};
    call.body = request.SerializeAsString();
    call.timeout = Duration(10000);
    rpc::addCallSecret(call);
    auto answer = http::performBlocking(call);
    if (!answer.ok()) return answer.error();
    if (answer->status / 100 != 2) {
      return makeError(ErrorCode::kInternal, "HTTP {}: {}", answer->status, answer->body);
    }
    Response response;
    if (!response.ParseFromString(answer->body)) {
      return makeError(ErrorCode::kInternal, "bad answer");
    }
    return response;
  }

  v1::SessionStatus status() {
    auto got = call<v1::SessionStatus>("GetStatus", v1::SessionStatusRequest());
    EXPECT_TRUE(got.ok()) << got.error().message;
    return got.ok() ? *got : v1::SessionStatus();
  }

  static const v1::SessionJob* findJob(const v1::SessionStatus& status, const std::string& id) {
    for (const auto& job : status.jobs()) {
      if (job.job_id() == id) return &job;
    }
    return nullptr;
  }

  // Waits (30 s at most) until job `id` is in `state`; returns its last view.
  v1::SessionJob waitForState(const std::string& id, v1::JobState state) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    v1::SessionJob last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto now = status();
      if (const auto* job = findJob(now, id)) {
        last = *job;
        if (job->state() == state) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " is " << v1::JobState_Name(last.state()) << ", not "
                  << v1::JobState_Name(state) << ": " << last.error();
    return last;
  }

  void submit(const v1::SessionSubmitJobRequest& request) {
    auto answer = call<v1::SessionSubmitJobResponse>("SubmitJob", request);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    ASSERT_TRUE(answer->accepted()) << answer->reason();
  }

  std::string jobFile(const std::string& id, const std::string& file) {
    return temp_.str() + "/session/jobs/" + id + "/" + file;
  }

  TempDir temp_;
  std::thread session_;
  Status result_;
  std::string address_;
};

TEST_F(SessionRunnerTest, JobsShareTaskManagersAreCancelledAloneAndStopEndsTheSession) {
  // Two jobs at once, with the same stage names.
  submit(submission("job-a", twoStageSpec("alpha")));
  submit(submission("job-b", twoStageSpec("beta")));
  waitForState("job-a", v1::FINISHED);
  waitForState("job-b", v1::FINISHED);
  EXPECT_EQ(readFile(jobFile("job-a", "output/part-00000")), "APPLE\nFIG\nJOB-A\nPEAR\n");
  EXPECT_EQ(readFile(jobFile("job-b", "output/part-00000")), "APPLE\nFIG\nJOB-B\nPEAR\n");
  EXPECT_NE(readFile(jobFile("job-a", "report.json")).find("\"FINISHED\""), std::string::npos);

  // A third job runs on the TaskManagers the first two left.
  submit(submission("job-c", twoStageSpec("gamma")));
  auto jobC = waitForState("job-c", v1::FINISHED);
  EXPECT_EQ(readFile(jobFile("job-c", "output/part-00000")), "APPLE\nFIG\nJOB-C\nPEAR\n");
  EXPECT_GT(jobC.taskmanagers_size(), 0);
  auto afterThree = status();
  EXPECT_EQ(afterThree.name(), "test");
  EXPECT_EQ(afterThree.state(), v1::SESSION_RUNNING);
  EXPECT_EQ(afterThree.jobs_size(), 3);
  EXPECT_LT(afterThree.taskmanagers_launched(), 3) << "TaskManagers are shared by the jobs";
  EXPECT_GT(afterThree.taskmanagers_launched(), 0);
  int running = 0;
  for (const auto& tm : afterThree.taskmanagers()) running += tm.state() == "running" ? 1 : 0;
  EXPECT_GT(running, 0) << "idle TaskManagers stay for the next job";

  // One job is cancelled while another finishes.
  submit(submission("slow", twoStageSpec("slow", "sleep 30; cat")));
  submit(submission("quick", twoStageSpec("quick")));
  waitForState("quick", v1::FINISHED);
  v1::SessionCancelJobRequest cancel;
  cancel.set_job_id("slow");
  cancel.set_reason("test cancel");
  auto cancelled = call<v1::SessionCancelJobResponse>("CancelJob", cancel);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_TRUE(cancelled->known());
  auto slow = waitForState("slow", v1::CANCELED);
  EXPECT_EQ(slow.error(), "test cancel");
  EXPECT_EQ(findJob(status(), "quick")->state(), v1::FINISHED);
  cancel.set_job_id("never-submitted");
  EXPECT_FALSE(call<v1::SessionCancelJobResponse>("CancelJob", cancel)->known());

  // Updates of an ended job are heard and dropped; of an unknown job refused.
  v1::TaskStateUpdate update;
  update.set_job_id("job-a");
  update.set_attempt_id("shout[0]#1");
  update.set_state(v1::TASK_FINISHED);
  EXPECT_TRUE(call<v1::TaskStateUpdateResponse>("UpdateTaskState", update, "JobMaster").ok());
  update.set_job_id("nope");
  EXPECT_FALSE(call<v1::TaskStateUpdateResponse>("UpdateTaskState", update, "JobMaster").ok());

  auto stopped = call<v1::SessionStopResponse>("Stop", v1::SessionStopRequest());
  ASSERT_TRUE(stopped.ok());
  session_.join();
  EXPECT_TRUE(result_.ok());
}

TEST_F(SessionRunnerTest, CallsWithoutTheSessionsSecretAreRefused) {
  for (const std::string& secret : {std::string(), std::string("another session's secret")}) {
    http::ClientRequest call;
    call.method = "POST";
    call.url = "http://" + address_ + rpc::methodPath("Session", "GetStatus");
    if (!secret.empty()) call.headers.emplace_back(secret::kHeader, secret);
    call.body = v1::SessionStatusRequest().SerializeAsString();
    auto answer = http::performBlocking(call);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->status, 401) << secret;
  }
  EXPECT_TRUE(call<v1::SessionStatus>("GetStatus", v1::SessionStatusRequest()).ok());
}

TEST_F(SessionRunnerTest, RefusesBadSpecsUnsafePathsDuplicatesAndJobsWhileStopping) {
  auto refused = [&](const v1::SessionSubmitJobRequest& request) {
    auto answer = call<v1::SessionSubmitJobResponse>("SubmitJob", request);
    EXPECT_TRUE(answer.ok());
    EXPECT_FALSE(answer->accepted());
    return answer->reason();
  };
  EXPECT_NE(refused(submission("bad", "name: x\nstages: [\n")).find("job.yaml"),
            std::string::npos);
  auto climbing = submission("climb", twoStageSpec("climb"));
  climbing.mutable_files(0)->set_path("../outside.txt");
  EXPECT_NE(refused(climbing).find("'..'"), std::string::npos);
  auto absolute = submission("absolute", twoStageSpec("absolute"));
  absolute.mutable_files(0)->set_path("/etc/x");
  EXPECT_NE(refused(absolute).find("relative"), std::string::npos);
  EXPECT_NE(refused(submission("../up", twoStageSpec("up"))).find("job_id"), std::string::npos);

  submit(submission("slow", twoStageSpec("slow", "sleep 30; cat")));
  EXPECT_NE(refused(submission("slow", twoStageSpec("again"))).find("already"),
            std::string::npos);

  // Stop cancels the running job and ends the session.
  ASSERT_TRUE(call<v1::SessionStopResponse>("Stop", v1::SessionStopRequest()).ok());
  session_.join();
  EXPECT_TRUE(result_.ok());
  EXPECT_NE(readFile(jobFile("slow", "report.json")).find("\"CANCELED\""), std::string::npos);
}

TEST(SessionFlagsTest, NamesAreCheckedAndJobFlagsRefused) {
  EXPECT_TRUE(checkSessionName("nightly-2").ok());
  for (const char* bad : {"", "2nd", "Upper", "has_underscore", "-x"}) {
    EXPECT_FALSE(checkSessionName(bad).ok()) << bad;
  }
  EXPECT_FALSE(checkSessionName(std::string(65, 'a')).ok());
  EXPECT_TRUE(checkSessionName(std::string(64, 'a')).ok());

  PerJobFlags flags;
  SessionFlags session;
  session.name = "s";
  session.minResources = "cpus=1,mem=512";
  auto options = resolveSessionFlags(flags, session);
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->idleTimeout, Duration(60000));
  EXPECT_EQ(options->minResources, (Resources{1000, 512, 0, 0}));
  EXPECT_NE(options->workDir.find("session-s"), std::string::npos);

  flags.haStore = "local:/tmp/x";
  auto ha = resolveSessionFlags(flags, session);
  ASSERT_FALSE(ha.ok());
  EXPECT_NE(ha.error().message.find("--ha-store"), std::string::npos);
  flags.haStore.clear();

  session.minResources = "cpus=lots";
  auto minimum = resolveSessionFlags(flags, session);
  ASSERT_FALSE(minimum.ok());
  EXPECT_NE(minimum.error().message.find("--session-min-resources"), std::string::npos);
  session.minResources.clear();

  session.idleTimeout = "soon";
  EXPECT_NE(resolveSessionFlags(flags, session).error().message.find("--session-idle-timeout"),
            std::string::npos);
  session.idleTimeout = "60s";

  flags.sizing = "fixed";
  auto fixed = resolveSessionFlags(flags, session);
  ASSERT_FALSE(fixed.ok());
  EXPECT_NE(fixed.error().message.find("--taskmanager-slot"), std::string::npos);
}

}  // namespace
}  // namespace tailor::scheduler
