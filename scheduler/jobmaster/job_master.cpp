#include "scheduler/jobmaster/job_master.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/logging.hpp"

namespace tailor::scheduler {

namespace fs = std::filesystem;

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
      log_(logger("jobmaster")) {
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
    for (const auto& input : stage.spec.inputs()) {
      int upstream = byName.at(input.stage());
      stage.upstream.push_back(upstream);
      stages_[upstream].consumers.emplace_back(i, input.partitioning());
    }
  }
  for (int i = 0; i < static_cast<int>(stages_.size()); ++i) {
    if (stages_[i].consumers.empty()) sink_ = i;
  }
}

JobMaster::~JobMaster() = default;

void JobMaster::start() {
  submittedAt_ = loop_.wallSeconds();
  log_->info("job {} ({}) started: {} stages, sink {}", config_.jobId, spec_.name(),
             stages_.size(), stages_[sink_].spec.name());
  schedule();
}

std::string JobMaster::attemptName(const Task& task) const {
  return fmt::format("{}[{}]#{}", stages_[task.stage].spec.name(), task.index, task.attempts);
}

bool JobMaster::stageComplete(int stage) const {
  for (const auto& task : stages_[stage].tasks) {
    if (task.state != TaskState::kFinished) return false;
  }
  return true;
}

bool JobMaster::inputsComplete(int stage) const {
  for (int upstream : stages_[stage].upstream) {
    if (!stageComplete(upstream)) return false;
    for (const auto& task : stages_[upstream].tasks) {
      if (task.partitions.empty()) return false;
    }
  }
  return true;
}

bool JobMaster::outputNeeded(int stage) const {
  if (stage == sink_) {
    return status_ == JobStatus::kRunning;
  }
  for (const auto& [consumer, how] : stages_[stage].consumers) {
    if (!stageComplete(consumer)) return true;
  }
  return false;
}

void JobMaster::schedule() {
  if (status_ != JobStatus::kRunning) return;
  if (scheduling_) {
    rescheduleRequested_ = true;
    return;
  }
  scheduling_ = true;
  do {
    rescheduleRequested_ = false;

    // Finished tasks whose output is gone but still needed run again.
    for (bool changed = true; changed;) {
      changed = false;
      for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
        if (!outputNeeded(s)) continue;
        for (auto& task : stages_[s].tasks) {
          if (task.state == TaskState::kFinished && task.partitions.empty()) {
            log_->info("re-running {}[{}]: its output was lost", stages_[s].spec.name(),
                       task.index);
            resetToWaiting(task);
            changed = true;
          }
        }
      }
    }
    invalidateConsumers();

    // Tasks whose inputs are complete become pending.
    for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
      if (!inputsComplete(s)) continue;
      for (auto& task : stages_[s].tasks) {
        if (task.state == TaskState::kWaiting) task.state = TaskState::kPending;
      }
    }

    // Reuse free slots: each pending task takes the smallest free slot it fits.
    for (auto& stage : stages_) {
      for (auto& task : stage.tasks) {
        if (task.state != TaskState::kPending) continue;
        std::string best;
        for (const auto& [id, held] : slots_) {
          if (!held.attemptId.empty() || !held.slot.profile.contains(stage.profile)) continue;
          if (best.empty() || slots_.at(best).slot.profile > held.slot.profile) best = id;
        }
        if (!best.empty()) deploy(task, best);
      }
    }

    // Give back slots nobody here can use.
    std::vector<std::string> unused;
    for (const auto& [id, held] : slots_) {
      if (held.attemptId.empty()) unused.push_back(id);
    }
    for (const auto& id : unused) {
      slots_.erase(id);
      resourceManager_.releaseSlot(id);
    }

    // Declare what is still wanted; the RM may offer slots right away.
    std::map<Resources, int> wanted;
    for (const auto& stage : stages_) {
      for (const auto& task : stage.tasks) {
        if (task.state == TaskState::kPending) wanted[stage.profile] += 1;
      }
    }
    resourceManager_.declareRequirements(wanted);
    updatePartitionHolders();

    for (auto& stage : stages_) {
      int index = static_cast<int>(&stage - stages_.data());
      if (!stage.finishedReported && stageComplete(index)) {
        stage.finishedReported = true;
        log_->info("stage {} finished ({} attempts)", stage.spec.name(), stage.attempts);
        if (observer_ != nullptr) observer_->onStageFinished(stage.spec.name());
      }
    }
    bool sinkOutputsAvailable =
        std::all_of(stages_[sink_].tasks.begin(), stages_[sink_].tasks.end(),
                    [](const Task& task) { return !task.partitions.empty(); });
    if (stageComplete(sink_) && sinkOutputsAvailable && !collecting_ &&
        status_ == JobStatus::kRunning) {
      collectOutput();
    }
  } while (rescheduleRequested_ && status_ == JobStatus::kRunning);
  scheduling_ = false;
  if (observer_ != nullptr) observer_->onProgress(progress());
}

