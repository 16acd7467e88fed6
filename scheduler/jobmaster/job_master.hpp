#pragma once

// The JobMaster runs one job: it turns the stage DAG into tasks, declares the
// slots its runnable tasks need to the ResourceManager, deploys attempts into
// the slots it is offered (reusing free slots across stages), retries failed
// attempts up to max_attempts, re-runs producers whose partitions were lost
// with a TaskManager (lineage), copies each sink partition into the output
// directory as its task finishes and ends the job. When demand cannot be placed because
// TaskManagers that only keep partitions fill the cluster, it moves those
// partitions into its own partition directory (served at /partitions/ by the
// JobManager's HTTP server) so that the holders can go (docs/sizing.md).
//
// Work per event grows with the number of stages and free slots, not with
// the number of tasks: counters per stage, a queue of pending tasks per
// stage and an index of current attempts. Scheduling runs as one posted pass
// per loop turn (requestSchedule), never inside a ResourceManager call.
// Loop thread only.

#include <map>
#include <memory>
#include <optional>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/event_loop.hpp"
#include "common/resources.hpp"
#include "scheduler/jobmaster/job_observer.hpp"
#include "scheduler/jobmaster/taskmanager_gateway.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/report.pb.h"
#include "tailor/v1/rpc.pb.h"

namespace spdlog {
class logger;
}

namespace tailor::scheduler {

struct JobMasterConfig {
  std::string jobId;
  std::string outputDir;  // absolute; created if missing
  // Per stage (same order as the spec), per task: the source splits.
  std::vector<std::vector<std::vector<v1::FileSplit>>> splits;
  // An attempt failing to fetch inputs is not counted against max_attempts,
  // but a task is given up after this many such failures.
  int maxFetchFailures = 8;
  // An attempt lost with its TaskManager is not counted against
  // max_attempts either (the TaskManager may have gone for reasons of its
  // own), but a task whose attempts lose their TaskManager this many times
  // fails the job: it may well be what kills them (and, in a session, other
  // jobs' work with them).
  int maxTaskManagerLosses = 4;
  // Where partitions moved off TaskManagers are kept; served by the
  // JobManager at /partitions/<partitionPathPrefix><path relative to it>.
  // Empty: never moved.
  std::string partitionDir = {};
  // A session serves every job's partitionDir under /partitions/<job id>/.
  std::string partitionPathPrefix = {};
  // The TaskManagers run other jobs too (a session): at the job's end each
  // TaskManager it deployed to or kept partitions on is told to drop the
  // job (TaskManagerGateway::dropJob), since the TaskManagers outlive it;
  // a slot free after a task goes back to the ResourceManager (whose fair
  // share decides who gets it) instead of serving the job's next task; and
  // its log lines name the job. Per-job mode: the job's end ends them.
  bool sharedTaskManagers = false;
  // While tasks wait, why they wait (StageProgress::waiting) is looked at
  // again this often, and the observer told when it changed. Zero: never.
  Duration waitingRefresh{1000};
};

// The holder of partitions moved into the JobManager, as inputs name it.
inline constexpr const char* kJobManagerHolder = "jobmanager";

// Hears the job's progress that a next JobManager attempt can go on from
// (scheduler/ha/, docs/ha.md), synchronously and before the JobMaster acts on
// it (a finished task is told before its consumers are deployed).
class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  // Task `stage`[`index`] finished in its attempt number `attempts`; its
  // output is `partitions` on `holder` (a TaskManager, or the JobManager) at
  // `address`. Told again when its partitions move.
  virtual void onTaskFinished(int stage, int index, int attempts, const std::string& holder,
                              const std::string& address,
                              const std::vector<v1::PartitionInfo>& partitions) = 0;
  // Its output is in the output folder (sink tasks).
  virtual void onTaskCollected(int stage, int index) = 0;
  // It is no longer finished (its output was lost; it runs again if needed).
  virtual void onTaskReset(int stage, int index) = 0;
  // Its attempt number `attempts` is being deployed to `taskManager`, or was
  // deployed there by an earlier JobManager attempt and is taken over.
  virtual void onTaskDeployed(int stage, int index, int attempts,
                              const std::string& taskManager) = 0;
  // Its attempt ended without finishing (failed, lost or cancelled);
  // `failures` are those counted against max_attempts so far.
  virtual void onTaskStopped(int stage, int index, int failures) = 0;
  // The job ended: what was told so far must be kept before its
  // TaskManagers (and the outputs on them) go.
  virtual void onJobEnding() = 0;
};

