#include "common/restart_strategy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/config.hpp"

namespace tailor {
namespace {

constexpr std::string_view kTypeNames[] = {"none", "fixed-delay", "failure-rate",
                                           "exponential-delay"};
constexpr v1::RestartStrategyType kTypes[] = {v1::NO_RESTART, v1::FIXED_DELAY, v1::FAILURE_RATE,
                                              v1::EXPONENTIAL_DELAY};
constexpr std::string_view kTriggerNames[] = {"jobmanager-lost", "job-failed"};
constexpr v1::RestartTrigger kTriggers[] = {v1::JOBMANAGER_LOST, v1::JOB_FAILED};

constexpr std::string_view kFixedDelayOptions[] = {"attempts", "delay", "restart_on"};
constexpr std::string_view kFailureRateOptions[] = {"max_failures_per_interval",
                                                    "failure_rate_interval", "delay", "restart_on"};
constexpr std::string_view kExponentialDelayOptions[] = {
    "initial_backoff",  "max_backoff", "backoff_multiplier", "reset_backoff_threshold",
    "jitter_factor",    "attempts",    "restart_on"};
constexpr std::string_view kAllOptions[] = {
    "attempts",        "delay",       "max_failures_per_interval", "failure_rate_interval",
    "initial_backoff", "max_backoff", "backoff_multiplier",        "reset_backoff_threshold",
    "jitter_factor",   "restart_on"};

// Longer delays and intervals than a year are refused: no job waits that long
// on purpose, and it keeps the arithmetic far from overflow.
constexpr Duration kMaxDuration{365LL * 24 * 3600 * 1000};
constexpr std::int64_t kMaxCount = std::numeric_limits<std::int32_t>::max();

constexpr std::string_view kExpectAttempts = "an integer >= 1, or unlimited";
constexpr std::string_view kExpectCount = "an integer >= 1";
constexpr std::string_view kExpectDelay = "a duration >= 0 such as 10s, 500ms or 2m";
constexpr std::string_view kExpectPositiveDuration = "a duration > 0 such as 10s, 500ms or 2m";
constexpr std::string_view kExpectThreshold =
    "a duration > 0 such as 10m or 1h, or never";
constexpr std::string_view kExpectMultiplier = "a number > 1, such as 1.5 or 2";
constexpr std::string_view kExpectFraction = "a number from 0 to 1, such as 0.1";
constexpr std::string_view kExpectTriggers = "jobmanager-lost, job-failed or both";

// The name users write for `value`, from two arrays in step; "unspecified" for none.
template <typename T, std::size_t N>
std::string_view nameOf(const T (&values)[N], const std::string_view (&names)[N], T value) {
  for (std::size_t i = 0; i < N; ++i) {
    if (values[i] == value) return names[i];
  }
  return "unspecified";
}

template <typename T, std::size_t N>
std::optional<T> valueOf(const T (&values)[N], const std::string_view (&names)[N],
                         std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return values[i];
  }
  return std::nullopt;
}

Result<std::int64_t> readCount(std::string_view text, std::string_view expected) {
  std::string_view digits = text.substr(!text.empty() && text.front() == '-' ? 1 : 0);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return makeError(ErrorCode::kInvalidArgument, "'{}' is not an integer (expected {})", text,
                     expected);
  }
  if (digits.size() != text.size()) {
    return makeError(ErrorCode::kInvalidArgument, "{} is too small (expected {})", text, expected);
  }
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || number > kMaxCount) {
    return makeError(ErrorCode::kInvalidArgument, "{} is too large (expected {} and at most {})",
                     text, expected, kMaxCount);
  }
  if (number < 1) {
    return makeError(ErrorCode::kInvalidArgument, "{} is too small (expected {})", text, expected);
  }
  return number;
}

Result<double> readNumber(std::string_view text, std::string_view expected) {
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(number)) {
    return makeError(ErrorCode::kInvalidArgument, "'{}' is not a number (expected {})", text,
                     expected);
  }
  return number;
}

// A duration in the flags' syntax, at least `min` and at most a year.
Result<Duration> readDuration(std::string_view text, Duration min, std::string_view expected) {
  auto duration = parseDuration(text);
  if (!duration.ok()) {
    return makeError(ErrorCode::kInvalidArgument, "'{}' is not a duration (expected {})", text,
                     expected);
  }
  if (*duration < min) {
    return makeError(ErrorCode::kInvalidArgument, "'{}' is too short (expected {})", text,
                     expected);
  }
  if (*duration > kMaxDuration) {
    return makeError(ErrorCode::kInvalidArgument, "'{}' is too long (expected {} and at most {})",
                     text, expected, formatDuration(kMaxDuration));
  }
  return *duration;
}

Status setTriggers(v1::RestartStrategy& strategy, std::string_view text) {
  strategy.clear_restart_on();
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view name =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto trigger = parseRestartTrigger(name);
    if (!trigger) {
      return makeError(ErrorCode::kInvalidArgument,
                       "'{}' is not a failure to restart on (expected {})", name, kExpectTriggers);
    }
    strategy.add_restart_on(*trigger);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status();
}

