#include "dispatcher/settings.hpp"

#include <boost/program_options.hpp>
#include <algorithm>
#include <cctype>
#include <sstream>

#include "common/config.hpp"
#include "common/zookeeper/url.hpp"
#include "dispatcher/mesos_launcher.hpp"
#include "dispatcher/restart_flags.hpp"
#include "mesos/executor_connection.hpp"
#include "mesos/master_operator.hpp"

namespace tailor::dispatcher {
namespace po = boost::program_options;

namespace {

// The flags as given, before they are checked and converted.
struct RawFlags {
  int port = 8080;
  std::string bind = "0.0.0.0";
  std::string advertiseHost = "127.0.0.1";
  std::string stateStore;
  std::string workDir = "tailor-work";
  std::string zkSessionTimeout = "10s";
  std::string launcher = "local";
  int maxRunningJobs = 4;
  int maxQueuedJobsPerUser = 1000;
  std::string authFile;
  std::string dcosIamPublicKey;
  std::string dcosIamRole = "submit";
  std::string tlsCert;
  std::string tlsKey;
  std::string tlsCa;
  bool tlsMutual = false;
  RestartFlags restart;
  std::string jobManagerTimeout = "30s";
  std::string maxUploadSize = "64MiB";
  std::string jobManagerBinary;
  std::vector<std::string> jobManagerArgs;
  std::string logLevel = "info";
  std::string logFile;
  std::string artifactDir;
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
  std::string externalBasePath;
  std::string releaseUrl;
};

po::options_description describeFlags(RawFlags& flags) {
  po::options_description options(
      "tailor-dispatcher --state-store local:DIR [options]\n"
      "Every flag can also be set as TAILOR_<FLAG> in the environment (e.g. "
      "TAILOR_MESOS_MASTER);\nthe command line wins");
  options.add_options()("help", "show this help")("version", "print the version and exit")(
      "port", po::value(&flags.port)->default_value(flags.port),
      "port of the REST API and the JobManagers' RPC (0 picks a free one; under Marathon: "
      "PORT_API, else PORT0)")(
      "bind", po::value(&flags.bind)->default_value(flags.bind), "address to listen on")(
      "advertise-host", po::value(&flags.advertiseHost)->default_value(flags.advertiseHost),
      "host JobManagers use to reach this Dispatcher (under Marathon: HOST)")(
      "state-store", po::value(&flags.stateStore),
      "where job records live: local:DIR (a relative DIR is under the working directory), or "
      "zk://HOST:PORT[,HOST:PORT...]/PATH (ZooKeeper; Dispatchers sharing it elect a leader, "
      "the others stand by)")(
      "work-dir", po::value(&flags.workDir)->default_value(flags.workDir),
      "with a zk:// state store: the local folder for jobs' files, JobManager logs and reports")(
      "zk-session-timeout",
      po::value(&flags.zkSessionTimeout)->default_value(flags.zkSessionTimeout),
      "ZooKeeper session timeout: a leader away this long loses its leadership; operations "
      "retry this long on connection loss")(
      "launcher", po::value(&flags.launcher)->default_value(flags.launcher),
      "how JobManagers start: local (child processes) or mesos (Mesos tasks)")(
      "max-running-jobs", po::value(&flags.maxRunningJobs)->default_value(flags.maxRunningJobs),
      "jobs whose JobManager runs at once; the rest wait in the queue")(
      "max-queued-jobs-per-user",
      po::value(&flags.maxQueuedJobsPerUser)->default_value(flags.maxQueuedJobsPerUser),
      "jobs one user may have QUEUED at once; more submissions are answered 429 (without "
      "--auth-file all jobs count as one user's)")(
      "auth-file", po::value(&flags.authFile),
      "credentials file of the REST API's users and tokens (docs/security.md); readable by its "
      "owner only. Without it the REST API takes requests from anyone")(
      "dcos-iam-public-key", po::value(&flags.dcosIamPublicKey),
      "PEM RSA public key of the DC/OS IAM: tokens it signed (RS256, as the dcos CLI and Admin "
      "Router send them: Authorization: token=...) are let in as their uid, with "
      "--dcos-iam-role; also turns authentication on")(
      "dcos-iam-role", po::value(&flags.dcosIamRole)->default_value(flags.dcosIamRole),
      "the role of DC/OS IAM users: read, submit or admin")(
      "tls-cert", po::value(&flags.tlsCert),
      "PEM certificate (chain) to serve HTTPS with; with it every hop is TLS: the REST API, "
      "and the RPC and partitions of the JobManagers and TaskManagers, which get the same "
      "files (the paths must exist on every Mesos agent; docs/security.md)")(
      "tls-key", po::value(&flags.tlsKey),
      "PEM private key of --tls-cert, readable by its owner only")(
      "tls-ca", po::value(&flags.tlsCa),
      "PEM authorities trusted for the certificates of Tailor's processes (default: the "
      "system's)")(
      "tls-mutual", po::value(&flags.tlsMutual)->implicit_value(true),
      "JobManagers and TaskManagers accept only clients presenting a certificate signed by "
      "--tls-ca (mutual TLS); needs --tls-cert, --tls-key and --tls-ca")(
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
      "HOST:PORT[,HOST:PORT...] of the Mesos masters, or zk://HOST:PORT[,...]/PATH where they "
      "elect their leader (for --launcher mesos)")(
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
      "name of the Dispatcher's framework (jobs' are tailor-job-<id>); under Marathon: the app's "
      "DCOS_PACKAGE_FRAMEWORK_NAME label, else DCOS_SERVICE_NAME")(
      "webui-url", po::value(&flags.webuiUrl),
      "FrameworkInfo.webui_url (default: http://<advertise-host>:<port>/)")(
      "external-base-path", po::value(&flags.externalBasePath),
      "path prefix under which a proxy exposes this Dispatcher, for the links it gives out "
      "(default: APPLICATION_WEB_PROXY_BASE)")(
      "release-url", po::value(&flags.releaseUrl),
      "the release tarball (tailor-<version>-linux-<arch>.tar.gz, http(s) or file URL) that "
      "JobManager and TaskManager tasks fetch and run from, so that agents need nothing "
      "installed (default: the bare binaries from this Dispatcher, which need the libraries "
      "they link on the agents)")(
      "jobmanager-resources",
      po::value(&flags.jobManagerResources)->default_value(flags.jobManagerResources),
      "what each JobManager task asks Mesos for: cpus=N,mem=SIZE")(
      "log-level", po::value(&flags.logLevel)->default_value(flags.logLevel),
      "trace|debug|info|warn|error")(
      "log-file", po::value(&flags.logFile), "log file (default: stderr)");
  addRestartFlags(options, flags.restart);
  return options;
}

// "TAILOR_MESOS_MASTER" -> "mesos-master".
std::string flagOfVariable(const std::string& name) {
  std::string flag = name.substr(std::string("TAILOR_").size());
  for (char& c : flag) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return flag;
}

// The TAILOR_* variables as "--flag=value" arguments; unknown ones listed.
std::vector<std::string> environmentArguments(const po::options_description& options,
                                              const Environment& env,
                                              std::vector<std::string>* unknown) {
  std::vector<std::string> args;
  for (const auto& [name, value] : env) {
    // TAILOR_DISPATCHER is the CLI's (where the Dispatcher is), not a flag.
    if (name.rfind("TAILOR_", 0) != 0 || name.size() == 7 || name == "TAILOR_DISPATCHER") {
      continue;
    }
    std::string flag = flagOfVariable(name);
    // An empty TAILOR_AUTH_FILE turns authentication off (a packaged app's
    // variable cannot be removed with `tailor marathon deploy --env`).
    if (flag == "auth-file" && value.empty()) continue;
    if (flag == "help" || flag == "version" || options.find_nothrow(flag, false) == nullptr) {
      unknown->push_back(name);
      continue;
    }
    args.push_back("--" + flag + "=" + value);
  }
  return args;
}

std::vector<std::string> splitArgs(const std::vector<std::string>& given) {
  std::vector<std::string> args;
  for (const auto& text : given) {
    std::istringstream in(text);
    std::string word;
    while (in >> word) args.push_back(word);
  }
  return args;
}

std::string lookup(const Environment& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

Result<int> portVariable(const Environment& env, const std::string& name) {
  const std::string value = lookup(env, name);
  bool digits = !value.empty() && value.size() <= 5 &&
                std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); });
  if (!digits || std::stoi(value) > 65535) {
    return makeError(ErrorCode::kInvalidArgument, "{}: '{}' is not a port (expected 0..65535)",
                     name, value);
  }
  return std::stoi(value);
}

