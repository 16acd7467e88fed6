#pragma once

// The fake Mesos master: the v1 scheduler API (POST /api/v1/scheduler and
// /master/api/v1/scheduler) with the real master's validation, status codes
// and plain-text answers (§1.2, §1.5), SUBSCRIBE streams with heartbeats,
// failover, disconnection and failover timeouts (§2), offers from the
// allocator (§5.1), ACCEPT validated like Mesos (§3.2), kills, status update
// forwarding and acknowledgement, and reconciliation (§5.6).
//
// Master failover (with ZooKeeper, fake_mesos.hpp): a newly elected master
// expects the agents of the registry (expectAgents); until one registers
// again, reconciliation of its unknown tasks gets no answer, as Mesos' master
// answers while it recovers agents. An agent registering again brings its
// frameworks and tasks (reregisterAgent); a framework known only from its
// agents is "recovered" until it subscribes again. An agent it was not
// waiting for (none is, with an in-memory registry: its master answers
// TASK_UNKNOWN for their tasks meanwhile, TASK_LOST to frameworks that are not
// PARTITION_AWARE) brings its tasks with an update each,
// REASON_AGENT_REREGISTERED, as Mesos' master sends them.
//
// Agent restarts: an agent whose process goes away is disconnected
// (agentDisconnected): its offers are rescinded and it gets no more; the
// tasks and executors of frameworks that do not checkpoint are removed, their
// tasks TASK_LOST, REASON_AGENT_DISCONNECTED, as Mesos' master does; kills
// for it wait. When it registers again, what the master knows and it does not
// is reconciled through it (reregisterAgent). One that stays away past
// `agentReregisterTimeout` is unreachable.
//
// What it does not model: authentication, ACLs, quota and weights, offer
// constraints and offer filters of FrameworkInfo, operations other than
// LAUNCH (RESERVE, CREATE, ... are ignored), LAUNCH_GROUP (TASK_ERROR), inverse
// offers, operation feedback, and agent health checks (pings).
//
// Loop thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/http/server.hpp"
#include "mesos/codec.hpp"
#include "tests/fake_mesos/agent.hpp"
#include "tests/fake_mesos/allocator.hpp"
#include "tests/fake_mesos/ids.hpp"
#include "tests/fake_mesos/scripting.hpp"
#include "tests/fake_mesos/state.hpp"

namespace spdlog {
class logger;
}

namespace tailor::fake_mesos {

struct MasterConfig {
  std::string hostname = "127.0.0.1";
  std::uint16_t port = 0;
  std::string version = "1.12.0";
  Duration heartbeatInterval{15000};
  std::optional<Duration> offerTimeout;  // unset: offers never expire
  Duration agentReregisterTimeout{600000};  // Mesos' --agent_reregister_timeout
};

class Master : public MasterLink {
 public:
  Master(EventLoop& loop, MasterConfig config, IdGenerator& ids, Allocator& allocator,
         FaultPlan& faults);
  ~Master() override;
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Registers an agent (its resources go to the allocator).
  void addAgent(AgentLink& agent);

  // An agent registers (again) with what runs on it: it becomes known with its
  // frameworks (recovered ones added), tasks and executors. An agent already
  // known (after a restart, `agent` may be a new object) is connected again
  // and reconciled as Mesos' master does: tasks it did not report are
  // reconciled through it, executors it did not report are removed, tasks
  // killed while it was away are killed again, frameworks removed meanwhile
  // are shut down there, tasks only it knows are added.
  void reregisterAgent(AgentLink& agent, const AgentRecovery& recovery);
  bool knowsAgent(const std::string& agentId) const { return agents_.count(agentId) != 0; }

  // The agent's process went away (its connection to the master closed), as
  // the header says. Nothing is sent to it until it registers again.
  void agentDisconnected(const std::string& agentId);

  // Just elected: the agents of the registry are expected to register again.
  // Those that have not after `timeout` are unreachable (Mesos'
  // --agent_reregister_timeout).
  void expectAgents(const std::vector<std::string>& agentIds, Duration timeout);

  // Serves the scheduler API endpoint.
  void handleScheduler(const http::Request& request, http::Responder respond);

