#include "common/process_launcher.hpp"

#include <signal.h>
#include <sys/wait.h>

namespace tailor {

ChildProcessLauncher::~ChildProcessLauncher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (const auto& [pid, alive] : running_) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
  }
  for (auto& waiter : waiters_) {
    waiter.join();
  }
}

Result<pid_t> ChildProcessLauncher::launch(const SpawnOptions& options, ExitCallback onExit) {
  auto child = spawnProcess(options);
  if (!child.ok()) {
    return child.error();
  }
  pid_t pid = child->pid;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_[pid] = true;
  }
  waiters_.emplace_back([this, pid, onExit = std::move(onExit)] {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(pid);
    if (!stopping_) {
      loop_.post([onExit, status] { onExit(status); });
    }
  });
  return pid;
}

void ChildProcessLauncher::signal(pid_t pid, int sig) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_.count(pid) != 0) {
    // Children lead their own process group (spawnProcess).
    ::kill(-pid, sig);
  }
}

}  // namespace tailor