class JobMaster : public SlotOwner {
 public:
  JobMaster(EventLoop& loop, v1::JobSpec spec, JobMasterConfig config,
            ResourceManagerGateway& resourceManager, TaskManagerGateway& taskManagers,
            JobObserver* observer);
  ~JobMaster() override;

  // host:port of this JobMaster's RPC endpoint, sent to TMs with each task.
  void setAddress(std::string address) { address_ = std::move(address); }

  // Schedules the source stages.
  void start();

  // Before start(): hears progress from then on.
  void setProgressListener(ProgressListener* listener) { progress_ = listener; }

  // Before start(): task `stage`[`index`] was finished by an earlier attempt
  // of this JobManager (after `attempts` attempts), with its output on
  // `holder` at `address`, or already in the output folder (`collected`). A
  // holder that never comes back is lost like any TaskManager, and the task
  // runs again. False (and nothing changes) when `stage` or `index` is not
  // this job's.
  // Before start(): attempts of task `stage`[`index`] so far (so that attempt
  // ids go on after an earlier JobManager attempt's), and its failures
  // counted against max_attempts.
  void restoreAttempts(int stage, int index, int attempts, int failures);

  // Before start(): attempt number `attempt` of task `stage`[`index`] was
  // running on TaskManager `holder` when an earlier JobManager attempt was
  // lost. It counts as running there (not scheduled again) until `holder`
  // registers again (taskManagerReturned) or is lost. False (and nothing
  // changes) for a task not this job's or not waiting to run.
  bool restoreRunning(int stage, int index, int attempt, const std::string& holder);

  // A TaskManager registered again with this JobManager (at `address`),
  // after it lost an earlier attempt: `running` are the attempts it still
  // runs, `unreported` the last updates of attempts that ended meanwhile.
  // Attempts of tasks still its own are taken over (their slots come with
  // adoptSlot), the others are cancelled; restored attempts it no longer
  // runs and never reported run again.
  void taskManagerReturned(const std::string& taskManagerId, const std::string& address,
                           const std::vector<v1::RunningAttempt>& running,
                           const std::vector<v1::TaskStateUpdate>& unreported);

  bool restoreFinished(int stage, int index, int attempts, const std::string& holder,
                       const std::string& address,
                       const std::vector<v1::PartitionInfo>& partitions, bool collected);

  // Ends the job as CANCELED (or FAILED when `failed`), killing running attempts.
  void cancel(const std::string& reason, bool failed = false);

  // RPC from TaskManagers. kInvalidArgument for an update of another job
  // (job_id set and not this job's); an update without job_id is this job's.
  Result<v1::TaskStateUpdateResponse> updateTaskState(const v1::TaskStateUpdate& update);

  // SlotOwner
  bool offerSlot(const Slot& slot) override;
  bool adoptSlot(const Slot& slot, const std::string& attemptId) override;
  // A TaskManager this job never used (a session's, running other jobs)
  // changes nothing.
  void onTaskManagerLost(const std::string& taskManagerId, const std::string& reason) override;
  void onResourcesUnavailable(const std::string& reason) override;
  void onPlacementStalled(const std::set<std::string>& holders) override;

  JobStatus status() const { return status_; }
  const std::string& error() const { return error_; }
  const std::string& jobId() const { return config_.jobId; }
  const v1::JobSpec& spec() const { return spec_; }
  double submittedAt() const { return submittedAt_; }
  double finishedAt() const { return finishedAt_; }
  // Every stage's progress now; a stage with tasks that wait says why,
  // asking the ResourceManager (ResourceManagerGateway::placement).
  std::vector<StageProgress> progress() const;

