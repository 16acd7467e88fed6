#include "cli/dispatcher_client.hpp"

#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/base64.hpp"
#include "common/http/client.hpp"
#include "common/http/tls.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/session.hpp"
#include "common/zookeeper/url.hpp"

namespace tailor::cli {

namespace pbutil = google::protobuf::util;

using http::percentEncode;

std::string dispatcherUrl(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("TAILOR_DISPATCHER");
  if (env != nullptr && *env != '\0') return env;
  return "http://127.0.0.1:8080";
}

namespace {

// "http://host:port" of a URL such as "http://host:port/v1/jobs".
std::string originOf(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return url.substr(0, slash);
}

}  // namespace

namespace {

// The first line of the file `variable` names, without its line end.
Result<std::string> firstLineOf(const char* variable, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return makeError(ErrorCode::kInvalidArgument, "{}: cannot read a line from '{}'", variable,
                     path);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "{}: the first line of '{}' is empty",
                     variable, path);
  }
  return line;
}

}  // namespace

Result<std::string> authorizationFromEnvironment(
    const std::function<const char*(const char*)>& lookUp) {
  auto get = [&](const char* name) -> std::string {
    const char* value = lookUp(name);
    return value == nullptr ? "" : value;
  };
  std::string token = get("TAILOR_TOKEN");
  if (token.empty() && !get("TAILOR_TOKEN_FILE").empty()) {
    auto read = firstLineOf("TAILOR_TOKEN_FILE", get("TAILOR_TOKEN_FILE"));
    if (!read.ok()) return read.error();
    token = std::move(*read);
  }
  if (!token.empty()) return "Bearer " + token;
  std::string user = get("TAILOR_USER");
  std::string password = get("TAILOR_PASSWORD");
  if (password.empty() && !get("TAILOR_PASSWORD_FILE").empty()) {
    auto read = firstLineOf("TAILOR_PASSWORD_FILE", get("TAILOR_PASSWORD_FILE"));
    if (!read.ok()) return read.error();
    password = std::move(*read);
  }
  if (user.empty() && password.empty()) return std::string();
  if (user.empty() || user.find(':') != std::string::npos) {
    return makeError(ErrorCode::kInvalidArgument,
                     "TAILOR_USER: expected a user name without ':' with TAILOR_PASSWORD or "
                     "TAILOR_PASSWORD_FILE");
  }
  if (password.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "TAILOR_USER is set but neither TAILOR_PASSWORD nor TAILOR_PASSWORD_FILE");
  }
  return "Basic " + base64Encode(user + ":" + password);
}

std::string newSubmissionId() {
  std::random_device random;
  return fmt::format("cli-{:08x}{:08x}{:08x}", random(), random(), random());
}

