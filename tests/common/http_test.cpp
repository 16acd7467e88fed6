// The HTTP server and client together on loopback: plain answers, files,
// and streamed (chunked) answers read by StreamingCall.

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/file_route.hpp"
#include "common/http/server.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::http {
namespace {

ClientRequest request(const std::string& method, const std::string& url) {
  ClientRequest r;
  r.method = method;
  r.url = url;
  return r;
}

// Runs a loop with a server on a background thread.
class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(loop_, "127.0.0.1", 0);
  }
  void start() {
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    base_ = "http://127.0.0.1:" + std::to_string(*port);
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    loop_.post([this] { server_->stop(); });
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  AsioEventLoop loop_;
  std::unique_ptr<Server> server_;
  std::string base_;
  std::thread thread_;
};

TEST_F(HttpTest, AnswersByLongestPrefixAnd404Otherwise) {
  server_->route("GET", "/a", [](const Request& request, Responder respond) {
    respond(Response::text(200, "a:" + request.path + "?" + request.query));
  });
  server_->route("GET", "/a/b", [](const Request& request, Responder respond) {
    respond(Response::text(201, "ab"));
  });
  start();
  auto a = performBlocking(request("GET", base_ + "/a/x?q=1"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "a:/a/x?q=1");
  auto ab = performBlocking(request("GET", base_ + "/a/b/c"));
  ASSERT_TRUE(ab.ok());
  EXPECT_EQ(ab->status, 201);
  auto none = performBlocking(request("GET", base_ + "/zzz"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 404);
  auto post = performBlocking(request("POST", base_ + "/a"));
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 404);
}

TEST_F(HttpTest, ServesFilesIntoFiles) {
  test::TempDir dir;
  std::string content(300000, 'x');
  content += "end";
  {
    std::ofstream out(dir.path().string() + "/f");
    out << content;
  }
  server_->route("GET", "/f", [&](const Request&, Responder respond) {
    Response response;
    response.filePath = dir.path().string() + "/f";
    respond(std::move(response));
  });
  server_->route("GET", "/missing", [&](const Request&, Responder respond) {
    Response response;
    response.filePath = dir.path().string() + "/nope";
    respond(std::move(response));
  });
  start();
  ClientRequest toFile = request("GET", base_ + "/f");
  toFile.outputFile = dir.path().string() + "/copy";
  auto fetched = performBlocking(toFile);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->status, 200);
  EXPECT_EQ(fetched->bytesReceived, static_cast<std::int64_t>(content.size()));
  EXPECT_EQ(test::readFile(dir.path().string() + "/copy"), content);
  auto missing = performBlocking(request("GET", base_ + "/missing"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

TEST_F(HttpTest, ServesLargeFilesWholeAndFoldersAsMissing) {
  test::TempDir dir;
  // Larger than the socket buffers, so sending has to wait for the client.
  std::string content;
  content.reserve(8 << 20);
  for (int i = 0; content.size() < (8u << 20); ++i) content += std::to_string(i) + "\n";
  {
    std::ofstream out(dir.path().string() + "/big");
    out << content;
  }
  server_->route("GET", "/big", [&](const Request&, Responder respond) {
    Response response;
    response.filePath = dir.path().string() + "/big";
    respond(std::move(response));
  });
  server_->route("GET", "/folder", [&](const Request&, Responder respond) {
    Response response;
    response.filePath = dir.path().string();
    respond(std::move(response));
  });
  start();
  for (int round = 0; round < 2; ++round) {
    ClientRequest toFile = request("GET", base_ + "/big");
    toFile.outputFile = dir.path().string() + "/copy";
    auto fetched = performBlocking(toFile);
    ASSERT_TRUE(fetched.ok()) << fetched.error().message;
    EXPECT_EQ(fetched->status, 200);
    EXPECT_EQ(fetched->headers["content-length"], std::to_string(content.size()));
    EXPECT_TRUE(test::readFile(dir.path().string() + "/copy") == content);
  }
  auto folder = performBlocking(request("GET", base_ + "/folder"));
  ASSERT_TRUE(folder.ok());
  EXPECT_EQ(folder->status, 404);
}

TEST_F(HttpTest, ServeFileAnswersItsOnePathOnly) {
  test::TempDir dir;
  const std::string file = dir.path().string() + "/tailor-taskmanager";
  {
    std::ofstream out(file);
    out << "#!/bin/sh\n";
  }
  serveFile(*server_, "/artifacts/1f-2a/tailor-taskmanager", file);
  serveFile(*server_, "/artifacts/gone/tailor-taskmanager", dir.path().string() + "/gone");
  start();
  auto served = performBlocking(request("GET", base_ + "/artifacts/1f-2a/tailor-taskmanager"));
  ASSERT_TRUE(served.ok()) << served.error().message;
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(served->body, "#!/bin/sh\n");
  EXPECT_EQ(served->headers["content-type"], "application/octet-stream");
  for (const std::string path :
       {"/artifacts/1f-2a/tailor-taskmanager2", "/artifacts/1f-2a/tailor-taskmanager/x",
        "/artifacts/gone/tailor-taskmanager", "/artifacts/"}) {
    auto other = performBlocking(request("GET", base_ + path));
    ASSERT_TRUE(other.ok()) << path;
    EXPECT_EQ(other->status, 404) << path;
  }
}

// The Mesos fetcher sizes a download with HEAD before it fills its cache.
TEST_F(HttpTest, HeadGetsTheHeadOfTheGetWithItsLengthAndNoBody) {
  test::TempDir dir;
  const std::string file = dir.path().string() + "/tailor-taskmanager";
  {
    std::ofstream out(file);
    out << std::string(70000, 'x');
  }
  serveFile(*server_, "/artifacts/1f-2a/tailor-taskmanager", file);
  server_->route("GET", "/text", [](const Request& request, Responder respond) {
    respond(Response::text(200, "method " + request.method + "\n"));
  });
  server_->route("POST", "/post", [](const Request&, Responder respond) {
    respond(Response::text(200, "posted\n"));
  });
  start();
  for (int round = 0; round < 2; ++round) {  // the connection is kept and reused
    auto head = performBlocking(request("HEAD", base_ + "/artifacts/1f-2a/tailor-taskmanager"));
    ASSERT_TRUE(head.ok()) << head.error().message;
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->headers["content-length"], "70000");
    EXPECT_EQ(head->headers["content-type"], "application/octet-stream");
    EXPECT_EQ(head->body, "");
  }
  auto text = performBlocking(request("HEAD", base_ + "/text"));
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->status, 200);
  EXPECT_EQ(text->headers["content-length"], std::to_string(std::string("method HEAD\n").size()));
  EXPECT_EQ(text->body, "");
  auto missing = performBlocking(request("HEAD", base_ + "/artifacts/1f-2a/other"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  auto notGet = performBlocking(request("HEAD", base_ + "/post"));
  ASSERT_TRUE(notGet.ok());
  EXPECT_EQ(notGet->status, 404) << "HEAD follows GET routes only";
  auto get = performBlocking(request("GET", base_ + "/artifacts/1f-2a/tailor-taskmanager"));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->body.size(), 70000u);
}

TEST_F(HttpTest, UnreachableServerIsAnUnavailableError) {
  auto result = performBlocking(request("GET", "http://127.0.0.1:1/x"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message.find("127.0.0.1:1"), std::string::npos);
}

// Collects what a StreamingCall delivers, on the loop thread.
struct Received {
  std::mutex mutex;
  std::condition_variable changed;
  int status = 0;
  std::string headerValue;
  std::string data;
  bool ended = false;
  bool endOk = false;

  template <typename Predicate>
  bool waitFor(Predicate predicate) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), predicate);
  }
};

