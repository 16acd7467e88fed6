#include "common/rpc.hpp"

#include <cctype>

#include "common/http/tls.hpp"
#include "common/metrics.hpp"

namespace tailor::rpc {

std::string methodPath(const std::string& service, const std::string& method) {
  return "/rpc/" + service + "/" + method;
}

void observeServed(const std::string& service, const std::string& method, bool failed,
                   std::chrono::steady_clock::time_point start) {
  metrics::defaultRegistry()
      .histogram("tailor_rpc_server_duration_seconds",
                 "Time to handle an RPC this process serves, by service, method and outcome",
                 metrics::latencyBuckets(),
                 {{"service", service}, {"method", method}, {"outcome", failed ? "error" : "ok"}})
      .observe(metrics::secondsSince(start));
}

void observeCalled(const std::string& service, const std::string& method, bool failed,
                   std::chrono::steady_clock::time_point start) {
  metrics::defaultRegistry()
      .histogram("tailor_rpc_client_duration_seconds",
                 "Time from sending an RPC to its answer (or failure), by service, method and "
                 "outcome",
                 metrics::latencyBuckets(),
                 {{"service", service}, {"method", method}, {"outcome", failed ? "error" : "ok"}})
      .observe(metrics::secondsSince(start));
}

namespace {

std::string& processSecret() {
  static std::string secret;
  return secret;
}

}  // namespace

void setCallSecret(std::string secret) { processSecret() = std::move(secret); }

const std::string& callSecret() { return processSecret(); }

void addCallSecret(http::ClientRequest& request) {
  if (!callSecret().empty()) request.headers.emplace_back(secret::kHeader, callSecret());
}

bool carriesSecret(const http::Request& request, const std::string& secret) {
  if (secret.empty()) return true;
  std::string lower = secret::kHeader;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return secret::equal(request.header(lower), secret);
}

http::Response wrongSecretResponse(const std::string& what) {
  return http::Response::text(
      401, what + ": refused: the request does not carry this job's secret (" +
               std::string(secret::kHeader) + "); only the job's own processes may call\n");
}

http::ClientRequest callRequest(const std::string& address, const std::string& service,
                                const std::string& method,
                                const google::protobuf::Message& request, Duration timeout,
                                const std::string& secret) {
  http::ClientRequest call;
  call.method = "POST";
  call.url = http::internalScheme() + address + methodPath(service, method);
  call.headers = {{"Content-Type", kContentType}, {"Accept", kContentType}};
  const std::string& carried = secret.empty() ? callSecret() : secret;
  if (!carried.empty()) call.headers.emplace_back(secret::kHeader, carried);
  call.body = request.SerializeAsString();
  call.timeout = timeout;
  return call;
}

Result<std::string> callBlockingRaw(const std::string& address, const std::string& service,
                                    const std::string& method,
                                    const google::protobuf::Message& request, Duration timeout,
                                    Duration connectTimeout) {
  http::ClientRequest call = callRequest(address, service, method, request, timeout);
  call.connectTimeout = connectTimeout;
  auto start = std::chrono::steady_clock::now();
  auto answer = http::performBlocking(call);
  observeCalled(service, method, !answer.ok() || answer->status / 100 != 2, start);
  if (!answer.ok()) return answer.error();
  if (answer->status / 100 != 2) {
    return Error{errorForStatus(answer->status), service + "." + method + ": " + answer->body};
  }
  return std::move(answer->body);
}

int statusForError(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

ErrorCode errorForStatus(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kFailedPrecondition;
    case 503:
      return ErrorCode::kUnavailable;
    case 401:
      return ErrorCode::kUnauthenticated;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace tailor::rpc
