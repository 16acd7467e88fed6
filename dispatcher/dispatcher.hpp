#pragma once

// The Dispatcher's core: job records, the queue, and supervision of one
// JobManager per job. It owns the records (writing every state change to the
// JobStore before answering), asks its JobManagerLauncher to start and stop
// JobManagers, and hears back from them twice: their status reports
// (reportStatus, over RPC) and their exits (from the launcher).
//
// Sessions (docs/sessions.md) are supervised the same way: a session record
// per name, its JobManager started and watched by the launcher, its reports
// through reportSession(). A job submitted to a session is handed to it over
// RPC (SessionGateway) instead of getting a JobManager of its own; it takes no
// place among maxRunningJobs and is never restarted.
//
// Loop thread only. Time comes from the loop (tests drive a ManualEventLoop).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/file_chunk.hpp"
#include "common/metrics.hpp"
#include "common/restart_strategy.hpp"
#include "common/result.hpp"
#include "dispatcher/job_store.hpp"
#include "dispatcher/jobmanager_gateway.hpp"
#include "dispatcher/launcher.hpp"
#include "dispatcher/restart_decision.hpp"
#include "dispatcher/session_gateway.hpp"
#include "dispatcher/submission.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/session.pb.h"

namespace tailor::dispatcher {

struct DispatcherConfig {
  int maxRunningJobs = 4;  // JobManagers (LAUNCHING or RUNNING jobs) at once
  // For jobs whose spec has no restart_strategy, and for records of earlier
  // Dispatchers that kept none.
  v1::RestartStrategy restartStrategy = legacyRestartStrategy(3, Duration(1000));
  // exponential-delay's jitter, uniform in [-1, 1]; empty: a random engine.
  JitterSample jitter;
  // A JobManager that sends no status for this long is taken as lost.
  Duration jobManagerTimeout{30000};
  SubmissionLimits limits;
  // zk://HOSTS/PATH when Dispatchers elect a leader there: JobManagers report
  // to whichever leads (tailor-jobmanager --dispatcher-leaders).
  std::string dispatcherLeaders;
  // A session asked to stop that has not exited after this long is killed.
  Duration sessionStopGrace{30000};
  // The key each job's and session's secret derives from (docs/security.md,
  // "Job secrets"); empty: recover() takes the state store's, made there
  // the first time.
  std::string secretKey;
  // Jobs one owner may have QUEUED at once (--max-queued-jobs-per-user);
  // without authentication every job has the owner "".
  int maxQueuedJobsPerUser = 1000;
};

// Who submits a job or starts a session (docs/security.md).
struct Submitter {
  std::string owner;  // the authenticated name; "" without authentication
  // Only the owner's own sessions take its jobs; anyone else's answers as a
  // session that does not exist.
  bool ownSessionsOnly = false;
};

class Dispatcher {
 public:
  Dispatcher(EventLoop& loop, JobStore& store, JobManagerLauncher& launcher,
             DispatcherConfig config);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Loads the records of earlier runs: queued jobs queue again, JobManagers
  // that were running are adopted (not started twice). Then starts launching.
  // Call once, after setAddress().
  Status recover();

  // The secret the processes of job `jobId` hold: its session's for a job of
  // a session. Empty without DispatcherConfig::secretKey.
  std::string jobSecret(const std::string& jobId) const;
  std::string sessionSecret(const std::string& name) const;

  // host:port where JobManagers reach this Dispatcher's RPC.
  void setAddress(std::string address) { address_ = std::move(address); }

  // How to ask JobManagers for their status; without one the Dispatcher only
  // listens to their reports. Call before recover().
  void setJobManagerGateway(JobManagerGateway* gateway) { gateway_ = gateway; }

  // How to reach sessions (Session.SubmitJob, CancelJob, Stop); without one
  // jobs of sessions wait and sessions stop only through their reports.
  void setSessionGateway(SessionGateway* gateway) { sessionGateway_ = gateway; }