StreamingCall::Handlers handlersFor(Received& received) {
  return StreamingCall::Handlers{
      [&](int status, const std::map<std::string, std::string>& headers) {
        std::lock_guard<std::mutex> lock(received.mutex);
        received.status = status;
        auto it = headers.find("x-stream");
        if (it != headers.end()) received.headerValue = it->second;
        received.changed.notify_all();
      },
      [&](std::string data) {
        std::lock_guard<std::mutex> lock(received.mutex);
        received.data += data;
        received.changed.notify_all();
      },
      [&](Status end) {
        std::lock_guard<std::mutex> lock(received.mutex);
        received.ended = true;
        received.endOk = end.ok();
        received.changed.notify_all();
      }};
}

TEST_F(HttpTest, StreamsChunksUntilTheServerCloses) {
  std::shared_ptr<StreamWriter> writer;
  bool serverSawClose = false;
  server_->route("POST", "/stream", [&](const Request&, Responder respond) {
    Response response;
    response.headers = {{"X-Stream", "s-1"}};
    response.stream = [&](std::shared_ptr<StreamWriter> w) {
      writer = w;
      writer->onClosed([&] { serverSawClose = true; });
      writer->write("first;");
    };
    respond(std::move(response));
  });
  start();
  Received received;
  StreamingCall call(loop_, request("POST", base_ + "/stream"), handlersFor(received));
  ASSERT_TRUE(received.waitFor([&] { return received.data == "first;"; }));
  EXPECT_EQ(received.status, 200);
  EXPECT_EQ(received.headerValue, "s-1");
  loop_.post([&] {
    writer->write("second;");
    writer->close();
  });
  ASSERT_TRUE(received.waitFor([&] { return received.ended; }));
  EXPECT_TRUE(received.endOk);
  EXPECT_EQ(received.data, "first;second;");
  std::promise<bool> closed;
  loop_.post([&] { closed.set_value(serverSawClose && writer->closed()); });
  EXPECT_TRUE(closed.get_future().get());
}

