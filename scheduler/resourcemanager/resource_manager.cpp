#include "scheduler/resourcemanager/resource_manager.hpp"

#include <algorithm>

#include "common/logging.hpp"

namespace tailor::scheduler {

ResourceManager::ResourceManager(EventLoop& loop, ResourceManagerDriver& driver,
                                 ResourceManagerConfig config)
    : loop_(loop), driver_(driver), config_(std::move(config)), log_(logger("resourcemanager")) {}

ResourceManager::~ResourceManager() {
  if (heartbeatTimer_) loop_.cancelTimer(*heartbeatTimer_);
  if (backoffTimer_) loop_.cancelTimer(*backoffTimer_);
  if (waitTimer_) loop_.cancelTimer(*waitTimer_);
  for (auto& [id, tm] : taskManagers_) cancelTimers(tm);
}

void ResourceManager::cancelTimers(TaskManager& tm) {
  for (auto* timer : {&tm.idleTimer, &tm.registrationTimer, &tm.unreachableTimer}) {
    if (*timer) loop_.cancelTimer(**timer);
    timer->reset();
  }
}

void ResourceManager::start() {
  driver_.start(this);
  checkHeartbeats();
}

void ResourceManager::requestPass() {
  if (passPosted_) return;
  passPosted_ = true;
  loop_.post([this] { runPass(); });
}

void ResourceManager::declareRequirements(const std::map<Resources, int>& requirements) {
  requirements_.clear();
  for (const auto& [profile, count] : requirements) {
    if (count > 0) requirements_[profile] = count;
  }
  requestPass();
}

void ResourceManager::notifyOwner() {
  if (owner_ == nullptr) {
    lostToTell_.clear();
    adoptedToTell_.clear();
    unavailableToTell_.reset();
    return;
  }
  auto lost = std::move(lostToTell_);
  lostToTell_.clear();
  for (const auto& [id, reason] : lost) owner_->onTaskManagerLost(id, reason);
  auto adopted = std::move(adoptedToTell_);
  adoptedToTell_.clear();
  for (const auto& [slot, attemptId] : adopted) {
    auto tm = taskManagers_.find(slot.taskManagerId);
    if (tm == taskManagers_.end() || tm->second.slots.count(slot.id) == 0) continue;
    if (owner_->adoptSlot(slot, attemptId)) continue;
    log_->info("slot {} of {} ({}) refused by the job master", slot.id, attemptId, slot.taskManagerId);
    tm->second.free += slot.profile;
    tm->second.slots.erase(slot.id);
  }
  if (unavailableToTell_ && !gaveUp_) {
    gaveUp_ = true;
    std::string message = std::move(*unavailableToTell_);
    unavailableToTell_.reset();
    owner_->onResourcesUnavailable(message);
  }
}

void ResourceManager::runPass() {
  passPosted_ = false;
  notifyOwner();
  if (releasingAll_ || gaveUp_) return;

  // Registered TMs get cuts; pending ones absorb demand, those closest to
  // running first. A request too large for what the driver can place now
  // absorbs nothing and is withdrawn below.
  Resources largest = driver_.maxTaskManager();
  std::vector<TaskManagerView> views;
  std::vector<const TaskManager*> pending;
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRegistered) {
      views.push_back(TaskManagerView{id, tm.free, true});
    } else if (tm.state == TmState::kStarted ||
               (tm.state == TmState::kRequested && largest.contains(tm.spec.total))) {
      pending.push_back(&tm);
    }
  }
  std::sort(pending.begin(), pending.end(), [](const TaskManager* a, const TaskManager* b) {
    bool aStarted = a->state == TmState::kStarted;
    bool bStarted = b->state == TmState::kStarted;
    return aStarted != bStarted ? aStarted : a->number < b->number;
  });
  for (const TaskManager* tm : pending) views.push_back(TaskManagerView{tm->id, tm->spec.total, false});
  SlotPlan plan = planSlots(requirements_, std::move(views), [this](const Resources& profile) {
    return slotProfileFor(config_.sizing, profile);
  });
  applyCuts(plan.cuts);
  withdrawUnneeded(plan.pendingNeeded, largest);
  bool leftUnmet = requestTaskManagers(plan.unmet, largest);
  bool demandWaits = !plan.unmet.empty();
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRequested) demandWaits = true;
  }
  for (auto& [id, tm] : taskManagers_) updateIdle(tm, demandWaits);
  if (holdsAny()) lastHeldAt_ = loop_.now();
  // Partitions move only when room is short, not while offers are slow.
  updateWaiting(demandWaits, leftUnmet || driver_.placementBlocked());
}