  // Where the latest attempt of `stage`[`index`] ran or runs (JobManager.LocateTask).
  // kNotFound for an unknown task or one that has not been deployed yet.
  Result<v1::LocateTaskResponse> locateTask(const std::string& stage, int index) const;
  std::vector<v1::StageReport> stageReports() const;
  // Task profile x run time, summed over all attempts.
  v1::ResourceSeconds requestedResourceSeconds() const;
  // Attempts deployed to each TaskManager.
  const std::map<std::string, int>& attemptsPerTaskManager() const { return attemptsPerTm_; }
  // The attempts that ran, in the order they ended.
  const std::vector<v1::AttemptReport>& attemptReports() const { return attemptReports_; }

 private:
  enum class TaskState { kWaiting, kPending, kDeploying, kRunning, kFinished };

  struct Task {
    int stage = 0;
    int index = 0;
    TaskState state = TaskState::kWaiting;
    int attempts = 0;       // attempts started
    int failures = 0;       // failures counted against max_attempts
    int fetchFailures = 0;
    int taskManagerLosses = 0;  // attempts lost with their TaskManager
    std::string attemptId;  // current attempt
    std::string slotId;
    std::string taskManagerId;  // where it runs, or where its output lives
    std::string address;
    std::string ranOn;          // where the latest attempt ran (logs)
    std::string ranOnAddress;
    std::vector<v1::PartitionInfo> partitions;
    double attemptStartedAt = 0;
    // A retry after the task went over its memory runs with a profile of its
    // own (more mem); once only (docs/observability.md).
    std::optional<Resources> profileOverride;
    // Once an attempt was lost with its TaskManager, later attempts run in a
    // TaskManager of their own (docs/sizing.md, "Solo retries").
    bool solo = false;
    // Sink tasks: output copied into the output directory (done), a copy in
    // flight (its number, to drop answers of an older copy).
    bool collected = false;
    int collectCopy = 0;
  };

  struct StageInfo {
    v1::Stage spec;
    Resources profile;
    std::vector<int> upstream;                              // stage indexes
    std::vector<std::pair<int, v1::Partitioning>> consumers;  // stage index, how
    std::vector<Task> tasks;
    // Counters kept by setState()/clearOutput(): tasks finished, finished
    // with their output available, deploying or running, pending.
    int finished = 0;
    int available = 0;
    int active = 0;
    int pendingCount = 0;
    int waiting = 0;
    std::deque<int> pending;  // task indexes; entries no longer pending are skipped
    // Pending tasks with a profile of their own (Task::profileOverride) or
    // that run alone (Task::solo), not in `pending` but counted in
    // pendingCount.
    std::vector<int> pendingOwnProfile;
    bool startedReported = false;
    bool finishedReported = false;
    double startedAt = 0;
    double finishedAt = 0;
    int attempts = 0;
    int failedAttempts = 0;
    std::int64_t remoteInputs = 0;
    std::int64_t remoteInputBytes = 0;
  };

  struct HeldSlot {
    Slot slot;
    std::string attemptId;  // empty when free
  };

