#pragma once

// Keeps a JobManager's JobManagerState in its JobStateStore as the run goes
// (docs/ha.md), write-ahead: a TaskManager is in the store before its driver
// launches it, the framework id as soon as Mesos gives it. It sits between the
// ResourceManager and the run's own ResourceObserver (which it passes every
// notice on to), and hears the Mesos driver's subscription and launches.
//
// A write that fails because another attempt leads now (fenced) ends this
// process at once: it must not act any more. Other failures are logged; the
// next change writes the whole state again. Loop thread only.

#include <functional>
#include <string>

#include "scheduler/ha/job_state_store.hpp"
#include "scheduler/jobmaster/job_master.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"

namespace tailor::scheduler {

class JobStateKeeper : public ResourceObserver, public ProgressListener {
 public:
  // `state` is what this attempt starts from (the previous attempt's state, or
  // empty); `next` may be null.
  JobStateKeeper(EventLoop& loop, JobStateStore& store, int attempt, v1::JobManagerState state,
                 ResourceObserver* next);
  ~JobStateKeeper() override;

  // What the previous attempts left behind: their TaskManagers, which this
  // attempt does not take over (they are ended), the framework id, the next
  // TaskManager number.
  const v1::JobManagerState& state() const { return state_; }

  // Writes the state as this attempt's (at its start, after taking over).
  Status saveNow();

  // Mesos: the framework id of the subscription; a TaskManager's agent.
  void onSubscribed(const std::string& frameworkId);
  void onTaskManagerPlaced(const std::string& id, const std::string& agentId);
  void onTaskManagerPid(const std::string& id, std::int64_t pid);
  // A TaskManager of an earlier attempt is gone.
  void onRetiredTaskManagerGone(const std::string& id);

  // ResourceObserver
  void onTaskManagerRequested(const std::string& id, const TaskManagerSpec& spec) override;
  void onTaskManagerRegistered(const std::string& id, const std::string& address,
                               double launchedAt) override;
  void onTaskManagerReleased(const std::string& id, const std::string& how, bool lost) override;

  // ProgressListener: written on the loop's next turn, before the pass that
  // acts on it (one write for all changes of a turn).
  void onTaskFinished(int stage, int index, int attempts, const std::string& holder,
                      const std::string& address,
                      const std::vector<v1::PartitionInfo>& partitions) override;
  void onTaskCollected(int stage, int index) override;
  void onTaskReset(int stage, int index) override;
  void onTaskDeployed(int stage, int index, int attempts, const std::string& taskManager) override;
  void onTaskStopped(int stage, int index, int failures) override;
  // Writes what is pending now (a next attempt of a job that ended while
  // its last outputs were collected must see them collected).
  void onJobEnding() override;

  // For tests: what happens when a write is fenced (default: _Exit(3)).
  void setFencedHandler(std::function<void(const std::string&)> handler) {
    fenced_ = std::move(handler);
  }

 private:
  void save();
  void saveSoon();
  void remove(const std::string& id);
  v1::FinishedTask* findFinished(int stage, int index);

  EventLoop& loop_;
  JobStateStore& store_;
  int attempt_;
  v1::JobManagerState state_;
  ResourceObserver* next_;
  std::function<void(const std::string&)> fenced_;
  bool savePosted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The number N of a TaskManager id "tm-N"; 0 when `id` is not one.
std::uint64_t taskManagerNumber(const std::string& id);

}  // namespace tailor::scheduler