void JobMaster::invalidateConsumers() {
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    if (inputsComplete(s)) continue;
    for (auto& task : stages_[s].tasks) {
      if (task.state == TaskState::kPending) {
        task.state = TaskState::kWaiting;
      } else if (task.state == TaskState::kDeploying || task.state == TaskState::kRunning) {
        log_->info("cancelling {}: its inputs are being recomputed", task.attemptId);
        taskManagers_.cancelTask(task.address, task.attemptId);
        finishAttempt(task, loop_.wallSeconds());
        auto slot = slots_.find(task.slotId);
        if (slot != slots_.end()) slot->second.attemptId.clear();
        resetToWaiting(task);
      }
    }
  }
}

bool JobMaster::offerSlot(const Slot& slot) {
  if (status_ != JobStatus::kRunning || collecting_) return false;
  Task* chosen = nullptr;
  for (auto& stage : stages_) {
    if (!slot.profile.contains(stage.profile)) continue;
    for (auto& task : stage.tasks) {
      if (task.state != TaskState::kPending) continue;
      // Prefer a task whose profile is the slot's own.
      if (chosen == nullptr ||
          (stage.profile == slot.profile && stages_[chosen->stage].profile != slot.profile)) {
        chosen = &task;
      }
      break;
    }
  }
  if (chosen == nullptr) return false;
  slots_[slot.id] = HeldSlot{slot, ""};
  deploy(*chosen, slot.id);
  return true;
}

