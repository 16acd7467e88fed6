#pragma once

// What users are told when a TaskManager's Mesos task fails (TASK_FAILED):
// the agent it ran on, how its executor ended (the master's FAILURE event
// carries the executor's wait status), what to check for that, and the last
// lines of the executor's stderr, which the agent keeps in the sandbox
// (docs/mesos.md, "When TaskManagers do not start"). Pure functions.

#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"

namespace tailor::scheduler::mesos {

struct ExecutorFailure {
  // The task's end as the offer loop words it: "TASK_FAILED (REASON_...): message".
  std::string taskEnd;
  std::string agentId;        // empty: unknown
  std::string agentHostname;  // empty: unknown
  // The FAILURE event's status (a wait status; -1: Mesos does not know it);
  // nullopt: none came within `statusWait`.
  std::optional<int> waitStatus;
  Duration statusWait{0};
  std::string stderrPath;                  // virtual path on the agent
  std::vector<std::string> stderrLines;    // its last lines, when read
  std::optional<std::string> stderrError;  // why it was not read
};

// What to check for an executor that ended with `waitStatus`, given the
// executor command and whether the Mesos fetcher fetches it; empty when
// there is nothing specific to say.
std::string executorExitHint(int waitStatus, const std::string& executorCommand, bool fetched);

// "TASK_FAILED (REASON_EXECUTOR_TERMINATED): Executor terminated; on agent A
// (host): the executor exited with exit code 127: <hint>; the last lines of
// its stderr (<path> on the agent):\n    <line>..." — every part that is known.
std::string describeExecutorFailure(const ExecutorFailure& failure,
                                    const std::string& executorCommand, bool fetched);

}  // namespace tailor::scheduler::mesos
