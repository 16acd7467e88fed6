// The ZooKeeper session, election and retrieval against a real ZooKeeper
// server (tests/zookeeper/zk-server.sh).

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>

#include "common/asio_event_loop.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/session.hpp"
#include "common/zookeeper/url.hpp"
#include "tests/common/zookeeper_fixture.hpp"

namespace tailor::zookeeper {
namespace {

TEST(ZooKeeperUrlTest, ParsesHostsPathAndCredentials) {
  auto url = parseZooKeeperUrl("zk://a:2181,b.example.com:2182/tailor/prod/", "--state-store");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->hosts, "a:2181,b.example.com:2182");
  EXPECT_EQ(url->path, "/tailor/prod");
  EXPECT_EQ(url->child("jobs"), "/tailor/prod/jobs");
  EXPECT_EQ(url->describe(), "zk://a:2181,b.example.com:2182/tailor/prod");

  auto root = parseZooKeeperUrl("zk://me:secret@127.0.0.1:2181", "--x");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->path, "");
  EXPECT_EQ(root->digest, "me:secret");
  EXPECT_EQ(root->describe(), "zk://127.0.0.1:2181/");
}

TEST(ZooKeeperUrlTest, BadUrlsSayWhatIsWrongAndTheExpectedForm) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c :
       {Case{"local:/tmp", "does not start with zk://"}, Case{"zk:///tailor", "no host:port"},
        Case{"zk://host/tailor", "host:port"},
        Case{"zk://host:99999/x", "not a number from 1 to 65535"},
        Case{"zk://h:1,h:x/x", "port 'x'"}, Case{"zk://h:1/a//b", "empty part"},
        Case{"zk://h:1/a/../b", "'..'"}, Case{"zk://user@h:1/a", "user:password"}}) {
    auto url = parseZooKeeperUrl(c.text, "--state-store");
    ASSERT_FALSE(url.ok()) << c.text;
    EXPECT_NE(url.error().message.find(c.says), std::string::npos) << url.error().message;
    EXPECT_NE(url.error().message.find("--state-store"), std::string::npos);
    EXPECT_NE(url.error().message.find("zk://host:port"), std::string::npos);
  }
}

TEST(SequenceTest, ReadsTheTenDigitSuffix) {
  EXPECT_EQ(sequenceOf("latch-ab-0000000012"), 12);
  EXPECT_EQ(sequenceOf("json.info_0000000003"), 3);
  EXPECT_EQ(sequenceOf("log_replicas"), -1);
  EXPECT_EQ(sortBySequence({"x-0000000010", "other", "y-0000000002"}),
            (std::vector<std::string>{"y-0000000002", "x-0000000010"}));
}

using ZooKeeperTest = test::ZooKeeperFixture;

TEST_F(ZooKeeperTest, CreatesReadsSetsListsAndRemovesNodes) {
  auto session = connect();
  ASSERT_TRUE(session);
  ASSERT_TRUE(session->ensurePath("/a/b/c").ok());
  ASSERT_TRUE(session->ensurePath("/a/b/c").ok());  // again: fine
  auto made = session->create("/a/b/c/n", "one", CreateMode::kPersistent);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(*made, "/a/b/c/n");
  auto again = session->create("/a/b/c/n", "two", CreateMode::kPersistent);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);

  auto value = session->get("/a/b/c/n");
  ASSERT_TRUE(value.ok() && value->has_value());
  EXPECT_EQ((*value)->data, "one");
  EXPECT_EQ((*value)->version, 0);
  ASSERT_TRUE(session->set("/a/b/c/n", "three").ok());
  EXPECT_EQ((*session->get("/a/b/c/n"))->data, "three");
  auto stale = session->set("/a/b/c/n", "four", 0);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(session->set("/a/none", "x").error().code, ErrorCode::kNotFound);

  auto missing = session->get("/a/none");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto names = session->children("/a/b/c");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"n"});
  EXPECT_EQ(session->children("/nowhere").error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(session->removeAll("/a").ok());
  EXPECT_FALSE(session->get("/a")->has_value());
  EXPECT_TRUE(session->remove("/a").ok());  // none: fine
}

TEST_F(ZooKeeperTest, BigValuesAndBinaryDataRoundTrip) {
  auto session = connect();
  ASSERT_TRUE(session);
  std::string data(900 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(session->create("/big", data, CreateMode::kPersistent).ok());
  EXPECT_EQ((*session->get("/big"))->data, data);
}

TEST_F(ZooKeeperTest, MultiIsAllOrNothingAndNamesTheFailedOperation) {
  auto session = connect();
  ASSERT_TRUE(session);
  ASSERT_TRUE(session->ensurePath("/m").ok());
  int failed = -2;
  Status status = session->multi(
      {Op::create("/m/x", "1"), Op::check("/m/fence"), Op::create("/m/y", "2")}, &failed);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
  EXPECT_NE(status.error().message.find("check '/m/fence'"), std::string::npos)
      << status.error().message;
  EXPECT_FALSE(session->get("/m/x")->has_value());  // nothing was made

  ASSERT_TRUE(session->create("/m/fence", "", CreateMode::kEphemeral).ok());
  ASSERT_TRUE(session
                  ->multi({Op::check("/m/fence"), Op::create("/m/x", "1"), Op::set("/m/fence", "2"),
                           Op::remove("/m/x")})
                  .ok());
  EXPECT_FALSE(session->get("/m/x")->has_value());
  EXPECT_EQ((*session->get("/m/fence"))->data, "2");
}

TEST_F(ZooKeeperTest, WatchesFireOnceOnTheLoop) {
  auto writer = connect();
  auto watcher = connect();
  ASSERT_TRUE(writer && watcher);
  ASSERT_TRUE(writer->ensurePath("/w").ok());
  int childChanges = 0;
  int nodeChanges = 0;
  auto names = watcher->watchChildren("/w", [&] { ++childChanges; });
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
  auto value = watcher->watchGet("/w/later", [&] { ++nodeChanges; });  // not there yet
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());

  ASSERT_TRUE(writer->create("/w/later", "v", CreateMode::kPersistent).ok());
  EXPECT_TRUE(runUntil([&] { return childChanges == 1 && nodeChanges == 1; }));
  ASSERT_TRUE(writer->create("/w/second", "", CreateMode::kPersistent).ok());
  loop_.context().run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(childChanges, 1);  // one-shot
  EXPECT_EQ(nodeChanges, 1);
}

