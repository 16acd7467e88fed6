#include "scheduler/resourcemanager/resource_manager.hpp"

#include <algorithm>
#include <tuple>

#include "common/logging.hpp"
#include "common/metrics.hpp"

namespace tailor::scheduler {

class ResourceManager::JobGateway : public ResourceManagerGateway {
 public:
  JobGateway(ResourceManager& rm, Job& job) : rm_(rm), job_(job) {}
  void declareRequirements(const std::map<Resources, int>& requirements) override {
    rm_.declareRequirements(job_, requirements);
  }
  void declareSoloRequirements(const std::map<Resources, int>& requirements) override {
    rm_.declareSoloRequirements(job_, requirements);
  }
  void releaseSlot(const std::string& slotId) override { rm_.releaseSlot(slotId); }
  void setPartitionHolders(const std::set<std::string>& taskManagerIds) override {
    rm_.setPartitionHolders(job_, taskManagerIds);
  }
  void reportUnreachable(const std::string& taskManagerId, const std::string& why) override {
    rm_.reportUnreachable(taskManagerId, why);
  }
  void releaseAll() override { rm_.releaseAll(job_); }
  Resources largestSlot() const override {
    return rm_.config_.sizing.kind == SizingKind::kFixed ? rm_.config_.sizing.fixedSlot
                                                         : rm_.driver_.maxTaskManager();
  }

  PlacementWait placement(const Resources& profile) const override {
    return rm_.placementOf(job_.id, profile);
  }

 private:
  ResourceManager& rm_;
  Job& job_;
};

namespace {

// The largest share of `total` that `held` takes in any resource.
double dominantShare(const Resources& held, const Resources& total) {
  double share = 0;
  auto consider = [&share](std::int64_t part, std::int64_t whole) {
    if (whole > 0) share = std::max(share, static_cast<double>(part) / static_cast<double>(whole));
  };
  consider(held.milliCpus, total.milliCpus);
  consider(held.memMib, total.memMib);
  consider(held.diskMib, total.diskMib);
  consider(held.gpus, total.gpus);
  return share;
}

}  // namespace

ResourceManager::ResourceManager(EventLoop& loop, ResourceManagerDriver& driver,
                                 ResourceManagerConfig config)
    : loop_(loop), driver_(driver), config_(std::move(config)), log_(logger("resourcemanager")) {
  taskManagerGauge_ = metrics::defaultRegistry().addCollector(
      "tailor_taskmanagers", "TaskManagers of this JobManager by state",
      [this](metrics::GaugeSamples& samples) { addTaskManagerSamples(samples); });
}

void ResourceManager::addTaskManagerSamples(metrics::GaugeSamples& samples) const {
  std::map<std::string, int> counts = {
      {"requested", 0}, {"started", 0}, {"registered", 0}, {"releasing", 0}};
  for (const auto& [id, tm] : taskManagers_) {
    switch (tm.state) {
      case TmState::kRequested:
        counts["requested"] += 1;
        break;
      case TmState::kStarted:
        counts["started"] += 1;
        break;
      case TmState::kRegistered:
        counts["registered"] += 1;
        break;
      case TmState::kReleasing:
        counts["releasing"] += 1;
        break;
      case TmState::kGone:
        break;
    }
  }
  for (const auto& [state, count] : counts) samples.add({{"state", state}}, count);
}

void ResourceManager::countOutcome(const char* outcome) {
  metrics::defaultRegistry()
      .counter("tailor_taskmanager_outcomes_total",
               "TaskManagers registered, and how TaskManagers ended (released, withdrawn, lost, "
               "failed_to_start)",
               {{"outcome", outcome}})
      .inc();
}

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
  if (config_.session && !config_.minResources.isZero()) requestPass();
}

ResourceManagerGateway& ResourceManager::addJob(const std::string& jobId, int priority) {
  auto [it, added] = jobs_.try_emplace(jobId);
  Job& job = it->second;
  if (added) {
    job.id = jobId;
    job.order = nextJobOrder_++;
    job.gateway = std::make_unique<JobGateway>(*this, job);
  }
  job.priority = std::max(1, priority);
  return *job.gateway;
}

void ResourceManager::setSlotOwner(const std::string& jobId, SlotOwner* owner) {
  if (Job* job = jobOf(jobId)) job->owner = owner;
}

