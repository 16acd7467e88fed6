#include "tests/fake_mesos/simulated_executor.hpp"

#include <set>

#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {

namespace v1 = ::mesos::v1;
using mesos::ExecutorCall;
using mesos::ExecutorEvent;

class SimulatedExecutorRuntime::Executor : public ExecutorEventSink,
                                           public std::enable_shared_from_this<Executor> {
 public:
  Executor(SimulatedExecutorRuntime& runtime, ContainerLaunch launch, ExitCallback onExit)
      : runtime_(runtime), launch_(std::move(launch)), onExit_(std::move(onExit)) {}

  void start() {
    ExecutorCall call = callOf(ExecutorCall::SUBSCRIBE);
    call.mutable_subscribe();
    CallAnswer answer = runtime_.api_->executorCall(launch_.agentId, call, shared_from_this());
    if (answer.status != 200) exit(-1);
  }

  // Events arrive while the agent is in the middle of its own work: react later.
  void send(const ExecutorEvent& event) override {
    runtime_.loop_.post([self = shared_from_this(), event] { self->handle(event); });
  }
  void close() override { closed_ = true; }
  bool closed() const override { return closed_ || exited_; }

  Status update(const std::string& taskId, v1::TaskState state, const std::string& message) {
    if (exited_) return makeError(ErrorCode::kFailedPrecondition, "executor exited");
    ExecutorCall call = callOf(ExecutorCall::UPDATE);
    v1::TaskStatus* status = call.mutable_update()->mutable_status();
    status->mutable_task_id()->set_value(taskId);
    status->set_state(state);
    if (!message.empty()) status->set_message(message);
    status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
    status->mutable_executor_id()->set_value(launch_.executorId);
    status->set_uuid(runtime_.ids_.randomUuidBytes());
    CallAnswer answer = runtime_.api_->executorCall(launch_.agentId, call, nullptr);
    if (answer.status != 202) {
      return makeError(ErrorCode::kFailedPrecondition, "UPDATE answered {}: {}", answer.status,
                       answer.body);
    }
    if (isTerminalState(state)) {
      live_.erase(taskId);
      if (live_.empty()) runtime_.loop_.post([self = shared_from_this()] { self->exit(0); });
    }
    return Status::okStatus();
  }

  void exit(int status) {
    if (exited_) return;
    exited_ = true;
    runtime_.executors_.erase(launch_.containerId);
    auto onExit = std::move(onExit_);
    runtime_.loop_.post([onExit, status] { onExit(status); });
  }

 private:
  ExecutorCall callOf(ExecutorCall::Type type) const {
    ExecutorCall call;
    call.mutable_framework_id()->set_value(launch_.frameworkId);
    call.mutable_executor_id()->set_value(launch_.executorId);
    call.set_type(type);
    return call;
  }

  void handle(const ExecutorEvent& event) {
    if (exited_) return;
    switch (event.type()) {
      case ExecutorEvent::LAUNCH: {
        std::string taskId = event.launch().task().task_id().value();
        live_.insert(taskId);
        (void)update(taskId, v1::TASK_STARTING, "");
        (void)update(taskId, v1::TASK_RUNNING, "");
        break;
      }
      case ExecutorEvent::KILL: {
        std::string taskId = event.kill().task_id().value();
        if (live_.count(taskId) != 0) (void)update(taskId, v1::TASK_KILLED, "");
        break;
      }
      case ExecutorEvent::SHUTDOWN: {
        auto tasks = live_;
        for (const auto& taskId : tasks) (void)update(taskId, v1::TASK_KILLED, "");
        exit(0);
        break;
      }
      default:
        break;
    }
  }

  SimulatedExecutorRuntime& runtime_;
  ContainerLaunch launch_;
  ExitCallback onExit_;
  std::set<std::string> live_;
  bool closed_ = false;
  bool exited_ = false;
};

SimulatedExecutorRuntime::~SimulatedExecutorRuntime() = default;

Result<std::optional<pid_t>> SimulatedExecutorRuntime::launch(const ContainerLaunch& launch,
                                                              ExitCallback onExit) {
  auto executor = std::make_shared<Executor>(*this, launch, std::move(onExit));
  executors_[launch.containerId] = executor;
  loop_.post([executor] { executor->start(); });
  return std::optional<pid_t>();
}

void SimulatedExecutorRuntime::destroy(const std::string& containerId) {
  auto it = executors_.find(containerId);
  if (it == executors_.end()) return;
  auto executor = it->second;
  executor->exit(9);  // the wait status of a SIGKILLed process
}

Status SimulatedExecutorRuntime::sendStatus(const std::string& containerId,
                                            const std::string& taskId, v1::TaskState state,
                                            const std::string& message) {
  auto it = executors_.find(containerId);
  if (it == executors_.end()) {
    return makeError(ErrorCode::kNotFound, "no simulated executor in container {}", containerId);
  }
  auto executor = it->second;
  return executor->update(taskId, state, message);
}

}  // namespace tailor::fake_mesos