// Marathon-derived defaults for what neither the command line nor a TAILOR_*
// variable set.
Status applyMarathonDefaults(const po::variables_map& given, const Environment& env,
                             RawFlags& flags) {
  auto unset = [&](const char* flag) { return given.count(flag) == 0 || given[flag].defaulted(); };
  if (unset("port")) {
    const char* variable = env.count("PORT_API") ? "PORT_API" : env.count("PORT0") ? "PORT0" : "";
    if (*variable == '\0') {
      return makeError(ErrorCode::kInvalidArgument,
                       "MARATHON_APP_ID is set but neither PORT_API nor PORT0 is: give the app "
                       "a port named 'api' in portDefinitions, or set --port");
    }
    auto port = portVariable(env, variable);
    if (!port.ok()) return port.error();
    flags.port = *port;
  }
  if (unset("advertise-host") && !lookup(env, "HOST").empty()) {
    flags.advertiseHost = lookup(env, "HOST");
  }
  if (unset("framework-name")) {
    std::string name = lookup(env, "MARATHON_APP_LABEL_DCOS_PACKAGE_FRAMEWORK_NAME");
    if (name.empty()) name = lookup(env, "DCOS_SERVICE_NAME");
    if (!name.empty()) flags.frameworkName = name;
  }
  if (flags.stateStore.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "no state store: under Marathon the sandbox goes with the task, so give "
                     "TAILOR_STATE_STORE=zk://HOST:PORT/PATH (ZooKeeper; several instances "
                     "then elect a leader) or local:DIR with DIR on a volume that outlives it (e.g. "
                     "local:state with a persistent volume whose containerPath is 'state')");
  }
  return Status();
}

