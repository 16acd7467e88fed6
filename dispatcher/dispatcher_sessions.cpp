// The Dispatcher's sessions (docs/sessions.md): their records, their
// JobManagers, and the jobs handed to them. The job side of the Dispatcher
// is in dispatcher.cpp.

#include <algorithm>

#include "common/logging.hpp"
#include "dispatcher/dispatcher.hpp"

namespace tailor::dispatcher {

namespace {

// What a session's JobManager exit leaves in its jobs' errors.
std::string sessionEnded(const std::string& name, const std::string& how) {
  return fmt::format("session {} ended: {}", name, how);
}

}  // namespace

Dispatcher::Session* Dispatcher::findSession(const std::string& name) {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : &it->second;
}

const Dispatcher::Session* Dispatcher::findSession(const std::string& name) const {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : &it->second;
}

void Dispatcher::persist(Session& session) {
  Status stored = store_.putSession(session.record);
  if (!stored.ok()) {
    storeError_ = stored.error().message;
    logger("dispatcher")->error("session {}: cannot write its record: {}",
                                session.record.view().name(), stored.error().message);
    return;
  }
  storeError_.clear();
}

void Dispatcher::transition(Session& session, v1::SessionState state, const std::string& why) {
  auto* view = session.record.mutable_view();
  logger("dispatcher")->info("session {}: {} -> {}{}{}", view->name(), toString(view->state()),
                             toString(state), why.empty() ? "" : ": ", why);
  view->set_state(state);
  persist(session);
}

Status Dispatcher::checkSessionTakesJobs(const std::string& name, const Submitter& by) const {
  const Session* session = findSession(name);
  if (session == nullptr || (by.ownSessionsOnly && session->record.view().owner() != by.owner)) {
    return makeError(ErrorCode::kNotFound,
                     "session: no session named '{}' (start it with POST /v1/sessions, "
                     "`tailor session start {}`)",
                     name, name);
  }
  auto state = session->record.view().state();
  if (state != v1::SESSION_STARTING && state != v1::SESSION_RUNNING) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "session: session '{}' is {} and takes no more jobs", name, toString(state));
  }
  return Status();
}

Result<v1::SessionView> Dispatcher::startSession(const v1::StartSessionRequest& request,
                                                 const std::string& owner) {
  Status checked = checkStartSession(request);
  if (!checked.ok()) return checked.error();
  const std::string& name = request.name();
  int attempt = 1;
  if (const Session* known = findSession(name)) {
    if (!isEndState(known->record.view().state())) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "name: session '{}' already exists and is {}; stop it first or choose "
                       "another name",
                       name, toString(known->record.view().state()));
    }
    // A new life under an old name: reports of the old one are stale.
    attempt = known->record.view().jobmanager().attempt() + 1;
  }
  Session session;
  auto* view = session.record.mutable_view();
  view->set_name(name);
  view->set_state(v1::SESSION_STARTING);
  *view->mutable_options() = request.options();
  view->set_started_at(loop_.wallSeconds());
  view->set_owner(owner);
  auto* jobManager = view->mutable_jobmanager();
  jobManager->set_attempt(attempt);
  jobManager->set_launcher(launcherName_);
  jobManager->set_launched_at(loop_.wallSeconds());
  // On disk before its process exists, as a job's attempt.
  Status stored = store_.putSession(session.record);
  if (!stored.ok()) return stored.error();
  Session& started = sessions_[name] = std::move(session);
  SessionLaunch launch;
  launch.name = name;
  launch.attempt = attempt;
  launch.options = request.options();
  launch.sessionDir = store_.sessionDir(name);
  launch.dispatcherAddress = address_;
  launch.dispatcherLeaders = config_.dispatcherLeaders;
  launch.secret = sessionSecret(name);
  auto launched = launcher_.launchSession(launch);
  jobManager = started.record.mutable_view()->mutable_jobmanager();
  if (!launched.ok()) {
    logger("dispatcher")->error("session {}: cannot start its JobManager: {}", name,
                                launched.error().message);
    jobManager->set_exit("could not start: " + launched.error().message);
    jobManager->set_ended_at(loop_.wallSeconds());
    endSession(started, v1::SESSION_FAILED, "could not start: " + launched.error().message);
    return sessionView(started);
  }
  double launchedAt = jobManager->launched_at();
  *jobManager = *launched;
  jobManager->set_attempt(attempt);
  jobManager->set_launcher(launcherName_);
  jobManager->set_launched_at(launchedAt);
  started.alive = true;
  started.lastHeard = loop_.now();
  logger("dispatcher")->info("session {}: JobManager attempt {} started ({} on {}, pid {})", name,
                             attempt, launcherName_, jobManager->host(), jobManager->pid());
  persist(started);
  checkSilentJobManagers();
  return sessionView(started);
}

