#include "tests/fake_mesos/agent.hpp"

#include <fmt/format.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/message_differencer.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>

#include "common/logging.hpp"
#include "common/subprocess.hpp"
#include "tests/fake_mesos/command_executor.hpp"
#include "tests/fake_mesos/fetcher.hpp"
#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;
namespace fs = std::filesystem;
using mesos::ExecutorCall;
using mesos::ExecutorEvent;

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Mesos' validation::executor::call::validate.
std::optional<std::string> validateExecutorCall(const ExecutorCall& call) {
  if (!call.has_type()) return "Expecting 'type' to be present";
  switch (call.type()) {
    case ExecutorCall::SUBSCRIBE:
      if (!call.has_subscribe()) return "Expecting 'subscribe' to be present";
      return std::nullopt;
    case ExecutorCall::UPDATE: {
      if (!call.has_update()) return "Expecting 'update' to be present";
      const v1::TaskStatus& status = call.update().status();
      if (!status.has_uuid()) return "Expecting 'uuid' to be present";
      if (!isValidUuidBytes(status.uuid())) return "Not a valid UUID";
      if (status.has_executor_id() && status.executor_id().value() != call.executor_id().value()) {
        return "ExecutorID in Call: " + call.executor_id().value() +
               " does not match ExecutorID in TaskStatus: " + status.executor_id().value();
      }
      if (status.source() != v1::TaskStatus::SOURCE_EXECUTOR) {
        return "Received Call from executor " + call.executor_id().value() + " of framework " +
               call.framework_id().value() + " with invalid source, expecting 'SOURCE_EXECUTOR'";
      }
      if (status.state() == v1::TASK_STAGING) {
        return "Received TASK_STAGING from executor " + call.executor_id().value() +
               " of framework " + call.framework_id().value() + " which is not allowed";
      }
      return std::nullopt;
    }
    case ExecutorCall::MESSAGE:
      if (!call.has_message()) return "Expecting 'message' to be present";
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

// Resources as the agent hands them to executors: the post-refinement
// format, without the unreserved `role: "*"`.
void stripUnreservedRole(google::protobuf::RepeatedPtrField<v1::Resource>* resources) {
  for (auto& resource : *resources) {
    if (hasLegacyRole(resource) && legacyRole(resource) == "*") clearLegacyRole(resource);
  }
}

class HttpExecutorSink : public ExecutorEventSink {
 public:
  HttpExecutorSink(std::shared_ptr<http::StreamWriter> writer, ContentType type)
      : writer_(std::move(writer)), type_(type) {}
  void send(const ExecutorEvent& event) override {
    writer_->write(encodeEventRecord(event, type_));
  }
  void close() override { writer_->close(); }
  void abort() override { writer_->abort(); }
  bool closed() const override { return writer_->closed(); }

 private:
  std::shared_ptr<http::StreamWriter> writer_;
  ContentType type_;
};

Duration gracePeriodOf(const v1::ExecutorInfo& info, Duration fallback) {
  if (info.has_shutdown_grace_period()) {
    return std::chrono::duration_cast<Duration>(
        std::chrono::nanoseconds(info.shutdown_grace_period().nanoseconds()));
  }
  return fallback;
}

bool partitionAware(const v1::FrameworkInfo& info) {
  return std::any_of(info.capabilities().begin(), info.capabilities().end(), [](const auto& c) {
    return c.type() == v1::FrameworkInfo::Capability::PARTITION_AWARE;
  });
}

}  // namespace

Agent::Agent(EventLoop& loop, AgentConfig config, ExecutorRuntime& runtime, MasterLink& master,
             IdGenerator& ids, FaultPlan& faults, SandboxFiles& files)
    : loop_(loop),
      config_(std::move(config)),
      runtime_(runtime),
      master_(master),
      ids_(ids),
      faults_(faults),
      files_(files),
      log_(logger("fake-agent")) {
  if (config_.createSandboxes && !config_.workDir.empty()) {
    checkpoint_ =
        std::make_unique<AgentCheckpoint>(checkpointDir(config_.workDir, config_.processIndex));
  }
}

Agent::~Agent() = default;

void Agent::attachSandbox(const Executor& exec) {
  // paths::getExecutorVirtualPath, and the real path (Framework::addExecutor).
  files_.attach(exec.sandbox,
                fmt::format("/frameworks/{}/executors/{}/runs/latest", exec.frameworkId, exec.id));
  files_.attach(exec.sandbox, exec.sandbox);
}

std::string AgentLink::processId() const {
  return fmt::format("slave({})", config().processIndex);
}

v1::AgentInfo Agent::info() const {
  v1::AgentInfo info;
  info.set_hostname(config_.hostname);
  info.set_port(config_.port);
  // The agent's own order: cpus, gpus, mem, disk, ports, then the rest.
  std::vector<std::string> order = {"cpus", "gpus", "mem", "disk", "ports"};
  for (const auto& name : config_.resources.names()) {
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  ResourceSet::ProtoStyle style;
  style.unreservedRole = false;
  google::protobuf::RepeatedPtrField<v1::Resource> all;
  config_.resources.toProto(&all, style);
  for (const auto& name : order) {
    for (const auto& resource : all) {
      if (resource.name() == name) *info.add_resources() = resource;
    }
  }
  for (const auto& attribute : config_.attributes) *info.add_attributes() = attribute;
  info.mutable_id()->set_value(config_.id);
  // The real agent also sends field 7 (the deprecated `checkpoint`, always
  // true), which Tailor's protos leave out: kept as an unknown field, it goes
  // out in protobuf and, as in the captures, not in JSON.
  info.GetReflection()->MutableUnknownFields(&info)->AddVarint(7, 1);
  return info;
}

Agent::Framework* Agent::framework(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  return it == frameworks_.end() ? nullptr : &it->second;
}

Agent::Executor* Agent::executor(const std::string& frameworkId, const std::string& executorId) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return nullptr;
  auto it = fw->executors.find(executorId);
  return it == fw->executors.end() ? nullptr : &it->second;
}

std::vector<std::string> Agent::executorIds(const std::string& frameworkId) const {
  std::vector<std::string> ids;
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return ids;
  for (const auto& [id, executor] : it->second.executors) ids.push_back(id);
  return ids;
}

bool Agent::hasExecutor(const std::string& frameworkId, const std::string& executorId) const {
  auto it = frameworks_.find(frameworkId);
  return it != frameworks_.end() && it->second.executors.count(executorId) != 0;
}

AgentRecovery Agent::recovery() const {
  AgentRecovery recovery;
  for (const auto& [frameworkId, fw] : frameworks_) {
    if (fw.terminating || fw.tasks.empty()) continue;
    recovery.frameworks.push_back(fw.info);
    for (const auto& [taskId, task] : fw.tasks) {
      recovery.tasks.push_back(AgentRecovery::Task{frameworkId, task.info, task.state});
    }
  }
  return recovery;
}

bool Agent::hasTask(const std::string& taskId) const {
  for (const auto& [id, fw] : frameworks_) {
    if (fw.tasks.count(taskId) != 0) return true;
  }
  return false;
}

// --- Launching ---------------------------------------------------------------

void Agent::runTask(const v1::FrameworkInfo& frameworkInfo, const v1::TaskInfo& taskInfo) {
  if (lost_) return;
  const std::string& frameworkId = frameworkInfo.id().value();
  Framework& fw = frameworks_[frameworkId];
  fw.info = frameworkInfo;
  fw.terminating = false;
  if (checkpointing(fw)) {
    Status written = checkpoint_->writeFramework(fw.info);
    if (!written.ok()) log_->error("agent {}: {}", id(), written.error().message);
  }

  v1::TaskInfo info = taskInfo;
  stripUnreservedRole(info.mutable_resources());
  v1::ExecutorInfo executorInfo;
  if (info.has_executor()) {
    stripUnreservedRole(info.mutable_executor()->mutable_resources());
    executorInfo = info.executor();
  } else {
    // A command task: Mesos runs it under its command executor, whose id is
    // the task id; the task's CommandInfo reaches the executor in LAUNCH.
    executorInfo = commandExecutorInfo(frameworkId, info, config_.commandExecutor);
  }
  const std::string executorId = executorInfo.executor_id().value();
  const std::string taskId = info.task_id().value();

  Task& task = fw.tasks[taskId];
  task = Task{};
  task.info = info;
  task.executorId = executorId;
  checkpointTask(fw, taskId);

  if (!info.has_executor() && !config_.commandTasks) {
    log_->warn("agent {} cannot run command task {} of framework {}: no command executor", id(),
               taskId, frameworkId);
    statusUpdate(frameworkId,
                 agentStatus(frameworkId, task, ids_.randomUuidText(), v1::TASK_FAILED,
                             v1::TaskStatus::REASON_COMMAND_EXECUTOR_FAILED,
                             "fake-mesos has no command executor: launch the task with an "
                             "ExecutorInfo, or run fake-mesos with --command-executor PATH (or "
                             "--simulate-executors)"),
                 false);
    return;
  }

  Executor* exec = executor(frameworkId, executorId);
  bool scriptedFailure = faults_.takeLaunchFailure();
  if (exec == nullptr || exec->state == ExecutorState::kTerminating ||
      exec->state == ExecutorState::kTerminated) {
    std::string error;
    std::string containerId = ids_.randomUuidText();
    if (scriptedFailure) {
      failLaunch(fw, task, containerId, "Failed to launch container: scripted by fake-mesos");
      return;
    }
    exec = launchExecutor(fw, executorInfo, &error, &containerId);
    if (exec == nullptr) {
      failLaunch(fw, task, containerId, "Failed to launch container: " + error);
      return;
    }
  } else if (scriptedFailure) {
    statusUpdate(frameworkId,
                 agentStatus(frameworkId, task, exec->containerId, v1::TASK_FAILED,
                             v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED,
                             "Failed to launch container: scripted by fake-mesos"),
                 false);
    return;
  }
  exec->taskIds.push_back(taskId);
  log_->info("agent {} queued task {} of framework {} for executor {} (container {})", id(), taskId,
             frameworkId, executorId, exec->containerId);
  if (exec->state == ExecutorState::kRunning) deliver(*exec, fw.tasks[taskId]);
}

void Agent::failLaunch(Framework& fw, const Task& task, const std::string& containerId,
                       const std::string& message) {
  const std::string frameworkId = fw.info.id().value();
  log_->warn("agent {} failed to launch executor {} of framework {} for task {}: {}", id(),
             task.executorId, frameworkId, task.info.task_id().value(), message);
  std::string executorId = task.executorId;
  statusUpdate(frameworkId,
               agentStatus(frameworkId, task, containerId, v1::TASK_FAILED,
                           v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED, message),
               false);
  // The executor the master counted never ran: Mesos reports an unknown status.
  master_.executorExited(id(), frameworkId, executorId, -1);
}

Agent::Executor* Agent::launchExecutor(Framework& fw, const v1::ExecutorInfo& info,
                                       std::string* error, std::string* containerId) {
  const std::string frameworkId = fw.info.id().value();
  const std::string executorId = info.executor_id().value();
  fw.executors.erase(executorId);
  Executor& exec = fw.executors[executorId];
  exec.id = executorId;
  exec.frameworkId = frameworkId;
  exec.containerId = *containerId;
  exec.info = info;
  exec.sandbox = fmt::format("{}/slaves/{}/frameworks/{}/executors/{}/runs/{}", config_.workDir,
                             id(), frameworkId, executorId, exec.containerId);
  if (config_.createSandboxes) {
    std::error_code ec;
    fs::create_directories(exec.sandbox, ec);
    if (ec) {
      *error = fmt::format("Failed to create sandbox '{}': {}", exec.sandbox, ec.message());
      fw.executors.erase(executorId);
      return nullptr;
    }
    attachSandbox(exec);  // before the fetcher writes to it, as Mesos' addExecutor
    Status fetched = fetchUris(info.command(), exec.sandbox);
    if (!fetched.ok()) {
      // As in Mesos, the details are in the agent's log and the sandbox's
      // stderr, not in the status update.
      log_->warn("agent {} could not fetch the URIs of executor {} of framework {}: {}", id(),
                 executorId, frameworkId, fetched.error().message);
      *error = fmt::format("Failed to fetch all URIs for container '{}': exited with status 1",
                           exec.containerId);
      fw.executors.erase(executorId);
      return nullptr;
    }
  }
  ContainerLaunch launch;
  launch.agentId = id();
  launch.frameworkId = frameworkId;
  launch.executorId = executorId;
  launch.containerId = exec.containerId;
  launch.sandbox = exec.sandbox;
  launch.executorInfo = info;
  launch.environment = environmentFor(fw, exec);
  std::string cid = exec.containerId;
  auto pid = runtime_.launch(launch, exitHandler(frameworkId, executorId, cid));
  if (!pid.ok()) {
    *error = pid.error().message;
    fw.executors.erase(executorId);
    return nullptr;
  }
  exec.pid = *pid;
  checkpointExecutor(fw, exec);
  exec.registrationTimer =
      loop_.runAfter(config_.registrationTimeout, [this, frameworkId, executorId, cid] {
        Executor* e = executor(frameworkId, executorId);
        if (e == nullptr || e->containerId != cid) return;
        e->registrationTimer = 0;
        if (e->state != ExecutorState::kRegistering) return;
        log_->warn("agent {}: executor {} of framework {} did not subscribe within {}", id(),
                   executorId, frameworkId, formatStoutDuration(config_.registrationTimeout));
        Termination termination;
        termination.reason = v1::TaskStatus::REASON_EXECUTOR_REGISTRATION_TIMEOUT;
        termination.message =
            "Executor did not register within " + formatStoutDuration(config_.registrationTimeout);
        destroy(*e, termination);
      });
  log_->info("agent {} launched executor {} of framework {} in container {} (pid {})", id(),
             executorId, frameworkId, exec.containerId,
             exec.pid ? std::to_string(*exec.pid) : "none");
  return &exec;
}

std::map<std::string, std::string> Agent::environmentFor(const Framework& fw,
                                                         const Executor& exec) const {
  std::map<std::string, std::string> env;
  // The agent's own environment, without its MESOS_ and LIBPROCESS_ settings.
  for (const auto& [name, value] : currentEnvironment()) {
    if (startsWith(name, "MESOS_") || startsWith(name, "LIBPROCESS_")) continue;
    env[name] = value;
  }
  bool checkpoint = fw.info.checkpoint();
  std::string endpoint = fmt::format("{}:{}", config_.hostname, config_.port);
  env["LIBPROCESS_IP"] = config_.hostname;
  env["LIBPROCESS_PORT"] = "0";
  env["MESOS_AGENT_ENDPOINT"] = endpoint;
  env["MESOS_CHECKPOINT"] = checkpoint ? "1" : "0";
  env["MESOS_DIRECTORY"] = exec.sandbox;
  env["MESOS_SANDBOX"] = exec.sandbox;
  env["MESOS_EXECUTOR_ID"] = exec.id;
  env["MESOS_FRAMEWORK_ID"] = exec.frameworkId;
  env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] =
      formatStoutDuration(gracePeriodOf(exec.info, config_.shutdownGracePeriod));
  env["MESOS_HTTP_COMMAND_EXECUTOR"] = "0";
  if (checkpoint) {
    env["MESOS_RECOVERY_TIMEOUT"] = "15mins";
    env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = formatStoutDuration(config_.reregistrationTimeout);
  }
  env["MESOS_SLAVE_ID"] = id();
  env["MESOS_SLAVE_PID"] = fmt::format("{}@{}", processId(), endpoint);
  for (const auto& variable : exec.info.command().environment().variables()) {
    if (variable.type() == v1::Environment::Variable::SECRET) continue;
    env[variable.name()] = variable.value();
  }
  return env;
}

