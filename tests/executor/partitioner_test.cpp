#include "executor/partitioner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/temp_dir.hpp"

namespace tailor::executor {
namespace {

namespace fs = std::filesystem;
using test::readFile;
using test::TempDir;
using ::testing::HasSubstr;

v1::OutputSpec output(const std::string& consumer, v1::Partitioning partitioning,
                      int numPartitions) {
  v1::OutputSpec spec;
  spec.set_consumer_stage(consumer);
  spec.set_partitioning(partitioning);
  spec.set_num_partitions(numPartitions);
  return spec;
}

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// --- recordKey / stableHash / hashPartition ---

TEST(RecordKeyTest, IsTheTextBeforeTheFirstTab) {
  EXPECT_EQ(recordKey("word\t1"), "word");
  EXPECT_EQ(recordKey("a\tb\tc"), "a");
  EXPECT_EQ(recordKey("\tvalue"), "");
  EXPECT_EQ(recordKey("key\t"), "key");
}

TEST(RecordKeyTest, IsTheWholeLineWithoutATab) {
  EXPECT_EQ(recordKey("just a line"), "just a line");
  EXPECT_EQ(recordKey(""), "");
}

TEST(StableHashTest, IsFnv1a64) {
  // Reference values of 64-bit FNV-1a.
  EXPECT_EQ(stableHash(""), 14695981039346656037ull);
  EXPECT_EQ(stableHash("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(stableHash("foobar"), 0x85944171f73967e8ull);
}

TEST(StableHashTest, HandlesBytesAbove127) {
  // Bytes are hashed unsigned: "\xff" must not sign-extend.
  std::uint64_t expected = (14695981039346656037ull ^ 0xffull) * 1099511628211ull;
  EXPECT_EQ(stableHash("\xff"), expected);
}

TEST(HashPartitionTest, IsTheKeyHashModuloPartitions) {
  EXPECT_EQ(hashPartition("foobar\t1", 7), static_cast<int>(0x85944171f73967e8ull % 7));
  EXPECT_EQ(hashPartition("a", 7), 5);
  EXPECT_EQ(hashPartition("hello\tworld", 7), 5);
  EXPECT_EQ(hashPartition("", 7), 2);
}

TEST(HashPartitionTest, SameKeySamePartitionWhateverTheValue) {
  for (int n : {2, 3, 8, 31}) {
    EXPECT_EQ(hashPartition("key\tone", n), hashPartition("key\ttwo", n));
    EXPECT_EQ(hashPartition("key\tone", n), hashPartition("key", n));
  }
}

TEST(HashPartitionTest, AlwaysZeroForOneOrNoPartitions) {
  EXPECT_EQ(hashPartition("anything", 1), 0);
  EXPECT_EQ(hashPartition("anything", 0), 0);
  EXPECT_EQ(hashPartition("anything", -3), 0);
}

TEST(HashPartitionTest, SpreadsKeysOverEveryPartition) {
  std::map<int, int> counts;
  for (int i = 0; i < 1000; ++i) {
    int p = hashPartition("key" + std::to_string(i) + "\tv", 4);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 4);
    counts[p] += 1;
  }
  ASSERT_EQ(counts.size(), 4u);
  for (const auto& [p, count] : counts) {
    EXPECT_GT(count, 150) << "partition " << p;
  }
}

// --- partitionFileName ---

TEST(PartitionFileNameTest, NamesConsumerAndPartition) {
  EXPECT_EQ(partitionFileName(output("count", v1::HASH, 4), 3), "count-3");
  EXPECT_EQ(partitionFileName(output("count", v1::FORWARD, 4), 2), "count-2");
}

TEST(PartitionFileNameTest, JobOutputIsUnderscoreOutput) {
  EXPECT_EQ(partitionFileName(output("", v1::FORWARD, 2), 1), "_output-1");
}

TEST(PartitionFileNameTest, BroadcastIsOneFileForAll) {
  EXPECT_EQ(partitionFileName(output("lookup", v1::BROADCAST, 5), 0), "lookup-all");
  EXPECT_EQ(partitionFileName(output("lookup", v1::BROADCAST, 5), 3), "lookup-all");
}

// --- PartitionWriter ---

class PartitionWriterTest : public ::testing::Test {
 protected:
  std::string dir() const { return (temp_.path() / "attempt").string(); }

  TempDir temp_;
};

TEST_F(PartitionWriterTest, RoutesEachRecordToEveryOutput) {
  std::vector<v1::OutputSpec> outputs = {output("count", v1::HASH, 3),
                                         output("lookup", v1::BROADCAST, 2),
                                         output("next", v1::FORWARD, 4)};
  auto writer = PartitionWriter::open(dir(), "s[2]#1", outputs, /*taskIndex=*/2);
  ASSERT_TRUE(writer.ok()) << writer.error().message;

  std::vector<std::string> records;
  for (int i = 0; i < 50; ++i)
    records.push_back("w" + std::to_string(i % 17) + "\t" + std::to_string(i));
  records.push_back("");  // an empty record is a record too
  for (const auto& record : records) (*writer)->write(record);
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok()) << infos.error().message;

  // Three hash files, one broadcast file, one forward file for task 2.
  ASSERT_EQ(infos->size(), 5u);
  std::map<std::string, v1::PartitionInfo> byPath;
  for (const auto& info : *infos) byPath[info.path()] = info;
  std::set<std::string> paths;
  for (const auto& [path, info] : byPath) paths.insert(path);
  EXPECT_EQ(paths, (std::set<std::string>{"s[2]#1/count-0", "s[2]#1/count-1", "s[2]#1/count-2",
                                          "s[2]#1/lookup-all", "s[2]#1/next-2"}));

  EXPECT_EQ(byPath["s[2]#1/lookup-all"].consumer_stage(), "lookup");
  EXPECT_EQ(byPath["s[2]#1/lookup-all"].partition(), -1);
  EXPECT_EQ(byPath["s[2]#1/next-2"].consumer_stage(), "next");
  EXPECT_EQ(byPath["s[2]#1/next-2"].partition(), 2);

  // Broadcast and forward get every record, in order.
  EXPECT_EQ(linesOf(readFile(fs::path(dir()) / "lookup-all")), records);
  EXPECT_EQ(linesOf(readFile(fs::path(dir()) / "next-2")), records);

  // Hash files split the records by key, keeping their order.
  std::vector<std::vector<std::string>> expected(3);
  for (const auto& record : records) expected[hashPartition(record, 3)].push_back(record);
  std::int64_t hashRecords = 0;
  for (int p = 0; p < 3; ++p) {
    std::string name = "count-" + std::to_string(p);
    const auto& info = byPath["s[2]#1/" + name];
    EXPECT_EQ(info.consumer_stage(), "count");
    EXPECT_EQ(info.partition(), p);
    std::string content = readFile(fs::path(dir()) / name);
    EXPECT_EQ(linesOf(content), expected[p]) << name;
    EXPECT_EQ(info.records(), static_cast<std::int64_t>(expected[p].size())) << name;
    EXPECT_EQ(info.bytes(), static_cast<std::int64_t>(content.size())) << name;
    hashRecords += info.records();
  }
  EXPECT_EQ(hashRecords, static_cast<std::int64_t>(records.size()));
}

TEST_F(PartitionWriterTest, CountsBytesWithTheNewline) {
  auto writer = PartitionWriter::open(dir(), "a", {output("", v1::FORWARD, 1)}, 0);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  (*writer)->write("abc");
  (*writer)->write("");
  (*writer)->write("de\tf");
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok());
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].path(), "a/_output-0");
  EXPECT_EQ((*infos)[0].consumer_stage(), "");
  EXPECT_EQ((*infos)[0].records(), 3);
  EXPECT_EQ((*infos)[0].bytes(), 4 + 1 + 5);
  EXPECT_EQ(readFile(fs::path(dir()) / "_output-0"), "abc\n\nde\tf\n");
}