TEST_F(HttpTest, AbortedStreamEndsWithAnErrorAndCancelStopsTheClient) {
  std::vector<std::shared_ptr<StreamWriter>> writers;
  std::mutex mutex;
  std::condition_variable closedChanged;
  int serverCloses = 0;
  server_->route("POST", "/stream", [&](const Request&, Responder respond) {
    Response response;
    response.stream = [&](std::shared_ptr<StreamWriter> w) {
      writers.push_back(w);
      w->onClosed([&] {
        std::lock_guard<std::mutex> lock(mutex);
        ++serverCloses;
        closedChanged.notify_all();
      });
      w->write("x");
    };
    respond(std::move(response));
  });
  start();
  {
    Received received;
    StreamingCall call(loop_, request("POST", base_ + "/stream"), handlersFor(received));
    ASSERT_TRUE(received.waitFor([&] { return received.data == "x"; }));
    loop_.post([&] { writers.back()->abort(); });
    ASSERT_TRUE(received.waitFor([&] { return received.ended; }));
    EXPECT_FALSE(received.endOk);
  }
  {
    Received received;
    StreamingCall call(loop_, request("POST", base_ + "/stream"), handlersFor(received));
    ASSERT_TRUE(received.waitFor([&] { return received.data == "x"; }));
    call.cancel();
    ASSERT_TRUE(received.waitFor([&] { return received.ended; }));
    EXPECT_FALSE(received.endOk);
  }
  // The server notices the cancelled client going away.
  std::unique_lock<std::mutex> lock(mutex);
  EXPECT_TRUE(closedChanged.wait_for(lock, std::chrono::seconds(10),
                                     [&] { return serverCloses == 2; }));
}

// A loopback connection to `port`, or -1.
int connectTo(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Everything the peer sends until it closes (or 10 s pass).
std::string readAll(int fd) {
  timeval wait{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  std::string all;
  char buffer[1024];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) all.append(buffer, n);
  return all;
}

TEST_F(HttpTest, ConnectionsOverTheLimitAreAnswered503AndClosed) {
  server_->route("GET", "/a", [](const Request&, Responder respond) {
    respond(Response::text(200, "a"));
  });
  server_->setConnectionLimit(2);
  start();
  auto port = static_cast<std::uint16_t>(std::stoi(base_.substr(base_.rfind(':') + 1)));
  int first = connectTo(port);
  int second = connectTo(port);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  // Both are open sessions once the server answered a request on each.
  for (int fd : {first, second}) {
    std::string get = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    ASSERT_EQ(::write(fd, get.data(), get.size()), static_cast<ssize_t>(get.size()));
    char buffer[512];
    ASSERT_GT(::read(fd, buffer, sizeof buffer), 0);
  }
  int third = connectTo(port);
  ASSERT_GE(third, 0);
  std::string refused = readAll(third);
  ::close(third);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("too many connections"), std::string::npos);
  // One closed, and there is room again.
  ::close(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto again = performBlocking(request("GET", base_ + "/a"));
  ::close(second);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, 200);
}

}  // namespace
}  // namespace tailor::http
