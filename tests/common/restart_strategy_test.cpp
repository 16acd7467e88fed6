#include "common/restart_strategy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace tailor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(RestartStrategyTest, NamesAreFlinksAndRoundTrip) {
  for (auto name : restartStrategyNames()) {
    auto type = parseRestartStrategyType(name);
    ASSERT_TRUE(type) << name;
    EXPECT_EQ(restartStrategyName(*type), name);
  }
  EXPECT_EQ(restartStrategyName(v1::NO_RESTART), "none");
  EXPECT_EQ(restartStrategyName(v1::EXPONENTIAL_DELAY), "exponential-delay");
  EXPECT_FALSE(parseRestartStrategyType("fixed_delay"));
  EXPECT_FALSE(parseRestartStrategyType("unspecified"));
  EXPECT_EQ(parseRestartTrigger("job-failed"), v1::JOB_FAILED);
  EXPECT_EQ(restartTriggerName(v1::JOBMANAGER_LOST), "jobmanager-lost");
  EXPECT_FALSE(parseRestartTrigger("lost"));
}

TEST(RestartStrategyTest, DefaultsAreFlinks) {
  auto fixed = defaultRestartStrategy(v1::FIXED_DELAY);
  EXPECT_EQ(fixed.attempts(), 1);
  EXPECT_EQ(fixed.delay_seconds(), 1);
  EXPECT_THAT(fixed.restart_on(), ElementsAre(v1::JOBMANAGER_LOST));
  auto rate = defaultRestartStrategy(v1::FAILURE_RATE);
  EXPECT_EQ(rate.max_failures_per_interval(), 1);
  EXPECT_EQ(rate.failure_rate_interval_seconds(), 60);
  EXPECT_EQ(rate.delay_seconds(), 1);
  auto exponential = defaultRestartStrategy(v1::EXPONENTIAL_DELAY);
  EXPECT_EQ(exponential.initial_backoff_seconds(), 1);
  EXPECT_EQ(exponential.max_backoff_seconds(), 60);
  EXPECT_EQ(exponential.backoff_multiplier(), 1.5);
  EXPECT_EQ(exponential.reset_backoff_threshold_seconds(), 3600);
  EXPECT_EQ(exponential.jitter_factor(), 0.1);
  EXPECT_EQ(exponential.attempts(), 0);
  EXPECT_THAT(defaultRestartStrategy(v1::NO_RESTART).restart_on(), IsEmpty());
}

TEST(RestartStrategyTest, OptionsOfEachType) {
  EXPECT_THAT(restartStrategyOptions(v1::NO_RESTART), IsEmpty());
  EXPECT_THAT(restartStrategyOptions(v1::FIXED_DELAY), ElementsAre("attempts", "delay", "restart_on"));
  EXPECT_THAT(restartStrategyOptions(v1::FAILURE_RATE),
              ElementsAre("max_failures_per_interval", "failure_rate_interval", "delay",
                          "restart_on"));
  EXPECT_EQ(restartStrategyOptions(v1::EXPONENTIAL_DELAY).size(), 7u);
  EXPECT_EQ(allRestartStrategyOptions().size(), 10u);
}

TEST(RestartStrategyTest, OptionTextIsReadOrRefusedWithTheExpectedForm) {
  auto strategy = defaultRestartStrategy(v1::EXPONENTIAL_DELAY);
  ASSERT_TRUE(setRestartOption(strategy, "initial_backoff", "250ms").ok());
  ASSERT_TRUE(setRestartOption(strategy, "max_backoff", "2m").ok());
  ASSERT_TRUE(setRestartOption(strategy, "reset_backoff_threshold", "never").ok());
  ASSERT_TRUE(setRestartOption(strategy, "attempts", "7").ok());
  ASSERT_TRUE(setRestartOption(strategy, "restart_on", "job-failed,jobmanager-lost").ok());
  EXPECT_EQ(strategy.initial_backoff_seconds(), 0.25);
  EXPECT_EQ(strategy.max_backoff_seconds(), 120);
  EXPECT_EQ(strategy.reset_backoff_threshold_seconds(), 0);
  EXPECT_EQ(strategy.attempts(), 7);
  EXPECT_THAT(strategy.restart_on(), ElementsAre(v1::JOB_FAILED, v1::JOBMANAGER_LOST));

  auto refused = [&](std::string_view option, std::string_view text) {
    Status set = setRestartOption(strategy, option, text);
    EXPECT_FALSE(set.ok()) << option << " " << text;
    return set.ok() ? std::string() : set.error().message;
  };
  EXPECT_EQ(refused("attempts", "-1"), "-1 is too small (expected an integer >= 1, or unlimited)");
  EXPECT_EQ(refused("attempts", "3000000000"),
            "3000000000 is too large (expected an integer >= 1, or unlimited and at most "
            "2147483647)");
  EXPECT_EQ(refused("attempts", "many"),
            "'many' is not an integer (expected an integer >= 1, or unlimited)");
  EXPECT_EQ(refused("delay", "-1s"),
            "'-1s' is not a duration (expected a duration >= 0 such as 10s, 500ms or 2m)");
  EXPECT_EQ(refused("delay", "366d"),
            "'366d' is not a duration (expected a duration >= 0 such as 10s, 500ms or 2m)");
  EXPECT_EQ(refused("delay", "9000h"),
            "'9000h' is too long (expected a duration >= 0 such as 10s, 500ms or 2m and at most "
            "8760h)");
  EXPECT_EQ(refused("delay", "99999999999999999h"),
            "'99999999999999999h' is not a duration (expected a duration >= 0 such as 10s, 500ms "
            "or 2m)");
  EXPECT_EQ(refused("max_backoff", "0s"),
            "'0s' is too short (expected a duration > 0 such as 10s, 500ms or 2m)");
  EXPECT_EQ(refused("backoff_multiplier", "0.5"),
            "0.5 is not greater than 1 (expected a number > 1, such as 1.5 or 2)");
  EXPECT_EQ(refused("backoff_multiplier", "inf"),
            "'inf' is not a number (expected a number > 1, such as 1.5 or 2)");
  EXPECT_EQ(refused("jitter_factor", "-0.1"),
            "-0.1 is out of range (expected a number from 0 to 1, such as 0.1)");
  EXPECT_EQ(refused("restart_on", "jobmanager-lost,"),
            "'' is not a failure to restart on (expected jobmanager-lost, job-failed or both)");
  EXPECT_EQ(refused("max_failures_per_interval", "0"),
            "0 is too small (expected an integer >= 1)");
}

