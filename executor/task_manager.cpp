#include "executor/task_manager.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/file_chunk.hpp"
#include "common/http/partition_route.hpp"
#include "common/logging.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/session.hpp"
#include "common/zookeeper/url.hpp"
#include "executor/task_runner.hpp"

namespace tailor::executor {

namespace fs = std::filesystem;

std::string AttemptKey::toString() const {
  return jobId.empty() ? attemptId : jobId + "/" + attemptId;
}

TaskManager::TaskManager(EventLoop& loop, http::Server& server, rpc::Client& rpc,
                         TaskManagerConfig config, std::function<void(int)> stop)
    : loop_(loop),
      server_(server),
      rpc_(rpc),
      config_(std::move(config)),
      stop_(std::move(stop)),
      log_(logger("taskmanager")) {
  runningGauge_ = metrics::defaultRegistry().addCollector(
      "tailor_taskmanager_attempts_running", "Task attempts this TaskManager runs now",
      [this](metrics::GaugeSamples& samples) {
        samples.add({}, static_cast<double>(running_.size()));
      });
}

TaskManager::~TaskManager() {
  if (timer_) loop_.cancelTimer(*timer_);
}

void TaskManager::addRoutes(rpc::Server& rpcServer) {
  rpcServer.handle<v1::DeployTaskRequest, v1::DeployTaskResponse>(
      "TaskManager", "DeployTask", [this](const v1::DeployTaskRequest& r) { return deploy(r); });
  rpcServer.handle<v1::CancelTaskRequest, v1::CancelTaskResponse>(
      "TaskManager", "CancelTask", [this](const v1::CancelTaskRequest& r) {
        return cancelTask(r);
      });
  rpcServer.handle<v1::DropPartitionsRequest, v1::DropPartitionsResponse>(
      "TaskManager", "DropPartitions", [this](const v1::DropPartitionsRequest& r) {
        return dropPartitions(r);
      });
  rpcServer.handle<v1::ReadTaskLogRequest, v1::ReadTaskLogResponse>(
      "TaskManager", "ReadTaskLog", [this](const v1::ReadTaskLogRequest& r) {
        return readTaskLog(r);
      });
  http::servePartitions(server_, config_.workDir + "/partitions", rpc::callSecret());
}

Result<v1::CancelTaskResponse> TaskManager::cancelTask(const v1::CancelTaskRequest& request) {
  std::vector<TaskRunner*> matching;
  std::string jobs;
  for (const auto& [key, runner] : runners_) {
    if (key.attemptId != request.attempt_id()) continue;
    if (!request.job_id().empty() && key.jobId != request.job_id()) continue;
    matching.push_back(runner.get());
    jobs += (jobs.empty() ? "" : ", ") + key.jobId;
  }
  if (matching.size() > 1) {
    return makeError(ErrorCode::kInvalidArgument,
                     "CancelTaskRequest.job_id: empty, but attempt {} runs here for jobs {}",
                     request.attempt_id(), jobs);
  }
  if (!matching.empty()) {
    log_->info("cancelling {}", AttemptKey{matching.front()->task().job_id(),
                                           request.attempt_id()}.toString());
    matching.front()->cancel();
  }
  return v1::CancelTaskResponse();
}

Result<v1::DropPartitionsResponse> TaskManager::dropPartitions(
    const v1::DropPartitionsRequest& request) {
  const std::string& jobId = request.job_id();
  if (jobId.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "DropPartitionsRequest.job_id: expected the id of the job that ended");
  }
  auto first = runners_.lower_bound(AttemptKey{jobId, ""});
  auto ofJob = [&](auto it) { return it != runners_.end() && it->first.jobId == jobId; };
  // All killed first, then each joined.
  for (auto it = first; ofJob(it); ++it) it->second->cancel();
  int killed = 0;
  for (auto it = first; ofJob(it);) {
    auto scratch = scratchOf_.find(it->first);
    if (scratch != scratchOf_.end()) {
      busyScratch_.erase(scratch->second);
      scratchOf_.erase(scratch);
    }
    running_.erase(it->first);
    it = runners_.erase(it);  // joins the runner thread: its process group is killed
    ++killed;
  }
  std::erase_if(unheard_, [&](const auto& entry) { return entry.first.jobId == jobId; });
  if (startedAttempts_) startedAttempts_->closeJob(jobId);
  std::error_code ec;
  std::uintmax_t removed = 0;
  for (const auto& dir : {jobPartitionDirectory(config_.workDir, jobId),
                          jobScratchDirectory(config_.workDir, jobId)}) {
    std::uintmax_t count = fs::remove_all(dir, ec);
    if (ec) {
      log_->warn("{}: cannot remove {} of job {}: {}", config_.id, dir, jobId, ec.message());
    } else {
      removed += count;
    }
  }
  log_->info("job {} ended: killed its {} running attempts, removed {} files and folders",
             jobId, killed, removed);
  return v1::DropPartitionsResponse();
}

