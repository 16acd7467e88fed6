#pragma once

// Matching of slot requirements to TaskManagers' free resources. Pure: the
// ResourceManager applies the plan. See docs/sizing.md.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/resources.hpp"

namespace tailor::scheduler {

struct TaskManagerView {
  std::string id;
  Resources free;
  // Pending TMs (launched, not registered) absorb demand but get no cuts.
  bool registered = true;
};

struct SlotCut {
  std::string taskManagerId;
  Resources taskProfile;  // the requirement it serves
  Resources slotProfile;  // what is cut from the TM
};

struct SlotPlan {
  std::vector<SlotCut> cuts;           // to apply now, on registered TMs
  std::map<Resources, int> unmet;      // left for new TMs (by task profile)
};

// For each required slot (task profile -> count; larger profiles first),
// cuts `slotProfileOf(profile)` from the registered TM where it fits best
// (least free resources left, then lowest id), else counts it against a
// pending TM's capacity, else leaves it unmet.
SlotPlan planSlots(const std::map<Resources, int>& requirements,
                   std::vector<TaskManagerView> taskManagers,
                   const std::function<Resources(const Resources&)>& slotProfileOf);

}  // namespace tailor::scheduler
