#include "scheduler/jobmaster/job_master.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "scheduler/usage_policy.hpp"

namespace tailor::scheduler {

namespace fs = std::filesystem;

namespace {

// "<stage>[<index>]#<attempt>", as TaskDeployment.attempt_id.
std::string attemptIdOf(const std::string& stage, int index, int attempt) {
  return fmt::format("{}[{}]#{}", stage, index, attempt);
}

}  // namespace

const char* toString(JobStatus status) {
  switch (status) {
    case JobStatus::kRunning:
      return "RUNNING";
    case JobStatus::kFinished:
      return "FINISHED";
    case JobStatus::kFailed:
      return "FAILED";
    case JobStatus::kCanceled:
      return "CANCELED";
  }
  return "UNKNOWN";
}

JobMaster::JobMaster(EventLoop& loop, v1::JobSpec spec, JobMasterConfig config,
                     ResourceManagerGateway& resourceManager, TaskManagerGateway& taskManagers,
                     JobObserver* observer)
    : loop_(loop),
      spec_(std::move(spec)),
      config_(std::move(config)),
      resourceManager_(resourceManager),
      taskManagers_(taskManagers),
      observer_(observer),
      log_(config_.sharedTaskManagers ? logger("jobmaster", config_.jobId)
                                      : logger("jobmaster")) {
  std::map<std::string, int> byName;
  for (int i = 0; i < spec_.stages_size(); ++i) {
    byName[spec_.stages(i).name()] = i;
  }
  stages_.resize(static_cast<size_t>(spec_.stages_size()));
  for (int i = 0; i < spec_.stages_size(); ++i) {
    StageInfo& stage = stages_[i];
    stage.spec = spec_.stages(i);
    stage.profile = Resources::fromProto(stage.spec.resources());
    for (int t = 0; t < stage.spec.parallelism(); ++t) {
      Task task;
      task.stage = i;
      task.index = t;
      stage.tasks.push_back(task);
    }
    stage.waiting = static_cast<int>(stage.tasks.size());
    for (const auto& input : stage.spec.inputs()) {
      int upstream = byName.at(input.stage());
      stage.upstream.push_back(upstream);
      stages_[upstream].consumers.emplace_back(i, input.partitioning());
    }
  }
  for (int i = 0; i < static_cast<int>(stages_.size()); ++i) {
    if (stages_[i].consumers.empty()) sink_ = i;
  }
  addGauges();
}

JobMaster::~JobMaster() {
  if (waitingTimer_) loop_.cancelTimer(*waitingTimer_);
}

void JobMaster::start() {
  submittedAt_ = loop_.wallSeconds();
  // Attempts and failures of earlier JobManager attempts count in the report.
  for (auto& stage : stages_) {
    for (const auto& task : stage.tasks) {
      stage.attempts += task.attempts;
      stage.failedAttempts += task.failures;
    }
  }
  log_->info("job {} ({}) started: {} stages, sink {}", config_.jobId, spec_.name(),
             stages_.size(), stages_[sink_].spec.name());
  if (collected_ == static_cast<int>(stages_[sink_].tasks.size())) {
    // An earlier attempt collected every output before it was lost.
    loop_.post([this] {
      if (status_ == JobStatus::kRunning) endJob(JobStatus::kFinished, "");
    });
    return;
  }
  // Restored sink outputs not in the output folder yet: collected now.
  for (auto& task : stages_[sink_].tasks) {
    if (task.state == TaskState::kFinished && !task.collected && !task.partitions.empty()) {
      collect(task);
    }
  }
  requestSchedule();
  if (config_.waitingRefresh.count() > 0) {
    waitingTimer_ = loop_.runAfter(config_.waitingRefresh, [this] { refreshWaiting(); });
  }
}

bool JobMaster::restoreFinished(int stage, int index, int attempts, const std::string& holder,
                                const std::string& address,
                                const std::vector<v1::PartitionInfo>& partitions,
                                bool collected) {
  if (stage < 0 || stage >= static_cast<int>(stages_.size()) || index < 0 ||
      index >= static_cast<int>(stages_[stage].tasks.size()) || partitions.empty()) {
    return false;
  }
  Task& task = stages_[stage].tasks[static_cast<size_t>(index)];
  if (task.state == TaskState::kFinished) return false;
  if (collected && stage == sink_) {
    // Collected into this attempt's output folder? (On Mesos each attempt's
    // default output folder is in its own sandbox.) Else collected again.
    std::error_code ec;
    collected = fs::exists(fs::path(config_.outputDir) / fmt::format("part-{:05d}", index), ec);
  }
  // A small sink output travels in the update only: gone unless collected.
  if (stage == sink_ && !collected && partitions.front().path().empty()) return false;
  if (holder == kJobManagerHolder) {
    // Moved into an earlier attempt's partition folder: only if this attempt
    // has the same folder (locally) and the files are there.
    for (const auto& partition : partitions) {
      std::error_code ec;
      if (!fs::exists(fs::path(config_.partitionDir) / partition.path(), ec)) return false;
    }
  }
  task.attempts = std::max(task.attempts, attempts);
  if (holder != kJobManagerHolder) useTaskManager(holder, address);
  task.taskManagerId = holder;
  task.address = holder == kJobManagerHolder ? address_ : address;
  task.ranOn = holder;
  task.ranOnAddress = task.address;
  task.partitions = partitions;
  setState(task, TaskState::kFinished);
  if (collected && stage == sink_) {
    task.collected = true;
    collected_ += 1;
    // The output folder holds what the earlier attempts collected: kept.
    outputPrepared_ = true;
  }
  holdersDirty_ = true;
  return true;
}

void JobMaster::restoreAttempts(int stage, int index, int attempts, int failures) {
  if (stage < 0 || stage >= static_cast<int>(stages_.size()) || index < 0 ||
      index >= static_cast<int>(stages_[stage].tasks.size())) {
    return;
  }
  Task& task = stages_[stage].tasks[static_cast<size_t>(index)];
  task.attempts = std::max(task.attempts, attempts);
  task.failures = std::max(task.failures, failures);
}

bool JobMaster::restoreRunning(int stage, int index, int attempt, const std::string& holder) {
  if (stage < 0 || stage >= static_cast<int>(stages_.size()) || index < 0 ||
      index >= static_cast<int>(stages_[stage].tasks.size()) || attempt < 1 || holder.empty() ||
      holder == kJobManagerHolder) {
    return false;
  }
  Task& task = stages_[stage].tasks[static_cast<size_t>(index)];
  if (task.state != TaskState::kWaiting) return false;  // a restored finish wins
  task.attempts = std::max(task.attempts, attempt);
  runAdopted(task, attempt, holder, "");
  return true;
}

int JobMaster::stageNamed(const std::string& name) const {
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    if (stages_[s].spec.name() == name) return s;
  }
  return -1;
}

