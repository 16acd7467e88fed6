#include "mesos/offer_loop.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <tuple>

#include "common/logging.hpp"
#include "common/metrics.hpp"

namespace tailor::mesos {

namespace v1 = ::mesos::v1;

namespace {

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

}  // namespace

void addScalarResources(google::protobuf::RepeatedPtrField<v1::Resource>* out, const Resources& r,
                        const std::string& role) {
  if (r.milliCpus > 0) *out->Add() = scalar("cpus", r.cpus(), role);
  if (r.memMib > 0) *out->Add() = scalar("mem", static_cast<double>(r.memMib), role);
  if (r.diskMib > 0) *out->Add() = scalar("disk", static_cast<double>(r.diskMib), role);
  if (r.gpus > 0) *out->Add() = scalar("gpus", static_cast<double>(r.gpus), role);
}

bool isTerminal(v1::TaskState state) {
  switch (state) {
    case v1::TASK_FINISHED:
    case v1::TASK_FAILED:
    case v1::TASK_KILLED:
    case v1::TASK_LOST:
    case v1::TASK_ERROR:
    case v1::TASK_DROPPED:
    case v1::TASK_GONE:
    case v1::TASK_GONE_BY_OPERATOR:
      return true;
    default:
      return false;  // TASK_UNREACHABLE and TASK_UNKNOWN may be running again later
  }
}

bool isUnreachable(v1::TaskState state) {
  return state == v1::TASK_UNREACHABLE || state == v1::TASK_UNKNOWN;
}

v1::FrameworkInfo makeFrameworkInfo(const FrameworkSettings& settings) {
  v1::FrameworkInfo info;
  if (settings.user.empty()) {
    const passwd* entry = getpwuid(getuid());
    info.set_user(entry != nullptr ? entry->pw_name : "root");
  } else {
    info.set_user(settings.user);
  }
  info.set_name(settings.name);
  info.add_roles(settings.role);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (settings.gpus) {
    info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::GPU_RESOURCES);
  }
  if (settings.partitionAware) {
    info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::PARTITION_AWARE);
  }
  info.set_failover_timeout(settings.failoverTimeoutSeconds);
  info.set_checkpoint(settings.checkpoint);
  if (!settings.principal.empty()) info.set_principal(settings.principal);
  if (!settings.hostname.empty()) info.set_hostname(settings.hostname);
  if (!settings.webuiUrl.empty()) info.set_webui_url(settings.webuiUrl);
  return info;
}

