// TaskManager with attempts of several jobs, as a session's TaskManagers run
// them: a real TaskManager on a real loop (its attempts are real processes),
// its ResourceManager and JobMaster played by a fake HTTP client that
// answers registrations and heartbeats and records every RPC. Two jobs use
// the same attempt id. Waits are condition-variable waits on "an RPC came";
// no sleeps in the test (the commands poll for a file to go on).

#include "executor/task_manager.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/rpc.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::executor {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using test::TempDir;

// The ResourceManager and JobMasters the TaskManager calls, answered on its
// loop. Registrations are accepted, heartbeats known (and, once asked,
// answered with register_again), task updates recorded and acknowledged.
// Thread-safe: `mutex_` guards the records.
class FakeJobManager : public http::HttpClient {
 public:
  explicit FakeJobManager(EventLoop& loop) : loop_(loop) {}

  void send(http::ClientRequest request, Callback done) override {
    std::string path = request.url.substr(request.url.find("/rpc/"));
    http::ClientResponse response;
    response.status = 200;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (path == "/rpc/ResourceManager/RegisterTaskManager") {
        v1::RegisterTaskManagerRequest registration;
        registration.ParseFromString(request.body);
        registrations_.push_back(registration);
        v1::RegisterTaskManagerResponse answer;
        answer.set_accepted(true);
        answer.set_heartbeat_interval_ms(20);
        answer.set_heartbeat_timeout_ms(60000);
        response.body = answer.SerializeAsString();
      } else if (path == "/rpc/ResourceManager/Heartbeat") {
        v1::HeartbeatRequest heartbeat;
        heartbeat.ParseFromString(request.body);
        heartbeats_.push_back(heartbeat);
        v1::HeartbeatResponse answer;
        answer.set_known(true);
        answer.set_register_again(registerAgain_);
        registerAgain_ = false;
        response.body = answer.SerializeAsString();
      } else if (path == "/rpc/JobMaster/UpdateTaskState") {
        v1::TaskStateUpdate update;
        update.ParseFromString(request.body);
        updates_.push_back(update);
      } else {
        response.status = 404;
      }
    }
    changed_.notify_all();
    loop_.post([done = std::move(done), response = std::move(response)] { done(response); });
  }

  // Waits up to 20 s for `ready` (called under the lock) to hold.
  bool waitFor(const std::function<bool()>& ready) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), ready);
  }

  // The next heartbeat tells the TaskManager to register again.
  void askToRegisterAgain() {
    std::lock_guard<std::mutex> lock(mutex_);
    registerAgain_ = true;
  }

  std::vector<v1::TaskStateUpdate> updates() {
    std::lock_guard<std::mutex> lock(mutex_);
    return updates_;
  }
  std::vector<v1::RegisterTaskManagerRequest> registrations() {
    std::lock_guard<std::mutex> lock(mutex_);
    return registrations_;
  }
  std::vector<v1::HeartbeatRequest> heartbeats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heartbeats_;
  }
  size_t updateCount() const { return updates_.size(); }  // under the lock (waitFor)
  size_t registrationCount() const { return registrations_.size(); }
  const std::vector<v1::HeartbeatRequest>& heartbeatsLocked() const { return heartbeats_; }
  const std::vector<v1::TaskStateUpdate>& updatesLocked() const { return updates_; }

 private:
  EventLoop& loop_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::RegisterTaskManagerRequest> registrations_;
  std::vector<v1::HeartbeatRequest> heartbeats_;
  std::vector<v1::TaskStateUpdate> updates_;
  bool registerAgain_ = false;
};

class TaskManagerTest : public ::testing::Test {
 protected:
  TaskManagerTest()
      : jobManager_(loop_), rpc_(jobManager_), server_(loop_, "127.0.0.1", 0), rpcServer_(server_) {
    TaskManagerConfig config;
    config.id = "tm-1";
    config.resourceManagerAddress = "jm.test:1";
    config.resources = Resources{};
    config.workDir = workDir();
    config.taskLogDir = (temp_.path() / "logs").string();
    // A leader to register with again when told to (docs/ha.md).
    config.jobManagerSource = "local:" + (temp_.path() / "ha").string();
    config.jobManagerLossTimeout = Duration(60000);
    temp_.write("ha/leader", "jm.test:1\n");
    taskManager_ = std::make_unique<TaskManager>(loop_, server_, rpc_, config, [](int) {});
    taskManager_->addRoutes(rpcServer_);
    auto port = server_.start();
    EXPECT_TRUE(port.ok());
    thread_ = std::thread([this] { loop_.run(); });
    onLoop([&] { taskManager_->start(port.ok() ? *port : 0); });
    EXPECT_TRUE(jobManager_.waitFor([&] { return jobManager_.registrationCount() == 1; }));
  }

