#include "scheduler/drivers/mesos/mesos_driver.hpp"

#include "common/http/tls.hpp"
#include "common/logging.hpp"
#include "common/secret.hpp"

namespace tailor::scheduler::mesos {

namespace v1 = ::mesos::v1;
using tailor::mesos::SchedulerCall;
using tailor::mesos::SchedulerEvent;

std::string frameworkName(const MesosDriverConfig& config) {
  return config.sessionName.empty() ? "tailor-job-" + config.jobId
                                    : "tailor-session-" + config.sessionName;
}

std::string frameworkOwner(const MesosDriverConfig& config) {
  return config.sessionName.empty() ? "job " + config.jobId : "session " + config.sessionName;
}

v1::FrameworkInfo makeFrameworkInfo(const MesosDriverConfig& config) {
  tailor::mesos::FrameworkSettings settings;
  settings.name = frameworkName(config);
  settings.user = config.user;
  settings.role = config.role;
  settings.principal = config.principal;
  settings.failoverTimeoutSeconds = config.failoverTimeoutSeconds;
  settings.checkpoint = config.checkpoint;
  settings.hostname = config.hostname;
  settings.webuiUrl = config.webuiUrl;
  settings.gpus = config.gpus;
  settings.partitionAware = true;
  return tailor::mesos::makeFrameworkInfo(settings);
}

namespace {

// How much of a failed executor's stderr is read, and how much of it shown.
constexpr std::int64_t kStderrTailBytes = 4096;
constexpr std::size_t kStderrLines = 10;
constexpr std::size_t kStderrLineLength = 300;

tailor::mesos::OfferLoopConfig offerLoopConfig(const MesosDriverConfig& config) {
  tailor::mesos::OfferLoopConfig loop;
  loop.role = config.role;
  loop.refuse = config.refuse;
  loop.offerBatchWindow = config.offerBatchWindow;
  return loop;
}

}  // namespace

MesosDriver::MesosDriver(EventLoop& loop, MesosDriverConfig config,
                         tailor::mesos::AgentFiles* agentFiles)
    : loop_(loop),
      config_(std::move(config)),
      agentFiles_(agentFiles),
      offers_(loop, offerLoopConfig(config_), *this, "mesosdriver"),
      owner_(frameworkOwner(config_)),
      log_(logger("mesosdriver")) {}

MesosDriver::~MesosDriver() {
  *alive_ = false;
  for (auto& [id, failing] : failing_) {
    if (failing.deadline) loop_.cancelTimer(*failing.deadline);
  }
}

std::string MesosDriver::describe() const {
  return "the Mesos cluster (TaskManagers up to " + config_.maxTaskManager.toString() + ")";
}

Resources MesosDriver::maxTaskManager() const {
  Resources largest = config_.maxTaskManager;
  auto offered = offers_.largestAgentOffer();
  if (!offered) return largest;
  Resources usable = *offered - config_.executorOverhead;
  largest.milliCpus = std::max<std::int64_t>(0, std::min(largest.milliCpus, usable.milliCpus));
  largest.memMib = std::max<std::int64_t>(0, std::min(largest.memMib, usable.memMib));
  // Disk and GPUs: an agent without them offers none, and TMs ask for none then.
  if (largest.diskMib > 0 && usable.diskMib > 0) largest.diskMib = std::min(largest.diskMib, usable.diskMib);
  if (largest.gpus > 0 && usable.gpus > 0) largest.gpus = std::min(largest.gpus, usable.gpus);
  return largest;
}

std::optional<ClosestFit> MesosDriver::closestFit(const Resources& total) const {
  if (auto tooLarge = mostShort(total, config_.maxTaskManager)) {
    return ClosestFit{*tooLarge, "the largest TaskManager allowed (--taskmanager-max-size " +
                                     config_.maxTaskManager.toString() + ")"};
  }
  Resources need = total + config_.executorOverhead;
  auto closest = offers_.closestAgentOffer(need);
  if (!closest) return std::nullopt;
  auto shortage = mostShort(need, closest->second);
  if (!shortage) return std::nullopt;
  return ClosestFit{*shortage,
                    "the best offer (" + closest->first + ": " + closest->second.toWords() + ")"};
}

void MesosDriver::start(DriverListener* listener) {
  listener_ = listener;
  auto info = makeFrameworkInfo(config_);
  if (!frameworkId_.empty()) {
    info.mutable_id()->set_value(frameworkId_);
    log_->info("subscribing again as framework {} of an earlier attempt", frameworkId_);
  }
  offers_.start(info);
}

void MesosDriver::adopt(const std::string& taskId, const std::string& agentId,
                        const TaskManagerSpec& spec) {
  tms_[taskId] = Tm{spec, true, agentId, std::nullopt, false};
  offers_.adopt(taskId, agentId);
}

void MesosDriver::retire(const std::string& taskId, const std::string& agentId) {
  retired_.insert(taskId);
  offers_.adopt(taskId, agentId);
  offers_.kill(taskId);
  log_->info("{} (agent {}) of an earlier attempt is ended: this attempt starts its own", taskId,
             agentId.empty() ? "unknown" : agentId);
}

void MesosDriver::launchTaskManager(const std::string& taskManagerId, const TaskManagerSpec& spec) {
  tms_[taskManagerId] = Tm{spec, false, "", std::nullopt, false};
  offers_.request(taskManagerId, spec.total + config_.executorOverhead, 1);
}

void MesosDriver::releaseTaskManager(const std::string& taskManagerId) {
  auto tm = tms_.find(taskManagerId);
  if (tm == tms_.end()) return;
  if (tm->second.unreachable) {
    // Mesos cannot reach it, so no end may ever be reported: it ends now.
    // The KILL stays due and goes out once Mesos sees the task again (the
    // TaskManager itself stops at its next heartbeat, if it can).
    tms_.erase(tm);
    offers_.kill(taskManagerId);
    log_->warn("{}: {} given up while Mesos cannot reach it; killed when seen again",
               owner_, taskManagerId);
    loop_.post([this, taskManagerId] {
      if (listener_ != nullptr) {
        listener_->onTaskManagerTerminated(taskManagerId,
                                           "given up while Mesos could not reach it");
      }
    });
    return;
  }
  if (offers_.withdraw(taskManagerId)) {
    tms_.erase(taskManagerId);
    // Told on a later turn: a driver never calls its listener from a call.
    loop_.post([this, taskManagerId] {
      if (listener_ != nullptr) listener_->onTaskManagerTerminated(taskManagerId, "never started");
    });
    return;
  }
  // A released TaskManager exits by itself after its next heartbeat; the
  // KILL after the grace period is for one that does not.
  offers_.kill(taskManagerId, config_.releaseGrace);
}

void MesosDriver::shutdown() { offers_.teardown(); }

void MesosDriver::onSubscribed(const std::string& frameworkId, bool isNewFramework) {
  if (hooks_.subscribed) hooks_.subscribed(frameworkId);
  offers_.onSubscribed(frameworkId, isNewFramework);
}

void MesosDriver::onEvent(const SchedulerEvent& event) {
  noteEvent(event);
  Resources before = maxTaskManager();
  offers_.onEvent(event);
  if (maxTaskManager() != before && listener_ != nullptr) {
    log_->info("the largest TaskManager the cluster can take is now {}",
               maxTaskManager().toString());
    loop_.post([this] {
      if (listener_ != nullptr) listener_->onCapacityChanged();
    });
  }
}

void MesosDriver::onDisconnected(const std::string& reason) { offers_.onDisconnected(reason); }

void MesosDriver::noteEvent(const SchedulerEvent& event) {
  if (event.type() == SchedulerEvent::OFFERS) {
    for (const auto& offer : event.offers().offers()) {
      agents_[offer.agent_id().value()] =
          Agent{offer.hostname(), tailor::mesos::agentBaseUrl(offer)};
    }
    return;
  }
  // A FAILURE with an executor id: that executor ended (reference 5.3); it
  // may come before or after its task's terminal update. Executor id = task id.
  if (event.type() != SchedulerEvent::FAILURE || !event.failure().has_executor_id()) return;
  const std::string& id = event.failure().executor_id().value();
  int status = event.failure().has_status() ? event.failure().status() : -1;
  if (auto tm = tms_.find(id); tm != tms_.end()) {
    tm->second.exitStatus = status;
  } else if (auto failing = failing_.find(id); failing != failing_.end()) {
    failing->second.failure.waitStatus = status;
    reportFailureWhenKnown(id, false);
  }
}

v1::TaskInfo MesosDriver::makeTask(const std::string& taskId, const v1::Offer& offer,
                                   const std::vector<std::uint64_t>& ports) {
  const Tm& tm = tms_.at(taskId);
  v1::TaskInfo task;
  task.set_name("tailor-taskmanager " + taskId);
  task.mutable_task_id()->set_value(taskId);
  *task.mutable_agent_id() = offer.agent_id();
  tailor::mesos::addScalarResources(task.mutable_resources(), tm.spec.total, config_.role);
  if (!ports.empty()) {
    v1::Resource portResource;
    portResource.set_name("ports");
    portResource.set_type(v1::Value::RANGES);
    portResource.mutable_allocation_info()->set_role(config_.role);
    for (auto port : ports) {
      auto* range = portResource.mutable_ranges()->add_range();
      range->set_begin(port);
      range->set_end(port);
    }
    *task.add_resources() = portResource;
  }
  v1::ExecutorInfo* executor = task.mutable_executor();
  executor->set_type(v1::ExecutorInfo::CUSTOM);
  executor->mutable_executor_id()->set_value(taskId);
  executor->set_name("tailor-taskmanager");
  tailor::mesos::addScalarResources(executor->mutable_resources(), config_.executorOverhead,
                                    config_.role);
  v1::CommandInfo* command = executor->mutable_command();
  for (const auto& uri : executorUris(taskId)) {
    auto* entry = command->add_uris();
    entry->set_value(uri);
    entry->set_executable(uri.find(".tar") == std::string::npos &&
                          uri.find(".tgz") == std::string::npos);
    if (config_.executorCache) entry->set_cache(true);
  }
  if (!config_.jobSecret.empty()) {
    auto* variable = command->mutable_environment()->add_variables();
    variable->set_name(secret::kEnvironmentVariable);
    variable->set_value(config_.jobSecret);
  }
  for (const auto& [name, value] : http::tlsEnvironment()) {
    auto* variable = command->mutable_environment()->add_variables();
    variable->set_name(name);
    variable->set_value(value);
  }
  std::string host = offer.hostname();
  std::string bind = tailor::mesos::bindAddressFor(host);
  command->set_shell(true);
  command->set_value(fmt::format(
      "exec {} --taskmanager-id {} --resource-manager {} --resources {} --port {} --bind {} "
      "--advertise-host {} --work-dir \"$MESOS_SANDBOX/work\" "
      "--task-log-dir \"$MESOS_SANDBOX/task-logs\" --log-file "
      "\"$MESOS_SANDBOX/taskmanager.log\" --log-level {} --mesos-content-type {}",
      config_.executorCommand, taskId, config_.resourceManagerAddress, tm.spec.total.toString(),
      ports.empty() ? 0 : ports.front(), bind, host.empty() ? "127.0.0.1" : host,
      config_.taskManagerLogLevel, config_.executorJson ? "json" : "protobuf"));
  for (const auto& arg : config_.taskManagerArgs) {
    std::string quoted = "'";
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command->set_value(command->value() + " " + quoted + "'");
  }
  log_->info("launching {} ({}) on agent {} ({}) from offer {}", taskId, tm.spec.total.toString(),
             offer.agent_id().value(), host, offer.id().value());
  return task;
}

std::vector<std::string> MesosDriver::executorUris(const std::string& taskId) {
  std::string dispatcher;
  if (needsDispatcher(config_.executorUris) && leadingDispatcher_) {
    dispatcher = leadingDispatcher_();
    if (dispatcher != executorDispatcher_) {
      log_->info(
          "{}: {} and the TaskManagers after it fetch their executor from the "
          "Dispatcher at {}",
          owner_, taskId, dispatcher);
      executorDispatcher_ = dispatcher;
    }
  }
  std::vector<std::string> uris;
  for (const auto& uri : config_.executorUris) {
    uris.push_back(resolveExecutorUri(uri, dispatcher, config_.resourceManagerAddress));
  }
  return uris;
}

void MesosDriver::reportStarted(const std::string& taskId) {
  auto it = tms_.find(taskId);
  if (it == tms_.end() || it->second.started) return;
  it->second.started = true;
  if (listener_ != nullptr) listener_->onTaskManagerStarted(taskId);
}

void MesosDriver::onTaskLaunched(const std::string& taskId, const v1::Offer& offer) {
  if (auto tm = tms_.find(taskId); tm != tms_.end()) tm->second.agentId = offer.agent_id().value();
  // Launched: Mesos holds the resources for it from the ACCEPT on.
  if (hooks_.placed) hooks_.placed(taskId, offer.agent_id().value());
  reportStarted(taskId);
}

void MesosDriver::onTaskUpdate(const std::string& taskId, const v1::TaskStatus& status) {
  auto tm = tms_.find(taskId);
  if (tm == tms_.end()) return;
  if (tailor::mesos::isUnreachable(status.state())) {
    if (tm->second.unreachable || listener_ == nullptr) return;
    tm->second.unreachable = true;
    std::string reason = v1::TaskState_Name(status.state());
    if (status.has_reason()) reason += " (" + v1::TaskStatus::Reason_Name(status.reason()) + ")";
    if (!status.message().empty()) reason += ": " + status.message();
    log_->warn("{}: {} on agent {} is {}", owner_, taskId, tm->second.agentId, reason);
    listener_->onTaskManagerUnreachable(taskId, reason);
    return;
  }
  if (status.state() != v1::TASK_STARTING && status.state() != v1::TASK_RUNNING) return;
  if (tm->second.unreachable) {
    tm->second.unreachable = false;
    log_->info("{}: {} is {} again", owner_, taskId, v1::TaskState_Name(status.state()));
    if (listener_ != nullptr) listener_->onTaskManagerReachable(taskId);
  }
  reportStarted(taskId);
}

void MesosDriver::onTaskEnded(const std::string& taskId, const std::string& reason,
                              const v1::TaskStatus* status) {
  if (retired_.erase(taskId) != 0) {
    log_->info("{} of an earlier attempt ended: {}", taskId, reason);
    if (hooks_.retiredGone) hooks_.retiredGone(taskId);
    return;
  }
  auto it = tms_.find(taskId);
  if (it == tms_.end()) return;
  Tm tm = std::move(it->second);
  tms_.erase(it);
  if (status != nullptr && status->state() == v1::TASK_FAILED &&
      config_.failureDetailsTimeout.count() > 0) {
    gatherFailureDetails(taskId, reason, *status, tm);
    return;
  }
  if (listener_ != nullptr) listener_->onTaskManagerTerminated(taskId, reason);
}

void MesosDriver::gatherFailureDetails(const std::string& taskId, const std::string& reason,
                                       const v1::TaskStatus& status, const Tm& tm) {
  Failing& failing = failing_[taskId];
  ExecutorFailure& failure = failing.failure;
  failure.taskEnd = reason;
  failure.agentId = status.has_agent_id() ? status.agent_id().value() : tm.agentId;
  failure.waitStatus = tm.exitStatus;
  auto agent = agents_.find(failure.agentId);
  if (agent != agents_.end()) failure.agentHostname = agent->second.hostname;
  std::string frameworkId = connection_ != nullptr ? connection_->frameworkId() : "";
  if (agentFiles_ == nullptr || frameworkId.empty()) {
    failing.stderrDone = true;  // nothing to read it with: nothing said of it
  } else {
    failure.stderrPath = tailor::mesos::executorSandboxPath(frameworkId, taskId) + "/stderr";
    if (agent == agents_.end() || agent->second.url.empty()) {
      failure.stderrError = "the agent's address is unknown (none of its offers named it)";
      failing.stderrDone = true;
    } else {
      agentFiles_->readTail(agent->second.url, failure.stderrPath, kStderrTailBytes,
                            config_.failureDetailsTimeout,
                            [this, alive = alive_, taskId](Result<tailor::mesos::FileTail> tail) {
                              if (*alive) onStderrRead(taskId, std::move(tail));
                            });
    }
  }
  failing.deadline = loop_.runAfter(config_.failureDetailsTimeout, [this, taskId] {
    auto found = failing_.find(taskId);
    if (found == failing_.end()) return;
    found->second.deadline.reset();
    reportFailureWhenKnown(taskId, true);
  });
  reportFailureWhenKnown(taskId, false);
}

void MesosDriver::onStderrRead(const std::string& taskId, Result<tailor::mesos::FileTail> tail) {
  auto it = failing_.find(taskId);
  if (it == failing_.end()) return;  // reported at the deadline already
  ExecutorFailure& failure = it->second.failure;
  if (tail.ok()) {
    failure.stderrLines =
        tailor::mesos::lastLines(tail->data, tail->truncated, kStderrLines, kStderrLineLength);
  } else {
    failure.stderrError = tail.error().message;
  }
  it->second.stderrDone = true;
  reportFailureWhenKnown(taskId, false);
}

void MesosDriver::reportFailureWhenKnown(const std::string& taskId, bool due) {
  auto it = failing_.find(taskId);
  if (it == failing_.end()) return;
  Failing& failing = it->second;
  if (!due && !(failing.stderrDone && failing.failure.waitStatus)) return;
  if (!failing.failure.waitStatus) failing.failure.statusWait = config_.failureDetailsTimeout;
  if (!failing.stderrDone) {
    failing.failure.stderrError =
        fmt::format("the agent did not answer within {} ms", config_.failureDetailsTimeout.count());
  }
  if (failing.deadline) loop_.cancelTimer(*failing.deadline);
  std::string reason = describeExecutorFailure(failing.failure, config_.executorCommand,
                                               !config_.executorUris.empty());
  failing_.erase(it);
  log_->warn("{}: {} failed: {}", owner_, taskId, reason);
  if (listener_ != nullptr) listener_->onTaskManagerTerminated(taskId, reason);
}

}  // namespace tailor::scheduler::mesos
