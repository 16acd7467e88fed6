// fake-command-executor: the fake agent's stand-in for Mesos' `mesos-executor`
// (see command_executor.hpp). The agent starts it in the sandbox of a command
// task with the MESOS_* environment; it subscribes on the v1 executor API,
// runs the task's command, and exits after its terminal update was
// acknowledged. The composition root: environment, logging, loop, wiring.

#include <signal.h>

#include <iostream>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/logging.hpp"
#include "common/process_launcher.hpp"
#include "common/subprocess.hpp"
#include "mesos/executor_connection.hpp"
#include "tests/fake_mesos/command_executor.hpp"

using namespace tailor;

int main() {
  std::string error;
  // Logs go to stderr, i.e. the sandbox's stderr file, as Mesos' executor's do.
  if (!configureLogging(LogConfig{"info", ""}, &error)) {
    std::cerr << "fake-command-executor: " << error << "\n";
    return 2;
  }
  auto environment = currentEnvironment();
  auto mesosEnv = tailor::mesos::ExecutorEnvironment::fromEnvironment(environment);
  if (!mesosEnv.ok()) {
    std::cerr << "fake-command-executor: " << mesosEnv.error().message << "\n";
    return 2;
  }
  fake_mesos::CommandExecutor::Config config;
  config.environment = environment;
  config.sandbox = mesosEnv->sandbox;
  auto grace = environment.find("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD");
  if (grace != environment.end()) {
    auto parsed = tailor::mesos::parseMesosDuration(grace->second);
    if (!parsed.ok()) {
      std::cerr << "fake-command-executor: MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: "
                << parsed.error().message << "\n";
      return 2;
    }
    config.shutdownGracePeriod = *parsed;
  }
  ::signal(SIGPIPE, SIG_IGN);

  int exitCode = 0;
  AsioEventLoop loop;
  http::CurlHttpClient agentClient(loop, 1);  // one worker: updates go in order
  ChildProcessLauncher launcher(loop);        // kills a command still running at exit
  std::unique_ptr<tailor::mesos::ExecutorConnection> agent;
  fake_mesos::CommandExecutor executor(
      loop, launcher, config,
      fake_mesos::CommandExecutor::Hooks{
          [&](::mesos::v1::TaskStatus status) { agent->update(std::move(status)); },
          [&](int code) {
            exitCode = code;
            loop.stop();
          }});
  agent = std::make_unique<tailor::mesos::ExecutorConnection>(
      loop, agentClient, *mesosEnv, tailor::mesos::ContentType::kProtobuf, executor);
  loop.post([&] { agent->start(); });
  loop.run();
  agent.reset();  // before the executor it reports to
  return exitCode;
}
