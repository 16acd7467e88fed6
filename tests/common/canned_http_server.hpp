#pragma once

// A loopback HTTP server on its own loop thread that answers each request
// with the canned response set for its method and path (404 otherwise), and
// records what it received. For testing blocking clients of REST APIs
// (Marathon, the Mesos master's operator endpoints) against real-shaped
// bodies. It does not interpret requests: every answer is scripted.

#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/http/server.hpp"

namespace tailor::test {

class CannedHttpServer {
 public:
  CannedHttpServer() : server_(loop_, "127.0.0.1", 0) {
    for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
      server_.route(method, "/", [this](const http::Request& request, http::Responder respond) {
        respond(answer(request));
      });
    }
    auto port = server_.start();
    port_ = port.ok() ? *port : 0;
    thread_ = std::thread([this] { loop_.run(); });
  }

  ~CannedHttpServer() { stop(); }

  // Closes the port (later requests are refused) and ends the loop thread.
  void stop() {
    if (!thread_.joinable()) return;
    std::promise<void> stopped;
    loop_.post([&] {
      server_.stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    loop_.stop();
    thread_.join();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Answers `method` `path` (the path without the query) with `status` and
  // a JSON `body`, plus `headers`. The latest call for a path wins.
  void on(const std::string& method, const std::string& path, int status, std::string body,
          std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Response response;
    response.status = status;
    response.contentType = "application/json";
    response.body = std::move(body);
    response.headers = std::move(headers);
    std::lock_guard<std::mutex> lock(mutex_);
    canned_[{method, path}] = std::move(response);
  }

  // Every request received so far, in order.
  std::vector<http::Request> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  http::Request lastRequest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.empty() ? http::Request{} : requests_.back();
  }

 private:
  http::Response answer(const http::Request& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    auto found = canned_.find({request.method, request.path});
    if (found == canned_.end()) return http::Response::text(404, "no canned answer");
    return found->second;
  }

  AsioEventLoop loop_;
  http::Server server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  // Guards canned_ and requests_ (the test thread scripts, the loop answers).
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, http::Response> canned_;
  std::vector<http::Request> requests_;
};

}  // namespace tailor::test
