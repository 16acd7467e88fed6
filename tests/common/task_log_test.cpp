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
  ASSERT_TRUE((*started)->add("job-1", "sort", 0, 1).ok());
  auto found = findTaskLog(folder(), "job-1", "sort", 0, 1);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->path, folder() + "/job-1/sort-0-1.stderr");
  EXPECT_EQ(found->attempt, 1);
  EXPECT_FALSE(std::filesystem::exists(found->path)) << "it wrote nothing";
  EXPECT_TRUE(std::filesystem::is_directory(folder() + "/job-1")) << "ready for its first byte";
}

TEST_F(TaskLogTest, TheLatestAttemptComesFromEveryTaskManagersRecordAndTheFiles) {
  auto first = StartedAttempts::open(folder(), "tm-1");
  auto second = StartedAttempts::open(folder(), "tm-2");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)->add("job-1", "map", 3, 1).ok());
  ASSERT_TRUE((*second)->add("job-1", "map", 3, 2).ok());
  ASSERT_TRUE((*first)->add("job-1", "map", 4, 9).ok());
  EXPECT_EQ(findTaskLog(folder(), "job-1", "map", 3, 0)->attempt, 2);
  // A log file alone (written before attempts were recorded) counts too.
  temp_.write("logs/job-1/map-3-5.stderr", "boom\n");
  EXPECT_EQ(findTaskLog(folder(), "job-1", "map", 3, 0)->attempt, 5);
  EXPECT_EQ(findTaskLog(folder(), "job-1", "map", 3, 5)->path,
            folder() + "/job-1/map-3-5.stderr");
}

TEST_F(TaskLogTest, UnknownAttemptsAndTasksAreNotFound) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE((*started)->add("job-1", "map", 1, 1).ok());
  auto missing = findTaskLog(folder(), "job-1", "map", 1, 2);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("no attempt 2"));
  EXPECT_THAT(findTaskLog(folder(), "job-1", "map", 2, 0).error().message,
              HasSubstr("not run yet"));
  EXPECT_FALSE(findTaskLog(folder(), "job-2", "map", 1, 0).ok());
  EXPECT_FALSE(findTaskLog((temp_.path() / "none").string(), "job-1", "map", 1, 0).ok());
}

TEST_F(TaskLogTest, StageNamesWithDashesDoNotMatchOtherTasks) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE((*started)->add("job-1", "a-1", 2, 1).ok());  // "a-1-2-1"
  temp_.write("logs/job-1/a-1-2-3.stderr", "x");
  EXPECT_FALSE(findTaskLog(folder(), "job-1", "a", 1, 0).ok());
  EXPECT_EQ(findTaskLog(folder(), "job-1", "a-1", 2, 0)->attempt, 3);
}

TEST_F(TaskLogTest, JobsWithTheSameAttemptsKeepTheirLogsApart) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE((*started)->add("job-a", "map", 0, 1).ok());
  ASSERT_TRUE((*started)->add("job-b", "map", 0, 1).ok());
  ASSERT_TRUE((*started)->add("job-b", "map", 0, 2).ok());
  EXPECT_EQ(findTaskLog(folder(), "job-a", "map", 0, 0)->attempt, 1);
  EXPECT_EQ(findTaskLog(folder(), "job-b", "map", 0, 0)->attempt, 2);
  EXPECT_EQ(findTaskLog(folder(), "job-a", "map", 0, 1)->path, folder() + "/job-a/map-0-1.stderr");
  EXPECT_EQ(findTaskLog(folder(), "job-b", "map", 0, 1)->path, folder() + "/job-b/map-0-1.stderr");
  EXPECT_FALSE(findTaskLog(folder(), "job-a", "map", 0, 2).ok());
  // Without a job id there is no telling which job is meant.
  auto unnamed = findTaskLog(folder(), "map", 0, 1);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(unnamed.error().message, HasSubstr("2 jobs"));
}

TEST_F(TaskLogTest, WithoutAJobIdTheFoldersOnlyJobIsRead) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE((*started)->add("job-1", "map", 0, 3).ok());
  auto found = findTaskLog(folder(), "map", 0, 0);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->path, folder() + "/job-1/map-0-3.stderr");
  // Logs kept before jobs had folders are read as before.
  TempDir old;
  old.write("map-0-1.stderr", "x");
  EXPECT_EQ(findTaskLog(old.str(), "map", 0, 0)->path, old.str() + "/map-0-1.stderr");
}

TEST_F(TaskLogTest, JobIdsNeverNameAFolderOutsideTheLogFolder) {
  EXPECT_EQ(taskLogFolder("/logs", "../up"), "/logs/-.-up");
  EXPECT_EQ(taskLogFolder("/logs", ".."), "/logs/-.");
  EXPECT_EQ(taskLogFolder("/logs", ""), "/logs");
}

TEST_F(TaskLogTest, AClosedJobIsOpenedAgainByItsNextAttempt) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE((*started)->add("job-1", "map", 0, 1).ok());
  (*started)->closeJob("job-1");
  (*started)->closeJob("job-unknown");
  ASSERT_TRUE((*started)->add("job-1", "map", 0, 2).ok());
  EXPECT_EQ(test::readFile(folder() + "/job-1/.attempts-tm-1"), "map-0-1\nmap-0-2\n");
}

TEST_F(TaskLogTest, AttemptsRecordedFromManyThreadsStayWholeLines) {
  auto started = StartedAttempts::open(folder(), "tm-1");
  ASSERT_TRUE(started.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE((*started)->add("job-1", "s", t * 1000 + i, 1).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::ifstream in(folder() + "/job-1/.attempts-tm-1");
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