v1::SessionView Dispatcher::sessionView(const Session& session) const {
  v1::SessionView view = session.record.view();
  view.clear_jobs();
  // Its jobs as the Dispatcher keeps them (those waiting for it too), with
  // the TaskManagers each used as the session last said.
  for (const auto& [sequence, id] : bySequence_) {
    const Job& job = jobs_.at(id);
    if (job.record.session() != view.name() || job.record.submitted_at() < view.started_at()) {
      continue;
    }
    auto* item = view.add_jobs();
    item->set_job_id(id);
    item->set_name(job.record.name());
    item->set_state(job.record.state());
    item->set_priority(job.record.priority());
    item->set_submitted_at(job.record.submitted_at());
    item->set_error(job.record.error());
    for (const auto& change : job.record.history()) {
      if (isEndState(change.state())) item->set_finished_at(change.at());
    }
    if (auto it = session.reported.find(id); it != session.reported.end()) {
      *item->mutable_taskmanagers() = it->second.taskmanagers();
    }
  }
  return view;
}

v1::ListSessionsResponse Dispatcher::sessions(const std::optional<std::string>& owner) const {
  v1::ListSessionsResponse response;
  for (const auto& [name, session] : sessions_) {
    if (owner && session.record.view().owner() != *owner) continue;
    *response.add_sessions() = sessionView(session);
  }
  return response;
}

Status Dispatcher::checkSessionOwner(const std::string& name,
                                     const std::optional<std::string>& owner) const {
  const Session* session = findSession(name);
  if (session == nullptr || (owner && session->record.view().owner() != *owner)) {
    return makeError(ErrorCode::kNotFound, "no session named '{}'", name);
  }
  return Status();
}

Result<v1::SessionView> Dispatcher::session(const std::string& name) const {
  const Session* session = findSession(name);
  if (session == nullptr) return makeError(ErrorCode::kNotFound, "no session named '{}'", name);
  return sessionView(*session);
}

Result<v1::SessionView> Dispatcher::stopSession(const std::string& name) {
  Session* session = findSession(name);
  if (session == nullptr) return makeError(ErrorCode::kNotFound, "no session named '{}'", name);
  auto* view = session->record.mutable_view();
  if (isEndState(view->state())) {
    return makeError(ErrorCode::kFailedPrecondition, "session {} already ended {}", name,
                     toString(view->state()));
  }
  if (session->record.stop_requested()) return sessionView(*session);  // asked before
  logger("dispatcher")->info("session {}: stop requested", name);
  session->record.set_stop_requested(true);
  transition(*session, v1::SESSION_STOPPING);
  const int attempt = view->jobmanager().attempt();
  if (launcher_.waitingSession(name, attempt)) {
    // Never launched: withdrawn, and its exit follows.
    launcher_.stopSession(name, attempt, false);
  } else if (!view->address().empty() && sessionGateway_ != nullptr) {
    v1::SessionStopRequest request;
    request.set_reason("stopped by the user");
    request.set_session(name);
    sessionGateway_->stop(view->address(), request,
                          [name](Result<v1::SessionStopResponse> answer) {
                            if (!answer.ok()) {
                              logger("dispatcher")
                                  ->warn("session {}: Session.Stop failed: {}; its next report "
                                         "is answered stop",
                                         name, answer.error().message);
                            }
                          });
  }
  // Otherwise the answer to its next report says stop. Either way it has
  // sessionStopGrace to exit.
  if (!session->stopTimerArmed) {
    session->stopTimerArmed = true;
    session->stopTimer = loop_.runAfter(config_.sessionStopGrace, [this, name, attempt] {
      Session* session = findSession(name);
      if (session == nullptr) return;
      session->stopTimerArmed = false;
      if (!session->alive || session->record.view().jobmanager().attempt() != attempt) return;
      logger("dispatcher")->warn("session {}: still running {} s after the stop; killing it",
                                 name, config_.sessionStopGrace.count() / 1000);
      launcher_.stopSession(name, attempt, true);
    });
  }
  if (!storeError_.empty()) {
    return makeError(ErrorCode::kInternal,
                     "session {}: the stop could not be recorded in the state store ({}); it is "
                     "not durable across a restart",
                     name, storeError_);
  }
  return sessionView(*session);
}

