#pragma once

// How the ResourceManager gets TaskManagers: the local driver starts
// processes on this machine; the Mesos driver will launch executors on offers.

#include <optional>
#include <string>

#include "common/resources.hpp"
#include "scheduler/resourcemanager/sizing_policy.hpp"

namespace tailor::scheduler {

// Where the cluster comes closest to holding a TaskManager that fits nowhere.
struct ClosestFit {
  Shortage shortage;  // the resource most short there, and by how much
  std::string where;  // that place in words: "agent a1 (host): cpus 4, mem 4096 MiB"
};

// Called by a driver on the owning component's event loop, never from inside
// one of the driver's own methods: a driver posts what it has to report, so
// events flow one way (ResourceManager -> driver -> loop -> ResourceManager).
class DriverListener {
 public:
  virtual ~DriverListener() = default;

  // The TM has been launched: its process started (local), or its Mesos task
  // sent in an ACCEPT (from then on its resources are held).
  virtual void onTaskManagerStarted(const std::string& taskManagerId) = 0;

  // The TM is gone: exited, killed or lost. `reason` is for users.
  virtual void onTaskManagerTerminated(const std::string& taskManagerId,
                                       const std::string& reason) = 0;

  // What the driver knows of the cluster changed (maxTaskManager()): requests
  // may need another size.
  virtual void onCapacityChanged() = 0;

  // The cluster manager cannot say whether the started TM still runs (Mesos:
  // TASK_UNREACHABLE, TASK_UNKNOWN); `reason` is for users. The TM may well
  // be alive (its agent away after a master failover). The listener decides
  // whether to keep it (docs/mesos.md, "Status updates"); if it releases it,
  // the driver ends it without waiting for the cluster manager to confirm.
  virtual void onTaskManagerUnreachable(const std::string& taskManagerId,
                                        const std::string& reason) = 0;

  // A TM reported unreachable is known to run again (Mesos: TASK_RUNNING).
  virtual void onTaskManagerReachable(const std::string& taskManagerId) = 0;
};

class ResourceManagerDriver {
 public:
  virtual ~ResourceManagerDriver() = default;

  // Starts the driver; `listener` must outlive it. Loop thread only.
  virtual void start(DriverListener* listener) = 0;

  // Asks for a TaskManager of `spec.total`, identified by `taskManagerId`.
  // The driver may queue the launch until resources are free; it reports
  // onTaskManagerStarted() once it runs. Loop thread only.
  virtual void launchTaskManager(const std::string& taskManagerId,
                                 const TaskManagerSpec& spec) = 0;

  // Stops the TaskManager (or drops a queued launch). The driver reports
  // onTaskManagerTerminated() when it is gone. Loop thread only.
  virtual void releaseTaskManager(const std::string& taskManagerId) = 0;

  // The largest TaskManager this driver can place. It may shrink as the
  // driver learns the cluster (Mesos: the largest agent offered so far).
  virtual Resources maxTaskManager() const = 0;

  // All that this job's TaskManagers can hold at once, when the driver knows
  // it (the local cluster); nullopt when it does not (a shared Mesos cluster).
  virtual std::optional<Resources> capacity() const = 0;

  // Requests wait because what the cluster has free cannot hold them (local:
  // the queue waits for room; Mesos: the latest offers left a request
  // unplaced), not merely because offers have not come yet.
  virtual bool placementBlocked() const = 0;

  // What the cluster offers, for the message of a job that cannot be placed:
  // "the local cluster has cpus=2,...", "agent a1 (host) offered cpus=1,...".
  virtual std::string describeOffers() const = 0;

  // When nothing the cluster has free now holds a TaskManager of `total`
  // (local: the cluster less what running TaskManagers hold; Mesos: the
  // largest offer seen from each agent, which must hold the executor too):
  // the place that comes closest and what it lacks. nullopt when some place
  // holds it, or when the driver knows no place yet (no offer came). Pure
  // query; loop thread only.
  virtual std::optional<ClosestFit> closestFit(const Resources& total) const = 0;

  // Short description for messages: "the local cluster (cpus=2,...)".
  virtual std::string describe() const = 0;

  // The job is over and every TaskManager is gone: release what the driver
  // itself holds (the Mesos framework is torn down). Loop thread only.
  virtual void shutdown() = 0;
};

}  // namespace tailor::scheduler
