#include "scheduler/resourcemanager/resource_manager.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/common/builders.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/scheduler/mocks.hpp"

namespace tailor::scheduler {
namespace {

using test::ManualEventLoop;
using test::res;
using ::testing::_;
using ::testing::AllOf;
using ::testing::AnyNumber;
using ::testing::AtMost;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::Mock;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::StrictMock;

constexpr Duration kIdleTimeout{5000};
constexpr Duration kHeartbeatInterval{1000};
constexpr Duration kHeartbeatTimeout{30000};
constexpr Duration kStartFailureBackoff{250};

MATCHER_P3(SlotIs, id, taskManagerId, profile, "") {
  return arg.id == id && arg.taskManagerId == taskManagerId && arg.profile == profile;
}

std::vector<Resources> copies(const Resources& profile, int n) {
  return std::vector<Resources>(static_cast<size_t>(n), profile);
}

ResourceManagerConfig tailoredConfig() {
  ResourceManagerConfig config;
  config.sizing.kind = SizingKind::kTailored;
  config.sizing.maxTaskManager = res(8, 16384);
  config.sizing.maxSlotsPerTaskManager = 4;
  config.idleTimeout = kIdleTimeout;
  config.heartbeatInterval = kHeartbeatInterval;
  config.heartbeatTimeout = kHeartbeatTimeout;
  config.startFailureBackoff = kStartFailureBackoff;
  return config;
}

ResourceManagerConfig fixedConfig(const Resources& slot, int slotsPerTaskManager) {
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.kind = SizingKind::kFixed;
  config.sizing.fixedSlot = slot;
  config.sizing.fixedSlotsPerTaskManager = slotsPerTaskManager;
  return config;
}

class ResourceManagerTest : public ::testing::Test {
 protected:
  void create(ResourceManagerConfig config = tailoredConfig()) {
    largest_ = config.sizing.maxTaskManager;
    rm_ = std::make_unique<ResourceManager>(loop_, driver_, std::move(config));
    job_ = &rm_->addJob("job");
    rm_->setSlotOwner("job", &owner_);
    EXPECT_CALL(driver_, start(rm_.get()));
    rm_->start();
    verifyDriver();
  }

  // Checks and clears the driver's expectations, keeping its queries
  // answered: the largest TaskManager, no known capacity (as on Mesos).
  void verifyDriver() {
    Mock::VerifyAndClearExpectations(&driver_);
    EXPECT_CALL(driver_, maxTaskManager()).Times(AnyNumber()).WillRepeatedly(Return(largest_));
    EXPECT_CALL(driver_, capacity()).Times(AnyNumber()).WillRepeatedly(Return(capacity_));
    EXPECT_CALL(driver_, placementBlocked()).Times(AnyNumber()).WillRepeatedly(Return(blocked_));
    EXPECT_CALL(driver_, describeOffers())
        .Times(AnyNumber())
        .WillRepeatedly(Return("agent a1 offered cpus=1"));
    EXPECT_CALL(driver_, closestFit(_)).Times(AnyNumber()).WillRepeatedly(Return(closest_));
    EXPECT_CALL(driver_, describe()).Times(AnyNumber()).WillRepeatedly(Return("the cluster"));
  }

  // Declares `requirements` expecting the RM to launch exactly `launches`
  // (id -> spec), in order.
  void declareExpectingLaunches(
      const std::map<Resources, int>& requirements,
      const std::vector<std::pair<std::string, TaskManagerSpec>>& launches) {
    {
      InSequence order;
      for (const auto& [id, spec] : launches) {
        EXPECT_CALL(driver_, launchTaskManager(id, TaskManagerSpecIs(spec.total, spec.slots)));
      }
    }
    job_->declareRequirements(requirements);
    loop_.runPending();
    verifyDriver();
  }

  v1::RegisterTaskManagerResponse registerTaskManager(const std::string& id) {
    v1::RegisterTaskManagerRequest request;
    request.set_taskmanager_id(id);
    request.set_address(id + ".host:9000");
    request.set_pid(4242);
    auto response = rm_->registerTaskManager(request);
    EXPECT_TRUE(response.ok());
    return response.ok() ? *response : v1::RegisterTaskManagerResponse();
  }

  // Registers `id` and runs the reconcile it posts, expecting `offers` slots
  // of `profile` offered; the owner answers `accept`.
  void registerExpectingOffers(const std::string& id, int offers, const Resources& profile,
                               bool accept = true) {
    EXPECT_CALL(owner_, offerSlot(AllOf(Field(&Slot::taskManagerId, id),
                                        Field(&Slot::address, id + ".host:9000"),
                                        Field(&Slot::profile, profile))))
        .Times(offers)
        .WillRepeatedly(Return(accept));
    auto response = registerTaskManager(id);
    EXPECT_TRUE(response.accepted()) << response.reason();
    loop_.runPending();
    Mock::VerifyAndClearExpectations(&owner_);
  }

  bool heartbeat(const std::string& id) {
    v1::HeartbeatRequest request;
    request.set_taskmanager_id(id);
    auto response = rm_->heartbeat(request);
    EXPECT_TRUE(response.ok());
    return response.ok() && response->known();
  }

  const v1::TaskManagerReport* report(const std::string& id) {
    reports_ = rm_->taskManagerReports();
    for (const auto& r : reports_) {
      if (r.id() == id) return &r;
    }
    return nullptr;
  }

