#include "common/http/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace tailor::http {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensureCurlGlobal() { static CurlGlobal global; }

struct Sink {
  std::string* body = nullptr;
  std::FILE* file = nullptr;
  std::int64_t bytes = 0;
  bool writeError = false;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * count;
  sink->bytes += static_cast<std::int64_t>(n);
  if (sink->file != nullptr) {
    if (std::fwrite(data, 1, n, sink->file) != n) {
      sink->writeError = true;
      return 0;
    }
  } else {
    sink->body->append(data, n);
  }
  return n;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    auto start = value.find_first_not_of(" \t");
    auto end = value.find_last_not_of(" \t\r\n");
    (*headers)[name] = start == std::string::npos ? "" : value.substr(start, end - start + 1);
  }
  return size * count;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort->load() ? 1 : 0;
}

// One easy handle per worker thread, reused so connections stay alive.
CURL* threadHandle() {
  thread_local std::unique_ptr<CURL, void (*)(CURL*)> handle(curl_easy_init(), curl_easy_cleanup);
  curl_easy_reset(handle.get());
  return handle.get();
}

}  // namespace

Result<ClientResponse> performBlocking(const ClientRequest& request) {
  ensureCurlGlobal();
  CURL* curl = threadHandle();
  ClientResponse response;
  Sink sink;
  sink.body = &response.body;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, std::fclose);
  if (!request.outputFile.empty()) {
    file.reset(std::fopen(request.outputFile.c_str(), "wb"));
    if (!file) {
      return makeError(ErrorCode::kIo, "cannot write '{}'", request.outputFile);
    }
    sink.file = file.get();
  }
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connectTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  if (request.abort != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(request.abort));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  struct curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // Without this libcurl waits for "100 Continue" on larger bodies.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    if (sink.writeError) {
      return makeError(ErrorCode::kIo, "{} {}: cannot write '{}'", request.method, request.url,
                       request.outputFile);
    }
    return makeError(ErrorCode::kUnavailable, "{} {}: {}", request.method, request.url,
                     curl_easy_strerror(code));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.bytesReceived = sink.bytes;
  if (file && std::fflush(file.get()) != 0) {
    return makeError(ErrorCode::kIo, "cannot write '{}'", request.outputFile);
  }
  return response;
}

CurlHttpClient::CurlHttpClient(EventLoop& loop, int workers) : loop_(loop) {
  ensureCurlGlobal();
  for (int i = 0; i < workers; ++i) {
    workers_.emplace_back([this] { workerMain(); });
  }
}

CurlHttpClient::~CurlHttpClient() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& worker : workers_) {
    worker.join();
  }
}

void CurlHttpClient::send(ClientRequest request, Callback done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.emplace_back(std::move(request), std::move(done));
  }
  ready_.notify_one();
}

void CurlHttpClient::workerMain() {
  for (;;) {
    std::pair<ClientRequest, Callback> item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        return;
      }
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    auto result = performBlocking(item.first);
    loop_.post([done = std::move(item.second), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }
}

}  // namespace tailor::http
