#include "executor/mesos_executor.hpp"

#include "common/logging.hpp"

namespace tailor::executor {

namespace v1 = ::mesos::v1;

void MesosExecutor::sendState(v1::TaskState state, const std::string& message) {
  if (!task_ || connection_ == nullptr) return;
  v1::TaskStatus status;
  *status.mutable_task_id() = *task_;
  status.set_state(state);
  if (!message.empty()) status.set_message(message);
  connection_->update(status);
}

void MesosExecutor::onSubscribed(const mesos::ExecutorEvent::Subscribed& subscribed) {}

void MesosExecutor::onLaunch(const v1::TaskInfo& task) {
  if (task_) {
    // One TaskManager per executor: refuse a second task.
    v1::TaskStatus status;
    *status.mutable_task_id() = task.task_id();
    status.set_state(v1::TASK_FAILED);
    status.set_message("this executor already runs TaskManager " + task_->value());
    connection_->update(status);
    return;
  }
  task_ = task.task_id();
  logger("taskmanager")->info("launched as Mesos task {}", task.task_id().value());
  sendState(v1::TASK_STARTING, "");
  hooks_.startTaskManager();
}

void MesosExecutor::onTaskManagerRegistered() {
  sendState(v1::TASK_RUNNING, "registered with the ResourceManager");
}

void MesosExecutor::onKill(const v1::TaskID& taskId) {
  if (!task_ || taskId.value() != task_->value()) return;
  killed_ = true;
  hooks_.stopTaskManager("killed by the framework");
}

void MesosExecutor::onTaskManagerStopped(int exitCode) {
  if (agentLost_) {
    hooks_.exitProcess(exitCode);
    return;
  }
  if (killed_) {
    sendState(v1::TASK_KILLED, "killed");
  } else if (exitCode == 0) {
    sendState(v1::TASK_FINISHED, "released");
  } else {
    sendState(v1::TASK_FAILED, "the TaskManager stopped with code " + std::to_string(exitCode));
  }
  finish(exitCode);
}

void MesosExecutor::finish(int exitCode) {
  if (finishing_) return;
  finishing_ = true;
  exitCode_ = exitCode;
  if (connection_ == nullptr || connection_->unacknowledged() == 0) {
    hooks_.exitProcess(exitCode_);
    return;
  }
  // Wait for the agent to acknowledge the last update, but not forever.
  loop_.runAfter(Duration(5000), [this] { hooks_.exitProcess(exitCode_); });
}

void MesosExecutor::onAllAcknowledged() {
  if (finishing_) hooks_.exitProcess(exitCode_);
}

void MesosExecutor::onShutdown() {
  killed_ = true;
  hooks_.stopTaskManager("the agent asked the executor to shut down");
}

void MesosExecutor::onAgentLost(const std::string& reason) {
  logger("taskmanager")->error("agent lost: {}", reason);
  agentLost_ = true;  // nobody to send updates to
  hooks_.stopTaskManager("agent lost: " + reason);
}

}  // namespace tailor::executor
