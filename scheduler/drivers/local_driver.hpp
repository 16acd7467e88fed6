#pragma once

// The local driver: TaskManagers are `tailor-taskmanager` processes on this
// machine. Launches wait (first come, first served) until the TM fits in
// what is left of the local cluster's resources.

#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "common/event_loop.hpp"
#include "common/process_launcher.hpp"
#include "scheduler/resourcemanager/driver.hpp"

namespace spdlog {
class logger;
}

namespace tailor::scheduler {

struct LocalDriverConfig {
  Resources capacity;              // the local cluster
  std::string taskManagerBinary;   // path of tailor-taskmanager
  std::string resourceManagerAddress;  // host:port TMs register with
  std::string workDir;             // TMs work in <workDir>/taskmanagers/<id>
  std::string logDir;              // TM logs: <logDir>/<id>.log
  std::string logLevel = "info";
  Duration killGrace{5000};        // SIGTERM, then SIGKILL after this
  // More flags for every TaskManager (high availability, docs/ha.md).
  std::vector<std::string> taskManagerArgs = {};
  // The job's secret, given to each TaskManager in its environment
  // (secret::kEnvironmentVariable), never on its command line.
  std::string jobSecret = {};
};

class LocalDriver : public ResourceManagerDriver {
 public:
  LocalDriver(EventLoop& loop, ProcessLauncher& launcher, LocalDriverConfig config);
  ~LocalDriver() override;

  void start(DriverListener* listener) override;
  void launchTaskManager(const std::string& taskManagerId, const TaskManagerSpec& spec) override;
  void releaseTaskManager(const std::string& taskManagerId) override;
  Resources maxTaskManager() const override { return config_.capacity; }
  std::optional<Resources> capacity() const override { return config_.capacity; }
  bool placementBlocked() const override { return !queue_.empty(); }
  std::string describeOffers() const override;
  // Against the cluster less what running TaskManagers hold ("the local
  // cluster's free room"), or the whole cluster when even that is too small.
  std::optional<ClosestFit> closestFit(const Resources& total) const override;
  std::string describe() const override;
  void shutdown() override {}

  // Where TMs register; set once the RPC server is listening.
  void setResourceManagerAddress(std::string address) {
    config_.resourceManagerAddress = std::move(address);
  }

  // Resources held by running TMs.
  Resources used() const { return used_; }

  // A TaskManager process an earlier attempt started (not a child of this
  // one): watched until it exits, stopped by signals to its process group.
  void adopt(const std::string& taskManagerId, pid_t pid, const Resources& total);
  // Told each started TaskManager's pid (to keep it for a next attempt).
  void setPidHook(std::function<void(const std::string&, pid_t)> hook) { pidHook_ = std::move(hook); }

 private:
  struct Running {
    pid_t pid = -1;
    Resources resources;
    bool releasing = false;
    std::optional<TimerId> killTimer;
    bool adopted = false;  // not our child: polled, signalled directly
  };

  void launchQueued();
  void watchAdopted(const std::string& id);
  void signal(const Running& running, int sig);
  // Tells the listener on a later turn of the loop (never inside a call).
  void tellStarted(const std::string& id);
  void tellTerminated(const std::string& id, const std::string& reason);

  EventLoop& loop_;
  ProcessLauncher& launcher_;
  LocalDriverConfig config_;
  DriverListener* listener_ = nullptr;
  std::deque<std::pair<std::string, TaskManagerSpec>> queue_;
  std::map<std::string, Running> running_;
  Resources used_;
  std::function<void(const std::string&, pid_t)> pidHook_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::scheduler
