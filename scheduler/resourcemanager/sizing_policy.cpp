#include "scheduler/resourcemanager/sizing_policy.hpp"

#include "scheduler/resourcemanager/slot_planner.hpp"

#include <algorithm>
#include <limits>

namespace tailor::scheduler {

Result<SizingKind> parseSizingKind(const std::string& text) {
  if (text == "tailored") return SizingKind::kTailored;
  if (text == "fixed") return SizingKind::kFixed;
  return makeError(ErrorCode::kInvalidArgument,
                   "--taskmanager-sizing: '{}' is not a sizing policy (expected tailored or fixed)",
                   text);
}

std::string toString(SizingKind kind) {
  return kind == SizingKind::kTailored ? "tailored" : "fixed";
}

Resources largestProfile(const std::vector<Resources>& profiles) {
  Resources result;
  for (const auto& profile : profiles) {
    result.milliCpus = std::max(result.milliCpus, profile.milliCpus);
    result.memMib = std::max(result.memMib, profile.memMib);
    result.diskMib = std::max(result.diskMib, profile.diskMib);
    result.gpus = std::max(result.gpus, profile.gpus);
  }
  return result;
}

Resources slotProfileFor(const SizingConfig& config, const Resources& taskProfile) {
  return config.kind == SizingKind::kTailored ? taskProfile : config.fixedSlot;
}


std::vector<TaskManagerSpec> planTaskManagers(const SizingConfig& config,
                                              const std::map<Resources, int>& unmet,
                                              std::optional<Resources> room) {
  std::vector<TaskManagerSpec> specs;
  // Takes a TM of up to `n` slots of `slot` out of the room; 0 when none fits.
  auto take = [&room](const Resources& slot, std::int64_t n) -> std::int64_t {
    if (!room) return n;
    n = std::min(n, copiesThatFit(*room, slot));
    if (n > 0) *room -= slot * n;
    return n;
  };
  if (config.kind == SizingKind::kFixed) {
    int slots = 0;
    for (const auto& [profile, count] : unmet) {
      if (config.fixedSlot.contains(profile)) slots += count;
    }
    int perTm = std::max(1, config.fixedSlotsPerTaskManager);
    Resources total = config.fixedSlot * perTm;
    for (int made = 0; made < slots; made += perTm) {
      if (room && !room->contains(total)) break;
      if (room) *room -= total;
      TaskManagerSpec spec;
      spec.total = total;
      spec.slots.assign(static_cast<size_t>(perTm), config.fixedSlot);
      specs.push_back(std::move(spec));
    }
    return specs;
  }
  // Tailored. Larger profiles first so that the order of launches is stable
  // and the scarce big TMs are asked for early.
  std::vector<std::pair<Resources, int>> ordered(unmet.begin(), unmet.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  int spread = std::max(1, config.spread);
  for (const auto& [profile, count] : ordered) {
    if (count <= 0 || profile.isZero()) continue;
    std::int64_t fit = copiesThatFit(config.maxTaskManager, profile);
    std::int64_t wide = (count + spread - 1) / spread;
    std::int64_t perTm = std::min<std::int64_t>(
        fit, std::max<std::int64_t>(std::max(1, config.maxSlotsPerTaskManager), wide));
    if (perTm <= 0) continue;
    for (std::int64_t left = count; left > 0;) {
      std::int64_t n = take(profile, std::min(perTm, left));
      if (n == 0) break;
      TaskManagerSpec spec;
      spec.total = profile * n;
      spec.slots.assign(static_cast<size_t>(n), profile);
      specs.push_back(std::move(spec));
      left -= n;
    }
  }
  return specs;
}

}  // namespace tailor::scheduler