  ~TaskManagerTest() override {
    onLoop([&] { taskManager_->shutdown("the test is over", 0); });
    loop_.stop();
    thread_.join();
    taskManager_.reset();
  }

  // Runs `fn` on the loop and returns what it returns.
  template <typename Fn>
  auto onLoop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    loop_.post([&task] { task(); });
    return result.get();
  }

  std::string workDir() const { return (temp_.path() / "work").string(); }
  std::string goFile() const { return (temp_.path() / "go").string(); }
  void go() const { temp_.write("go", ""); }

  // Attempt `stage`[`index`]#1 of `jobId` in slot `slotId`: writes the job id
  // to stderr, waits for the go file, then writes the job id to its output
  // (the job's, or consumer stage "next"'s).
  static v1::DeployTaskRequest deployment(const std::string& jobId, const std::string& slotId,
                                          const std::string& goFile, int index = 0,
                                          bool toConsumer = false) {
    v1::DeployTaskRequest request;
    v1::TaskDeployment& task = *request.mutable_task();
    task.set_job_id(jobId);
    task.set_stage("read");
    task.set_index(index);
    task.set_attempt(1);
    task.set_parallelism(2);
    task.set_attempt_id("read[" + std::to_string(index) + "]#1");
    task.set_slot_id(slotId);
    task.mutable_command()->set_shell(
        "echo \"$TAILOR_JOB_ID\" >&2; while [ ! -e \"$GO\" ]; do sleep 0.02; done; "
        "echo \"$TAILOR_JOB_ID\"");
    (*task.mutable_env())["GO"] = goFile;
    auto* output = task.add_outputs();
    output->set_consumer_stage(toConsumer ? "next" : "");
    output->set_partitioning(toConsumer ? v1::HASH : v1::FORWARD);
    output->set_num_partitions(1);
    task.set_jobmaster_address("jm.test:1");
    return request;
  }

  void deploy(const v1::DeployTaskRequest& request) {
    auto answer = onLoop([&] { return taskManager_->deploy(request); });
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    ASSERT_TRUE(answer->accepted()) << answer->reason();
  }

  bool waitForUpdates(size_t count) {
    return jobManager_.waitFor([&] { return jobManager_.updateCount() >= count; });
  }

  // "<job id> <state>" of each update so far.
  std::vector<std::string> reported() {
    std::vector<std::string> seen;
    for (const auto& update : jobManager_.updates()) {
      seen.push_back(update.job_id() + " " + update.attempt_id() + " " +
                     v1::TaskState_Name(update.state()));
    }
    return seen;
  }

  TempDir temp_;
  AsioEventLoop loop_;
  FakeJobManager jobManager_;
  rpc::Client rpc_;
  http::Server server_;
  rpc::Server rpcServer_;
  std::unique_ptr<TaskManager> taskManager_;
  std::thread thread_;
};

TEST_F(TaskManagerTest, TwoJobsWithTheSameAttemptIdBothRunAndReportWithTheirJob) {
  deploy(deployment("job-a", "slot-1", goFile()));
  deploy(deployment("job-b", "slot-2", goFile()));
  auto again = onLoop([&] { return taskManager_->deploy(deployment("job-a", "slot-3", goFile())); });
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->accepted());
  EXPECT_THAT(again->reason(), HasSubstr("job-a/read[0]#1 already runs here"));

  // Heartbeats name each job's attempt.
  ASSERT_TRUE(jobManager_.waitFor([&] {
    return !jobManager_.heartbeatsLocked().empty() &&
           jobManager_.heartbeatsLocked().back().running_attempts_size() == 2;
  }));
  auto heartbeat = jobManager_.heartbeats().back();
  EXPECT_THAT(heartbeat.running_attempts(),
              UnorderedElementsAre("job-a/read[0]#1", "job-b/read[0]#1"));

  // A JobManager that takes over hears both, each with its job.
  jobManager_.askToRegisterAgain();
  ASSERT_TRUE(jobManager_.waitFor([&] { return jobManager_.registrationCount() == 2; }));
  auto registration = jobManager_.registrations().back();
  ASSERT_EQ(registration.running_size(), 2);
  std::set<std::string> running;
  for (const auto& attempt : registration.running()) {
    running.insert(attempt.job_id() + " " + attempt.attempt_id());
  }
  EXPECT_THAT(running, UnorderedElementsAre("job-a read[0]#1", "job-b read[0]#1"));

  go();
  ASSERT_TRUE(waitForUpdates(2));
  EXPECT_THAT(reported(), UnorderedElementsAre("job-a read[0]#1 TASK_FINISHED",
                                               "job-b read[0]#1 TASK_FINISHED"));
  for (const auto& update : jobManager_.updates()) {
    ASSERT_EQ(update.partitions_size(), 1);
    EXPECT_EQ(update.partitions(0).data(), update.job_id() + "\n") << "each ran its own job";
  }

  // Each job's log is its own; without a job id there is no telling.
  for (const std::string job : {"job-a", "job-b"}) {
    v1::ReadTaskLogRequest read;
    read.set_job_id(job);
    read.set_stage("read");
    read.set_index(0);
    read.set_attempt(1);
    read.set_length(100);
    read.set_tail(-1);
    auto log = onLoop([&] { return taskManager_->readTaskLog(read); });
    ASSERT_TRUE(log.ok()) << log.error().message;
    EXPECT_EQ(log->data(), job + "\n");
  }
  v1::ReadTaskLogRequest unnamed;
  unnamed.set_stage("read");
  unnamed.set_index(0);
  unnamed.set_attempt(1);
  unnamed.set_tail(-1);
  auto log = onLoop([&] { return taskManager_->readTaskLog(unnamed); });
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(log.error().message, HasSubstr("name the job"));
}

