#include "scheduler/drivers/mesos/mesos_driver.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "common/logging.hpp"

namespace tailor::scheduler::mesos {

namespace v1 = ::mesos::v1;
using tailor::mesos::SchedulerCall;
using tailor::mesos::SchedulerEvent;

namespace {

std::string currentUser() {
  const passwd* entry = getpwuid(getuid());
  return entry != nullptr ? entry->pw_name : "root";
}

bool isIpLiteral(const std::string& host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isdigit(c) || c == '.' || c == ':';
  });
}

// Whether a resource of an offer is ours to use: unreserved, for our role.
// The deprecated `role` field is still how masters without reservation
// refinement mark reserved resources, so it is read here on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
bool usable(const v1::Resource& resource) {
  return resource.reservations_size() == 0 && !resource.has_reservation() &&
         (!resource.has_role() || resource.role() == "*") && !resource.has_disk() &&
         !resource.has_provider_id() && !resource.has_revocable();
}
#pragma GCC diagnostic pop

v1::Resource scalar(const std::string& name, double value, const std::string& role) {
  v1::Resource resource;
  resource.set_name(name);
  resource.set_type(v1::Value::SCALAR);
  resource.mutable_scalar()->set_value(value);
  resource.mutable_allocation_info()->set_role(role);
  return resource;
}

void addResources(google::protobuf::RepeatedPtrField<v1::Resource>* out, const Resources& r,
                  const std::string& role) {
  if (r.milliCpus > 0) *out->Add() = scalar("cpus", r.cpus(), role);
  if (r.memMib > 0) *out->Add() = scalar("mem", static_cast<double>(r.memMib), role);
  if (r.diskMib > 0) *out->Add() = scalar("disk", static_cast<double>(r.diskMib), role);
  if (r.gpus > 0) *out->Add() = scalar("gpus", static_cast<double>(r.gpus), role);
}

bool terminal(v1::TaskState state) {
  switch (state) {
    case v1::TASK_FINISHED:
    case v1::TASK_FAILED:
    case v1::TASK_KILLED:
    case v1::TASK_LOST:
    case v1::TASK_ERROR:
    case v1::TASK_DROPPED:
    case v1::TASK_GONE:
    case v1::TASK_GONE_BY_OPERATOR:
    case v1::TASK_UNREACHABLE:
      return true;
    default:
      return false;
  }
}

}  // namespace

v1::FrameworkInfo makeFrameworkInfo(const MesosDriverConfig& config) {
  v1::FrameworkInfo info;
  info.set_user(config.user.empty() ? currentUser() : config.user);
  info.set_name("tailor-job-" + config.jobId);
  info.add_roles(config.role);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (config.gpus) info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::GPU_RESOURCES);
  info.set_failover_timeout(config.failoverTimeoutSeconds);
  info.set_checkpoint(config.checkpoint);
  if (!config.principal.empty()) info.set_principal(config.principal);
  if (!config.hostname.empty()) info.set_hostname(config.hostname);
  if (!config.webuiUrl.empty()) info.set_webui_url(config.webuiUrl);
  return info;
}

OfferView offerView(const v1::Offer& offer, const std::string& role) {
  OfferView view;
  view.offerId = offer.id().value();
  view.agentId = offer.agent_id().value();
  view.hostname = offer.hostname();
  for (const auto& resource : offer.resources()) {
    if (!usable(resource)) continue;
    if (resource.has_allocation_info() && resource.allocation_info().role() != role) continue;
    const std::string& name = resource.name();
    if (resource.type() == v1::Value::SCALAR) {
      double value = resource.scalar().value();
      if (name == "cpus") view.resources.milliCpus += toMilliCpus(value);
      if (name == "mem") view.resources.memMib += static_cast<std::int64_t>(value);
      if (name == "disk") view.resources.diskMib += static_cast<std::int64_t>(value);
      if (name == "gpus") view.resources.gpus += static_cast<std::int64_t>(value);
    } else if (resource.type() == v1::Value::RANGES && name == "ports") {
      for (const auto& range : resource.ranges().range()) {
        view.ports.push_back(PortRange{range.begin(), range.end()});
      }
    }
  }
  return view;
}

MesosDriver::MesosDriver(EventLoop& loop, MesosDriverConfig config)
    : loop_(loop), config_(std::move(config)), log_(logger("mesosdriver")) {}

MesosDriver::~MesosDriver() {
  if (reconcileTimer_) loop_.cancelTimer(*reconcileTimer_);
  if (batchTimer_) loop_.cancelTimer(*batchTimer_);
}