  // One allocation pass: offers to active frameworks.
  void allocate();

  // MasterInfo as SUBSCRIBED shows it.
  ::mesos::v1::MasterInfo info() const;

  // --- Scripting and operator actions --------------------------------------

  // Cuts the event stream of `frameworkId`, or of every connected framework,
  // without a last chunk (a network drop).
  Status dropStream(const std::optional<std::string>& frameworkId);
  // RESCIND now; the resources go back without a filter.
  Status rescindOffer(const std::string& offerId);
  // The agent is lost: TASK_LOST (TASK_UNREACHABLE for PARTITION_AWARE) for
  // its tasks, RESCIND for its offers, FAILURE{agent_id} to every framework.
  Status loseAgent(const std::string& agentId);
  // Removes a framework as TEARDOWN does (operator /master/teardown).
  Status teardown(const std::string& frameworkId);
  // Closes every stream (the fake is stopping).
  void shutdown();

  void snapshot(StateSnapshot& state) const;

  // GET /master/frameworks as a Mesos 1.12 master answers it: "frameworks"
  // (subscribed, and disconnected ones within their failover timeout),
  // "completed_frameworks" (removed ones, the latest 50), and an empty
  // "unregistered_frameworks". `frameworkId` set: only that framework.
  std::string frameworksJson(const std::string& frameworkId) const;

  // --- MasterLink ------------------------------------------------------------
  void forwardStatusUpdate(const std::string& agentId, const std::string& frameworkId,
                           const ::mesos::v1::TaskStatus& status,
                           ::mesos::v1::TaskState latestState) override;
  void executorExited(const std::string& agentId, const std::string& frameworkId,
                      const std::string& executorId, int status) override;
  void executorMessage(const std::string& agentId, const std::string& frameworkId,
                       const std::string& executorId, const std::string& data) override;

 private:
  struct Task {
    ::mesos::v1::TaskInfo info;
    std::string agentId;
    std::string executorId;
    std::string role;
    ResourceSet resources;
    ::mesos::v1::TaskState state = ::mesos::v1::TASK_STAGING;  // latest at the agent
    std::optional<::mesos::v1::TaskState> updateState;         // of the update in flight
    std::string updateUuid;
    std::optional<::mesos::v1::TaskStatus> lastStatus;
    bool resourcesRecovered = false;
  };

  struct ExecutorRecord {
    ::mesos::v1::ExecutorInfo info;
    ResourceSet resources;
    std::string role;
  };

  struct Framework {
    std::string id;
    ::mesos::v1::FrameworkInfo info;
    bool connected = false;
    std::shared_ptr<http::StreamWriter> stream;
    mesos::ContentType encoding = mesos::ContentType::kJson;
    std::string streamId;
    std::uint64_t connection = 0;
    TimerId heartbeatTimer = 0;
    TimerId failoverTimer = 0;
    std::map<std::string, Task> tasks;
    std::map<std::pair<std::string, std::string>, ExecutorRecord> executors;  // (agent, executor)
    bool recovered = false;       // known from its agents only, not subscribed since
    double registeredTime = 0;    // epoch seconds of the first SUBSCRIBE
    double reregisteredTime = 0;  // of the latest failover
    double unregisteredTime = 0;  // when removed
  };

  struct Offer {
    ::mesos::v1::Offer proto;
    std::string frameworkId;
    std::string agentId;
    std::string role;
    ResourceSet resources;
    TimerId timeoutTimer = 0;
  };

  // SUBSCRIBE
  void subscribe(std::shared_ptr<http::StreamWriter> writer, mesos::ContentType encoding,
                 const std::string& streamId, const mesos::SchedulerCall::Subscribe& subscribe);
  void disconnected(const std::string& frameworkId, std::uint64_t connection);
  void armHeartbeat(const std::string& frameworkId);
  // By value: callers pass the framework's own id, which moving the framework empties.
  void removeFramework(std::string frameworkId, const std::string& why);

