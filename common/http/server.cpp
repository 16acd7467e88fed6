#include "common/http/server.hpp"

// <utility> must precede Asio; asio_event_loop.hpp does that.
#include "common/asio_event_loop.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <array>
#include <chrono>
#include <deque>
#include <set>
#include <string_view>

#include "common/http/tls.hpp"
#include "common/logging.hpp"

namespace tailor::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string Request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

Response Response::text(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

namespace {

constexpr std::uint64_t kDefaultBodyLimit = 256ull << 20;

struct Route {
  std::string method;
  std::string prefix;
  Handler handler;
};

// Opens the file a response sends: `filePath` as it is, or beneath
// `fileRoot` with nothing that leaves it. -1 when it cannot be opened.
int openResponseFile(const Response& response) {
  if (response.fileRoot.empty()) return ::open(response.filePath.c_str(), O_RDONLY | O_CLOEXEC);
  int root = ::open(response.fileRoot.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return -1;
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, root, response.filePath.c_str(), &how,
                                      sizeof how));
  ::close(root);
  return fd;
}

// How long a client has to begin and finish its TLS handshake.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

// How long a request (head and body) may take to arrive, counted from when
// the server starts waiting for it: an idle keep-alive connection is closed
// after this long, and a client trickling bytes cannot hold one for ever.
constexpr auto kRequestTimeout = std::chrono::seconds(300);

// The answer to a connection over the limit (setConnectionLimit).
constexpr std::string_view kBusyAnswer =
    "HTTP/1.1 503 Service Unavailable\r\nServer: tailor\r\nContent-Type: text/plain\r\n"
    "Connection: close\r\nContent-Length: 47\r\n\r\n"
    "too many connections to this server; try again\n";

// Files go through TLS in pieces of this size (sendfile cannot encrypt).
constexpr std::size_t kTlsFilePiece = 256 * 1024;

// One accepted connection, plain TCP or TLS over it: Beast's and Asio's
// algorithms see one stream type either way.
class Connection {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  explicit Connection(tcp::socket socket) : plain_(std::move(socket)) {}

  executor_type get_executor() { return lowest().get_executor(); }

  // The TCP connection underneath.
  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : plain_; }

  bool secure() const { return tls_.has_value(); }
  beast::ssl_stream<beast::tcp_stream>& tls() { return *tls_; }

  // From now on bytes go through TLS (the handshake comes next).
  void startTls(asio::ssl::context& context) { tls_.emplace(std::move(plain_), context); }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

 private:
  beast::tcp_stream plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

// The server side of `config`: its certificate and key, TLS 1.2 or later,
// and with `mutual` a client certificate signed by its authority required.
Result<std::unique_ptr<asio::ssl::context>> makeTlsContext(const TlsConfig& config) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
  context->use_certificate_chain_file(config.certFile, ec);
  if (ec) {
    return makeError(ErrorCode::kInvalidArgument, "TLS certificate '{}': {}", config.certFile,
                     ec.message());
  }
  context->use_private_key_file(config.keyFile, asio::ssl::context::pem, ec);
  if (ec) {
    return makeError(ErrorCode::kInvalidArgument, "TLS key '{}' (of certificate '{}'): {}",
                     config.keyFile, config.certFile, ec.message());
  }
  if (!config.caFile.empty()) {
    context->load_verify_file(config.caFile, ec);
    if (ec) {
      return makeError(ErrorCode::kInvalidArgument, "TLS authority '{}': {}", config.caFile,
                       ec.message());
    }
  }
  // Without `mutual` a client may still present a certificate; one that does
  // not verify is refused.
  context->set_verify_mode(config.mutual ? asio::ssl::verify_peer |
                                               asio::ssl::verify_fail_if_no_peer_cert
                                         : asio::ssl::verify_peer,
                           ec);
  return context;
}