std::string MesosDriver::describe() const {
  return "the Mesos cluster (TaskManagers up to " + config_.maxTaskManager.toString() + ")";
}

void MesosDriver::start(DriverListener* listener) {
  listener_ = listener;
  connection_->start(makeFrameworkInfo(config_));
}

void MesosDriver::send(SchedulerCall call) {
  if (connection_ != nullptr && !tornDown_) connection_->send(std::move(call));
}

void MesosDriver::launchTaskManager(const std::string& taskManagerId, const TaskManagerSpec& spec) {
  Tm tm;
  tm.id = taskManagerId;
  tm.spec = spec;
  tms_[taskManagerId] = tm;
  updateSuppression();
}

void MesosDriver::releaseTaskManager(const std::string& taskManagerId) {
  auto it = tms_.find(taskManagerId);
  if (it == tms_.end()) return;
  Tm& tm = it->second;
  if (tm.state == TmState::kPending) {
    tms_.erase(it);
    updateSuppression();
    if (listener_ != nullptr) listener_->onTaskManagerTerminated(taskManagerId, "never started");
    return;
  }
  if (tm.state == TmState::kKilling) return;
  tm.state = TmState::kKilling;
  if (config_.releaseGrace.count() == 0) {
    sendKill(tm.id, tm.agentId);
    return;
  }
  loop_.runAfter(config_.releaseGrace, [this, taskManagerId] {
    auto found = tms_.find(taskManagerId);
    if (found != tms_.end())
      sendKill(found->second.id, found->second.agentId);  // did not finish by itself
  });
}

void MesosDriver::sendKill(const std::string& taskId, const std::string& agentId) {
  SchedulerCall call;
  call.set_type(SchedulerCall::KILL);
  call.mutable_kill()->mutable_task_id()->set_value(taskId);
  if (!agentId.empty()) call.mutable_kill()->mutable_agent_id()->set_value(agentId);
  log_->info("killing {} on agent {}", taskId, agentId);
  send(std::move(call));
}

void MesosDriver::shutdown() {
  if (tornDown_) return;
  SchedulerCall call;
  call.set_type(SchedulerCall::TEARDOWN);
  log_->info("tearing down framework {}", connection_->frameworkId());
  send(std::move(call));
  tornDown_ = true;
}

void MesosDriver::updateSuppression() {
  bool pending = std::any_of(tms_.begin(), tms_.end(), [](const auto& entry) {
    return entry.second.state == TmState::kPending;
  });
  if (connection_ == nullptr || !connection_->subscribed()) return;
  if (pending && suppressed_) {
    SchedulerCall call;
    call.set_type(SchedulerCall::REVIVE);
    call.mutable_revive()->add_roles(config_.role);
    log_->info("reviving offers: TaskManagers are pending");
    suppressed_ = false;
    send(std::move(call));
  } else if (!pending && !suppressed_) {
    SchedulerCall call;
    call.set_type(SchedulerCall::SUPPRESS);
    call.mutable_suppress()->add_roles(config_.role);
    log_->info("suppressing offers: nothing pending");
    suppressed_ = true;
    send(std::move(call));
  }
}

void MesosDriver::onSubscribed(const std::string& frameworkId, bool isNewFramework) {
  // A new subscription starts with offers flowing; decide again.
  suppressed_ = false;
  if (isNewFramework) {
    // A new framework id: tasks of the old one are gone with it.
    std::vector<std::string> gone;
    for (const auto& [id, tm] : tms_) {
      if (tm.state != TmState::kPending) gone.push_back(id);
    }
    for (const auto& id : gone) terminated(id, "its framework was removed");
  }
  // A KILL sent while disconnected was dropped: send it again.
  for (const auto& [id, tm] : tms_) {
    if (tm.state == TmState::kKilling) sendKill(tm.id, tm.agentId);
  }
  reconcileStartedAt_ = loop_.now();
  reconcile(Duration(30000));
  updateSuppression();
}

