#pragma once

// The ResourceManager owns TaskManagers and their slots. It cuts slots from
// registered TMs' free resources to meet the requirements each job's
// JobMaster declares, asks its driver for new TMs (sized by the sizing
// policy over the union of what is still unmet, within the room the cluster
// has), withdraws requests whose demand went away, and releases TMs nobody
// needs. A per-job JobManager has one job; a session many (docs/sessions.md):
// when they compete for slots, the job with the smallest dominant share
// (weighted by its priority) gets the next one.
//
// Events flow one way: calls into the ResourceManager (from the JobMaster,
// the driver, RPC) only record what happened and post one pass; the pass
// (runPass) tells the owner, plans and acts. Nothing calls back into its
// caller. Loop thread only. See docs/architecture.md.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/metrics.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"
#include "scheduler/resourcemanager/driver.hpp"
#include "scheduler/resourcemanager/placement_wait.hpp"
#include "scheduler/resourcemanager/sizing_policy.hpp"
#include "scheduler/resourcemanager/slot_planner.hpp"
#include "scheduler/slot.hpp"
#include "tailor/v1/report.pb.h"
#include "tailor/v1/rpc.pb.h"

namespace spdlog {
class logger;
}

namespace tailor::scheduler {

// A JobMaster as the ResourceManager sees it.
class SlotOwner {
 public:
  virtual ~SlotOwner() = default;

  // Offers a freshly cut slot. Returns true if the owner takes it; a refused
  // slot goes back to the TM's free resources. Called from the RM's pass.
  virtual bool offerSlot(const Slot& slot) = 0;

  // A slot cut for attempt `attemptId`, deployed by an earlier JobManager
  // attempt and still running on the TaskManager that registered again
  // (docs/ha.md). True if the owner takes it; a refused slot goes back to
  // the TM's free resources. Called from the RM's pass.
  virtual bool adoptSlot(const Slot& slot, const std::string& attemptId) = 0;

  // A TaskManager is gone (lost, or released); its slots and the partitions
  // it held are gone with it. Every job hears it, whether it used the
  // TaskManager or not.
  virtual void onTaskManagerLost(const std::string& taskManagerId, const std::string& reason) = 0;

  // TaskManagers cannot be had: too many in a row failed before registering,
  // or demand could not be placed for the placement timeout while the job
  // held no TaskManager. The owner should give up (fail the job) with `reason`.
  virtual void onResourcesUnavailable(const std::string& reason) = 0;

  // Demand has waited for room for a while, and `holders` (TMs that only
  // keep partitions: no slot in use) take room. The owner should move their
  // partitions elsewhere and stop naming them as holders.
  virtual void onPlacementStalled(const std::set<std::string>& holders) = 0;
};

// What a JobMaster calls on the ResourceManager: its job's side of it
// (ResourceManager::addJob).
class ResourceManagerGateway {
 public:
  virtual ~ResourceManagerGateway() = default;

  // Replaces the job's requirements: slots still wanted, by task profile.
  // Other jobs' requirements stay as they are.
  virtual void declareRequirements(const std::map<Resources, int>& requirements) = 0;

  // Replaces the job's solo requirements: tasks (by task profile) that each
  // want a TaskManager of their own, with no other slot on it while they run
  // (a task whose TaskManager was lost runs again so: docs/sizing.md,
  // "Solo retries"). Such a slot holds the whole TaskManager (Slot::solo).
  virtual void declareSoloRequirements(const std::map<Resources, int>& requirements) = 0;

  // Gives back a slot the owner no longer uses.
  virtual void releaseSlot(const std::string& slotId) = 0;

  // Marks the TMs that hold partitions the job still needs; they are never
  // idle.
  virtual void setPartitionHolders(const std::set<std::string>& taskManagerIds) = 0;

  // Reports a TM as unreachable (an input fetch from it failed); the RM
  // stops it and treats it as lost.
  virtual void reportUnreachable(const std::string& taskManagerId, const std::string& why) = 0;

  // The job ended. Per-job mode: every TM is released at once. Session:
  // the job's slots are free again and its partitions no longer hold TMs.
  virtual void releaseAll() = 0;