void ResourceManager::removeJob(const std::string& jobId) {
  Job* job = jobOf(jobId);
  if (job == nullptr) return;
  releaseAll(*job);
  jobs_.erase(jobId);
  requestPass();
}

ResourceManager::Job* ResourceManager::jobOf(const std::string& jobId) {
  auto it = jobs_.find(jobId);
  return it == jobs_.end() ? nullptr : &it->second;
}

void ResourceManager::releaseEverything() {
  releasingAll_ = true;
  for (auto& [id, job] : jobs_) {
    job.requirements.clear();
    job.solo.clear();
    job.partitionHolders.clear();
    job.ended = true;
  }
  for (auto& [id, tm] : taskManagers_) {
    tm.slots.clear();
    release(tm, TmEnd::kJobEnd);
  }
}

void ResourceManager::requestPass() {
  if (passPosted_) return;
  passPosted_ = true;
  loop_.post([this] { runPass(); });
}

void ResourceManager::declareRequirements(Job& job,
                                          const std::map<Resources, int>& requirements) {
  if (job.ended) return;
  job.requirements.clear();
  for (const auto& [profile, count] : requirements) {
    if (count > 0) job.requirements[profile] = count;
  }
  requestPass();
}

void ResourceManager::declareSoloRequirements(Job& job,
                                              const std::map<Resources, int>& requirements) {
  if (job.ended) return;
  job.solo.clear();
  for (const auto& [profile, count] : requirements) {
    if (count > 0) job.solo[profile] = count;
  }
  requestPass();
}

void ResourceManager::notifyOwner() {
  // Owners may end their jobs while they hear this: what to tell is taken
  // first, and each job looked up again before it is told.
  auto lost = std::move(lostToTell_);
  lostToTell_.clear();
  auto adopted = std::move(adoptedToTell_);
  adoptedToTell_.clear();
  std::vector<std::string> jobIds;
  for (const auto& [id, job] : jobs_) jobIds.push_back(id);
  for (const auto& [tmId, reason] : lost) {
    for (const auto& jobId : jobIds) {
      Job* job = jobOf(jobId);
      if (job != nullptr && job->owner != nullptr) job->owner->onTaskManagerLost(tmId, reason);
    }
  }
  for (const auto& [slot, attemptId] : adopted) {
    auto tm = taskManagers_.find(slot.taskManagerId);
    if (tm == taskManagers_.end() || tm->second.slots.count(slot.id) == 0) continue;
    Job* job = jobOf(slot.jobId);
    if (job != nullptr && job->owner != nullptr && !job->ended &&
        job->owner->adoptSlot(slot, attemptId)) {
      continue;
    }
    log_->info("slot {} of {} ({}) refused by the job master", slot.id, attemptId, slot.taskManagerId);
    tm->second.free += slot.profile;
    tm->second.slots.erase(slot.id);
  }
  for (const auto& jobId : jobIds) {
    Job* job = jobOf(jobId);
    if (job == nullptr || !job->unavailableToTell || job->gaveUp) continue;
    job->gaveUp = true;
    std::string message = std::move(*job->unavailableToTell);
    job->unavailableToTell.reset();
    if (job->owner != nullptr && !job->ended) job->owner->onResourcesUnavailable(message);
  }
}

