#pragma once

// How a JobManager launched by a Dispatcher keeps it informed: the job's
// state, stage progress and TaskManagers go to the Dispatcher's RPC
// (Dispatcher.ReportJobStatus) once a second and soon after each change; the
// final report is sent at the end and retried until the Dispatcher has it.
//
// Threads: the observer methods are called on the JobManager's loop and only
// update a snapshot under `mutex_`; a sender thread of its own does the HTTP
// calls, so a slow or absent Dispatcher never stalls the job. When the
// Dispatcher answers `cancel` (the user cancelled) or `known: false` (a newer
// attempt owns the job), the reporter calls config.onStopAsked once; by
// default it sends SIGTERM to this process, which cancels the job the same
// way Ctrl-C does (a session cancels only that job instead).

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/event_loop.hpp"
#include "scheduler/jobmaster/job_observer.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/report.pb.h"

namespace tailor::scheduler {

struct DispatcherReporterConfig {
  std::string dispatcherAddress;  // host:port
  // Dispatchers electing a leader in ZooKeeper (zk://HOSTS/PATH, their state
  // store): a report that fails goes to the leader found there next.
  std::string dispatcherLeaders;
  std::string jobId;
  int attempt = 1;
  Duration interval{1000};
  // How long finish() keeps trying to deliver the final report.
  Duration finalReportTimeout{300000};
  // Called once, on the sender thread, when the Dispatcher answers `cancel`
  // or `known: false`; `why` says which. Must not block (post to a loop).
  // Empty: SIGTERM to this process.
  std::function<void(const std::string& why)> onStopAsked;
};

// The job's page on the Dispatcher at `dispatcherAddress` (host:port): its
// REST resource http://<dispatcher>/v1/jobs/<job id>, the job's state, stages,
// TaskManagers and attempts (docs/dispatcher.md). The JobManager's Mesos
// framework links to it (FrameworkInfo.webui_url).
std::string dispatcherJobUrl(const std::string& dispatcherAddress, const std::string& jobId);

// host:port of the Dispatcher that leads among `dispatcherLeaders`
// (zk://HOSTS/PATH); empty when none is found or none are given. Blocks on
// ZooKeeper: reporters' threads only.
std::string lookUpLeadingDispatcher(const std::string& dispatcherLeaders);

class DispatcherReporter : public JobObserver, public ResourceObserver {
 public:
  explicit DispatcherReporter(DispatcherReporterConfig config);
  ~DispatcherReporter() override;  // stops the sender thread
  DispatcherReporter(const DispatcherReporter&) = delete;
  DispatcherReporter& operator=(const DispatcherReporter&) = delete;

  // Starts the sender thread.
  void start();

  // host:port of the JobManager's RPC endpoint, sent with every report. Any thread.
  void setAddress(const std::string& address);

  // The status as the next report would carry it (JobManager.GetJobStatus). Any thread.
  v1::ReportJobStatusRequest snapshot();

  // host:port of the Dispatcher reports go to: the launching one until a
  // report fails and ZooKeeper names another leader, then that one (kept
  // while no leader is found). Never blocks on the network. Any thread.
  std::string dispatcherAddress();

  // Sends the end state with `report` (or `error` when there is none) and
  // returns once the Dispatcher acknowledged it, or false after
  // finalReportTimeout. Stops the periodic reports first. Any thread.
  bool finish(v1::JobState state, const std::string& error, const v1::JobReport* report);

  // JobObserver (loop thread)
  void onStageStarted(const std::string& stage) override {}
  void onStageFinished(const std::string& stage) override {}
  void onAttemptFailed(const std::string& attemptId, const std::string& message,
                       bool willRetry) override {}
  void onProgress(const std::vector<StageProgress>& stages) override;
  void onJobEnded(JobStatus status, const std::string& error) override;

  // ResourceObserver (loop thread)
  void onTaskManagerRequested(const std::string& id, const TaskManagerSpec& spec) override;
  void onTaskManagerRegistered(const std::string& id, const std::string& address,
                               double launchedAt) override;
  void onTaskManagerReleased(const std::string& id, const std::string& how, bool lost) override;

 private:
  void senderMain();
  v1::TaskManagerStatus* findTaskManager(const std::string& id);
  // One call; returns the answer, or nothing when the Dispatcher could not be reached.
  std::optional<v1::ReportJobStatusResponse> send(const v1::ReportJobStatusRequest& request);
  // After a failed report: the leading Dispatcher's address, if ZooKeeper
  // names another one (sender thread, or finish() once it has stopped).
  void followLeader();

  DispatcherReporterConfig config_;
  // Guards status_, changed_, stopping_ and config_.dispatcherAddress (written
  // by the sender thread, or by finish() once it has stopped).
  std::mutex mutex_;
  std::condition_variable wake_;
  v1::ReportJobStatusRequest status_;
  bool changed_ = false;
  bool stopping_ = false;
  bool signalled_ = false;  // onStopAsked (or SIGTERM) done; sender thread only
  std::thread sender_;
};

}  // namespace tailor::scheduler