  // The largest slot a task could ever get: what the driver can place
  // (ResourceManagerDriver::maxTaskManager), or the fixed sizing's slot.
  virtual Resources largestSlot() const = 0;

  // Why the job's declared demand for `profile` (a task profile) waits, as
  // far as the ResourceManager knows now. A query: changes nothing, calls
  // nobody back (docs/observability.md, "Placement diagnostics").
  virtual PlacementWait placement(const Resources& profile) const = 0;
};

// Events worth showing to users (progress display, report).
class ResourceObserver {
 public:
  virtual ~ResourceObserver() = default;
  virtual void onTaskManagerRequested(const std::string& id, const TaskManagerSpec& spec) = 0;
  // `address`: host:port of its RPC (and /metrics) endpoint; `launchedAt`:
  // when the driver launched it (seconds since the epoch).
  virtual void onTaskManagerRegistered(const std::string& id, const std::string& address,
                                       double launchedAt) = 0;
  // `how` is the report's exit text; `lost` says whether the TM was lost.
  virtual void onTaskManagerReleased(const std::string& id, const std::string& how,
                                     bool lost) = 0;
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
  // Demand that waits this long for room makes idle partition holders give
  // their partitions away (SlotOwner::onPlacementStalled).
  Duration evacuateAfter{2000};
  // Demand that cannot be placed this long while the job holds no
  // TaskManager fails the job (Flink's slot.request.timeout is 5 min too).
  Duration placementTimeout{300000};
  // A TM the driver reports unreachable is kept (its slots and partitions in
  // use) while its heartbeat lives, at most this long; then it is lost.
  // Mesos' --agent_reregister_timeout is 10 min too (docs/mesos.md).
  Duration unreachableTimeout{600000};
  // A session (docs/sessions.md): a job's end releases its slots only; TMs
  // stay for the idle timeout, and idle ones are kept while the TMs left
  // would hold less than `minResources`, which the session also starts with.
  bool session = false;
  Resources minResources;
};

class ResourceManager : public DriverListener {
 public:
  ResourceManager(EventLoop& loop, ResourceManagerDriver& driver, ResourceManagerConfig config);
  ~ResourceManager() override;

  // Adds a job; its JobMaster calls the returned gateway, valid until
  // removeJob(). `priority` (at least 1) weights the job's fair share.
  ResourceManagerGateway& addJob(const std::string& jobId, int priority = 1);
  // Before the job declares anything: who is offered its slots.
  void setSlotOwner(const std::string& jobId, SlotOwner* owner);
  // After the job ended (its gateway's releaseAll()): forgets it.
  void removeJob(const std::string& jobId);
  // The session ends: every TM is released.
  void releaseEverything();
  void setObserver(ResourceObserver* observer) { observer_ = observer; }
  // Before start(): the number of the first TaskManager (tm-N), so that ids
  // go on from an earlier attempt's (docs/ha.md).
  void setFirstTaskManagerNumber(std::uint64_t number) {
    nextTaskManager_ = std::max<std::uint64_t>(1, number);
  }
  // Before start(): a TaskManager an earlier attempt started (its driver
  // adopts it too). It counts as started; it is registered when it registers
  // again, and lost when it does not within `timeout`. The attempts it says
  // it runs when it registers get slots of the sizes it names
  // (SlotOwner::adoptSlot).
  void adoptTaskManager(const std::string& id, std::uint64_t number, const Resources& total,
                        Duration timeout);
  void start();

  // DriverListener
  void onTaskManagerStarted(const std::string& taskManagerId) override;
  void onTaskManagerTerminated(const std::string& taskManagerId,
                               const std::string& reason) override;
  void onCapacityChanged() override { requestPass(); }
  // Kept until reachable again, its heartbeat stops (or, not registered yet,
  // its registration times out) or config.unreachableTimeout passes.
  void onTaskManagerUnreachable(const std::string& taskManagerId,
                                const std::string& reason) override;
  void onTaskManagerReachable(const std::string& taskManagerId) override;

  // RPC from TaskManagers.
  Result<v1::RegisterTaskManagerResponse> registerTaskManager(
      const v1::RegisterTaskManagerRequest& request);
  Result<v1::HeartbeatResponse> heartbeat(const v1::HeartbeatRequest& request);