void Agent::deliver(Executor& exec, Task& task) {
  ExecutorEvent event;
  event.set_type(ExecutorEvent::LAUNCH);
  *event.mutable_launch()->mutable_task() = task.info;
  task.delivered = true;
  send(exec, event);
}

void Agent::send(Executor& exec, const ExecutorEvent& event) {
  if (exec.stream && !exec.stream->closed()) exec.stream->send(event);
}

// --- Killing and shutting down -------------------------------------------------

void Agent::killTask(const std::string& frameworkId, const std::string& taskId,
                     const std::optional<v1::KillPolicy>& killPolicy) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr || fw->tasks.count(taskId) == 0) {
    log_->warn("agent {} cannot kill unknown task {} of framework {}", id(), taskId, frameworkId);
    return;
  }
  Task& task = fw->tasks[taskId];
  if (isTerminalState(task.state)) return;
  Executor* exec = executor(frameworkId, task.executorId);
  if (exec == nullptr) return;
  if (!task.delivered) {
    log_->info("agent {} killed task {} of framework {} before delivery", id(), taskId,
               frameworkId);
    statusUpdate(frameworkId,
                 agentStatus(frameworkId, task, exec->containerId, v1::TASK_KILLED,
                             v1::TaskStatus::REASON_TASK_KILLED_DURING_LAUNCH,
                             "Killed before delivery to the executor"),
                 false);
    bool live = std::any_of(exec->taskIds.begin(), exec->taskIds.end(), [&](const auto& t) {
      return fw->tasks.count(t) != 0 && !isTerminalState(fw->tasks[t].state);
    });
    if (!live && exec->state == ExecutorState::kRegistering) destroy(*exec, std::nullopt);
    return;
  }
  ExecutorEvent event;
  event.set_type(ExecutorEvent::KILL);
  event.mutable_kill()->mutable_task_id()->set_value(taskId);
  if (killPolicy) *event.mutable_kill()->mutable_kill_policy() = *killPolicy;
  send(*exec, event);
  Duration grace = gracePeriodOf(exec->info, config_.shutdownGracePeriod);
  if (killPolicy && killPolicy->has_grace_period()) {
    grace = std::chrono::duration_cast<Duration>(
        std::chrono::nanoseconds(killPolicy->grace_period().nanoseconds()));
    // The command executor escalates at the end of that grace period itself.
    if (!task.info.has_executor()) grace += CommandExecutor::kShutdownReserve;
  }
  if (task.killTimer != 0) loop_.cancelTimer(task.killTimer);
  std::string containerId = exec->containerId;
  task.killTimer = loop_.runAfter(grace, [this, frameworkId, taskId, containerId, grace] {
    Framework* f = framework(frameworkId);
    if (f == nullptr || f->tasks.count(taskId) == 0) return;
    Task& t = f->tasks[taskId];
    t.killTimer = 0;
    if (isTerminalState(t.state)) return;
    Executor* e = executor(frameworkId, t.executorId);
    if (e == nullptr || e->containerId != containerId) return;
    log_->warn(
        "agent {}: executor {} did not kill task {} of framework {} within {}; "
        "destroying its container",
        id(), e->id, taskId, frameworkId, formatStoutDuration(grace));
    statusUpdate(frameworkId,
                 agentStatus(frameworkId, t, containerId, v1::TASK_KILLED,
                             v1::TaskStatus::REASON_EXECUTOR_TERMINATED,
                             "Executor did not kill the task within " + formatStoutDuration(grace)),
                 false);
    destroy(*e, std::nullopt);
  });
}

