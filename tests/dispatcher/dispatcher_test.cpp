#include "dispatcher/dispatcher.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/common/manual_event_loop.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/dispatcher/fakes.hpp"

namespace tailor::dispatcher {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using test::ManualEventLoop;
using test::TempDir;
using ::testing::_;
using ::testing::AllOf;
using ::testing::DefaultValue;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::IsEmpty;
using ::testing::Mock;
using ::testing::Pair;
using ::testing::Property;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StartsWith;
using ::testing::StrictMock;
using ::testing::UnorderedElementsAre;

constexpr char kAddress[] = "dispatcher.host:7070";
constexpr double kWallStart = ManualEventLoop::kWallStart;
constexpr Duration kBackoff{1000};
constexpr Duration kTimeout{30000};

DispatcherConfig defaultConfig() {
  DispatcherConfig config;
  config.maxRunningJobs = 2;
  config.restartStrategy = legacyRestartStrategy(3, kBackoff);
  config.jitter = [] { return 0.0; };
  config.jobManagerTimeout = kTimeout;
  return config;
}

DispatcherConfig withRunning(int maxRunningJobs, int maxAttempts = 3) {
  DispatcherConfig config = defaultConfig();
  config.maxRunningJobs = maxRunningJobs;
  config.restartStrategy = legacyRestartStrategy(maxAttempts, kBackoff);
  return config;
}

std::string spec(const std::string& name, const std::string& extra = "") {
  return "name: " + name + "\n" + extra +
         "stages:\n"
         "  - name: count\n"
         "    parallelism: 2\n"
         "    resources: {cpus: 1, mem: 128}\n"
         "    command: wc -l\n"
         "    input: {files: [data/a.txt]}\n";
}

v1::SubmitJobRequest submission(const std::string& name, int priority = 0) {
  v1::SubmitJobRequest request;
  request.set_spec(spec(name));
  request.set_priority(priority);
  auto* file = request.add_files();
  file->set_path("data/a.txt");
  file->set_content("to be or not to be\n");
  return request;
}

// Where a launched attempt runs.
v1::JobManagerAttempt runningAt(int pid) {
  v1::JobManagerAttempt attempt;
  attempt.set_launcher("local");
  attempt.set_host("node-1");
  attempt.set_pid(pid);
  return attempt;
}

// A launch of attempt `attempt` of job `id`.
auto launchOf(const std::string& id, int attempt) {
  return AllOf(Field(&JobManagerLaunch::jobId, id), Field(&JobManagerLaunch::attempt, attempt));
}

// A launch of the first attempt of the job named `name` (its id is not known yet).
auto firstLaunchOfJobNamed(const std::string& name) {
  return AllOf(Field(&JobManagerLaunch::jobId, StartsWith(name + "-")),
               Field(&JobManagerLaunch::attempt, 1));
}

v1::JobReport runReport(const std::string& status, const std::string& error = "") {
  v1::JobReport report;
  report.mutable_job()->set_status(status);
  report.mutable_job()->set_error(error);
  report.set_sizing("tailored");
  return report;
}

v1::TaskManagerStatus taskManager(const std::string& id, const std::string& state, double cpus,
                                  double mem, double gpus = 0) {
  v1::TaskManagerStatus tm;
  tm.set_id(id);
  tm.set_state(state);
  tm.mutable_resources()->set_cpus(cpus);
  tm.mutable_resources()->set_mem(mem);
  tm.mutable_resources()->set_gpus(gpus);
  tm.set_slots(1);
  return tm;
}

// A record as an earlier Dispatcher left it in the store.
v1::JobRecord storedJob(const std::string& id, v1::JobState state, std::int64_t sequence) {
  v1::JobRecord record;
  record.set_id(id);
  record.set_name("wordcount");
  record.set_sequence(sequence);
  record.set_spec_name("job.yaml");
  record.set_spec_yaml(spec("wordcount"));
  record.set_state(state);
  record.set_submitted_at(kWallStart - 100);
  auto* change = record.add_history();
  change->set_state(state);
  change->set_at(kWallStart - 100);
  change->set_reason("submitted");
  return record;
}

void addAttempt(v1::JobRecord& record, int pid, bool live) {
  auto* attempt = record.add_attempts();
  *attempt = runningAt(pid);
  attempt->set_attempt(record.attempts_size());
  attempt->set_launched_at(kWallStart - 50);
  if (!live) {
    attempt->set_ended_at(kWallStart - 10);
    attempt->set_exit("exit code 1");
  }
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : store_(dir_.str()) {
    // An unexpected launch fails the test; this keeps it from also aborting the binary.
    DefaultValue<Result<v1::JobManagerAttempt>>::Set(
        makeError(ErrorCode::kInternal, "unexpected launch"));
  }
  ~DispatcherTest() override { DefaultValue<Result<v1::JobManagerAttempt>>::Clear(); }

  void TearDown() override {
    dispatcher_.reset();
    EXPECT_EQ(loop_.pendingTimers(), 0u) << "a timer outlives the Dispatcher";
  }

  // Makes the Dispatcher; recover() is the test's.
  void create(DispatcherConfig config = defaultConfig()) {
    EXPECT_CALL(launcher_, setExitCallback(_)).WillOnce(SaveArg<0>(&exited_));
    EXPECT_CALL(launcher_, name()).WillOnce(Return("local"));
    dispatcher_ = std::make_unique<Dispatcher>(loop_, store_, launcher_, std::move(config));
    dispatcher_->setAddress(kAddress);
    Mock::VerifyAndClearExpectations(&launcher_);
    ASSERT_TRUE(exited_);
  }

  // Makes the Dispatcher on an empty store and recovers.
  void start(DispatcherConfig config = defaultConfig()) {
    create(std::move(config));
    ASSERT_TRUE(dispatcher_->recover().ok());
  }

  // Submits a job named `name`, expecting its first JobManager launched when
  // `launches`. Returns the answer.
  v1::SubmitJobResponse submit(const std::string& name, int priority, bool launches,
                               int pid = 4242) {
    if (launches) {
      EXPECT_CALL(launcher_, launch(firstLaunchOfJobNamed(name))).WillOnce(Return(runningAt(pid)));
    }
    auto response = dispatcher_->submit(submission(name, priority));
    Mock::VerifyAndClearExpectations(&launcher_);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : v1::SubmitJobResponse();
  }

  // Submits a job whose JobManager starts; returns its id.
  std::string launched(const std::string& name, int priority = 0) {
    auto response = submit(name, priority, true);
    EXPECT_EQ(response.state(), v1::LAUNCHING);
    return response.id();
  }

  // Submits a job that has to wait; returns its id.
  std::string queued(const std::string& name, int priority = 0) {
    auto response = submit(name, priority, false);
    EXPECT_EQ(response.state(), v1::QUEUED);
    return response.id();
  }

  // The job as GET /v1/jobs/ID shows it; its stored record must agree.
  v1::JobView view(const std::string& id) {
    auto job = dispatcher_->job(id);
    EXPECT_TRUE(job.ok()) << job.error().message;
    if (!job.ok()) return v1::JobView();
    EXPECT_EQ(store_.record(id).state(), job->state()) << "the store is behind for " << id;
    return *job;
  }

  v1::JobState state(const std::string& id) { return view(id).state(); }

  v1::ReportJobStatusResponse report(const std::string& id, int attempt, v1::JobState state,
                                     const v1::JobReport* runReport = nullptr,
                                     const std::string& error = "") {
    v1::ReportJobStatusRequest request;
    request.set_job_id(id);
    request.set_attempt(attempt);
    request.set_state(state);
    request.set_error(error);
    request.set_host("node-1");
    request.set_pid(4000 + attempt);
    request.set_address("node-1:9100");
    if (runReport != nullptr) *request.mutable_report() = *runReport;
    return dispatcher_->reportStatus(request);
  }

  // The JobManager of `id` says it is running.
  void running(const std::string& id, int attempt = 1) {
    auto response = report(id, attempt, v1::RUNNING);
    EXPECT_TRUE(response.known());
    EXPECT_EQ(state(id), v1::RUNNING);
  }

  // The JobManager of `id` ends the job FINISHED with a report.
  // The job FINISHED with a report, and then its JobManager exited.
  void finish(const std::string& id, int attempt = 1) {
    auto finished = runReport("FINISHED");
    EXPECT_TRUE(report(id, attempt, v1::FINISHED, &finished).known());
    EXPECT_EQ(state(id), v1::FINISHED);
    exited_(id, attempt, "exit code 0");
  }

  // The launcher's word that the attempt's JobManager is gone.
  void exited(const std::string& id, int attempt, const std::string& how = "exit code 1") {
    exited_(id, attempt, how);
  }

  // Where the Dispatcher looks for an attempt's files.
  std::string writeJobFile(const std::string& id, const std::string& name,
                           const std::string& content) {
    return dir_.write("jobs/" + id + "/" + name, content);
  }

  ManualEventLoop loop_;
  TempDir dir_;
  FakeJobStore store_;
  StrictMock<MockLauncher> launcher_;
  JobManagerLauncher::ExitCallback exited_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

// --- submission and the queue ---

TEST_F(DispatcherTest, SubmitLaunchesUpToMaxRunningJobsAndQueuesTheRest) {
  start(withRunning(2));
  JobManagerLaunch first;
  EXPECT_CALL(launcher_, launch(firstLaunchOfJobNamed("alpha")))
      .WillOnce(DoAll(SaveArg<0>(&first), Return(runningAt(101))));
  auto alpha = dispatcher_->submit(submission("alpha"));
  ASSERT_TRUE(alpha.ok()) << alpha.error().message;
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_THAT(alpha->id(), StartsWith("alpha-20231114-221320-"));
  EXPECT_EQ(alpha->state(), v1::LAUNCHING);
  EXPECT_EQ(alpha->queue_position(), 0);

  std::string jobDir = dir_.str() + "/jobs/" + alpha->id();
  EXPECT_EQ(first.jobId, alpha->id());
  EXPECT_EQ(first.attempt, 1);
  EXPECT_EQ(first.specPath, jobDir + "/files/job.yaml");
  EXPECT_EQ(first.jobDir, jobDir);
  // Locally the job's folder, pinned in the record at the first launch.
  EXPECT_EQ(first.outputDir, jobDir + "/output");
  EXPECT_EQ(first.dispatcherAddress, kAddress);

  std::string beta = launched("beta");
  auto gamma = submit("gamma", 0, false);
  EXPECT_EQ(gamma.state(), v1::QUEUED);
  EXPECT_EQ(gamma.queue_position(), 1);
  auto delta = submit("delta", 0, false);
  EXPECT_EQ(delta.state(), v1::QUEUED);
  EXPECT_EQ(delta.queue_position(), 2);
  EXPECT_EQ(view(gamma.id()).queue_position(), 1);
  EXPECT_EQ(view(delta.id()).queue_position(), 2);
  EXPECT_EQ(view(beta).queue_position(), 0);

  auto job = view(alpha->id());
  EXPECT_EQ(job.name(), "alpha");
  EXPECT_EQ(job.attempt(), 1);
  EXPECT_EQ(job.submitted_at(), kWallStart);
  EXPECT_EQ(job.output(), jobDir + "/output");
  EXPECT_THAT(job.files(), ElementsAre("data/a.txt"));
  ASSERT_EQ(job.attempts_size(), 1);
  EXPECT_EQ(job.attempts(0).attempt(), 1);
  EXPECT_EQ(job.attempts(0).pid(), 101);
  EXPECT_EQ(job.attempts(0).launched_at(), kWallStart);
  EXPECT_EQ(job.attempts(0).ended_at(), 0);
  ASSERT_EQ(job.history_size(), 2);
  EXPECT_EQ(job.history(0).state(), v1::QUEUED);
  EXPECT_EQ(job.history(0).reason(), "submitted");
  EXPECT_EQ(job.history(1).state(), v1::LAUNCHING);
  EXPECT_EQ(job.history(1).reason(), "starting a JobManager");
}

TEST_F(DispatcherTest, SubmitStoresTheFilesAndTheRecordBeforeAnswering) {
  start(withRunning(1));
  launched("alpha");
  auto request = submission("beta", 7);
  request.set_spec_name("beta.yaml");
  auto response = dispatcher_->submit(request);
  ASSERT_TRUE(response.ok()) << response.error().message;

  const auto& files = store_.files[response->id()];
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path(), "beta.yaml");
  EXPECT_EQ(files[0].content(), spec("beta"));
  EXPECT_EQ(files[1].path(), "data/a.txt");

  auto record = store_.record(response->id());
  EXPECT_EQ(record.id(), response->id());
  EXPECT_EQ(record.name(), "beta");
  EXPECT_EQ(record.priority(), 7);
  EXPECT_EQ(record.sequence(), 2);
  EXPECT_EQ(record.spec_name(), "beta.yaml");
  EXPECT_EQ(record.spec_yaml(), spec("beta"));
  EXPECT_THAT(record.files(), ElementsAre("data/a.txt"));
  EXPECT_EQ(record.state(), v1::QUEUED);
  EXPECT_EQ(record.submitted_at(), kWallStart);
  ASSERT_EQ(record.stages_size(), 1);
  EXPECT_EQ(record.stages(0).name(), "count");
  EXPECT_EQ(record.stages(0).parallelism(), 2);
  EXPECT_EQ(record.output_dir(), "");
}

TEST_F(DispatcherTest, ASubmissionSentAgainIsAnsweredWithTheJobItMade) {
  start(withRunning(1));
  launched("alpha");
  auto request = submission("beta");
  request.set_submission_id("cli-0123abcd");
  auto first = dispatcher_->submit(request);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(store_.record(first->id()).submission_id(), "cli-0123abcd");
  auto again = dispatcher_->submit(request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), first->id());
  EXPECT_EQ(again->queue_position(), 1);
  EXPECT_EQ(store_.files.size(), 2u);  // alpha and beta, no third job

