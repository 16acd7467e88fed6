#pragma once

// The project's one HTTP/1.1 server (Boost.Beast, kept inside server.cpp).
// It runs on a component's event loop: handlers are called on the loop
// thread and may answer at once or later through their Responder.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/http/tls.hpp"
#include "common/result.hpp"

namespace tailor {
class AsioEventLoop;
}

namespace tailor::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::string query;   // after '?', undecoded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // Returns the header's value or "" (`name` in lower case).
  std::string header(const std::string& name) const;
};

// The sending side of a streamed response (chunked transfer encoding), for
// long-lived streams such as Mesos' event streams. Loop thread only.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;

  // Queues `data` as one chunk. Returns false once the stream is closed.
  virtual bool write(std::string data) = 0;

  // Ends the stream (last chunk) and then the connection.
  virtual void close() = 0;

  // Drops the connection at once, without the last chunk (as a crash would).
  virtual void abort() = 0;

  virtual bool closed() const = 0;

  // Called once when the stream ends for any reason (peer gone, close, abort).
  virtual void onClosed(std::function<void()> callback) = 0;
};

struct Response {
  int status = 200;
  std::string contentType = "text/plain";
  std::string body;
  // When set, the file's bytes are sent instead of `body` (404 if missing).
  std::string filePath;
  // When set, `filePath` is relative to this folder and opened beneath it
  // only: a path that climbs out (`..`, absolute) or passes a symbolic link
  // anywhere on the way is answered 404 (openat2's RESOLVE_BENEATH and
  // RESOLVE_NO_SYMLINKS).
  std::string fileRoot;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the head is sent with chunked encoding and this is called with
  // the writer for the body; `body` and `filePath` are ignored.
  std::function<void(std::shared_ptr<StreamWriter>)> stream;

  static Response text(int status, std::string body);
};

// Answers a request; must be called exactly once, on the loop thread.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Responder)>;

class Server {
 public:
  // Listens on `bindAddress`:`port` (0 picks a free port) once start() is called.
  Server(AsioEventLoop& loop, std::string bindAddress, std::uint16_t port);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Sends requests whose method matches and whose path starts with
  // `pathPrefix` to `handler`; the longest matching prefix wins. A HEAD
  // request no HEAD route matches goes to the GET routes; it is answered with
  // the head alone, with the length of the body or file. Call before start().
  void route(const std::string& method, const std::string& pathPrefix, Handler handler);

  // Requests with a body over `bytes` (256 MiB by default) are answered with
  // `tooLarge(bytes)` (a plain 413 when unset) and their connection closed.
  // Call before start().
  void setBodyLimit(std::uint64_t bytes, std::function<Response(std::uint64_t)> tooLarge = {});

  // Serves HTTPS only with `config` (docs/security.md "TLS"): a client that
  // speaks plain HTTP gets a 400 saying so; with `config.mutual` a client
  // without a certificate its authority signed is refused in the handshake.
  // The files are loaded by start(), whose error names them. Call before start().
  void useTls(TlsConfig config);

  // At most `connections` open at once (0, the default: no limit); one more
  // is answered 503 and closed at once (closed without an answer under TLS).
  // Call before start().
  void setConnectionLimit(std::size_t connections);

  // Binds and starts accepting. Returns the bound port.
  Result<std::uint16_t> start();

  // Stops accepting and closes open connections.
  void stop();

  std::uint16_t port() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tailor::http
