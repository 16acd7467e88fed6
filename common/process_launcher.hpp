#pragma once

// Starting and watching long-running child processes (TaskManagers, and
// later JobManagers) from a component's event loop.

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/subprocess.hpp"

namespace tailor {

class ProcessLauncher {
 public:
  // Called on the loop with the child's wait status once it exited.
  using ExitCallback = std::function<void(int waitStatus)>;
  virtual ~ProcessLauncher() = default;

  // Starts a child. Loop thread only.
  virtual Result<pid_t> launch(const SpawnOptions& options, ExitCallback onExit) = 0;

  // Sends `signal` to the child's process group. A no-op for an exited child.
  virtual void signal(pid_t pid, int signal) = 0;
};

// Real launcher: one waiting thread per child posts its exit to the loop.
// The destructor kills children still running and waits for them.
class ChildProcessLauncher : public ProcessLauncher {
 public:
  explicit ChildProcessLauncher(EventLoop& loop) : loop_(loop) {}
  ~ChildProcessLauncher() override;

  Result<pid_t> launch(const SpawnOptions& options, ExitCallback onExit) override;
  void signal(pid_t pid, int signal) override;

 private:
  EventLoop& loop_;
  // Guards running_ (the waiter threads erase their child when it exits).
  std::mutex mutex_;
  std::map<pid_t, bool> running_;
  bool stopping_ = false;
  std::vector<std::thread> waiters_;
};

}  // namespace tailor