  // Also after a restart (or a failover to another Dispatcher): the id is in the record.
  create(withRunning(1));
  EXPECT_CALL(launcher_, adopt(_, _));
  ASSERT_TRUE(dispatcher_->recover().ok());
  auto afterRestart = dispatcher_->submit(request);
  ASSERT_TRUE(afterRestart.ok());
  EXPECT_EQ(afterRestart->id(), first->id());
  EXPECT_EQ(store_.files.size(), 2u);

  // Without an id, or with another, it is a new job.
  request.set_submission_id("cli-other");
  auto other = dispatcher_->submit(request);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->id(), first->id());
  request.set_submission_id("has space");
  auto bad = dispatcher_->submit(request);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message, HasSubstr("submission_id: 'has space' is not a submission id"));
}

TEST_F(DispatcherTest, TheOwnerIsTheSubmitterAndOthersSeeNothingOfItsJobs) {
  start(withRunning(1));
  std::string alpha = launched("alpha");  // without authentication: owner ""
  auto bobs = dispatcher_->submit(submission("beta"), Submitter{"bob", true});
  ASSERT_TRUE(bobs.ok()) << bobs.error().message;
  EXPECT_EQ(store_.record(bobs->id()).owner(), "bob");
  EXPECT_EQ(view(bobs->id()).owner(), "bob");
  EXPECT_EQ(view(alpha).owner(), "");

  EXPECT_TRUE(dispatcher_->checkJobOwner(bobs->id(), std::string("bob")).ok());
  EXPECT_TRUE(dispatcher_->checkJobOwner(bobs->id(), std::nullopt).ok());
  Status hidden = dispatcher_->checkJobOwner(bobs->id(), std::string("alice"));
  ASSERT_FALSE(hidden.ok());
  Status unknown = dispatcher_->checkJobOwner("nothing-here", std::string("alice"));
  ASSERT_FALSE(unknown.ok());
  // Someone else's job reads exactly as one that does not exist.
  EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(hidden.error().message, "no job with id '" + bobs->id() + "'");
  EXPECT_EQ(unknown.error().message, "no job with id 'nothing-here'");

  auto bobsList = dispatcher_->list(std::nullopt, 0, 10, std::string("bob"));
  ASSERT_EQ(bobsList.jobs_size(), 1);
  EXPECT_EQ(bobsList.jobs(0).id(), bobs->id());
  EXPECT_EQ(bobsList.total(), 1);
  EXPECT_EQ(dispatcher_->list(std::nullopt, 0, 10, std::string("carol")).total(), 0);
  EXPECT_EQ(dispatcher_->list(std::nullopt, 0, 10).total(), 2);
  auto overview = dispatcher_->overview(std::string("bob"));
  EXPECT_EQ(overview.jobs().at("QUEUED"), 1);
  EXPECT_EQ(overview.jobs().at("LAUNCHING"), 0);
  EXPECT_EQ(overview.jobmanagers(), 0);
  EXPECT_EQ(dispatcher_->overview().jobs().at("LAUNCHING"), 1);
}

TEST_F(DispatcherTest, TheQueueLimitCountsEachOwnersQueuedJobs) {
  DispatcherConfig config = withRunning(1);
  config.maxQueuedJobsPerUser = 2;
  start(config);
  launched("alpha");  // running: does not count
  auto request = submission("beta");
  EXPECT_TRUE(dispatcher_->checkQueueLimit(request, "bob").ok());
  request.set_submission_id("cli-b1");
  ASSERT_TRUE(dispatcher_->submit(request, Submitter{"bob", true}).ok());
  ASSERT_TRUE(dispatcher_->submit(submission("gamma"), Submitter{"bob", true}).ok());
  Status full = dispatcher_->checkQueueLimit(submission("delta"), "bob");
  ASSERT_FALSE(full.ok());
  EXPECT_THAT(full.error().message,
              HasSubstr("user bob already has 2 jobs queued, the limit "
                        "(--max-queued-jobs-per-user 2)"));
  // A submission sent again is answered with its job, not refused.
  EXPECT_TRUE(dispatcher_->checkQueueLimit(request, "bob").ok());
  // Another user has room of its own; without authentication all are "".
  EXPECT_TRUE(dispatcher_->checkQueueLimit(submission("delta"), "alice").ok());
  EXPECT_TRUE(dispatcher_->checkQueueLimit(submission("delta"), "").ok());
}

TEST_F(DispatcherTest, SubmitHonoursAnAbsoluteOutputFolderOnly) {
  start(withRunning(2));
  auto request = submission("alpha");
  request.set_spec(spec("alpha", "output: /data/out/alpha\n"));
  JobManagerLaunch launch;
  EXPECT_CALL(launcher_, launch(firstLaunchOfJobNamed("alpha")))
      .WillOnce(DoAll(SaveArg<0>(&launch), Return(runningAt(1))));
  auto absolute = dispatcher_->submit(request);
  ASSERT_TRUE(absolute.ok()) << absolute.error().message;
  EXPECT_EQ(launch.outputDir, "/data/out/alpha");
  EXPECT_EQ(store_.record(absolute->id()).output_dir(), "/data/out/alpha");
  EXPECT_EQ(view(absolute->id()).output(), "/data/out/alpha");

  request = submission("beta");
  request.set_spec(spec("beta", "output: out/beta\n"));
  EXPECT_CALL(launcher_, launch(firstLaunchOfJobNamed("beta")))
      .WillOnce(DoAll(SaveArg<0>(&launch), Return(runningAt(2))));
  auto relative = dispatcher_->submit(request);
  ASSERT_TRUE(relative.ok()) << relative.error().message;
  EXPECT_EQ(launch.outputDir, store_.jobDir(relative->id()) + "/output");
  EXPECT_EQ(view(relative->id()).output(), store_.jobDir(relative->id()) + "/output");
  EXPECT_EQ(store_.record(relative->id()).output_dir(), launch.outputDir);
}

