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
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <deque>
#include <set>

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
    for (auto* stream : sessions_) {
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->close();
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
        self->startSession(std::move(socket));
      } else if (ec != asio::error::operation_aborted) {
        self->log_->warn("accept failed: {}", ec.message());
      }
      self->accept();
    });
  }

  void startSession(tcp::socket socket);

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
  std::set<beast::tcp_stream*> sessions_;
  bool stopped_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

class Server::Impl::Session : public std::enable_shared_from_this<Session> {
  class Writer;

 public:
  Session(std::shared_ptr<Impl> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)) {}
  ~Session() { server_->sessions_.erase(&stream_); }

  void start() {
    server_->sessions_.insert(&stream_);
    read();
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(server_->bodyLimit_);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->onRead(ec);
                      });
  }

  void onRead(beast::error_code ec) {
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
    bhttp::async_write(stream_, *message,
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
    bhttp::async_write_header(stream_, *serializer,
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
        stream_, *serializer,
        [self = shared_from_this(), serializer, message, file](beast::error_code ec, std::size_t) {
          if (ec) {
            self->afterWrite(ec);
            return;
          }
          self->sendFileBody(file);
        });
  }

  struct OpenFile {
    OpenFile(int fd, off_t size) : fd(fd), size(size) {}
    ~OpenFile() { ::close(fd); }
    int fd;
    off_t size;
    off_t offset = 0;
  };

  void sendFileBody(const std::shared_ptr<OpenFile>& file) {
    auto& socket = stream_.socket();
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
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    server_->sessions_.erase(&stream_);
  }

  std::shared_ptr<Impl> server_;
  beast::tcp_stream stream_;
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
    session_->stream_.socket().async_read_some(
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
        asio::async_write(session_->stream_.socket(), bhttp::make_chunk_last(),
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
    asio::async_write(session_->stream_.socket(), bhttp::make_chunk(asio::buffer(*data)),
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
    session_->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    session_->stream_.socket().close(ignored);
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
      stream_, *serializer,
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

Result<std::uint16_t> Server::start() { return impl_->start(); }

void Server::stop() { impl_->stop(); }

std::uint16_t Server::port() const { return impl_->port_; }

}  // namespace tailor::http
