// Master detection: the MasterInfo JSON of a master's ZooKeeper node read
// into host:port (the reference's example, the captured master, bad data),
// and the detector following `json.info_` nodes on a real ZooKeeper server
// (tests/zookeeper/zk-server.sh), with the nodes made by the test.

#include "mesos/master_detector.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/asio_event_loop.hpp"
#include "mesos/codec.hpp"
#include "mesos/recordio.hpp"
#include "tests/common/zookeeper_fixture.hpp"

namespace tailor::mesos {
namespace {

using ::testing::HasSubstr;

// The example of reference §2.3.
constexpr const char* kReferenceExample =
    R"({"id":"5e2a","ip":184549386,"port":5050,"pid":"master@10.0.0.11:5050",)"
    R"("hostname":"m1.example.com","version":"1.12.0","address":{"hostname":"m1.example.com",)"
    R"("ip":"10.0.0.11","port":5050},"capabilities":[{"type":"AGENT_UPDATE"},)"
    R"({"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}]})";

TEST(MasterAddressTest, TheReferenceExampleLeadsToItsHostname) {
  auto address = masterAddressOf(kReferenceExample);
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, "m1.example.com:5050");
}

TEST(MasterAddressTest, AddressIpWhenThereIsNoHostname) {
  auto address = masterAddressOf(R"({"id":"x","ip":1,"address":{"ip":"10.0.0.12","port":5051}})");
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, "10.0.0.12:5051");
  auto ipv6 = masterAddressOf(R"({"id":"x","ip":1,"address":{"ip":"fd00::12","port":5050}})");
  ASSERT_TRUE(ipv6.ok()) << ipv6.error().message;
  EXPECT_EQ(*ipv6, "[fd00::12]:5050");
}

TEST(MasterAddressTest, ThePackedIpAndPortWithoutAnAddress) {
  // 184549386 is 0x0B00000A: 10.0.0.11 in network byte order.
  auto address = masterAddressOf(R"({"id":"x","ip":184549386,"port":5052,"hostname":"m1"})");
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, "10.0.0.11:5052");
  auto defaultPort = masterAddressOf(R"({"id":"x","ip":16777343})");
  ASSERT_TRUE(defaultPort.ok()) << defaultPort.error().message;
  EXPECT_EQ(*defaultPort, "127.0.0.1:5050");
}

// The MasterInfo a real Mesos 1.12 master sent in SUBSCRIBED (the golden
// capture), printed as the master prints it to its node.
TEST(MasterAddressTest, TheCapturedMasterInfo) {
  std::ifstream in(std::filesystem::path(TAILOR_MESOS_WIRE_DIR) / "failover-json/stream-a.recordio",
                   std::ios::binary);
  ASSERT_TRUE(in) << "missing capture";
  std::ostringstream bytes;
  bytes << in.rdbuf();
  RecordIoDecoder decoder;
  ASSERT_TRUE(decoder.feed(bytes.str()).ok());
  auto record = decoder.next();
  ASSERT_TRUE(record);
  auto event = decodeSchedulerEvent(*record, ContentType::kJson);
  ASSERT_TRUE(event.ok()) << event.error().message;
  ::mesos::v1::MasterInfo info = event->subscribed().master_info();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(info, &json, options).ok());
  auto address = masterAddressOf(json);
  ASSERT_TRUE(address.ok()) << address.error().message;
  EXPECT_EQ(*address, "127.0.0.1:5050");

  info.clear_address();  // as an old master writes it
  json.clear();
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(info, &json, options).ok());
  EXPECT_EQ(*masterAddressOf(json), "127.0.0.1:5050");
}

TEST(MasterAddressTest, BadDataSaysWhatIsWrong) {
  struct Case {
    std::string data;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {"", "is empty"},
           {"master@10.0.0.1:5050", "is not understood"},
           {std::string("\x08\x01\x12\x04\xff\xfe\x00\x01", 8), "is not understood"},
           {"[1,2]", "is not understood"},
           {R"({"id":"x","ip":"ten"})", "is not understood"},
           {"{}", "missing field id"},  // id and ip are required, as Mesos parses it
           {R"({"id":"x","ip":0})", "neither address nor ip"},
           {R"({"id":"x","ip":1,"address":{"port":5050}})", "neither hostname nor ip"},
           {R"({"id":"x","ip":1,"address":{"hostname":"m1"}})", "missing field port"},
           {R"({"id":"x","ip":1,"address":{"hostname":"m1","port":0}})", "address.port 0"},
           {R"({"id":"x","ip":1,"address":{"hostname":"m1","port":70000}})", "address.port 70000"},
           {R"({"id":"x","ip":1,"address":{"hostname":"m1 evil","port":5050}})",
            "unusable host 'm1 evil'"},
           {R"({"id":"x","ip":1,"address":{"hostname":"m1/x","port":5050}})", "unusable host"},
       }) {
    auto address = masterAddressOf(c.data);
    ASSERT_FALSE(address.ok()) << c.data;
    EXPECT_THAT(address.error().message, HasSubstr(c.says)) << c.data;
    EXPECT_THAT(address.error().message, HasSubstr("expected a MasterInfo as JSON")) << c.data;
  }
}