void ResourceManager::runPass() {
  passPosted_ = false;
  notifyOwner();
  if (releasingAll_) return;

  // Registered TMs get cuts first; what is left is counted against pending
  // TMs, those closest to running first. A request too large for what the
  // driver can place now absorbs nothing and is withdrawn below.
  // Solo demand first: each such task gets a TaskManager of its own.
  Resources largest = driver_.maxTaskManager();
  std::set<std::string> soloNeeded = placeSolo(largest);
  std::map<Resources, int> unmet;
  cutSlots(unmet);
  std::vector<TaskManagerView> pendingViews;
  std::vector<const TaskManager*> pending;
  for (const auto& [id, tm] : taskManagers_) {
    if (!tm.soloJob.empty()) continue;
    if (tm.state == TmState::kStarted ||
        (tm.state == TmState::kRequested && largest.contains(tm.spec.total))) {
      pending.push_back(&tm);
    }
  }
  std::sort(pending.begin(), pending.end(), [](const TaskManager* a, const TaskManager* b) {
    bool aStarted = a->state == TmState::kStarted;
    bool bStarted = b->state == TmState::kStarted;
    return aStarted != bStarted ? aStarted : a->number < b->number;
  });
  for (const TaskManager* tm : pending) {
    pendingViews.push_back(TaskManagerView{tm->id, tm->spec.total, false});
  }
  SlotPlan plan = planSlots(unmet, std::move(pendingViews), [this](const Resources& profile) {
    return slotProfileFor(config_.sizing, profile);
  });
  plan.pendingNeeded.insert(soloNeeded.begin(), soloNeeded.end());
  withdrawUnneeded(plan.pendingNeeded, largest);
  bool leftUnmet = requestTaskManagers(plan.unmet, largest);
  if (config_.session) keepWarm(largest);
  bool demandWaits = !plan.unmet.empty();
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRequested && !tm.warm) demandWaits = true;
  }
  for (auto& [id, tm] : taskManagers_) updateIdle(tm, demandWaits);
  if (holdsAny()) lastHeldAt_ = loop_.now();
  // Partitions move only when room is short, not while offers are slow.
  updateWaiting(demandWaits, leftUnmet || driver_.placementBlocked());
}

void ResourceManager::cutSlots(std::map<Resources, int>& unmet) {
  std::vector<Job*> competing;
  std::map<Job*, std::map<Resources, int>> wanted;
  for (auto& [id, job] : jobs_) {
    // A job without an owner yet takes nothing and asks for nothing.
    if (job.ended || job.gaveUp || job.owner == nullptr || job.requirements.empty()) continue;
    wanted[&job] = job.requirements;
    competing.push_back(&job);
  }
  auto slotProfileOf = [this](const Resources& profile) {
    return slotProfileFor(config_.sizing, profile);
  };
  if (competing.size() == 1) {
    // Alone: every cut at once, as the plan has it.
    Job& job = *competing.front();
    SlotPlan plan = planSlots(job.requirements, registeredViews(), slotProfileOf);
    applyCuts(job, plan.cuts, wanted[&job]);
  } else if (competing.size() > 1) {
    cutFairly(competing, wanted);
  }
  for (const auto& [job, profiles] : wanted) {
    for (const auto& [profile, count] : profiles) {
      if (count > 0) unmet[profile] += count;
    }
  }
}

void ResourceManager::cutFairly(std::vector<Job*> competing,
                                std::map<Job*, std::map<Resources, int>>& wanted) {
  Shares held = shares();
  while (!competing.empty()) {
    auto next = std::min_element(competing.begin(), competing.end(),
                                 [&](const Job* a, const Job* b) { return held.before(a, b); });
    Job& job = **next;
    std::map<Resources, int>& want = wanted[&job];
    SlotPlan plan = planSlots(want, registeredViews(), [this](const Resources& profile) {
      return slotProfileFor(config_.sizing, profile);
    });
    if (plan.cuts.empty()) {
      competing.erase(next);  // nothing of what it wants fits on a registered TM
      continue;
    }
    SlotCut one = plan.cuts.front();
    one.count = 1;
    if (applyCuts(job, {one}, want)) held.held[job.id] += one.slotProfile;
    if (want.empty()) competing.erase(next);
  }
}

std::vector<TaskManagerView> ResourceManager::registeredViews() const {
  std::vector<TaskManagerView> views;
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state == TmState::kRegistered && tm.soloJob.empty()) {
      views.push_back(TaskManagerView{id, tm.free, true});
    }
  }
  return views;
}

