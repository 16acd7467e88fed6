#include "cli/marathon_commands.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "cli/command_line.hpp"
#include "common/config.hpp"
#include "common/file_chunk.hpp"
#include "marathon/app_definition.hpp"
#include "marathon/client.hpp"
#include "marathon/service.hpp"
#include "mesos/master_detector.hpp"

namespace po = boost::program_options;

namespace tailor::cli {

namespace {

namespace v2 = ::marathon::v2;

constexpr int kRefused = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

constexpr const char* kUsageText = R"(usage: tailor marathon <command> --marathon URL [options]

commands:
  deploy   create or update the Dispatcher's Marathon app, wait until it is healthy,
           print its address
  status   the app's tasks, their health, the Dispatcher's address, running deployments
  remove   delete the app, wait for it, tear down its Mesos framework

Exit codes: 0 done; 1 Marathon or the Mesos master refused; 2 bad usage;
3 unreachable, failed, or the wait timed out.
)";

struct MarathonFlags {
  std::string url;
  std::string user;
  std::string passwordFile;
  std::string tokenFile;
  std::string appId;  // deploy: the definition's when empty; else /tailor
  std::string timeout = "10m";
};

void addMarathonFlags(po::options_description& options, MarathonFlags& flags, bool appIdDefault) {
  options.add_options()("help", "show this help")(
      "marathon", po::value(&flags.url),
      "Marathon's URL, e.g. http://marathon.example.com:8080 or "
      "https://CLUSTER/service/marathon (default: $TAILOR_MARATHON)")(
      "marathon-user", po::value(&flags.user),
      "HTTP Basic user (Marathon's --http_credentials); needs --marathon-password-file")(
      "marathon-password-file", po::value(&flags.passwordFile),
      "file whose first line is the HTTP Basic password")(
      "marathon-token-file", po::value(&flags.tokenFile),
      "file whose first line is a DC/OS token (sent as 'Authorization: token=...')")(
      "app-id", po::value(&flags.appId),
      appIdDefault ? "the app's id (default: /tailor)"
                   : "the app's id (default: the definition's, /tailor for the packaged one)");
}

void addTimeoutFlag(po::options_description& options, MarathonFlags& flags, const char* what) {
  options.add_options()("timeout", po::value(&flags.timeout)->default_value("10m"), what);
}

int exitCodeOf(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
    case ErrorCode::kIo:
      return kUnreachable;
    default:
      return kRefused;
  }
}

int fail(const char* command, const Error& error, int code) {
  std::cerr << "tailor marathon " << command << ": " << error.message << "\n";
  return code;
}

// The client from the flags, or the usage error.
Result<std::unique_ptr<marathon::MarathonClient>> makeClient(const MarathonFlags& flags) {
  marathon::ClientConfig config;
  config.url = flags.url;
  if (config.url.empty()) {
    const char* env = std::getenv("TAILOR_MARATHON");
    if (env != nullptr) config.url = env;
  }
  if (config.url.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--marathon: missing (expected Marathon's URL, e.g. http://HOST:8080; or set "
                     "TAILOR_MARATHON)");
  }
  auto credentials = marathon::loadCredentials(flags.user, flags.passwordFile, flags.tokenFile);
  if (!credentials.ok()) return credentials.error();
  config.credentials = std::move(*credentials);
  config.forceHint = "--force";
  config.credentialsHint =
      "give --marathon-user with --marathon-password-file, or --marathon-token-file";
  return std::unique_ptr<marathon::MarathonClient>(
      std::make_unique<marathon::HttpMarathonClient>(std::move(config)));
}

