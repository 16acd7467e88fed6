#include "common/http/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>

#include "common/http/tls.hpp"

namespace tailor::http {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensureCurlGlobal() { static CurlGlobal global; }

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

// One easy handle per thread, reused so connections stay alive; perform()
// resets its options before each request.
CURL* threadHandle() {
  thread_local std::unique_ptr<CURL, void (*)(CURL*)> handle(curl_easy_init(), curl_easy_cleanup);
  return handle.get();
}

// Receives the answer of perform(): headers first, then body pieces.
struct BodyHandler {
  std::map<std::string, std::string>* headers = nullptr;
  std::function<bool(const char* data, size_t size)> onData;  // false aborts
  bool failedToStore = false;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* handler = static_cast<BodyHandler*>(user);
  size_t n = size * count;
  if (!handler->onData(data, n)) {
    handler->failedToStore = true;
    return 0;
  }
  return n;
}

// The receive buffer libcurl reads the socket into (its default is 16 KiB;
// it allows up to CURL_MAX_READ_SIZE). With 512 KiB a 64 MiB partition
// fetch went from about 660 to 2250 MiB/s here (bench/README.md).
constexpr long kReceiveBuffer = 512 * 1024;

// An https:// request trusts the process's authorities, presents its
// certificate (for servers that ask, docs/security.md "TLS") and checks the
// server's name only where the process asks for it.
void applyTls(CURL* curl) {
  const TlsConfig& tls = processTls();
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls.verifyHostname ? 2L : 0L);
  if (!tls.caFile.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls.caFile.c_str());
  if (tls.serving()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.certFile.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.keyFile.c_str());
  }
}

// Runs `request` on the calling thread, handing the body to `handler`.
// Returns the HTTP status or a transport error.
Result<int> perform(const ClientRequest& request, BodyHandler& handler) {
  ensureCurlGlobal();
  CURL* curl = threadHandle();
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  if (request.url.rfind("https://", 0) == 0) applyTls(curl);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connectTimeout.count()));
  // Large reads from the socket: partitions are megabytes, not kilobytes.
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &handler);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, handler.headers);
  if (request.abort != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(request.abort));
  }
  // A HEAD answer's Content-Length is the GET's body, which never comes.
  if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
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
  if (code != CURLE_OK && !handler.failedToStore) {
    return makeError(ErrorCode::kUnavailable, "{} {}: {}", request.method, request.url,
                     curl_easy_strerror(code));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  return static_cast<int>(status);
}

}  // namespace

std::string percentEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string normalizeBaseUrl(std::string url) {
  if (url.find("://") == std::string::npos) url = "http://" + url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Result<ClientResponse> performBlocking(const ClientRequest& request) {
  ClientResponse response;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, std::fclose);
  std::vector<char> fileBuffer;
  if (!request.outputFile.empty()) {
    file.reset(std::fopen(request.outputFile.c_str(), "wb"));
    if (!file) {
      return makeError(ErrorCode::kIo, "cannot write '{}'", request.outputFile);
    }
    // Writes to the file as large as the reads from the socket.
    fileBuffer.resize(kReceiveBuffer);
    std::setvbuf(file.get(), fileBuffer.data(), _IOFBF, fileBuffer.size());
  }
  BodyHandler handler;
  handler.headers = &response.headers;
  handler.onData = [&](const char* data, size_t size) {
    response.bytesReceived += static_cast<std::int64_t>(size);
    if (file) return std::fwrite(data, 1, size, file.get()) == size;
    response.body.append(data, size);
    return true;
  };
  auto status = perform(request, handler);
  if (!status.ok()) return status.error();
  if (handler.failedToStore || (file && std::fflush(file.get()) != 0)) {
    return makeError(ErrorCode::kIo, "{} {}: cannot write '{}'", request.method, request.url,
                     request.outputFile);
  }
  response.status = *status;
  return response;
}

// What the streaming thread and the loop share: handlers run only while
// `alive` (cleared by the destructor, on the loop thread).
struct StreamingCall::Shared {
  std::atomic<bool> alive{true};
};

StreamingCall::StreamingCall(EventLoop& loop, ClientRequest request, Handlers handlers)
    : shared_(std::make_shared<Shared>()) {
  thread_ = std::thread([this, &loop, request = std::move(request),
                         handlers = std::move(handlers), shared = shared_]() mutable {
    request.abort = &cancelled_;
    std::map<std::string, std::string> headers;
    bool headSent = false;
    auto sendHead = [&] {
      if (headSent) return;
      headSent = true;
      long status = 0;
      curl_easy_getinfo(threadHandle(), CURLINFO_RESPONSE_CODE, &status);
      loop.post([shared, onHead = handlers.onHead, status = static_cast<int>(status), headers] {
        if (shared->alive) onHead(status, headers);
      });
    };
    BodyHandler handler;
    handler.headers = &headers;
    handler.onData = [&](const char* data, size_t size) {
      sendHead();
      loop.post([shared, onData = handlers.onData, piece = std::string(data, size)]() mutable {
        if (shared->alive) onData(std::move(piece));
      });
      return true;
    };
    auto status = perform(request, handler);
    if (status.ok()) sendHead();
    Status end = status.ok() ? Status() : Status(status.error());
    if (cancelled_) end = makeError(ErrorCode::kUnavailable, "{}: cancelled", request.url);
    loop.post([shared, onEnd = handlers.onEnd, end] {
      if (shared->alive) onEnd(end);
    });
  });
}

StreamingCall::~StreamingCall() {
  shared_->alive = false;
  cancelled_ = true;
  if (thread_.joinable()) thread_.join();
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
