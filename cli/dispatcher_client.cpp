#include "cli/dispatcher_client.hpp"

#include <google/protobuf/util/json_util.h>

#include <cstdlib>

#include "common/http/client.hpp"

namespace tailor::cli {

namespace pbutil = google::protobuf::util;

using http::percentEncode;

std::string dispatcherUrl(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("TAILOR_DISPATCHER");
  if (env != nullptr && *env != '\0') return env;
  return "http://127.0.0.1:8080";
}

DispatcherClient::DispatcherClient(std::string base)
    : base_(http::normalizeBaseUrl(std::move(base))) {}

template <typename T>
ApiResult<T> DispatcherClient::call(const std::string& method, const std::string& path,
                                    const std::string& body) {
  ApiResult<T> result;
  http::ClientRequest request;
  request.method = method;
  request.url = base_ + path;
  request.body = body;
  request.headers = {{"Accept", "application/json"}};
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.timeout = Duration(60000);
  auto response = http::performBlocking(request);
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

ApiResult<v1::SubmitJobResponse> DispatcherClient::submit(const v1::SubmitJobRequest& request) {
  std::string body;
  pbutil::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)pbutil::MessageToJsonString(request, &body, options);
  return call<v1::SubmitJobResponse>("POST", "/v1/jobs", body);
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
