#pragma once

// How the Dispatcher starts JobManagers: `local` (a child process, the
// default) or `mesos` (a Mesos task of the Dispatcher's own framework). The
// launcher only starts, watches and stops processes; what a JobManager's end
// means for its job is the Dispatcher's business. A session's JobManager
// (`tailor-jobmanager --session NAME`, docs/sessions.md) is started and
// watched the same way, keyed by the session's name instead of a job id.

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/session.pb.h"

namespace tailor::dispatcher {

// What a JobManager attempt needs.
struct JobManagerLaunch {
  std::string jobId;
  int attempt = 1;
  std::string specPath;    // the stored spec (local path)
  std::string jobDir;      // the job's folder in the state store
  std::string outputDir;   // where the job's output goes; empty: the launcher's default
  std::string dispatcherAddress;  // host:port of the Dispatcher's RPC
  // Where the job's JobManager attempts keep their state (--ha-store).
  std::string haStore;
  // zk://... where Dispatchers elect their leader (--dispatcher-leaders), or empty.
  std::string dispatcherLeaders;
  // The job's secret, put in the JobManager's environment
  // (secret::kEnvironmentVariable), never on its command line; empty: none.
  std::string secret;
};

// What a session's JobManager attempt needs.
struct SessionLaunch {
  std::string name;
  int attempt = 1;  // 1, 2, ... over the lives of sessions of this name
  v1::SessionOptions options;
  std::string sessionDir;  // the session's folder for logs and work files
  std::string dispatcherAddress;
  std::string dispatcherLeaders;
  std::string secret;  // as JobManagerLaunch::secret, the session's
};

// The flags of `tailor-jobmanager` that say how a session runs (--session
// NAME, then --session-idle-timeout, --session-min-resources and --sizing
// when set), shared by the launchers.
std::vector<std::string> sessionFlags(const SessionLaunch& launch);

// Where an attempt's files are, in the job's folder.
std::string jobManagerLogPath(const std::string& jobDir, int attempt);
std::string jobManagerReportPath(const std::string& jobDir, int attempt);

// Where the Mesos fetcher gets a job's files from the Dispatcher:
// /v1/jobs/<id>/files/<token>/files.tar, the token derived from the job's
// secret, so that only who was given the path can fetch them (the fetcher
// sends no credentials; docs/security.md).
std::string jobFilesPath(const std::string& jobId, const std::string& jobSecret);

class JobManagerLauncher {
 public:
  // Called on the loop when a launched or adopted JobManager is gone;
  // `how` says how it ended ("exit code 1", "killed by signal 9 (Killed)",
  // "gone while the Dispatcher was down", ...).
  using ExitCallback =
      std::function<void(const std::string& jobId, int attempt, const std::string& how)>;

  virtual ~JobManagerLauncher() = default;

  // Where exits are reported. Call once, before anything else.
  virtual void setExitCallback(ExitCallback callback) = 0;

  // Called on the loop when a launcher that places attempts later (Mesos)
  // knows where one went: the agent's host and id.
  using PlacedCallback = std::function<void(const std::string& jobId, int attempt,
                                            const std::string& host, const std::string& agentId)>;
  virtual void setPlacedCallback(PlacedCallback callback) {}

  // Starts the attempt. The answer fills in where it runs (host, pid or task
  // id). An error means nothing was started. Loop thread only.
  virtual Result<v1::JobManagerAttempt> launch(const JobManagerLaunch& launch) = 0;

  // After a Dispatcher restart: watches an attempt a previous Dispatcher
  // started. If it is already gone, the exit callback follows soon.
  virtual void adopt(const std::string& jobId, const v1::JobManagerAttempt& attempt) = 0;

  // Asks the attempt to stop (the JobManager cancels its job and exits);
  // `force` kills it at once.
  virtual void stop(const std::string& jobId, int attempt, bool force) = 0;

  // The same for the JobManagers of sessions: where their exits go, start
  // (an error: nothing started), adopt after a restart, stop (`force`: kill).
  using SessionExitCallback =
      std::function<void(const std::string& name, int attempt, const std::string& how)>;
  virtual void setSessionExitCallback(SessionExitCallback callback) = 0;
  virtual Result<v1::JobManagerAttempt> launchSession(const SessionLaunch& launch) = 0;
  virtual void adoptSession(const std::string& name, const v1::JobManagerAttempt& attempt) = 0;
  virtual void stopSession(const std::string& name, int attempt, bool force) = 0;
  // Where a session's attempt was placed (Mesos), as setPlacedCallback.
  virtual void setSessionPlacedCallback(PlacedCallback callback) {}
  // As waiting(), for a session's attempt.
  virtual bool waitingSession(const std::string& name, int attempt) const { return false; }

  // True while the attempt waits for resources (no Mesos offer fitted yet):
  // silence then is not a lost JobManager.
  virtual bool waiting(const std::string& jobId, int attempt) const { return false; }

  // "local" or "mesos".
  virtual std::string name() const = 0;
};

}  // namespace tailor::dispatcher
