#pragma once

// How a fake agent runs an executor's container (Mesos' containerizer):
//  - ProcessExecutorRuntime: a local process, `/bin/sh -c <value>` or
//    exec(value, arguments), in the sandbox, with the agent's environment and
//    stdout/stderr files in the sandbox, as the Mesos containerizer's posix
//    launcher does;
//  - ExternalExecutorRuntime: nothing is started; a hook (a test) starts or
//    plays the executor, which then subscribes on the executor API;
//  - SimulatedExecutorRuntime (simulated_executor.hpp): an in-process executor.
// A restarted agent takes over the containers an earlier agent process
// launched (recover()), as Mesos' containerizer recovers its containers.
// Loop thread only.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/process_launcher.hpp"
#include "common/result.hpp"
#include "mesos/v1/mesos.pb.h"
#include "tests/fake_mesos/checkpoint.pb.h"

namespace tailor::fake_mesos {

// The argv that runs `command` as Mesos does: `/bin/sh -c value` for a shell
// command, else exec(value) with `arguments` (arguments[0] is argv[0], which
// Mesos replaces by the program it runs).
std::vector<std::string> commandArgv(const ::mesos::v1::CommandInfo& command);

// SIGKILLs `pid`, its process group, and every descendant with its process
// group, as Mesos' posix launcher destroys a container (os::killtree).
void killProcessTree(pid_t pid);

// The start time of a live process (/proc/<pid>/stat, clock ticks after
// boot); none when it is gone or a zombie.
std::optional<std::uint64_t> processStartTime(pid_t pid);

// Whether `pid` is alive and, with `startTime`, still the process that
// started then (its pid not reused).
bool processAlive(pid_t pid, std::optional<std::uint64_t> startTime);

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

  // Takes over a container launched before (by an earlier agent, maybe in
  // an earlier process): `onExit` replaces the earlier callback and runs once
  // the container ended, with -1 when how cannot be known. False, and no
  // callback, when the container is gone or this runtime cannot take it over.
  virtual bool recover(const checkpoint::Container& container, ExitCallback onExit) = 0;

  // Destroys the container at once (SIGKILL to its whole process tree); its
  // ExitCallback follows. A no-op for an ended container.
  virtual void destroy(const std::string& containerId) = 0;
};

// Executors are children of this process, in process groups of their own,
// and outlive it. Containers of an earlier process are watched by polling
// their pid (they are not children: their exit status is unknown).
class ProcessExecutorRuntime : public ExecutorRuntime {
 public:
  static constexpr Duration kAdoptedPollInterval{100};

  ProcessExecutorRuntime(EventLoop& loop, ProcessLauncher& launcher)
      : loop_(loop), launcher_(launcher) {}
  ~ProcessExecutorRuntime() override;

  Result<std::optional<pid_t>> launch(const ContainerLaunch& launch, ExitCallback onExit) override;
  bool recover(const checkpoint::Container& container, ExitCallback onExit) override;
  void destroy(const std::string& containerId) override;

 private:
  struct Container {
    pid_t pid = 0;
    ExitCallback onExit;
    bool adopted = false;  // launched by an earlier process
    std::optional<std::uint64_t> startTime;
  };

  void pollAdopted();
  void ended(const std::string& containerId, int status);

  EventLoop& loop_;
  ProcessLauncher& launcher_;
  std::map<std::string, Container> running_;  // by container id
  TimerId pollTimer_ = 0;
};

// Starts nothing: `hook` (may be empty) is told about each launch and returns
// the executor's pid if it knows one. destroy() reports the container as
// killed by SIGKILL.
class ExternalExecutorRuntime : public ExecutorRuntime {
 public:
  using Hook = std::function<std::optional<pid_t>(const ContainerLaunch&)>;
  ExternalExecutorRuntime(EventLoop& loop, Hook hook) : loop_(loop), hook_(std::move(hook)) {}

  Result<std::optional<pid_t>> launch(const ContainerLaunch& launch, ExitCallback onExit) override;
  // Always true: the executor is whatever plays it.
  bool recover(const checkpoint::Container& container, ExitCallback onExit) override;
  void destroy(const std::string& containerId) override;

 private:
  EventLoop& loop_;
  Hook hook_;
  std::map<std::string, ExitCallback> running_;
};

}  // namespace tailor::fake_mesos
