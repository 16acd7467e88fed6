#include "dispatcher/restart_flags.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/restart_strategy.hpp"
#include "dispatcher/settings.hpp"

namespace tailor::dispatcher {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const Environment kStateStore = {{"TAILOR_STATE_STORE", "local:s"}};

// The Dispatcher's default restart strategy for `args`, through its settings
// (as tailor-dispatcher reads them).
v1::RestartStrategy strategyOf(const std::vector<std::string>& args,
                               const Environment& env = kStateStore) {
  auto settings = loadDispatcherSettings(args, env);
  EXPECT_TRUE(settings.ok()) << settings.error().message;
  return settings.ok() ? settings->restartStrategy : v1::RestartStrategy();
}

std::string errorOf(const std::vector<std::string>& args) {
  auto settings = loadDispatcherSettings(args, kStateStore);
  EXPECT_FALSE(settings.ok());
  return settings.ok() ? std::string() : settings.error().message;
}

TEST(RestartFlagsTest, WithoutFlagsTheDefaultIsTodaysThreeAttempts) {
  EXPECT_TRUE(MessageDifferencer::Equals(strategyOf({}), legacyRestartStrategy(3, Duration(1000))));
}

TEST(RestartFlagsTest, TheOlderFlagsShapeTheDefault) {
  EXPECT_TRUE(MessageDifferencer::Equals(
      strategyOf({"--jobmanager-max-attempts", "5", "--jobmanager-relaunch-backoff", "200ms"}),
      legacyRestartStrategy(5, Duration(200))));
  Environment env = kStateStore;
  env["TAILOR_JOBMANAGER_MAX_ATTEMPTS"] = "1";
  EXPECT_EQ(strategyOf({}, env).type(), v1::NO_RESTART);
}

TEST(RestartFlagsTest, AStrategyTakesItsOptionsAndFlinksDefaultsForTheRest) {
  auto rate = strategyOf({"--restart-strategy", "failure-rate",
                          "--restart-max-failures-per-interval", "3",
                          "--restart-failure-rate-interval", "5m", "--restart-on",
                          "jobmanager-lost,job-failed"});
  EXPECT_EQ(rate.type(), v1::FAILURE_RATE);
  EXPECT_EQ(rate.max_failures_per_interval(), 3);
  EXPECT_EQ(rate.failure_rate_interval_seconds(), 300);
  EXPECT_EQ(rate.delay_seconds(), 1);
  EXPECT_THAT(rate.restart_on(), ElementsAre(v1::JOBMANAGER_LOST, v1::JOB_FAILED));

  auto exponential = strategyOf({"--restart-strategy", "exponential-delay",
                                 "--restart-initial-backoff", "2s", "--restart-max-backoff",
                                 "5m", "--restart-backoff-multiplier", "3",
                                 "--restart-reset-backoff-threshold", "never",
                                 "--restart-jitter-factor", "0.25", "--restart-attempts", "6"});
  EXPECT_EQ(exponential.initial_backoff_seconds(), 2);
  EXPECT_EQ(exponential.max_backoff_seconds(), 300);
  EXPECT_EQ(exponential.backoff_multiplier(), 3);
  EXPECT_EQ(exponential.reset_backoff_threshold_seconds(), 0);
  EXPECT_EQ(exponential.jitter_factor(), 0.25);
  EXPECT_EQ(exponential.attempts(), 6);

  EXPECT_TRUE(MessageDifferencer::Equals(strategyOf({"--restart-strategy", "none"}),
                                         defaultRestartStrategy(v1::NO_RESTART)));
}

TEST(RestartFlagsTest, TheEnvironmentSetsThemTooAndTheOlderFlagsThenDoNotApply) {
  // As in the Marathon app, which always sets TAILOR_JOBMANAGER_MAX_ATTEMPTS.
  Environment env = kStateStore;
  env["TAILOR_JOBMANAGER_MAX_ATTEMPTS"] = "3";
  env["TAILOR_RESTART_STRATEGY"] = "fixed-delay";
  env["TAILOR_RESTART_ATTEMPTS"] = "4";
  env["TAILOR_RESTART_DELAY"] = "30s";
  auto fixed = strategyOf({}, env);
  EXPECT_EQ(fixed.type(), v1::FIXED_DELAY);
  EXPECT_EQ(fixed.attempts(), 4);
  EXPECT_EQ(fixed.delay_seconds(), 30);
  // The command line wins.
  EXPECT_EQ(strategyOf({"--restart-attempts", "2"}, env).attempts(), 2);
}

TEST(RestartFlagsTest, ErrorsNameTheFlagAndTheExpectedForm) {
  EXPECT_EQ(errorOf({"--restart-delay", "5s"}),
            "--restart-delay needs --restart-strategy (expected --restart-strategy with a type it "
            "applies to, or no --restart-* flags)");
  EXPECT_EQ(errorOf({"--restart-strategy", "fixed"}),
            "--restart-strategy: 'fixed' is not a restart strategy (expected none, fixed-delay, "
            "failure-rate, exponential-delay)");
  EXPECT_EQ(errorOf({"--restart-strategy", "fixed-delay", "--restart-jitter-factor", "0.1"}),
            "--restart-jitter-factor does not apply to --restart-strategy fixed-delay (expected "
            "only --restart-attempts, --restart-delay, --restart-on)");
  EXPECT_EQ(errorOf({"--restart-strategy", "none", "--restart-on", "job-failed"}),
            "--restart-on does not apply to --restart-strategy none (expected no other "
            "--restart-* flag)");
  EXPECT_EQ(errorOf({"--restart-strategy", "exponential-delay", "--restart-initial-backoff",
                     "5m"}),
            "--restart-initial-backoff: initial_backoff 5m is longer than max_backoff 1m "
            "(expected initial_backoff <= max_backoff)");
  EXPECT_EQ(errorOf({"--restart-strategy", "fixed-delay", "--restart-attempts", "0"}),
            "--restart-attempts: 0 is too small (expected an integer >= 1, or unlimited)");
  EXPECT_EQ(errorOf({"--restart-strategy", "fixed-delay", "--restart-on", "always"}),
            "--restart-on: 'always' is not a failure to restart on (expected jobmanager-lost, "
            "job-failed or both)");
  EXPECT_EQ(errorOf({"--restart-strategy", "fixed-delay", "--restart-on",
                     "job-failed,job-failed"}),
            "--restart-on: job-failed is given twice (expected each of jobmanager-lost and "
            "job-failed at most once)");
  EXPECT_EQ(errorOf({"--jobmanager-max-attempts", "0"}),
            "--jobmanager-max-attempts: expected a number >= 1");
  EXPECT_THAT(errorOf({"--jobmanager-relaunch-backoff", "soon"}),
              HasSubstr("--jobmanager-relaunch-backoff: 'soon' is not a duration"));
}

TEST(RestartFlagsTest, HelpListsThem) {
  auto settings = loadDispatcherSettings({"--help"}, {});
  ASSERT_TRUE(settings.ok());
  for (const char* flag : {"--restart-strategy", "--restart-attempts", "--restart-delay",
                           "--restart-max-failures-per-interval", "--restart-failure-rate-interval",
                           "--restart-initial-backoff", "--restart-max-backoff",
                           "--restart-backoff-multiplier", "--restart-reset-backoff-threshold",
                           "--restart-jitter-factor", "--restart-on", "--jobmanager-max-attempts",
                           "--jobmanager-relaunch-backoff"}) {
    EXPECT_THAT(settings->helpText, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace tailor::dispatcher
