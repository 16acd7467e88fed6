#include "scheduler/resourcemanager/placement_wait.hpp"

#include <fmt/format.h>

namespace tailor::scheduler {

std::string describeShortage(const ClosestFit& fit) {
  const Shortage& shortage = fit.shortage;
  std::string unit = shortage.resource == "mem" || shortage.resource == "disk" ? " MiB" : "";
  return fmt::format("{} short by {}{} on {}", shortage.resource, shortage.amount, unit, fit.where);
}

v1::PlacementDiagnostic placementDiagnostic(const PlacementWait& wait, int tasks,
                                            const Resources& profile) {
  v1::PlacementDiagnostic diagnostic;
  diagnostic.set_tasks(tasks);
  *diagnostic.mutable_profile() = profile.toReport();
  switch (wait.reason) {
    case PlacementWait::Reason::kNone:
      // Slots are cut for them and their deployment is under way.
      diagnostic.set_reason("launching");
      diagnostic.set_message("slots are being given to them");
      break;
    case PlacementWait::Reason::kLaunching:
      diagnostic.set_reason("launching");
      diagnostic.set_taskmanagers(wait.taskManagers);
      diagnostic.set_since(wait.since);
      diagnostic.set_message(
          wait.taskManagers == 0
              ? std::string("TaskManagers for them are about to be requested")
              : fmt::format("{} TaskManager{} for them requested, not running yet",
                            wait.taskManagers, wait.taskManagers == 1 ? "" : "s"));
      break;
    case PlacementWait::Reason::kNoFit:
      diagnostic.set_reason("no_fit");
      if (wait.closest) {
        diagnostic.set_short_resource(wait.closest->shortage.resource);
        diagnostic.set_short_amount(wait.closest->shortage.amount);
        diagnostic.set_best_offer(wait.closest->where);
        diagnostic.set_message("no offer fits: " + describeShortage(*wait.closest));
      } else {
        diagnostic.set_message("no offer fits");
      }
      break;
    case PlacementWait::Reason::kQueue:
      diagnostic.set_reason("queue");
      diagnostic.set_queue_position(wait.queuePosition);
      diagnostic.set_message(fmt::format(
          "other jobs of the session hold the room: position {} of {} in its fair share",
          wait.queuePosition, wait.queued));
      break;
  }
  return diagnostic;
}

}  // namespace tailor::scheduler