Status setAttempts(v1::RestartStrategy& strategy, std::string_view text) {
  if (text == "unlimited") {
    strategy.set_attempts(0);
    return Status();
  }
  auto count = readCount(text, kExpectAttempts);
  if (!count.ok()) return count.error();
  strategy.set_attempts(static_cast<std::int32_t>(*count));
  return Status();
}

Status setDuration(std::string_view text, Duration min, std::string_view expected,
                   void (v1::RestartStrategy::*setter)(double), v1::RestartStrategy& strategy) {
  auto duration = readDuration(text, min, expected);
  if (!duration.ok()) return duration.error();
  (strategy.*setter)(durationToSeconds(*duration));
  return Status();
}

void appendDuration(std::string& out, std::string_view name, double seconds) {
  out += fmt::format(", {} {}", name, formatDuration(secondsToDuration(seconds)));
}

}  // namespace

std::string_view restartStrategyName(v1::RestartStrategyType type) {
  return nameOf(kTypes, kTypeNames, type);
}

std::optional<v1::RestartStrategyType> parseRestartStrategyType(std::string_view name) {
  return valueOf(kTypes, kTypeNames, name);
}

std::span<const std::string_view> restartStrategyNames() { return kTypeNames; }
std::span<const std::string_view> restartTriggerNames() { return kTriggerNames; }

std::string_view restartTriggerName(v1::RestartTrigger trigger) {
  return nameOf(kTriggers, kTriggerNames, trigger);
}

std::optional<v1::RestartTrigger> parseRestartTrigger(std::string_view name) {
  return valueOf(kTriggers, kTriggerNames, name);
}

std::span<const std::string_view> restartStrategyOptions(v1::RestartStrategyType type) {
  switch (type) {
    case v1::FIXED_DELAY: return kFixedDelayOptions;
    case v1::FAILURE_RATE: return kFailureRateOptions;
    case v1::EXPONENTIAL_DELAY: return kExponentialDelayOptions;
    default: return {};
  }
}

std::span<const std::string_view> allRestartStrategyOptions() { return kAllOptions; }

v1::RestartStrategy defaultRestartStrategy(v1::RestartStrategyType type) {
  v1::RestartStrategy strategy;
  strategy.set_type(type);
  switch (type) {
    case v1::FIXED_DELAY:
      strategy.set_attempts(1);
      strategy.set_delay_seconds(1);
      break;
    case v1::FAILURE_RATE:
      strategy.set_max_failures_per_interval(1);
      strategy.set_failure_rate_interval_seconds(60);
      strategy.set_delay_seconds(1);
      break;
    case v1::EXPONENTIAL_DELAY:
      strategy.set_initial_backoff_seconds(1);
      strategy.set_max_backoff_seconds(60);
      strategy.set_backoff_multiplier(1.5);
      strategy.set_reset_backoff_threshold_seconds(3600);
      strategy.set_jitter_factor(0.1);
      strategy.set_attempts(0);
      break;
    default:
      return strategy;
  }
  strategy.add_restart_on(v1::JOBMANAGER_LOST);
  return strategy;
}

v1::RestartStrategy legacyRestartStrategy(int maxAttempts, Duration backoff) {
  if (maxAttempts <= 1) return defaultRestartStrategy(v1::NO_RESTART);
  v1::RestartStrategy strategy = defaultRestartStrategy(v1::EXPONENTIAL_DELAY);
  strategy.set_attempts(maxAttempts - 1);
  strategy.set_initial_backoff_seconds(durationToSeconds(backoff));
  strategy.set_max_backoff_seconds(durationToSeconds(std::max(backoff, Duration(60000))));
  strategy.set_backoff_multiplier(2);
  strategy.set_reset_backoff_threshold_seconds(0);
  strategy.set_jitter_factor(0);
  return strategy;
}

Status setRestartOption(v1::RestartStrategy& s, std::string_view option, std::string_view text) {
  using S = v1::RestartStrategy;
  if (option == "restart_on") return setTriggers(s, text);
  if (option == "attempts") return setAttempts(s, text);
  if (option == "delay") {
    return setDuration(text, Duration(0), kExpectDelay, &S::set_delay_seconds, s);
  }
  if (option == "failure_rate_interval") {
    return setDuration(text, Duration(1), kExpectPositiveDuration,
                       &S::set_failure_rate_interval_seconds, s);
  }
  if (option == "initial_backoff") {
    return setDuration(text, Duration(1), kExpectPositiveDuration, &S::set_initial_backoff_seconds,
                       s);
  }
  if (option == "max_backoff") {
    return setDuration(text, Duration(1), kExpectPositiveDuration, &S::set_max_backoff_seconds, s);
  }
  if (option == "reset_backoff_threshold") {
    if (text == "never") {
      s.set_reset_backoff_threshold_seconds(0);
      return Status();
    }
    return setDuration(text, Duration(1), kExpectThreshold,
                       &S::set_reset_backoff_threshold_seconds, s);
  }
  if (option == "max_failures_per_interval") {
    auto count = readCount(text, kExpectCount);
    if (!count.ok()) return count.error();
    s.set_max_failures_per_interval(static_cast<std::int32_t>(*count));
    return Status();
  }
  if (option == "backoff_multiplier") {
    auto number = readNumber(text, kExpectMultiplier);
    if (!number.ok()) return number.error();
    if (*number <= 1) {
      return makeError(ErrorCode::kInvalidArgument, "{} is not greater than 1 (expected {})", text,
                       kExpectMultiplier);
    }
    s.set_backoff_multiplier(*number);
    return Status();
  }
  if (option == "jitter_factor") {
    auto number = readNumber(text, kExpectFraction);
    if (!number.ok()) return number.error();
    if (*number < 0 || *number > 1) {
      return makeError(ErrorCode::kInvalidArgument, "{} is out of range (expected {})", text,
                       kExpectFraction);
    }
    s.set_jitter_factor(*number);
    return Status();
  }
  return makeError(ErrorCode::kInvalidArgument, "'{}' is not a restart strategy option", option);
}