  ManualEventLoop loop_;
  StrictMock<MockResourceManagerDriver> driver_;
  StrictMock<MockSlotOwner> owner_;
  std::unique_ptr<ResourceManager> rm_;
  ResourceManagerGateway* job_ = nullptr;  // the job's side of rm_
  std::vector<v1::TaskManagerReport> reports_;
  Resources largest_;
  std::optional<Resources> capacity_;
  bool blocked_ = false;
  std::optional<ClosestFit> closest_;  // what the driver says comes closest
};

const Resources kTask = res(1, 1024);

// --- launching TaskManagers ---

TEST_F(ResourceManagerTest, StartStartsTheDriver) {
  create();
  EXPECT_TRUE(rm_->allReleased());
}

TEST_F(ResourceManagerTest, TailoredLaunchesSeveralSlotsPerTaskManager) {
  create();
  declareExpectingLaunches({{kTask, 6}}, {{"tm-1", {res(4, 4096), copies(kTask, 4)}},
                                          {"tm-2", {res(2, 2048), copies(kTask, 2)}}});
  EXPECT_FALSE(rm_->allReleased());
}

TEST_F(ResourceManagerTest, TailoredStaysWithinTheLargestTaskManager) {
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxTaskManager = res(2, 16384);
  create(config);
  declareExpectingLaunches({{kTask, 3}}, {{"tm-1", {res(2, 2048), copies(kTask, 2)}},
                                          {"tm-2", {res(1, 1024), copies(kTask, 1)}}});
}

TEST_F(ResourceManagerTest, TailoredSizesEachProfileLargestFirst) {
  create();
  declareExpectingLaunches(
      {{kTask, 1}, {res(4, 8192), 2}},
      {{"tm-1", {res(8, 16384), copies(res(4, 8192), 2)}}, {"tm-2", {kTask, copies(kTask, 1)}}});
}

TEST_F(ResourceManagerTest, FixedLaunchesTaskManagersOfTheConfiguredSize) {
  create(fixedConfig(res(2, 2048), 2));
  declareExpectingLaunches({{kTask, 3}}, {{"tm-1", {res(4, 4096), copies(res(2, 2048), 2)}},
                                          {"tm-2", {res(4, 4096), copies(res(2, 2048), 2)}}});
}

TEST_F(ResourceManagerTest, FixedCutsTheConfiguredSlot) {
  create(fixedConfig(res(2, 2048), 2));
  declareExpectingLaunches({{kTask, 2}}, {{"tm-1", {res(4, 4096), copies(res(2, 2048), 2)}}});
  registerExpectingOffers("tm-1", 2, res(2, 2048));
}

TEST_F(ResourceManagerTest, PendingTaskManagersAbsorbDemand) {
  create();
  declareExpectingLaunches({{kTask, 6}}, {{"tm-1", {res(4, 4096), copies(kTask, 4)}},
                                          {"tm-2", {res(2, 2048), copies(kTask, 2)}}});
  // The same demand again: the launched TMs cover it (StrictMock: no launch).
  job_->declareRequirements({{kTask, 6}});
  job_->declareRequirements({{kTask, 5}});
  // One more slot than the pending TMs hold: one more TM of one slot.
  declareExpectingLaunches({{kTask, 7}}, {{"tm-3", {kTask, copies(kTask, 1)}}});
}

TEST_F(ResourceManagerTest, StartedButUnregisteredTaskManagersStillAbsorbDemand) {
  create();
  declareExpectingLaunches({{kTask, 2}}, {{"tm-1", {res(2, 2048), copies(kTask, 2)}}});
  rm_->onTaskManagerStarted("tm-1");
  job_->declareRequirements({{kTask, 2}});
}

TEST_F(ResourceManagerTest, ZeroCountsAreNoDemand) {
  create();
  job_->declareRequirements({{kTask, 0}});
  EXPECT_TRUE(rm_->allReleased());
}

// --- registration and slot offers ---

TEST_F(ResourceManagerTest, RegistrationAnswersWithHeartbeatSettings) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  EXPECT_CALL(owner_, offerSlot(_)).WillOnce(Return(true));
  auto response = registerTaskManager("tm-1");
  EXPECT_TRUE(response.accepted());
  EXPECT_EQ(response.heartbeat_interval_ms(), kHeartbeatInterval.count());
  EXPECT_EQ(response.heartbeat_timeout_ms(), kHeartbeatTimeout.count());
  loop_.runPending();
}

TEST_F(ResourceManagerTest, RefusesUnknownTaskManagers) {
  create();
  auto response = registerTaskManager("tm-99");
  EXPECT_FALSE(response.accepted());
  EXPECT_THAT(response.reason(), HasSubstr("tm-99"));
  EXPECT_EQ(loop_.runPending(), 0u);
}

TEST_F(ResourceManagerTest, OffersSlotsOnceTheTaskManagerRegisters) {
  create();
  declareExpectingLaunches({{kTask, 2}}, {{"tm-1", {res(2, 2048), copies(kTask, 2)}}});
  std::vector<Slot> offered;
  EXPECT_CALL(owner_, offerSlot(_)).Times(2).WillRepeatedly([&](const Slot& slot) {
    offered.push_back(slot);
    return true;
  });
  auto response = registerTaskManager("tm-1");
  ASSERT_TRUE(response.accepted());
  // The slots are cut on the loop, after the registration returned.
  EXPECT_TRUE(offered.empty());
  loop_.runPending();
  ASSERT_EQ(offered.size(), 2u);
  EXPECT_THAT(offered[0], SlotIs("slot-1", "tm-1", kTask));
  EXPECT_THAT(offered[1], SlotIs("slot-2", "tm-1", kTask));
  EXPECT_EQ(offered[0].address, "tm-1.host:9000");
  // Everything was taken: nothing more to offer or launch.
  job_->declareRequirements({});
}

TEST_F(ResourceManagerTest, OffersOnlyWhatIsStillRequired) {
  create();
  declareExpectingLaunches({{kTask, 4}}, {{"tm-1", {res(4, 4096), copies(kTask, 4)}}});
  job_->declareRequirements({{kTask, 1}});
  registerExpectingOffers("tm-1", 1, kTask);
}

TEST_F(ResourceManagerTest, FreeResourcesOfARegisteredTaskManagerServeNewDemand) {
  create();
  declareExpectingLaunches({{kTask, 4}}, {{"tm-1", {res(4, 4096), copies(kTask, 4)}}});
  job_->declareRequirements({{kTask, 1}});
  registerExpectingOffers("tm-1", 1, kTask);
  // A smaller profile is cut from tm-1's free resources right away.
  EXPECT_CALL(owner_, offerSlot(SlotIs("slot-2", "tm-1", res(0.5, 512)))).WillOnce(Return(true));
  EXPECT_CALL(owner_, offerSlot(SlotIs("slot-3", "tm-1", res(0.5, 512)))).WillOnce(Return(true));
  job_->declareRequirements({{res(0.5, 512), 2}});
  loop_.runPending();
}

TEST_F(ResourceManagerTest, RefusedOffersLeaveTheResourcesFree) {
  create();
  declareExpectingLaunches({{kTask, 2}}, {{"tm-1", {res(2, 2048), copies(kTask, 2)}}});
  // The owner takes the first slot and refuses the second: no more is
  // offered in that pass, and the refused resources stay free.
  EXPECT_CALL(owner_, offerSlot(_)).WillOnce(Return(true)).WillOnce(Return(false));
  registerTaskManager("tm-1");
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
  // Refusals launch nothing new; the same resources are offered again.
  Slot offered;
  EXPECT_CALL(owner_, offerSlot(_)).WillOnce([&](const Slot& slot) {
    offered = slot;
    return true;
  });
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  EXPECT_EQ(offered.taskManagerId, "tm-1");
  EXPECT_EQ(offered.profile, kTask);
}

TEST_F(ResourceManagerTest, AJobWithoutOwnerAsksForNothingUntilItHasOne) {
  rm_ = std::make_unique<ResourceManager>(loop_, driver_, tailoredConfig());
  job_ = &rm_->addJob("job");
  largest_ = tailoredConfig().sizing.maxTaskManager;
  verifyDriver();
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();  // no launch
  verifyDriver();
  EXPECT_CALL(driver_, launchTaskManager("tm-1", _));
  rm_->setSlotOwner("job", &owner_);
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
}

// --- idle TaskManagers ---

TEST_F(ResourceManagerTest, ReleasesATaskManagerIdleForTheTimeout) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  Slot slot;
  EXPECT_CALL(owner_, offerSlot(_)).WillOnce([&](const Slot& s) {
    slot = s;
    return true;
  });
  registerTaskManager("tm-1");
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);

  // Busy for a long time: never released.
  loop_.advance(Duration(20000));
  ASSERT_TRUE(heartbeat("tm-1"));

  job_->declareRequirements({});
  job_->releaseSlot(slot.id);
  loop_.advance(kIdleTimeout - Duration(1));
  verifyDriver();

  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  loop_.advance(Duration(1));
  verifyDriver();

  // Once gone, the owner hears of it as released (its partitions go too).
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", "released when idle"));
  rm_->onTaskManagerTerminated("tm-1", "killed by signal 15");
  loop_.runPending();
  EXPECT_TRUE(rm_->allReleased());
  EXPECT_FALSE(heartbeat("tm-1"));
}

TEST_F(ResourceManagerTest, ANewSlotCancelsTheIdleTimer) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  Slot slot;
  EXPECT_CALL(owner_, offerSlot(_)).WillOnce([&](const Slot& s) {
    slot = s;
    return true;
  });
  registerTaskManager("tm-1");
  loop_.runPending();
  job_->releaseSlot(slot.id);
  loop_.advance(Duration(3000));

  // The JobMaster wants a slot again before the timeout: tm-1 is reused.
  EXPECT_CALL(owner_, offerSlot(SlotIs("slot-2", "tm-1", kTask))).WillOnce(Return(true));
  job_->declareRequirements({{kTask, 1}});
  loop_.advance(Duration(1000));
  // Idle again at 4 s: the timeout counts from now, not from the first time.
  job_->declareRequirements({});
  job_->releaseSlot("slot-2");
  loop_.advance(kIdleTimeout - Duration(1));  // StrictMock: no release
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  loop_.advance(Duration(1));
}

TEST_F(ResourceManagerTest, ARequestWhoseDemandWentAwayIsWithdrawn) {
  create();
  declareExpectingLaunches({{kTask, 2}}, {{"tm-1", {res(2, 2048), copies(kTask, 2)}}});
  // Not started yet: the request is withdrawn at once, and the owner, which
  // never saw the TM, hears nothing of it.
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  job_->declareRequirements({});
  loop_.runPending();
  verifyDriver();
  rm_->onTaskManagerTerminated("tm-1", "never started");
  loop_.runPending();
  EXPECT_TRUE(rm_->allReleased());
  EXPECT_EQ(report("tm-1")->exit(), "never started: request withdrawn (its demand went away)");
}

TEST_F(ResourceManagerTest, ATaskManagerThatArrivesForNothingIsReleasedAtOnce) {
  create();
  declareExpectingLaunches({{kTask, 2}}, {{"tm-1", {res(2, 2048), copies(kTask, 2)}}});
  rm_->onTaskManagerStarted("tm-1");  // launched: too late to withdraw
  job_->declareRequirements({});
  loop_.runPending();
  verifyDriver();
  EXPECT_TRUE(registerTaskManager("tm-1").accepted());
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  loop_.runPending();
  EXPECT_EQ(report("tm-1")->exit(), "released at once: no demand left when it registered");
}

