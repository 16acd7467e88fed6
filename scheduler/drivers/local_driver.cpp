#include "scheduler/drivers/local_driver.hpp"

#include <signal.h>

#include <cerrno>
#include <filesystem>

#include "common/file_chunk.hpp"
#include "common/logging.hpp"
#include "common/secret.hpp"
#include "common/subprocess.hpp"

namespace tailor::scheduler {

LocalDriver::LocalDriver(EventLoop& loop, ProcessLauncher& launcher, LocalDriverConfig config)
    : loop_(loop), launcher_(launcher), config_(std::move(config)), log_(logger("localdriver")) {}

LocalDriver::~LocalDriver() {
  *alive_ = false;
  for (auto& [id, tm] : running_) {
    if (tm.killTimer) loop_.cancelTimer(*tm.killTimer);
  }
}

void LocalDriver::start(DriverListener* listener) { listener_ = listener; }

std::string LocalDriver::describe() const {
  return "the local cluster (" + config_.capacity.toString() + ")";
}

std::string LocalDriver::describeOffers() const {
  return "the local cluster has " + config_.capacity.toString() + ", " + used_.toString() +
         " of it held by this job's TaskManagers";
}

std::optional<ClosestFit> LocalDriver::closestFit(const Resources& total) const {
  if (auto never = mostShort(total, config_.capacity)) {
    return ClosestFit{*never, "the local cluster (" + config_.capacity.toWords() + ")"};
  }
  Resources free = config_.capacity - used_;
  if (auto shortage = mostShort(total, free)) {
    return ClosestFit{*shortage, "the local cluster's free room (" + free.toWords() + " free)"};
  }
  return std::nullopt;
}

void LocalDriver::tellStarted(const std::string& id) {
  loop_.post([this, id] {
    if (listener_ != nullptr) listener_->onTaskManagerStarted(id);
  });
}

void LocalDriver::tellTerminated(const std::string& id, const std::string& reason) {
  loop_.post([this, id, reason] {
    if (listener_ != nullptr) listener_->onTaskManagerTerminated(id, reason);
  });
}

void LocalDriver::launchTaskManager(const std::string& taskManagerId,
                                    const TaskManagerSpec& spec) {
  queue_.emplace_back(taskManagerId, spec);
  launchQueued();
}

void LocalDriver::launchQueued() {
  while (!queue_.empty()) {
    auto [id, spec] = queue_.front();
    if (!(config_.capacity - used_).contains(spec.total)) {
      log_->debug("{} waits for local resources: needs {}, {} in use of {}", id,
                  spec.total.toString(), used_.toString(), config_.capacity.toString());
      return;
    }
    queue_.pop_front();
    std::string workDir = config_.workDir + "/taskmanagers/" + id;
    std::error_code ec;
    std::filesystem::create_directories(workDir, ec);
    std::filesystem::create_directories(config_.logDir, ec);
    SpawnOptions options;
    options.argv = {config_.taskManagerBinary,
                    "--taskmanager-id", id,
                    "--resource-manager", config_.resourceManagerAddress,
                    "--resources", spec.total.toString(),
                    "--work-dir", workDir,
                    "--log-file", config_.logDir + "/" + id + ".log",
                    "--log-level", config_.logLevel,
                    "--task-log-dir", config_.logDir + "/tasks"};
    options.argv.insert(options.argv.end(), config_.taskManagerArgs.begin(),
                        config_.taskManagerArgs.end());
    options.stderrFile = config_.logDir + "/" + id + ".stderr";
    if (!config_.jobSecret.empty()) {
      options.env = currentEnvironment();
      options.env[secret::kEnvironmentVariable] = config_.jobSecret;
    }
    auto pid = launcher_.launch(options, [this, id = id](int status) {
      auto it = running_.find(id);
      if (it == running_.end()) return;
      if (it->second.killTimer) loop_.cancelTimer(*it->second.killTimer);
      used_ -= it->second.resources;
      bool released = it->second.releasing;
      running_.erase(it);
      std::string how = describeWaitStatus(status);
      log_->info("{} exited: {}", id, how);
      if (listener_ != nullptr) {
        listener_->onTaskManagerTerminated(id, released ? "stopped (" + how + ")" : how);
      }
      launchQueued();
    });
    if (!pid.ok()) {
      log_->error("cannot start {}: {}", id, pid.error().message);
      tellTerminated(id, pid.error().message);
      continue;
    }
    running_[id] = Running{*pid, spec.total, false, std::nullopt};
    used_ += spec.total;
    log_->info("started {} (pid {}) with {}", id, *pid, spec.total.toString());
    if (pidHook_) pidHook_(id, *pid);
    tellStarted(id);
  }
}

void LocalDriver::releaseTaskManager(const std::string& taskManagerId) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->first == taskManagerId) {
      queue_.erase(it);
      tellTerminated(taskManagerId, "never started");
      launchQueued();  // what waited behind it may fit now
      return;
    }
  }
  auto it = running_.find(taskManagerId);
  if (it == running_.end() || it->second.releasing) return;
  it->second.releasing = true;
  signal(it->second, SIGTERM);
  it->second.killTimer = loop_.runAfter(config_.killGrace, [this, taskManagerId] {
    auto found = running_.find(taskManagerId);
    if (found == running_.end()) return;
    found->second.killTimer.reset();
    log_->warn("{} did not stop within {} ms; killing it", taskManagerId,
               config_.killGrace.count());
    signal(found->second, SIGKILL);
  });
}

void LocalDriver::signal(const Running& running, int sig) {
  if (running.adopted) {
    ::kill(-running.pid, sig);  // TaskManagers lead their own process group
  } else {
    launcher_.signal(running.pid, sig);
  }
}

namespace {

// True while `pid` runs (a zombie nobody reaped yet counts as gone).
bool processRuns(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  auto stat = readWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  auto close = stat->rfind(')');
  return close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'Z';
}

}  // namespace

void LocalDriver::adopt(const std::string& taskManagerId, pid_t pid, const Resources& total) {
  Running running;
  running.pid = pid;
  running.resources = total;
  running.adopted = true;
  running_[taskManagerId] = running;
  used_ += total;
  log_->info("adopting {} (pid {}) of an earlier attempt", taskManagerId, pid);
  watchAdopted(taskManagerId);
}

void LocalDriver::watchAdopted(const std::string& id) {
  auto it = running_.find(id);
  if (it == running_.end()) return;
  if (processRuns(it->second.pid)) {
    loop_.runAfter(Duration(500), [this, id, alive = alive_] {
      if (*alive) watchAdopted(id);
    });
    return;
  }
  if (it->second.killTimer) loop_.cancelTimer(*it->second.killTimer);
  used_ -= it->second.resources;
  bool released = it->second.releasing;
  running_.erase(it);
  log_->info("{} (adopted) exited", id);
  if (listener_ != nullptr) listener_->onTaskManagerTerminated(id, released ? "stopped" : "exited");
  launchQueued();
}

}  // namespace tailor::scheduler
