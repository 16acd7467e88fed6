#include "scheduler/drivers/mesos/mesos_driver.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/common/builders.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/mesos/builders.hpp"
#include "tests/mesos/mocks.hpp"
#include "tests/scheduler/mocks.hpp"

namespace tailor::scheduler::mesos {
namespace {

namespace v1 = ::mesos::v1;
using tailor::mesos::MockSchedulerConnection;
using tailor::mesos::offerView;
using tailor::mesos::OfferView;
using tailor::mesos::PortRange;
using tailor::mesos::SchedulerCall;
using tailor::mesos::SchedulerEvent;
using test::callsOfType;
using test::findResource;
using test::makeOffer;
using test::ManualEventLoop;
using test::offerIdsOf;
using test::offersEvent;
using test::portOf;
using test::portsResource;
using test::reconciledOf;
using test::reconciliationAnswer;
using test::res;
using test::rescindEvent;
using test::resourceNamed;
using test::scalar;
using test::ScalarIs;
using test::scalarOf;
using test::taskIdsOf;
using test::tasksOf;
using test::typesOf;
using test::updateEvent;
using ::testing::_;
using ::testing::AllOf;
using ::testing::AnyNumber;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Mock;
using ::testing::NiceMock;
using ::testing::Not;
using ::testing::SaveArg;
using ::testing::StartsWith;
using ::testing::StrictMock;
using ::testing::UnorderedElementsAre;

const std::string& kRole = test::kTestRole;  // what the builders allocate to
const std::string kRmAddress = "10.0.0.1:6123";
const std::string kExecutorCommand = "/opt/tailor/bin/tailor-taskmanager";
constexpr double kRefuseSeconds = 7.0;
const std::string& kUuid = test::kTestUuid;

MesosDriverConfig testConfig() {
  MesosDriverConfig config;
  config.jobId = "job-7";
  config.user = "alice";
  config.role = kRole;
  config.failoverTimeoutSeconds = 3600;
  config.checkpoint = true;
  config.refuse = Duration(7000);
  config.executorCommand = kExecutorCommand;
  config.executorOverhead = res(0.1, 64);
  config.resourceManagerAddress = kRmAddress;
  config.maxTaskManager = res(16, 65536);
  return config;
}

TaskManagerSpec spec(const Resources& total) { return TaskManagerSpec{total, {total}}; }

class MesosDriverTest : public ::testing::Test {
 protected:
  MesosDriverTest() { connection_.recordCalls(&subscribed_, &calls_, &dropped_, "fw-1"); }

  void create(MesosDriverConfig config = testConfig(),
              tailor::mesos::AgentFiles* agentFiles = nullptr) {
    driver_ = std::make_unique<MesosDriver>(loop_, std::move(config), agentFiles);
    driver_->setConnection(&connection_);
    allowStarted();
  }

  // A TM is reported started when its ACCEPT is sent; tests that care expect
  // it explicitly (a later expectation takes precedence).
  void allowStarted() {
    EXPECT_CALL(listener_, onTaskManagerStarted(_)).Times(AnyNumber());
    EXPECT_CALL(listener_, onCapacityChanged()).Times(AnyNumber());
  }

  void start() {
    EXPECT_CALL(connection_, start(_));
    EXPECT_CALL(listener_, onCapacityChanged()).Times(AnyNumber());
    driver_->start(&listener_);
    Mock::VerifyAndClearExpectations(&connection_);
  }

  // As the connection does: subscribed() turns true, then the listener hears.
  void subscribe(const std::string& frameworkId, bool isNew) {
    subscribed_ = true;
    driver_->onSubscribed(frameworkId, isNew);
  }

  // Creates, starts and subscribes the driver, then forgets the calls so far.
  void startSubscribed(MesosDriverConfig config = testConfig(),
                       tailor::mesos::AgentFiles* agentFiles = nullptr) {
    create(std::move(config), agentFiles);
    start();
    subscribe("fw-1", true);
    calls_.clear();
  }

  void launch(const std::string& id, const Resources& total) {
    driver_->launchTaskManager(id, spec(total));
  }

  void offer(const std::vector<v1::Offer>& offers) { driver_->onEvent(offersEvent(offers)); }

  void event(const SchedulerEvent& e) { driver_->onEvent(e); }

  // Launches `id` of `total` on `offer` (asserting it was accepted) and
  // forgets the calls; returns the task it launched (empty, after a
  // failure, unless one ACCEPT launched just `id`).
  v1::TaskInfo launchOn(const std::string& id, const Resources& total, const v1::Offer& o) {
    launch(id, total);
    calls_.clear();
    offer({o});
    auto accepts = callsOf(SchedulerCall::ACCEPT);
    calls_.clear();
    if (accepts.size() != 1u) {
      ADD_FAILURE() << accepts.size() << " ACCEPTs launching " << id;
      return {};
    }
    EXPECT_THAT(taskIdsOf(accepts[0]), ElementsAre(id));
    auto tasks = tasksOf(accepts[0]);
    return tasks.size() == 1u ? tasks[0] : v1::TaskInfo();
  }

  // Launches `id` on `o` and reports it running.
  void launchRunning(const std::string& id, const Resources& total, const v1::Offer& o) {
    launchOn(id, total, o);
    event(updateEvent(id, o.agent_id().value(), v1::TASK_RUNNING, kUuid));
    Mock::VerifyAndClearExpectations(&listener_);
    allowStarted();
    calls_.clear();
  }

  std::vector<SchedulerCall> callsOf(SchedulerCall::Type type) const {
    return callsOfType(calls_, type);
  }

  std::vector<SchedulerCall::Type> callTypes() const { return typesOf(calls_); }

