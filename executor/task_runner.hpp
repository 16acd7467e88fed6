#pragma once

// Runs one task attempt on its own thread: fetches the attempt's inputs
// (remote partitions over HTTP, local ones from disk, source file splits),
// runs the command as a child process with those records on stdin, routes
// its stdout into partition files and reports the outcome with what the
// command used (TaskStateUpdate.usage).
//
// Threads: the runner thread owns everything but `cancelled_` and `pid_`,
// which cancel() reads and writes from the TM's loop (both atomic). A second
// short-lived thread feeds stdin; a TaskMonitor's thread samples what the
// command uses and kills it over its slot's memory (executor/task_usage.hpp).

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "common/task_log.hpp"
#include "tailor/v1/rpc.pb.h"

namespace tailor::executor {

struct TaskRunnerContext {
  std::string taskManagerId;
  std::string workDir;  // the TM's work directory
  // Where each attempt's stderr is kept, beyond the TM's life; empty: in the
  // attempt's folder of the work directory (removed with it).
  std::string taskLogDir = {};
  // Where the TM records the attempts it starts (with taskLogDir), so that an
  // attempt that writes nothing to stderr reads as an empty log.
  StartedAttempts* startedAttempts = nullptr;
  // The attempt's scratch directory (its working directory, fetched inputs);
  // empty: <workDir>/tasks/<attemptDirectory>, removed when the attempt ends.
  std::string scratchDir = {};
  // The scratch directory is the slot's: kept for the slot's next attempt and
  // only emptied when this one ends (no directory created per attempt).
  bool reuseScratch = false;
};

// "<job>/<stage>-<index>-a<attempt>": names an attempt's files.
std::string attemptDirectory(const v1::TaskDeployment& task);

// "<workDir>/partitions/<job>": the partition files of all of a job's
// attempts (the job's part of the TM's partition server).
std::string jobPartitionDirectory(const std::string& workDir, const std::string& jobId);

// "<workDir>/tasks/<job>": the scratch directories of a job's attempts.
std::string jobScratchDirectory(const std::string& workDir, const std::string& jobId);

// "<workDir>/tasks/<job>/slot-<slot id>": the scratch directory a slot's
// attempts share one after another; empty when the deployment names no slot.
std::string slotScratchDirectory(const std::string& workDir, const v1::TaskDeployment& task);

class TaskRunner {
 public:
  // `onDone` is called once, on the runner thread, with the final update
  // (FINISHED, FAILED or CANCELED); `onRunning` when the command started.
  TaskRunner(TaskRunnerContext context, v1::TaskDeployment task,
             std::function<void(v1::TaskStateUpdate)> onRunning,
             std::function<void(v1::TaskStateUpdate)> onDone);
  ~TaskRunner();  // cancels if still running, then joins

  void start();
  // Kills the attempt's process group. Thread-safe; idempotent.
  void cancel();

  const v1::TaskDeployment& task() const { return task_; }

 private:
  v1::TaskStateUpdate run();
  v1::TaskStateUpdate makeUpdate(v1::TaskState state) const;

  TaskRunnerContext context_;
  v1::TaskDeployment task_;
  std::function<void(v1::TaskStateUpdate)> onRunning_;
  std::function<void(v1::TaskStateUpdate)> onDone_;
  std::atomic<bool> cancelled_{false};
  std::atomic<pid_t> pid_{-1};
  double startedAt_ = 0;
  std::thread thread_;
};

}  // namespace tailor::executor
