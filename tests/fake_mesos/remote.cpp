#include "tests/fake_mesos/remote.hpp"

#include <fmt/format.h>

#include "common/logging.hpp"
#include "tests/fake_mesos/master.hpp"
#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;

constexpr Duration kMessageTimeout{5000};

http::ClientRequest postMessage(const std::string& address, const char* path,
                                const google::protobuf::Message& message) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = "http://" + address + path;
  request.headers = {{"Content-Type", "application/x-protobuf"}};
  request.body = message.SerializeAsString();
  request.timeout = kMessageTimeout;
  request.connectTimeout = Duration(2000);
  return request;
}

AgentRecovery recoveryOf(const protocol::AgentMessage::Register& message) {
  AgentRecovery recovery;
  recovery.frameworks.assign(message.frameworks().begin(), message.frameworks().end());
  for (const auto& task : message.tasks()) {
    recovery.tasks.push_back(AgentRecovery::Task{task.framework_id(), task.task(), task.state()});
  }
  return recovery;
}

void fillRegistration(const Agent& agent, protocol::AgentMessage::Register& message) {
  *message.mutable_info() = agent.info();
  message.set_process_index(agent.config().processIndex);
  AgentRecovery recovery = agent.recovery();
  for (const auto& framework : recovery.frameworks) *message.add_frameworks() = framework;
  for (const auto& task : recovery.tasks) {
    protocol::RecoveredTask* entry = message.add_tasks();
    entry->set_framework_id(task.frameworkId);
    *entry->mutable_task() = task.info;
    entry->set_state(task.state);
  }
}

std::string executorIdOf(const v1::TaskInfo& task) {
  return task.has_executor() ? task.executor().executor_id().value() : task.task_id().value();
}

}  // namespace

// --- RemoteAgent -------------------------------------------------------------------

RemoteAgent::RemoteAgent(AgentConfig config, std::string master, http::HttpClient& client)
    : config_(std::move(config)),
      master_(std::move(master)),
      client_(client),
      log_(logger("fake-master")) {}

void RemoteAgent::send(protocol::MasterMessage message) {
  message.set_agent_id(config_.id);
  message.set_master(master_);
  std::string address = fmt::format("{}:{}", config_.hostname, config_.port);
  std::string kind = message.GetDescriptor()->FindFieldByNumber(message.kind_case())->name();
  client_.send(postMessage(address, kMasterMessagePath, message),
               [log = log_, agentId = config_.id, address, kind](Result<http::ClientResponse> answer) {
                 if (!answer.ok()) {
                   log->warn("cannot reach agent {} at {} ({}): {}", agentId, address, kind,
                             answer.error().message);
                 } else if (answer->status != 202) {
                   log->warn("agent {} at {} refused {} with {}: {}", agentId, address, kind,
                             answer->status, answer->body);
                 }
               });
}

void RemoteAgent::runTask(const v1::FrameworkInfo& framework, const v1::TaskInfo& task) {
  executors_[framework.id().value()].insert(executorIdOf(task));
  protocol::MasterMessage message;
  *message.mutable_run_task()->mutable_framework() = framework;
  *message.mutable_run_task()->mutable_task() = task;
  send(std::move(message));
}

void RemoteAgent::killTask(const std::string& frameworkId, const std::string& taskId,
                           const std::optional<v1::KillPolicy>& killPolicy) {
  protocol::MasterMessage message;
  auto* kill = message.mutable_kill_task();
  kill->set_framework_id(frameworkId);
  kill->set_task_id(taskId);
  if (killPolicy) *kill->mutable_kill_policy() = *killPolicy;
  send(std::move(message));
}

void RemoteAgent::acknowledge(const std::string& frameworkId, const std::string& taskId,
                              const std::string& uuid) {
  protocol::MasterMessage message;
  auto* ack = message.mutable_acknowledge();
  ack->set_framework_id(frameworkId);
  ack->set_task_id(taskId);
  ack->set_uuid(uuid);
  send(std::move(message));
}

void RemoteAgent::shutdownFramework(const std::string& frameworkId) {
  executors_.erase(frameworkId);
  protocol::MasterMessage message;
  message.set_shutdown_framework(frameworkId);
  send(std::move(message));
}

