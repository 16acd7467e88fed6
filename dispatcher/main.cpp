// tailor-dispatcher: the long-running service that takes jobs over REST,
// keeps their records in the state store and launches one tailor-jobmanager
// per job. The composition root: only this file wires real objects.

#include <signal.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <iostream>
#include <sstream>

#include "common/asio_event_loop.hpp"
#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/logging.hpp"
#include "common/resources.hpp"
#include "common/rpc.hpp"
#include "dispatcher/dispatcher.hpp"
#include "dispatcher/local_launcher.hpp"
#include "dispatcher/mesos_launcher.hpp"
#include "mesos/executor_connection.hpp"
#include "mesos/scheduler_connection.hpp"
#include "dispatcher/rest_api.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace tailor;

namespace {

struct Flags {
  int port = 8080;
  std::string bind = "0.0.0.0";
  std::string advertiseHost = "127.0.0.1";
  std::string stateStore;
  std::string launcher = "local";
  int maxRunningJobs = 4;
  int maxAttempts = 3;
  std::string relaunchBackoff = "1s";
  std::string jobManagerTimeout = "30s";
  std::string maxUploadSize = "64MiB";
  std::string jobManagerBinary;
  std::vector<std::string> jobManagerArgs;
  std::string logLevel = "info";
  std::string logFile;
  std::string artifactDir;
  // Mesos
  std::string mesosMaster;
  std::string mesosContentType = "protobuf";
  std::string mesosRole = "*";
  std::string mesosUser;
  std::string mesosPrincipal;
  std::string mesosSecretFile;
  std::string mesosFailoverTimeout = "7days";
  std::string frameworkName = "tailor";
  std::string webuiUrl;
  std::string jobManagerResources = "cpus=0.5,mem=512";
  std::string mesosRefuse = "5s";
};

std::string defaultJobManagerBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "tailor-jobmanager").string();
}

