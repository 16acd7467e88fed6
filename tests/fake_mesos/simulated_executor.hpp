#pragma once

// Executors without processes, for scale tests (--simulate-executors). Each
// simulated executor is an in-process client of the agent's executor API: it
// subscribes at once, answers every LAUNCH with TASK_STARTING then
// TASK_RUNNING, every KILL with TASK_KILLED, SHUTDOWN with TASK_KILLED for
// each task, and exits (wait status 0) once it has no running task left.
// sendStatus() makes one send any other update (e.g. TASK_FINISHED).
// Loop thread only.

#include <map>
#include <memory>
#include <string>

#include "common/event_loop.hpp"
#include "tests/fake_mesos/agent.hpp"
#include "tests/fake_mesos/executor_runtime.hpp"
#include "tests/fake_mesos/ids.hpp"

namespace tailor::fake_mesos {

// The agents' executor API without HTTP (implemented by the fake cluster).
class ExecutorApi {
 public:
  virtual ~ExecutorApi() = default;
  // Handles `call` on agent `agentId` as its executor endpoint would.
  virtual CallAnswer executorCall(const std::string& agentId, const mesos::ExecutorCall& call,
                                  std::shared_ptr<ExecutorEventSink> subscriber) = 0;
};

class SimulatedExecutorRuntime : public ExecutorRuntime {
 public:
  SimulatedExecutorRuntime(EventLoop& loop, IdGenerator& ids) : loop_(loop), ids_(ids) {}
  ~SimulatedExecutorRuntime() override;

  // Must be set before the first launch.
  void setApi(ExecutorApi* api) { api_ = api; }

  Result<std::optional<pid_t>> launch(const ContainerLaunch& launch, ExitCallback onExit) override;
  // False: a simulated executor lives in its agent and does not outlive it.
  bool recover(const checkpoint::Container&, ExitCallback) override { return false; }
  void destroy(const std::string& containerId) override;

  // Makes the executor in `containerId` send `state` for `taskId`.
  Status sendStatus(const std::string& containerId, const std::string& taskId,
                    ::mesos::v1::TaskState state, const std::string& message);

 private:
  class Executor;

  EventLoop& loop_;
  IdGenerator& ids_;
  ExecutorApi* api_ = nullptr;
  std::map<std::string, std::shared_ptr<Executor>> executors_;  // by container id
};

}  // namespace tailor::fake_mesos