// Checks and converts the flags' values.
Result<DispatcherSettings> convert(const RawFlags& flags) {
  auto invalid = [](const std::string& message) {
    return makeError(ErrorCode::kInvalidArgument, "{}", message);
  };
  DispatcherSettings s;
  if (flags.stateStore.empty()) {
    return invalid("--state-store is required (local:DIR or zk://HOST:PORT[,HOST:PORT...]/PATH)");
  }
  if (zookeeper::isZooKeeperUrl(flags.stateStore)) {
    auto url = zookeeper::parseZooKeeperUrl(flags.stateStore, "--state-store");
    if (!url.ok()) return url.error();
    s.zooKeeper = *url;
  } else if (flags.stateStore.rfind("local:", 0) != 0 || flags.stateStore.size() == 6) {
    return invalid("--state-store: '" + flags.stateStore +
                   "' is not a state store (expected local:DIR or "
                   "zk://HOST:PORT[,HOST:PORT...]/PATH)");
  }
  auto sessionTimeout = parseDuration(flags.zkSessionTimeout);
  if (!sessionTimeout.ok() || sessionTimeout->count() < 1000 || sessionTimeout->count() > 600000) {
    return invalid("--zk-session-timeout: '" + flags.zkSessionTimeout +
                   "' is not a duration from 1s to 10min (e.g. 10s)");
  }
  s.zkSessionTimeout = *sessionTimeout;
  if (flags.workDir.empty()) return invalid("--work-dir: empty (expected a folder)");
  s.workDir = flags.workDir;
  if (flags.port < 0 || flags.port > 65535) return invalid("--port: expected 0..65535");
  if (flags.launcher != "local" && flags.launcher != "mesos") {
    return invalid("--launcher: '" + flags.launcher +
                   "' is not a launcher (expected local or mesos)");
  }
  if (flags.launcher == "mesos" && flags.mesosMaster.empty()) {
    return invalid("--launcher mesos needs --mesos-master HOST:PORT[,HOST:PORT...] or zk://...");
  }
  if (flags.mesosContentType != "protobuf" && flags.mesosContentType != "json") {
    return invalid("--mesos-content-type: '" + flags.mesosContentType +
                   "' is not a content type (expected protobuf or json)");
  }
  if (Status named = checkFrameworkName(flags.frameworkName); !named.ok()) return named.error();
  auto jmResources = parseResourceList(flags.jobManagerResources, Resources{500, 512, 0, 0});
  if (!jmResources.ok()) return invalid("--jobmanager-resources: " + jmResources.error().message);
  auto refuse = parseDuration(flags.mesosRefuse);
  if (!refuse.ok()) return invalid("--mesos-refuse: " + refuse.error().message);
  auto failover = tailor::mesos::parseMesosDuration(flags.mesosFailoverTimeout);
  if (!failover.ok()) failover = parseDuration(flags.mesosFailoverTimeout);
  if (!failover.ok()) return invalid("--mesos-failover-timeout: " + failover.error().message);
  tailor::mesos::MesosMasters masters;
  if (!flags.mesosMaster.empty()) {
    auto parsed = tailor::mesos::parseMasterList(flags.mesosMaster);
    if (!parsed.ok()) return parsed.error();
    masters = std::move(*parsed);
  }
  if (flags.maxRunningJobs < 1) return invalid("--max-running-jobs: expected a number >= 1");
  if (flags.maxQueuedJobsPerUser < 1) {
    return invalid("--max-queued-jobs-per-user: expected a number >= 1");
  }
  auto restart = resolveRestartFlags(flags.restart);
  if (!restart.ok()) return restart.error();
  auto silence = parseDuration(flags.jobManagerTimeout);
  if (!silence.ok()) return invalid("--jobmanager-timeout: " + silence.error().message);
  if (*silence < Duration(2000)) {
    return invalid("--jobmanager-timeout: '" + flags.jobManagerTimeout +
                   "' is too short (expected at least 2s: JobManagers report once a second)");
  }
  auto upload = parseMebibytes(flags.maxUploadSize);
  if (!upload.ok() || *upload <= 0) {
    return invalid("--max-upload-size: '" + flags.maxUploadSize +
                   "' is not a size (expected e.g. 64MiB)");
  }
  const std::string& release = flags.releaseUrl;
  bool releaseScheme = release.rfind("http://", 0) == 0 || release.rfind("https://", 0) == 0 ||
                       release.rfind("file://", 0) == 0;
  if (!release.empty() && (!releaseScheme || (release.find(".tar") == std::string::npos &&
                                              release.find(".tgz") == std::string::npos))) {
    return invalid("--release-url: '" + release +
                   "' is not the URL of a release tarball (expected http(s):// or file:// "
                   "ending in tailor-<version>-linux-<arch>.tar.gz)");
  }
  const std::string& base = flags.externalBasePath;
  if (!base.empty() && (base.front() != '/' || base.find_first_of("?# ") != std::string::npos)) {
    return invalid("--external-base-path: '" + base +
                   "' is not a URL path (expected e.g. /service/tailor)");
  }
  s.port = flags.port;
  s.bind = flags.bind;
  s.advertiseHost = flags.advertiseHost;
  s.stateStore = flags.stateStore;
  s.launcher = flags.launcher;
  s.maxRunningJobs = flags.maxRunningJobs;
  s.maxQueuedJobsPerUser = flags.maxQueuedJobsPerUser;
  s.authFile = flags.authFile;
  s.dcosIamPublicKey = flags.dcosIamPublicKey;
  if (flags.dcosIamRole == "read") {
    s.dcosIamRole = auth::Role::kRead;
  } else if (flags.dcosIamRole == "submit") {
    s.dcosIamRole = auth::Role::kSubmit;
  } else if (flags.dcosIamRole == "admin") {
    s.dcosIamRole = auth::Role::kAdmin;
  } else {
    return invalid("--dcos-iam-role: '" + flags.dcosIamRole +
                   "' is not a role (expected read, submit or admin)");
  }
  s.tls.certFile = flags.tlsCert;
  s.tls.keyFile = flags.tlsKey;
  s.tls.caFile = flags.tlsCa;
  s.tls.mutual = flags.tlsMutual;
  Status tls = http::checkTls(s.tls, "--tls-");
  if (!tls.ok()) return invalid(tls.error().message);
  s.restartStrategy = *restart;
  s.jobManagerTimeout = *silence;
  s.maxUploadBytes = static_cast<std::uint64_t>(*upload) << 20;
  s.jobManagerBinary = flags.jobManagerBinary;
  s.jobManagerArgs = splitArgs(flags.jobManagerArgs);
  s.artifactDir = flags.artifactDir;
  s.logLevel = flags.logLevel;
  s.logFile = flags.logFile;
  s.mesosMasters = std::move(masters);
  s.mesosContentType = flags.mesosContentType;
  s.mesosRole = flags.mesosRole;
  s.mesosUser = flags.mesosUser;
  s.mesosPrincipal = flags.mesosPrincipal;
  s.mesosSecretFile = flags.mesosSecretFile;
  s.mesosFailoverTimeout = *failover;
  s.mesosRefuse = *refuse;
  s.frameworkName = flags.frameworkName;
  s.webuiUrl = flags.webuiUrl;
  s.jobManagerResources = *jmResources;
  s.releaseUrl = flags.releaseUrl;
  // "/service/tailor/" and "/service/tailor" give the same links.
  s.externalBasePath = base.size() > 1 && base.back() == '/' ? base.substr(0, base.size() - 1)
                                                              : base == "/" ? "" : base;
  return s;
}

}  // namespace

