#include "scheduler/resourcemanager/resource_manager.hpp"

#include "common/logging.hpp"
#include "scheduler/resourcemanager/slot_planner.hpp"

namespace tailor::scheduler {

ResourceManager::ResourceManager(EventLoop& loop, ResourceManagerDriver& driver,
                                 ResourceManagerConfig config)
    : loop_(loop), driver_(driver), config_(std::move(config)), log_(logger("resourcemanager")) {}

ResourceManager::~ResourceManager() {
  if (heartbeatTimer_) loop_.cancelTimer(*heartbeatTimer_);
  if (backoffTimer_) loop_.cancelTimer(*backoffTimer_);
  for (auto& [id, tm] : taskManagers_) {
    if (tm.idleTimer) loop_.cancelTimer(*tm.idleTimer);
    if (tm.registrationTimer) loop_.cancelTimer(*tm.registrationTimer);
  }
}

void ResourceManager::start() {
  driver_.start(this);
  checkHeartbeats();
}

void ResourceManager::declareRequirements(const std::map<Resources, int>& requirements) {
  requirements_.clear();
  for (const auto& [profile, count] : requirements) {
    if (count > 0) requirements_[profile] = count;
  }
  reconcile();
}

void ResourceManager::reconcile() {
  if (reconciling_ || releasingAll_) {
    return;
  }
  reconciling_ = true;
  std::vector<TaskManagerView> views;
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRegistered) {
      views.push_back(TaskManagerView{id, tm.free, true});
    } else if (tm.state == TmState::kRequested || tm.state == TmState::kStarted) {
      views.push_back(TaskManagerView{id, tm.spec.total, false});
    }
  }
  SlotPlan plan = planSlots(requirements_, std::move(views), [this](const Resources& profile) {
    return slotProfileFor(config_.sizing, profile);
  });
  for (const auto& cut : plan.cuts) {
    TaskManager& tm = taskManagers_.at(cut.taskManagerId);
    Slot slot{"slot-" + std::to_string(nextSlot_++), tm.id, tm.address, cut.slotProfile};
    if (owner_ == nullptr || !owner_->offerSlot(slot)) {
      log_->debug("slot {} on {} refused by the job master", slot.id, tm.id);
      continue;
    }
    tm.free -= cut.slotProfile;
    tm.slots.emplace(slot.id, slot);
    if (--requirements_[cut.taskProfile] <= 0) {
      requirements_.erase(cut.taskProfile);
    }
    log_->debug("slot {} ({}) cut from {}", slot.id, slot.profile.toString(), tm.id);
  }
  std::vector<TaskManagerSpec> specs;
  if (loop_.now() >= launchesBlockedUntil_) specs = planTaskManagers(config_.sizing, plan.unmet);
  for (auto& spec : specs) {
    std::string id = "tm-" + std::to_string(nextTaskManager_++);
    TaskManager tm;
    tm.id = id;
    tm.spec = spec;
    tm.report.set_id(id);
    *tm.report.mutable_resources() = spec.total.toReport();
    tm.report.set_slots(static_cast<int>(spec.slots.size()));
    tm.report.set_requested_at(loop_.wallSeconds());
    taskManagers_.emplace(id, std::move(tm));
    log_->info("requesting {} with {} ({} slots of {})", id, spec.total.toString(),
               spec.slots.size(), spec.slots.empty() ? "-" : spec.slots.front().toString());
    if (observer_ != nullptr) observer_->onTaskManagerRequested(id, spec);
    driver_.launchTaskManager(id, spec);
  }
  for (auto& [id, tm] : taskManagers_) {
    updateIdle(tm);
  }
  reconciling_ = false;
}

bool ResourceManager::isIdle(const TaskManager& tm) const {
  return tm.state == TmState::kRegistered && tm.slots.empty() &&
         partitionHolders_.count(tm.id) == 0;
}

void ResourceManager::updateIdle(TaskManager& tm) {
  if (!isIdle(tm)) {
    if (tm.idleTimer) {
      loop_.cancelTimer(*tm.idleTimer);
      tm.idleTimer.reset();
    }
    return;
  }
  if (tm.idleTimer) {
    return;
  }
  std::string id = tm.id;
  tm.idleTimer = loop_.runAfter(config_.idleTimeout, [this, id] {
    auto it = taskManagers_.find(id);
    if (it == taskManagers_.end()) return;
    it->second.idleTimer.reset();
    if (isIdle(it->second)) {
      log_->info("{} idle for {} ms, releasing it", id, config_.idleTimeout.count());
      release(it->second, "released when idle");
    }
  });
}