TEST_F(DispatcherTest, SubmitRefusesABadSubmissionAndStoresNothing) {
  start();
  auto request = submission("alpha");
  request.set_spec("name: alpha\nstages: []\n");
  auto badSpec = dispatcher_->submit(request);
  ASSERT_FALSE(badSpec.ok());
  EXPECT_EQ(badSpec.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(badSpec.error().message, StartsWith("job.yaml:2:"));

  request = submission("alpha");
  request.mutable_files(0)->set_path("../a.txt");
  auto badPath = dispatcher_->submit(request);
  ASSERT_FALSE(badPath.ok());
  EXPECT_EQ(badPath.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(badPath.error().message, StartsWith("files[0].path: "));

  EXPECT_THAT(store_.records, IsEmpty());
  EXPECT_THAT(store_.files, IsEmpty());
  EXPECT_EQ(dispatcher_->list(std::nullopt, 0, 100).total(), 0);
}

TEST_F(DispatcherTest, SubmitFailsWhenTheStoreFails) {
  start();
  store_.putFilesError = makeError(ErrorCode::kIo, "disk full");
  auto noFiles = dispatcher_->submit(submission("alpha"));
  ASSERT_FALSE(noFiles.ok());
  EXPECT_THAT(noFiles.error().message, HasSubstr("disk full"));

  store_.putFilesError.reset();
  store_.putJobError = makeError(ErrorCode::kIo, "read-only file system");
  auto noRecord = dispatcher_->submit(submission("alpha"));
  ASSERT_FALSE(noRecord.ok());
  EXPECT_THAT(noRecord.error().message, HasSubstr("read-only file system"));

  // Neither job exists: nothing launched, nothing listed.
  EXPECT_EQ(dispatcher_->list(std::nullopt, 0, 100).total(), 0);
  EXPECT_EQ(dispatcher_->overview().jobs().at("QUEUED"), 0);
}

TEST_F(DispatcherTest, HigherPriorityLaunchesFirstAndFifoWithinAPriority) {
  start(withRunning(1));
  std::string first = launched("first");
  std::string low1 = queued("low1", 0);
  EXPECT_EQ(submit("high1", 5, false).queue_position(), 1);
  EXPECT_EQ(submit("high2", 5, false).queue_position(), 2);
  auto low2 = submit("low2", 0, false);
  EXPECT_EQ(low2.queue_position(), 4);
  auto negative = submit("negative", -3, false);
  EXPECT_EQ(negative.queue_position(), 5);
  EXPECT_EQ(view(low1).queue_position(), 3);

  std::vector<std::string> order;
  EXPECT_CALL(launcher_, launch(_))
      .Times(5)
      .WillRepeatedly([&order](const JobManagerLaunch& launch) {
        order.push_back(launch.jobId.substr(0, launch.jobId.find('-')));
        return Result<v1::JobManagerAttempt>(runningAt(1));
      });
  finish(first);
  while (!order.empty() && order.size() < 5) {
    // Each job ends as soon as it starts; the next one takes its place.
    auto launching = dispatcher_->list(v1::LAUNCHING, 0, 10);
    ASSERT_EQ(launching.jobs_size(), 1);
    finish(launching.jobs(0).id());
  }
  EXPECT_THAT(order, ElementsAre("high1", "high2", "low1", "low2", "negative"));
}

// --- status reports ---

TEST_F(DispatcherTest, ReportStatusMovesLaunchingToRunning) {
  start();
  std::string id = launched("alpha");
  EXPECT_EQ(view(id).started_at(), 0);

  loop_.advance(Duration(2500));
  v1::ReportJobStatusRequest request;
  request.set_job_id(id);
  request.set_attempt(1);
  request.set_state(v1::RUNNING);
  request.set_host("node-7");
  request.set_pid(4242);
  request.set_address("node-7:9100");
  auto* stage = request.add_stages();
  stage->set_name("count");
  stage->set_parallelism(2);
  stage->set_running(2);
  stage->set_started(true);
  *request.add_taskmanagers() = taskManager("tm-1", "running", 1, 256);
  auto response = dispatcher_->reportStatus(request);
  EXPECT_TRUE(response.known());
  EXPECT_FALSE(response.cancel());

  auto job = view(id);
  EXPECT_EQ(job.state(), v1::RUNNING);
  EXPECT_EQ(job.started_at(), kWallStart + 2.5);
  EXPECT_EQ(job.history(job.history_size() - 1).reason(),
            "JobManager attempt 1 running on node-7 (pid 4242)");
  EXPECT_EQ(job.attempts(0).address(), "node-7:9100");
  ASSERT_EQ(job.stages_size(), 1);
  EXPECT_EQ(job.stages(0).running(), 2);
  ASSERT_EQ(job.taskmanagers_size(), 1);
  EXPECT_EQ(job.taskmanagers(0).id(), "tm-1");

  // Later reports update the progress; stages only when they are sent.
  int changes = job.history_size();
  request.clear_stages();
  request.clear_address();
  request.clear_taskmanagers();
  *request.add_taskmanagers() = taskManager("tm-2", "starting", 1, 256);
  EXPECT_TRUE(dispatcher_->reportStatus(request).known());
  job = view(id);
  EXPECT_EQ(job.state(), v1::RUNNING);
  EXPECT_EQ(job.history_size(), changes);
  EXPECT_EQ(job.stages(0).running(), 2);
  EXPECT_EQ(job.attempts(0).address(), "node-7:9100");
  ASSERT_EQ(job.taskmanagers_size(), 1);
  EXPECT_EQ(job.taskmanagers(0).id(), "tm-2");
}

TEST_F(DispatcherTest, AnEndStateWithAReportFreesThePlaceAndLaunchesTheNext) {
  start(withRunning(1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  running(alpha);
  auto inProgress = dispatcher_->report(alpha);
  ASSERT_FALSE(inProgress.ok());
  EXPECT_EQ(inProgress.error().code, ErrorCode::kFailedPrecondition);

  loop_.advance(Duration(4000));
  auto finished = runReport("FINISHED");
  auto response = report(alpha, 1, v1::FINISHED, &finished);
  EXPECT_TRUE(response.known());
  EXPECT_FALSE(response.cancel());

  auto job = view(alpha);
  EXPECT_EQ(job.state(), v1::FINISHED);
  EXPECT_EQ(job.finished_at(), kWallStart + 4);
  EXPECT_EQ(job.error(), "");
  EXPECT_EQ(job.history(job.history_size() - 1).reason(), "job ended");
  auto stored = dispatcher_->report(alpha);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_TRUE(MessageDifferencer::Equals(*stored, finished));
  // Its JobManager still runs (and may still report): the place is not free yet.
  EXPECT_TRUE(report(alpha, 1, v1::RUNNING).known());
  EXPECT_EQ(state(alpha), v1::FINISHED);
  EXPECT_EQ(state(beta), v1::QUEUED);
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 1);

  // Its exit frees the place: the next job launches.
  EXPECT_CALL(launcher_, launch(launchOf(beta, 1))).WillOnce(Return(runningAt(2)));
  exited(alpha, 1, "exit code 0");
  Mock::VerifyAndClearExpectations(&launcher_);
  job = view(alpha);
  EXPECT_EQ(job.state(), v1::FINISHED);
  EXPECT_EQ(job.attempts(0).exit(), "exit code 0");
  EXPECT_EQ(job.attempts(0).ended_at(), kWallStart + 4);
  EXPECT_EQ(store_.record(alpha).attempts(0).exit(), "exit code 0");
  EXPECT_EQ(state(beta), v1::LAUNCHING);

  // An end state without a report: the error is kept, there is no report.
  EXPECT_TRUE(report(beta, 1, v1::FAILED, nullptr, "stage count failed 4 times").known());
  EXPECT_EQ(state(beta), v1::FAILED);
  EXPECT_EQ(view(beta).error(), "stage count failed 4 times");
  auto none = dispatcher_->report(beta);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(none.error().message, HasSubstr("without a run report: stage count failed 4 times"));
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 1);
  exited(beta, 1, "exit code 1");
  loop_.advance(Duration(120000));  // no relaunch of either
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 0);
}

// The process' registry is shared by the tests: they compare before and after.
double dispatcherCounter(const std::string& name, const metrics::Labels& labels = {}) {
  return metrics::defaultRegistry().counter(name, "", labels).value();
}

TEST_F(DispatcherTest, ScrapeTargetsAreItselfAndTheRunningJobsJobManagersAndTaskManagers) {
  start(withRunning(1));
  auto targets = dispatcher_->scrapeTargets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].address, kAddress);
  EXPECT_EQ(targets[0].labels, (std::map<std::string, std::string>{{"role", "dispatcher"}}));

  std::string alpha = launched("alpha");
  EXPECT_EQ(dispatcher_->scrapeTargets().size(), 1u) << "no address reported yet";
  v1::ReportJobStatusRequest request;
  request.set_job_id(alpha);
  request.set_attempt(1);
  request.set_state(v1::RUNNING);
  request.set_address("node-1:9100");
  auto* stage = request.add_stages();
  stage->set_name("count");
  stage->set_finished(3);
  auto* tm = request.add_taskmanagers();
  tm->set_id("tm-1");
  tm->set_state("running");
  tm->set_address("node-2:31000");
  auto* starting = request.add_taskmanagers();  // not registered: no address yet
  starting->set_id("tm-2");
  starting->set_state("starting");
  EXPECT_TRUE(dispatcher_->reportStatus(request).known());
  targets = dispatcher_->scrapeTargets();
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[1].address, "node-1:9100");
  EXPECT_EQ(targets[1].labels,
            (std::map<std::string, std::string>{{"role", "jobmanager"}, {"job_id", alpha}}));
  EXPECT_EQ(targets[2].address, "node-2:31000");
  EXPECT_EQ(targets[2].labels,
            (std::map<std::string, std::string>{
                {"role", "taskmanager"}, {"job_id", alpha}, {"taskmanager_id", "tm-1"}}));
  EXPECT_NE(
      metrics::defaultRegistry().exposition().find("tailor_dispatcher_jobs{state=\"RUNNING\"} 1\n"),
      std::string::npos);

  // Its end: counted once from the report, and gone from the targets.
  double tasks = dispatcherCounter("tailor_dispatcher_tasks_finished_total");
  double small = dispatcherCounter("tailor_dispatcher_taskmanagers_launched_total",
                                   metrics::sizeLabels(0.5, 512));
  v1::JobReport finished = runReport("FINISHED");
  auto* launchedTm = finished.add_taskmanagers();
  launchedTm->mutable_resources()->set_cpus(0.5);
  launchedTm->mutable_resources()->set_mem(512);
  launchedTm->set_launched_at(kWallStart);
  auto* withdrawn = finished.add_taskmanagers();  // never launched: not counted
  withdrawn->mutable_resources()->set_cpus(0.5);
  withdrawn->mutable_resources()->set_mem(512);
  request.set_state(v1::FINISHED);
  *request.mutable_report() = finished;
  EXPECT_TRUE(dispatcher_->reportStatus(request).known());
  EXPECT_TRUE(dispatcher_->reportStatus(request).known());  // again: counted once
  EXPECT_EQ(dispatcherCounter("tailor_dispatcher_tasks_finished_total"), tasks + 3);
  EXPECT_EQ(dispatcherCounter("tailor_dispatcher_taskmanagers_launched_total",
                              metrics::sizeLabels(0.5, 512)),
            small + 1);
  EXPECT_EQ(dispatcher_->scrapeTargets().size(), 1u);
  exited(alpha, 1, "exit code 0");
}

TEST_F(DispatcherTest, AStaleAttemptIsUnknown) {
  start();
  std::string id = launched("alpha");
  exited(id, 1);
  EXPECT_FALSE(report(id, 1, v1::RUNNING).known()) << "attempt 1 is gone";
  EXPECT_CALL(launcher_, launch(launchOf(id, 2))).WillOnce(Return(runningAt(2)));
  loop_.advance(kBackoff);
  Mock::VerifyAndClearExpectations(&launcher_);

  EXPECT_FALSE(report(id, 1, v1::RUNNING).known());
  EXPECT_FALSE(report(id, 1, v1::FINISHED).known());
  EXPECT_FALSE(report(id, 3, v1::RUNNING).known());
  EXPECT_FALSE(report(id, 0, v1::RUNNING).known());
  EXPECT_FALSE(report(id, -1, v1::RUNNING).known());
  EXPECT_FALSE(report("no-such-job", 1, v1::RUNNING).known());
  EXPECT_EQ(state(id), v1::LAUNCHING);

  EXPECT_TRUE(report(id, 2, v1::RUNNING).known());
  EXPECT_EQ(state(id), v1::RUNNING);
  // The old attempt's exit, reported late, changes nothing.
  exited(id, 1, "killed by signal 9 (Killed)");
  EXPECT_EQ(state(id), v1::RUNNING);
  EXPECT_EQ(view(id).attempts(0).exit(), "exit code 1");
}

// --- JobManagers that die ---

TEST_F(DispatcherTest, AJobManagerExitBeforeTheEndRelaunchesAfterABackOff) {
  DispatcherConfig config = withRunning(2, 5);
  config.restartStrategy.set_max_backoff_seconds(3);
  start(config);
  std::string id = launched("alpha");
  running(id);

  // Back-offs: 1 s, 2 s, then capped at 3 s.
  const std::vector<Duration> backoffs = {Duration(1000), Duration(2000), Duration(3000),
                                          Duration(3000)};
  for (int attempt = 1; attempt <= 4; ++attempt) {
    exited(id, attempt, "exit code 1");
    auto job = view(id);
    EXPECT_EQ(job.state(), v1::LAUNCHING);
    EXPECT_EQ(job.attempts(attempt - 1).exit(), "exit code 1");
    EXPECT_NE(job.attempts(attempt - 1).ended_at(), 0);
    Duration backoff = backoffs[static_cast<size_t>(attempt - 1)];
    EXPECT_EQ(job.history(job.history_size() - 1).reason(),
              fmt::format("JobManager attempt {} exit code 1; relaunching in {:.1f}s", attempt,
                          static_cast<double>(backoff.count()) / 1000));
    loop_.advance(backoff - Duration(1));
    Mock::VerifyAndClearExpectations(&launcher_);
    EXPECT_CALL(launcher_, launch(launchOf(id, attempt + 1))).WillOnce(Return(runningAt(attempt)));
    loop_.advance(Duration(1));
    Mock::VerifyAndClearExpectations(&launcher_);
    EXPECT_EQ(view(id).history(view(id).history_size() - 1).reason(),
              fmt::format("starting JobManager attempt {}", attempt + 1));
  }

  exited(id, 5, "exit code 2");
  auto job = view(id);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.error(),
            "exponential-delay: 5 failures, more than attempts 4; the last failure: JobManager "
            "attempt 5 exit code 2");
  EXPECT_EQ(job.attempt(), 5);
  loop_.advance(Duration(120000));  // nothing more
}

