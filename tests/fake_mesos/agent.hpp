#pragma once

// A fake Mesos agent: runs the executors of the tasks the master launches
// (through an ExecutorRuntime), serves the v1 executor API for them (§7),
// and relays their status updates to the master reliably, as the agent's
// task status update manager does: one update per task in flight, re-sent
// (10 s doubling to 10 min by default) until the scheduler acknowledges it.
// Executors get ACKNOWLEDGED as soon as the agent has stored their update
// (like Mesos; optionally only after the scheduler's acknowledgement).
//
// Agent-generated updates (executor exited, registration timeout, launch
// failures, kills before delivery) carry a uuid, SOURCE_AGENT and the
// container id, as in Mesos.
//
// Restarts: with a work directory, an agent checkpoints as it goes
// (checkpoint.hpp). Started again on the same directory after its process
// was killed, it recovers the executors of checkpointing frameworks, which
// kept running, with their tasks and unacknowledged updates; waits
// `reregistrationTimeout` for them to subscribe again (UPDATE and MESSAGE get
// 503 meanwhile); destroys the rest; and only then registers with its master,
// as Mesos' agent does with --recover=reconnect. Loop thread only.

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/http/server.hpp"
#include "mesos/codec.hpp"
#include "tests/fake_mesos/checkpoint.hpp"
#include "tests/fake_mesos/executor_runtime.hpp"
#include "tests/fake_mesos/files.hpp"
#include "tests/fake_mesos/ids.hpp"
#include "tests/fake_mesos/resources.hpp"
#include "tests/fake_mesos/scripting.hpp"
#include "tests/fake_mesos/state.hpp"

namespace spdlog {
class logger;
}

namespace tailor::fake_mesos {

// Where an executor's events go: its SUBSCRIBE stream, or an in-process executor.
class ExecutorEventSink {
 public:
  virtual ~ExecutorEventSink() = default;
  virtual void send(const mesos::ExecutorEvent& event) = 0;
  // Ends the subscription (the executor sees its stream end).
  virtual void close() = 0;
  // Drops the connection without ending the stream, as a dying agent process does.
  virtual void abort() { close(); }
  virtual bool closed() const = 0;
};

// The answer to an executor call, as HTTP would carry it.
struct CallAnswer {
  int status = 202;
  std::string body;
};

// What an agent tells the master (Mesos' agent-to-master messages).
class MasterLink {
 public:
  virtual ~MasterLink() = default;
  // A status update for the scheduler with the task's latest state at the agent.
  virtual void forwardStatusUpdate(const std::string& agentId, const std::string& frameworkId,
                                   const ::mesos::v1::TaskStatus& status,
                                   ::mesos::v1::TaskState latestState) = 0;
  // An executor's container ended with `status` (a wait status, or -1 when unknown).
  virtual void executorExited(const std::string& agentId, const std::string& frameworkId,
                              const std::string& executorId, int status) = 0;
  // An executor's MESSAGE call, for the scheduler.
  virtual void executorMessage(const std::string& agentId, const std::string& frameworkId,
                               const std::string& executorId, const std::string& data) = 0;
};

struct AgentConfig {
  std::string id;
  int processIndex = 1;  // the N of "slave(N)", the agent's libprocess id
  std::string hostname = "127.0.0.1";
  std::uint16_t port = 0;
  ResourceSet resources;
  std::vector<::mesos::v1::Attribute> attributes;
  std::string workDir;          // sandboxes go under <workDir>/slaves/<agent id>/...
  bool createSandboxes = true;  // false: no directories, no URI fetching (simulated executors)
  // Tasks without ExecutorInfo run: under the command executor below, or
  // under a simulated executor. Otherwise they fail at once.
  bool commandTasks = false;
  std::string commandExecutor;  // the fake-command-executor binary, for command tasks
  Duration statusUpdateRetry{10000};
  Duration statusUpdateRetryMax{600000};
  Duration registrationTimeout{60000};
  // After a restart, how long recovered executors have to subscribe again
  // (Mesos' --executor_reregistration_timeout; also their
  // MESOS_SUBSCRIPTION_BACKOFF_MAX).
  Duration reregistrationTimeout{2000};
  Duration shutdownGracePeriod{5000};
  Duration executorHeartbeat{1800000};
  bool ackExecutorAfterScheduler = false;
};

// What an agent tells a master when it registers again, as Mesos' agents do
// with a new leading master (ReregisterSlaveMessage): the frameworks with
// tasks on it and those tasks, so that the master knows them again.
struct AgentRecovery {
  struct Task {
    std::string frameworkId;
    ::mesos::v1::TaskInfo info;  // as the agent holds it; `executor` set for a custom executor
    ::mesos::v1::TaskState state = ::mesos::v1::TASK_STAGING;  // the latest at the agent
  };
  std::vector<::mesos::v1::FrameworkInfo> frameworks;
  std::vector<Task> tasks;
};

// What the master asks of an agent (Mesos' master-to-agent messages): the
// Agent below, or one in another fake-mesos process (RemoteAgent, remote.hpp).
class AgentLink {
 public:
  virtual ~AgentLink() = default;