void ResourceManager::release(TaskManager& tm, const std::string& how) {
  if (tm.state == TmState::kReleasing || tm.state == TmState::kGone) {
    return;
  }
  if (tm.idleTimer) {
    loop_.cancelTimer(*tm.idleTimer);
    tm.idleTimer.reset();
  }
  // A request the driver never started is withdrawn, not released.
  bool started = tm.state != TmState::kRequested;
  tm.state = TmState::kReleasing;
  tm.report.set_exit(started ? how : "never started: request withdrawn (" + how + ")");
  driver_.releaseTaskManager(tm.id);
}

void ResourceManager::markLost(TaskManager& tm, const std::string& reason) {
  if (tm.state == TmState::kGone) {
    return;
  }
  bool wasReleasing = tm.state == TmState::kReleasing;
  log_->warn("{} lost: {}", tm.id, reason);
  release(tm, "lost: " + reason);
  tm.slots.clear();
  if (!wasReleasing && !tm.ownerNotified && owner_ != nullptr) {
    tm.ownerNotified = true;
    owner_->onTaskManagerLost(tm.id, reason);
  }
}

void ResourceManager::releaseSlot(const std::string& slotId) {
  for (auto& [id, tm] : taskManagers_) {
    auto it = tm.slots.find(slotId);
    if (it == tm.slots.end()) continue;
    tm.free += it->second.profile;
    tm.slots.erase(it);
    break;
  }
  reconcile();
}

void ResourceManager::setPartitionHolders(const std::set<std::string>& taskManagerIds) {
  partitionHolders_ = taskManagerIds;
  for (auto& [id, tm] : taskManagers_) {
    updateIdle(tm);
  }
}

void ResourceManager::reportUnreachable(const std::string& taskManagerId, const std::string& why) {
  auto it = taskManagers_.find(taskManagerId);
  if (it != taskManagers_.end() && it->second.state != TmState::kGone &&
      it->second.state != TmState::kReleasing) {
    markLost(it->second, why);
    reconcile();
  }
}

void ResourceManager::releaseAll() {
  releasingAll_ = true;
  requirements_.clear();
  for (auto& [id, tm] : taskManagers_) {
    tm.slots.clear();
    release(tm, "released at job end");
  }
}

void ResourceManager::onTaskManagerStarted(const std::string& taskManagerId) {
  auto it = taskManagers_.find(taskManagerId);
  if (it == taskManagers_.end()) return;
  TaskManager& tm = it->second;
  // Under Mesos the start notice may come after the TM registered already.
  if (tm.state != TmState::kRequested) return;
  tm.state = TmState::kStarted;
  tm.report.set_launched_at(loop_.wallSeconds());
  std::string id = tm.id;
  tm.registrationTimer = loop_.runAfter(config_.registrationTimeout, [this, id] {
    auto found = taskManagers_.find(id);
    if (found == taskManagers_.end()) return;
    found->second.registrationTimer.reset();
    if (found->second.state == TmState::kStarted) {
      markLost(found->second, fmt::format("not registered within {} ms",
                                          config_.registrationTimeout.count()));
      reconcile();
    }
  });
}

void ResourceManager::onTaskManagerTerminated(const std::string& taskManagerId,
                                              const std::string& reason) {
  auto it = taskManagers_.find(taskManagerId);
  if (it == taskManagers_.end()) return;
  TaskManager& tm = it->second;
  if (tm.state == TmState::kGone) return;
  bool neverRegistered = tm.report.registered_at() == 0;
  bool released = tm.state == TmState::kReleasing && tm.report.exit().rfind("lost", 0) != 0;
  if (tm.state != TmState::kReleasing) {
    markLost(tm, reason);
  }
  if (tm.registrationTimer) {
    loop_.cancelTimer(*tm.registrationTimer);
    tm.registrationTimer.reset();
  }
  tm.state = TmState::kGone;
  if (!tm.ownerNotified && owner_ != nullptr) {
    // Released TMs take their (no longer needed) partitions with them.
    tm.ownerNotified = true;
    owner_->onTaskManagerLost(tm.id, tm.report.exit());
  }
  if (tm.idleTimer) {
    loop_.cancelTimer(*tm.idleTimer);
    tm.idleTimer.reset();
  }
  if (tm.report.launched_at() > 0) tm.report.set_released_at(loop_.wallSeconds());
  log_->info("{} terminated ({}; {})", tm.id, tm.report.exit(), reason);
  if (observer_ != nullptr) observer_->onTaskManagerReleased(tm.id, tm.report.exit());
  if (neverRegistered && !released && !releasingAll_) {
    onStartFailure(tm.id, reason);
    return;
  }
  reconcile();
}

