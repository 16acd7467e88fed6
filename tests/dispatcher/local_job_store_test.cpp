#include "dispatcher/local_job_store.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/file_chunk.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/dispatcher/job_file.hpp"

namespace tailor::dispatcher {
namespace {

namespace fs = std::filesystem;
using ::google::protobuf::util::MessageDifferencer;
using test::readFile;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

v1::JobRecord record(const std::string& id, v1::JobState state, std::int64_t sequence = 1) {
  v1::JobRecord record;
  record.set_id(id);
  record.set_name("wordcount");
  record.set_priority(3);
  record.set_sequence(sequence);
  record.set_spec_name("job.yaml");
  record.set_spec_yaml("name: wordcount\n");
  record.add_files("data/a.txt");
  record.set_state(state);
  auto* change = record.add_history();
  change->set_state(state);
  change->set_at(1'700'000'000.5);
  change->set_reason("submitted");
  auto* attempt = record.add_attempts();
  attempt->set_attempt(1);
  attempt->set_launcher("local");
  attempt->set_pid(4242);
  record.set_submitted_at(1'700'000'000.25);
  return record;
}

// Every file under `root` whose name ends with ".tmp".
std::vector<std::string> temporaryFiles(const fs::path& root) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".tmp") found.push_back(entry.path().string());
  }
  return found;
}

class LocalJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = LocalJobStore::open(dir_.str());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
  }

  std::vector<v1::JobRecord> load(std::vector<std::string>* problems = nullptr) {
    auto loaded = store_->loadJobs(problems);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    return loaded.ok() ? *loaded : std::vector<v1::JobRecord>();
  }

  TempDir dir_;
  std::unique_ptr<LocalJobStore> store_;
};

TEST_F(LocalJobStoreTest, DescribesItsFoldersUnderTheRoot) {
  EXPECT_EQ(store_->describe(), "local:" + dir_.str());
  EXPECT_EQ(store_->jobDir("wc-1"), dir_.str() + "/jobs/wc-1");
  EXPECT_TRUE(fs::is_directory(dir_.path() / "jobs"));
}

TEST_F(LocalJobStoreTest, FilesAndRecordRoundTrip) {
  auto folder =
      store_->putFiles("wc-1", {jobFile("job.yaml", "name: wordcount\n"),
                                jobFile("data/a.txt", "hello\nworld\n"), jobFile("empty.txt", "")});
  ASSERT_TRUE(folder.ok()) << folder.error().message;
  EXPECT_EQ(*folder, dir_.str() + "/jobs/wc-1/files");
  EXPECT_EQ(readFile(*folder + "/job.yaml"), "name: wordcount\n");
  EXPECT_EQ(readFile(*folder + "/data/a.txt"), "hello\nworld\n");
  EXPECT_TRUE(fs::is_regular_file(*folder + "/empty.txt"));

  auto written = record("wc-1", v1::RUNNING);
  ASSERT_TRUE(store_->putJob(written).ok());
  EXPECT_TRUE(fs::is_regular_file(dir_.path() / "jobs/wc-1/record.pb"));

  std::vector<std::string> problems;
  auto loaded = load(&problems);
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_THAT(loaded, SizeIs(1));
  EXPECT_TRUE(MessageDifferencer::Equals(loaded[0], written)) << loaded[0].DebugString();
}

TEST_F(LocalJobStoreTest, GetFilesReadsBackWhatPutFilesStored) {
  ASSERT_TRUE(store_->putFiles("wc-1", {jobFile("job.yaml", "name: wordcount\n"),
                                        jobFile("data/a.txt", "hello\n")})
                  .ok());
  auto files = store_->getFiles("wc-1");
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_THAT(*files, SizeIs(2));
  EXPECT_EQ((*files)[0].path(), "data/a.txt");
  EXPECT_EQ((*files)[0].content(), "hello\n");
  EXPECT_EQ((*files)[1].path(), "job.yaml");
  EXPECT_FALSE(store_->getFiles("nope").ok());
}