TEST_F(DispatcherTest, AfterTheLastAttemptTheJobFailsNamingTheAttemptsAndTheLogTail) {
  start(withRunning(1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  for (int attempt = 1; attempt <= 2; ++attempt) {
    exited(alpha, attempt);
    EXPECT_CALL(launcher_, launch(launchOf(alpha, attempt + 1))).WillOnce(Return(runningAt(9)));
    loop_.advance(kBackoff * attempt);
    Mock::VerifyAndClearExpectations(&launcher_);
    EXPECT_EQ(state(beta), v1::QUEUED) << "a relaunching job keeps its place";
  }
  writeJobFile(alpha, "jobmanager-3.log", "starting\nerror: cannot bind port 9100\n\n");

  EXPECT_CALL(launcher_, launch(launchOf(beta, 1))).WillOnce(Return(runningAt(10)));
  exited(alpha, 3, "killed by signal 9 (Killed)");
  Mock::VerifyAndClearExpectations(&launcher_);
  auto job = view(alpha);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.error(),
            "exponential-delay: 3 failures, more than attempts 2; the last failure: JobManager "
            "attempt 3 killed by signal 9 (Killed); its log ends with:\nstarting\nerror: cannot "
            "bind port 9100");
  EXPECT_EQ(state(beta), v1::LAUNCHING);
}

TEST_F(DispatcherTest, ALaunchErrorCountsAsAnAttempt) {
  start();
  EXPECT_CALL(launcher_, launch(firstLaunchOfJobNamed("alpha")))
      .WillOnce(Return(makeError(ErrorCode::kIo, "cannot exec tailor-jobmanager")));
  EXPECT_CALL(launcher_, name()).WillRepeatedly(Return("local"));
  auto response = dispatcher_->submit(submission("alpha"));
  ASSERT_TRUE(response.ok()) << response.error().message;
  Mock::VerifyAndClearExpectations(&launcher_);
  std::string id = response->id();
  EXPECT_EQ(response->state(), v1::LAUNCHING);

  auto job = view(id);
  EXPECT_EQ(job.attempt(), 1);
  EXPECT_EQ(job.attempts(0).attempt(), 1);
  EXPECT_EQ(job.attempts(0).launcher(), "local");
  EXPECT_EQ(job.attempts(0).exit(), "could not start: cannot exec tailor-jobmanager");
  EXPECT_EQ(job.attempts(0).ended_at(), kWallStart);
  EXPECT_EQ(job.history(job.history_size() - 1).reason(),
            "JobManager attempt 1 could not start: cannot exec tailor-jobmanager; relaunching in "
            "1.0s");
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 0);

  EXPECT_CALL(launcher_, launch(launchOf(id, 2))).WillOnce(Return(runningAt(2)));
  loop_.advance(kBackoff);
  Mock::VerifyAndClearExpectations(&launcher_);
  exited(id, 2);

  EXPECT_CALL(launcher_, launch(launchOf(id, 3)))
      .WillOnce(Return(makeError(ErrorCode::kIo, "fork failed")));
  EXPECT_CALL(launcher_, name()).WillRepeatedly(Return("local"));
  loop_.advance(Duration(2000));
  Mock::VerifyAndClearExpectations(&launcher_);
  job = view(id);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.error(),
            "exponential-delay: 3 failures, more than attempts 2; the last failure: JobManager "
            "attempt 3 could not start: fork failed");
}

TEST_F(DispatcherTest, ALaunchErrorOnTheLastAttemptStartsEveryOtherJobOnce) {
  // Three queued jobs from before a restart, room for two, one attempt each.
  store_.records["q1"] = storedJob("q1", v1::QUEUED, 1);
  store_.records["q2"] = storedJob("q2", v1::QUEUED, 2);
  store_.records["q3"] = storedJob("q3", v1::QUEUED, 3);
  create(withRunning(2, 1));
  EXPECT_CALL(launcher_, launch(launchOf("q1", 1)))
      .WillOnce(Return(makeError(ErrorCode::kIo, "cannot exec tailor-jobmanager")));
  EXPECT_CALL(launcher_, name()).WillRepeatedly(Return("local"));
  EXPECT_CALL(launcher_, launch(launchOf("q2", 1))).WillOnce(Return(runningAt(2)));
  EXPECT_CALL(launcher_, launch(launchOf("q3", 1))).WillOnce(Return(runningAt(3)));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);

  EXPECT_EQ(state("q1"), v1::FAILED);
  EXPECT_EQ(view("q1").error(),
            "none: the job is never restarted; the last failure: JobManager attempt 1 could "
            "not start: cannot exec tailor-jobmanager");
  EXPECT_EQ(view("q2").attempt(), 1);
  EXPECT_EQ(view("q3").attempt(), 1);
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 2);
}

TEST_F(DispatcherTest, AJobManagerExitWithAReportFileEndsTheJobFromIt) {
  start();
  std::string alpha = launched("alpha");
  std::string beta = launched("beta");
  running(alpha);
  running(beta);
  writeJobFile(alpha, "report-1.json",
               R"({"job": {"status": "FINISHED"}, "sizing": "tailored", "future_field": 1})");
  writeJobFile(beta, "report-1.json",
               R"({"job": {"status": "FAILED", "error": "stage count failed"}})");

  exited(alpha, 1, "exit code 0");
  EXPECT_EQ(state(alpha), v1::FINISHED);
  auto stored = dispatcher_->report(alpha);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(stored->sizing(), "tailored");

  exited(beta, 1, "exit code 1");
  EXPECT_EQ(state(beta), v1::FAILED);
  EXPECT_EQ(view(beta).error(), "stage count failed");
  loop_.advance(Duration(120000));  // no relaunch
}

TEST_F(DispatcherTest, AReportFileWithoutAnEndStateDoesNotEndTheJob) {
  start();
  std::string alpha = launched("alpha");
  std::string beta = launched("beta");
  writeJobFile(alpha, "report-1.json", R"({"job": {"status": "RUNNING"}})");
  writeJobFile(beta, "report-1.json", "{not json");
  exited(alpha, 1);
  exited(beta, 1);
  EXPECT_EQ(state(alpha), v1::LAUNCHING);
  EXPECT_EQ(state(beta), v1::LAUNCHING);
  EXPECT_CALL(launcher_, launch(launchOf(alpha, 2))).WillOnce(Return(runningAt(2)));
  EXPECT_CALL(launcher_, launch(launchOf(beta, 2))).WillOnce(Return(runningAt(3)));
  loop_.advance(kBackoff);
}

