// fake-mesos: a fake Mesos 1.12 master with agents on one loopback port, for
// tests of frameworks and executors (see fake_mesos.hpp). The composition
// root: flags, logging, the cluster, and a wait for SIGINT/SIGTERM.
//
//   fake-mesos --port 0 --agent cpus=4,mem=8192,disk=20000,ports=31000-31099
//              --agent cpus=2,mem=4096,ports=32000-32099,attributes=rack:b
//   -> prints "fake-mesos listening on 127.0.0.1:PORT"
//
// Several processes make a cluster whose masters fail over through ZooKeeper:
//
//   fake-mesos --zk zk://127.0.0.1:2181/mesos                (a master; start two)
//   fake-mesos --zk zk://127.0.0.1:2181/mesos --no-master --agent ...   (agents)

#include <signal.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/http/tls.hpp"
#include "common/logging.hpp"
#include "tests/fake_mesos/fake_mesos.hpp"

namespace po = boost::program_options;
using namespace tailor;
using namespace tailor::fake_mesos;

namespace {

int usageError(const std::string& message) {
  std::cerr << "fake-mesos: " << message << "\n";
  return 2;
}

bool parseDurationFlag(const po::variables_map& vm, const char* name, Duration* out,
                       std::string* error) {
  if (vm.count(name) == 0) return true;
  auto parsed = parseDuration(vm[name].as<std::string>());
  if (!parsed.ok()) {
    *error = std::string("--") + name + ": " + parsed.error().message;
    return false;
  }
  *out = *parsed;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("fake-mesos options");
  // clang-format off
  options.add_options()
    ("help", "show this help")
    ("port", po::value<int>()->default_value(0), "port on 127.0.0.1 (0 picks a free one)")
    ("agent", po::value<std::vector<std::string>>(),
     "an agent: cpus=4,mem=8192,disk=20000,ports=31000-31099[,gpus=N][,attributes=rack:a;zone:b]"
     " (repeatable; default one agent like the golden captures)")
    ("allocation-interval", po::value<std::string>(), "offer pass period (default 1s)")
    ("offer-timeout", po::value<std::string>(), "rescind offers unanswered this long (default: never)")
    ("heartbeat-interval", po::value<std::string>(), "scheduler HEARTBEAT period (default 15s)")
    ("status-update-retry", po::value<std::string>(),
     "first re-send of an unacknowledged status update, doubling (default 10s)")
    ("executor-registration-timeout", po::value<std::string>(), "default 1m")
    ("executor-reregistration-timeout", po::value<std::string>(),
     "how long a restarted agent waits for its recovered executors to subscribe again"
     " (default 2s)")
    ("executor-shutdown-grace-period", po::value<std::string>(), "default 5s")
    ("simulate-executors", "run no executor processes: the agents answer for them")
    ("external-executors", "start nothing: executors are started by someone else")
    ("command-executor", po::value<std::string>(),
     "the binary that runs command tasks (default: fake-command-executor beside fake-mesos)")
    ("ack-executor-after-scheduler",
     "send ACKNOWLEDGED to executors only once the scheduler acknowledged (a real agent sends it"
     " as soon as it stored the update)")
    ("work-dir", po::value<std::string>(), "agent sandboxes (default: a temporary directory)")
    ("master-id", po::value<std::string>(), "the master's id (default: a random UUID)")
    ("framework-sequence", po::value<std::uint64_t>(), "number of the next framework id")
    ("offer-sequence", po::value<std::uint64_t>(), "number of the next offer id")
    ("zk", po::value<std::string>(),
     "zk://HOST:PORT[,...]/PATH: contend for leadership there as a Mesos master does, and have"
     " the agents (only those of --agent) register with whichever master leads")
    ("zk-session-timeout", po::value<std::string>(),
     "the ZooKeeper session timeout: how soon a dead master's node goes (default 10s)")
    ("no-master", "with --zk: run agents only")
    ("agent-reregister-timeout", po::value<std::string>(),
     "a newly elected master waits this long for the registry's agents to register again"
     " (default 10m)")
    ("registry", po::value<std::string>(),
     "with --zk: replicated_log (default: a new leader expects the agents its predecessors"
     " admitted) or in_memory (it knows none until they register)")
    ("failover-registration-delay", po::value<std::string>(),
     "with --zk: after a master failover, the agents register with the new leader only after"
     " this (default 0s)")
    ("log-level", po::value<std::string>()->default_value("info"),
     "trace, debug, info, warn, error or off")
    ("log-file", po::value<std::string>(), "log here instead of standard error")
    ("fetcher-ca", po::value<std::string>(),
     "PEM authorities the fetcher trusts for https:// URIs (a real agent's fetcher trusts "
     "its machine's store, where a deployment installs its own authority)");
  // clang-format on

  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usageError(e.what());
  }
  if (vm.count("help") != 0) {
    std::cout << options << "\n";
    return 0;
  }