TEST_F(LocalJobStoreTest, SessionRecordsRoundTripInTheirOwnFolders) {
  std::vector<std::string> problems;
  auto none = store_->loadSessions(&problems);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_THAT(*none, IsEmpty());
  v1::SessionRecord written;
  written.mutable_view()->set_name("etl");
  written.mutable_view()->set_state(v1::SESSION_RUNNING);
  written.mutable_view()->set_address("node-2:9300");
  written.set_stop_requested(true);
  ASSERT_TRUE(store_->putSession(written).ok());
  EXPECT_EQ(store_->sessionDir("etl"), dir_.str() + "/sessions/etl");
  EXPECT_TRUE(fs::is_regular_file(dir_.path() / "sessions/etl/record.pb"));
  // A session's folder is not a job's.
  EXPECT_THAT(load(), IsEmpty());
  dir_.write("sessions/bad/record.pb", "not a record");
  auto loaded = store_->loadSessions(&problems);
  ASSERT_TRUE(loaded.ok());
  ASSERT_THAT(*loaded, SizeIs(1));
  EXPECT_TRUE(MessageDifferencer::Equals((*loaded)[0], written));
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("sessions/bad/record.pb: not a valid session record"));
}

TEST_F(LocalJobStoreTest, LoadsEveryJob) {
  ASSERT_TRUE(store_->putJob(record("wc-1", v1::FINISHED, 1)).ok());
  ASSERT_TRUE(store_->putJob(record("wc-2", v1::QUEUED, 2)).ok());
  ASSERT_TRUE(store_->putJob(record("wc-3", v1::RUNNING, 3)).ok());
  std::vector<std::string> ids;
  for (const auto& loaded : load()) ids.push_back(loaded.id());
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ElementsAre("wc-1", "wc-2", "wc-3"));
}

TEST_F(LocalJobStoreTest, ARewrittenRecordReplacesTheOldOne) {
  ASSERT_TRUE(store_->putJob(record("wc-1", v1::QUEUED)).ok());
  auto later = record("wc-1", v1::FAILED);
  later.set_error("the JobManager failed 3 times");
  ASSERT_TRUE(store_->putJob(later).ok());

  auto loaded = load();
  ASSERT_THAT(loaded, SizeIs(1));
  EXPECT_EQ(loaded[0].state(), v1::FAILED);
  EXPECT_EQ(loaded[0].error(), "the JobManager failed 3 times");

  // A shorter record after a longer one leaves nothing of the longer behind.
  v1::JobRecord small;
  small.set_id("wc-1");
  small.set_state(v1::CANCELED);
  ASSERT_TRUE(store_->putJob(small).ok());
  loaded = load();
  ASSERT_THAT(loaded, SizeIs(1));
  EXPECT_TRUE(MessageDifferencer::Equals(loaded[0], small)) << loaded[0].DebugString();
}

TEST_F(LocalJobStoreTest, ACorruptRecordIsSkippedAndReported) {
  ASSERT_TRUE(store_->putJob(record("good", v1::RUNNING)).ok());
  // Field 1 claims 127 bytes that are not there.
  dir_.write("jobs/garbled/record.pb", std::string("\x0a\x7f"
                                                   "abc",
                                                   5));
  // A record that parses but is some other job's.
  dir_.write("jobs/moved/record.pb", record("elsewhere", v1::RUNNING).SerializeAsString());
  // A record without an id.
  v1::JobRecord anonymous;
  anonymous.set_state(v1::QUEUED);
  dir_.write("jobs/anonymous/record.pb", anonymous.SerializeAsString());

  std::vector<std::string> problems;
  auto loaded = load(&problems);
  ASSERT_THAT(loaded, SizeIs(1));
  EXPECT_EQ(loaded[0].id(), "good");
  std::sort(problems.begin(), problems.end());
  EXPECT_THAT(problems,
              ElementsAre(dir_.str() + "/jobs/anonymous/record.pb: not a valid job record",
                          dir_.str() + "/jobs/garbled/record.pb: not a valid job record",
                          dir_.str() + "/jobs/moved/record.pb: not a valid job record"));

  // Problems may also go unheard.
  EXPECT_THAT(load(nullptr), SizeIs(1));
}

TEST_F(LocalJobStoreTest, AFolderWithFilesButNoRecordIsIgnored) {
  ASSERT_TRUE(store_->putFiles("half-submitted", {jobFile("job.yaml", "name: x\n")}).ok());
  dir_.write("jobs/stray-file", "not a folder");
  std::vector<std::string> problems;
  EXPECT_THAT(load(&problems), IsEmpty());
  EXPECT_THAT(problems, IsEmpty());
}

