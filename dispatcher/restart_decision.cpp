#include "dispatcher/restart_decision.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/restart_strategy.hpp"

namespace tailor::dispatcher {
namespace {

// Whole milliseconds, so that comparisons at the edge of a window are exact.
std::int64_t millis(double seconds) { return std::llround(seconds * 1000); }

RestartDecision restartAfter(Duration delay) { return RestartDecision{true, delay, ""}; }

RestartDecision giveUp(const v1::RestartStrategy& strategy, const std::string& why) {
  return RestartDecision{false, Duration(0),
                         fmt::format("{}: {}", restartStrategyName(strategy.type()), why)};
}

bool restartsOn(const v1::RestartStrategy& strategy, v1::RestartTrigger trigger) {
  return std::find(strategy.restart_on().begin(), strategy.restart_on().end(), trigger) !=
         strategy.restart_on().end();
}

RestartDecision fixedDelay(const v1::RestartStrategy& strategy,
                           std::span<const FailedRun> failures) {
  auto count = static_cast<std::int64_t>(failures.size());
  if (strategy.attempts() > 0 && count > strategy.attempts()) {
    return giveUp(strategy, fmt::format("{} failures, more than attempts {}", count,
                                        strategy.attempts()));
  }
  return restartAfter(secondsToDuration(strategy.delay_seconds()));
}

RestartDecision failureRate(const v1::RestartStrategy& strategy,
                            std::span<const FailedRun> failures, double now) {
  const std::int64_t end = millis(now);
  const std::int64_t interval = millis(strategy.failure_rate_interval_seconds());
  auto within = std::count_if(failures.begin(), failures.end(), [&](const FailedRun& failure) {
    std::int64_t at = millis(failure.endedAt);
    return at <= end && end - at <= interval;
  });
  if (within > strategy.max_failures_per_interval()) {
    return giveUp(strategy,
                  fmt::format("{} failures within {}, more than max_failures_per_interval {}",
                              within, formatDuration(Duration(interval)),
                              strategy.max_failures_per_interval()));
  }
  return restartAfter(secondsToDuration(strategy.delay_seconds()));
}

RestartDecision exponentialDelay(const v1::RestartStrategy& strategy,
                                 std::span<const FailedRun> failures, const JitterSample& jitter) {
  // Far above any max_backoff, so that the jitter below stays finite.
  constexpr double kCeiling = 1e15;
  const double initial = static_cast<double>(millis(strategy.initial_backoff_seconds()));
  const double ceiling = static_cast<double>(millis(strategy.max_backoff_seconds()));
  const std::int64_t threshold = millis(strategy.reset_backoff_threshold_seconds());
  // Replays the history: the restarts since the last reset, and the back-off
  // the latest failure gets.
  std::int64_t restarts = 0;
  double backoff = initial;
  for (const FailedRun& failure : failures) {
    if (threshold > 0 && millis(failure.endedAt) - millis(failure.startedAt) >= threshold) {
      restarts = 0;
    }
    backoff = std::min(initial * std::pow(strategy.backoff_multiplier(),
                                          static_cast<double>(restarts)),
                       kCeiling);
    ++restarts;
  }
  if (strategy.attempts() > 0 && restarts > strategy.attempts()) {
    std::string since =
        threshold > 0 ? fmt::format(" since the back-off was last reset (by a run of at least {})",
                                    formatDuration(Duration(threshold)))
                      : "";
    return giveUp(strategy, fmt::format("{} failures{}, more than attempts {}", restarts, since,
                                        strategy.attempts()));
  }
  double offset = 0;
  if (strategy.jitter_factor() > 0) {
    double sample = std::clamp(jitter(), -1.0, 1.0);
    offset = std::round(sample * std::floor(backoff * strategy.jitter_factor()));
  }
  double delay = std::max(initial, std::min(backoff + offset, ceiling));
  if (!(delay >= 0 && delay <= kCeiling)) delay = 0;  // only from a record with nonsense in it
  return restartAfter(Duration(static_cast<Duration::rep>(delay)));
}

}  // namespace

RestartDecision decideRestart(const v1::RestartStrategy& strategy, v1::RestartTrigger trigger,
                              std::span<const FailedRun> failures, double now,
                              const JitterSample& jitter) {
  switch (strategy.type()) {
    case v1::FIXED_DELAY:
    case v1::FAILURE_RATE:
    case v1::EXPONENTIAL_DELAY:
      break;
    default:
      return giveUp(strategy, "the job is never restarted");
  }
  if (!restartsOn(strategy, trigger)) {
    return giveUp(strategy, fmt::format("restart_on does not include {}",
                                        restartTriggerName(trigger)));
  }
  switch (strategy.type()) {
    case v1::FIXED_DELAY: return fixedDelay(strategy, failures);
    case v1::FAILURE_RATE: return failureRate(strategy, failures, now);
    default: return exponentialDelay(strategy, failures, jitter);
  }
}

}  // namespace tailor::dispatcher
