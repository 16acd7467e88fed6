// tailor-dispatcher: the long-running service that takes jobs over REST,
// keeps their records in the state store and launches one tailor-jobmanager
// per job. The composition root: only this file wires real objects.

#include <signal.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
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
  std::string mesosMaster;
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
      "mesos-master", po::value(&flags.mesosMaster),
      "HOST:PORT[,HOST:PORT...] of the Mesos masters (for --launcher mesos)")(
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
  if (flags.launcher != "local") {
    return fail("--launcher: '" + flags.launcher +
                "' is not available (expected local; the mesos launcher is not built yet)");
  }
  if (flags.maxRunningJobs < 1) return fail("--max-running-jobs: expected a number >= 1");
  if (flags.maxAttempts < 1) return fail("--jobmanager-max-attempts: expected a number >= 1");
  auto backoff = parseDuration(flags.relaunchBackoff);
  if (!backoff.ok()) return fail("--jobmanager-relaunch-backoff: " + backoff.error().message);
  auto silence = parseDuration(flags.jobManagerTimeout);
  if (!silence.ok()) return fail("--jobmanager-timeout: " + silence.error().message);
  auto upload = parseMebibytes(flags.maxUploadSize);
  if (!upload.ok() || *upload <= 0) {
    return fail("--max-upload-size: '" + flags.maxUploadSize +
                "' is not a size (expected e.g. 64MiB)");
  }
  if (flags.jobManagerBinary.empty()) flags.jobManagerBinary = defaultJobManagerBinary();
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
  dispatcher::LocalLauncher launcher(loop, launcherConfig);

  dispatcher::DispatcherConfig config;
  config.maxRunningJobs = flags.maxRunningJobs;
  config.maxJobManagerAttempts = flags.maxAttempts;
  config.relaunchBackoff = *backoff;
  config.jobManagerTimeout = *silence;
  dispatcher::Dispatcher core(loop, **store, launcher, config);

  http::Server server(loop, flags.bind, static_cast<std::uint16_t>(flags.port));
  dispatcher::RestApiConfig apiConfig;
  apiConfig.maxUploadBytes = static_cast<std::uint64_t>(*upload) << 20;
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
    }
  });
  std::printf("tailor-dispatcher listening on %s:%u (state %s, %s launcher)\n",
              flags.bind.c_str(), static_cast<unsigned>(*port), (*store)->describe().c_str(),
              launcher.name().c_str());
  std::fflush(stdout);
  log->info("listening on {}:{}, state {}, {} launcher, at most {} running jobs", flags.bind,
            *port, (*store)->describe(), launcher.name(), flags.maxRunningJobs);
  loop.run();
  server.stop();
  return 0;
}