  ManualEventLoop loop_;
  NiceMock<MockSchedulerConnection> connection_;
  StrictMock<MockDriverListener> listener_;
  bool subscribed_ = false;
  std::vector<SchedulerCall> calls_;    // sent while subscribed
  std::vector<SchedulerCall> dropped_;  // sent while not subscribed
  std::unique_ptr<MesosDriver> driver_;
};

// ---------------------------------------------------------------------------
// makeFrameworkInfo

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

TEST(MesosDriverFrameworkInfoTest, ASessionsFrameworkIsNamedAfterTheSession) {
  auto config = testConfig();
  config.sessionName = "nightly";
  EXPECT_EQ(makeFrameworkInfo(config).name(), "tailor-session-nightly");
  EXPECT_EQ(frameworkOwner(config), "session nightly");
  EXPECT_EQ(frameworkOwner(testConfig()), "job job-7");
}

TEST(MesosDriverFrameworkInfoTest, NamesTheJobAndSubscribesMultiRole) {
  v1::FrameworkInfo info = makeFrameworkInfo(testConfig());
  EXPECT_EQ(info.name(), "tailor-job-job-7");
  EXPECT_EQ(info.user(), "alice");
  EXPECT_THAT(info.roles(), ElementsAre(kRole));
  // MULTI_ROLE: `roles`, never the deprecated `role` (reference 5.2).
  EXPECT_FALSE(info.has_role());
  // PARTITION_AWARE: TASK_UNREACHABLE, TASK_UNKNOWN, ... rather than TASK_LOST.
  std::vector<v1::FrameworkInfo::Capability::Type> types;
  for (const auto& capability : info.capabilities()) types.push_back(capability.type());
  EXPECT_THAT(types, ElementsAre(v1::FrameworkInfo::Capability::MULTI_ROLE,
                                 v1::FrameworkInfo::Capability::PARTITION_AWARE));
  EXPECT_EQ(info.failover_timeout(), 3600.0);
  EXPECT_TRUE(info.has_checkpoint());
  EXPECT_TRUE(info.checkpoint());
  EXPECT_FALSE(info.has_id());
  EXPECT_FALSE(info.has_principal());
  EXPECT_FALSE(info.has_hostname());
  EXPECT_FALSE(info.has_webui_url());
}

#pragma GCC diagnostic pop

TEST(MesosDriverFrameworkInfoTest, GpuCapabilityOnlyWhenGpusAreUsed) {
  MesosDriverConfig config = testConfig();
  config.gpus = true;
  v1::FrameworkInfo info = makeFrameworkInfo(config);
  std::vector<v1::FrameworkInfo::Capability::Type> types;
  for (const auto& capability : info.capabilities()) types.push_back(capability.type());
  EXPECT_THAT(types, UnorderedElementsAre(v1::FrameworkInfo::Capability::MULTI_ROLE,
                                          v1::FrameworkInfo::Capability::GPU_RESOURCES,
                                          v1::FrameworkInfo::Capability::PARTITION_AWARE));
}

TEST(MesosDriverFrameworkInfoTest, OptionalFieldsOnlyWhenSet) {
  MesosDriverConfig config = testConfig();
  config.principal = "tailor-principal";
  config.hostname = "jm.example.com";
  config.webuiUrl = "http://jm.example.com:8081/";
  config.checkpoint = false;
  config.failoverTimeoutSeconds = 86400.5;
  config.role = "analytics/batch";
  v1::FrameworkInfo info = makeFrameworkInfo(config);
  EXPECT_EQ(info.principal(), "tailor-principal");
  EXPECT_EQ(info.hostname(), "jm.example.com");
  EXPECT_EQ(info.webui_url(), "http://jm.example.com:8081/");
  EXPECT_TRUE(info.has_checkpoint());
  EXPECT_FALSE(info.checkpoint());
  EXPECT_EQ(info.failover_timeout(), 86400.5);
  EXPECT_THAT(info.roles(), ElementsAre("analytics/batch"));
}

TEST(MesosDriverFrameworkInfoTest, DefaultUserIsTheCurrentUser) {
  MesosDriverConfig config = testConfig();
  config.user.clear();
  const passwd* entry = getpwuid(getuid());
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(makeFrameworkInfo(config).user(), entry->pw_name);
}

// ---------------------------------------------------------------------------
// offerView

TEST(MesosDriverOfferViewTest, SumsUnreservedScalarsAndKeepsPortRanges) {
  v1::Offer offer;
  offer.mutable_id()->set_value("o1");
  offer.mutable_agent_id()->set_value("a1");
  offer.set_hostname("node1.example.com");
  *offer.add_resources() = scalar("cpus", 2.5);
  *offer.add_resources() = scalar("mem", 4096);
  *offer.add_resources() = scalar("disk", 1000);
  *offer.add_resources() = scalar("gpus", 2);
  *offer.add_resources() = scalar("cpus", 0.25);    // a second entry adds up
  *offer.add_resources() = scalar("mem", 100, "");  // no allocation_info: unreserved
  *offer.add_resources() = portsResource({{31000, 31005}, {32000, 32000}});
  OfferView view = offerView(offer, kRole);
  EXPECT_EQ(view.offerId, "o1");
  EXPECT_EQ(view.agentId, "a1");
  EXPECT_EQ(view.hostname, "node1.example.com");
  EXPECT_EQ(view.resources, (Resources{2750, 4196, 1000, 2}));
  ASSERT_EQ(view.ports.size(), 2u);
  EXPECT_EQ(view.ports[0].begin, 31000u);
  EXPECT_EQ(view.ports[0].end, 31005u);
  EXPECT_EQ(view.ports[1].begin, 32000u);
  EXPECT_EQ(view.ports[1].end, 32000u);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

TEST(MesosDriverOfferViewTest, LeavesOutReservedResources) {
  v1::Offer offer = makeOffer("o1", "a1", 1, 1024, {0, 0});
  // Refinement format: a dynamic reservation for our role.
  v1::Resource dynamic = scalar("cpus", 4);
  auto* reservation = dynamic.add_reservations();
  reservation->set_type(v1::Resource::ReservationInfo::DYNAMIC);
  reservation->set_role(kRole);
  reservation->set_principal("ops");
  *offer.add_resources() = dynamic;
  // Refinement format: static.
  v1::Resource statik = scalar("mem", 8192);
  statik.add_reservations()->set_type(v1::Resource::ReservationInfo::STATIC);
  statik.mutable_reservations(0)->set_role(kRole);
  *offer.add_resources() = statik;
  // Pre-refinement format: `role` set, dynamic `reservation`.
  v1::Resource preDynamic = scalar("disk", 5000);
  preDynamic.set_role(kRole);
  preDynamic.mutable_reservation()->set_principal("ops");
  *offer.add_resources() = preDynamic;
  // Pre-refinement format: static reservation (`role` only).
  v1::Resource preStatic = scalar("gpus", 1);
  preStatic.set_role(kRole);
  *offer.add_resources() = preStatic;
  // Reserved ports.
  v1::Resource reservedPorts = portsResource({{40000, 40100}});
  reservedPorts.set_role(kRole);
  *offer.add_resources() = reservedPorts;

  OfferView view = offerView(offer, kRole);
  EXPECT_EQ(view.resources, (Resources{1000, 1024, 0, 0}));
  EXPECT_TRUE(view.ports.empty());
}

#pragma GCC diagnostic pop

TEST(MesosDriverOfferViewTest, LeavesOutOtherRolesAllocations) {
  v1::Offer offer = makeOffer("o1", "a1", 1, 1024, {31000, 31001});
  *offer.add_resources() = scalar("cpus", 8, "other");
  *offer.add_resources() = scalar("mem", 9999, "other");
  *offer.add_resources() = portsResource({{50000, 50010}}, "other");
  OfferView view = offerView(offer, kRole);
  EXPECT_EQ(view.resources, (Resources{1000, 1024, 0, 0}));
  ASSERT_EQ(view.ports.size(), 1u);
  EXPECT_EQ(view.ports[0].begin, 31000u);
  EXPECT_EQ(view.ports[0].end, 31001u);
}

TEST(MesosDriverOfferViewTest, LeavesOutDisksWithDiskInfo) {
  v1::Offer offer = makeOffer("o1", "a1", 1, 1024, {0, 0}, /*disk=*/500);
  v1::Resource mount = scalar("disk", 20000);
  mount.mutable_disk()->mutable_source()->set_type(v1::Resource::DiskInfo::Source::MOUNT);
  mount.mutable_disk()->mutable_source()->mutable_mount()->set_root("/mnt/disk1");
  *offer.add_resources() = mount;
  v1::Resource volume = scalar("disk", 3000);
  volume.mutable_disk()->mutable_persistence()->set_id("vol-1");
  *offer.add_resources() = volume;
  EXPECT_EQ(offerView(offer, kRole).resources, (Resources{1000, 1024, 500, 0}));
}

TEST(MesosDriverOfferViewTest, LeavesOutRevocableResources) {
  v1::Offer offer = makeOffer("o1", "a1", 1, 1024, {0, 0});
  v1::Resource revocableCpus = scalar("cpus", 6);
  revocableCpus.mutable_revocable();
  *offer.add_resources() = revocableCpus;
  v1::Resource revocableMem = scalar("mem", 2048);
  revocableMem.mutable_revocable();
  *offer.add_resources() = revocableMem;
  EXPECT_EQ(offerView(offer, kRole).resources, (Resources{1000, 1024, 0, 0}));
}

// ---------------------------------------------------------------------------
// start, describe

TEST_F(MesosDriverTest, StartStartsTheConnectionWithTheFrameworkInfo) {
  create();
  v1::FrameworkInfo sent;
  EXPECT_CALL(connection_, start(_)).WillOnce(SaveArg<0>(&sent));
  driver_->start(&listener_);
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(sent, makeFrameworkInfo(testConfig())))
      << sent.DebugString();
  EXPECT_EQ(sent.name(), "tailor-job-job-7");
  EXPECT_TRUE(calls_.empty());
  EXPECT_TRUE(dropped_.empty());
}

TEST_F(MesosDriverTest, ReportsItsLimits) {
  create();
  EXPECT_EQ(driver_->maxTaskManager(), res(16, 65536));
  EXPECT_THAT(driver_->describe(), HasSubstr("Mesos"));
}

// ---------------------------------------------------------------------------
// Launching

TEST_F(MesosDriverTest, LaunchesATaskManagerOnAnOffer) {
  startSubscribed();
  launch("tm-1", res(1.5, 2048, 100));
  calls_.clear();
  offer({makeOffer("o1", "a1", 4, 8192, {31500, 31600}, /*disk=*/1000)});

  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  const SchedulerCall& accept = accepts[0];
  EXPECT_THAT(offerIdsOf(accept.accept().offer_ids()), ElementsAre("o1"));
  ASSERT_EQ(accept.accept().operations_size(), 1);
  EXPECT_EQ(accept.accept().operations(0).type(), v1::Offer::Operation::LAUNCH);
  EXPECT_FALSE(accept.accept().operations(0).has_id());  // an id on LAUNCH is a TASK_ERROR
  EXPECT_EQ(accept.accept().filters().refuse_seconds(), kRefuseSeconds);
  EXPECT_TRUE(callsOf(SchedulerCall::DECLINE).empty());

  auto tasks = tasksOf(accept);
  ASSERT_EQ(tasks.size(), 1u);
  const v1::TaskInfo& task = tasks[0];
  EXPECT_EQ(task.task_id().value(), "tm-1");
  EXPECT_EQ(task.agent_id().value(), "a1");
  EXPECT_FALSE(task.name().empty());
  EXPECT_FALSE(task.has_command());  // exactly one of executor and command
  ASSERT_EQ(task.resources_size(), 4);
  EXPECT_THAT(resourceNamed(task.resources(), "cpus"), ScalarIs("cpus", 1.5));
  EXPECT_THAT(resourceNamed(task.resources(), "mem"), ScalarIs("mem", 2048.0));
  EXPECT_THAT(resourceNamed(task.resources(), "disk"), ScalarIs("disk", 100.0));
  EXPECT_EQ(findResource(task.resources(), "gpus"), nullptr);
  const v1::Resource* port = findResource(task.resources(), "ports");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->allocation_info().role(), kRole);
  EXPECT_EQ(portOf(task), 31500u);