  virtual const AgentConfig& config() const = 0;
  const std::string& id() const { return config().id; }
  // "slave(N)", the path prefix of this agent's executor API.
  std::string processId() const;

  // Launches `task` (its executor and resources already completed by the
  // master) for `framework` (with its id).
  virtual void runTask(const ::mesos::v1::FrameworkInfo& framework,
                       const ::mesos::v1::TaskInfo& task) = 0;
  virtual void killTask(const std::string& frameworkId, const std::string& taskId,
                        const std::optional<::mesos::v1::KillPolicy>& killPolicy) = 0;
  virtual void acknowledge(const std::string& frameworkId, const std::string& taskId,
                           const std::string& uuid) = 0;
  // TEARDOWN / removal: SHUTDOWN to every executor of the framework, then kill
  // after the grace period; its updates are no longer forwarded.
  virtual void shutdownFramework(const std::string& frameworkId) = 0;
  virtual void shutdownExecutor(const std::string& frameworkId, const std::string& executorId) = 0;
  virtual void frameworkMessage(const std::string& frameworkId, const std::string& executorId,
                                const std::string& data) = 0;
  // The framework subscribed again: re-send its unacknowledged updates now
  // (Mesos' agent does so when the master tells it about the new connection).
  virtual void resendPendingUpdates(const std::string& frameworkId) = 0;
  // The agent is gone: every container is destroyed and nothing more is
  // reported; its checkpoint goes too (started again, it is a new agent).
  virtual void lose() = 0;
  // The master knows these tasks of `framework` on the agent and the agent
  // did not report them when it registered again: for each it does not
  // know, the agent sends TASK_LOST (TASK_DROPPED if PARTITION_AWARE),
  // "Reconciliation: task unknown to the agent", as Mesos' agent does.
  virtual void reconcileTasks(const ::mesos::v1::FrameworkInfo& framework,
                              const std::vector<std::string>& taskIds) = 0;
  // Live executors of the framework there (Offer.executor_ids).
  virtual std::vector<std::string> executorIds(const std::string& frameworkId) const = 0;
};

class Agent : public AgentLink {
 public:
  // Sandboxes are attached to `files` (the process's /files endpoint).
  Agent(EventLoop& loop, AgentConfig config, ExecutorRuntime& runtime, MasterLink& master,
        IdGenerator& ids, FaultPlan& faults, SandboxFiles& files);
  ~Agent() override;
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  const AgentConfig& config() const override { return config_; }
  // AgentInfo as the executor's SUBSCRIBED shows it.
  ::mesos::v1::AgentInfo info() const;

  // --- From the master (AgentLink) -------------------------------------------

