#include "tests/fake_mesos/command_executor.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <iostream>

#include "common/logging.hpp"
#include "tests/fake_mesos/executor_runtime.hpp"

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;

Duration fromDurationInfo(const v1::DurationInfo& info) {
  return std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(info.nanoseconds()));
}

// The "(Command: ...)" part of the executor's name, shortened as Mesos does.
std::string commandSummary(const v1::CommandInfo& command) {
  if (command.shell()) {
    if (!command.has_value()) return "(Command: NO COMMAND)";
    const std::string& value = command.value();
    return "(Command: sh -c '" + (value.size() > 15 ? value.substr(0, 12) + "..." : value) + "')";
  }
  if (!command.has_value()) return "(Command: NO EXECUTABLE)";
  std::string args = command.value() + ", ";
  for (int i = 0; i < command.arguments_size(); ++i) {
    if (i > 0) args += ", ";
    args += command.arguments(i);
  }
  return "(Command: [" + (args.size() > 15 ? args.substr(0, 12) + "..." : args) + "])";
}

}  // namespace

v1::ExecutorInfo commandExecutorInfo(const std::string& frameworkId, const v1::TaskInfo& task,
                                     const std::string& executorPath) {
  v1::ExecutorInfo executor;
  executor.mutable_executor_id()->set_value(task.task_id().value());
  executor.mutable_framework_id()->set_value(frameworkId);
  if (task.has_container()) *executor.mutable_container() = task.container();
  executor.set_name("Command Executor (Task: " + task.task_id().value() + ") " +
                    commandSummary(task.command()));
  // The task's URIs are fetched into the sandbox before the executor starts;
  // its environment is the executor's too.
  *executor.mutable_command()->mutable_uris() = task.command().uris();
  if (task.command().has_environment()) {
    *executor.mutable_command()->mutable_environment() = task.command().environment();
  }
  if (task.has_labels()) *executor.mutable_labels() = task.labels();
  if (task.has_discovery()) *executor.mutable_discovery() = task.discovery();
  // Time for the executor's own escalation before the agent destroys it.
  if (task.has_kill_policy() && task.kill_policy().has_grace_period()) {
    Duration grace =
        fromDurationInfo(task.kill_policy().grace_period()) + CommandExecutor::kShutdownReserve;
    executor.mutable_shutdown_grace_period()->set_nanoseconds(
        std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count());
  }
  if (task.command().has_user()) executor.mutable_command()->set_user(task.command().user());
  executor.mutable_command()->set_shell(false);
  executor.mutable_command()->set_value(executorPath);
  executor.mutable_command()->add_arguments("fake-command-executor");
  return executor;
}

std::string describeCommandStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    std::string text = std::string("terminated with signal ") + strsignal(WTERMSIG(status));
    if (WCOREDUMP(status)) text += " (core dumped)";
    return text;
  }
  return "wait status " + std::to_string(status);
}

CommandExecutor::CommandExecutor(EventLoop& loop, ProcessLauncher& launcher, Config config,
                                 Hooks hooks)
    : loop_(loop),
      launcher_(launcher),
      config_(std::move(config)),
      hooks_(std::move(hooks)),
      log_(logger("command-executor")) {}

CommandExecutor::~CommandExecutor() {
  if (escalationTimer_ != 0) loop_.cancelTimer(escalationTimer_);
  if (acknowledgementTimer_ != 0) loop_.cancelTimer(acknowledgementTimer_);
}

void CommandExecutor::onSubscribed(const mesos::ExecutorEvent::Subscribed& subscribed) {
  const auto& capabilities = subscribed.framework_info().capabilities();
  taskKillingCapable_ = std::any_of(capabilities.begin(), capabilities.end(), [](const auto& c) {
    return c.type() == v1::FrameworkInfo::Capability::TASK_KILLING_STATE;
  });
}

void CommandExecutor::sendStatus(const v1::TaskID& taskId, v1::TaskState state,
                                 const std::string& message) {
  v1::TaskStatus status;
  *status.mutable_task_id() = taskId;
  status.set_state(state);
  if (!message.empty()) status.set_message(message);
  hooks_.update(std::move(status));
}

SpawnOptions CommandExecutor::spawnOptions(const v1::TaskInfo& task) const {
  SpawnOptions options;
  options.argv = commandArgv(task.command());
  // The executor's environment, then the CommandInfo's (unresolved secrets skipped).
  options.env = config_.environment;
  for (const auto& variable : task.command().environment().variables()) {
    if (variable.type() == v1::Environment::Variable::SECRET) continue;
    options.env[variable.name()] = variable.value();
  }
  if (task.resources_size() > 0 && task.resources(0).has_allocation_info()) {
    options.env["MESOS_ALLOCATION_ROLE"] = task.resources(0).allocation_info().role();
  }
  options.workDir = config_.sandbox;
  // stdout and stderr: the executor's, i.e. the sandbox's files.
  options.dieWithParent = true;
  return options;
}

