#include "scheduler/jobmanager_runtime.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/http/client.hpp"
#include "common/http/file_route.hpp"
#include "common/http/server.hpp"
#include "common/http/tls.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/process_launcher.hpp"
#include "common/rpc.hpp"
#include "common/secret.hpp"
#include "common/rpc.hpp"
#include "mesos/agent_files.hpp"
#include "mesos/master_detector.hpp"
#include "mesos/scheduler_connection.hpp"
#include "scheduler/drivers/local_driver.hpp"
#include "scheduler/jobmaster/rpc_taskmanager_gateway.hpp"

namespace tailor::scheduler {

namespace fs = std::filesystem;

Result<SizingConfig> makeSizingConfig(const JobManagerOptions& options,
                                      const Resources& defaultFixedSlot) {
  SizingConfig sizing;
  sizing.kind = options.sizing;
  sizing.maxTaskManager =
      options.mesosMasters.empty() ? options.localResources : options.mesos.maxTaskManager;
  sizing.maxSlotsPerTaskManager = options.maxSlotsPerTaskManager;
  sizing.spread = options.spread;
  sizing.fixedSlotsPerTaskManager = options.fixedSlotsPerTaskManager;
  sizing.fixedSlot = options.fixedSlot.value_or(defaultFixedSlot);
  if (sizing.kind == SizingKind::kFixed) {
    Resources tmSize = sizing.fixedSlot * sizing.fixedSlotsPerTaskManager;
    if (!sizing.maxTaskManager.contains(tmSize)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "a fixed TaskManager of {} is larger than the largest allowed ({})",
                       tmSize.toString(), sizing.maxTaskManager.toString());
    }
  }
  return sizing;
}

Status checkFixedSizing(const SizingConfig& sizing, const v1::JobSpec& spec) {
  if (sizing.kind != SizingKind::kFixed) return Status();
  for (const auto& stage : spec.stages()) {
    Resources profile = Resources::fromProto(stage.resources());
    if (!sizing.fixedSlot.contains(profile)) {
      return makeError(ErrorCode::kInvalidArgument, "stage \"{}\" needs {} but fixed slots hold {}",
                       stage.name(), profile.toString(), sizing.fixedSlot.toString());
    }
  }
  return Status();
}

ResourceManagerConfig makeResourceManagerConfig(const JobManagerOptions& options,
                                                SizingConfig sizing) {
  ResourceManagerConfig config;
  config.sizing = std::move(sizing);
  config.idleTimeout = options.idleTimeout;
  config.heartbeatInterval = options.heartbeatInterval;
  config.heartbeatTimeout = options.heartbeatTimeout;
  config.placementTimeout = options.placementTimeout;
  config.evacuateAfter = options.evacuateAfter;
  config.unreachableTimeout = options.mesosUnreachableTimeout;
  return config;
}

std::string defaultTaskManagerBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "tailor-taskmanager").string();
}