  void runTask(const ::mesos::v1::FrameworkInfo& framework,
               const ::mesos::v1::TaskInfo& task) override;
  void killTask(const std::string& frameworkId, const std::string& taskId,
                const std::optional<::mesos::v1::KillPolicy>& killPolicy) override;
  void acknowledge(const std::string& frameworkId, const std::string& taskId,
                   const std::string& uuid) override;
  void shutdownFramework(const std::string& frameworkId) override;
  void shutdownExecutor(const std::string& frameworkId, const std::string& executorId) override;
  void frameworkMessage(const std::string& frameworkId, const std::string& executorId,
                        const std::string& data) override;
  void resendPendingUpdates(const std::string& frameworkId) override;
  void lose() override;
  void reconcileTasks(const ::mesos::v1::FrameworkInfo& framework,
                      const std::vector<std::string>& taskIds) override;
  bool lost() const { return lost_; }
  std::vector<std::string> executorIds(const std::string& frameworkId) const override;
  bool hasExecutor(const std::string& frameworkId, const std::string& executorId) const;

  // What it tells a new leading master: its frameworks with tasks, and the
  // tasks not yet removed (terminal ones whose update waits for its acknowledgement too).
  AgentRecovery recovery() const;

  // --- Restarts ---------------------------------------------------------------

  // The checkpoint directory of agent N of a work directory: <workDir>/meta/slave(N).
  static std::string checkpointDir(const std::string& workDir, int processIndex);

  // Starts the agent from what its checkpoint holds (`state`, read from
  // checkpointDir(); empty for a new agent): writes its AgentInfo, takes over
  // the containers of checkpointing frameworks' executors and destroys the
  // others, then waits for the recovered executors as the header says.
  // `recovered` runs once the agent may register with its master (at once
  // when nothing waits). An AgentInfo other than info() (other resources,
  // attributes or port) is an error, as Mesos' "Incompatible agent info".
  // Without a checkpoint (no work directory) `recovered` runs at once.
  Status recover(const AgentCheckpoint::State& state, std::function<void()> recovered);
  bool recovering() const { return recovering_; }

  // The agent's process dies (SIGKILL): executor streams are cut, timers
  // stop, nothing more is reported and nothing is cleaned up; containers and
  // checkpoint stay for the next agent. The object stays valid, and empty.
  void crash();
  // --- Executor API ---------------------------------------------------------

  // Handles a decoded executor call (after the HTTP checks of wire.hpp);
  // `subscriber` receives the stream of a SUBSCRIBE.
  CallAnswer executorCall(const mesos::ExecutorCall& call,
                          std::shared_ptr<ExecutorEventSink> subscriber);

  // Serves POST .../api/v1/executor for this agent.
  void handleExecutorRequest(const http::Request& request, const mesos::ExecutorCall& call,
                             http::Responder respond);

  // --- Scripting and state --------------------------------------------------

  // SIGKILLs the container of the executor running `taskId`; false if none here.
  bool killExecutorOfTask(const std::string& taskId);
  bool hasTask(const std::string& taskId) const;
  // The container of the live executor running `taskId`, if any.
  std::optional<std::string> containerOfTask(const std::string& taskId) const;
  void snapshot(StateSnapshot& state) const;

 private:
  enum class ExecutorState { kRegistering, kRunning, kTerminating, kTerminated };

  // How the agent ends a container's remaining tasks (Mesos' pendingTermination).
  struct Termination {
    ::mesos::v1::TaskState state = ::mesos::v1::TASK_FAILED;
    ::mesos::v1::TaskStatus::Reason reason = ::mesos::v1::TaskStatus::REASON_EXECUTOR_TERMINATED;
    std::string message = "Executor terminated";
  };

  struct Task {
    ::mesos::v1::TaskInfo info;
    std::string executorId;
    ::mesos::v1::TaskState state = ::mesos::v1::TASK_STAGING;
    bool delivered = false;  // LAUNCH sent to the executor
    TimerId killTimer = 0;
  };

  struct Executor {
    std::string id;
    std::string frameworkId;
    std::string containerId;
    std::string sandbox;
    ::mesos::v1::ExecutorInfo info;
    ExecutorState state = ExecutorState::kRegistering;
    std::optional<pid_t> pid;
    std::shared_ptr<ExecutorEventSink> stream;
    std::vector<std::string> taskIds;  // launched here, in order (completed ones dropped)
    std::optional<Termination> termination;
    bool recovered = false;  // taken over after a restart, not subscribed again yet
    TimerId registrationTimer = 0;
    TimerId shutdownTimer = 0;
    TimerId heartbeatTimer = 0;
  };

