#include "dispatcher/restart_decision.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/restart_strategy.hpp"

namespace tailor::dispatcher {
namespace {

constexpr double kStart = 1'700'000'000.0;  // wall seconds of the first launch

// An attempt launched `started` seconds after kStart that failed `ran` seconds later.
FailedRun failedRun(double started, double ran) {
  return FailedRun{kStart + started, kStart + started + ran};
}

// A jitter source that must not be used.
double noJitter() {
  ADD_FAILURE() << "the jitter was drawn";
  return 0;
}

v1::RestartStrategy fixedDelay(int attempts, double delaySeconds) {
  v1::RestartStrategy strategy = defaultRestartStrategy(v1::FIXED_DELAY);
  strategy.set_attempts(attempts);
  strategy.set_delay_seconds(delaySeconds);
  return strategy;
}

v1::RestartStrategy failureRate(int maxFailures, double intervalSeconds, double delaySeconds) {
  v1::RestartStrategy strategy = defaultRestartStrategy(v1::FAILURE_RATE);
  strategy.set_max_failures_per_interval(maxFailures);
  strategy.set_failure_rate_interval_seconds(intervalSeconds);
  strategy.set_delay_seconds(delaySeconds);
  return strategy;
}

// 1 s doubling up to 10 s, reset by a run of a minute, no jitter, unlimited.
v1::RestartStrategy exponentialDelay() {
  v1::RestartStrategy strategy = defaultRestartStrategy(v1::EXPONENTIAL_DELAY);
  strategy.set_initial_backoff_seconds(1);
  strategy.set_max_backoff_seconds(10);
  strategy.set_backoff_multiplier(2);
  strategy.set_reset_backoff_threshold_seconds(60);
  strategy.set_jitter_factor(0);
  strategy.set_attempts(0);
  return strategy;
}

// Decides after the last of `failures`, a JobManager loss, at its end.
RestartDecision decide(const v1::RestartStrategy& strategy, const std::vector<FailedRun>& failures,
                       const JitterSample& jitter = noJitter) {
  return decideRestart(strategy, v1::JOBMANAGER_LOST, failures, failures.back().endedAt, jitter);
}

// The delays in ms decided after each failure of `failures` in turn, -1 for a give-up.
std::vector<long> delays(const v1::RestartStrategy& strategy,
                         const std::vector<FailedRun>& failures,
                         const JitterSample& jitter = noJitter) {
  std::vector<long> out;
  for (size_t i = 1; i <= failures.size(); ++i) {
    std::vector<FailedRun> sofar(failures.begin(), failures.begin() + static_cast<long>(i));
    auto decision = decide(strategy, sofar, jitter);
    out.push_back(decision.restart ? static_cast<long>(decision.delay.count()) : -1);
  }
  return out;
}

// `n` attempts, each failing after `ran` seconds and relaunched `gap` seconds later.
std::vector<FailedRun> shortRuns(int n, double ran = 5, double gap = 1) {
  std::vector<FailedRun> failures;
  double at = 0;
  for (int i = 0; i < n; ++i) {
    failures.push_back(failedRun(at, ran));
    at += ran + gap;
  }
  return failures;
}

// --- none and restart_on ---

TEST(RestartDecisionTest, NoneNeverRestarts) {
  auto decision = decide(defaultRestartStrategy(v1::NO_RESTART), {failedRun(0, 5)});
  EXPECT_FALSE(decision.restart);
  EXPECT_EQ(decision.reason, "none: the job is never restarted");
}

TEST(RestartDecisionTest, AFailureNotInRestartOnIsNotRestarted) {
  v1::RestartStrategy strategy = fixedDelay(3, 1);  // restart_on: [jobmanager-lost]
  std::vector<FailedRun> one = {failedRun(0, 5)};
  auto failed = decideRestart(strategy, v1::JOB_FAILED, one, kStart + 5, noJitter);
  EXPECT_FALSE(failed.restart);
  EXPECT_EQ(failed.reason, "fixed-delay: restart_on does not include job-failed");

  strategy.clear_restart_on();
  strategy.add_restart_on(v1::JOB_FAILED);
  auto lost = decide(strategy, one);
  EXPECT_FALSE(lost.restart);
  EXPECT_EQ(lost.reason, "fixed-delay: restart_on does not include jobmanager-lost");
  auto again = decideRestart(strategy, v1::JOB_FAILED, one, kStart + 5, noJitter);
  EXPECT_TRUE(again.restart);
  EXPECT_EQ(again.delay, Duration(1000));
}

// --- fixed-delay ---

TEST(RestartDecisionTest, FixedDelayRestartsAttemptsTimesInTheJobsLife) {
  // However far apart the failures are: fixed-delay never forgets one.
  std::vector<FailedRun> failures = {failedRun(0, 5), failedRun(10, 86400), failedRun(90000, 5)};
  EXPECT_EQ(delays(fixedDelay(2, 10), failures), (std::vector<long>{10000, 10000, -1}));
  EXPECT_EQ(decide(fixedDelay(2, 10), failures).reason,
            "fixed-delay: 3 failures, more than attempts 2");
  EXPECT_EQ(delays(fixedDelay(1, 0.25), shortRuns(2)), (std::vector<long>{250, -1}));
}

TEST(RestartDecisionTest, FixedDelayWithUnlimitedAttemptsAlwaysRestarts) {
  auto decision = decide(fixedDelay(0, 3), shortRuns(100));
  EXPECT_TRUE(decision.restart);
  EXPECT_EQ(decision.delay, Duration(3000));
}

// --- failure-rate ---

TEST(RestartDecisionTest, FailureRateGivesUpOnMoreFailuresThanAllowedWithinTheInterval) {
  // At most 3 failures within 5 minutes; failures at 0 s, 10 s, 20 s, 30 s.
  v1::RestartStrategy strategy = failureRate(3, 300, 2);
  std::vector<FailedRun> failures = {failedRun(0, 0), failedRun(10, 0), failedRun(20, 0),
                                     failedRun(30, 0)};
  EXPECT_EQ(delays(strategy, failures), (std::vector<long>{2000, 2000, 2000, -1}));
  EXPECT_EQ(decide(strategy, failures).reason,
            "failure-rate: 4 failures within 5m, more than max_failures_per_interval 3");
}

TEST(RestartDecisionTest, FailureRateCountsTheIntervalEndingNowWithBothEnds) {
  v1::RestartStrategy strategy = failureRate(3, 300, 2);
  // The fourth failure exactly 5 minutes after the first: all four are within.
  std::vector<FailedRun> edge = {failedRun(0, 0), failedRun(10, 0), failedRun(20, 0),
                                 failedRun(300, 0)};
  EXPECT_FALSE(decide(strategy, edge).restart);
  // A millisecond later the first is out.
  std::vector<FailedRun> later = {failedRun(0, 0), failedRun(10, 0), failedRun(20, 0),
                                  failedRun(300.001, 0)};
  auto decision = decide(strategy, later);
  EXPECT_TRUE(decision.restart);
  EXPECT_EQ(decision.delay, Duration(2000));
  // Decided later than the failure (a restarted Dispatcher): the interval ends then.
  EXPECT_TRUE(decideRestart(strategy, v1::JOBMANAGER_LOST, edge, kStart + 315, noJitter).restart);
}

TEST(RestartDecisionTest, FailureRateWithOneFailurePerIntervalAllowsOneAtATime) {
  // Flink's defaults: 1 failure per minute.
  v1::RestartStrategy strategy = defaultRestartStrategy(v1::FAILURE_RATE);
  EXPECT_EQ(delays(strategy, {failedRun(0, 10), failedRun(61, 10), failedRun(100, 5)}),
            (std::vector<long>{1000, 1000, -1}));
}

// --- exponential-delay ---

TEST(RestartDecisionTest, ExponentialDelayMultipliesUpToTheMaximum) {
  EXPECT_EQ(delays(exponentialDelay(), shortRuns(7)),
            (std::vector<long>{1000, 2000, 4000, 8000, 10000, 10000, 10000}));
}

TEST(RestartDecisionTest, ExponentialDelayResetsAfterALongEnoughRun) {
  // Three quick failures, then an attempt that ran a minute, then quick ones again.
  std::vector<FailedRun> failures = shortRuns(3);
  failures.push_back(failedRun(100, 60));
  failures.push_back(failedRun(170, 5));
  failures.push_back(failedRun(180, 59.999));  // just short of the threshold
  EXPECT_EQ(delays(exponentialDelay(), failures),
            (std::vector<long>{1000, 2000, 4000, 1000, 2000, 4000}));
}

TEST(RestartDecisionTest, ExponentialDelayNeverResetsWithoutAThreshold) {
  v1::RestartStrategy strategy = exponentialDelay();
  strategy.set_reset_backoff_threshold_seconds(0);
  std::vector<FailedRun> failures = shortRuns(2);
  failures.push_back(failedRun(100, 86400));
  EXPECT_EQ(delays(strategy, failures), (std::vector<long>{1000, 2000, 4000}));
}

TEST(RestartDecisionTest, ExponentialDelayGivesUpAfterAttemptsSinceTheLastReset) {
  v1::RestartStrategy strategy = exponentialDelay();
  strategy.set_attempts(3);
  EXPECT_EQ(delays(strategy, shortRuns(4)), (std::vector<long>{1000, 2000, 4000, -1}));
  EXPECT_EQ(decide(strategy, shortRuns(4)).reason,
            "exponential-delay: 4 failures since the back-off was last reset (by a run of at "
            "least 1m), more than attempts 3");
  // A long run in between starts the count again.
  std::vector<FailedRun> failures = shortRuns(3);
  failures.push_back(failedRun(100, 120));
  failures.push_back(failedRun(230, 5));
  failures.push_back(failedRun(240, 5));
  failures.push_back(failedRun(250, 5));
  EXPECT_EQ(delays(strategy, failures),
            (std::vector<long>{1000, 2000, 4000, 1000, 2000, 4000, -1}));
}

TEST(RestartDecisionTest, ExponentialDelayJitterVariesTheDelayWithinItsBounds) {
  v1::RestartStrategy strategy = exponentialDelay();
  strategy.set_jitter_factor(0.1);
  std::vector<double> samples = {1.0, -1.0, 0.5, -1.0, 1.0};
  size_t next = 0;
  JitterSample jitter = [&] { return samples.at(next++); };
  // 1 s + 10%; 2 s - 10%; 4 s + 5%; 8 s - 10%; the maximum, which no jitter exceeds.
  EXPECT_EQ(delays(strategy, shortRuns(5), jitter),
            (std::vector<long>{1100, 1800, 4200, 7200, 10000}));
  // Never below the initial back-off.
  next = 0;
  samples = {-1.0};
  EXPECT_EQ(decide(strategy, shortRuns(1), jitter).delay, Duration(1000));
}

TEST(RestartDecisionTest, ExponentialDelayStaysFiniteWithAHugeMultiplier) {
  v1::RestartStrategy strategy = exponentialDelay();
  strategy.set_backoff_multiplier(1e300);
  strategy.set_jitter_factor(0.5);
  auto decision = decide(strategy, shortRuns(6), [] { return -1.0; });
  EXPECT_TRUE(decision.restart);
  EXPECT_EQ(decision.delay, Duration(10000));
}

TEST(RestartDecisionTest, TheOlderFlagsStrategyIsTodaysBehaviour) {
  // --jobmanager-max-attempts 3 --jobmanager-relaunch-backoff 1s: 1 s, 2 s, then the job fails.
  v1::RestartStrategy strategy = legacyRestartStrategy(3, Duration(1000));
  EXPECT_EQ(delays(strategy, shortRuns(3)), (std::vector<long>{1000, 2000, -1}));
  EXPECT_EQ(decide(strategy, shortRuns(3)).reason,
            "exponential-delay: 3 failures, more than attempts 2");
  // However long the attempts ran, and capped at 60 s.
  std::vector<FailedRun> failures = {failedRun(0, 7200), failedRun(8000, 7200)};
  EXPECT_EQ(delays(legacyRestartStrategy(9, Duration(20000)), shortRuns(4)),
            (std::vector<long>{20000, 40000, 60000, 60000}));
  EXPECT_EQ(delays(strategy, failures), (std::vector<long>{1000, 2000}));
  // One attempt: never restarted.
  EXPECT_EQ(decide(legacyRestartStrategy(1, Duration(1000)), shortRuns(1)).reason,
            "none: the job is never restarted");
}

}  // namespace
}  // namespace tailor::dispatcher
