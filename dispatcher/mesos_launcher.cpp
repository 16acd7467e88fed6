#include "dispatcher/mesos_launcher.hpp"

#include <sys/wait.h>

#include <cerrno>
#include <filesystem>

#include "common/http/tls.hpp"
#include "common/logging.hpp"
#include "common/secret.hpp"
#include "common/subprocess.hpp"

namespace tailor::dispatcher {

namespace v1mesos = ::mesos::v1;
namespace fs = std::filesystem;

namespace {

constexpr const char* kFrameworkIdKey = "mesos-framework-id";

std::string quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

tailor::mesos::OfferLoopConfig loopConfig(const MesosLauncherConfig& config) {
  tailor::mesos::OfferLoopConfig loop;
  loop.role = config.role;
  loop.refuse = config.refuse;
  loop.offerBatchWindow = config.offerBatchWindow;
  return loop;
}

// Packs the job's stored files as files.tar in its folder (the fetcher
// extracts it in the sandbox as files/...). Blocks for the tar process.
Status packFiles(const std::string& jobDir) {
  SpawnOptions options;
  options.argv = {"tar", "-C", jobDir, "-cf", jobDir + "/files.tar.tmp", "files"};
  auto child = spawnProcess(options);
  if (!child.ok()) return child.error();
  int status = 0;
  while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return makeError(ErrorCode::kIo, "cannot pack the job's files: tar {}",
                     describeWaitStatus(status));
  }
  std::error_code ec;
  fs::rename(jobDir + "/files.tar.tmp", jobDir + "/files.tar", ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot pack the job's files: {}", ec.message());
  return Status();
}

}  // namespace

std::string jobManagerTaskId(const std::string& jobId, int attempt) {
  return "jobmanager-" + jobId + "-" + std::to_string(attempt);
}

std::string sessionTaskId(const std::string& name, int attempt) {
  return "session-" + name + "-" + std::to_string(attempt);
}

Status checkFrameworkName(const std::string& name) {
  if (name.empty()) return makeError(ErrorCode::kInvalidArgument, "--framework-name: empty");
  if (name.rfind("tailor-job-", 0) == 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--framework-name: '{}' is how jobs' frameworks are named (tailor-job-<id>); "
                     "choose another, such as tailor",
                     name);
  }
  return Status();
}

MesosLauncher::MesosLauncher(EventLoop& loop, JobStore& store, MesosLauncherConfig config)
    : loop_(loop),
      store_(store),
      config_(std::move(config)),
      offers_(loop, loopConfig(config_), *this, "mesoslauncher") {}

MesosLauncher::~MesosLauncher() = default;

void MesosLauncher::setConnection(tailor::mesos::SchedulerConnection* connection) {
  connection_ = connection;
  offers_.setConnection(connection);
}

void MesosLauncher::start() {
  tailor::mesos::FrameworkSettings settings;
  settings.name = config_.frameworkName;
  settings.user = config_.user;
  settings.role = config_.role;
  settings.principal = config_.principal;
  settings.failoverTimeoutSeconds = config_.failoverTimeoutSeconds;
  settings.checkpoint = config_.checkpoint;
  settings.webuiUrl = config_.webuiUrl;
  auto info = tailor::mesos::makeFrameworkInfo(settings);
  auto stored = store_.getValue(kFrameworkIdKey);
  if (stored.ok() && !stored->empty()) {
    info.mutable_id()->set_value(*stored);
    logger("mesoslauncher")->info("re-subscribing as framework {} ({})", *stored,
                                  config_.frameworkName);
  }
  offers_.start(info);
}