  ASSERT_TRUE(task.has_executor());
  const v1::ExecutorInfo& executor = task.executor();
  EXPECT_EQ(executor.type(), v1::ExecutorInfo::CUSTOM);
  EXPECT_EQ(executor.executor_id().value(), "tm-1");
  ASSERT_EQ(executor.resources_size(), 2);
  EXPECT_THAT(resourceNamed(executor.resources(), "cpus"), ScalarIs("cpus", 0.1));
  EXPECT_THAT(resourceNamed(executor.resources(), "mem"), ScalarIs("mem", 64.0));
  ASSERT_TRUE(executor.has_command());
  const std::string& command = executor.command().value();
  EXPECT_THAT(command, HasSubstr(kExecutorCommand));
  EXPECT_THAT(command, HasSubstr("--taskmanager-id tm-1"));
  EXPECT_THAT(command, HasSubstr("--resource-manager " + kRmAddress));
  EXPECT_THAT(command, HasSubstr("--port 31500"));
  EXPECT_THAT(command, HasSubstr("--resources cpus=1.5,mem=2048,disk=100,gpus=0"));
  EXPECT_THAT(command, HasSubstr("--advertise-host host-a1"));
}

TEST_F(MesosDriverTest, GpuTaskManagerGetsGpus) {
  MesosDriverConfig config = testConfig();
  config.gpus = true;
  startSubscribed(config);
  launch("tm-gpu", res(2, 4096, 0, 1));
  calls_.clear();
  offer({makeOffer("o1", "a1", 8, 16384, {31000, 31000}, 0, /*gpus=*/2)});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  auto tasks = tasksOf(accepts[0]);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_THAT(resourceNamed(tasks[0].resources(), "gpus"), ScalarIs("gpus", 1.0));
  EXPECT_THAT(resourceNamed(tasks[0].resources(), "cpus"), ScalarIs("cpus", 2.0));
  // The executor itself takes no gpu.
  EXPECT_EQ(findResource(tasks[0].executor().resources(), "gpus"), nullptr);
  EXPECT_EQ(portOf(tasks[0]), 31000u);
}

TEST_F(MesosDriverTest, ExecutorIsFetchedFromItsUrisAndBindsAnIpHostname) {
  MesosDriverConfig config = testConfig();
  config.executorUris = {{ExecutorUri::Kind::kAsGiven, "http://repo/tailor-taskmanager"},
                         {ExecutorUri::Kind::kAsGiven, "http://repo/libs.tar.gz"}};
  startSubscribed(config);
  v1::Offer o = makeOffer("o1", "a1", 2, 2048);
  o.set_hostname("10.1.2.3");
  v1::TaskInfo task = launchOn("tm-1", res(1, 1024), o);
  const v1::CommandInfo& command = task.executor().command();
  ASSERT_EQ(command.uris_size(), 2);
  EXPECT_EQ(command.uris(0).value(), "http://repo/tailor-taskmanager");
  EXPECT_TRUE(command.uris(0).executable());
  EXPECT_EQ(command.uris(1).value(), "http://repo/libs.tar.gz");
  EXPECT_FALSE(command.uris(1).executable());
  EXPECT_THAT(command.value(), HasSubstr("--bind 10.1.2.3"));
  EXPECT_THAT(command.value(), HasSubstr("--advertise-host 10.1.2.3"));
}

// No executor given: the agents fetch the JobManager's own tailor-taskmanager
// from its endpoint (the ResourceManager's address) into the sandbox, and run it there.
TEST_F(MesosDriverTest, TheJobManagersOwnExecutorIsFetchedFromItsEndpoint) {
  MesosDriverConfig config = testConfig();
  config.executorCommand = "./tailor-taskmanager";
  config.executorUris = {{ExecutorUri::Kind::kJobManager, "/artifacts/1f-2a/tailor-taskmanager"}};
  config.resourceManagerAddress = "";  // known once the endpoint listens
  create(config);
  driver_->setResourceManagerAddress(kRmAddress);
  start();
  subscribe("fw-1", true);
  v1::TaskInfo task = launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  const v1::CommandInfo& command = task.executor().command();
  ASSERT_EQ(command.uris_size(), 1);
  EXPECT_EQ(command.uris(0).value(),
            "http://" + kRmAddress + "/artifacts/1f-2a/tailor-taskmanager");
  EXPECT_TRUE(command.uris(0).executable());
  EXPECT_FALSE(command.uris(0).has_cache()) << "not cached unless asked";
  EXPECT_THAT(command.value(), StartsWith("exec ./tailor-taskmanager --taskmanager-id tm-1 "));
}

TEST_F(MesosDriverTest, ExecutorUrisAreCachedWhenAsked) {
  MesosDriverConfig config = testConfig();
  config.executorUris = {{ExecutorUri::Kind::kJobManager, "/artifacts/1f-2a/tailor-taskmanager"},
                         {ExecutorUri::Kind::kAsGiven, "http://repo/libs.tar.gz"}};
  config.executorCache = true;
  startSubscribed(config);
  v1::TaskInfo task = launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  const v1::CommandInfo& command = task.executor().command();
  ASSERT_EQ(command.uris_size(), 2);
  for (const auto& uri : command.uris()) {
    EXPECT_TRUE(uri.has_cache() && uri.cache()) << uri.value();
  }
}

// A JobManager outlives the Dispatcher that launched it (docs/ha.md): each
// TaskManager's executor comes from the Dispatcher leading at its launch.
TEST_F(MesosDriverTest, ExecutorUrisOnTheLeadingDispatcherFollowItFromLaunchToLaunch) {
  MesosDriverConfig config = testConfig();
  config.executorUris = {
      {ExecutorUri::Kind::kLeadingDispatcher, "/v1/artifacts/tailor-taskmanager"},
      {ExecutorUri::Kind::kAsGiven, "http://repo/libs.tar.gz"}};
  create(config);
  std::string leader = "10.0.0.7:8080";
  int asked = 0;
  driver_->setLeadingDispatcher([&] {
    ++asked;
    return leader;
  });
  start();
  subscribe("fw-1", true);
  EXPECT_EQ(asked, 0) << "asked at launch, not before";
  auto firstUris = [&](const std::string& id) {
    v1::TaskInfo task = launchOn(id, res(1, 1024), makeOffer("o-" + id, "a1", 2, 2048));
    std::vector<std::string> uris;
    for (const auto& uri : task.executor().command().uris()) uris.push_back(uri.value());
    return uris;
  };
  EXPECT_THAT(firstUris("tm-1"), ElementsAre("http://10.0.0.7:8080/v1/artifacts/tailor-taskmanager",
                                             "http://repo/libs.tar.gz"));
  // The launching Dispatcher is gone; another leads.
  leader = "10.0.0.8:9090";
  EXPECT_THAT(firstUris("tm-2"), ElementsAre("http://10.0.0.8:9090/v1/artifacts/tailor-taskmanager",
                                             "http://repo/libs.tar.gz"));
  EXPECT_EQ(asked, 2);
}

TEST_F(MesosDriverTest, PacksSeveralTaskManagersIntoOneAccept) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  launch("tm-2", res(1, 1024));
  launch("tm-3", res(1, 1024));
  calls_.clear();
  // 3 x (1 + 0.1 cpus, 1024 + 64 MB) = 3.3 cpus, 3264 MB.
  offer({makeOffer("o1", "a1", 4, 4096, {31000, 31010})});

  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_THAT(offerIdsOf(accepts[0].accept().offer_ids()), ElementsAre("o1"));
  EXPECT_THAT(taskIdsOf(accepts[0]), UnorderedElementsAre("tm-1", "tm-2", "tm-3"));
  std::set<std::uint64_t> ports;
  for (const auto& task : tasksOf(accepts[0])) {
    EXPECT_EQ(task.agent_id().value(), "a1");
    EXPECT_EQ(task.executor().executor_id().value(), task.task_id().value());
    std::uint64_t port = portOf(task);
    EXPECT_THAT(task.executor().command().value(), HasSubstr("--port " + std::to_string(port)));
    ports.insert(port);
  }
  EXPECT_EQ(ports, (std::set<std::uint64_t>{31000, 31001, 31002}));
  EXPECT_TRUE(callsOf(SchedulerCall::DECLINE).empty());
}