void JobMaster::runAdopted(Task& task, int attempt, const std::string& taskManagerId,
                           const std::string& address) {
  StageInfo& stage = stages_[task.stage];
  task.attemptId = attemptIdOf(stage.spec.name(), task.index, attempt);
  task.slotId.clear();
  task.taskManagerId = taskManagerId;
  task.address = address;
  task.ranOn = taskManagerId;
  task.ranOnAddress = address;
  task.attemptStartedAt = loop_.wallSeconds();
  attempts_[task.attemptId] = {task.stage, task.index};
  useTaskManager(taskManagerId, address);
  setState(task, TaskState::kRunning);
  if (!stage.startedReported) {
    stage.startedReported = true;
    stage.startedAt = task.attemptStartedAt;
  }
}

JobMaster::Task* JobMaster::attachReturned(const std::string& taskManagerId,
                                           const std::string& address,
                                           const std::string& attemptId,
                                           const std::string& stageName, int index,
                                           int attempt) {
  Task* task = findAttempt(attemptId);
  if (task != nullptr) {
    // Restored as running there (or taken over by an earlier registration).
    if (task->state != TaskState::kRunning || task->taskManagerId != taskManagerId) {
      return nullptr;
    }
  } else {
    // Unknown here (the earlier attempt's last writes did not land): taken
    // over if its task still waits to run, and this is the task's newest attempt.
    int s = stageNamed(stageName);
    if (s < 0 || index < 0 || index >= static_cast<int>(stages_[s].tasks.size()) ||
        attempt < 1 || attemptId != attemptIdOf(stageName, index, attempt)) {
      return nullptr;
    }
    Task& candidate = stages_[s].tasks[static_cast<size_t>(index)];
    if ((candidate.state != TaskState::kWaiting && candidate.state != TaskState::kPending) ||
        attempt < candidate.attempts) {
      return nullptr;
    }
    stages_[s].attempts += attempt - candidate.attempts;
    candidate.attempts = attempt;
    runAdopted(candidate, attempt, taskManagerId, address);
    if (progress_ != nullptr) {
      progress_->onTaskDeployed(candidate.stage, candidate.index, attempt, taskManagerId);
    }
    task = &candidate;
  }
  if (task->address.empty()) attemptsPerTm_[taskManagerId] += 1;
  useTaskManager(taskManagerId, address);
  task->address = address;
  task->ranOnAddress = address;
  return task;
}

void JobMaster::taskManagerReturned(const std::string& taskManagerId, const std::string& address,
                                    const std::vector<v1::RunningAttempt>& running,
                                    const std::vector<v1::TaskStateUpdate>& unreported) {
  if (status_ != JobStatus::kRunning) return;
  std::set<std::string> heard;
  // A session's TaskManager names the attempts of every job it runs: only
  // this job's are looked at (the others' JobMasters hear of them).
  for (const auto& attempt : running) {
    if (!ownJob(attempt.job_id())) continue;
    heard.insert(attempt.attempt_id());
    if (attachReturned(taskManagerId, address, attempt.attempt_id(), attempt.stage(),
                       attempt.index(), attempt.attempt()) == nullptr) {
      log_->info("cancelling {} on {}: its task is no longer that TaskManager's to run",
                 attempt.attempt_id(), taskManagerId);
      taskManagers_.cancelTask(address, config_.jobId, attempt.attempt_id());
      continue;
    }
    log_->info("taking over {}, running on {}", attempt.attempt_id(), taskManagerId);
  }
  for (const auto& update : unreported) {
    if (!ownJob(update.job_id())) continue;
    heard.insert(update.attempt_id());
    if (attachReturned(taskManagerId, address, update.attempt_id(), update.stage(),
                       update.index(), update.attempt()) == nullptr) {
      continue;  // its task ran elsewhere meanwhile, or finished
    }
    log_->info("{} ended on {} while no JobManager listened: {}", update.attempt_id(),
               taskManagerId, v1::TaskState_Name(update.state()));
    (void)updateTaskState(update);
  }
  // Attempts restored as running there that it neither runs nor reported
  // (their last update went to the lost JobManager): run again.
  for (auto& stage : stages_) {
    for (auto& task : stage.tasks) {
      if (task.state != TaskState::kRunning || task.taskManagerId != taskManagerId ||
          !task.slotId.empty() || heard.count(task.attemptId) != 0) {
        continue;
      }
      log_->warn("{} is no longer on {} and its end was not heard; it will run again",
                 task.attemptId, taskManagerId);
      finishAttempt(task, loop_.wallSeconds());
      if (observer_ != nullptr) {
        observer_->onAttemptFailed(task.attemptId, "ended while no JobManager listened", true);
      }
      resetToWaiting(task);
    }
  }
  requestSchedule();
}

bool JobMaster::adoptSlot(const Slot& slot, const std::string& attemptId) {
  Task* task = findAttempt(attemptId);
  if (status_ != JobStatus::kRunning || task == nullptr || task->state != TaskState::kRunning ||
      task->taskManagerId != slot.taskManagerId || !task->slotId.empty()) {
    return false;
  }
  slots_[slot.id] = HeldSlot{slot, attemptId};
  task->slotId = slot.id;
  return true;
}

void JobMaster::tellFinished(const Task& task) {
  if (progress_ == nullptr || task.partitions.empty()) return;
  progress_->onTaskFinished(task.stage, task.index, task.attempts, task.taskManagerId,
                            task.address, task.partitions);
}

std::string JobMaster::attemptName(const Task& task) const {
  return attemptIdOf(stages_[task.stage].spec.name(), task.index, task.attempts);
}

bool JobMaster::stageComplete(int stage) const {
  return stages_[stage].finished == static_cast<int>(stages_[stage].tasks.size());
}

bool JobMaster::inputsComplete(int stage) const {
  for (int upstream : stages_[stage].upstream) {
    if (stages_[upstream].available != static_cast<int>(stages_[upstream].tasks.size())) {
      return false;
    }
  }
  return true;
}

bool JobMaster::outputNeeded(int stage) const {
  if (stage == sink_) {
    return status_ == JobStatus::kRunning &&
           collected_ < static_cast<int>(stages_[sink_].tasks.size());
  }
  for (const auto& [consumer, how] : stages_[stage].consumers) {
    if (!stageComplete(consumer)) return true;
  }
  return false;
}

void JobMaster::addGauges() {
  auto& registry = metrics::defaultRegistry();
  gauges_.push_back(registry.addCollector(
      "tailor_tasks", "Tasks by state: waiting for inputs, pending a slot, running, finished",
      [this](metrics::GaugeSamples& samples) {
        int counts[4] = {0, 0, 0, 0};
        for (const auto& stage : stages_) {
          counts[0] += stage.waiting;
          counts[1] += stage.pendingCount;
          counts[2] += stage.active;
          counts[3] += stage.finished;
        }
        const char* names[4] = {"waiting", "pending", "running", "finished"};
        for (int i = 0; i < 4; ++i) samples.add({{"state", names[i]}}, counts[i]);
      }));
  gauges_.push_back(registry.addCollector("tailor_jobmaster_pending_tasks",
                                          "Tasks whose inputs are complete, queued for a slot",
                                          [this](metrics::GaugeSamples& samples) {
                                            int pending = 0;
                                            for (const auto& stage : stages_)
                                              pending += stage.pendingCount;
                                            samples.add({}, pending);
                                          }));
  gauges_.push_back(registry.addCollector("tailor_slots_held", "Slots the JobMaster holds",
                                          [this](metrics::GaugeSamples& samples) {
                                            samples.add({}, static_cast<double>(slots_.size()));
                                          }));
  gauges_.push_back(registry.addCollector("tailor_slots_in_use", "Slots a task attempt runs in",
                                          [this](metrics::GaugeSamples& samples) {
                                            int inUse = 0;
                                            for (const auto& [id, held] : slots_)
                                              inUse += held.attemptId.empty() ? 0 : 1;
                                            samples.add({}, inUse);
                                          }));
}

