// tailor-taskmanager: the composition root of a TaskManager process.

#include "common/asio_event_loop.hpp"

#include <signal.h>

#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <iostream>
#include <optional>

#include "common/config.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/http/tls.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/rpc.hpp"
#include "common/secret.hpp"
#include "common/version.hpp"
#include "executor/mesos_executor.hpp"
#include "executor/task_manager.hpp"
#include "common/subprocess.hpp"

namespace po = boost::program_options;
using namespace tailor;

int main(int argc, char** argv) {
  std::string resources;
  std::string logFile;
  std::string logLevel;
  std::string bind;
  int port = 0;
  std::string contentType;
  std::string lossTimeout = "0s";
  executor::TaskManagerConfig config;
  po::options_description options("tailor-taskmanager options");
  options.add_options()("help", "show this help")("version", "print the version and exit")(
      "taskmanager-id", po::value(&config.id)->required(), "id given by the ResourceManager")(
      "resource-manager", po::value(&config.resourceManagerAddress)->required(),
      "host:port of the ResourceManager")(
      "resources", po::value(&resources)->required(), "cpus=N,mem=MiB,disk=MiB,gpus=N")(
      "work-dir", po::value(&config.workDir)->required(), "work directory (removed at exit)")(
      "task-log-dir", po::value(&config.taskLogDir),
      "keep each task attempt's stderr here, after exit too (default: in the work directory)")(
      "advertise-host", po::value(&config.advertiseHost)->default_value("127.0.0.1"),
      "host other components reach this TM at")(
      "bind", po::value(&bind)->default_value("127.0.0.1"), "address to listen on")(
      "port", po::value(&port)->default_value(0), "port to listen on (0: any free port)")(
      "mesos-content-type", po::value(&contentType)->default_value("protobuf"),
      "as a Mesos executor: protobuf | json")(
      "jobmanager-source", po::value(&config.jobManagerSource),
      "where the job's leading JobManager publishes its address (its --ha-store: local:DIR or "
      "zk://...); with --jobmanager-loss-timeout, a lost JobManager is waited for there")(
      "jobmanager-loss-timeout", po::value(&lossTimeout)->default_value(lossTimeout),
      "how long to keep partitions and wait for the job's next JobManager (0s: exit at once)")(
      "log-file", po::value(&logFile)->default_value(""), "log file (default: stderr)")(
      "log-level", po::value(&logLevel)->default_value("info"), "trace|debug|info|warn|error");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    if (vm.count("version")) {
      std::cout << "tailor-taskmanager " << kVersion << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tailor-taskmanager: " << e.what() << "\n" << options << "\n";
    return 2;
  }
  std::string error;
  if (!configureLogging(LogConfig{logLevel, logFile}, &error)) {
    std::cerr << "tailor-taskmanager: " << error << "\n";
    return 2;
  }
  auto parsed = parseResourceList(resources, Resources());
  if (!parsed.ok()) {
    std::cerr << "tailor-taskmanager: --resources: " << parsed.error().message << "\n";
    return 2;
  }
  config.resources = *parsed;
  auto loss = parseDuration(lossTimeout);
  if (!loss.ok()) {
    std::cerr << "tailor-taskmanager: --jobmanager-loss-timeout: " << loss.error().message << "\n";
    return 2;
  }
  config.jobManagerLossTimeout = *loss;
  ::signal(SIGPIPE, SIG_IGN);

  if (port < 0 || port > 65535) {
    std::cerr << "tailor-taskmanager: --port: " << port << " is not a port\n";
    return 2;
  }
  if (contentType != "protobuf" && contentType != "json") {
    std::cerr << "tailor-taskmanager: --mesos-content-type: expected protobuf or json\n";
    return 2;
  }
  // The job's secret, from the JobManager that started this process; out of
  // the environment at once, so that tasks do not inherit it.
  std::string jobSecret = secret::takeFromEnvironment();
  if (jobSecret.empty()) {
    std::cerr << "tailor-taskmanager: no job secret in " << secret::kEnvironmentVariable
              << "; a TaskManager is started by its JobManager, which sets it\n";
    return 2;
  }
  // TLS (docs/security.md "TLS"): as the JobManager that started it.
  auto tls = http::tlsFromEnvironment();
  if (!tls.ok()) {
    std::cerr << "tailor-taskmanager: " << tls.error().message << "\n";
    return 2;
  }
  http::setProcessTls(*tls);
  // Under Mesos the agent starts this process as a custom executor.
  bool underMesos = std::getenv("MESOS_AGENT_ENDPOINT") != nullptr;
  std::optional<tailor::mesos::ExecutorEnvironment> mesosEnv;
  if (underMesos) {
    auto env = tailor::mesos::ExecutorEnvironment::fromEnvironment(currentEnvironment());
    if (!env.ok()) {
      logger("taskmanager")->error("{}", env.error().message);
      return 2;
    }
    mesosEnv = *env;
  }

  int exitCode = 0;
  AsioEventLoop loop;
  // Task updates of many short attempts go out in parallel.
  http::CurlHttpClient httpClient(loop, 4);
  http::CurlHttpClient agentClient(loop, 1);  // one worker: updates go in order
  http::Server httpServer(loop, bind, static_cast<std::uint16_t>(port));
  if (tls->serving()) httpServer.useTls(*tls);
  // Its JobManager and the TaskManagers that fetch its partitions keep a few
  // connections each; far more is someone holding them open.
  httpServer.setConnectionLimit(512);
  // Requests: RPC from its JobManager, partition GETs without a body. The
  // largest is a deployment of a task reading 100000 upstream tasks (about
  // 10 MiB of input locations).
  httpServer.setBodyLimit(64ull << 20);
  rpc::Server rpcServer(httpServer);
  rpc::setCallSecret(jobSecret);
  rpcServer.requireSecret(jobSecret);
  metrics::serveMetrics(httpServer);
  rpc::Client rpcClient(httpClient);
  auto exitProcess = [&](int code) {
    exitCode = code;
    loop.stop();
  };
  std::unique_ptr<executor::MesosExecutor> mesosExecutor;
  executor::TaskManager taskManager(loop, httpServer, rpcClient, config, [&](int code) {
    if (mesosExecutor) {
      mesosExecutor->onTaskManagerStopped(code);
    } else {
      exitProcess(code);
    }
  });
  taskManager.addRoutes(rpcServer);
  auto bound = httpServer.start();
  if (!bound.ok()) {
    logger("taskmanager")->error("{}", bound.error().message);
    return 1;
  }
  std::unique_ptr<tailor::mesos::ExecutorConnection> agent;
  if (underMesos) {
    mesosExecutor = std::make_unique<executor::MesosExecutor>(
        loop, executor::MesosExecutor::Hooks{
                  [&] { taskManager.start(*bound); },
                  [&](const std::string& reason) { taskManager.shutdown(reason, 0); },
                  exitProcess});
    agent = std::make_unique<tailor::mesos::ExecutorConnection>(
        loop, agentClient, *mesosEnv,
        contentType == "json" ? tailor::mesos::ContentType::kJson
                              : tailor::mesos::ContentType::kProtobuf,
        *mesosExecutor);
    mesosExecutor->setConnection(agent.get());
    taskManager.setOnRegistered([&] { mesosExecutor->onTaskManagerRegistered(); });
  }
  boost::asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) taskManager.shutdown(fmt::format("stopped by signal {}", signal), 0);
  });
  loop.post([&] {
    if (agent) {
      agent->start();  // the TaskManager starts on LAUNCH
    } else {
      taskManager.start(*bound);
    }
  });
  loop.run();
  if (agent) agent->stop();
  return exitCode;
}
