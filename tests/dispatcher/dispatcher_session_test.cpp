// The Dispatcher's sessions: their records and JobManagers, and the jobs
// handed to them (dispatcher/dispatcher_sessions.cpp).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/rpc.hpp"
#include "common/secret.hpp"
#include "dispatcher/dispatcher.hpp"
#include "dispatcher/rest_api.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/dispatcher/fakes.hpp"

namespace tailor::dispatcher {
namespace {

using test::ManualEventLoop;
using test::TempDir;
using ::testing::_;
using ::testing::AllOf;
using ::testing::DefaultValue;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::IsEmpty;
using ::testing::Mock;
using ::testing::Property;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

constexpr char kAddress[] = "dispatcher.host:7070";
constexpr char kSessionAddress[] = "node-2:9300";
constexpr Duration kTimeout{30000};
constexpr Duration kGrace{10000};

DispatcherConfig sessionConfig(int maxRunningJobs = 2) {
  DispatcherConfig config;
  config.maxRunningJobs = maxRunningJobs;
  config.restartStrategy = legacyRestartStrategy(3, Duration(1000));
  config.jitter = [] { return 0.0; };
  config.jobManagerTimeout = kTimeout;
  config.sessionStopGrace = kGrace;
  return config;
}

std::string spec(const std::string& name) {
  return "name: " + name +
         "\n"
         "stages:\n"
         "  - name: count\n"
         "    parallelism: 2\n"
         "    resources: {cpus: 1, mem: 128}\n"
         "    command: wc -l\n"
         "    input: {files: [data/a.txt]}\n";
}

v1::SubmitJobRequest submission(const std::string& name, const std::string& session,
                                int priority = 0) {
  v1::SubmitJobRequest request;
  request.set_spec(spec(name));
  request.set_priority(priority);
  request.set_session(session);
  auto* file = request.add_files();
  file->set_path("data/a.txt");
  file->set_content("to be or not to be\n");
  return request;
}

v1::StartSessionRequest startRequest(const std::string& name) {
  v1::StartSessionRequest request;
  request.set_name(name);
  request.mutable_options()->set_idle_timeout_seconds(90);
  request.mutable_options()->set_min_resources("cpus=2,mem=2048");
  request.mutable_options()->set_sizing("tailored");
  return request;
}

v1::JobManagerAttempt sessionProcess(int pid) {
  v1::JobManagerAttempt attempt;
  attempt.set_launcher("local");
  attempt.set_host("node-2");
  attempt.set_pid(pid);
  return attempt;
}

v1::TaskManagerStatus taskManager(const std::string& id, double cpus, double mem) {
  v1::TaskManagerStatus tm;
  tm.set_id(id);
  tm.set_state("running");
  tm.mutable_resources()->set_cpus(cpus);
  tm.mutable_resources()->set_mem(mem);
  tm.set_slots(2);
  return tm;
}

auto sessionLaunchOf(const std::string& name, int attempt) {
  return AllOf(Field(&SessionLaunch::name, name), Field(&SessionLaunch::attempt, attempt));
}

class DispatcherSessionTest : public ::testing::Test {
 protected:
  DispatcherSessionTest() : store_(dir_.str()) {
    DefaultValue<Result<v1::JobManagerAttempt>>::Set(
        makeError(ErrorCode::kInternal, "unexpected launch"));
  }
  ~DispatcherSessionTest() override { DefaultValue<Result<v1::JobManagerAttempt>>::Clear(); }

  void TearDown() override {
    dispatcher_.reset();
    EXPECT_EQ(loop_.pendingTimers(), 0u) << "a timer outlives the Dispatcher";
  }

  void create(DispatcherConfig config = sessionConfig()) {
    EXPECT_CALL(launcher_, setExitCallback(_)).WillOnce(SaveArg<0>(&exited_));
    EXPECT_CALL(launcher_, name()).WillOnce(Return("local"));
    dispatcher_ = std::make_unique<Dispatcher>(loop_, store_, launcher_, std::move(config));
    dispatcher_->setAddress(kAddress);
    dispatcher_->setSessionGateway(&gateway_);
    Mock::VerifyAndClearExpectations(&launcher_);
  }

  void start(DispatcherConfig config = sessionConfig()) {
    create(std::move(config));
    ASSERT_TRUE(dispatcher_->recover().ok());
  }