std::string peerOf(beast::tcp_stream& stream) {
  beast::error_code ec;
  auto endpoint = stream.socket().remote_endpoint(ec);
  return ec ? std::string("a client") : endpoint.address().to_string();
}

}  // namespace

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(AsioEventLoop& loop, std::string bindAddress, std::uint16_t port)
      : loop_(loop),
        bindAddress_(std::move(bindAddress)),
        port_(port),
        acceptor_(loop.context()),
        log_(logger("http")) {}

  class Session;

  Result<std::uint16_t> start() {
    beast::error_code ec;
    auto address = asio::ip::make_address(bindAddress_, ec);
    if (ec) {
      return makeError(ErrorCode::kInvalidArgument, "bad bind address '{}': {}", bindAddress_,
                       ec.message());
    }
    if (tls_) {
      auto context = makeTlsContext(*tls_);
      if (!context.ok()) return context.error();
      tlsContext_ = std::move(*context);
    }
    tcp::endpoint endpoint(address, port_);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return makeError(ErrorCode::kUnavailable, "cannot listen on {}:{}: {}", bindAddress_, port_,
                       ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    accept();
    return port_;
  }

  void stop() {
    stopped_ = true;
    beast::error_code ec;
    acceptor_.close(ec);
    for (auto* connection : sessions_) {
      connection->lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      connection->lowest().close();
    }
  }

  void accept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (self->stopped_) {
        return;
      }
      if (!ec) {
        // A file's head and body go out in two writes; with Nagle the body
        // would wait for the client's delayed ACK of the head (40 ms).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (self->connectionLimit_ != 0 && self->sessions_.size() >= self->connectionLimit_) {
          self->refuse(std::move(socket));
        } else {
          self->refusing_ = false;
          self->startSession(std::move(socket));
        }
      } else if (ec != asio::error::operation_aborted) {
        self->log_->warn("accept failed: {}", ec.message());
      }
      self->accept();
    });
  }

  void startSession(tcp::socket socket);

  // Over the connection limit: a plain server says so (503) and closes; a TLS
  // server closes at once (an answer would need a handshake first).
  void refuse(tcp::socket socket) {
    if (!refusing_) {
      log_->warn("{} connections open, the most this server takes: refusing new ones until "
                 "some close",
                 sessions_.size());
      refusing_ = true;
    }
    auto owned = std::make_shared<tcp::socket>(std::move(socket));
    auto close = [owned] {
      beast::error_code ignored;
      owned->shutdown(tcp::socket::shutdown_both, ignored);
      owned->close(ignored);
    };
    if (tlsContext_) {
      close();
      return;
    }
    asio::async_write(*owned, asio::buffer(kBusyAnswer.data(), kBusyAnswer.size()),
                      [close](beast::error_code, std::size_t) { close(); });
  }

  const Route* findRoute(const std::string& method, const std::string& path) const {
    const Route* best = nullptr;
    for (const auto& route : routes_) {
      if (route.method == method && path.rfind(route.prefix, 0) == 0 &&
          (best == nullptr || route.prefix.size() > best->prefix.size())) {
        best = &route;
      }
    }
    return best;
  }

  AsioEventLoop& loop_;
  std::string bindAddress_;
  std::uint16_t port_;
  tcp::acceptor acceptor_;
  std::vector<Route> routes_;
  std::uint64_t bodyLimit_ = kDefaultBodyLimit;
  std::function<Response(std::uint64_t)> tooLarge_;
  std::optional<TlsConfig> tls_;
  std::unique_ptr<asio::ssl::context> tlsContext_;
  std::set<Connection*> sessions_;
  std::size_t connectionLimit_ = 0;  // 0: none
  bool refusing_ = false;            // over the limit since the last warning
  bool stopped_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

class Server::Impl::Session : public std::enable_shared_from_this<Session> {
  class Writer;

 public:
  Session(std::shared_ptr<Impl> server, tcp::socket socket)
      : server_(std::move(server)), connection_(std::move(socket)) {}
  ~Session() { server_->sessions_.erase(&connection_); }

  void start() {
    server_->sessions_.insert(&connection_);
    if (server_->tlsContext_) {
      detectTls();
    } else {
      read();
    }
  }

 private:
  // A TLS server looks at the first bytes: a TLS hello goes on to the
  // handshake, anything else (plain HTTP) gets a 400 that says to use
  // https, and the connection is closed.
  void detectTls() {
    connection_.lowest().expires_after(kHandshakeTimeout);
    beast::async_detect_ssl(connection_.lowest(), buffer_,
                            [self = shared_from_this()](beast::error_code ec, bool hello) {
                              self->onDetected(ec, hello);
                            });
  }