void JobMaster::setState(Task& task, TaskState state) {
  StageInfo& stage = stages_[task.stage];
  auto count = [&stage](TaskState which, int delta) {
    switch (which) {
      case TaskState::kWaiting:
        stage.waiting += delta;
        break;
      case TaskState::kPending:
        stage.pendingCount += delta;
        break;
      case TaskState::kDeploying:
      case TaskState::kRunning:
        stage.active += delta;
        break;
      case TaskState::kFinished:
        stage.finished += delta;
        break;
    }
  };
  bool hadOutput = task.state == TaskState::kFinished && !task.partitions.empty();
  if (task.state == TaskState::kDeploying && state == TaskState::kRunning) {
    metrics::defaultRegistry()
        .histogram("tailor_task_start_seconds", "Time from deploying a task attempt to RUNNING",
                   metrics::latencyBuckets())
        .observe(loop_.wallSeconds() - task.attemptStartedAt);
  }
  if (task.state == TaskState::kPending && (task.profileOverride || task.solo)) {
    auto& own = stage.pendingOwnProfile;
    own.erase(std::remove(own.begin(), own.end(), task.index), own.end());
  }
  count(task.state, -1);
  task.state = state;
  count(state, +1);
  bool hasOutput = task.state == TaskState::kFinished && !task.partitions.empty();
  stage.available += static_cast<int>(hasOutput) - static_cast<int>(hadOutput);
  if (state == TaskState::kPending) {
    if (task.profileOverride || task.solo) {
      stage.pendingOwnProfile.push_back(task.index);
    } else {
      stage.pending.push_back(task.index);
    }
  }
}

void JobMaster::clearOutput(Task& task) {
  if (task.state == TaskState::kFinished && !task.partitions.empty()) {
    stages_[task.stage].available -= 1;
    outputsLost_ = true;
    if (progress_ != nullptr) progress_->onTaskReset(task.stage, task.index);
  }
  task.partitions.clear();
  holdersDirty_ = true;
}

const Resources& JobMaster::profileOf(const Task& task) const {
  return task.profileOverride ? *task.profileOverride : stages_[task.stage].profile;
}

JobMaster::Task* JobMaster::nextPendingOwnProfile(const Resources& slotProfile, bool exact,
                                                  bool solo) {
  for (auto& stage : stages_) {
    for (int index : stage.pendingOwnProfile) {
      Task& task = stage.tasks[static_cast<size_t>(index)];
      if (task.solo != solo) continue;
      const Resources& profile = profileOf(task);
      if (exact ? profile == slotProfile : slotProfile.contains(profile)) return &task;
    }
  }
  return nullptr;
}

JobMaster::Task* JobMaster::nextPending(const Resources& slotProfile, bool solo) {
  // A TaskManager kept for one task alone serves only such a task.
  if (solo) return nextPendingOwnProfile(slotProfile, false, true);
  // A task with a profile of its own (a memory retry) in a slot of exactly
  // that profile first (asked for it), then a stage whose profile is the
  // slot's own, then stage order, then a retry the slot holds.
  if (Task* own = nextPendingOwnProfile(slotProfile, true)) return own;
  StageInfo* chosen = nullptr;
  for (auto& stage : stages_) {
    int shared = stage.pendingCount - static_cast<int>(stage.pendingOwnProfile.size());
    if (shared == 0 || !slotProfile.contains(stage.profile)) continue;
    if (chosen == nullptr || (stage.profile == slotProfile && chosen->profile != slotProfile)) {
      chosen = &stage;
    }
  }
  if (chosen == nullptr) return nextPendingOwnProfile(slotProfile, false);
  while (!chosen->pending.empty()) {
    Task& task = chosen->tasks[static_cast<size_t>(chosen->pending.front())];
    chosen->pending.pop_front();
    if (task.state == TaskState::kPending) return &task;
  }
  return nullptr;  // not reached: pendingCount counts tasks in the queue
}

void JobMaster::requestSchedule() {
  if (schedulePosted_ || status_ != JobStatus::kRunning) return;
  schedulePosted_ = true;
  loop_.post([this] {
    schedulePosted_ = false;
    schedule();
  });
}

void JobMaster::schedule() {
  if (status_ != JobStatus::kRunning) return;

  // Finished tasks whose output is gone but still needed run again, and
  // consumers of incomplete inputs wait for them. Only after a loss.
  if (outputsLost_) {
    outputsLost_ = false;
    rerunLostOutputs();
    invalidateConsumers();
  }

  // Waiting tasks whose inputs are complete become pending.
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    StageInfo& stage = stages_[s];
    if (stage.waiting == 0 || !inputsComplete(s)) continue;
    for (auto& task : stage.tasks) {
      if (task.state == TaskState::kWaiting) setState(task, TaskState::kPending);
    }
  }

  // Reuse free slots, smallest first, for pending tasks that fit them. In a
  // session every free slot goes back instead, so that the ResourceManager's
  // fair share decides which job gets it next (docs/sizing.md).
  if (!config_.sharedTaskManagers) {
    std::vector<std::pair<Resources, std::string>> free;
    for (const auto& id : freeSlots_) free.emplace_back(slots_.at(id).slot.profile, id);
    std::sort(free.begin(), free.end());
    for (const auto& [profile, id] : free) {
      Task* task = nextPending(profile, slots_.at(id).slot.solo);
      if (task != nullptr) deploy(*task, id);
    }
  }

  // Give back slots nobody here can use.
  std::vector<std::string> unused(freeSlots_.begin(), freeSlots_.end());
  for (const auto& id : unused) {
    slots_.erase(id);
    freeSlots_.erase(id);
    resourceManager_.releaseSlot(id);
  }

  // Declare what is still wanted; the RM answers in its own pass.
  std::map<Resources, int> wanted;
  std::map<Resources, int> solo;
  for (const auto& stage : stages_) {
    int shared = stage.pendingCount - static_cast<int>(stage.pendingOwnProfile.size());
    if (shared > 0) wanted[stage.profile] += shared;
    for (int index : stage.pendingOwnProfile) {
      const Task& task = stage.tasks[static_cast<size_t>(index)];
      (task.solo ? solo : wanted)[profileOf(task)] += 1;
    }
  }
  resourceManager_.declareRequirements(wanted);
  if (!solo.empty() || declaredSolo_) {
    resourceManager_.declareSoloRequirements(solo);
    declaredSolo_ = !solo.empty();
  }
  updatePartitionHolders();

  for (auto& stage : stages_) {
    int index = static_cast<int>(&stage - stages_.data());
    if (!stage.finishedReported && stageComplete(index)) {
      stage.finishedReported = true;
      log_->info("stage {} finished ({} attempts)", stage.spec.name(), stage.attempts);
      if (observer_ != nullptr) observer_->onStageFinished(stage.spec.name());
    }
  }
  reportProgress();
}

