#pragma once

// What a job's restart strategy decides after a failure of the job as a
// whole: restart after a delay, or give up and say why. Pure: the history
// comes from the job's record (its JobManager attempts, every one of which
// but a running one ended in a failure), the time and the randomness from the
// caller, so a decision is the same however often it is taken.
//
// The meaning is Flink's (docs/dispatcher.md, "Restart strategies"):
//   none               never restarts.
//   fixed-delay        restarts `attempts` times in the job's life, each after `delay`.
//   failure-rate       gives up when more than `max_failures_per_interval` failures ended
//                      within the `failure_rate_interval` that ends now; else after `delay`.
//   exponential-delay  the n-th restart since the back-off was last reset waits
//                      initial_backoff * backoff_multiplier^(n-1), varied by +-jitter_factor,
//                      kept within [initial_backoff, max_backoff]; an attempt that ran at
//                      least reset_backoff_threshold before it failed resets the back-off (and
//                      the count); gives up after `attempts` restarts since the last reset.
// A failure whose trigger is not in `restart_on` is never restarted.

#include <functional>
#include <span>
#include <string>

#include "common/event_loop.hpp"
#include "tailor/v1/job.pb.h"

namespace tailor::dispatcher {

// One failure of the job as a whole: a JobManager attempt that ended before
// the job did. Wall seconds, as the record keeps them.
struct FailedRun {
  double startedAt = 0;  // when the attempt was launched
  double endedAt = 0;    // when it ended: the time of the failure
};

struct RestartDecision {
  bool restart = false;
  Duration delay{0};   // with restart: how long to wait before the next attempt
  std::string reason;  // without: which strategy gave up and why, e.g.
                       // "failure-rate: 4 failures within 5m, more than max_failures_per_interval 3"
};

// A random number, uniform in [-1, 1]: how much of exponential-delay's
// jitter to apply (tests pass fixed values).
using JitterSample = std::function<double()>;

// Decides after the failure `failures.back()` (a failure of kind `trigger`),
// with `failures` every failure of the job so far, oldest first, and `now` in
// wall seconds (at or after the last failure). `jitter` is called at most
// once, only for exponential-delay with a jitter factor. Precondition:
// `failures` is not empty.
RestartDecision decideRestart(const v1::RestartStrategy& strategy, v1::RestartTrigger trigger,
                              std::span<const FailedRun> failures, double now,
                              const JitterSample& jitter);

}  // namespace tailor::dispatcher
