#include "tests/fake_mesos/scripting.hpp"

#include <charconv>

#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {
namespace {

std::optional<int> parseCount(const std::map<std::string, std::string>& params,
                              const std::string& name, int fallback) {
  auto it = params.find(name);
  if (it == params.end()) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

http::Response answer(const Status& status, const std::string& done) {
  if (status.ok()) return textResponse(200, done + "\n");
  int code = status.error().code == ErrorCode::kNotFound ? 404 : 400;
  return textResponse(code, status.error().message + "\n");
}

using Params = std::map<std::string, std::string>;

}  // namespace

std::optional<int> FaultPlan::takeSubscribeFailure() {
  if (failSubscribeCount <= 0) return std::nullopt;
  --failSubscribeCount;
  return failSubscribeStatus;
}

std::optional<std::string> FaultPlan::takeRedirect() {
  if (redirectCount <= 0) return std::nullopt;
  --redirectCount;
  return redirectTo;
}

bool FaultPlan::takeRescind() {
  if (rescindNextCount <= 0) return false;
  --rescindNextCount;
  return true;
}

bool FaultPlan::takeLaunchFailure() {
  if (failLaunchCount <= 0) return false;
  --failLaunchCount;
  return true;
}

void registerControlRoutes(http::Server& server, ControlOps& ops) {
  auto post = [&server](const std::string& path,
                        std::function<http::Response(const Params&)> handler) {
    server.route("POST", path,
                 [path, handler](const http::Request& request, http::Responder respond) {
                   if (request.path != path) {
                     respond(textResponse(404, "no control endpoint " + request.path + "\n"));
                     return;
                   }
                   respond(handler(parseQuery(request.query)));
                 });
  };

  post("/fake/drop-stream", [&ops](const Params& params) {
    std::optional<std::string> framework;
    if (auto it = params.find("framework"); it != params.end()) framework = it->second;
    return answer(ops.dropStream(framework), "dropped");
  });
  post("/fake/fail-subscribe", [&ops](const Params& params) {
    auto status = parseCount(params, "status", 503);
    auto count = parseCount(params, "count", 1);
    if (!status || !count || *status < 100 || *status > 599) {
      return textResponse(400, "expected status=<HTTP status> and count=<N>\n");
    }
    ops.faults().failSubscribeStatus = *status;
    ops.faults().failSubscribeCount = *count;
    return textResponse(200, "the next " + std::to_string(*count) + " SUBSCRIBE get " +
                                 std::to_string(*status) + "\n");
  });
  post("/fake/redirect", [&ops](const Params& params) {
    auto count = parseCount(params, "count", 1);
    auto to = params.find("to");
    if (!count || to == params.end() || to->second.find(':') == std::string::npos) {
      return textResponse(400, "expected to=<host:port> and count=<N>\n");
    }
    ops.faults().redirectTo = to->second;
    ops.faults().redirectCount = *count;
    return textResponse(
        200, "the next " + std::to_string(*count) + " SUBSCRIBE go to " + to->second + "\n");
  });
  post("/fake/rescind", [&ops](const Params& params) {
    auto offer = params.find("offer");
    if (offer == params.end()) return textResponse(400, "expected offer=<offer id>\n");
    return answer(ops.rescindOffer(offer->second), "rescinded");
  });
  post("/fake/rescind-next", [&ops](const Params& params) {
    auto count = parseCount(params, "count", 1);
    if (!count) return textResponse(400, "expected count=<N>\n");
    ops.faults().rescindNextCount = *count;
    return textResponse(200, "the next " + std::to_string(*count) + " offers are rescinded\n");
  });
  post("/fake/kill-executor", [&ops](const Params& params) {
    auto task = params.find("task");
    if (task == params.end()) return textResponse(400, "expected task=<task id>\n");
    return answer(ops.killExecutorOfTask(task->second), "killed");
  });
  post("/fake/fail-next-launch", [&ops](const Params& params) {
    auto count = parseCount(params, "count", 1);
    if (!count) return textResponse(400, "expected count=<N>\n");
    ops.faults().failLaunchCount = *count;
    return textResponse(200, "the next " + std::to_string(*count) + " launches fail\n");
  });
  post("/fake/lose-agent", [&ops](const Params& params) {
    auto agent = params.find("agent");
    if (agent == params.end()) return textResponse(400, "expected agent=<agent id>\n");
    return answer(ops.loseAgent(agent->second), "lost");
  });
  post("/fake/restart-agent", [&ops](const Params& params) {
    auto agent = params.find("agent");
    if (agent == params.end()) return textResponse(400, "expected agent=<agent id>\n");
    return answer(ops.restartAgent(agent->second), "restarting");
  });
  post("/fake/task-status", [&ops](const Params& params) {
    auto task = params.find("task");
    auto state = params.find("state");
    if (task == params.end() || state == params.end()) {
      return textResponse(400, "expected task=<task id> and state=<TASK_...>\n");
    }
    auto message = params.find("message");
    return answer(ops.sendSimulatedStatus(task->second, state->second,
                                          message == params.end() ? "" : message->second),
                  "sent");
  });
  server.route("GET", "/fake/state", [&ops](const http::Request& request, http::Responder respond) {
    http::Response response = textResponse(200, ops.stateJson());
    response.contentType = "application/json";
    respond(std::move(response));
  });
}

}  // namespace tailor::fake_mesos