std::set<std::string> ResourceManager::placeSolo(const Resources& largest) {
  std::set<std::string> needed;
  // What each job wants alone, less what TaskManagers kept for it hold or
  // will hold.
  std::map<std::pair<std::string, Resources>, int> want;
  for (const auto& [id, job] : jobs_) {
    if (job.ended || job.gaveUp || job.owner == nullptr) continue;
    for (const auto& [profile, count] : job.solo) want[{id, profile}] = count;
  }
  for (auto& [id, tm] : taskManagers_) {
    if (tm.soloJob.empty() || tm.holdsSolo || tm.state == TmState::kGone ||
        tm.state == TmState::kReleasing) {
      continue;
    }
    auto it = want.find({tm.soloJob, tm.soloProfile});
    if (it == want.end() || it->second == 0) {
      // Its task no longer wants it: a registered one is an ordinary
      // TaskManager now, a requested one is withdrawn by the caller.
      if (tm.state == TmState::kRegistered) tm.soloJob.clear();
      continue;
    }
    if (tm.state != TmState::kRegistered) {
      it->second -= 1;
      needed.insert(id);
      continue;
    }
    Job& job = jobs_.at(tm.soloJob);
    Slot slot{"slot-" + std::to_string(nextSlot_++), tm.id, tm.address, tm.free, job.id, true};
    if (!job.owner->offerSlot(slot)) {
      log_->debug("solo slot {} on {} refused by the job master of {}", slot.id, tm.id, job.id);
      job.solo.erase(tm.soloProfile);
      it->second = 0;
      tm.soloJob.clear();
      continue;
    }
    it->second -= 1;
    if (--job.solo[tm.soloProfile] <= 0) job.solo.erase(tm.soloProfile);
    tm.free = Resources{};
    tm.holdsSolo = true;
    tm.everUsed = true;
    tm.slots.emplace(slot.id, slot);
    log_->info("slot {} is the whole of {}, for one task of {} alone", slot.id, tm.id, job.id);
  }
  if (loop_.now() < launchesBlockedUntil_) return needed;
  SizingConfig sizing = config_.sizing;
  sizing.maxTaskManager = largest;
  std::optional<Resources> room = roomLeft();
  for (const auto& [key, count] : want) {
    for (int n = 0; n < count; ++n) {
      std::vector<TaskManagerSpec> specs = planTaskManagers(sizing, {{key.second, 1}}, room);
      if (specs.empty()) break;  // no room now: it waits
      TaskManager& tm = newTaskManager(specs.front());
      tm.soloJob = key.first;
      tm.soloProfile = key.second;
      if (room) *room -= tm.spec.total;
      needed.insert(tm.id);
      log_->info("requesting {} with {} for one task of {} alone", tm.id,
                 tm.spec.total.toString(), key.first);
      launch(tm);
    }
  }
  return needed;
}

std::optional<Resources> ResourceManager::roomLeft() const {
  std::optional<Resources> room = driver_.capacity();
  if (room) {
    for (const auto& [id, tm] : taskManagers_) {
      if (tm.state != TmState::kGone) *room -= tm.spec.total;
    }
  }
  return room;
}

ResourceManager::TaskManager& ResourceManager::newTaskManager(const TaskManagerSpec& spec) {
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
  return taskManagers_.emplace(id, std::move(tm)).first->second;
}

void ResourceManager::launch(const TaskManager& tm) {
  if (observer_ != nullptr) observer_->onTaskManagerRequested(tm.id, tm.spec);
  driver_.launchTaskManager(tm.id, tm.spec);
}

ResourceManager::Shares ResourceManager::shares() const {
  Shares shares;
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state != TmState::kRegistered) continue;
    shares.total += tm.spec.total;
    for (const auto& [slotId, slot] : tm.slots) shares.held[slot.jobId] += slot.profile;
  }
  return shares;
}

bool ResourceManager::Shares::before(const Job* a, const Job* b) const {
  auto weighted = [this](const Job* job) {
    auto it = held.find(job->id);
    return it == held.end() ? 0.0
                            : dominantShare(it->second, total) / static_cast<double>(job->priority);
  };
  double shareA = weighted(a);
  double shareB = weighted(b);
  return shareA != shareB ? shareA < shareB : a->order < b->order;
}

