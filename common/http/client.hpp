#pragma once

// The project's one HTTP client (libcurl). Requests run on a small pool of
// worker threads; completions are posted back to the caller's event loop.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"

namespace tailor::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration timeout{30000};
  Duration connectTimeout{5000};
  // When set, the response body is written to this file instead of `body`
  // (only for a 2xx answer).
  std::string outputFile;
  // When set, the transfer is aborted as soon as it reads true.
  const std::atomic<bool>* abort = nullptr;
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::int64_t bytesReceived = 0;
};

// Percent-encodes everything but RFC 3986's unreserved characters, for a
// path segment or a query value.
std::string percentEncode(std::string_view text);

// A service's base URL as users give it: a bare HOST:PORT gets http://, and
// trailing slashes go, so that base + "/path" is a URL.
std::string normalizeBaseUrl(std::string url);

// Performs one request on the calling thread. Transport failures are
// kUnavailable errors naming the URL; any HTTP status is a response.
Result<ClientResponse> performBlocking(const ClientRequest& request);

class HttpClient {
 public:
  using Callback = std::function<void(Result<ClientResponse>)>;
  virtual ~HttpClient() = default;

  // Sends `request`; `done` runs later on the loop given at construction.
  // Thread-safe.
  virtual void send(ClientRequest request, Callback done) = 0;
};

// A long-lived request whose answer arrives in pieces (Mesos' event streams).
// It runs on its own thread; every handler runs on `loop`, in order: onHead
// once, onData for each piece received, then onEnd once (ok: the server ended
// the body; error: transport failure or cancel()).
class StreamingCall {
 public:
  struct Handlers {
    std::function<void(int status, const std::map<std::string, std::string>& headers)> onHead;
    std::function<void(std::string data)> onData;
    std::function<void(Status end)> onEnd;
  };

  // Starts the request at once. `request.timeout` of zero means no limit.
  StreamingCall(EventLoop& loop, ClientRequest request, Handlers handlers);
  ~StreamingCall();  // cancels and waits for the thread; no handler runs after
  StreamingCall(const StreamingCall&) = delete;
  StreamingCall& operator=(const StreamingCall&) = delete;

  // Aborts the transfer (within about a second). Thread-safe.
  void cancel() { cancelled_ = true; }

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::atomic<bool> cancelled_{false};
  std::thread thread_;
};

class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient(EventLoop& loop, int workers);
  ~CurlHttpClient() override;

  void send(ClientRequest request, Callback done) override;

 private:
  void workerMain();

  EventLoop& loop_;
  // Guards queue_ and stopping_.
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<ClientRequest, Callback>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace tailor::http
