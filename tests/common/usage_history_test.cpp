#include "common/usage_history.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/common/temp_dir.hpp"

namespace tailor {
namespace {

using ::testing::HasSubstr;

v1::JobSpec specWithAutoStage() {
  v1::JobSpec spec;
  spec.set_name("wc");
  auto* automatic = spec.add_stages();
  automatic->set_name("count");
  automatic->set_auto_resources(true);
  automatic->mutable_resources()->set_cpus(1);
  automatic->mutable_resources()->set_mem(1024);
  auto* fixed = spec.add_stages();
  fixed->set_name("sort");
  fixed->mutable_resources()->set_cpus(2);
  fixed->mutable_resources()->set_mem(2048);
  return spec;
}

v1::JobReport reportOf(const std::string& id, double recommendedCpus, double recommendedMem,
                       double peak) {
  v1::JobReport report;
  report.mutable_job()->set_id(id);
  report.mutable_job()->set_name("wc");
  for (const char* name : {"count", "sort"}) {
    auto* stage = report.add_stages();
    stage->set_name(name);
    auto* usage = stage->mutable_usage();
    usage->mutable_recommended()->set_cpus(recommendedCpus);
    usage->mutable_recommended()->set_mem(recommendedMem);
    usage->set_max_cpus_used(recommendedCpus / 1.2);
    usage->set_max_peak_mem_mib(peak);
  }
  return report;
}

TEST(UsageHistoryTest, AutoStagesTakeTheFallbackWithoutHistory) {
  v1::JobSpec spec = specWithAutoStage();
  auto reasons = chooseAutoResources(spec, v1::UsageHistory());
  EXPECT_EQ(spec.stages(0).resources().mem(), 1024);
  EXPECT_THAT(reasons["count"], HasSubstr("no earlier run of job wc measured stage count"));
  EXPECT_EQ(reasons["sort"], "spec");
}

TEST(UsageHistoryTest, AutoStagesTakeTheHighestRecommendationOfTheRunsKept) {
  v1::UsageHistory history;
  recordUsage(history, reportOf("wc-1", 0.6, 250, 200));
  recordUsage(history, reportOf("wc-2", 0.4, 300.5, 240));
  v1::JobSpec spec = specWithAutoStage();
  auto reasons = chooseAutoResources(spec, history);
  EXPECT_DOUBLE_EQ(spec.stages(0).resources().cpus(), 0.6);
  EXPECT_EQ(spec.stages(0).resources().mem(), 301);
  EXPECT_THAT(reasons["count"], HasSubstr("the last 2 runs of job wc"));
  EXPECT_THAT(reasons["count"], HasSubstr("240 MiB used"));
  // A stage that is not auto keeps its profile whatever its history.
  EXPECT_EQ(spec.stages(1).resources().mem(), 2048);
}

TEST(UsageHistoryTest, KeepsTheLastRunsOnlyAndSkipsUnmeasuredStages) {
  v1::UsageHistory history;
  for (int run = 1; run <= kUsageHistoryRuns + 2; ++run) {
    recordUsage(history, reportOf("wc-" + std::to_string(run), 1, 100.0 * run, 80));
  }
  v1::JobReport unmeasured = reportOf("wc-x", 0, 0, 0);
  recordUsage(history, unmeasured);
  ASSERT_EQ(history.stages_size(), 2);
  EXPECT_EQ(history.stages(0).runs_size(), kUsageHistoryRuns);
  EXPECT_EQ(history.stages(0).job_ids(0), "wc-3");
  EXPECT_EQ(history.stages(0).runs(0).recommended().mem(), 300);
}

TEST(UsageHistoryTest, FilesRoundTripAndAMissingOneIsEmptyAndADamagedOneAnError) {
  test::TempDir dir;
  std::string path = usageHistoryPath(dir.path().string() + "/usage", "wc");
  auto missing = readUsageHistory(path, "wc");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->stages_size(), 0);
  v1::UsageHistory history;
  recordUsage(history, reportOf("wc-1", 0.5, 128, 100));
  ASSERT_TRUE(writeUsageHistory(path, history).ok());
  auto read = readUsageHistory(path, "wc");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->stages(0).runs(0).recommended().mem(), 128);
  std::ofstream(path) << "{not json";
  auto damaged = readUsageHistory(path, "wc");
  ASSERT_FALSE(damaged.ok());
  EXPECT_THAT(damaged.error().message, HasSubstr(path));
}

}  // namespace
}  // namespace tailor