  LogConfig logConfig;
  logConfig.level = vm["log-level"].as<std::string>();
  if (vm.count("log-file") != 0) logConfig.file = vm["log-file"].as<std::string>();
  std::string error;
  if (!configureLogging(logConfig, &error)) return usageError(error);

  if (vm.count("fetcher-ca") != 0) {
    http::TlsConfig tls;
    tls.caFile = vm["fetcher-ca"].as<std::string>();
    tls.verifyHostname = true;
    http::setProcessTls(tls);
  }

  FakeMesosConfig config;
  int port = vm["port"].as<int>();
  if (port < 0 || port > 65535) return usageError("--port must be 0..65535");
  config.port = static_cast<std::uint16_t>(port);
  if (vm.count("agent") != 0) {
    for (const auto& text : vm["agent"].as<std::vector<std::string>>()) {
      auto spec = parseAgentSpec(text);
      if (!spec.ok()) return usageError("--agent: " + spec.error().message);
      config.agents.push_back(*spec);
    }
  }
  Duration offerTimeout{0};
  bool durationsOk =
      parseDurationFlag(vm, "allocation-interval", &config.allocationInterval, &error) &&
      parseDurationFlag(vm, "heartbeat-interval", &config.heartbeatInterval, &error) &&
      parseDurationFlag(vm, "status-update-retry", &config.statusUpdateRetry, &error) &&
      parseDurationFlag(vm, "executor-registration-timeout", &config.executorRegistrationTimeout,
                        &error) &&
      parseDurationFlag(vm, "executor-reregistration-timeout",
                        &config.executorReregistrationTimeout, &error) &&
      parseDurationFlag(vm, "executor-shutdown-grace-period", &config.executorShutdownGracePeriod,
                        &error) &&
      parseDurationFlag(vm, "offer-timeout", &offerTimeout, &error) &&
      parseDurationFlag(vm, "zk-session-timeout", &config.zooKeeperSessionTimeout, &error) &&
      parseDurationFlag(vm, "agent-reregister-timeout", &config.agentReregisterTimeout, &error) &&
      parseDurationFlag(vm, "failover-registration-delay", &config.failoverRegistrationDelay,
                        &error);
  if (!durationsOk) return usageError(error);
  if (config.allocationInterval.count() <= 0 || config.heartbeatInterval.count() <= 0) {
    return usageError("--allocation-interval and --heartbeat-interval must be positive");
  }
  if (vm.count("offer-timeout") != 0) config.offerTimeout = offerTimeout;
  if (vm.count("zk") != 0) config.zooKeeper = vm["zk"].as<std::string>();
  config.runMaster = vm.count("no-master") == 0;
  if (vm.count("registry") != 0) {
    const std::string registry = vm["registry"].as<std::string>();
    if (registry != "in_memory" && registry != "replicated_log") {
      return usageError("--registry: '" + registry + "' is neither in_memory nor replicated_log");
    }
    config.inMemoryRegistry = registry == "in_memory";
  }
  if (!config.runMaster && (config.zooKeeper.empty() || vm.count("agent") == 0)) {
    return usageError("--no-master needs --zk and at least one --agent");
  }
  if (vm.count("simulate-executors") != 0 && vm.count("external-executors") != 0) {
    return usageError("--simulate-executors and --external-executors exclude each other");
  }
  if (vm.count("simulate-executors") != 0) config.executorMode = ExecutorMode::kSimulated;
  if (vm.count("external-executors") != 0) config.executorMode = ExecutorMode::kExternal;
  config.ackExecutorAfterScheduler = vm.count("ack-executor-after-scheduler") != 0;
  if (vm.count("work-dir") != 0) config.workDir = vm["work-dir"].as<std::string>();
  if (vm.count("command-executor") != 0) {
    config.commandExecutor = vm["command-executor"].as<std::string>();
  }
  if (vm.count("master-id") != 0) config.ids.masterId = vm["master-id"].as<std::string>();
  if (vm.count("framework-sequence") != 0) {
    config.ids.nextFrameworkNumber = vm["framework-sequence"].as<std::uint64_t>();
  }
  if (vm.count("offer-sequence") != 0) {
    config.ids.nextOfferNumber = vm["offer-sequence"].as<std::uint64_t>();
  }

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  FakeMesos mesos(config);
  auto bound = mesos.start();
  if (!bound.ok()) {
    std::cerr << "fake-mesos: " << bound.error().message << "\n";
    return 1;
  }
  std::printf("fake-mesos listening on 127.0.0.1:%u\n", static_cast<unsigned>(*bound));
  std::fflush(stdout);

  int received = 0;
  sigwait(&stopSignals, &received);
  logger("fake-mesos")->info("stopping on signal {}", received);
  mesos.stop();
  return 0;
}