void Agent::shutdownFramework(const std::string& frameworkId) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  fw->terminating = true;
  for (auto& [taskId, stream] : fw->streams) {
    if (stream.retryTimer != 0) loop_.cancelTimer(stream.retryTimer);
  }
  fw->streams.clear();
  // Nothing of it is to be recovered; its containers still are destroyed.
  if (checkpointing(*fw)) checkpoint_->removeFramework(frameworkId);
  std::vector<std::string> executorIds;
  for (auto& [executorId, exec] : fw->executors) executorIds.push_back(executorId);
  for (const auto& executorId : executorIds) {
    Executor* exec = executor(frameworkId, executorId);
    if (exec != nullptr) beginShutdown(*exec);
  }
  forgetFrameworkIfIdle(frameworkId);
}

void Agent::shutdownExecutor(const std::string& frameworkId, const std::string& executorId) {
  Executor* exec = executor(frameworkId, executorId);
  if (exec != nullptr) beginShutdown(*exec);
}

// SHUTDOWN to a subscribed executor and a kill after the grace period; an
// executor that never subscribed is killed at once.
void Agent::beginShutdown(Executor& exec) {
  if (exec.state == ExecutorState::kTerminated) return;
  if (exec.state != ExecutorState::kRunning) {
    destroy(exec, std::nullopt);
    return;
  }
  exec.state = ExecutorState::kTerminating;
  ExecutorEvent event;
  event.set_type(ExecutorEvent::SHUTDOWN);
  send(exec, event);
  std::string frameworkId = exec.frameworkId;
  std::string executorId = exec.id;
  std::string containerId = exec.containerId;
  exec.shutdownTimer = loop_.runAfter(gracePeriodOf(exec.info, config_.shutdownGracePeriod),
                                      [this, frameworkId, executorId, containerId] {
                                        Executor* e = executor(frameworkId, executorId);
                                        if (e == nullptr || e->containerId != containerId) return;
                                        e->shutdownTimer = 0;
                                        destroy(*e, std::nullopt);
                                      });
  log_->info("agent {} shutting down executor {} of framework {}", id(), executorId, frameworkId);
}

