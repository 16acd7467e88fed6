#pragma once

// How a fake agent runs an executor's container (Mesos' containerizer):
//  - ProcessExecutorRuntime: a local process, `/bin/sh -c <value>` or
//    exec(value, arguments), in the sandbox, with the agent's environment and
//    stdout/stderr files in the sandbox, as the Mesos containerizer's posix
//    launcher does;
//  - ExternalExecutorRuntime: nothing is started; a hook (a test) starts or
//    plays the executor, which then subscribes on the executor API;
//  - SimulatedExecutorRuntime (simulated_executor.hpp): an in-process executor.
// Loop thread only.

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/process_launcher.hpp"
#include "common/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace tailor::fake_mesos {

// The argv that runs `command` as Mesos does: `/bin/sh -c value` for a shell
// command, else exec(value) with `arguments` (arguments[0] is argv[0], which
// Mesos replaces by the program it runs).
std::vector<std::string> commandArgv(const ::mesos::v1::CommandInfo& command);

// SIGKILLs `pid`, its process group, and every descendant with its process
// group, as Mesos' posix launcher destroys a container (os::killtree).
void killProcessTree(pid_t pid);

// What a runtime gets to start an executor.
struct ContainerLaunch {
  std::string agentId;
  std::string frameworkId;
  std::string executorId;
  std::string containerId;
  std::string sandbox;  // the executor's working directory (created, URIs fetched)
  ::mesos::v1::ExecutorInfo executorInfo;
  std::map<std::string, std::string> environment;  // the whole environment of the executor
};

class ExecutorRuntime {
 public:
  // Runs on the loop with the executor's wait status once its container ended.
  using ExitCallback = std::function<void(int waitStatus)>;
  virtual ~ExecutorRuntime() = default;

  // Starts the executor of `launch`. Returns its pid (none when there is no
  // process) or why it could not start; `onExit` runs only after a success.
  virtual Result<std::optional<pid_t>> launch(const ContainerLaunch& launch,
                                              ExitCallback onExit) = 0;

  // Destroys the container at once (SIGKILL to its whole process tree); its
  // ExitCallback follows. A no-op for an ended container.
  virtual void destroy(const std::string& containerId) = 0;
};

class ProcessExecutorRuntime : public ExecutorRuntime {
 public:
  explicit ProcessExecutorRuntime(ProcessLauncher& launcher) : launcher_(launcher) {}

  Result<std::optional<pid_t>> launch(const ContainerLaunch& launch, ExitCallback onExit) override;
  void destroy(const std::string& containerId) override;

 private:
  ProcessLauncher& launcher_;
  std::map<std::string, pid_t> running_;  // container id -> pid
};

// Starts nothing: `hook` (may be empty) is told about each launch and returns
// the executor's pid if it knows one. destroy() reports the container as
// killed by SIGKILL.
class ExternalExecutorRuntime : public ExecutorRuntime {
 public:
  using Hook = std::function<std::optional<pid_t>(const ContainerLaunch&)>;
  ExternalExecutorRuntime(EventLoop& loop, Hook hook) : loop_(loop), hook_(std::move(hook)) {}

  Result<std::optional<pid_t>> launch(const ContainerLaunch& launch, ExitCallback onExit) override;
  void destroy(const std::string& containerId) override;

 private:
  EventLoop& loop_;
  Hook hook_;
  std::map<std::string, ExitCallback> running_;
};

}  // namespace tailor::fake_mesos