TEST_F(PartitionWriterTest, SinkOutputIsNamedByTaskIndex) {
  auto writer = PartitionWriter::open(dir(), "sink[3]#2", {output("", v1::FORWARD, 4)}, 3);
  ASSERT_TRUE(writer.ok());
  (*writer)->write("x");
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok());
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].path(), "sink[3]#2/_output-3");
  EXPECT_EQ((*infos)[0].partition(), 3);
  EXPECT_TRUE(fs::exists(fs::path(dir()) / "_output-3"));
}

TEST_F(PartitionWriterTest, ASmallJobOutputStaysInMemoryAndNoFileIsCreated) {
  auto writer = PartitionWriter::open(dir(), "j", {output("", v1::FORWARD, 4)}, 3, "a-",
                                      /*inlineOutputBytes=*/16);
  ASSERT_TRUE(writer.ok());
  (*writer)->write("hello");
  (*writer)->write("");
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok()) << infos.error().message;
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].path(), "");
  EXPECT_EQ((*infos)[0].data(), "hello\n\n");
  EXPECT_EQ((*infos)[0].partition(), 3);
  EXPECT_EQ((*infos)[0].records(), 2);
  EXPECT_EQ((*infos)[0].bytes(), 7);
  EXPECT_TRUE(fs::is_empty(dir()));
}