void Agent::destroy(Executor& exec, std::optional<Termination> termination) {
  if (termination && !exec.termination) exec.termination = termination;
  if (exec.state == ExecutorState::kTerminated) return;
  exec.state = ExecutorState::kTerminating;
  runtime_.destroy(exec.containerId);
}

bool Agent::killExecutorOfTask(const std::string& taskId) {
  for (auto& [frameworkId, fw] : frameworks_) {
    auto task = fw.tasks.find(taskId);
    if (task == fw.tasks.end()) continue;
    Executor* exec = executor(frameworkId, task->second.executorId);
    if (exec == nullptr) return false;
    log_->info("agent {}: scripted SIGKILL of executor {} (task {}, framework {})", id(), exec->id,
               taskId, frameworkId);
    runtime_.destroy(exec->containerId);
    return true;
  }
  return false;
}

void Agent::executorExited(const std::string& frameworkId, const std::string& executorId,
                           int status) {
  Framework* fw = framework(frameworkId);
  Executor* exec = executor(frameworkId, executorId);
  if (fw == nullptr || exec == nullptr) return;
  log_->info("agent {}: executor {} of framework {} (container {}) exited: {}", id(), executorId,
             frameworkId, exec->containerId, describeWaitStatus(status));
  exec->state = ExecutorState::kTerminated;
  for (TimerId timer : {exec->registrationTimer, exec->shutdownTimer, exec->heartbeatTimer}) {
    if (timer != 0) loop_.cancelTimer(timer);
  }
  if (exec->stream && !exec->stream->closed()) exec->stream->close();
  exec->stream.reset();
  Termination termination = exec->termination.value_or(Termination{});
  std::string containerId = exec->containerId;
  std::vector<std::string> taskIds = exec->taskIds;
  for (const auto& taskId : taskIds) {
    auto task = fw->tasks.find(taskId);
    if (task == fw->tasks.end() || isTerminalState(task->second.state)) continue;
    if (task->second.killTimer != 0) loop_.cancelTimer(task->second.killTimer);
    task->second.killTimer = 0;
    statusUpdate(frameworkId,
                 agentStatus(frameworkId, task->second, containerId, termination.state,
                             termination.reason, termination.message),
                 false);
  }
  fw = framework(frameworkId);
  if (fw != nullptr) {
    if (checkpointing(*fw)) checkpoint_->removeExecutor(frameworkId, executorId);
    fw->executors.erase(executorId);
  }
  if (checkpoint_) checkpoint_->removeContainer(containerId);
  // A recovering agent has no master yet (Mesos' agent tells it nothing then).
  if (!lost_ && !recovering_) master_.executorExited(id(), frameworkId, executorId, status);
  forgetFrameworkIfIdle(frameworkId);
}

void Agent::lose() {
  lost_ = true;
  for (auto& [frameworkId, fw] : frameworks_) {
    for (auto& [taskId, stream] : fw.streams) {
      if (stream.retryTimer != 0) loop_.cancelTimer(stream.retryTimer);
    }
    fw.streams.clear();
    for (auto& [executorId, exec] : fw.executors) {
      if (exec.stream && !exec.stream->closed()) exec.stream->close();
      runtime_.destroy(exec.containerId);
    }
  }
  if (checkpoint_) checkpoint_->removeAll();
}

void Agent::forgetFrameworkIfIdle(const std::string& frameworkId) {
  Framework* fw = framework(frameworkId);
  if (fw != nullptr && fw->terminating && fw->executors.empty()) frameworks_.erase(frameworkId);
}

// --- Executor API --------------------------------------------------------------

void Agent::handleExecutorRequest(const http::Request& request, const ExecutorCall& call,
                                  http::Responder respond) {
  if (auto error = validateExecutorCall(call)) {
    respond(textResponse(400, "Failed to validate Executor::Call: " + *error));
    return;
  }
  if (call.type() != ExecutorCall::SUBSCRIBE) {
    CallAnswer answer = executorCall(call, nullptr);
    respond(textResponse(answer.status, answer.body));
    return;
  }
  auto encoding = negotiateStreamEncoding(request.header("accept"));
  if (!encoding) {
    respond(notAcceptable());
    return;
  }
  Framework* fw = framework(call.framework_id().value());
  if (fw == nullptr) {
    respond(textResponse(400, "Framework cannot be found"));
    return;
  }
  if (executor(call.framework_id().value(), call.executor_id().value()) == nullptr) {
    respond(textResponse(400, "Executor cannot be found"));
    return;
  }
  http::Response response;
  response.status = 200;
  response.contentType = std::string(mesos::contentTypeHeader(*encoding));
  ContentType type = *encoding;
  response.stream = [this, call, type](std::shared_ptr<http::StreamWriter> writer) {
    auto sink = std::make_shared<HttpExecutorSink>(writer, type);
    CallAnswer answer = executorCall(call, sink);
    if (answer.status != 200) {
      writer->close();
      return;
    }
    std::string frameworkId = call.framework_id().value();
    std::string executorId = call.executor_id().value();
    writer->onClosed([this, frameworkId, executorId, sink] {
      loop_.post([this, frameworkId, executorId, sink] {
        Executor* exec = executor(frameworkId, executorId);
        if (exec != nullptr && exec->stream == sink) {
          log_->info("agent {}: executor {} of framework {} closed its subscription", id(),
                     executorId, frameworkId);
          exec->stream.reset();
        }
      });
    });
  };
  respond(std::move(response));
}

