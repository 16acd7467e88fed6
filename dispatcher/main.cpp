// tailor-dispatcher: the long-running service that takes jobs over REST,
// keeps their records in the state store and launches one tailor-jobmanager
// per job, or per session (hands a session's jobs to it). The composition root: only this file wires real objects.

#include <signal.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <iostream>
#include <sstream>

#include "common/asio_event_loop.hpp"
#include "common/auth/authenticator.hpp"
#include "common/subprocess.hpp"
#include "common/version.hpp"
#include "common/http/server.hpp"
#include "common/http/tls.hpp"
#include "common/logging.hpp"
#include "common/resources.hpp"
#include "common/rpc.hpp"
#include "common/secret.hpp"
#include "dispatcher/dispatcher.hpp"
#include "dispatcher/local_launcher.hpp"
#include "dispatcher/mesos_launcher.hpp"
#include "mesos/executor_connection.hpp"
#include "mesos/scheduler_connection.hpp"
#include "dispatcher/rest_api.hpp"
#include "dispatcher/settings.hpp"
#include "dispatcher/zookeeper_job_store.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/session.hpp"

namespace fs = std::filesystem;
using namespace tailor;

namespace {

std::string defaultJobManagerBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "tailor-jobmanager").string();
}

}  // namespace

int main(int argc, char** argv) {
  auto fail = [](const std::string& message) {
    std::cerr << "tailor-dispatcher: " << message << "\n";
    return 2;
  };
  auto loaded = dispatcher::loadDispatcherSettings(std::vector<std::string>(argv + 1, argv + argc),
                                                   currentEnvironment());
  if (!loaded.ok()) return fail(loaded.error().message);
  dispatcher::DispatcherSettings flags = std::move(*loaded);
  if (flags.version) {
    std::cout << "tailor-dispatcher " << kVersion << "\n";
    return 0;
  }
  if (flags.help) {
    std::cout << flags.helpText << "\n";
    return 0;
  }
  std::string error;
  if (!configureLogging(LogConfig{flags.logLevel, flags.logFile}, &error)) return fail(error);
  // TLS (docs/security.md "TLS"): this process's, and through the
  // environment that of the JobManagers it starts locally (Mesos tasks get it
  // in theirs from the launcher).
  http::setProcessTls(flags.tls);
  http::exportProcessTls();
  std::string mesosSecret;
  if (!flags.mesosSecretFile.empty()) {
    // Owner-only, like every secret file (docs/security.md).
    auto read = secret::readFile(flags.mesosSecretFile);
    if (!read.ok()) return fail("--mesos-secret-file: " + read.error().message);
    mesosSecret = *read;
  }
  // The REST API's credentials: a file that is not private is refused.
  std::unique_ptr<auth::Authenticator> authenticator;
  if (!flags.authFile.empty()) {
    auto credentials = auth::loadCredentials(flags.authFile);
    if (!credentials.ok()) return fail("--auth-file: " + credentials.error().message);
    authenticator = std::make_unique<auth::Authenticator>(std::move(*credentials));
  }
  // DC/OS IAM tokens, checked with the IAM's public key.
  if (!flags.dcosIamPublicKey.empty()) {
    auto verifier = auth::JwtVerifier::fromPublicKeyFile(flags.dcosIamPublicKey);
    if (!verifier.ok()) return fail("--dcos-iam-public-key: " + verifier.error().message);
    if (!authenticator) {
      authenticator = std::make_unique<auth::Authenticator>(std::vector<auth::Credential>{});
    }
    authenticator->acceptIamTokens(std::move(*verifier), flags.dcosIamRole);
  }
  if (flags.jobManagerBinary.empty()) flags.jobManagerBinary = defaultJobManagerBinary();
  if (flags.artifactDir.empty()) {
    flags.artifactDir = fs::path(flags.jobManagerBinary).parent_path().string();
  }
  if (access(flags.jobManagerBinary.c_str(), X_OK) != 0) {
    return fail("--jobmanager-binary: '" + flags.jobManagerBinary + "' is not an executable file");
  }
  auto log = logger("dispatcher");
  AsioEventLoop loop;
  // With a ZooKeeper state store: a session, the store on it, and (once the
  // port is known) the election among the Dispatchers sharing it.
  std::unique_ptr<zookeeper::Session> zooKeeper;
  dispatcher::ZooKeeperJobStore* zooKeeperStore = nullptr;
  Result<std::unique_ptr<dispatcher::JobStore>> store =
      makeError(ErrorCode::kInternal, "no state store");
  if (flags.zooKeeper) {
    zookeeper::SessionOptions options;
    options.hosts = flags.zooKeeper->hosts;
    options.digest = flags.zooKeeper->digest;
    options.sessionTimeout = flags.zkSessionTimeout;
    options.retryFor = flags.zkSessionTimeout;
    auto session = zookeeper::Session::connect(loop, options);
    if (!session.ok()) return fail("--state-store: " + session.error().message);
    zooKeeper = std::move(*session);
    auto opened = dispatcher::ZooKeeperJobStore::open(*zooKeeper, flags.zooKeeper->path,
                                                      flags.zooKeeper->describe(), flags.workDir);
    if (!opened.ok()) return fail(opened.error().message);
    zooKeeperStore = opened->get();
    zooKeeperStore->setJobManagerUrl(flags.zooKeeper->withCredentials(""));
    store = std::unique_ptr<dispatcher::JobStore>(std::move(*opened));
  } else {
    store = dispatcher::openJobStore(flags.stateStore);
  }
  if (!store.ok()) return fail(store.error().message);
  dispatcher::LocalLauncherConfig launcherConfig;
  launcherConfig.jobManagerBinary = flags.jobManagerBinary;
  launcherConfig.extraArgs = flags.jobManagerArgs;
  launcherConfig.logLevel = flags.logLevel;
  dispatcher::LocalLauncher localLauncher(loop, launcherConfig);

  dispatcher::MesosLauncherConfig mesosConfig;
  mesosConfig.frameworkName = flags.frameworkName;
  mesosConfig.role = flags.mesosRole;
  mesosConfig.user = flags.mesosUser;
  mesosConfig.principal = flags.mesosPrincipal;
  mesosConfig.failoverTimeoutSeconds =
      std::chrono::duration<double>(flags.mesosFailoverTimeout).count();
  mesosConfig.webuiUrl = flags.webuiUrl;
  mesosConfig.releaseUrl = flags.releaseUrl;
  if (mesosConfig.webuiUrl.empty() && flags.port != 0) {
    mesosConfig.webuiUrl =
        fmt::format("{}{}:{}/", http::internalScheme(), flags.advertiseHost, flags.port);
  }
  mesosConfig.jobManagerResources = flags.jobManagerResources;
  mesosConfig.refuse = flags.mesosRefuse;
  mesosConfig.mesosMasters = flags.mesosMasters.flagValue();
  mesosConfig.contentType = flags.mesosContentType;
  mesosConfig.extraArgs = launcherConfig.extraArgs;
  mesosConfig.logLevel = flags.logLevel;
  dispatcher::MesosLauncher mesosLauncher(loop, **store, mesosConfig);
  http::CurlHttpClient mesosCalls(loop, 1);  // one worker: Mesos calls stay in order
  std::unique_ptr<tailor::mesos::MasterDetector> detector;  // for a zk:// --mesos-master
  std::unique_ptr<tailor::mesos::HttpSchedulerConnection> connection;
  bool onMesos = flags.launcher == "mesos";
  if (onMesos) {
    if (flags.mesosMasters.zooKeeper) {
      auto connected =
          tailor::mesos::ZooKeeperMasterDetector::connect(loop, *flags.mesosMasters.zooKeeper);
      if (!connected.ok()) return fail("--mesos-master: " + connected.error().message);
      detector = std::move(*connected);
    }
    tailor::mesos::SchedulerConnectionConfig connectionConfig;
    connectionConfig.masters = flags.mesosMasters.hosts;
    connectionConfig.contentType = flags.mesosContentType == "json"
                                       ? tailor::mesos::ContentType::kJson
                                       : tailor::mesos::ContentType::kProtobuf;
    connectionConfig.principal = flags.mesosPrincipal;
    connectionConfig.secret = mesosSecret;
    connection = std::make_unique<tailor::mesos::HttpSchedulerConnection>(
        loop, mesosCalls, connectionConfig, mesosLauncher, detector.get());
    mesosLauncher.setConnection(connection.get());
  }
  dispatcher::JobManagerLauncher& launcher =
      onMesos ? static_cast<dispatcher::JobManagerLauncher&>(mesosLauncher) : localLauncher;

  dispatcher::DispatcherConfig config;
  config.maxRunningJobs = flags.maxRunningJobs;
  config.maxQueuedJobsPerUser = flags.maxQueuedJobsPerUser;
  config.restartStrategy = flags.restartStrategy;
  config.jobManagerTimeout = flags.jobManagerTimeout;
  if (flags.zooKeeper) {
    config.dispatcherLeaders = flags.zooKeeper->withCredentials(flags.zooKeeper->path);
  }
  dispatcher::Dispatcher core(loop, **store, launcher, config);
  http::CurlHttpClient jobManagerCalls(loop, 2);
  rpc::Client rpcClient(jobManagerCalls);
  auto jobSecretOf = [&core](const std::string& jobId) { return core.jobSecret(jobId); };
  dispatcher::RpcJobManagerGateway jobManagers(rpcClient, jobSecretOf);
  core.setJobManagerGateway(&jobManagers);
  dispatcher::RpcSessionGateway sessionCalls(
      rpcClient, jobSecretOf, [&core](const std::string& name) { return core.sessionSecret(name); });
  core.setSessionGateway(&sessionCalls);

  http::Server server(loop, flags.bind, static_cast<std::uint16_t>(flags.port));
  if (flags.tls.serving()) {
    // REST clients authenticate with passwords and tokens: the Dispatcher
    // does not require a certificate, even with --tls-mutual.
    http::TlsConfig own = flags.tls;
    own.mutual = false;
    server.useTls(own);
  }
  server.setConnectionLimit(2048);  // REST clients and JobManagers; more is abuse
  dispatcher::RestApiConfig apiConfig;
  apiConfig.maxUploadBytes = flags.maxUploadBytes;
  apiConfig.artifactDir = flags.artifactDir;
  apiConfig.externalBasePath = flags.externalBasePath;
  apiConfig.authenticator = authenticator.get();
  rpc::Server rpcServer(server);
  // Leadership among Dispatchers that share a ZooKeeper store. Without one,
  // this Dispatcher always leads.
  bool leading = !flags.zooKeeper;
  std::unique_ptr<zookeeper::LeaderElection> election;
  std::unique_ptr<zookeeper::LeaderRetrieval> leaderRetrieval;
  if (flags.zooKeeper) {
    apiConfig.standbyLeader = [&]() -> std::optional<std::string> {
      if (leading) return std::nullopt;
      return leaderRetrieval && leaderRetrieval->leader() ? *leaderRetrieval->leader() : "";
    };
  }
  rpcServer.handle<v1::ReportJobStatusRequest, v1::ReportJobStatusResponse>(
      "Dispatcher", "ReportJobStatus",
      [&](const v1::ReportJobStatusRequest& request) -> Result<v1::ReportJobStatusResponse> {
        if (!leading) {
          return makeError(ErrorCode::kUnavailable, "this Dispatcher is a standby");
        }
        return core.reportStatus(request);
      },
      // Only the job's own JobManager (or its session's) holds its secret.
      [&core](const v1::ReportJobStatusRequest& request) { return core.jobSecret(request.job_id()); });
  rpcServer.handle<v1::GetUsageHistoryRequest, v1::UsageHistory>(
      "Dispatcher", "GetUsageHistory",
      [&](const v1::GetUsageHistoryRequest& request) -> Result<v1::UsageHistory> {
        if (!leading) {
          return makeError(ErrorCode::kUnavailable, "this Dispatcher is a standby");
        }
        return core.usageHistory(request.job_name());
      },
      [&core](const v1::GetUsageHistoryRequest& request) { return core.jobSecret(request.job_id()); });
  rpcServer.handle<v1::ReportSessionRequest, v1::ReportSessionResponse>(
      "Dispatcher", "ReportSession",
      [&](const v1::ReportSessionRequest& request) -> Result<v1::ReportSessionResponse> {
        if (!leading) {
          return makeError(ErrorCode::kUnavailable, "this Dispatcher is a standby");
        }
        return core.reportSession(request);
      },
      [&core](const v1::ReportSessionRequest& request) {
        return core.sessionSecret(request.status().name());
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
  int exitCode = 0;
  auto lead = [&] {
    leading = true;
    Status recovered = core.recover();
    if (!recovered.ok()) {
      log->error("cannot recover job records: {}", recovered.error().message);
      exitCode = 1;
      loop.stop();
      return;
    }
    // After recovery, so that adopted JobManager tasks are reconciled at once.
    if (onMesos) mesosLauncher.start();
  };
  if (flags.zooKeeper) {
    std::string leaderFolder = flags.zooKeeper->child("leader");
    std::string self = fmt::format("{}{}:{}", http::internalScheme(), flags.advertiseHost, *port);
    leaderRetrieval = std::make_unique<zookeeper::LeaderRetrieval>(loop, *zooKeeper, leaderFolder);
    leaderRetrieval->start([&, self](const std::optional<std::string>& leader) {
      if (!leading && leader != self) {
        log->info("standing by; the leading Dispatcher is {}", leader ? *leader : "not known yet");
      }
    });
    election =
        std::make_unique<zookeeper::LeaderElection>(loop, *zooKeeper, leaderFolder, self);
    Status contending = election->start(
        {[&, self] {
           log->info("leading: this Dispatcher ({}) takes over the jobs in {}", self,
                     (*store)->describe());
           zooKeeperStore->setFence(election->node());
           lead();
         },
         [&](const std::string& why) {
           // Another Dispatcher may lead already: stop at once, write nothing
           // more. JobManagers go on and are adopted by the new leader.
           log->error("no longer the leading Dispatcher: {}; exiting", why);
           exitCode = 3;
           loop.stop();
         }});
    if (!contending.ok()) return fail("--state-store: " + contending.error().message);
  } else {
    loop.post(lead);
  }
  std::printf("tailor-dispatcher listening on %s:%u (state %s, %s launcher)\n",
              flags.bind.c_str(), static_cast<unsigned>(*port), (*store)->describe().c_str(),
              launcher.name().c_str());
  std::fflush(stdout);
  log->info("listening on {}:{}, state {}, {} launcher, at most {} running jobs", flags.bind,
            *port, (*store)->describe(), launcher.name(), flags.maxRunningJobs);
  if (!flags.marathonAppId.empty()) {
    log->info("run by Marathon as {}: framework name '{}', advertised as {}:{}, links under '{}'",
              flags.marathonAppId, flags.frameworkName, flags.advertiseHost, *port,
              flags.externalBasePath);
  }
  if (flags.tls.serving()) {
    log->info("TLS on every hop: serving HTTPS with {}; JobManagers and TaskManagers {}",
              flags.tls.certFile,
              flags.tls.mutual ? "require client certificates signed by " + flags.tls.caFile
                               : std::string("serve HTTPS too"));
  } else {
    log->warn("TLS is off (no --tls-cert): requests, job secrets and data travel in the clear");
  }
  if (authenticator) {
    log->info("REST authentication on: {} users and tokens from {}{}", authenticator->size(),
              flags.authFile.empty() ? "no file" : flags.authFile,
              flags.dcosIamPublicKey.empty()
                  ? std::string()
                  : fmt::format("; DC/OS IAM tokens (key {}) as role {}",
                                flags.dcosIamPublicKey, auth::toString(flags.dcosIamRole)));
  } else {
    log->warn("REST authentication is off (no --auth-file): anyone who reaches port {} may "
              "submit and cancel jobs",
              *port);
  }
  for (const auto& name : flags.unknownVariables) {
    log->warn("environment variable {} names no flag of tailor-dispatcher; ignored", name);
  }
  loop.run();
  if (connection) connection->stop();
  server.stop();
  if (exitCode == 3) {
    // Leave without cleaning up: the election's node must not be touched and
    // no more record written once another Dispatcher may lead.
    std::fflush(nullptr);
    std::_Exit(exitCode);
  }
  return exitCode;
}