TEST_F(MesosDriverTest, OneAcceptPerUsedOfferAndTheRestDeclined) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  launch("tm-2", res(1, 1024));
  calls_.clear();
  // o2 and o3 fit one TM each (1.1 cpus needed); o1 and o4 fit none.
  offer({makeOffer("o1", "a1", 0.5, 8192), makeOffer("o2", "a2", 1.5, 2048),
         makeOffer("o3", "a3", 1.5, 2048), makeOffer("o4", "a4", 4, 1000)});

  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 2u);
  std::map<std::string, std::string> agentOfTask;
  std::set<std::string> acceptedOffers;
  for (const auto& accept : accepts) {
    ASSERT_EQ(accept.accept().offer_ids_size(), 1);
    std::string offerId = accept.accept().offer_ids(0).value();
    acceptedOffers.insert(offerId);
    auto tasks = tasksOf(accept);
    ASSERT_EQ(tasks.size(), 1u);
    // The task goes to the agent of the offer it was accepted with.
    EXPECT_EQ(tasks[0].agent_id().value(), offerId == "o2" ? "a2" : "a3");
    agentOfTask[tasks[0].task_id().value()] = tasks[0].agent_id().value();
  }
  EXPECT_EQ(acceptedOffers, (std::set<std::string>{"o2", "o3"}));
  EXPECT_EQ(agentOfTask.size(), 2u);

  auto declines = callsOf(SchedulerCall::DECLINE);
  ASSERT_EQ(declines.size(), 1u);
  EXPECT_THAT(offerIdsOf(declines[0].decline().offer_ids()), ElementsAre("o1", "o4"));
  EXPECT_EQ(declines[0].decline().filters().refuse_seconds(), kRefuseSeconds);
}

TEST_F(MesosDriverTest, OffersAreDeclinedWhenNothingIsPending) {
  startSubscribed();
  offer({makeOffer("o1", "a1", 4, 8192), makeOffer("o2", "a2", 4, 8192)});
  EXPECT_TRUE(callsOf(SchedulerCall::ACCEPT).empty());
  auto declines = callsOf(SchedulerCall::DECLINE);
  ASSERT_EQ(declines.size(), 1u);
  EXPECT_THAT(offerIdsOf(declines[0].decline().offer_ids()), ElementsAre("o1", "o2"));
  EXPECT_EQ(declines[0].decline().filters().refuse_seconds(), kRefuseSeconds);
}

TEST_F(MesosDriverTest, ExecutorOverheadMustFitTheOfferToo) {
  startSubscribed();
  launch("tm-1", res(2, 2048));
  calls_.clear();
  // Exactly the TM's total, nothing left for the executor's 0.1 cpus / 64 MB.
  offer({makeOffer("o1", "a1", 2, 2048)});
  EXPECT_TRUE(callsOf(SchedulerCall::ACCEPT).empty());
  ASSERT_EQ(callsOf(SchedulerCall::DECLINE).size(), 1u);

  // Still pending: the next offer large enough gets it.
  calls_.clear();
  offer({makeOffer("o2", "a1", 2.1, 2112)});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_THAT(taskIdsOf(accepts[0]), ElementsAre("tm-1"));
}

TEST_F(MesosDriverTest, OfferWithoutPortsOrOnlyReservedResourcesIsNotUsed) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  calls_.clear();
  v1::Offer reserved = makeOffer("o2", "a2", 0, 0);
  reserved.clear_resources();
  v1::Resource cpus = scalar("cpus", 8);
  cpus.add_reservations()->set_type(v1::Resource::ReservationInfo::STATIC);
  cpus.mutable_reservations(0)->set_role(kRole);
  *reserved.add_resources() = cpus;
  *reserved.add_resources() = scalar("mem", 8192);
  *reserved.add_resources() = portsResource({{31000, 31009}});
  offer({makeOffer("o1", "a1", 8, 8192, {0, 0}), reserved});
  EXPECT_TRUE(callsOf(SchedulerCall::ACCEPT).empty());
  auto declines = callsOf(SchedulerCall::DECLINE);
  ASSERT_EQ(declines.size(), 1u);
  EXPECT_THAT(offerIdsOf(declines[0].decline().offer_ids()), ElementsAre("o1", "o2"));
}

TEST_F(MesosDriverTest, PacksOnlyWhatEveryDimensionHolds) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  launch("tm-2", res(1, 1024));
  calls_.clear();
  // cpus for three, mem for one (2 x 1088 MB > 2000 MB).
  offer({makeOffer("o1", "a1", 4, 2000)});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_EQ(tasksOf(accepts[0]).size(), 1u);
  // The other one stays pending: no SUPPRESS.
  EXPECT_TRUE(callsOf(SchedulerCall::SUPPRESS).empty());
}

TEST_F(MesosDriverTest, NeverOverCommitsAnOffer) {
  startSubscribed();
  std::map<std::string, Resources> totals = {{"tm-a", res(2, 1024)},   {"tm-b", res(1, 2048)},
                                             {"tm-c", res(1, 512)},    {"tm-d", res(0.5, 256)},
                                             {"tm-e", res(0.5, 4096)}, {"tm-f", res(0.3, 100, 50)}};
  for (const auto& [id, total] : totals) launch(id, total);
  calls_.clear();
  std::vector<v1::Offer> offers = {makeOffer("o1", "a1", 3, 3000, {31000, 31001}, 40),
                                   makeOffer("o2", "a2", 2.5, 8192, {31000, 31009}, 1000),
                                   makeOffer("o3", "a3", 1, 512, {31000, 31000})};
  offer(offers);

  std::map<std::string, const v1::Offer*> byId;
  for (const auto& o : offers) byId[o.id().value()] = &o;
  std::set<std::string> launched;
  std::set<std::string> answered;
  for (const auto& accept : callsOf(SchedulerCall::ACCEPT)) {
    ASSERT_EQ(accept.accept().offer_ids_size(), 1);
    std::string offerId = accept.accept().offer_ids(0).value();
    EXPECT_TRUE(answered.insert(offerId).second) << offerId << " used twice";
    const v1::Offer& o = *byId.at(offerId);
    double cpus = 0, mem = 0, disk = 0;
    std::set<std::uint64_t> ports;
    for (const auto& task : tasksOf(accept)) {
      EXPECT_TRUE(launched.insert(task.task_id().value()).second);
      EXPECT_EQ(task.agent_id().value(), o.agent_id().value());
      const Resources& total = totals.at(task.task_id().value());
      EXPECT_EQ(scalarOf(task.resources(), "cpus"), total.cpus());
      EXPECT_EQ(scalarOf(task.resources(), "mem"), static_cast<double>(total.memMib));
      cpus += scalarOf(task.resources(), "cpus") + scalarOf(task.executor().resources(), "cpus");
      mem += scalarOf(task.resources(), "mem") + scalarOf(task.executor().resources(), "mem");
      disk += scalarOf(task.resources(), "disk") + scalarOf(task.executor().resources(), "disk");
      std::uint64_t port = portOf(task);
      EXPECT_TRUE(ports.insert(port).second) << "port " << port << " given twice";
      v1::Value::Range range = resourceNamed(o.resources(), "ports").ranges().range(0);
      EXPECT_GE(port, range.begin());
      EXPECT_LE(port, range.end());
    }
    EXPECT_LE(cpus, scalarOf(o.resources(), "cpus") + 1e-9) << offerId;
    EXPECT_LE(mem, scalarOf(o.resources(), "mem")) << offerId;
    EXPECT_LE(disk, scalarOf(o.resources(), "disk")) << offerId;
  }
  for (const auto& decline : callsOf(SchedulerCall::DECLINE)) {
    for (const auto& id : decline.decline().offer_ids()) {
      EXPECT_TRUE(answered.insert(id.value()).second) << id.value() << " answered twice";
    }
  }
  // Every offer answered exactly once, and something was placed.
  EXPECT_EQ(answered, (std::set<std::string>{"o1", "o2", "o3"}));
  EXPECT_GE(launched.size(), 3u);
}

TEST_F(MesosDriverTest, ALaunchedTaskManagerIsNotLaunchedAgain) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  offer({makeOffer("o2", "a2", 8, 8192)});
  EXPECT_TRUE(callsOf(SchedulerCall::ACCEPT).empty());
  auto declines = callsOf(SchedulerCall::DECLINE);
  ASSERT_EQ(declines.size(), 1u);
  EXPECT_THAT(offerIdsOf(declines[0].decline().offer_ids()), ElementsAre("o2"));
}

// ---------------------------------------------------------------------------
// SUPPRESS and REVIVE

TEST_F(MesosDriverTest, SuppressesOnSubscribeWhenNothingIsPending) {
  create();
  start();
  subscribe("fw-1", true);
  auto suppresses = callsOf(SchedulerCall::SUPPRESS);
  ASSERT_EQ(suppresses.size(), 1u);
  EXPECT_THAT(suppresses[0].suppress().roles(), ElementsAre(kRole));
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::SUPPRESS});
}

TEST_F(MesosDriverTest, RevivesOnceWhenDemandReturns) {
  startSubscribed();  // suppressed: nothing pending
  launch("tm-1", res(1, 1024));
  launch("tm-2", res(1, 1024));
  auto revives = callsOf(SchedulerCall::REVIVE);
  ASSERT_EQ(revives.size(), 1u);
  EXPECT_THAT(revives[0].revive().roles(), ElementsAre(kRole));
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::REVIVE});
}