void JobMaster::rerunLostOutputs() {
  for (bool changed = true; changed;) {
    changed = false;
    for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
      if (!outputNeeded(s) || stages_[s].available == stages_[s].finished) continue;
      for (auto& task : stages_[s].tasks) {
        if (task.state == TaskState::kFinished && task.partitions.empty() && !task.collected) {
          log_->info("re-running {}[{}]: its output was lost", stages_[s].spec.name(),
                     task.index);
          resetToWaiting(task);
          changed = true;
        }
      }
    }
  }
}

void JobMaster::invalidateConsumers() {
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    if (inputsComplete(s)) continue;
    for (auto& task : stages_[s].tasks) {
      if (task.state == TaskState::kPending) {
        setState(task, TaskState::kWaiting);
      } else if (task.state == TaskState::kDeploying || task.state == TaskState::kRunning) {
        log_->info("cancelling {}: its inputs are being recomputed", task.attemptId);
        if (!task.address.empty()) {
          taskManagers_.cancelTask(task.address, config_.jobId, task.attemptId);
        }
        finishAttempt(task, loop_.wallSeconds());
        auto slot = slots_.find(task.slotId);
        if (slot != slots_.end()) {
          slot->second.attemptId.clear();
          freeSlots_.insert(task.slotId);
        }
        resetToWaiting(task);
      }
    }
  }
}

bool JobMaster::offerSlot(const Slot& slot) {
  if (status_ != JobStatus::kRunning) return false;
  Task* chosen = nextPending(slot.profile, slot.solo);
  if (chosen == nullptr) return false;
  slots_[slot.id] = HeldSlot{slot, ""};
  deploy(*chosen, slot.id);
  return true;
}

void JobMaster::deploy(Task& task, const std::string& slotId) {
  StageInfo& stage = stages_[task.stage];
  HeldSlot& held = slots_.at(slotId);
  freeSlots_.erase(slotId);
  task.attempts += 1;
  stage.attempts += 1;
  task.attemptId = attemptName(task);
  if (progress_ != nullptr) {
    progress_->onTaskDeployed(task.stage, task.index, task.attempts, held.slot.taskManagerId);
  }
  task.slotId = slotId;
  task.taskManagerId = held.slot.taskManagerId;
  task.address = held.slot.address;
  task.ranOn = task.taskManagerId;
  task.ranOnAddress = task.address;
  setState(task, TaskState::kDeploying);
  task.attemptStartedAt = loop_.wallSeconds();
  held.attemptId = task.attemptId;
  attempts_[task.attemptId] = {task.stage, task.index};
  attemptsPerTm_[task.taskManagerId] += 1;
  useTaskManager(task.taskManagerId, task.address);
  if (!stage.startedReported) {
    stage.startedReported = true;
    stage.startedAt = task.attemptStartedAt;
    if (observer_ != nullptr) observer_->onStageStarted(stage.spec.name());
  }
  log_->info("deploying {} to {} ({})", task.attemptId, task.taskManagerId, slotId);
  std::string attemptId = task.attemptId;
  taskManagers_.deployTask(task.address, makeDeployment(task), [this, attemptId](Status status) {
    Task* current = findAttempt(attemptId);
    if (current == nullptr || current->state != TaskState::kDeploying) return;
    if (status.ok()) {
      setState(*current, TaskState::kRunning);
      reportProgress();
      return;
    }
    log_->warn("deploying {} to {} failed: {}", attemptId, current->taskManagerId,
               status.error().message);
    std::string tm = current->taskManagerId;
    std::string slotId = current->slotId;
    finishAttempt(*current, loop_.wallSeconds());
    if (slots_.erase(slotId) > 0) {
      freeSlots_.erase(slotId);
      resourceManager_.releaseSlot(slotId);
    }
    resetToWaiting(*current);
    resourceManager_.reportUnreachable(tm, "deploying " + attemptId + " failed: " +
                                               status.error().message);
    requestSchedule();
  });
}

v1::TaskDeployment JobMaster::makeDeployment(const Task& task) const {
  const StageInfo& stage = stages_[task.stage];
  v1::TaskDeployment d;
  d.set_job_id(config_.jobId);
  d.set_stage(stage.spec.name());
  d.set_index(task.index);
  d.set_attempt(task.attempts);
  d.set_parallelism(stage.spec.parallelism());
  d.set_attempt_id(task.attemptId);
  d.set_slot_id(task.slotId);
  d.set_jobmaster_address(address_);
  auto slot = slots_.find(task.slotId);
  if (slot != slots_.end()) *d.mutable_slot_resources() = slot->second.slot.profile.toProto();
  *d.mutable_command() = stage.spec.command();
  for (const auto& [key, value] : stage.spec.env()) {
    (*d.mutable_env())[key] = value;
  }
  for (size_t i = 0; i < stage.upstream.size(); ++i) {
    const StageInfo& upstream = stages_[stage.upstream[i]];
    v1::Partitioning how = stage.spec.inputs(static_cast<int>(i)).partitioning();
    for (const auto& producer : upstream.tasks) {
      if (how == v1::FORWARD && producer.index != task.index) continue;
      for (const auto& partition : producer.partitions) {
        if (partition.consumer_stage() != stage.spec.name()) continue;
        if (how != v1::BROADCAST && partition.partition() != task.index) continue;
        auto* input = d.add_inputs();
        input->set_taskmanager_id(producer.taskManagerId);
        input->set_address(producer.address);
        input->set_partition_path(partition.path());
      }
    }
  }
  if (task.stage < static_cast<int>(config_.splits.size()) &&
      task.index < static_cast<int>(config_.splits[task.stage].size())) {
    for (const auto& split : config_.splits[task.stage][task.index]) {
      *d.add_splits() = split;
    }
  }
  for (const auto& [consumer, how] : stage.consumers) {
    auto* output = d.add_outputs();
    output->set_consumer_stage(stages_[consumer].spec.name());
    output->set_partitioning(how);
    output->set_num_partitions(stages_[consumer].spec.parallelism());
  }
  if (task.stage == sink_) {
    auto* output = d.add_outputs();
    output->set_partitioning(v1::FORWARD);
    output->set_num_partitions(stage.spec.parallelism());
  }
  return d;
}

JobMaster::Task* JobMaster::findAttempt(const std::string& attemptId) {
  auto it = attempts_.find(attemptId);
  if (it == attempts_.end()) return nullptr;
  return &stages_[it->second.first].tasks[static_cast<size_t>(it->second.second)];
}

