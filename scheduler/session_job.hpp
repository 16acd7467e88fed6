#pragma once

// One job of a session (session.hpp): its JobMaster on the session's
// ResourceManager, the TaskManager gateway it calls, and its
// DispatcherReporter when a Dispatcher follows it. The job stays known
// (Session.GetStatus) after it ended and its JobMaster is freed.
//
// Loop thread only, except the reporter's own threads.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.hpp"
#include "scheduler/dispatcher_reporter.hpp"
#include "scheduler/jobmaster/job_master.hpp"
#include "scheduler/jobmaster/taskmanager_gateway.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "tailor/v1/report.pb.h"
#include "tailor/v1/session.pb.h"

namespace tailor::scheduler {

// Forwards to another gateway, and drops the answers that arrive once it is
// destroyed: a JobMaster freed while one of its calls is out never hears it.
class GuardedTaskManagerGateway : public TaskManagerGateway {
 public:
  explicit GuardedTaskManagerGateway(TaskManagerGateway& inner) : inner_(inner) {}
  ~GuardedTaskManagerGateway() override { *alive_ = false; }
  GuardedTaskManagerGateway(const GuardedTaskManagerGateway&) = delete;
  GuardedTaskManagerGateway& operator=(const GuardedTaskManagerGateway&) = delete;

  void deployTask(const std::string& address, const v1::TaskDeployment& task,
                  Done done) override;
  void cancelTask(const std::string& address, const std::string& jobId,
                  const std::string& attemptId) override;
  void dropJob(const std::string& address, const std::string& jobId) override;
  void fetchPartition(const std::string& address, const std::string& path,
                      const std::string& destination, Done done) override;

 private:
  Done guard(Done done) const;

  TaskManagerGateway& inner_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class SessionJob : public JobObserver {
 public:
  struct Params {
    v1::JobSpec spec;
    JobMasterConfig jobMaster;
    int priority = 1;
    std::string folder;  // <work dir>/jobs/<job id>: its spec, files and report.json
    std::string address;  // host:port of the session's RPC endpoint
    // Set when the submission named a Dispatcher to report to.
    std::optional<DispatcherReporterConfig> reporter;
  };

  // `ended` is posted to the loop once the job ended (never called from
  // inside the JobMaster).
  SessionJob(EventLoop& loop, TaskManagerGateway& taskManagers, Params params,
             std::function<void(const std::string& jobId)> ended);
  ~SessionJob() override;  // waits for the final report's delivery to end

  const std::string& id() const { return params_.jobMaster.jobId; }
  bool running() const { return running_; }

  // Adds the job to `resourceManager` and starts its JobMaster (and reporter).
  void start(ResourceManager& resourceManager);

  // Ends a running job as CANCELED with `reason`; nothing once it ended.
  void cancel(const std::string& reason);

  // The running job's JobMaster; null once it ended.
  JobMaster* jobMaster() { return running_ ? jobMaster_.get() : nullptr; }

  // After the end: the job's report from `taskManagers` (the session's
  // ResourceManager's reports), written to <folder>/report.json and sent
  // to the Dispatcher on the reporter's own thread. Remembers the
  // TaskManagers it used.
  void finish(std::vector<v1::TaskManagerReport> taskManagers, SizingKind sizing);

  // After finish() and ResourceManager::removeJob: frees the JobMaster.
  // Never from inside one of its calls (post it).
  void release();

  // The job as Session.GetStatus shows it.
  v1::SessionJob view() const;

  // JobObserver
  void onStageStarted(const std::string& stage) override {}
  void onStageFinished(const std::string& stage) override {}
  void onAttemptFailed(const std::string& attemptId, const std::string& message,
                       bool willRetry) override {}
  void onProgress(const std::vector<StageProgress>& stages) override;
  void onJobEnded(JobStatus status, const std::string& error) override;

 private:
  EventLoop& loop_;
  Params params_;
  std::function<void(const std::string&)> ended_;
  std::unique_ptr<GuardedTaskManagerGateway> taskManagers_;
  std::unique_ptr<JobMaster> jobMaster_;
  std::unique_ptr<DispatcherReporter> reporter_;
  std::thread finisher_;  // delivers the final report
  bool running_ = false;
  v1::JobState state_ = v1::RUNNING;
  std::string error_;
  double submittedAt_ = 0;
  double finishedAt_ = 0;
  std::vector<std::string> usedTaskManagers_;
};

// The Dispatcher's JobState for a JobMaster's end status.
v1::JobState toJobState(JobStatus status);

}  // namespace tailor::scheduler