TEST_F(MesosDriverTest, SuppressesOnceWhenEverythingIsPlaced) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  calls_.clear();
  offer({makeOffer("o1", "a1", 2, 2048)});
  EXPECT_EQ(callTypes(),
            (std::vector<SchedulerCall::Type>{SchedulerCall::ACCEPT, SchedulerCall::SUPPRESS}));
  calls_.clear();
  // A late offer (sent before the master saw the SUPPRESS): declined, no second SUPPRESS.
  offer({makeOffer("o2", "a2", 2, 2048)});
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::DECLINE});
}

TEST_F(MesosDriverTest, NoSuppressWhileSomethingIsPending) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  launch("tm-2", res(100, 1024));  // fits no offer
  calls_.clear();
  offer({makeOffer("o1", "a1", 2, 2048)});
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::ACCEPT});
}

TEST_F(MesosDriverTest, TheLargestAgentOfferedBoundsTheLargestTaskManager) {
  startSubscribed();
  EXPECT_EQ(driver_->maxTaskManager(), testConfig().maxTaskManager);
  Mock::VerifyAndClearExpectations(&listener_);
  EXPECT_CALL(listener_, onCapacityChanged());
  offer({makeOffer("o1", "a1", 1, 2048), makeOffer("o2", "a2", 0.5, 8192)});
  loop_.runPending();
  // a1 is the larger (by CPUs); the executor's own share is kept out.
  EXPECT_EQ(driver_->maxTaskManager(), res(1, 2048) - testConfig().executorOverhead);
  EXPECT_THAT(driver_->describeOffers(), HasSubstr("2 agents offered at most: agent a1"));
}

TEST_F(MesosDriverTest, ClosestFitNamesTheOfferThatComesClosestAndWhatItLacks) {
  startSubscribed();
  EXPECT_FALSE(driver_->closestFit(res(2, 4096))) << "no offer yet: nothing known";
  EXPECT_CALL(listener_, onCapacityChanged()).Times(::testing::AnyNumber());
  offer({makeOffer("o1", "a1", 4, 1024), makeOffer("o2", "a2", 1, 4096)});
  loop_.runPending();
  // 2 cpus and 4096 MiB with the executor's 0.1 cpus and 64 MiB: a2 lacks
  // 1.1 of 2.1 cpus, a1 3136 of 4160 MiB: a2 comes closer.
  auto fit = driver_->closestFit(res(2, 4096));
  ASSERT_TRUE(fit);
  EXPECT_EQ(fit->shortage.resource, "cpus");
  EXPECT_NEAR(fit->shortage.amount, 1.1, 1e-9);
  EXPECT_THAT(fit->where, HasSubstr("the best offer (agent a2"));
  EXPECT_THAT(fit->where, HasSubstr("cpus 1, mem 4096 MiB)"));
  EXPECT_FALSE(driver_->closestFit(res(0.5, 512))) << "an offer holds it";
  // Larger than --taskmanager-max-size: named as such.
  fit = driver_->closestFit(res(32, 1024));
  ASSERT_TRUE(fit);
  EXPECT_EQ(fit->shortage.resource, "cpus");
  EXPECT_DOUBLE_EQ(fit->shortage.amount, 16);
  EXPECT_THAT(fit->where, HasSubstr("--taskmanager-max-size"));
}

TEST_F(MesosDriverTest, PlacementIsBlockedOnlyOnceOffersLeftARequestUnplaced) {
  startSubscribed();
  launch("tm-1", res(4, 1024));
  EXPECT_FALSE(driver_->placementBlocked()) << "no offer yet: slow, not blocked";
  offer({makeOffer("o1", "a1", 1, 2048)});
  EXPECT_TRUE(driver_->placementBlocked());
  offer({makeOffer("o2", "a2", 8, 8192)});
  EXPECT_FALSE(driver_->placementBlocked()) << "placed";
}

TEST_F(MesosDriverTest, ReleasingTheLastPendingTaskManagerSuppresses) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  calls_.clear();
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", _));
  driver_->releaseTaskManager("tm-1");
  loop_.runPending();
  auto suppresses = callsOf(SchedulerCall::SUPPRESS);
  ASSERT_EQ(suppresses.size(), 1u);
  EXPECT_THAT(suppresses[0].suppress().roles(), ElementsAre(kRole));
}

TEST_F(MesosDriverTest, NoSuppressOrReviveBeforeSubscribed) {
  create();
  start();
  launch("tm-1", res(1, 1024));
  EXPECT_TRUE(calls_.empty());
  EXPECT_TRUE(dropped_.empty());
  // Subscribed with demand: offers flow by themselves.
  subscribe("fw-1", true);
  EXPECT_TRUE(callsOf(SchedulerCall::SUPPRESS).empty());
  calls_.clear();
  offer({makeOffer("o1", "a1", 2, 2048)});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_THAT(taskIdsOf(accepts[0]), ElementsAre("tm-1"));
}

TEST_F(MesosDriverTest, SuppressesAgainAfterResubscribing) {
  // Suppression lives in the master only and a SUBSCRIBE resets it (ref. 5.1).
  startSubscribed();
  subscribed_ = false;
  driver_->onDisconnected("stream closed");
  subscribe("fw-1", false);
  auto suppresses = callsOf(SchedulerCall::SUPPRESS);
  ASSERT_EQ(suppresses.size(), 1u);
  EXPECT_THAT(suppresses[0].suppress().roles(), ElementsAre(kRole));
}

// ---------------------------------------------------------------------------
// Status updates

TEST_F(MesosDriverTest, AcknowledgesAnUpdateWithItsUuid) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(0);  // reported at ACCEPT
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, kUuid));
  auto acks = callsOf(SchedulerCall::ACKNOWLEDGE);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].acknowledge().agent_id().value(), "a1");
  EXPECT_EQ(acks[0].acknowledge().task_id().value(), "tm-1");
  EXPECT_EQ(acks[0].acknowledge().uuid(), kUuid);
  EXPECT_EQ(acks[0].acknowledge().uuid().size(), 16u);
}

TEST_F(MesosDriverTest, DoesNotAcknowledgeAnUpdateWithoutUuid) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(0);  // reported at ACCEPT
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_RUNNING));
  EXPECT_TRUE(callsOf(SchedulerCall::ACKNOWLEDGE).empty());
  EXPECT_TRUE(calls_.empty());
}

TEST_F(MesosDriverTest, AcknowledgesTerminalUpdatesOfUnknownTasksWithoutKilling) {
  startSubscribed();
  event(updateEvent("stray", "a9", v1::TASK_FAILED, kUuid));
  ASSERT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::ACKNOWLEDGE});
  EXPECT_EQ(calls_[0].acknowledge().task_id().value(), "stray");
  EXPECT_EQ(calls_[0].acknowledge().agent_id().value(), "a9");
  EXPECT_EQ(calls_[0].acknowledge().uuid(), kUuid);
}

TEST_F(MesosDriverTest, StartedIsReportedOnceAtAccept) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(1);
  offer({makeOffer("o1", "a1", 2, 2048)});
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(0);
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, kUuid));
}

TEST_F(MesosDriverTest, StartedIsReportedOnce) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(0);  // reported at ACCEPT
  event(updateEvent("tm-1", "a1", v1::TASK_STARTING, kUuid));
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, kUuid));
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_RUNNING));
  EXPECT_EQ(callsOf(SchedulerCall::ACKNOWLEDGE).size(), 2u);
  EXPECT_TRUE(callsOf(SchedulerCall::KILL).empty());
}

TEST_F(MesosDriverTest, RunningWithoutStartingIsReportedAsStarted) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(0);  // reported at ACCEPT
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, kUuid));
}

TEST_F(MesosDriverTest, StagingOrKillingIsNeitherStartedNorTerminated) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  // StrictMock listener: any call fails.
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_STAGING));
  event(updateEvent("tm-1", "a1", v1::TASK_KILLING, kUuid));
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::ACKNOWLEDGE});
}

class MesosDriverTerminalStateTest : public MesosDriverTest,
                                     public ::testing::WithParamInterface<v1::TaskState> {};

TEST_P(MesosDriverTerminalStateTest, TerminatesTheTaskManagerNamingTheState) {
  v1::TaskState state = GetParam();
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  launchOn("tm-2", res(1, 1024), makeOffer("o2", "a2", 2, 2048));
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", HasSubstr(v1::TaskState_Name(state))));
  event(updateEvent("tm-1", "a1", state, kUuid));
  // A failed one is told once its executor's exit status came, or at the deadline.
  if (state == v1::TASK_FAILED) loop_.advance(testConfig().failureDetailsTimeout);
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::ACKNOWLEDGE});

  // Forgotten: a repeated terminal update (at-least-once) is only acked,
  // a release is a no-op, and a reconcile no longer lists it.
  calls_.clear();
  event(updateEvent("tm-1", "a1", state, kUuid));
  driver_->releaseTaskManager("tm-1");
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::ACKNOWLEDGE});
  calls_.clear();
  subscribe("fw-1", false);
  auto reconciles = callsOf(SchedulerCall::RECONCILE);
  ASSERT_EQ(reconciles.size(), 1u);
  EXPECT_THAT(reconciledOf(reconciles[0]),
              ElementsAre(std::pair<std::string, std::string>{"tm-2", "a2"}));
}

