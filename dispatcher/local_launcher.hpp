#pragma once

// The `local` launcher: each JobManager is a child process of the
// Dispatcher, in its own process group so it survives the Dispatcher (a
// restarted Dispatcher adopts it). Exits are found by polling from the loop:
// waitpid(WNOHANG) for our own children, and for adopted ones /proc/<pid>
// (checked to still be that job's tailor-jobmanager, so a reused pid is not
// mistaken for it).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/event_loop.hpp"
#include "dispatcher/launcher.hpp"

namespace tailor::dispatcher {

struct LocalLauncherConfig {
  std::string jobManagerBinary;  // tailor-jobmanager
  std::vector<std::string> extraArgs;  // given to every JobManager (--jobmanager-arg)
  std::string logLevel = "info";
  Duration pollInterval{200};
};

class LocalLauncher : public JobManagerLauncher {
 public:
  LocalLauncher(EventLoop& loop, LocalLauncherConfig config);
  ~LocalLauncher() override;  // leaves JobManagers running

  void setExitCallback(ExitCallback callback) override { onExit_ = std::move(callback); }
  Result<v1::JobManagerAttempt> launch(const JobManagerLaunch& launch) override;
  void adopt(const std::string& jobId, const v1::JobManagerAttempt& attempt) override;
  void stop(const std::string& jobId, int attempt, bool force) override;
  std::string name() const override { return "local"; }

  // The command line of an attempt (exposed for tests).
  std::vector<std::string> commandLine(const JobManagerLaunch& launch) const;

 private:
  struct Watched {
    pid_t pid = -1;
    bool child = false;  // ours: reaped with waitpid
  };

  void poll();
  // Polls again after the interval, unless a poll is already due or nothing is watched.
  void armPoll();
  std::string binaryName() const;

  EventLoop& loop_;
  LocalLauncherConfig config_;
  ExitCallback onExit_;
  std::map<std::pair<std::string, int>, Watched> watched_;  // by (job id, attempt)
  TimerId timer_ = 0;
  bool timerArmed_ = false;
};

}  // namespace tailor::dispatcher
