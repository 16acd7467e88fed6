// tailor-jobmanager: runs one job in per-job mode (JobMaster + ResourceManager
// + driver), or with --session NAME a session that runs many jobs, one
// JobMaster each, on one ResourceManager (docs/sessions.md). The Dispatcher
// launches it as a local child or a Mesos task, with --dispatcher so that it
// reports its state there.

#include <boost/program_options.hpp>
#include <iostream>
#include <memory>

#include "common/jobspec/jobspec.hpp"
#include "common/logging.hpp"
#include "common/rpc.hpp"
#include "common/version.hpp"
#include "scheduler/dispatcher_reporter.hpp"
#include "scheduler/jobmanager_runtime.hpp"
#include "scheduler/per_job_flags.hpp"
#include "scheduler/per_job_runner.hpp"
#include "scheduler/usage_source.hpp"
#include "scheduler/session_flags.hpp"
#include "scheduler/session_runner.hpp"

namespace po = boost::program_options;
using namespace tailor;

namespace {

// --session: runs until stopped; exits 0 then, 2 on bad flags, 1 when the
// session cannot start.
int runSession(const scheduler::PerJobFlags& flags, const scheduler::SessionFlags& session,
               const std::string& dispatcher, const std::string& dispatcherLeaders,
               int attempt) {
  auto log = logger("jobmanager");
  auto options = scheduler::resolveSessionFlags(flags, session);
  if (!options.ok()) {
    log->error("{}", options.error().message);
    return 2;
  }
  options->dispatcherAddress = dispatcher;
  options->dispatcherLeaders = dispatcherLeaders;
  options->attempt = attempt;
  Status ran = scheduler::runSession(*options);
  if (!ran.ok()) {
    log->error("session {}: {}", session.name, ran.error().message);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string specPath;
  std::string logFile;
  std::string dispatcher;
  std::string dispatcherLeaders;
  int attempt = 1;
  scheduler::PerJobFlags flags;
  scheduler::SessionFlags session;
  po::options_description options(
      "tailor-jobmanager --job-spec JOB.yaml [options]\n"
      "tailor-jobmanager --session NAME [options]");
  options.add_options()("help", "show this help")("version", "print the version and exit")(
      "job-spec", po::value(&specPath), "the job spec (YAML); not with --session")(
      "log-file", po::value(&logFile), "log file (default: stderr)")(
      "dispatcher", po::value(&dispatcher),
      "HOST:PORT of the Dispatcher to report the job's state to (needs --job-id); with "
      "--session, the session's (Dispatcher.ReportSession)")(
      "dispatcher-leaders", po::value(&dispatcherLeaders),
      "zk://HOSTS/PATH of Dispatchers that elect a leader: reports follow the leader")(
      "dispatcher-attempt", po::value(&attempt)->default_value(1),
      "which JobManager attempt of the job (or session) this is, for the Dispatcher");
  scheduler::addPerJobFlags(options, flags);
  scheduler::addSessionFlags(options, session);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    if (vm.count("version")) {
      std::cout << "tailor-jobmanager " << kVersion << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tailor-jobmanager: " << e.what() << "\n";
    return 2;
  }
  std::string error;
  if (!configureLogging(LogConfig{flags.logLevel, logFile}, &error)) {
    std::cerr << "tailor-jobmanager: " << error << "\n";
    return 2;
  }
  auto log = logger("jobmanager");
  // Before anything calls a Dispatcher (a report of a bad spec, the usage
  // history): the job's secret and TLS (docs/security.md).
  Status secured = scheduler::takeJobManagerSecurity();
  if (!secured.ok()) {
    log->error("{}", secured.error().message);
    return 2;
  }
  if (vm.count("session")) {
    if (!specPath.empty()) {
      log->error("--job-spec: not with --session (jobs come in with Session.SubmitJob)");
      return 2;
    }
    return runSession(flags, session, dispatcher, dispatcherLeaders, attempt);
  }
  if (specPath.empty()) {
    std::cerr << "tailor-jobmanager: --job-spec (or --session) is required\n";
    return 2;
  }
  if (!dispatcher.empty() && flags.jobId.empty()) {
    log->error("--dispatcher needs --job-id");
    return 2;
  }
  std::unique_ptr<scheduler::DispatcherReporter> reporter;
  if (!dispatcher.empty()) {
    scheduler::DispatcherReporterConfig config;
    config.dispatcherAddress = dispatcher;
    config.dispatcherLeaders = dispatcherLeaders;
    config.jobId = flags.jobId;
    config.attempt = attempt;
    reporter = std::make_unique<scheduler::DispatcherReporter>(config);
  }
  // Ends the run without a report: the Dispatcher hears why.
  auto failBeforeStart = [&](const std::string& message, int code) {
    log->error("{}", message);
    if (reporter) reporter->finish(v1::FAILED, message, nullptr);
    return code;
  };
  std::string capacityName;
  auto local = scheduler::taskCapacity(flags, &capacityName);
  if (!local.ok()) return failBeforeStart(local.error().message, 2);
  jobspec::ParseOptions parse;
  parse.clusterCapacity = *local;
  parse.clusterDescription = capacityName;
  auto spec = jobspec::loadJobSpec(specPath, parse);
  if (!spec.ok()) return failBeforeStart(spec.error().message, 1);
  auto options_ = scheduler::resolvePerJobFlags(flags, *spec);
  if (!options_.ok()) return failBeforeStart(options_.error().message, 2);
  if (reporter) reporter->start();
  scheduler::RunObservers observers{reporter.get(), reporter.get(), {}, {}, {}};
  if (reporter) {
    observers.listening = [&](const std::string& address) { reporter->setAddress(address); };
    // Executors are fetched from the Dispatcher the reports go to (docs/ha.md).
    observers.leadingDispatcher = [&] { return reporter->dispatcherAddress(); };
    observers.addRoutes = [&](rpc::Server& server) {
      server.handle<v1::GetJobStatusRequest, v1::ReportJobStatusRequest>(
          "JobManager", "GetJobStatus",
          [&](const v1::GetJobStatusRequest& request) -> Result<v1::ReportJobStatusRequest> {
            if (request.job_id() != flags.jobId) {
              return makeError(ErrorCode::kNotFound, "this JobManager runs job {}, not {}",
                               flags.jobId, request.job_id());
            }
            return reporter->snapshot();
          });
    };
  }
  // The job's framework links to the job's page on the Dispatcher.
  if (!dispatcher.empty() && options_->mesos.webuiUrl.empty()) {
    options_->mesos.webuiUrl = scheduler::dispatcherJobUrl(dispatcher, flags.jobId);
  }
  options_->attempt = attempt;
  std::string usageProblem;
  options_->usageHistory =
      scheduler::loadUsageHistory(*spec, dispatcher, flags.jobId, flags.usageHistory,
                                  &usageProblem);
  if (!usageProblem.empty()) log->warn("{}", usageProblem);
  auto report = scheduler::runPerJob(*options_, observers);
  if (!report.ok()) return failBeforeStart(report.error().message, 1);
  // With a Dispatcher, it records what the run used from the final report.
  if (dispatcher.empty()) {
    Status saved = scheduler::saveUsageHistory(*spec, flags.usageHistory, *report);
    if (!saved.ok()) log->warn("{}", saved.error().message);
  }
  if (!flags.report.empty()) {
    auto written = scheduler::writeReport(*report, flags.report);
    if (!written.ok()) log->error("{}", written.error().message);
  }
  log->info("job {} {}", report->job().id(), report->job().status());
  if (reporter) {
    v1::JobState state = v1::FAILED;
    (void)v1::JobState_Parse(report->job().status(), &state);
    reporter->finish(state, report->job().error(), &*report);
  }
  return report->job().status() == "FINISHED" ? 0 : 1;
}