INSTANTIATE_TEST_SUITE_P(MesosDriver, MesosDriverTerminalStateTest,
                         ::testing::Values(v1::TASK_FAILED, v1::TASK_LOST, v1::TASK_KILLED,
                                           v1::TASK_DROPPED, v1::TASK_GONE, v1::TASK_ERROR, v1::TASK_FINISHED,
                                           v1::TASK_GONE_BY_OPERATOR),
                         [](const ::testing::TestParamInfo<v1::TaskState>& info) {
                           return v1::TaskState_Name(info.param);
                         });

TEST_F(MesosDriverTest, TerminationReasonCarriesTheReasonAndMessage) {
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(listener_,
              onTaskManagerTerminated(
                  "tm-1", AllOf(HasSubstr("TASK_FAILED"), HasSubstr("REASON_EXECUTOR_TERMINATED"),
                                HasSubstr("Executor exited with status 3"))));
  event(updateEvent("tm-1", "a1", v1::TASK_FAILED, kUuid,
                    v1::TaskStatus::REASON_EXECUTOR_TERMINATED, "Executor exited with status 3",
                    v1::TaskStatus::SOURCE_AGENT));
  loop_.advance(testConfig().failureDetailsTimeout);
}

TEST_F(MesosDriverTest, LaunchErrorBeforeStartTerminates) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", AllOf(HasSubstr("TASK_ERROR"),
                                                               HasSubstr("REASON_TASK_INVALID"),
                                                               HasSubstr("bad resources"))));
  event(updateEvent("tm-1", "a1", v1::TASK_ERROR, std::nullopt, v1::TaskStatus::REASON_TASK_INVALID,
                    "bad resources", v1::TaskStatus::SOURCE_MASTER));
  // A master-generated update: never acknowledged.
  EXPECT_TRUE(callsOf(SchedulerCall::ACKNOWLEDGE).empty());
}

TEST_F(MesosDriverTest, KillsUnknownNonTerminalTasks) {
  startSubscribed();
  event(updateEvent("stray", "a9", v1::TASK_RUNNING, kUuid));
  auto kills = callsOf(SchedulerCall::KILL);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].kill().task_id().value(), "stray");
  EXPECT_EQ(kills[0].kill().agent_id().value(), "a9");
  ASSERT_EQ(callsOf(SchedulerCall::ACKNOWLEDGE).size(), 1u);

  calls_.clear();
  event(reconciliationAnswer("other", "a8", v1::TASK_STAGING));
  kills = callsOf(SchedulerCall::KILL);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].kill().task_id().value(), "other");
  EXPECT_EQ(kills[0].kill().agent_id().value(), "a8");
  EXPECT_TRUE(callsOf(SchedulerCall::ACKNOWLEDGE).empty());
}

// ---------------------------------------------------------------------------
// Releasing

TEST_F(MesosDriverTest, ReleasingALaunchedTaskManagerKillsItsTask) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  driver_->releaseTaskManager("tm-1");
  ASSERT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::KILL});
  EXPECT_EQ(calls_[0].kill().task_id().value(), "tm-1");
  EXPECT_EQ(calls_[0].kill().agent_id().value(), "a1");
  // Terminated only once Mesos says so.
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", HasSubstr("TASK_KILLED")));
  event(updateEvent("tm-1", "a1", v1::TASK_KILLED, kUuid));
}

TEST_F(MesosDriverTest, ReleasingARunningTaskManagerKillsItOnce) {
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  driver_->releaseTaskManager("tm-1");
  driver_->releaseTaskManager("tm-1");
  auto kills = callsOf(SchedulerCall::KILL);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].kill().task_id().value(), "tm-1");
  EXPECT_EQ(kills[0].kill().agent_id().value(), "a1");
}

TEST_F(MesosDriverTest, ReleasingAPendingTaskManagerEndsItWithoutKill) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  calls_.clear();
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", HasSubstr("never started")));
  driver_->releaseTaskManager("tm-1");
  loop_.runPending();  // told on a later turn, never inside the call
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  EXPECT_TRUE(callsOf(SchedulerCall::KILL).empty());
  // It is no longer placed.
  calls_.clear();
  offer({makeOffer("o1", "a1", 8, 8192)});
  EXPECT_TRUE(callsOf(SchedulerCall::ACCEPT).empty());
  EXPECT_EQ(callsOf(SchedulerCall::DECLINE).size(), 1u);
}

TEST_F(MesosDriverTest, ReleasingAnUnknownTaskManagerDoesNothing) {
  startSubscribed();
  driver_->releaseTaskManager("nobody");
  EXPECT_TRUE(calls_.empty());
}

// A KILL is not reliable: one made while disconnected is dropped by the
// connection. The task keeps running; the driver must kill it again once the
// reconciliation after re-subscribing shows it still running.
TEST_F(MesosDriverTest, KillLostWhileDisconnectedIsSentAgainAfterResubscribing) {
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  subscribed_ = false;
  driver_->onDisconnected("stream closed");
  driver_->releaseTaskManager("tm-1");  // dropped by the connection
  EXPECT_TRUE(calls_.empty());
  subscribe("fw-1", false);
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_RUNNING));
  auto kills = callsOf(SchedulerCall::KILL);
  ASSERT_GE(kills.size(), 1u) << "the TaskManager is released but its task is never killed";
  EXPECT_EQ(kills[0].kill().task_id().value(), "tm-1");
  EXPECT_EQ(kills[0].kill().agent_id().value(), "a1");
}

// ---------------------------------------------------------------------------
// Subscription and reconciliation

TEST_F(MesosDriverTest, ResubscribingReconcilesLaunchedTaskManagers) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  launchRunning("tm-2", res(1, 1024), makeOffer("o2", "a2", 2, 2048));
  launchRunning("tm-3", res(1, 1024), makeOffer("o3", "a3", 2, 2048));
  driver_->releaseTaskManager("tm-3");  // being killed: still reconciled
  launch("tm-4", res(100, 1024));       // pending: nothing to reconcile
  calls_.clear();
  subscribed_ = false;
  driver_->onDisconnected("missed heartbeats");
  subscribe("fw-1", false);  // StrictMock listener: nobody is terminated
  auto reconciles = callsOf(SchedulerCall::RECONCILE);
  ASSERT_EQ(reconciles.size(), 1u);
  using Task = std::pair<std::string, std::string>;
  EXPECT_THAT(reconciledOf(reconciles[0]),
              UnorderedElementsAre(Task{"tm-1", "a1"}, Task{"tm-2", "a2"}, Task{"tm-3", "a3"}));
  // tm-4 is pending: no SUPPRESS either.
  EXPECT_TRUE(callsOf(SchedulerCall::SUPPRESS).empty());
}

TEST_F(MesosDriverTest, ReconciliationAnswerLostTerminatesWithoutAck) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  subscribe("fw-1", false);
  calls_.clear();
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", HasSubstr("TASK_LOST")));
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_LOST));
  EXPECT_TRUE(callsOf(SchedulerCall::ACKNOWLEDGE).empty());
}

TEST_F(MesosDriverTest, ANewFrameworkEndsTheLaunchedTaskManagers) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  launchRunning("tm-2", res(1, 1024), makeOffer("o2", "a2", 2, 2048));
  launch("tm-3", res(1, 1024));  // pending: survives
  calls_.clear();
  subscribed_ = false;
  driver_->onDisconnected("Framework has been removed");
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", Not(IsEmpty())));
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-2", Not(IsEmpty())));
  subscribe("fw-2", true);
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  for (const auto& reconcile : callsOf(SchedulerCall::RECONCILE)) {
    EXPECT_EQ(reconcile.reconcile().tasks_size(), 0) << reconcile.DebugString();
  }
  // The pending one is still launched on the next offer.
  calls_.clear();
  offer({makeOffer("o3", "a3", 2, 2048)});
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_THAT(taskIdsOf(accepts[0]), ElementsAre("tm-3"));
  // Updates of the old framework's tasks no longer end anything.
  event(updateEvent("tm-1", "a1", v1::TASK_KILLED, kUuid));
}

// ---------------------------------------------------------------------------
// Partition awareness: TASK_UNREACHABLE and TASK_UNKNOWN do not end a TaskManager

class MesosDriverUnreachableTest : public MesosDriverTest,
                                   public ::testing::WithParamInterface<v1::TaskState> {};