Result<v1::ReadTaskLogResponse> TaskManager::readTaskLog(const v1::ReadTaskLogRequest& request) {
  const std::string& stage = request.stage();
  bool plain = !stage.empty() && std::all_of(stage.begin(), stage.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  if (!plain || request.index() < 0 || request.attempt() < 1) {
    return makeError(ErrorCode::kInvalidArgument, "not a task attempt: {}[{}]#{}", stage,
                     request.index(), request.attempt());
  }
  if (config_.taskLogDir.empty()) {
    return makeError(ErrorCode::kNotFound, "{} keeps no task logs (no --task-log-dir)", config_.id);
  }
  // A log that was never created is the empty log of an attempt that wrote
  // nothing to stderr (findTaskLog knows it started).
  auto found = findTaskLog(config_.taskLogDir, request.job_id(), stage, request.index(),
                           request.attempt());
  if (!found.ok()) {
    return makeError(ErrorCode::kNotFound, "{} has no log of {}[{}]#{}{}: {}", config_.id, stage,
                     request.index(), request.attempt(),
                     request.job_id().empty() ? "" : " of job " + request.job_id(),
                     found.error().message);
  }
  FileChunk chunk = readFileChunk(found->path, request.offset(), std::min<std::int64_t>(request.length(), 1 << 20),
                                  request.tail() >= 0 ? std::min<std::int64_t>(request.tail(), 1 << 20) : -1);
  v1::ReadTaskLogResponse response;
  response.set_data(std::move(chunk.data));
  response.set_offset(chunk.offset);
  response.set_size(chunk.size);
  return response;
}

void TaskManager::start(std::uint16_t port) {
  address_ = config_.advertiseHost + ":" + std::to_string(port);
  startedAt_ = loop_.now();
  if (!config_.taskLogDir.empty()) {
    auto started = StartedAttempts::open(config_.taskLogDir, config_.id);
    if (started.ok()) {
      startedAttempts_ = std::move(*started);
    } else {
      log_->warn("{}: {}; a task that writes no stderr will have no log", config_.id,
                 started.error().message);
    }
  }
  log_->info("{} serving on {}, registering with {}", config_.id, address_,
             config_.resourceManagerAddress);
  tryRegister();
}

v1::RegisterTaskManagerRequest TaskManager::registration() const {
  v1::RegisterTaskManagerRequest request;
  request.set_taskmanager_id(config_.id);
  request.set_address(address_);
  *request.mutable_resources() = config_.resources.toProto();
  request.set_pid(getpid());
  for (const auto& [key, running] : running_) *request.add_running() = running.attempt;
  for (const auto& [key, update] : unheard_) *request.add_unreported() = update;
  return request;
}

void TaskManager::startHeartbeats(const v1::RegisterTaskManagerResponse& response) {
  registered_ = true;
  heartbeatInterval_ = Duration(response.heartbeat_interval_ms());
  heartbeatTimeout_ = Duration(response.heartbeat_timeout_ms());
  lastHeartbeatOk_ = loop_.now();
  timer_ = loop_.runAfter(heartbeatInterval_, [this] { heartbeat(); });
}

void TaskManager::tryRegister() {
  if (stopping_) return;
  rpc_.call<v1::RegisterTaskManagerResponse>(
      config_.resourceManagerAddress, "ResourceManager", "RegisterTaskManager", registration(),
      [this](Result<v1::RegisterTaskManagerResponse> response) {
        if (stopping_) return;
        if (response.ok() && response->accepted()) {
          startHeartbeats(*response);
          log_->info("{} registered with the ResourceManager", config_.id);
          if (onRegistered_) onRegistered_();
          return;
        }
        if (response.ok()) {
          shutdown("registration refused: " + response->reason(), 1);
          return;
        }
        if (response.error().code == ErrorCode::kUnauthenticated) {
          // Another job's JobManager, or a wrong secret: trying again cannot help.
          shutdown("registration refused: " + response.error().message, 1);
          return;
        }
        if (loop_.now() - startedAt_ > config_.registrationTimeout) {
          shutdown("could not register: " + response.error().message, 1);
          return;
        }
        timer_ = loop_.runAfter(config_.retryInterval, [this] { tryRegister(); });
      },
      Duration(5000));
}

void TaskManager::heartbeat() {
  timer_.reset();
  if (stopping_) return;
  v1::HeartbeatRequest request;
  request.set_taskmanager_id(config_.id);
  for (const auto& [key, runner] : runners_) request.add_running_attempts(key.toString());
  rpc_.call<v1::HeartbeatResponse>(
      config_.resourceManagerAddress, "ResourceManager", "Heartbeat", request,
      [this](Result<v1::HeartbeatResponse> response) {
        if (stopping_) return;
        if (response.ok() && !response->known()) {
          shutdown("the ResourceManager no longer knows this TaskManager", 0);
          return;
        }
        if (response.ok() && response->register_again()) {
          // A new JobManager attempt took over at the same address.
          onJobManagerLost("a new JobManager attempt at " + config_.resourceManagerAddress +
                           " adopted this TaskManager");
          return;
        }
        if (response.ok()) {
          lastHeartbeatOk_ = loop_.now();
        } else if (loop_.now() - lastHeartbeatOk_ > heartbeatTimeout_) {
          onJobManagerLost(response.error().message);
          return;
        } else if (config_.jobManagerLossTimeout.count() > 0 && !config_.jobManagerSource.empty()) {
          // A new leader published already: no need to wait out the timeout.
          std::string leader = readLeader();
          if (!leader.empty() && leader != config_.resourceManagerAddress) {
            onJobManagerLost("the job's JobManager is now " + leader);
            return;
          }
        }
        timer_ = loop_.runAfter(heartbeatInterval_, [this] { heartbeat(); });
      },
      heartbeatInterval_);
}

Result<v1::DeployTaskResponse> TaskManager::deploy(const v1::DeployTaskRequest& request) {
  v1::DeployTaskResponse response;
  const auto& task = request.task();
  // Deploys may arrive before the registration answer does: the RM offers
  // this TM's slots as soon as it accepted the registration.
  if (stopping_) {
    response.set_accepted(false);
    response.set_reason("TaskManager is stopping");
    return response;
  }
  AttemptKey key{task.job_id(), task.attempt_id()};
  if (runners_.count(key) != 0) {
    response.set_accepted(false);
    response.set_reason("attempt " + key.toString() + " already runs here");
    return response;
  }
  v1::RunningAttempt running;
  running.set_job_id(task.job_id());
  running.set_attempt_id(task.attempt_id());
  running.set_stage(task.stage());
  running.set_index(task.index());
  running.set_attempt(task.attempt());
  *running.mutable_slot_resources() = task.slot_resources();
  std::uint64_t serial = nextSerial_++;
  auto runner = std::make_unique<TaskRunner>(
      scratchFor(task), task,
      // Running is not reported: the JobMaster takes the DeployTask answer
      // as running, and one update per attempt halves the RPCs of short tasks.
      [](v1::TaskStateUpdate) {},
      [this, key, serial, running](v1::TaskStateUpdate update) {
        update.set_stage(running.stage());
        update.set_index(running.index());
        update.set_attempt(running.attempt());
        loop_.post([this, key, serial, update = std::move(update)]() mutable {
          onRunnerDone(key, serial, std::move(update));
        });
      });
  running_[key] = Running{running, task.jobmaster_address(), serial};
  log_->info("running {} ({} inputs, {} splits)", key.toString(), task.inputs_size(),
             task.splits_size());
  runner->start();
  runners_.emplace(key, std::move(runner));
  response.set_accepted(true);
  return response;
}

void TaskManager::onRunnerDone(const AttemptKey& key, std::uint64_t serial,
                               v1::TaskStateUpdate update) {
  auto running = running_.find(key);
  if (running == running_.end() || running->second.serial != serial) return;  // dropped
  log_->info("{} {}{}", key.toString(), v1::TaskState_Name(update.state()),
             update.message().empty() ? "" : ": " + update.message());
  metrics::defaultRegistry()
      .counter("tailor_taskmanager_attempts_ended_total",
               "Task attempts this TaskManager ran to their end, by final state",
               {{"state", v1::TaskState_Name(update.state())}})
      .inc();
  report(key, std::move(update));
  onAttemptDone(key);
}

TaskRunnerContext TaskManager::scratchFor(const v1::TaskDeployment& task) {
  TaskRunnerContext context{config_.id, config_.workDir, config_.taskLogDir,
                            startedAttempts_.get()};
  // The slot's directory, unless its previous attempt (cancelled, say) has
  // not finished yet: then one of the attempt's own.
  std::string slotDir = slotScratchDirectory(config_.workDir, task);
  if (!config_.taskLogDir.empty() && !slotDir.empty() && busyScratch_.insert(slotDir).second) {
    context.scratchDir = slotDir;
    context.reuseScratch = true;
    scratchOf_[AttemptKey{task.job_id(), task.attempt_id()}] = slotDir;
  }
  return context;
}

void TaskManager::onAttemptDone(const AttemptKey& key) {
  auto scratch = scratchOf_.find(key);
  if (scratch != scratchOf_.end()) {
    busyScratch_.erase(scratch->second);
    scratchOf_.erase(scratch);
  }
  auto it = runners_.find(key);
  if (it == runners_.end()) return;
  // The runner thread has returned from its last callback; joining is quick.
  runners_.erase(it);
}

void TaskManager::report(const AttemptKey& key, v1::TaskStateUpdate update) {
  std::string jobMaster;
  auto running = running_.find(key);
  if (running != running_.end()) {
    jobMaster = running->second.reportTo;
    running_.erase(running);
  }
  unheard_[key] = std::move(update);
  sendUpdate(jobMaster, key, 5);
}

void TaskManager::sendUpdate(const std::string& jobMaster, const AttemptKey& key,
                             int triesLeft) {
  auto unheard = unheard_.find(key);
  // Heard already (it went with a registration), or no JobManager listens:
  // then the next one hears it when this TM registers with it.
  if (stopping_ || unheard == unheard_.end() || lostSince_) return;
  if (jobMaster.empty()) {
    unheard_.erase(unheard);
    return;
  }
  rpc_.call<v1::TaskStateUpdateResponse>(
      jobMaster, "JobMaster", "UpdateTaskState", unheard->second,
      [this, jobMaster, key, triesLeft](Result<v1::TaskStateUpdateResponse> response) {
        if (stopping_) return;
        if (response.ok()) {
          unheard_.erase(key);
          return;
        }
        if (lostSince_ || unheard_.count(key) == 0) return;
        log_->warn("reporting the end of {} to {} failed: {}", key.toString(), jobMaster,
                   response.error().message);
        // With a job leader to look for (HA), an update is tried until it is
        // heard or the JobManager is lost (then the next one hears it).
        bool waitsForLeader =
            !config_.jobManagerSource.empty() && config_.jobManagerLossTimeout.count() > 0;
        if (triesLeft <= 1 && !waitsForLeader) {
          unheard_.erase(key);
          return;
        }
        loop_.runAfter(Duration(500), [this, jobMaster, key, triesLeft] {
          sendUpdate(jobMaster, key, std::max(1, triesLeft - 1));
        });
      });
}

void TaskManager::onJobManagerLost(const std::string& reason) {
  if (config_.jobManagerSource.empty() || config_.jobManagerLossTimeout.count() <= 0) {
    shutdown("lost the ResourceManager: " + reason, 1);
    return;
  }
  registered_ = false;
  lostSince_ = loop_.now();
  // Running attempts run on; their final updates wait for the next
  // JobManager, which takes them over. Finished attempts' partitions stay
  // and are served.
  log_->warn("{} lost its JobManager at {} ({}); keeping its partitions and {} running "
             "attempts, waiting up to {} ms for the job's next JobManager ({})",
             config_.id, config_.resourceManagerAddress, reason, runners_.size(),
             config_.jobManagerLossTimeout.count(), config_.jobManagerSource);
  lookForLeader();
}

std::string TaskManager::readLeader() {
  const std::string& source = config_.jobManagerSource;
  if (zookeeper::isZooKeeperUrl(source)) {
    auto url = zookeeper::parseZooKeeperUrl(source, "--jobmanager-source");
    if (!url.ok()) return "";
    if (!zooKeeper_) {
      zookeeper::SessionOptions options;
      options.hosts = url->hosts;
      options.digest = url->digest;
      options.connectTimeout = Duration(3000);
      options.retryFor = Duration(3000);
      auto session = zookeeper::Session::connect(loop_, options);
      if (!session.ok()) {
        log_->warn("{}", session.error().message);
        return "";
      }
      zooKeeper_ = std::move(*session);
    }
    auto leader = zookeeper::currentLeader(*zooKeeper_, url->child("leader"));
    return leader.ok() && leader->has_value() ? **leader : "";
  }
  if (source.rfind("local:", 0) == 0) {
    auto text = readWholeFile(source.substr(6) + "/leader");
    if (!text) return "";
    std::string address = *text;
    while (!address.empty() && (address.back() == '\n' || address.back() == ' ')) address.pop_back();
    return address;
  }
  return "";
}

void TaskManager::lookForLeader() {
  timer_.reset();
  if (stopping_) return;
  if (loop_.now() - *lostSince_ > config_.jobManagerLossTimeout) {
    shutdown(fmt::format("no JobManager of the job came back within {} ms",
                         config_.jobManagerLossTimeout.count()),
             1);
    return;
  }
  std::string leader = readLeader();
  if (leader.empty()) {
    timer_ = loop_.runAfter(Duration(500), [this] { lookForLeader(); });
    return;
  }
  std::set<AttemptKey> sent;
  for (const auto& [key, update] : unheard_) sent.insert(key);
  rpc_.call<v1::RegisterTaskManagerResponse>(
      leader, "ResourceManager", "RegisterTaskManager", registration(),
      [this, leader, sent](Result<v1::RegisterTaskManagerResponse> response) {
        if (stopping_) return;
        if (response.ok() && response->accepted()) {
          onReRegistered(leader, sent, *response);
          return;
        }
        if (response.ok()) {
          shutdown("the job's JobManager at " + leader + " refused it: " + response->reason(), 0);
          return;
        }
        timer_ = loop_.runAfter(Duration(500), [this] { lookForLeader(); });
      },
      Duration(3000));
}

void TaskManager::onReRegistered(const std::string& leader, const std::set<AttemptKey>& sent,
                                 const v1::RegisterTaskManagerResponse& response) {
  config_.resourceManagerAddress = leader;
  lostSince_.reset();
  log_->info("{} registered with the job's JobManager at {} ({} running attempts, {} ended "
             "meanwhile)",
             config_.id, leader, running_.size(), sent.size());
  // The new JobManager took over the running attempts: they report to it.
  for (auto& [key, running] : running_) running.reportTo = leader;
  // The updates that went with the registration are heard; those that came
  // while it was under way go now.
  for (const auto& key : sent) unheard_.erase(key);
  std::vector<AttemptKey> rest;
  for (const auto& [key, update] : unheard_) rest.push_back(key);
  for (const auto& key : rest) sendUpdate(leader, key, 5);
  startHeartbeats(response);
}

void TaskManager::shutdown(const std::string& reason, int exitCode) {
  if (stopping_) return;
  stopping_ = true;
  log_->info("{} shutting down: {}", config_.id, reason);
  if (timer_) {
    loop_.cancelTimer(*timer_);
    timer_.reset();
  }
  for (auto& [key, runner] : runners_) runner->cancel();
  runners_.clear();  // joins the runner threads
  server_.stop();
  std::error_code ec;
  fs::remove_all(config_.workDir, ec);
  if (ec) log_->warn("cannot remove {}: {}", config_.workDir, ec.message());
  stop_(exitCode);
}

}  // namespace tailor::executor
