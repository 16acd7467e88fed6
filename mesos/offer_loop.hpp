#pragma once

// The part of a Mesos framework that every Tailor framework shares: the
// JobManager's (TaskManagers as tasks) and the Dispatcher's (JobManagers as
// tasks). It keeps the tasks the framework wants, places the pending ones on
// offers with matchOffers() (several per offer, best fit, ports from the
// offer), ACCEPTs with one LAUNCH per offer and DECLINEs the rest with a
// refuse filter, holds offers for a short batch window (so a RESCIND right
// behind its offer is honoured), SUPPRESSes when nothing is pending and
// REVIVEs when demand returns, ACKNOWLEDGEs every update that carries a uuid,
// KILLs until Mesos says a task ended (again after a re-subscribe or a lost
// KILL, or when a task Mesos could not reach is seen again), KILLs tasks it
// does not know, and RECONCILEs launched tasks after every subscription, with
// back-off until each answered (and, for a task last said TASK_UNREACHABLE or
// TASK_UNKNOWN, until Mesos knows it again). What a task is
// (its TaskInfo) and what its life means is the owner's business.
//
// Loop thread only; owner callbacks run on the loop.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/event_loop.hpp"
#include "common/resources.hpp"
#include "mesos/offer_matcher.hpp"
#include "mesos/scheduler_connection.hpp"

namespace spdlog {
class logger;
}

namespace tailor::mesos {

struct OfferLoopConfig {
  std::string role = "*";
  Duration refuse{5000};  // DECLINE and ACCEPT filter
  // Offers are held at most this long before they are used or declined.
  // Zero: each OFFERS event at once.
  Duration offerBatchWindow{0};
  Duration reconcileBackoff{30000};  // first retry of an unanswered RECONCILE
};

// What the framework using the loop provides and hears.
class OfferLoopOwner {
 public:
  virtual ~OfferLoopOwner() = default;

  // The TaskInfo that launches `taskId` on `offer` with `ports` (as many as requested).
  virtual ::mesos::v1::TaskInfo makeTask(const std::string& taskId,
                                         const ::mesos::v1::Offer& offer,
                                         const std::vector<std::uint64_t>& ports) = 0;

  // The ACCEPT launching `taskId` was sent: Mesos holds its resources from now on.
  virtual void onTaskLaunched(const std::string& taskId, const ::mesos::v1::Offer& offer) = 0;

  // A non-terminal update of a launched task (TASK_STARTING, TASK_RUNNING, ...).
  virtual void onTaskUpdate(const std::string& taskId, const ::mesos::v1::TaskStatus& status) = 0;

  // The task is gone: a terminal update (reason says which), or its framework
  // was removed. The loop forgot it before calling.
  virtual void onTaskEnded(const std::string& taskId, const std::string& reason,
                           const ::mesos::v1::TaskStatus* status) = 0;
};

class OfferLoop : public SchedulerListener {
 public:
  OfferLoop(EventLoop& loop, OfferLoopConfig config, OfferLoopOwner& owner,
            const std::string& loggerName);
  ~OfferLoop() override;
  OfferLoop(const OfferLoop&) = delete;
  OfferLoop& operator=(const OfferLoop&) = delete;

  void setConnection(SchedulerConnection* connection) { connection_ = connection; }

  // Subscribes with `info` (re-using its id when set). Once.
  void start(const ::mesos::v1::FrameworkInfo& info);

  // Wants `taskId` launched where `resources` (task and executor together)
  // and `portsNeeded` ports are free.
  void request(const std::string& taskId, const Resources& resources, int portsNeeded);

  // Drops a request not launched yet; false when there is none pending.
  bool withdraw(const std::string& taskId);

  // Ends a launched task: KILL after `grace` (at once when zero), again until
  // a terminal update arrives. A pending request is withdrawn instead.
  void kill(const std::string& taskId, Duration grace = Duration(0));

  // A task launched before (by an earlier incarnation of this framework):
  // tracked as launched and reconciled at the next subscription.
  void adopt(const std::string& taskId, const std::string& agentId);

  // TEARDOWN: the framework and its tasks end. Nothing is sent after it.
  void teardown();
  bool tornDown() const { return tornDown_; }

  bool knows(const std::string& taskId) const { return tasks_.count(taskId) != 0; }

