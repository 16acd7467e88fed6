#include "scheduler/session.hpp"

#include <unistd.h>

#include <cctype>
#include <filesystem>

#include "common/file_chunk.hpp"
#include "common/http/partition_route.hpp"
#include "common/jobspec/jobspec.hpp"
#include "common/logging.hpp"
#include "common/naming.hpp"
#include "common/rpc.hpp"
#include "scheduler/jobmaster/input_splits.hpp"
#include "scheduler/jobmaster/rpc_taskmanager_gateway.hpp"

namespace tailor::scheduler {

namespace fs = std::filesystem;

namespace {

// A job id names a folder: 1 to 128 of [A-Za-z0-9._-], not "." or "..".
Status checkJobId(const std::string& id) {
  if (isPlainName(id, 128)) return Status();
  return makeError(ErrorCode::kInvalidArgument,
                   "job_id: '{}' is not a job id (expected 1 to 128 of letters, digits, '.', "
                   "'_' or '-')",
                   id);
}


v1::TaskManagerStatus toStatus(const v1::TaskManagerReport& report) {
  v1::TaskManagerStatus tm;
  tm.set_id(report.id());
  *tm.mutable_resources() = report.resources();
  tm.set_slots(report.slots());
  tm.set_address(report.address());
  tm.set_launched_at(report.launched_at());
  tm.set_released_at(report.released_at());
  if (report.released_at() > 0) {
    tm.set_state(report.exit().rfind("lost", 0) == 0 ? "lost" : "released");
  } else {
    tm.set_state(report.registered_at() > 0 ? "running" : "starting");
  }
  return tm;
}

}  // namespace

Session::Session(AsioEventLoop& loop, JobManagerRuntime& runtime, SessionConfig config)
    : loop_(loop), runtime_(runtime), config_(std::move(config)), log_(logger("session")) {}

Session::~Session() = default;

void Session::start() {
  startedAt_ = loop_.wallSeconds();
  runtime_.resourceManager().start();
}

void Session::addRoutes() {
  rpc::Server& server = runtime_.rpcServer();
  ResourceManager& resourceManager = runtime_.resourceManager();
  server.handle<v1::SessionSubmitJobRequest, v1::SessionSubmitJobResponse>(
      "Session", "SubmitJob",
      [this](const v1::SessionSubmitJobRequest& r) -> Result<v1::SessionSubmitJobResponse> {
        return submitJob(r);
      });
  server.handle<v1::SessionCancelJobRequest, v1::SessionCancelJobResponse>(
      "Session", "CancelJob",
      [this](const v1::SessionCancelJobRequest& r) -> Result<v1::SessionCancelJobResponse> {
        return cancelJob(r);
      });
  server.handle<v1::SessionStatusRequest, v1::SessionStatus>(
      "Session", "GetStatus",
      [this](const v1::SessionStatusRequest&) -> Result<v1::SessionStatus> { return status(); });
  server.handle<v1::SessionStopRequest, v1::SessionStopResponse>(
      "Session", "Stop", [this](const v1::SessionStopRequest& r) -> Result<v1::SessionStopResponse> {
        // Answered first: the stop runs on the next turns.
        std::string reason = r.reason().empty() ? "asked to stop" : r.reason();
        loop_.post([this, reason] { stop(reason); });
        return v1::SessionStopResponse();
      });
  server.handle<v1::RegisterTaskManagerRequest, v1::RegisterTaskManagerResponse>(
      "ResourceManager", "RegisterTaskManager",
      [&resourceManager](const v1::RegisterTaskManagerRequest& r) {
        return resourceManager.registerTaskManager(r);
      });
  server.handle<v1::HeartbeatRequest, v1::HeartbeatResponse>(
      "ResourceManager", "Heartbeat",
      [&resourceManager](const v1::HeartbeatRequest& r) { return resourceManager.heartbeat(r); });
  server.handle<v1::TaskStateUpdate, v1::TaskStateUpdateResponse>(
      "JobMaster", "UpdateTaskState",
      [this](const v1::TaskStateUpdate& r) { return updateTaskState(r); });
  server.handle<v1::LocateTaskRequest, v1::LocateTaskResponse>(
      "JobManager", "LocateTask", [this](const v1::LocateTaskRequest& r) { return locateTask(r); });
  // Partitions moved off TaskManagers to make room, each job's under its id.
  http::servePartitions(runtime_.httpServer(), config_.workDir + "/partitions",
                        runtime_.jobSecret());
}

Result<v1::JobSpec> Session::prepareJob(const v1::SessionSubmitJobRequest& request,
                                        const std::string& folder) {
  std::string specName = request.spec_name().empty() ? "job.yaml" : request.spec_name();
  Status named = checkRelativePath(specName, "spec_name");
  if (!named.ok()) return named.error();
  for (const auto& file : request.files()) {
    Status checked = checkRelativePath(file.path(), "files");
    if (!checked.ok()) return checked.error();
  }
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "cannot create '{}': {}", folder, ec.message());
  }
  for (const auto& file : request.files()) {
    fs::path target = fs::path(folder) / file.path();
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return makeError(ErrorCode::kIo, "cannot create '{}': {}", target.parent_path().string(),
                       ec.message());
    }
    Status written = writeFileAtomically(target.string(), file.content());
    if (!written.ok()) return written.error();
  }
  Status written = writeFileAtomically(folder + "/" + specName, request.spec_yaml());
  if (!written.ok()) return written.error();
  // The parser `tailor run` uses; its errors name the spec's file and line.
  jobspec::ParseOptions parse;
  parse.clusterCapacity = config_.capacity;
  parse.clusterDescription = config_.capacityDescription;
  auto spec = jobspec::parseJobSpec(request.spec_yaml(), specName, folder, parse);
  if (!spec.ok()) return spec.error();
  Status fits = checkFixedSizing(config_.sizing, *spec);
  if (!fits.ok()) return fits.error();
  if (config_.onMesos) {
    for (const auto& stage : spec->stages()) {
      if (stage.resources().gpus() > 0) {
        return makeError(ErrorCode::kInvalidArgument,
                         "stage \"{}\" asks for GPUs, which a session on Mesos does not take "
                         "(run the job in per-job mode)",
                         stage.name());
      }
    }
  }
  return spec;
}

