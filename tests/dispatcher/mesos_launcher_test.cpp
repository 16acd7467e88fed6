#include "dispatcher/mesos_launcher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/secret.hpp"
#include "tests/common/builders.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/dispatcher/fakes.hpp"
#include "tests/mesos/builders.hpp"
#include "tests/mesos/mocks.hpp"

namespace tailor::dispatcher {
namespace {

namespace v1mesos = ::mesos::v1;
using tailor::mesos::MockSchedulerConnection;
using tailor::mesos::SchedulerCall;
using tailor::mesos::SchedulerEvent;
using test::callsOfType;
using test::kTestRole;
using test::kTestUuid;
using test::makeOffer;
using test::ManualEventLoop;
using test::offerIdsOf;
using test::offersEvent;
using test::portOf;
using test::readFile;
using test::reconciledOf;
using test::reconciliationAnswer;
using test::res;
using test::rescindEvent;
using test::resourceNamed;
using test::ScalarIs;
using test::taskIdsOf;
using test::tasksOf;
using test::TempDir;
using test::typesOf;
using test::updateEvent;
using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Mock;
using ::testing::MockFunction;
using ::testing::NiceMock;
using ::testing::Not;
using ::testing::SaveArg;
using ::testing::StartsWith;
using ::testing::StrictMock;
using ::testing::UnorderedElementsAre;

using Reconciled = std::pair<std::string, std::string>;  // (task id, agent id)
using Types = std::vector<SchedulerCall::Type>;

const std::string kDispatcher = "dispatcher.host:7070";
const std::string kMasters = "master-1:5050,master-2:5050";
const std::string kJob = "wordcount-20231114-221320-ab12";
const std::string kFrameworkIdKey = "mesos-framework-id";
constexpr Duration kBatchWindow{20};
constexpr double kRefuseSeconds = 7.0;
constexpr double kSevenDays = 7 * 24 * 3600.0;

MesosLauncherConfig testConfig() {
  MesosLauncherConfig config;
  config.role = kTestRole;
  config.user = "alice";
  config.jobManagerResources = res(0.5, 512);
  config.refuse = Duration(7000);
  config.offerBatchWindow = kBatchWindow;
  config.mesosMasters = kMasters;
  config.extraArgs = {"--note", "it's a test"};
  return config;
}

std::string taskOf(const std::string& jobId, int attempt) {
  return "jobmanager-" + jobId + "-" + std::to_string(attempt);
}

// An attempt as an earlier Dispatcher recorded it.
v1::JobManagerAttempt earlierAttempt(const std::string& jobId, int attempt,
                                     const std::string& agentId = "") {
  v1::JobManagerAttempt earlier;
  earlier.set_attempt(attempt);
  earlier.set_launcher("mesos");
  earlier.set_mesos_task_id(taskOf(jobId, attempt));
  earlier.set_mesos_agent_id(agentId);
  return earlier;
}

class MesosLauncherTest : public ::testing::Test {
 protected:
  MesosLauncherTest() : store_(dir_.str()) {
    connection_.recordCalls(&subscribed_, &calls_, &dropped_, "fw-1");
  }

  void TearDown() override {
    launcher_.reset();
    EXPECT_EQ(loop_.pendingTimers(), 0u) << "a timer outlives the launcher";
  }

  void create(MesosLauncherConfig config = testConfig()) {
    launcher_ = std::make_unique<MesosLauncher>(loop_, store_, std::move(config));
    launcher_->setConnection(&connection_);
    launcher_->setExitCallback(exited_.AsStdFunction());
  }

  // Starts the launcher; returns the FrameworkInfo it subscribes with.
  v1mesos::FrameworkInfo start() {
    v1mesos::FrameworkInfo info;
    EXPECT_CALL(connection_, start(_)).WillOnce(SaveArg<0>(&info));
    launcher_->start();
    Mock::VerifyAndClearExpectations(&connection_);
    return info;
  }

  // As the connection does: subscribed() turns true, then the listener hears.
  void subscribe(const std::string& frameworkId, bool isNew) {
    subscribed_ = true;
    launcher_->onSubscribed(frameworkId, isNew);
  }

  void disconnect() {
    subscribed_ = false;
    launcher_->onDisconnected("stream closed");
  }

  // Creates, starts and subscribes the launcher, then forgets the calls so far.
  void startSubscribed(MesosLauncherConfig config = testConfig()) {
    create(std::move(config));
    start();
    subscribe("fw-1", true);
    calls_.clear();
  }

