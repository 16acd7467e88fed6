// The ZooKeeper state store against a real ZooKeeper server.

#include "dispatcher/zookeeper_job_store.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "common/asio_event_loop.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/values.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/zookeeper_server.hpp"
#include "tests/dispatcher/job_file.hpp"

namespace tailor::dispatcher {
namespace {

namespace fs = std::filesystem;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

v1::JobRecord record(const std::string& id, v1::JobState state) {
  v1::JobRecord record;
  record.set_id(id);
  record.set_name("wordcount");
  record.set_sequence(7);
  record.set_spec_name("job.yaml");
  record.set_state(state);
  return record;
}

class ZooKeeperJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    zookeeper::SessionOptions options;
    options.hosts = server_.hosts();
    options.retryFor = Duration(3000);
    auto session = zookeeper::Session::connect(loop_, options);
    ASSERT_TRUE(session.ok()) << session.error().message;
    session_ = std::move(*session);
    store_ = open(work_.str());
  }

  std::unique_ptr<ZooKeeperJobStore> open(const std::string& workDir) {
    auto opened = ZooKeeperJobStore::open(*session_, "/tailor", server_.url("/tailor"), workDir);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  test::ZooKeeperServer server_;
  AsioEventLoop loop_;
  test::TempDir work_;
  std::unique_ptr<zookeeper::Session> session_;
  std::unique_ptr<ZooKeeperJobStore> store_;
};

TEST_F(ZooKeeperJobStoreTest, AnotherDispatcherLoadsRecordsAndGetsTheFilesOnItsOwnDisk) {
  std::string big(3 * 1024 * 1024 + 17, 'x');  // bigger than a znode: chunked
  auto folder =
      store_->putFiles("wc-1", {jobFile("job.yaml", "name: wordcount\n"), jobFile("data/big.txt", big)});
  ASSERT_TRUE(folder.ok()) << folder.error().message;
  EXPECT_EQ(*folder, work_.str() + "/jobs/wc-1/files");
  EXPECT_EQ(test::readFile(*folder + "/data/big.txt"), big);
  v1::JobRecord written = record("wc-1", v1::RUNNING);
  written.set_spec_yaml(std::string(2 * 1024 * 1024, 'y'));  // a big record too
  ASSERT_TRUE(store_->putJob(written).ok());
  ASSERT_TRUE(store_->putValue("framework-id", "abc-0001").ok());

  // A second Dispatcher with its own work folder.
  test::TempDir otherWork;
  auto other = open(otherWork.str());
  ASSERT_TRUE(other);
  std::vector<std::string> problems;
  auto loaded = other->loadJobs(&problems);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_THAT(*loaded, SizeIs(1));
  EXPECT_TRUE(MessageDifferencer::Equals((*loaded)[0], written));
  EXPECT_EQ(test::readFile(other->jobDir("wc-1") + "/files/job.yaml"), "name: wordcount\n");
  EXPECT_EQ(test::readFile(other->jobDir("wc-1") + "/files/data/big.txt"), big);
  EXPECT_EQ(*other->getValue("framework-id"), "abc-0001");
  EXPECT_EQ(*other->getValue("never-set"), "");
  EXPECT_EQ(other->describe(), server_.url("/tailor"));
}

TEST_F(ZooKeeperJobStoreTest, AnotherDispatcherLoadsSessionsAndTheFilesOfJobs) {
  ASSERT_TRUE(store_->putFiles("wc-1", {jobFile("job.yaml", "name: wordcount\n"),
                                        jobFile("data/a.txt", "hello\n")})
                  .ok());
  v1::SessionRecord written;
  written.mutable_view()->set_name("etl");
  written.mutable_view()->set_state(v1::SESSION_STARTING);
  ASSERT_TRUE(store_->putSession(written).ok());

  test::TempDir otherWork;
  auto other = open(otherWork.str());
  ASSERT_TRUE(other);
  std::vector<std::string> problems;
  auto sessions = other->loadSessions(&problems);
  ASSERT_TRUE(sessions.ok()) << sessions.error().message;
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_THAT(*sessions, SizeIs(1));
  EXPECT_TRUE(MessageDifferencer::Equals((*sessions)[0], written));
  EXPECT_EQ(other->sessionDir("etl"), otherWork.str() + "/sessions/etl");
  // Read from ZooKeeper, not from a disk that never had them.
  auto files = other->getFiles("wc-1");
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_THAT(*files, SizeIs(2));
  EXPECT_EQ((*files)[1].content(), "hello\n");
}

TEST_F(ZooKeeperJobStoreTest, ARecordShrinkingBelowAChunkLeavesNoChunksBehind) {
  ASSERT_TRUE(store_->putFiles("wc-1", {jobFile("job.yaml", "x")}).ok());
  v1::JobRecord big = record("wc-1", v1::RUNNING);
  big.set_spec_yaml(std::string(1500 * 1024, 'y'));
  ASSERT_TRUE(store_->putJob(big).ok());
  ASSERT_TRUE(store_->putJob(big).ok());  // a second generation of chunks
  ASSERT_TRUE(store_->putJob(record("wc-1", v1::FINISHED)).ok());
  auto names = session_->children("/tailor/jobs/wc-1");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"files"});
}