void ResourceManager::applyCuts(const std::vector<SlotCut>& cuts) {
  for (const auto& cut : cuts) {
    TaskManager& tm = taskManagers_.at(cut.taskManagerId);
    for (int n = 0; n < cut.count; ++n) {
      Slot slot{"slot-" + std::to_string(nextSlot_++), tm.id, tm.address, cut.slotProfile};
      if (owner_ == nullptr || !owner_->offerSlot(slot)) {
        log_->debug("slot {} on {} refused by the job master", slot.id, tm.id);
        break;  // the owner has no task for this profile now
      }
      tm.free -= cut.slotProfile;
      tm.slots.emplace(slot.id, slot);
      tm.everUsed = true;
      if (--requirements_[cut.taskProfile] <= 0) requirements_.erase(cut.taskProfile);
      log_->debug("slot {} ({}) cut from {}", slot.id, slot.profile.toString(), tm.id);
    }
  }
}

void ResourceManager::withdrawUnneeded(const std::set<std::string>& pendingNeeded,
                                       const Resources& largest) {
  for (auto& [id, tm] : taskManagers_) {
    if (tm.state != TmState::kRequested || pendingNeeded.count(id) != 0) continue;
    tm.endDetail = largest.contains(tm.spec.total)
                       ? "its demand went away"
                       : "larger than the cluster can place (" + largest.toString() + ")";
    log_->info("withdrawing the request for {}: {}", id, tm.endDetail);
    release(tm, TmEnd::kWithdrawn);
  }
}

bool ResourceManager::requestTaskManagers(const std::map<Resources, int>& unmet,
                                          const Resources& largest) {
  if (unmet.empty() || loop_.now() < launchesBlockedUntil_) return false;
  SizingConfig sizing = config_.sizing;
  sizing.maxTaskManager = largest;
  std::optional<Resources> room = driver_.capacity();
  if (room) {
    for (const auto& [id, tm] : taskManagers_) {
      if (tm.state != TmState::kGone) *room -= tm.spec.total;
    }
  }
  std::vector<TaskManagerSpec> specs = planTaskManagers(sizing, unmet, room);
  std::int64_t unmetSlots = 0;
  std::int64_t plannedSlots = 0;
  for (const auto& [profile, count] : unmet) unmetSlots += count;
  for (const auto& spec : specs) plannedSlots += static_cast<std::int64_t>(spec.slots.size());
  for (auto& spec : specs) {
    std::uint64_t number = nextTaskManager_++;
    std::string id = "tm-" + std::to_string(number);
    TaskManager tm;
    tm.id = id;
    tm.number = number;
    tm.spec = spec;
    tm.requestedAt = loop_.now();
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
  return plannedSlots < unmetSlots;
}

bool ResourceManager::holds(const TaskManager& tm) {
  // Launched and not gone: a withdrawn request is releasing too, but never
  // held anything.
  return tm.state != TmState::kGone && tm.report.launched_at() > 0;
}

bool ResourceManager::holdsAny() const {
  return std::any_of(taskManagers_.begin(), taskManagers_.end(),
                     [](const auto& entry) { return holds(entry.second); });
}

std::string ResourceManager::describeDemand() const {
  std::string text;
  for (const auto& [profile, count] : requirements_) {
    if (!text.empty()) text += ", ";
    text += fmt::format("{} slot{} of {}", count, count == 1 ? "" : "s", profile.toString());
  }
  return text.empty() ? "nothing" : text;
}

void ResourceManager::updateWaiting(bool waiting, bool blocked) {
  if (waitTimer_) {
    loop_.cancelTimer(*waitTimer_);
    waitTimer_.reset();
  }
  if (!waiting) {
    waitingSince_.reset();
    return;
  }
  MonotonicTime now = loop_.now();
  if (!waitingSince_) waitingSince_ = now;
  std::optional<MonotonicTime> next;
  auto consider = [&next](MonotonicTime at) { next = next ? std::min(*next, at) : at; };

  // Partition holders that run nothing take room the waiting demand needs.
  std::set<std::string> holders;
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRegistered && tm.slots.empty() && partitionHolders_.count(id) != 0) {
      holders.insert(id);
    }
  }
  if (!holders.empty() && blocked) {
    MonotonicTime due = std::max(*waitingSince_, lastEvacuationAt_) + config_.evacuateAfter;
    if (now >= due) {
      lastEvacuationAt_ = now;
      log_->info("demand has waited {} ms for room ({}); asking to move the partitions of {} "
                 "idle holders",
                 std::chrono::duration_cast<Duration>(now - *waitingSince_).count(),
                 describeDemand(), holders.size());
      if (owner_ != nullptr) owner_->onPlacementStalled(holders);
      due = now + config_.evacuateAfter;
    }
    consider(due);
  }

  // Nothing held and nothing placed for the placement timeout: give up.
  if (!holdsAny()) {
    MonotonicTime since = std::max(*waitingSince_, lastHeldAt_);
    MonotonicTime due = since + config_.placementTimeout;
    if (now >= due && !gaveUp_) {
      std::string message = fmt::format(
          "no TaskManager could be placed for {} ms: the job waits for {}; {}",
          config_.placementTimeout.count(), describeDemand(), driver_.describeOffers());
      log_->error("{}", message);
      unavailableToTell_ = message;
      requestPass();
      return;
    }
    consider(due);
  }
  if (next) {
    waitTimer_ = loop_.runAfter(std::chrono::duration_cast<Duration>(*next - now), [this] {
      waitTimer_.reset();
      requestPass();
    });
  }
}