  // Starts session `name`, its JobManager launched as pid `pid`.
  v1::SessionView startSession(const std::string& name, int attempt = 1, int pid = 5000) {
    EXPECT_CALL(launcher_, launchSession(sessionLaunchOf(name, attempt)))
        .WillOnce(Return(sessionProcess(pid)));
    auto started = dispatcher_->startSession(startRequest(name));
    Mock::VerifyAndClearExpectations(&launcher_);
    EXPECT_TRUE(started.ok()) << started.error().message;
    return started.ok() ? *started : v1::SessionView();
  }

  v1::ReportSessionResponse reportSession(const std::string& name, int attempt = 1,
                                          std::vector<v1::SessionJob> jobs = {}) {
    v1::ReportSessionRequest request;
    request.set_attempt(attempt);
    auto* status = request.mutable_status();
    status->set_name(name);
    status->set_address(kSessionAddress);
    status->set_state(v1::SESSION_RUNNING);
    status->set_host("node-2");
    status->set_pid(5000);
    *status->add_taskmanagers() = taskManager("tm-1", 2, 2048);
    status->set_taskmanagers_launched(1);
    for (auto& job : jobs) *status->add_jobs() = std::move(job);
    return dispatcher_->reportSession(request);
  }

  // Starts session `name` and lets it report: RUNNING at kSessionAddress.
  void runningSession(const std::string& name) {
    startSession(name);
    EXPECT_TRUE(reportSession(name).known());
    EXPECT_EQ(session(name).state(), v1::SESSION_RUNNING);
  }

  v1::SessionView session(const std::string& name) {
    auto view = dispatcher_->session(name);
    EXPECT_TRUE(view.ok()) << view.error().message;
    if (!view.ok()) return v1::SessionView();
    EXPECT_EQ(store_.sessions[name].view().state(), view->state()) << "the store is behind";
    return *view;
  }

  v1::JobView job(const std::string& id) {
    auto view = dispatcher_->job(id);
    EXPECT_TRUE(view.ok()) << view.error().message;
    return view.ok() ? *view : v1::JobView();
  }

  // Submits a job to `sessionName` that its session takes at once; returns
  // its id and the request it got.
  std::string handedOver(const std::string& name, const std::string& sessionName,
                         v1::SessionSubmitJobRequest* sent = nullptr,
                         std::function<void(Result<v1::SessionSubmitJobResponse>)>* answer =
                             nullptr) {
    v1::SessionSubmitJobRequest request;
    std::function<void(Result<v1::SessionSubmitJobResponse>)> done;
    EXPECT_CALL(gateway_, submitJob(kSessionAddress, _, _))
        .WillOnce(DoAll(SaveArg<1>(&request), SaveArg<2>(&done)));
    auto submitted = dispatcher_->submit(submission(name, sessionName));
    Mock::VerifyAndClearExpectations(&gateway_);
    EXPECT_TRUE(submitted.ok()) << submitted.error().message;
    if (!submitted.ok()) return "";
    EXPECT_EQ(submitted->state(), v1::LAUNCHING);
    if (sent != nullptr) *sent = request;
    if (answer != nullptr) {
      *answer = done;
    } else if (done) {
      v1::SessionSubmitJobResponse accepted;
      accepted.set_accepted(true);
      done(accepted);
    }
    return submitted->id();
  }

  v1::ReportJobStatusResponse reportJob(const std::string& id, int attempt, v1::JobState state,
                                        const v1::JobReport* report = nullptr) {
    v1::ReportJobStatusRequest request;
    request.set_job_id(id);
    request.set_attempt(attempt);
    request.set_state(state);
    request.set_host("node-2");
    request.set_pid(5000);
    request.set_address(kSessionAddress);
    if (report != nullptr) *request.mutable_report() = *report;
    return dispatcher_->reportStatus(request);
  }

