#pragma once

// Mesos' built-in command executor (src/launcher/executor.cpp), for the fake
// agent's command tasks (a TaskInfo with `command` and no `executor`):
//
//  - commandExecutorInfo(): the ExecutorInfo the agent makes for such a task
//    (Slave::getExecutorInfo): ExecutorID = TaskID, "Command Executor (Task:
//    ID) (Command: sh -c '...')", the task's URIs (fetched before the executor
//    starts) and environment, and a command that runs `fake-command-executor`;
//  - CommandExecutor: the executor itself, driven by the v1 executor API
//    (ExecutorConnection). On LAUNCH it sends TASK_STARTING, starts the task's
//    CommandInfo in its own process group (`/bin/sh -c value`, or exec(value,
//    arguments)) with the executor's environment plus the CommandInfo's, and
//    sends TASK_RUNNING; when the command ends, TASK_FINISHED (exit 0) or
//    TASK_FAILED ("Command exited with status N" / "Command terminated with
//    signal S"). KILL and SHUTDOWN send SIGTERM to the command's process
//    group, SIGKILL after the grace period (the KILL's kill policy, else the
//    task's, else 3 s; SHUTDOWN: the shutdown grace period less 2 s), then
//    TASK_KILLED. The process exits once its terminal update is acknowledged
//    (or 60 s after sending it).
//
// Loop thread only.

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/event_loop.hpp"
#include "common/process_launcher.hpp"
#include "mesos/executor_connection.hpp"

namespace spdlog {
class logger;
}

namespace tailor::fake_mesos {

// The ExecutorInfo a Mesos agent runs a command task under; `executorPath`
// is the command executor binary. Pure.
::mesos::v1::ExecutorInfo commandExecutorInfo(const std::string& frameworkId,
                                              const ::mesos::v1::TaskInfo& task,
                                              const std::string& executorPath);

// How Mesos describes a command's wait status (stout's WSTRINGIFY):
// "exited with status 3", "terminated with signal Killed". Pure.
std::string describeCommandStatus(int waitStatus);

class CommandExecutor : public mesos::ExecutorListener {
 public:
  // Mesos' default kill grace period of the command executor.
  static constexpr Duration kDefaultKillGracePeriod{3000};
  // What SHUTDOWN leaves the agent to destroy the container (Mesos'
  // MAX_REAP_INTERVAL plus one second).
  static constexpr Duration kShutdownReserve{2000};
  // How long the executor waits for the acknowledgement of its last update.
  static constexpr Duration kAcknowledgementTimeout{60000};

  struct Config {
    // The command's base environment (the executor's own, with MESOS_SANDBOX
    // etc.); the CommandInfo's variables are added to it.
    std::map<std::string, std::string> environment;
    std::string sandbox;                 // the command's working directory; empty: the executor's
    Duration shutdownGracePeriod{5000};  // MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD
  };

  struct Hooks {
    // Sends a status update (ExecutorConnection::update fills uuid, source...).
    std::function<void(::mesos::v1::TaskStatus)> update;
    // Ends the executor process with `exitCode`; called at most once.
    std::function<void(int exitCode)> exit;
  };

  CommandExecutor(EventLoop& loop, ProcessLauncher& launcher, Config config, Hooks hooks);
  ~CommandExecutor() override;
  CommandExecutor(const CommandExecutor&) = delete;
  CommandExecutor& operator=(const CommandExecutor&) = delete;

  // ExecutorListener
  void onSubscribed(const mesos::ExecutorEvent::Subscribed& subscribed) override;
  void onLaunch(const ::mesos::v1::TaskInfo& task) override;
  void onKill(const ::mesos::v1::TaskID& taskId) override;
  void onKillWithPolicy(const ::mesos::v1::TaskID& taskId,
                        const std::optional<::mesos::v1::KillPolicy>& killPolicy) override;
  void onAllAcknowledged() override;
  void onShutdown() override;
  void onAgentLost(const std::string& reason) override;

  // The command's pid once launched (for tests).
  std::optional<pid_t> commandPid() const { return pid_; }

 private:
  SpawnOptions spawnOptions(const ::mesos::v1::TaskInfo& task) const;
  void sendStatus(const ::mesos::v1::TaskID& taskId, ::mesos::v1::TaskState state,
                  const std::string& message = "");
  // Starts (or shortens) the kill of the command: SIGTERM now, SIGKILL after `grace`.
  void killCommand(Duration grace);
  void escalate();
  void reaped(int waitStatus);
  void exitOnce(int exitCode);

  EventLoop& loop_;
  ProcessLauncher& launcher_;
  Config config_;
  Hooks hooks_;
  std::shared_ptr<spdlog::logger> log_;

  bool taskKillingCapable_ = false;  // the framework understands TASK_KILLING
  std::optional<::mesos::v1::TaskInfo> task_;
  std::optional<::mesos::v1::KillPolicy> killPolicy_;
  std::optional<pid_t> pid_;
  bool launched_ = false;
  bool killed_ = false;
  bool terminated_ = false;    // the command was reaped
  bool terminalSent_ = false;  // its terminal update went out
  bool agentLost_ = false;
  bool exited_ = false;
  MonotonicTime escalationDeadline_{};
  TimerId escalationTimer_ = 0;
  TimerId acknowledgementTimer_ = 0;
};

}  // namespace tailor::fake_mesos