TEST_P(MesosDriverUnreachableTest, IsReportedUnreachableOnceThenReachableWhenRunningAgain) {
  v1::TaskState state = GetParam();
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  // StrictMock listener: not terminated.
  EXPECT_CALL(listener_, onTaskManagerUnreachable(
                             "tm-1", AllOf(HasSubstr(v1::TaskState_Name(state)),
                                           HasSubstr("REASON_RECONCILIATION"),
                                           HasSubstr("Reconciliation: Task is unknown"))));
  event(updateEvent("tm-1", "a1", state, std::nullopt, v1::TaskStatus::REASON_RECONCILIATION,
                    "Reconciliation: Task is unknown", v1::TaskStatus::SOURCE_MASTER));
  event(reconciliationAnswer("tm-1", "a1", state));  // said again: told once
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  EXPECT_TRUE(callsOf(SchedulerCall::KILL).empty());

  // The agent registered again: the master says the task runs.
  EXPECT_CALL(listener_, onTaskManagerReachable("tm-1"));
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, std::nullopt,
                    v1::TaskStatus::REASON_AGENT_REREGISTERED, "Unknown agent reregistered",
                    v1::TaskStatus::SOURCE_MASTER));
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, kUuid));  // nothing more to tell
  EXPECT_TRUE(callsOf(SchedulerCall::KILL).empty());
}

INSTANTIATE_TEST_SUITE_P(MesosDriver, MesosDriverUnreachableTest,
                         ::testing::Values(v1::TASK_UNREACHABLE, v1::TASK_UNKNOWN),
                         [](const ::testing::TestParamInfo<v1::TaskState>& info) {
                           return v1::TaskState_Name(info.param);
                         });

TEST_F(MesosDriverTest, UnreachableTaskManagersAreReconciledUntilMesosKnowsThemAgain) {
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  launchRunning("tm-2", res(1, 1024), makeOffer("o2", "a2", 2, 2048));
  subscribed_ = false;
  driver_->onDisconnected("master failed over");
  subscribe("fw-1", false);
  calls_.clear();
  loop_.advance(Duration(1));  // the answers come after the question
  EXPECT_CALL(listener_, onTaskManagerUnreachable("tm-1", HasSubstr("TASK_UNKNOWN")));
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_UNKNOWN));
  event(reconciliationAnswer("tm-2", "a2", v1::TASK_RUNNING));
  loop_.advance(std::chrono::seconds(30));
  auto reconciles = callsOf(SchedulerCall::RECONCILE);
  ASSERT_EQ(reconciles.size(), 1u);
  using Task = std::pair<std::string, std::string>;
  EXPECT_THAT(reconciledOf(reconciles[0]), ElementsAre(Task{"tm-1", "a1"}));

  // Known again: no more reconciliation.
  EXPECT_CALL(listener_, onTaskManagerReachable("tm-1"));
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_RUNNING));
  calls_.clear();
  loop_.advance(std::chrono::minutes(20));
  EXPECT_TRUE(callsOf(SchedulerCall::RECONCILE).empty());
}

TEST_F(MesosDriverTest, ReleasedWhileUnreachableEndsAtOnceAndIsKilledWhenSeenAgain) {
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  EXPECT_CALL(listener_, onTaskManagerUnreachable("tm-1", _));
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_UNREACHABLE));
  calls_.clear();
  driver_->releaseTaskManager("tm-1");
  // Mesos may never say it ended: the listener hears it now (on a later turn).
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", HasSubstr("could not reach")));
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&listener_);
  allowStarted();
  ASSERT_EQ(callsOf(SchedulerCall::KILL).size(), 1u);

  // Still unreachable: no KILL for every answer; seen running: killed.
  calls_.clear();
  event(reconciliationAnswer("tm-1", "a1", v1::TASK_UNREACHABLE));
  EXPECT_TRUE(callsOf(SchedulerCall::KILL).empty());
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, std::nullopt,
                    v1::TaskStatus::REASON_AGENT_REREGISTERED, "Unreachable agent re-reregistered",
                    v1::TaskStatus::SOURCE_MASTER));
  auto kills = callsOf(SchedulerCall::KILL);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].kill().task_id().value(), "tm-1");
  EXPECT_EQ(kills[0].kill().agent_id().value(), "a1");
  // Its end is not told twice (StrictMock listener).
  event(updateEvent("tm-1", "a1", v1::TASK_KILLED, kUuid));
}

TEST_F(MesosDriverTest, UnknownTaskManagerThatRunsIsKilled) {
  startSubscribed();
  // After a failover an agent brings back a task this framework gave up.
  event(updateEvent("tm-9", "a1", v1::TASK_RUNNING, std::nullopt,
                    v1::TaskStatus::REASON_AGENT_REREGISTERED, "Unknown agent reregistered",
                    v1::TaskStatus::SOURCE_MASTER));
  auto kills = callsOf(SchedulerCall::KILL);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].kill().task_id().value(), "tm-9");
}

// Reconciliation must be retried until answered (reference 5.6): a master
// that is still recovering agents after a failover does not answer at all.
TEST_F(MesosDriverTest, UnansweredReconciliationIsRetried) {
  startSubscribed();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  subscribe("fw-1", false);
  ASSERT_EQ(callsOf(SchedulerCall::RECONCILE).size(), 1u);
  calls_.clear();
  loop_.advance(std::chrono::minutes(16));  // no answer comes
  auto reconciles = callsOf(SchedulerCall::RECONCILE);
  ASSERT_GE(reconciles.size(), 1u) << "a task with no answer stays launched forever";
  using Task = std::pair<std::string, std::string>;
  EXPECT_THAT(reconciledOf(reconciles[0]), ElementsAre(Task{"tm-1", "a1"}));
}

// ---------------------------------------------------------------------------
// Shutdown, rescind, other events

TEST_F(MesosDriverTest, ShutdownTearsDownOnce) {
  startSubscribed();
  EXPECT_FALSE(driver_->tornDown());
  driver_->shutdown();
  driver_->shutdown();
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::TEARDOWN});
  EXPECT_TRUE(driver_->tornDown());
}

TEST_F(MesosDriverTest, RescindBreaksNothing) {
  startSubscribed();
  launch("tm-1", res(1, 1024));
  calls_.clear();
  event(rescindEvent("o-never-seen"));
  EXPECT_TRUE(calls_.empty());
  offer({makeOffer("o1", "a1", 2, 2048)});
  event(rescindEvent("o1"));  // already answered
  auto accepts = callsOf(SchedulerCall::ACCEPT);
  ASSERT_EQ(accepts.size(), 1u);
  EXPECT_THAT(taskIdsOf(accepts[0]), ElementsAre("tm-1"));
  EXPECT_EQ(callTypes(),
            (std::vector<SchedulerCall::Type>{SchedulerCall::ACCEPT, SchedulerCall::SUPPRESS}));
  // And the TM proceeds normally.
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(0);  // reported at ACCEPT
  event(updateEvent("tm-1", "a1", v1::TASK_RUNNING, kUuid));
}

