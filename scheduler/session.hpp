#pragma once

// The state of a session JobManager (docs/sessions.md): its jobs, one
// SessionJob each, on the one ResourceManager of its JobManagerRuntime, and
// what its RPC methods do: Session.SubmitJob / CancelJob / GetStatus / Stop,
// JobMaster.UpdateTaskState and JobManager.LocateTask routed by job id,
// ResourceManager.RegisterTaskManager / Heartbeat to the ResourceManager.
//
// A job's end: its report is written and sent, ResourceManager::removeJob,
// then (posted) its JobMaster is freed; it stays listed as ended. Stop:
// running jobs are cancelled, then every TaskManager released, the driver
// shut down, and the loop stopped once its last calls are out.
//
// Loop thread only (RPC handlers run there).

#include <map>
#include <memory>
#include <string>

#include "common/asio_event_loop.hpp"
#include "scheduler/jobmanager_runtime.hpp"
#include "scheduler/session_job.hpp"
#include "tailor/v1/rpc.pb.h"
#include "tailor/v1/session.pb.h"

namespace spdlog {
class logger;
}

namespace tailor::scheduler {

struct SessionConfig {
  std::string name;
  // Jobs' folders are <workDir>/jobs/<job id>; partitions moved off
  // TaskManagers go to <workDir>/partitions/<job id> (served at /partitions/).
  std::string workDir;
  SizingConfig sizing;  // each job is checked against fixed slots
  // What every task must fit in, and its name for errors (jobspec::ParseOptions).
  Resources capacity;
  std::string capacityDescription;
  bool onMesos = false;  // a session's Mesos framework takes no GPU offers
  // A job's DispatcherReporter.
  Duration jobReportInterval{1000};
  Duration finalReportTimeout{300000};
  // Stop: how long TaskManagers get to go before the driver shuts down anyway.
  Duration stopTimeout{15000};
};

class Session {
 public:
  Session(AsioEventLoop& loop, JobManagerRuntime& runtime, SessionConfig config);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Adds the session's RPC methods to the runtime's endpoint (before it listens).
  void addRoutes();
  // host:port of the session's RPC endpoint, once it listens.
  void setAddress(const std::string& address) { address_ = address; }
  // Starts the ResourceManager (and its warm capacity).
  void start();

  // Session.SubmitJob: refused (with a reason) for a bad spec or file, a
  // job id the session knows, or a stopping session.
  v1::SessionSubmitJobResponse submitJob(const v1::SessionSubmitJobRequest& request);
  // Session.CancelJob: cancels a running job; known is false for a job the
  // session never had.
  v1::SessionCancelJobResponse cancelJob(const v1::SessionCancelJobRequest& request);
  // Session.GetStatus, and what the session reports to the Dispatcher.
  v1::SessionStatus status() const;
  // Session.Stop (and signals, and the Dispatcher): once; later calls do nothing.
  void stop(const std::string& reason);
  bool stopping() const { return stopping_; }

  // Routed by update.job_id. An update of a job that ended is accepted and
  // dropped (the TaskManager stops resending it); an unknown job is an error.
  Result<v1::TaskStateUpdateResponse> updateTaskState(const v1::TaskStateUpdate& update);
  // JobManager.LocateTask, by request.job_id.
  Result<v1::LocateTaskResponse> locateTask(const v1::LocateTaskRequest& request) const;

 private:
  // The submission's folder and files, checked and written; the parsed spec.
  Result<v1::JobSpec> prepareJob(const v1::SessionSubmitJobRequest& request,
                                 const std::string& folder);
  SessionJob::Params jobParams(const v1::SessionSubmitJobRequest& request, v1::JobSpec spec,
                               const std::string& folder,
                               std::vector<std::vector<std::vector<v1::FileSplit>>> splits);
  void jobEnded(const std::string& jobId);
  // Stop's steps: wait for the jobs to be freed, then for the TaskManagers
  // to go, then for the driver's last calls.
  void awaitJobsFreed();
  void awaitReleased();
  void awaitDrained();

  AsioEventLoop& loop_;
  JobManagerRuntime& runtime_;
  SessionConfig config_;
  std::string address_;
  std::map<std::string, std::unique_ptr<SessionJob>> jobs_;
  int jobsToFree_ = 0;  // ended, JobMaster not freed yet
  bool stopping_ = false;
  MonotonicTime stopDeadline_{};
  double startedAt_ = 0;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::scheduler