std::string MesosLauncher::clusterFlags(const std::string& dispatcherAddress,
                                        const std::string& dispatcherLeaders,
                                        const std::string& host, std::uint64_t port) const {
  const std::string base = http::internalScheme() + dispatcherAddress;
  // From the release tarball, unpacked into the sandbox (one tailor-<version>/
  // folder), or the bare binaries.
  const bool release = !config_.releaseUrl.empty();
  // With Dispatchers sharing a store, the JobManager may outlive this one:
  // its TaskManagers' executor comes from whichever Dispatcher leads when
  // each is launched ("dispatcher:/PATH", resolved by the JobManager).
  const std::string executorUri = release ? config_.releaseUrl
                                  : dispatcherLeaders.empty()
                                      ? base + "/v1/artifacts/tailor-taskmanager"
                                      : "dispatcher:/v1/artifacts/tailor-taskmanager";
  std::string flags = fmt::format(
      "--bind {} --advertise-host {} --rpc-port {} --mesos-master {} "
      "--mesos-content-type {} --mesos-role {} --taskmanager-executor {} "
      "--taskmanager-executor-uri {}",
      tailor::mesos::bindAddressFor(host), quote(host.empty() ? "127.0.0.1" : host), port,
      quote(config_.mesosMasters), config_.contentType, quote(config_.role),
      release ? quote("tailor-*/bin/tailor-taskmanager") : "./tailor-taskmanager",
      quote(executorUri));
  if (!config_.user.empty()) flags += " --mesos-user " + quote(config_.user);
  return flags;
}

std::string MesosLauncher::commandLine(const JobManagerLaunch& launch, const std::string& host,
                                       std::uint64_t port) const {
  std::string output = launch.outputDir.empty() ? "\"$MESOS_SANDBOX/output\"" : quote(launch.outputDir);
  std::string command = fmt::format(
      "exec {} --job-spec \"$MESOS_SANDBOX/files/\"{} --job-id {} "
      "--dispatcher {} --dispatcher-attempt {} --work-dir \"$MESOS_SANDBOX/work\" --output {} "
      "--report \"$MESOS_SANDBOX/report.json\" --log-file \"$MESOS_SANDBOX/jobmanager.log\" "
      "--log-level {} {}",
      config_.releaseUrl.empty() ? "./tailor-jobmanager" : "tailor-*/bin/tailor-jobmanager",
      quote(fs::path(launch.specPath).filename().string()), quote(launch.jobId),
      quote(launch.dispatcherAddress), launch.attempt, output, config_.logLevel,
      clusterFlags(launch.dispatcherAddress, launch.dispatcherLeaders, host, port));
  if (!launch.haStore.empty()) command += " --ha-store " + quote(launch.haStore);
  if (!launch.dispatcherLeaders.empty()) {
    command += " --dispatcher-leaders " + quote(launch.dispatcherLeaders);
  }
  for (const auto& arg : config_.extraArgs) command += " " + quote(arg);
  return command;
}

std::string MesosLauncher::commandLine(const SessionLaunch& launch, const std::string& host,
                                       std::uint64_t port) const {
  std::string command = "exec " + std::string(config_.releaseUrl.empty()
                                                  ? "./tailor-jobmanager"
                                                  : "tailor-*/bin/tailor-jobmanager");
  for (const auto& flag : sessionFlags(launch)) command += " " + quote(flag);
  command += fmt::format(
      " --dispatcher {} --dispatcher-attempt {} --work-dir \"$MESOS_SANDBOX/work\" "
      "--log-file \"$MESOS_SANDBOX/jobmanager.log\" --log-level {} {}",
      quote(launch.dispatcherAddress), launch.attempt, config_.logLevel,
      clusterFlags(launch.dispatcherAddress, launch.dispatcherLeaders, host, port));
  if (!launch.dispatcherLeaders.empty()) {
    command += " --dispatcher-leaders " + quote(launch.dispatcherLeaders);
  }
  for (const auto& arg : config_.extraArgs) command += " " + quote(arg);
  return command;
}

Result<v1::JobManagerAttempt> MesosLauncher::launch(const JobManagerLaunch& launch) {
  Status packed = packFiles(launch.jobDir);
  if (!packed.ok()) return packed.error();
  std::string taskId = jobManagerTaskId(launch.jobId, launch.attempt);
  attempts_[taskId] = Attempt{launch.jobId, launch.attempt, false, launch, {}};
  // One port for the JobManager's RPC endpoint.
  offers_.request(taskId, config_.jobManagerResources, 1);
  v1::JobManagerAttempt attempt;
  attempt.set_attempt(launch.attempt);
  attempt.set_launcher(name());
  attempt.set_mesos_task_id(taskId);
  return attempt;
}

