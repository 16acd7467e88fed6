#pragma once

// The Dispatcher's flags for its default restart strategy, the one every job
// without a restart_strategy block in its spec gets (docs/dispatcher.md,
// "Restart strategies"):
//
//   --restart-strategy none|fixed-delay|failure-rate|exponential-delay
//   --restart-attempts, --restart-delay, --restart-max-failures-per-interval,
//   --restart-failure-rate-interval, --restart-initial-backoff,
//   --restart-max-backoff, --restart-backoff-multiplier,
//   --restart-reset-backoff-threshold, --restart-jitter-factor, --restart-on
//
// Each option flag is the job spec's option of the same name ('-' for '_';
// --restart-on for restart_on) and needs --restart-strategy naming a type it
// applies to. Without --restart-strategy the default is the older
// --jobmanager-max-attempts N (3) and --jobmanager-relaunch-backoff D (1s):
// exponential-delay with N-1 restarts, the first after D, doubling, at most
// 60 s, no jitter, never reset (legacyRestartStrategy). With
// --restart-strategy those two do not apply.

#include <array>
#include <string>

#include <boost/program_options/options_description.hpp>

#include "common/result.hpp"
#include "tailor/v1/job.pb.h"

namespace tailor::dispatcher {

struct RestartFlags {
  std::string strategy;  // empty: not given
  // The option flags' text in the order of allRestartStrategyOptions(); empty: not given.
  std::array<std::string, 10> options;
  int maxJobManagerAttempts = 3;
  std::string relaunchBackoff = "1s";
};

// Adds the flags above and the two older ones to `options`, writing into `flags`.
void addRestartFlags(boost::program_options::options_description& options, RestartFlags& flags);

// The default restart strategy the flags give. kInvalidArgument naming the
// flag and the expected form.
Result<v1::RestartStrategy> resolveRestartFlags(const RestartFlags& flags);

}  // namespace tailor::dispatcher
