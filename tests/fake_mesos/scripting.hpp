#pragma once

// Scripted faults: what tests ask the fake to do wrong, and the HTTP control
// endpoints under /fake/ that ask it from shell tests.
//
//   POST /fake/drop-stream[?framework=ID]       cut scheduler event streams (network drop)
//   POST /fake/fail-subscribe?status=503&count=1  answer the next N SUBSCRIBE with `status`
//   POST /fake/redirect?to=HOST:PORT&count=1    answer the next N SUBSCRIBE with 307
//   POST /fake/rescind?offer=ID                 rescind an outstanding offer now
//   POST /fake/rescind-next[?count=1]           rescind the next N offers right after sending them
//   POST /fake/kill-executor?task=ID            SIGKILL the executor running that task
//   POST /fake/fail-next-launch?count=1         the next N task launches fail (TASK_FAILED)
//   POST /fake/lose-agent?agent=ID              the agent is gone (TASK_LOST/UNREACHABLE)
//   POST /fake/restart-agent?agent=ID           the agent's process is killed and started again
//   POST /fake/task-status?task=ID&state=TASK_FINISHED[&message=M]
//                                               a simulated executor sends that update
//   GET  /fake/state                            JSON snapshot (state.hpp)
//
// Answers: 200 with a short text (or the JSON), 400 for a bad parameter, 404
// for an unknown id. Loop thread only.

#include <optional>
#include <string>

#include "common/http/server.hpp"
#include "common/result.hpp"

namespace tailor::fake_mesos {

// Faults waiting to happen; each count is used up one event at a time.
struct FaultPlan {
  int failSubscribeCount = 0;
  int failSubscribeStatus = 503;
  int redirectCount = 0;
  std::string redirectTo;  // host:port
  int rescindNextCount = 0;
  int failLaunchCount = 0;

  // Uses up one scripted SUBSCRIBE failure: the status to answer, if any.
  std::optional<int> takeSubscribeFailure();
  // Uses up one scripted redirect: the Location target, if any.
  std::optional<std::string> takeRedirect();
  bool takeRescind();
  bool takeLaunchFailure();
};

// The operations behind the control endpoints (implemented by the fake).
class ControlOps {
 public:
  virtual ~ControlOps() = default;
  virtual FaultPlan& faults() = 0;
  // Cuts the stream of `frameworkId`, or of every subscribed framework.
  virtual Status dropStream(const std::optional<std::string>& frameworkId) = 0;
  virtual Status rescindOffer(const std::string& offerId) = 0;
  virtual Status killExecutorOfTask(const std::string& taskId) = 0;
  virtual Status loseAgent(const std::string& agentId) = 0;
  // The agent dies as if its process were SIGKILLed and starts again on its
  // checkpoint (only when agents run in the master's process).
  virtual Status restartAgent(const std::string& agentId) = 0;
  virtual Status sendSimulatedStatus(const std::string& taskId, const std::string& state,
                                     const std::string& message) = 0;
  virtual std::string stateJson() = 0;
};

// Adds the /fake/ routes to `server`.
void registerControlRoutes(http::Server& server, ControlOps& ops);

}  // namespace tailor::fake_mesos