  ManualEventLoop loop_;
  TempDir dir_;
  FakeJobStore store_;
  StrictMock<MockLauncher> launcher_;
  StrictMock<MockSessionGateway> gateway_;
  JobManagerLauncher::ExitCallback exited_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

// --- start, list, stop ---

TEST_F(DispatcherSessionTest, StartLaunchesTheSessionsJobManagerAndStoresItsRecord) {
  start();
  SessionLaunch launched;
  EXPECT_CALL(launcher_, launchSession(sessionLaunchOf("etl", 1)))
      .WillOnce(DoAll(SaveArg<0>(&launched), Return(sessionProcess(5000))));
  auto view = dispatcher_->startSession(startRequest("etl"));
  ASSERT_TRUE(view.ok()) << view.error().message;
  EXPECT_EQ(view->name(), "etl");
  EXPECT_EQ(view->state(), v1::SESSION_STARTING);
  EXPECT_EQ(view->options().idle_timeout_seconds(), 90);
  EXPECT_EQ(view->options().min_resources(), "cpus=2,mem=2048");
  EXPECT_EQ(view->started_at(), ManualEventLoop::kWallStart);
  EXPECT_EQ(view->jobmanager().attempt(), 1);
  EXPECT_EQ(view->jobmanager().pid(), 5000);
  EXPECT_EQ(view->jobmanager().launcher(), "local");
  EXPECT_EQ(launched.sessionDir, dir_.str() + "/sessions/etl");
  EXPECT_EQ(launched.dispatcherAddress, kAddress);
  EXPECT_EQ(launched.options.sizing(), "tailored");
  EXPECT_EQ(store_.sessions["etl"].view().state(), v1::SESSION_STARTING);
  EXPECT_EQ(store_.sessions["etl"].view().jobmanager().pid(), 5000);

  startSession("adhoc", 1, 5001);
  auto listed = dispatcher_->sessions();
  ASSERT_EQ(listed.sessions_size(), 2);
  EXPECT_EQ(listed.sessions(0).name(), "adhoc");
  EXPECT_EQ(listed.sessions(1).name(), "etl");
}

TEST_F(DispatcherSessionTest, StartRefusesBadNamesAndOptionsNamingTheField) {
  start();
  auto refused = [&](v1::StartSessionRequest request, const std::string& field) {
    auto answer = dispatcher_->startSession(request);
    ASSERT_FALSE(answer.ok()) << field;
    EXPECT_EQ(answer.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(answer.error().message, HasSubstr(field));
  };
  for (const char* name : {"", "Etl", "1etl", "etl_1", "-etl", "a/b"}) {
    refused(startRequest(name), "name:");
  }
  refused(startRequest(std::string(65, 'a')), "name:");
  auto idle = startRequest("etl");
  idle.mutable_options()->set_idle_timeout_seconds(-1);
  refused(idle, "options.idle_timeout_seconds");
  auto resources = startRequest("etl");
  resources.mutable_options()->set_min_resources("lots");
  refused(resources, "options.min_resources");
  auto sizing = startRequest("etl");
  sizing.mutable_options()->set_sizing("huge");
  refused(sizing, "options.sizing");
  EXPECT_TRUE(store_.sessions.empty());
  // 64 characters is still a name.
  startSession(std::string(64, 'a'));
}

TEST_F(DispatcherSessionTest, ALiveNameIsAConflictAndAnEndedOneStartsItsNextAttempt) {
  start();
  startSession("etl");
  auto again = dispatcher_->startSession(startRequest("etl"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(again.error().message, AllOf(HasSubstr("'etl'"), HasSubstr("STARTING")));

  launcher_.sessionExited("etl", 1, "exit code 1");
  EXPECT_EQ(session("etl").state(), v1::SESSION_FAILED);
  auto next = startSession("etl", 2);
  EXPECT_EQ(next.state(), v1::SESSION_STARTING);
  EXPECT_EQ(next.jobmanager().attempt(), 2);
  EXPECT_EQ(next.error(), "");
  // The old life's reports are stale.
  EXPECT_FALSE(reportSession("etl", 1).known());
  EXPECT_TRUE(reportSession("etl", 2).known());
}

TEST_F(DispatcherSessionTest, AFailedLaunchAnswersTheSessionFailed) {
  start();
  EXPECT_CALL(launcher_, launchSession(_))
      .WillOnce(Return(makeError(ErrorCode::kIo, "no such binary")));
  auto view = dispatcher_->startSession(startRequest("etl"));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state(), v1::SESSION_FAILED);
  EXPECT_THAT(view->error(), HasSubstr("could not start: no such binary"));
  EXPECT_EQ(store_.sessions["etl"].view().state(), v1::SESSION_FAILED);
}

TEST_F(DispatcherSessionTest, ReportSessionMovesStartingToRunningAndKeepsWhatItSays) {
  start();
  startSession("etl");
  auto answer = reportSession("etl");
  EXPECT_TRUE(answer.known());
  EXPECT_FALSE(answer.stop());
  auto view = session("etl");
  EXPECT_EQ(view.state(), v1::SESSION_RUNNING);
  EXPECT_EQ(view.address(), kSessionAddress);
  EXPECT_EQ(view.jobmanager().address(), kSessionAddress);
  ASSERT_EQ(view.taskmanagers_size(), 1);
  EXPECT_EQ(view.taskmanagers(0).id(), "tm-1");
  EXPECT_EQ(view.taskmanagers_launched(), 1);
  EXPECT_EQ(store_.sessions["etl"].view().address(), kSessionAddress);

  auto overview = dispatcher_->overview();
  EXPECT_EQ(overview.jobmanagers(), 1);
  EXPECT_EQ(overview.taskmanagers(), 1);
  EXPECT_EQ(overview.resources().cpus(), 2);

  EXPECT_FALSE(reportSession("nope").known());
  EXPECT_FALSE(reportSession("etl", 2).known());
}

TEST_F(DispatcherSessionTest, StopAsksTheSessionThenItsExitIsStopped) {
  start();
  runningSession("etl");
  v1::SessionStopRequest asked;
  EXPECT_CALL(gateway_, stop(kSessionAddress, _, _)).WillOnce(SaveArg<1>(&asked));
  auto stopping = dispatcher_->stopSession("etl");
  ASSERT_TRUE(stopping.ok()) << stopping.error().message;
  Mock::VerifyAndClearExpectations(&gateway_);
  EXPECT_EQ(stopping->state(), v1::SESSION_STOPPING);
  EXPECT_THAT(asked.reason(), HasSubstr("user"));
  EXPECT_TRUE(store_.sessions["etl"].stop_requested());
  // Asked again: the same answer, nothing sent twice.
  EXPECT_TRUE(dispatcher_->stopSession("etl").ok());
  // Its reports are answered stop until it is gone.
  auto answer = reportSession("etl");
  EXPECT_TRUE(answer.known());
  EXPECT_TRUE(answer.stop());

  launcher_.sessionExited("etl", 1, "exit code 0");
  auto view = session("etl");
  EXPECT_EQ(view.state(), v1::SESSION_STOPPED);
  EXPECT_EQ(view.error(), "");
  EXPECT_EQ(view.stopped_at(), ManualEventLoop::kWallStart);
  EXPECT_EQ(view.jobmanager().exit(), "exit code 0");
  EXPECT_THAT(view.taskmanagers(), IsEmpty());
  EXPECT_FALSE(reportSession("etl").known());

  auto twice = dispatcher_->stopSession("etl");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kFailedPrecondition);
  auto unknown = dispatcher_->stopSession("nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(DispatcherSessionTest, AStoppedSessionThatDoesNotExitIsKilledAfterTheGrace) {
  start();
  startSession("etl");  // no address yet: its next report hears stop
  auto stopping = dispatcher_->stopSession("etl");
  ASSERT_TRUE(stopping.ok());
  EXPECT_TRUE(reportSession("etl").stop());
  loop_.advance(kGrace - Duration(1));
  EXPECT_CALL(launcher_, stopSession("etl", 1, true));
  loop_.advance(Duration(1));
  Mock::VerifyAndClearExpectations(&launcher_);
  launcher_.sessionExited("etl", 1, "killed by signal 9 (Killed)");
  EXPECT_EQ(session("etl").state(), v1::SESSION_STOPPED);
}

TEST_F(DispatcherSessionTest, ASilentSessionIsKilledAndFailed) {
  start();
  runningSession("etl");
  loop_.advance(kTimeout - Duration(1000));
  EXPECT_TRUE(reportSession("etl").known());
  loop_.advance(kTimeout - Duration(1000));
  EXPECT_EQ(session("etl").state(), v1::SESSION_RUNNING);
  EXPECT_CALL(launcher_, stopSession("etl", 1, true));
  loop_.advance(Duration(2000));
  Mock::VerifyAndClearExpectations(&launcher_);
  auto view = session("etl");
  EXPECT_EQ(view.state(), v1::SESSION_FAILED);
  EXPECT_THAT(view.error(), HasSubstr("sent no status for 30 s"));
}

// --- jobs in sessions ---

TEST_F(DispatcherSessionTest, AJobWaitsForAStartingSessionAndIsHandedOverOnceItRuns) {
  start(sessionConfig(1));
  startSession("etl");
  auto submitted = dispatcher_->submit(submission("wordcount", "etl", 3));
  ASSERT_TRUE(submitted.ok()) << submitted.error().message;
  EXPECT_EQ(submitted->state(), v1::QUEUED);
  EXPECT_EQ(submitted->queue_position(), 0);  // it waits for its session, not for room
  const std::string id = submitted->id();
  EXPECT_EQ(job(id).session(), "etl");
  EXPECT_EQ(store_.record(id).session(), "etl");

  v1::SessionSubmitJobRequest sent;
  std::function<void(Result<v1::SessionSubmitJobResponse>)> done;
  EXPECT_CALL(gateway_, submitJob(kSessionAddress, _, _))
      .WillOnce(DoAll(SaveArg<1>(&sent), SaveArg<2>(&done)));
  reportSession("etl");
  Mock::VerifyAndClearExpectations(&gateway_);
  EXPECT_EQ(sent.job_id(), id);
  EXPECT_EQ(sent.attempt(), 1);
  EXPECT_EQ(sent.spec_name(), "job.yaml");
  EXPECT_EQ(sent.spec_yaml(), spec("wordcount"));
  ASSERT_EQ(sent.files_size(), 1);
  EXPECT_EQ(sent.files(0).path(), "data/a.txt");
  EXPECT_EQ(sent.files(0).content(), "to be or not to be\n");
  EXPECT_EQ(sent.priority(), 3);
  EXPECT_EQ(sent.output_dir(), dir_.str() + "/jobs/" + id + "/output");
  EXPECT_EQ(sent.dispatcher_address(), kAddress);
  auto view = job(id);
  EXPECT_EQ(view.state(), v1::LAUNCHING);
  ASSERT_EQ(view.attempts_size(), 1);
  EXPECT_EQ(view.attempts(0).launcher(), "session");
  EXPECT_EQ(view.attempts(0).address(), kSessionAddress);
  EXPECT_EQ(view.output(), dir_.str() + "/jobs/" + id + "/output");
  v1::SessionSubmitJobResponse accepted;
  accepted.set_accepted(true);
  done(accepted);
  EXPECT_EQ(job(id).state(), v1::LAUNCHING);
}

TEST_F(DispatcherSessionTest, ASessionsJobRunsAndFinishesOnItsReportsOutsideMaxRunningJobs) {
  start(sessionConfig(1));
  runningSession("etl");
  v1::SessionSubmitJobRequest sent;
  std::string id = handedOver("wordcount", "etl", &sent);
  EXPECT_EQ(sent.priority(), 1);  // at least 1

  // A per-job job still gets the one place.
  EXPECT_CALL(launcher_, launch(Field(&JobManagerLaunch::attempt, 1)))
      .WillOnce(Return(sessionProcess(6000)));
  auto other = dispatcher_->submit(submission("other", ""));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->state(), v1::LAUNCHING);
  Mock::VerifyAndClearExpectations(&launcher_);

  auto running = reportJob(id, 1, v1::RUNNING);
  EXPECT_TRUE(running.known());
  EXPECT_FALSE(running.cancel());
  EXPECT_EQ(job(id).state(), v1::RUNNING);
  EXPECT_THAT(job(id).history(2).reason(), HasSubstr("running in session etl"));

  v1::SessionJob reported;
  reported.set_job_id(id);
  reported.set_state(v1::RUNNING);
  reported.add_taskmanagers("tm-1");
  reportSession("etl", 1, {reported});
  auto view = session("etl");
  ASSERT_EQ(view.jobs_size(), 1);
  EXPECT_EQ(view.jobs(0).job_id(), id);
  EXPECT_EQ(view.jobs(0).name(), "wordcount");
  EXPECT_EQ(view.jobs(0).state(), v1::RUNNING);
  EXPECT_THAT(view.jobs(0).taskmanagers(), ElementsAre("tm-1"));

  v1::JobReport report;
  report.mutable_job()->set_status("FINISHED");
  EXPECT_TRUE(reportJob(id, 1, v1::FINISHED, &report).known());
  auto finished = job(id);
  EXPECT_EQ(finished.state(), v1::FINISHED);
  EXPECT_EQ(finished.attempts(0).ended_at(), ManualEventLoop::kWallStart);
  EXPECT_THAT(finished.attempts(0).exit(), HasSubstr("FINISHED in session etl"));
  EXPECT_TRUE(dispatcher_->report(id).ok());
  EXPECT_EQ(session("etl").jobs(0).state(), v1::FINISHED);
  // The session job held no place: the per-job one is the only one running.
  EXPECT_EQ(dispatcher_->list(v1::FINISHED, 0, 10).jobs(0).session(), "etl");
}

TEST_F(DispatcherSessionTest, AFailedSessionJobIsNotRestarted) {
  start();
  runningSession("etl");
  std::string id = handedOver("wordcount", "etl");
  reportJob(id, 1, v1::RUNNING);
  reportJob(id, 1, v1::FAILED);
  EXPECT_EQ(job(id).state(), v1::FAILED);
  EXPECT_EQ(job(id).attempts_size(), 1);
  loop_.advance(Duration(5000));  // past any relaunch delay (1 s)
  EXPECT_EQ(job(id).attempts_size(), 1);
  EXPECT_EQ(job(id).state(), v1::FAILED);
}

TEST_F(DispatcherSessionTest, AnUnknownOrEndedSessionRefusesTheJob) {
  start();
  auto unknown = dispatcher_->submit(submission("wordcount", "nope"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(unknown.error().message, AllOf(HasSubstr("session:"), HasSubstr("'nope'")));

  runningSession("etl");
  EXPECT_CALL(gateway_, stop(_, _, _));
  ASSERT_TRUE(dispatcher_->stopSession("etl").ok());
  auto stopping = dispatcher_->submit(submission("wordcount", "etl"));
  ASSERT_FALSE(stopping.ok());
  EXPECT_EQ(stopping.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(stopping.error().message, HasSubstr("STOPPING"));
  EXPECT_TRUE(store_.records.empty());
  launcher_.sessionExited("etl", 1, "exit code 0");
}

TEST_F(DispatcherSessionTest, ARefusalOrAnUnreachableSessionFailsTheJobWithTheReason) {
  start();
  runningSession("etl");
  std::function<void(Result<v1::SessionSubmitJobResponse>)> answer;
  std::string refused = handedOver("bad", "etl", nullptr, &answer);
  v1::SessionSubmitJobResponse no;
  no.set_accepted(false);
  no.set_reason("job.yaml:3:5: stages: expected a list");
  answer(no);
  EXPECT_EQ(job(refused).state(), v1::FAILED);
  EXPECT_EQ(job(refused).error(),
            "session etl refused the job: job.yaml:3:5: stages: expected a list");

  std::string unreachable = handedOver("lost", "etl", nullptr, &answer);
  answer(makeError(ErrorCode::kUnavailable, "connection refused"));
  EXPECT_EQ(job(unreachable).state(), v1::FAILED);
  EXPECT_THAT(job(unreachable).error(), HasSubstr("connection refused"));
}

TEST_F(DispatcherSessionTest, TheSessionsEndFailsItsUnfinishedJobs) {
  start();
  runningSession("etl");
  std::string running = handedOver("running", "etl");
  reportJob(running, 1, v1::RUNNING);
  std::string done = handedOver("done", "etl");
  v1::JobReport report;
  report.mutable_job()->set_status("FINISHED");
  reportJob(done, 1, v1::FINISHED, &report);

  launcher_.sessionExited("etl", 1, "killed by signal 9 (Killed)");
  auto view = session("etl");
  EXPECT_EQ(view.state(), v1::SESSION_FAILED);
  EXPECT_EQ(view.error(), "its JobManager ended: killed by signal 9 (Killed)");
  EXPECT_EQ(job(running).state(), v1::FAILED);
  EXPECT_EQ(job(running).error(),
            "session etl ended: its JobManager ended: killed by signal 9 (Killed)");
  EXPECT_EQ(job(done).state(), v1::FINISHED);
  // Its jobs' reports are stale now.
  EXPECT_FALSE(reportJob(running, 1, v1::RUNNING).known());
}

TEST_F(DispatcherSessionTest, CancelOfASessionsJobAsksTheSession) {
  start();
  runningSession("etl");
  std::string id = handedOver("wordcount", "etl");
  reportJob(id, 1, v1::RUNNING);
  v1::SessionCancelJobRequest asked;
  std::function<void(Result<v1::SessionCancelJobResponse>)> done;
  EXPECT_CALL(gateway_, cancelJob(kSessionAddress, _, _))
      .WillOnce(DoAll(SaveArg<1>(&asked), SaveArg<2>(&done)));
  auto canceling = dispatcher_->cancel(id);
  ASSERT_TRUE(canceling.ok());
  Mock::VerifyAndClearExpectations(&gateway_);
  EXPECT_EQ(asked.job_id(), id);
  EXPECT_EQ(canceling->state(), v1::RUNNING);
  EXPECT_TRUE(reportJob(id, 1, v1::RUNNING).cancel());
  v1::SessionCancelJobResponse known;
  known.set_known(true);
  done(known);
  EXPECT_EQ(job(id).state(), v1::RUNNING);
  reportJob(id, 1, v1::CANCELED);
  EXPECT_EQ(job(id).state(), v1::CANCELED);
  EXPECT_EQ(job(id).error(), "canceled by the user");

  // One the session does not know is canceled at once when it says so.
  std::string other = handedOver("other", "etl");
  EXPECT_CALL(gateway_, cancelJob(kSessionAddress, _, _)).WillOnce(SaveArg<2>(&done));
  ASSERT_TRUE(dispatcher_->cancel(other).ok());
  done(v1::SessionCancelJobResponse());
  EXPECT_EQ(job(other).state(), v1::CANCELED);
}

TEST_F(DispatcherSessionTest, AJobTheRunningSessionDoesNotReportIsFailedAfterTheTimeout) {
  start();
  runningSession("etl");
  std::string id = handedOver("wordcount", "etl");
  v1::SessionJob known;
  known.set_job_id(id);
  loop_.advance(kTimeout - Duration(10000));
  reportSession("etl", 1, {known});
  loop_.advance(Duration(10000));
  reportSession("etl", 1, {known});
  EXPECT_EQ(job(id).state(), v1::LAUNCHING);
  reportSession("etl");
  EXPECT_EQ(job(id).state(), v1::FAILED);
  EXPECT_THAT(job(id).error(), HasSubstr("session etl does not run the job"));
}

// --- a Dispatcher restart ---

TEST_F(DispatcherSessionTest, ARestartedDispatcherAdoptsSessionsAndKeepsTheirJobs) {
  start();
  runningSession("etl");
  std::string id = handedOver("wordcount", "etl");
  reportJob(id, 1, v1::RUNNING);
  startSession("later", 1, 5002);
  auto queued = dispatcher_->submit(submission("queued", "later"));
  ASSERT_TRUE(queued.ok());
  dispatcher_.reset();

  create();
  EXPECT_CALL(launcher_, adoptSession("etl", Property(&v1::JobManagerAttempt::pid, 5000)));
  EXPECT_CALL(launcher_, adoptSession("later", Property(&v1::JobManagerAttempt::pid, 5002)));
  ASSERT_TRUE(dispatcher_->recover().ok());
  Mock::VerifyAndClearExpectations(&launcher_);
  EXPECT_EQ(session("etl").state(), v1::SESSION_RUNNING);
  EXPECT_EQ(session("etl").address(), kSessionAddress);
  EXPECT_EQ(job(id).state(), v1::RUNNING);
  EXPECT_EQ(job(queued->id()).state(), v1::QUEUED);
  // Its reports go on as before.
  EXPECT_TRUE(reportJob(id, 1, v1::RUNNING).known());
  // The waiting job goes once its session runs.
  EXPECT_CALL(gateway_, submitJob(kSessionAddress, _, _));
  reportSession("later");
  EXPECT_EQ(job(queued->id()).state(), v1::LAUNCHING);
}

TEST_F(DispatcherSessionTest, ASessionGoneWhileTheDispatcherWasDownFailsWithItsJobs) {
  start();
  runningSession("etl");
  std::string id = handedOver("wordcount", "etl");
  dispatcher_.reset();
  // As the earlier Dispatcher heard before it stopped: the exit, not yet settled.
  store_.sessions["etl"].mutable_view()->mutable_jobmanager()->set_ended_at(
      ManualEventLoop::kWallStart);
  store_.sessions["etl"].mutable_view()->mutable_jobmanager()->set_exit("exit code 1");
  create();
  ASSERT_TRUE(dispatcher_->recover().ok());
  EXPECT_EQ(session("etl").state(), v1::SESSION_FAILED);
  EXPECT_EQ(job(id).state(), v1::FAILED);
  EXPECT_EQ(job(id).error(), "session etl ended: its JobManager ended: exit code 1");
}

// --- over real RPC: the Dispatcher hands a job to a fake session ---

class FakeSession {
 public:
  // Answers only calls that carry `secret`, as a session's JobManager does.
  FakeSession(AsioEventLoop& loop, const std::string& secret)
      : http_(loop, "127.0.0.1", 0), rpc_(http_) {
    rpc_.requireSecret(secret);
    rpc_.handle<v1::SessionSubmitJobRequest, v1::SessionSubmitJobResponse>(
        "Session", "SubmitJob",
        [this](const v1::SessionSubmitJobRequest& request)
            -> Result<v1::SessionSubmitJobResponse> {
          submitted.push_back(request);
          v1::SessionSubmitJobResponse response;
          response.set_accepted(request.spec_yaml().find("refuse") == std::string::npos);
          if (!response.accepted()) response.set_reason("job.yaml:1:1: refused");
          if (onSubmit) onSubmit(request);
          return response;
        });
  }
  std::string start() {
    auto port = http_.start();
    return port.ok() ? "127.0.0.1:" + std::to_string(*port) : "";
  }
  void stop() { http_.stop(); }

  std::vector<v1::SessionSubmitJobRequest> submitted;
  std::function<void(const v1::SessionSubmitJobRequest&)> onSubmit;

 private:
  http::Server http_;
  rpc::Server rpc_;
};

TEST(DispatcherSessionRpcTest, AJobHandedToASessionOverRpcFinishesOnItsReports) {
  AsioEventLoop loop;
  TempDir dir;
  FakeJobStore store(dir.str());
  StrictMock<MockLauncher> launcher;
  EXPECT_CALL(launcher, setExitCallback(_));
  EXPECT_CALL(launcher, name()).WillRepeatedly(Return("local"));
  // It is started with its secret (in its environment, by the launcher).
  EXPECT_CALL(launcher, launchSession(Field(&SessionLaunch::secret,
                                            secret::derive("the dispatcher's key", "session/etl"))))
      .WillOnce(Return(sessionProcess(5000)));
  // The session's JobManager holds the secret derived from the Dispatcher's
  // key: the Dispatcher's calls must carry it.
  DispatcherConfig config = sessionConfig();
  config.secretKey = "the dispatcher's key";
  FakeSession session(loop, secret::derive(config.secretKey, "session/etl"));
  const std::string address = session.start();
  ASSERT_FALSE(address.empty());
  http::CurlHttpClient client(loop, 1);
  rpc::Client rpcClient(client);
  Dispatcher dispatcher(loop, store, launcher, config);
  RpcSessionGateway gateway(
      rpcClient, [&](const std::string& id) { return dispatcher.jobSecret(id); },
      [&](const std::string& name) { return dispatcher.sessionSecret(name); });
  dispatcher.setAddress(kAddress);
  dispatcher.setSessionGateway(&gateway);
  ASSERT_TRUE(dispatcher.recover().ok());
  ASSERT_TRUE(dispatcher.startSession(startRequest("etl")).ok());
  v1::ReportSessionRequest ready;
  ready.set_attempt(1);
  ready.mutable_status()->set_name("etl");
  ready.mutable_status()->set_address(address);
  ASSERT_TRUE(dispatcher.reportSession(ready).known());

  // The fake reports as a session does, after it took the job.
  session.onSubmit = [&](const v1::SessionSubmitJobRequest& request) {
    if (request.spec_yaml().find("refuse") != std::string::npos) return;
    loop.post([&, request] {
      v1::ReportJobStatusRequest status;
      status.set_job_id(request.job_id());
      status.set_attempt(request.attempt());
      status.set_address(address);
      status.set_state(v1::RUNNING);
      dispatcher.reportStatus(status);
      status.set_state(v1::FINISHED);
      status.mutable_report()->mutable_job()->set_status("FINISHED");
      dispatcher.reportStatus(status);
    });
  };
  auto good = dispatcher.submit(submission("wordcount", "etl"));
  ASSERT_TRUE(good.ok()) << good.error().message;
  auto bad = submission("refuse", "etl");
  auto refused = dispatcher.submit(bad);
  ASSERT_TRUE(refused.ok()) << refused.error().message;

  auto ended = [&](const std::string& id) {
    auto view = dispatcher.job(id);
    return view.ok() && isEndState(view->state());
  };
  // Polls until both ended, or gives up after 10 s.
  std::function<void()> poll;
  int polls = 0;
  poll = [&] {
    if ((ended(good->id()) && ended(refused->id())) || ++polls > 1000) {
      loop.stop();
      return;
    }
    loop.runAfter(Duration(10), poll);
  };
  loop.post(poll);
  loop.run();
  session.stop();

  ASSERT_EQ(session.submitted.size(), 2u);
  EXPECT_EQ(session.submitted[0].job_id(), good->id());
  EXPECT_EQ(session.submitted[0].files(0).path(), "data/a.txt");
  EXPECT_EQ(session.submitted[0].dispatcher_address(), kAddress);
  EXPECT_EQ(dispatcher.job(good->id())->state(), v1::FINISHED);
  EXPECT_TRUE(dispatcher.report(good->id()).ok());
  EXPECT_EQ(dispatcher.job(refused->id())->state(), v1::FAILED);
  EXPECT_EQ(dispatcher.job(refused->id())->error(),
            "session etl refused the job: job.yaml:1:1: refused");
}

}  // namespace
}  // namespace tailor::dispatcher