void RemoteAgent::shutdownExecutor(const std::string& frameworkId, const std::string& executorId) {
  protocol::MasterMessage message;
  message.mutable_shutdown_executor()->set_framework_id(frameworkId);
  message.mutable_shutdown_executor()->set_executor_id(executorId);
  send(std::move(message));
}

void RemoteAgent::frameworkMessage(const std::string& frameworkId, const std::string& executorId,
                                   const std::string& data) {
  protocol::MasterMessage message;
  auto* forward = message.mutable_framework_message();
  forward->set_framework_id(frameworkId);
  forward->set_executor_id(executorId);
  forward->set_data(data);
  send(std::move(message));
}

void RemoteAgent::resendPendingUpdates(const std::string& frameworkId) {
  protocol::MasterMessage message;
  message.set_resend_updates(frameworkId);
  send(std::move(message));
}

void RemoteAgent::lose() {
  executors_.clear();
  protocol::MasterMessage message;
  message.set_lose(true);
  send(std::move(message));
}

void RemoteAgent::reconcileTasks(const v1::FrameworkInfo& framework,
                                 const std::vector<std::string>& taskIds) {
  protocol::MasterMessage message;
  auto* reconcile = message.mutable_reconcile_tasks();
  *reconcile->mutable_framework() = framework;
  for (const auto& taskId : taskIds) reconcile->add_task_ids(taskId);
  send(std::move(message));
}

