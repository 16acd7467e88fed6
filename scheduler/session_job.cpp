#include "scheduler/session_job.hpp"

#include "common/logging.hpp"
#include "scheduler/job_report.hpp"

namespace tailor::scheduler {

TaskManagerGateway::Done GuardedTaskManagerGateway::guard(Done done) const {
  return [alive = alive_, done = std::move(done)](Status status) {
    if (*alive) done(std::move(status));
  };
}

void GuardedTaskManagerGateway::deployTask(const std::string& address,
                                           const v1::TaskDeployment& task, Done done) {
  inner_.deployTask(address, task, guard(std::move(done)));
}

void GuardedTaskManagerGateway::cancelTask(const std::string& address, const std::string& jobId,
                                           const std::string& attemptId) {
  inner_.cancelTask(address, jobId, attemptId);
}

void GuardedTaskManagerGateway::dropJob(const std::string& address, const std::string& jobId) {
  inner_.dropJob(address, jobId);
}

void GuardedTaskManagerGateway::fetchPartition(const std::string& address,
                                               const std::string& path,
                                               const std::string& destination, Done done) {
  inner_.fetchPartition(address, path, destination, guard(std::move(done)));
}

v1::JobState toJobState(JobStatus status) {
  switch (status) {
    case JobStatus::kRunning:
      return v1::RUNNING;
    case JobStatus::kFinished:
      return v1::FINISHED;
    case JobStatus::kFailed:
      return v1::FAILED;
    case JobStatus::kCanceled:
      return v1::CANCELED;
  }
  return v1::FAILED;
}

SessionJob::SessionJob(EventLoop& loop, TaskManagerGateway& taskManagers, Params params,
                       std::function<void(const std::string& jobId)> ended)
    : loop_(loop),
      params_(std::move(params)),
      ended_(std::move(ended)),
      taskManagers_(std::make_unique<GuardedTaskManagerGateway>(taskManagers)) {}

SessionJob::~SessionJob() {
  if (finisher_.joinable()) finisher_.join();
}

void SessionJob::start(ResourceManager& resourceManager) {
  ResourceManagerGateway& gateway = resourceManager.addJob(id(), params_.priority);
  jobMaster_ = std::make_unique<JobMaster>(loop_, params_.spec, params_.jobMaster, gateway,
                                           *taskManagers_, this);
  resourceManager.setSlotOwner(id(), jobMaster_.get());
  jobMaster_->setAddress(params_.address);
  if (params_.reporter) {
    reporter_ = std::make_unique<DispatcherReporter>(*params_.reporter);
    reporter_->setAddress(params_.address);
    reporter_->start();
  }
  running_ = true;
  jobMaster_->start();
  submittedAt_ = jobMaster_->submittedAt();
}

void SessionJob::cancel(const std::string& reason) {
  if (running_) jobMaster_->cancel(reason);
}

void SessionJob::onProgress(const std::vector<StageProgress>& stages) {
  if (reporter_) reporter_->onProgress(stages);
}

void SessionJob::onJobEnded(JobStatus status, const std::string& error) {
  running_ = false;
  state_ = toJobState(status);
  error_ = error;
  if (reporter_) reporter_->onJobEnded(status, error);
  loop_.post([this] { ended_(id()); });
}

void SessionJob::finish(std::vector<v1::TaskManagerReport> taskManagers, SizingKind sizing) {
  finishedAt_ = jobMaster_->finishedAt();
  for (const auto& [tm, attempts] : jobMaster_->attemptsPerTaskManager()) {
    if (attempts > 0) usedTaskManagers_.push_back(tm);
  }
  auto report = std::make_shared<v1::JobReport>(makeJobReport(
      *jobMaster_, std::move(taskManagers), true, sizing, params_.jobMaster.outputDir));
  auto log = logger("session");
  Status written = writeReport(*report, params_.folder + "/report.json");
  if (!written.ok()) log->error("job {}: {}", id(), written.error().message);
  log->info("job {} {} on {} TaskManagers{}", id(), v1::JobState_Name(state_),
            usedTaskManagers_.size(), error_.empty() ? "" : ": " + error_);
  if (!reporter_) return;
  // The delivery is retried for a while: never on the loop.
  DispatcherReporter* reporter = reporter_.get();
  v1::JobState state = state_;
  std::string error = error_;
  finisher_ = std::thread([reporter, report, state, error] {
    reporter->finish(state, error, report.get());
  });
}

void SessionJob::release() {
  jobMaster_.reset();
  taskManagers_.reset();
}

v1::SessionJob SessionJob::view() const {
  v1::SessionJob job;
  job.set_job_id(id());
  job.set_name(params_.spec.name());
  job.set_state(state_);
  job.set_priority(params_.priority);
  job.set_submitted_at(submittedAt_);
  job.set_finished_at(finishedAt_);
  job.set_error(error_);
  if (running_) {
    for (const auto& [tm, attempts] : jobMaster_->attemptsPerTaskManager()) {
      if (attempts > 0) job.add_taskmanagers(tm);
    }
  } else {
    for (const auto& tm : usedTaskManagers_) job.add_taskmanagers(tm);
  }
  return job;
}

}  // namespace tailor::scheduler
