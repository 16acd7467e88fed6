#pragma once

// Decisions on measured task usage (docs/observability.md, "Measured
// usage"): the profile a task killed for its memory runs again with, and the
// profile a stage is recommended from what its attempts used. Pure functions.

#include <cstdint>
#include <optional>
#include <vector>

#include "common/resources.hpp"
#include "tailor/v1/report.pb.h"

namespace tailor::scheduler {

// The profile a task killed for going over the memory of `profile` (its own,
// with its slot's mem), at `peakMemMib`, runs its one retry with: mem =
// max(2 x mem, 1.5 x peak), rounded up to a MiB and
// capped at `largestMemMib` (the largest slot the cluster can ever hold);
// nullopt when that is no more than `profile` has (a retry could not help).
std::optional<Resources> memoryRetryProfile(const Resources& profile, double peakMemMib,
                                            std::int64_t largestMemMib);

// A stage's usage from its attempts (those of other stages are skipped):
// `requested` per task, CPU seconds of all attempts, the highest CPU time /
// run time and peak memory of one attempt, and the recommended profile:
// cpus = max used x 1.2 rounded up to 0.1 (at least 0.1), mem = max peak x
// 1.25 rounded up to 16 MiB (at least 32 MiB), disk and GPUs as requested.
// No recommendation while no attempt was measured.
v1::StageUsage summarizeStageUsage(const std::string& stage, const Resources& requested,
                                   const std::vector<v1::AttemptReport>& attempts);

}  // namespace tailor::scheduler