  // Records loaded and the state store writable (its last write succeeded).
  bool ready() const { return recovered_ && storeError_.empty(); }
  const std::string& storeError() const { return storeError_; }

  // Checks, stores and queues a job. kInvalidArgument for a bad submission.
  // A submission id seen before answers with the job it made.
  // The job's owner is `by.owner`, never anything in the request.
  Result<v1::SubmitJobResponse> submit(const v1::SubmitJobRequest& request,
                                       const Submitter& by = {});

  // kFailedPrecondition naming the limit when `owner` already has
  // maxQueuedJobsPerUser jobs QUEUED and `request` is not a submission sent
  // again (its submission id known).
  Status checkQueueLimit(const v1::SubmitJobRequest& request, const std::string& owner) const;

  // kNotFound, with the message job() gives for an unknown id, when there is
  // no such job or (`owner` given) its owner is someone else: a job of
  // another user is answered as one that does not exist.
  Status checkJobOwner(const std::string& id, const std::optional<std::string>& owner) const;

  // The same for a session, with session()'s message.
  Status checkSessionOwner(const std::string& name,
                           const std::optional<std::string>& owner) const;

  // kNotFound for an unknown id.
  Result<v1::JobView> job(const std::string& id) const;

  // Jobs in submission order, optionally only those in `state`.
  // With `owner`, only the jobs it owns.
  v1::ListJobsResponse list(std::optional<v1::JobState> state, int offset, int limit,
                            const std::optional<std::string>& owner = std::nullopt) const;

  // Cancels a job: at once when no JobManager runs for it, else by asking its
  // JobManager. kNotFound; kFailedPrecondition when it already ended.
  Result<v1::JobView> cancel(const std::string& id);

  // With `owner`, only its jobs and sessions are counted.
  v1::Overview overview(const std::optional<std::string>& owner = std::nullopt) const;

  // What Prometheus scrapes (GET /v1/metrics/targets): this Dispatcher, the
  // JobManagers of its running jobs and sessions, and their registered
  // TaskManagers, each with its labels (role, job_id or session,
  // taskmanager_id). Ordered: the Dispatcher first, then by job and session.
  struct ScrapeTarget {
    std::string address;  // host:port
    std::map<std::string, std::string> labels;
  };
  std::vector<ScrapeTarget> scrapeTargets() const;

  // The run report of an ended job. kNotFound for an unknown id or a job
  // that ended without one; kFailedPrecondition while it runs.
  Result<v1::JobReport> report(const std::string& id) const;

  // What earlier runs of jobs named `jobName` used (Dispatcher.GetUsageHistory,
  // for `resources: auto`): kept in the state store from their end reports.
  // kInvalidArgument for a name no job can have; empty when none ran.
  Result<v1::UsageHistory> usageHistory(const std::string& jobName);

  // The tar of the job's files the mesos launcher packs for the fetcher
  // (it may not exist yet). kNotFound for an unknown id.
  Result<std::string> filesArchive(const std::string& id) const;

  // The stderr file of task `task` ("stage[index]") of the job, attempt
  // `attempt` (0: the latest one that ran), with the local launcher; the file
  // does not exist when the attempt wrote nothing (an empty log).
  // kInvalidArgument for a malformed task; kNotFound for an unknown job,
  // stage, index or attempt; kFailedPrecondition with another launcher.
  Result<std::string> taskLog(const std::string& id, const std::string& task, int attempt) const;

  // True when task logs are files on this machine (the local launcher);
  // otherwise readRemoteTaskLog() fetches them.
  bool taskLogsAreLocal() const { return launcherName_ == "local"; }

  // A window of task `task`'s stderr (attempt 0: the latest) read where the
  // task ran: asks the job's JobManager where that was, then that
  // TaskManager. Works while both run; `done` gets kNotFound, naming where
  // the file stays, once they are gone. `done` runs on the loop.
  using TaskLogCallback = std::function<void(Result<FileChunk>)>;
  void readRemoteTaskLog(const std::string& id, const std::string& task, int attempt,
                         std::int64_t offset, std::int64_t length, std::int64_t tail,
                         TaskLogCallback done);