v1::ReportSessionResponse Dispatcher::reportSession(const v1::ReportSessionRequest& request) {
  v1::ReportSessionResponse response;
  const auto& status = request.status();
  Session* session = findSession(status.name());
  if (session == nullptr || request.attempt() < 1 ||
      request.attempt() != session->record.view().jobmanager().attempt() ||
      isEndState(session->record.view().state())) {
    response.set_known(false);
    return response;
  }
  response.set_known(true);
  response.set_stop(session->record.stop_requested());
  session->lastHeard = loop_.now();
  auto* view = session->record.mutable_view();
  bool learned = !status.address().empty() && view->address() != status.address();
  if (learned) view->set_address(status.address());
  auto* jobManager = view->mutable_jobmanager();
  if (learned) jobManager->set_address(status.address());
  if (jobManager->host().empty()) jobManager->set_host(status.host());
  if (jobManager->pid() == 0) jobManager->set_pid(status.pid());
  *view->mutable_taskmanagers() = status.taskmanagers();
  view->set_taskmanagers_launched(status.taskmanagers_launched());
  session->reported.clear();
  for (const auto& job : status.jobs()) session->reported[job.job_id()] = job;
  if (view->state() == v1::SESSION_STARTING && !view->address().empty()) {
    logger("dispatcher")->info("session {}: running at {} (pid {})", view->name(),
                               view->address(), jobManager->pid());
    transition(*session, v1::SESSION_RUNNING);
    handOverWaiting(*session);
    return response;
  }
  // Where it listens is worth keeping: a restarted Dispatcher reaches it there.
  if (learned) persist(*session);
  if (view->state() == v1::SESSION_RUNNING) failJobsTheSessionLost(*session);
  return response;
}

void Dispatcher::handOverWaiting(Session& session) {
  const std::string name = session.record.view().name();
  std::vector<std::string> waiting;
  for (const auto& [sequence, id] : bySequence_) {
    const Job& job = jobs_.at(id);
    if (job.record.session() == name && job.record.state() == v1::QUEUED) waiting.push_back(id);
  }
  for (const auto& id : waiting) {
    Job* job = find(id);
    Session* now = findSession(name);
    // A hand-over that fails may end the session's state for the next ones.
    if (job == nullptr || now == nullptr || now->record.view().state() != v1::SESSION_RUNNING) {
      return;
    }
    if (job->record.state() == v1::QUEUED) handOver(*job, *now);
  }
}

void Dispatcher::handOver(Job& job, const Session& session) {
  const auto& view = session.record.view();
  const std::string id = job.record.id();
  const std::string name = view.name();
  const int attempt = job.record.attempts_size() + 1;
  auto files = store_.getFiles(id);
  if (!files.ok()) {
    end(job, v1::FAILED, "cannot read the job's stored files: " + files.error().message, nullptr);
    return;
  }
  if (job.record.output_dir().empty() && launcherName_ == "local") {
    // As a JobManager's: in the job's folder, where GET /v1/jobs/ID says it is.
    job.record.set_output_dir(store_.jobDir(id) + "/output");
    job.outputDir = job.record.output_dir();
  }
  v1::JobManagerAttempt handed;
  handed.set_attempt(attempt);
  handed.set_launcher("session");
  handed.set_launched_at(loop_.wallSeconds());
  handed.set_address(view.address());
  handed.set_host(view.jobmanager().host());
  *job.record.add_attempts() = handed;
  transition(job, v1::LAUNCHING, fmt::format("handed to session {} at {}", name, view.address()));

  v1::SessionSubmitJobRequest request;
  request.set_job_id(id);
  request.set_attempt(attempt);
  request.set_spec_name(job.record.spec_name());
  request.set_spec_yaml(job.record.spec_yaml());
  for (auto& file : *files) {
    if (file.path() != job.record.spec_name()) *request.add_files() = std::move(file);
  }
  request.set_priority(std::max(1, job.record.priority()));
  request.set_output_dir(job.record.output_dir());
  request.set_dispatcher_address(address_);
  request.set_dispatcher_leaders(config_.dispatcherLeaders);
  logger("dispatcher")->info("job {}: handing it to session {} at {}", id, name, view.address());
  if (sessionGateway_ == nullptr) return;
  sessionGateway_->submitJob(
      view.address(), request,
      [this, id, name, attempt](Result<v1::SessionSubmitJobResponse> answer) {
        Job* job = find(id);
        if (job == nullptr || isEndState(job->record.state()) ||
            job->record.attempts_size() != attempt) {
          return;
        }
        if (!answer.ok()) {
          end(*job, v1::FAILED,
              fmt::format("session {} could not be given the job: {}", name,
                          answer.error().message),
              nullptr);
        } else if (!answer->accepted()) {
          end(*job, v1::FAILED, fmt::format("session {} refused the job: {}", name, answer->reason()),
              nullptr);
        }
      });
}