  // Calls
  http::Response dispatch(Framework& framework, const mesos::SchedulerCall& call);
  void accept(Framework& framework, const mesos::SchedulerCall::Accept& accept);
  void launchTask(Framework& framework, const Offer& offer, const ::mesos::v1::TaskInfo& task,
                  ResourceSet& remaining);
  void decline(Framework& framework, const mesos::SchedulerCall::Decline& decline);
  void kill(Framework& framework, const mesos::SchedulerCall::Kill& kill);
  void acknowledge(Framework& framework, const mesos::SchedulerCall::Acknowledge& ack);
  void reconcile(Framework& framework, const mesos::SchedulerCall::Reconcile& reconcile);
  void updateFrameworkInfo(Framework& framework, const ::mesos::v1::FrameworkInfo& info,
                           const google::protobuf::RepeatedPtrField<std::string>& suppressedRoles,
                           bool replaceSuppressed);

  // Events
  void send(Framework& framework, const mesos::SchedulerEvent& event);
  void sendMasterUpdate(Framework& framework, const std::string& taskId, const std::string& agentId,
                        ::mesos::v1::TaskState state, ::mesos::v1::TaskStatus::Reason reason,
                        const std::string& message, const std::string& executorId = "");
  void removeOffer(const std::string& offerId, bool rescind);
  void completeTask(Framework& framework, const std::string& taskId);
  void writeFrameworkJson(const Framework& framework, std::string& out) const;

  // The agent if it is registered and connected, else nullptr.
  AgentLink* agent(const std::string& agentId) const;
  void reconnectAgent(AgentLink& agent, const AgentRecovery& recovery);
  // Removes the tasks and executors of `fw` on the agent, each task
  // TASK_LOST with `reason` and `message` (from the master).
  void removeFrameworkFromAgent(Framework& fw, const std::string& agentId,
                                ::mesos::v1::TaskStatus::Reason reason, const std::string& message);
  // TASK_LOST (TASK_UNREACHABLE for PARTITION_AWARE) for its tasks, RESCIND
  // for its offers, FAILURE{agent_id} to every framework; no more offers.
  void markUnreachable(const std::string& agentId, const std::string& message);
  Framework& recoveredFramework(const ::mesos::v1::FrameworkInfo& info);
  // Adds a task an agent brought. `announce` set: the master was not waiting
  // for the agent (unknown, or unreachable), and connected frameworks get an
  // update in the task's state with REASON_AGENT_REREGISTERED and that message.
  void recoverTask(const std::string& agentId, const AgentRecovery::Task& task,
                   const std::string& announce);
  // True while the agent is expected to register again (no reconciliation answer).
  bool recovering(const std::string& agentId) const;
  Framework* framework(const std::string& frameworkId);
  std::vector<std::string> rolesOf(const ::mesos::v1::FrameworkInfo& info) const;
  bool hasCapability(const ::mesos::v1::FrameworkInfo& info,
                     ::mesos::v1::FrameworkInfo::Capability::Type type) const;

  EventLoop& loop_;
  MasterConfig config_;
  IdGenerator& ids_;
  Allocator& allocator_;
  FaultPlan& faults_;
  std::shared_ptr<spdlog::logger> log_;
  std::uint64_t nextConnection_ = 1;
  std::map<std::string, Framework> frameworks_;
  std::map<std::string, Offer> offers_;
  std::vector<std::string> agentOrder_;
  std::map<std::string, AgentLink*> agents_;
  std::set<std::string> recovering_;  // registry agents not registered again yet
  std::map<std::string, TimerId> disconnected_;  // agent id -> its reregistration timer
  // Kills that could not reach a disconnected agent: (framework id, task id) by agent id.
  std::map<std::string, std::set<std::pair<std::string, std::string>>> killedTasks_;
  TimerId recoveryTimer_ = 0;
  std::map<std::string, double> unreachable_;  // agent id -> when (epoch seconds)
  std::set<std::string> removedFrameworkIds_;
  std::vector<StateSnapshot::Framework> removedFrameworks_;
  std::deque<Framework> completedFrameworks_;       // /master/frameworks; the latest 50
  std::deque<StateSnapshot::Task> completedTasks_;  // the latest kMaxCompletedTasks
};

}  // namespace tailor::fake_mesos
