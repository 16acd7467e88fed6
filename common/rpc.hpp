#pragma once

// Internal RPC: protobuf messages as bodies of HTTP/1.1 POSTs to
// /rpc/<Service>/<Method>. A handler's Error becomes a non-2xx answer whose
// body is the message; the caller gets it back as an Error. See docs/rpc.md.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/result.hpp"
#include "common/secret.hpp"

namespace tailor::rpc {

inline constexpr const char* kContentType = "application/x-protobuf";

std::string methodPath(const std::string& service, const std::string& method);

// The job secret this process presents on every call it makes (and on
// partition fetches), in the secret::kHeader header; empty: none. Set once at
// start, before calls are made (a JobManager's or TaskManager's job secret).
void setCallSecret(std::string secret);
const std::string& callSecret();

// Adds callSecret() to `request` (a partition fetch), when there is one.
void addCallSecret(http::ClientRequest& request);

// Whether `request` carries `secret` (always true for an empty `secret`).
bool carriesSecret(const http::Request& request, const std::string& secret);

// The 401 answer to a request without the right secret; says nothing of it.
http::Response wrongSecretResponse(const std::string& what);

// Latencies of served and made calls, by service and method, with whether
// they failed (tailor_rpc_server_duration_seconds, ..._client_...).
void observeServed(const std::string& service, const std::string& method, bool failed,
                   std::chrono::steady_clock::time_point start);
void observeCalled(const std::string& service, const std::string& method, bool failed,
                   std::chrono::steady_clock::time_point start);

// Maps an Error code to the HTTP status that carries it, and back.
int statusForError(const Error& error);
ErrorCode errorForStatus(int status);

// The HTTP request of a call of `service`.`method` at `address` (host:port),
// carrying `secret`, or callSecret() when it is empty.
http::ClientRequest callRequest(const std::string& address, const std::string& service,
                                const std::string& method,
                                const google::protobuf::Message& request, Duration timeout,
                                const std::string& secret = "");

// Calls `service`.`method` at `address` (host:port) on the calling thread and
// waits for the answer: for threads of their own (reporters, start-up).
Result<std::string> callBlockingRaw(const std::string& address, const std::string& service,
                                    const std::string& method,
                                    const google::protobuf::Message& request, Duration timeout,
                                    Duration connectTimeout);

template <typename Resp>
Result<Resp> callBlocking(const std::string& address, const std::string& service,
                          const std::string& method, const google::protobuf::Message& request,
                          Duration timeout = Duration(5000),
                          Duration connectTimeout = Duration(2000)) {
  auto body = callBlockingRaw(address, service, method, request, timeout, connectTimeout);
  if (!body.ok()) return body.error();
  Resp parsed;
  if (!parsed.ParseFromString(*body)) {
    return makeError(ErrorCode::kInternal, "{}.{}: answer is not a valid {}", service, method,
                     Resp::descriptor()->full_name());
  }
  return parsed;
}

class Server {
 public:
  explicit Server(http::Server& http)
      : http_(http), secret_(std::make_shared<std::string>()) {}

  // Every call must carry `secret` (secret::kHeader); one without it, or
  // with another, is answered 401 before its body is read. Any time before
  // the HTTP server starts.
  void requireSecret(std::string secret) { *secret_ = std::move(secret); }

  // Serves `service`.`method`: parses the body as Req, calls `handler` on the
  // loop thread and sends its Resp (or Error) back. With `secretOf`, a server
  // whose callers hold different secrets (a Dispatcher: each job its own)
  // also answers 401 to a call that does not carry `secretOf(request)`.
  template <typename Req, typename Resp>
  void handle(const std::string& service, const std::string& method,
              std::function<Result<Resp>(const Req&)> handler,
              std::function<std::string(const Req&)> secretOf = {}) {
    http_.route("POST", methodPath(service, method),
                [handler = std::move(handler), secretOf = std::move(secretOf), service, method,
                 name = service + "." + method,
                 secret = secret_](const http::Request& request, http::Responder respond) {
                  auto start = std::chrono::steady_clock::now();
                  if (!carriesSecret(request, *secret)) {
                    observeServed(service, method, true, start);
                    respond(wrongSecretResponse(name));
                    return;
                  }
                  Req parsed;
                  if (!parsed.ParseFromString(request.body)) {
                    respond(http::Response::text(400, name + ": body is not a valid " +
                                                          Req::descriptor()->full_name() + "\n"));
                    return;
                  }
                  if (secretOf && !carriesSecret(request, secretOf(parsed))) {
                    observeServed(service, method, true, start);
                    respond(wrongSecretResponse(name));
                    return;
                  }
                  Result<Resp> result = handler(parsed);
                  observeServed(service, method, !result.ok(), start);
                  if (!result.ok()) {
                    respond(http::Response::text(statusForError(result.error()),
                                                 result.error().message));
                    return;
                  }
                  http::Response response;
                  response.contentType = kContentType;
                  response.body = result->SerializeAsString();
                  respond(std::move(response));
                });
  }

 private:
  http::Server& http_;
  std::shared_ptr<std::string> secret_;  // shared with the routes
};

class Client {
 public:
  explicit Client(http::HttpClient& http) : http_(http) {}

  // Calls `service`.`method` at `address` (host:port); `done` runs on the
  // loop of the underlying HttpClient.
  // `secret`: what the call carries instead of callSecret() (a Dispatcher
  // calling the processes of one of its jobs).
  template <typename Resp>
  void call(const std::string& address, const std::string& service, const std::string& method,
            const google::protobuf::Message& request, std::function<void(Result<Resp>)> done,
            Duration timeout = Duration(10000), const std::string& secret = "") {
    http_.send(callRequest(address, service, method, request, timeout, secret),
               [done = std::move(done), service, method, start = std::chrono::steady_clock::now()](
                                    Result<http::ClientResponse> response) {
      observeCalled(service, method, !response.ok() || response->status / 100 != 2, start);
      if (!response.ok()) {
        done(response.error());
        return;
      }
      if (response->status / 100 != 2) {
        done(Error{errorForStatus(response->status),
                   service + "." + method + ": " + response->body});
        return;
      }
      Resp parsed;
      if (!parsed.ParseFromString(response->body)) {
        done(makeError(ErrorCode::kInternal, "{}.{}: answer is not a valid {}", service, method,
                       Resp::descriptor()->full_name()));
        return;
      }
      done(std::move(parsed));
    });
  }

 private:
  http::HttpClient& http_;
};

}  // namespace tailor::rpc