void Dispatcher::cancelInSession(Job& job) {
  if (job.record.state() == v1::QUEUED) {
    // Not handed over yet: nothing runs it.
    end(job, v1::CANCELED, "canceled by the user", nullptr);
    return;
  }
  persist(job);
  const Session* session = findSession(job.record.session());
  if (session == nullptr || sessionGateway_ == nullptr ||
      session->record.view().address().empty()) {
    return;  // the answer to the job's next report says cancel
  }
  v1::SessionCancelJobRequest request;
  request.set_job_id(job.record.id());
  request.set_reason("canceled by the user");
  sessionGateway_->cancelJob(
      session->record.view().address(), request,
      [this, id = job.record.id()](Result<v1::SessionCancelJobResponse> answer) {
        Job* job = find(id);
        if (job == nullptr || isEndState(job->record.state())) return;
        if (!answer.ok()) {
          logger("dispatcher")
              ->warn("job {}: Session.CancelJob failed: {}; its next report is answered cancel",
                     id, answer.error().message);
          return;
        }
        // The session never had it (or forgot it): nothing runs it.
        if (!answer->known()) end(*job, v1::CANCELED, "canceled by the user", nullptr);
      });
}

void Dispatcher::failJobsTheSessionLost(Session& session) {
  const std::string name = session.record.view().name();
  const double now = loop_.wallSeconds();
  const double patience = durationToSeconds(config_.jobManagerTimeout);
  std::vector<std::string> lost;
  for (const auto& [id, job] : jobs_) {
    if (job.record.session() != name || isEndState(job.record.state()) ||
        job.record.attempts_size() == 0 || session.reported.count(id) != 0) {
      continue;
    }
    const auto& last = job.record.attempts(job.record.attempts_size() - 1);
    if (last.ended_at() == 0 && now - last.launched_at() >= patience) lost.push_back(id);
  }
  for (const auto& id : lost) {
    end(jobs_.at(id), v1::FAILED,
        fmt::format("session {} does not run the job although it was handed over {:.0f} s ago",
                    name, patience),
        nullptr);
  }
}

void Dispatcher::endSession(Session& session, v1::SessionState state, const std::string& error) {
  auto* view = session.record.mutable_view();
  const std::string name = view->name();
  session.alive = false;
  if (session.stopTimerArmed) {
    loop_.cancelTimer(session.stopTimer);
    session.stopTimerArmed = false;
  }
  view->set_stopped_at(loop_.wallSeconds());
  view->set_error(error);
  view->clear_taskmanagers();  // gone with it
  transition(session, state, error);
  std::string how = state == v1::SESSION_STOPPED ? "stopped by the user" : error;
  std::vector<std::string> unfinished;
  for (const auto& [id, job] : jobs_) {
    if (job.record.session() == name && !isEndState(job.record.state())) unfinished.push_back(id);
  }
  for (const auto& id : unfinished) {
    Job& job = jobs_.at(id);
    if (job.record.cancel_requested()) {
      end(job, v1::CANCELED, "canceled by the user", nullptr);
    } else {
      end(job, v1::FAILED, sessionEnded(name, how), nullptr);
    }
  }
}

void Dispatcher::onSessionExited(const std::string& name, int attempt, const std::string& how) {
  Session* session = findSession(name);
  if (session == nullptr || attempt != session->record.view().jobmanager().attempt()) return;
  auto* jobManager = session->record.mutable_view()->mutable_jobmanager();
  if (jobManager->ended_at() != 0) return;  // settled already (silence)
  jobManager->set_ended_at(loop_.wallSeconds());
  jobManager->set_exit(how);
  if (isEndState(session->record.view().state())) {
    persist(*session);
    return;
  }
  if (session->record.stop_requested()) {
    endSession(*session, v1::SESSION_STOPPED, "");
    return;
  }
  endSession(*session, v1::SESSION_FAILED, "its JobManager ended: " + how);
}