CallAnswer Agent::executorCall(const ExecutorCall& call,
                               std::shared_ptr<ExecutorEventSink> subscriber) {
  if (auto error = validateExecutorCall(call)) {
    return CallAnswer{400, "Failed to validate Executor::Call: " + *error};
  }
  if (recovering_ &&
      (call.type() == ExecutorCall::UPDATE || call.type() == ExecutorCall::MESSAGE)) {
    return CallAnswer{503, "Agent has not finished recovery"};
  }
  const std::string frameworkId = call.framework_id().value();
  const std::string executorId = call.executor_id().value();
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return CallAnswer{400, "Framework cannot be found"};
  Executor* exec = executor(frameworkId, executorId);
  if (exec == nullptr) return CallAnswer{400, "Executor cannot be found"};
  if (exec->state == ExecutorState::kRegistering && call.type() != ExecutorCall::SUBSCRIBE) {
    return CallAnswer{403, "Executor is not subscribed"};
  }
  switch (call.type()) {
    case ExecutorCall::SUBSCRIBE:
      if (!subscriber) return CallAnswer{400, "SUBSCRIBE needs a stream"};
      subscribe(*fw, *exec, call.subscribe(), std::move(subscriber));
      return CallAnswer{200, ""};
    case ExecutorCall::UPDATE: {
      v1::TaskStatus status = call.update().status();
      if (!status.has_agent_id()) status.mutable_agent_id()->set_value(id());
      if (!status.has_timestamp()) status.set_timestamp(loop_.wallSeconds());
      statusUpdate(frameworkId, std::move(status), true);
      return CallAnswer{202, ""};
    }
    case ExecutorCall::MESSAGE:
      if (!fw->terminating) {
        master_.executorMessage(id(), frameworkId, executorId, call.message().data());
      }
      return CallAnswer{202, ""};
    case ExecutorCall::HEARTBEAT:
      return CallAnswer{202, ""};
    default:
      return CallAnswer{501, ""};
  }
}

void Agent::subscribe(Framework& fw, Executor& exec, const ExecutorCall::Subscribe& subscribe,
                      std::shared_ptr<ExecutorEventSink> subscriber) {
  if (exec.state == ExecutorState::kTerminating || exec.state == ExecutorState::kTerminated ||
      fw.terminating) {
    ExecutorEvent shutdown;
    shutdown.set_type(ExecutorEvent::SHUTDOWN);
    subscriber->send(shutdown);
    subscriber->close();
    return;
  }
  if (exec.stream && exec.stream != subscriber && !exec.stream->closed()) exec.stream->close();
  exec.stream = subscriber;
  exec.state = ExecutorState::kRunning;
  if (exec.registrationTimer != 0) {
    loop_.cancelTimer(exec.registrationTimer);
    exec.registrationTimer = 0;
  }
  log_->info("agent {}: executor {} of framework {} subscribed", id(), exec.id, exec.frameworkId);

  ExecutorEvent subscribed;
  subscribed.set_type(ExecutorEvent::SUBSCRIBED);
  auto* body = subscribed.mutable_subscribed();
  *body->mutable_executor_info() = exec.info;
  stripUnreservedRole(body->mutable_executor_info()->mutable_resources());
  *body->mutable_framework_info() = fw.info;
  *body->mutable_agent_info() = info();
  body->mutable_container_id()->set_value(exec.containerId);
  send(exec, subscribed);

  std::string frameworkId = exec.frameworkId;
  bool recovered = exec.recovered;
  exec.recovered = false;
  for (const auto& update : subscribe.unacknowledged_updates()) {
    v1::TaskStatus status = update.status();
    if (!status.has_agent_id()) status.mutable_agent_id()->set_value(id());
    statusUpdate(frameworkId, status, true);
  }
  Executor* current = executor(frameworkId, exec.id);
  if (current == nullptr) return;
  if (recovered) {
    log_->info("agent {}: executor {} of framework {} subscribed again after the restart", id(),
               current->id, frameworkId);
    dropTasksUnknownToExecutor(fw, *current, subscribe);
    current = executor(frameworkId, exec.id);
    if (current == nullptr) return;
  }
  for (const auto& taskId : current->taskIds) {
    auto task = fw.tasks.find(taskId);
    if (task != fw.tasks.end() && !task->second.delivered && !isTerminalState(task->second.state)) {
      deliver(*current, task->second);
    }
  }
  armHeartbeat(frameworkId, current->id);
}

void Agent::armHeartbeat(const std::string& frameworkId, const std::string& executorId) {
  Executor* exec = executor(frameworkId, executorId);
  if (exec == nullptr) return;
  if (exec->heartbeatTimer != 0) loop_.cancelTimer(exec->heartbeatTimer);
  exec->heartbeatTimer = loop_.runAfter(config_.executorHeartbeat, [this, frameworkId, executorId] {
    Executor* e = executor(frameworkId, executorId);
    if (e == nullptr) return;
    e->heartbeatTimer = 0;
    ExecutorEvent heartbeat;
    heartbeat.set_type(ExecutorEvent::HEARTBEAT);
    send(*e, heartbeat);
    armHeartbeat(frameworkId, executorId);
  });
}

void Agent::frameworkMessage(const std::string& frameworkId, const std::string& executorId,
                             const std::string& data) {
  Executor* exec = executor(frameworkId, executorId);
  if (exec == nullptr || exec->state != ExecutorState::kRunning) {
    log_->warn("agent {} dropped a message for executor {} of framework {}: not running", id(),
               executorId, frameworkId);
    return;
  }
  ExecutorEvent event;
  event.set_type(ExecutorEvent::MESSAGE);
  event.mutable_message()->set_data(data);
  send(*exec, event);
}

// --- Status updates ------------------------------------------------------------

v1::TaskStatus Agent::agentStatus(const std::string& frameworkId, const Task& task,
                                  const std::string& containerId, v1::TaskState state,
                                  v1::TaskStatus::Reason reason, const std::string& message) {
  v1::TaskStatus status;
  *status.mutable_task_id() = task.info.task_id();
  status.set_state(state);
  status.set_message(message);
  status.set_source(v1::TaskStatus::SOURCE_AGENT);
  status.set_reason(reason);
  status.mutable_agent_id()->set_value(id());
  status.mutable_executor_id()->set_value(task.executorId);
  status.set_timestamp(loop_.wallSeconds());
  status.set_uuid(ids_.randomUuidBytes());
  if (!containerId.empty()) {
    status.mutable_container_status()->mutable_container_id()->set_value(containerId);
  }
  return status;
}