SessionJob::Params Session::jobParams(const v1::SessionSubmitJobRequest& request,
                                      v1::JobSpec spec, const std::string& folder,
                                      std::vector<std::vector<std::vector<v1::FileSplit>>> splits) {
  SessionJob::Params params;
  std::string outputDir = request.output_dir();
  if (outputDir.empty()) {
    outputDir = !spec.output().empty() ? (fs::path(folder) / spec.output()).string()
                                       : folder + "/output";
  }
  params.jobMaster.jobId = request.job_id();
  params.jobMaster.outputDir = fs::absolute(outputDir).lexically_normal().string();
  params.jobMaster.splits = std::move(splits);
  params.jobMaster.partitionDir = config_.workDir + "/partitions/" + request.job_id();
  params.jobMaster.partitionPathPrefix = request.job_id() + "/";
  params.jobMaster.sharedTaskManagers = true;
  params.spec = std::move(spec);
  params.priority = std::max(1, request.priority());
  params.folder = folder;
  params.address = address_;
  if (!request.dispatcher_address().empty()) {
    DispatcherReporterConfig reporter;
    reporter.dispatcherAddress = request.dispatcher_address();
    reporter.dispatcherLeaders = request.dispatcher_leaders();
    reporter.jobId = request.job_id();
    reporter.attempt = std::max(1, request.attempt());
    reporter.interval = config_.jobReportInterval;
    reporter.finalReportTimeout = config_.finalReportTimeout;
    // The Dispatcher cancels this job only, never the session.
    std::string jobId = request.job_id();
    reporter.onStopAsked = [this, jobId](const std::string& why) {
      loop_.post([this, jobId, why] {
        auto job = jobs_.find(jobId);
        if (job != jobs_.end()) job->second->cancel(why);
      });
    };
    params.reporter = std::move(reporter);
  }
  return params;
}

v1::SessionSubmitJobResponse Session::submitJob(const v1::SessionSubmitJobRequest& request) {
  v1::SessionSubmitJobResponse response;
  auto refuse = [&](const std::string& reason) {
    log_->warn("session {}: job {} refused: {}", config_.name, request.job_id(), reason);
    response.set_accepted(false);
    response.set_reason(reason);
    return response;
  };
  if (stopping_) return refuse(fmt::format("session {} is stopping", config_.name));
  Status id = checkJobId(request.job_id());
  if (!id.ok()) return refuse(id.error().message);
  if (jobs_.count(request.job_id()) != 0) {
    return refuse(fmt::format("session {} has a job {} already", config_.name, request.job_id()));
  }
  if (request.priority() < 0) {
    return refuse(fmt::format("priority: {} (expected 1 or more)", request.priority()));
  }
  std::string folder = config_.workDir + "/jobs/" + request.job_id();
  auto spec = prepareJob(request, folder);
  if (!spec.ok()) return refuse(spec.error().message);
  auto splits = planInputSplits(*spec);
  if (!splits.ok()) return refuse(splits.error().message);
  auto job = std::make_unique<SessionJob>(
      loop_, runtime_.taskManagers(),
      jobParams(request, std::move(*spec), folder, std::move(*splits)),
      [this](const std::string& jobId) { jobEnded(jobId); });
  SessionJob& started = *job;
  jobs_[request.job_id()] = std::move(job);
  log_->info("session {}: job {} submitted (priority {})", config_.name, request.job_id(),
             std::max(1, request.priority()));
  started.start(runtime_.resourceManager());
  response.set_accepted(true);
  return response;
}