TEST_F(LocalJobStoreTest, ALeftoverTemporaryRecordDoesNotHideTheRecord) {
  // A crash between writing the temporary file and renaming it.
  ASSERT_TRUE(store_->putJob(record("wc-1", v1::QUEUED)).ok());
  dir_.write("jobs/wc-1/record.pb.tmp", "half a reco");
  std::vector<std::string> problems;
  auto loaded = load(&problems);
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_THAT(loaded, SizeIs(1));
  EXPECT_EQ(loaded[0].state(), v1::QUEUED);
}

TEST_F(LocalJobStoreTest, PutFilesRefusesAPathEscapingTheFolder) {
  for (const std::string path :
       {"../record.pb", "data/../../escape.txt", "../../../escape.txt", "/tmp/escape.txt"}) {
    auto folder = store_->putFiles("wc-1", {jobFile(path, "boom")});
    ASSERT_FALSE(folder.ok()) << path;
    EXPECT_EQ(folder.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(folder.error().message, HasSubstr("'" + path + "' is outside the job's folder"));
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "jobs/wc-1/record.pb"));
  EXPECT_FALSE(fs::exists(dir_.path() / "jobs/escape.txt"));
  EXPECT_FALSE(fs::exists(dir_.path() / "escape.txt"));
  // The folder itself is no file either.
  EXPECT_FALSE(store_->putFiles("wc-1", {jobFile(".", "boom")}).ok());
  EXPECT_FALSE(store_->putFiles("wc-1", {jobFile("data/..", "boom")}).ok());
  // Inner ".." that stays inside is harmless.
  auto inside = store_->putFiles("wc-1", {jobFile("data/../b.txt", "ok")});
  ASSERT_TRUE(inside.ok()) << inside.error().message;
  EXPECT_EQ(readFile(*inside + "/b.txt"), "ok");
}

TEST_F(LocalJobStoreTest, LeavesNoTemporaryFilesBehind) {
  ASSERT_TRUE(
      store_->putFiles("wc-1", {jobFile("job.yaml", "name: x\n"), jobFile("d/e/f.txt", "f")}).ok());
  ASSERT_TRUE(store_->putJob(record("wc-1", v1::QUEUED)).ok());
  ASSERT_TRUE(store_->putJob(record("wc-1", v1::LAUNCHING)).ok());
  EXPECT_THAT(temporaryFiles(dir_.path()), IsEmpty());
}

TEST_F(LocalJobStoreTest, OpenCreatesAMissingRoot) {
  auto opened = LocalJobStore::open(dir_.str() + "/a/b/state/");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(fs::is_directory(dir_.path() / "a/b/state/jobs"));
  // The trailing slash is not part of the name.
  EXPECT_EQ((*opened)->describe(), "local:" + dir_.str() + "/a/b/state");
  EXPECT_EQ((*opened)->jobDir("x"), dir_.str() + "/a/b/state/jobs/x");
}

TEST_F(LocalJobStoreTest, OpenFailsWhenTheRootIsAFile) {
  std::string path = dir_.write("plain", "not a folder");
  auto opened = LocalJobStore::open(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kIo);
  EXPECT_THAT(opened.error().message, HasSubstr("--state-store: cannot create"));
}

TEST_F(LocalJobStoreTest, WriteFileAtomicallyReplacesTheContent) {
  std::string path = dir_.str() + "/value";
  ASSERT_TRUE(writeFileAtomically(path, "a much longer first version").ok());
  ASSERT_TRUE(writeFileAtomically(path, "second").ok());
  EXPECT_EQ(readFile(path), "second");
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  auto failed = writeFileAtomically(dir_.str() + "/no/such/folder/value", "x");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kIo);
}

TEST(OpenJobStoreTest, RejectsASpecWithoutLocal) {
  for (const std::string spec :
       {"", "local:", "/var/lib/tailor", "zk://zk:2181/tailor", "Local:/var/lib/tailor", "local"}) {
    auto store = openJobStore(spec);
    ASSERT_FALSE(store.ok()) << spec;
    EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(store.error().message,
              "--state-store: '" + spec + "' is not a state store (expected local:DIR)");
  }
}

TEST(OpenJobStoreTest, OpensALocalStore) {
  TempDir dir;
  auto store = openJobStore("local:" + dir.str());
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->describe(), "local:" + dir.str());
  EXPECT_TRUE(fs::is_directory(dir.path() / "jobs"));
}

}  // namespace
}  // namespace tailor::dispatcher