std::vector<std::string> RemoteAgent::executorIds(const std::string& frameworkId) const {
  auto it = executors_.find(frameworkId);
  if (it == executors_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

void RemoteAgent::recovered(const AgentRecovery& recovery) {
  executors_.clear();
  for (const auto& task : recovery.tasks) {
    if (!isTerminalState(task.state)) executors_[task.frameworkId].insert(executorIdOf(task.info));
  }
}

void RemoteAgent::executorEnded(const std::string& frameworkId, const std::string& executorId) {
  auto it = executors_.find(frameworkId);
  if (it != executors_.end()) it->second.erase(executorId);
}

// --- RemoteAgents (master side) ------------------------------------------------------

RemoteAgents::RemoteAgents(EventLoop& loop, Master& master, std::string self,
                           http::HttpClient& client,
                           std::function<Status(const std::string&)> admit)
    : loop_(loop),
      master_(master),
      self_(std::move(self)),
      client_(client),
      admit_(std::move(admit)),
      log_(logger("fake-master")) {}

RemoteAgents::~RemoteAgents() { *alive_ = false; }

http::Response RemoteAgents::handle(const http::Request& request) {
  protocol::AgentMessage message;
  if (!message.ParseFromString(request.body)) {
    return textResponse(400, "not an AgentMessage of fake-mesos (protocol.proto)");
  }
  const std::string& agentId = message.agent_id();
  if (message.has_register_agent()) return registerAgent(agentId, message.register_agent());
  auto agent = agents_.find(agentId);
  if (agent == agents_.end() || !master_.knowsAgent(agentId)) {
    return textResponse(404, "Unknown agent " + agentId + ": register first");
  }
  switch (message.kind_case()) {
    case protocol::AgentMessage::kStatusUpdate: {
      const auto& update = message.status_update();
      master_.forwardStatusUpdate(agentId, update.framework_id(), update.status(),
                                  update.latest_state());
      break;
    }
    case protocol::AgentMessage::kExecutorExited: {
      const auto& exited = message.executor_exited();
      agent->second->executorEnded(exited.framework_id(), exited.executor_id());
      master_.executorExited(agentId, exited.framework_id(), exited.executor_id(),
                             exited.status());
      break;
    }
    case protocol::AgentMessage::kExecutorMessage: {
      const auto& forward = message.executor_message();
      master_.executorMessage(agentId, forward.framework_id(), forward.executor_id(),
                              forward.data());
      break;
    }
    case protocol::AgentMessage::kLink:
      return link(agentId);
    default:
      return textResponse(400, "an AgentMessage without a message");
  }
  return textResponse(202, "");
}

http::Response RemoteAgents::registerAgent(const std::string& agentId,
                                           const protocol::AgentMessage::Register& message) {
  const v1::AgentInfo& info = message.info();
  if (info.id().value() != agentId) {
    return textResponse(400, "info.id '" + info.id().value() + "' is not agent_id '" + agentId + "'");
  }
  if (info.hostname().empty() || info.port() < 1 || info.port() > 65535) {
    return textResponse(400, fmt::format("agent {}: no usable hostname and port ('{}', {})",
                                         agentId, info.hostname(), info.port()));
  }
  auto resources = ResourceSet::fromProto(info.resources());
  if (!resources.ok()) {
    return textResponse(400, "agent " + agentId + ": " + resources.error().message);
  }
  std::unique_ptr<RemoteAgent>& agent = agents_[agentId];
  if (!agent) {
    Status admitted = admit_(agentId);
    if (!admitted.ok()) {
      agents_.erase(agentId);
      log_->warn("cannot admit agent {}: {}", agentId, admitted.error().message);
      return textResponse(503, "cannot record agent " + agentId + " in the registry: " +
                                   admitted.error().message);
    }
    AgentConfig config;
    config.id = agentId;
    config.processIndex = message.process_index();
    config.hostname = info.hostname();
    config.port = static_cast<std::uint16_t>(info.port());
    config.resources = *resources;
    config.attributes.assign(info.attributes().begin(), info.attributes().end());
    agent = std::make_unique<RemoteAgent>(std::move(config), self_, client_);
  }
  // A registration comes on a new connection: the old one, if still open, no
  // longer says whether the agent lives (it links again).
  auto open = links_.find(agentId);
  if (open != links_.end()) {
    auto writer = open->second.writer;
    links_.erase(open);
    if (writer && !writer->closed()) writer->close();
  }
  AgentRecovery recovery = recoveryOf(message);
  agent->recovered(recovery);
  master_.reregisterAgent(*agent, recovery);
  return textResponse(200, "registered");
}

http::Response RemoteAgents::link(const std::string& agentId) {
  std::uint64_t generation = nextLink_++;
  http::Response response;
  response.status = 200;
  response.contentType = "application/x-protobuf";
  response.stream = [this, alive = alive_, agentId,
                     generation](std::shared_ptr<http::StreamWriter> writer) {
    if (!*alive) return;
    Link& open = links_[agentId];
    // The agent linked again (a new connection of the same process): the old one goes quietly.
    if (open.writer && !open.writer->closed()) open.writer->close();
    open = Link{generation, writer};
    writer->onClosed([this, alive, agentId, generation] {
      loop_.post([this, alive, agentId, generation] {
        if (*alive) linkClosed(agentId, generation);
      });
    });
  };
  return response;
}

void RemoteAgents::linkClosed(const std::string& agentId, std::uint64_t generation) {
  auto open = links_.find(agentId);
  if (open == links_.end() || open->second.generation != generation) return;
  links_.erase(open);
  log_->warn("the connection of agent {} closed", agentId);
  master_.agentDisconnected(agentId);
}

// --- RemoteMasterLink (agent side) ------------------------------------------------------

RemoteMasterLink::RemoteMasterLink(EventLoop& loop, http::HttpClient& client, Duration retry)
    : loop_(loop), client_(client), retry_(retry), log_(logger("fake-agent")) {}

RemoteMasterLink::~RemoteMasterLink() {
  *alive_ = false;
  for (const auto& [agentId, timer] : retries_) loop_.cancelTimer(timer);
  // All cancelled first: each then ends within about a second, together.
  for (const auto& [agentId, link] : links_) link.second->cancel();
  for (const auto& [generation, call] : closingLinks_) call->cancel();
}

void RemoteMasterLink::addAgent(Agent& agent) { agents_[agent.id()] = &agent; }

void RemoteMasterLink::agentRecovered(const std::string& agentId) {
  // One waiting (failover delay, retry) registers when its timer says.
  if (leader_ && registered_.count(agentId) == 0 && retries_.count(agentId) == 0) {
    registerAgent(agentId);
  }
}

void RemoteMasterLink::closeLinks() {
  for (auto& [agentId, link] : links_) {
    link.second->cancel();
    closingLinks_[link.first] = std::move(link.second);
  }
  links_.clear();
}

void RemoteMasterLink::openLink(const std::string& agentId) {
  auto open = links_.find(agentId);
  if (open != links_.end()) {
    open->second.second->cancel();
    closingLinks_[open->second.first] = std::move(open->second.second);
    links_.erase(open);
  }
  protocol::AgentMessage message;
  message.set_agent_id(agentId);
  message.mutable_link();
  http::ClientRequest request = postMessage(*leader_, kAgentMessagePath, message);
  request.timeout = Duration(0);  // open as long as both live
  std::uint64_t generation = nextLink_++;
  std::string leader = *leader_;
  http::StreamingCall::Handlers handlers;
  handlers.onHead = [](int, const std::map<std::string, std::string>&) {};
  handlers.onData = [](std::string) {};
  handlers.onEnd = [this, alive = alive_, agentId, generation, leader](Status) {
    if (!*alive) return;
    auto current = links_.find(agentId);
    if (current != links_.end() && current->second.first == generation) {
      // The master went away or dropped it; the detector names the next leader.
      log_->info("agent {}: the connection to the master {} closed", agentId, leader);
      links_.erase(current);
      return;
    }
    closingLinks_.erase(generation);
  };
  links_[agentId] = {generation,
                     std::make_unique<http::StreamingCall>(loop_, std::move(request), handlers)};
}

void RemoteMasterLink::leaderChanged(const std::optional<std::string>& leader) {
  if (leader == leader_) return;
  leader_ = leader;
  registered_.clear();
  closeLinks();
  for (const auto& [agentId, timer] : retries_) loop_.cancelTimer(timer);
  retries_.clear();
  if (!leader) {
    log_->warn("no leading master known: {} agent(s) wait for one", agents_.size());
    return;
  }
  bool failover = hadLeader_;
  hadLeader_ = true;
  if (failover && failoverDelay_.count() > 0) {
    log_->info("the leading master is {}: registering {} agent(s) with it in {}", *leader,
               agents_.size(), formatStoutDuration(failoverDelay_));
    for (const auto& [agentId, agent] : agents_) {
      retries_[agentId] =
          loop_.runAfter(failoverDelay_, [this, id = agentId] { registerAgent(id); });
    }
    return;
  }
  log_->info("the leading master is {}: registering {} agent(s) with it", *leader, agents_.size());
  for (const auto& [agentId, agent] : agents_) registerAgent(agentId);
}

void RemoteMasterLink::registerAgent(const std::string& agentId) {
  retries_.erase(agentId);
  Agent* agent = agents_.at(agentId);
  if (!leader_ || agent->lost() || agent->recovering()) return;
  protocol::AgentMessage message;
  message.set_agent_id(agentId);
  fillRegistration(*agent, *message.mutable_register_agent());
  std::vector<std::string> frameworks;
  for (const auto& framework : message.register_agent().frameworks()) {
    frameworks.push_back(framework.id().value());
  }
  std::string leader = *leader_;
  int tasks = message.register_agent().tasks_size();
  post(message, [this, agentId, leader, frameworks, tasks](int status) {
    if (leader_ != leader) return;  // a newer leader is being registered with
    if (status != 200) {
      log_->warn("agent {} could not register with the master {} ({}); again in {}", agentId,
                 leader, status == 0 ? "unreachable" : std::to_string(status),
                 formatStoutDuration(retry_));
      retryRegistration(agentId);
      return;
    }
    registered_.insert(agentId);
    log_->info("agent {} registered with the master {} ({} task(s))", agentId, leader, tasks);
    openLink(agentId);
    // As Mesos' agent resumes its status update streams after registering.
    for (const auto& frameworkId : frameworks) agents_.at(agentId)->resendPendingUpdates(frameworkId);
  });
}

void RemoteMasterLink::retryRegistration(const std::string& agentId) {
  if (retries_.count(agentId) != 0) return;
  retries_[agentId] = loop_.runAfter(retry_, [this, agentId] { registerAgent(agentId); });
}

void RemoteMasterLink::post(const protocol::AgentMessage& message,
                            std::function<void(int status)> done) {
  client_.send(postMessage(*leader_, kAgentMessagePath, message),
               [alive = alive_, done = std::move(done)](Result<http::ClientResponse> answer) {
                 if (*alive) done(answer.ok() ? answer->status : 0);
               });
}

void RemoteMasterLink::sendRegistered(protocol::AgentMessage message, const std::string& what) {
  const std::string agentId = message.agent_id();
  if (!leader_ || registered_.count(agentId) == 0) {
    log_->info("agent {} has no master to send {} to; dropped", agentId, what);
    return;
  }
  std::string leader = *leader_;
  post(message, [this, agentId, leader, what](int status) {
    if (status == 202 || leader_ != leader) return;
    log_->warn("agent {}: {} to the master {} failed ({})", agentId, what, leader,
               status == 0 ? "unreachable" : std::to_string(status));
    if (status == 404 && registered_.erase(agentId) != 0) registerAgent(agentId);
  });
}

void RemoteMasterLink::forwardStatusUpdate(const std::string& agentId,
                                           const std::string& frameworkId,
                                           const v1::TaskStatus& status,
                                           v1::TaskState latestState) {
  protocol::AgentMessage message;
  message.set_agent_id(agentId);
  auto* update = message.mutable_status_update();
  update->set_framework_id(frameworkId);
  *update->mutable_status() = status;
  update->set_latest_state(latestState);
  sendRegistered(std::move(message), fmt::format("{} of task {}", v1::TaskState_Name(status.state()),
                                                 status.task_id().value()));
}

void RemoteMasterLink::executorExited(const std::string& agentId, const std::string& frameworkId,
                                      const std::string& executorId, int status) {
  protocol::AgentMessage message;
  message.set_agent_id(agentId);
  auto* exited = message.mutable_executor_exited();
  exited->set_framework_id(frameworkId);
  exited->set_executor_id(executorId);
  exited->set_status(status);
  sendRegistered(std::move(message), "the exit of executor " + executorId);
}

void RemoteMasterLink::executorMessage(const std::string& agentId, const std::string& frameworkId,
                                       const std::string& executorId, const std::string& data) {
  protocol::AgentMessage message;
  message.set_agent_id(agentId);
  auto* forward = message.mutable_executor_message();
  forward->set_framework_id(frameworkId);
  forward->set_executor_id(executorId);
  forward->set_data(data);
  sendRegistered(std::move(message), "a message of executor " + executorId);
}

http::Response RemoteMasterLink::handle(const http::Request& request) {
  protocol::MasterMessage message;
  if (!message.ParseFromString(request.body)) {
    return textResponse(400, "not a MasterMessage of fake-mesos (protocol.proto)");
  }
  auto found = agents_.find(message.agent_id());
  if (found == agents_.end()) return textResponse(404, "no agent " + message.agent_id() + " here");
  if (!leader_ || message.master() != *leader_) {
    return textResponse(409, fmt::format("agent {} follows the master {}, not {}",
                                         message.agent_id(), leader_.value_or("(none)"),
                                         message.master()));
  }
  Agent& agent = *found->second;
  switch (message.kind_case()) {
    case protocol::MasterMessage::kRunTask:
      agent.runTask(message.run_task().framework(), message.run_task().task());
      break;
    case protocol::MasterMessage::kKillTask: {
      const auto& kill = message.kill_task();
      agent.killTask(kill.framework_id(), kill.task_id(),
                     kill.has_kill_policy() ? std::optional<v1::KillPolicy>(kill.kill_policy())
                                            : std::nullopt);
      break;
    }
    case protocol::MasterMessage::kAcknowledge: {
      const auto& ack = message.acknowledge();
      agent.acknowledge(ack.framework_id(), ack.task_id(), ack.uuid());
      break;
    }
    case protocol::MasterMessage::kShutdownFramework:
      agent.shutdownFramework(message.shutdown_framework());
      break;
    case protocol::MasterMessage::kShutdownExecutor:
      agent.shutdownExecutor(message.shutdown_executor().framework_id(),
                             message.shutdown_executor().executor_id());
      break;
    case protocol::MasterMessage::kFrameworkMessage: {
      const auto& forward = message.framework_message();
      agent.frameworkMessage(forward.framework_id(), forward.executor_id(), forward.data());
      break;
    }
    case protocol::MasterMessage::kResendUpdates:
      agent.resendPendingUpdates(message.resend_updates());
      break;
    case protocol::MasterMessage::kLose:
      agent.lose();
      break;
    case protocol::MasterMessage::kReconcileTasks: {
      const auto& reconcile = message.reconcile_tasks();
      agent.reconcileTasks(
          reconcile.framework(),
          std::vector<std::string>(reconcile.task_ids().begin(), reconcile.task_ids().end()));
      break;
    }
    default:
      return textResponse(400, "a MasterMessage without a message");
  }
  return textResponse(202, "");
}

}  // namespace tailor::fake_mesos