TEST_F(ResourceManagerTest, OnlyTheRequestsDemandStillNeedsStay) {
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxSlotsPerTaskManager = 1;
  create(config);
  declareExpectingLaunches({{kTask, 3}}, {{"tm-1", {kTask, copies(kTask, 1)}},
                                         {"tm-2", {kTask, copies(kTask, 1)}},
                                         {"tm-3", {kTask, copies(kTask, 1)}}});
  rm_->onTaskManagerStarted("tm-2");
  // One slot still wanted: the started tm-2 keeps it; tm-1 and tm-3 go.
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  EXPECT_CALL(driver_, releaseTaskManager("tm-3"));
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
}

TEST_F(ResourceManagerTest, PartitionHoldersAreNeverReleasedAsIdle) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  Slot slot;
  EXPECT_CALL(owner_, offerSlot(_)).WillOnce([&](const Slot& s) {
    slot = s;
    return true;
  });
  registerTaskManager("tm-1");
  loop_.runPending();

  job_->declareRequirements({});
  job_->releaseSlot(slot.id);
  loop_.advance(Duration(2000));
  job_->setPartitionHolders({"tm-1"});
  for (int i = 0; i < 10; ++i) {
    loop_.advance(Duration(2000));
    ASSERT_TRUE(heartbeat("tm-1"));
  }
  verifyDriver();

  // No longer holding needed output: idle from now on.
  job_->setPartitionHolders({});
  loop_.advance(kIdleTimeout - Duration(1));
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  loop_.advance(Duration(1));
}

// --- lost TaskManagers ---

TEST_F(ResourceManagerTest, MissedHeartbeatsMarkATaskManagerLost) {
  ResourceManagerConfig config = tailoredConfig();
  config.heartbeatTimeout = Duration(10000);
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);

  loop_.advance(Duration(4000));
  ASSERT_TRUE(heartbeat("tm-1"));
  // 10 s after the last heartbeat is still within the timeout.
  loop_.advance(Duration(10000));
  verifyDriver();
  Mock::VerifyAndClearExpectations(&owner_);

  {
    InSequence order;
    EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
    EXPECT_CALL(owner_, onTaskManagerLost("tm-1", "no heartbeat for 10000 ms"));
  }
  loop_.advance(Duration(1000));
  verifyDriver();
  Mock::VerifyAndClearExpectations(&owner_);

  EXPECT_FALSE(heartbeat("tm-1"));
  // The driver confirms; the owner is not told twice.
  rm_->onTaskManagerTerminated("tm-1", "killed");
  EXPECT_TRUE(rm_->allReleased());
  const auto* tm = report("tm-1");
  ASSERT_NE(tm, nullptr);
  EXPECT_EQ(tm->exit(), "lost: no heartbeat for 10000 ms");
}

TEST_F(ResourceManagerTest, HeartbeatsKeepATaskManagerAlive) {
  ResourceManagerConfig config = tailoredConfig();
  config.heartbeatTimeout = Duration(3000);
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);
  for (int i = 0; i < 30; ++i) {
    loop_.advance(Duration(2000));
    ASSERT_TRUE(heartbeat("tm-1")) << "at " << loop_.elapsed().count() << " ms";
  }
}

TEST_F(ResourceManagerTest, UnexpectedTerminationIsALoss) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);

  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", "exited with status 137"));
  // Stopping an already-gone TM is harmless; the RM may or may not do it.
  EXPECT_CALL(driver_, releaseTaskManager("tm-1")).Times(AtMost(1));
  rm_->onTaskManagerTerminated("tm-1", "exited with status 137");
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
  EXPECT_TRUE(rm_->allReleased());
  EXPECT_FALSE(heartbeat("tm-1"));
  const auto* tm = report("tm-1");
  ASSERT_NE(tm, nullptr);
  EXPECT_EQ(tm->exit(), "lost: exited with status 137");

  // The lost TM no longer absorbs demand: a new one is launched.
  declareExpectingLaunches({{kTask, 1}}, {{"tm-2", {kTask, copies(kTask, 1)}}});
}

TEST_F(ResourceManagerTest, ATaskManagerThatDiesBeforeRegisteringIsReplacedAfterABackoff) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  rm_->onTaskManagerStarted("tm-1");
  // The owner never saw tm-1 (it did not register): it is not told.
  EXPECT_CALL(driver_, releaseTaskManager("tm-1")).Times(AtMost(1));
  rm_->onTaskManagerTerminated("tm-1", "exited with status 1");
  loop_.advance(kStartFailureBackoff - Duration(1));
  verifyDriver();
  Mock::VerifyAndClearExpectations(&owner_);

  // Still required: the RM asks for a replacement once the backoff is over.
  EXPECT_CALL(driver_, launchTaskManager("tm-2", TaskManagerSpecIs(kTask, copies(kTask, 1))));
  loop_.advance(Duration(1));
  verifyDriver();

  // A second failure in a row waits twice as long.
  EXPECT_CALL(driver_, releaseTaskManager("tm-2")).Times(AtMost(1));
  rm_->onTaskManagerTerminated("tm-2", "exited with status 1");
  loop_.advance(2 * kStartFailureBackoff - Duration(1));
  verifyDriver();
  EXPECT_CALL(driver_, launchTaskManager("tm-3", _));
  loop_.advance(Duration(1));
}

TEST_F(ResourceManagerTest, GivesUpAfterTooManyStartFailuresInARow) {
  ResourceManagerConfig config = tailoredConfig();
  config.maxStartFailures = 2;
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  EXPECT_CALL(driver_, releaseTaskManager(_)).Times(AtMost(2));
  EXPECT_CALL(driver_, launchTaskManager("tm-2", _));
  rm_->onTaskManagerTerminated("tm-1", "cannot execute tailor-taskmanager");
  loop_.advance(kStartFailureBackoff);

  EXPECT_CALL(owner_, onResourcesUnavailable(AllOf(
                          HasSubstr("2 TaskManagers in a row ended before registering"),
                          HasSubstr("tm-2"), HasSubstr("cannot execute tailor-taskmanager"))));
  rm_->onTaskManagerTerminated("tm-2", "cannot execute tailor-taskmanager");
  // StrictMock: no more launches.
  loop_.advance(Duration(60000));
}

TEST_F(ResourceManagerTest, ARegistrationEndsTheRunOfStartFailures) {
  ResourceManagerConfig config = tailoredConfig();
  config.maxStartFailures = 2;
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  EXPECT_CALL(driver_, releaseTaskManager(_)).Times(AtMost(2));
  EXPECT_CALL(driver_, launchTaskManager("tm-2", _));
  rm_->onTaskManagerTerminated("tm-1", "exited with status 1");
  loop_.advance(kStartFailureBackoff);
  registerExpectingOffers("tm-2", 1, kTask);

  // tm-2 worked; a later failure to start is the first of a new run.
  EXPECT_CALL(driver_, launchTaskManager("tm-3", _));
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  rm_->onTaskManagerTerminated("tm-3", "exited with status 1");
  EXPECT_CALL(driver_, launchTaskManager("tm-4", _));
  loop_.advance(kStartFailureBackoff);
}

TEST_F(ResourceManagerTest, AStartedTaskManagerThatNeverRegistersIsLost) {
  ResourceManagerConfig config = tailoredConfig();
  config.registrationTimeout = Duration(60000);
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  rm_->onTaskManagerStarted("tm-1");
  loop_.advance(Duration(59999));
  verifyDriver();
  {
    InSequence order;
    EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
    EXPECT_CALL(driver_, launchTaskManager("tm-2", _));
  }
  loop_.advance(Duration(1));
  verifyDriver();
  Mock::VerifyAndClearExpectations(&owner_);
  // Too late now.
  EXPECT_FALSE(registerTaskManager("tm-1").accepted());
}

TEST_F(ResourceManagerTest, RegistrationInTimeCancelsTheRegistrationTimeout) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  rm_->onTaskManagerStarted("tm-1");
  loop_.advance(Duration(59000));
  registerExpectingOffers("tm-1", 1, kTask);
  for (int i = 0; i < 10; ++i) {
    loop_.advance(Duration(1000));
    ASSERT_TRUE(heartbeat("tm-1"));
  }
}

TEST_F(ResourceManagerTest, ReportUnreachableStopsTheTaskManagerAsLost) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);
  {
    InSequence order;
    EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
    EXPECT_CALL(owner_, onTaskManagerLost("tm-1", "fetch failed: connection refused"));
  }
  job_->reportUnreachable("tm-1", "fetch failed: connection refused");
  loop_.runPending();
  verifyDriver();
  Mock::VerifyAndClearExpectations(&owner_);
  // Reported again while it is going: nothing more happens.
  job_->reportUnreachable("tm-1", "again");
  job_->reportUnreachable("tm-unknown", "never heard of it");
  rm_->onTaskManagerTerminated("tm-1", "killed");
  EXPECT_TRUE(rm_->allReleased());
}