  void onDetected(beast::error_code ec, bool hello) {
    if (ec) {
      finish();
      return;
    }
    if (!hello) {
      connection_.lowest().expires_never();
      server_->log_->debug("refused a plaintext request from {}: this server speaks TLS only",
                           peerOf(connection_.lowest()));
      keepAlive_ = false;
      write(Response::text(400, "this server speaks HTTPS only (TLS): use an https:// URL\n"));
      return;
    }
    connection_.startTls(*server_->tlsContext_);
    connection_.tls().async_handshake(
        asio::ssl::stream_base::server, buffer_.data(),
        [self = shared_from_this()](beast::error_code handshakeError, std::size_t used) {
          self->onHandshake(handshakeError, used);
        });
  }

  void onHandshake(beast::error_code ec, std::size_t used) {
    if (ec) {
      server_->log_->info("TLS handshake with {} failed: {}", peerOf(connection_.lowest()),
                          ec.message());
      finish();
      return;
    }
    connection_.lowest().expires_never();
    buffer_.consume(used);
    read();
  }

  void read() {
    connection_.lowest().expires_after(kRequestTimeout);
    parser_.emplace();
    parser_->body_limit(server_->bodyLimit_);
    bhttp::async_read(connection_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->onRead(ec);
                      });
  }

  void onRead(beast::error_code ec) {
    // Answers and streams take as long as they take.
    connection_.lowest().expires_never();
    if (ec) {
      if (ec != bhttp::error::end_of_stream && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset && ec != asio::error::eof) {
        // A body over the limit gets a 413 and the connection is closed.
        if (ec == bhttp::error::body_limit) {
          keepAlive_ = false;
          write(server_->tooLarge_
                    ? server_->tooLarge_(server_->bodyLimit_)
                    : Response::text(413, "request body larger than " +
                                              std::to_string(server_->bodyLimit_) + " bytes\n"));
          return;
        }
        // A malformed request gets a 400 and the connection is closed.
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
          auto bad = Response::text(400, "bad request: " + ec.message() + "\n");
          keepAlive_ = false;
          write(std::move(bad));
          return;
        }
      }
      finish();
      return;
    }
    auto message = parser_->release();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) {
      request.query = request.target.substr(question + 1);
    }
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request.headers[name] = std::string(field.value());
    }
    request.body = std::move(message.body());
    keepAlive_ = message.keep_alive();
    version_ = message.version();
    head_ = message.method() == bhttp::verb::head;

    // HEAD without a route of its own is answered by the GET route; either
    // way without the body (writeHead).
    const Route* route = server_->findRoute(request.method, request.path);
    if (route == nullptr && head_) route = server_->findRoute("GET", request.path);
    if (route == nullptr) {
      write(Response::text(404, "no route for " + request.method + " " + request.path + "\n"));
      return;
    }
    auto responded = std::make_shared<bool>(false);
    route->handler(request, [self = shared_from_this(), responded](Response response) {
      if (*responded) {
        return;  // a second answer is a bug in the handler; ignore it
      }
      *responded = true;
      self->write(std::move(response));
    });
  }

  void write(Response response) {
    if (head_) {
      writeHead(std::move(response));
      return;
    }
    if (response.stream) {
      writeStream(std::move(response));
      return;
    }
    if (!response.filePath.empty()) {
      writeFile(std::move(response));
      return;
    }
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version_);
    message->set(bhttp::field::server, "tailor");
    message->set(bhttp::field::content_type, response.contentType);
    for (const auto& [name, value] : response.headers) {
      message->set(name, value);
    }
    message->keep_alive(keepAlive_);
    message->body() = std::move(response.body);
    message->prepare_payload();
    bhttp::async_write(connection_, *message,
                       [self = shared_from_this(), message](beast::error_code ec, std::size_t) {
                         self->afterWrite(ec);
                       });
  }

  // The answer to a HEAD request: the head a GET gets, without its body, and
  // with the body's or the file's length (none for a stream), so that a
  // client can size a download before it starts (the Mesos fetcher's cache
  // does).
  void writeHead(Response response) {
    std::optional<std::uint64_t> length;
    if (!response.stream && !response.filePath.empty()) {
      int fd = openResponseFile(response);
      struct stat info {};
      if (fd >= 0 && ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
        length = static_cast<std::uint64_t>(info.st_size);
      } else {
        response = Response::text(404, "no such file\n");
      }
      if (fd >= 0) ::close(fd);
    }
    if (!response.stream && !length) length = response.body.size();
    auto message = std::make_shared<bhttp::response<bhttp::empty_body>>(
        static_cast<bhttp::status>(response.status), version_);
    message->set(bhttp::field::server, "tailor");
    message->set(bhttp::field::content_type, response.contentType);
    for (const auto& [name, value] : response.headers) {
      message->set(name, value);
    }
    if (length) message->content_length(*length);
    message->keep_alive(keepAlive_);
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*message);
    bhttp::async_write_header(connection_, *serializer,
                              [self = shared_from_this(), serializer, message](
                                  beast::error_code ec, std::size_t) { self->afterWrite(ec); });
  }

  // Files (partitions, artifacts) go out with sendfile(2): the kernel copies
  // from the page cache to the socket, with no reads into user space.
  void writeFile(Response response) {
    int fd = openResponseFile(response);
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      if (fd >= 0) ::close(fd);
      write(Response::text(404, "no such file\n"));
      return;
    }
    auto file = std::make_shared<OpenFile>(fd, static_cast<off_t>(info.st_size));
    auto message =
        std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, version_);
    message->set(bhttp::field::server, "tailor");
    message->set(bhttp::field::content_type, response.contentType);
    message->content_length(static_cast<std::uint64_t>(info.st_size));
    message->keep_alive(keepAlive_);
    // The serializer refers to the message: both live until the head is written.
    auto serializer =
        std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*message);
    bhttp::async_write_header(
        connection_, *serializer,
        [self = shared_from_this(), serializer, message, file](beast::error_code ec, std::size_t) {
          if (ec) {
            self->afterWrite(ec);
            return;
          }
          if (self->connection_.secure()) {
            self->sendFilePieces(file);
          } else {
            self->sendFileBody(file);
          }
        });
  }

  struct OpenFile {
    OpenFile(int fd, off_t size) : fd(fd), size(size) {}
    ~OpenFile() { ::close(fd); }
    int fd;
    off_t size;
    off_t offset = 0;
  };

  // Through TLS a file is read and written in pieces.
  void sendFilePieces(const std::shared_ptr<OpenFile>& file) {
    if (file->offset >= file->size) {
      afterWrite({});
      return;
    }
    auto piece = std::make_shared<std::string>(
        std::min<std::size_t>(kTlsFilePiece, static_cast<std::size_t>(file->size - file->offset)),
        '\0');
    ssize_t got = ::pread(file->fd, piece->data(), piece->size(), file->offset);
    if (got <= 0) {
      // The file shrank or failed under us: the promised length cannot be kept.
      keepAlive_ = false;
      afterWrite(got == 0 ? beast::error_code(asio::error::eof)
                          : beast::error_code(errno, beast::system_category()));
      return;
    }
    piece->resize(static_cast<std::size_t>(got));
    file->offset += got;
    asio::async_write(connection_, asio::buffer(*piece),
                      [self = shared_from_this(), file, piece](beast::error_code ec, std::size_t) {
                        if (ec) {
                          self->keepAlive_ = false;
                          self->afterWrite(ec);
                          return;
                        }
                        self->sendFilePieces(file);
                      });
  }

  void sendFileBody(const std::shared_ptr<OpenFile>& file) {
    auto& socket = connection_.lowest().socket();
    beast::error_code ec;
    socket.native_non_blocking(true, ec);
    while (!ec && file->offset < file->size) {
      ssize_t sent = ::sendfile(socket.native_handle(), file->fd, &file->offset,
                                static_cast<size_t>(file->size - file->offset));
      if (sent > 0) continue;
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        socket.async_wait(tcp::socket::wait_write,
                          [self = shared_from_this(), file](beast::error_code waitError) {
                            if (waitError) {
                              self->afterWrite(waitError);
                              return;
                            }
                            self->sendFileBody(file);
                          });
        return;
      }
      // sent == 0: the file shrank under us; the promised length cannot be kept.
      ec = sent == 0 ? beast::error_code(asio::error::eof)
                     : beast::error_code(errno, beast::system_category());
    }
    if (ec) keepAlive_ = false;
    afterWrite(ec);
  }

  void writeStream(Response response);

  void afterWrite(beast::error_code ec) {
    if (ec || !keepAlive_ || server_->stopped_) {
      finish();
      return;
    }
    read();
  }

  void finish() {
    beast::error_code ignored;
    connection_.lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    server_->sessions_.erase(&connection_);
  }

  std::shared_ptr<Impl> server_;
  Connection connection_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keepAlive_ = true;
  bool head_ = false;  // the request being answered is a HEAD
  unsigned version_ = 11;
};