std::string_view restartOptionExpectation(std::string_view option) {
  if (option == "attempts") return kExpectAttempts;
  if (option == "delay") return kExpectDelay;
  if (option == "failure_rate_interval" || option == "initial_backoff" ||
      option == "max_backoff") {
    return kExpectPositiveDuration;
  }
  if (option == "reset_backoff_threshold") return kExpectThreshold;
  if (option == "max_failures_per_interval") return kExpectCount;
  if (option == "backoff_multiplier") return kExpectMultiplier;
  if (option == "jitter_factor") return kExpectFraction;
  return kExpectTriggers;
}

std::optional<RestartStrategyProblem> checkRestartStrategy(const v1::RestartStrategy& strategy) {
  if (strategy.type() == v1::EXPONENTIAL_DELAY &&
      strategy.initial_backoff_seconds() > strategy.max_backoff_seconds()) {
    return RestartStrategyProblem{
        "initial_backoff",
        fmt::format("initial_backoff {} is longer than max_backoff {} (expected initial_backoff "
                    "<= max_backoff)",
                    formatDuration(secondsToDuration(strategy.initial_backoff_seconds())),
                    formatDuration(secondsToDuration(strategy.max_backoff_seconds())))};
  }
  for (int i = 0; i < strategy.restart_on_size(); ++i) {
    for (int j = 0; j < i; ++j) {
      if (strategy.restart_on(i) == strategy.restart_on(j)) {
        return RestartStrategyProblem{
            "restart_on",
            fmt::format("{} is given twice (expected each of jobmanager-lost and job-failed at "
                        "most once)",
                        restartTriggerName(strategy.restart_on(i)))};
      }
    }
  }
  return std::nullopt;
}

std::string describeRestartStrategy(const v1::RestartStrategy& s) {
  std::string out(restartStrategyName(s.type()));
  if (s.type() == v1::NO_RESTART || s.type() == v1::RESTART_STRATEGY_TYPE_UNSPECIFIED) return out;
  std::string options;
  auto attempts = [&] {
    options += s.attempts() == 0 ? std::string(", attempts unlimited")
                                 : fmt::format(", attempts {}", s.attempts());
  };
  switch (s.type()) {
    case v1::FIXED_DELAY:
      attempts();
      appendDuration(options, "delay", s.delay_seconds());
      break;
    case v1::FAILURE_RATE:
      options += fmt::format(", max_failures_per_interval {}", s.max_failures_per_interval());
      appendDuration(options, "failure_rate_interval", s.failure_rate_interval_seconds());
      appendDuration(options, "delay", s.delay_seconds());
      break;
    default:
      appendDuration(options, "initial_backoff", s.initial_backoff_seconds());
      appendDuration(options, "max_backoff", s.max_backoff_seconds());
      options += fmt::format(", backoff_multiplier {}", s.backoff_multiplier());
      if (s.reset_backoff_threshold_seconds() == 0) {
        options += ", reset_backoff_threshold never";
      } else {
        appendDuration(options, "reset_backoff_threshold", s.reset_backoff_threshold_seconds());
      }
      options += fmt::format(", jitter_factor {}", s.jitter_factor());
      attempts();
      break;
  }
  std::string on;
  for (int i = 0; i < s.restart_on_size(); ++i) {
    on += fmt::format("{}{}", i == 0 ? "" : ", ", restartTriggerName(s.restart_on(i)));
  }
  return fmt::format("{} ({}, restart_on {})", out, options.substr(2), on.empty() ? "-" : on);
}

std::string formatDuration(Duration duration) {
  const std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  if (ms > 1000 || ms < -1000) return fmt::format("{}s", static_cast<double>(ms) / 1000);
  return fmt::format("{}ms", ms);
}

Duration secondsToDuration(double seconds) {
  return Duration(static_cast<Duration::rep>(std::llround(seconds * 1000)));
}

double durationToSeconds(Duration duration) {
  return static_cast<double>(duration.count()) / 1000;
}

}  // namespace tailor