TEST_F(DispatcherTest, AnExitOfNoKnownAttemptIsIgnored) {
  start(withRunning(1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  exited("no-such-job", 1);
  exited(alpha, 0);
  exited(alpha, -1);
  exited(alpha, 2);
  exited(beta, 0);  // a queued job has no attempt at all
  exited(beta, 1);
  EXPECT_EQ(state(alpha), v1::LAUNCHING);
  EXPECT_EQ(view(alpha).attempts(0).ended_at(), 0);
  EXPECT_EQ(state(beta), v1::QUEUED);
  EXPECT_EQ(view(beta).attempt(), 0);
  loop_.advance(kBackoff);  // nothing relaunched
}

// --- cancel ---

TEST_F(DispatcherTest, CancelOfAQueuedJobEndsItAtOnce) {
  start(withRunning(1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  std::string gamma = queued("gamma");
  loop_.advance(Duration(500));

  auto canceled = dispatcher_->cancel(beta);
  ASSERT_TRUE(canceled.ok()) << canceled.error().message;
  EXPECT_EQ(canceled->state(), v1::CANCELED);
  EXPECT_TRUE(canceled->cancel_requested());
  EXPECT_EQ(canceled->error(), "canceled by the user");
  EXPECT_EQ(canceled->finished_at(), kWallStart + 0.5);
  EXPECT_EQ(canceled->queue_position(), 0);
  EXPECT_EQ(canceled->attempt(), 0);
  EXPECT_EQ(store_.record(beta).state(), v1::CANCELED);
  EXPECT_TRUE(store_.record(beta).cancel_requested());
  EXPECT_EQ(view(gamma).queue_position(), 1);
  EXPECT_EQ(state(alpha), v1::LAUNCHING);
}

TEST_F(DispatcherTest, CancelOfARunningJobAsksItsJobManager) {
  start(withRunning(1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  running(alpha);

  EXPECT_CALL(launcher_, stop(alpha, 1, false));
  auto canceled = dispatcher_->cancel(alpha);
  Mock::VerifyAndClearExpectations(&launcher_);
  ASSERT_TRUE(canceled.ok()) << canceled.error().message;
  EXPECT_EQ(canceled->state(), v1::RUNNING);
  EXPECT_TRUE(canceled->cancel_requested());
  EXPECT_TRUE(store_.record(alpha).cancel_requested());

  // The JobManager hears of it with its next report.
  auto response = report(alpha, 1, v1::RUNNING);
  EXPECT_TRUE(response.known());
  EXPECT_TRUE(response.cancel());
  EXPECT_EQ(state(beta), v1::QUEUED);

  // Its exit ends the job CANCELED (not a relaunch) and frees the place.
  EXPECT_CALL(launcher_, launch(launchOf(beta, 1))).WillOnce(Return(runningAt(2)));
  exited(alpha, 1, "exit code 1");
  Mock::VerifyAndClearExpectations(&launcher_);
  auto job = view(alpha);
  EXPECT_EQ(job.state(), v1::CANCELED);
  EXPECT_EQ(job.error(), "canceled by the user");
  EXPECT_EQ(job.attempts(0).exit(), "exit code 1");
  loop_.advance(kTimeout - Duration(1));  // no relaunch
  EXPECT_EQ(view(alpha).attempt(), 1);
  EXPECT_EQ(state(alpha), v1::CANCELED);
}

TEST_F(DispatcherTest, CancelOfAJobThatEndsItselfCanceled) {
  start();
  std::string alpha = launched("alpha");
  running(alpha);
  EXPECT_CALL(launcher_, stop(alpha, 1, false));
  ASSERT_TRUE(dispatcher_->cancel(alpha).ok());
  auto canceledReport = runReport("CANCELED", "canceled by the user");
  EXPECT_TRUE(report(alpha, 1, v1::CANCELED, &canceledReport, "canceled by the user").cancel());
  EXPECT_EQ(state(alpha), v1::CANCELED);
  EXPECT_TRUE(dispatcher_->report(alpha).ok());
  exited(alpha, 1, "exit code 0");
  EXPECT_EQ(state(alpha), v1::CANCELED);
}

TEST_F(DispatcherTest, CancelOfAJobWaitingForItsRelaunchEndsItAtOnce) {
  start();
  std::string id = launched("alpha");
  exited(id, 1);
  ASSERT_EQ(state(id), v1::LAUNCHING);
  auto canceled = dispatcher_->cancel(id);  // no JobManager to stop
  ASSERT_TRUE(canceled.ok()) << canceled.error().message;
  EXPECT_EQ(canceled->state(), v1::CANCELED);
  loop_.advance(Duration(120000));  // the relaunch is off
  EXPECT_EQ(view(id).attempt(), 1);
}

TEST_F(DispatcherTest, CancelOfAnEndedJobIsAFailedPrecondition) {
  start();
  std::string alpha = launched("alpha");
  finish(alpha);
  auto again = dispatcher_->cancel(alpha);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(again.error().message, "job " + alpha + " already ended FINISHED");
  EXPECT_FALSE(view(alpha).cancel_requested());

  std::string beta = launched("beta");
  exited(beta, 1);
  ASSERT_TRUE(dispatcher_->cancel(beta).ok());
  auto twice = dispatcher_->cancel(beta);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(twice.error().message, "job " + beta + " already ended CANCELED");
}

TEST_F(DispatcherTest, UnknownIdsAreNotFound) {
  start();
  for (const auto& error :
       {dispatcher_->job("nope").error(), dispatcher_->cancel("nope").error(),
        dispatcher_->report("nope").error(), dispatcher_->jobManagerLog("nope").error()}) {
    EXPECT_EQ(error.code, ErrorCode::kNotFound);
    EXPECT_EQ(error.message, "no job with id 'nope'");
  }
}

TEST_F(DispatcherTest, JobManagerLogIsTheLatestAttempts) {
  start(withRunning(1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  auto none = dispatcher_->jobManagerLog(beta);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message, "job " + beta + " has no JobManager yet (QUEUED)");

  auto first = dispatcher_->jobManagerLog(alpha);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, store_.jobDir(alpha) + "/jobmanager-1.log");
  exited(alpha, 1);
  EXPECT_CALL(launcher_, launch(launchOf(alpha, 2))).WillOnce(Return(runningAt(2)));
  loop_.advance(kBackoff);
  EXPECT_EQ(*dispatcher_->jobManagerLog(alpha), store_.jobDir(alpha) + "/jobmanager-2.log");
}

// --- the silence watchdog ---

TEST_F(DispatcherTest, ASilentJobManagerIsStoppedWithForceAndRelaunched) {
  start();
  std::string id = launched("alpha");
  loop_.advance(Duration(10000));
  running(id);  // heard at +10 s
  loop_.advance(Duration(29999));
  Mock::VerifyAndClearExpectations(&launcher_);

  EXPECT_CALL(launcher_, stop(id, 1, true));
  loop_.advance(Duration(1));  // +40 s: 30 s of silence
  Mock::VerifyAndClearExpectations(&launcher_);
  auto job = view(id);
  EXPECT_EQ(job.state(), v1::LAUNCHING);
  EXPECT_EQ(job.attempts(0).exit(), "sent no status for 30 s");
  EXPECT_EQ(job.attempts(0).ended_at(), kWallStart + 40);
  EXPECT_EQ(job.history(job.history_size() - 1).reason(),
            "JobManager attempt 1 sent no status for 30 s; relaunching in 1.0s");
  EXPECT_FALSE(report(id, 1, v1::RUNNING).known()) << "the silent attempt is written off";

  // The killed JobManager's exit comes later and changes nothing.
  exited(id, 1, "killed by signal 9 (Killed)");
  EXPECT_EQ(view(id).attempts(0).exit(), "sent no status for 30 s");

  EXPECT_CALL(launcher_, launch(launchOf(id, 2))).WillOnce(Return(runningAt(2)));
  loop_.advance(kBackoff);
  Mock::VerifyAndClearExpectations(&launcher_);
  // The new attempt has its own 30 s.
  loop_.advance(kTimeout - Duration(1));
  EXPECT_TRUE(report(id, 2, v1::RUNNING).known());
}

TEST_F(DispatcherTest, ReportsKeepTheWatchdogQuiet) {
  start();
  std::string id = launched("alpha");
  for (int i = 0; i < 10; ++i) {
    loop_.advance(Duration(20000));
    EXPECT_TRUE(report(id, 1, v1::RUNNING).known());
  }
  EXPECT_EQ(state(id), v1::RUNNING);
  // An ended job's JobManager may stay quiet until it exits.
  finish(id);
  loop_.advance(Duration(120000));
}

TEST_F(DispatcherTest, AWatchdogThatFailsAJobKeepsASingleTimer) {
  // The silent job fails (one attempt only) and the next one starts from
  // inside the watchdog's own check.
  start(withRunning(1, 1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  EXPECT_CALL(launcher_, stop(alpha, 1, true));
  EXPECT_CALL(launcher_, launch(launchOf(beta, 1))).WillOnce(Return(runningAt(2)));
  loop_.advance(kTimeout);
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(state(alpha), v1::FAILED);
  EXPECT_EQ(view(alpha).error(),
            "none: the job is never restarted; the last failure: JobManager attempt 1 sent no "
            "status for 30 s");
  EXPECT_EQ(state(beta), v1::LAUNCHING);
  EXPECT_EQ(loop_.pendingTimers(), 1u) << "one watchdog";
}

TEST_F(DispatcherTest, AnEndedJobsJobManagerThatDoesNotExitIsKilledAndHoldsItsPlaceUntilItDoes) {
  start(withRunning(1));
  std::string alpha = launched("alpha");
  std::string beta = queued("beta");
  running(alpha);
  loop_.advance(Duration(10000));
  auto finished = runReport("FINISHED");
  EXPECT_TRUE(report(alpha, 1, v1::FINISHED, &finished).known());  // heard at +10 s, then nothing
  EXPECT_EQ(state(alpha), v1::FINISHED);
  loop_.advance(kTimeout - Duration(1));
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(state(beta), v1::QUEUED);

  EXPECT_CALL(launcher_, stop(alpha, 1, true));
  loop_.advance(Duration(1));  // +40 s: 30 s after its last report
  Mock::VerifyAndClearExpectations(&launcher_);
  auto job = view(alpha);
  EXPECT_EQ(job.state(), v1::FINISHED) << "the job's end stands";
  EXPECT_EQ(job.error(), "");
  EXPECT_EQ(job.attempts(0).ended_at(), 0) << "the attempt ends when its process is gone";
  EXPECT_EQ(state(beta), v1::QUEUED) << "the place is free only once it exited";
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 1);

  // Still running 30 s later: killed again.
  EXPECT_CALL(launcher_, stop(alpha, 1, true));
  loop_.advance(kTimeout);
  Mock::VerifyAndClearExpectations(&launcher_);

  // Its exit frees the place for the next job; the ended one is not relaunched.
  EXPECT_CALL(launcher_, launch(launchOf(beta, 1))).WillOnce(Return(runningAt(2)));
  exited(alpha, 1, "killed by signal 9 (Killed)");
  Mock::VerifyAndClearExpectations(&launcher_);
  job = view(alpha);
  EXPECT_EQ(job.state(), v1::FINISHED);
  EXPECT_EQ(job.attempts(0).exit(), "killed by signal 9 (Killed)");
  EXPECT_EQ(job.attempts(0).ended_at(), kWallStart + 70);
  EXPECT_EQ(state(beta), v1::LAUNCHING);
  running(beta);
}

TEST_F(DispatcherTest, AnEndedJobsJobManagerThatStillReportsIsNotKilled) {
  start();
  std::string id = launched("alpha");
  auto finished = runReport("FINISHED");
  EXPECT_TRUE(report(id, 1, v1::FINISHED, &finished).known());
  for (int i = 0; i < 3; ++i) {
    loop_.advance(Duration(20000));
    EXPECT_TRUE(report(id, 1, v1::FINISHED, &finished).known());
  }
  Mock::VerifyAndClearExpectations(&launcher_);
  // Silent from +60 s on.
  EXPECT_CALL(launcher_, stop(id, 1, true));
  loop_.advance(kTimeout);
  Mock::VerifyAndClearExpectations(&launcher_);
  exited(id, 1, "exit code 0");
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 0);
  loop_.advance(Duration(120000));  // nothing more
}

TEST_F(DispatcherTest, AJobManagerWaitingForResourcesIsNotSilent) {
  start();
  std::string id = launched("alpha");
  launcher_.waitingJobs.insert(id);  // no Mesos offer fits it yet
  loop_.advance(kTimeout * 4);
  Mock::VerifyAndClearExpectations(&launcher_);
  auto job = view(id);
  EXPECT_EQ(job.state(), v1::LAUNCHING);
  EXPECT_EQ(job.attempts(0).ended_at(), 0);

  // Placed at last: its silence counts from then.
  launcher_.waitingJobs.erase(id);
  loop_.advance(kTimeout - Duration(1));
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_CALL(launcher_, stop(id, 1, true));
  loop_.advance(Duration(1));
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(view(id).attempts(0).exit(), "sent no status for 30 s");
  EXPECT_CALL(launcher_, launch(launchOf(id, 2))).WillOnce(Return(runningAt(2)));
  loop_.advance(kBackoff);
  Mock::VerifyAndClearExpectations(&launcher_);
  running(id, 2);
}

// --- recovery ---

TEST_F(DispatcherTest, RecoverAdoptsLiveJobManagersAndRequeuesQueuedJobs) {
  store_.records["a-done"] = storedJob("a-done", v1::FINISHED, 1);
  addAttempt(store_.records["a-done"], 11, false);
  store_.records["b-running"] = storedJob("b-running", v1::RUNNING, 2);
  addAttempt(store_.records["b-running"], 21, false);
  addAttempt(store_.records["b-running"], 22, true);
  store_.records["c-launching"] = storedJob("c-launching", v1::LAUNCHING, 3);
  addAttempt(store_.records["c-launching"], 31, true);
  // Its JobManager was gone, a relaunch pending, when the Dispatcher stopped.
  store_.records["d-relaunch"] = storedJob("d-relaunch", v1::LAUNCHING, 4);
  addAttempt(store_.records["d-relaunch"], 41, false);
  // Queued; their ids sort against their submission order.
  store_.records["z-queued"] = storedJob("z-queued", v1::QUEUED, 5);
  store_.records["y-queued"] = storedJob("y-queued", v1::QUEUED, 6);
  store_.records["x-queued"] = storedJob("x-queued", v1::QUEUED, 7);
  store_.loadProblems = {"jobs/broken/record.pb: not a valid job record"};
  create(withRunning(4));
  EXPECT_FALSE(dispatcher_->ready());

  EXPECT_CALL(launcher_, adopt("b-running", AllOf(Property(&v1::JobManagerAttempt::attempt, 2),
                                                  Property(&v1::JobManagerAttempt::pid, 22))));
  EXPECT_CALL(launcher_, adopt("c-launching", Property(&v1::JobManagerAttempt::pid, 31)));
  // b, c and d hold three of the four places: the earliest queued job starts.
  EXPECT_CALL(launcher_, launch(launchOf("z-queued", 1))).WillOnce(Return(runningAt(51)));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_TRUE(dispatcher_->ready());

  EXPECT_EQ(state("a-done"), v1::FINISHED);
  EXPECT_EQ(state("b-running"), v1::RUNNING);
  EXPECT_EQ(state("c-launching"), v1::LAUNCHING);
  EXPECT_EQ(state("d-relaunch"), v1::LAUNCHING);
  EXPECT_EQ(state("z-queued"), v1::LAUNCHING);
  EXPECT_EQ(view("y-queued").queue_position(), 1);
  EXPECT_EQ(view("x-queued").queue_position(), 2);
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 3);

  // The pending relaunch happens after the back-off, as attempt 2.
  JobManagerLaunch relaunch;
  EXPECT_CALL(launcher_, launch(launchOf("d-relaunch", 2)))
      .WillOnce(DoAll(SaveArg<0>(&relaunch), Return(runningAt(42))));
  loop_.advance(kBackoff);
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(relaunch.specPath, store_.jobDir("d-relaunch") + "/files/job.yaml");
  EXPECT_EQ(relaunch.outputDir, store_.jobDir("d-relaunch") + "/output");
  EXPECT_EQ(relaunch.dispatcherAddress, kAddress);

  // Adopted JobManagers report as before.
  EXPECT_TRUE(report("b-running", 2, v1::RUNNING).known());
  EXPECT_FALSE(report("b-running", 1, v1::RUNNING).known());
  EXPECT_TRUE(report("c-launching", 1, v1::RUNNING).known());
  EXPECT_EQ(state("c-launching"), v1::RUNNING);

  // The list is in submission order; new jobs come after the recovered ones.
  std::vector<std::string> ids;
  auto all = dispatcher_->list(std::nullopt, 0, 100);
  for (const auto& job : all.jobs()) ids.push_back(job.id());
  EXPECT_THAT(ids, ElementsAre("a-done", "b-running", "c-launching", "d-relaunch", "z-queued",
                               "y-queued", "x-queued"));
  auto late = submit("late", 0, false);
  EXPECT_EQ(late.queue_position(), 3);
  EXPECT_EQ(store_.record(late.id()).sequence(), 8);

  // An adopted JobManager that dies is relaunched like any other.
  exited("b-running", 2, "gone while the Dispatcher was down");
  EXPECT_EQ(state("b-running"), v1::LAUNCHING);
  EXPECT_CALL(launcher_, launch(launchOf("b-running", 3))).WillOnce(Return(runningAt(23)));
  loop_.advance(Duration(2000));  // the third attempt waits twice as long
  Mock::VerifyAndClearExpectations(&launcher_);
  report("z-queued", 1, v1::RUNNING);
  report("d-relaunch", 2, v1::RUNNING);
}

TEST_F(DispatcherTest, RecoverWatchesAdoptedJobManagersForSilence) {
  store_.records["b-running"] = storedJob("b-running", v1::RUNNING, 1);
  addAttempt(store_.records["b-running"], 21, true);
  create();
  EXPECT_CALL(launcher_, adopt("b-running", _));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);

  EXPECT_CALL(launcher_, stop("b-running", 1, true));
  loop_.advance(kTimeout);
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(state("b-running"), v1::LAUNCHING);
  EXPECT_CALL(launcher_, launch(launchOf("b-running", 2))).WillOnce(Return(runningAt(2)));
  loop_.advance(kBackoff);
  Mock::VerifyAndClearExpectations(&launcher_);
  report("b-running", 2, v1::RUNNING);
}

TEST_F(DispatcherTest, RecoverAdoptsTheJobManagerOfAnEndedJobThatHadNotExited) {
  // The Dispatcher stopped between the job's end and its JobManager's exit.
  store_.records["a-done"] = storedJob("a-done", v1::FINISHED, 1);
  addAttempt(store_.records["a-done"], 11, true);
  store_.records["b-queued"] = storedJob("b-queued", v1::QUEUED, 2);
  create(withRunning(1));
  EXPECT_CALL(launcher_, adopt("a-done", Property(&v1::JobManagerAttempt::pid, 11)));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(state("a-done"), v1::FINISHED);
  EXPECT_EQ(state("b-queued"), v1::QUEUED) << "its JobManager still holds the place";
  EXPECT_EQ(dispatcher_->overview().jobmanagers(), 1);

  // Still running after the timeout: killed, as without the restart.
  EXPECT_CALL(launcher_, stop("a-done", 1, true));
  loop_.advance(kTimeout);
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_CALL(launcher_, launch(launchOf("b-queued", 1))).WillOnce(Return(runningAt(2)));
  exited("a-done", 1, "killed by signal 9 (Killed)");
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(state("a-done"), v1::FINISHED);
  EXPECT_EQ(view("a-done").attempts(0).exit(), "killed by signal 9 (Killed)");
  running("b-queued");
}

TEST_F(DispatcherTest, RecoverFailsWhenTheStoreCannotBeRead) {
  store_.loadError = makeError(ErrorCode::kIo, "cannot list 'state/jobs': permission denied");
  create();
  Status recovered = dispatcher_->recover();
  ASSERT_FALSE(recovered.ok());
  EXPECT_EQ(recovered.error().message, "cannot list 'state/jobs': permission denied");
  EXPECT_FALSE(dispatcher_->ready());
}

TEST_F(DispatcherTest, NothingLaunchesBeforeRecovery) {
  create();
  auto response = dispatcher_->submit(submission("early"));
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->state(), v1::QUEUED);
  EXPECT_EQ(response->queue_position(), 1);
  EXPECT_CALL(launcher_, launch(launchOf(response->id(), 1))).WillOnce(Return(runningAt(1)));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(state(response->id()), v1::LAUNCHING);
  EXPECT_EQ(dispatcher_->list(std::nullopt, 0, 10).total(), 1);
  report(response->id(), 1, v1::RUNNING);
}

// --- list and overview ---

TEST_F(DispatcherTest, ListFiltersAndPages) {
  start(withRunning(1));
  std::string a = launched("a");
  std::string b = queued("b");
  std::string c = queued("c");
  std::string d = queued("d", 2);
  ASSERT_TRUE(dispatcher_->cancel(c).ok());
  running(a);

  auto all = dispatcher_->list(std::nullopt, 0, 100);
  EXPECT_EQ(all.total(), 4);
  EXPECT_EQ(all.offset(), 0);
  EXPECT_EQ(all.limit(), 100);
  ASSERT_EQ(all.jobs_size(), 4);
  EXPECT_EQ(all.jobs(0).id(), a);
  EXPECT_EQ(all.jobs(1).id(), b);
  EXPECT_EQ(all.jobs(2).id(), c);
  EXPECT_EQ(all.jobs(3).id(), d);
  EXPECT_EQ(all.jobs(0).state(), v1::RUNNING);
  EXPECT_EQ(all.jobs(0).queue_position(), 0);
  EXPECT_EQ(all.jobs(1).queue_position(), 2);
  EXPECT_EQ(all.jobs(2).queue_position(), 0);
  EXPECT_EQ(all.jobs(3).queue_position(), 1);
  // Items leave out the details.
  EXPECT_EQ(all.jobs(0).history_size(), 0);
  EXPECT_EQ(all.jobs(0).attempts_size(), 0);
  EXPECT_EQ(all.jobs(0).stages_size(), 0);
  EXPECT_EQ(all.jobs(0).files_size(), 0);
  EXPECT_EQ(all.jobs(0).attempt(), 1);
  EXPECT_NE(all.jobs(0).started_at(), 0);

  auto queuedJobs = dispatcher_->list(v1::QUEUED, 0, 100);
  EXPECT_EQ(queuedJobs.total(), 2);
  ASSERT_EQ(queuedJobs.jobs_size(), 2);
  EXPECT_EQ(queuedJobs.jobs(0).id(), b);
  EXPECT_EQ(queuedJobs.jobs(1).id(), d);

  auto page = dispatcher_->list(std::nullopt, 1, 2);
  EXPECT_EQ(page.total(), 4);
  EXPECT_EQ(page.offset(), 1);
  EXPECT_EQ(page.limit(), 2);
  ASSERT_EQ(page.jobs_size(), 2);
  EXPECT_EQ(page.jobs(0).id(), b);
  EXPECT_EQ(page.jobs(1).id(), c);

  auto lastQueued = dispatcher_->list(v1::QUEUED, 1, 5);
  EXPECT_EQ(lastQueued.total(), 2);
  ASSERT_EQ(lastQueued.jobs_size(), 1);
  EXPECT_EQ(lastQueued.jobs(0).id(), d);

  EXPECT_EQ(dispatcher_->list(std::nullopt, 10, 5).jobs_size(), 0);
  EXPECT_EQ(dispatcher_->list(std::nullopt, 10, 5).total(), 4);
  EXPECT_EQ(dispatcher_->list(std::nullopt, 0, 0).jobs_size(), 0);
  EXPECT_EQ(dispatcher_->list(v1::FINISHED, 0, 100).total(), 0);
  EXPECT_EQ(dispatcher_->list(v1::CANCELED, 0, 100).jobs(0).id(), c);
}

TEST_F(DispatcherTest, OverviewCountsJobsJobManagersAndTaskManagers) {
  start(withRunning(2));
  auto empty = dispatcher_->overview();
  EXPECT_THAT(empty.jobs(),
              UnorderedElementsAre(Pair("QUEUED", 0), Pair("LAUNCHING", 0), Pair("RUNNING", 0),
                                   Pair("FINISHED", 0), Pair("FAILED", 0), Pair("CANCELED", 0)));
  EXPECT_EQ(empty.max_running_jobs(), 2);

  std::string a = launched("a");
  std::string b = launched("b");
  std::string c = queued("c");
  std::string d = queued("d");
  ASSERT_TRUE(dispatcher_->cancel(d).ok());
  v1::ReportJobStatusRequest request;
  request.set_job_id(a);
  request.set_attempt(1);
  request.set_state(v1::RUNNING);
  *request.add_taskmanagers() = taskManager("tm-1", "running", 1, 512);
  *request.add_taskmanagers() = taskManager("tm-2", "starting", 0.5, 256, 1);
  *request.add_taskmanagers() = taskManager("tm-3", "released", 4, 4096);
  *request.add_taskmanagers() = taskManager("tm-4", "lost", 4, 4096);
  EXPECT_TRUE(dispatcher_->reportStatus(request).known());

  auto overview = dispatcher_->overview();
  EXPECT_THAT(overview.jobs(),
              UnorderedElementsAre(Pair("QUEUED", 1), Pair("LAUNCHING", 1), Pair("RUNNING", 1),
                                   Pair("FINISHED", 0), Pair("FAILED", 0), Pair("CANCELED", 1)));
  EXPECT_EQ(overview.jobmanagers(), 2);
  EXPECT_EQ(overview.taskmanagers(), 2);
  EXPECT_EQ(overview.resources().cpus(), 1.5);
  EXPECT_EQ(overview.resources().mem(), 768);
  EXPECT_EQ(overview.resources().gpus(), 1);
  EXPECT_EQ(overview.resources().disk(), 0);
  EXPECT_EQ(overview.max_running_jobs(), 2);

  // An ended job's TaskManagers no longer count; its JobManager does until it
  // exits, and holds its place until then.
  request.set_state(v1::FINISHED);
  EXPECT_TRUE(dispatcher_->reportStatus(request).known());
  overview = dispatcher_->overview();
  EXPECT_EQ(overview.jobs().at("FINISHED"), 1);
  EXPECT_EQ(overview.jobs().at("QUEUED"), 1);
  EXPECT_EQ(overview.jobs().at("LAUNCHING"), 1);
  EXPECT_EQ(overview.taskmanagers(), 0);
  EXPECT_EQ(overview.resources().cpus(), 0);
  EXPECT_EQ(overview.jobmanagers(), 2);
  EXPECT_CALL(launcher_, launch(launchOf(c, 1))).WillOnce(Return(runningAt(3)));
  exited(a, 1, "exit code 0");
  Mock::VerifyAndClearExpectations(&launcher_);
  overview = dispatcher_->overview();
  EXPECT_EQ(overview.jobs().at("QUEUED"), 0);
  EXPECT_EQ(overview.jobs().at("LAUNCHING"), 2);
  EXPECT_EQ(overview.jobmanagers(), 2);
  report(b, 1, v1::RUNNING);
  report(c, 1, v1::RUNNING);
}

TEST(DispatcherStateTest, ToStringNamesEveryState) {
  EXPECT_STREQ(toString(v1::QUEUED), "QUEUED");
  EXPECT_STREQ(toString(v1::LAUNCHING), "LAUNCHING");
  EXPECT_STREQ(toString(v1::RUNNING), "RUNNING");
  EXPECT_STREQ(toString(v1::FINISHED), "FINISHED");
  EXPECT_STREQ(toString(v1::FAILED), "FAILED");
  EXPECT_STREQ(toString(v1::CANCELED), "CANCELED");
  EXPECT_STREQ(toString(v1::JOB_STATE_UNSPECIFIED), "UNSPECIFIED");
}


// --- asking JobManagers ---

TEST_F(DispatcherTest, ARestartedDispatcherAsksAnAdoptedJobManagerForItsStatus) {
  store_.records["b-running"] = storedJob("b-running", v1::RUNNING, 1);
  addAttempt(store_.records["b-running"], 21, true);
  store_.records["b-running"].mutable_attempts(0)->set_address("10.0.0.7:4100");
  store_.records["c-old"] = storedJob("c-old", v1::RUNNING, 2);
  addAttempt(store_.records["c-old"], 22, true);  // no address known: nobody to ask
  StrictMock<MockJobManagerGateway> gateway;
  create();
  dispatcher_->setJobManagerGateway(&gateway);
  JobManagerGateway::StatusCallback answer;
  EXPECT_CALL(launcher_, adopt("b-running", _));
  EXPECT_CALL(launcher_, adopt("c-old", _));
  EXPECT_CALL(gateway, getStatus("10.0.0.7:4100", "b-running", _)).WillOnce(SaveArg<2>(&answer));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);
  Mock::VerifyAndClearExpectations(&gateway);

  // The answer counts as a report: progress is current at once.
  v1::ReportJobStatusRequest status;
  status.set_job_id("b-running");
  status.set_attempt(1);
  status.set_state(v1::RUNNING);
  auto* stage = status.add_stages();
  stage->set_name("count");
  stage->set_parallelism(4);
  stage->set_finished(3);
  answer(status);
  ASSERT_EQ(view("b-running").stages_size(), 1);
  EXPECT_EQ(view("b-running").stages(0).finished(), 3);
}

TEST_F(DispatcherTest, ASilentJobManagerIsAskedBeforeItIsGivenUp) {
  StrictMock<MockJobManagerGateway> gateway;
  create();
  dispatcher_->setJobManagerGateway(&gateway);
  ASSERT_TRUE(dispatcher_->recover().ok());
  std::string id = launched("alpha");
  v1::ReportJobStatusRequest status;
  status.set_job_id(id);
  status.set_attempt(1);
  status.set_state(v1::RUNNING);
  status.set_address("10.0.0.8:4200");
  EXPECT_TRUE(dispatcher_->reportStatus(status).known());

  // Half the timeout without a push: asked once (not again while asking).
  JobManagerGateway::StatusCallback answer;
  EXPECT_CALL(gateway, getStatus("10.0.0.8:4200", id, _)).WillOnce(SaveArg<2>(&answer));
  loop_.advance(kTimeout / 2 + Duration(1000));
  loop_.advance(Duration(2000));
  Mock::VerifyAndClearExpectations(&gateway);
  // It answers: alive, so it is not given up at the timeout.
  answer(status);
  std::vector<JobManagerGateway::StatusCallback> answers;
  EXPECT_CALL(gateway, getStatus("10.0.0.8:4200", id, _))
      .WillRepeatedly([&answers](const std::string&, const std::string&,
                                 JobManagerGateway::StatusCallback done) {
        answers.push_back(std::move(done));
      });
  loop_.advance(kTimeout / 2 + Duration(1000));
  EXPECT_EQ(state(id), v1::RUNNING);
  ASSERT_EQ(answers.size(), 1u);

  // An answer about another attempt does not count; a failed one neither:
  // at the timeout it is given up.
  v1::ReportJobStatusRequest stale = status;
  stale.set_attempt(7);
  answers.back()(stale);
  loop_.advance(Duration(1000));
  ASSERT_EQ(answers.size(), 2u);
  answers.back()(makeError(ErrorCode::kUnavailable, "connection refused"));
  EXPECT_CALL(launcher_, stop(id, 1, true));
  EXPECT_CALL(launcher_, launch(launchOf(id, 2))).WillOnce(Return(runningAt(3)));
  loop_.advance(kTimeout / 2);
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(state(id), v1::LAUNCHING);
  EXPECT_EQ(view(id).attempts(0).exit(), "sent no status for 30 s");
  Mock::VerifyAndClearExpectations(&gateway);
}

TEST_F(DispatcherTest, ARemoteTaskLogIsReadWhereTheTaskRan) {
  StrictMock<MockJobManagerGateway> gateway;
  EXPECT_CALL(launcher_, setExitCallback(_)).WillOnce(SaveArg<0>(&exited_));
  EXPECT_CALL(launcher_, name()).WillOnce(Return("mesos"));
  dispatcher_ = std::make_unique<Dispatcher>(loop_, store_, launcher_, defaultConfig());
  dispatcher_->setAddress(kAddress);
  dispatcher_->setJobManagerGateway(&gateway);
  Mock::VerifyAndClearExpectations(&launcher_);
  ASSERT_TRUE(dispatcher_->recover().ok());
  EXPECT_FALSE(dispatcher_->taskLogsAreLocal());
  std::string id = launched("alpha");
  std::optional<Result<FileChunk>> got;
  auto read = [&](const std::string& task, int attempt) {
    got.reset();
    dispatcher_->readRemoteTaskLog(id, task, attempt, 0, 100, -1,
                                   [&got](Result<FileChunk> chunk) { got = std::move(chunk); });
  };

  // No JobManager address yet: nobody to ask; the answer says where the file stays.
  read("count[0]", 0);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code, ErrorCode::kNotFound);
  EXPECT_THAT(got->error().message, HasSubstr("sandbox"));
  read("count", 0);
  EXPECT_EQ(got->error().code, ErrorCode::kInvalidArgument);

  v1::ReportJobStatusRequest status;
  status.set_job_id(id);
  status.set_attempt(1);
  status.set_state(v1::RUNNING);
  status.set_address("10.0.0.9:4300");
  dispatcher_->reportStatus(status);

  v1::LocateTaskResponse located;
  located.set_taskmanager_id("tm-3");
  located.set_address("10.0.0.5:31002");
  located.set_attempt(2);
  v1::ReadTaskLogRequest asked;
  EXPECT_CALL(gateway, locateTask("10.0.0.9:4300", _, "count", 0, _))
      .WillOnce([&located](const std::string&, const std::string&, const std::string&, int,
                           std::function<void(Result<v1::LocateTaskResponse>)> done) {
        done(located);
      });
  EXPECT_CALL(gateway, readTaskLog("10.0.0.5:31002", _, _))
      .WillOnce([&asked](const std::string&, const v1::ReadTaskLogRequest& request,
                         std::function<void(Result<v1::ReadTaskLogResponse>)> done) {
        asked = request;
        v1::ReadTaskLogResponse response;
        response.set_data("oops\n");
        response.set_size(5);
        done(response);
      });
  read("count[0]", 0);
  Mock::VerifyAndClearExpectations(&gateway);
  ASSERT_TRUE(got.has_value() && got->ok());
  EXPECT_EQ((*got)->data, "oops\n");
  EXPECT_EQ((*got)->size, 5);
  EXPECT_EQ(asked.stage(), "count");
  EXPECT_EQ(asked.job_id(), id) << "a session's TaskManagers keep the logs of many jobs";
  EXPECT_EQ(asked.attempt(), 2) << "the latest attempt, as the JobManager says";
  EXPECT_EQ(asked.length(), 100);

  // The TaskManager is gone: the error names it and where the file stays.
  EXPECT_CALL(gateway, locateTask(_, _, _, _, _))
      .WillOnce([&located](const std::string&, const std::string&, const std::string&, int,
                           std::function<void(Result<v1::LocateTaskResponse>)> done) {
        done(located);
      });
  EXPECT_CALL(gateway, readTaskLog(_, _, _))
      .WillOnce([](const std::string&, const v1::ReadTaskLogRequest& request,
                   std::function<void(Result<v1::ReadTaskLogResponse>)> done) {
        EXPECT_EQ(request.attempt(), 1);
        done(makeError(ErrorCode::kUnavailable, "connection refused"));
      });
  read("count[0]", 1);
  ASSERT_FALSE(got->ok());
  EXPECT_THAT(got->error().message, AllOf(HasSubstr("tm-3"), HasSubstr("sandbox")));
  report(id, 1, v1::RUNNING);
}

TEST_F(DispatcherTest, TheAttemptIsRecordedBeforeItsProcessStarts) {
  start();
  int attemptsOnDisk = -1;
  double launchedAt = -1;
  EXPECT_CALL(launcher_, launch(_)).WillOnce([&](const JobManagerLaunch& launch) {
    const auto& stored = store_.record(launch.jobId);
    attemptsOnDisk = stored.attempts_size();
    if (attemptsOnDisk == 1) launchedAt = stored.attempts(0).launched_at();
    return Result<v1::JobManagerAttempt>(runningAt(77));
  });
  auto submitted = dispatcher_->submit(submission("alpha"));
  ASSERT_TRUE(submitted.ok());
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(attemptsOnDisk, 1) << "a Dispatcher dying now must find the attempt";
  auto stored = store_.record(submitted->id());
  ASSERT_EQ(stored.attempts_size(), 1);
  EXPECT_EQ(stored.attempts(0).pid(), 77);
  EXPECT_EQ(stored.attempts(0).launched_at(), launchedAt);
  report(submitted->id(), 1, v1::RUNNING);
}

TEST_F(DispatcherTest, AStateStoreThatCannotBeWrittenMakesItNotReady) {
  start(withRunning(1));
  EXPECT_TRUE(dispatcher_->ready());
  std::string id = launched("alpha");
  std::string queued = this->queued("q", 0);
  store_.putJobError = makeError(ErrorCode::kIo, "no space left on device");
  auto canceled = dispatcher_->cancel(queued);
  ASSERT_FALSE(canceled.ok());
  EXPECT_EQ(canceled.error().code, ErrorCode::kInternal);
  EXPECT_THAT(canceled.error().message, HasSubstr("no space left on device"));
  EXPECT_FALSE(dispatcher_->ready());
  EXPECT_EQ(dispatcher_->storeError(), "no space left on device");

  store_.putJobError.reset();
  report(id, 1, v1::RUNNING);  // the next state change is written
  EXPECT_TRUE(dispatcher_->ready());
}

// --- restart strategies ---

// The end of the latest history entry's reason.
std::string lastReason(const v1::JobView& job) {
  return job.history_size() == 0 ? "" : job.history(job.history_size() - 1).reason();
}

class DispatcherRestartTest : public DispatcherTest {
 protected:
  // Submits a job named `name` whose spec has `block` as its restart_strategy;
  // its first JobManager starts. Returns its id.
  std::string launchedWith(const std::string& name, const std::string& block) {
    v1::SubmitJobRequest request = submission(name);
    request.set_spec(spec(name, "restart_strategy: " + block + "\n"));
    EXPECT_CALL(launcher_, launch(firstLaunchOfJobNamed(name))).WillOnce(Return(runningAt(1)));
    auto response = dispatcher_->submit(request);
    Mock::VerifyAndClearExpectations(&launcher_);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? response->id() : "";
  }

  // Attempt `attempt` of `id` starts exactly `delay` after now, not a millisecond earlier.
  void relaunchedAfter(const std::string& id, int attempt, Duration delay) {
    loop_.advance(delay - Duration(1));
    Mock::VerifyAndClearExpectations(&launcher_);  // nothing launched yet
    EXPECT_CALL(launcher_, launch(launchOf(id, attempt))).WillOnce(Return(runningAt(attempt)));
    loop_.advance(Duration(1));
    Mock::VerifyAndClearExpectations(&launcher_);
    EXPECT_EQ(view(id).restart_at(), 0) << "no restart waits any more";
  }

  // Attempt `attempt` of `id` runs for `duration`, reporting every 10 s.
  void runFor(const std::string& id, int attempt, Duration duration) {
    for (Duration left = duration; left > Duration(0); left -= Duration(10000)) {
      running(id, attempt);
      loop_.advance(std::min(left, Duration(10000)));
    }
  }

  // The JobManager of `attempt` reports the job FAILED with a report.
  void reportFailed(const std::string& id, int attempt, const std::string& error) {
    auto failed = runReport("FAILED", error);
    EXPECT_TRUE(report(id, attempt, v1::FAILED, &failed, error).known());
  }
};

TEST_F(DispatcherRestartTest, TheSpecsStrategyIsKeptInTheRecordElseTheDefault) {
  start();
  std::string own = launchedWith("own", "{type: fixed-delay, attempts: 5, delay: 3s}");
  std::string plain = launched("plain");
  auto job = view(own);
  EXPECT_EQ(job.restart_strategy().type(), v1::FIXED_DELAY);
  EXPECT_EQ(job.restart_strategy().attempts(), 5);
  EXPECT_EQ(job.restart_strategy().delay_seconds(), 3);
  EXPECT_TRUE(MessageDifferencer::Equals(store_.record(own).restart_strategy(),
                                         job.restart_strategy()));
  EXPECT_TRUE(MessageDifferencer::Equals(view(plain).restart_strategy(),
                                         legacyRestartStrategy(3, kBackoff)));
  EXPECT_TRUE(MessageDifferencer::Equals(store_.record(plain).restart_strategy(),
                                         legacyRestartStrategy(3, kBackoff)));
  // A record of an earlier Dispatcher without one shows the default.
  store_.records["old"] = storedJob("old", v1::FINISHED, 9);
  dispatcher_.reset();
  create();
  EXPECT_CALL(launcher_, adopt(_, _)).Times(2);
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_TRUE(MessageDifferencer::Equals(view("old").restart_strategy(),
                                         legacyRestartStrategy(3, kBackoff)));
  EXPECT_EQ(view(own).restart_strategy().type(), v1::FIXED_DELAY);
}

TEST_F(DispatcherRestartTest, FixedDelayRelaunchesAfterItsDelayThenGivesUp) {
  start();
  std::string id = launchedWith("alpha", "{type: fixed-delay, attempts: 2, delay: 10s}");
  for (int attempt = 1; attempt <= 2; ++attempt) {
    running(id, attempt);
    loop_.advance(Duration(3000));
    exited(id, attempt, "exit code 1");
    auto job = view(id);
    EXPECT_EQ(job.state(), v1::LAUNCHING);
    EXPECT_EQ(job.restart_at(), loop_.wallSeconds() + 10);
    EXPECT_EQ(store_.record(id).restart_at(), loop_.wallSeconds() + 10);
    EXPECT_EQ(lastReason(job),
              fmt::format("JobManager attempt {} exit code 1; relaunching in 10.0s", attempt));
    relaunchedAfter(id, attempt + 1, Duration(10000));
  }
  exited(id, 3, "killed by signal 9 (Killed)");
  auto job = view(id);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.error(),
            "fixed-delay: 3 failures, more than attempts 2; the last failure: JobManager attempt "
            "3 killed by signal 9 (Killed)");
  EXPECT_EQ(job.restart_at(), 0);
  loop_.advance(Duration(120000));  // nothing more
}

