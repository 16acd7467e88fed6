#pragma once

// What `tailor run` shows while a job runs: on a terminal a live block
// (stages with tasks done/total, TaskManagers and their sizes) redrawn in
// place; otherwise one plain line per event.

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "scheduler/jobmaster/job_observer.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "tailor/v1/report.pb.h"

namespace tailor::cli {

// A stage's usage in one line for the end of `tailor run`: "tokenize: asked
// 1 cpu 512 MiB, used 0.31 cpu 41 MiB peak; recommended 0.4 cpu 64 MiB".
// Empty when none of its attempts was measured.
std::string formatStageUsage(const v1::StageReport& stage);

class Progress : public scheduler::JobObserver, public scheduler::ResourceObserver {
 public:
  Progress(std::FILE* out, bool terminal, std::string jobName);

  // Draws the final state (after every TaskManager is gone).
  void finish() { redraw(true); }

  // JobObserver
  void onStageStarted(const std::string& stage) override;
  void onStageFinished(const std::string& stage) override;
  void onAttemptFailed(const std::string& attemptId, const std::string& message,
                       bool willRetry) override;
  void onProgress(const std::vector<scheduler::StageProgress>& stages) override;
  void onJobEnded(scheduler::JobStatus status, const std::string& error) override;

  // ResourceObserver
  void onTaskManagerRequested(const std::string& id,
                              const scheduler::TaskManagerSpec& spec) override;
  void onTaskManagerRegistered(const std::string& id, const std::string& address,
                               double launchedAt) override;
  void onTaskManagerReleased(const std::string& id, const std::string& how, bool lost) override;

 private:
  struct Tm {
    std::string size;
    std::string state;  // starting | running | released | lost
  };

  void line(const std::string& text);
  void redraw(bool force);

  std::FILE* out_;
  bool terminal_;
  std::string jobName_;
  std::vector<scheduler::StageProgress> stages_;
  Tm& taskManager(const std::string& id);
  std::vector<std::pair<std::string, Tm>> tms_;  // in the order they were requested
  std::map<std::string, size_t> tmIndex_;        // id -> position in tms_
  std::vector<std::string> messages_;  // shown above the live block
  int drawnLines_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point lastDraw_{};
};

}  // namespace tailor::cli