TEST_F(MesosDriverTest, FailureIsKeptForTheUpdateAndUnknownEventsAreIgnored) {
  startSubscribed();
  launchRunning("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));
  SchedulerEvent failure;
  failure.set_type(SchedulerEvent::FAILURE);
  failure.mutable_failure()->mutable_agent_id()->set_value("a1");
  failure.mutable_failure()->mutable_executor_id()->set_value("tm-1");
  failure.mutable_failure()->set_status(256);
  event(failure);
  SchedulerEvent unknown;
  unknown.set_type(SchedulerEvent::UNKNOWN);
  event(unknown);
  SchedulerEvent heartbeat;
  heartbeat.set_type(SchedulerEvent::HEARTBEAT);
  event(heartbeat);
  EXPECT_TRUE(calls_.empty());
  // The terminal update that follows the FAILURE ends the TM at once (no
  // stderr to read without an AgentFiles), with the exit status.
  EXPECT_CALL(listener_, onTaskManagerTerminated(
                             "tm-1", AllOf(HasSubstr("TASK_FAILED"), HasSubstr("exit code 1"))));
  event(updateEvent("tm-1", "a1", v1::TASK_FAILED, kUuid));
}

// ---------------------------------------------------------------------------
// A failed TaskManager: its executor's exit status and stderr in the reason

// The agents' files as the driver reads them: each read is kept, and answered
// when the test calls its `done` (a later turn of the loop, as the real one).
class FakeAgentFiles : public tailor::mesos::AgentFiles {
 public:
  struct Read {
    std::string agentUrl;
    std::string path;
    std::int64_t maxBytes = 0;
    Duration timeout{0};
    std::function<void(Result<tailor::mesos::FileTail>)> done;
  };

  void readTail(const std::string& agentUrl, const std::string& path, std::int64_t maxBytes,
                Duration timeout,
                std::function<void(Result<tailor::mesos::FileTail>)> done) override {
    reads.push_back(Read{agentUrl, path, maxBytes, timeout, std::move(done)});
  }

  std::vector<Read> reads;
};

// An offer of agent `agent` whose url is http://10.0.0.<n>:5051.
v1::Offer offerWithUrl(const std::string& id, const std::string& agent, int n) {
  v1::Offer offer = makeOffer(id, agent, 2, 2048);
  offer.mutable_url()->set_scheme("http");
  offer.mutable_url()->mutable_address()->set_hostname("host-" + agent);
  offer.mutable_url()->mutable_address()->set_ip("10.0.0." + std::to_string(n));
  offer.mutable_url()->mutable_address()->set_port(5051);
  offer.mutable_url()->set_path("/slave(1)");
  return offer;
}

SchedulerEvent failureEvent(const std::string& agentId, const std::string& executorId, int status) {
  SchedulerEvent failure;
  failure.set_type(SchedulerEvent::FAILURE);
  failure.mutable_failure()->mutable_agent_id()->set_value(agentId);
  failure.mutable_failure()->mutable_executor_id()->set_value(executorId);
  failure.mutable_failure()->set_status(status);
  return failure;
}

// What the agent sends when a custom executor exits (Slave::executorTerminated).
SchedulerEvent executorTerminated(const std::string& taskId, const std::string& agentId) {
  return updateEvent(taskId, agentId, v1::TASK_FAILED, kUuid,
                     v1::TaskStatus::REASON_EXECUTOR_TERMINATED, "Executor terminated",
                     v1::TaskStatus::SOURCE_AGENT);
}

tailor::mesos::FileTail stderrOf(const std::string& data, bool truncated = false) {
  return tailor::mesos::FileTail{data, truncated};
}

const std::string kStderrPath = "/frameworks/fw-1/executors/tm-1/runs/latest/stderr";
constexpr int kNotFound = 127 << 8;  // the wait status of `sh` exiting 127

class MesosDriverFailureTest : public MesosDriverTest {
 protected:
  void startWithFiles(MesosDriverConfig config = testConfig()) {
    startSubscribed(std::move(config), &files_);
  }

  FakeAgentFiles files_;
};

TEST_F(MesosDriverFailureTest, ReportsTheAgentExitStatusHintAndStderrOnceAllIsKnown) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  // StrictMock listener: nothing is told before the details are in.
  event(executorTerminated("tm-1", "a1"));
  ASSERT_EQ(files_.reads.size(), 1u);
  EXPECT_EQ(files_.reads[0].agentUrl, "http://10.0.0.7:5051");
  EXPECT_EQ(files_.reads[0].path, kStderrPath);
  EXPECT_EQ(files_.reads[0].timeout, testConfig().failureDetailsTimeout);
  EXPECT_EQ(callTypes(), std::vector<SchedulerCall::Type>{SchedulerCall::ACKNOWLEDGE});
  event(failureEvent("a1", "tm-1", kNotFound));
  EXPECT_CALL(listener_,
              onTaskManagerTerminated(
                  "tm-1", AllOf(HasSubstr("TASK_FAILED (REASON_EXECUTOR_TERMINATED): Executor "
                                          "terminated; on agent a1 (host-a1)"),
                                HasSubstr("the executor ended with exit code 127"),
                                HasSubstr("no file '" + kExecutorCommand + "' on the agent"),
                                HasSubstr("the last line of its stderr (" + kStderrPath +
                                          " on the agent):\n    sh: 1: exec: " + kExecutorCommand +
                                          ": not found"))));
  files_.reads[0].done(stderrOf("sh: 1: exec: " + kExecutorCommand + ": not found\n"));
  // Told once: the deadline passes quietly.
  loop_.advance(Duration(10000));
}

TEST_F(MesosDriverFailureTest, AFailureBeforeTheUpdateIsKeptForIt) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  event(failureEvent("a1", "tm-1", 3 << 8));
  event(executorTerminated("tm-1", "a1"));
  ASSERT_EQ(files_.reads.size(), 1u);
  EXPECT_CALL(listener_, onTaskManagerTerminated(
                             "tm-1", AllOf(HasSubstr("exit code 3"), HasSubstr("taskmanager.log"),
                                           HasSubstr("the last 2 lines of its stderr"),
                                           HasSubstr("\n    second\n    third"))));
  files_.reads[0].done(stderrOf("ial first\nsecond\nthird\n", true));
}

TEST_F(MesosDriverFailureTest, WithoutAFailureEventItIsToldAtTheDeadline) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  event(executorTerminated("tm-1", "a1"));
  files_.reads[0].done(stderrOf("boom\n"));
  loop_.advance(testConfig().failureDetailsTimeout - Duration(1));
  Mock::VerifyAndClearExpectations(&listener_);
  EXPECT_CALL(listener_,
              onTaskManagerTerminated(
                  "tm-1", AllOf(HasSubstr("the master sent no exit status of the executor within "
                                          "3000 ms"),
                                HasSubstr("\n    boom"))));
  loop_.advance(Duration(1));
  // A FAILURE after the report changes nothing.
  event(failureEvent("a1", "tm-1", kNotFound));
}

TEST_F(MesosDriverFailureTest, AnAgentThatDoesNotAnswerIsNamedAtTheDeadline) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  event(executorTerminated("tm-1", "a1"));
  event(failureEvent("a1", "tm-1", kNotFound));
  EXPECT_CALL(listener_, onTaskManagerTerminated(
                             "tm-1", AllOf(HasSubstr("exit code 127"),
                                           HasSubstr("its stderr was not read: the agent did not "
                                                     "answer within 3000 ms"))));
  loop_.advance(testConfig().failureDetailsTimeout);
  Mock::VerifyAndClearExpectations(&listener_);
  // The late answer is dropped.
  files_.reads[0].done(stderrOf("late\n"));
}

TEST_F(MesosDriverFailureTest, AReadErrorIsQuoted) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  event(executorTerminated("tm-1", "a1"));
  event(failureEvent("a1", "tm-1", kNotFound));
  EXPECT_CALL(listener_, onTaskManagerTerminated(
                             "tm-1", HasSubstr("its stderr was not read: reading " + kStderrPath +
                                               " on the agent at http://10.0.0.7:5051: no such "
                                               "file (404)")));
  files_.reads[0].done(Error{
      ErrorCode::kNotFound,
      "reading " + kStderrPath + " on the agent at http://10.0.0.7:5051: no such file (404)"});
}

TEST_F(MesosDriverFailureTest, AnAgentWithoutAddressIsNotAsked) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), makeOffer("o1", "a1", 2, 2048));  // no url
  event(executorTerminated("tm-1", "a1"));
  EXPECT_TRUE(files_.reads.empty());
  EXPECT_CALL(listener_, onTaskManagerTerminated(
                             "tm-1", AllOf(HasSubstr("on agent a1 (host-a1)"),
                                           HasSubstr("its stderr was not read: the agent's address "
                                                     "is unknown"))));
  event(failureEvent("a1", "tm-1", kNotFound));
}

TEST_F(MesosDriverFailureTest, AFetchedExecutorGetsTheFetchHint) {
  MesosDriverConfig config = testConfig();
  config.executorCommand = "./tailor-taskmanager";
  config.executorUris = {ExecutorUri{ExecutorUri::Kind::kAsGiven, "http://d:8080/tm"}};
  startWithFiles(config);
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  event(failureEvent("a1", "tm-1", kNotFound));
  event(executorTerminated("tm-1", "a1"));
  EXPECT_CALL(listener_,
              onTaskManagerTerminated("tm-1", HasSubstr("--taskmanager-executor must name the file "
                                                        "--taskmanager-executor-uri fetches")));
  files_.reads[0].done(stderrOf(""));
}

TEST_F(MesosDriverFailureTest, OnlyFailedTasksWaitForDetails) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  launchOn("tm-2", res(1, 1024), offerWithUrl("o2", "a2", 8));
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", HasSubstr("TASK_LOST")));
  event(updateEvent("tm-1", "a1", v1::TASK_LOST, kUuid));
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-2", HasSubstr("TASK_KILLED")));
  event(updateEvent("tm-2", "a2", v1::TASK_KILLED, kUuid));
  EXPECT_TRUE(files_.reads.empty());
}

TEST_F(MesosDriverFailureTest, AZeroTimeoutTellsAtOnce) {
  MesosDriverConfig config = testConfig();
  config.failureDetailsTimeout = Duration(0);
  startWithFiles(config);
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  EXPECT_CALL(listener_,
              onTaskManagerTerminated(
                  "tm-1", "TASK_FAILED (REASON_EXECUTOR_TERMINATED): Executor terminated"));
  event(executorTerminated("tm-1", "a1"));
  EXPECT_TRUE(files_.reads.empty());
}

TEST_F(MesosDriverFailureTest, AnAnswerAfterTheDriverIsGoneIsDropped) {
  startWithFiles();
  launchOn("tm-1", res(1, 1024), offerWithUrl("o1", "a1", 7));
  event(executorTerminated("tm-1", "a1"));
  event(failureEvent("a1", "tm-1", kNotFound));
  driver_.reset();
  EXPECT_EQ(loop_.pendingTimers(), 0u);
  files_.reads[0].done(stderrOf("late\n"));  // StrictMock: no call
}

}  // namespace
}  // namespace tailor::scheduler::mesos
