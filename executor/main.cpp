// tailor-taskmanager: the composition root of a TaskManager process.

#include "common/asio_event_loop.hpp"

#include <signal.h>

#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <iostream>

#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/logging.hpp"
#include "common/rpc.hpp"
#include "executor/task_manager.hpp"

namespace po = boost::program_options;
using namespace tailor;

int main(int argc, char** argv) {
  std::string resources;
  std::string logFile;
  std::string logLevel;
  std::string bind;
  executor::TaskManagerConfig config;
  po::options_description options("tailor-taskmanager options");
  options.add_options()("help", "show this help")(
      "taskmanager-id", po::value(&config.id)->required(), "id given by the ResourceManager")(
      "resource-manager", po::value(&config.resourceManagerAddress)->required(),
      "host:port of the ResourceManager")(
      "resources", po::value(&resources)->required(), "cpus=N,mem=MiB,disk=MiB,gpus=N")(
      "work-dir", po::value(&config.workDir)->required(), "work directory (removed at exit)")(
      "advertise-host", po::value(&config.advertiseHost)->default_value("127.0.0.1"),
      "host other components reach this TM at")(
      "bind", po::value(&bind)->default_value("127.0.0.1"), "address to listen on")(
      "log-file", po::value(&logFile)->default_value(""), "log file (default: stderr)")(
      "log-level", po::value(&logLevel)->default_value("info"), "trace|debug|info|warn|error");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
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
  ::signal(SIGPIPE, SIG_IGN);

  int exitCode = 0;
  AsioEventLoop loop;
  http::CurlHttpClient httpClient(loop, 2);
  http::Server httpServer(loop, bind, 0);
  rpc::Server rpcServer(httpServer);
  rpc::Client rpcClient(httpClient);
  executor::TaskManager taskManager(loop, httpServer, rpcClient, config, [&](int code) {
    exitCode = code;
    loop.stop();
  });
  taskManager.addRoutes(rpcServer);
  auto port = httpServer.start();
  if (!port.ok()) {
    logger("taskmanager")->error("{}", port.error().message);
    return 1;
  }
  boost::asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) taskManager.shutdown(fmt::format("stopped by signal {}", signal), 0);
  });
  loop.post([&] { taskManager.start(*port); });
  loop.run();
  return exitCode;
}