bool ResourceManager::isIdle(const TaskManager& tm) const {
  return tm.state == TmState::kRegistered && tm.slots.empty() &&
         partitionHolders_.count(tm.id) == 0;
}

void ResourceManager::updateIdle(TaskManager& tm, bool demandWaits) {
  if (!isIdle(tm)) {
    if (tm.idleTimer) {
      loop_.cancelTimer(*tm.idleTimer);
      tm.idleTimer.reset();
    }
    return;
  }
  // A TM nothing was ever cut from arrived after its demand went away; an
  // idle one while demand waits for room only takes that room.
  if (!tm.everUsed || demandWaits) {
    log_->info("{} is not needed ({}); releasing it now", tm.id,
               tm.everUsed ? "idle while demand waits for room" : "no demand when it registered");
    tm.endDetail = tm.everUsed ? "at once: idle while demand waits for room" : "";
    release(tm, tm.everUsed ? TmEnd::kIdle : TmEnd::kUnneeded);
    return;
  }
  if (tm.idleTimer) return;
  std::string id = tm.id;
  tm.idleTimer = loop_.runAfter(config_.idleTimeout, [this, id] {
    auto it = taskManagers_.find(id);
    if (it == taskManagers_.end()) return;
    it->second.idleTimer.reset();
    if (isIdle(it->second)) {
      log_->info("{} idle for {} ms, releasing it", id, config_.idleTimeout.count());
      release(it->second, TmEnd::kIdle);
    }
  });
}

std::string ResourceManager::exitText(TmEnd end, const std::string& detail) {
  switch (end) {
    case TmEnd::kNone:
      return "";
    case TmEnd::kWithdrawn:
      return "never started: request withdrawn (" + detail + ")";
    case TmEnd::kUnneeded:
      return "released at once: no demand left when it registered";
    case TmEnd::kIdle:
      return detail.empty() ? "released when idle" : "released " + detail;
    case TmEnd::kJobEnd:
      return "released at job end";
    case TmEnd::kLost:
      return "lost: " + detail;
  }
  return "";
}

void ResourceManager::release(TaskManager& tm, TmEnd end) {
  if (tm.state == TmState::kReleasing || tm.state == TmState::kGone) return;
  cancelTimers(tm);
  // A request the driver never started is withdrawn, not released.
  if (tm.state == TmState::kRequested && end != TmEnd::kWithdrawn) {
    tm.endDetail = exitText(end, tm.endDetail);
    end = TmEnd::kWithdrawn;
  }
  tm.state = TmState::kReleasing;
  tm.end = end;
  tm.report.set_exit(exitText(tm.end, tm.endDetail));
  driver_.releaseTaskManager(tm.id);
}

void ResourceManager::markLost(TaskManager& tm, const std::string& reason) {
  if (tm.state == TmState::kGone) return;
  bool wasReleasing = tm.state == TmState::kReleasing;
  log_->warn("{} lost: {}", tm.id, reason);
  if (!wasReleasing) tm.endDetail = reason;
  release(tm, TmEnd::kLost);
  tm.slots.clear();
  if (!wasReleasing && !tm.ownerNotified && (tm.report.registered_at() > 0 || tm.adopted)) {
    tm.ownerNotified = true;
    lostToTell_.emplace_back(tm.id, reason);
  }
  requestPass();
}

void ResourceManager::releaseSlot(const std::string& slotId) {
  for (auto& [id, tm] : taskManagers_) {
    auto it = tm.slots.find(slotId);
    if (it == tm.slots.end()) continue;
    tm.free += it->second.profile;
    tm.slots.erase(it);
    break;
  }
  requestPass();
}

