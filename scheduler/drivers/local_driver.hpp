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
  std::string describe() const override;
  void shutdown() override {}

  // Where TMs register; set once the RPC server is listening.
  void setResourceManagerAddress(std::string address) {
    config_.resourceManagerAddress = std::move(address);
  }

  // Resources held by running TMs.
  Resources used() const { return used_; }

 private:
  struct Running {
    pid_t pid = -1;
    Resources resources;
    bool releasing = false;
    std::optional<TimerId> killTimer;
  };

  void launchQueued();
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
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::scheduler
