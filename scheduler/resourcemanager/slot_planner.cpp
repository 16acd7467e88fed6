#include "scheduler/resourcemanager/slot_planner.hpp"

#include <algorithm>
#include <tuple>

namespace tailor::scheduler {
namespace {

// Orders leftovers: smaller is a tighter fit.
auto leftoverKey(const Resources& left) {
  return std::make_tuple(left.gpus, left.milliCpus, left.memMib, left.diskMib);
}

// Index of the best-fitting TM among those with `registered`, or -1.
int bestFit(const std::vector<TaskManagerView>& tms, const Resources& slot, bool registered) {
  int best = -1;
  for (size_t i = 0; i < tms.size(); ++i) {
    if (tms[i].registered != registered || !tms[i].free.contains(slot)) {
      continue;
    }
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    auto candidate = std::make_tuple(leftoverKey(tms[i].free - slot), tms[i].id);
    auto current = std::make_tuple(leftoverKey(tms[best].free - slot), tms[best].id);
    if (candidate < current) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

}  // namespace

SlotPlan planSlots(const std::map<Resources, int>& requirements,
                   std::vector<TaskManagerView> taskManagers,
                   const std::function<Resources(const Resources&)>& slotProfileOf) {
  SlotPlan plan;
  for (auto it = requirements.rbegin(); it != requirements.rend(); ++it) {
    const Resources& profile = it->first;
    Resources slot = slotProfileOf(profile);
    for (int n = 0; n < it->second; ++n) {
      int tm = bestFit(taskManagers, slot, /*registered=*/true);
      if (tm >= 0) {
        taskManagers[tm].free -= slot;
        plan.cuts.push_back(SlotCut{taskManagers[tm].id, profile, slot});
        continue;
      }
      tm = bestFit(taskManagers, slot, /*registered=*/false);
      if (tm >= 0) {
        taskManagers[tm].free -= slot;
        continue;
      }
      plan.unmet[profile] += 1;
    }
  }
  return plan;
}

}  // namespace tailor::scheduler