  // True when no TM is alive or starting (all released).
  bool allReleased() const;

  // Jobs added and not removed.
  int jobCount() const { return static_cast<int>(jobs_.size()); }

  // TMs requested so far (for tests and benchmarks).
  int taskManagersRequested() const { return static_cast<int>(taskManagers_.size()); }

  // One entry per TM ever requested, for the job report.
  std::vector<v1::TaskManagerReport> taskManagerReports() const;

  // Why job `jobId`'s demand for task profile `profile` waits
  // (ResourceManagerGateway::placement): no_fit when a TaskManager for one
  // task fits nowhere the driver can place one, else launching while
  // TaskManagers that would hold it are requested or starting, else (a
  // session) queue while other jobs hold slots, else no_fit when the
  // cluster's free room lacks it. kNone when the job wants no such slot.
  PlacementWait placementOf(const std::string& jobId, const Resources& profile) const;

 private:
  class JobGateway;
  struct Job {
    std::string id;
    int priority = 1;
    std::uint64_t order = 0;  // of addition: ties of the fair share go to the older
    SlotOwner* owner = nullptr;
    std::unique_ptr<JobGateway> gateway;
    std::map<Resources, int> requirements;
    std::map<Resources, int> solo;  // tasks that want a TaskManager of their own
    std::set<std::string> partitionHolders;
    std::optional<std::string> unavailableToTell;
    bool gaveUp = false;
    bool ended = false;  // releaseAll() was called
    bool wants() const { return !requirements.empty() || !solo.empty(); }
  };

  // ResourceManagerGateway of one job.
  void declareRequirements(Job& job, const std::map<Resources, int>& requirements);
  void declareSoloRequirements(Job& job, const std::map<Resources, int>& requirements);
  void releaseSlot(const std::string& slotId);
  void setPartitionHolders(Job& job, const std::set<std::string>& taskManagerIds);
  void reportUnreachable(const std::string& taskManagerId, const std::string& why);
  void releaseAll(Job& job);

  enum class TmState { kRequested, kStarted, kRegistered, kReleasing, kGone };
  // Why a TM ended (or is ending); the report's `exit` is written from it.
  enum class TmEnd { kNone, kWithdrawn, kUnneeded, kIdle, kJobEnd, kLost };

  struct TaskManager {
    std::string id;
    std::uint64_t number = 0;  // order of request: ids are never parsed back
    TaskManagerSpec spec;
    TmState state = TmState::kRequested;
    TmEnd end = TmEnd::kNone;
    std::string endDetail;  // the loss reason
    std::string address;
    Resources free;
    std::map<std::string, Slot> slots;
    bool everUsed = false;  // a slot was ever cut from it
    MonotonicTime requestedAt{};
    MonotonicTime lastHeartbeat{};
    std::optional<TimerId> idleTimer;
    std::optional<TimerId> registrationTimer;
    std::optional<TimerId> unreachableTimer;  // set while the driver says unreachable
    bool ownerNotified = false;
    bool adopted = false;  // started by an earlier attempt (its outputs may be in use)
    bool warm = false;     // requested for the session's minimum, not for demand
    // Requested for one task of job `soloJob` (of `soloProfile`) alone; while
    // set, no other slot is cut from it. `holdsSolo`: that slot is cut.
    std::string soloJob;
    Resources soloProfile;
    bool holdsSolo = false;
    v1::TaskManagerReport report;
  };

