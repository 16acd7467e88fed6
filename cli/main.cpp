// tailor: the command-line interface. `tailor run` runs a job in per-job mode
// with the JobManager inside this process; `tailor validate` checks a spec.

#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/command_line.hpp"
#include "cli/auth_commands.hpp"
#include "cli/marathon_commands.hpp"
#include "cli/progress.hpp"
#include "cli/run_ui.hpp"
#include "cli/remote_commands.hpp"
#include "common/jobspec/jobspec.hpp"
#include "common/logging.hpp"
#include "common/version.hpp"
#include "scheduler/per_job_flags.hpp"
#include "scheduler/per_job_runner.hpp"
#include "scheduler/usage_source.hpp"

namespace po = boost::program_options;
using namespace tailor;

namespace {

constexpr const char* kUsage = R"(usage: tailor <command> [options]

commands:
  run JOB.yaml        run a job on the local cluster (JobManager in this process)
  validate JOB.yaml   check a job spec without running it

  submit JOB.yaml     send a job to a Dispatcher (--wait: follow it like `run`)
  list                jobs the Dispatcher knows
  status ID           one job: state, stages, TaskManagers, error
  cancel ID           cancel a job
  logs ID             the job's JobManager log
  report ID           the run report of an ended job (JSON)

  session start NAME  start a session: one JobManager for many jobs (submit --session NAME)
  session list        sessions: state, address, TaskManagers, jobs
  session status NAME one session: options, TaskManagers, its jobs
  session stop NAME   stop a session

  marathon deploy     install or update the Dispatcher as a Marathon app
  marathon status     the Dispatcher's Marathon app: tasks, health, address
  marathon remove     remove the app and tear down its Mesos framework

  auth hash-password  read a password on stdin, print its verifier for --auth-file
  auth new-token      print a fresh token and its verifier for --auth-file

The Dispatcher commands talk to --dispatcher URL, else $TAILOR_DISPATCHER,
else http://127.0.0.1:8080, with credentials from TAILOR_TOKEN or
TAILOR_TOKEN_FILE, else TAILOR_USER with TAILOR_PASSWORD or TAILOR_PASSWORD_FILE.

`tailor <command> --help` lists a command's options; `tailor --version`
prints the version.
)";

int validate(int argc, char** argv) {
  std::string specPath;
  std::string localResources;
  po::options_description options("tailor validate JOB.yaml [options]");
  options.add_options()("help", "show this help")(
      "local-resources", po::value(&localResources),
      "also check every stage fits this local cluster (cpus=N,mem=MiB)");
  if (auto done = cli::parseCommand("validate", argc, argv, options, {{"JOB.yaml", &specPath}}))
    return *done;
  jobspec::ParseOptions parse;
  if (!localResources.empty()) {
    scheduler::PerJobFlags flags;
    flags.localResources = localResources;
    auto local = scheduler::localClusterResources(flags);
    if (!local.ok()) {
      std::cerr << "tailor validate: " << local.error().message << "\n";
      return 2;
    }
    parse.clusterCapacity = *local;
    parse.clusterDescription = "the local cluster";
  }
  auto spec = jobspec::loadJobSpec(specPath, parse);
  if (!spec.ok()) {
    std::cerr << spec.error().message << "\n";
    return 1;
  }
  std::cout << specPath << ": job \"" << spec->name() << "\" is valid (" << spec->stages_size()
            << " stages)\n";
  return 0;
}

