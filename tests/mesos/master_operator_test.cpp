// HttpMasterOperator against a loopback server answering as a Mesos 1.12
// master's /master/frameworks and /master/teardown do, and parseMasterList.

#include "mesos/master_operator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/canned_http_server.hpp"

namespace tailor::mesos {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The shape of Mesos' FullFrameworkWriter (src/master/readonly_handler.cpp),
// trimmed to one framework of each kind.
constexpr const char* kFrameworks = R"({"frameworks": [
  {"id": "a2e87ad9-37e2-428b-8e13-d66a801a848a-0001", "name": "tailor",
   "used_resources": {"disk": 0.0, "mem": 512.0, "gpus": 0.0, "cpus": 0.5, "ports": "[31000-31000]"},
   "offered_resources": {"disk": 0.0, "mem": 0.0, "gpus": 0.0, "cpus": 0.0},
   "capabilities": [{"type": "MULTI_ROLE"}, {"type": "PARTITION_AWARE"}],
   "hostname": "agent-1.example.com", "webui_url": "http://agent-1.example.com:31005/",
   "active": false, "connected": false, "recovered": false, "user": "root",
   "failover_timeout": 604800.0, "checkpoint": true, "registered_time": 1795255834.51,
   "unregistered_time": 0.0, "resources": {"disk": 0.0, "mem": 512.0, "gpus": 0.0, "cpus": 0.5},
   "roles": ["*"], "tasks": [], "unreachable_tasks": [], "completed_tasks": [], "offers": [],
   "executors": [], "offer_constraints": {}},
  {"id": "a2e87ad9-37e2-428b-8e13-d66a801a848a-0002", "name": "tailor-job-wordcount-1",
   "pid": "scheduler-1@10.0.0.7:40000", "hostname": "agent-2", "webui_url": "",
   "active": true, "connected": true, "role": "*", "tasks": []}],
  "completed_frameworks": [{"id": "a2e87ad9-37e2-428b-8e13-d66a801a848a-0000", "name": "tailor",
                            "active": false}],
  "unregistered_frameworks": []})";

TEST(MasterOperatorTest, ListsRegisteredFrameworksOnly) {
  test::CannedHttpServer master;
  master.on("GET", "/master/frameworks", 200, kFrameworks);
  HttpMasterOperator client({master.address()});
  auto frameworks = client.frameworks();
  ASSERT_TRUE(frameworks.ok()) << frameworks.error().message;
  ASSERT_EQ(frameworks->size(), 2u);
  const FrameworkSummary& tailor = (*frameworks)[0];
  EXPECT_EQ(tailor.id, "a2e87ad9-37e2-428b-8e13-d66a801a848a-0001");
  EXPECT_EQ(tailor.name, "tailor");
  EXPECT_EQ(tailor.hostname, "agent-1.example.com");
  EXPECT_EQ(tailor.webuiUrl, "http://agent-1.example.com:31005/");
  EXPECT_FALSE(tailor.active);
  EXPECT_FALSE(tailor.connected);
  EXPECT_TRUE((*frameworks)[1].active);
}

TEST(MasterOperatorTest, TearsDownWithAFormBody) {
  test::CannedHttpServer master;
  master.on("POST", "/master/teardown", 200, "");
  HttpMasterOperator client({master.address()});
  ASSERT_TRUE(client.teardown("a2e87ad9-0001").ok());
  http::Request sent = master.lastRequest();
  EXPECT_EQ(sent.body, "frameworkId=a2e87ad9-0001");
  EXPECT_EQ(sent.header("content-type"), "application/x-www-form-urlencoded");

  master.on("POST", "/master/teardown", 400, "No framework found with specified ID");
  Status unknown = client.teardown("gone");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(unknown.error().message, HasSubstr("No framework found with specified ID"));

  master.on("POST", "/master/teardown", 403, "");
  EXPECT_EQ(client.teardown("x").error().code, ErrorCode::kFailedPrecondition);
}

TEST(MasterOperatorTest, FollowsTheLeaderAndSkipsMastersThatAreDown) {
  test::CannedHttpServer leader;
  leader.on("GET", "/master/frameworks", 200, kFrameworks);
  test::CannedHttpServer follower;
  follower.on("GET", "/master/frameworks", 307, "",
              {{"Location", "//" + leader.address() + "/master/frameworks"}});
  test::CannedHttpServer down;
  std::string downAddress = down.address();
  down.stop();
  HttpMasterOperator client({downAddress, follower.address()});
  auto frameworks = client.frameworks();
  ASSERT_TRUE(frameworks.ok()) << frameworks.error().message;
  EXPECT_EQ(frameworks->size(), 2u);
  EXPECT_EQ(leader.requests().size(), 1u);
}

TEST(MasterOperatorTest, UnreachableAndBadAnswersAreErrors) {
  test::CannedHttpServer master;
  std::string address = master.address();
  master.on("GET", "/master/frameworks", 200, "{\"frameworks\": 3}");
  HttpMasterOperator client({address});
  auto bad = client.frameworks();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  master.on("GET", "/master/frameworks", 503, "");
  EXPECT_EQ(client.frameworks().error().code, ErrorCode::kUnavailable);
  master.stop();
  auto down = client.frameworks();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(down.error().message, HasSubstr("cannot reach the Mesos master at " + address));
}

TEST(ParseMasterListTest, HostPortListsWithDefaults) {
  auto masters = parseMasterList("m1:5050,http://m2:5051,m3,");
  ASSERT_TRUE(masters.ok()) << masters.error().message;
  EXPECT_THAT(masters->hosts, ElementsAre("m1:5050", "m2:5051", "m3:5050"));
  EXPECT_FALSE(masters->zooKeeper);
  EXPECT_EQ(masters->flagValue(), "m1:5050,m2:5051,m3:5050");
  EXPECT_THAT(parseMasterList("m1:50x0").error().message, HasSubstr("'m1:50x0' is not HOST:PORT"));
  EXPECT_THAT(parseMasterList(",").error().message, HasSubstr("names no master"));
}

TEST(ParseMasterListTest, OneZooKeeperUrlWithThePathTheMastersContendUnder) {
  auto masters = parseMasterList("zk://ops:secret@zk1:2181,zk2:2181/mesos");
  ASSERT_TRUE(masters.ok()) << masters.error().message;
  EXPECT_TRUE(masters->hosts.empty());
  ASSERT_TRUE(masters->zooKeeper);
  EXPECT_EQ(masters->zooKeeper->hosts, "zk1:2181,zk2:2181");
  EXPECT_EQ(masters->zooKeeper->path, "/mesos");
  EXPECT_EQ(masters->zooKeeper->digest, "ops:secret");
  EXPECT_FALSE(masters->empty());
  // Passed on to JobManagers with its credentials; logged without them.
  EXPECT_EQ(masters->flagValue(), "zk://ops:secret@zk1:2181,zk2:2181/mesos");
  EXPECT_EQ(masters->describe(), "zk://zk1:2181,zk2:2181/mesos");

  auto noPath = parseMasterList("zk://zk1:2181");
  ASSERT_FALSE(noPath.ok());
  EXPECT_THAT(noPath.error().message, HasSubstr("names no path"));
  auto bad = parseMasterList("zk://zk1:21x1/mesos");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("--mesos-master"));
  EXPECT_THAT(bad.error().message, HasSubstr("zk://host:port"));
}

}  // namespace
}  // namespace tailor::mesos