void Dispatcher::onSessionPlaced(const std::string& name, int attempt, const std::string& host,
                                 const std::string& agentId) {
  Session* session = findSession(name);
  if (session == nullptr || attempt != session->record.view().jobmanager().attempt()) return;
  auto* jobManager = session->record.mutable_view()->mutable_jobmanager();
  if (jobManager->ended_at() != 0) return;
  jobManager->set_host(host);
  jobManager->set_mesos_agent_id(agentId);
  logger("dispatcher")->info("session {}: JobManager attempt {} placed on agent {} ({})", name,
                             attempt, agentId, host);
  persist(*session);
}

bool Dispatcher::checkSilentSessions() {
  bool any = false;
  std::vector<std::string> silent;
  for (auto& [name, session] : sessions_) {
    if (!session.alive) continue;
    any = true;
    const int attempt = session.record.view().jobmanager().attempt();
    if (launcher_.waitingSession(name, attempt)) {
      session.lastHeard = loop_.now();  // waiting for resources is not silence
      continue;
    }
    if (loop_.now() - session.lastHeard >= config_.jobManagerTimeout) silent.push_back(name);
  }
  for (const auto& name : silent) {
    Session& session = sessions_.at(name);
    const int attempt = session.record.view().jobmanager().attempt();
    std::string how =
        fmt::format("its JobManager sent no status for {} s", config_.jobManagerTimeout.count() / 1000);
    logger("dispatcher")->warn("session {}: {}; stopping it", name, how);
    launcher_.stopSession(name, attempt, true);
    auto* jobManager = session.record.mutable_view()->mutable_jobmanager();
    jobManager->set_ended_at(loop_.wallSeconds());
    jobManager->set_exit(how);
    endSession(session, session.record.stop_requested() ? v1::SESSION_STOPPED : v1::SESSION_FAILED,
               session.record.stop_requested() ? "" : how);
  }
  return any;
}

Status Dispatcher::recoverSessions() {
  auto log = logger("dispatcher");
  std::vector<std::string> problems;
  auto records = store_.loadSessions(&problems);
  if (!records.ok()) return records.error();
  for (const auto& problem : problems) log->warn("state store: {} (skipped)", problem);
  for (auto& record : *records) {
    const std::string name = record.view().name();
    Session& session = sessions_[name];
    session.record = std::move(record);
    const auto& jobManager = session.record.view().jobmanager();
    if (isEndState(session.record.view().state()) || jobManager.ended_at() != 0) continue;
    // Its JobManager may still run: watched again, not started twice.
    session.alive = true;
    session.lastHeard = loop_.now();
    launcher_.adoptSession(name, jobManager);
    log->info("session {}: adopting JobManager attempt {} ({} pid {} task {})", name,
              jobManager.attempt(), jobManager.host(), jobManager.pid(),
              jobManager.mesos_task_id());
  }
  return Status();
}

void Dispatcher::settleSessionsAfterRecovery() {
  for (auto& [name, session] : sessions_) {
    const auto& view = session.record.view();
    // Its JobManager was gone before the earlier Dispatcher settled it.
    if (!isEndState(view.state()) && !session.alive) {
      endSession(session, session.record.stop_requested() ? v1::SESSION_STOPPED : v1::SESSION_FAILED,
                 session.record.stop_requested()
                     ? ""
                     : "its JobManager ended: " + view.jobmanager().exit());
    }
  }
  std::vector<std::string> orphans;
  for (const auto& [id, job] : jobs_) {
    if (!inSession(job) || isEndState(job.record.state())) continue;
    const Session* session = findSession(job.record.session());
    if (session == nullptr || isEndState(session->record.view().state())) orphans.push_back(id);
  }
  for (const auto& id : orphans) {
    Job& job = jobs_.at(id);
    const Session* session = findSession(job.record.session());
    end(job, v1::FAILED,
        sessionEnded(job.record.session(),
                     session == nullptr                        ? std::string("its record is gone")
                     : session->record.view().error().empty() ? std::string("stopped by the user")
                                                              : session->record.view().error()),
        nullptr);
  }
  for (auto& [name, session] : sessions_) {
    if (session.record.view().state() == v1::SESSION_RUNNING) handOverWaiting(session);
  }
}

}  // namespace tailor::dispatcher