namespace {

// What measured attempts used, for dashboards of how well profiles fit
// (docs/observability.md, "Metrics"): totals, and used over asked.
void observeUsage(const v1::TaskUsage& usage, const Resources& profile, double seconds) {
  static const std::vector<double> kRatioBuckets = {0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.25, 2};
  auto& registry = metrics::defaultRegistry();
  registry.counter("tailor_task_cpu_seconds_total", "CPU time used by measured task attempts")
      .inc(usage.cpu_seconds());
  registry.counter("tailor_task_read_bytes_total", "Bytes measured task attempts read")
      .inc(static_cast<double>(usage.read_bytes()));
  registry.counter("tailor_task_written_bytes_total", "Bytes measured task attempts wrote")
      .inc(static_cast<double>(usage.written_bytes()));
  if (profile.memMib > 0) {
    registry
        .histogram("tailor_task_memory_used_ratio",
                   "Peak memory of a task attempt over the memory its profile asked for",
                   kRatioBuckets)
        .observe(usage.peak_mem_mib() / static_cast<double>(profile.memMib));
  }
  if (profile.milliCpus > 0 && seconds > 0) {
    registry
        .histogram("tailor_task_cpu_used_ratio",
                   "CPU time of a task attempt over its profile's CPUs times its run time",
                   kRatioBuckets)
        .observe(usage.cpu_seconds() / (profile.cpus() * seconds));
  }
}

}  // namespace

void JobMaster::finishAttempt(Task& task, double finishedAt, const v1::TaskStateUpdate* update) {
  const Resources& profile = profileOf(task);
  double seconds = std::max(0.0, finishedAt - task.attemptStartedAt);
  requestedCpuSeconds_ += profile.cpus() * seconds;
  requestedMemMibSeconds_ += static_cast<double>(profile.memMib) * seconds;
  v1::AttemptReport& ran = attemptReports_.emplace_back();
  ran.set_stage(stages_[task.stage].spec.name());
  ran.set_index(task.index);
  ran.set_attempt(task.attempts);
  ran.set_taskmanager(task.taskManagerId.empty() ? task.ranOn : task.taskManagerId);
  *ran.mutable_resources() = profile.toReport();
  ran.set_started_at(task.attemptStartedAt);
  ran.set_finished_at(finishedAt);
  if (update != nullptr && update->has_usage()) {
    *ran.mutable_usage() = update->usage();
    observeUsage(update->usage(), profile, seconds);
  }
  if (update != nullptr && update->state() == v1::TASK_FAILED) {
    ran.set_failure(v1::FailureKind_Name(update->failure()));
  }
}

void JobMaster::resetToWaiting(Task& task) {
  if (task.state == TaskState::kFinished && !task.partitions.empty()) {
    holdersDirty_ = true;
    if (progress_ != nullptr) progress_->onTaskReset(task.stage, task.index);
  }
  if ((task.state == TaskState::kDeploying || task.state == TaskState::kRunning) &&
      progress_ != nullptr) {
    progress_->onTaskStopped(task.stage, task.index, task.failures);
  }
  task.partitions.clear();
  setState(task, TaskState::kWaiting);
  if (!task.attemptId.empty()) attempts_.erase(task.attemptId);
  task.attemptId.clear();
  task.slotId.clear();
  task.taskManagerId.clear();
  task.address.clear();
}

Result<v1::TaskStateUpdateResponse> JobMaster::updateTaskState(const v1::TaskStateUpdate& update) {
  v1::TaskStateUpdateResponse response;
  if (!ownJob(update.job_id())) {
    return makeError(ErrorCode::kInvalidArgument,
                     "TaskStateUpdate.job_id: {} of attempt {} is job {}'s, not job {}'s",
                     v1::TaskState_Name(update.state()), update.attempt_id(), update.job_id(),
                     config_.jobId);
  }
  Task* task = findAttempt(update.attempt_id());
  if (task == nullptr || status_ != JobStatus::kRunning) {
    log_->debug("ignoring {} for stale attempt {}", v1::TaskState_Name(update.state()),
                update.attempt_id());
    return response;
  }
  if (task->address.empty()) {
    // Taken over from an earlier JobManager attempt, its TaskManager not
    // back yet: it must register again first (and name where it is).
    return makeError(ErrorCode::kUnavailable,
                     "{} runs on {}, which has not registered with this JobManager yet",
                     update.attempt_id(), task->taskManagerId);
  }
  StageInfo& stage = stages_[task->stage];
  double now = loop_.wallSeconds();
  auto freeSlot = [this](Task& t) {
    auto slot = slots_.find(t.slotId);
    if (slot != slots_.end()) {
      slot->second.attemptId.clear();
      freeSlots_.insert(t.slotId);
    }
  };
  switch (update.state()) {
    case v1::TASK_RUNNING:
      if (task->state == TaskState::kDeploying) setState(*task, TaskState::kRunning);
      break;
    case v1::TASK_FINISHED: {
      metrics::defaultRegistry()
          .counter("tailor_tasks_finished_total", "Tasks finished (their attempt that succeeded)")
          .inc();
      finishAttempt(*task, now, &update);
      freeSlot(*task);
      attempts_.erase(task->attemptId);
      task->slotId.clear();
      task->attemptId.clear();
      task->partitions.assign(update.partitions().begin(), update.partitions().end());
      setState(*task, TaskState::kFinished);
      tellFinished(*task);  // before anything acts on it
      if (task->partitions.empty()) {
        // A task always reports at least one partition; none means the TM
        // lost them: it runs again like a task whose TM was lost.
        log_->warn("{} finished without partitions", update.attempt_id());
        outputsLost_ = true;
      } else if (!holdersDirty_ && outputNeeded(task->stage)) {
        holdOutput(*task);
      }
      if (stageComplete(task->stage)) holdersDirty_ = true;  // its inputs may be done with
      // The sink's output is copied into the output directory as each task
      // finishes, while the others still run.
      if (task->stage == sink_ && !task->partitions.empty()) collect(*task);
      stage.finishedAt = now;
      stage.remoteInputs += update.remote_inputs();
      stage.remoteInputBytes += update.remote_input_bytes();
      log_->info("{} finished on {} ({} remote inputs, {} bytes; {} local)", update.attempt_id(),
                  update.taskmanager_id(), update.remote_inputs(), update.remote_input_bytes(),
                  update.local_inputs());
      requestSchedule();
      break;
    }
    case v1::TASK_FAILED: {
      finishAttempt(*task, now, &update);
      freeSlot(*task);
      onAttemptFailed(*task, update);
      requestSchedule();
      break;
    }
    default:
      break;
  }
  reportProgress();
  return response;
}

