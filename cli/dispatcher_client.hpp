#pragma once

// The CLI's side of the Dispatcher's REST API: one blocking HTTP call per
// method, JSON in and out through the protobuf messages of
// proto/tailor/v1/dispatcher.proto.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"

#include "common/result.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/report.pb.h"
#include "tailor/v1/session.pb.h"

namespace tailor::cli {

// The Authorization header's value the CLI sends, from the environment
// (`lookUp` reads a variable, nullptr when unset): TAILOR_TOKEN or the first
// line of TAILOR_TOKEN_FILE as a Bearer token, else TAILOR_USER with
// TAILOR_PASSWORD or the first line of TAILOR_PASSWORD_FILE as Basic; "" when
// none is set. An error names the variable (never the secret).
Result<std::string> authorizationFromEnvironment(
    const std::function<const char*(const char*)>& lookUp);

// What to set, for the message of a 401 or 403.
inline constexpr const char* kCredentialsHint =
    "set TAILOR_TOKEN or TAILOR_TOKEN_FILE, or TAILOR_USER with TAILOR_PASSWORD or "
    "TAILOR_PASSWORD_FILE";

// An answer the Dispatcher gave, or why there was none.
struct ApiFailure {
  int httpStatus = 0;  // 0: the Dispatcher could not be reached
  std::string message;
};

template <typename T>
struct ApiResult {
  std::optional<T> value;
  std::string json;  // the answer's body as received, for --output json
  ApiFailure failure;
  bool ok() const { return value.has_value(); }
};

// Where the CLI finds the Dispatcher: one URL, several (`URL,URL`: the
// instances of an HA setup), or `zk://HOST:PORT,.../PATH` (the ZooKeeper
// state store the Dispatchers share: the leader is looked up there). With
// several URLs or ZooKeeper, a call that finds no leader (no answer, or 503
// from a standby) tries again, the next URL or a new lookup, until `retryFor`
// has passed; a standby's 307 is followed to the leader.
class DispatcherClient {
 public:
  // A URL is http://HOST:PORT or https://HOST:PORT (a bare HOST:PORT gets
  // http://). Credentials come from the environment
  // (authorizationFromEnvironment), and so does the TLS trust (TAILOR_TLS_CA);
  // a problem with them fails every call with its message.
  explicit DispatcherClient(std::string where, Duration retryFor = Duration(30000));

  ApiResult<v1::SubmitJobResponse> submit(const v1::SubmitJobRequest& request);
  ApiResult<v1::ListJobsResponse> list(const std::string& state, int offset, int limit);
  ApiResult<v1::JobView> job(const std::string& id);
  ApiResult<v1::JobView> cancel(const std::string& id);
  ApiResult<v1::JobReport> report(const std::string& id);
  // The JobManager's log, or with `task` ("stage[index]") that task's stderr
  // (`attempt` 0: the latest). Set offset >= 0 for a chunk from there, else
  // tail >= 0 for the last bytes.
  ApiResult<v1::LogChunk> log(const std::string& id, const std::string& task, int attempt,
                              long long offset, long long tail);

  // Sessions: POST /v1/sessions, GET /v1/sessions[/NAME], DELETE /v1/sessions/NAME.
  ApiResult<v1::SessionView> startSession(const v1::StartSessionRequest& request);
  ApiResult<v1::ListSessionsResponse> sessions();
  ApiResult<v1::SessionView> session(const std::string& name);
  ApiResult<v1::SessionView> stopSession(const std::string& name);

  // The URL of the Dispatcher last answered (or tried).
  const std::string& base() const { return base_; }

 private:
  template <typename T>
  ApiResult<T> call(const std::string& method, const std::string& path, const std::string& body);
  // Finds a Dispatcher to try next; false with `why` when there is none.
  bool nextBase(std::string* why);

  std::vector<std::string> urls_;  // the URLs given (empty with ZooKeeper)
  std::string zooKeeper_;          // the zk:// URL given, or empty
  std::size_t next_ = 0;
  Duration retryFor_;
  std::string base_;
  std::string authorization_;  // the header's value; "" sends none
  std::string credentialsProblem_;
};

// A fresh submission id for SubmitJobRequest.submission_id.
std::string newSubmissionId();

// The Dispatcher's URL: --dispatcher if given, else $TAILOR_DISPATCHER, else
// http://127.0.0.1:8080.
std::string dispatcherUrl(const std::string& flag);

}  // namespace tailor::cli