  void requestSchedule();
  void schedule();
  // Tells the observer progress(), and remembers what it said of waiting.
  void reportProgress();
  // Tells the observer progress() when why tasks wait changed; again after
  // config.waitingRefresh while the job runs.
  void refreshWaiting();
  // Why tasks of stage `s` wait, if some do.
  std::optional<v1::PlacementDiagnostic> waitingOf(int s) const;
  bool stageComplete(int stage) const;
  bool inputsComplete(int stage) const;
  bool outputNeeded(int stage) const;
  void setState(Task& task, TaskState state);
  // Metrics: tasks by state, pending tasks and slots, read at each scrape.
  void addGauges();
  void clearOutput(Task& task);
  // The pending task a slot of `slotProfile` serves next; `solo`: the slot
  // is a TaskManager kept for one task alone (Slot::solo).
  Task* nextPending(const Resources& slotProfile, bool solo = false);
  // A pending task with a profile of its own (not solo) that fits a slot of
  // `slotProfile` (only one of exactly that profile with `exact`); or, with
  // `solo`, a solo task that fits.
  Task* nextPendingOwnProfile(const Resources& slotProfile, bool exact, bool solo = false);
  // The profile the task's next or current attempt runs with.
  const Resources& profileOf(const Task& task) const;
  void deploy(Task& task, const std::string& slotId);
  v1::TaskDeployment makeDeployment(const Task& task) const;
  Task* findAttempt(const std::string& attemptId);
  int stageNamed(const std::string& name) const;
  // Marks `task` as running attempt number `attempt` on `taskManagerId`,
  // deployed by an earlier JobManager attempt (no slot yet).
  void runAdopted(Task& task, int attempt, const std::string& taskManagerId,
                  const std::string& address);
  // The task whose attempt `attemptId` a returning TaskManager names, if it
  // is still that TaskManager's to run (taken over when the task waits).
  Task* attachReturned(const std::string& taskManagerId, const std::string& address,
                       const std::string& attemptId, const std::string& stage, int index,
                       int attempt);
  // Records the attempt in the report; `update` is its final update, when
  // it sent one (its usage).
  void finishAttempt(Task& task, double finishedAt, const v1::TaskStateUpdate* update = nullptr);
  // A task went over its memory: true when it runs again with more (its
  // first time), else false and the job fails.
  bool retryWithMoreMemory(Task& task, const v1::TaskStateUpdate& update);
  void resetToWaiting(Task& task);
  void tellFinished(const Task& task);
  void rerunLostOutputs();
  void invalidateConsumers();
  void onAttemptFailed(Task& task, const v1::TaskStateUpdate& update);
  void updatePartitionHolders();
  void evacuate(const std::string& taskManagerId);
  void prepareOutputDir();
  void collect(Task& task);
  // The end of copying `index`'s output (copy number `copy`) from `tm`.
  void collected(int index, int copy, const std::string& tm, Status status);
  void holdOutput(const Task& task);
  void releaseOutput(const Task& task);
  void endJob(JobStatus status, const std::string& error);
  // Shared TaskManagers: tells each one the job used that it ended.
  void dropJobOnTaskManagers();
  // The job deployed to or keeps output on TaskManager `id` at `address`
  // (empty while unknown).
  void useTaskManager(const std::string& id, const std::string& address);
  // Whether an update or registration entry of job `jobId` is this job's
  // (an empty id is, from TaskManagers that predate sessions).
  bool ownJob(const std::string& jobId) const;
  std::string attemptName(const Task& task) const;

  EventLoop& loop_;
  v1::JobSpec spec_;
  JobMasterConfig config_;
  ResourceManagerGateway& resourceManager_;
  TaskManagerGateway& taskManagers_;
  JobObserver* observer_;
  ProgressListener* progress_ = nullptr;
  std::vector<StageInfo> stages_;
  int sink_ = -1;
  std::map<std::string, HeldSlot> slots_;
  std::set<std::string> freeSlots_;
  std::unordered_map<std::string, std::pair<int, int>> attempts_;  // id -> stage, index
  std::map<std::string, int> holdCount_;    // TM -> outputs on it still needed
  std::set<std::string> partitionHolders_;  // as last told to the RM
  std::set<std::string> evacuating_;  // TMs whose partitions are being moved here
  std::map<std::string, int> attemptsPerTm_;
  // TaskManagers deployed to or holding this job's output (HA: restored
  // ones too), by id: their address, empty while unknown. A lost one leaves.
  std::map<std::string, std::string> usedTaskManagers_;
  JobStatus status_ = JobStatus::kRunning;
  std::string error_;
  std::string address_;
  bool outputPrepared_ = false;
  int collected_ = 0;  // sink tasks whose output is in the output directory
  bool schedulePosted_ = false;
  bool declaredSolo_ = false;  // solo requirements declared and not yet withdrawn
  std::string lastWaiting_;  // the waiting diagnostics last told, serialized
  std::optional<TimerId> waitingTimer_;
  bool outputsLost_ = false;    // some finished task lost its output: scan all
  bool holdersDirty_ = true;    // recompute the partition holders from scratch
  double submittedAt_ = 0;
  double finishedAt_ = 0;
  double requestedCpuSeconds_ = 0;
  double requestedMemMibSeconds_ = 0;
  std::vector<v1::AttemptReport> attemptReports_;
  std::shared_ptr<spdlog::logger> log_;
  // Last: unregistered before the state they read goes.
  std::vector<metrics::CollectorHandle> gauges_;
};

}  // namespace tailor::scheduler