std::string bindAddressFor(const std::string& hostname) {
  bool literal = !hostname.empty() &&
                 std::all_of(hostname.begin(), hostname.end(), [](unsigned char c) {
                   return std::isdigit(c) || c == '.' || c == ':';
                 });
  return literal ? hostname : "0.0.0.0";
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

OfferLoop::OfferLoop(EventLoop& loop, OfferLoopConfig config, OfferLoopOwner& owner,
                     const std::string& loggerName)
    : loop_(loop), config_(std::move(config)), owner_(owner), log_(logger(loggerName)) {}

OfferLoop::~OfferLoop() {
  if (reconcileTimer_) loop_.cancelTimer(*reconcileTimer_);
  if (batchTimer_) loop_.cancelTimer(*batchTimer_);
}

namespace {

void countMesosEvent(const char* name, const char* help, double amount = 1) {
  metrics::defaultRegistry().counter(name, help).inc(amount);
}

}  // namespace

void OfferLoop::start(const v1::FrameworkInfo& info) { connection_->start(info); }

void OfferLoop::send(SchedulerCall call) {
  if (connection_ != nullptr && !tornDown_) connection_->send(std::move(call));
}

bool OfferLoop::pending(const std::string& taskId) const {
  auto it = tasks_.find(taskId);
  return it != tasks_.end() && it->second.state == State::kPending;
}

void OfferLoop::request(const std::string& taskId, const Resources& resources, int portsNeeded) {
  Task task;
  task.resources = resources;
  task.portsNeeded = portsNeeded;
  tasks_[taskId] = task;
  updateSuppression();
}

bool OfferLoop::withdraw(const std::string& taskId) {
  if (!pending(taskId)) return false;
  tasks_.erase(taskId);
  updateSuppression();
  return true;
}

void OfferLoop::adopt(const std::string& taskId, const std::string& agentId) {
  Task task;
  task.state = State::kLaunched;
  task.agentId = agentId;
  tasks_[taskId] = task;
}

void OfferLoop::kill(const std::string& taskId, Duration grace) {
  auto it = tasks_.find(taskId);
  if (it == tasks_.end()) return;
  if (it->second.state == State::kPending) {
    withdraw(taskId);
    return;
  }
  if (it->second.state == State::kKilling) return;
  it->second.state = State::kKilling;
  if (grace.count() == 0) {
    sendKill(taskId, it->second.agentId);
    return;
  }
  loop_.runAfter(grace, [this, taskId] {
    auto found = tasks_.find(taskId);
    if (found != tasks_.end()) sendKill(taskId, found->second.agentId);  // still there
  });
}

void OfferLoop::sendKill(const std::string& taskId, const std::string& agentId) {
  SchedulerCall call;
  call.set_type(SchedulerCall::KILL);
  call.mutable_kill()->mutable_task_id()->set_value(taskId);
  if (!agentId.empty()) call.mutable_kill()->mutable_agent_id()->set_value(agentId);
  log_->info("killing {} on agent {}", taskId, agentId);
  send(std::move(call));
}

void OfferLoop::teardown() {
  if (tornDown_) return;
  SchedulerCall call;
  call.set_type(SchedulerCall::TEARDOWN);
  log_->info("tearing down framework {}", connection_->frameworkId());
  send(std::move(call));
  tornDown_ = true;
}

void OfferLoop::updateSuppression() {
  bool wanted = anyPending();
  if (connection_ == nullptr || !connection_->subscribed()) return;
  if (wanted && suppressed_) {
    SchedulerCall call;
    call.set_type(SchedulerCall::REVIVE);
    call.mutable_revive()->add_roles(config_.role);
    log_->info("reviving offers: tasks are pending");
    suppressed_ = false;
    send(std::move(call));
  } else if (!wanted && !suppressed_) {
    SchedulerCall call;
    call.set_type(SchedulerCall::SUPPRESS);
    call.mutable_suppress()->add_roles(config_.role);
    log_->info("suppressing offers: nothing pending");
    suppressed_ = true;
    send(std::move(call));
  }
}

void OfferLoop::onSubscribed(const std::string& frameworkId, bool isNewFramework) {
  countMesosEvent("tailor_mesos_subscriptions_total",
                  "SUBSCRIBED events from the Mesos master (the first and every re-subscription)");
  // A new subscription starts with offers flowing; decide again.
  suppressed_ = false;
  if (isNewFramework) {
    // A new framework id: tasks of the old one are gone with it.
    std::vector<std::string> gone;
    for (const auto& [id, task] : tasks_) {
      if (task.state != State::kPending) gone.push_back(id);
    }
    for (const auto& id : gone) ended(id, "its framework was removed", nullptr);
  }
  // A KILL sent while disconnected was dropped: send it again.
  for (const auto& [id, task] : tasks_) {
    if (task.state == State::kKilling) sendKill(id, task.agentId);
  }
  reconcileStartedAt_ = loop_.now();
  reconcile(config_.reconcileBackoff);
  updateSuppression();
}

void OfferLoop::reconcile(Duration backoff) {
  if (reconcileTimer_) {
    loop_.cancelTimer(*reconcileTimer_);
    reconcileTimer_.reset();
  }
  SchedulerCall call;
  call.set_type(SchedulerCall::RECONCILE);
  for (const auto& [id, task] : tasks_) {
    // Unreachable tasks are asked about until Mesos knows them again.
    if (task.state == State::kPending ||
        (task.lastUpdate > reconcileStartedAt_ && !task.unreachable)) {
      continue;
    }
    auto* entry = call.mutable_reconcile()->add_tasks();
    entry->mutable_task_id()->set_value(id);
    if (!task.agentId.empty()) entry->mutable_agent_id()->set_value(task.agentId);
  }
  if (call.reconcile().tasks_size() == 0) return;
  log_->info("reconciling {} tasks", call.reconcile().tasks_size());
  send(std::move(call));
  Duration next = std::min<Duration>(backoff * 2, Duration(10 * 60 * 1000));
  reconcileTimer_ = loop_.runAfter(backoff, [this, next] {
    reconcileTimer_.reset();
    reconcile(next);
  });
}

void OfferLoop::processHeldOffers() {
  batchTimer_.reset();
  v1::scheduler::Event::Offers offers;
  for (auto& [id, offer] : held_) *offers.add_offers() = std::move(offer);
  held_.clear();
  if (offers.offers_size() > 0) onOffers(offers);
}

void OfferLoop::onDisconnected(const std::string& reason) {
  held_.clear();  // offers of the old stream are void
  log_->warn("lost the Mesos master ({}); offers dropped, re-subscribing", reason);
}

void OfferLoop::onEvent(const SchedulerEvent& event) {
  switch (event.type()) {
    case SchedulerEvent::OFFERS:
      countMesosEvent("tailor_mesos_offers_received_total", "Offers received from Mesos",
                      event.offers().offers_size());
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

namespace {

bool larger(const Resources& a, const Resources& b) {
  return std::make_tuple(a.milliCpus, a.memMib, a.diskMib, a.gpus) >
         std::make_tuple(b.milliCpus, b.memMib, b.diskMib, b.gpus);
}

}  // namespace

bool OfferLoop::anyPending() const {
  return std::any_of(tasks_.begin(), tasks_.end(),
                     [](const auto& entry) { return entry.second.state == State::kPending; });
}

std::optional<Resources> OfferLoop::largestAgentOffer() const {
  std::optional<Resources> largest;
  for (const auto& [id, agent] : agents_) {
    if (!largest || larger(agent.largest, *largest)) largest = agent.largest;
  }
  return largest;
}

std::string OfferLoop::describeOffersSeen() const {
  if (agents_.empty()) return "no offer has been received from the Mesos master";
  std::vector<std::pair<std::string, const AgentSeen*>> ordered;
  for (const auto& [id, agent] : agents_) ordered.emplace_back(id, &agent);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return larger(a.second->largest, b.second->largest);
  });
  std::string text = fmt::format("{} agent{} offered at most: ", ordered.size(),
                                 ordered.size() == 1 ? "" : "s");
  for (size_t i = 0; i < ordered.size() && i < 3; ++i) {
    if (i > 0) text += "; ";
    text += fmt::format("agent {} ({}) {}", ordered[i].first, ordered[i].second->hostname,
                        ordered[i].second->largest.toString());
  }
  if (ordered.size() > 3) text += fmt::format("; {} more, smaller", ordered.size() - 3);
  return text;
}

std::optional<std::pair<std::string, Resources>> OfferLoop::closestAgentOffer(
    const Resources& need) const {
  const std::pair<const std::string, AgentSeen>* closest = nullptr;
  for (const auto& entry : agents_) {
    if (closest == nullptr || closerFit(need, entry.second.largest, closest->second.largest)) {
      closest = &entry;
    }
  }
  if (closest == nullptr) return std::nullopt;
  return std::make_pair(fmt::format("agent {} ({})", closest->first, closest->second.hostname),
                        closest->second.largest);
}

void OfferLoop::onOffers(const v1::scheduler::Event::Offers& event) {
  std::vector<OfferView> views;
  std::map<std::string, const v1::Offer*> byId;
  for (const auto& offer : event.offers()) {
    views.push_back(offerView(offer, config_.role));
    byId[offer.id().value()] = &offer;
    AgentSeen& agent = agents_[views.back().agentId];
    agent.hostname = views.back().hostname;
    if (larger(views.back().resources, agent.largest)) agent.largest = views.back().resources;
  }
  std::vector<PendingTaskManager> waiting;
  for (const auto& [id, task] : tasks_) {
    if (task.state == State::kPending) {
      waiting.push_back(PendingTaskManager{id, task.resources, task.portsNeeded});
    }
  }
  MatchResult match = matchOffers(views, waiting);
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
      Task& task = tasks_.at(placement->taskManagerId);
      task.state = State::kLaunched;
      task.agentId = offer.agent_id().value();
      *operation->mutable_launch()->add_task_infos() =
          owner_.makeTask(placement->taskManagerId, offer, placement->ports);
    }
    call.mutable_accept()->mutable_filters()->set_refuse_seconds(refuseSeconds);
    send(std::move(call));
    countMesosEvent("tailor_mesos_offers_accepted_total", "Offers accepted (with LAUNCH)");
    // Launched: Mesos holds the resources for it from the ACCEPT on.
    for (const Placement* placement : placements) {
      owner_.onTaskLaunched(placement->taskManagerId, offer);
    }
  }
  unplaced_ = anyPending();
  if (!match.unusedOfferIds.empty()) {
    SchedulerCall call;
    call.set_type(SchedulerCall::DECLINE);
    for (const auto& offerId : match.unusedOfferIds) {
      *call.mutable_decline()->add_offer_ids() = byId.at(offerId)->id();
    }
    call.mutable_decline()->mutable_filters()->set_refuse_seconds(refuseSeconds);
    log_->debug("declining {} offers for {} s", match.unusedOfferIds.size(), refuseSeconds);
    send(std::move(call));
    countMesosEvent("tailor_mesos_offers_declined_total", "Offers declined (unused)",
                    static_cast<double>(match.unusedOfferIds.size()));
  }
  updateSuppression();
}

