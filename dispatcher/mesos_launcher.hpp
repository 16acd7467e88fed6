#pragma once

// The `mesos` launcher: the Dispatcher is a Mesos framework of its own
// (`tailor` by default; never a job's `tailor-job-<id>`), and each JobManager
// attempt is one Mesos command task `jobmanager-<job id>-<attempt>`. Agents
// need nothing installed: the Mesos fetcher downloads tailor-jobmanager and
// the job's files (one tar, extracted in the sandbox) from URLs the
// Dispatcher serves (/v1/artifacts/..., /v1/jobs/<id>/files.tar), and the
// JobManager gets the URL of tailor-taskmanager for its own executors (with
// Dispatchers sharing a ZooKeeper store, a path on whichever Dispatcher leads
// when it launches a TaskManager, docs/ha.md). The task asks for
// --jobmanager-resources and one port, on which the JobManager's RPC
// endpoint listens. Offers go through the offer loop the JobManager's Mesos
// driver uses too (mesos/offer_loop.hpp).
//
// The framework id is kept in the state store, so a restarted Dispatcher
// re-subscribes as the same framework and its running JobManager tasks stay
// (they are reconciled, and adopted by the Dispatcher).
//
// A session's JobManager is a task `session-<name>-<attempt>` of the same
// framework, fetching only tailor-jobmanager (a session gets its jobs' files
// over RPC).
//
// Loop thread only.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/resources.hpp"
#include "dispatcher/job_store.hpp"
#include "dispatcher/launcher.hpp"
#include "mesos/offer_loop.hpp"
#include "mesos/scheduler_connection.hpp"

namespace tailor::dispatcher {

struct MesosLauncherConfig {
  std::string frameworkName = "tailor";
  std::string role = "*";
  std::string user;  // FrameworkInfo.user; empty: the current user
  std::string principal;
  double failoverTimeoutSeconds = 7 * 24 * 3600;
  bool checkpoint = true;
  std::string webuiUrl;
  Resources jobManagerResources{500, 512, 0, 0};
  Duration refuse{5000};
  Duration offerBatchWindow{20};
  // What JobManagers need to reach Mesos themselves.
  std::string mesosMasters;  // the --mesos-master value for JobManagers (a list or a zk:// URL)
  std::string contentType = "protobuf";
  std::vector<std::string> extraArgs;  // --jobmanager-arg
  std::string logLevel = "info";
  // The release tarball (tailor-<version>-linux-<arch>.tar.gz) that JobManager
  // and TaskManager tasks fetch, unpack and run from, with its libraries: the
  // agents need nothing installed. Empty: the bare binaries from the
  // Dispatcher's /v1/artifacts/, which need the libraries they link on the agents.
  std::string releaseUrl = {};
};

// Checks a framework name for the Dispatcher: not empty, not a job's.
Status checkFrameworkName(const std::string& name);

class MesosLauncher : public JobManagerLauncher,
                      public tailor::mesos::SchedulerListener,
                      private tailor::mesos::OfferLoopOwner {
 public:
  MesosLauncher(EventLoop& loop, JobStore& store, MesosLauncherConfig config);
  ~MesosLauncher() override;

  void setConnection(tailor::mesos::SchedulerConnection* connection);

  // Subscribes (with the stored framework id, if any).
  void start();

  // JobManagerLauncher
  void setExitCallback(ExitCallback callback) override { onExit_ = std::move(callback); }
  void setPlacedCallback(PlacedCallback callback) override { onPlaced_ = std::move(callback); }
  Result<v1::JobManagerAttempt> launch(const JobManagerLaunch& launch) override;
  void adopt(const std::string& jobId, const v1::JobManagerAttempt& attempt) override;
  void stop(const std::string& jobId, int attempt, bool force) override;
  bool waiting(const std::string& jobId, int attempt) const override;
  void setSessionExitCallback(SessionExitCallback callback) override {
    onSessionExit_ = std::move(callback);
  }
  void setSessionPlacedCallback(PlacedCallback callback) override {
    onSessionPlaced_ = std::move(callback);
  }
  Result<v1::JobManagerAttempt> launchSession(const SessionLaunch& launch) override;
  void adoptSession(const std::string& name, const v1::JobManagerAttempt& attempt) override;
  void stopSession(const std::string& name, int attempt, bool force) override;
  bool waitingSession(const std::string& name, int attempt) const override;
  std::string name() const override { return "mesos"; }

  // SchedulerListener
  void onSubscribed(const std::string& frameworkId, bool isNewFramework) override;
  void onEvent(const tailor::mesos::SchedulerEvent& event) override;
  void onDisconnected(const std::string& reason) override;

  // The command a JobManager task runs (exposed for tests).
  std::string commandLine(const JobManagerLaunch& launch, const std::string& host,
                          std::uint64_t port) const;
  std::string commandLine(const SessionLaunch& launch, const std::string& host,
                          std::uint64_t port) const;

 private:
  struct Attempt {
    std::string jobId;  // or the session's name
    int attempt = 0;
    bool session = false;
    JobManagerLaunch launch;
    SessionLaunch sessionLaunch;
  };

  // The flags every JobManager task gets: where it listens, its Mesos
  // framework's settings, its TaskManagers' executor, the Dispatcher's leaders.
  std::string clusterFlags(const std::string& dispatcherAddress,
                           const std::string& dispatcherLeaders, const std::string& host,
                           std::uint64_t port) const;
  // Stops the task `taskId` (withdrawn when not launched yet).
  void stopTask(const std::string& taskId);
  // Reports the end of `attempt` to the callback of its kind.
  void reportExit(const Attempt& attempt, const std::string& how);

  // OfferLoopOwner
  ::mesos::v1::TaskInfo makeTask(const std::string& taskId, const ::mesos::v1::Offer& offer,
                                 const std::vector<std::uint64_t>& ports) override;
  void onTaskLaunched(const std::string& taskId, const ::mesos::v1::Offer& offer) override;
  void onTaskUpdate(const std::string& taskId, const ::mesos::v1::TaskStatus& status) override;
  void onTaskEnded(const std::string& taskId, const std::string& reason,
                   const ::mesos::v1::TaskStatus* status) override;

  EventLoop& loop_;
  JobStore& store_;
  MesosLauncherConfig config_;
  ExitCallback onExit_;
  SessionExitCallback onSessionExit_;
  PlacedCallback onPlaced_;
  PlacedCallback onSessionPlaced_;
  tailor::mesos::SchedulerConnection* connection_ = nullptr;
  tailor::mesos::OfferLoop offers_;
  std::map<std::string, Attempt> attempts_;  // by task id
};

// "jobmanager-<job id>-<attempt>"
std::string jobManagerTaskId(const std::string& jobId, int attempt);
// "session-<name>-<attempt>"
std::string sessionTaskId(const std::string& name, int attempt);

}  // namespace tailor::dispatcher