void ResourceManager::onStartFailure(const std::string& taskManagerId, const std::string& reason) {
  startFailures_ += 1;
  if (startFailures_ >= config_.maxStartFailures) {
    std::string message = fmt::format(
        "{} TaskManagers in a row ended before registering; the last, {}: {}", startFailures_,
        taskManagerId, reason);
    log_->error("{}", message);
    if (owner_ != nullptr) owner_->onResourcesUnavailable(message);
    return;
  }
  Duration backoff = config_.startFailureBackoff * (1 << std::min(startFailures_ - 1, 4));
  log_->warn("{} ended before registering ({}); next launch in {} ms", taskManagerId, reason,
             backoff.count());
  launchesBlockedUntil_ = loop_.now() + backoff;
  if (backoffTimer_) loop_.cancelTimer(*backoffTimer_);
  backoffTimer_ = loop_.runAfter(backoff, [this] {
    backoffTimer_.reset();
    reconcile();
  });
}

Result<v1::RegisterTaskManagerResponse> ResourceManager::registerTaskManager(
    const v1::RegisterTaskManagerRequest& request) {
  v1::RegisterTaskManagerResponse response;
  auto it = taskManagers_.find(request.taskmanager_id());
  if (it == taskManagers_.end() || it->second.state == TmState::kGone ||
      it->second.state == TmState::kReleasing || releasingAll_) {
    response.set_accepted(false);
    response.set_reason("unknown or released TaskManager " + request.taskmanager_id());
    log_->warn("refused registration of {} from {}", request.taskmanager_id(), request.address());
    return response;
  }
  TaskManager& tm = it->second;
  if (tm.state != TmState::kRegistered) {
    startFailures_ = 0;
    if (tm.registrationTimer) {
      loop_.cancelTimer(*tm.registrationTimer);
      tm.registrationTimer.reset();
    }
    tm.state = TmState::kRegistered;
    tm.address = request.address();
    tm.free = tm.spec.total;
    tm.report.set_registered_at(loop_.wallSeconds());
    if (tm.report.launched_at() == 0) tm.report.set_launched_at(tm.report.registered_at());
    log_->info("{} registered from {} with {}", tm.id, tm.address, tm.spec.total.toString());
    if (observer_ != nullptr) observer_->onTaskManagerRegistered(tm.id);
  }
  tm.lastHeartbeat = loop_.now();
  response.set_accepted(true);
  response.set_heartbeat_interval_ms(config_.heartbeatInterval.count());
  response.set_heartbeat_timeout_ms(config_.heartbeatTimeout.count());
  loop_.post([this] { reconcile(); });
  return response;
}

Result<v1::HeartbeatResponse> ResourceManager::heartbeat(const v1::HeartbeatRequest& request) {
  v1::HeartbeatResponse response;
  auto it = taskManagers_.find(request.taskmanager_id());
  bool known = it != taskManagers_.end() && it->second.state == TmState::kRegistered;
  if (known) it->second.lastHeartbeat = loop_.now();
  response.set_known(known);
  return response;
}

void ResourceManager::checkHeartbeats() {
  MonotonicTime now = loop_.now();
  bool lostAny = false;
  for (auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRegistered && now - tm.lastHeartbeat > config_.heartbeatTimeout) {
      markLost(tm, fmt::format("no heartbeat for {} ms", config_.heartbeatTimeout.count()));
      lostAny = true;
    }
  }
  if (lostAny) reconcile();
  heartbeatTimer_ = loop_.runAfter(config_.heartbeatInterval, [this] { checkHeartbeats(); });
}

bool ResourceManager::allReleased() const {
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state != TmState::kGone) return false;
  }
  return true;
}

std::vector<v1::TaskManagerReport> ResourceManager::taskManagerReports() const {
  std::vector<v1::TaskManagerReport> reports;
  for (const auto& [id, tm] : taskManagers_) {
    reports.push_back(tm.report);
  }
  std::sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) {
    return std::stoi(a.id().substr(3)) < std::stoi(b.id().substr(3));
  });
  return reports;
}

}  // namespace tailor::scheduler
