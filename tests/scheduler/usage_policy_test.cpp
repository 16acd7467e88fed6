#include "scheduler/usage_policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/builders.hpp"

namespace tailor::scheduler {
namespace {

using test::res;
using ::testing::HasSubstr;

// --- memoryRetryProfile ---

TEST(MemoryRetryProfileTest, TwiceTheMemOrHalfAgainThePeakWhicheverIsLarger) {
  EXPECT_EQ(memoryRetryProfile(res(1, 256), 300, 4096), res(1, 512));
  EXPECT_EQ(memoryRetryProfile(res(1, 256), 400, 4096), res(1, 600));
  EXPECT_EQ(memoryRetryProfile(res(0.5, 100, 10, 1), 100.2, 4096), res(0.5, 200, 10, 1));
}

TEST(MemoryRetryProfileTest, CappedByTheLargestSlot) {
  EXPECT_EQ(memoryRetryProfile(res(1, 256), 300, 384), res(1, 384));
  EXPECT_EQ(memoryRetryProfile(res(1, 256), 300, 256), std::nullopt);
  EXPECT_EQ(memoryRetryProfile(res(1, 256), 300, 100), std::nullopt);
}

// --- summarizeStageUsage ---

v1::AttemptReport attempt(const std::string& stage, double ran, double cpu, double mem) {
  v1::AttemptReport report;
  report.set_stage(stage);
  report.set_started_at(100);
  report.set_finished_at(100 + ran);
  report.mutable_usage()->set_cpu_seconds(cpu);
  report.mutable_usage()->set_peak_mem_mib(mem);
  return report;
}

TEST(SummarizeStageUsageTest, SumsCpuAndTakesTheLargestOfOneAttempt) {
  std::vector<v1::AttemptReport> attempts = {attempt("a", 4, 1, 40), attempt("b", 1, 9, 900),
                                             attempt("a", 2, 1.24, 100)};
  auto usage = summarizeStageUsage("a", res(1, 512, 5), attempts);
  EXPECT_DOUBLE_EQ(usage.requested().mem(), 512);
  EXPECT_DOUBLE_EQ(usage.cpu_seconds(), 2.24);
  EXPECT_DOUBLE_EQ(usage.max_cpus_used(), 0.62);
  EXPECT_DOUBLE_EQ(usage.max_peak_mem_mib(), 100);
  // 0.62 x 1.2 = 0.744 -> 0.8; 100 x 1.25 = 125 -> 128; disk as requested.
  EXPECT_DOUBLE_EQ(usage.recommended().cpus(), 0.8);
  EXPECT_DOUBLE_EQ(usage.recommended().mem(), 128);
  EXPECT_DOUBLE_EQ(usage.recommended().disk(), 5);
  EXPECT_THAT(usage.recommendation(), HasSubstr("from 2 measured attempts"));
}

TEST(SummarizeStageUsageTest, AtLeastATenthOfACpuAnd32MiB) {
  auto usage = summarizeStageUsage("a", res(1, 512), {attempt("a", 10, 0.01, 3)});
  EXPECT_DOUBLE_EQ(usage.recommended().cpus(), 0.1);
  EXPECT_DOUBLE_EQ(usage.recommended().mem(), 32);
}

TEST(SummarizeStageUsageTest, ExactTenthsAreNotRoundedUpFurther) {
  // 0.25 x 1.2 = 0.3 (0.30000000000000004 in binary) stays 0.3.
  auto usage = summarizeStageUsage("a", res(1, 512), {attempt("a", 4, 1, 128)});
  EXPECT_DOUBLE_EQ(usage.recommended().cpus(), 0.3);
  EXPECT_DOUBLE_EQ(usage.recommended().mem(), 160);
}

TEST(SummarizeStageUsageTest, NoRecommendationWithoutAMeasuredAttempt) {
  v1::AttemptReport lost;
  lost.set_stage("a");
  auto usage = summarizeStageUsage("a", res(1, 512), {lost});
  EXPECT_FALSE(usage.has_recommended());
  EXPECT_THAT(usage.recommendation(), HasSubstr("no attempt was measured"));
}

}  // namespace
}  // namespace tailor::scheduler