TEST_F(DispatcherRestartTest, NoneFailsTheJobAtItsFirstLoss) {
  start();
  std::string id = launchedWith("alpha", "none");
  running(id);
  exited(id, 1, "exit code 3");
  EXPECT_EQ(state(id), v1::FAILED);
  EXPECT_EQ(view(id).error(),
            "none: the job is never restarted; the last failure: JobManager attempt 1 exit code 3");
  loop_.advance(Duration(120000));
}

TEST_F(DispatcherRestartTest, FailureRateGivesUpWhenFailuresCluster) {
  start();
  std::string id = launchedWith(
      "alpha", "{type: failure-rate, max_failures_per_interval: 1, failure_rate_interval: 1m, "
               "delay: 2s}");
  running(id);
  loop_.advance(Duration(5000));
  exited(id, 1);  // 1 failure in the last minute
  relaunchedAfter(id, 2, Duration(2000));
  runFor(id, 2, Duration(90000));
  exited(id, 2);  // the first is 92 s old: still 1 in the last minute
  relaunchedAfter(id, 3, Duration(2000));
  runFor(id, 3, Duration(30000));
  exited(id, 3);  // 2 in the last 32 s
  auto job = view(id);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.error(),
            "failure-rate: 2 failures within 1m, more than max_failures_per_interval 1; the last "
            "failure: JobManager attempt 3 exit code 1");
}

