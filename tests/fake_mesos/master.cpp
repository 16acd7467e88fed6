#include "tests/fake_mesos/master.hpp"

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cmath>

#include "common/logging.hpp"
#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;
using mesos::ContentType;
using mesos::SchedulerCall;
using mesos::SchedulerEvent;
using Capability = v1::FrameworkInfo::Capability;

constexpr double kDefaultRefuseSeconds = 5.0;
constexpr double kMaxRefuseSeconds = 365.0 * 24 * 3600;
constexpr std::size_t kMaxCompletedTasks = 10000;
// Mesos' --max_completed_frameworks default.
constexpr std::size_t kMaxCompletedFrameworks = 50;

// common::validation::validateID.
std::optional<std::string> validateId(const std::string& id) {
  if (id.empty()) return "ID must not be empty";
  if (id.size() > 255) return "ID must not be greater than 255 characters";
  if (id == "." || id == "..") return "'" + id + "' is disallowed";
  bool bad = std::any_of(id.begin(), id.end(), [](char c) {
    return std::iscntrl(static_cast<unsigned char>(c)) || c == '/' || c == '\\';
  });
  if (bad) return "'" + id + "' contains invalid characters";
  return std::nullopt;
}

// roles::validate.
std::optional<std::string> validateRole(const std::string& role) {
  if (role == "*") return std::nullopt;
  if (role.empty()) return "Empty role name is invalid";
  if (role.front() == '/') return "Role '" + role + "' cannot start with a slash";
  if (role.back() == '/') return "Role '" + role + "' cannot end with a slash";
  if (role.find("//") != std::string::npos) {
    return "Role '" + role + "' cannot contain two adjacent slashes";
  }
  std::size_t start = 0;
  while (start <= role.size()) {
    std::size_t end = role.find('/', start);
    std::string component = role.substr(start, end == std::string::npos ? end : end - start);
    if (component == "." || component == ".." || component == "*") {
      return "Role '" + role + "' cannot include '" + component + "' as a path segment";
    }
    if (!component.empty() && component.front() == '-') {
      return "Role component '" + component + "' is invalid because it starts with a dash";
    }
    if (component.find_first_of("\t\n\v\f\r \b\x7f") != std::string::npos) {
      return "Role component '" + component +
             "' is invalid because it contains backspace or whitespace";
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

// validation::scheduler::call::validate.
std::optional<std::string> validateCall(const SchedulerCall& call) {
  if (!call.has_type()) return "Expecting 'type' to be present";
  if (call.type() == SchedulerCall::SUBSCRIBE) {
    if (!call.has_subscribe()) return "Expecting 'subscribe' to be present";
    const auto& info = call.subscribe().framework_info();
    bool same = info.has_id() == call.has_framework_id() &&
                (!info.has_id() || info.id().value() == call.framework_id().value());
    if (!same) return "'framework_id' differs from 'subscribe.framework_info.id'";
    return std::nullopt;
  }
  if (!call.has_framework_id()) return "Expecting 'framework_id' to be present";
  auto need = [](bool present, const char* field) -> std::optional<std::string> {
    if (present) return std::nullopt;
    return fmt::format("Expecting '{}' to be present", field);
  };
  switch (call.type()) {
    case SchedulerCall::ACCEPT:
      return need(call.has_accept(), "accept");
    case SchedulerCall::DECLINE:
      return need(call.has_decline(), "decline");
    case SchedulerCall::ACCEPT_INVERSE_OFFERS:
      return need(call.has_accept_inverse_offers(), "accept_inverse_offers");
    case SchedulerCall::DECLINE_INVERSE_OFFERS:
      return need(call.has_decline_inverse_offers(), "decline_inverse_offers");
    case SchedulerCall::KILL:
      return need(call.has_kill(), "kill");
    case SchedulerCall::SHUTDOWN:
      return need(call.has_shutdown(), "shutdown");
    case SchedulerCall::ACKNOWLEDGE:
      if (!call.has_acknowledge()) return "Expecting 'acknowledge' to be present";
      if (!isValidUuidBytes(call.acknowledge().uuid())) return "Not a valid UUID";
      return std::nullopt;
    case SchedulerCall::ACKNOWLEDGE_OPERATION_STATUS:
      if (!call.has_acknowledge_operation_status()) {
        return "Expecting 'acknowledge_operation_status' to be present";
      }
      if (!isValidUuidBytes(call.acknowledge_operation_status().uuid())) return "Not a valid UUID";
      return std::nullopt;
    case SchedulerCall::RECONCILE:
      return need(call.has_reconcile(), "reconcile");
    case SchedulerCall::RECONCILE_OPERATIONS:
      return need(call.has_reconcile_operations(), "reconcile_operations");
    case SchedulerCall::MESSAGE:
      return need(call.has_message(), "message");
    case SchedulerCall::REQUEST:
      return need(call.has_request(), "request");
    case SchedulerCall::UPDATE_FRAMEWORK:
      if (!call.has_update_framework()) return "Expecting 'update_framework' to be present";
      if (call.update_framework().framework_info().id().value() != call.framework_id().value()) {
        return "'framework_id' differs from 'update_framework.framework_info.id'";
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

// How long unused resources stay refused (Filters.refuse_seconds, §5.1).
std::optional<Duration> refuseDuration(bool hasFilters, const v1::Filters& filters) {
  double seconds = hasFilters ? filters.refuse_seconds() : kDefaultRefuseSeconds;
  if (!std::isfinite(seconds) || seconds < 0) seconds = kDefaultRefuseSeconds;
  seconds = std::min(seconds, kMaxRefuseSeconds);
  if (seconds == 0) return std::nullopt;
  return Duration(static_cast<Duration::rep>(std::llround(seconds * 1000)));
}

void injectAllocationRole(google::protobuf::RepeatedPtrField<v1::Resource>* resources,
                          const std::string& role) {
  for (auto& resource : *resources) {
    if (!resource.has_allocation_info()) resource.mutable_allocation_info()->set_role(role);
  }
}

std::string scriptedFailureText(int status) {
  switch (status) {
    case 503:
      return "Master has not finished recovery";
    case 500:
      return "Failed to resolve the leading master";
    default:
      return "Scripted failure";
  }
}

}  // namespace

Master::Master(EventLoop& loop, MasterConfig config, IdGenerator& ids, Allocator& allocator,
               FaultPlan& faults)
    : loop_(loop),
      config_(std::move(config)),
      ids_(ids),
      allocator_(allocator),
      faults_(faults),
      log_(logger("fake-master")) {}

Master::~Master() = default;

void Master::addAgent(AgentLink& agent) {
  agents_[agent.id()] = &agent;
  agentOrder_.push_back(agent.id());
  allocator_.addAgent(agent.id(), agent.config().resources);
}

AgentLink* Master::agent(const std::string& agentId) const {
  auto it = agents_.find(agentId);
  if (it == agents_.end() || unreachable_.count(agentId) != 0 ||
      disconnected_.count(agentId) != 0) {
    return nullptr;
  }
  return it->second;
}

bool Master::recovering(const std::string& agentId) const {
  return recovering_.count(agentId) != 0;
}

// --- Agents registering again (master failover) ---------------------------------

void Master::expectAgents(const std::vector<std::string>& agentIds, Duration timeout) {
  for (const auto& agentId : agentIds) {
    if (!knowsAgent(agentId)) recovering_.insert(agentId);
  }
  log_->info("expecting {} agent(s) of the registry to register again", recovering_.size());
  if (recovering_.empty()) return;
  recoveryTimer_ = loop_.runAfter(timeout, [this, timeout] {
    recoveryTimer_ = 0;
    for (const auto& agentId : recovering_) {
      log_->warn("agent {} did not register again within {}: unreachable", agentId,
                 formatStoutDuration(timeout));
      unreachable_[agentId] = loop_.wallSeconds();
    }
    recovering_.clear();
  });
}

void Master::reregisterAgent(AgentLink& agent, const AgentRecovery& recovery) {
  const std::string agentId = agent.id();
  if (knowsAgent(agentId)) {
    reconnectAgent(agent, recovery);
    return;
  }
  // Mesos' master tells connected frameworks of each task an agent it was
  // not waiting for brings (Master::__reregisterSlave); of a recovered one,
  // nothing.
  std::string announce;
  if (!recovering(agentId)) {
    announce = unreachable_.count(agentId) != 0 ? "Unreachable agent re-reregistered"
                                                : "Unknown agent reregistered";
  }
  addAgent(agent);
  recovering_.erase(agentId);
  unreachable_.erase(agentId);
  for (const auto& info : recovery.frameworks) recoveredFramework(info);
  for (const auto& task : recovery.tasks) recoverTask(agentId, task, announce);
  log_->info("agent {} at {}:{} registered with {} task(s) of {} framework(s)", agentId,
             agent.config().hostname, agent.config().port, recovery.tasks.size(),
             recovery.frameworks.size());
  loop_.post([this] { allocate(); });
}

// --- Agents disconnecting and registering again (agent restarts) --------------------

void Master::agentDisconnected(const std::string& agentId) {
  auto it = agents_.find(agentId);
  if (it == agents_.end() || disconnected_.count(agentId) != 0 ||
      unreachable_.count(agentId) != 0) {
    return;
  }
  log_->warn("agent {} disconnected", agentId);
  std::vector<std::string> offers;
  for (const auto& [offerId, offer] : offers_) {
    if (offer.agentId == agentId) offers.push_back(offerId);
  }
  for (const auto& offerId : offers) removeOffer(offerId, true);
  // Tasks of frameworks that do not checkpoint cannot be recovered by the agent.
  const std::string message = "Agent " + it->second->config().hostname + " disconnected";
  for (auto& [frameworkId, fw] : frameworks_) {
    bool there = std::any_of(fw.tasks.begin(), fw.tasks.end(),
                             [&](const auto& task) { return task.second.agentId == agentId; }) ||
                 std::any_of(fw.executors.begin(), fw.executors.end(),
                             [&](const auto& record) { return record.first.first == agentId; });
    if (fw.info.checkpoint() || !there) continue;
    log_->info("removing framework {} from disconnected agent {}: it does not checkpoint",
               frameworkId, agentId);
    removeFrameworkFromAgent(fw, agentId, v1::TaskStatus::REASON_AGENT_DISCONNECTED, message);
  }
  Duration timeout = config_.agentReregisterTimeout;
  disconnected_[agentId] = loop_.runAfter(timeout, [this, agentId, timeout] {
    auto waiting = disconnected_.find(agentId);
    if (waiting == disconnected_.end()) return;
    waiting->second = 0;
    log_->warn("agent {} did not register again within {}: unreachable", agentId,
               formatStoutDuration(timeout));
    markUnreachable(agentId, "agent did not reregister within " + formatStoutDuration(timeout) +
                                 " after disconnecting");
  });
}

void Master::removeFrameworkFromAgent(Framework& fw, const std::string& agentId,
                                      v1::TaskStatus::Reason reason, const std::string& message) {
  std::vector<std::string> taskIds;
  for (const auto& [taskId, task] : fw.tasks) {
    if (task.agentId == agentId) taskIds.push_back(taskId);
  }
  for (const auto& taskId : taskIds) {
    Task& task = fw.tasks[taskId];
    sendMasterUpdate(fw, taskId, agentId, v1::TASK_LOST, reason, message, task.executorId);
    task.state = v1::TASK_LOST;
    completeTask(fw, taskId);
  }
  for (auto record = fw.executors.begin(); record != fw.executors.end();) {
    if (record->first.first == agentId) {
      allocator_.recover(fw.id, agentId, record->second.role, record->second.resources,
                         std::nullopt, loop_.now());
      record = fw.executors.erase(record);
    } else {
      ++record;
    }
  }
}

void Master::reconnectAgent(AgentLink& link, const AgentRecovery& recovery) {
  const std::string agentId = link.id();
  agents_[agentId] = &link;
  auto waiting = disconnected_.find(agentId);
  if (waiting != disconnected_.end()) {
    if (waiting->second != 0) loop_.cancelTimer(waiting->second);
    disconnected_.erase(waiting);
  }
  bool wasUnreachable = unreachable_.erase(agentId) != 0;
  if (wasUnreachable) allocator_.addAgent(agentId, link.config().resources);

  std::set<std::pair<std::string, std::string>> reportedTasks;      // (framework, task)
  std::set<std::pair<std::string, std::string>> reportedExecutors;  // (framework, executor)
  for (const auto& task : recovery.tasks) {
    reportedTasks.insert({task.frameworkId, task.info.task_id().value()});
    if (!isTerminalState(task.state) && task.info.has_executor()) {
      reportedExecutors.insert({task.frameworkId, task.info.executor().executor_id().value()});
    }
  }
  for (auto& [frameworkId, fw] : frameworks_) {
    std::vector<std::string> unknown;
    for (const auto& [taskId, task] : fw.tasks) {
      if (task.agentId == agentId && reportedTasks.count({frameworkId, taskId}) == 0) {
        unknown.push_back(taskId);
      }
    }
    if (!unknown.empty()) {
      log_->warn("{} task(s) of framework {} unknown to agent {}: reconciling with the agent",
                 unknown.size(), frameworkId, agentId);
      link.reconcileTasks(fw.info, unknown);
    }
    for (auto record = fw.executors.begin(); record != fw.executors.end();) {
      if (record->first.first != agentId ||
          reportedExecutors.count({frameworkId, record->first.second}) != 0) {
        ++record;
        continue;
      }
      log_->warn("executor {} of framework {} possibly unknown to agent {}", record->first.second,
                 frameworkId, agentId);
      allocator_.recover(frameworkId, agentId, record->second.role, record->second.resources,
                         std::nullopt, loop_.now());
      record = fw.executors.erase(record);
    }
  }
  auto killed = killedTasks_.find(agentId);
  if (killed != killedTasks_.end()) {
    for (const auto& task : recovery.tasks) {
      if (!isTerminalState(task.state) &&
          killed->second.count({task.frameworkId, task.info.task_id().value()}) != 0) {
        log_->warn("agent {} still runs task {} that was to be killed: killing it now", agentId,
                   task.info.task_id().value());
        link.killTask(task.frameworkId, task.info.task_id().value(), std::nullopt);
      }
    }
    killedTasks_.erase(killed);
  }
  int frameworks = 0;
  for (const auto& info : recovery.frameworks) {
    if (removedFrameworkIds_.count(info.id().value()) != 0) {
      link.shutdownFramework(info.id().value());
      continue;
    }
    recoveredFramework(info);
    ++frameworks;
  }
  for (const auto& task : recovery.tasks) {
    if (removedFrameworkIds_.count(task.frameworkId) == 0) {
      recoverTask(agentId, task, wasUnreachable ? "Unreachable agent re-reregistered" : "");
    }
  }
  log_->info("agent {} at {}:{} registered again with {} task(s) of {} framework(s)", agentId,
             link.config().hostname, link.config().port, recovery.tasks.size(), frameworks);
  loop_.post([this] { allocate(); });
}

Master::Framework& Master::recoveredFramework(const v1::FrameworkInfo& info) {
  const std::string frameworkId = info.id().value();
  auto known = frameworks_.find(frameworkId);
  if (known != frameworks_.end()) return known->second;
  Framework& fw = frameworks_[frameworkId];
  fw.id = frameworkId;
  fw.info = info;
  fw.recovered = true;
  fw.registeredTime = fw.reregisteredTime = loop_.wallSeconds();
  allocator_.addFramework(frameworkId, rolesOf(info),
                          hasCapability(info, Capability::GPU_RESOURCES));
  allocator_.setActive(frameworkId, false);
  log_->info("framework {} ('{}') recovered from its agents; waiting for it to subscribe",
             frameworkId, info.name());
  return fw;
}

void Master::recoverTask(const std::string& agentId, const AgentRecovery::Task& recovered,
                         const std::string& announce) {
  Framework* fw = framework(recovered.frameworkId);
  const std::string taskId = recovered.info.task_id().value();
  if (fw == nullptr || fw->tasks.count(taskId) != 0) return;
  if (!announce.empty()) {
    sendMasterUpdate(*fw, taskId, agentId, recovered.state,
                     v1::TaskStatus::REASON_AGENT_REREGISTERED, announce,
                     recovered.info.has_executor()
                         ? recovered.info.executor().executor_id().value()
                         : "");
  }
  const v1::TaskInfo& info = recovered.info;
  auto resources = ResourceSet::fromProto(info.resources());
  if (!resources.ok()) {
    log_->warn("agent {}: task {} has resources the fake cannot read: {}", agentId, taskId,
               resources.error().message);
    return;
  }
  std::vector<std::string> roles = rolesOf(fw->info);
  std::string role = info.resources_size() > 0 && info.resources(0).has_allocation_info()
                         ? info.resources(0).allocation_info().role()
                         : (roles.empty() ? "*" : roles.front());
  Task& task = fw->tasks[taskId];
  task.info = info;
  task.agentId = agentId;
  task.executorId = info.has_executor() ? info.executor().executor_id().value() : "";
  task.role = role;
  task.resources = *resources;
  task.state = recovered.state;
  if (isTerminalState(recovered.state)) {
    task.resourcesRecovered = true;  // only its update is still to be acknowledged
    return;
  }
  allocator_.allocate(fw->id, agentId, task.resources);
  if (!info.has_executor() || fw->executors.count({agentId, task.executorId}) != 0) return;
  auto executorResources = ResourceSet::fromProto(info.executor().resources());
  ResourceSet held = executorResources.ok() ? *executorResources : ResourceSet();
  fw->executors[{agentId, task.executorId}] = ExecutorRecord{info.executor(), held, role};
  allocator_.allocate(fw->id, agentId, held);
}

Master::Framework* Master::framework(const std::string& frameworkId) {
  auto it = frameworks_.find(frameworkId);
  return it == frameworks_.end() ? nullptr : &it->second;
}

bool Master::hasCapability(const v1::FrameworkInfo& info, Capability::Type type) const {
  return std::any_of(info.capabilities().begin(), info.capabilities().end(),
                     [&](const auto& capability) { return capability.type() == type; });
}

std::vector<std::string> Master::rolesOf(const v1::FrameworkInfo& info) const {
  if (hasCapability(info, Capability::MULTI_ROLE)) {
    return std::vector<std::string>(info.roles().begin(), info.roles().end());
  }
  return {legacyRole(info)};
}

v1::MasterInfo Master::info() const {
  v1::MasterInfo info;
  info.set_id(ids_.masterId());
  info.set_ip(16777343);  // 127.0.0.1, packed in network byte order
  info.set_port(config_.port);
  info.set_pid(fmt::format("master@{}:{}", config_.hostname, config_.port));
  info.set_hostname(config_.hostname);
  info.set_version(config_.version);
  info.mutable_address()->set_hostname(config_.hostname);
  info.mutable_address()->set_ip("127.0.0.1");
  info.mutable_address()->set_port(config_.port);
  for (auto type :
       {v1::MasterInfo::Capability::AGENT_UPDATE, v1::MasterInfo::Capability::AGENT_DRAINING,
        v1::MasterInfo::Capability::QUOTA_V2}) {
    info.add_capabilities()->set_type(type);
  }
  return info;
}

// --- HTTP ----------------------------------------------------------------------

void Master::handleScheduler(const http::Request& request, http::Responder respond) {
  if (request.path != "/api/v1/scheduler" && request.path != "/master/api/v1/scheduler") {
    respond(textResponse(404, ""));
    return;
  }
  auto decoded = decodeSchedulerRequest(request);
  if (auto* response = std::get_if<http::Response>(&decoded)) {
    respond(std::move(*response));
    return;
  }
  const SchedulerCall& call = std::get<DecodedCall<SchedulerCall>>(decoded).call;
  if (auto error = validateCall(call)) {
    respond(textResponse(400, "Failed to validate scheduler::Call: " + *error));
    return;
  }

  if (call.type() == SchedulerCall::SUBSCRIBE) {
    // Scripted failures come before scripted redirects, so that scripting
    // both plays "503, then 307 to the leader" as a recovering master would.
    if (auto status = faults_.takeSubscribeFailure()) {
      log_->info("scripted failure of SUBSCRIBE with {}", *status);
      respond(textResponse(*status, scriptedFailureText(*status)));
      return;
    }
    if (auto to = faults_.takeRedirect()) {
      log_->info("scripted redirect of SUBSCRIBE to {}", *to);
      auto response = textResponse(307, "");
      response.headers.emplace_back("Location", "//" + *to + "/master/api/v1/scheduler");
      respond(std::move(response));
      return;
    }
    auto encoding = negotiateStreamEncoding(request.header("accept"));
    if (!encoding) {
      respond(notAcceptable());
      return;
    }
    if (request.headers.count("mesos-stream-id") != 0) {
      respond(textResponse(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header"));
      return;
    }
    std::string streamId = ids_.randomUuidText();
    http::Response response;
    response.status = 200;
    response.contentType = std::string(mesos::contentTypeHeader(*encoding));
    response.headers.emplace_back("Mesos-Stream-Id", streamId);
    ContentType type = *encoding;
    response.stream = [this, type, streamId, subscribeCall = call.subscribe()](
                          std::shared_ptr<http::StreamWriter> writer) {
      subscribe(std::move(writer), type, streamId, subscribeCall);
    };
    respond(std::move(response));
    return;
  }

  Framework* fw = framework(call.framework_id().value());
  if (fw == nullptr) {
    respond(textResponse(400, "Framework cannot be found"));
    return;
  }
  if (!fw->connected) {
    respond(textResponse(403, "Framework is not subscribed"));
    return;
  }
  auto streamHeader = request.headers.find("mesos-stream-id");
  if (streamHeader == request.headers.end()) {
    respond(
        textResponse(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"));
    return;
  }
  if (streamHeader->second != fw->streamId) {
    respond(textResponse(400, "The stream ID '" + streamHeader->second +
                                  "' included in this request didn't match the stream ID "
                                  "currently associated with framework ID " +
                                  fw->id));
    return;
  }
  respond(dispatch(*fw, call));
}

http::Response Master::dispatch(Framework& fw, const SchedulerCall& call) {
  log_->debug("framework {} call {}", fw.id, SchedulerCall::Type_Name(call.type()));
  switch (call.type()) {
    case SchedulerCall::TEARDOWN:
      removeFramework(fw.id, "TEARDOWN");
      break;
    case SchedulerCall::ACCEPT:
      accept(fw, call.accept());
      break;
    case SchedulerCall::DECLINE:
      decline(fw, call.decline());
      break;
    case SchedulerCall::REVIVE: {
      std::vector<std::string> roles(call.revive().roles().begin(), call.revive().roles().end());
      allocator_.revive(fw.id, roles);
      log_->info("framework {} revived offers", fw.id);
      break;
    }
    case SchedulerCall::SUPPRESS: {
      std::vector<std::string> roles(call.suppress().roles().begin(),
                                     call.suppress().roles().end());
      allocator_.suppress(fw.id, roles);
      log_->info("framework {} suppressed offers", fw.id);
      break;
    }
    case SchedulerCall::KILL:
      kill(fw, call.kill());
      break;
    case SchedulerCall::SHUTDOWN: {
      if (AgentLink* a = agent(call.shutdown().agent_id().value())) {
        a->shutdownExecutor(fw.id, call.shutdown().executor_id().value());
      }
      break;
    }
    case SchedulerCall::ACKNOWLEDGE:
      acknowledge(fw, call.acknowledge());
      break;
    case SchedulerCall::RECONCILE:
      reconcile(fw, call.reconcile());
      break;
    case SchedulerCall::MESSAGE: {
      if (AgentLink* a = agent(call.message().agent_id().value())) {
        a->frameworkMessage(fw.id, call.message().executor_id().value(), call.message().data());
      }
      break;
    }
    case SchedulerCall::UPDATE_FRAMEWORK:
      updateFrameworkInfo(fw, call.update_framework().framework_info(),
                          call.update_framework().suppressed_roles(), true);
      return textResponse(200, "");
    case SchedulerCall::UNKNOWN:
      return textResponse(501, "");
    default:
      // REQUEST, inverse offers and operation feedback: accepted and ignored.
      log_->info("framework {}: {} is accepted and ignored by the fake", fw.id,
                 SchedulerCall::Type_Name(call.type()));
      break;
  }
  return textResponse(202, "");
}

// --- Subscriptions ---------------------------------------------------------------

void Master::subscribe(std::shared_ptr<http::StreamWriter> writer, ContentType encoding,
                       const std::string& streamId, const SchedulerCall::Subscribe& request) {
  v1::FrameworkInfo info = request.framework_info();
  auto refuse = [&](const std::string& message) {
    log_->info("refusing subscription of framework '{}': {}", info.name(), message);
    SchedulerEvent error;
    error.set_type(SchedulerEvent::ERROR);
    error.mutable_error()->set_message(message);
    writer->write(encodeEventRecord(error, encoding));
    writer->close();
  };

  bool multiRole = hasCapability(info, Capability::MULTI_ROLE);
  if (multiRole && hasLegacyRole(info)) {
    return refuse("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable");
  }
  if (!multiRole && info.roles_size() > 0) {
    return refuse(
        "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
  }
  std::set<std::string> seen;
  for (const auto& role : rolesOf(info)) {
    if (!seen.insert(role).second) {
      return refuse("'FrameworkInfo.roles' contains duplicate items: " + role);
    }
    if (auto error = validateRole(role)) {
      return refuse(multiRole ? "'FrameworkInfo.roles' contains invalid role: " + *error
                              : "'FrameworkInfo.role' is not a valid role: " + *error);
    }
  }
  if (info.has_id()) {
    if (auto error = validateId(info.id().value())) return refuse(*error);
  }
  if (!std::isfinite(info.failover_timeout()) || std::abs(info.failover_timeout()) > 9.2e9) {
    return refuse(
        fmt::format("The framework failover_timeout ({}) is invalid", info.failover_timeout()));
  }
  for (const auto& role : request.suppressed_roles()) {
    if (seen.count(role) == 0) {
      return refuse("Suppressed role '" + role + "' is not contained in the list of roles");
    }
  }
  if (info.has_id() && removedFrameworkIds_.count(info.id().value()) != 0) {
    return refuse("Framework has been removed");
  }

  bool failover = false;
  std::string frameworkId;
  if (info.has_id()) {
    frameworkId = info.id().value();
    failover = frameworks_.count(frameworkId) != 0;
  } else {
    frameworkId = ids_.nextFrameworkId();
    info.mutable_id()->set_value(frameworkId);
  }
  Framework& fw = frameworks_[frameworkId];
  if (failover) {
    if (fw.connected && fw.stream) {
      SchedulerEvent error;
      error.set_type(SchedulerEvent::ERROR);
      error.mutable_error()->set_message("Framework failed over");
      send(fw, error);
      fw.stream->close();
    }
    if (fw.heartbeatTimer != 0) loop_.cancelTimer(fw.heartbeatTimer);
    if (fw.failoverTimer != 0) loop_.cancelTimer(fw.failoverTimer);
    fw.heartbeatTimer = fw.failoverTimer = 0;
    // Offers of the old connection are void; no RESCIND is sent for them.
    std::vector<std::string> stale;
    for (const auto& [offerId, offer] : offers_) {
      if (offer.frameworkId == frameworkId) stale.push_back(offerId);
    }
    for (const auto& offerId : stale) removeOffer(offerId, false);
    updateFrameworkInfo(fw, info, request.suppressed_roles(), true);
    fw.reregisteredTime = loop_.wallSeconds();
    log_->info("framework {} ('{}') {} on stream {}", frameworkId, info.name(),
               fw.recovered ? "subscribed again after the master failover" : "failed over",
               streamId);
    fw.recovered = false;
  } else {
    fw.id = frameworkId;
    fw.info = info;
    fw.registeredTime = fw.reregisteredTime = loop_.wallSeconds();
    allocator_.addFramework(frameworkId, rolesOf(info),
                            hasCapability(info, Capability::GPU_RESOURCES));
    std::vector<std::string> suppressed(request.suppressed_roles().begin(),
                                        request.suppressed_roles().end());
    allocator_.setSuppressed(frameworkId, suppressed);
    log_->info("framework {} ('{}') subscribed on stream {}", frameworkId, info.name(), streamId);
  }

  fw.connected = true;
  fw.stream = writer;
  fw.encoding = encoding;
  fw.streamId = streamId;
  fw.connection = nextConnection_++;
  allocator_.setActive(frameworkId, true);
  std::uint64_t connection = fw.connection;
  writer->onClosed([this, frameworkId, connection] {
    loop_.post([this, frameworkId, connection] { disconnected(frameworkId, connection); });
  });

  SchedulerEvent subscribed;
  subscribed.set_type(SchedulerEvent::SUBSCRIBED);
  subscribed.mutable_subscribed()->mutable_framework_id()->set_value(frameworkId);
  subscribed.mutable_subscribed()->set_heartbeat_interval_seconds(
      std::chrono::duration<double>(config_.heartbeatInterval).count());
  *subscribed.mutable_subscribed()->mutable_master_info() = Master::info();
  send(fw, subscribed);
  SchedulerEvent heartbeat;
  heartbeat.set_type(SchedulerEvent::HEARTBEAT);
  send(fw, heartbeat);
  armHeartbeat(frameworkId);

  if (failover) {
    for (const auto& agentId : agentOrder_) {
      if (AgentLink* a = agent(agentId)) a->resendPendingUpdates(frameworkId);
    }
  }
  loop_.post([this] { allocate(); });
}

void Master::updateFrameworkInfo(Framework& fw, const v1::FrameworkInfo& info,
                                 const google::protobuf::RepeatedPtrField<std::string>& suppressed,
                                 bool replaceSuppressed) {
  // `user` and `checkpoint` cannot change (Mesos keeps the old values silently).
  std::string user = fw.info.user();
  bool checkpoint = fw.info.checkpoint();
  bool hadInfo = fw.info.has_user();
  fw.info = info;
  if (hadInfo) {
    fw.info.set_user(user);
    fw.info.set_checkpoint(checkpoint);
  }
  fw.info.mutable_id()->set_value(fw.id);
  allocator_.updateFramework(fw.id, rolesOf(fw.info),
                             hasCapability(fw.info, Capability::GPU_RESOURCES));
  if (replaceSuppressed) {
    allocator_.setSuppressed(fw.id, std::vector<std::string>(suppressed.begin(), suppressed.end()));
  }
}

void Master::armHeartbeat(const std::string& frameworkId) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  fw->heartbeatTimer = loop_.runAfter(config_.heartbeatInterval, [this, frameworkId] {
    Framework* f = framework(frameworkId);
    if (f == nullptr) return;
    f->heartbeatTimer = 0;
    if (!f->connected) return;
    SchedulerEvent heartbeat;
    heartbeat.set_type(SchedulerEvent::HEARTBEAT);
    send(*f, heartbeat);
    armHeartbeat(frameworkId);
  });
}

void Master::disconnected(const std::string& frameworkId, std::uint64_t connection) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr || !fw->connected || fw->connection != connection) return;
  fw->connected = false;
  fw->stream.reset();
  if (fw->heartbeatTimer != 0) loop_.cancelTimer(fw->heartbeatTimer);
  fw->heartbeatTimer = 0;
  allocator_.setActive(frameworkId, false);
  std::vector<std::string> offers;
  for (const auto& [offerId, offer] : offers_) {
    if (offer.frameworkId == frameworkId) offers.push_back(offerId);
  }
  for (const auto& offerId : offers) removeOffer(offerId, false);
  double seconds = fw->info.failover_timeout();
  auto timeout = Duration(static_cast<Duration::rep>(std::llround(std::max(0.0, seconds) * 1000)));
  log_->info("framework {} disconnected; failover timeout {}", frameworkId,
             formatStoutDuration(timeout));
  fw->failoverTimer = loop_.runAfter(timeout, [this, frameworkId] {
    Framework* f = framework(frameworkId);
    if (f == nullptr || f->connected) return;
    f->failoverTimer = 0;
    removeFramework(frameworkId, "failover timeout");
  });
}

void Master::removeFramework(std::string frameworkId, const std::string& why) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  log_->info("removing framework {} ({})", frameworkId, why);
  for (TimerId timer : {fw->heartbeatTimer, fw->failoverTimer}) {
    if (timer != 0) loop_.cancelTimer(timer);
  }
  fw->connected = false;
  if (fw->stream) fw->stream->close();
  fw->stream.reset();
  std::vector<std::string> offers;
  for (const auto& [offerId, offer] : offers_) {
    if (offer.frameworkId == frameworkId) offers.push_back(offerId);
  }
  for (const auto& offerId : offers) removeOffer(offerId, false);
  std::vector<std::string> taskIds;
  for (const auto& [taskId, task] : fw->tasks) taskIds.push_back(taskId);
  for (const auto& taskId : taskIds) {
    Task& task = fw->tasks[taskId];
    if (!isTerminalState(task.state)) task.state = v1::TASK_KILLED;
    completeTask(*fw, taskId);
  }
  for (const auto& [key, record] : fw->executors) {
    allocator_.recover(frameworkId, key.first, record.role, record.resources, std::nullopt,
                       loop_.now());
  }
  fw->executors.clear();
  for (const auto& agentId : agentOrder_) {
    if (AgentLink* a = agent(agentId)) a->shutdownFramework(frameworkId);
  }
  allocator_.removeFramework(frameworkId);
  StateSnapshot::Framework removed;
  removed.id = frameworkId;
  removed.name = fw->info.name();
  removed.tornDown = true;
  removed.roles = rolesOf(fw->info);
  removedFrameworks_.push_back(removed);
  removedFrameworkIds_.insert(frameworkId);
  fw->unregisteredTime = loop_.wallSeconds();
  fw->stream.reset();
  completedFrameworks_.push_back(std::move(*fw));
  if (completedFrameworks_.size() > kMaxCompletedFrameworks) completedFrameworks_.pop_front();
  frameworks_.erase(frameworkId);
}

// --- Offers ------------------------------------------------------------------------

void Master::allocate() {
  auto decisions = allocator_.allocate(loop_.now());
  if (decisions.empty()) return;
  std::map<std::string, SchedulerEvent> events;
  std::vector<std::string> made;
  for (auto& decision : decisions) {
    Framework* fw = framework(decision.frameworkId);
    AgentLink* a = agent(decision.agentId);
    if (fw == nullptr || a == nullptr) {
      allocator_.recover(decision.frameworkId, decision.agentId, decision.role, decision.resources,
                         std::nullopt, loop_.now());
      continue;
    }
    bool multiRole = hasCapability(fw->info, Capability::MULTI_ROLE);
    bool refinement = hasCapability(fw->info, Capability::RESERVATION_REFINEMENT);
    Offer offer;
    offer.frameworkId = fw->id;
    offer.agentId = a->id();
    offer.role = decision.role;
    offer.resources = decision.resources;
    v1::Offer& proto = offer.proto;
    proto.mutable_id()->set_value(ids_.nextOfferId());
    proto.mutable_framework_id()->set_value(fw->id);
    proto.mutable_agent_id()->set_value(a->id());
    proto.set_hostname(a->config().hostname);
    auto* url = proto.mutable_url();
    url->set_scheme("http");
    url->mutable_address()->set_hostname(a->config().hostname);
    url->mutable_address()->set_ip("127.0.0.1");
    url->mutable_address()->set_port(a->config().port);
    url->set_path("/" + a->processId());
    ResourceSet::ProtoStyle style;
    style.unreservedRole = !refinement;
    style.allocationRole = multiRole ? decision.role : "";
    decision.resources.toProto(proto.mutable_resources(), style);
    for (const auto& attribute : a->config().attributes) *proto.add_attributes() = attribute;
    for (const auto& executorId : a->executorIds(fw->id)) {
      proto.add_executor_ids()->set_value(executorId);
    }
    if (multiRole) proto.mutable_allocation_info()->set_role(decision.role);

    std::string offerId = proto.id().value();
    auto& event = events[fw->id];
    event.set_type(SchedulerEvent::OFFERS);
    *event.mutable_offers()->add_offers() = proto;
    if (config_.offerTimeout) {
      offer.timeoutTimer = loop_.runAfter(*config_.offerTimeout, [this, offerId] {
        auto it = offers_.find(offerId);
        if (it == offers_.end()) return;
        it->second.timeoutTimer = 0;
        log_->info("offer {} timed out", offerId);
        removeOffer(offerId, true);
      });
    }
    log_->info("offering {} of agent {} to framework {} as offer {}",
               decision.resources.toMesosString(decision.role), a->id(), fw->id, offerId);
    offers_[offerId] = std::move(offer);
    made.push_back(offerId);
  }
  for (auto& [frameworkId, event] : events) {
    if (Framework* fw = framework(frameworkId)) send(*fw, event);
  }
  for (const auto& offerId : made) {
    if (offers_.count(offerId) != 0 && faults_.takeRescind()) {
      log_->info("scripted rescind of offer {}", offerId);
      removeOffer(offerId, true);
    }
  }
}

void Master::removeOffer(const std::string& offerId, bool rescind) {
  auto it = offers_.find(offerId);
  if (it == offers_.end()) return;
  Offer offer = std::move(it->second);
  offers_.erase(it);
  if (offer.timeoutTimer != 0) loop_.cancelTimer(offer.timeoutTimer);
  allocator_.recover(offer.frameworkId, offer.agentId, offer.role, offer.resources, std::nullopt,
                     loop_.now());
  if (rescind) {
    if (Framework* fw = framework(offer.frameworkId)) {
      SchedulerEvent event;
      event.set_type(SchedulerEvent::RESCIND);
      event.mutable_rescind()->mutable_offer_id()->set_value(offerId);
      send(*fw, event);
    }
  }
}

Status Master::rescindOffer(const std::string& offerId) {
  if (offers_.count(offerId) == 0) {
    return makeError(ErrorCode::kNotFound, "no outstanding offer {}", offerId);
  }
  log_->info("scripted rescind of offer {}", offerId);
  removeOffer(offerId, true);
  return Status::okStatus();
}

void Master::decline(Framework& fw, const SchedulerCall::Decline& decline) {
  auto refuse = refuseDuration(decline.has_filters(), decline.filters());
  for (const auto& id : decline.offer_ids()) {
    auto it = offers_.find(id.value());
    if (it == offers_.end() || it->second.frameworkId != fw.id) {
      log_->warn("framework {} declined offer {} which is no longer valid", fw.id, id.value());
      continue;
    }
    Offer offer = std::move(it->second);
    offers_.erase(it);
    if (offer.timeoutTimer != 0) loop_.cancelTimer(offer.timeoutTimer);
    allocator_.recover(fw.id, offer.agentId, offer.role, offer.resources, refuse, loop_.now());
  }
}

// --- ACCEPT --------------------------------------------------------------------------

void Master::accept(Framework& fw, const SchedulerCall::Accept& accept) {
  std::optional<std::string> error;
  if (accept.offer_ids_size() == 0) {
    error = "No offers specified";
  } else {
    std::set<std::string> unique;
    std::string agentId;
    std::string role;
    for (const auto& id : accept.offer_ids()) {
      if (!unique.insert(id.value()).second) {
        error = "Duplicate offer " + id.value() + " in offer list";
        break;
      }
    }
    for (const auto& id : accept.offer_ids()) {
      if (error) break;
      auto it = offers_.find(id.value());
      if (it == offers_.end()) {
        error = "Offer " + id.value() + " is no longer valid";
      } else if (it->second.frameworkId != fw.id) {
        error = "Offer " + id.value() + " has invalid framework " + it->second.frameworkId +
                " while framework " + fw.id + " is expected";
      } else if (!role.empty() && it->second.role != role) {
        error = "Aggregated offers must belong to one single role. Offer " + id.value() +
                " uses role " + it->second.role + " and offer " + accept.offer_ids(0).value() +
                " uses role " + role;
      } else if (!agentId.empty() && it->second.agentId != agentId) {
        error = "Aggregated offers must belong to one single agent. Offer " + id.value() +
                " uses agent " + it->second.agentId + " and agent " + agentId;
      } else {
        agentId = it->second.agentId;
        role = it->second.role;
      }
    }
  }

  // Every offer named is used up, whether the call is valid or not.
  std::optional<Offer> first;
  ResourceSet offered;
  for (const auto& id : accept.offer_ids()) {
    auto it = offers_.find(id.value());
    if (it == offers_.end()) continue;
    if (!first) first = it->second;
    offered += it->second.resources;
    if (error) {
      removeOffer(id.value(), false);
    } else {
      if (it->second.timeoutTimer != 0) loop_.cancelTimer(it->second.timeoutTimer);
      offers_.erase(it);
    }
  }

  bool partitionAware = hasCapability(fw.info, Capability::PARTITION_AWARE);
  if (error) {
    log_->warn("framework {}: ACCEPT with invalid offers: {}", fw.id, *error);
    for (const auto& operation : accept.operations()) {
      std::vector<const v1::TaskInfo*> tasks;
      if (operation.type() == v1::Offer::Operation::LAUNCH) {
        for (const auto& task : operation.launch().task_infos()) tasks.push_back(&task);
      } else if (operation.type() == v1::Offer::Operation::LAUNCH_GROUP) {
        for (const auto& task : operation.launch_group().task_group().tasks()) {
          tasks.push_back(&task);
        }
      }
      for (const auto* task : tasks) {
        sendMasterUpdate(fw, task->task_id().value(), task->agent_id().value(),
                         partitionAware ? v1::TASK_DROPPED : v1::TASK_LOST,
                         v1::TaskStatus::REASON_INVALID_OFFERS,
                         "Task launched with invalid offers: " + *error);
      }
    }
    return;
  }

  ResourceSet remaining = offered;
  for (const auto& operation : accept.operations()) {
    switch (operation.type()) {
      case v1::Offer::Operation::LAUNCH:
        for (const auto& task : operation.launch().task_infos()) {
          launchTask(fw, *first, task, remaining);
        }
        break;
      case v1::Offer::Operation::LAUNCH_GROUP:
        for (const auto& task : operation.launch_group().task_group().tasks()) {
          sendMasterUpdate(fw, task.task_id().value(), task.agent_id().value(), v1::TASK_ERROR,
                           v1::TaskStatus::REASON_TASK_GROUP_INVALID,
                           "LAUNCH_GROUP is not supported by fake-mesos");
        }
        break;
      default:
        log_->warn("framework {}: offer operation {} is ignored by the fake", fw.id,
                   v1::Offer::Operation::Type_Name(operation.type()));
        break;
    }
  }
  allocator_.recover(fw.id, first->agentId, first->role, remaining,
                     refuseDuration(accept.has_filters(), accept.filters()), loop_.now());
}

void Master::launchTask(Framework& fw, const Offer& offer, const v1::TaskInfo& original,
                        ResourceSet& remaining) {
  const std::string taskId = original.task_id().value();
  const std::string& role = offer.role;
  auto error = [&](const std::string& message) {
    log_->warn("framework {}: task {} is invalid: {}", fw.id, taskId, message);
    sendMasterUpdate(fw, taskId, original.agent_id().value(), v1::TASK_ERROR,
                     v1::TaskStatus::REASON_TASK_INVALID, message);
  };

  v1::TaskInfo task = original;
  injectAllocationRole(task.mutable_resources(), role);
  if (task.has_executor()) {
    if (!task.executor().has_framework_id()) {
      task.mutable_executor()->mutable_framework_id()->set_value(fw.id);
    }
    injectAllocationRole(task.mutable_executor()->mutable_resources(), role);
  }

  if (auto problem = validateId(taskId)) return error("'TaskInfo.task_id' is invalid: " + *problem);
  if (fw.tasks.count(taskId) != 0) return error("Task has duplicate ID: " + taskId);
  if (task.agent_id().value() != offer.agentId) {
    return error("Task uses invalid agent " + task.agent_id().value() + " while agent " +
                 offer.agentId + " is expected");
  }
  if (task.resources_size() == 0) return error("Task uses no resources");
  if (task.has_executor() == task.has_command()) {
    return error(
        "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present");
  }
  AgentLink* a = agent(offer.agentId);
  if (a == nullptr) return error("Agent " + offer.agentId + " is not available");

  std::string executorId;
  bool newExecutor = false;
  ResourceSet executorResources;
  if (task.has_executor()) {
    const auto& executor = task.executor();
    executorId = executor.executor_id().value();
    if (auto problem = validateId(executorId)) {
      return error("'ExecutorInfo.executor_id' is invalid: " + *problem);
    }
    if (executor.framework_id().value() != fw.id) {
      return error("ExecutorInfo has an invalid FrameworkID (Actual: " +
                   executor.framework_id().value() + " vs Expected: " + fw.id + ")");
    }
    if (executor.type() == v1::ExecutorInfo::DEFAULT) {
      return error("'ExecutorInfo.type' must be 'CUSTOM' for a LAUNCH operation");
    }
    if (!executor.has_command()) {
      return error("Executor '" + executorId + "' must have a 'CommandInfo'");
    }
    auto existing = fw.executors.find({offer.agentId, executorId});
    if (existing != fw.executors.end()) {
      if (!google::protobuf::util::MessageDifferencer::Equals(existing->second.info, executor)) {
        return error(
            "ExecutorInfo is not compatible with existing ExecutorInfo with same "
            "ExecutorID");
      }
    } else {
      newExecutor = true;
      auto parsed = ResourceSet::fromProto(executor.resources());
      if (!parsed.ok())
        return error("Executor uses unsupported resources: " + parsed.error().message);
      executorResources = *parsed;
    }
  } else {
    // A command task: the agent runs it with its built-in command executor,
    // whose id is the task id.
    executorId = taskId;
  }

  auto taskResources = ResourceSet::fromProto(task.resources());
  if (!taskResources.ok()) {
    return error("Task uses unsupported resources: " + taskResources.error().message);
  }
  ResourceSet total = *taskResources + executorResources;
  if (!remaining.contains(total)) {
    return error("Total resources " + total.toMesosString(role) +
                 " required by task and its executor is more than available " +
                 remaining.toMesosString(role));
  }
  remaining -= total;

  if (newExecutor) {
    fw.executors[{offer.agentId, executorId}] =
        ExecutorRecord{task.executor(), executorResources, role};
  }
  Task& record = fw.tasks[taskId];
  record = Task{};
  record.info = task;
  record.agentId = offer.agentId;
  record.executorId = task.has_executor() ? executorId : "";
  record.role = role;
  record.resources = *taskResources;
  log_->info("framework {} launches task {} on agent {} (executor {}) with {}", fw.id, taskId,
             offer.agentId, executorId, total.toMesosString(role));
  a->runTask(fw.info, task);
}

// --- Kill, acknowledge, reconcile -----------------------------------------------------

void Master::kill(Framework& fw, const SchedulerCall::Kill& kill) {
  const std::string taskId = kill.task_id().value();
  auto task = fw.tasks.find(taskId);
  if (task == fw.tasks.end()) {
    // Mesos answers a kill of an unknown task with its reconciliation answer.
    SchedulerCall::Reconcile reconcileCall;
    auto* entry = reconcileCall.add_tasks();
    *entry->mutable_task_id() = kill.task_id();
    if (kill.has_agent_id()) *entry->mutable_agent_id() = kill.agent_id();
    reconcile(fw, reconcileCall);
    return;
  }
  AgentLink* a = agent(task->second.agentId);
  if (a == nullptr) {
    if (disconnected_.count(task->second.agentId) != 0) {
      log_->warn(
          "framework {}: cannot kill task {} now: agent {} is disconnected; the kill is sent "
          "again if it registers again",
          fw.id, taskId, task->second.agentId);
      killedTasks_[task->second.agentId].insert({fw.id, taskId});
    }
    return;
  }
  log_->info("framework {} kills task {} on agent {}", fw.id, taskId, task->second.agentId);
  a->killTask(
      fw.id, taskId,
      kill.has_kill_policy() ? std::optional<v1::KillPolicy>(kill.kill_policy()) : std::nullopt);
}

void Master::acknowledge(Framework& fw, const SchedulerCall::Acknowledge& ack) {
  const std::string agentId = ack.agent_id().value();
  const std::string taskId = ack.task_id().value();
  AgentLink* a = agent(agentId);
  if (a == nullptr) {
    log_->warn(
        "framework {}: cannot forward the acknowledgement of task {} to agent {}: "
        "agent is not registered",
        fw.id, taskId, agentId);
    return;
  }
  auto task = fw.tasks.find(taskId);
  if (task != fw.tasks.end() && task->second.updateState &&
      isTerminalState(*task->second.updateState) && task->second.updateUuid == ack.uuid()) {
    completeTask(fw, taskId);
  }
  a->acknowledge(fw.id, taskId, ack.uuid());
}

void Master::reconcile(Framework& fw, const SchedulerCall::Reconcile& reconcile) {
  bool partitionAware = hasCapability(fw.info, Capability::PARTITION_AWARE);
  auto latest = [&](const Task& task, const std::string& taskId) {
    SchedulerEvent event;
    event.set_type(SchedulerEvent::UPDATE);
    v1::TaskStatus* status = event.mutable_update()->mutable_status();
    status->mutable_task_id()->set_value(taskId);
    status->set_state(task.updateState.value_or(task.state));
    status->set_message("Reconciliation: Latest task state");
    status->set_source(v1::TaskStatus::SOURCE_MASTER);
    status->set_reason(v1::TaskStatus::REASON_RECONCILIATION);
    status->mutable_agent_id()->set_value(task.agentId);
    if (!task.executorId.empty()) status->mutable_executor_id()->set_value(task.executorId);
    status->set_timestamp(loop_.wallSeconds());
    if (task.lastStatus) {
      if (task.lastStatus->has_healthy()) status->set_healthy(task.lastStatus->healthy());
      if (task.lastStatus->has_container_status()) {
        *status->mutable_container_status() = task.lastStatus->container_status();
      }
    }
    send(fw, event);
  };
  if (reconcile.tasks_size() == 0) {
    for (const auto& [taskId, task] : fw.tasks) latest(task, taskId);
    return;
  }
  for (const auto& entry : reconcile.tasks()) {
    const std::string taskId = entry.task_id().value();
    auto task = fw.tasks.find(taskId);
    if (task != fw.tasks.end()) {
      latest(task->second, taskId);
      continue;
    }
    std::string agentId = entry.has_agent_id() ? entry.agent_id().value() : "";
    if (agentId.empty() ? !recovering_.empty() : recovering(agentId)) {
      // Mesos answers later, once the agent registered again or is unreachable.
      log_->info("framework {}: no reconciliation answer for task {} yet: agent {} is recovering",
                 fw.id, taskId, agentId.empty() ? "(not given)" : agentId);
      continue;
    }
    if (!agentId.empty() && agents_.count(agentId) != 0 && unreachable_.count(agentId) == 0) {
      sendMasterUpdate(fw, taskId, agentId, partitionAware ? v1::TASK_GONE : v1::TASK_LOST,
                       v1::TaskStatus::REASON_RECONCILIATION,
                       "Reconciliation: Task is unknown to the agent");
    } else if (!agentId.empty() && unreachable_.count(agentId) != 0) {
      SchedulerEvent event;
      event.set_type(SchedulerEvent::UPDATE);
      v1::TaskStatus* status = event.mutable_update()->mutable_status();
      status->mutable_task_id()->set_value(taskId);
      status->set_state(partitionAware ? v1::TASK_UNREACHABLE : v1::TASK_LOST);
      status->set_message("Reconciliation: Task is unreachable");
      status->set_source(v1::TaskStatus::SOURCE_MASTER);
      status->set_reason(v1::TaskStatus::REASON_RECONCILIATION);
      status->mutable_agent_id()->set_value(agentId);
      status->set_timestamp(loop_.wallSeconds());
      status->mutable_unreachable_time()->set_nanoseconds(
          static_cast<std::int64_t>(unreachable_[agentId] * 1e9));
      send(fw, event);
    } else {
      sendMasterUpdate(fw, taskId, agentId, partitionAware ? v1::TASK_UNKNOWN : v1::TASK_LOST,
                       v1::TaskStatus::REASON_RECONCILIATION, "Reconciliation: Task is unknown");
    }
  }
}

void Master::completeTask(Framework& fw, const std::string& taskId) {
  auto it = fw.tasks.find(taskId);
  if (it == fw.tasks.end()) return;
  Task& task = it->second;
  if (!task.resourcesRecovered) {
    allocator_.recover(fw.id, task.agentId, task.role, task.resources, std::nullopt, loop_.now());
  }
  StateSnapshot::Task done;
  done.id = taskId;
  done.frameworkId = fw.id;
  done.agentId = task.agentId;
  done.executorId = task.executorId;
  done.state = v1::TaskState_Name(task.state);
  done.completed = true;
  done.resourcesJson = task.resources.toSummaryJson();
  completedTasks_.push_back(std::move(done));
  if (completedTasks_.size() > kMaxCompletedTasks) completedTasks_.pop_front();
  fw.tasks.erase(it);
}

// --- Events --------------------------------------------------------------------------

void Master::send(Framework& fw, const SchedulerEvent& event) {
  if (!fw.connected || !fw.stream) return;
  fw.stream->write(encodeEventRecord(event, fw.encoding));
}

void Master::sendMasterUpdate(Framework& fw, const std::string& taskId, const std::string& agentId,
                              v1::TaskState state, v1::TaskStatus::Reason reason,
                              const std::string& message, const std::string& executorId) {
  SchedulerEvent event;
  event.set_type(SchedulerEvent::UPDATE);
  v1::TaskStatus* status = event.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value(taskId);
  status->set_state(state);
  status->set_message(message);
  status->set_source(v1::TaskStatus::SOURCE_MASTER);
  status->set_reason(reason);
  if (!agentId.empty()) status->mutable_agent_id()->set_value(agentId);
  if (!executorId.empty()) status->mutable_executor_id()->set_value(executorId);
  status->set_timestamp(loop_.wallSeconds());
  send(fw, event);
}

void Master::forwardStatusUpdate(const std::string& agentId, const std::string& frameworkId,
                                 const v1::TaskStatus& status, v1::TaskState latestState) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  auto task = fw->tasks.find(status.task_id().value());
  if (task != fw->tasks.end()) {
    Task& t = task->second;
    t.state = latestState;
    t.updateState = status.state();
    t.updateUuid = status.uuid();
    t.lastStatus = status;
    if (isTerminalState(latestState) && !t.resourcesRecovered) {
      allocator_.recover(frameworkId, t.agentId, t.role, t.resources, std::nullopt, loop_.now());
      t.resourcesRecovered = true;
    }
  }
  SchedulerEvent event;
  event.set_type(SchedulerEvent::UPDATE);
  *event.mutable_update()->mutable_status() = status;
  send(*fw, event);
}

void Master::executorExited(const std::string& agentId, const std::string& frameworkId,
                            const std::string& executorId, int status) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  auto record = fw->executors.find({agentId, executorId});
  if (record == fw->executors.end()) return;
  allocator_.recover(frameworkId, agentId, record->second.role, record->second.resources,
                     std::nullopt, loop_.now());
  fw->executors.erase(record);
  SchedulerEvent event;
  event.set_type(SchedulerEvent::FAILURE);
  event.mutable_failure()->mutable_agent_id()->set_value(agentId);
  event.mutable_failure()->mutable_executor_id()->set_value(executorId);
  event.mutable_failure()->set_status(status);
  send(*fw, event);
}

void Master::executorMessage(const std::string& agentId, const std::string& frameworkId,
                             const std::string& executorId, const std::string& data) {
  Framework* fw = framework(frameworkId);
  if (fw == nullptr) return;
  SchedulerEvent event;
  event.set_type(SchedulerEvent::MESSAGE);
  event.mutable_message()->mutable_agent_id()->set_value(agentId);
  event.mutable_message()->mutable_executor_id()->set_value(executorId);
  event.mutable_message()->set_data(data);
  send(*fw, event);
}

// --- Scripting ----------------------------------------------------------------------

Status Master::dropStream(const std::optional<std::string>& frameworkId) {
  int dropped = 0;
  for (auto& [id, fw] : frameworks_) {
    if (frameworkId && id != *frameworkId) continue;
    if (!fw.connected || !fw.stream) continue;
    log_->info("scripted drop of the event stream of framework {}", id);
    auto stream = fw.stream;
    stream->abort();
    ++dropped;
  }
  if (dropped == 0) {
    return makeError(ErrorCode::kNotFound, "no connected framework{}",
                     frameworkId ? " " + *frameworkId : std::string());
  }
  return Status::okStatus();
}

Status Master::loseAgent(const std::string& agentId) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return makeError(ErrorCode::kNotFound, "no agent {}", agentId);
  if (unreachable_.count(agentId) != 0) return Status::okStatus();
  log_->warn("scripted loss of agent {}", agentId);
  // A disconnected agent's process is away already; nothing to tell it.
  if (disconnected_.count(agentId) == 0) it->second->lose();
  markUnreachable(agentId, "health check timed out");
  return Status::okStatus();
}

void Master::markUnreachable(const std::string& agentId, const std::string& message) {
  double when = loop_.wallSeconds();
  unreachable_[agentId] = when;
  auto waiting = disconnected_.find(agentId);
  if (waiting != disconnected_.end()) {
    if (waiting->second != 0) loop_.cancelTimer(waiting->second);
    disconnected_.erase(waiting);
  }
  killedTasks_.erase(agentId);

  std::vector<std::string> offers;
  for (const auto& [offerId, offer] : offers_) {
    if (offer.agentId == agentId) offers.push_back(offerId);
  }
  for (const auto& offerId : offers) removeOffer(offerId, true);

  for (auto& [frameworkId, fw] : frameworks_) {
    bool partitionAware = hasCapability(fw.info, Capability::PARTITION_AWARE);
    std::vector<std::string> lostTasks;
    for (const auto& [taskId, task] : fw.tasks) {
      if (task.agentId == agentId) lostTasks.push_back(taskId);
    }
    for (const auto& taskId : lostTasks) {
      Task& task = fw.tasks[taskId];
      SchedulerEvent event;
      event.set_type(SchedulerEvent::UPDATE);
      v1::TaskStatus* status = event.mutable_update()->mutable_status();
      status->mutable_task_id()->set_value(taskId);
      status->set_state(partitionAware ? v1::TASK_UNREACHABLE : v1::TASK_LOST);
      status->set_message(message);
      status->set_source(v1::TaskStatus::SOURCE_MASTER);
      status->set_reason(v1::TaskStatus::REASON_AGENT_REMOVED);
      status->mutable_agent_id()->set_value(agentId);
      if (!task.executorId.empty()) status->mutable_executor_id()->set_value(task.executorId);
      status->set_timestamp(when);
      status->mutable_unreachable_time()->set_nanoseconds(static_cast<std::int64_t>(when * 1e9));
      send(fw, event);
      task.state = status->state();
      completeTask(fw, taskId);
    }
    for (auto record = fw.executors.begin(); record != fw.executors.end();) {
      if (record->first.first == agentId) {
        allocator_.recover(frameworkId, agentId, record->second.role, record->second.resources,
                           std::nullopt, loop_.now());
        record = fw.executors.erase(record);
      } else {
        ++record;
      }
    }
    SchedulerEvent failure;
    failure.set_type(SchedulerEvent::FAILURE);
    failure.mutable_failure()->mutable_agent_id()->set_value(agentId);
    send(fw, failure);
  }
  allocator_.removeAgent(agentId);
}

Status Master::teardown(const std::string& frameworkId) {
  if (framework(frameworkId) == nullptr) {
    return makeError(ErrorCode::kNotFound, "no framework {}", frameworkId);
  }
  removeFramework(frameworkId, "operator teardown");
  return Status::okStatus();
}

void Master::shutdown() {
  if (recoveryTimer_ != 0) loop_.cancelTimer(recoveryTimer_);
  recoveryTimer_ = 0;
  for (auto& [agentId, timer] : disconnected_) {
    if (timer != 0) loop_.cancelTimer(timer);
    timer = 0;
  }
  for (auto& [id, fw] : frameworks_) {
    if (fw.stream) fw.stream->close();
    fw.stream.reset();
    fw.connected = false;
    for (TimerId timer : {fw.heartbeatTimer, fw.failoverTimer}) {
      if (timer != 0) loop_.cancelTimer(timer);
    }
    fw.heartbeatTimer = fw.failoverTimer = 0;
  }
}

void Master::snapshot(StateSnapshot& state) const {
  state.masterId = ids_.masterId();
  state.port = config_.port;
  for (const auto& [id, fw] : frameworks_) {
    StateSnapshot::Framework f;
    f.id = id;
    f.name = fw.info.name();
    f.active = fw.connected;
    f.connected = fw.connected;
    f.roles = rolesOf(fw.info);
    f.suppressedRoles = allocator_.suppressedRoles(id);
    state.frameworks.push_back(std::move(f));
  }
  for (const auto& removed : removedFrameworks_) state.frameworks.push_back(removed);
  for (const auto& agentId : agentOrder_) {
    const AgentLink* a = agents_.at(agentId);
    StateSnapshot::Agent s;
    s.id = agentId;
    s.hostname = a->config().hostname;
    s.lost = unreachable_.count(agentId) != 0;
    s.connected = !s.lost && disconnected_.count(agentId) == 0;
    s.resourcesJson = a->config().resources.toSummaryJson();
    s.availableJson = allocator_.available(agentId).toSummaryJson();
    state.agents.push_back(std::move(s));
  }
  state.tasks.assign(completedTasks_.begin(), completedTasks_.end());
  for (const auto& [frameworkId, fw] : frameworks_) {
    for (const auto& [taskId, task] : fw.tasks) {
      StateSnapshot::Task t;
      t.id = taskId;
      t.frameworkId = frameworkId;
      t.agentId = task.agentId;
      t.executorId = task.executorId;
      t.state = v1::TaskState_Name(task.state);
      t.resourcesJson = task.resources.toSummaryJson();
      state.tasks.push_back(std::move(t));
    }
  }
  for (const auto& [offerId, offer] : offers_) {
    state.offers.push_back(StateSnapshot::Offer{offerId, offer.frameworkId, offer.agentId,
                                                offer.resources.toSummaryJson()});
  }
}

// --- /master/frameworks ------------------------------------------------------------

namespace {

// Resources as the master's JSON models print them: cpus, gpus, mem and
// disk always (doubles), other scalars when present, ranges as "[a-b, ...]".
std::string mesosResourcesJson(const ResourceSet& resources) {
  std::string out = "{";
  auto scalar = [&](const std::string& name) {
    out += fmt::format("{}\"{}\":{}", out.size() > 1 ? "," : "", name,
                       formatMesosDouble(static_cast<double>(resources.scalar(name)) / 1000.0));
  };
  for (const char* name : {"disk", "mem", "gpus", "cpus"}) scalar(name);
  std::string summary = resources.toSummaryJson();  // {"ports":"[...]",...}: ranges as strings
  for (const auto& name : resources.names()) {
    if (name == "disk" || name == "mem" || name == "gpus" || name == "cpus") continue;
    auto key = summary.find("\"" + name + "\":");
    if (key == std::string::npos) continue;
    auto end = summary.find_first_of(",}", summary.find(':', key) + 1);
    if (summary[summary.find(':', key) + 1] == '"')
      end = summary.find('"', summary.find(':', key) + 2) + 1;
    out += "," + summary.substr(key, end - key);
  }
  return out + "}";
}

}  // namespace

void Master::writeFrameworkJson(const Framework& fw, std::string& out) const {
  const v1::FrameworkInfo& info = fw.info;
  bool removed = fw.unregisteredTime > 0;
  ResourceSet used;
  for (const auto& [taskId, task] : fw.tasks) {
    if (!isTerminalState(task.state)) used += task.resources;
  }
  for (const auto& [key, record] : fw.executors) used += record.resources;
  ResourceSet offered;
  for (const auto& [offerId, offer] : offers_) {
    if (offer.frameworkId == fw.id) offered += offer.resources;
  }
  std::string capabilities = "[";
  for (const auto& capability : info.capabilities()) {
    capabilities += (capabilities.size() > 1 ? "," : "") + toMesosJson(capability);
  }
  capabilities += "]";
  std::string tasks = "[";
  for (const auto& [taskId, task] : fw.tasks) {
    std::string& list = tasks;
    list += fmt::format(
        R"({}{{"id":{},"name":{},"framework_id":{},"executor_id":{},"slave_id":{},"state":{},)"
        R"("resources":{},"role":{}}})",
        list.size() > 1 ? "," : "", jsonString(taskId), jsonString(task.info.name()),
        jsonString(fw.id), jsonString(task.executorId), jsonString(task.agentId),
        jsonString(v1::TaskState_Name(task.state)), mesosResourcesJson(task.resources),
        jsonString(task.role));
  }
  tasks += "]";
  // Completed tasks as the fake keeps them (resources in its summary form).
  std::string completedTasks = "[";
  for (const auto& task : completedTasks_) {
    if (task.frameworkId != fw.id) continue;
    completedTasks += fmt::format(
        R"({}{{"id":{},"framework_id":{},"executor_id":{},"slave_id":{},"state":{},"resources":{}}})",
        completedTasks.size() > 1 ? "," : "", jsonString(task.id), jsonString(fw.id),
        jsonString(task.executorId), jsonString(task.agentId), jsonString(task.state),
        task.resourcesJson);
  }
  completedTasks += "]";
  std::string offers = "[";
  for (const auto& [offerId, offer] : offers_) {
    if (offer.frameworkId != fw.id) continue;
    offers += fmt::format(R"({}{{"id":{},"framework_id":{},"slave_id":{},"resources":{}}})",
                          offers.size() > 1 ? "," : "", jsonString(offerId), jsonString(fw.id),
                          jsonString(offer.agentId), mesosResourcesJson(offer.resources));
  }
  offers += "]";
  out += fmt::format(
      R"({{"id":{},"name":{},"used_resources":{},"offered_resources":{},"capabilities":{},)"
      R"("hostname":{},"webui_url":{},"active":{},"connected":{},"recovered":{},)"
      R"("user":{},"failover_timeout":{},"checkpoint":{},"registered_time":{},)"
      R"("unregistered_time":{},)",
      jsonString(fw.id), jsonString(info.name()), mesosResourcesJson(used),
      mesosResourcesJson(offered), capabilities, jsonString(info.hostname()),
      jsonString(info.webui_url()), !removed && fw.connected, !removed && fw.connected,
      fw.recovered, jsonString(info.user()), formatMesosDouble(info.failover_timeout()), info.checkpoint(),
      formatMesosDouble(fw.registeredTime), formatMesosDouble(fw.unregisteredTime));
  if (info.has_principal()) out += R"("principal":)" + jsonString(info.principal()) + ",";
  out += R"("resources":)" + mesosResourcesJson(used + offered) + ",";
  if (fw.reregisteredTime != fw.registeredTime) {
    out += R"("reregistered_time":)" + formatMesosDouble(fw.reregisteredTime) + ",";
  }
  if (hasCapability(info, Capability::MULTI_ROLE)) {
    std::string roles = "[";
    for (const auto& role : info.roles()) roles += (roles.size() > 1 ? "," : "") + jsonString(role);
    out += R"("roles":)" + roles + "],";
  } else {
    out += R"("role":)" + jsonString(legacyRole(info)) + ",";
  }
  out += fmt::format(
      R"("tasks":{},"unreachable_tasks":[],"completed_tasks":{},"offers":{},"executors":[])", tasks,
      completedTasks, offers);
  if (info.has_labels()) {
    // An array of {"key", "value"} (Mesos' json(ArrayWriter*, Labels)).
    std::string labels = "[";
    for (const auto& label : info.labels().labels()) {
      labels += (labels.size() > 1 ? "," : "") + toMesosJson(label);
    }
    out += R"(,"labels":)" + labels + "]";
  }
  out += R"(,"offer_constraints":{}})";
}

std::string Master::frameworksJson(const std::string& frameworkId) const {
  auto selected = [&](const std::string& id) { return frameworkId.empty() || id == frameworkId; };
  std::string out = R"({"frameworks":[)";
  bool first = true;
  for (const auto& [id, fw] : frameworks_) {
    if (!selected(id)) continue;
    if (!first) out += ",";
    first = false;
    writeFrameworkJson(fw, out);
  }
  out += R"(],"completed_frameworks":[)";
  first = true;
  for (const auto& fw : completedFrameworks_) {
    if (!selected(fw.id)) continue;
    if (!first) out += ",";
    first = false;
    writeFrameworkJson(fw, out);
  }
  return out + R"(],"unregistered_frameworks":[]})";
}

}  // namespace tailor::fake_mesos
