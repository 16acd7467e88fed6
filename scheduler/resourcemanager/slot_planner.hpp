#pragma once

// Matching of slot requirements to TaskManagers' free resources. Pure: the
// ResourceManager applies the plan. See docs/sizing.md.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/resources.hpp"

namespace tailor::scheduler {

struct TaskManagerView {
  std::string id;
  Resources free;
  // Pending TMs (requested or started, not registered) absorb demand but get
  // no cuts. They absorb in the order given: put those closest to running first.
  bool registered = true;
};

struct SlotCut {
  std::string taskManagerId;
  Resources taskProfile;  // the requirement it serves
  Resources slotProfile;  // what is cut from the TM, `count` times
  int count = 1;
};

struct SlotPlan {
  std::vector<SlotCut> cuts;            // to apply now, on registered TMs
  std::map<Resources, int> unmet;       // left for new TMs (by task profile)
  std::set<std::string> pendingNeeded;  // pending TMs that absorbed some demand
};

// How many copies of `slot` fit in `capacity` (0 when none; a slot of all
// zeros fits any number of times, reported as a very large number).
std::int64_t copiesThatFit(const Resources& capacity, const Resources& slot);

// For each requirement (task profile -> count; larger profiles first), cuts
// `slotProfileOf(profile)` from registered TMs, best fit first (the TM left
// with the least free resources, ties by id) and as many copies as fit there
// before moving on; what is left is counted against pending TMs' capacity in
// their order, and the rest is unmet. Work grows with profiles x TMs, not
// with the number of slots.
SlotPlan planSlots(const std::map<Resources, int>& requirements,
                   std::vector<TaskManagerView> taskManagers,
                   const std::function<Resources(const Resources&)>& slotProfileOf);

}  // namespace tailor::scheduler