std::string masterJson(const std::string& host, int port) {
  return R"({"id":")" + host + R"(","ip":16777343,"port":)" + std::to_string(port) +
         R"(,"hostname":")" + host + R"(","address":{"hostname":")" + host +
         R"(","ip":"127.0.0.1","port":)" + std::to_string(port) + "}}";
}

class MasterDetectorTest : public test::ZooKeeperFixture {
 protected:
  std::unique_ptr<ZooKeeperMasterDetector> detector() {
    auto url = zookeeper::parseZooKeeperUrl(server_.url("/mesos"), "--mesos-master");
    EXPECT_TRUE(url.ok());
    auto made = ZooKeeperMasterDetector::connect(loop_, *url);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? std::move(*made) : nullptr;
  }

  // A master's node, as a Mesos master contends: ephemeral and sequential.
  std::string contend(zookeeper::Session& session, const std::string& data) {
    auto made = session.create("/mesos/json.info_", data,
                               zookeeper::CreateMode::kEphemeralSequential);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? *made : "";
  }
};

TEST_F(MasterDetectorTest, FollowsTheLowestJsonInfoNodeAndIgnoresOtherChildren) {
  auto masters = connect();
  ASSERT_TRUE(masters);
  ASSERT_TRUE(masters->ensurePath("/mesos/log_replicas").ok());
  // Nodes of other kinds, even with a lower sequence number, take no part.
  ASSERT_TRUE(masters->create("/mesos/info_0000000000", "binary", zookeeper::CreateMode::kPersistent)
                  .ok());
  auto reader = detector();
  ASSERT_TRUE(reader);
  std::vector<std::optional<std::string>> seen;
  reader->start([&](const std::optional<std::string>& leader) { seen.push_back(leader); });
  ASSERT_TRUE(runUntil([&] { return !seen.empty(); }));
  EXPECT_EQ(seen.back(), std::nullopt);  // nobody leads yet

  std::string first = contend(*masters, masterJson("m1.example.com", 5050));
  ASSERT_TRUE(runUntil([&] { return seen.back() == "m1.example.com:5050"; }));
  std::string second = contend(*masters, masterJson("m2.example.com", 5051));
  loop_.context().run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(seen.size(), 2u) << "a standby joining is no change";

  ASSERT_TRUE(masters->remove(first).ok());  // the leader's node goes
  ASSERT_TRUE(runUntil([&] { return seen.back() == "m2.example.com:5051"; }));
  ASSERT_TRUE(masters->remove(second).ok());
  ASSERT_TRUE(runUntil([&] { return seen.back() == std::nullopt; }));
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(MasterDetectorTest, GarbageInTheLeadersNodeMeansNoLeaderUntilItGoes) {
  auto masters = connect();
  ASSERT_TRUE(masters && masters->ensurePath("/mesos").ok());
  auto reader = detector();
  ASSERT_TRUE(reader);
  std::vector<std::optional<std::string>> seen;
  reader->start([&](const std::optional<std::string>& leader) { seen.push_back(leader); });
  std::string garbage = contend(*masters, std::string("\x00\xff not json", 11));
  contend(*masters, masterJson("m2.example.com", 5050));
  ASSERT_TRUE(runUntil([&] { return !seen.empty(); }));
  loop_.context().run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(seen.back(), std::nullopt);

  ASSERT_TRUE(masters->remove(garbage).ok());
  ASSERT_TRUE(runUntil([&] { return seen.back() == "m2.example.com:5050"; }));
}

TEST_F(MasterDetectorTest, TheLeadersSessionEndingHandsOverToTheNext) {
  auto leader = connect();
  auto standby = connect();
  ASSERT_TRUE(leader && standby && leader->ensurePath("/mesos").ok());
  contend(*leader, masterJson("m1.example.com", 5050));
  contend(*standby, masterJson("m2.example.com", 5050));
  auto reader = detector();
  ASSERT_TRUE(reader);
  std::vector<std::optional<std::string>> seen;
  reader->start([&](const std::optional<std::string>& found) { seen.push_back(found); });
  ASSERT_TRUE(runUntil([&] { return !seen.empty() && seen.back() == "m1.example.com:5050"; }));
  leader.reset();  // the master's process ends: its ephemeral node with it
  ASSERT_TRUE(runUntil([&] { return seen.back() == "m2.example.com:5050"; }));

  auto url = zookeeper::parseZooKeeperUrl(server_.url("/mesos"), "--mesos-master");
  auto once = findLeadingMaster(*url);
  ASSERT_TRUE(once.ok()) << once.error().message;
  EXPECT_EQ(*once, "m2.example.com:5050");
}

TEST_F(MasterDetectorTest, AnUnreachableEnsembleIsAClearError) {
  auto url = zookeeper::parseZooKeeperUrl("zk://127.0.0.1:1/mesos", "--mesos-master");
  ASSERT_TRUE(url.ok());
  auto made = ZooKeeperMasterDetector::connect(loop_, *url, Duration(500));
  ASSERT_FALSE(made.ok());
  EXPECT_THAT(made.error().message, HasSubstr("finding the Mesos master in zk://127.0.0.1:1/mesos"));
  EXPECT_THAT(made.error().message, HasSubstr("cannot reach ZooKeeper"));
}

}  // namespace
}  // namespace tailor::mesos