namespace {

// Serves `binary` (this JobManager's tailor-taskmanager) on `server` for the
// agents' Mesos fetcher; returns its URI, a path on this JobManager. Errors
// name --taskmanager-binary.
Result<mesos::ExecutorUri> serveOwnExecutor(http::Server& server, const std::string& binary) {
  struct stat info {};
  if (::stat(binary.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
      access(binary.c_str(), X_OK) != 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--taskmanager-binary: '{}' is not an executable file (on Mesos the "
                     "JobManager serves it to the agents' fetcher; --taskmanager-executor "
                     "names one installed on the agents instead)",
                     binary);
  }
  std::string path = mesos::jobManagerExecutorPath(
      static_cast<std::uintmax_t>(info.st_size),
      static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec);
  http::serveFile(server, path, binary);
  return mesos::ExecutorUri{mesos::ExecutorUri::Kind::kJobManager, path};
}

}  // namespace

Status takeJobManagerSecurity() {
  // TLS: its TaskManagers get the same settings (the local driver's children
  // inherit the environment; the Mesos driver puts them in the executor's).
  auto tls = http::tlsFromEnvironment();
  if (!tls.ok()) return tls.error();
  http::setProcessTls(*tls);
  http::exportProcessTls();
  // A second call finds the variable gone (and TAILOR_TLS_* as the first
  // left them): the secret stays the one taken first.
  std::string jobSecret = secret::takeFromEnvironment();
  if (!jobSecret.empty()) {
    rpc::setCallSecret(jobSecret);
  } else if (rpc::callSecret().empty()) {
    rpc::setCallSecret(secret::random());
  }
  return Status();
}

JobManagerRuntime::JobManagerRuntime(AsioEventLoop& loop, JobManagerOptions options)
    : loop_(loop), options_(std::move(options)) {}

JobManagerRuntime::~JobManagerRuntime() = default;

Result<std::unique_ptr<JobManagerRuntime>> JobManagerRuntime::create(AsioEventLoop& loop,
                                                                     JobManagerOptions options,
                                                                     Settings settings) {
  if (options.taskManagerBinary.empty()) options.taskManagerBinary = defaultTaskManagerBinary();
  if (options.mesosMasters.empty() && access(options.taskManagerBinary.c_str(), X_OK) != 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--taskmanager-binary: '{}' is not an executable file",
                     options.taskManagerBinary);
  }
  std::unique_ptr<JobManagerRuntime> runtime(new JobManagerRuntime(loop, std::move(options)));
  Status built = runtime->build(std::move(settings));
  if (!built.ok()) return built.error();
  return runtime;
}