TEST(RestartStrategyTest, TheBackoffsMustBeInOrderAndTriggersGivenOnce) {
  auto strategy = defaultRestartStrategy(v1::EXPONENTIAL_DELAY);
  EXPECT_FALSE(checkRestartStrategy(strategy));
  strategy.set_initial_backoff_seconds(120);
  auto problem = checkRestartStrategy(strategy);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->option, "initial_backoff");
  EXPECT_EQ(problem->message,
            "initial_backoff 2m is longer than max_backoff 1m (expected initial_backoff <= "
            "max_backoff)");
  auto fixed = defaultRestartStrategy(v1::FIXED_DELAY);
  fixed.add_restart_on(v1::JOBMANAGER_LOST);
  problem = checkRestartStrategy(fixed);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->option, "restart_on");
}

TEST(RestartStrategyTest, DescriptionsNameEveryOption) {
  EXPECT_EQ(describeRestartStrategy(defaultRestartStrategy(v1::NO_RESTART)), "none");
  auto fixed = defaultRestartStrategy(v1::FIXED_DELAY);
  fixed.add_restart_on(v1::JOB_FAILED);
  EXPECT_EQ(describeRestartStrategy(fixed),
            "fixed-delay (attempts 1, delay 1s, restart_on jobmanager-lost, job-failed)");
  EXPECT_EQ(describeRestartStrategy(defaultRestartStrategy(v1::FAILURE_RATE)),
            "failure-rate (max_failures_per_interval 1, failure_rate_interval 1m, delay 1s, "
            "restart_on jobmanager-lost)");
  EXPECT_EQ(describeRestartStrategy(defaultRestartStrategy(v1::EXPONENTIAL_DELAY)),
            "exponential-delay (initial_backoff 1s, max_backoff 1m, backoff_multiplier 1.5, "
            "reset_backoff_threshold 1h, jitter_factor 0.1, attempts unlimited, restart_on "
            "jobmanager-lost)");
  EXPECT_EQ(describeRestartStrategy(legacyRestartStrategy(3, Duration(1000))),
            "exponential-delay (initial_backoff 1s, max_backoff 1m, backoff_multiplier 2, "
            "reset_backoff_threshold never, jitter_factor 0, attempts 2, restart_on "
            "jobmanager-lost)");
}

TEST(RestartStrategyTest, TheOlderFlagsStandForExponentialDelay) {
  auto legacy = legacyRestartStrategy(5, Duration(90000));
  EXPECT_EQ(legacy.type(), v1::EXPONENTIAL_DELAY);
  EXPECT_EQ(legacy.attempts(), 4);
  EXPECT_EQ(legacy.initial_backoff_seconds(), 90);
  EXPECT_EQ(legacy.max_backoff_seconds(), 90);  // a longer first wait is kept
  EXPECT_EQ(legacy.backoff_multiplier(), 2);
  EXPECT_EQ(legacy.jitter_factor(), 0);
  EXPECT_EQ(legacy.reset_backoff_threshold_seconds(), 0);
  EXPECT_EQ(legacyRestartStrategy(1, Duration(1000)).type(), v1::NO_RESTART);
}

TEST(RestartStrategyTest, DurationsReadShortAndExact) {
  EXPECT_EQ(formatDuration(Duration(0)), "0s");
  EXPECT_EQ(formatDuration(Duration(250)), "250ms");
  EXPECT_EQ(formatDuration(Duration(1500)), "1.5s");
  EXPECT_EQ(formatDuration(Duration(10000)), "10s");
  EXPECT_EQ(formatDuration(Duration(90000)), "90s");
  EXPECT_EQ(formatDuration(Duration(300000)), "5m");
  EXPECT_EQ(formatDuration(Duration(5400000)), "90m");
  EXPECT_EQ(formatDuration(Duration(7200000)), "2h");
  EXPECT_EQ(secondsToDuration(0.25), Duration(250));
  EXPECT_EQ(durationToSeconds(Duration(1500)), 1.5);
}

}  // namespace
}  // namespace tailor