  // The job's folder as the store keeps it (files/ with the spec and one
  // input) and the launch of its attempt `attempt`.
  JobManagerLaunch jobWithFiles(const std::string& jobId, int attempt) {
    dir_.write("jobs/" + jobId + "/files/job.yaml", "name: wordcount\n");
    dir_.write("jobs/" + jobId + "/files/data/a.txt", "to be or not to be\n");
    JobManagerLaunch launch;
    launch.jobId = jobId;
    launch.attempt = attempt;
    launch.specPath = store_.jobDir(jobId) + "/files/job.yaml";
    launch.jobDir = store_.jobDir(jobId);
    launch.dispatcherAddress = kDispatcher;
    launch.secret = "the job's secret";
    return launch;
  }

  v1::JobManagerAttempt launch(const std::string& jobId, int attempt = 1) {
    auto launched = launcher_->launch(jobWithFiles(jobId, attempt));
    EXPECT_TRUE(launched.ok()) << launched.error().message;
    return launched.ok() ? *launched : v1::JobManagerAttempt();
  }

  // An OFFERS event, answered once the batch window passed.
  void offer(const std::vector<v1mesos::Offer>& offers) {
    launcher_->onEvent(offersEvent(offers));
    loop_.advance(kBatchWindow);
  }

  void event(const SchedulerEvent& e) { launcher_->onEvent(e); }

  // Launches attempt `attempt` of `jobId` on `o`, asserting one ACCEPT, and
  // forgets the calls. Returns the task.
  v1mesos::TaskInfo launchOn(const std::string& jobId, int attempt, const v1mesos::Offer& o) {
    launch(jobId, attempt);
    calls_.clear();
    offer({o});
    auto accepts = callsOf(SchedulerCall::ACCEPT);
    calls_.clear();
    EXPECT_EQ(accepts.size(), 1u);
    if (accepts.size() != 1) return v1mesos::TaskInfo();
    auto tasks = tasksOf(accepts[0]);
    EXPECT_EQ(tasks.size(), 1u);
    return tasks.empty() ? v1mesos::TaskInfo() : tasks[0];
  }

  std::vector<SchedulerCall> callsOf(SchedulerCall::Type type) const {
    return callsOfType(calls_, type);
  }

  Types callTypes() const { return typesOf(calls_); }