  // The log file of the job's latest JobManager attempt. kNotFound.
  Result<std::string> jobManagerLog(const std::string& id) const;

  // --- sessions ---

  // POST /v1/sessions: checks, stores the record (STARTING) and starts the
  // session's JobManager. kInvalidArgument naming the field;
  // kFailedPrecondition when a session of that name is not yet STOPPED or
  // FAILED. A start that fails answers the session FAILED with why.
  // Its owner is `owner` (the authenticated name, "" without authentication).
  Result<v1::SessionView> startSession(const v1::StartSessionRequest& request,
                                       const std::string& owner = "");

  // Sessions by name, each with its jobs.
  // With `owner`, only the sessions it started.
  v1::ListSessionsResponse sessions(const std::optional<std::string>& owner = std::nullopt) const;

  // kNotFound for an unknown name.
  Result<v1::SessionView> session(const std::string& name) const;

  // Stops a session: STOPPING, Session.Stop to it where it listens (else the
  // answer to its next report says stop); killed after sessionStopGrace.
  // kNotFound; kFailedPrecondition when it already ended.
  Result<v1::SessionView> stopSession(const std::string& name);

  // A session's report (Dispatcher.ReportSession): its address, TaskManagers
  // and jobs; the first one moves it STARTING -> RUNNING and hands it the
  // jobs that waited for it.
  v1::ReportSessionResponse reportSession(const v1::ReportSessionRequest& request);

  // The launcher's word that a session's JobManager is gone: STOPPED when
  // asked to stop, else FAILED; either way its unfinished jobs FAILED.
  void onSessionExited(const std::string& name, int attempt, const std::string& how);

  // The launcher's word where a session's attempt was placed.
  void onSessionPlaced(const std::string& name, int attempt, const std::string& host,
                       const std::string& agentId);

  // A JobManager's status report (Dispatcher.ReportJobStatus).
  v1::ReportJobStatusResponse reportStatus(const v1::ReportJobStatusRequest& request);

  // The launcher's word that an attempt's JobManager is gone.
  void onJobManagerExited(const std::string& jobId, int attempt, const std::string& how);

  // The launcher's word where an attempt was placed (Mesos: after its offer).
  void onJobManagerPlaced(const std::string& jobId, int attempt, const std::string& host,
                          const std::string& agentId);

 private:
  struct Job {
    v1::JobRecord record;
    std::string specPath;
    std::string outputDir;
    bool jobManagerAlive = false;  // the latest attempt's process may be running
    MonotonicTime lastHeard{};
    TimerId relaunchTimer = 0;
    bool relaunchPending = false;
    bool asking = false;  // a GetJobStatus is on its way
    // The run report of the FAILED end the latest attempt reported, kept
    // while its restart strategy decides on a restart (after its exit).
    std::optional<v1::JobReport> failedReport;
  };

  struct Session {
    v1::SessionRecord record;
    bool alive = false;  // its JobManager may be running
    MonotonicTime lastHeard{};
    TimerId stopTimer = 0;
    bool stopTimerArmed = false;
    std::map<std::string, v1::SessionJob> reported;  // its jobs as it last reported them
  };