void JobMaster::onAttemptFailed(Task& task, const v1::TaskStateUpdate& update) {
  StageInfo& stage = stages_[task.stage];
  stage.failedAttempts += 1;
  metrics::defaultRegistry()
      .counter("tailor_task_attempts_failed_total", "Task attempts that failed, by failure kind",
               {{"kind", v1::FailureKind_Name(update.failure())}})
      .inc();
  std::string attemptId = update.attempt_id();
  std::string detail = update.message();
  if (!update.stderr_tail().empty()) {
    detail += "\n--- stderr (last lines) ---\n" + update.stderr_tail();
  }
  switch (update.failure()) {
    case v1::COMMAND_NOT_FOUND: {
      if (observer_ != nullptr) observer_->onAttemptFailed(attemptId, update.message(), false);
      resetToWaiting(task);
      endJob(JobStatus::kFailed,
             fmt::format("stage \"{}\" failed: {} (attempt {})", stage.spec.name(),
                         update.message(), attemptId));
      return;
    }
    case v1::MEMORY_EXCEEDED: {
      // Not counted against max_attempts: it is the profile that is short.
      bool retry = retryWithMoreMemory(task, update);
      if (observer_ != nullptr) observer_->onAttemptFailed(attemptId, update.message(), retry);
      resetToWaiting(task);
      if (!retry) {
        attemptReports_.back().set_note("went over its memory (" + update.message() +
                                        "); the job fails");
        endJob(JobStatus::kFailed,
               fmt::format("stage \"{}\" failed: task {}[{}] went over its memory {}: {} "
                           "(attempt {})",
                           stage.spec.name(), stage.spec.name(), task.index,
                           task.profileOverride ? "again after its retry with more"
                                                : "and no slot can have more",
                           update.message(), attemptId));
      }
      return;
    }
    case v1::INPUT_FETCH: {
      task.fetchFailures += 1;
      bool retry = task.fetchFailures < config_.maxFetchFailures;
      log_->warn("{} could not fetch its inputs: {}", attemptId, update.message());
      if (observer_ != nullptr) observer_->onAttemptFailed(attemptId, update.message(), retry);
      resetToWaiting(task);
      if (!retry) {
        endJob(JobStatus::kFailed,
               fmt::format("stage \"{}\" failed: task {}[{}] could not fetch its inputs {} times; "
                           "last: {}",
                           stage.spec.name(), stage.spec.name(), task.index, task.fetchFailures,
                           update.message()));
        return;
      }
      if (!update.failed_taskmanager_id().empty()) {
        resourceManager_.reportUnreachable(update.failed_taskmanager_id(),
                                           "an input fetch failed: " + update.message());
      }
      return;
    }
    default: {
      task.failures += 1;
      int maxAttempts = std::max(1, stage.spec.max_attempts());
      bool retry = task.failures < maxAttempts;
      log_->warn("{} failed ({}/{}): {}", attemptId, task.failures, maxAttempts, update.message());
      if (observer_ != nullptr) observer_->onAttemptFailed(attemptId, update.message(), retry);
      resetToWaiting(task);
      if (!retry) {
        endJob(JobStatus::kFailed,
               fmt::format("stage \"{}\" failed: task {}[{}] failed {} of {} attempts; last "
                           "attempt {}: {}",
                           stage.spec.name(), stage.spec.name(), task.index, task.failures,
                           maxAttempts, attemptId, detail));
      }
      return;
    }
  }
}

bool JobMaster::retryWithMoreMemory(Task& task, const v1::TaskStateUpdate& update) {
  if (task.profileOverride) return false;  // retried with more once already
  // The limit it went over is its slot's memory, more than its profile's
  // when a larger free slot took it.
  Resources killedAt = profileOf(task);
  auto slot = slots_.find(task.slotId);
  if (slot != slots_.end()) {
    killedAt.memMib = std::max(killedAt.memMib, slot->second.slot.profile.memMib);
  }
  auto larger = memoryRetryProfile(killedAt, update.usage().peak_mem_mib(),
                                   resourceManager_.largestSlot().memMib);
  if (!larger) return false;
  task.profileOverride = *larger;
  std::string note = fmt::format("went over its memory ({}); runs again once with mem {} MiB",
                                 update.message(), larger->memMib);
  attemptReports_.back().set_note(note);
  log_->warn("{} {}", update.attempt_id(), note);
  return true;
}