TEST_F(PartitionWriterTest, AJobOutputLargerThanTheLimitGoesToItsFile) {
  auto writer = PartitionWriter::open(dir(), "j", {output("", v1::FORWARD, 1),
                                                   output("next", v1::FORWARD, 1)},
                                      0, "a-", /*inlineOutputBytes=*/8);
  ASSERT_TRUE(writer.ok());
  (*writer)->write("1234");
  (*writer)->write("5678");  // 10 bytes with the newlines: over the limit
  (*writer)->write("9");
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok()) << infos.error().message;
  ASSERT_EQ(infos->size(), 2u);
  EXPECT_EQ((*infos)[0].path(), "j/a-_output-0");
  EXPECT_EQ((*infos)[0].data(), "");
  EXPECT_EQ((*infos)[0].bytes(), 12);
  EXPECT_EQ(readFile(fs::path(dir()) / "a-_output-0"), "1234\n5678\n9\n");
  // Only the job's output is ever kept in memory.
  EXPECT_EQ((*infos)[1].path(), "j/a-next-0");
  EXPECT_EQ(readFile(fs::path(dir()) / "a-next-0"), "1234\n5678\n9\n");
}

TEST_F(PartitionWriterTest, AnOutputFileThatCannotBeCreatedWhenItOutgrowsMemoryFailsFinish) {
  auto writer = PartitionWriter::open(dir(), "j", {output("", v1::FORWARD, 1)}, 0, "a-", 4);
  ASSERT_TRUE(writer.ok());
  fs::remove_all(dir());
  temp_.write("attempt", "now a file");
  (*writer)->write("longer than four");
  auto infos = (*writer)->finish();
  ASSERT_FALSE(infos.ok());
  EXPECT_EQ(infos.error().code, ErrorCode::kIo);
  EXPECT_THAT(infos.error().message, HasSubstr("a-_output-0"));
}

TEST_F(PartitionWriterTest, EmptyPartitionsAreStillCreated) {
  auto writer = PartitionWriter::open(dir(), "r", {output("count", v1::HASH, 4)}, 0);
  ASSERT_TRUE(writer.ok());
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok());
  ASSERT_EQ(infos->size(), 4u);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ((*infos)[p].records(), 0);
    EXPECT_EQ((*infos)[p].bytes(), 0);
    EXPECT_TRUE(fs::exists(fs::path(dir()) / ("count-" + std::to_string(p))));
  }
}

TEST_F(PartitionWriterTest, HashWithoutPartitionCountWritesOneFile) {
  auto writer = PartitionWriter::open(dir(), "r", {output("count", v1::HASH, 0)}, 0);
  ASSERT_TRUE(writer.ok());
  (*writer)->write("a\t1");
  (*writer)->write("b\t2");
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok());
  ASSERT_EQ(infos->size(), 1u);
  EXPECT_EQ((*infos)[0].path(), "r/count-0");
  EXPECT_EQ((*infos)[0].records(), 2);
}

TEST_F(PartitionWriterTest, NoOutputsNoFiles) {
  auto writer = PartitionWriter::open(dir(), "r", {}, 0);
  ASSERT_TRUE(writer.ok());
  (*writer)->write("dropped");
  auto infos = (*writer)->finish();
  ASSERT_TRUE(infos.ok());
  EXPECT_TRUE(infos->empty());
  EXPECT_TRUE(fs::is_empty(dir()));
}

TEST_F(PartitionWriterTest, CreatesMissingFolders) {
  std::string nested = (temp_.path() / "a" / "b" / "c").string();
  auto writer = PartitionWriter::open(nested, "c", {output("x", v1::FORWARD, 1)}, 0);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  EXPECT_TRUE(fs::is_directory(nested));
}

TEST_F(PartitionWriterTest, FailsWhenTheFolderCannotBeCreated) {
  std::string file = temp_.write("plain-file", "not a folder");
  auto writer = PartitionWriter::open(file + "/attempt", "r", {output("x", v1::FORWARD, 1)}, 0);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.error().code, ErrorCode::kIo);
  EXPECT_THAT(writer.error().message, HasSubstr("plain-file/attempt"));
}

TEST_F(PartitionWriterTest, OverwritesAnEarlierAttemptsFiles) {
  {
    auto first = PartitionWriter::open(dir(), "r", {output("x", v1::FORWARD, 1)}, 0);
    ASSERT_TRUE(first.ok());
    (*first)->write("old record");
    ASSERT_TRUE((*first)->finish().ok());
  }
  auto second = PartitionWriter::open(dir(), "r", {output("x", v1::FORWARD, 1)}, 0);
  ASSERT_TRUE(second.ok());
  (*second)->write("new");
  ASSERT_TRUE((*second)->finish().ok());
  EXPECT_EQ(readFile(fs::path(dir()) / "x-0"), "new\n");
}

TEST_F(PartitionWriterTest, ClosesFilesWhenDroppedUnfinished) {
  {
    auto writer = PartitionWriter::open(dir(), "r", {output("x", v1::FORWARD, 1)}, 0);
    ASSERT_TRUE(writer.ok());
    (*writer)->write("buffered");
  }
  // The destructor closed (and so flushed) the file.
  EXPECT_EQ(readFile(fs::path(dir()) / "x-0"), "buffered\n");
}

}  // namespace
}  // namespace tailor::executor
