#include "common/rpc.hpp"

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

http::ClientRequest callRequest(const std::string& address, const std::string& service,
                                const std::string& method,
                                const google::protobuf::Message& request, Duration timeout) {
  http::ClientRequest call;
  call.method = "POST";
  call.url = "http://" + address + methodPath(service, method);
  call.headers = {{"Content-Type", kContentType}, {"Accept", kContentType}};
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
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace tailor::rpc
