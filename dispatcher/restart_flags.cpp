#include "dispatcher/restart_flags.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/config.hpp"
#include "common/restart_strategy.hpp"

namespace tailor::dispatcher {
namespace po = boost::program_options;

namespace {

// What each option flag is for, in the order of allRestartStrategyOptions().
constexpr const char* kOptionHelp[] = {
    "fixed-delay: restarts in a job's life (1); exponential-delay: restarts before the back-off "
    "resets (unlimited); N or unlimited",
    "fixed-delay, failure-rate: wait before each restart (1s)",
    "failure-rate: give up when more failures than this end within the interval (1)",
    "failure-rate: the interval, ending at the failure, in which failures are counted (1m)",
    "exponential-delay: wait before the first restart (1s)",
    "exponential-delay: the longest wait (1m)",
    "exponential-delay: each further restart waits this many times longer (1.5)",
    "exponential-delay: an attempt that ran this long resets the back-off (1h; or never)",
    "exponential-delay: vary each wait randomly by up to this fraction (0.1)",
    "what a job restarts on: jobmanager-lost, job-failed or both, separated by a comma "
    "(jobmanager-lost)",
};

// "max_failures_per_interval" -> "restart-max-failures-per-interval"; restart_on -> "restart-on".
std::string flagOf(std::string_view option) {
  if (option == "restart_on") return "restart-on";
  std::string flag = "restart-" + std::string(option);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string namesOf(std::span<const std::string_view> names, bool asFlags) {
  std::string out;
  for (auto name : names) {
    out += fmt::format("{}{}", out.empty() ? "" : ", ", asFlags ? "--" + flagOf(name) : name);
  }
  return out;
}

Result<v1::RestartStrategy> legacyStrategy(const RestartFlags& flags) {
  if (flags.maxJobManagerAttempts < 1) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--jobmanager-max-attempts: expected a number >= 1");
  }
  auto backoff = parseDuration(flags.relaunchBackoff);
  if (!backoff.ok()) {
    return makeError(ErrorCode::kInvalidArgument, "--jobmanager-relaunch-backoff: {}",
                     backoff.error().message);
  }
  return legacyRestartStrategy(flags.maxJobManagerAttempts, *backoff);
}

}  // namespace

void addRestartFlags(po::options_description& options, RestartFlags& flags) {
  auto names = allRestartStrategyOptions();
  if (names.size() != flags.options.size() || names.size() != std::size(kOptionHelp)) std::abort();
  options.add_options()(
      "restart-strategy", po::value(&flags.strategy),
      "the restart strategy of jobs whose spec has none: none, fixed-delay, failure-rate or "
      "exponential-delay (default: exponential-delay as --jobmanager-max-attempts and "
      "--jobmanager-relaunch-backoff say)");
  for (std::size_t i = 0; i < names.size(); ++i) {
    options.add_options()(flagOf(names[i]).c_str(), po::value(&flags.options[i]), kOptionHelp[i]);
  }
  options.add_options()(
      "jobmanager-max-attempts",
      po::value(&flags.maxJobManagerAttempts)->default_value(flags.maxJobManagerAttempts),
      "without --restart-strategy: JobManager attempts per job before it fails")(
      "jobmanager-relaunch-backoff",
      po::value(&flags.relaunchBackoff)->default_value(flags.relaunchBackoff),
      "without --restart-strategy: wait before the second attempt; doubles per attempt, at "
      "most 60s");
}

Result<v1::RestartStrategy> resolveRestartFlags(const RestartFlags& flags) {
  auto names = allRestartStrategyOptions();
  auto legacy = legacyStrategy(flags);
  if (!legacy.ok()) return legacy.error();
  if (flags.strategy.empty()) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (flags.options[i].empty()) continue;
      return makeError(ErrorCode::kInvalidArgument,
                       "--{} needs --restart-strategy (expected --restart-strategy with a type "
                       "it applies to, or no --restart-* flags)",
                       flagOf(names[i]));
    }
    return *legacy;
  }
  auto type = parseRestartStrategyType(flags.strategy);
  if (!type) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--restart-strategy: '{}' is not a restart strategy (expected {})",
                     flags.strategy, namesOf(restartStrategyNames(), false));
  }
  v1::RestartStrategy strategy = defaultRestartStrategy(*type);
  auto applies = restartStrategyOptions(*type);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (flags.options[i].empty()) continue;
    if (std::find(applies.begin(), applies.end(), names[i]) == applies.end()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--{} does not apply to --restart-strategy {} (expected {})",
                       flagOf(names[i]), flags.strategy,
                       applies.empty() ? std::string("no other --restart-* flag")
                                       : "only " + namesOf(applies, true));
    }
    Status set = setRestartOption(strategy, names[i], flags.options[i]);
    if (!set.ok()) {
      return makeError(ErrorCode::kInvalidArgument, "--{}: {}", flagOf(names[i]),
                       set.error().message);
    }
  }
  if (auto problem = checkRestartStrategy(strategy)) {
    return makeError(ErrorCode::kInvalidArgument, "--{}: {}", flagOf(problem->option),
                     problem->message);
  }
  return strategy;
}

}  // namespace tailor::dispatcher
