#include "scheduler/drivers/mesos/executor_uri.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tailor::scheduler::mesos {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using Kind = ExecutorUri::Kind;

ExecutorUri parsed(const std::string& text) {
  auto uri = parseExecutorUri(text);
  EXPECT_TRUE(uri.ok()) << text << ": " << (uri.ok() ? "" : uri.error().message);
  return uri.ok() ? *uri : ExecutorUri{};
}

TEST(ExecutorUriTest, AnyOtherUriIsPassedOnAsGiven) {
  for (const std::string text :
       {"http://repo:8080/tailor-taskmanager", "https://artifacts.example.com/tailor.tar.gz",
        "hdfs://namenode/tailor/tailor-taskmanager", "file:///opt/tailor/bin/tailor-taskmanager",
        "/opt/tailor/bin/tailor-taskmanager", "bin/tailor-taskmanager",
        "dispatcher-b.example.com/tailor-taskmanager"}) {
    EXPECT_EQ(parsed(text), (ExecutorUri{Kind::kAsGiven, text}));
    EXPECT_EQ(resolveExecutorUri(parsed(text), "10.0.0.7:8080", "10.0.0.9:6123"), text);
  }
}

TEST(ExecutorUriTest, APathOnTheLeadingDispatcherIsResolvedAgainstTheAddressGiven) {
  ExecutorUri uri = parsed("dispatcher:/v1/artifacts/tailor-taskmanager");
  EXPECT_EQ(uri, (ExecutorUri{Kind::kLeadingDispatcher, "/v1/artifacts/tailor-taskmanager"}));
  const std::string jobManager = "10.0.0.9:6123";
  EXPECT_EQ(resolveExecutorUri(uri, "10.0.0.7:8080", jobManager),
            "http://10.0.0.7:8080/v1/artifacts/tailor-taskmanager");
  EXPECT_EQ(resolveExecutorUri(uri, "dispatcher-b.example.com:31001", jobManager),
            "http://dispatcher-b.example.com:31001/v1/artifacts/tailor-taskmanager");
  // An address given as a URL keeps its scheme; trailing slashes are not doubled.
  EXPECT_EQ(resolveExecutorUri(uri, "https://10.0.0.7:8443/", jobManager),
            "https://10.0.0.7:8443/v1/artifacts/tailor-taskmanager");
  EXPECT_EQ(resolveExecutorUri(parsed("dispatcher:/"), "10.0.0.7:8080", jobManager),
            "http://10.0.0.7:8080/");
  // The prefix is a URI scheme: any case.
  EXPECT_EQ(parsed("Dispatcher:/v1/x"), (ExecutorUri{Kind::kLeadingDispatcher, "/v1/x"}));
}

// With no executor given, the JobManager serves its own tailor-taskmanager.
TEST(ExecutorUriTest, APathOnThisJobManagerIsResolvedAgainstItsAddress) {
  ExecutorUri uri{Kind::kJobManager, "/artifacts/1f-2a/tailor-taskmanager"};
  EXPECT_EQ(resolveExecutorUri(uri, "10.0.0.7:8080", "10.0.0.9:6123"),
            "http://10.0.0.9:6123/artifacts/1f-2a/tailor-taskmanager");
  EXPECT_EQ(resolveExecutorUri(uri, "", "jm.example.com:31005/"),
            "http://jm.example.com:31005/artifacts/1f-2a/tailor-taskmanager");
  // It has no text form: "jobmanager:/..." is a URI like any other.
  EXPECT_EQ(parsed("jobmanager:/artifacts/x").kind, Kind::kAsGiven);
}

// One URI names one binary: the fetcher's cache trusts the URIs it has seen.
TEST(ExecutorUriTest, TheJobManagersExecutorPathChangesWithTheFile) {
  const std::string path = jobManagerExecutorPath(52915088, 1764590000123456789);
  EXPECT_EQ(path, "/artifacts/3276b90-187d15418390ad15/tailor-taskmanager");
  EXPECT_NE(jobManagerExecutorPath(52915089, 1764590000123456789), path);
  EXPECT_NE(jobManagerExecutorPath(52915088, 1764590000123456790), path);
  // The fetcher names the file after the URI's last segment; TaskManagers run ./ that.
  EXPECT_EQ(path.substr(path.rfind('/') + 1), kExecutorFileName);
}

TEST(ExecutorUriTest, BadValuesAreRefusedNamingTheFlagAndTheForm) {
  for (const std::string& text : std::vector<std::string>{
           "", "   ", "\t\n", "dispatcher:", "dispatcher:v1/artifacts/tailor-taskmanager",
           "dispatcher://10.0.0.7:8080/v1/artifacts/tailor-taskmanager", "dispatcher:/v1/my file",
           "dispatcher:/v1/a\tb", std::string("dispatcher:/v1/a\x01", 17)}) {
    auto uri = parseExecutorUri(text);
    ASSERT_FALSE(uri.ok()) << "'" << text << "' was accepted";
    EXPECT_EQ(uri.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(uri.error().message,
                AllOf(StartsWith("--taskmanager-executor-uri: '" + text + "' "),
                      HasSubstr("expected dispatcher:/PATH (a path on the leading Dispatcher"),
                      HasSubstr("or a URI the Mesos fetcher takes")))
        << text;
  }
  EXPECT_THAT(parseExecutorUri("dispatcher:").error().message, HasSubstr("names no path"));
  EXPECT_THAT(parseExecutorUri("dispatcher:v1/x").error().message,
              HasSubstr("not a path starting with one '/'"));
  EXPECT_THAT(parseExecutorUri("").error().message, HasSubstr("is blank"));
}

TEST(ExecutorUriTest, AListIsParsedInOrderAndSaysWhetherItNeedsADispatcher) {
  auto uris =
      parseExecutorUris({"dispatcher:/v1/artifacts/tailor-taskmanager", "http://repo/libs.tar.gz"});
  ASSERT_TRUE(uris.ok()) << uris.error().message;
  EXPECT_THAT(*uris,
              ElementsAre(ExecutorUri{Kind::kLeadingDispatcher, "/v1/artifacts/tailor-taskmanager"},
                          ExecutorUri{Kind::kAsGiven, "http://repo/libs.tar.gz"}));
  EXPECT_TRUE(needsDispatcher(*uris));
  EXPECT_FALSE(needsDispatcher({ExecutorUri{Kind::kAsGiven, "http://repo/tailor-taskmanager"}}));
  EXPECT_FALSE(needsDispatcher({}));

  auto bad = parseExecutorUris({"http://repo/tailor-taskmanager", "dispatcher:x", ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, StartsWith("--taskmanager-executor-uri: 'dispatcher:x' "));
}

}  // namespace
}  // namespace tailor::scheduler::mesos