// Splits each --jobmanager-arg on whitespace ("--local-resources cpus=2,mem=2048").
std::vector<std::string> splitArgs(const std::vector<std::string>& given) {
  std::vector<std::string> args;
  for (const auto& text : given) {
    std::istringstream in(text);
    std::string word;
    while (in >> word) args.push_back(word);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  po::options_description options("tailor-dispatcher --state-store local:DIR [options]");
  options.add_options()("help", "show this help")(
      "port", po::value(&flags.port)->default_value(flags.port),
      "port of the REST API and the JobManagers' RPC (0 picks a free one)")(
      "bind", po::value(&flags.bind)->default_value(flags.bind), "address to listen on")(
      "advertise-host", po::value(&flags.advertiseHost)->default_value(flags.advertiseHost),
      "host JobManagers use to reach this Dispatcher")(
      "state-store", po::value(&flags.stateStore)->required(),
      "where job records live: local:DIR")(
      "launcher", po::value(&flags.launcher)->default_value(flags.launcher),
      "how JobManagers start: local (child processes)")(
      "max-running-jobs", po::value(&flags.maxRunningJobs)->default_value(flags.maxRunningJobs),
      "jobs whose JobManager runs at once; the rest wait in the queue")(
      "jobmanager-max-attempts", po::value(&flags.maxAttempts)->default_value(flags.maxAttempts),
      "JobManager attempts per job before it fails")(
      "jobmanager-relaunch-backoff",
      po::value(&flags.relaunchBackoff)->default_value(flags.relaunchBackoff),
      "wait before the second attempt; doubles per attempt, at most 60s")(
      "jobmanager-timeout",
      po::value(&flags.jobManagerTimeout)->default_value(flags.jobManagerTimeout),
      "a JobManager silent this long is taken as lost")(
      "max-upload-size", po::value(&flags.maxUploadSize)->default_value(flags.maxUploadSize),
      "largest submission (spec and files, as sent)")(
      "jobmanager-binary", po::value(&flags.jobManagerBinary),
      "tailor-jobmanager (default: next to this executable)")(
      "jobmanager-arg", po::value(&flags.jobManagerArgs)->composing(),
      "flags given to every JobManager, e.g. \"--local-resources cpus=4,mem=8GiB\" (repeatable)")(
      "artifact-dir", po::value(&flags.artifactDir),
      "where tailor-jobmanager and tailor-taskmanager are served from for the Mesos fetcher "
      "(default: next to this executable)")(
      "mesos-master", po::value(&flags.mesosMaster),
      "HOST:PORT[,HOST:PORT...] of the Mesos masters (for --launcher mesos)")(
      "mesos-content-type", po::value(&flags.mesosContentType)->default_value(flags.mesosContentType),
      "protobuf | json, for the Dispatcher's framework and its JobManagers")(
      "mesos-role", po::value(&flags.mesosRole)->default_value(flags.mesosRole),
      "role of the Dispatcher's framework and of the jobs' frameworks")(
      "mesos-user", po::value(&flags.mesosUser), "user tasks run as (default: this user)")(
      "mesos-principal", po::value(&flags.mesosPrincipal), "the Dispatcher framework's principal")(
      "mesos-secret-file", po::value(&flags.mesosSecretFile), "file holding the principal's secret")(
      "mesos-failover-timeout",
      po::value(&flags.mesosFailoverTimeout)->default_value(flags.mesosFailoverTimeout),
      "how long Mesos keeps the Dispatcher's framework while it is away")(
      "mesos-refuse", po::value(&flags.mesosRefuse)->default_value(flags.mesosRefuse),
      "refuse filter on declined offers")(
      "framework-name", po::value(&flags.frameworkName)->default_value(flags.frameworkName),
      "name of the Dispatcher's framework (jobs' are tailor-job-<id>)")(
      "webui-url", po::value(&flags.webuiUrl), "FrameworkInfo.webui_url")(
      "jobmanager-resources",
      po::value(&flags.jobManagerResources)->default_value(flags.jobManagerResources),
      "what each JobManager task asks Mesos for: cpus=N,mem=SIZE")(
      "log-level", po::value(&flags.logLevel)->default_value(flags.logLevel),
      "trace|debug|info|warn|error")(
      "log-file", po::value(&flags.logFile), "log file (default: stderr)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tailor-dispatcher: " << e.what() << "\n";
    return 2;
  }
  std::string error;
  if (!configureLogging(LogConfig{flags.logLevel, flags.logFile}, &error)) {
    std::cerr << "tailor-dispatcher: " << error << "\n";
    return 2;
  }
  auto fail = [](const std::string& message) {
    std::cerr << "tailor-dispatcher: " << message << "\n";
    return 2;
  };
  if (flags.port < 0 || flags.port > 65535) return fail("--port: expected 0..65535");
  if (flags.launcher != "local" && flags.launcher != "mesos") {
    return fail("--launcher: '" + flags.launcher + "' is not a launcher (expected local or mesos)");
  }
  if (flags.launcher == "mesos" && flags.mesosMaster.empty()) {
    return fail("--launcher mesos needs --mesos-master HOST:PORT[,HOST:PORT...]");
  }
  if (flags.mesosContentType != "protobuf" && flags.mesosContentType != "json") {
    return fail("--mesos-content-type: '" + flags.mesosContentType +
                "' is not a content type (expected protobuf or json)");
  }
  if (Status named = dispatcher::checkFrameworkName(flags.frameworkName); !named.ok()) {
    return fail(named.error().message);
  }
  auto jmResources = parseResourceList(flags.jobManagerResources, Resources{500, 512, 0, 0});
  if (!jmResources.ok()) return fail("--jobmanager-resources: " + jmResources.error().message);
  auto refuse = parseDuration(flags.mesosRefuse);
  if (!refuse.ok()) return fail("--mesos-refuse: " + refuse.error().message);
  auto failover = tailor::mesos::parseMesosDuration(flags.mesosFailoverTimeout);
  if (!failover.ok()) failover = parseDuration(flags.mesosFailoverTimeout);
  if (!failover.ok()) return fail("--mesos-failover-timeout: " + failover.error().message);
  std::string secret;
  if (!flags.mesosSecretFile.empty()) {
    std::ifstream in(flags.mesosSecretFile);
    if (!in) return fail("--mesos-secret-file: cannot read '" + flags.mesosSecretFile + "'");
    std::getline(in, secret);
  }
  std::vector<std::string> masters;
  for (std::istringstream in(flags.mesosMaster); !in.eof();) {
    std::string master;
    std::getline(in, master, ',');
    if (master.empty()) continue;
    auto colon = master.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == master.size() ||
        master.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return fail("--mesos-master: '" + master + "' is not HOST:PORT");
    }
    masters.push_back(master);
  }
  if (flags.maxRunningJobs < 1) return fail("--max-running-jobs: expected a number >= 1");
  if (flags.maxAttempts < 1) return fail("--jobmanager-max-attempts: expected a number >= 1");
  auto backoff = parseDuration(flags.relaunchBackoff);
  if (!backoff.ok()) return fail("--jobmanager-relaunch-backoff: " + backoff.error().message);
  auto silence = parseDuration(flags.jobManagerTimeout);
  if (!silence.ok()) return fail("--jobmanager-timeout: " + silence.error().message);
  if (*silence < Duration(2000)) {
    return fail("--jobmanager-timeout: '" + flags.jobManagerTimeout +
                "' is too short (expected at least 2s: JobManagers report once a second)");
  }
  auto upload = parseMebibytes(flags.maxUploadSize);
  if (!upload.ok() || *upload <= 0) {
    return fail("--max-upload-size: '" + flags.maxUploadSize +
                "' is not a size (expected e.g. 64MiB)");
  }
  if (flags.jobManagerBinary.empty()) flags.jobManagerBinary = defaultJobManagerBinary();
  if (flags.artifactDir.empty()) {
    flags.artifactDir = fs::path(flags.jobManagerBinary).parent_path().string();
  }
  if (access(flags.jobManagerBinary.c_str(), X_OK) != 0) {
    return fail("--jobmanager-binary: '" + flags.jobManagerBinary + "' is not an executable file");
  }
  auto store = dispatcher::openJobStore(flags.stateStore);
  if (!store.ok()) return fail(store.error().message);

  auto log = logger("dispatcher");
  AsioEventLoop loop;
  dispatcher::LocalLauncherConfig launcherConfig;
  launcherConfig.jobManagerBinary = flags.jobManagerBinary;
  launcherConfig.extraArgs = splitArgs(flags.jobManagerArgs);
  launcherConfig.logLevel = flags.logLevel;
  dispatcher::LocalLauncher localLauncher(loop, launcherConfig);

  dispatcher::MesosLauncherConfig mesosConfig;
  mesosConfig.frameworkName = flags.frameworkName;
  mesosConfig.role = flags.mesosRole;
  mesosConfig.user = flags.mesosUser;
  mesosConfig.principal = flags.mesosPrincipal;
  mesosConfig.failoverTimeoutSeconds = std::chrono::duration<double>(*failover).count();
  mesosConfig.webuiUrl = flags.webuiUrl;
  mesosConfig.jobManagerResources = *jmResources;
  mesosConfig.refuse = *refuse;
  mesosConfig.mesosMasters = flags.mesosMaster;
  mesosConfig.contentType = flags.mesosContentType;
  mesosConfig.extraArgs = launcherConfig.extraArgs;
  mesosConfig.logLevel = flags.logLevel;
  dispatcher::MesosLauncher mesosLauncher(loop, **store, mesosConfig);
  http::CurlHttpClient mesosCalls(loop, 1);  // one worker: Mesos calls stay in order
  std::unique_ptr<tailor::mesos::HttpSchedulerConnection> connection;
  bool onMesos = flags.launcher == "mesos";
  if (onMesos) {
    tailor::mesos::SchedulerConnectionConfig connectionConfig;
    connectionConfig.masters = masters;
    connectionConfig.contentType = flags.mesosContentType == "json"
                                       ? tailor::mesos::ContentType::kJson
                                       : tailor::mesos::ContentType::kProtobuf;
    connectionConfig.principal = flags.mesosPrincipal;
    connectionConfig.secret = secret;
    connection = std::make_unique<tailor::mesos::HttpSchedulerConnection>(
        loop, mesosCalls, connectionConfig, mesosLauncher);
    mesosLauncher.setConnection(connection.get());
  }
  dispatcher::JobManagerLauncher& launcher =
      onMesos ? static_cast<dispatcher::JobManagerLauncher&>(mesosLauncher) : localLauncher;

  dispatcher::DispatcherConfig config;
  config.maxRunningJobs = flags.maxRunningJobs;
  config.maxJobManagerAttempts = flags.maxAttempts;
  config.relaunchBackoff = *backoff;
  config.jobManagerTimeout = *silence;
  dispatcher::Dispatcher core(loop, **store, launcher, config);
  http::CurlHttpClient jobManagerCalls(loop, 2);
  rpc::Client rpcClient(jobManagerCalls);
  dispatcher::RpcJobManagerGateway jobManagers(rpcClient);
  core.setJobManagerGateway(&jobManagers);

  http::Server server(loop, flags.bind, static_cast<std::uint16_t>(flags.port));
  dispatcher::RestApiConfig apiConfig;
  apiConfig.maxUploadBytes = static_cast<std::uint64_t>(*upload) << 20;
  apiConfig.artifactDir = flags.artifactDir;
  rpc::Server rpcServer(server);
  rpcServer.handle<v1::ReportJobStatusRequest, v1::ReportJobStatusResponse>(
      "Dispatcher", "ReportJobStatus",
      [&](const v1::ReportJobStatusRequest& request) -> Result<v1::ReportJobStatusResponse> {
        return core.reportStatus(request);
      });
  dispatcher::addRestApi(server, core, apiConfig);
  auto port = server.start();
  if (!port.ok()) return fail(port.error().message);
  core.setAddress(flags.advertiseHost + ":" + std::to_string(*port));

  boost::asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log->info("signal {}: stopping; running JobManagers go on and are adopted at the next start",
              signal);
    loop.stop();
  });
  loop.post([&] {
    Status recovered = core.recover();
    if (!recovered.ok()) {
      log->error("cannot recover job records: {}", recovered.error().message);
      loop.stop();
      return;
    }
    // After recovery, so that adopted JobManager tasks are reconciled at once.
    if (onMesos) mesosLauncher.start();
  });
  std::printf("tailor-dispatcher listening on %s:%u (state %s, %s launcher)\n",
              flags.bind.c_str(), static_cast<unsigned>(*port), (*store)->describe().c_str(),
              launcher.name().c_str());
  std::fflush(stdout);
  log->info("listening on {}:{}, state {}, {} launcher, at most {} running jobs", flags.bind,
            *port, (*store)->describe(), launcher.name(), flags.maxRunningJobs);
  loop.run();
  if (connection) connection->stop();
  server.stop();
  return 0;
}
