#pragma once

// gmock doubles for the scheduler's boundaries: the ResourceManager's driver
// and slot owner, the JobMaster's ResourceManager, TaskManagers and
// observer, and the Mesos driver's listener.

#include <gmock/gmock.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scheduler/jobmaster/job_observer.hpp"
#include "scheduler/jobmaster/taskmanager_gateway.hpp"
#include "scheduler/resourcemanager/driver.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"

namespace tailor::scheduler {

class MockResourceManagerDriver : public ResourceManagerDriver {
 public:
  MOCK_METHOD(void, start, (DriverListener * listener), (override));
  MOCK_METHOD(void, launchTaskManager,
              (const std::string& taskManagerId, const TaskManagerSpec& spec), (override));
  MOCK_METHOD(void, releaseTaskManager, (const std::string& taskManagerId), (override));
  MOCK_METHOD(Resources, maxTaskManager, (), (const, override));
  MOCK_METHOD(std::optional<Resources>, capacity, (), (const, override));
  MOCK_METHOD(std::string, describeOffers, (), (const, override));
  MOCK_METHOD(std::optional<ClosestFit>, closestFit, (const Resources& total), (const, override));
  MOCK_METHOD(bool, placementBlocked, (), (const, override));
  MOCK_METHOD(std::string, describe, (), (const, override));
  MOCK_METHOD(void, shutdown, (), (override));
};

class MockSlotOwner : public SlotOwner {
 public:
  MOCK_METHOD(bool, offerSlot, (const Slot& slot), (override));
  MOCK_METHOD(bool, adoptSlot, (const Slot& slot, const std::string& attemptId), (override));
  MOCK_METHOD(void, onTaskManagerLost,
              (const std::string& taskManagerId, const std::string& reason), (override));
  MOCK_METHOD(void, onResourcesUnavailable, (const std::string& reason), (override));
  MOCK_METHOD(void, onPlacementStalled, (const std::set<std::string>& holders), (override));
};

class MockResourceObserver : public ResourceObserver {
 public:
  MOCK_METHOD(void, onTaskManagerRequested, (const std::string& id, const TaskManagerSpec& spec),
              (override));
  MOCK_METHOD(void, onTaskManagerRegistered,
              (const std::string& id, const std::string& address, double launchedAt), (override));
  MOCK_METHOD(void, onTaskManagerReleased, (const std::string& id, const std::string& how, bool lost),
              (override));
};

class MockResourceManagerGateway : public ResourceManagerGateway {
 public:
  MOCK_METHOD(void, declareRequirements, ((const std::map<Resources, int>& requirements)),
              (override));
  MOCK_METHOD(void, declareSoloRequirements, ((const std::map<Resources, int>& requirements)),
              (override));
  MOCK_METHOD(void, releaseSlot, (const std::string& slotId), (override));
  MOCK_METHOD(void, setPartitionHolders, (const std::set<std::string>& taskManagerIds), (override));
  MOCK_METHOD(void, reportUnreachable, (const std::string& taskManagerId, const std::string& why),
              (override));
  MOCK_METHOD(void, releaseAll, (), (override));
  MOCK_METHOD(Resources, largestSlot, (), (const, override));
  MOCK_METHOD(PlacementWait, placement, (const Resources& profile), (const, override));
};

class MockTaskManagerGateway : public TaskManagerGateway {
 public:
  MOCK_METHOD(void, deployTask,
              (const std::string& address, const v1::TaskDeployment& task, Done done), (override));
  MOCK_METHOD(void, cancelTask,
              (const std::string& address, const std::string& jobId, const std::string& attemptId),
              (override));
  MOCK_METHOD(void, dropJob, (const std::string& address, const std::string& jobId), (override));
  MOCK_METHOD(void, fetchPartition,
              (const std::string& address, const std::string& path, const std::string& destination,
               Done done),
              (override));
};

class MockJobObserver : public JobObserver {
 public:
  MOCK_METHOD(void, onStageStarted, (const std::string& stage), (override));
  MOCK_METHOD(void, onStageFinished, (const std::string& stage), (override));
  MOCK_METHOD(void, onAttemptFailed,
              (const std::string& attemptId, const std::string& message, bool willRetry),
              (override));
  MOCK_METHOD(void, onProgress, (const std::vector<StageProgress>& stages), (override));
  MOCK_METHOD(void, onJobEnded, (JobStatus status, const std::string& error), (override));
};

// Matches a TaskManagerSpec of `total` with slots `slots`.
MATCHER_P2(TaskManagerSpecIs, total, slots, "") {
  return arg.total == total && arg.slots == std::vector<Resources>(slots);
}

// The Mesos driver's listener (the ResourceManager). Its connection to the
// master is mocked in tests/mesos/mocks.hpp.
class MockDriverListener : public DriverListener {
 public:
  MOCK_METHOD(void, onTaskManagerStarted, (const std::string& taskManagerId), (override));
  MOCK_METHOD(void, onTaskManagerTerminated,
              (const std::string& taskManagerId, const std::string& reason), (override));
  MOCK_METHOD(void, onCapacityChanged, (), (override));
  MOCK_METHOD(void, onTaskManagerUnreachable,
              (const std::string& taskManagerId, const std::string& reason), (override));
  MOCK_METHOD(void, onTaskManagerReachable, (const std::string& taskManagerId), (override));
};

}  // namespace tailor::scheduler