  Job* find(const std::string& id);
  const Job* find(const std::string& id) const;
  Session* findSession(const std::string& name);
  const Session* findSession(const std::string& name) const;
  v1::SessionView sessionView(const Session& session) const;
  // Checks that `name` names a session that takes jobs now or soon.
  // With `by.ownSessionsOnly`, someone else's session is answered as unknown.
  Status checkSessionTakesJobs(const std::string& name, const Submitter& by) const;
  void persist(Session& session);
  // Moves the session to `state` (logged with `why`), written to the store.
  void transition(Session& session, v1::SessionState state, const std::string& why = "");
  // Ends the session STOPPED or FAILED (`error`), and its unfinished jobs with it.
  void endSession(Session& session, v1::SessionState state, const std::string& error);
  // Hands the session's jobs that wait for it over, in submission order.
  void handOverWaiting(Session& session);
  // Hands one job to its session (Session.SubmitJob): a new attempt with
  // launcher "session", LAUNCHING.
  void handOver(Job& job, const Session& session);
  // Whether the job runs in a session (no JobManager of its own).
  static bool inSession(const Job& job) { return !job.record.session().empty(); }
  void cancelInSession(Job& job);
  // Fails the jobs a RUNNING session's report leaves out although they were
  // handed to it more than --jobmanager-timeout ago (lost on the way).
  void failJobsTheSessionLost(Session& session);
  // Recovery: the stored sessions, before the jobs; then what follows for both.
  Status recoverSessions();
  void settleSessionsAfterRecovery();
  // The watchdog's round over sessions; true when any is watched.
  bool checkSilentSessions();
  v1::JobView view(const Job& job, bool full) const;
  int running() const;
  // The answer to the submission that made job `id`.
  v1::SubmitJobResponse submitted(const std::string& id) const;
  std::map<std::string, int> queuePositions() const;

  // Moves the job to `state` with `reason`, written to the store.
  void transition(Job& job, v1::JobState state, const std::string& reason);
  void persist(Job& job);
  // Ends the job: state, error, report; frees its place.
  void end(Job& job, v1::JobState state, const std::string& error, const v1::JobReport* report);
  // Adds what an ended job's report says its stages used to its name's history.
  void rememberUsage(const v1::JobReport& report);

  // Launches queued jobs while there is room.
  void schedule();
  void scheduleOnce();
  void launch(Job& job);
  // The latest attempt ended (`how`) before the job did, or ended it FAILED
  // (its job_error is set): the job's restart strategy relaunches it or fails it.
  void afterAttemptFailed(Job& job, const std::string& how);
  // The job's restart strategy: the record's, else the default.
  const v1::RestartStrategy& strategyOf(const Job& job) const;
  // Whether an end FAILED of the job counts as a failure to restart on.
  bool restartsWhenFailed(const Job& job) const;
  // The latest attempt ended the job FAILED with `error` and the strategy
  // restarts on that: recorded; the decision follows the attempt's exit.
  void holdFailure(Job& job, const std::string& error, const v1::JobReport* report);
  // Launches the job's next attempt after `delay` (unless it ended by then).
  void scheduleRelaunch(Job& job, Duration delay);
  void checkSilentJobManagers();
  // Checks `task` ("stage[index]") against the job's stages.
  Result<std::pair<std::string, int>> parseTask(const Job& job, const std::string& task) const;
  // Asks the latest attempt's JobManager for its status, when its address is
  // known; the answer counts as a report.
  void askStatus(Job& job);
  std::string outputDirFor(const v1::JobRecord& record) const;
  // Metrics (dispatcher_metrics.cpp): the gauges read at each scrape, and
  // what an ended job's report adds to the counters over all jobs.
  void addGauges();
  static void countEndedJob(const v1::JobRecord& record);

  EventLoop& loop_;
  JobStore& store_;
  JobManagerLauncher& launcher_;
  const std::string launcherName_;
  DispatcherConfig config_;
  std::string address_;
  JobManagerGateway* gateway_ = nullptr;
  SessionGateway* sessionGateway_ = nullptr;
  std::map<std::string, Job> jobs_;
  std::map<std::string, Session> sessions_;  // by name
  std::map<std::int64_t, std::string> bySequence_;  // submission order
  std::map<std::string, std::string> bySubmission_;  // submission id -> job id
  std::int64_t nextSequence_ = 1;
  bool recovered_ = false;
  std::string storeError_;  // the last failed write, until one succeeds
  bool scheduling_ = false;
  bool scheduleAgain_ = false;
  TimerId watchdog_ = 0;
  bool watchdogArmed_ = false;
  JitterSample jitter_;
  // Last: unregistered before the state they read goes.
  std::vector<metrics::CollectorHandle> gauges_;
};

const char* toString(v1::JobState state);
const char* toString(v1::SessionState state);

}  // namespace tailor::dispatcher