void MesosDriver::reconcile(Duration backoff) {
  if (reconcileTimer_) {
    loop_.cancelTimer(*reconcileTimer_);
    reconcileTimer_.reset();
  }
  SchedulerCall call;
  call.set_type(SchedulerCall::RECONCILE);
  for (const auto& [id, tm] : tms_) {
    if (tm.state == TmState::kPending || tm.lastUpdate > reconcileStartedAt_) continue;
    auto* task = call.mutable_reconcile()->add_tasks();
    task->mutable_task_id()->set_value(id);
    if (!tm.agentId.empty()) task->mutable_agent_id()->set_value(tm.agentId);
  }
  if (call.reconcile().tasks_size() == 0) return;
  log_->info("reconciling {} TaskManagers", call.reconcile().tasks_size());
  send(std::move(call));
  Duration next = std::min<Duration>(backoff * 2, Duration(10 * 60 * 1000));
  reconcileTimer_ = loop_.runAfter(backoff, [this, next] {
    reconcileTimer_.reset();
    reconcile(next);
  });
}

void MesosDriver::processHeldOffers() {
  batchTimer_.reset();
  ::mesos::v1::scheduler::Event::Offers offers;
  for (auto& [id, offer] : held_) *offers.add_offers() = std::move(offer);
  held_.clear();
  if (offers.offers_size() > 0) onOffers(offers);
}

void MesosDriver::onDisconnected(const std::string& reason) {
  held_.clear();  // offers of the old stream are void
  log_->warn("lost the Mesos master ({}); offers dropped, re-subscribing", reason);
}

void MesosDriver::onEvent(const SchedulerEvent& event) {
  switch (event.type()) {
    case SchedulerEvent::OFFERS:
      if (config_.offerBatchWindow.count() == 0) {
        onOffers(event.offers());
        break;
      }
      for (const auto& offer : event.offers().offers()) held_[offer.id().value()] = offer;
      if (!batchTimer_) {
        batchTimer_ = loop_.runAfter(config_.offerBatchWindow, [this] { processHeldOffers(); });
      }
      break;
    case SchedulerEvent::RESCIND:
      if (held_.erase(event.rescind().offer_id().value()) > 0) {
        log_->info("offer {} rescinded before use; dropped", event.rescind().offer_id().value());
      } else {
        log_->debug("offer {} rescinded (already used or declined)",
                    event.rescind().offer_id().value());
      }
      break;
    case SchedulerEvent::UPDATE:
      onUpdate(event.update().status());
      break;
    case SchedulerEvent::FAILURE:
      log_->warn("failure reported: agent {} executor {}", event.failure().agent_id().value(),
                 event.failure().executor_id().value());
      break;
    default:
      log_->debug("ignoring {} event", SchedulerEvent::Type_Name(event.type()));
  }
}

v1::TaskInfo MesosDriver::makeTask(const Tm& tm, const v1::Offer& offer,
                                   const std::vector<std::uint64_t>& ports) const {
  v1::TaskInfo task;
  task.set_name("tailor-taskmanager " + tm.id);
  task.mutable_task_id()->set_value(tm.id);
  *task.mutable_agent_id() = offer.agent_id();
  addResources(task.mutable_resources(), tm.spec.total, config_.role);
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
  executor->mutable_executor_id()->set_value(tm.id);
  executor->set_name("tailor-taskmanager");
  addResources(executor->mutable_resources(), config_.executorOverhead, config_.role);
  v1::CommandInfo* command = executor->mutable_command();
  for (const auto& uri : config_.executorUris) {
    auto* entry = command->add_uris();
    entry->set_value(uri);
    entry->set_executable(uri.find(".tar") == std::string::npos &&
                          uri.find(".tgz") == std::string::npos);
  }
  std::string host = offer.hostname();
  std::string bind = isIpLiteral(host) ? host : "0.0.0.0";
  command->set_shell(true);
  command->set_value(fmt::format(
      "exec {} --taskmanager-id {} --resource-manager {} --resources {} --port {} --bind {} "
      "--advertise-host {} --work-dir \"$MESOS_SANDBOX/work\" --log-file "
      "\"$MESOS_SANDBOX/taskmanager.log\" --log-level {} --mesos-content-type {}",
      config_.executorCommand, tm.id, config_.resourceManagerAddress, tm.spec.total.toString(),
      ports.empty() ? 0 : ports.front(), bind, host.empty() ? "127.0.0.1" : host,
      config_.taskManagerLogLevel, config_.executorJson ? "json" : "protobuf"));
  return task;
}