bool ResourceManager::applyCuts(Job& job, const std::vector<SlotCut>& cuts,
                                std::map<Resources, int>& wanted) {
  bool allTaken = true;
  for (const auto& cut : cuts) {
    TaskManager& tm = taskManagers_.at(cut.taskManagerId);
    for (int n = 0; n < cut.count; ++n) {
      Slot slot{"slot-" + std::to_string(nextSlot_++), tm.id, tm.address, cut.slotProfile, job.id};
      if (job.owner == nullptr || !job.owner->offerSlot(slot)) {
        log_->debug("slot {} on {} refused by the job master of {}", slot.id, tm.id, job.id);
        // It has no task for this profile now: nothing more is sought for it.
        wanted.erase(cut.taskProfile);
        allTaken = false;
        break;
      }
      tm.free -= cut.slotProfile;
      tm.slots.emplace(slot.id, slot);
      tm.everUsed = true;
      if (--job.requirements[cut.taskProfile] <= 0) job.requirements.erase(cut.taskProfile);
      auto want = wanted.find(cut.taskProfile);
      if (want != wanted.end() && --want->second <= 0) wanted.erase(want);
      log_->debug("slot {} ({}) cut from {} for {}", slot.id, slot.profile.toString(), tm.id,
                  job.id);
    }
  }
  return allTaken;
}

Resources ResourceManager::aliveTotal() const {
  Resources total;
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state != TmState::kGone && tm.state != TmState::kReleasing) total += tm.spec.total;
  }
  return total;
}

void ResourceManager::keepWarm(const Resources& largest) {
  const Resources& minimum = config_.minResources;
  if (minimum.isZero() || loop_.now() < launchesBlockedUntil_) return;
  Resources alive = aliveTotal();
  if (alive.contains(minimum)) return;
  auto lack = [](std::int64_t want, std::int64_t have, std::int64_t most) {
    return std::min(std::max<std::int64_t>(0, want - have), most);
  };
  Resources need;
  need.milliCpus = lack(minimum.milliCpus, alive.milliCpus, largest.milliCpus);
  need.memMib = lack(minimum.memMib, alive.memMib, largest.memMib);
  need.diskMib = lack(minimum.diskMib, alive.diskMib, largest.diskMib);
  need.gpus = lack(minimum.gpus, alive.gpus, largest.gpus);
  if (need.isZero()) return;
  TaskManager& tm = newTaskManager(TaskManagerSpec{need, {}});
  tm.warm = true;
  tm.everUsed = true;  // idle by the session's rules, not released as unneeded
  log_->info("requesting {} with {} to keep the session's minimum warm ({})", tm.id,
             need.toString(), minimum.toString());
  launch(tm);
}