TEST_F(TaskManagerTest, CancellingOneJobsAttemptLeavesTheOtherJobsAttemptOfTheSameId) {
  deploy(deployment("job-a", "slot-1", goFile()));
  deploy(deployment("job-b", "slot-2", goFile()));
  v1::CancelTaskRequest ambiguous;
  ambiguous.set_attempt_id("read[0]#1");
  auto refused = onLoop([&] { return taskManager_->cancelTask(ambiguous); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message, HasSubstr("job_id"));
  EXPECT_THAT(refused.error().message, HasSubstr("job-a, job-b"));

  v1::CancelTaskRequest cancel;
  cancel.set_job_id("job-b");
  cancel.set_attempt_id("read[0]#1");
  ASSERT_TRUE(onLoop([&] { return taskManager_->cancelTask(cancel); }).ok());
  ASSERT_TRUE(waitForUpdates(1));
  EXPECT_THAT(reported(), UnorderedElementsAre("job-b read[0]#1 TASK_CANCELED"));

  go();
  ASSERT_TRUE(waitForUpdates(2));
  EXPECT_THAT(reported(), UnorderedElementsAre("job-b read[0]#1 TASK_CANCELED",
                                               "job-a read[0]#1 TASK_FINISHED"));
}

TEST_F(TaskManagerTest, DropPartitionsRemovesOneJobsPartitionsAndScratchAndKillsItsAttempts) {
  go();  // the first attempts finish at once
  deploy(deployment("job-a", "slot-1", goFile(), 0, /*toConsumer=*/true));
  deploy(deployment("job-b", "slot-2", goFile(), 0, /*toConsumer=*/true));
  ASSERT_TRUE(waitForUpdates(2));
  fs::path work = workDir();
  for (const std::string job : {"job-a", "job-b"}) {
    EXPECT_FALSE(fs::is_empty(work / "partitions" / job)) << job;
    EXPECT_TRUE(fs::is_directory(work / "tasks" / job)) << job << "'s slot scratch stays";
  }
  fs::remove(goFile());
  deploy(deployment("job-a", "slot-1", goFile(), 1));
  deploy(deployment("job-b", "slot-2", goFile(), 1));

  v1::DropPartitionsRequest drop;
  drop.set_job_id("job-a");
  auto dropped = onLoop([&] { return taskManager_->dropPartitions(drop); });
  ASSERT_TRUE(dropped.ok()) << dropped.error().message;
  EXPECT_FALSE(fs::exists(work / "partitions" / "job-a"));
  EXPECT_FALSE(fs::exists(work / "tasks" / "job-a"));
  EXPECT_FALSE(fs::is_empty(work / "partitions" / "job-b"));
  EXPECT_TRUE(fs::is_directory(work / "tasks" / "job-b"));

  // An unknown job removes nothing; an empty id is refused.
  drop.set_job_id("job-unknown");
  EXPECT_TRUE(onLoop([&] { return taskManager_->dropPartitions(drop); }).ok());
  drop.set_job_id("");
  auto refused = onLoop([&] { return taskManager_->dropPartitions(drop); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message, HasSubstr("job_id"));
  EXPECT_FALSE(fs::is_empty(work / "partitions" / "job-b"));

  // job-b's attempt runs on and reports; job-a's was killed and is not reported.
  go();
  ASSERT_TRUE(waitForUpdates(3));
  EXPECT_THAT(reported(), UnorderedElementsAre("job-a read[0]#1 TASK_FINISHED",
                                               "job-b read[0]#1 TASK_FINISHED",
                                               "job-b read[1]#1 TASK_FINISHED"));
  // Nor does a later registration name it.
  jobManager_.askToRegisterAgain();
  ASSERT_TRUE(jobManager_.waitFor([&] { return jobManager_.registrationCount() == 2; }));
  EXPECT_EQ(jobManager_.registrations().back().running_size(), 0);
  EXPECT_EQ(jobManager_.registrations().back().unreported_size(), 0);
}

}  // namespace
}  // namespace tailor::executor