Result<marathon::WaitOptions> waitOptions(const MarathonFlags& flags) {
  auto timeout = parseDuration(flags.timeout);
  if (!timeout.ok()) return timeout.error().withContext("--timeout");
  return marathon::WaitOptions{*timeout, Duration(1000)};
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// The definition to deploy: --app-file, else the packaged one.
Result<google::protobuf::Struct> loadDefinition(const std::string& appFile) {
  if (appFile.empty()) {
    return marathon::parseAppDefinition(std::string(marathon::packagedAppDefinition()),
                                        marathon::kPackagedAppName);
  }
  auto text = readWholeFile(appFile);
  if (!text) return makeError(ErrorCode::kInvalidArgument, "--app-file: cannot read '{}'", appFile);
  return marathon::parseAppDefinition(*text, appFile);
}

int deploy(int argc, char** argv) {
  MarathonFlags flags;
  marathon::DeployOptions deployOptions;
  std::string appFile;
  bool force = false;
  bool wait = false;
  bool noWait = false;
  bool dryRun = false;
  po::options_description options(
      "tailor marathon deploy --marathon URL --tarball-url URL [options]");
  addMarathonFlags(options, flags, false);
  options.add_options()("app-file", po::value(&appFile),
                        "deploy this app definition (JSON) instead of the packaged "
                        "packaging/marathon/tailor-dispatcher.json")(
      "tarball-url", po::value(&deployOptions.tarballUrl),
      "where the agents download the release tarball tailor-VERSION-linux-ARCH.tar.gz (the "
      "fetch URI); required while the definition fetches the example.invalid placeholder")(
      "mesos-master", po::value(&deployOptions.mesosMaster),
      "the Mesos master(s) the Dispatcher uses, HOST:PORT[,...] or zk://HOST:PORT[,...]/PATH "
      "(env TAILOR_MESOS_MASTER)")(
      "name", po::value(&deployOptions.name),
      "framework and service name: labels DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_SERVICE_NAME, env "
      "DCOS_SERVICE_NAME (default: the definition's, tailor)")(
      "cpus", po::value(&deployOptions.cpus), "CPUs of the Dispatcher's task")(
      "mem", po::value(&deployOptions.mem), "memory of the Dispatcher's task: MiB, or 1GiB, ...")(
      "env", po::value(&deployOptions.env)->composing(),
      "KEY=VALUE added to the app's env (repeatable), e.g. TAILOR_MAX_RUNNING_JOBS=8")(
      "force", po::bool_switch(&force),
      "override a deployment of the app that is still running (Marathon's force=true)")(
      "wait", po::bool_switch(&wait),
      "wait until the deployment is done and a task is healthy (the default)")(
      "no-wait", po::bool_switch(&noWait), "return once Marathon accepted the definition")(
      "dry-run", po::bool_switch(&dryRun),
      "print the app definition that would be sent, send nothing");
  addTimeoutFlag(options, flags, "give up waiting after this long (e.g. 90s, 10m)");
  if (auto done = parseCommand("marathon deploy", argc, argv, options, {})) return *done;
  if (wait && noWait) {
    return fail("deploy",
                makeError(ErrorCode::kInvalidArgument, "give --wait or --no-wait, not both"),
                kUsage);
  }
  auto waitFor = waitOptions(flags);
  if (!waitFor.ok()) return fail("deploy", waitFor.error(), kUsage);
  auto definition = loadDefinition(appFile);
  if (!definition.ok()) return fail("deploy", definition.error(), kUsage);
  deployOptions.appId = flags.appId;
  auto app = marathon::applyDeployOptions(std::move(*definition), deployOptions);
  if (!app.ok()) return fail("deploy", app.error(), kUsage);
  if (dryRun) {
    std::printf("%s\n", marathon::printAppDefinition(*app).c_str());
    return 0;
  }
  auto client = makeClient(flags);
  if (!client.ok()) return fail("deploy", client.error(), kUsage);
  marathon::RealSleeper sleeper;
  std::optional<marathon::WaitOptions> waiting;
  if (!noWait) waiting = *waitFor;
  auto outcome = marathon::deployApp(**client, sleeper, *app, force, waiting, say);
  if (!outcome.ok()) return fail("deploy", outcome.error(), exitCodeOf(outcome.error()));
  if (noWait) {
    say("not waiting: `tailor marathon status` shows when the Dispatcher is healthy");
  } else if (outcome->address.empty()) {
    say(fmt::format("the Dispatcher ({}) is healthy; its task has no port to show",
                    outcome->appId));
  } else {
    say(fmt::format("the Dispatcher is healthy at {}\n  export TAILOR_DISPATCHER={}",
                    outcome->address, outcome->address));
  }
  return 0;
}

void printApp(const v2::App& app, const std::vector<v2::Deployment>& deployments) {
  std::printf("app %s: %d instance%s; %d running, %d healthy, %d unhealthy, %d staged\n",
              app.id().c_str(), app.instances(), app.instances() == 1 ? "" : "s",
              app.tasks_running(), app.tasks_healthy(), app.tasks_unhealthy(), app.tasks_staged());
  for (const auto& task : app.tasks()) {
    std::string health = app.health_checks_size() == 0    ? "no health checks"
                         : marathon::isHealthy(app, task) ? "healthy"
                                                          : "not healthy";
    for (const auto& result : task.health_check_results()) {
      if (!result.alive() && !result.last_failure_cause().empty()) {
        health += " (" + result.last_failure_cause() + ")";
      }
    }
    std::printf("  task %s %s on %s, %s\n", task.id().c_str(), task.state().c_str(),
                task.host().empty() ? "-" : task.host().c_str(), health.c_str());
    std::string address = marathon::dispatcherAddress(task);
    if (!address.empty()) std::printf("    Dispatcher: %s\n", address.c_str());
  }
  if (!app.last_task_failure().message().empty()) {
    std::printf("  last task failure: %s %s (%s)\n", app.last_task_failure().state().c_str(),
                app.last_task_failure().message().c_str(),
                app.last_task_failure().timestamp().c_str());
  }
  bool any = false;
  for (const auto& deployment : deployments) {
    bool affects = false;
    for (const auto& affected : deployment.affected_apps()) affects |= affected == app.id();
    if (!affects) continue;
    if (!any) std::printf("deployments running:\n");
    any = true;
    std::printf("  %s step %d of %d (since %s)\n", deployment.id().c_str(),
                deployment.current_step(), deployment.total_steps(), deployment.version().c_str());
  }
  if (!any) std::printf("no deployment running\n");
}

int status(int argc, char** argv) {
  MarathonFlags flags;
  po::options_description options("tailor marathon status --marathon URL [options]");
  addMarathonFlags(options, flags, true);
  if (auto done = parseCommand("marathon status", argc, argv, options, {})) return *done;
  if (flags.appId.empty()) flags.appId = "/tailor";
  auto client = makeClient(flags);
  if (!client.ok()) return fail("status", client.error(), kUsage);
  auto app = (*client)->getApp(flags.appId);
  if (!app.ok()) return fail("status", app.error(), exitCodeOf(app.error()));
  auto deployments = (*client)->deployments();
  if (!deployments.ok())
    return fail("status", deployments.error(), exitCodeOf(deployments.error()));
  printApp(*app, *deployments);
  return 0;
}

// Through the masters named, or the leader ZooKeeper names at this moment.
Result<std::unique_ptr<mesos::MasterOperator>> makeMasterOperator(const std::string& masters) {
  auto list = mesos::parseMasterList(masters);
  if (!list.ok()) return list.error();
  if (list->zooKeeper) {
    auto leader = mesos::findLeadingMaster(*list->zooKeeper);
    if (!leader.ok()) return leader.error();
    if (!leader->has_value()) {
      return makeError(ErrorCode::kUnavailable, "no Mesos master leads in {}",
                       list->zooKeeper->describe());
    }
    list->hosts = {**leader};
  }
  return std::unique_ptr<mesos::MasterOperator>(
      std::make_unique<mesos::HttpMasterOperator>(std::move(list->hosts)));
}

int remove(int argc, char** argv) {
  MarathonFlags flags;
  std::string mesosMaster;
  bool force = false;
  po::options_description options("tailor marathon remove --marathon URL [options]");
  addMarathonFlags(options, flags, true);
  options.add_options()(
      "mesos-master", po::value(&mesosMaster),
      "the Mesos master to tear the framework down through, HOST:PORT[,...] or zk://... "
      "(default: the app's TAILOR_MESOS_MASTER)")(
      "force", po::bool_switch(&force),
      "override a deployment of the app that is still running (Marathon's force=true)");
  addTimeoutFlag(options, flags, "give up waiting for the deployment after this long");
  if (auto done = parseCommand("marathon remove", argc, argv, options, {})) return *done;
  if (flags.appId.empty()) flags.appId = "/tailor";
  auto waitFor = waitOptions(flags);
  if (!waitFor.ok()) return fail("remove", waitFor.error(), kUsage);
  if (!mesosMaster.empty()) {
    auto masters = mesos::parseMasterList(mesosMaster);
    if (!masters.ok()) return fail("remove", masters.error(), kUsage);
  }
  auto client = makeClient(flags);
  if (!client.ok()) return fail("remove", client.error(), kUsage);
  marathon::RealSleeper sleeper;
  auto outcome = marathon::removeApp(**client, sleeper, makeMasterOperator, flags.appId,
                                     mesosMaster, force, *waitFor, say);
  if (!outcome.ok()) return fail("remove", outcome.error(), exitCodeOf(outcome.error()));
  return 0;
}

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
};
constexpr Command kCommands[] = {{"deploy", deploy}, {"status", status}, {"remove", remove}};

// Every command's options, for `tailor marathon --help`: each command's own
// --help, which prints its options.
void printHelp() {
  std::cout << kUsageText << "\n";
  for (const auto& command : kCommands) {
    std::string name = std::string("marathon ") + command.name;
    std::string help = "--help";
    char* args[] = {name.data(), help.data()};
    (void)command.run(2, args);
  }
}

}  // namespace

int runMarathonCommand(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsageText;
    return kUsage;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    printHelp();
    return 0;
  }
  for (const auto& known : kCommands) {
    if (command == known.name) return known.run(argc - 1, argv + 1);
  }
  std::cerr << "tailor marathon: unknown command '" << command << "' (expected deploy, status or "
            << "remove)\n"
            << kUsageText;
  return kUsage;
}

}  // namespace tailor::cli