// --- TaskManagers the cluster manager cannot reach (Mesos: TASK_UNREACHABLE, TASK_UNKNOWN) ---

TEST_F(ResourceManagerTest, AnUnreachableTaskManagerWithALiveHeartbeatIsKeptUntilTheTimeout) {
  ResourceManagerConfig config = tailoredConfig();
  config.unreachableTimeout = Duration(60000);
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);
  rm_->onTaskManagerUnreachable("tm-1", "TASK_UNKNOWN (REASON_RECONCILIATION)");
  rm_->onTaskManagerUnreachable("tm-1", "TASK_UNKNOWN (REASON_RECONCILIATION)");  // once
  // Kept, with its slot (StrictMock driver and owner: nothing released, nothing lost).
  for (int i = 0; i < 59; ++i) {
    loop_.advance(Duration(1000));
    ASSERT_TRUE(heartbeat("tm-1")) << "at " << loop_.elapsed().count() << " ms";
  }
  verifyDriver();
  {
    InSequence order;
    EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
    EXPECT_CALL(owner_, onTaskManagerLost("tm-1", AllOf(HasSubstr("TASK_UNKNOWN"),
                                                        HasSubstr("60000 ms"))));
  }
  loop_.advance(Duration(1000));
  verifyDriver();
  Mock::VerifyAndClearExpectations(&owner_);
  EXPECT_FALSE(heartbeat("tm-1"));  // the TaskManager stops itself
  rm_->onTaskManagerTerminated("tm-1", "given up while Mesos could not reach it");
  EXPECT_TRUE(rm_->allReleased());
  const auto* tm = report("tm-1");
  ASSERT_NE(tm, nullptr);
  EXPECT_THAT(tm->exit(), AllOf(HasSubstr("lost: TASK_UNKNOWN"), HasSubstr("not seen running")));
}

TEST_F(ResourceManagerTest, AnUnreachableTaskManagerSeenRunningAgainIsKept) {
  ResourceManagerConfig config = tailoredConfig();
  config.unreachableTimeout = Duration(60000);
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);
  rm_->onTaskManagerUnreachable("tm-1", "TASK_UNREACHABLE");
  for (int i = 0; i < 30; ++i) {
    loop_.advance(Duration(1000));
    ASSERT_TRUE(heartbeat("tm-1"));
  }
  rm_->onTaskManagerReachable("tm-1");
  for (int i = 0; i < 600; ++i) {
    loop_.advance(Duration(1000));
    ASSERT_TRUE(heartbeat("tm-1")) << "at " << loop_.elapsed().count() << " ms";
  }
  // Unreachable again later: a new timeout of its own.
  rm_->onTaskManagerUnreachable("tm-1", "TASK_UNREACHABLE");
  for (int i = 0; i < 59; ++i) {
    loop_.advance(Duration(1000));
    ASSERT_TRUE(heartbeat("tm-1"));
  }
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", HasSubstr("TASK_UNREACHABLE")));
  loop_.advance(Duration(1000));
}

TEST_F(ResourceManagerTest, AnUnreachableTaskManagerWhoseHeartbeatStopsIsLostAtOnce) {
  ResourceManagerConfig config = tailoredConfig();
  config.heartbeatTimeout = Duration(10000);
  config.unreachableTimeout = Duration(600000);
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);
  rm_->onTaskManagerUnreachable("tm-1", "TASK_UNREACHABLE");
  loop_.advance(Duration(10000));
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", "no heartbeat for 10000 ms"));
  loop_.advance(Duration(1000));
  verifyDriver();
  Mock::VerifyAndClearExpectations(&owner_);
  rm_->onTaskManagerTerminated("tm-1", "given up while Mesos could not reach it");
  // Its timeout went with it.
  loop_.advance(Duration(600000));
  EXPECT_TRUE(rm_->allReleased());
}

TEST_F(ResourceManagerTest, AStartedTaskManagerUnreachableBeforeRegisteringMayStillRegister) {
  ResourceManagerConfig config = tailoredConfig();
  config.registrationTimeout = Duration(60000);
  config.unreachableTimeout = Duration(600000);
  create(config);
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  rm_->onTaskManagerStarted("tm-1");
  rm_->onTaskManagerUnreachable("tm-1", "TASK_UNKNOWN");
  loop_.advance(Duration(5000));
  registerExpectingOffers("tm-1", 1, kTask);
  rm_->onTaskManagerReachable("tm-1");
  for (int i = 0; i < 700; ++i) {
    loop_.advance(Duration(1000));
    ASSERT_TRUE(heartbeat("tm-1"));
  }
}

TEST_F(ResourceManagerTest, TerminationOfUnknownTaskManagersIsIgnored) {
  create();
  rm_->onTaskManagerStarted("tm-7");
  rm_->onTaskManagerTerminated("tm-7", "whatever");
  EXPECT_TRUE(rm_->allReleased());
  EXPECT_TRUE(rm_->taskManagerReports().empty());
}

// --- releaseAll ---

