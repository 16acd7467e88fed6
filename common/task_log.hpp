#pragma once

// Task logs: the stderr of each task attempt, kept in a task log folder that
// outlives the TaskManagers (the local driver's `logs/tasks/`, a Mesos
// TaskManager's `task-logs/`). An attempt's file, "<stage>-<index>-<attempt>.stderr",
// is created only once the attempt writes to stderr: for short tasks the
// file's creation cost more than the task. So that an attempt that wrote
// nothing reads as an empty log rather than as one that never ran, each
// TaskManager appends the attempts it starts to ".attempts-<its id>" in the
// same folder. Readers (the TaskManager, the local Dispatcher) go through
// findTaskLog, which knows both.

#include <mutex>
#include <string>

#include "common/result.hpp"

namespace tailor {

// "<stage>-<index>-<attempt>.stderr": the name of an attempt's log.
std::string taskLogName(const std::string& stage, int index, int attempt);

// The attempts one TaskManager started, appended to its file in the folder.
// Thread-safe: each entry is one write(2) of one line to an O_APPEND file.
class StartedAttempts {
 public:
  // Creates the folder if needed and opens ".attempts-<taskManagerId>" for
  // appending.
  static Result<std::unique_ptr<StartedAttempts>> open(const std::string& folder,
                                                       const std::string& taskManagerId);
  ~StartedAttempts();
  StartedAttempts(const StartedAttempts&) = delete;
  StartedAttempts& operator=(const StartedAttempts&) = delete;

  // Records that the attempt started here; an error if the line cannot be
  // written (the disk is full).
  Status add(const std::string& stage, int index, int attempt);

 private:
  explicit StartedAttempts(int fd) : fd_(fd) {}
  int fd_;
};

struct TaskLogFile {
  std::string path;  // the attempt's log; it may not exist: the attempt wrote nothing
  int attempt = 0;
};

// Where the log of attempt `attempt` of `stage`[`index`] is in `folder`;
// attempt 0 means the latest that started. kNotFound when no such attempt
// started (nor has a log) there.
Result<TaskLogFile> findTaskLog(const std::string& folder, const std::string& stage, int index,
                                int attempt);

}  // namespace tailor