void CommandExecutor::onLaunch(const v1::TaskInfo& task) {
  if (task_) {
    sendStatus(task.task_id(), v1::TASK_FAILED,
               "Attempted to run multiple tasks using a \"command\" executor");
    return;
  }
  task_ = task;
  const std::string& taskId = task.task_id().value();
  sendStatus(task.task_id(), v1::TASK_STARTING);
  if (task.has_kill_policy()) killPolicy_ = task.kill_policy();
  if (!task.has_command() || !task.command().has_value()) {
    // Mesos' executor aborts here; the agent then fails the task.
    log_->error("task {} has no command to run", taskId);
    exitOnce(1);
    return;
  }
  auto pid = launcher_.launch(spawnOptions(task), [this](int status) { reaped(status); });
  if (pid.ok()) {
    pid_ = *pid;
    log_->info("task {}: forked command at pid {}", taskId, *pid);
  } else {
    // Mesos' launch helper reports a failed exec on stderr and exits with 1.
    std::cerr << "Failed to execute '" << task.command().value() << "': " << pid.error().message
              << std::endl;
    loop_.post([this] { reaped(1 << 8); });  // the wait status of exit(1)
  }
  sendStatus(task.task_id(), v1::TASK_RUNNING);
  launched_ = true;
}

void CommandExecutor::onKill(const v1::TaskID& taskId) { onKillWithPolicy(taskId, std::nullopt); }

void CommandExecutor::onKillWithPolicy(const v1::TaskID& taskId,
                                       const std::optional<v1::KillPolicy>& killPolicy) {
  if (!task_ || taskId.value() != task_->task_id().value()) {
    log_->warn("ignoring KILL of unknown task {}", taskId.value());
    return;
  }
  // The KILL's policy takes precedence over the task's.
  Duration grace = kDefaultKillGracePeriod;
  if (killPolicy && killPolicy->has_grace_period()) {
    grace = fromDurationInfo(killPolicy->grace_period());
  } else if (killPolicy_ && killPolicy_->has_grace_period()) {
    grace = fromDurationInfo(killPolicy_->grace_period());
  }
  log_->info("received KILL of task {} with a grace period of {} ms", taskId.value(),
             grace.count());
  killCommand(grace);
}

void CommandExecutor::onShutdown() {
  log_->info("shutting down (task {})", task_ ? task_->task_id().value() : "none");
  if (!launched_) {
    exitOnce(0);
    return;
  }
  killCommand(std::max(Duration(0), config_.shutdownGracePeriod - kShutdownReserve));
}

void CommandExecutor::killCommand(Duration grace) {
  if (terminated_ || !launched_) return;
  MonotonicTime deadline = loop_.now() + grace;
  if (killed_) {
    // A repeated kill may only bring the SIGKILL closer.
    if (deadline >= escalationDeadline_) return;
    loop_.cancelTimer(escalationTimer_);
  } else {
    killed_ = true;
    if (taskKillingCapable_) sendStatus(task_->task_id(), v1::TASK_KILLING);
    if (pid_) {
      log_->info("task {}: sending SIGTERM to the process group of pid {}",
                 task_->task_id().value(), *pid_);
      launcher_.signal(*pid_, SIGTERM);
    }
  }
  escalationDeadline_ = deadline;
  escalationTimer_ = loop_.runAfter(grace, [this] {
    escalationTimer_ = 0;
    escalate();
  });
}

void CommandExecutor::escalate() {
  if (terminated_ || !pid_) return;
  log_->info("task {}: pid {} did not end within its grace period: sending SIGKILL",
             task_->task_id().value(), *pid_);
  launcher_.signal(*pid_, SIGKILL);
}

void CommandExecutor::reaped(int waitStatus) {
  terminated_ = true;
  if (escalationTimer_ != 0) {
    loop_.cancelTimer(escalationTimer_);
    escalationTimer_ = 0;
  }
  std::string message = "Command " + describeCommandStatus(waitStatus);
  log_->info("task {}: {}", task_->task_id().value(), message);
  if (agentLost_) {
    exitOnce(0);  // nobody to tell
    return;
  }
  v1::TaskState state = killed_                                                 ? v1::TASK_KILLED
                        : WIFEXITED(waitStatus) && WEXITSTATUS(waitStatus) == 0 ? v1::TASK_FINISHED
                                                                                : v1::TASK_FAILED;
  sendStatus(task_->task_id(), state, message);
  terminalSent_ = true;
  // Exit once the agent acknowledged it, or anyway after a while.
  acknowledgementTimer_ = loop_.runAfter(kAcknowledgementTimeout, [this] {
    acknowledgementTimer_ = 0;
    log_->warn("task {}: the terminal update was not acknowledged: exiting",
               task_->task_id().value());
    exitOnce(0);
  });
}

void CommandExecutor::onAllAcknowledged() {
  if (terminalSent_) exitOnce(0);
}

void CommandExecutor::onAgentLost(const std::string& reason) {
  log_->error("agent lost (task {}): {}", task_ ? task_->task_id().value() : "none", reason);
  agentLost_ = true;
  if (!launched_ || terminated_) {
    exitOnce(0);
    return;
  }
  killCommand(std::max(Duration(0), config_.shutdownGracePeriod - kShutdownReserve));
}

void CommandExecutor::exitOnce(int exitCode) {
  if (exited_) return;
  exited_ = true;
  hooks_.exit(exitCode);
}

}  // namespace tailor::fake_mesos