TEST_F(ResourceManagerTest, ReleaseAllReleasesEveryTaskManager) {
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxSlotsPerTaskManager = 1;
  create(config);
  declareExpectingLaunches(
      {{kTask, 2}}, {{"tm-1", {kTask, copies(kTask, 1)}}, {"tm-2", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);

  // Registered (tm-1, busy) and still starting (tm-2) alike.
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  EXPECT_CALL(driver_, releaseTaskManager("tm-2"));
  job_->releaseAll();
  verifyDriver();
  EXPECT_FALSE(rm_->allReleased());

  // After the end nothing is launched or registered any more.
  job_->declareRequirements({{kTask, 5}});
  EXPECT_FALSE(registerTaskManager("tm-2").accepted());
  loop_.runPending();  // StrictMock: no launch

  // The owner hears of tm-1, which it used; tm-2 never registered.
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", "released at job end"));
  rm_->onTaskManagerTerminated("tm-1", "killed");
  loop_.runPending();
  EXPECT_FALSE(rm_->allReleased());
  rm_->onTaskManagerTerminated("tm-2", "launch dropped");
  loop_.runPending();
  EXPECT_TRUE(rm_->allReleased());
  ASSERT_NE(report("tm-2"), nullptr);
  // tm-2 was never started: its report says so rather than "released".
  EXPECT_EQ(report("tm-2")->exit(), "never started: request withdrawn (released at job end)");
  EXPECT_EQ(report("tm-2")->launched_at(), 0);
}

// --- jobs larger than the cluster ---

TEST_F(ResourceManagerTest, RequestsOnlyWhatTheClusterHasRoomFor) {
  capacity_ = res(2, 4096);
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxTaskManager = res(2, 4096);
  create(config);
  // 500 slots of 0.01 CPU: spread over 8 TMs of 63 slots, but only 2 CPUs of
  // room, so 3 such TMs and one of the 11 slots left; the rest waits.
  const Resources tiny = res(0.01, 16);
  declareExpectingLaunches({{tiny, 500}}, {{"tm-1", {res(0.63, 1008), copies(tiny, 63)}},
                                           {"tm-2", {res(0.63, 1008), copies(tiny, 63)}},
                                           {"tm-3", {res(0.63, 1008), copies(tiny, 63)}},
                                           {"tm-4", {res(0.11, 176), copies(tiny, 11)}}});
  // Slots freed and reused by the owner are not new demand: nothing is launched.
  job_->declareRequirements({{tiny, 300}});
  loop_.runPending();
  EXPECT_EQ(rm_->taskManagersRequested(), 4);
}

TEST_F(ResourceManagerTest, AnIdleTaskManagerGoesAtOnceWhileDemandWaitsForRoom) {
  capacity_ = res(2, 4096);
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxTaskManager = res(2, 4096);
  create(config);
  declareExpectingLaunches({{res(1, 1024), 2}}, {{"tm-1", {res(2, 2048), copies(res(1, 1024), 2)}}});
  registerExpectingOffers("tm-1", 2, res(1, 1024));
  // A larger stage that needs the whole cluster: tm-1, idle, only takes room.
  job_->releaseSlot("slot-1");
  job_->releaseSlot("slot-2");
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  job_->declareRequirements({{res(2, 3000), 1}});
  loop_.runPending();
  verifyDriver();
  EXPECT_EQ(report("tm-1")->exit(), "released at once: idle while demand waits for room");
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", _));
  EXPECT_CALL(driver_, launchTaskManager("tm-2", TaskManagerSpecIs(res(2, 3000), copies(res(2, 3000), 1))));
  rm_->onTaskManagerTerminated("tm-1", "stopped");
  loop_.runPending();
}

TEST_F(ResourceManagerTest, IdlePartitionHoldersAreAskedToMoveTheirPartitionsWhenDemandWaits) {
  capacity_ = res(2, 4096);
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxTaskManager = res(2, 4096);
  config.evacuateAfter = Duration(2000);
  create(config);
  declareExpectingLaunches({{res(1, 1024), 2}}, {{"tm-1", {res(2, 2048), copies(res(1, 1024), 2)}}});
  registerExpectingOffers("tm-1", 2, res(1, 1024));
  job_->releaseSlot("slot-1");
  job_->releaseSlot("slot-2");
  job_->setPartitionHolders({"tm-1"});
  job_->declareRequirements({{res(2, 3000), 1}});
  loop_.advance(Duration(1999));  // StrictMock owner: nothing yet
  EXPECT_CALL(owner_, onPlacementStalled(std::set<std::string>{"tm-1"}));
  loop_.advance(Duration(1));
  Mock::VerifyAndClearExpectations(&owner_);
  // The owner moved them: tm-1 holds nothing any more and goes at once.
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  job_->setPartitionHolders({});
  loop_.runPending();
}

TEST_F(ResourceManagerTest, SlowOffersMoveNoPartitionsOnlyShortRoomDoes) {
  ResourceManagerConfig config = tailoredConfig();
  config.evacuateAfter = Duration(2000);
  create(config);  // no known capacity, as on Mesos
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);
  job_->releaseSlot("slot-1");
  job_->setPartitionHolders({"tm-1"});
  declareExpectingLaunches({{res(2, 2048), 1}},
                           {{"tm-2", {res(2, 2048), copies(res(2, 2048), 1)}}});
  loop_.advance(Duration(10000));  // StrictMock owner: offers merely slow, nothing moves
  blocked_ = true;  // offers came and could not hold tm-2
  verifyDriver();
  EXPECT_CALL(owner_, onPlacementStalled(std::set<std::string>{"tm-1"}));
  rm_->onCapacityChanged();
  loop_.runPending();
}

TEST_F(ResourceManagerTest, DemandThatCanNeverBePlacedFailsAfterThePlacementTimeout) {
  ResourceManagerConfig config = tailoredConfig();
  config.placementTimeout = Duration(3000);
  create(config);
  declareExpectingLaunches({{res(2, 64), 1}}, {{"tm-1", {res(2, 64), copies(res(2, 64), 1)}}});
  // The cluster turns out smaller than the request: it is withdrawn and
  // nothing smaller can hold the task.
  loop_.advance(Duration(1000));
  largest_ = res(0.95, 2016);
  closest_ = ClosestFit{Shortage{"cpus", 1.05, 0.525}, "the best offer (agent a1 (h1))"};
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  rm_->onCapacityChanged();
  loop_.runPending();
  verifyDriver();
  EXPECT_EQ(report("tm-1")->exit(),
            "never started: request withdrawn (larger than the cluster can place "
            "(cpus=0.95,mem=2016,disk=0,gpus=0))");
  rm_->onTaskManagerTerminated("tm-1", "never started");
  loop_.advance(Duration(1999));  // StrictMock owner: not yet
  EXPECT_CALL(owner_, onResourcesUnavailable(
                          AllOf(HasSubstr("no TaskManager could be placed for 3000 ms"),
                                HasSubstr("1 slot of cpus=2,mem=64"),
                                HasSubstr("cpus short by 1.05 on the best offer (agent a1 (h1))"),
                                HasSubstr("agent a1 offered cpus=1"))));
  loop_.advance(Duration(1));
  Mock::VerifyAndClearExpectations(&owner_);
  loop_.advance(Duration(60000));  // told once
}

TEST_F(ResourceManagerTest, WaitingWhileHoldingTaskManagersIsNotATimeout) {
  capacity_ = res(1, 1024);
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxTaskManager = res(1, 1024);
  config.placementTimeout = Duration(3000);
  create(config);
  declareExpectingLaunches({{res(1, 1024), 3}}, {{"tm-1", {res(1, 1024), copies(res(1, 1024), 1)}}});
  registerExpectingOffers("tm-1", 1, res(1, 1024));
  // Two tasks wait for tm-1's slot for a long time: a wave, not a failure.
  for (int i = 0; i < 10; ++i) {
    loop_.advance(Duration(2000));
    ASSERT_TRUE(heartbeat("tm-1"));
  }
}

// --- placement diagnostics (placement()) ---

TEST_F(ResourceManagerTest, DemandNotDeclaredDoesNotWait) {
  create();
  EXPECT_EQ(job_->placement(kTask).reason, PlacementWait::Reason::kNone);
}

TEST_F(ResourceManagerTest, DemandWithRequestedTaskManagersIsLaunching) {
  create();
  loop_.advance(Duration(2000));
  declareExpectingLaunches({{kTask, 6}}, {{"tm-1", {res(4, 4096), copies(kTask, 4)}},
                                          {"tm-2", {res(2, 2048), copies(kTask, 2)}}});
  loop_.advance(Duration(3000));
  PlacementWait wait = job_->placement(kTask);
  EXPECT_EQ(wait.reason, PlacementWait::Reason::kLaunching);
  EXPECT_EQ(wait.slots, 6);
  EXPECT_EQ(wait.taskManagers, 2);
  EXPECT_DOUBLE_EQ(wait.since, ManualEventLoop::kWallStart + 2);
  // tm-1's four slots are cut: two slots wait for tm-2 alone.
  registerExpectingOffers("tm-1", 4, kTask);
  wait = job_->placement(kTask);
  EXPECT_EQ(wait.reason, PlacementWait::Reason::kLaunching);
  EXPECT_EQ(wait.slots, 2);
  EXPECT_EQ(wait.taskManagers, 1);
  registerExpectingOffers("tm-2", 2, kTask);
  EXPECT_EQ(job_->placement(kTask).reason, PlacementWait::Reason::kNone);
}

TEST_F(ResourceManagerTest, ATaskLargerThanAnyTaskManagerTheClusterPlacesFitsNowhere) {
  create();
  declareExpectingLaunches({{res(2, 8192), 1}},
                           {{"tm-1", {res(2, 8192), copies(res(2, 8192), 1)}}});
  // Offers came: the largest agent holds 4096 MiB; the request is withdrawn.
  largest_ = res(4, 4064);
  closest_ = ClosestFit{Shortage{"mem", 4160, 0.5}, "the best offer (agent a1 (h1))"};
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  rm_->onCapacityChanged();
  loop_.runPending();
  verifyDriver();
  rm_->onTaskManagerTerminated("tm-1", "never started");
  loop_.runPending();
  PlacementWait wait = job_->placement(res(2, 8192));
  EXPECT_EQ(wait.reason, PlacementWait::Reason::kNoFit);
  EXPECT_EQ(wait.slots, 1);
  ASSERT_TRUE(wait.closest);
  EXPECT_EQ(wait.closest->shortage.resource, "mem");
  EXPECT_DOUBLE_EQ(wait.closest->shortage.amount, 4160);
  EXPECT_EQ(wait.closest->where, "the best offer (agent a1 (h1))");
}

TEST_F(ResourceManagerTest, WithoutAnOfferANoFitNamesTheLargestTaskManagerAllowed) {
  create();
  largest_ = res(1, 1024);  // the driver knows no offer: closestFit says nothing
  verifyDriver();
  job_->declareRequirements({{res(2, 512), 1}});
  loop_.runPending();
  PlacementWait wait = job_->placement(res(2, 512));
  EXPECT_EQ(wait.reason, PlacementWait::Reason::kNoFit);
  ASSERT_TRUE(wait.closest);
  EXPECT_EQ(wait.closest->shortage.resource, "cpus");
  EXPECT_DOUBLE_EQ(wait.closest->shortage.amount, 1);
  EXPECT_EQ(wait.closest->where, "the cluster");
}

TEST_F(ResourceManagerTest, DemandWaitingForRoomNamesWhatTheFreeRoomLacks) {
  capacity_ = res(1, 1024);
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxTaskManager = res(1, 1024);
  create(config);
  declareExpectingLaunches({{kTask, 2}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  registerExpectingOffers("tm-1", 1, kTask);
  closest_ = ClosestFit{Shortage{"cpus", 1, 1}, "the local cluster's free room"};
  verifyDriver();
  PlacementWait wait = job_->placement(kTask);
  EXPECT_EQ(wait.reason, PlacementWait::Reason::kNoFit);
  EXPECT_EQ(wait.slots, 1);
  ASSERT_TRUE(wait.closest);
  EXPECT_EQ(wait.closest->where, "the local cluster's free room");
}

TEST_F(ResourceManagerTest, FixedSizingAsksWhereAFixedTaskManagerFits) {
  capacity_ = res(2, 2048);  // smaller than a fixed TaskManager of two slots
  create(fixedConfig(res(2, 2048), 2));
  largest_ = res(2, 2048);
  verifyDriver();
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  EXPECT_CALL(driver_, closestFit(res(4, 4096))).WillOnce(Return(std::nullopt));
  PlacementWait wait = job_->placement(kTask);
  EXPECT_EQ(wait.reason, PlacementWait::Reason::kNoFit);
  ASSERT_TRUE(wait.closest);
  EXPECT_EQ(wait.closest->shortage.resource, "cpus");
  EXPECT_DOUBLE_EQ(wait.closest->shortage.amount, 2);
}

// --- reports ---

TEST_F(ResourceManagerTest, ReportsRecordTheLifeOfEachTaskManager) {
  create();
  declareExpectingLaunches({{res(1.5, 1000), 2}},
                           {{"tm-1", {res(3, 2000), copies(res(1.5, 1000), 2)}}});
  loop_.advance(Duration(1000));
  rm_->onTaskManagerStarted("tm-1");
  loop_.advance(Duration(1500));
  registerExpectingOffers("tm-1", 2, res(1.5, 1000));
  loop_.advance(Duration(2000));
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  job_->releaseAll();
  loop_.advance(Duration(500));
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", _));
  rm_->onTaskManagerTerminated("tm-1", "killed");
  loop_.runPending();

  const auto* tm = report("tm-1");
  ASSERT_NE(tm, nullptr);
  EXPECT_DOUBLE_EQ(tm->resources().cpus(), 3);
  EXPECT_DOUBLE_EQ(tm->resources().mem(), 2000);
  EXPECT_EQ(tm->slots(), 2);
  EXPECT_DOUBLE_EQ(tm->launched_at(), ManualEventLoop::kWallStart + 1.0);
  EXPECT_DOUBLE_EQ(tm->registered_at(), ManualEventLoop::kWallStart + 2.5);
  EXPECT_DOUBLE_EQ(tm->released_at(), ManualEventLoop::kWallStart + 5.0);
  EXPECT_EQ(tm->exit(), "released at job end");
}

TEST_F(ResourceManagerTest, RegistrationWithoutStartCountsAsLaunch) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  loop_.advance(Duration(3000));
  registerExpectingOffers("tm-1", 1, kTask);
  const auto* tm = report("tm-1");
  ASSERT_NE(tm, nullptr);
  EXPECT_DOUBLE_EQ(tm->launched_at(), ManualEventLoop::kWallStart + 3.0);
  EXPECT_DOUBLE_EQ(tm->registered_at(), ManualEventLoop::kWallStart + 3.0);
  EXPECT_DOUBLE_EQ(tm->released_at(), 0);
}

// Under Mesos the TM may register over RPC before the driver hears TASK_RUNNING.
TEST_F(ResourceManagerTest, ALateStartNoticeDoesNotMoveTheLaunchPastRegistration) {
  create();
  declareExpectingLaunches({{kTask, 1}}, {{"tm-1", {kTask, copies(kTask, 1)}}});
  loop_.advance(Duration(1000));
  registerExpectingOffers("tm-1", 1, kTask);
  loop_.advance(Duration(1000));
  rm_->onTaskManagerStarted("tm-1");
  const auto* tm = report("tm-1");
  ASSERT_NE(tm, nullptr);
  EXPECT_DOUBLE_EQ(tm->registered_at(), ManualEventLoop::kWallStart + 1.0);
  EXPECT_LE(tm->launched_at(), tm->registered_at());
  EXPECT_DOUBLE_EQ(tm->launched_at(), ManualEventLoop::kWallStart + 1.0);
}

TEST_F(ResourceManagerTest, ReportsAreInLaunchOrder) {
  ResourceManagerConfig config = tailoredConfig();
  config.sizing.maxSlotsPerTaskManager = 1;
  config.sizing.spread = 100;
  create(config);
  EXPECT_CALL(driver_, launchTaskManager(_, _)).Times(11);
  job_->declareRequirements({{kTask, 11}});
  loop_.runPending();
  auto reports = rm_->taskManagerReports();
  ASSERT_EQ(reports.size(), 11u);
  for (int i = 0; i < 11; ++i) {
    EXPECT_EQ(reports[static_cast<size_t>(i)].id(), "tm-" + std::to_string(i + 1));
    EXPECT_EQ(reports[static_cast<size_t>(i)].slots(), 1);
    EXPECT_DOUBLE_EQ(reports[static_cast<size_t>(i)].launched_at(), 0);
  }
}

// --- observer ---

TEST_F(ResourceManagerTest, TellsTheObserverAboutTaskManagers) {
  StrictMock<MockResourceObserver> observer;
  create();
  rm_->setObserver(&observer);
  {
    InSequence order;
    EXPECT_CALL(observer,
                onTaskManagerRequested("tm-1", TaskManagerSpecIs(kTask, copies(kTask, 1))));
    EXPECT_CALL(driver_, launchTaskManager("tm-1", _));
  }
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  EXPECT_CALL(observer, onTaskManagerRegistered("tm-1", "tm-1.host:9000", _));
  registerExpectingOffers("tm-1", 1, kTask);
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  job_->releaseAll();
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", _));
  EXPECT_CALL(observer, onTaskManagerReleased("tm-1", "released at job end", false));
  rm_->onTaskManagerTerminated("tm-1", "killed");
  loop_.runPending();
  rm_->setObserver(nullptr);
  EXPECT_EQ(rm_->taskManagerReports().at(0).address(), "tm-1.host:9000");
}

// The process' registry is shared by the tests: they compare before and after.
double outcomes(const std::string& outcome) {
  return metrics::defaultRegistry()
      .counter("tailor_taskmanager_outcomes_total", "", {{"outcome", outcome}})
      .value();
}

TEST_F(ResourceManagerTest, CountsTaskManagersBySizeAndOutcomeAndShowsThemByState) {
  create();
  double launched =
      metrics::defaultRegistry()
          .counter("tailor_taskmanagers_launched_total", "",
                   metrics::sizeLabels(kTask.cpus(), static_cast<double>(kTask.memMib)))
          .value();
  double registered = outcomes("registered");
  double released = outcomes("released");
  double starts = metrics::defaultRegistry()
                      .histogram("tailor_taskmanager_start_seconds", "", metrics::latencyBuckets())
                      .snapshot()
                      .count;
  EXPECT_CALL(driver_, launchTaskManager("tm-1", _));
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  EXPECT_NE(
      metrics::defaultRegistry().exposition().find("tailor_taskmanagers{state=\"requested\"} 1\n"),
      std::string::npos);
  rm_->onTaskManagerStarted("tm-1");
  loop_.runPending();
  registerExpectingOffers("tm-1", 1, kTask);
  EXPECT_NE(
      metrics::defaultRegistry().exposition().find("tailor_taskmanagers{state=\"registered\"} 1\n"),
      std::string::npos);
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  job_->releaseAll();
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", _));
  rm_->onTaskManagerTerminated("tm-1", "killed");
  loop_.runPending();
  EXPECT_EQ(metrics::defaultRegistry()
                .counter("tailor_taskmanagers_launched_total", "",
                         metrics::sizeLabels(kTask.cpus(), static_cast<double>(kTask.memMib)))
                .value(),
            launched + 1);
  EXPECT_EQ(outcomes("registered"), registered + 1);
  EXPECT_EQ(outcomes("released"), released + 1);
  EXPECT_EQ(metrics::defaultRegistry()
                .histogram("tailor_taskmanager_start_seconds", "", metrics::latencyBuckets())
                .snapshot()
                .count,
            starts + 1);
  EXPECT_NE(
      metrics::defaultRegistry().exposition().find("tailor_taskmanagers{state=\"registered\"} 0\n"),
      std::string::npos);
}

// --- high availability: TaskManagers of an earlier JobManager attempt ---

TEST_F(ResourceManagerTest, AnAdoptedTaskManagerRegistersAgainAndGetsWork) {
  largest_ = tailoredConfig().sizing.maxTaskManager;
  rm_ = std::make_unique<ResourceManager>(loop_, driver_, tailoredConfig());
  job_ = &rm_->addJob("job");
    rm_->setSlotOwner("job", &owner_);
  rm_->adoptTaskManager("tm-4", 4, res(2, 2048), Duration(30000));
  EXPECT_CALL(driver_, start(rm_.get()));
  rm_->start();
  verifyDriver();
  // Before it registered again, its heartbeats ask it to.
  v1::HeartbeatRequest beat;
  beat.set_taskmanager_id("tm-4");
  auto answer = rm_->heartbeat(beat);
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(answer->known());
  EXPECT_TRUE(answer->register_again());

  job_->declareRequirements({{kTask, 2}});
  loop_.runPending();  // no launch: the adopted TaskManager is on its way
  registerExpectingOffers("tm-4", 2, kTask);
  EXPECT_TRUE(heartbeat("tm-4"));
  // New TaskManagers are numbered after it.
  EXPECT_CALL(driver_, launchTaskManager("tm-5", _));
  job_->declareRequirements({{kTask, 3}});
  loop_.runPending();
}

TEST_F(ResourceManagerTest, AnAdoptedTaskManagerKeepsTheSlotsOfTheAttemptsItStillRuns) {
  largest_ = tailoredConfig().sizing.maxTaskManager;
  rm_ = std::make_unique<ResourceManager>(loop_, driver_, tailoredConfig());
  job_ = &rm_->addJob("job");
    rm_->setSlotOwner("job", &owner_);
  rm_->adoptTaskManager("tm-3", 3, res(2, 2048), Duration(30000));
  EXPECT_CALL(driver_, start(rm_.get()));
  rm_->start();
  verifyDriver();
  v1::RegisterTaskManagerRequest request;
  request.set_taskmanager_id("tm-3");
  request.set_address("tm-3.host:9000");
  for (const char* id : {"map[0]#1", "map[1]#1", "map[2]#1"}) {
    auto* running = request.add_running();
    running->set_attempt_id(id);
    *running->mutable_slot_resources() = kTask.toProto();
  }
  // Two fit; the third (beyond the TaskManager's size) is not counted. The
  // owner keeps the first and refuses the second, whose share is free again.
  EXPECT_CALL(owner_, adoptSlot(SlotIs("slot-1", "tm-3", kTask), "map[0]#1")).WillOnce(Return(true));
  EXPECT_CALL(owner_, adoptSlot(SlotIs("slot-2", "tm-3", kTask), "map[1]#1")).WillOnce(Return(false));
  auto response = rm_->registerTaskManager(request);
  ASSERT_TRUE(response.ok());
  EXPECT_TRUE(response->accepted());
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
  // What is free is the refused slot's share: one slot more, not two (the
  // second is asked of a new TaskManager).
  EXPECT_CALL(owner_, offerSlot(SlotIs("slot-3", "tm-3", kTask))).WillOnce(Return(true));
  EXPECT_CALL(driver_, launchTaskManager("tm-4", _));
  job_->declareRequirements({{kTask, 2}});
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
}

// Found by rpc_message_fuzz: a slot of negative size passed the room check and
// grew what the TaskManager had free, or overflowed it (cpus too large for
// thousandths: UBSan).
TEST_F(ResourceManagerTest, AnAdoptedTaskManagerCountsNoSlotOfNegativeSize) {
  largest_ = tailoredConfig().sizing.maxTaskManager;
  rm_ = std::make_unique<ResourceManager>(loop_, driver_, tailoredConfig());
  job_ = &rm_->addJob("job");
  rm_->setSlotOwner("job", &owner_);
  rm_->adoptTaskManager("tm-3", 3, res(2, 2048), Duration(30000));
  EXPECT_CALL(driver_, start(rm_.get()));
  rm_->start();
  verifyDriver();
  v1::RegisterTaskManagerRequest request;
  request.set_taskmanager_id("tm-3");
  request.set_address("tm-3.host:9000");
  auto* negative = request.add_running();
  negative->set_attempt_id("map[0]#1");
  negative->mutable_slot_resources()->set_cpus(1);
  negative->mutable_slot_resources()->set_mem(-4096);
  auto* huge = request.add_running();
  huge->set_attempt_id("map[1]#1");
  huge->mutable_slot_resources()->set_cpus(1e300);
  huge->mutable_slot_resources()->set_mem(1);
  auto* real = request.add_running();
  real->set_attempt_id("map[2]#1");
  *real->mutable_slot_resources() = kTask.toProto();
  EXPECT_CALL(owner_, adoptSlot(SlotIs("slot-1", "tm-3", kTask), "map[2]#1")).WillOnce(Return(true));
  auto response = rm_->registerTaskManager(request);
  ASSERT_TRUE(response.ok());
  EXPECT_TRUE(response->accepted());
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
  // What is free is the TaskManager less the real slot: no room for 4 GiB.
  EXPECT_CALL(driver_, launchTaskManager("tm-4", _));
  job_->declareRequirements({{res(1, 4096), 1}});
  loop_.runPending();
}

TEST_F(ResourceManagerTest, AnAdoptedTaskManagerThatDoesNotComeBackIsLost) {
  largest_ = tailoredConfig().sizing.maxTaskManager;
  rm_ = std::make_unique<ResourceManager>(loop_, driver_, tailoredConfig());
  job_ = &rm_->addJob("job");
    rm_->setSlotOwner("job", &owner_);
  rm_->adoptTaskManager("tm-2", 2, res(1, 1024), Duration(5000));
  EXPECT_CALL(driver_, start(rm_.get()));
  rm_->start();
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-2"));
  EXPECT_CALL(owner_, onTaskManagerLost("tm-2", HasSubstr("did not register again within 5000 ms")));
  loop_.advance(Duration(5000));
  Mock::VerifyAndClearExpectations(&owner_);
  ASSERT_NE(report("tm-2"), nullptr);
  EXPECT_THAT(report("tm-2")->exit(), HasSubstr("lost"));
}

// --- several jobs on one ResourceManager (session mode) ---

ResourceManagerConfig sessionConfig() {
  ResourceManagerConfig config = tailoredConfig();
  config.session = true;
  return config;
}

class SessionResourceManagerTest : public ResourceManagerTest {
 protected:
  // "job" (owner_) and "other" (otherOwner_).
  void createSession(ResourceManagerConfig config = sessionConfig(), int otherPriority = 1) {
    create(std::move(config));
    other_ = &rm_->addJob("other", otherPriority);
    rm_->setSlotOwner("other", &otherOwner_);
  }

  // tm-1 of `slots` task slots registered, offering `mine` to "job" and
  // `others` to "other".
  void registerSharing(int mine, int others) {
    EXPECT_CALL(owner_, offerSlot(Field(&Slot::jobId, "job"))).Times(mine).WillRepeatedly(Return(true));
    EXPECT_CALL(otherOwner_, offerSlot(Field(&Slot::jobId, "other")))
        .Times(others)
        .WillRepeatedly(Return(true));
    registerTaskManager("tm-1");
    loop_.runPending();
    Mock::VerifyAndClearExpectations(&owner_);
    Mock::VerifyAndClearExpectations(&otherOwner_);
  }

  StrictMock<MockSlotOwner> otherOwner_;
  ResourceManagerGateway* other_ = nullptr;
};

TEST_F(SessionResourceManagerTest, OneJobsDeclarationsNeverReplaceAnothers) {
  createSession();
  // Sized over the union of demand: one TaskManager for both.
  EXPECT_CALL(driver_, launchTaskManager("tm-1", TaskManagerSpecIs(res(2, 2048), copies(kTask, 2))));
  job_->declareRequirements({{kTask, 1}});
  other_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  verifyDriver();
  // Its slots serve both jobs.
  registerSharing(1, 1);
}

TEST_F(SessionResourceManagerTest, CompetingJobsOfEqualPriorityGetEqualShares) {
  capacity_ = res(4, 4096);  // room for half of the demand
  createSession();
  EXPECT_CALL(driver_, launchTaskManager("tm-1", TaskManagerSpecIs(res(4, 4096), copies(kTask, 4))));
  job_->declareRequirements({{kTask, 4}});
  other_->declareRequirements({{kTask, 4}});
  loop_.runPending();
  verifyDriver();
  registerSharing(2, 2);
}

TEST_F(SessionResourceManagerTest, PriorityWeightsTheShare) {
  capacity_ = res(4, 4096);
  createSession(sessionConfig(), /*otherPriority=*/3);
  EXPECT_CALL(driver_, launchTaskManager("tm-1", _));
  job_->declareRequirements({{kTask, 4}});
  other_->declareRequirements({{kTask, 4}});
  loop_.runPending();
  verifyDriver();
  // Shares 1/4 against 3/4 weighed by 1 and 3: equal.
  registerSharing(1, 3);
}

TEST_F(SessionResourceManagerTest, AJobsEndFreesItsSlotsAndTheTaskManagerStaysWarm) {
  createSession();
  EXPECT_CALL(driver_, launchTaskManager("tm-1", _));
  job_->declareRequirements({{kTask, 1}});
  other_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  verifyDriver();
  registerSharing(1, 1);
  job_->releaseAll();  // no TaskManager released
  loop_.runPending();
  rm_->removeJob("job");
  loop_.runPending();
  EXPECT_EQ(rm_->jobCount(), 1);
  // A later job gets the freed slot of the warm TaskManager: no launch.
  StrictMock<MockSlotOwner> thirdOwner;
  ResourceManagerGateway& third = rm_->addJob("third");
  rm_->setSlotOwner("third", &thirdOwner);
  EXPECT_CALL(thirdOwner, offerSlot(AllOf(Field(&Slot::taskManagerId, "tm-1"),
                                          Field(&Slot::jobId, "third"))))
      .WillOnce(Return(true));
  third.declareRequirements({{kTask, 1}});
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&thirdOwner);
  // Once every job ended, the idle TaskManager goes after the idle timeout.
  other_->releaseAll();
  third.releaseAll();
  loop_.runPending();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  loop_.advance(kIdleTimeout);
}

TEST_F(SessionResourceManagerTest, ALostTaskManagerIsToldToEveryJob) {
  createSession();
  EXPECT_CALL(driver_, launchTaskManager("tm-1", _));
  job_->declareRequirements({{kTask, 1}});
  other_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  verifyDriver();
  registerSharing(1, 1);
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  EXPECT_CALL(owner_, onTaskManagerLost("tm-1", "killed"));
  EXPECT_CALL(otherOwner_, onTaskManagerLost("tm-1", "killed"));
  rm_->onTaskManagerTerminated("tm-1", "killed");
  loop_.runPending();
}

TEST_F(SessionResourceManagerTest, AJobBehindOthersInTheSessionIsQueued) {
  capacity_ = res(1, 1024);  // room for one TaskManager of one slot
  ResourceManagerConfig config = sessionConfig();
  config.sizing.maxTaskManager = res(1, 1024);
  createSession(config);
  EXPECT_CALL(driver_, launchTaskManager("tm-1", TaskManagerSpecIs(kTask, copies(kTask, 1))));
  job_->declareRequirements({{kTask, 1}});
  other_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  verifyDriver();
  EXPECT_EQ(other_->placement(kTask).reason, PlacementWait::Reason::kLaunching);
  // The older job gets the one slot (StrictMock: the other is offered none).
  EXPECT_CALL(owner_, offerSlot(Field(&Slot::jobId, "job"))).WillOnce(Return(true));
  registerTaskManager("tm-1");
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
  closest_ = ClosestFit{Shortage{"cpus", 1, 1}, "the local cluster's free room"};
  verifyDriver();
  PlacementWait wait = other_->placement(kTask);
  EXPECT_EQ(wait.reason, PlacementWait::Reason::kQueue);
  EXPECT_EQ(wait.queuePosition, 1);
  EXPECT_EQ(wait.queued, 1);
  EXPECT_EQ(job_->placement(kTask).reason, PlacementWait::Reason::kNone);
}

TEST_F(SessionResourceManagerTest, TheMinimumIsStartedWarmAndKeptWhileIdle) {
  ResourceManagerConfig config = sessionConfig();
  config.minResources = res(2, 2048);
  createSession(config);
  EXPECT_CALL(driver_, launchTaskManager("tm-1", TaskManagerSpecIs(res(2, 2048), copies(kTask, 0))));
  loop_.runPending();
  verifyDriver();
  registerTaskManager("tm-1");
  loop_.runPending();
  loop_.advance(kIdleTimeout * 3);  // kept: releasing it would leave less than the minimum
  verifyDriver();
  // It serves demand like any TaskManager.
  EXPECT_CALL(owner_, offerSlot(Field(&Slot::taskManagerId, "tm-1"))).WillOnce(Return(true));
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
}

TEST_F(SessionResourceManagerTest, StartFailuresFailOnlyTheJobsThatWait) {
  ResourceManagerConfig config = sessionConfig();
  config.maxStartFailures = 2;
  createSession(config);
  EXPECT_CALL(driver_, launchTaskManager(_, _)).Times(2);
  EXPECT_CALL(driver_, releaseTaskManager(_)).Times(AnyNumber());
  job_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  EXPECT_CALL(owner_, onResourcesUnavailable(HasSubstr("2 TaskManagers in a row")));
  rm_->onTaskManagerTerminated("tm-1", "exited with status 1");
  loop_.advance(kStartFailureBackoff);
  rm_->onTaskManagerTerminated("tm-2", "exited with status 1");
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
  verifyDriver();
  // "other", which waited for nothing, goes on: its demand launches again.
  EXPECT_CALL(driver_, launchTaskManager("tm-3", _));
  other_->declareRequirements({{kTask, 1}});
  loop_.runPending();
}

TEST_F(SessionResourceManagerTest, ASoloTaskGetsATaskManagerOfItsOwnAndNothingElseIsCutFromIt) {
  createSession();
  // "other" holds one slot of a TaskManager with room for two.
  EXPECT_CALL(driver_, launchTaskManager("tm-1", TaskManagerSpecIs(res(2, 2048), copies(kTask, 2))));
  other_->declareRequirements({{kTask, 2}});
  loop_.runPending();
  verifyDriver();
  EXPECT_CALL(otherOwner_, offerSlot(Field(&Slot::taskManagerId, "tm-1")))
      .WillOnce(Return(true))
      .WillOnce(Return(false));
  registerTaskManager("tm-1");
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&otherOwner_);
  other_->declareRequirements({});
  // A solo task is not put in that room: a TaskManager is launched for it,
  // and its slot is the whole of it, offered to the job that asked.
  EXPECT_CALL(driver_, launchTaskManager("tm-2", TaskManagerSpecIs(kTask, copies(kTask, 1))));
  job_->declareSoloRequirements({{kTask, 1}});
  loop_.runPending();
  verifyDriver();
  EXPECT_CALL(owner_, offerSlot(AllOf(Field(&Slot::taskManagerId, "tm-2"),
                                      Field(&Slot::profile, kTask), Field(&Slot::solo, true))))
      .WillOnce(Return(true));
  registerTaskManager("tm-2");
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&owner_);
  // Other demand goes to tm-1's room.
  EXPECT_CALL(otherOwner_, offerSlot(Field(&Slot::taskManagerId, "tm-1"))).WillOnce(Return(true));
  other_->declareRequirements({{kTask, 1}});
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&otherOwner_);
  // The solo slot free again: tm-2 is an ordinary TaskManager, no launch.
  job_->releaseAll();
  loop_.runPending();
  rm_->removeJob("job");
  StrictMock<MockSlotOwner> thirdOwner;
  ResourceManagerGateway& third = rm_->addJob("third");
  rm_->setSlotOwner("third", &thirdOwner);
  EXPECT_CALL(thirdOwner, offerSlot(AllOf(Field(&Slot::taskManagerId, "tm-2"),
                                          Field(&Slot::solo, false))))
      .WillOnce(Return(true));
  third.declareRequirements({{kTask, 1}});
  loop_.runPending();
  Mock::VerifyAndClearExpectations(&thirdOwner);
}

TEST_F(ResourceManagerTest, ASoloRequestIsWithdrawnWhenItsTaskNoLongerWantsIt) {
  create();
  EXPECT_CALL(driver_, launchTaskManager("tm-1", TaskManagerSpecIs(kTask, copies(kTask, 1))));
  job_->declareSoloRequirements({{kTask, 1}});
  loop_.runPending();
  verifyDriver();
  // Declared again: still one TaskManager for it.
  job_->declareSoloRequirements({{kTask, 1}});
  loop_.runPending();
  verifyDriver();
  EXPECT_CALL(driver_, releaseTaskManager("tm-1"));
  job_->declareSoloRequirements({});
  loop_.runPending();
}

}  // namespace
}  // namespace tailor::scheduler
