#pragma once

// Sizing policies: what TaskManagers to launch for slot demand the registered
// and pending TaskManagers cannot meet. Pure functions; see docs/sizing.md.

#include <map>
#include <optional>
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
  // Tailored: slots of one profile per TaskManager for a narrow stage...
  int maxSlotsPerTaskManager = 4;
  // ...and a wide one is spread over about this many TaskManagers, each
  // packing ceil(slots / spread) slots (as far as the largest TM holds them).
  int spread = 8;
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
//  - tailored: per profile P with n slots, TMs of k slots of P, where
//    k = min(n, copies of P in maxTaskManager, max(maxSlotsPerTaskManager,
//    ceil(n / spread)));
//  - fixed: ceil(slots / fixedSlotsPerTaskManager) TMs of
//    fixedSlot * fixedSlotsPerTaskManager.
// With a `room` (what new TaskManagers may take together), TMs are planned
// only while they fit in it; a tailored TM shrinks to the slots that still
// fit. The rest of the demand waits for room: tasks run in waves.
// Profiles that fit no TaskManager are left out (the caller reports them).
std::vector<TaskManagerSpec> planTaskManagers(const SizingConfig& config,
                                              const std::map<Resources, int>& unmet,
                                              std::optional<Resources> room = std::nullopt);

}  // namespace tailor::scheduler