Result<DispatcherSettings> loadDispatcherSettings(const std::vector<std::string>& args,
                                                  const Environment& env) {
  RawFlags flags;
  po::options_description options = describeFlags(flags);
  po::variables_map given;
  std::vector<std::string> unknown;
  try {
    po::store(po::command_line_parser(args).options(options).run(), given);
    if (given.count("version") && !given.count("help")) {
      DispatcherSettings version;
      version.version = true;
      return version;
    }
    if (given.count("help")) {
      DispatcherSettings help;
      help.help = true;
      std::ostringstream text;
      text << options;
      help.helpText = text.str();
      return help;
    }
    // Stored second: a flag already on the command line keeps its value.
    po::store(po::command_line_parser(environmentArguments(options, env, &unknown))
                  .options(options)
                  .run(),
              given);
    po::notify(given);
  } catch (const po::error& e) {
    return makeError(ErrorCode::kInvalidArgument, "{}", e.what());
  }
  if (flags.externalBasePath.empty()) {
    flags.externalBasePath = lookup(env, "APPLICATION_WEB_PROXY_BASE");
  }
  std::string appId = lookup(env, "MARATHON_APP_ID");
  if (!appId.empty()) {
    Status applied = applyMarathonDefaults(given, env, flags);
    if (!applied.ok()) return applied.error();
  }
  auto settings = convert(flags);
  if (!settings.ok()) return settings.error();
  settings->marathonAppId = appId;
  settings->unknownVariables = std::move(unknown);
  return settings;
}

}  // namespace tailor::dispatcher