void JobMaster::onTaskManagerLost(const std::string& taskManagerId, const std::string& reason) {
  if (status_ != JobStatus::kRunning) return;
  if (usedTaskManagers_.erase(taskManagerId) == 0) {
    log_->debug("{} lost ({}); job {} never used it", taskManagerId, reason, config_.jobId);
    return;
  }
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (it->second.slot.taskManagerId == taskManagerId) {
      freeSlots_.erase(it->first);
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
  evacuating_.erase(taskManagerId);
  std::string giveUp;
  for (auto& stage : stages_) {
    for (auto& task : stage.tasks) {
      if (task.taskManagerId != taskManagerId || task.collected) continue;
      if (task.state == TaskState::kDeploying || task.state == TaskState::kRunning) {
        task.taskManagerLosses += 1;
        bool retry = task.taskManagerLosses < config_.maxTaskManagerLosses;
        log_->warn("{} lost with {} ({}){}", task.attemptId, taskManagerId, reason,
                   retry ? "; it runs again, in a TaskManager of its own" : "");
        finishAttempt(task, loop_.wallSeconds());
        if (retry && !task.solo) {
          // A task that kills its TaskManager then takes down only its own,
          // and the tasks lost beside it are not lost with it again.
          task.solo = true;
          attemptReports_.back().set_note(
              "lost with its TaskManager; runs again in a TaskManager of its own");
        }
        if (observer_ != nullptr) {
          observer_->onAttemptFailed(task.attemptId, taskManagerId + " lost: " + reason, retry);
        }
        if (!retry && giveUp.empty()) {
          giveUp = fmt::format(
              "stage \"{}\" failed: task {}[{}] lost its TaskManager {} times (is it what "
              "kills it?); last: {} lost: {}",
              stage.spec.name(), stage.spec.name(), task.index, task.taskManagerLosses,
              taskManagerId, reason);
        }
        resetToWaiting(task);
      } else if (task.state == TaskState::kFinished) {
        // The output is gone; schedule() re-runs the task if it is still needed.
        clearOutput(task);
      }
    }
  }
  if (!giveUp.empty()) {
    endJob(JobStatus::kFailed, giveUp);
    return;
  }
  holdersDirty_ = true;
  requestSchedule();
}

void JobMaster::onResourcesUnavailable(const std::string& reason) {
  std::string waiting;
  for (const auto& stage : stages_) {
    if (stage.pendingCount == 0) continue;
    if (!waiting.empty()) waiting += ", ";
    waiting += fmt::format("stage \"{}\" ({} task{} of {})", stage.spec.name(),
                           stage.pendingCount, stage.pendingCount == 1 ? "" : "s",
                           stage.profile.toString());
  }
  endJob(JobStatus::kFailed,
         waiting.empty() ? "no TaskManagers: " + reason
                         : fmt::format("no TaskManagers for {}: {}", waiting, reason));
}

void JobMaster::onPlacementStalled(const std::set<std::string>& holders) {
  if (status_ != JobStatus::kRunning || config_.partitionDir.empty() || address_.empty()) return;
  for (const auto& id : holders) {
    if (evacuating_.count(id) == 0) evacuate(id);
  }
}

void JobMaster::evacuate(const std::string& taskManagerId) {
  std::vector<std::pair<int, int>> moving;  // stage, index
  std::string address;
  int files = 0;
  std::int64_t bytes = 0;
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    if (!outputNeeded(s)) continue;
    for (const auto& task : stages_[s].tasks) {
      if (task.state != TaskState::kFinished || task.taskManagerId != taskManagerId ||
          task.partitions.empty()) {
        continue;
      }
      moving.emplace_back(s, task.index);
      address = task.address;
      files += static_cast<int>(task.partitions.size());
      for (const auto& partition : task.partitions) bytes += partition.bytes();
    }
  }
  if (moving.empty()) {
    holdersDirty_ = true;
    requestSchedule();
    return;
  }
  // The JobManager's disk takes them in: only with room to spare (a quarter
  // of what is free stays free), else the holder stays and the demand waits.
  std::error_code ec;
  fs::create_directories(config_.partitionDir, ec);
  fs::space_info space = fs::space(config_.partitionDir, ec);
  if (!ec && static_cast<double>(bytes) > 0.75 * static_cast<double>(space.available)) {
    log_->warn("not moving the partitions of {} ({} bytes): only {} bytes free in {}",
               taskManagerId, bytes, space.available, config_.partitionDir);
    return;
  }
  evacuating_.insert(taskManagerId);
  log_->info("moving {} partitions of {} tasks off {} into {} to make room", files,
             moving.size(), taskManagerId, config_.partitionDir);
  struct Progress {
    int remaining;
    bool failed = false;
  };
  auto progress = std::make_shared<Progress>(Progress{files});
  auto done = [this, taskManagerId, moving, progress](Status status) {
    if (progress->failed || status_ != JobStatus::kRunning ||
        evacuating_.count(taskManagerId) == 0) {
      return;
    }
    if (!status.ok()) {
      progress->failed = true;
      evacuating_.erase(taskManagerId);
      log_->warn("moving the partitions of {} failed: {}", taskManagerId, status.error().message);
      resourceManager_.reportUnreachable(
          taskManagerId, "moving its partitions failed: " + status.error().message);
      return;
    }
    if (--progress->remaining > 0) return;
    evacuating_.erase(taskManagerId);
    for (const auto& [s, index] : moving) {
      Task& task = stages_[s].tasks[static_cast<size_t>(index)];
      if (task.state != TaskState::kFinished || task.taskManagerId != taskManagerId) continue;
      for (auto& partition : task.partitions) {
        partition.set_path(config_.partitionPathPrefix + taskManagerId + "/" + partition.path());
      }
      task.taskManagerId = kJobManagerHolder;
      task.address = address_;
      tellFinished(task);
    }
    log_->info("the partitions of {} are now served by the JobManager", taskManagerId);
    holdersDirty_ = true;
    requestSchedule();
  };
  for (const auto& [s, index] : moving) {
    const Task& task = stages_[s].tasks[static_cast<size_t>(index)];
    for (const auto& partition : task.partitions) {
      fs::path destination = fs::path(config_.partitionDir) / taskManagerId / partition.path();
      std::error_code ec;
      fs::create_directories(destination.parent_path(), ec);
      taskManagers_.fetchPartition(address, partition.path(), destination.string(), done);
    }
  }
}

void JobMaster::updatePartitionHolders() {
  if (holdersDirty_) {
    holdersDirty_ = false;
    holdCount_.clear();
    for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
      if (stages_[s].available == 0 || !outputNeeded(s)) continue;
      for (const auto& task : stages_[s].tasks) {
        if (task.state == TaskState::kFinished && !task.partitions.empty() && !task.collected) {
          holdOutput(task);
        }
      }
    }
  }
  bool same = holdCount_.size() == partitionHolders_.size() &&
              std::equal(holdCount_.begin(), holdCount_.end(), partitionHolders_.begin(),
                         [](const auto& held, const std::string& id) { return held.first == id; });
  if (!same) {
    partitionHolders_.clear();
    for (const auto& [id, count] : holdCount_) partitionHolders_.insert(id);
    resourceManager_.setPartitionHolders(partitionHolders_);
  }
}

void JobMaster::holdOutput(const Task& task) {
  if (task.taskManagerId != kJobManagerHolder) holdCount_[task.taskManagerId] += 1;
}

void JobMaster::releaseOutput(const Task& task) {
  auto it = holdCount_.find(task.taskManagerId);
  if (it != holdCount_.end() && --it->second <= 0) holdCount_.erase(it);
}

void JobMaster::prepareOutputDir() {
  outputPrepared_ = true;
  std::error_code ec;
  fs::create_directories(config_.outputDir, ec);
  if (ec) {
    endJob(JobStatus::kFailed, fmt::format("cannot create output directory '{}': {}",
                                           config_.outputDir, ec.message()));
    return;
  }
  for (const auto& entry : fs::directory_iterator(config_.outputDir, ec)) {
    if (entry.path().filename().string().rfind("part-", 0) == 0) fs::remove(entry.path(), ec);
  }
  log_->info("collecting the {} partitions of {} into {} as they finish",
             stages_[sink_].tasks.size(), stages_[sink_].spec.name(), config_.outputDir);
}

void JobMaster::collect(Task& task) {
  if (!outputPrepared_) prepareOutputDir();
  if (status_ != JobStatus::kRunning || task.collected) return;
  int copy = ++task.collectCopy;
  int index = task.index;
  std::string tm = task.taskManagerId;
  std::string destination =
      (fs::path(config_.outputDir) / fmt::format("part-{:05d}", task.index)).string();
  const v1::PartitionInfo& output = task.partitions.front();
  if (output.path().empty()) {
    // Small enough to have come in the update: written here and now.
    std::ofstream file(destination, std::ios::binary | std::ios::trunc);
    file.write(output.data().data(), static_cast<std::streamsize>(output.data().size()));
    file.close();
    if (!file) {
      endJob(JobStatus::kFailed, fmt::format("cannot write output file '{}': {}", destination,
                                             std::strerror(errno)));
      return;
    }
    task.partitions.front().clear_data();
    collected(index, copy, tm, Status());
    return;
  }
  taskManagers_.fetchPartition(task.address, output.path(), destination,
                               [this, copy, index, tm](Status status) {
                                 collected(index, copy, tm, std::move(status));
                               });
}

void JobMaster::collected(int index, int copy, const std::string& tm, Status status) {
  if (status_ != JobStatus::kRunning) return;
  Task& current = stages_[sink_].tasks[static_cast<size_t>(index)];
  if (current.collectCopy != copy || current.state != TaskState::kFinished || current.collected) {
    return;  // an older copy, or the task ran again meanwhile
  }
  if (!status.ok()) {
    log_->warn("collecting output of {}[{}] from {} failed: {}", stages_[sink_].spec.name(),
               index, tm, status.error().message);
    clearOutput(current);
    resourceManager_.reportUnreachable(tm, "collecting output failed: " + status.error().message);
    requestSchedule();
    return;
  }
  current.collected = true;
  collected_ += 1;
  if (progress_ != nullptr) progress_->onTaskCollected(sink_, index);
  if (!holdersDirty_) releaseOutput(current);
  if (collected_ == static_cast<int>(stages_[sink_].tasks.size())) {
    endJob(JobStatus::kFinished, "");
    return;
  }
  requestSchedule();  // its TaskManager may hold nothing needed any more
}