  // One task's updates: the front is in flight until acknowledged.
  struct UpdateStream {
    std::deque<::mesos::v1::TaskStatus> pending;
    std::set<std::string> receivedUuids;
    std::set<std::string> fromExecutor;  // uuids to acknowledge to the executor later
    bool terminated = false;             // a terminal update was received
    TimerId retryTimer = 0;
    Duration retryInterval{0};
  };

  struct Framework {
    ::mesos::v1::FrameworkInfo info;
    bool terminating = false;
    std::map<std::string, Executor> executors;
    std::map<std::string, Task> tasks;
    std::map<std::string, UpdateStream> streams;
  };

  Framework* framework(const std::string& frameworkId);
  Executor* executor(const std::string& frameworkId, const std::string& executorId);
  // Serves the sandbox on /files/read (files.hpp).
  void attachSandbox(const Executor& exec);
  Executor* launchExecutor(Framework& framework, const ::mesos::v1::ExecutorInfo& info,
                           std::string* error, std::string* containerId);
  std::map<std::string, std::string> environmentFor(const Framework& framework,
                                                    const Executor& executor) const;
  void deliver(Executor& executor, Task& task);
  void send(Executor& executor, const mesos::ExecutorEvent& event);
  void failLaunch(Framework& framework, const Task& task, const std::string& containerId,
                  const std::string& message);
  void subscribe(Framework& framework, Executor& executor,
                 const mesos::ExecutorCall::Subscribe& subscribe,
                 std::shared_ptr<ExecutorEventSink> subscriber);
  void destroy(Executor& executor, std::optional<Termination> termination);
  void beginShutdown(Executor& executor);
  void executorExited(const std::string& frameworkId, const std::string& executorId, int status);
  void armHeartbeat(const std::string& frameworkId, const std::string& executorId);

  // The agent's status update manager.
  void statusUpdate(const std::string& frameworkId, ::mesos::v1::TaskStatus status,
                    bool fromExecutor);
  ::mesos::v1::TaskStatus agentStatus(const std::string& frameworkId, const Task& task,
                                      const std::string& containerId, ::mesos::v1::TaskState state,
                                      ::mesos::v1::TaskStatus::Reason reason,
                                      const std::string& message);
  void forwardFront(const std::string& frameworkId, const std::string& taskId);
  void scheduleRetry(const std::string& frameworkId, const std::string& taskId);
  void acknowledgeToExecutor(const std::string& frameworkId, const ::mesos::v1::TaskStatus& status);
  void dropTaskIfDone(Framework& framework, const std::string& taskId);
  void forgetFrameworkIfIdle(const std::string& frameworkId);

  // Restarts.
  void recoverFramework(const std::string& frameworkId, const AgentCheckpoint::Framework& saved,
                        const std::map<std::string, checkpoint::Container>& containers);
  void destroyOrphans(const std::map<std::string, checkpoint::Container>& containers);
  void reregistrationTimedOut();
  void finishRecovery();
  void dropTasksUnknownToExecutor(Framework& framework, const Executor& executor,
                                  const mesos::ExecutorCall::Subscribe& subscribe);
  ExecutorRuntime::ExitCallback exitHandler(const std::string& frameworkId,
                                            const std::string& executorId,
                                            const std::string& containerId);

  // The checkpoint (only with a checkpoint directory; tasks and executors
  // only of checkpointing frameworks).
  bool checkpointing(const Framework& framework) const;
  void checkpointTask(const Framework& framework, const std::string& taskId);
  void checkpointExecutor(const Framework& framework, const Executor& executor);

  EventLoop& loop_;
  AgentConfig config_;
  ExecutorRuntime& runtime_;
  MasterLink& master_;
  IdGenerator& ids_;
  FaultPlan& faults_;
  SandboxFiles& files_;
  std::shared_ptr<spdlog::logger> log_;
  bool lost_ = false;
  std::map<std::string, Framework> frameworks_;
  std::unique_ptr<AgentCheckpoint> checkpoint_;
  bool recovering_ = false;
  TimerId reregistrationTimer_ = 0;
  std::function<void()> recovered_;
};

}  // namespace tailor::fake_mesos
