#include "scheduler/usage_policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tailor::scheduler {

std::optional<Resources> memoryRetryProfile(const Resources& profile, double peakMemMib,
                                            std::int64_t largestMemMib) {
  auto wanted = std::max(2 * profile.memMib,
                         static_cast<std::int64_t>(std::ceil(1.5 * std::max(0.0, peakMemMib))));
  wanted = std::min(wanted, largestMemMib);
  if (wanted <= profile.memMib) return std::nullopt;
  Resources larger = profile;
  larger.memMib = wanted;
  return larger;
}

v1::StageUsage summarizeStageUsage(const std::string& stage, const Resources& requested,
                                   const std::vector<v1::AttemptReport>& attempts) {
  v1::StageUsage usage;
  *usage.mutable_requested() = requested.toReport();
  int measured = 0;
  for (const auto& attempt : attempts) {
    if (attempt.stage() != stage || !attempt.has_usage()) continue;
    measured += 1;
    const v1::TaskUsage& used = attempt.usage();
    usage.set_cpu_seconds(usage.cpu_seconds() + used.cpu_seconds());
    double ran = attempt.finished_at() - attempt.started_at();
    if (ran > 0) usage.set_max_cpus_used(std::max(usage.max_cpus_used(), used.cpu_seconds() / ran));
    usage.set_max_peak_mem_mib(std::max(usage.max_peak_mem_mib(), used.peak_mem_mib()));
  }
  if (measured == 0) {
    usage.set_recommendation("no attempt was measured");
    return usage;
  }
  Resources recommended = requested;
  // Rounded up to 0.1 CPU; the epsilon keeps 0.30000001 from becoming 0.4.
  double cpus = std::ceil(usage.max_cpus_used() * 1.2 * 10 - 1e-6) / 10;
  recommended.milliCpus = std::max<std::int64_t>(100, toMilliCpus(cpus));
  auto mem = static_cast<std::int64_t>(std::ceil(usage.max_peak_mem_mib() * 1.25 / 16 - 1e-9)) * 16;
  recommended.memMib = std::max<std::int64_t>(32, mem);
  *usage.mutable_recommended() = recommended.toReport();
  usage.set_recommendation(fmt::format(
      "cpus {:g}: {:.2f} used at most x1.2, rounded up to 0.1 (at least 0.1); mem {} MiB: "
      "{:.0f} MiB peak x1.25, rounded up to 16 MiB (at least 32); from {} measured attempt{}",
      recommended.cpus(), usage.max_cpus_used(), recommended.memMib, usage.max_peak_mem_mib(),
      measured, measured == 1 ? "" : "s"));
  return usage;
}

}  // namespace tailor::scheduler