void ResourceManager::setPartitionHolders(const std::set<std::string>& taskManagerIds) {
  partitionHolders_ = taskManagerIds;
  requestPass();
}

void ResourceManager::reportUnreachable(const std::string& taskManagerId, const std::string& why) {
  auto it = taskManagers_.find(taskManagerId);
  if (it != taskManagers_.end() && it->second.state != TmState::kGone &&
      it->second.state != TmState::kReleasing) {
    markLost(it->second, why);
  } else if (it == taskManagers_.end()) {
    // Not one of ours (a holder an earlier attempt knew): whatever the owner
    // thinks lives there is gone.
    lostToTell_.emplace_back(taskManagerId, why);
    requestPass();
  }
}

void ResourceManager::releaseAll() {
  releasingAll_ = true;
  requirements_.clear();
  for (auto& [id, tm] : taskManagers_) {
    tm.slots.clear();
    release(tm, TmEnd::kJobEnd);
  }
}

void ResourceManager::adoptTaskManager(const std::string& id, std::uint64_t number,
                                       const Resources& total, Duration timeout) {
  TaskManager tm;
  tm.id = id;
  tm.number = number;
  tm.spec.total = total;
  tm.state = TmState::kStarted;
  tm.adopted = true;
  tm.requestedAt = loop_.now();
  tm.report.set_id(id);
  *tm.report.mutable_resources() = total.toReport();
  tm.report.set_requested_at(loop_.wallSeconds());
  tm.report.set_launched_at(loop_.wallSeconds());
  tm.registrationTimer = loop_.runAfter(timeout, [this, id, timeout] {
    auto found = taskManagers_.find(id);
    if (found == taskManagers_.end()) return;
    found->second.registrationTimer.reset();
    if (found->second.state == TmState::kStarted) {
      markLost(found->second, fmt::format("an earlier attempt's TaskManager that did not "
                                          "register again within {} ms",
                                          timeout.count()));
    }
  });
  nextTaskManager_ = std::max(nextTaskManager_, number + 1);
  log_->info("adopting {} ({}) of an earlier attempt; waiting up to {} ms for it to register",
             id, total.toString(), timeout.count());
  taskManagers_.emplace(id, std::move(tm));
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
    }
  });
  requestPass();
}

void ResourceManager::onTaskManagerTerminated(const std::string& taskManagerId,
                                              const std::string& reason) {
  auto it = taskManagers_.find(taskManagerId);
  if (it == taskManagers_.end()) return;
  TaskManager& tm = it->second;
  if (tm.state == TmState::kGone) return;
  bool wasHeld = holds(tm);
  bool neverRegistered = tm.report.registered_at() == 0;
  bool released = tm.state == TmState::kReleasing && tm.end != TmEnd::kLost;
  if (tm.state != TmState::kReleasing) markLost(tm, reason);
  cancelTimers(tm);
  tm.state = TmState::kGone;
  if (!tm.ownerNotified && tm.report.registered_at() > 0) {
    // Released TMs take their (no longer needed) partitions with them.
    tm.ownerNotified = true;
    lostToTell_.emplace_back(tm.id, tm.report.exit());
  }
  if (tm.report.launched_at() > 0) tm.report.set_released_at(loop_.wallSeconds());
  if (wasHeld) lastHeldAt_ = loop_.now();
  log_->info("{} terminated ({}; {})", tm.id, tm.report.exit(), reason);
  if (observer_ != nullptr) {
    observer_->onTaskManagerReleased(tm.id, tm.report.exit(), tm.end == TmEnd::kLost);
  }
  if (neverRegistered && !released && !releasingAll_) onStartFailure(tm.id, reason);
  requestPass();
}

void ResourceManager::onTaskManagerUnreachable(const std::string& taskManagerId,
                                               const std::string& reason) {
  auto it = taskManagers_.find(taskManagerId);
  if (it == taskManagers_.end()) return;
  TaskManager& tm = it->second;
  if ((tm.state != TmState::kStarted && tm.state != TmState::kRegistered) || tm.unreachableTimer) {
    return;
  }
  // Its heartbeat (or, not registered yet, its registration) says whether it
  // lives; Mesos' word alone does not end it.
  log_->warn("{}: the cluster cannot reach it ({}); kept while its heartbeat lives, at most {} ms",
             tm.id, reason, config_.unreachableTimeout.count());
  std::string id = tm.id;
  tm.unreachableTimer = loop_.runAfter(config_.unreachableTimeout, [this, id, reason] {
    auto found = taskManagers_.find(id);
    if (found == taskManagers_.end()) return;
    found->second.unreachableTimer.reset();
    markLost(found->second, fmt::format("{}, and not seen running again within {} ms", reason,
                                        config_.unreachableTimeout.count()));
  });
}

