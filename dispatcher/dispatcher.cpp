#include "dispatcher/dispatcher.hpp"

#include "common/task_log.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <random>

#include "common/logging.hpp"
#include "common/naming.hpp"
#include "common/secret.hpp"
#include "common/task_log.hpp"
#include "common/usage_history.hpp"

namespace tailor::dispatcher {

namespace fs = std::filesystem;

namespace {

// The state store value holding the key job secrets derive from.
constexpr const char* kSecretKeyValue = "secret-key";

// The last lines of a log, for a failure message (only its end is read).
std::string logTail(const std::string& path, std::int64_t bytes) {
  std::string text = readFileChunk(path, 0, bytes, bytes).data;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

const char* toString(v1::JobState state) {
  switch (state) {
    case v1::QUEUED: return "QUEUED";
    case v1::LAUNCHING: return "LAUNCHING";
    case v1::RUNNING: return "RUNNING";
    case v1::FINISHED: return "FINISHED";
    case v1::FAILED: return "FAILED";
    case v1::CANCELED: return "CANCELED";
    default: return "UNSPECIFIED";
  }
}

const char* toString(v1::SessionState state) {
  switch (state) {
    case v1::SESSION_STARTING: return "STARTING";
    case v1::SESSION_RUNNING: return "RUNNING";
    case v1::SESSION_STOPPING: return "STOPPING";
    case v1::SESSION_STOPPED: return "STOPPED";
    case v1::SESSION_FAILED: return "FAILED";
    default: return "UNSPECIFIED";
  }
}

Dispatcher::Dispatcher(EventLoop& loop, JobStore& store, JobManagerLauncher& launcher,
                       DispatcherConfig config)
    : loop_(loop),
      store_(store),
      launcher_(launcher),
      launcherName_(launcher.name()),
      config_(std::move(config)),
      jitter_(config_.jitter) {
  if (!jitter_) {
    jitter_ = [random = std::mt19937(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(-1.0, 1.0)(random);
    };
  }
  launcher_.setExitCallback([this](const std::string& jobId, int attempt, const std::string& how) {
    onJobManagerExited(jobId, attempt, how);
  });
  launcher_.setPlacedCallback([this](const std::string& jobId, int attempt,
                                     const std::string& host, const std::string& agentId) {
    onJobManagerPlaced(jobId, attempt, host, agentId);
  });
  launcher_.setSessionExitCallback(
      [this](const std::string& name, int attempt, const std::string& how) {
        onSessionExited(name, attempt, how);
      });
  launcher_.setSessionPlacedCallback([this](const std::string& name, int attempt,
                                            const std::string& host, const std::string& agentId) {
    onSessionPlaced(name, attempt, host, agentId);
  });
  addGauges();
}

Dispatcher::~Dispatcher() {
  if (watchdogArmed_) loop_.cancelTimer(watchdog_);
  for (auto& [id, job] : jobs_) {
    if (job.relaunchPending) loop_.cancelTimer(job.relaunchTimer);
  }
  for (auto& [name, session] : sessions_) {
    if (session.stopTimerArmed) loop_.cancelTimer(session.stopTimer);
  }
}

Dispatcher::Job* Dispatcher::find(const std::string& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const Dispatcher::Job* Dispatcher::find(const std::string& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::string Dispatcher::jobSecret(const std::string& jobId) const {
  auto job = jobs_.find(jobId);
  if (job != jobs_.end() && !job->second.record.session().empty()) {
    return sessionSecret(job->second.record.session());
  }
  return config_.secretKey.empty() ? "" : secret::derive(config_.secretKey, "job/" + jobId);
}

std::string Dispatcher::sessionSecret(const std::string& name) const {
  return config_.secretKey.empty() ? "" : secret::derive(config_.secretKey, "session/" + name);
}

std::string Dispatcher::outputDirFor(const v1::JobRecord& record) const {
  if (!record.output_dir().empty()) return record.output_dir();
  if (!record.report().output().empty()) return record.report().output();
  // Locally the launcher puts it in the job's folder; elsewhere the report tells.
  return launcherName_ == "local" ? store_.jobDir(record.id()) + "/output" : "";
}

Status Dispatcher::recover() {
  auto log = logger("dispatcher");
  if (config_.secretKey.empty()) {
    // Kept in the state store, so that this Dispatcher after a restart, and
    // whichever leads next, reaches the processes of the jobs started before.
    auto key = store_.getValue(kSecretKeyValue);
    if (!key.ok()) return key.error().withContext("the key job secrets derive from");
    if (key->empty()) {
      *key = secret::random();
      Status saved = store_.putValue(kSecretKeyValue, *key);
      if (!saved.ok()) return saved.error().withContext("the key job secrets derive from");
    }
    config_.secretKey = *key;
  }
  Status sessions = recoverSessions();
  if (!sessions.ok()) return sessions;
  std::vector<std::string> problems;
  auto records = store_.loadJobs(&problems);
  if (!records.ok()) return records.error();
  for (const auto& problem : problems) log->warn("state store: {} (skipped)", problem);
  int adopted = 0;
  for (auto& record : *records) {
    Job job;
    job.record = std::move(record);
    std::string baseDir = store_.jobDir(job.record.id()) + "/files";
    job.specPath = baseDir + "/" + job.record.spec_name();
    job.outputDir = outputDirFor(job.record);
    nextSequence_ = std::max(nextSequence_, job.record.sequence() + 1);
    const std::string id = job.record.id();
    bySequence_[job.record.sequence()] = id;
    if (!job.record.submission_id().empty()) bySubmission_[job.record.submission_id()] = id;
    auto& stored = jobs_[id] = std::move(job);
    auto state = stored.record.state();
    // A session's job has no JobManager of its own: its session settles it below.
    if (state == v1::QUEUED || inSession(stored)) continue;
    // LAUNCHING or RUNNING, or ended before its JobManager exited: that
    // JobManager may still be running, and holds its place until it exits.
    if (stored.record.attempts_size() > 0) {
      const auto& last = stored.record.attempts(stored.record.attempts_size() - 1);
      if (last.ended_at() == 0) {
        stored.jobManagerAlive = true;
        stored.lastHeard = loop_.now();
        launcher_.adopt(id, last);
        askStatus(stored);
        ++adopted;
        log->info("job {}: adopting JobManager attempt {} ({} pid {} task {})", id,
                  last.attempt(), last.host(), last.pid(), last.mesos_task_id());
        continue;
      }
    }
    if (isEndState(state)) continue;
    // Its JobManager was gone: the relaunch the strategy chose, or its
    // decision now when the earlier Dispatcher stopped before taking it.
    if (stored.record.restart_at() > 0 || stored.record.attempts_size() == 0) {
      double wait = std::max(0.0, stored.record.restart_at() - loop_.wallSeconds());
      scheduleRelaunch(stored, secondsToDuration(wait));
    } else {
      afterAttemptFailed(stored, stored.record.attempts(stored.record.attempts_size() - 1).exit());
    }
  }
  log->info("recovered {} job records from {} ({} JobManagers adopted); restart strategy of "
            "jobs that name none: {}",
            jobs_.size(), store_.describe(), adopted,
            describeRestartStrategy(config_.restartStrategy));
  recovered_ = true;
  settleSessionsAfterRecovery();
  checkSilentJobManagers();
  schedule();
  return Status();
}

Status Dispatcher::checkQueueLimit(const v1::SubmitJobRequest& request,
                                   const std::string& owner) const {
  if (!request.submission_id().empty() && bySubmission_.count(request.submission_id()) != 0) {
    return Status();  // answered with the job it made
  }
  int queued = 0;
  for (const auto& [id, job] : jobs_) {
    if (job.record.state() == v1::QUEUED && job.record.owner() == owner) ++queued;
  }
  if (queued < config_.maxQueuedJobsPerUser) return Status();
  return makeError(ErrorCode::kFailedPrecondition,
                   "{} already has {} jobs queued, the limit (--max-queued-jobs-per-user {}); "
                   "submit again once some have started",
                   owner.empty() ? std::string("this Dispatcher") : "user " + owner, queued,
                   config_.maxQueuedJobsPerUser);
}

Status Dispatcher::checkJobOwner(const std::string& id,
                                 const std::optional<std::string>& owner) const {
  const Job* job = find(id);
  if (job == nullptr || (owner && job->record.owner() != *owner)) {
    return makeError(ErrorCode::kNotFound, "no job with id '{}'", id);
  }
  return Status();
}

Result<v1::SubmitJobResponse> Dispatcher::submit(const v1::SubmitJobRequest& request,
                                                 const Submitter& by) {
  static thread_local std::mt19937 random{std::random_device{}()};
  // The id first, so that the spec's base folder is known for validation.
  v1::JobRecord record;
  auto checked = checkSubmission(request, "/", config_.limits);
  if (!checked.ok()) return checked.error();
  if (auto known = bySubmission_.find(request.submission_id());
      !request.submission_id().empty() && known != bySubmission_.end()) {
    // Sent again (its answer was lost, or it went to a Dispatcher that has
    // since failed over): the job it made, not a second one.
    logger("dispatcher")->info("job {}: submission {} again; answered with the job it made",
                               known->second, request.submission_id());
    return submitted(known->second);
  }
  if (!request.session().empty()) {
    Status takes = checkSessionTakesJobs(request.session(), by);
    if (!takes.ok()) return takes.error();
  }
  std::string id;
  bool taken = false;
  int tries = 0;
  do {
    id = makeJobId(checked->spec.name(), loop_.wallSeconds(), random());
    std::error_code ec;  // a name the file system refuses is a taken id, never a throw
    taken = jobs_.count(id) != 0 || fs::exists(store_.jobDir(id), ec) || ec;
  } while (taken && ++tries < 100);
  if (taken) return makeError(ErrorCode::kInternal, "no free job id for '{}'", id);
  auto folder = store_.putFiles(id, checked->files);
  if (!folder.ok()) {
    logger("dispatcher")->error("job {}: cannot store its files: {}", id, folder.error().message);
    return makeError(folder.error().code == ErrorCode::kInvalidArgument ? ErrorCode::kInvalidArgument
                                                                        : ErrorCode::kInternal,
                     "cannot store the job's files: {}", folder.error().message);
  }

  record.set_id(id);
  record.set_name(checked->spec.name());
  record.set_priority(request.priority());
  record.set_sequence(nextSequence_++);
  record.set_spec_name(checked->specName);
  record.set_spec_yaml(request.spec());
  for (size_t i = 1; i < checked->files.size(); ++i) record.add_files(checked->files[i].path());
  record.set_submitted_at(loop_.wallSeconds());
  record.set_submission_id(request.submission_id());
  record.set_session(request.session());
  record.set_owner(by.owner);
  *record.mutable_restart_strategy() =
      checked->spec.restart_strategy().type() != v1::RESTART_STRATEGY_TYPE_UNSPECIFIED
          ? checked->spec.restart_strategy()
          : config_.restartStrategy;
  for (const auto& stage : checked->spec.stages()) {
    auto* status = record.add_stages();
    status->set_name(stage.name());
    status->set_parallelism(stage.parallelism());
    for (const auto& input : stage.inputs()) status->add_inputs(input.stage());
  }
  Job job;
  job.record = std::move(record);
  job.specPath = *folder + "/" + checked->specName;
  // An absolute `output` in the spec is honoured; any other goes to the job's folder.
  if (!checked->spec.output().empty() && checked->spec.output().front() == '/') {
    job.record.set_output_dir(checked->spec.output());
  }
  job.outputDir = outputDirFor(job.record);
  auto* change = job.record.add_history();
  change->set_state(v1::QUEUED);
  change->set_at(loop_.wallSeconds());
  change->set_reason("submitted");
  job.record.set_state(v1::QUEUED);
  Status stored = store_.putJob(job.record);
  if (!stored.ok()) return stored.error();
  bySequence_[job.record.sequence()] = id;
  if (!request.submission_id().empty()) bySubmission_[request.submission_id()] = id;
  jobs_[id] = std::move(job);
  logger("dispatcher")->info("job {}: submitted ({} stages, {} files, priority {}{})", id,
                             checked->spec.stages_size(), checked->files.size() - 1,
                             request.priority(),
                             request.session().empty() ? "" : ", session " + request.session());
  if (request.session().empty()) {
    schedule();
  } else if (Session* session = findSession(request.session());
             session != nullptr && session->record.view().state() == v1::SESSION_RUNNING) {
    handOver(jobs_.at(id), *session);
  }
  return submitted(id);
}

v1::SubmitJobResponse Dispatcher::submitted(const std::string& id) const {
  v1::SubmitJobResponse response;
  response.set_id(id);
  const Job* now = find(id);
  response.set_state(now->record.state());
  auto positions = queuePositions();
  auto it = positions.find(id);
  response.set_queue_position(it == positions.end() ? 0 : it->second);
  return response;
}

int Dispatcher::running() const {
  int count = 0;
  for (const auto& [id, job] : jobs_) {
    if (inSession(job)) continue;  // its session's JobManager runs it
    auto state = job.record.state();
    // An ended job's JobManager still counts until its process is gone.
    if (state == v1::LAUNCHING || state == v1::RUNNING || job.jobManagerAlive) ++count;
  }
  return count;
}

std::map<std::string, int> Dispatcher::queuePositions() const {
  std::vector<QueuedJob> queued;
  for (const auto& [id, job] : jobs_) {
    if (job.record.state() == v1::QUEUED && !inSession(job)) {
      queued.push_back({id, job.record.priority(), job.record.sequence()});
    }
  }
  std::map<std::string, int> positions;
  int position = 1;
  for (auto& id : queueOrder(std::move(queued))) positions[id] = position++;
  return positions;
}

void Dispatcher::schedule() {
  if (!recovered_) return;
  // A launch that fails for good ends its job, and end() schedules again:
  // that is done by this loop, not by a nested one (no recursion per job).
  if (scheduling_) {
    scheduleAgain_ = true;
    return;
  }
  scheduling_ = true;
  do {
    scheduleAgain_ = false;
    scheduleOnce();
  } while (scheduleAgain_);
  scheduling_ = false;
}

void Dispatcher::scheduleOnce() {
  int room = launchSlots(running(), config_.maxRunningJobs);
  if (room == 0) return;
  std::vector<QueuedJob> queued;
  for (const auto& [id, job] : jobs_) {
    // A session's job waits for its session, not for room.
    if (job.record.state() == v1::QUEUED && !inSession(job)) {
      queued.push_back({id, job.record.priority(), job.record.sequence()});
    }
  }
  for (const auto& id : queueOrder(std::move(queued))) {
    // Take the room and the states as they are now (a launch may have failed).
    if (launchSlots(running(), config_.maxRunningJobs) == 0) break;
    Job& job = jobs_.at(id);
    if (job.record.state() == v1::QUEUED) launch(job);
  }
}

void Dispatcher::launch(Job& job) {
  auto log = logger("dispatcher");
  int attempt = job.record.attempts_size() + 1;
  // The attempt is on disk before its process exists: a Dispatcher that dies
  // in between finds it at restart (gone, so the next attempt is N+1, and a
  // JobManager that did start learns from its first report that it is stale).
  {
    v1::JobManagerAttempt planned;
    planned.set_attempt(attempt);
    planned.set_launcher(launcherName_);
    planned.set_launched_at(loop_.wallSeconds());
    *job.record.add_attempts() = planned;
  }
  if (job.record.output_dir().empty() && launcherName_ == "local") {
    // Pinned at the first launch: a Dispatcher that takes over (with another
    // work folder) finds the output where this attempt writes it.
    job.record.set_output_dir(store_.jobDir(job.record.id()) + "/output");
    job.outputDir = job.record.output_dir();
  }
  job.record.set_restart_at(0);
  transition(job, v1::LAUNCHING,
             attempt == 1 ? "starting a JobManager"
                          : fmt::format("starting JobManager attempt {}", attempt));
  JobManagerLaunch request;
  request.jobId = job.record.id();
  request.attempt = attempt;
  request.specPath = job.specPath;
  request.jobDir = store_.jobDir(job.record.id());
  request.outputDir = job.record.output_dir();
  request.dispatcherAddress = address_;
  request.haStore = store_.jobManagerStore(job.record.id());
  request.dispatcherLeaders = config_.dispatcherLeaders;
  request.secret = jobSecret(job.record.id());
  auto started = launcher_.launch(request);
  v1::JobManagerAttempt& record = *job.record.mutable_attempts(attempt - 1);
  double launchedAt = record.launched_at();
  if (started.ok()) {
    record = *started;
  } else {
    record.set_exit("could not start: " + started.error().message);
    record.set_ended_at(loop_.wallSeconds());
  }
  record.set_attempt(attempt);
  record.set_launcher(launcherName_);
  record.set_launched_at(launchedAt);
  if (!started.ok()) {
    log->error("job {}: cannot start JobManager attempt {}: {}", job.record.id(), attempt,
               started.error().message);
    persist(job);
    afterAttemptFailed(job, "could not start: " + started.error().message);
    return;
  }
  job.jobManagerAlive = true;
  job.lastHeard = loop_.now();
  log->info("job {}: JobManager attempt {} started ({} on {}, pid {})", job.record.id(), attempt,
            record.launcher(), record.host(), record.pid());
  persist(job);
  checkSilentJobManagers();
}

void Dispatcher::transition(Job& job, v1::JobState state, const std::string& reason) {
  job.record.set_state(state);
  auto* change = job.record.add_history();
  change->set_state(state);
  change->set_at(loop_.wallSeconds());
  change->set_reason(reason);
  persist(job);
}

void Dispatcher::persist(Job& job) {
  Status stored = store_.putJob(job.record);
  if (!stored.ok()) {
    // The state store is the source of truth; losing it silently would lose
    // jobs: the Dispatcher says it is not ready until a write succeeds again.
    storeError_ = stored.error().message;
    logger("dispatcher")->error("job {}: cannot write its record: {}", job.record.id(),
                                stored.error().message);
    return;
  }
  storeError_.clear();
}

void Dispatcher::end(Job& job, v1::JobState state, const std::string& error,
                     const v1::JobReport* report) {
  if (isEndState(job.record.state())) return;
  if (report != nullptr) {
    *job.record.mutable_report() = *report;
    job.outputDir = outputDirFor(job.record);
    rememberUsage(*report);
  }
  job.record.set_error(error);
  job.record.set_restart_at(0);
  job.failedReport.reset();
  if (inSession(job) && job.record.attempts_size() > 0) {
    // No process of its own exits: its run in the session ends here.
    auto* last = job.record.mutable_attempts(job.record.attempts_size() - 1);
    if (last->ended_at() == 0) {
      last->set_ended_at(loop_.wallSeconds());
      last->set_exit(fmt::format("ended {} in session {}", toString(state), job.record.session()));
    }
  }
  if (job.relaunchPending) {
    loop_.cancelTimer(job.relaunchTimer);
    job.relaunchPending = false;
  }
  logger("dispatcher")->info("job {}: {}{}{}", job.record.id(), toString(state),
                             error.empty() ? "" : ": ", error);
  transition(job, state, error.empty() ? "job ended" : error);
  countEndedJob(job.record);
  schedule();
}

namespace {

// The state store's key of a job name's usage history.
std::string usageKey(const std::string& jobName) { return "usage-" + jobName; }

}  // namespace

Result<v1::UsageHistory> Dispatcher::usageHistory(const std::string& jobName) {
  if (!isPlainName(jobName, 100)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "job_name: '{}' is not a job name (expected at most 100 letters, digits, "
                     "'_', '.' and '-')",
                     jobName);
  }
  v1::UsageHistory history;
  history.set_job_name(jobName);
  auto stored = store_.getValue(usageKey(jobName));
  if (!stored.ok()) return stored.error();
  if (!stored->empty() && !history.ParseFromString(*stored)) {
    // A damaged history costs the next runs their right-sizing, nothing else.
    logger("dispatcher")->warn("usage history of job name {}: unreadable, starting afresh",
                               jobName);
    history.Clear();
    history.set_job_name(jobName);
  }
  return history;
}

void Dispatcher::rememberUsage(const v1::JobReport& report) {
  bool measured = false;
  for (const auto& stage : report.stages()) {
    if (stage.usage().recommended().mem() > 0) measured = true;
  }
  if (!measured) return;
  auto history = usageHistory(report.job().name());
  if (!history.ok()) {
    logger("dispatcher")->warn("usage history of job name {}: {}", report.job().name(),
                               history.error().message);
    return;
  }
  recordUsage(*history, report);
  Status stored = store_.putValue(usageKey(report.job().name()), history->SerializeAsString());
  if (!stored.ok()) {
    logger("dispatcher")->warn("usage history of job name {}: not stored: {}",
                               report.job().name(), stored.error().message);
  }
}

const v1::RestartStrategy& Dispatcher::strategyOf(const Job& job) const {
  return job.record.restart_strategy().type() != v1::RESTART_STRATEGY_TYPE_UNSPECIFIED
             ? job.record.restart_strategy()
             : config_.restartStrategy;
}

bool Dispatcher::restartsWhenFailed(const Job& job) const {
  const auto& on = strategyOf(job).restart_on();
  return !job.record.cancel_requested() && !inSession(job) &&
         std::find(on.begin(), on.end(), v1::JOB_FAILED) != on.end();
}

void Dispatcher::holdFailure(Job& job, const std::string& error, const v1::JobReport* report) {
  auto* attempt = job.record.mutable_attempts(job.record.attempts_size() - 1);
  if (report != nullptr) job.failedReport = *report;
  if (!attempt->job_error().empty()) return;  // heard before (a report sent twice)
  attempt->set_job_error(error.empty() ? "the job failed" : error);
  logger("dispatcher")
      ->info("job {}: JobManager attempt {} ended the job FAILED: {}; its restart strategy decides "
             "once it exited",
             job.record.id(), attempt->attempt(), attempt->job_error());
  persist(job);
}

void Dispatcher::afterAttemptFailed(Job& job, const std::string& how) {
  auto log = logger("dispatcher");
  job.jobManagerAlive = false;
  const std::string& id = job.record.id();
  if (job.record.cancel_requested()) {
    end(job, v1::CANCELED, "canceled by the user", nullptr);
    return;
  }
  const auto& last = job.record.attempts(job.record.attempts_size() - 1);
  const bool jobFailed = !last.job_error().empty();
  std::vector<FailedRun> failures;
  for (const auto& attempt : job.record.attempts()) {
    failures.push_back(FailedRun{attempt.launched_at(), attempt.ended_at()});
  }
  RestartDecision decision =
      decideRestart(strategyOf(job), jobFailed ? v1::JOB_FAILED : v1::JOBMANAGER_LOST, failures,
                    loop_.wallSeconds(), jitter_);
  std::string failure =
      jobFailed ? fmt::format("JobManager attempt {} ended the job FAILED: {}", last.attempt(),
                              last.job_error())
                : fmt::format("JobManager attempt {} {}", last.attempt(), how);
  if (!decision.restart) {
    std::string tail =
        jobFailed ? "" : logTail(jobManagerLogPath(store_.jobDir(id), last.attempt()), 600);
    std::optional<v1::JobReport> report = std::move(job.failedReport);
    end(job, v1::FAILED,
        fmt::format("{}; the last failure: {}{}{}", decision.reason, failure,
                    tail.empty() ? "" : "; its log ends with:\n", tail),
        report ? &*report : nullptr);
    return;
  }
  job.failedReport.reset();
  log->warn("job {}: {}; relaunching in {} ms ({})", id, failure,
            decision.delay.count(), restartStrategyName(strategyOf(job).type()));
  job.record.set_restart_at(loop_.wallSeconds() + durationToSeconds(decision.delay));
  transition(job, v1::LAUNCHING,
             fmt::format("{}; relaunching in {:.1f}s", failure,
                         static_cast<double>(decision.delay.count()) / 1000));
  scheduleRelaunch(job, decision.delay);
}

void Dispatcher::scheduleRelaunch(Job& job, Duration delay) {
  job.relaunchPending = true;
  job.relaunchTimer = loop_.runAfter(delay, [this, id = job.record.id()] {
    Job* job = find(id);
    if (job == nullptr) return;
    job->relaunchPending = false;
    if (!isEndState(job->record.state())) launch(*job);
  });
}

void Dispatcher::onJobManagerExited(const std::string& jobId, int attempt, const std::string& how) {
  Job* job = find(jobId);
  if (job == nullptr || attempt < 1 || attempt != job->record.attempts_size()) return;
  auto* last = job->record.mutable_attempts(attempt - 1);
  if (last->ended_at() != 0) return;  // already settled (silence)
  last->set_ended_at(loop_.wallSeconds());
  last->set_exit(how);
  job->jobManagerAlive = false;
  if (isEndState(job->record.state())) {
    persist(*job);
    schedule();  // its place is free now
    return;
  }
  // It may have ended the job without reaching us: its report file says so.
  std::string reportFile = jobManagerReportPath(store_.jobDir(jobId), attempt);
  std::string text = readWholeFile(reportFile).value_or("");
  if (!text.empty()) {
    v1::JobReport report;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (google::protobuf::util::JsonStringToMessage(text, &report, options).ok()) {
      v1::JobState state = v1::FAILED;
      (void)v1::JobState_Parse(report.job().status(), &state);
      if (state == v1::FAILED && restartsWhenFailed(*job)) {
        holdFailure(*job, report.job().error(), &report);
      } else if (isEndState(state)) {
        end(*job, state, report.job().error(), &report);
        return;
      }
    }
  }
  persist(*job);
  afterAttemptFailed(*job, how);
}

void Dispatcher::onJobManagerPlaced(const std::string& jobId, int attempt,
                                    const std::string& host, const std::string& agentId) {
  Job* job = find(jobId);
  if (job == nullptr || attempt < 1 || attempt != job->record.attempts_size()) return;
  auto* last = job->record.mutable_attempts(attempt - 1);
  if (last->ended_at() != 0) return;
  last->set_host(host);
  last->set_mesos_agent_id(agentId);
  logger("dispatcher")->info("job {}: JobManager attempt {} placed on agent {} ({})", jobId,
                             attempt, agentId, host);
  persist(*job);
}

void Dispatcher::checkSilentJobManagers() {
  if (watchdogArmed_) return;
  bool any = false;
  for (auto& [id, job] : jobs_) {
    if (!job.jobManagerAlive) continue;
    any = true;
    if (isEndState(job.record.state())) {
      // It reported the end but does not exit: make it, so its place frees up.
      if (loop_.now() - job.lastHeard >= config_.jobManagerTimeout) {
        logger("dispatcher")->warn("job {}: JobManager still running {} s after the end; killing it",
                                   id, config_.jobManagerTimeout.count() / 1000);
        launcher_.stop(id, job.record.attempts_size(), true);
        job.lastHeard = loop_.now();
      }
      continue;
    }
    if (launcher_.waiting(id, job.record.attempts_size())) {
      job.lastHeard = loop_.now();  // waiting for resources is not silence
      continue;
    }
    Duration silent = std::chrono::duration_cast<Duration>(loop_.now() - job.lastHeard);
    if (silent < config_.jobManagerTimeout) {
      // Half the time without a report: ask it directly before giving it up.
      if (silent >= config_.jobManagerTimeout / 2) askStatus(job);
      continue;
    }
    int attempt = job.record.attempts_size();
    std::string how = fmt::format("sent no status for {} s", config_.jobManagerTimeout.count() / 1000);
    logger("dispatcher")->warn("job {}: JobManager attempt {} {}; stopping it", id, attempt, how);
    launcher_.stop(id, attempt, true);
    auto* last = job.record.mutable_attempts(attempt - 1);
    last->set_ended_at(loop_.wallSeconds());
    last->set_exit(how);
    persist(job);
    afterAttemptFailed(job, how);
  }
  if (checkSilentSessions()) any = true;
  // A job that failed above may have let the next one launch, which armed it already.
  if (!any || watchdogArmed_) return;
  watchdogArmed_ = true;
  watchdog_ = loop_.runAfter(Duration(1000), [this] {
    watchdogArmed_ = false;
    checkSilentJobManagers();
  });
}

void Dispatcher::askStatus(Job& job) {
  if (gateway_ == nullptr || job.asking || job.record.attempts_size() == 0) return;
  const auto& attempt = job.record.attempts(job.record.attempts_size() - 1);
  if (attempt.address().empty() || attempt.ended_at() != 0) return;
  job.asking = true;
  const std::string id = job.record.id();
  const int number = attempt.attempt();
  gateway_->getStatus(attempt.address(), id,
                      [this, id, number](Result<v1::ReportJobStatusRequest> status) {
                        Job* job = find(id);
                        if (job == nullptr) return;
                        job->asking = false;
                        if (!status.ok()) {
                          logger("dispatcher")->debug("job {}: asking its JobManager failed: {}",
                                                      id, status.error().message);
                          return;
                        }
                        // Only an answer about the attempt asked counts.
                        if (status->job_id() != id || status->attempt() != number) return;
                        reportStatus(*status);
                      });
}

v1::ReportJobStatusResponse Dispatcher::reportStatus(const v1::ReportJobStatusRequest& request) {
  v1::ReportJobStatusResponse response;
  Job* job = find(request.job_id());
  if (job == nullptr || request.attempt() < 1 ||
      request.attempt() != job->record.attempts_size() ||
      job->record.attempts(request.attempt() - 1).ended_at() != 0) {
    response.set_known(false);
    return response;
  }
  response.set_known(true);
  response.set_cancel(job->record.cancel_requested());
  job->lastHeard = loop_.now();
  if (isEndState(job->record.state())) return response;
  auto* attempt = job->record.mutable_attempts(request.attempt() - 1);
  bool learned = !request.address().empty() && attempt->address() != request.address();
  if (learned) attempt->set_address(request.address());
  if (attempt->host().empty()) attempt->set_host(request.host());
  if (attempt->pid() == 0) attempt->set_pid(request.pid());
  if (request.stages_size() > 0) *job->record.mutable_stages() = request.stages();
  *job->record.mutable_taskmanagers() = request.taskmanagers();
  if (request.state() == v1::FAILED && restartsWhenFailed(*job)) {
    // Restarted (or not) once this JobManager exited, so that two never run the job at once.
    holdFailure(*job, request.error(), request.has_report() ? &request.report() : nullptr);
    return response;
  }
  if (isEndState(request.state())) {
    bool canceledByUser = request.state() == v1::CANCELED && job->record.cancel_requested();
    end(*job, request.state(), canceledByUser ? "canceled by the user" : request.error(),
        request.has_report() ? &request.report() : nullptr);
    return response;
  }
  if (job->record.state() != v1::LAUNCHING) {
    // Where the JobManager listens is worth keeping: a restarted Dispatcher asks it there.
    if (learned) persist(*job);
    return response;
  }
  transition(*job, v1::RUNNING,
             inSession(*job)
                 ? fmt::format("running in session {} on {}", job->record.session(),
                               request.address())
                 : fmt::format("JobManager attempt {} running on {} (pid {})", request.attempt(),
                               request.host(), request.pid()));
  return response;
}

Result<v1::JobView> Dispatcher::cancel(const std::string& id) {
  Job* job = find(id);
  if (job == nullptr) return makeError(ErrorCode::kNotFound, "no job with id '{}'", id);
  if (isEndState(job->record.state())) {
    return makeError(ErrorCode::kFailedPrecondition, "job {} already ended {}", id,
                     toString(job->record.state()));
  }
  logger("dispatcher")->info("job {}: cancel requested", id);
  job->record.set_cancel_requested(true);
  if (inSession(*job)) {
    cancelInSession(*job);
  } else if (!job->jobManagerAlive) {
    end(*job, v1::CANCELED, "canceled by the user", nullptr);
  } else {
    persist(*job);
    launcher_.stop(id, job->record.attempts_size(), false);
  }
  if (!storeError_.empty()) {
    // Done in memory and asked of the JobManager, but not on disk.
    return makeError(ErrorCode::kInternal,
                     "job {}: the cancel could not be recorded in the state store ({}); it is "
                     "not durable across a restart",
                     id, storeError_);
  }
  return view(*job, true);
}

v1::JobView Dispatcher::view(const Job& job, bool full) const {
  const auto& record = job.record;
  v1::JobView view;
  view.set_id(record.id());
  view.set_name(record.name());
  view.set_state(record.state());
  view.set_priority(record.priority());
  view.set_submitted_at(record.submitted_at());
  view.set_error(record.error());
  view.set_attempt(record.attempts_size());
  view.set_cancel_requested(record.cancel_requested());
  view.set_output(job.outputDir);
  view.set_session(record.session());
  view.set_owner(record.owner());
  for (const auto& change : record.history()) {
    if (change.state() == v1::RUNNING && view.started_at() == 0) view.set_started_at(change.at());
    if (isEndState(change.state())) view.set_finished_at(change.at());
  }
  if (record.state() == v1::QUEUED) {
    auto positions = queuePositions();
    view.set_queue_position(positions[record.id()]);
  }
  for (const auto& stage : record.stages()) {
    view.set_tasks(view.tasks() + stage.parallelism());
    view.set_tasks_finished(view.tasks_finished() + stage.finished());
  }
  for (const auto& taskManager : record.taskmanagers()) {
    if (taskManager.state() == "starting" || taskManager.state() == "running") {
      view.set_taskmanagers_running(view.taskmanagers_running() + 1);
    }
  }
  if (full) {
    *view.mutable_stages() = record.stages();
    // Nothing waits once the job ended.
    if (isEndState(record.state())) {
      for (auto& stage : *view.mutable_stages()) stage.clear_waiting();
    }
    *view.mutable_taskmanagers() = record.taskmanagers();
    *view.mutable_history() = record.history();
    *view.mutable_attempts() = record.attempts();
    *view.mutable_files() = record.files();
  }
  *view.mutable_restart_strategy() = strategyOf(job);
  view.set_restart_at(record.restart_at());
  return view;
}

Result<v1::JobView> Dispatcher::job(const std::string& id) const {
  const Job* job = find(id);
  if (job == nullptr) return makeError(ErrorCode::kNotFound, "no job with id '{}'", id);
  return view(*job, true);
}

v1::ListJobsResponse Dispatcher::list(std::optional<v1::JobState> state, int offset, int limit,
                                      const std::optional<std::string>& owner) const {
  v1::ListJobsResponse response;
  response.set_offset(offset);
  response.set_limit(limit);
  auto positions = queuePositions();
  int matched = 0;
  for (const auto& [sequence, id] : bySequence_) {
    const Job& job = jobs_.at(id);
    if (state && job.record.state() != *state) continue;
    if (owner && job.record.owner() != *owner) continue;
    if (matched >= offset && response.jobs_size() < limit) {
      auto item = view(job, false);
      if (job.record.state() == v1::QUEUED) item.set_queue_position(positions[id]);
      *response.add_jobs() = std::move(item);
    }
    ++matched;
  }
  response.set_total(matched);
  return response;
}

v1::Overview Dispatcher::overview(const std::optional<std::string>& owner) const {
  v1::Overview overview;
  auto& counts = *overview.mutable_jobs();
  for (auto state : {v1::QUEUED, v1::LAUNCHING, v1::RUNNING, v1::FINISHED, v1::FAILED,
                     v1::CANCELED}) {
    counts[toString(state)] = 0;
  }
  auto* held = overview.mutable_resources();
  auto addTaskManager = [&](const v1::TaskManagerStatus& tm) {
    if (tm.state() != "starting" && tm.state() != "running") return;
    overview.set_taskmanagers(overview.taskmanagers() + 1);
    held->set_cpus(held->cpus() + tm.resources().cpus());
    held->set_mem(held->mem() + tm.resources().mem());
    held->set_disk(held->disk() + tm.resources().disk());
    held->set_gpus(held->gpus() + tm.resources().gpus());
  };
  for (const auto& [id, job] : jobs_) {
    if (owner && job.record.owner() != *owner) continue;
    counts[toString(job.record.state())]++;
    if (job.jobManagerAlive) overview.set_jobmanagers(overview.jobmanagers() + 1);
    // A session's TaskManagers are counted once, with the session below.
    if (isEndState(job.record.state()) || inSession(job)) continue;
    for (const auto& tm : job.record.taskmanagers()) addTaskManager(tm);
  }
  for (const auto& [name, session] : sessions_) {
    if (owner && session.record.view().owner() != *owner) continue;
    if (session.alive) overview.set_jobmanagers(overview.jobmanagers() + 1);
    if (isEndState(session.record.view().state())) continue;
    for (const auto& tm : session.record.view().taskmanagers()) addTaskManager(tm);
  }
  overview.set_max_running_jobs(config_.maxRunningJobs);
  return overview;
}

Result<v1::JobReport> Dispatcher::report(const std::string& id) const {
  const Job* job = find(id);
  if (job == nullptr) return makeError(ErrorCode::kNotFound, "no job with id '{}'", id);
  if (!isEndState(job->record.state())) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "job {} is {}; its report exists once it ended", id,
                     toString(job->record.state()));
  }
  if (!job->record.has_report()) {
    return makeError(ErrorCode::kNotFound, "job {} ended {} without a run report: {}", id,
                     toString(job->record.state()), job->record.error());
  }
  return job->record.report();
}

Result<std::string> Dispatcher::filesArchive(const std::string& id) const {
  const Job* job = find(id);
  if (job == nullptr) return makeError(ErrorCode::kNotFound, "no job with id '{}'", id);
  return store_.jobDir(id) + "/files.tar";
}

Result<std::pair<std::string, int>> Dispatcher::parseTask(const Job& job,
                                                          const std::string& task) const {
  auto open = task.find('[');
  int index = -1;
  if (open != std::string::npos && task.size() > open + 2 && task.back() == ']') {
    std::string digits = task.substr(open + 1, task.size() - open - 2);
    if (!digits.empty() && digits.size() < 9 &&
        digits.find_first_not_of("0123456789") == std::string::npos) {
      index = std::stoi(digits);
    }
  }
  if (index < 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "query parameter 'task': '{}' is not a task (expected STAGE[INDEX], such "
                     "as count[0])",
                     task);
  }
  std::string stage = task.substr(0, open);
  for (const auto& status : job.record.stages()) {
    if (status.name() == stage && index < status.parallelism()) {
      return std::make_pair(stage, index);
    }
  }
  return makeError(ErrorCode::kNotFound, "job {} has no task {}", job.record.id(), task);
}

void Dispatcher::readRemoteTaskLog(const std::string& id, const std::string& task, int attempt,
                                   std::int64_t offset, std::int64_t length, std::int64_t tail,
                                   TaskLogCallback done) {
  const Job* job = find(id);
  if (job == nullptr) return done(makeError(ErrorCode::kNotFound, "no job with id '{}'", id));
  auto parsed = parseTask(*job, task);
  if (!parsed.ok()) return done(parsed.error());
  // Named copies, not a structured binding: the callback below captures them,
  // which clang before 16 refuses for bindings.
  std::string stage = parsed->first;
  int index = parsed->second;
  std::string kept = fmt::format(
      "on Mesos a task's stderr stays in its TaskManager's sandbox on the agent, as "
      "task-logs/{}/{}-{}-<attempt>.stderr",
      fileNameOf(id), stage, index);
  const v1::JobManagerAttempt* last =
      job->record.attempts_size() > 0 ? &job->record.attempts(job->record.attempts_size() - 1)
                                      : nullptr;
  if (gateway_ == nullptr || last == nullptr || last->ended_at() != 0 || last->address().empty()) {
    return done(makeError(ErrorCode::kNotFound, "job {}: no JobManager runs to ask; {}", id, kept));
  }
  gateway_->locateTask(
      last->address(), id, stage, index,
      [this, id, task, stage, index, attempt, offset, length, tail, kept,
       done](Result<v1::LocateTaskResponse> located) {
        if (!located.ok()) {
          return done(makeError(ErrorCode::kNotFound, "job {}: {}", id, located.error().message));
        }
        v1::ReadTaskLogRequest request;
        request.set_job_id(id);
        request.set_stage(stage);
        request.set_index(index);
        request.set_attempt(attempt > 0 ? attempt : located->attempt());
        request.set_offset(offset);
        request.set_length(length);
        request.set_tail(tail);
        std::string taskManager = located->taskmanager_id();
        gateway_->readTaskLog(
            located->address(), request,
            [id, task, taskManager, kept, done](Result<v1::ReadTaskLogResponse> read) {
              if (!read.ok()) {
                return done(makeError(ErrorCode::kNotFound,
                                      "job {}: {} cannot be read from {} ({}); {}", id, task,
                                      taskManager, read.error().message, kept));
              }
              FileChunk chunk;
              chunk.data = read->data();
              chunk.offset = read->offset();
              chunk.size = read->size();
              done(std::move(chunk));
            });
      });
}

Result<std::string> Dispatcher::taskLog(const std::string& id, const std::string& task,
                                        int attempt) const {
  const Job* job = find(id);
  if (job == nullptr) return makeError(ErrorCode::kNotFound, "no job with id '{}'", id);
  auto parsed = parseTask(*job, task);
  if (!parsed.ok()) return parsed.error();
  const auto& [stage, index] = *parsed;
  if (launcherName_ != "local") {
    return makeError(ErrorCode::kFailedPrecondition,
                     "job {}: task logs are not on this machine (use readRemoteTaskLog)", id);
  }
  // The local driver keeps them under the JobManager's log folder: the
  // job's, or its session's (a folder per job there).
  std::string folder = inSession(*job)
                           ? store_.sessionDir(job->record.session()) + "/work/logs/tasks"
                           : store_.jobDir(id) + "/work/logs/tasks";
  auto found = findTaskLog(folder, id, stage, index, attempt);
  if (!found.ok()) return makeError(ErrorCode::kNotFound, "job {}: task {} {}", id, task,
                                    found.error().message);
  return found->path;  // missing when the attempt wrote nothing: an empty log
}

Result<std::string> Dispatcher::jobManagerLog(const std::string& id) const {
  const Job* job = find(id);
  if (job == nullptr) return makeError(ErrorCode::kNotFound, "no job with id '{}'", id);
  if (job->record.attempts_size() == 0) {
    return makeError(ErrorCode::kNotFound, "job {} has no JobManager yet ({})", id,
                     toString(job->record.state()));
  }
  if (inSession(*job)) {
    // The session's JobManager logs for all of its jobs.
    const Session* session = findSession(job->record.session());
    if (session == nullptr) {
      return makeError(ErrorCode::kNotFound, "job {}: its session {} is not known", id,
                       job->record.session());
    }
    return jobManagerLogPath(store_.sessionDir(job->record.session()),
                             session->record.view().jobmanager().attempt());
  }
  return jobManagerLogPath(store_.jobDir(id), job->record.attempts_size());
}

}  // namespace tailor::dispatcher
