// Job secrets: derivation, files, and what the RPC server and the
// partition server refuse (docs/security.md, "Job secrets").

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/partition_route.hpp"
#include "common/http/server.hpp"
#include "common/rpc.hpp"
#include "common/secret.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/rpc.pb.h"
#include "tests/common/temp_dir.hpp"

namespace tailor {
namespace {

namespace fs = std::filesystem;

TEST(SecretTest, DerivedSecretsDifferByKeyAndName) {
  std::string job = secret::derive("key", "job/a");
  EXPECT_EQ(job.size(), 64u);
  EXPECT_EQ(job, secret::derive("key", "job/a"));
  EXPECT_NE(job, secret::derive("key", "job/b"));
  EXPECT_NE(job, secret::derive("other key", "job/a"));
  EXPECT_NE(secret::random(), secret::random());
  EXPECT_TRUE(secret::equal(job, secret::derive("key", "job/a")));
  EXPECT_FALSE(secret::equal(job, job.substr(1)));
}

TEST(SecretTest, TakingFromTheEnvironmentRemovesIt) {
  ::setenv("TAILOR_TEST_SECRET", "s3", 1);
  EXPECT_EQ(secret::takeFromEnvironment("TAILOR_TEST_SECRET"), "s3");
  EXPECT_EQ(std::getenv("TAILOR_TEST_SECRET"), nullptr);
  EXPECT_EQ(secret::takeFromEnvironment("TAILOR_TEST_SECRET"), "");
}

TEST(SecretTest, SecretFilesMustBeTheOwnersOnly) {
  test::TempDir dir;
  std::string path = dir.path().string() + "/key";
  std::ofstream(path) << "  the key \n second line\n";
  ::chmod(path.c_str(), 0644);
  auto open = secret::readFile(path);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("mode 0644"), std::string::npos) << open.error().message;
  EXPECT_NE(open.error().message.find("chmod 600 '" + path + "'"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  auto read = secret::readFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, "the key");
  std::ofstream(path, std::ios::trunc) << "\n";
  EXPECT_FALSE(secret::readFile(path).ok());
  EXPECT_FALSE(secret::readFile(dir.path().string()).ok()) << "a folder";
  EXPECT_FALSE(secret::readFile(path + ".missing").ok());
}

// A server with the partition route and one RPC method, both requiring a
// secret, on a loop of its own.
class SecretServerTest : public ::testing::Test {
 protected:
  static constexpr const char* kSecret = "the job's secret";

  void SetUp() override {
    root_ = dir_.path().string() + "/partitions";
    fs::create_directories(root_ + "/job-1/sub");
    std::ofstream(root_ + "/job-1/a.part") << "partition a";
    std::ofstream(root_ + "/job-1/sub/b.part") << "partition b";
    std::ofstream(dir_.path().string() + "/outside") << "not a partition";
    // Links a task could plant where partitions are: to a file outside, and
    // a folder leading out.
    fs::create_symlink(dir_.path().string() + "/outside", root_ + "/job-1/link.part");
    fs::create_directory_symlink(dir_.path().string(), root_ + "/job-1/up");
    server_ = std::make_unique<http::Server>(loop_, "127.0.0.1", 0);
    http::servePartitions(*server_, root_, kSecret);
    rpc_ = std::make_unique<rpc::Server>(*server_);
    rpc_->requireSecret(kSecret);
    rpc_->handle<v1::HeartbeatRequest, v1::HeartbeatResponse>(
        "ResourceManager", "Heartbeat",
        [](const v1::HeartbeatRequest&) -> Result<v1::HeartbeatResponse> {
          return v1::HeartbeatResponse();
        });
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    address_ = "127.0.0.1:" + std::to_string(*port);
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    loop_.post([this] { server_->stop(); });
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // GET /partitions/<path> with `secret` (none when empty): status and body.
  // Sent as written, over a socket of its own: an HTTP library would
  // remove the dot segments a hostile client keeps.
  std::pair<int, std::string> get(const std::string& path, const std::string& secret = kSecret,
                                  const std::string& method = "GET") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address_.substr(10))));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      ::close(fd);
      return {-1, "cannot connect"};
    }
    std::string request = method + " /partitions/" + path + " HTTP/1.1\r\nHost: test\r\n";
    if (!secret.empty()) request += std::string(secret::kHeader) + ": " + secret + "\r\n";
    request += "Connection: close\r\n\r\n";
    (void)::write(fd, request.data(), request.size());
    std::string answer;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) answer.append(buffer, n);
    ::close(fd);
    if (answer.size() < 12) return {-1, answer};
    auto body = answer.find("\r\n\r\n");
    return {std::stoi(answer.substr(9, 3)),
            body == std::string::npos ? "" : answer.substr(body + 4)};
  }

  test::TempDir dir_;
  std::string root_;
  AsioEventLoop loop_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<rpc::Server> rpc_;
  std::string address_;
  std::thread thread_;
};

