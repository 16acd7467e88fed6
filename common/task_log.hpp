#pragma once

// Task logs: the stderr of each task attempt, kept in a task log folder that
// outlives the TaskManagers (the local driver's `logs/tasks/`, a Mesos
// TaskManager's `task-logs/`). A folder may hold the logs of many jobs (the
// TaskManagers of a session run many), each in its own sub-folder named
// after the job (fileNameOf). An attempt's file there,
// "<stage>-<index>-<attempt>.stderr", is created only once the attempt writes
// to stderr: for short tasks the file's creation cost more than the task. So
// that an attempt that wrote nothing reads as an empty log rather than as one
// that never ran, each TaskManager appends the attempts of a job it starts to
// ".attempts-<its id>" in the job's folder. Readers (the TaskManager, the
// local Dispatcher) go through findTaskLog, which knows both.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.hpp"

namespace tailor {

// "<stage>-<index>-<attempt>.stderr": the name of an attempt's log.
std::string taskLogName(const std::string& stage, int index, int attempt);

// "<folder>/<job>": where the logs of job `jobId` are; `folder` itself for
// an empty id.
std::string taskLogFolder(const std::string& folder, const std::string& jobId);

// The attempts one TaskManager started, appended to its file in each job's
// folder. Thread-safe: `mutex_` guards the open files; each entry is one
// write(2) of one line to an O_APPEND file.
class StartedAttempts {
 public:
  // Creates the folder if needed (an error if it cannot be).
  static Result<std::unique_ptr<StartedAttempts>> open(const std::string& folder,
                                                       const std::string& taskManagerId);
  ~StartedAttempts();
  StartedAttempts(const StartedAttempts&) = delete;
  StartedAttempts& operator=(const StartedAttempts&) = delete;

  // Records that the attempt of job `jobId` started here, creating the job's
  // folder and opening its ".attempts-<taskManagerId>" the first time; an
  // error if that fails or the line cannot be written (the disk is full).
  Status add(const std::string& jobId, const std::string& stage, int index, int attempt);

  // Closes the job's file (the job ended here); a later add opens it again.
  void closeJob(const std::string& jobId);

 private:
  StartedAttempts(std::string folder, std::string taskManagerId)
      : folder_(std::move(folder)), taskManagerId_(std::move(taskManagerId)) {}

  const std::string folder_;
  const std::string taskManagerId_;
  std::mutex mutex_;
  std::map<std::string, int> files_;  // job id -> descriptor
};

struct TaskLogFile {
  std::string path;  // the attempt's log; it may not exist: the attempt wrote nothing
  int attempt = 0;
};

// Where the log of attempt `attempt` of `stage`[`index`] of job `jobId` is
// in `folder`; attempt 0 means the latest that started. An empty `jobId`
// means the folder's only job (or, with no job folder, logs kept before jobs
// had folders); kNotFound when the folder holds several jobs' logs. kNotFound
// when no such attempt started (nor has a log) there.
Result<TaskLogFile> findTaskLog(const std::string& folder, const std::string& jobId,
                                const std::string& stage, int index, int attempt);
// The same for the folder's only job.
Result<TaskLogFile> findTaskLog(const std::string& folder, const std::string& stage, int index,
                                int attempt);

}  // namespace tailor