  ManualEventLoop loop_;
  TempDir dir_;
  FakeJobStore store_;
  NiceMock<MockSchedulerConnection> connection_;
  StrictMock<MockFunction<void(const std::string&, int, const std::string&)>> exited_;
  bool subscribed_ = false;
  std::vector<SchedulerCall> calls_;    // sent while subscribed
  std::vector<SchedulerCall> dropped_;  // sent while not subscribed
  std::unique_ptr<MesosLauncher> launcher_;
};

// ---------------------------------------------------------------------------
// The framework

TEST(MesosLauncherFrameworkNameTest, RefusesAnEmptyNameAndJobsFrameworkNames) {
  Status empty = checkFrameworkName("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(empty.error().message, HasSubstr("--framework-name"));

  Status job = checkFrameworkName("tailor-job-x");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(job.error().message,
              AllOf(HasSubstr("'tailor-job-x'"), HasSubstr("tailor-job-<id>")));

  EXPECT_TRUE(checkFrameworkName("tailor").ok());
  EXPECT_TRUE(checkFrameworkName("tailor-jobs").ok());
  EXPECT_TRUE(checkFrameworkName("my-tailor-job-x").ok());
}

TEST_F(MesosLauncherTest, StartSubscribesAsTailorWithoutAnIdAtFirst) {
  create();
  v1mesos::FrameworkInfo info = start();
  EXPECT_EQ(info.name(), "tailor");
  EXPECT_EQ(info.user(), "alice");
  EXPECT_THAT(info.roles(), ElementsAre(kTestRole));
  ASSERT_EQ(info.capabilities_size(), 1);
  EXPECT_EQ(info.capabilities(0).type(), v1mesos::FrameworkInfo::Capability::MULTI_ROLE);
  EXPECT_EQ(info.failover_timeout(), kSevenDays);
  EXPECT_TRUE(info.has_checkpoint());
  EXPECT_TRUE(info.checkpoint());
  EXPECT_FALSE(info.has_id());
  EXPECT_FALSE(info.has_principal());
  EXPECT_FALSE(info.has_webui_url());
  EXPECT_EQ(launcher_->name(), "mesos");
  EXPECT_TRUE(calls_.empty());
  EXPECT_TRUE(dropped_.empty());
}

TEST_F(MesosLauncherTest, FrameworkSettingsAreConfigurable) {
  MesosLauncherConfig config = testConfig();
  config.frameworkName = "tailor-batch";
  config.role = "analytics/batch";
  config.principal = "dispatcher";
  config.failoverTimeoutSeconds = 3600;
  config.checkpoint = false;
  config.webuiUrl = "http://dispatcher.host:7070/";
  create(config);
  v1mesos::FrameworkInfo info = start();
  EXPECT_EQ(info.name(), "tailor-batch");
  EXPECT_THAT(info.roles(), ElementsAre("analytics/batch"));
  EXPECT_EQ(info.principal(), "dispatcher");
  EXPECT_EQ(info.failover_timeout(), 3600.0);
  EXPECT_TRUE(info.has_checkpoint());
  EXPECT_FALSE(info.checkpoint());
  EXPECT_EQ(info.webui_url(), "http://dispatcher.host:7070/");
}

TEST_F(MesosLauncherTest, TheFrameworkIdIsStoredAndARestartedLauncherSubscribesWithIt) {
  create();
  EXPECT_FALSE(start().has_id());
  subscribe("fw-1", true);
  EXPECT_EQ(store_.values[kFrameworkIdKey], "fw-1");

  // A restarted Dispatcher: a new launcher on the same store.
  launcher_.reset();
  subscribed_ = false;
  create();
  v1mesos::FrameworkInfo info = start();
  ASSERT_TRUE(info.has_id());
  EXPECT_EQ(info.id().value(), "fw-1");
  EXPECT_EQ(info.name(), "tailor");
  subscribe("fw-1", false);
  EXPECT_EQ(store_.values[kFrameworkIdKey], "fw-1");

  // The old framework was removed: the new id replaces it.
  disconnect();
  subscribe("fw-2", true);
  EXPECT_EQ(store_.values[kFrameworkIdKey], "fw-2");
}

// ---------------------------------------------------------------------------
// Launching

TEST_F(MesosLauncherTest, LaunchPacksTheJobsFilesAndAnswersWithTheTaskId) {
  startSubscribed();
  v1::JobManagerAttempt attempt = launch(kJob, 2);
  EXPECT_EQ(attempt.attempt(), 2);
  EXPECT_EQ(attempt.launcher(), "mesos");
  EXPECT_EQ(attempt.mesos_task_id(), "jobmanager-" + kJob + "-2");
  EXPECT_EQ(attempt.pid(), 0);

  // files.tar, which the fetcher extracts as files/ in the sandbox.
  std::string jobDir = store_.jobDir(kJob);
  std::string tar = readFile(jobDir + "/files.tar");
  EXPECT_THAT(tar, AllOf(HasSubstr("files/job.yaml"), HasSubstr("files/data/a.txt"),
                         HasSubstr("to be or not to be")));
  EXPECT_FALSE(std::filesystem::exists(jobDir + "/files.tar.tmp"));

  EXPECT_TRUE(launcher_->waiting(kJob, 2));
  EXPECT_FALSE(launcher_->waiting(kJob, 1));
  EXPECT_FALSE(launcher_->waiting("other-job", 2));
  // Offers were suppressed (nothing was pending): they flow again.
  auto revives = callsOf(SchedulerCall::REVIVE);
  ASSERT_EQ(revives.size(), 1u);
  EXPECT_THAT(revives[0].revive().roles(), ElementsAre(kTestRole));
  EXPECT_EQ(callTypes(), Types{SchedulerCall::REVIVE});
}

TEST_F(MesosLauncherTest, LaunchFailsWhenTheFilesCannotBePacked) {
  startSubscribed();
  JobManagerLaunch request = jobWithFiles(kJob, 1);
  request.jobDir = store_.jobDir("no-files");
  std::filesystem::create_directories(request.jobDir);  // without files/
  auto launched = launcher_->launch(request);
  ASSERT_FALSE(launched.ok());
  EXPECT_EQ(launched.error().code, ErrorCode::kIo);
  EXPECT_THAT(launched.error().message, HasSubstr("cannot pack the job's files"));
  EXPECT_FALSE(launcher_->waiting(kJob, 1));
  EXPECT_TRUE(calls_.empty());
  // Nothing waits for an offer.
  offer({makeOffer("o1", "a1", 4, 4096)});
  EXPECT_EQ(callTypes(), Types{SchedulerCall::DECLINE});
}

TEST_F(MesosLauncherTest, AnOfferLaunchesTheJobManagerAsACommandTask) {
  startSubscribed();
  launch(kJob, 1);
  calls_.clear();
  launcher_->onEvent(offersEvent({makeOffer("o1", "a1", 2, 2048, {31500, 31600})}));
  EXPECT_TRUE(calls_.empty()) << "offers are held for the batch window";
  EXPECT_TRUE(launcher_->waiting(kJob, 1));
  loop_.advance(kBatchWindow);
  EXPECT_FALSE(launcher_->waiting(kJob, 1));

  ASSERT_EQ(callTypes(), (Types{SchedulerCall::ACCEPT, SchedulerCall::SUPPRESS}));
  const SchedulerCall& accept = calls_[0];
  EXPECT_THAT(offerIdsOf(accept.accept().offer_ids()), ElementsAre("o1"));
  EXPECT_EQ(accept.accept().filters().refuse_seconds(), kRefuseSeconds);
  auto tasks = tasksOf(accept);
  ASSERT_EQ(tasks.size(), 1u);
  const v1mesos::TaskInfo& task = tasks[0];
  EXPECT_EQ(task.task_id().value(), taskOf(kJob, 1));
  EXPECT_EQ(task.agent_id().value(), "a1");
  EXPECT_THAT(task.name(), HasSubstr(kJob));

  // What --jobmanager-resources asks for, and one port of the offer.
  ASSERT_EQ(task.resources_size(), 3);
  EXPECT_THAT(resourceNamed(task.resources(), "cpus"), ScalarIs("cpus", 0.5));
  EXPECT_THAT(resourceNamed(task.resources(), "mem"), ScalarIs("mem", 512.0));
  EXPECT_EQ(resourceNamed(task.resources(), "ports").allocation_info().role(), kTestRole);
  EXPECT_EQ(portOf(task), 31500u);

  // A command task: Mesos' command executor runs it.
  EXPECT_FALSE(task.has_executor());
  ASSERT_TRUE(task.has_command());
  const v1mesos::CommandInfo& command = task.command();
  ASSERT_EQ(command.uris_size(), 2);
  EXPECT_EQ(command.uris(0).value(), "http://" + kDispatcher + "/v1/artifacts/tailor-jobmanager");
  EXPECT_TRUE(command.uris(0).executable());
  EXPECT_FALSE(command.uris(0).extract());
  // Behind a token derived from the job's secret: the fetcher sends no credentials.
  EXPECT_EQ(command.uris(1).value(),
            "http://" + kDispatcher + "/v1/jobs/" + kJob + "/files/" +
                secret::derive("the job's secret", "files.tar") + "/files.tar");
  EXPECT_TRUE(command.uris(1).extract());
  EXPECT_FALSE(command.uris(1).executable());
  EXPECT_TRUE(command.shell());
  const std::string& line = command.value();
  // The job's secret in the environment, never on the command line.
  ASSERT_EQ(command.environment().variables_size(), 1);
  EXPECT_EQ(command.environment().variables(0).name(), "TAILOR_JOB_SECRET");
  EXPECT_EQ(command.environment().variables(0).value(), "the job's secret");
  EXPECT_EQ(line.find("the job's secret"), std::string::npos);
  EXPECT_THAT(line, StartsWith("exec ./tailor-jobmanager "));
  EXPECT_THAT(line, HasSubstr("--job-spec \"$MESOS_SANDBOX/files/\"'job.yaml'"));
  EXPECT_THAT(line, HasSubstr("--job-id '" + kJob + "'"));
  EXPECT_THAT(line, HasSubstr("--dispatcher '" + kDispatcher + "'"));
  EXPECT_THAT(line, HasSubstr("--dispatcher-attempt 1 "));
  EXPECT_THAT(line, HasSubstr("--output \"$MESOS_SANDBOX/output\""));
  EXPECT_THAT(line, HasSubstr("--bind 0.0.0.0 --advertise-host 'host-a1'"));
  EXPECT_THAT(line, HasSubstr("--rpc-port 31500 "));
  EXPECT_THAT(line, HasSubstr("--mesos-master '" + kMasters + "'"));
  EXPECT_THAT(line, HasSubstr("--mesos-content-type protobuf"));
  EXPECT_THAT(line, HasSubstr("--mesos-role '" + kTestRole + "'"));
  EXPECT_THAT(line, HasSubstr("--mesos-user 'alice'"));
  EXPECT_THAT(line, HasSubstr("--taskmanager-executor ./tailor-taskmanager "));
  EXPECT_THAT(line, HasSubstr("--taskmanager-executor-uri 'http://" + kDispatcher +
                              "/v1/artifacts/tailor-taskmanager'"));
  EXPECT_THAT(line, EndsWith(" '--note' 'it'\\''s a test'"));
}

TEST_F(MesosLauncherTest, TheCommandBindsAnIpAgentAndHonoursAnOutputFolder) {
  MesosLauncherConfig config = testConfig();
  config.user.clear();
  config.contentType = "json";
  config.logLevel = "debug";
  config.extraArgs.clear();
  create(config);
  JobManagerLaunch request = jobWithFiles(kJob, 3);
  request.outputDir = "/shared/it's out";
  std::string line = launcher_->commandLine(request, "10.1.2.3", 31007);
  EXPECT_THAT(line, HasSubstr("--bind 10.1.2.3 --advertise-host '10.1.2.3'"));
  EXPECT_THAT(line, HasSubstr("--output '/shared/it'\\''s out'"));
  EXPECT_THAT(line, HasSubstr("--dispatcher-attempt 3 "));
  EXPECT_THAT(line, HasSubstr("--rpc-port 31007 "));
  EXPECT_THAT(line, HasSubstr("--mesos-content-type json"));
  EXPECT_THAT(line, HasSubstr("--log-level debug"));
  EXPECT_THAT(line, Not(HasSubstr("--mesos-user")));
  EXPECT_THAT(line, EndsWith("/v1/artifacts/tailor-taskmanager'"));
  // No hostname in the offer: reachable on this host only.
  EXPECT_THAT(launcher_->commandLine(request, "", 31007),
              HasSubstr("--bind 0.0.0.0 --advertise-host '127.0.0.1'"));
}

// Dispatchers sharing a store: the JobManager may outlive this one, so its
// TaskManagers' executor is a path on whichever Dispatcher leads when each
// is launched (the JobManager resolves it, docs/ha.md). Its own binary and
// files come from this one, which leads now.
TEST_F(MesosLauncherTest, WithDispatcherLeadersTheExecutorIsAPathOnTheLeadingDispatcher) {
  create(testConfig());
  JobManagerLaunch request = jobWithFiles(kJob, 1);
  request.dispatcherLeaders = "zk://10.0.0.9:2181/tailor";
  std::string line = launcher_->commandLine(request, "host-a1", 31500);
  EXPECT_THAT(line, HasSubstr("--taskmanager-executor ./tailor-taskmanager "
                              "--taskmanager-executor-uri 'dispatcher:/v1/artifacts/"
                              "tailor-taskmanager'"));
  EXPECT_THAT(line, Not(HasSubstr("http://" + kDispatcher + "/v1/artifacts/tailor-taskmanager")));
  EXPECT_THAT(line, HasSubstr("--dispatcher '" + kDispatcher + "'"));
  EXPECT_THAT(line, HasSubstr("--dispatcher-leaders 'zk://10.0.0.9:2181/tailor'"));

  // A release tarball is served elsewhere: its URL as it is.
  MesosLauncherConfig release = testConfig();
  release.releaseUrl = "https://artifacts.example.com/tailor-0.1.0-linux-x86_64.tar.gz";
  create(release);
  EXPECT_THAT(launcher_->commandLine(request, "host-a1", 31500),
              HasSubstr("--taskmanager-executor-uri '" + release.releaseUrl + "'"));
}

TEST_F(MesosLauncherTest, WithAReleaseTarballJobManagersAndTaskManagersRunFromIt) {
  MesosLauncherConfig config = testConfig();
  config.releaseUrl = "https://artifacts.example.com/tailor-0.1.0-linux-x86_64.tar.gz";
  startSubscribed(config);
  launch(kJob, 1);
  calls_.clear();
  launcher_->onEvent(offersEvent({makeOffer("o1", "a1", 2, 2048, {31500, 31600})}));
  loop_.advance(kBatchWindow);
  auto tasks = tasksOf(calls_.at(0));
  ASSERT_EQ(tasks.size(), 1u);
  const v1mesos::CommandInfo& command = tasks[0].command();
  ASSERT_EQ(command.uris_size(), 2);
  EXPECT_EQ(command.uris(0).value(), config.releaseUrl);
  EXPECT_TRUE(command.uris(0).extract());
  EXPECT_FALSE(command.uris(0).executable());
  EXPECT_THAT(command.value(), StartsWith("exec tailor-*/bin/tailor-jobmanager "));
  EXPECT_THAT(command.value(), HasSubstr("--taskmanager-executor 'tailor-*/bin/tailor-taskmanager' "
                                         "--taskmanager-executor-uri '" +
                                         config.releaseUrl + "'"));
}

TEST_F(MesosLauncherTest, OffersTooSmallOrWithoutPortsAreDeclinedAndTheAttemptKeepsWaiting) {
  startSubscribed();
  launch(kJob);
  calls_.clear();
  offer({makeOffer("o1", "a1", 0.25, 4096), makeOffer("o2", "a2", 4, 256),
         makeOffer("o3", "a3", 4, 4096, {0, 0})});
  ASSERT_EQ(callTypes(), Types{SchedulerCall::DECLINE});
  EXPECT_THAT(offerIdsOf(calls_[0].decline().offer_ids()), ElementsAre("o1", "o2", "o3"));
  EXPECT_EQ(calls_[0].decline().filters().refuse_seconds(), kRefuseSeconds);
  EXPECT_TRUE(launcher_->waiting(kJob, 1));

  // Exactly enough.
  calls_.clear();
  offer({makeOffer("o4", "a4", 0.5, 512, {32000, 32000})});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  auto tasks = tasksOf(accepts[0]);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].agent_id().value(), "a4");
  EXPECT_EQ(portOf(tasks[0]), 32000u);
  EXPECT_FALSE(launcher_->waiting(kJob, 1));
}

TEST_F(MesosLauncherTest, JobManagersSharingAnOfferGetAPortEach) {
  startSubscribed();
  launch("job-a");
  launch("job-b");
  calls_.clear();
  offer({makeOffer("o1", "a1", 2, 2048, {31000, 31001})});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_THAT(taskIdsOf(accepts[0]), UnorderedElementsAre(taskOf("job-a", 1), taskOf("job-b", 1)));
  std::set<std::uint64_t> ports;
  for (const auto& task : tasksOf(accepts[0])) {
    std::uint64_t port = portOf(task);
    ports.insert(port);
    EXPECT_THAT(task.command().value(), HasSubstr("--rpc-port " + std::to_string(port) + " "));
  }
  EXPECT_EQ(ports, (std::set<std::uint64_t>{31000, 31001}));
}

TEST_F(MesosLauncherTest, OffersHeldWhenTheMasterIsLostOrRescindedAreNotUsed) {
  startSubscribed();
  launch(kJob);
  calls_.clear();
  launcher_->onEvent(offersEvent({makeOffer("o1", "a1", 2, 2048)}));
  event(rescindEvent("o1"));
  loop_.advance(kBatchWindow);
  EXPECT_TRUE(calls_.empty());

  launcher_->onEvent(offersEvent({makeOffer("o2", "a2", 2, 2048)}));
  disconnect();
  loop_.advance(kBatchWindow);
  EXPECT_TRUE(calls_.empty());
  EXPECT_TRUE(dropped_.empty());
  EXPECT_TRUE(launcher_->waiting(kJob, 1));
}

// ---------------------------------------------------------------------------
// Status updates

class MesosLauncherTerminalStateTest : public MesosLauncherTest,
                                       public ::testing::WithParamInterface<v1mesos::TaskState> {};

TEST_P(MesosLauncherTerminalStateTest, ReportsTheExitNamingTheStateAndAcknowledges) {
  v1mesos::TaskState state = GetParam();
  const std::string task = taskOf(kJob, 1);
  startSubscribed();
  launchOn(kJob, 1, makeOffer("o1", "a1", 2, 2048));
  // Not terminal: StrictMock, no exit.
  event(updateEvent(task, "a1", v1mesos::TASK_STARTING, kTestUuid));
  event(updateEvent(task, "a1", v1mesos::TASK_RUNNING, kTestUuid));
  EXPECT_EQ(callTypes(), (Types{SchedulerCall::ACKNOWLEDGE, SchedulerCall::ACKNOWLEDGE}));
  calls_.clear();

  EXPECT_CALL(
      exited_,
      Call(kJob, 1, AllOf(StartsWith("Mesos task "), HasSubstr(v1mesos::TaskState_Name(state)))));
  event(updateEvent(task, "a1", state, kTestUuid));
  Mock::VerifyAndClearExpectations(&exited_);
  ASSERT_EQ(callTypes(), Types{SchedulerCall::ACKNOWLEDGE});
  EXPECT_EQ(calls_[0].acknowledge().task_id().value(), task);
  EXPECT_EQ(calls_[0].acknowledge().agent_id().value(), "a1");
  EXPECT_EQ(calls_[0].acknowledge().uuid(), kTestUuid);

  // Forgotten: a repeated update (at-least-once) is only acknowledged, and a
  // stop does nothing.
  calls_.clear();
  event(updateEvent(task, "a1", state, kTestUuid));
  launcher_->stop(kJob, 1, true);
  EXPECT_EQ(callTypes(), Types{SchedulerCall::ACKNOWLEDGE});
  EXPECT_FALSE(launcher_->waiting(kJob, 1));
}

INSTANTIATE_TEST_SUITE_P(MesosLauncher, MesosLauncherTerminalStateTest,
                         ::testing::Values(v1mesos::TASK_FAILED, v1mesos::TASK_FINISHED,
                                           v1mesos::TASK_KILLED, v1mesos::TASK_LOST,
                                           v1mesos::TASK_ERROR, v1mesos::TASK_DROPPED,
                                           v1mesos::TASK_GONE,
                                           v1mesos::TASK_GONE_BY_OPERATOR),
                         [](const ::testing::TestParamInfo<v1mesos::TaskState>& info) {
                           return v1mesos::TaskState_Name(info.param);
                         });

TEST_F(MesosLauncherTest, TheExitCarriesTheReasonAndTheMessage) {
  startSubscribed();
  launchOn(kJob, 1, makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(exited_, Call(kJob, 1,
                            "Mesos task TASK_FAILED (REASON_COMMAND_EXECUTOR_FAILED): "
                            "Command exited with status 1"));
  event(updateEvent(taskOf(kJob, 1), "a1", v1mesos::TASK_FAILED, kTestUuid,
                    v1mesos::TaskStatus::REASON_COMMAND_EXECUTOR_FAILED,
                    "Command exited with status 1"));
}

// ---------------------------------------------------------------------------
// Stopping

TEST_F(MesosLauncherTest, StopOfAPendingAttemptWithdrawsItAndReportsItsExit) {
  startSubscribed();
  launch(kJob);
  calls_.clear();
  launcher_->stop(kJob, 1, false);
  // The exit is reported from the loop, not from inside stop().
  EXPECT_CALL(exited_, Call(kJob, 1, "stopped before it was launched"));
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&exited_);
  EXPECT_FALSE(launcher_->waiting(kJob, 1));
  EXPECT_EQ(callTypes(), Types{SchedulerCall::SUPPRESS}) << "nothing is pending any more";

  // It is no longer placed, and stopping it again does nothing.
  calls_.clear();
  offer({makeOffer("o1", "a1", 4, 4096)});
  launcher_->stop(kJob, 1, true);
  EXPECT_EQ(callTypes(), Types{SchedulerCall::DECLINE});
}

TEST_F(MesosLauncherTest, StopOfALaunchedAttemptKillsItsTaskOnceAndTheExitFollowsMesos) {
  startSubscribed();
  launchOn(kJob, 1, makeOffer("o1", "a1", 2, 2048));
  launcher_->stop("other-job", 1, true);  // unknown: nothing
  launcher_->stop(kJob, 2, true);         // not this attempt: nothing
  EXPECT_TRUE(calls_.empty());

  launcher_->stop(kJob, 1, false);  // a cancel
  launcher_->stop(kJob, 1, true);   // then the watchdog
  ASSERT_EQ(callTypes(), Types{SchedulerCall::KILL});
  EXPECT_EQ(calls_[0].kill().task_id().value(), taskOf(kJob, 1));
  EXPECT_EQ(calls_[0].kill().agent_id().value(), "a1");

  // Ended only once Mesos says so.
  EXPECT_CALL(exited_, Call(kJob, 1, HasSubstr("TASK_KILLED")));
  event(updateEvent(taskOf(kJob, 1), "a1", v1mesos::TASK_KILLED, kTestUuid));
}

// ---------------------------------------------------------------------------
// After a restart

TEST_F(MesosLauncherTest, AnAdoptedAttemptIsReconciledOnSubscribingAndWatched) {
  store_.values[kFrameworkIdKey] = "fw-1";
  create();
  launcher_->adopt(kJob, earlierAttempt(kJob, 2, "a7"));
  v1::JobManagerAttempt withoutTaskId = earlierAttempt("job-b", 1);
  withoutTaskId.clear_mesos_task_id();  // it follows from the job's id
  launcher_->adopt("job-b", withoutTaskId);
  EXPECT_FALSE(launcher_->waiting(kJob, 2)) << "an adopted attempt runs already";

  EXPECT_EQ(start().id().value(), "fw-1");
  subscribe("fw-1", false);
  auto reconciles = callsOf(SchedulerCall::RECONCILE);
  ASSERT_EQ(reconciles.size(), 1u);
  EXPECT_THAT(
      reconciledOf(reconciles[0]),
      UnorderedElementsAre(Reconciled{taskOf(kJob, 2), "a7"}, Reconciled{taskOf("job-b", 1), ""}));

  // One still runs (the master's answers are not acknowledged), the other
  // was lost while the Dispatcher was down.
  calls_.clear();
  event(reconciliationAnswer(taskOf(kJob, 2), "a7", v1mesos::TASK_RUNNING));
  EXPECT_TRUE(calls_.empty());
  EXPECT_CALL(exited_, Call("job-b", 1, HasSubstr("TASK_LOST")));
  event(reconciliationAnswer(taskOf("job-b", 1), "a8", v1mesos::TASK_LOST));
  Mock::VerifyAndClearExpectations(&exited_);

  // The adopted one is stopped like any other.
  launcher_->stop(kJob, 2, false);
  auto kills = callsOf(SchedulerCall::KILL);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].kill().task_id().value(), taskOf(kJob, 2));
  EXPECT_EQ(kills[0].kill().agent_id().value(), "a7");
  EXPECT_CALL(exited_, Call(kJob, 2, HasSubstr("TASK_KILLED")));
  event(updateEvent(taskOf(kJob, 2), "a7", v1mesos::TASK_KILLED, kTestUuid));
}