// Streams chunks on the session's connection. Writes are queued and sent
// one at a time; a read on the socket notices the peer going away.
class Server::Impl::Session::Writer : public StreamWriter,
                                      public std::enable_shared_from_this<Writer> {
 public:
  explicit Writer(std::shared_ptr<Session> session) : session_(std::move(session)) {}

  bool write(std::string data) override {
    if (closed_ || closing_) return false;
    if (data.empty()) return true;
    queue_.push_back(std::move(data));
    pump();
    return true;
  }

  void close() override {
    if (closed_ || closing_) return;
    closing_ = true;
    pump();
  }

  void abort() override { finish(); }

  bool closed() const override { return closed_; }

  void onClosed(std::function<void()> callback) override {
    if (closed_) {
      callback();
      return;
    }
    callbacks_.push_back(std::move(callback));
  }

  void watchPeer() {
    auto buffer = std::make_shared<std::array<char, 512>>();
    session_->connection_.async_read_some(
        asio::buffer(*buffer), [self = shared_from_this(), buffer](beast::error_code ec, size_t) {
          if (ec) {
            self->finish();
            return;
          }
          self->watchPeer();  // a client may send nothing more; ignore what it sends
        });
  }

 private:
  void pump() {
    if (writing_ || closed_) return;
    if (queue_.empty()) {
      if (closing_) {
        writing_ = true;
        asio::async_write(session_->connection_, bhttp::make_chunk_last(),
                          [self = shared_from_this()](beast::error_code, size_t) {
                            self->writing_ = false;
                            self->finish();
                          });
      }
      return;
    }
    auto data = std::make_shared<std::string>(std::move(queue_.front()));
    queue_.pop_front();
    writing_ = true;
    asio::async_write(session_->connection_, bhttp::make_chunk(asio::buffer(*data)),
                      [self = shared_from_this(), data](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) {
                          self->finish();
                          return;
                        }
                        self->pump();
                      });
  }

  void finish() {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    beast::error_code ignored;
    session_->connection_.lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    session_->connection_.lowest().socket().close(ignored);
    auto callbacks = std::move(callbacks_);
    for (auto& callback : callbacks) callback();
  }

  std::shared_ptr<Session> session_;
  std::deque<std::string> queue_;
  std::vector<std::function<void()>> callbacks_;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