Result<v1::JobManagerAttempt> MesosLauncher::launchSession(const SessionLaunch& launch) {
  std::string taskId = sessionTaskId(launch.name, launch.attempt);
  Attempt planned;
  planned.jobId = launch.name;
  planned.attempt = launch.attempt;
  planned.session = true;
  planned.sessionLaunch = launch;
  attempts_[taskId] = std::move(planned);
  offers_.request(taskId, config_.jobManagerResources, 1);
  v1::JobManagerAttempt attempt;
  attempt.set_attempt(launch.attempt);
  attempt.set_launcher(name());
  attempt.set_mesos_task_id(taskId);
  return attempt;
}

void MesosLauncher::adoptSession(const std::string& name, const v1::JobManagerAttempt& attempt) {
  std::string taskId = attempt.mesos_task_id().empty() ? sessionTaskId(name, attempt.attempt())
                                                       : attempt.mesos_task_id();
  Attempt adopted;
  adopted.jobId = name;
  adopted.attempt = attempt.attempt();
  adopted.session = true;
  attempts_[taskId] = adopted;
  offers_.adopt(taskId, attempt.mesos_agent_id());
}

void MesosLauncher::stopSession(const std::string& name, int attempt, bool force) {
  stopTask(sessionTaskId(name, attempt));
}

bool MesosLauncher::waitingSession(const std::string& name, int attempt) const {
  return offers_.pending(sessionTaskId(name, attempt));
}

void MesosLauncher::reportExit(const Attempt& attempt, const std::string& how) {
  if (attempt.session) {
    if (onSessionExit_) onSessionExit_(attempt.jobId, attempt.attempt, how);
  } else if (onExit_) {
    onExit_(attempt.jobId, attempt.attempt, how);
  }
}

void MesosLauncher::adopt(const std::string& jobId, const v1::JobManagerAttempt& attempt) {
  std::string taskId = attempt.mesos_task_id().empty()
                           ? jobManagerTaskId(jobId, attempt.attempt())
                           : attempt.mesos_task_id();
  Attempt adopted;
  adopted.jobId = jobId;
  adopted.attempt = attempt.attempt();
  attempts_[taskId] = adopted;
  offers_.adopt(taskId, attempt.mesos_agent_id());
}

void MesosLauncher::stop(const std::string& jobId, int attempt, bool force) {
  stopTask(jobManagerTaskId(jobId, attempt));
}

void MesosLauncher::stopTask(const std::string& taskId) {
  auto it = attempts_.find(taskId);
  if (it == attempts_.end()) return;
  if (offers_.pending(taskId)) {
    offers_.withdraw(taskId);
    Attempt withdrawn = it->second;
    attempts_.erase(it);
    // Reported from the loop, not from inside the caller's stop().
    loop_.post([this, withdrawn] { reportExit(withdrawn, "stopped before it was launched"); });
    return;
  }
  // Mesos' command executor sends SIGTERM, then SIGKILL after the kill grace
  // period; the JobManager cancels its job on SIGTERM.
  offers_.kill(taskId);
}

bool MesosLauncher::waiting(const std::string& jobId, int attempt) const {
  return offers_.pending(jobManagerTaskId(jobId, attempt));
}

void MesosLauncher::onSubscribed(const std::string& frameworkId, bool isNewFramework) {
  auto stored = store_.getValue(kFrameworkIdKey);
  if (!stored.ok() || *stored != frameworkId) {
    Status saved = store_.putValue(kFrameworkIdKey, frameworkId);
    if (!saved.ok()) {
      logger("mesoslauncher")->error("cannot store framework id {}: {}", frameworkId,
                                     saved.error().message);
    }
  }
  logger("mesoslauncher")->info("subscribed as framework {} ({}{})", frameworkId,
                                config_.frameworkName, isNewFramework ? ", new" : "");
  offers_.onSubscribed(frameworkId, isNewFramework);
}

void MesosLauncher::onEvent(const tailor::mesos::SchedulerEvent& event) { offers_.onEvent(event); }