void ResourceManager::withdrawUnneeded(const std::set<std::string>& pendingNeeded,
                                       const Resources& largest) {
  for (auto& [id, tm] : taskManagers_) {
    if (tm.state != TmState::kRequested || tm.warm || pendingNeeded.count(id) != 0) continue;
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
  std::vector<TaskManagerSpec> specs = planTaskManagers(sizing, unmet, roomLeft());
  std::int64_t unmetSlots = 0;
  std::int64_t plannedSlots = 0;
  for (const auto& [profile, count] : unmet) unmetSlots += count;
  for (const auto& spec : specs) plannedSlots += static_cast<std::int64_t>(spec.slots.size());
  for (const auto& spec : specs) {
    TaskManager& tm = newTaskManager(spec);
    log_->info("requesting {} with {} ({} slots of {})", tm.id, spec.total.toString(),
               spec.slots.size(), spec.slots.empty() ? "-" : spec.slots.front().toString());
    launch(tm);
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

std::map<Resources, int> ResourceManager::allRequirements() const {
  std::map<Resources, int> all;
  for (const auto& [id, job] : jobs_) {
    for (const auto& [profile, count] : job.requirements) all[profile] += count;
  }
  return all;
}

bool ResourceManager::holdsPartitions(const std::string& taskManagerId) const {
  return std::any_of(jobs_.begin(), jobs_.end(), [&](const auto& entry) {
    return entry.second.partitionHolders.count(taskManagerId) != 0;
  });
}

std::string ResourceManager::describeDemand(const std::map<Resources, int>& requirements) {
  std::string text;
  for (const auto& [profile, count] : requirements) {
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
    if (tm.state == TmState::kRegistered && tm.slots.empty() && holdsPartitions(id)) {
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
                 describeDemand(allRequirements()), holders.size());
      std::vector<std::pair<SlotOwner*, std::set<std::string>>> toTell;
      for (const auto& [jobId, job] : jobs_) {
        std::set<std::string> its;
        for (const auto& id : holders) {
          if (job.partitionHolders.count(id) != 0) its.insert(id);
        }
        if (!its.empty() && job.owner != nullptr && !job.ended) toTell.emplace_back(job.owner, its);
      }
      for (const auto& [owner, its] : toTell) owner->onPlacementStalled(its);
      due = now + config_.evacuateAfter;
    }
    consider(due);
  }

  // Nothing held and nothing placed for the placement timeout: the jobs
  // that wait give up.
  if (!holdsAny()) {
    MonotonicTime since = std::max(*waitingSince_, lastHeldAt_);
    MonotonicTime due = since + config_.placementTimeout;
    if (now >= due) {
      for (auto& [jobId, job] : jobs_) {
        if (job.gaveUp || job.ended || !job.wants()) continue;
        // What its status said the stage waits for (placementOf) says why.
        std::map<Resources, int> demand = job.requirements;
        for (const auto& [profile, count] : job.solo) demand[profile] += count;
        std::string shortages;
        for (const auto& [profile, count] : job.requirements) {
          PlacementWait wait = placementOf(jobId, profile);
          if (wait.closest) shortages += "; " + describeShortage(*wait.closest);
        }
        std::string message =
            fmt::format("no TaskManager could be placed for {} ms: the job waits for {}{}; {}",
                        config_.placementTimeout.count(), describeDemand(demand),
                        shortages, driver_.describeOffers());
        log_->error("{}: {}", jobId, message);
        job.unavailableToTell = message;
      }
      waitingSince_ = now;
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
  return tm.state == TmState::kRegistered && tm.slots.empty() && !holdsPartitions(tm.id);
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
      if (!config_.minResources.isZero() &&
          !(aliveTotal() - it->second.spec.total).contains(config_.minResources)) {
        log_->debug("{} idle, kept warm: the session keeps at least {}", id,
                    config_.minResources.toString());
        return;
      }
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
    if (it->second.solo) {
      tm.holdsSolo = false;  // an ordinary TaskManager again
      tm.soloJob.clear();
    }
    tm.free += it->second.profile;
    tm.slots.erase(it);
    break;
  }
  requestPass();
}

void ResourceManager::setPartitionHolders(Job& job, const std::set<std::string>& taskManagerIds) {
  if (job.ended) return;
  job.partitionHolders = taskManagerIds;
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

void ResourceManager::releaseAll(Job& job) {
  if (!config_.session) {
    releaseEverything();
    return;
  }
  if (job.ended) return;
  job.ended = true;
  job.requirements.clear();
  job.solo.clear();
  job.partitionHolders.clear();
  int freed = 0;
  for (auto& [id, tm] : taskManagers_) {
    for (auto it = tm.slots.begin(); it != tm.slots.end();) {
      if (it->second.jobId != job.id) {
        ++it;
        continue;
      }
      if (it->second.solo) {
        tm.holdsSolo = false;
        tm.soloJob.clear();
      }
      tm.free += it->second.profile;
      it = tm.slots.erase(it);
      ++freed;
    }
  }
  log_->info("job {} ended: {} slot{} free again", job.id, freed, freed == 1 ? "" : "s");
  requestPass();
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
  metrics::defaultRegistry()
      .counter("tailor_taskmanagers_launched_total", "TaskManagers launched, by size",
               metrics::sizeLabels(tm.spec.total.cpus(), static_cast<double>(tm.spec.total.memMib)))
      .inc();
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
  countOutcome(tm.end == TmEnd::kWithdrawn    ? "withdrawn"
               : neverRegistered && !released ? "failed_to_start"
               : tm.end == TmEnd::kLost       ? "lost"
                                              : "released");
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
    // The jobs that wait for TaskManagers give up; later jobs of a session
    // start counting again.
    for (auto& [jobId, job] : jobs_) {
      if (!job.ended && !job.gaveUp && job.wants()) job.unavailableToTell = message;
    }
    startFailures_ = 0;
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
      // A negative dimension would pass contains() and grow what is free (or
      // overflow it).
      if (profile.isZero() || profile.hasNegative() || !tm.free.contains(profile)) {
        log_->warn("{} runs {} in a slot of {} it has no room for; not counted", tm.id,
                   running.attempt_id(), profile.toString());
        continue;
      }
      // Its job: as the TaskManager names it, else the only one.
      std::string jobId = running.job_id();
      if (jobId.empty() && jobs_.size() == 1) jobId = jobs_.begin()->first;
      Slot slot{"slot-" + std::to_string(nextSlot_++), tm.id, tm.address, profile, jobId};
      tm.free -= profile;
      tm.slots.emplace(slot.id, slot);
      tm.everUsed = true;
      adoptedToTell_.emplace_back(slot, running.attempt_id());
    }
    tm.report.set_registered_at(loop_.wallSeconds());
    if (tm.report.launched_at() == 0) tm.report.set_launched_at(tm.report.registered_at());
    log_->info("{} registered from {} with {}", tm.id, tm.address, tm.spec.total.toString());
    tm.report.set_address(tm.address);
    countOutcome("registered");
    if (tm.report.requested_at() > 0) {
      metrics::defaultRegistry()
          .histogram("tailor_taskmanager_start_seconds",
                     "Time from requesting a TaskManager to its registration",
                     metrics::latencyBuckets())
          .observe(tm.report.registered_at() - tm.report.requested_at());
    }
    if (observer_ != nullptr) {
      observer_->onTaskManagerRegistered(tm.id, tm.address, tm.report.launched_at());
    }
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

Resources ResourceManager::taskManagerFor(const Resources& slot) const {
  if (config_.sizing.kind == SizingKind::kFixed) {
    return config_.sizing.fixedSlot * std::max(1, config_.sizing.fixedSlotsPerTaskManager);
  }
  return slot;
}

std::pair<int, int> ResourceManager::queuePosition(const Job& job) const {
  std::vector<const Job*> queued;
  for (const auto& [id, other] : jobs_) {
    if (!other.ended && !other.gaveUp && !other.requirements.empty()) queued.push_back(&other);
  }
  Shares held = shares();
  std::sort(queued.begin(), queued.end(),
            [&](const Job* a, const Job* b) { return held.before(a, b); });
  auto it = std::find(queued.begin(), queued.end(), &job);
  return {static_cast<int>(it - queued.begin()) + 1, static_cast<int>(queued.size())};
}

PlacementWait ResourceManager::placementOf(const std::string& jobId,
                                           const Resources& profile) const {
  PlacementWait wait;
  auto job = jobs_.find(jobId);
  if (job == jobs_.end() || job->second.ended) return wait;
  auto wanted = job->second.requirements.find(profile);
  if (wanted == job->second.requirements.end()) return wait;
  wait.slots = wanted->second;
  Resources slot = slotProfileFor(config_.sizing, profile);
  Resources one = taskManagerFor(slot);
  if (!driver_.maxTaskManager().contains(one)) {
    wait.reason = PlacementWait::Reason::kNoFit;
    wait.closest = driver_.closestFit(one);
    if (!wait.closest) {
      auto shortage = mostShort(one, driver_.maxTaskManager());
      if (shortage) wait.closest = ClosestFit{*shortage, driver_.describe()};
    }
    return wait;
  }
  // TaskManagers requested or starting with room for such a slot.
  for (const auto& [id, tm] : taskManagers_) {
    if (tm.state != TmState::kRequested && tm.state != TmState::kStarted) continue;
    bool forIt = tm.spec.slots.empty() ? tm.spec.total.contains(slot)
                                       : std::find(tm.spec.slots.begin(), tm.spec.slots.end(),
                                                   slot) != tm.spec.slots.end();
    if (!forIt) continue;
    wait.taskManagers += 1;
    double requestedAt = tm.report.requested_at();
    if (wait.since == 0 || requestedAt < wait.since) wait.since = requestedAt;
  }
  if (wait.taskManagers > 0) {
    wait.reason = PlacementWait::Reason::kLaunching;
    return wait;
  }
  Shares held = shares();
  bool othersHold = std::any_of(held.held.begin(), held.held.end(), [&](const auto& entry) {
    return entry.first != jobId && !entry.second.isZero();
  });
  if (config_.session && othersHold) {
    wait.reason = PlacementWait::Reason::kQueue;
    std::tie(wait.queuePosition, wait.queued) = queuePosition(job->second);
    return wait;
  }
  wait.closest = driver_.closestFit(one);
  wait.reason = wait.closest ? PlacementWait::Reason::kNoFit : PlacementWait::Reason::kLaunching;
  return wait;
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
