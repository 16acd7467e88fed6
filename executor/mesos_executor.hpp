#pragma once

// The TaskManager as a Mesos custom executor: the adapter between the agent
// (ExecutorConnection) and the TaskManager component. The executor runs one
// Mesos task, the TaskManager itself:
//   LAUNCH    -> TASK_STARTING, the TaskManager starts and registers
//   registered-> TASK_RUNNING
//   KILL      -> the TaskManager stops -> TASK_KILLED
//   released or lost its ResourceManager -> TASK_FINISHED / TASK_FAILED
//   SHUTDOWN, or the agent gone past its recovery timeout -> stop and exit.
// The process exits once the final update is acknowledged (or after a grace).
// Loop thread only.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mesos/executor_connection.hpp"

namespace spdlog {
class logger;
}

namespace tailor::executor {

class MesosExecutor : public mesos::ExecutorListener {
 public:
  struct Hooks {
    std::function<void()> startTaskManager;              // begin registering
    std::function<void(const std::string&)> stopTaskManager;  // shut it down
    std::function<void(int exitCode)> exitProcess;
  };

  MesosExecutor(EventLoop& loop, Hooks hooks) : loop_(loop), hooks_(std::move(hooks)) {}
  void setConnection(mesos::ExecutorConnection* connection) { connection_ = connection; }

  // From the TaskManager.
  void onTaskManagerRegistered();
  void onTaskManagerStopped(int exitCode);

  // ExecutorListener
  void onSubscribed(const mesos::ExecutorEvent::Subscribed& subscribed) override;
  void onLaunch(const ::mesos::v1::TaskInfo& task) override;
  void onKill(const ::mesos::v1::TaskID& taskId) override;
  void onAllAcknowledged() override;
  void onShutdown() override;
  void onAgentLost(const std::string& reason) override;

 private:
  void sendState(::mesos::v1::TaskState state, const std::string& message);
  void finish(int exitCode);

  EventLoop& loop_;
  Hooks hooks_;
  mesos::ExecutorConnection* connection_ = nullptr;
  std::optional<::mesos::v1::TaskID> task_;
  bool killed_ = false;
  bool finishing_ = false;
  bool agentLost_ = false;
  int exitCode_ = 0;
};

}  // namespace tailor::executor