TEST_F(SecretServerTest, PartitionsGoOnlyToRequestsWithTheSecret) {
  EXPECT_EQ(get("job-1/a.part"), std::make_pair(200, std::string("partition a")));
  EXPECT_EQ(get("job-1/sub/b.part"), std::make_pair(200, std::string("partition b")));
  EXPECT_EQ(get("job-1/a.part", "").first, 401) << "no secret";
  EXPECT_EQ(get("job-1/a.part", "another job's secret").first, 401);
  EXPECT_EQ(get("job-1/a.part", "").second.find(kSecret), std::string::npos);
}

TEST_F(SecretServerTest, PathsThatLeaveThePartitionsAreRefused) {
  for (const char* path : {"../outside", "job-1/../../outside", "job-1/./a.part", "/etc/passwd",
                           "job-1//a.part", "job-1/", ""}) {
    EXPECT_EQ(get(path).first, 400) << path;
  }
  // Not decoded: an encoded climb is a name that does not exist.
  for (const char* path : {"%2e%2e/outside", "job-1/%2E%2E/%2e%2e/outside", "..%2foutside"}) {
    EXPECT_EQ(get(path).first, 404) << path;
  }
  // Links planted among the partitions lead nowhere, for GET and HEAD.
  EXPECT_EQ(get("job-1/link.part").first, 404);
  EXPECT_EQ(get("job-1/link.part", kSecret, "HEAD").first, 404);
  EXPECT_EQ(get("job-1/up/outside").first, 404);
  EXPECT_EQ(get("job-1/sub").first, 404) << "a folder";
}

TEST_F(SecretServerTest, RpcCallsWithoutTheSecretAreRefusedBeforeTheirBody) {
  v1::HeartbeatRequest heartbeat;
  auto none = rpc::callBlocking<v1::HeartbeatResponse>(address_, "ResourceManager", "Heartbeat",
                                                       heartbeat);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("does not carry this job's secret"), std::string::npos)
      << none.error().message;
  rpc::setCallSecret("another job's secret");
  EXPECT_FALSE(rpc::callBlocking<v1::HeartbeatResponse>(address_, "ResourceManager", "Heartbeat",
                                                        heartbeat)
                   .ok());
  rpc::setCallSecret(kSecret);
  auto right = rpc::callBlocking<v1::HeartbeatResponse>(address_, "ResourceManager", "Heartbeat",
                                                        heartbeat);
  rpc::setCallSecret("");
  EXPECT_TRUE(right.ok()) << right.error().message;
}

// A server whose callers hold secrets of their own (the Dispatcher: each job
// its own): the secret a call must carry depends on what it asks.
TEST(PerCallSecretTest, EachCallMustCarryTheSecretOfWhatItNames) {
  AsioEventLoop loop;
  http::Server server(loop, "127.0.0.1", 0);
  rpc::Server rpcServer(server);
  rpcServer.handle<v1::GetUsageHistoryRequest, v1::UsageHistory>(
      "Dispatcher", "GetUsageHistory",
      [](const v1::GetUsageHistoryRequest& request) -> Result<v1::UsageHistory> {
        v1::UsageHistory history;
        history.set_job_name(request.job_name());
        return history;
      },
      [](const v1::GetUsageHistoryRequest& request) { return "secret of " + request.job_id(); });
  auto port = server.start();
  ASSERT_TRUE(port.ok()) << port.error().message;
  std::thread thread([&loop] { loop.run(); });
  std::string address = "127.0.0.1:" + std::to_string(*port);
  v1::GetUsageHistoryRequest request;
  request.set_job_name("wordcount");
  request.set_job_id("job-a");
  auto call = [&] {
    return rpc::callBlocking<v1::UsageHistory>(address, "Dispatcher", "GetUsageHistory", request);
  };
  EXPECT_FALSE(call().ok()) << "no secret";
  rpc::setCallSecret("secret of job-b");
  auto other = call();
  ASSERT_FALSE(other.ok()) << "another job's secret";
  EXPECT_NE(other.error().message.find("does not carry this job's secret"), std::string::npos);
  rpc::setCallSecret("secret of job-a");
  auto own = call();
  rpc::setCallSecret("");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own->job_name(), "wordcount");
  loop.post([&server] { server.stop(); });
  loop.stop();
  thread.join();
}

}  // namespace
}  // namespace tailor