TEST_F(MesosLauncherTest, ANewFrameworkEndsAdoptedAndLaunchedAttemptsButNotPendingOnes) {
  store_.values[kFrameworkIdKey] = "fw-1";
  create();
  launcher_->adopt("job-a", earlierAttempt("job-a", 1));
  start();
  subscribe("fw-1", false);
  launchOn("job-b", 1, makeOffer("o1", "a1", 2, 2048));
  launch("job-c");  // no offer yet
  disconnect();
  calls_.clear();

  EXPECT_CALL(exited_, Call("job-a", 1, HasSubstr("its framework was removed")));
  EXPECT_CALL(exited_, Call("job-b", 1, HasSubstr("its framework was removed")));
  subscribe("fw-2", true);
  Mock::VerifyAndClearExpectations(&exited_);
  EXPECT_EQ(store_.values[kFrameworkIdKey], "fw-2");
  for (const auto& reconcile : callsOf(SchedulerCall::RECONCILE)) {
    EXPECT_EQ(reconcile.reconcile().tasks_size(), 0) << reconcile.DebugString();
  }

  // The pending one is launched on the next offer.
  EXPECT_TRUE(launcher_->waiting("job-c", 1));
  calls_.clear();
  offer({makeOffer("o2", "a2", 2, 2048)});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_THAT(taskIdsOf(accepts[0]), ElementsAre(taskOf("job-c", 1)));
  // A late update of the old framework's task ends nothing more (StrictMock).
  event(updateEvent(taskOf("job-b", 1), "a1", v1mesos::TASK_KILLED, kTestUuid));
}