v1::SessionCancelJobResponse Session::cancelJob(const v1::SessionCancelJobRequest& request) {
  v1::SessionCancelJobResponse response;
  auto job = jobs_.find(request.job_id());
  if (job == jobs_.end()) return response;
  response.set_known(true);
  job->second->cancel(request.reason().empty() ? "cancelled" : request.reason());
  return response;
}

v1::SessionStatus Session::status() const {
  v1::SessionStatus status;
  status.set_name(config_.name);
  status.set_address(address_);
  status.set_state(stopping_ ? v1::SESSION_STOPPING : v1::SESSION_RUNNING);
  int launched = 0;
  for (const auto& report : runtime_.resourceManager().taskManagerReports()) {
    if (report.launched_at() > 0) ++launched;
    *status.add_taskmanagers() = toStatus(report);
  }
  status.set_taskmanagers_launched(launched);
  for (const auto& [id, job] : jobs_) *status.add_jobs() = job->view();
  status.set_started_at(startedAt_);
  status.set_host(hostName());
  status.set_pid(static_cast<int>(getpid()));
  return status;
}

Result<v1::TaskStateUpdateResponse> Session::updateTaskState(const v1::TaskStateUpdate& update) {
  auto job = jobs_.find(update.job_id());
  if (job == jobs_.end()) {
    return makeError(ErrorCode::kNotFound, "session {} has no job '{}' (update of {})",
                     config_.name, update.job_id(), update.attempt_id());
  }
  JobMaster* jobMaster = job->second->jobMaster();
  // The job ended: its attempts' ends change nothing any more.
  if (jobMaster == nullptr) return v1::TaskStateUpdateResponse();
  return jobMaster->updateTaskState(update);
}

Result<v1::LocateTaskResponse> Session::locateTask(const v1::LocateTaskRequest& request) const {
  auto job = jobs_.find(request.job_id());
  if (job == jobs_.end()) {
    return makeError(ErrorCode::kNotFound, "session {} has no job '{}'", config_.name,
                     request.job_id());
  }
  JobMaster* jobMaster = job->second->jobMaster();
  if (jobMaster == nullptr) {
    return makeError(ErrorCode::kNotFound, "job {} ended; its tasks are no longer tracked",
                     request.job_id());
  }
  return jobMaster->locateTask(request.stage(), request.index());
}

void Session::jobEnded(const std::string& jobId) {
  auto found = jobs_.find(jobId);
  if (found == jobs_.end()) return;
  SessionJob& job = *found->second;
  ResourceManager& resourceManager = runtime_.resourceManager();
  job.finish(resourceManager.taskManagerReports(), config_.sizing.kind);
  // Its JobMaster released its slots when it ended (releaseAll).
  resourceManager.removeJob(jobId);
  ++jobsToFree_;
  // Calls the JobMaster posted before this run first.
  loop_.post([this, &job] {
    job.release();
    --jobsToFree_;
  });
}

void Session::stop(const std::string& reason) {
  if (stopping_) return;
  stopping_ = true;
  log_->info("session {}: stopping ({})", config_.name, reason);
  for (auto& [id, job] : jobs_) job->cancel("session " + config_.name + " stopped: " + reason);
  // The jobs end on the next turns (their ends are posted).
  loop_.post([this] { awaitJobsFreed(); });
}

void Session::awaitJobsFreed() {
  bool running = false;
  for (const auto& [id, job] : jobs_) running = running || job->running();
  if (running || jobsToFree_ > 0) {
    loop_.runAfter(Duration(20), [this] { awaitJobsFreed(); });
    return;
  }
  runtime_.resourceManager().releaseEverything();
  stopDeadline_ = loop_.now() + config_.stopTimeout;
  awaitReleased();
}

void Session::awaitReleased() {
  if (!runtime_.resourceManager().allReleased() && loop_.now() < stopDeadline_) {
    loop_.runAfter(Duration(20), [this] { awaitReleased(); });
    return;
  }
  runtime_.shutdownDriver();
  awaitDrained();
}

void Session::awaitDrained() {
  if (!runtime_.drained() && loop_.now() < stopDeadline_) {
    loop_.runAfter(Duration(20), [this] { awaitDrained(); });
    return;
  }
  log_->info("session {}: stopped", config_.name);
  loop_.stop();
}

}  // namespace tailor::scheduler