Status JobManagerRuntime::build(Settings settings) {
  JobManagerOptions& options = options_;
  httpClient_ = std::make_unique<http::CurlHttpClient>(loop_, 4);
  agentFiles_ = std::make_unique<tailor::mesos::HttpAgentFiles>(
      loop_, *httpClient_, options.mesos.principal, options.mesosSecret);
  // The job's secret and TLS (docs/security.md): as the Dispatcher that
  // started this process gave them; every call in or out carries the secret.
  Status secured = takeJobManagerSecurity();
  if (!secured.ok()) return secured;
  jobSecret_ = rpc::callSecret();
  const http::TlsConfig& tls = http::processTls();
  httpServer_ = std::make_unique<http::Server>(loop_, options.bindAddress, options.rpcPort);
  if (tls.serving()) {
    httpServer_->useTls(tls);
    logger("jobmanager")
        ->info("TLS on: serving with {}{}", tls.certFile,
               tls.mutual ? "; clients must present a certificate signed by " + tls.caFile
                          : std::string());
  }
  // Each TaskManager keeps a few connections (its calls, the partitions the
  // JobManager fetches back); a session's hundreds of TaskManagers stay well
  // below this, someone holding connections open does not.
  httpServer_->setConnectionLimit(2048);
  rpcServer_ = std::make_unique<rpc::Server>(*httpServer_);
  rpcServer_->requireSecret(jobSecret_);
  options.mesos.jobSecret = jobSecret_;
  metrics::serveMetrics(*httpServer_);
  rpcClient_ = std::make_unique<rpc::Client>(*httpClient_);
  launcher_ = std::make_unique<ChildProcessLauncher>(loop_);
  taskManagers_ = std::make_unique<RpcTaskManagerGateway>(*rpcClient_, *httpClient_);

  bool onMesos = !options.mesosMasters.empty();
  if (onMesos && options.serveExecutor) {
    auto uri = serveOwnExecutor(*httpServer_, options.taskManagerBinary);
    if (!uri.ok()) return uri.error();
    options.mesos.executorUris = {*uri};
  }
  if (onMesos && !settings.leadingDispatcher) {
    for (const auto& uri : options.mesos.executorUris) {
      if (uri.kind != mesos::ExecutorUri::Kind::kLeadingDispatcher) continue;
      return makeError(ErrorCode::kInvalidArgument,
                       "--taskmanager-executor-uri: '{}{}' is a path on the leading Dispatcher, "
                       "and no Dispatcher is known (tailor-jobmanager --dispatcher); give a full "
                       "URI instead",
                       mesos::kLeadingDispatcherPrefix, uri.value);
    }
  }
  options.mesos.taskManagerLogLevel = options.logLevel;
  options.mesos.executorJson = options.mesosJson;
  if (onMesos) {
    auto made = std::make_unique<mesos::MesosDriver>(loop_, options.mesos, agentFiles_.get());
    mesosDriver_ = made.get();
    mesosDriver_->setLeadingDispatcher(settings.leadingDispatcher);
    driver_ = std::move(made);
  } else {
    LocalDriverConfig driverConfig;
    driverConfig.capacity = options.localResources;
    driverConfig.taskManagerBinary = options.taskManagerBinary;
    driverConfig.workDir = options.workDir;
    driverConfig.logDir = settings.logDir.empty() ? options.workDir + "/logs" : settings.logDir;
    driverConfig.logLevel = options.logLevel;
    driverConfig.taskManagerArgs = options.mesos.taskManagerArgs;
    driverConfig.jobSecret = jobSecret_;
    auto made = std::make_unique<LocalDriver>(loop_, *launcher_, driverConfig);
    localDriver_ = made.get();
    driver_ = std::move(made);
  }
  mesosCalls_ = std::make_unique<http::CurlHttpClient>(loop_, 1);
  if (options.mesosMasters.zooKeeper) {
    auto connected =
        tailor::mesos::ZooKeeperMasterDetector::connect(loop_, *options.mesosMasters.zooKeeper);
    if (!connected.ok()) return connected.error().withContext("--mesos-master");
    detector_ = std::move(*connected);
  }
  if (onMesos) {
    tailor::mesos::SchedulerConnectionConfig connectionConfig;
    connectionConfig.masters = options.mesosMasters.hosts;
    connectionConfig.contentType = options.mesosJson ? tailor::mesos::ContentType::kJson
                                                     : tailor::mesos::ContentType::kProtobuf;
    connectionConfig.principal = options.mesos.principal;
    connectionConfig.secret = options.mesosSecret;
    connection_ = std::make_unique<tailor::mesos::HttpSchedulerConnection>(
        loop_, *mesosCalls_, connectionConfig, *mesosDriver_, detector_.get());
    mesosDriver_->setConnection(connection_.get());
  }
  resourceManager_ =
      std::make_unique<ResourceManager>(loop_, *driver_, std::move(settings.resourceManager));
  return Status();
}

Result<std::string> JobManagerRuntime::listen() {
  auto port = httpServer_->start();
  if (!port.ok()) return port.error();
  address_ = options_.advertiseHost + ":" + std::to_string(*port);
  if (localDriver_ != nullptr) localDriver_->setResourceManagerAddress(address_);
  if (mesosDriver_ != nullptr) mesosDriver_->setResourceManagerAddress(address_);
  return address_;
}

std::string JobManagerRuntime::describe() const { return driver_->describe(); }

void JobManagerRuntime::logServedExecutor(const std::string& subject) const {
  if (mesosDriver_ == nullptr || !options_.serveExecutor) return;
  logger("jobmanager")
      ->info("{}: the agents fetch the TaskManagers' executor {} from {}", subject,
             options_.taskManagerBinary,
             mesos::resolveExecutorUri(options_.mesos.executorUris.front(), "", address_));
}

void JobManagerRuntime::shutdownDriver() {
  if (driverShutDown_) return;
  driverShutDown_ = true;
  driver_->shutdown();
}

bool JobManagerRuntime::drained() const { return connection_ == nullptr || connection_->idle(); }

void JobManagerRuntime::stopListening() { httpServer_->stop(); }

}  // namespace tailor::scheduler