DispatcherClient::DispatcherClient(std::string where, Duration retryFor) : retryFor_(retryFor) {
  auto authorization = authorizationFromEnvironment([](const char* name) { return std::getenv(name); });
  if (authorization.ok()) {
    authorization_ = std::move(*authorization);
  } else {
    credentialsProblem_ = authorization.error().message;
  }
  // An https:// Dispatcher (docs/security.md "TLS"): its certificate is
  // checked against TAILOR_TLS_CA (else the system's authorities) and its
  // host name; TAILOR_TLS_CERT and TAILOR_TLS_KEY are presented when set.
  // The CLI has one client, so this is the process's configuration.
  auto tls = http::tlsFromEnvironment();
  if (tls.ok()) {
    tls->verifyHostname = true;
    http::setProcessTls(*tls);
  } else if (credentialsProblem_.empty()) {
    credentialsProblem_ = "TLS: " + tls.error().message;
  }
  if (zookeeper::isZooKeeperUrl(where)) {
    zooKeeper_ = std::move(where);
    return;
  }
  std::size_t start = 0;
  while (start <= where.size()) {
    auto comma = where.find(',', start);
    std::string one = where.substr(start, comma - start);
    if (!one.empty()) urls_.push_back(http::normalizeBaseUrl(one));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (urls_.empty()) urls_.push_back(http::normalizeBaseUrl(where));
  base_ = urls_.front();
}

bool DispatcherClient::nextBase(std::string* why) {
  if (!zooKeeper_.empty()) {
    auto leader = zookeeper::lookUpLeader(zooKeeper_, "leader", "--dispatcher");
    if (!leader.ok()) {
      *why = leader.error().message;
      return false;
    }
    base_ = http::normalizeBaseUrl(*leader);
    return true;
  }
  if (urls_.size() < 2) return false;
  next_ = (next_ + 1) % urls_.size();
  base_ = urls_[next_];
  return true;
}

template <typename T>
ApiResult<T> DispatcherClient::call(const std::string& method, const std::string& path,
                                    const std::string& body) {
  ApiResult<T> result;
  if (!credentialsProblem_.empty()) {
    result.failure.httpStatus = 400;  // refused here, not unreachable
    result.failure.message = "credentials: " + credentialsProblem_;
    return result;
  }
  http::ClientRequest request;
  request.method = method;
  request.body = body;
  request.headers = {{"Accept", "application/json"}};
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  if (!authorization_.empty()) request.headers.emplace_back("Authorization", authorization_);
  request.timeout = Duration(60000);
  // With several Dispatchers, one that does not answer or stands by is not
  // the end: try again until one leads or retryFor has passed.
  const bool several = !zooKeeper_.empty() || urls_.size() > 1;
  const auto deadline = std::chrono::steady_clock::now() + retryFor_;
  std::string problem;
  int redirects = 0;
  Result<http::ClientResponse> response = makeError(ErrorCode::kUnavailable, "not sent");
  if (base_.empty()) (void)nextBase(&problem);  // ZooKeeper: the first lookup
  while (true) {
    if (!base_.empty()) {
      request.url = base_ + path;
      response = http::performBlocking(request);
      if (response.ok() && response->status == 307 && redirects < 3 &&
          response->headers.count("location") != 0) {
        base_ = originOf(response->headers.at("location"));  // a standby names the leader
        ++redirects;
        continue;
      }
      if (!several || (response.ok() && response->status != 503)) break;
      problem = response.ok() ? fmt::format("{} answered HTTP 503", base_)
                              : base_ + ": " + response.error().message;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result.failure.message = fmt::format(
          "no leading Dispatcher answered within {} s; the last try: {} (set --dispatcher or "
          "TAILOR_DISPATCHER)",
          retryFor_.count() / 1000, problem);
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    redirects = 0;
    std::string why;
    if (!nextBase(&why) && !why.empty()) problem = why;
  }
  if (!response.ok()) {
    result.failure.message = "cannot reach the Dispatcher at " + base_ + ": " +
                             response.error().message +
                             " (set --dispatcher or TAILOR_DISPATCHER)";
    return result;
  }
  result.json = response->body;
  if (response->status / 100 != 2) {
    result.failure.httpStatus = response->status;
    v1::ApiError error;
    pbutil::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (pbutil::JsonStringToMessage(response->body, &error, options).ok() &&
        !error.message().empty()) {
      result.failure.message = error.message();
    } else {
      result.failure.message = fmt::format("HTTP {}: {}", response->status, response->body);
    }
    if (response->status == 401) {
      result.failure.message += authorization_.empty()
                                    ? std::string(" (no credentials sent: ") + kCredentialsHint + ")"
                                    : std::string(" (the credentials sent were refused; ") +
                                          kCredentialsHint + ")";
    } else if (response->status == 403) {
      result.failure.message +=
          std::string(" (for another identity, ") + kCredentialsHint + ")";
    }
    return result;
  }
  T value;
  pbutil::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // newer Dispatchers may add fields
  auto parsed = pbutil::JsonStringToMessage(response->body, &value, options);
  if (!parsed.ok()) {
    result.failure.httpStatus = response->status;
    result.failure.message = "the Dispatcher's answer is not understood: " +
                             std::string(parsed.message());
    return result;
  }
  result.value = std::move(value);
  return result;
}

namespace {

std::string jsonBody(const google::protobuf::Message& request) {
  std::string body;
  pbutil::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)pbutil::MessageToJsonString(request, &body, options);
  return body;
}

}  // namespace

ApiResult<v1::SubmitJobResponse> DispatcherClient::submit(const v1::SubmitJobRequest& request) {
  return call<v1::SubmitJobResponse>("POST", "/v1/jobs", jsonBody(request));
}

ApiResult<v1::SessionView> DispatcherClient::startSession(const v1::StartSessionRequest& request) {
  return call<v1::SessionView>("POST", "/v1/sessions", jsonBody(request));
}

ApiResult<v1::ListSessionsResponse> DispatcherClient::sessions() {
  return call<v1::ListSessionsResponse>("GET", "/v1/sessions", "");
}

ApiResult<v1::SessionView> DispatcherClient::session(const std::string& name) {
  return call<v1::SessionView>("GET", "/v1/sessions/" + percentEncode(name), "");
}

ApiResult<v1::SessionView> DispatcherClient::stopSession(const std::string& name) {
  return call<v1::SessionView>("DELETE", "/v1/sessions/" + percentEncode(name), "");
}

ApiResult<v1::ListJobsResponse> DispatcherClient::list(const std::string& state, int offset,
                                                       int limit) {
  std::string path = fmt::format("/v1/jobs?offset={}&limit={}", offset, limit);
  if (!state.empty()) path += "&state=" + percentEncode(state);
  return call<v1::ListJobsResponse>("GET", path, "");
}

ApiResult<v1::JobView> DispatcherClient::job(const std::string& id) {
  return call<v1::JobView>("GET", "/v1/jobs/" + percentEncode(id), "");
}

ApiResult<v1::JobView> DispatcherClient::cancel(const std::string& id) {
  return call<v1::JobView>("POST", "/v1/jobs/" + percentEncode(id) + "/cancel", "");
}

ApiResult<v1::JobReport> DispatcherClient::report(const std::string& id) {
  return call<v1::JobReport>("GET", "/v1/jobs/" + percentEncode(id) + "/report", "");
}

ApiResult<v1::LogChunk> DispatcherClient::log(const std::string& id, const std::string& task,
                                              int attempt, long long offset, long long tail) {
  std::string path = "/v1/jobs/" + percentEncode(id) + "/log";
  if (offset >= 0) {
    path += fmt::format("?offset={}", offset);
  } else {
    path += fmt::format("?tail={}", std::max(0LL, tail));
  }
  if (!task.empty()) path += "&task=" + percentEncode(task);
  if (attempt > 0) path += fmt::format("&attempt={}", attempt);
  return call<v1::LogChunk>("GET", path, "");
}

}  // namespace tailor::cli