void Agent::statusUpdate(const std::string& frameworkId, v1::TaskStatus status, bool fromExecutor) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr || lost_) return;
  const std::string taskId = status.task_id().value();
  auto task = fw->tasks.find(taskId);

  if (fromExecutor && task != fw->tasks.end()) {
    Executor* exec = executor(frameworkId, task->second.executorId);
    if (exec != nullptr) {
      // The agent's container status, as Mesos' containerizer reports it.
      v1::ContainerStatus container;
      container.mutable_container_id()->set_value(exec->containerId);
      container.add_network_infos()->add_ip_addresses()->set_ip_address(config_.hostname);
      if (exec->pid) container.set_executor_pid(static_cast<std::uint32_t>(*exec->pid));
      *status.mutable_container_status() = container;
    }
  }

  if (fw->terminating) {
    // Nobody to forward to: the framework is being removed.
    if (fromExecutor && !config_.ackExecutorAfterScheduler)
      acknowledgeToExecutor(frameworkId, status);
    return;
  }
  UpdateStream& stream = fw->streams[taskId];
  if (stream.receivedUuids.count(status.uuid()) != 0) {
    log_->debug("agent {}: duplicate update {} of task {}", id(), uuidBytesToText(status.uuid()),
                taskId);
    if (fromExecutor && !config_.ackExecutorAfterScheduler)
      acknowledgeToExecutor(frameworkId, status);
    return;
  }
  if (stream.terminated) {
    log_->warn("agent {}: ignoring {} for task {} of framework {} after its terminal update", id(),
               v1::TaskState_Name(status.state()), taskId, frameworkId);
    return;
  }
  stream.receivedUuids.insert(status.uuid());
  if (isTerminalState(status.state())) stream.terminated = true;
  if (fromExecutor) stream.fromExecutor.insert(status.uuid());
  if (task != fw->tasks.end()) {
    task->second.state = status.state();
    if (isTerminalState(status.state()) && task->second.killTimer != 0) {
      loop_.cancelTimer(task->second.killTimer);
      task->second.killTimer = 0;
    }
  }
  log_->info("agent {}: {} for task {} of framework {} ({}, uuid {})", id(),
             v1::TaskState_Name(status.state()), taskId, frameworkId,
             v1::TaskStatus::Source_Name(status.source()), uuidBytesToText(status.uuid()));
  stream.pending.push_back(status);
  // Stored before the executor hears it was (Mesos checkpoints the update first).
  checkpointTask(*fw, taskId);
  if (fromExecutor && !config_.ackExecutorAfterScheduler)
    acknowledgeToExecutor(frameworkId, status);
  if (stream.pending.size() == 1) {
    stream.retryInterval = config_.statusUpdateRetry;
    forwardFront(frameworkId, taskId);
    scheduleRetry(frameworkId, taskId);
  }
}

void Agent::forwardFront(const std::string& frameworkId, const std::string& taskId) {
  Framework* fw = framework(frameworkId);
  // While recovering the agent has no master: updates wait (Mesos pauses its
  // status update manager until the agent registered again).
  if (fw == nullptr || lost_ || recovering_) return;
  auto stream = fw->streams.find(taskId);
  if (stream == fw->streams.end() || stream->second.pending.empty()) return;
  auto task = fw->tasks.find(taskId);
  v1::TaskState latest =
      task != fw->tasks.end() ? task->second.state : stream->second.pending.back().state();
  master_.forwardStatusUpdate(id(), frameworkId, stream->second.pending.front(), latest);
}

void Agent::scheduleRetry(const std::string& frameworkId, const std::string& taskId) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  UpdateStream& stream = fw->streams[taskId];
  if (stream.retryTimer != 0) loop_.cancelTimer(stream.retryTimer);
  std::string uuid = stream.pending.front().uuid();
  stream.retryTimer = loop_.runAfter(stream.retryInterval, [this, frameworkId, taskId, uuid] {
    Framework* f = framework(frameworkId);
    if (f == nullptr) return;
    auto s = f->streams.find(taskId);
    if (s == f->streams.end()) return;
    s->second.retryTimer = 0;
    if (s->second.pending.empty() || s->second.pending.front().uuid() != uuid) return;
    log_->info("agent {}: re-sending unacknowledged update {} of task {} of framework {}", id(),
               uuidBytesToText(uuid), taskId, frameworkId);
    forwardFront(frameworkId, taskId);
    s = f->streams.find(taskId);
    if (s == f->streams.end()) return;
    s->second.retryInterval = std::min(s->second.retryInterval * 2, config_.statusUpdateRetryMax);
    scheduleRetry(frameworkId, taskId);
  });
}

void Agent::resendPendingUpdates(const std::string& frameworkId) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr || fw->terminating) return;
  std::vector<std::string> taskIds;
  for (const auto& [taskId, stream] : fw->streams) {
    if (!stream.pending.empty()) taskIds.push_back(taskId);
  }
  for (const auto& taskId : taskIds) {
    fw = framework(frameworkId);
    if (fw == nullptr || fw->streams.count(taskId) == 0) return;
    fw->streams[taskId].retryInterval = config_.statusUpdateRetry;
    forwardFront(frameworkId, taskId);
    scheduleRetry(frameworkId, taskId);
  }
}

void Agent::acknowledge(const std::string& frameworkId, const std::string& taskId,
                        const std::string& uuid) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  auto stream = fw->streams.find(taskId);
  if (stream == fw->streams.end() || stream->second.pending.empty() ||
      stream->second.pending.front().uuid() != uuid) {
    log_->warn("agent {}: unexpected acknowledgement {} for task {} of framework {}", id(),
               uuidBytesToText(uuid), taskId, frameworkId);
    return;
  }
  UpdateStream& s = stream->second;
  v1::TaskStatus acked = s.pending.front();
  s.pending.pop_front();
  if (s.retryTimer != 0) {
    loop_.cancelTimer(s.retryTimer);
    s.retryTimer = 0;
  }
  if (config_.ackExecutorAfterScheduler && s.fromExecutor.count(uuid) != 0) {
    acknowledgeToExecutor(frameworkId, acked);
  }
  if (!s.pending.empty()) {
    checkpointTask(*fw, taskId);
    s.retryInterval = config_.statusUpdateRetry;
    forwardFront(frameworkId, taskId);
    scheduleRetry(frameworkId, taskId);
    return;
  }
  if (isTerminalState(acked.state())) {
    fw->streams.erase(stream);
    dropTaskIfDone(*fw, taskId);
    return;
  }
  checkpointTask(*fw, taskId);
}

void Agent::dropTaskIfDone(Framework& fw, const std::string& taskId) {
  auto task = fw.tasks.find(taskId);
  if (task == fw.tasks.end()) return;
  Executor* exec = executor(fw.info.id().value(), task->second.executorId);
  if (exec != nullptr) std::erase(exec->taskIds, taskId);
  fw.tasks.erase(task);
  checkpointTask(fw, taskId);
}

void Agent::acknowledgeToExecutor(const std::string& frameworkId, const v1::TaskStatus& status) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  auto task = fw->tasks.find(status.task_id().value());
  std::string executorId = task != fw->tasks.end()
                               ? task->second.executorId
                               : (status.has_executor_id() ? status.executor_id().value() : "");
  Executor* exec = executor(frameworkId, executorId);
  if (exec == nullptr) return;
  ExecutorEvent event;
  event.set_type(ExecutorEvent::ACKNOWLEDGED);
  *event.mutable_acknowledged()->mutable_task_id() = status.task_id();
  event.mutable_acknowledged()->set_uuid(status.uuid());
  send(*exec, event);
}

