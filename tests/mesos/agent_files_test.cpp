#include "mesos/agent_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "tests/common/canned_http_server.hpp"

namespace tailor::mesos {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace v1 = ::mesos::v1;

// --- pure parts ----------------------------------------------------------------

TEST(AgentFilesTest, ExecutorSandboxIsMesosVirtualLatestPath) {
  EXPECT_EQ(executorSandboxPath("fw-1", "tm-3"), "/frameworks/fw-1/executors/tm-3/runs/latest");
}

v1::Offer offerWithUrl(const std::string& scheme, const std::string& hostname,
                       const std::string& ip, std::optional<int> port) {
  v1::Offer offer;
  auto* url = offer.mutable_url();
  if (!scheme.empty()) url->set_scheme(scheme);
  if (!hostname.empty()) url->mutable_address()->set_hostname(hostname);
  if (!ip.empty()) url->mutable_address()->set_ip(ip);
  if (port) url->mutable_address()->set_port(*port);
  url->set_path("/slave(1)");
  return offer;
}

TEST(AgentFilesTest, AgentUrlIsTheOffersAddressPreferringItsIp) {
  EXPECT_EQ(agentBaseUrl(offerWithUrl("http", "agent-3.example.com", "10.0.0.21", 5051)),
            "http://10.0.0.21:5051");
  EXPECT_EQ(agentBaseUrl(offerWithUrl("http", "agent-3.example.com", "", 5051)),
            "http://agent-3.example.com:5051");
  EXPECT_EQ(agentBaseUrl(offerWithUrl("https", "", "10.0.0.21", 5051)), "https://10.0.0.21:5051");
  EXPECT_EQ(agentBaseUrl(offerWithUrl("", "", "10.0.0.21", 5051)), "http://10.0.0.21:5051");
  EXPECT_EQ(agentBaseUrl(offerWithUrl("http", "", "fd00::21", 5051)), "http://[fd00::21]:5051");
}

TEST(AgentFilesTest, NoAgentUrlWithoutAnAddress) {
  EXPECT_EQ(agentBaseUrl(v1::Offer()), "");
  EXPECT_EQ(agentBaseUrl(offerWithUrl("http", "", "", 5051)), "");
  EXPECT_EQ(agentBaseUrl(offerWithUrl("http", "host", "10.0.0.1", std::nullopt)), "");
}

TEST(AgentFilesTest, ParsesAFilesReadAnswer) {
  auto chunk = parseFilesRead(R"({"data":"sh: 1: not found\n\u0007","offset":4096})");
  ASSERT_TRUE(chunk.ok()) << chunk.error().message;
  EXPECT_EQ(chunk->data, "sh: 1: not found\n\a");
  EXPECT_EQ(chunk->offset, 4096);
  // The size answer of offset=-1.
  chunk = parseFilesRead(R"({"data":"","offset":0})");
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(chunk->data, "");
}

TEST(AgentFilesTest, BytesThatAreNotUtf8BecomeQuestionMarks) {
  // Mesos sends the file's bytes as they are; a window may cut a character.
  std::string body = std::string(R"({"data":")") + "\xa9t\xc3\xa9 \xe2\x82" + R"(","offset":3})";
  auto chunk = parseFilesRead(body);
  ASSERT_TRUE(chunk.ok()) << chunk.error().message;
  EXPECT_EQ(chunk->data, "?t\xc3\xa9 ??");
}

TEST(AgentFilesTest, AnAnswerWithoutDataOrOffsetIsAnError) {
  for (const char* body : {"", "not json", R"({"offset":3})", R"({"data":"x"})",
                           R"({"data":3,"offset":3})", R"({"data":"x","offset":-2})"}) {
    auto chunk = parseFilesRead(body);
    ASSERT_FALSE(chunk.ok()) << body;
    EXPECT_THAT(chunk.error().message, HasSubstr("expected {\"data\"")) << body;
  }
}

TEST(AgentFilesTest, LastLinesKeepTheEndWithoutBlankLines) {
  EXPECT_THAT(lastLines("a\nb\nc\n\n  \n", false, 2, 100), ElementsAre("b", "c"));
  EXPECT_THAT(lastLines("a\r\nb\r\n", false, 5, 100), ElementsAre("a", "b"));
  EXPECT_THAT(lastLines("", false, 5, 100), IsEmpty());
  EXPECT_THAT(lastLines("\n\n", false, 5, 100), IsEmpty());
  EXPECT_THAT(lastLines("only, no newline", false, 5, 100), ElementsAre("only, no newline"));
}

TEST(AgentFilesTest, LastLinesDropTheCutFirstLineUnlessItIsAll) {
  EXPECT_THAT(lastLines("rt of a line\nwhole\n", true, 5, 100), ElementsAre("whole"));
  EXPECT_THAT(lastLines("rt of a line\n", true, 5, 100), ElementsAre("rt of a line"));
}

TEST(AgentFilesTest, LastLinesCutLongLinesOnACharacterAndMaskControls) {
  EXPECT_THAT(lastLines("abcdefgh\n", false, 5, 4), ElementsAre("abcd..."));
  // "é" is two bytes: a cut inside it goes before it.
  EXPECT_THAT(lastLines("abc\xc3\xa9xyz", false, 5, 4), ElementsAre("abc..."));
  EXPECT_THAT(lastLines("a\tb\x1b[31mred\x7f", false, 5, 100), ElementsAre("a\tb?[31mred?"));
}

// --- HttpAgentFiles against canned answers ----------------------------------------

class HttpAgentFilesTest : public ::testing::Test {
 protected:
  HttpAgentFilesTest() : client_(loop_, 1) {
    thread_ = std::thread([this] { loop_.run(); });
  }

  ~HttpAgentFilesTest() override {
    loop_.stop();
    thread_.join();
  }

  Result<FileTail> readTail(HttpAgentFiles& files, const std::string& url, std::int64_t maxBytes,
                            Duration timeout = Duration(5000)) {
    auto promise = std::make_shared<std::promise<Result<FileTail>>>();
    loop_.post([&, promise] {
      files.readTail(url, "/frameworks/fw-1/executors/tm-1/runs/latest/stderr", maxBytes, timeout,
                     [promise](Result<FileTail> tail) { promise->set_value(tail); });
    });
    return promise->get_future().get();
  }

  AsioEventLoop loop_;
  http::CurlHttpClient client_;
  std::thread thread_;
  test::CannedHttpServer agent_;
};

TEST_F(HttpAgentFilesTest, AsksTheSizeThenReadsTheLastBytes) {
  // Both requests get this answer: size 10, and then the data.
  agent_.on("GET", "/files/read", 200, R"({"data":"lo\nend\n","offset":10})");
  HttpAgentFiles files(loop_, client_);
  auto tail = readTail(files, agent_.base(), 6);
  ASSERT_TRUE(tail.ok()) << tail.error().message;
  EXPECT_EQ(tail->data, "lo\nend\n");
  EXPECT_TRUE(tail->truncated);
  auto requests = agent_.requests();
  ASSERT_EQ(requests.size(), 2u);
  const std::string path = "path=%2Fframeworks%2Ffw-1%2Fexecutors%2Ftm-1%2Fruns%2Flatest%2Fstderr";
  EXPECT_EQ(requests[0].query, path + "&offset=-1");
  EXPECT_EQ(requests[1].query, path + "&offset=4&length=6");
  EXPECT_EQ(requests[0].header("authorization"), "");
}

TEST_F(HttpAgentFilesTest, ASmallFileIsReadWhole) {
  agent_.on("GET", "/files/read", 200, R"({"data":"boom\n","offset":5})");
  HttpAgentFiles files(loop_, client_);
  auto tail = readTail(files, agent_.base(), 4096);
  ASSERT_TRUE(tail.ok()) << tail.error().message;
  EXPECT_FALSE(tail->truncated);
  ASSERT_EQ(agent_.requests().size(), 2u);
  EXPECT_THAT(agent_.requests()[1].query, HasSubstr("&offset=0&length=5"));
}

TEST_F(HttpAgentFilesTest, AnEmptyFileTakesOneRequest) {
  agent_.on("GET", "/files/read", 200, R"({"data":"","offset":0})");
  HttpAgentFiles files(loop_, client_);
  auto tail = readTail(files, agent_.base(), 4096);
  ASSERT_TRUE(tail.ok()) << tail.error().message;
  EXPECT_EQ(tail->data, "");
  EXPECT_EQ(agent_.requests().size(), 1u);
}

TEST_F(HttpAgentFilesTest, SendsBasicCredentialsWhenGiven) {
  agent_.on("GET", "/files/read", 200, R"({"data":"","offset":0})");
  HttpAgentFiles files(loop_, client_, "tailor", "s3cret");
  ASSERT_TRUE(readTail(files, agent_.base(), 4096).ok());
  EXPECT_EQ(agent_.lastRequest().header("authorization"), "Basic dGFpbG9yOnMzY3JldA==");
}

TEST_F(HttpAgentFilesTest, NoSuchFileIsNotFoundNamingThePathAndAgent) {
  HttpAgentFiles files(loop_, client_);  // nothing canned: 404
  auto tail = readTail(files, agent_.base(), 4096);
  ASSERT_FALSE(tail.ok());
  EXPECT_EQ(tail.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(tail.error().message,
              HasSubstr("/frameworks/fw-1/executors/tm-1/runs/latest/stderr"));
  EXPECT_THAT(tail.error().message, HasSubstr("on the agent at " + agent_.base()));
  EXPECT_THAT(tail.error().message, HasSubstr("no such file (404)"));
}

TEST_F(HttpAgentFilesTest, ARefusalQuotesTheAgentsAnswer) {
  agent_.on("GET", "/files/read", 401, "Unauthorized\n");
  HttpAgentFiles files(loop_, client_);
  auto tail = readTail(files, agent_.base(), 4096);
  ASSERT_FALSE(tail.ok());
  EXPECT_EQ(tail.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(tail.error().message, HasSubstr("HTTP 401 Unauthorized"));
}

TEST_F(HttpAgentFilesTest, AnAnswerNotUnderstoodIsAnError) {
  agent_.on("GET", "/files/read", 200, "<html>proxy</html>");
  HttpAgentFiles files(loop_, client_);
  auto tail = readTail(files, agent_.base(), 4096);
  ASSERT_FALSE(tail.ok());
  EXPECT_THAT(tail.error().message, HasSubstr("not understood"));
  EXPECT_THAT(tail.error().message, HasSubstr("<html>proxy</html>"));
}

TEST_F(HttpAgentFilesTest, AnUnreachableAgentIsUnavailable) {
  std::string base = agent_.base();
  agent_.stop();
  HttpAgentFiles files(loop_, client_);
  auto tail = readTail(files, base, 4096);
  ASSERT_FALSE(tail.ok());
  EXPECT_EQ(tail.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(tail.error().message, HasSubstr("on the agent at " + base));
}

}  // namespace
}  // namespace tailor::mesos