void Server::Impl::Session::writeStream(Response response) {
  auto head = std::make_shared<bhttp::response<bhttp::empty_body>>(
      static_cast<bhttp::status>(response.status), version_);
  head->set(bhttp::field::server, "tailor");
  head->set(bhttp::field::content_type, response.contentType);
  for (const auto& [name, value] : response.headers) {
    head->set(name, value);
  }
  head->chunked(true);
  auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
  auto writer = std::make_shared<Writer>(shared_from_this());
  bhttp::async_write_header(
      connection_, *serializer,
      [self = shared_from_this(), head, serializer, writer,
       start = std::move(response.stream)](beast::error_code ec, size_t) {
        if (ec) {
          writer->abort();
          return;
        }
        writer->watchPeer();
        start(writer);
      });
}

void Server::Impl::startSession(tcp::socket socket) {
  std::make_shared<Session>(shared_from_this(), std::move(socket))->start();
}

Server::Server(AsioEventLoop& loop, std::string bindAddress, std::uint16_t port)
    : impl_(std::make_shared<Impl>(loop, std::move(bindAddress), port)) {}

Server::~Server() { impl_->stop(); }

void Server::route(const std::string& method, const std::string& pathPrefix, Handler handler) {
  impl_->routes_.push_back(Route{method, pathPrefix, std::move(handler)});
}

void Server::setBodyLimit(std::uint64_t bytes, std::function<Response(std::uint64_t)> tooLarge) {
  impl_->bodyLimit_ = bytes;
  impl_->tooLarge_ = std::move(tooLarge);
}

void Server::useTls(TlsConfig config) { impl_->tls_ = std::move(config); }

void Server::setConnectionLimit(std::size_t connections) { impl_->connectionLimit_ = connections; }

Result<std::uint16_t> Server::start() { return impl_->start(); }

void Server::stop() { impl_->stop(); }

std::uint16_t Server::port() const { return impl_->port_; }

}  // namespace tailor::http