int run(int argc, char** argv) {
  std::string specPath;
  scheduler::PerJobFlags flags;
  bool withUi = false;
  int uiPort = 0;
  po::options_description options("tailor run JOB.yaml [options]");
  options.add_options()("help", "show this help")(
      "ui", po::bool_switch(&withUi),
      "serve the web UI for this job (on --bind, at the URL printed) while it runs and, once it "
      "ended, until Ctrl-C")("ui-port", po::value(&uiPort)->default_value(0),
                             "the web UI's port (0: a free one)");
  scheduler::addPerJobFlags(options, flags);
  if (auto done = cli::parseCommand("run", argc, argv, options, {{"JOB.yaml", &specPath}}))
    return *done;
  std::string capacityName;
  auto local = scheduler::taskCapacity(flags, &capacityName);
  if (!local.ok()) {
    std::cerr << "tailor run: " << local.error().message << "\n";
    return 2;
  }
  jobspec::ParseOptions parse;
  parse.clusterCapacity = *local;
  parse.clusterDescription = capacityName;
  auto spec = jobspec::loadJobSpec(specPath, parse);
  if (!spec.ok()) {
    std::cerr << spec.error().message << "\n";
    return 1;
  }
  auto options_ = scheduler::resolvePerJobFlags(flags, *spec);
  if (!options_.ok()) {
    std::cerr << "tailor run: " << options_.error().message << "\n";
    return 2;
  }
  scheduler::PerJobOptions& perJob = *options_;
  const std::string& workDir = perJob.workDir;  // resolvePerJobFlags filled in the default
  std::error_code ec;
  std::filesystem::create_directories(workDir, ec);
  std::string logFile = workDir + "/jobmanager.log";
  std::string error;
  if (!configureLogging(LogConfig{flags.logLevel, logFile}, &error)) {
    std::cerr << "tailor run: " << error << "\n";
    return 2;
  }

  bool terminal = isatty(STDOUT_FILENO) == 1 && std::getenv("TERM") != nullptr &&
                  std::string(std::getenv("TERM")) != "dumb";
  std::printf("job %s: %d stages, %s sizing, %s\nlogs: %s\n", perJob.jobId.c_str(),
              spec->stages_size(), flags.sizing.c_str(),
              flags.mesosMaster.empty() ? ("local cluster " + local->toString()).c_str()
                                        : ("Mesos at " + flags.mesosMaster).c_str(),
              logFile.c_str());
  std::fflush(stdout);
  std::string usageDir =
      flags.usageHistory.empty() ? scheduler::defaultUsageHistoryDir() : flags.usageHistory;
  std::string usageProblem;
  perJob.usageHistory = scheduler::loadUsageHistory(*spec, "", "", usageDir, &usageProblem);
  if (!usageProblem.empty()) std::cerr << "tailor run: " << usageProblem << "\n";
  cli::Progress progress(stdout, terminal, spec->name());
  std::unique_ptr<cli::RunUi> ui;
  std::unique_ptr<cli::ObserverPair> observers;
  std::string uiUrl;
  if (withUi) {
    if (uiPort < 0 || uiPort > 65535) {
      std::cerr << "tailor run: --ui-port: " << uiPort << " is not a port (expected 0 to 65535)\n";
      return 2;
    }
    ui = std::make_unique<cli::RunUi>(cli::RunUiConfig{
        .bind = flags.bind,
        .port = static_cast<std::uint16_t>(uiPort),
        .jobId = perJob.jobId,
        .jobName = spec->name(),
        .workDir = workDir,
        .outputDir = perJob.outputDir,
        .submittedAt = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()});
    auto url = ui->start();
    if (!url.ok()) {
      std::cerr << "tailor run: --ui: " << url.error().message << "\n";
      return 2;
    }
    uiUrl = *url;
    std::printf("web UI: %s\n", uiUrl.c_str());
    std::fflush(stdout);
    observers = std::make_unique<cli::ObserverPair>(progress, progress, ui->status(), ui->status());
  }
  scheduler::RunObservers runObservers{&progress, &progress, {}, {}, {}};
  if (observers) runObservers = {observers.get(), observers.get(), {}, {}, {}};
  auto report = scheduler::runPerJob(perJob, runObservers);
  progress.finish();
  if (ui && report.ok()) ui->setReport(*report);
  if (!report.ok()) {
    std::cerr << "tailor run: " << report.error().message << "\n";
    return 1;
  }
  Status saved = scheduler::saveUsageHistory(*spec, usageDir, *report);
  if (!saved.ok()) std::cerr << "tailor run: " << saved.error().message << "\n";
  if (!flags.report.empty()) {
    auto written = scheduler::writeReport(*report, flags.report);
    if (!written.ok()) std::cerr << "tailor run: " << written.error().message << "\n";
  }
  const auto& job = report->job();
  // What each stage's tasks asked for against what they used at most.
  for (const auto& stage : report->stages()) {
    std::string usage = cli::formatStageUsage(stage);
    if (!usage.empty()) std::printf("usage: %s\n", usage.c_str());
  }
  int code = 1;
  if (job.status() == "FINISHED") {
    std::printf("job %s FINISHED in %.2fs\noutput: %s\n", job.id().c_str(), job.duration_seconds(),
                report->output().c_str());
    if (!flags.report.empty()) std::printf("report: %s\n", flags.report.c_str());
    code = 0;
  } else {
    std::fprintf(stderr, "job %s %s: %s\n", job.id().c_str(), job.status().c_str(),
                 job.error().c_str());
  }
  if (ui) {
    std::printf("web UI still at %s; Ctrl-C to exit\n", uiUrl.c_str());
    std::fflush(stdout);
    ui->waitForStop();
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  if (command == "--version") {
    std::cout << "tailor " << kVersion << "\n";
    return 0;
  }
  if (command == "run") return run(argc - 1, argv + 1);
  if (command == "validate") return validate(argc - 1, argv + 1);
  if (command == "marathon") return cli::runMarathonCommand(argc - 1, argv + 1);
  if (command == "auth") return cli::runAuthCommand(argc - 1, argv + 1);
  if (auto code = cli::runRemoteCommand(command, argc - 1, argv + 1)) return *code;
  std::cerr << "tailor: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