void OfferLoop::onUpdate(const v1::TaskStatus& status) {
  if (status.has_uuid()) {
    SchedulerCall ack;
    ack.set_type(SchedulerCall::ACKNOWLEDGE);
    *ack.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
    *ack.mutable_acknowledge()->mutable_task_id() = status.task_id();
    ack.mutable_acknowledge()->set_uuid(status.uuid());
    send(std::move(ack));
  }
  const std::string& id = status.task_id().value();
  auto it = tasks_.find(id);
  std::string state = v1::TaskState_Name(status.state());
  if (it == tasks_.end()) {
    if (!isTerminal(status.state())) {
      // Not ours (any more): make sure it does not keep resources.
      log_->warn("unknown task {} is {}; killing it", id, state);
      sendKill(id, status.agent_id().value());
    }
    return;
  }
  Task& task = it->second;
  task.lastUpdate = loop_.now();
  if (task.agentId.empty() && status.has_agent_id()) task.agentId = status.agent_id().value();
  task.unreachable = isUnreachable(status.state());
  log_->info("{} is {}{}", id, state, status.message().empty() ? "" : ": " + status.message());
  if (task.state == State::kKilling && !isTerminal(status.state())) {
    // An earlier KILL was lost; one for a task Mesos cannot reach waits
    // until it is seen again.
    if (!task.unreachable) sendKill(id, task.agentId);
    return;
  }
  if (!isTerminal(status.state())) {
    owner_.onTaskUpdate(id, status);
    return;
  }
  std::string reason = state;
  if (status.has_reason()) reason += " (" + v1::TaskStatus::Reason_Name(status.reason()) + ")";
  if (!status.message().empty()) reason += ": " + status.message();
  ended(id, reason, &status);
}

void OfferLoop::ended(const std::string& taskId, const std::string& reason,
                      const v1::TaskStatus* status) {
  auto it = tasks_.find(taskId);
  if (it == tasks_.end()) return;
  tasks_.erase(it);
  owner_.onTaskEnded(taskId, reason, status);
  updateSuppression();
}

}  // namespace tailor::mesos