  // Posts one pass unless one is posted already.
  void requestPass();
  void runPass();
  void notifyOwner();
  // Cuts slots from registered TMs for the jobs that compete; what they
  // still want (by task profile, less what their owners refused) is left in
  // `unmet`.
  void cutSlots(std::map<Resources, int>& unmet);
  // Cuts one slot after another, each for the job with the smallest
  // weighted dominant share.
  void cutFairly(std::vector<Job*> competing, std::map<Job*, std::map<Resources, int>>& wanted);
  // Registered TaskManagers slots may be cut from (none kept for a solo task).
  std::vector<TaskManagerView> registeredViews() const;
  // Solo requirements: cuts the whole of each registered TaskManager kept for
  // one, requests one TaskManager for each still without, and returns the
  // requested ones still needed (not to be withdrawn).
  std::set<std::string> placeSolo(const Resources& largest);
  // Applies `cuts` for `job`; false when its owner refused one (the profile
  // goes from `wanted`).
  bool applyCuts(Job& job, const std::vector<SlotCut>& cuts, std::map<Resources, int>& wanted);
  // Session: asks for a TM for what the TMs alive lack of the minimum.
  void keepWarm(const Resources& largest);
  Resources aliveTotal() const;
  // What new TaskManagers may still take (the driver's capacity less every
  // TaskManager not gone); none when the driver sets no bound.
  std::optional<Resources> roomLeft() const;
  // Adds a requested TaskManager of `spec` with the next id; launch() asks
  // the driver for it.
  TaskManager& newTaskManager(const TaskManagerSpec& spec);
  void launch(const TaskManager& tm);
  // What the fair share orders jobs by: what registered TMs hold, by job
  // and in all.
  struct Shares {
    std::map<std::string, Resources> held;  // by job id
    Resources total;
    // True when the fair share serves `a` before `b`: the smaller dominant
    // share weighted by priority, ties to the job added first.
    bool before(const Job* a, const Job* b) const;
  };
  Shares shares() const;
  // The smallest TaskManager the sizing policy would launch for one slot of `slot`.
  Resources taskManagerFor(const Resources& slot) const;
  // Where `job` is in the order its session's fair share serves the jobs
  // that want slots (1: next), and how many there are.
  std::pair<int, int> queuePosition(const Job& job) const;
  bool holdsPartitions(const std::string& taskManagerId) const;
  Job* jobOf(const std::string& jobId);
  // Requests TMs for `unmet` within the room; true when some is left without one.
  // `largest` is the largest TM the driver can place now.
  bool requestTaskManagers(const std::map<Resources, int>& unmet, const Resources& largest);
  void withdrawUnneeded(const std::set<std::string>& pendingNeeded, const Resources& largest);
  void updateWaiting(bool waiting, bool blocked);
  void updateIdle(TaskManager& tm, bool demandWaits);
  void release(TaskManager& tm, TmEnd end);
  void markLost(TaskManager& tm, const std::string& reason);
  void cancelTimers(TaskManager& tm);
  void checkHeartbeats();
  void onStartFailure(const std::string& taskManagerId, const std::string& reason);
  bool isIdle(const TaskManager& tm) const;
  static bool holds(const TaskManager& tm);
  bool holdsAny() const;
  static std::string exitText(TmEnd end, const std::string& detail);
  // Metrics: TaskManagers by state (at each scrape), outcomes counted.
  void addTaskManagerSamples(metrics::GaugeSamples& samples) const;
  static void countOutcome(const char* outcome);
  static std::string describeDemand(const std::map<Resources, int>& requirements);
  std::map<Resources, int> allRequirements() const;

  EventLoop& loop_;
  ResourceManagerDriver& driver_;
  ResourceManagerConfig config_;
  ResourceObserver* observer_ = nullptr;
  std::map<std::string, Job> jobs_;
  std::uint64_t nextJobOrder_ = 1;
  std::map<std::string, TaskManager> taskManagers_;
  std::uint64_t nextTaskManager_ = 1;
  int nextSlot_ = 1;
  bool releasingAll_ = false;
  bool passPosted_ = false;
  // What the owner has to hear at the next pass, in order.
  std::vector<std::pair<std::string, std::string>> lostToTell_;
  std::vector<std::pair<Slot, std::string>> adoptedToTell_;  // slot, attempt id
  int startFailures_ = 0;  // TMs in a row that ended before registering
  MonotonicTime launchesBlockedUntil_{};
  std::optional<TimerId> backoffTimer_;
  std::optional<TimerId> heartbeatTimer_;
  // Demand waiting for room (unmet, or requested and not started) since then.
  std::optional<MonotonicTime> waitingSince_;
  MonotonicTime lastHeldAt_{};  // the last time a TaskManager was held
  MonotonicTime lastEvacuationAt_{};
  std::optional<TimerId> waitTimer_;
  std::shared_ptr<spdlog::logger> log_;
  // Last: unregistered before the state it reads goes.
  metrics::CollectorHandle taskManagerGauge_;
};

}  // namespace tailor::scheduler