void JobMaster::deploy(Task& task, const std::string& slotId) {
  StageInfo& stage = stages_[task.stage];
  HeldSlot& held = slots_.at(slotId);
  task.attempts += 1;
  stage.attempts += 1;
  task.attemptId = attemptName(task);
  task.slotId = slotId;
  task.taskManagerId = held.slot.taskManagerId;
  task.address = held.slot.address;
  task.state = TaskState::kDeploying;
  task.attemptStartedAt = loop_.wallSeconds();
  held.attemptId = task.attemptId;
  attemptsPerTm_[task.taskManagerId] += 1;
  if (!stage.startedReported) {
    stage.startedReported = true;
    stage.startedAt = task.attemptStartedAt;
    if (observer_ != nullptr) observer_->onStageStarted(stage.spec.name());
  }
  log_->info("deploying {} to {} ({})", task.attemptId, task.taskManagerId, slotId);
  std::string attemptId = task.attemptId;
  taskManagers_.deployTask(task.address, makeDeployment(task), [this, attemptId](Status status) {
    Task* current = findAttempt(attemptId);
    if (current == nullptr || current->attemptId != attemptId ||
        current->state != TaskState::kDeploying) {
      return;
    }
    if (status.ok()) {
      current->state = TaskState::kRunning;
      if (observer_ != nullptr) observer_->onProgress(progress());
      return;
    }
    log_->warn("deploying {} to {} failed: {}", attemptId, current->taskManagerId,
               status.error().message);
    std::string tm = current->taskManagerId;
    finishAttempt(*current, loop_.wallSeconds());
    auto slot = slots_.find(current->slotId);
    if (slot != slots_.end()) {
      slots_.erase(slot);
      resourceManager_.releaseSlot(current->slotId);
    }
    resetToWaiting(*current);
    resourceManager_.reportUnreachable(tm, "deploying " + attemptId + " failed: " +
                                               status.error().message);
    schedule();
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
  for (auto& stage : stages_) {
    for (auto& task : stage.tasks) {
      if (!task.attemptId.empty() && task.attemptId == attemptId) return &task;
    }
  }
  return nullptr;
}

void JobMaster::finishAttempt(Task& task, double finishedAt) {
  const Resources& profile = stages_[task.stage].profile;
  double seconds = std::max(0.0, finishedAt - task.attemptStartedAt);
  requestedCpuSeconds_ += profile.cpus() * seconds;
  requestedMemMibSeconds_ += static_cast<double>(profile.memMib) * seconds;
}

void JobMaster::resetToWaiting(Task& task) {
  task.state = TaskState::kWaiting;
  task.attemptId.clear();
  task.slotId.clear();
  task.taskManagerId.clear();
  task.address.clear();
  task.partitions.clear();
}

Result<v1::TaskStateUpdateResponse> JobMaster::updateTaskState(const v1::TaskStateUpdate& update) {
  v1::TaskStateUpdateResponse response;
  Task* task = findAttempt(update.attempt_id());
  if (task == nullptr || status_ != JobStatus::kRunning) {
    log_->debug("ignoring {} for stale attempt {}", v1::TaskState_Name(update.state()),
                update.attempt_id());
    return response;
  }
  StageInfo& stage = stages_[task->stage];
  double now = loop_.wallSeconds();
  switch (update.state()) {
    case v1::TASK_RUNNING:
      if (task->state == TaskState::kDeploying) task->state = TaskState::kRunning;
      break;
    case v1::TASK_FINISHED: {
      finishAttempt(*task, now);
      auto slot = slots_.find(task->slotId);
      if (slot != slots_.end()) slot->second.attemptId.clear();
      task->slotId.clear();
      task->state = TaskState::kFinished;
      task->attemptId.clear();
      task->partitions.assign(update.partitions().begin(), update.partitions().end());
      if (task->partitions.empty()) {
        // A task always reports at least one partition; none means the TM
        // lost them. Treat as a failure of the TM's side.
        log_->warn("{} finished without partitions", update.attempt_id());
      }
      stage.finishedAt = now;
      stage.remoteInputs += update.remote_inputs();
      stage.remoteInputBytes += update.remote_input_bytes();
      log_->info("{} finished on {} ({} remote inputs, {} bytes; {} local)", update.attempt_id(),
                 update.taskmanager_id(), update.remote_inputs(), update.remote_input_bytes(),
                 update.local_inputs());
      schedule();
      break;
    }
    case v1::TASK_FAILED: {
      finishAttempt(*task, now);
      auto slot = slots_.find(task->slotId);
      if (slot != slots_.end()) slot->second.attemptId.clear();
      onAttemptFailed(*task, update);
      schedule();
      break;
    }
    default:
      break;
  }
  if (observer_ != nullptr) observer_->onProgress(progress());
  return response;
}

void JobMaster::onAttemptFailed(Task& task, const v1::TaskStateUpdate& update) {
  StageInfo& stage = stages_[task.stage];
  stage.failedAttempts += 1;
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

void JobMaster::onTaskManagerLost(const std::string& taskManagerId, const std::string& reason) {
  if (status_ != JobStatus::kRunning) return;
  for (auto it = slots_.begin(); it != slots_.end();) {
    it = it->second.slot.taskManagerId == taskManagerId ? slots_.erase(it) : std::next(it);
  }
  bool sinkOutputLost = false;
  for (auto& stage : stages_) {
    for (auto& task : stage.tasks) {
      if (task.taskManagerId != taskManagerId) continue;
      if (task.stage == sink_ && task.state == TaskState::kFinished) sinkOutputLost = true;
      if (task.state == TaskState::kDeploying || task.state == TaskState::kRunning) {
        log_->warn("{} lost with {} ({}); it will run again", task.attemptId, taskManagerId,
                   reason);
        finishAttempt(task, loop_.wallSeconds());
        if (observer_ != nullptr) {
          observer_->onAttemptFailed(task.attemptId, taskManagerId + " lost: " + reason, true);
        }
        resetToWaiting(task);
      } else if (task.state == TaskState::kFinished) {
        // The output is gone; schedule() re-runs the task if it is still needed.
        task.partitions.clear();
      }
    }
  }
  if (collecting_ && sinkOutputLost) {
    collecting_ = false;  // collect again once the lost sink tasks ran again
  }
  schedule();
}

void JobMaster::onResourcesUnavailable(const std::string& reason) {
  endJob(JobStatus::kFailed, "no TaskManagers: " + reason);
}

void JobMaster::updatePartitionHolders() {
  std::set<std::string> holders;
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    if (!outputNeeded(s)) continue;
    for (const auto& task : stages_[s].tasks) {
      if (task.state == TaskState::kFinished && !task.partitions.empty()) {
        holders.insert(task.taskManagerId);
      }
    }
  }
  if (holders != partitionHolders_) {
    partitionHolders_ = holders;
    resourceManager_.setPartitionHolders(holders);
  }
}

void JobMaster::collectOutput() {
  collecting_ = true;
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
  const StageInfo& sink = stages_[sink_];
  int generation = ++collectGeneration_;
  auto remaining = std::make_shared<int>(static_cast<int>(sink.tasks.size()));
  log_->info("collecting {} partitions of {} into {}", sink.tasks.size(), sink.spec.name(),
             config_.outputDir);
  for (const auto& task : sink.tasks) {
    const v1::PartitionInfo& partition = task.partitions.front();
    std::string destination =
        (fs::path(config_.outputDir) / fmt::format("part-{:05d}", task.index)).string();
    std::string tm = task.taskManagerId;
    int index = task.index;
    taskManagers_.fetchPartition(
        task.address, partition.path(), destination,
        [this, remaining, generation, tm, index](Status status) {
          if (generation != collectGeneration_ || !collecting_ ||
              status_ != JobStatus::kRunning) {
            return;
          }
          if (!status.ok()) {
            log_->warn("collecting output of {}[{}] from {} failed: {}",
                       stages_[sink_].spec.name(), index, tm, status.error().message);
            collecting_ = false;
            stages_[sink_].tasks[index].partitions.clear();
            resourceManager_.reportUnreachable(tm, "collecting output failed: " +
                                                       status.error().message);
            schedule();
            return;
          }
          if (--*remaining == 0) {
            endJob(JobStatus::kFinished, "");
          }
        });
  }
}

void JobMaster::endJob(JobStatus status, const std::string& error) {
  if (status_ != JobStatus::kRunning) return;
  status_ = status;
  error_ = error;
  finishedAt_ = loop_.wallSeconds();
  for (auto& stage : stages_) {
    for (auto& task : stage.tasks) {
      if (task.state == TaskState::kDeploying || task.state == TaskState::kRunning) {
        taskManagers_.cancelTask(task.address, task.attemptId);
        finishAttempt(task, finishedAt_);
        resetToWaiting(task);
      }
    }
  }
  slots_.clear();
  if (status == JobStatus::kFinished) {
    log_->info("job {} finished; output in {}", config_.jobId, config_.outputDir);
  } else {
    log_->warn("job {} {}: {}", config_.jobId, toString(status), error);
  }
  resourceManager_.releaseAll();
  if (observer_ != nullptr) observer_->onJobEnded(status, error);
}

void JobMaster::cancel(const std::string& reason, bool failed) {
  endJob(failed ? JobStatus::kFailed : JobStatus::kCanceled, reason);
}

Result<v1::LocateTaskResponse> JobMaster::locateTask(const std::string& stage, int index) const {
  for (const auto& info : stages_) {
    if (info.spec.name() != stage) continue;
    if (index < 0 || index >= static_cast<int>(info.tasks.size())) break;
    const Task& task = info.tasks[static_cast<size_t>(index)];
    if (task.attempts == 0 || task.address.empty()) {
      return makeError(ErrorCode::kNotFound, "task {}[{}] has not run yet", stage, index);
    }
    v1::LocateTaskResponse located;
    located.set_taskmanager_id(task.taskManagerId);
    located.set_address(task.address);
    located.set_attempt(task.attempts);
    return located;
  }
  return makeError(ErrorCode::kNotFound, "the job has no task {}[{}]", stage, index);
}

std::vector<StageProgress> JobMaster::progress() const {
  std::vector<StageProgress> result;
  for (int s = 0; s < static_cast<int>(stages_.size()); ++s) {
    const StageInfo& stage = stages_[s];
    StageProgress p;
    p.name = stage.spec.name();
    p.parallelism = stage.spec.parallelism();
    for (const auto& task : stage.tasks) {
      if (task.state == TaskState::kFinished) p.finished += 1;
      if (task.state == TaskState::kDeploying || task.state == TaskState::kRunning) p.running += 1;
    }
    p.failedAttempts = stage.failedAttempts;
    p.started = stage.startedReported;
    p.complete = stageComplete(s);
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
