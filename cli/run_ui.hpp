#pragma once

// `tailor run --ui`: the web UI (webui/) for the one job this process runs,
// served on a loop thread of its own with the part of the Dispatcher's REST
// API the page reads (GET /v1/overview, /v1/jobs, /v1/jobs/{id},
// /v1/jobs/{id}/report, /v1/jobs/{id}/log), read-only. The job's status is
// built by a DispatcherReporter that never sends (its snapshot), fed through
// the observers of the run; the server outlives the run so that the ended
// job's report can be looked at until the user stops the process.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/server.hpp"
#include "common/result.hpp"
#include "scheduler/dispatcher_reporter.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/report.pb.h"

namespace tailor::cli {

struct RunUiConfig {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;  // 0: a free one
  std::string jobId;
  std::string jobName;
  std::string workDir;  // the JobManager's: jobmanager.log, logs/tasks/
  std::string outputDir;
  double submittedAt = 0;
};

// Passes every event to two observers (the CLI's display and the UI's status).
class ObserverPair : public scheduler::JobObserver, public scheduler::ResourceObserver {
 public:
  ObserverPair(scheduler::JobObserver& firstJob, scheduler::ResourceObserver& firstResources,
               scheduler::JobObserver& secondJob, scheduler::ResourceObserver& secondResources)
      : firstJob_(firstJob),
        firstResources_(firstResources),
        secondJob_(secondJob),
        secondResources_(secondResources) {}

  void onStageStarted(const std::string& stage) override;
  void onStageFinished(const std::string& stage) override;
  void onAttemptFailed(const std::string& attemptId, const std::string& message,
                       bool willRetry) override;
  void onProgress(const std::vector<scheduler::StageProgress>& stages) override;
  void onJobEnded(scheduler::JobStatus status, const std::string& error) override;
  void onTaskManagerRequested(const std::string& id,
                              const scheduler::TaskManagerSpec& spec) override;
  void onTaskManagerRegistered(const std::string& id, const std::string& address,
                               double launchedAt) override;
  void onTaskManagerReleased(const std::string& id, const std::string& how, bool lost) override;

 private:
  scheduler::JobObserver& firstJob_;
  scheduler::ResourceObserver& firstResources_;
  scheduler::JobObserver& secondJob_;
  scheduler::ResourceObserver& secondResources_;
};

class RunUi {
 public:
  explicit RunUi(RunUiConfig config);
  ~RunUi();  // stops the server and its thread
  RunUi(const RunUi&) = delete;
  RunUi& operator=(const RunUi&) = delete;

  // Listens and serves on a thread of its own; returns the page's URL.
  Result<std::string> start();

  // What the run tells (loop thread of the run).
  scheduler::DispatcherReporter& status() { return status_; }

  // The run ended with `report` (any thread).
  void setReport(const v1::JobReport& report);

  // Blocks until SIGINT or SIGTERM.
  void waitForStop();

 private:
  v1::JobView view(bool full);
  void addRoutes();

  RunUiConfig config_;
  scheduler::DispatcherReporter status_;
  std::mutex mutex_;
  std::optional<v1::JobReport> report_;  // guarded by mutex_
  AsioEventLoop loop_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace tailor::cli