  // True when the latest offers left a pending request unplaced (and it is
  // still pending): the cluster's free resources cannot hold it now.
  bool pendingUnplaced() const { return unplaced_ && anyPending(); }

  // The largest offer seen from one agent (cpus, then memory), as the
  // largest task the cluster can take; nullopt before the first offer.
  std::optional<Resources> largestAgentOffer() const;
  // "agent A (host) offered cpus=1,...; ..." for the agents seen, largest first.
  std::string describeOffersSeen() const;
  // Of the largest offer seen from each agent, the one that comes closest to
  // holding `need` (closerFit; ties by agent id), as "agent A (host)" and
  // what it offered; nullopt before the first offer.
  std::optional<std::pair<std::string, Resources>> closestAgentOffer(const Resources& need) const;
  bool pending(const std::string& taskId) const;

  // SchedulerListener
  void onSubscribed(const std::string& frameworkId, bool isNewFramework) override;
  void onEvent(const SchedulerEvent& event) override;
  void onDisconnected(const std::string& reason) override;

 private:
  enum class State { kPending, kLaunched, kKilling };

  struct Task {
    State state = State::kPending;
    Resources resources;
    int portsNeeded = 0;
    std::string agentId;
    MonotonicTime lastUpdate{};
    bool unreachable = false;  // the latest update: TASK_UNREACHABLE or TASK_UNKNOWN
  };

  void onOffers(const ::mesos::v1::scheduler::Event::Offers& offers);
  void processHeldOffers();
  void onUpdate(const ::mesos::v1::TaskStatus& status);
  void ended(const std::string& taskId, const std::string& reason,
             const ::mesos::v1::TaskStatus* status);
  void updateSuppression();
  void sendKill(const std::string& taskId, const std::string& agentId);
  void reconcile(Duration backoff);
  void send(SchedulerCall call);

  EventLoop& loop_;
  OfferLoopConfig config_;
  OfferLoopOwner& owner_;
  SchedulerConnection* connection_ = nullptr;
  std::map<std::string, Task> tasks_;
  bool suppressed_ = false;
  bool tornDown_ = false;
  std::map<std::string, ::mesos::v1::Offer> held_;  // by offer id
  struct AgentSeen {
    std::string hostname;
    Resources largest;  // the largest offer from it (cpus, then memory)
  };
  std::map<std::string, AgentSeen> agents_;  // by agent id
  bool unplaced_ = false;  // the latest offers left a request unplaced
  bool anyPending() const;
  std::optional<TimerId> batchTimer_;
  MonotonicTime reconcileStartedAt_{};
  std::optional<TimerId> reconcileTimer_;
  std::shared_ptr<spdlog::logger> log_;
};

// What a Tailor framework subscribes with.
struct FrameworkSettings {
  std::string name;
  std::string user;  // empty: the current user
  std::string role = "*";
  std::string principal;
  double failoverTimeoutSeconds = 600;
  bool checkpoint = true;
  std::string hostname;
  std::string webuiUrl;
  bool gpus = false;  // GPU_RESOURCES capability
  // PARTITION_AWARE capability: Mesos says TASK_UNREACHABLE, TASK_UNKNOWN,
  // TASK_GONE, ... instead of TASK_LOST (docs/mesos.md, "Status updates").
  bool partitionAware = false;
};

// The FrameworkInfo for `settings` (MULTI_ROLE, one role), without an id (pure).
::mesos::v1::FrameworkInfo makeFrameworkInfo(const FrameworkSettings& settings);

// Where a process on the agent `hostname` should listen: the address itself
// when it is an IP literal, else every interface.
std::string bindAddressFor(const std::string& hostname);

// The usable part of an offer: unreserved scalars and ports for `role` (pure).
OfferView offerView(const ::mesos::v1::Offer& offer, const std::string& role);

// Whether Mesos considers a task in `state` ended (its isTerminalState):
// TASK_UNREACHABLE and TASK_UNKNOWN are not, the task may still run.
bool isTerminal(::mesos::v1::TaskState state);

// TASK_UNREACHABLE or TASK_UNKNOWN: Mesos cannot say whether the task runs.
bool isUnreachable(::mesos::v1::TaskState state);

// Adds cpus, mem, disk and gpus (those above zero) as scalars allocated to `role`.
void addScalarResources(google::protobuf::RepeatedPtrField<::mesos::v1::Resource>* out,
                        const Resources& resources, const std::string& role);

}  // namespace tailor::mesos
