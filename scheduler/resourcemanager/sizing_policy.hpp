#pragma once

// Sizing policies: what TaskManagers to launch for slot demand the registered
// and pending TaskManagers cannot meet. Pure functions; see docs/sizing.md.

#include <map>
#include <string>
#include <vector>

#include "common/resources.hpp"
#include "common/result.hpp"

namespace tailor::scheduler {

// The size of a TaskManager to launch and the slots planned on it.
struct TaskManagerSpec {
  Resources total;
  std::vector<Resources> slots;
};

enum class SizingKind { kTailored, kFixed };

Result<SizingKind> parseSizingKind(const std::string& text);
std::string toString(SizingKind kind);

struct SizingConfig {
  SizingKind kind = SizingKind::kTailored;
  // The largest TaskManager the driver can place (tailored never exceeds it).
  Resources maxTaskManager;
  // Tailored: at most this many slots of one profile per TaskManager.
  int maxSlotsPerTaskManager = 4;
  // Fixed: slots per TaskManager and the size of every slot.
  int fixedSlotsPerTaskManager = 1;
  Resources fixedSlot;
};

// Returns a fixed config whose slot is the smallest profile holding every
// profile in `profiles` (the size a one-size TaskManager user must pick).
Resources largestProfile(const std::vector<Resources>& profiles);

// The slot the RM cuts for a task of `taskProfile`: the profile itself when
// tailored, the configured slot when fixed.
Resources slotProfileFor(const SizingConfig& config, const Resources& taskProfile);

// Plans TaskManagers for `unmet` slots (task profile -> count).
//  - tailored: per profile, TMs of up to maxSlotsPerTaskManager slots of that
//    profile (fewer if maxTaskManager is smaller or fewer are needed);
//  - fixed: ceil(slots / fixedSlotsPerTaskManager) TMs of
//    fixedSlot * fixedSlotsPerTaskManager.
// Profiles that fit no TaskManager are left out (the caller validates first).
std::vector<TaskManagerSpec> planTaskManagers(const SizingConfig& config,
                                              const std::map<Resources, int>& unmet);

}  // namespace tailor::scheduler