void JobMaster::endJob(JobStatus status, const std::string& error) {
  if (status_ != JobStatus::kRunning) return;
  if (waitingTimer_) loop_.cancelTimer(*waitingTimer_);
  waitingTimer_.reset();
  status_ = status;
  error_ = error;
  finishedAt_ = loop_.wallSeconds();
  for (auto& stage : stages_) {
    for (auto& task : stage.tasks) {
      if (task.state == TaskState::kDeploying || task.state == TaskState::kRunning) {
        if (!task.address.empty()) {
          taskManagers_.cancelTask(task.address, config_.jobId, task.attemptId);
        }
        finishAttempt(task, finishedAt_);
        resetToWaiting(task);
      }
    }
  }
  slots_.clear();
  freeSlots_.clear();
  if (progress_ != nullptr) progress_->onJobEnding();
  if (status == JobStatus::kFinished) {
    log_->info("job {} finished; output in {}", config_.jobId, config_.outputDir);
  } else {
    log_->warn("job {} {}: {}", config_.jobId, toString(status), error);
  }
  if (config_.sharedTaskManagers) dropJobOnTaskManagers();
  resourceManager_.releaseAll();
  if (observer_ != nullptr) observer_->onJobEnded(status, error);
}

void JobMaster::dropJobOnTaskManagers() {
  for (const auto& [id, address] : usedTaskManagers_) {
    if (address.empty()) continue;  // restored, never came back
    log_->debug("telling {} at {} that job {} ended", id, address, config_.jobId);
    taskManagers_.dropJob(address, config_.jobId);
  }
}

void JobMaster::useTaskManager(const std::string& id, const std::string& address) {
  std::string& known = usedTaskManagers_[id];
  if (!address.empty()) known = address;
}

bool JobMaster::ownJob(const std::string& jobId) const {
  return jobId.empty() || jobId == config_.jobId;
}

void JobMaster::cancel(const std::string& reason, bool failed) {
  endJob(failed ? JobStatus::kFailed : JobStatus::kCanceled, reason);
}

Result<v1::LocateTaskResponse> JobMaster::locateTask(const std::string& stage, int index) const {
  for (const auto& info : stages_) {
    if (info.spec.name() != stage) continue;
    if (index < 0 || index >= static_cast<int>(info.tasks.size())) break;
    const Task& task = info.tasks[static_cast<size_t>(index)];
    if (task.attempts == 0 || task.ranOnAddress.empty()) {
      return makeError(ErrorCode::kNotFound, "task {}[{}] has not run yet", stage, index);
    }
    v1::LocateTaskResponse located;
    located.set_taskmanager_id(task.ranOn);
    located.set_address(task.ranOnAddress);
    located.set_attempt(task.attempts);
    return located;
  }
  return makeError(ErrorCode::kNotFound, "the job has no task {}[{}]", stage, index);
}

namespace {

std::string waitingSignature(const std::vector<StageProgress>& stages) {
  std::string signature;
  for (const auto& stage : stages) {
    signature += stage.waiting ? stage.waiting->SerializeAsString() : "-";
    signature += '\n';
  }
  return signature;
}

}  // namespace

void JobMaster::reportProgress() {
  if (observer_ == nullptr) return;
  std::vector<StageProgress> stages = progress();
  lastWaiting_ = waitingSignature(stages);
  observer_->onProgress(stages);
}

void JobMaster::refreshWaiting() {
  waitingTimer_.reset();
  if (status_ != JobStatus::kRunning) return;
  if (observer_ != nullptr) {
    std::vector<StageProgress> stages = progress();
    std::string signature = waitingSignature(stages);
    if (signature != lastWaiting_) {
      lastWaiting_ = std::move(signature);
      observer_->onProgress(stages);
    }
  }
  waitingTimer_ = loop_.runAfter(config_.waitingRefresh, [this] { refreshWaiting(); });
}

std::optional<v1::PlacementDiagnostic> JobMaster::waitingOf(int s) const {
  const StageInfo& stage = stages_[s];
  if (status_ != JobStatus::kRunning) return std::nullopt;
  if (stage.pendingCount > 0) {
    return placementDiagnostic(resourceManager_.placement(stage.profile), stage.pendingCount,
                               stage.profile);
  }
  if (stage.waiting == 0 || inputsComplete(s)) return std::nullopt;
  std::string names;
  int incomplete = 0;
  for (int up : stage.upstream) {
    if (stageComplete(up)) continue;
    names += fmt::format("{}\"{}\"", incomplete++ == 0 ? "" : ", ", stages_[up].spec.name());
  }
  v1::PlacementDiagnostic diagnostic;
  diagnostic.set_reason("inputs");
  diagnostic.set_tasks(stage.waiting);
  *diagnostic.mutable_profile() = stage.profile.toReport();
  diagnostic.set_message(fmt::format("waits for stage{} {}", incomplete == 1 ? "" : "s", names));
  return diagnostic;
}

std::vector<StageProgress> JobMaster::progress() const {
  std::vector<StageProgress> result;
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    const StageInfo& stage = stages_[s];
    StageProgress p;
    p.name = stage.spec.name();
    p.parallelism = stage.spec.parallelism();
    p.finished = stage.finished;
    p.running = stage.active;
    p.failedAttempts = stage.failedAttempts;
    p.started = stage.startedReported;
    p.complete = stageComplete(s);
    for (int up : stage.upstream) p.inputs.push_back(stages_[up].spec.name());
    p.waiting = waitingOf(s);
    result.push_back(p);
  }
  return result;
}

std::vector<v1::StageReport> JobMaster::stageReports() const {
  std::vector<v1::StageReport> reports;
  for (const auto& stage : stages_) {
    v1::StageReport report;
    report.set_name(stage.spec.name());
    report.set_parallelism(stage.spec.parallelism());
    *report.mutable_resources() = stage.profile.toReport();
    report.set_attempts(stage.attempts);
    report.set_failed_attempts(stage.failedAttempts);
    report.set_started_at(stage.startedAt);
    report.set_finished_at(stage.finishedAt);
    report.set_remote_inputs(static_cast<std::int32_t>(stage.remoteInputs));
    report.set_remote_input_bytes(static_cast<double>(stage.remoteInputBytes));
    *report.mutable_usage() =
        summarizeStageUsage(stage.spec.name(), stage.profile, attemptReports_);
    reports.push_back(report);
  }
  return reports;
}

v1::ResourceSeconds JobMaster::requestedResourceSeconds() const {
  v1::ResourceSeconds seconds;
  seconds.set_cpu_seconds(requestedCpuSeconds_);
  seconds.set_mem_mib_seconds(requestedMemMibSeconds_);
  return seconds;
}

}  // namespace tailor::scheduler