TEST_F(DispatcherRestartTest, ExponentialDelayGrowsWithJitterAndResetsAfterALongRun) {
  DispatcherConfig config = defaultConfig();
  config.jitter = [] { return 1.0; };  // the whole jitter, upwards
  start(config);
  std::string id = launchedWith(
      "alpha", "{type: exponential-delay, initial_backoff: 1s, max_backoff: 4s, "
               "backoff_multiplier: 2, reset_backoff_threshold: 1m, jitter_factor: 0.5, "
               "attempts: 3}");
  // Quick failures: 1 s + 50%, 2 s + 50%, then 4 s + 50% held to the 4 s maximum.
  const std::vector<Duration> delays = {Duration(1500), Duration(3000), Duration(4000)};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    loop_.advance(Duration(500));
    exited(id, attempt);
    relaunchedAfter(id, attempt + 1, delays[static_cast<size_t>(attempt - 1)]);
  }
  // Attempt 4 runs a minute: the back-off and the count start again.
  runFor(id, 4, Duration(60000));
  exited(id, 4);
  relaunchedAfter(id, 5, Duration(1500));
  for (int attempt = 5; attempt <= 6; ++attempt) {
    exited(id, attempt);
    relaunchedAfter(id, attempt + 1, delays[static_cast<size_t>(attempt - 4)]);
  }
  exited(id, 7);  // the 4th quick failure since the reset
  auto job = view(id);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.error(),
            "exponential-delay: 4 failures since the back-off was last reset (by a run of at "
            "least 1m), more than attempts 3; the last failure: JobManager attempt 7 exit code 1");
}

