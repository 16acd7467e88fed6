#pragma once

// Restart strategies of a job as a whole, as Flink names and means them:
// none, fixed-delay, failure-rate and exponential-delay. This is the strategy
// as configured: its names, its options with their defaults and limits, how
// an option's text is read (the same for the job spec and the Dispatcher's
// flags) and how a strategy reads to people. What a strategy decides after a
// failure is the Dispatcher's (dispatcher/restart_decision.hpp).
//
// Options, by their job spec names (the Dispatcher's flags: --restart-<name
// with '-'>, and --restart-on for restart_on):
//   fixed-delay        attempts (1), delay (1s)
//   failure-rate       max_failures_per_interval (1), failure_rate_interval (1m), delay (1s)
//   exponential-delay  initial_backoff (1s), max_backoff (1m), backoff_multiplier (1.5),
//                      reset_backoff_threshold (1h), jitter_factor (0.1), attempts (unlimited)
//   every one but none: restart_on ([jobmanager-lost])
// In brackets Flink's defaults, which are Tailor's too.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "tailor/v1/job.pb.h"

namespace tailor {

// The strategy's name as users write it ("fixed-delay"); "unspecified" for 0.
std::string_view restartStrategyName(v1::RestartStrategyType type);

// The type named `name`; nullopt for a name that is none of them.
std::optional<v1::RestartStrategyType> parseRestartStrategyType(std::string_view name);

// The names users write for types and triggers, for "expected ..." texts.
std::span<const std::string_view> restartStrategyNames();
std::span<const std::string_view> restartTriggerNames();

std::string_view restartTriggerName(v1::RestartTrigger trigger);
std::optional<v1::RestartTrigger> parseRestartTrigger(std::string_view name);

// The options `type` takes, by their job spec names, in the order above
// (restart_on last). Empty for none.
std::span<const std::string_view> restartStrategyOptions(v1::RestartStrategyType type);

// Every option name of every type, each once.
std::span<const std::string_view> allRestartStrategyOptions();

// The strategy of `type` with Flink's defaults for all its options,
// restarting on JobManager loss only.
v1::RestartStrategy defaultRestartStrategy(v1::RestartStrategyType type);

// What the Dispatcher's older flags --jobmanager-max-attempts and
// --jobmanager-relaunch-backoff stand for: exponential-delay with
// `maxAttempts - 1` restarts (none at all for 1), the first after `backoff`,
// doubling, at most 60 s (or `backoff` when larger), no jitter, never reset.
v1::RestartStrategy legacyRestartStrategy(int maxAttempts, Duration backoff);

// Reads `text` as the value of option `option` (a job spec name) and sets
// it in `strategy`. restart_on takes one trigger or several separated by
// commas. kInvalidArgument says what is wrong with the text and what was
// expected, without naming the option (the caller knows where it came from).
Status setRestartOption(v1::RestartStrategy& strategy, std::string_view option,
                        std::string_view text);

// What option `option` takes, for "expected ..." texts: "a duration >= 0
// such as 10s, 500ms or 2m".
std::string_view restartOptionExpectation(std::string_view option);

// A problem of a whole strategy: the option to blame and what is wrong.
struct RestartStrategyProblem {
  std::string option;
  std::string message;
};

// Checks what single options cannot: initial_backoff <= max_backoff, and
// that restart_on names each trigger once. nullopt when it is sound.
std::optional<RestartStrategyProblem> checkRestartStrategy(const v1::RestartStrategy& strategy);

// "fixed-delay (attempts 3, delay 10s, on jobmanager-lost)", or "none".
std::string describeRestartStrategy(const v1::RestartStrategy& strategy);

// "0s", "250ms", "1.5s", "10s", "5m", "1h30m", "2d": short and exact to the
// millisecond.
std::string formatDuration(Duration duration);

// Seconds as in the proto's *_seconds fields, to and from milliseconds.
Duration secondsToDuration(double seconds);
double durationToSeconds(Duration duration);

}  // namespace tailor