void ResourceManager::onTaskManagerReachable(const std::string& taskManagerId) {
  auto it = taskManagers_.find(taskManagerId);
  if (it == taskManagers_.end() || !it->second.unreachableTimer) return;
  loop_.cancelTimer(*it->second.unreachableTimer);
  it->second.unreachableTimer.reset();
  log_->info("{}: the cluster reaches it again", taskManagerId);
}

void ResourceManager::onStartFailure(const std::string& taskManagerId, const std::string& reason) {
  startFailures_ += 1;
  if (startFailures_ >= config_.maxStartFailures) {
    std::string message = fmt::format(
        "{} TaskManagers in a row ended before registering; the last, {}: {}", startFailures_,
        taskManagerId, reason);
    log_->error("{}", message);
    unavailableToTell_ = message;
    return;
  }
  Duration backoff = config_.startFailureBackoff * (1 << std::min(startFailures_ - 1, 4));
  log_->warn("{} ended before registering ({}); next launch in {} ms", taskManagerId, reason,
             backoff.count());
  launchesBlockedUntil_ = loop_.now() + backoff;
  if (backoffTimer_) loop_.cancelTimer(*backoffTimer_);
  backoffTimer_ = loop_.runAfter(backoff, [this] {
    backoffTimer_.reset();
    requestPass();
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
    // An earlier attempt's TaskManager: the attempts it still runs keep
    // their share of it.
    for (const auto& running : request.running()) {
      if (!tm.adopted) break;
      Resources profile = Resources::fromProto(running.slot_resources());
      if (profile.isZero() || !tm.free.contains(profile)) {
        log_->warn("{} runs {} in a slot of {} it has no room for; not counted", tm.id,
                   running.attempt_id(), profile.toString());
        continue;
      }
      Slot slot{"slot-" + std::to_string(nextSlot_++), tm.id, tm.address, profile};
      tm.free -= profile;
      tm.slots.emplace(slot.id, slot);
      tm.everUsed = true;
      adoptedToTell_.emplace_back(slot, running.attempt_id());
    }
    tm.report.set_registered_at(loop_.wallSeconds());
    if (tm.report.launched_at() == 0) tm.report.set_launched_at(tm.report.registered_at());
    log_->info("{} registered from {} with {}", tm.id, tm.address, tm.spec.total.toString());
    if (observer_ != nullptr) observer_->onTaskManagerRegistered(tm.id);
  }
  tm.lastHeartbeat = loop_.now();
  response.set_accepted(true);
  response.set_heartbeat_interval_ms(config_.heartbeatInterval.count());
  response.set_heartbeat_timeout_ms(config_.heartbeatTimeout.count());
  requestPass();
  return response;
}

Result<v1::HeartbeatResponse> ResourceManager::heartbeat(const v1::HeartbeatRequest& request) {
  v1::HeartbeatResponse response;
  auto it = taskManagers_.find(request.taskmanager_id());
  bool known = it != taskManagers_.end() && it->second.state == TmState::kRegistered;
  if (known) it->second.lastHeartbeat = loop_.now();
  response.set_known(known);
  if (!known && it != taskManagers_.end() && it->second.adopted &&
      it->second.state == TmState::kStarted) {
    response.set_known(true);
    response.set_register_again(true);
  }
  return response;
}

void ResourceManager::checkHeartbeats() {
  MonotonicTime now = loop_.now();
  for (auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRegistered && now - tm.lastHeartbeat > config_.heartbeatTimeout) {
      markLost(tm, fmt::format("no heartbeat for {} ms", config_.heartbeatTimeout.count()));
    }
  }
  heartbeatTimer_ = loop_.runAfter(config_.heartbeatInterval, [this] { checkHeartbeats(); });
}

bool ResourceManager::allReleased() const {
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state != TmState::kGone) return false;
  }
  return true;
}

std::vector<v1::TaskManagerReport> ResourceManager::taskManagerReports() const {
  std::vector<const TaskManager*> ordered;
  for (const auto& [id, tm] : taskManagers_) ordered.push_back(&tm);
  std::sort(ordered.begin(), ordered.end(),
            [](const TaskManager* a, const TaskManager* b) { return a->number < b->number; });
  std::vector<v1::TaskManagerReport> reports;
  for (const TaskManager* tm : ordered) reports.push_back(tm->report);
  return reports;
}

}  // namespace tailor::scheduler
