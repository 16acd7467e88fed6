#include "scheduler/resourcemanager/sizing_policy.hpp"

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

namespace {

// How many copies of `slot` fit in `capacity` (0 when none).
std::int64_t copiesThatFit(const Resources& capacity, const Resources& slot) {
  std::int64_t copies = std::numeric_limits<std::int64_t>::max();
  auto limit = [&](std::int64_t have, std::int64_t need) {
    if (need > 0) copies = std::min(copies, have / need);
  };
  limit(capacity.milliCpus, slot.milliCpus);
  limit(capacity.memMib, slot.memMib);
  limit(capacity.diskMib, slot.diskMib);
  limit(capacity.gpus, slot.gpus);
  return copies;
}

}  // namespace

std::vector<TaskManagerSpec> planTaskManagers(const SizingConfig& config,
                                              const std::map<Resources, int>& unmet) {
  std::vector<TaskManagerSpec> specs;
  if (config.kind == SizingKind::kFixed) {
    int slots = 0;
    for (const auto& [profile, count] : unmet) {
      if (config.fixedSlot.contains(profile)) slots += count;
    }
    int perTm = std::max(1, config.fixedSlotsPerTaskManager);
    for (int made = 0; made < slots; made += perTm) {
      TaskManagerSpec spec;
      spec.total = config.fixedSlot * perTm;
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
  for (const auto& [profile, count] : ordered) {
    std::int64_t fit = copiesThatFit(config.maxTaskManager, profile);
    std::int64_t perTm =
        std::min<std::int64_t>(fit, std::max(1, config.maxSlotsPerTaskManager));
    if (perTm <= 0 || profile.isZero()) {
      continue;
    }
    for (std::int64_t left = count; left > 0;) {
      std::int64_t n = std::min(perTm, left);
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
