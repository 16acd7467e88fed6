#pragma once

// The Dispatcher's settings: its flags from the command line, from TAILOR_*
// environment variables, and, when Marathon runs it, defaults taken from the
// task environment Marathon sets (ports, host, service name, proxy base).
// Parsing and checking only: no file is read and nothing is started here.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/auth/credentials.hpp"
#include "common/event_loop.hpp"
#include "common/http/tls.hpp"
#include "common/resources.hpp"
#include "common/restart_strategy.hpp"
#include "common/result.hpp"
#include "common/zookeeper/url.hpp"
#include "mesos/master_operator.hpp"

namespace tailor::dispatcher {

struct DispatcherSettings {
  bool help = false;
  std::string helpText = {};  // the flags' descriptions, for --help
  bool version = false;       // --version: print it and exit

  int port = 8080;
  std::string bind = "0.0.0.0";
  std::string advertiseHost = "127.0.0.1";
  std::string stateStore = {};  // "local:DIR" (relative: the working directory's) or "zk://..."
  // Set for a zk:// state store: Dispatchers elect a leader under its path.
  std::optional<zookeeper::ZooKeeperUrl> zooKeeper = {};
  Duration zkSessionTimeout = Duration(10000);
  std::string workDir = "tailor-work";  // with a zk:// store: jobs' local files and logs
  std::string launcher = "local";
  int maxRunningJobs = 4;
  int maxQueuedJobsPerUser = 1000;  // QUEUED jobs per owner (429 beyond)
  std::string authFile = {};  // the REST API's credentials; empty: no authentication
  std::string dcosIamPublicKey = {};  // PEM: DC/OS IAM tokens are let in too
  auth::Role dcosIamRole = auth::Role::kSubmit;
  http::TlsConfig tls = {};    // --tls-*: empty certFile: plain HTTP
  // For jobs whose spec has none (dispatcher/restart_flags.hpp).
  v1::RestartStrategy restartStrategy = legacyRestartStrategy(3, Duration(1000));
  Duration jobManagerTimeout = Duration(30000);
  std::uint64_t maxUploadBytes = 64ull << 20;
  std::string jobManagerBinary = {};  // empty: next to the Dispatcher's executable
  std::vector<std::string> jobManagerArgs = {};  // split on whitespace
  std::string artifactDir = {};       // empty: the JobManager binary's folder
  std::string logLevel = "info";
  std::string logFile = {};

  // Mesos
  tailor::mesos::MesosMasters mesosMasters = {};  // a list of HOST:PORT, or zk://
  std::string mesosContentType = "protobuf";
  std::string mesosRole = "*";
  std::string mesosUser = {};
  std::string mesosPrincipal = {};
  std::string mesosSecretFile = {};
  Duration mesosFailoverTimeout = Duration(7LL * 24 * 3600 * 1000);
  Duration mesosRefuse = Duration(5000);
  std::string frameworkName = "tailor";
  // FrameworkInfo.webui_url; empty: http://<advertise host>:<port>/ once the
  // port is known.
  std::string webuiUrl = {};
  Resources jobManagerResources = {};
  // The release tarball JobManager and TaskManager tasks run from (see
  // MesosLauncherConfig::releaseUrl); empty: the bare binaries.
  std::string releaseUrl = {};

  // The path prefix under which users reach this Dispatcher (a proxy such as
  // DC/OS Admin Router strips it): links it gives out start with it.
  std::string externalBasePath = {};
  // Set when MARATHON_APP_ID is: Marathon runs this Dispatcher.
  std::string marathonAppId = {};
  // TAILOR_* variables that name no flag (likely misspelt), for a warning.
  std::vector<std::string> unknownVariables = {};
};

using Environment = std::map<std::string, std::string>;

// Reads the settings from `args` (argv without the program name) and `env`.
// A flag given on the command line wins over its TAILOR_<FLAG> variable
// (upper case, '-' as '_'), which wins over a Marathon-derived default, which
// wins over the built-in default. Under Marathon (MARATHON_APP_ID set):
// port = PORT_API, else PORT0; advertise host = HOST; framework name =
// MARATHON_APP_LABEL_DCOS_PACKAGE_FRAMEWORK_NAME, else DCOS_SERVICE_NAME;
// external base path = APPLICATION_WEB_PROXY_BASE (also outside Marathon).
// Errors name the flag or variable and the expected form; a missing state
// store under Marathon says how to give one, since the sandbox is not kept.
Result<DispatcherSettings> loadDispatcherSettings(const std::vector<std::string>& args,
                                                  const Environment& env);

}  // namespace tailor::dispatcher
