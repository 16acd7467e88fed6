#include "common/task_log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <vector>

#include "tests/common/temp_dir.hpp"

namespace tailor {
namespace {

using ::testing::HasSubstr;
using test::TempDir;

class TaskLogTest : public ::testing::Test {
 protected:
  std::string folder() const { return (temp_.path() / "logs").string(); }

  TempDir temp_;
};

TEST_F(TaskLogTest, AnAttemptThatStartedHasALogPathEvenWithoutAFile) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_TRUE((*started)->add("sort", 0, 1).ok());
  auto found = findTaskLog(folder(), "sort", 0, 1);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->path, folder() + "/sort-0-1.stderr");
  EXPECT_EQ(found->attempt, 1);
  EXPECT_FALSE(std::filesystem::exists(found->path)) << "it wrote nothing";
}

TEST_F(TaskLogTest, TheLatestAttemptComesFromEveryTaskManagersRecordAndTheFiles) {
  auto first = StartedAttempts::open(folder(), "tm-1");
  auto second = StartedAttempts::open(folder(), "tm-2");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)->add("map", 3, 1).ok());
  ASSERT_TRUE((*second)->add("map", 3, 2).ok());
  ASSERT_TRUE((*first)->add("map", 4, 9).ok());
  EXPECT_EQ(findTaskLog(folder(), "map", 3, 0)->attempt, 2);
  // A log file alone (written before attempts were recorded) counts too.
  temp_.write("logs/map-3-5.stderr", "boom\n");
  EXPECT_EQ(findTaskLog(folder(), "map", 3, 0)->attempt, 5);
  EXPECT_EQ(findTaskLog(folder(), "map", 3, 5)->path, folder() + "/map-3-5.stderr");
}

TEST_F(TaskLogTest, UnknownAttemptsAndTasksAreNotFound) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE((*started)->add("map", 1, 1).ok());
  auto missing = findTaskLog(folder(), "map", 1, 2);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("no attempt 2"));
  EXPECT_THAT(findTaskLog(folder(), "map", 2, 0).error().message, HasSubstr("not run yet"));
  EXPECT_FALSE(findTaskLog((temp_.path() / "none").string(), "map", 1, 0).ok());
}

TEST_F(TaskLogTest, StageNamesWithDashesDoNotMatchOtherTasks) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE((*started)->add("a-1", 2, 1).ok());  // "a-1-2-1"
  temp_.write("logs/a-1-2-3.stderr", "x");
  EXPECT_FALSE(findTaskLog(folder(), "a", 1, 0).ok());
  EXPECT_EQ(findTaskLog(folder(), "a-1", 2, 0)->attempt, 3);
}

TEST_F(TaskLogTest, AttemptsRecordedFromManyThreadsStayWholeLines) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) ASSERT_TRUE((*started)->add("s", t * 1000 + i, 1).ok());
    });
  }
  for (auto& thread : threads) thread.join();
  std::ifstream in(folder() + "/.attempts-tm-1");
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    ASSERT_THAT(line, ::testing::MatchesRegex("s-[0-9]+-1")) << "line " << lines;
  }
  EXPECT_EQ(lines, 1600);
}

TEST_F(TaskLogTest, AFolderThatCannotBeCreatedIsAnError) {
  std::string file = temp_.write("plain", "x");
  auto started = StartedAttempts::open(file + "/logs", "tm-1");
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.error().message, HasSubstr("plain/logs"));
}

}  // namespace
}  // namespace tailor
