#include "scheduler/resourcemanager/slot_planner.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

namespace tailor::scheduler {
namespace {

// Orders leftovers: smaller is a tighter fit.
auto leftoverKey(const Resources& left) {
  return std::make_tuple(left.gpus, left.milliCpus, left.memMib, left.diskMib);
}

// Index of the best-fitting registered TM for one `slot`, or -1.
int bestFit(const std::vector<TaskManagerView>& tms, const Resources& slot) {
  int best = -1;
  for (size_t i = 0; i < tms.size(); ++i) {
    if (!tms[i].registered || !tms[i].free.contains(slot)) continue;
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    auto candidate = std::make_tuple(leftoverKey(tms[i].free - slot), tms[i].id);
    auto current = std::make_tuple(leftoverKey(tms[best].free - slot), tms[best].id);
    if (candidate < current) best = static_cast<int>(i);
  }
  return best;
}

}  // namespace

std::int64_t copiesThatFit(const Resources& capacity, const Resources& slot) {
  std::int64_t copies = std::numeric_limits<std::int32_t>::max();
  auto limit = [&](std::int64_t have, std::int64_t need) {
    if (need > 0) copies = std::min(copies, std::max<std::int64_t>(0, have) / need);
  };
  limit(capacity.milliCpus, slot.milliCpus);
  limit(capacity.memMib, slot.memMib);
  limit(capacity.diskMib, slot.diskMib);
  limit(capacity.gpus, slot.gpus);
  return copies;
}

SlotPlan planSlots(const std::map<Resources, int>& requirements,
                   std::vector<TaskManagerView> taskManagers,
                   const std::function<Resources(const Resources&)>& slotProfileOf) {
  SlotPlan plan;
  for (auto it = requirements.rbegin(); it != requirements.rend(); ++it) {
    const Resources& profile = it->first;
    Resources slot = slotProfileOf(profile);
    std::int64_t left = it->second;
    // Cutting every copy that fits into the best fit is what cutting one slot
    // at a time would do: the TM stays the tightest fit as it fills.
    while (left > 0) {
      int tm = bestFit(taskManagers, slot);
      if (tm < 0) break;
      std::int64_t n = std::min(left, copiesThatFit(taskManagers[tm].free, slot));
      taskManagers[tm].free -= slot * n;
      plan.cuts.push_back(SlotCut{taskManagers[tm].id, profile, slot, static_cast<int>(n)});
      left -= n;
    }
    for (auto& pending : taskManagers) {
      if (left == 0) break;
      if (pending.registered) continue;
      std::int64_t n = std::min(left, copiesThatFit(pending.free, slot));
      if (n == 0) continue;
      pending.free -= slot * n;
      plan.pendingNeeded.insert(pending.id);
      left -= n;
    }
    if (left > 0) plan.unmet[profile] += static_cast<int>(left);
  }
  return plan;
}

}  // namespace tailor::scheduler