void MesosLauncher::onDisconnected(const std::string& reason) { offers_.onDisconnected(reason); }

v1mesos::TaskInfo MesosLauncher::makeTask(const std::string& taskId, const v1mesos::Offer& offer,
                                          const std::vector<std::uint64_t>& ports) {
  const Attempt& attempt = attempts_.at(taskId);
  const JobManagerLaunch& launch = attempt.launch;
  const std::string& dispatcherAddress =
      attempt.session ? attempt.sessionLaunch.dispatcherAddress : launch.dispatcherAddress;
  v1mesos::TaskInfo task;
  task.set_name(attempt.session ? "tailor-session " + attempt.jobId
                                : "tailor-jobmanager " + launch.jobId);
  task.mutable_task_id()->set_value(taskId);
  *task.mutable_agent_id() = offer.agent_id();
  tailor::mesos::addScalarResources(task.mutable_resources(), config_.jobManagerResources,
                                    config_.role);
  std::uint64_t port = ports.empty() ? 0 : ports.front();
  if (!ports.empty()) {
    v1mesos::Resource portResource;
    portResource.set_name("ports");
    portResource.set_type(v1mesos::Value::RANGES);
    portResource.mutable_allocation_info()->set_role(config_.role);
    auto* range = portResource.mutable_ranges()->add_range();
    range->set_begin(port);
    range->set_end(port);
    *task.add_resources() = portResource;
  }
  auto* command = task.mutable_command();
  const std::string base = http::internalScheme() + dispatcherAddress;
  auto* binary = command->add_uris();
  if (config_.releaseUrl.empty()) {
    binary->set_value(base + "/v1/artifacts/tailor-jobmanager");
    binary->set_executable(true);
    binary->set_extract(false);
  } else {
    binary->set_value(config_.releaseUrl);
    binary->set_extract(true);
  }
  command->set_shell(true);
  const std::string& secret = attempt.session ? attempt.sessionLaunch.secret : launch.secret;
  if (!secret.empty()) {
    auto* variable = command->mutable_environment()->add_variables();
    variable->set_name(secret::kEnvironmentVariable);
    variable->set_value(secret);
  }
  // TLS: the paths of the certificate, key and authority, which must exist on
  // every agent (docs/security.md "TLS").
  for (const auto& [name, value] : http::tlsEnvironment()) {
    auto* variable = command->mutable_environment()->add_variables();
    variable->set_name(name);
    variable->set_value(value);
  }
  if (attempt.session) {
    command->set_value(commandLine(attempt.sessionLaunch, offer.hostname(), port));
  } else {
    auto* files = command->add_uris();
    files->set_value(base + jobFilesPath(launch.jobId, launch.secret));
    files->set_extract(true);
    command->set_value(commandLine(launch, offer.hostname(), port));
  }
  logger("mesoslauncher")
      ->info("launching JobManager {} for {} {} ({}) on agent {} ({}) from offer {}", taskId,
             attempt.session ? "session" : "job", attempt.jobId,
             config_.jobManagerResources.toString(), offer.agent_id().value(), offer.hostname(),
             offer.id().value());
  return task;
}

void MesosLauncher::onTaskLaunched(const std::string& taskId, const v1mesos::Offer& offer) {
  auto it = attempts_.find(taskId);
  if (it == attempts_.end()) return;
  PlacedCallback& placed = it->second.session ? onSessionPlaced_ : onPlaced_;
  if (!placed) return;
  loop_.post([&placed, id = it->second.jobId, attempt = it->second.attempt,
              host = offer.hostname(), agent = offer.agent_id().value()] {
    if (placed) placed(id, attempt, host, agent);
  });
}

void MesosLauncher::onTaskUpdate(const std::string& taskId, const v1mesos::TaskStatus& status) {}

void MesosLauncher::onTaskEnded(const std::string& taskId, const std::string& reason,
                                const v1mesos::TaskStatus* status) {
  auto it = attempts_.find(taskId);
  if (it == attempts_.end()) return;
  Attempt ended = it->second;
  attempts_.erase(it);
  reportExit(ended, "Mesos task " + reason);
}

}  // namespace tailor::dispatcher