TEST_F(ZooKeeperJobStoreTest, ASubmissionWithoutRecordIsRemovedAndDamageIsReported) {
  ASSERT_TRUE(store_->putFiles("half", {jobFile("job.yaml", "x")}).ok());
  ASSERT_TRUE(
      session_->create("/tailor/jobs/garbage", "Inot a record", zookeeper::CreateMode::kPersistent)
          .ok());
  ASSERT_TRUE(store_->putFiles("ok", {jobFile("job.yaml", "x")}).ok());
  ASSERT_TRUE(store_->putJob(record("ok", v1::QUEUED)).ok());
  std::vector<std::string> problems;
  auto loaded = store_->loadJobs(&problems);
  ASSERT_TRUE(loaded.ok());
  ASSERT_THAT(*loaded, SizeIs(1));
  EXPECT_EQ((*loaded)[0].id(), "ok");
  ASSERT_THAT(problems, SizeIs(2));
  std::sort(problems.begin(), problems.end());
  EXPECT_THAT(problems[0], HasSubstr("/tailor/jobs/garbage: not a valid job record"));
  EXPECT_THAT(problems[1], HasSubstr("/tailor/jobs/half: a submission that never got its record"));
  EXPECT_FALSE(session_->get("/tailor/jobs/half")->has_value());
}

TEST_F(ZooKeeperJobStoreTest, ADispatcherThatLostItsLeadershipCannotWrite) {
  zookeeper::LeaderElection election(loop_, *session_, "/tailor/leader", "me");
  ASSERT_TRUE(election.start({}).ok());
  store_->setFence(election.node());
  ASSERT_TRUE(store_->putFiles("wc-1", {jobFile("job.yaml", "x")}).ok());
  ASSERT_TRUE(store_->putJob(record("wc-1", v1::QUEUED)).ok());
  ASSERT_TRUE(session_->remove(election.node()).ok());  // as an expiry would

  Status late = store_->putJob(record("wc-1", v1::FAILED));
  ASSERT_FALSE(late.ok());
  EXPECT_TRUE(zookeeper::isFenced(late.error())) << late.error().message;
  EXPECT_FALSE(store_->putValue("framework-id", "x").ok());
  auto files = store_->putFiles("wc-2", {jobFile("job.yaml", "x")});
  ASSERT_FALSE(files.ok());
  EXPECT_TRUE(zookeeper::isFenced(files.error())) << files.error().message;
  auto loaded = store_->loadJobs(nullptr);
  ASSERT_THAT(*loaded, SizeIs(1));
  EXPECT_EQ((*loaded)[0].state(), v1::QUEUED);
}

TEST_F(ZooKeeperJobStoreTest, AnUnreachableZooKeeperIsAnErrorNotACrash) {
  server_.stop();
  Status stored = store_->putJob(record("wc-1", v1::QUEUED));
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(stored.error().message, HasSubstr("unreachable"));
  server_.start();
  // Writable again once the client has reconnected (its reconnection delay
  // may exceed one operation's retries on a loaded machine).
  Status again = store_->putJob(record("wc-1", v1::QUEUED));
  for (int i = 0; i < 5 && !again.ok(); ++i) again = store_->putJob(record("wc-1", v1::QUEUED));
  EXPECT_TRUE(again.ok()) << again.error().message;
}

}  // namespace
}  // namespace tailor::dispatcher