TEST_F(DispatcherRestartTest, AFailedJobEndsAtOnceUnlessRestartOnNamesJobFailed) {
  start();
  std::string id = launchedWith("alpha", "{type: fixed-delay, attempts: 3}");
  running(id);
  reportFailed(id, 1, "stage count failed: task count[0] exited with code 7");
  EXPECT_EQ(state(id), v1::FAILED);
  EXPECT_EQ(view(id).error(), "stage count failed: task count[0] exited with code 7");
  exited(id, 1);
  loop_.advance(Duration(120000));  // no relaunch
  EXPECT_EQ(view(id).attempt(), 1);
}

TEST_F(DispatcherRestartTest, AFailedJobIsRestartedOnceItsJobManagerExitedWhenOptedIn) {
  start(withRunning(1));
  std::string id = launchedWith(
      "alpha", "{type: fixed-delay, attempts: 1, delay: 2s, restart_on: [jobmanager-lost, "
               "job-failed]}");
  std::string beta = queued("beta");
  running(id);
  loop_.advance(Duration(4000));
  reportFailed(id, 1, "stage count failed");
  // Nothing happens while its JobManager runs: never two of one job at once.
  EXPECT_EQ(state(id), v1::RUNNING);
  EXPECT_EQ(store_.record(id).attempts(0).job_error(), "stage count failed");
  reportFailed(id, 1, "stage count failed");  // the same report again changes nothing
  loop_.advance(Duration(10000));
  EXPECT_EQ(state(beta), v1::QUEUED) << "the job keeps its place";

  exited(id, 1, "exit code 1");
  auto job = view(id);
  EXPECT_EQ(job.state(), v1::LAUNCHING);
  EXPECT_EQ(lastReason(job),
            "JobManager attempt 1 ended the job FAILED: stage count failed; relaunching in 2.0s");
  relaunchedAfter(id, 2, Duration(2000));
  running(id, 2);
  reportFailed(id, 2, "stage count failed again");
  EXPECT_CALL(launcher_, launch(launchOf(beta, 1))).WillOnce(Return(runningAt(9)));
  exited(id, 2, "exit code 1");
  Mock::VerifyAndClearExpectations(&launcher_);
  job = view(id);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.error(),
            "fixed-delay: 2 failures, more than attempts 1; the last failure: JobManager attempt 2 "
            "ended the job FAILED: stage count failed again");
  auto kept = dispatcher_->report(id);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(kept->job().error(), "stage count failed again");
}

TEST_F(DispatcherRestartTest, AFailureInTheReportFileCountsAsTheJobFailing) {
  start();
  std::string id = launchedWith("alpha", "{type: fixed-delay, delay: 1s, restart_on: [job-failed]}");
  running(id);
  writeJobFile(id, "report-1.json", R"({"job": {"status": "FAILED", "error": "no space"}})");
  exited(id, 1);
  EXPECT_EQ(lastReason(view(id)),
            "JobManager attempt 1 ended the job FAILED: no space; relaunching in 1.0s");
  relaunchedAfter(id, 2, Duration(1000));
  // It restarts on job-failed only: a lost JobManager ends the job.
  exited(id, 2, "killed by signal 9 (Killed)");
  EXPECT_EQ(state(id), v1::FAILED);
  EXPECT_EQ(view(id).error(),
            "fixed-delay: restart_on does not include jobmanager-lost; the last failure: "
            "JobManager attempt 2 killed by signal 9 (Killed)");
}

TEST_F(DispatcherRestartTest, AJobManagerThatReportedAFailureButStaysIsStoppedAndTheJobRestarted) {
  start();
  std::string id = launchedWith("alpha", "{type: fixed-delay, delay: 1s, restart_on: [job-failed]}");
  running(id);
  reportFailed(id, 1, "stage count failed");
  EXPECT_CALL(launcher_, stop(id, 1, true));
  loop_.advance(kTimeout);
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(lastReason(view(id)),
            "JobManager attempt 1 ended the job FAILED: stage count failed; relaunching in 1.0s");
  relaunchedAfter(id, 2, Duration(1000));
  exited(id, 1, "killed by signal 9 (Killed)");  // late: changes nothing
  EXPECT_EQ(state(id), v1::LAUNCHING);
  EXPECT_EQ(view(id).attempts(1).ended_at(), 0);
}

TEST_F(DispatcherRestartTest, ACancelledJobThatFailsIsNotRestarted) {
  start();
  std::string id = launchedWith("alpha", "{type: fixed-delay, restart_on: [job-failed]}");
  running(id);
  EXPECT_CALL(launcher_, stop(id, 1, false));
  ASSERT_TRUE(dispatcher_->cancel(id).ok());
  reportFailed(id, 1, "interrupted");
  EXPECT_EQ(state(id), v1::FAILED);
  EXPECT_EQ(view(id).error(), "interrupted");
}

TEST_F(DispatcherRestartTest, ARestartedDispatcherKeepsTheHistoryAndThePendingRestart) {
  v1::RestartStrategy fixed = defaultRestartStrategy(v1::FIXED_DELAY);
  fixed.set_attempts(2);
  fixed.set_delay_seconds(30);
  // Two attempts failed; the restart after the second was due 20 s from now.
  store_.records["waiting"] = storedJob("waiting", v1::LAUNCHING, 1);
  auto& waiting = store_.records["waiting"];
  *waiting.mutable_restart_strategy() = fixed;
  addAttempt(waiting, 11, false);
  addAttempt(waiting, 12, false);
  waiting.set_restart_at(kWallStart + 20);
  // Two attempts failed, the third is running: its loss is the third failure.
  store_.records["third"] = storedJob("third", v1::RUNNING, 2);
  auto& third = store_.records["third"];
  *third.mutable_restart_strategy() = fixed;
  addAttempt(third, 21, false);
  addAttempt(third, 22, false);
  addAttempt(third, 23, true);
  // The earlier Dispatcher stopped between an attempt's end and its decision.
  store_.records["undecided"] = storedJob("undecided", v1::RUNNING, 3);
  *store_.records["undecided"].mutable_restart_strategy() = fixed;
  addAttempt(store_.records["undecided"], 31, false);
  create(withRunning(4));
  EXPECT_CALL(launcher_, adopt("third", _));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);

  EXPECT_EQ(view("undecided").restart_at(), kWallStart + 30);
  exited("third", 3);
  EXPECT_EQ(state("third"), v1::FAILED);
  EXPECT_EQ(view("third").error(),
            "fixed-delay: 3 failures, more than attempts 2; the last failure: JobManager attempt "
            "3 exit code 1");
  relaunchedAfter("waiting", 3, Duration(20000));
  relaunchedAfter("undecided", 2, Duration(10000));
}

}  // namespace
}  // namespace tailor::dispatcher
