#pragma once

// Progress of a job as users see it: the CLI's progress display implements it.

#include <optional>
#include <string>
#include <vector>

#include "tailor/v1/dispatcher.pb.h"

namespace tailor::scheduler {

struct StageProgress {
  std::string name;
  int parallelism = 0;
  int finished = 0;
  int running = 0;
  int failedAttempts = 0;
  bool started = false;
  bool complete = false;
  std::vector<std::string> inputs;  // the stages it reads from
  // Why some of its tasks wait, while some do (docs/observability.md,
  // "Placement diagnostics").
  std::optional<v1::PlacementDiagnostic> waiting;
};

enum class JobStatus { kRunning, kFinished, kFailed, kCanceled };
const char* toString(JobStatus status);

class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void onStageStarted(const std::string& stage) = 0;
  virtual void onStageFinished(const std::string& stage) = 0;
  virtual void onAttemptFailed(const std::string& attemptId, const std::string& message,
                               bool willRetry) = 0;
  // Something changed; `stages` is the state of every stage now.
  virtual void onProgress(const std::vector<StageProgress>& stages) = 0;
  virtual void onJobEnded(JobStatus status, const std::string& error) = 0;
};

}  // namespace tailor::scheduler
