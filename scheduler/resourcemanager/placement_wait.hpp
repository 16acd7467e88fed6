#pragma once

// Why a job's demand for one task profile waits, as the ResourceManager sees
// it, and how a stage's waiting tasks are told to people
// (StageStatus.waiting, docs/observability.md "Placement diagnostics").

#include <optional>
#include <string>

#include "common/resources.hpp"
#include "scheduler/resourcemanager/driver.hpp"
#include "tailor/v1/dispatcher.pb.h"

namespace tailor::scheduler {

// ResourceManagerGateway::placement's answer for one task profile.
struct PlacementWait {
  enum class Reason {
    kNone,       // the job wants no slot of the profile (cut, or never declared)
    kLaunching,  // TaskManagers that would hold them are requested or starting
    kNoFit,      // nothing the cluster has holds a TaskManager for one task
    kQueue,      // a session: other jobs hold the room, its fair share decides
  };
  Reason reason = Reason::kNone;
  int slots = 0;  // slots of the profile the job still wants
  // kLaunching: how many TaskManagers, and when the oldest was requested
  // (seconds since the Unix epoch; 0 when none is yet: a request is due).
  int taskManagers = 0;
  double since = 0;
  // kNoFit: the place that comes closest, and what it lacks.
  std::optional<ClosestFit> closest;
  // kQueue: the job's place among the session's jobs that want slots, in
  // the order its fair share serves them (1: served next), of `queued`.
  int queuePosition = 0;
  int queued = 0;
};

// "mem short by 3584 MiB on the best offer (agent a1 (host): cpus 4, mem 4096 MiB)". Pure.
std::string describeShortage(const ClosestFit& fit);

// The diagnostic of `tasks` tasks of `profile` that wait for slots. Pure.
v1::PlacementDiagnostic placementDiagnostic(const PlacementWait& wait, int tasks,
                                            const Resources& profile);

}  // namespace tailor::scheduler