TEST_F(MesosLauncherTest, AnAcceptedOfferTellsWhereTheAttemptWent) {
  startSubscribed();
  std::vector<std::string> placed;
  launcher_->setPlacedCallback([&placed](const std::string& jobId, int attempt,
                                         const std::string& host, const std::string& agentId) {
    placed.push_back(fmt::format("{} {} {} {}", jobId, attempt, host, agentId));
  });
  launchOn(kJob, 1, makeOffer("o1", "a1", 2, 2048));
  loop_.runPending();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_THAT(placed[0], StartsWith(kJob + " 1 "));
  EXPECT_THAT(placed[0], EndsWith(" a1"));
}

}  // namespace
}  // namespace tailor::dispatcher

// ---------------------------------------------------------------------------
// Sessions

namespace tailor::dispatcher {
namespace {

TEST_F(MesosLauncherTest, ASessionIsATaskNamedForItThatFetchesOnlyTheJobManager) {
  startSubscribed();
  StrictMock<MockFunction<void(const std::string&, int, const std::string&)>> sessionExited;
  launcher_->setSessionExitCallback(sessionExited.AsStdFunction());
  SessionLaunch session;
  session.name = "etl";
  session.attempt = 2;
  session.options.set_idle_timeout_seconds(90);
  session.options.set_min_resources("cpus=2,mem=2048");
  session.options.set_sizing("fixed");
  session.dispatcherAddress = kDispatcher;
  auto launched = launcher_->launchSession(session);
  ASSERT_TRUE(launched.ok()) << launched.error().message;
  EXPECT_EQ(launched->mesos_task_id(), "session-etl-2");
  EXPECT_TRUE(launcher_->waitingSession("etl", 2));
  EXPECT_FALSE(launcher_->waiting("etl", 2));
  calls_.clear();
  offer({makeOffer("o1", "a1", 2, 2048, {31500, 31600})});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  auto tasks = tasksOf(accepts[0]);
  ASSERT_EQ(tasks.size(), 1u);
  const auto& task = tasks[0];
  EXPECT_EQ(task.task_id().value(), "session-etl-2");
  EXPECT_EQ(task.name(), "tailor-session etl");
  ASSERT_EQ(task.command().uris_size(), 1);
  EXPECT_EQ(task.command().uris(0).value(),
            "http://" + kDispatcher + "/v1/artifacts/tailor-jobmanager");
  const std::string& line = task.command().value();
  EXPECT_THAT(line, StartsWith("exec ./tailor-jobmanager '--session' 'etl' "
                               "'--session-idle-timeout' '90000ms' '--session-min-resources' "
                               "'cpus=2,mem=2048' '--taskmanager-sizing' 'fixed' "));
  EXPECT_THAT(line, HasSubstr("--dispatcher '" + kDispatcher + "' --dispatcher-attempt 2 "));
  EXPECT_THAT(line, HasSubstr("--rpc-port 31500 "));
  EXPECT_THAT(line, HasSubstr("--mesos-master '" + kMasters + "'"));
  EXPECT_THAT(line, Not(HasSubstr("--job-spec")));
  EXPECT_THAT(line, Not(HasSubstr("--job-id")));
  EXPECT_FALSE(launcher_->waitingSession("etl", 2));

  // Stopped by name; its end goes to the sessions' callback.
  calls_.clear();
  launcher_->stopSession("etl", 2, true);
  ASSERT_EQ(callTypes(), Types{SchedulerCall::KILL});
  EXPECT_EQ(calls_[0].kill().task_id().value(), "session-etl-2");
  EXPECT_CALL(sessionExited, Call("etl", 2, HasSubstr("TASK_KILLED")));
  event(updateEvent("session-etl-2", "a1", v1mesos::TASK_KILLED, kTestUuid));
}

}  // namespace
}  // namespace tailor::dispatcher
