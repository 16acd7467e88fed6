#pragma once

// A ProcessLauncher that starts nothing: it records what would run and the
// signals sent, and the test ends a command with exit(). Pids are handed out
// from firstPid on, in launch order.

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/process_launcher.hpp"

namespace tailor::test {

class RecordingLauncher : public ProcessLauncher {
 public:
  Result<pid_t> launch(const SpawnOptions& options, ExitCallback onExit) override {
    if (failLaunch) {
      return makeError(ErrorCode::kNotFound, "command not found: '{}'",
                       options.argv.empty() ? "" : options.argv[0]);
    }
    pid_t pid = firstPid + static_cast<pid_t>(spawned.size());
    spawned.push_back(options);
    exits_[pid] = std::move(onExit);
    return pid;
  }
  void signal(pid_t pid, int sig) override {
    signalled.push_back(pid);
    signals.push_back(sig);
  }

  // Ends the command started last (or `pid`) with `waitStatus`.
  void exit(int waitStatus) {
    exit(firstPid + static_cast<pid_t>(spawned.size()) - 1, waitStatus);
  }
  void exit(pid_t pid, int waitStatus) { exits_.at(pid)(waitStatus); }

  pid_t firstPid = 4242;
  bool failLaunch = false;
  std::vector<SpawnOptions> spawned;
  std::vector<pid_t> signalled;  // with signals: who got which
  std::vector<int> signals;

 private:
  std::map<pid_t, ExitCallback> exits_;
};

}  // namespace tailor::test
