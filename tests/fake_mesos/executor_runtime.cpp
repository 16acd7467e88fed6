#include "tests/fake_mesos/executor_runtime.hpp"

#include <signal.h>

namespace tailor::fake_mesos {

Result<std::optional<pid_t>> ProcessExecutorRuntime::launch(const ContainerLaunch& launch,
                                                            ExitCallback onExit) {
  const auto& command = launch.executorInfo.command();
  SpawnOptions options;
  if (command.shell()) {
    options.argv = {"/bin/sh", "-c", command.value()};
  } else {
    // exec(value, arguments...): arguments[0] is argv[0]; Mesos runs `value`.
    options.argv.assign(command.arguments().begin(), command.arguments().end());
    if (options.argv.empty()) options.argv.push_back(command.value());
    options.argv[0] = command.value();
  }
  options.env = launch.environment;
  options.workDir = launch.sandbox;
  options.stdoutFile = launch.sandbox + "/stdout";
  options.stderrFile = launch.sandbox + "/stderr";
  options.dieWithParent = true;
  std::string containerId = launch.containerId;
  auto pid = launcher_.launch(options, [this, containerId, onExit](int status) {
    running_.erase(containerId);
    onExit(status);
  });
  if (!pid.ok()) return pid.error();
  running_[containerId] = *pid;
  return std::optional<pid_t>(*pid);
}

void ProcessExecutorRuntime::destroy(const std::string& containerId) {
  auto it = running_.find(containerId);
  if (it == running_.end()) return;
  // The whole container: the executor's process group, then the executor.
  ::kill(-it->second, SIGKILL);
  launcher_.signal(it->second, SIGKILL);
}

Result<std::optional<pid_t>> ExternalExecutorRuntime::launch(const ContainerLaunch& launch,
                                                             ExitCallback onExit) {
  std::optional<pid_t> pid;
  if (hook_) pid = hook_(launch);
  running_[launch.containerId] = std::move(onExit);
  return pid;
}

void ExternalExecutorRuntime::destroy(const std::string& containerId) {
  auto it = running_.find(containerId);
  if (it == running_.end()) return;
  auto onExit = std::move(it->second);
  running_.erase(it);
  loop_.post([onExit] { onExit(SIGKILL); });  // the wait status of a SIGKILLed process
}

}  // namespace tailor::fake_mesos