std::optional<std::string> Agent::containerOfTask(const std::string& taskId) const {
  for (const auto& [frameworkId, fw] : frameworks_) {
    auto task = fw.tasks.find(taskId);
    if (task == fw.tasks.end()) continue;
    auto exec = fw.executors.find(task->second.executorId);
    if (exec == fw.executors.end()) return std::nullopt;
    return exec->second.containerId;
  }
  return std::nullopt;
}

void Agent::snapshot(StateSnapshot& state) const {
  for (const auto& [frameworkId, fw] : frameworks_) {
    for (const auto& [executorId, exec] : fw.executors) {
      StateSnapshot::Executor e;
      e.id = executorId;
      e.frameworkId = frameworkId;
      e.agentId = id();
      e.containerId = exec.containerId;
      switch (exec.state) {
        case ExecutorState::kRegistering:
          e.state = "REGISTERING";
          break;
        case ExecutorState::kRunning:
          e.state = "RUNNING";
          break;
        case ExecutorState::kTerminating:
          e.state = "TERMINATING";
          break;
        case ExecutorState::kTerminated:
          e.state = "TERMINATED";
          break;
      }
      if (exec.pid) e.pid = *exec.pid;
      e.sandbox = exec.sandbox;
      e.taskIds = exec.taskIds;
      state.executors.push_back(std::move(e));
    }
  }
}

// --- Restarts --------------------------------------------------------------------

std::string Agent::checkpointDir(const std::string& workDir, int processIndex) {
  return fmt::format("{}/meta/slave({})", workDir, processIndex);
}

ExecutorRuntime::ExitCallback Agent::exitHandler(const std::string& frameworkId,
                                                 const std::string& executorId,
                                                 const std::string& containerId) {
  return [this, frameworkId, executorId, containerId](int status) {
    Executor* e = executor(frameworkId, executorId);
    if (e == nullptr || e->containerId != containerId) return;  // an older container of that id
    executorExited(frameworkId, executorId, status);
  };
}

Status Agent::recover(const AgentCheckpoint::State& state, std::function<void()> recovered) {
  if (!checkpoint_) {
    recovered();
    return Status::okStatus();
  }
  if (state.agent && !google::protobuf::util::MessageDifferencer::Equals(*state.agent, info())) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "agent {} in {} was {}, not {} as now: start it with the same --port and "
                     "--agent, or remove {} to start a new agent",
                     id(), checkpoint_->dir(), toMesosJson(*state.agent), toMesosJson(info()),
                     checkpoint_->dir());
  }
  if (!state.agent) {
    Status written = checkpoint_->writeAgent(info());
    if (!written.ok()) return written;
  }
  recovering_ = true;
  recovered_ = std::move(recovered);
  std::map<std::string, checkpoint::Container> orphans = state.containers;
  for (const auto& [frameworkId, saved] : state.frameworks) {
    for (const auto& [executorId, executor] : saved.executors) {
      orphans.erase(executor.container_id());
    }
    recoverFramework(frameworkId, saved, state.containers);
  }
  destroyOrphans(orphans);
  int waiting = 0;
  for (const auto& [frameworkId, fw] : frameworks_) {
    for (const auto& [executorId, exec] : fw.executors) waiting += exec.recovered ? 1 : 0;
  }
  if (waiting == 0) {
    finishRecovery();
    return Status::okStatus();
  }
  log_->info("agent {} recovered {} executor(s); waiting {} for them to subscribe again", id(),
             waiting, formatStoutDuration(config_.reregistrationTimeout));
  reregistrationTimer_ =
      loop_.runAfter(config_.reregistrationTimeout, [this] { reregistrationTimedOut(); });
  return Status::okStatus();
}

void Agent::recoverFramework(const std::string& frameworkId,
                             const AgentCheckpoint::Framework& saved,
                             const std::map<std::string, checkpoint::Container>& containers) {
  Framework& fw = frameworks_[frameworkId];
  fw.info = saved.info;
  for (const auto& [taskId, savedTask] : saved.tasks) {
    Task& task = fw.tasks[taskId];
    task.info = savedTask.info();
    task.executorId = savedTask.executor_id();
    task.state = savedTask.state();
    task.delivered = true;  // the executor knows it, or says so when it subscribes
    UpdateStream& stream = fw.streams[taskId];
    stream.pending.assign(savedTask.pending().begin(), savedTask.pending().end());
    stream.receivedUuids.insert(savedTask.received_uuids().begin(),
                                savedTask.received_uuids().end());
    stream.fromExecutor.insert(savedTask.executor_uuids().begin(),
                               savedTask.executor_uuids().end());
    stream.terminated = savedTask.terminated();
  }
  for (const auto& [executorId, savedExecutor] : saved.executors) {
    Executor& exec = fw.executors[executorId];
    exec.id = executorId;
    exec.frameworkId = frameworkId;
    exec.containerId = savedExecutor.container_id();
    exec.sandbox = savedExecutor.sandbox();
    exec.info = savedExecutor.info();
    exec.state = ExecutorState::kRegistering;
    exec.recovered = true;
    attachSandbox(exec);
    for (const auto& [taskId, task] : fw.tasks) {
      if (task.executorId == executorId) exec.taskIds.push_back(taskId);
    }
    auto container = containers.find(exec.containerId);
    if (container != containers.end() && container->second.has_pid()) {
      exec.pid = container->second.pid();
    }
    if (container != containers.end() &&
        runtime_.recover(container->second,
                         exitHandler(frameworkId, executorId, exec.containerId))) {
      log_->info("agent {} recovered executor {} of framework {} (container {}, pid {})", id(),
                 executorId, frameworkId, exec.containerId,
                 exec.pid ? std::to_string(*exec.pid) : "none");
      continue;
    }
    // It ended while no agent was there: its tasks end as Mesos ends them.
    log_->warn("agent {}: executor {} of framework {} (container {}) is gone", id(), executorId,
               frameworkId, exec.containerId);
    executorExited(frameworkId, executorId, -1);
  }
  // A task whose executor was never checkpointed (the agent died launching it).
  for (auto& [taskId, task] : fw.tasks) {
    if (isTerminalState(task.state) || fw.executors.count(task.executorId) != 0) continue;
    Termination gone;
    statusUpdate(frameworkId,
                 agentStatus(frameworkId, task, "", gone.state, gone.reason, gone.message), false);
  }
}

void Agent::destroyOrphans(const std::map<std::string, checkpoint::Container>& containers) {
  for (const auto& [containerId, container] : containers) {
    // Not recoverable (its framework does not checkpoint): Mesos' containerizer
    // destroys such orphans when its agent starts.
    if (runtime_.recover(container, [](int) {})) {
      log_->info("agent {} destroys orphan container {} (executor {} of framework {})", id(),
                 containerId, container.executor_id(), container.framework_id());
      runtime_.destroy(containerId);
    }
    checkpoint_->removeContainer(containerId);
  }
}