TEST_F(ZooKeeperTest, AnUnreachableEnsembleIsAClearError) {
  server_.stop();
  SessionOptions options;
  options.hosts = server_.hosts();
  options.connectTimeout = Duration(1500);
  auto session = Session::connect(loop_, options);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(session.error().message.find("cannot reach ZooKeeper at " + server_.hosts()),
            std::string::npos)
      << session.error().message;
}

TEST_F(ZooKeeperTest, OperationsRideOutAServerRestartAndTheSessionSurvives) {
  auto session = connect(Duration(20000), Duration(10000));
  ASSERT_TRUE(session);
  ASSERT_TRUE(session->create("/e", "", CreateMode::kEphemeral).ok());
  std::int64_t id = session->sessionId();
  server_.restart();
  // The write waits for the reconnection instead of failing.
  ASSERT_TRUE(session->create("/after", "x", CreateMode::kPersistent).ok());
  EXPECT_EQ(session->sessionId(), id);
  EXPECT_TRUE(session->get("/e")->has_value());  // the ephemeral node lived through it
}

TEST_F(ZooKeeperTest, OperationsFailAfterRetryForWhenTheServerStaysDown) {
  auto session = connect(Duration(1000));
  ASSERT_TRUE(session);
  server_.stop();
  auto started = std::chrono::steady_clock::now();
  auto made = session->create("/never", "", CreateMode::kPersistent);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(made.error().message.find("unreachable"), std::string::npos) << made.error().message;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(ZooKeeperTest, OneLeaderAtATimeAndTheNextTakesOverWhenItLeaves) {
  auto first = connect();
  auto second = connect();
  auto reader = connect();
  ASSERT_TRUE(first && second && reader);
  bool firstLeads = false;
  bool secondLeads = false;
  auto a = std::make_unique<LeaderElection>(loop_, *first, "/election", "a:1");
  LeaderElection b(loop_, *second, "/election", "b:2");
  ASSERT_TRUE(a->start({[&] { firstLeads = true; }, nullptr}).ok());
  ASSERT_TRUE(runUntil([&] { return firstLeads; }));
  ASSERT_TRUE(b.start({[&] { secondLeads = true; }, nullptr}).ok());
  loop_.context().run_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(secondLeads);

  std::vector<std::optional<std::string>> seen;
  LeaderRetrieval retrieval(loop_, *reader, "/election");
  retrieval.start([&](const std::optional<std::string>& leader) { seen.push_back(leader); });
  ASSERT_TRUE(runUntil([&] { return !seen.empty(); }));
  EXPECT_EQ(seen.back(), "a:1");
  EXPECT_EQ(*currentLeader(*reader, "/election"), "a:1");

  a.reset();  // the leader leaves
  ASSERT_TRUE(runUntil([&] { return secondLeads; }));
  ASSERT_TRUE(runUntil([&] { return seen.back() == "b:2"; }));
  EXPECT_TRUE(b.leading());
}

TEST_F(ZooKeeperTest, AnExpiredSessionRevokesLeadershipAndFencesItsWrites) {
  auto leaderSession = connect();
  auto otherSession = connect();
  ASSERT_TRUE(leaderSession && otherSession);
  bool led = false;
  std::string revoked;
  bool otherLeads = false;
  LeaderElection leader(loop_, *leaderSession, "/fenced", "old");
  LeaderElection other(loop_, *otherSession, "/fenced", "new");
  ASSERT_TRUE(
      leader.start({[&] { led = true; }, [&](const std::string& why) { revoked = why; }}).ok());
  ASSERT_TRUE(runUntil([&] { return led; }));
  ASSERT_TRUE(other.start({[&] { otherLeads = true; }, nullptr}).ok());
  std::string fence = leader.node();
  ASSERT_TRUE(leaderSession->multi({Op::check(fence), Op::create("/fenced-write-1", "")}).ok());

  ASSERT_TRUE(leaderSession->expireForTest().ok());
  ASSERT_TRUE(runUntil([&] { return !revoked.empty(); }));
  EXPECT_NE(revoked.find("expired"), std::string::npos) << revoked;
  ASSERT_TRUE(runUntil([&] { return otherLeads; }));
  // The old leader's next write in its role is refused: its node is gone.
  int failed = -1;
  Status late =
      leaderSession->multi({Op::check(fence), Op::create("/fenced-write-2", "")}, &failed);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(failed, 0);
  EXPECT_FALSE(otherSession->get("/fenced-write-2")->has_value());
  // The session itself goes on with a new ZooKeeper session.
  EXPECT_TRUE(leaderSession->create("/after-expiry", "", CreateMode::kPersistent).ok());
}

}  // namespace
}  // namespace tailor::zookeeper
