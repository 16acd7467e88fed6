#pragma once

// The `local` launcher: each JobManager is a child process of the
// Dispatcher, in its own process group so it survives the Dispatcher (a
// restarted Dispatcher adopts it). Exits are found by polling from the loop:
// waitpid(WNOHANG) for our own children, and for adopted ones /proc/<pid>
// (checked to still be that job's or session's tailor-jobmanager, so a
// reused pid is not mistaken for it).

#include <map>
#include <string>
#include <tuple>
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
  void setSessionExitCallback(SessionExitCallback callback) override {
    onSessionExit_ = std::move(callback);
  }
  Result<v1::JobManagerAttempt> launchSession(const SessionLaunch& launch) override;
  void adoptSession(const std::string& name, const v1::JobManagerAttempt& attempt) override;
  void stopSession(const std::string& name, int attempt, bool force) override;
  std::string name() const override { return "local"; }

  // The command line of an attempt (exposed for tests).
  std::vector<std::string> commandLine(const JobManagerLaunch& launch) const;
  std::vector<std::string> commandLine(const SessionLaunch& launch) const;

 private:
  enum class Kind { kJob, kSession };
  struct Key {
    Kind kind;
    std::string id;  // the job's id or the session's name
    int attempt;
    bool operator<(const Key& other) const {
      return std::tie(kind, id, attempt) < std::tie(other.kind, other.id, other.attempt);
    }
  };
  struct Watched {
    pid_t pid = -1;
    bool child = false;  // ours: reaped with waitpid
  };

  // Starts `argv` with its output in `console`, watched as `key`, with
  // `secret` in its environment (none when empty).
  Result<v1::JobManagerAttempt> spawn(const Key& key, std::vector<std::string> argv,
                                      const std::string& workDir, const std::string& console,
                                      const std::string& secret);
  void stopWatched(const Key& key, bool force);
  // True when /proc says the adopted `pid` still runs the JobManager of `key`.
  bool stillRuns(pid_t pid, const Key& key) const;
  void poll();
  // Polls again after the interval, unless a poll is already due or nothing is watched.
  void armPoll();
  std::string binaryName() const;

  EventLoop& loop_;
  LocalLauncherConfig config_;
  ExitCallback onExit_;
  SessionExitCallback onSessionExit_;
  std::map<Key, Watched> watched_;
  TimerId timer_ = 0;
  bool timerArmed_ = false;
};

}  // namespace tailor::dispatcher