void Agent::dropTasksUnknownToExecutor(Framework& fw, const Executor& exec,
                                       const ExecutorCall::Subscribe& subscribe) {
  std::set<std::string> known;
  for (const auto& task : subscribe.unacknowledged_tasks()) known.insert(task.task_id().value());
  const std::string frameworkId = exec.frameworkId;
  const std::string containerId = exec.containerId;
  std::vector<std::string> taskIds = exec.taskIds;
  for (const auto& taskId : taskIds) {
    auto task = fw.tasks.find(taskId);
    if (task == fw.tasks.end() || task->second.state != v1::TASK_STAGING ||
        known.count(taskId) != 0) {
      continue;
    }
    // Never delivered: the agent died before the executor got it.
    log_->info("agent {}: task {} of framework {} is unknown to executor {}; dropping it", id(),
               taskId, frameworkId, exec.id);
    statusUpdate(
        frameworkId,
        agentStatus(frameworkId, task->second, containerId,
                    partitionAware(fw.info) ? v1::TASK_DROPPED : v1::TASK_LOST,
                    v1::TaskStatus::REASON_AGENT_RESTARTED, "Task launched during agent restart"),
        false);
  }
}

void Agent::reregistrationTimedOut() {
  reregistrationTimer_ = 0;
  for (auto& [frameworkId, fw] : frameworks_) {
    for (auto& [executorId, exec] : fw.executors) {
      if (!exec.recovered || exec.state != ExecutorState::kRegistering) continue;
      log_->warn("agent {}: executor {} of framework {} did not subscribe again within {}", id(),
                 executorId, frameworkId, formatStoutDuration(config_.reregistrationTimeout));
      Termination termination;
      termination.state = partitionAware(fw.info) ? v1::TASK_GONE : v1::TASK_LOST;
      termination.reason = v1::TaskStatus::REASON_EXECUTOR_REREGISTRATION_TIMEOUT;
      termination.message = "Executor did not reregister within " +
                            formatStoutDuration(config_.reregistrationTimeout);
      destroy(exec, termination);
    }
  }
  finishRecovery();
}

void Agent::finishRecovery() {
  recovering_ = false;
  for (auto& [frameworkId, fw] : frameworks_) {
    for (auto& [executorId, exec] : fw.executors) exec.recovered = false;
  }
  log_->info("agent {} finished recovery", id());
  auto recovered = std::move(recovered_);
  recovered_ = nullptr;
  if (recovered) recovered();
}

void Agent::crash() {
  log_->warn("agent {} dies (its process is killed)", id());
  lost_ = true;
  if (reregistrationTimer_ != 0) loop_.cancelTimer(reregistrationTimer_);
  reregistrationTimer_ = 0;
  recovered_ = nullptr;
  for (auto& [frameworkId, fw] : frameworks_) {
    for (auto& [taskId, stream] : fw.streams) {
      if (stream.retryTimer != 0) loop_.cancelTimer(stream.retryTimer);
    }
    for (auto& [taskId, task] : fw.tasks) {
      if (task.killTimer != 0) loop_.cancelTimer(task.killTimer);
    }
    for (auto& [executorId, exec] : fw.executors) {
      for (TimerId timer : {exec.registrationTimer, exec.shutdownTimer, exec.heartbeatTimer}) {
        if (timer != 0) loop_.cancelTimer(timer);
      }
      if (exec.stream && !exec.stream->closed()) exec.stream->abort();
    }
  }
  frameworks_.clear();
}

void Agent::reconcileTasks(const v1::FrameworkInfo& frameworkInfo,
                           const std::vector<std::string>& taskIds) {
  if (lost_) return;
  const std::string frameworkId = frameworkInfo.id().value();
  Framework& fw = frameworks_[frameworkId];
  if (!fw.info.has_id()) fw.info = frameworkInfo;
  for (const auto& taskId : taskIds) {
    if (fw.tasks.count(taskId) != 0) continue;  // known: its own updates tell the master
    log_->warn("agent {} reconciling task {} of framework {}: task unknown to the agent", id(),
               taskId, frameworkId);
    v1::TaskStatus status;
    status.mutable_task_id()->set_value(taskId);
    status.set_state(partitionAware(frameworkInfo) ? v1::TASK_DROPPED : v1::TASK_LOST);
    status.set_message("Reconciliation: task unknown to the agent");
    status.set_source(v1::TaskStatus::SOURCE_AGENT);
    status.set_reason(v1::TaskStatus::REASON_RECONCILIATION);
    status.mutable_agent_id()->set_value(id());
    status.set_timestamp(loop_.wallSeconds());
    status.set_uuid(ids_.randomUuidBytes());
    statusUpdate(frameworkId, std::move(status), false);
  }
}

// --- Checkpoint ------------------------------------------------------------------------

bool Agent::checkpointing(const Framework& fw) const {
  return checkpoint_ != nullptr && fw.info.checkpoint();
}

void Agent::checkpointTask(const Framework& fw, const std::string& taskId) {
  if (!checkpointing(fw)) return;
  const std::string& frameworkId = fw.info.id().value();
  auto task = fw.tasks.find(taskId);
  if (task == fw.tasks.end()) {
    checkpoint_->removeTask(frameworkId, taskId);
    return;
  }
  checkpoint::Task saved;
  *saved.mutable_info() = task->second.info;
  saved.set_executor_id(task->second.executorId);
  saved.set_state(task->second.state);
  auto stream = fw.streams.find(taskId);
  if (stream != fw.streams.end()) {
    for (const auto& update : stream->second.pending) *saved.add_pending() = update;
    for (const auto& uuid : stream->second.receivedUuids) saved.add_received_uuids(uuid);
    for (const auto& uuid : stream->second.fromExecutor) saved.add_executor_uuids(uuid);
    saved.set_terminated(stream->second.terminated);
  }
  Status written = checkpoint_->writeTask(frameworkId, saved);
  if (!written.ok()) log_->error("agent {}: {}", id(), written.error().message);
}

void Agent::checkpointExecutor(const Framework& fw, const Executor& exec) {
  if (!checkpoint_) return;
  checkpoint::Container container;
  container.set_container_id(exec.containerId);
  container.set_framework_id(exec.frameworkId);
  container.set_executor_id(exec.id);
  if (exec.pid) {
    container.set_pid(*exec.pid);
    if (auto started = processStartTime(*exec.pid)) container.set_start_time(*started);
  }
  Status written = checkpoint_->writeContainer(container);
  if (written.ok() && checkpointing(fw)) {
    checkpoint::Executor saved;
    *saved.mutable_info() = exec.info;
    saved.set_container_id(exec.containerId);
    saved.set_sandbox(exec.sandbox);
    written = checkpoint_->writeExecutor(exec.frameworkId, saved);
  }
  if (!written.ok()) log_->error("agent {}: {}", id(), written.error().message);
}

}  // namespace tailor::fake_mesos