void MesosDriver::onOffers(const ::mesos::v1::scheduler::Event::Offers& event) {
  std::vector<OfferView> views;
  std::map<std::string, const v1::Offer*> byId;
  for (const auto& offer : event.offers()) {
    views.push_back(offerView(offer, config_.role));
    byId[offer.id().value()] = &offer;
  }
  std::vector<PendingTaskManager> pending;
  for (const auto& [id, tm] : tms_) {
    if (tm.state == TmState::kPending) {
      pending.push_back(PendingTaskManager{id, tm.spec.total + config_.executorOverhead, 1});
    }
  }
  MatchResult match = matchOffers(views, pending);
  std::map<std::string, std::vector<const Placement*>> perOffer;
  for (const auto& placement : match.placements) perOffer[placement.offerId].push_back(&placement);
  double refuseSeconds = std::chrono::duration<double>(config_.refuse).count();
  for (const auto& [offerId, placements] : perOffer) {
    const v1::Offer& offer = *byId.at(offerId);
    SchedulerCall call;
    call.set_type(SchedulerCall::ACCEPT);
    *call.mutable_accept()->add_offer_ids() = offer.id();
    auto* operation = call.mutable_accept()->add_operations();
    operation->set_type(v1::Offer::Operation::LAUNCH);
    for (const Placement* placement : placements) {
      Tm& tm = tms_.at(placement->taskManagerId);
      tm.state = TmState::kLaunched;
      tm.agentId = offer.agent_id().value();
      tm.hostname = offer.hostname();
      *operation->mutable_launch()->add_task_infos() = makeTask(tm, offer, placement->ports);
      log_->info("launching {} ({}) on agent {} ({}) from offer {}", tm.id,
                 tm.spec.total.toString(), tm.agentId, tm.hostname, offerId);
    }
    call.mutable_accept()->mutable_filters()->set_refuse_seconds(refuseSeconds);
    send(std::move(call));
    // Launched: Mesos holds the resources for it from the ACCEPT on.
    for (const Placement* placement : placements) {
      Tm& tm = tms_.at(placement->taskManagerId);
      if (!tm.started && listener_ != nullptr) {
        tm.started = true;
        listener_->onTaskManagerStarted(tm.id);
      }
    }
  }
  if (!match.unusedOfferIds.empty()) {
    SchedulerCall call;
    call.set_type(SchedulerCall::DECLINE);
    for (const auto& offerId : match.unusedOfferIds) {
      *call.mutable_decline()->add_offer_ids() = byId.at(offerId)->id();
    }
    call.mutable_decline()->mutable_filters()->set_refuse_seconds(refuseSeconds);
    log_->debug("declining {} offers for {} s", match.unusedOfferIds.size(), refuseSeconds);
    send(std::move(call));
  }
  updateSuppression();
}

void MesosDriver::onUpdate(const v1::TaskStatus& status) {
  if (status.has_uuid()) {
    SchedulerCall ack;
    ack.set_type(SchedulerCall::ACKNOWLEDGE);
    *ack.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
    *ack.mutable_acknowledge()->mutable_task_id() = status.task_id();
    ack.mutable_acknowledge()->set_uuid(status.uuid());
    send(std::move(ack));
  }
  const std::string& id = status.task_id().value();
  auto it = tms_.find(id);
  std::string state = v1::TaskState_Name(status.state());
  if (it == tms_.end()) {
    if (!terminal(status.state())) {
      // Not ours (any more): make sure it does not keep resources.
      log_->warn("unknown task {} is {}; killing it", id, state);
      sendKill(id, status.agent_id().value());
    }
    return;
  }
  Tm& tm = it->second;
  tm.lastUpdate = loop_.now();
  log_->info("{} is {}{}", id, state, status.message().empty() ? "" : ": " + status.message());
  if (tm.state == TmState::kKilling && !terminal(status.state())) {
    sendKill(tm.id, tm.agentId);  // an earlier KILL was lost
    return;
  }
  if (status.state() == v1::TASK_STARTING || status.state() == v1::TASK_RUNNING) {
    if (tm.state == TmState::kLaunched) tm.state = TmState::kRunning;
    if (!tm.started && listener_ != nullptr) {
      tm.started = true;
      listener_->onTaskManagerStarted(id);
    }
    return;
  }
  if (terminal(status.state())) {
    std::string reason = state;
    if (status.has_reason()) reason += " (" + v1::TaskStatus::Reason_Name(status.reason()) + ")";
    if (!status.message().empty()) reason += ": " + status.message();
    terminated(id, reason);
  }
}

void MesosDriver::terminated(const std::string& id, const std::string& reason) {
  auto it = tms_.find(id);
  if (it == tms_.end()) return;
  tms_.erase(it);
  if (listener_ != nullptr) listener_->onTaskManagerTerminated(id, reason);
  updateSuppression();
}

}  // namespace tailor::scheduler::mesos
