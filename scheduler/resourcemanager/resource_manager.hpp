#pragma once

// The ResourceManager owns TaskManagers and their slots. It cuts slots from
// registered TMs' free resources to meet the JobMaster's declared
// requirements, asks its driver for new TMs (sized by the sizing policy) for
// what is still unmet, and releases TMs that stay idle. Loop thread only.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"
#include "scheduler/resourcemanager/driver.hpp"
#include "scheduler/resourcemanager/sizing_policy.hpp"
#include "scheduler/slot.hpp"
#include "tailor/v1/report.pb.h"
#include "tailor/v1/rpc.pb.h"

namespace spdlog {
class logger;
}

namespace tailor::scheduler {

// The JobMaster as the ResourceManager sees it.
class SlotOwner {
 public:
  virtual ~SlotOwner() = default;

  // Offers a freshly cut slot. Returns true if the owner takes it; a refused
  // slot goes back to the TM's free resources. Must not call back into the RM.
  virtual bool offerSlot(const Slot& slot) = 0;

  // A TaskManager is gone (lost, or released); its slots and the partitions
  // it held are gone with it.
  virtual void onTaskManagerLost(const std::string& taskManagerId, const std::string& reason) = 0;

  // TaskManagers cannot be had: too many in a row failed before registering.
  // The owner should give up (fail the job) with `reason`.
  virtual void onResourcesUnavailable(const std::string& reason) = 0;
};

// What the JobMaster calls on the ResourceManager.
class ResourceManagerGateway {
 public:
  virtual ~ResourceManagerGateway() = default;

  // Replaces the requirements: slots still wanted, by task profile.
  virtual void declareRequirements(const std::map<Resources, int>& requirements) = 0;

  // Gives back a slot the owner no longer uses.
  virtual void releaseSlot(const std::string& slotId) = 0;

  // Marks the TMs that hold partitions still needed; they are never idle.
  virtual void setPartitionHolders(const std::set<std::string>& taskManagerIds) = 0;

  // Reports a TM as unreachable (an input fetch from it failed); the RM
  // stops it and treats it as lost.
  virtual void reportUnreachable(const std::string& taskManagerId, const std::string& why) = 0;

  // Releases every TM at once (the job ended).
  virtual void releaseAll() = 0;
};

// Events worth showing to users (progress display, report).
class ResourceObserver {
 public:
  virtual ~ResourceObserver() = default;
  virtual void onTaskManagerRequested(const std::string& id, const TaskManagerSpec& spec) = 0;
  virtual void onTaskManagerRegistered(const std::string& id) = 0;
  virtual void onTaskManagerReleased(const std::string& id, const std::string& how) = 0;
};

struct ResourceManagerConfig {
  SizingConfig sizing;
  Duration idleTimeout{5000};
  Duration heartbeatInterval{1000};
  Duration heartbeatTimeout{10000};
  // A started TM that has not registered after this is lost.
  Duration registrationTimeout{60000};
  // After this many TMs in a row end before registering, the RM gives up.
  int maxStartFailures = 5;
  // Launches after such a failure wait this long, doubling up to 16 times it.
  Duration startFailureBackoff{250};
};

class ResourceManager : public ResourceManagerGateway, public DriverListener {
 public:
  ResourceManager(EventLoop& loop, ResourceManagerDriver& driver, ResourceManagerConfig config);
  ~ResourceManager() override;

  // Must be called before any requirement is declared.
  void setSlotOwner(SlotOwner* owner) { owner_ = owner; }
  void setObserver(ResourceObserver* observer) { observer_ = observer; }
  void start();

  // ResourceManagerGateway
  void declareRequirements(const std::map<Resources, int>& requirements) override;
  void releaseSlot(const std::string& slotId) override;
  void setPartitionHolders(const std::set<std::string>& taskManagerIds) override;
  void reportUnreachable(const std::string& taskManagerId, const std::string& why) override;
  void releaseAll() override;

  // DriverListener
  void onTaskManagerStarted(const std::string& taskManagerId) override;
  void onTaskManagerTerminated(const std::string& taskManagerId,
                               const std::string& reason) override;

  // RPC from TaskManagers.
  Result<v1::RegisterTaskManagerResponse> registerTaskManager(
      const v1::RegisterTaskManagerRequest& request);
  Result<v1::HeartbeatResponse> heartbeat(const v1::HeartbeatRequest& request);

  // True when no TM is alive or starting (all released).
  bool allReleased() const;

  // One entry per TM ever requested, for the job report.
  std::vector<v1::TaskManagerReport> taskManagerReports() const;

 private:
  enum class TmState { kRequested, kStarted, kRegistered, kReleasing, kGone };

  struct TaskManager {
    std::string id;
    TaskManagerSpec spec;
    TmState state = TmState::kRequested;
    std::string address;
    Resources free;
    std::map<std::string, Slot> slots;
    MonotonicTime lastHeartbeat{};
    std::optional<TimerId> idleTimer;
    std::optional<TimerId> registrationTimer;
    bool ownerNotified = false;
    v1::TaskManagerReport report;
  };

  void reconcile();
  void updateIdle(TaskManager& tm);
  void release(TaskManager& tm, const std::string& how);
  void markLost(TaskManager& tm, const std::string& reason);
  void checkHeartbeats();
  void onStartFailure(const std::string& taskManagerId, const std::string& reason);
  bool isIdle(const TaskManager& tm) const;

  EventLoop& loop_;
  ResourceManagerDriver& driver_;
  ResourceManagerConfig config_;
  SlotOwner* owner_ = nullptr;
  ResourceObserver* observer_ = nullptr;
  std::map<Resources, int> requirements_;
  std::map<std::string, TaskManager> taskManagers_;
  std::set<std::string> partitionHolders_;
  int nextTaskManager_ = 1;
  int nextSlot_ = 1;
  bool releasingAll_ = false;
  bool reconciling_ = false;
  int startFailures_ = 0;  // TMs in a row that ended before registering
  MonotonicTime launchesBlockedUntil_{};
  std::optional<TimerId> backoffTimer_;
  std::optional<TimerId> heartbeatTimer_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::scheduler
