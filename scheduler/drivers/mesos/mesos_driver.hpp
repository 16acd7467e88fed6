#pragma once

// The Mesos driver: the JobManager is its own Mesos framework
// ("tailor-job-<job id>"). Pending TaskManager specs are placed on offers by
// matchOffers() (several per offer, best fit, a port each), launched as one
// Mesos task each carrying an ExecutorInfo for the custom executor
// `tailor-taskmanager`; what is not used is declined with a refuse filter.
// Nothing pending: SUPPRESS; demand returns: REVIVE. Status updates are
// acknowledged; terminal ones end the TaskManager. After every (re)subscribe
// the known TaskManagers are reconciled. At the end: TEARDOWN.
//
// Loop thread only.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "mesos/scheduler_connection.hpp"
#include "scheduler/drivers/mesos/offer_matcher.hpp"
#include "scheduler/resourcemanager/driver.hpp"

namespace spdlog {
class logger;
}

namespace tailor::scheduler::mesos {

struct MesosDriverConfig {
  std::string jobId;
  std::string user;          // FrameworkInfo.user (default: the current user)
  std::string role = "*";
  std::string principal;
  double failoverTimeoutSeconds = 600;
  bool checkpoint = true;
  std::string hostname;      // FrameworkInfo.hostname (empty: unset)
  std::string webuiUrl;
  bool gpus = false;         // GPU_RESOURCES capability (a stage asks for gpus)
  Duration refuse{5000};     // DECLINE filter
  // Offers are held at most this long before they are used or declined, so
  // that offers of several events are matched together and a RESCIND right
  // behind its offer is honoured. Zero: each OFFERS event at once.
  Duration offerBatchWindow{0};
  // A released TaskManager learns it from its next heartbeat and exits
  // (TASK_FINISHED); it is KILLed only if still there after this. Zero: KILL at once.
  Duration releaseGrace{0};
  // The executor: a command on the agent, or fetched by the Mesos fetcher.
  std::string executorCommand = "tailor-taskmanager";
  std::vector<std::string> executorUris;
  Resources executorOverhead{50, 32, 0, 0};  // the executor's own resources
  std::string resourceManagerAddress;        // host:port TMs register with
  std::string taskManagerLogLevel = "info";
  bool executorJson = false;  // executors talk JSON to their agents (else protobuf)
  Resources maxTaskManager{8000, 32768, 0, 0};
};

// Builds the FrameworkInfo the driver subscribes with (pure).
::mesos::v1::FrameworkInfo makeFrameworkInfo(const MesosDriverConfig& config);

// The usable part of an offer: unreserved scalars and ports for our role (pure).
OfferView offerView(const ::mesos::v1::Offer& offer, const std::string& role);

class MesosDriver : public ResourceManagerDriver, public tailor::mesos::SchedulerListener {
 public:
  // `connection` is started by start(); the driver is its listener.
  MesosDriver(EventLoop& loop, MesosDriverConfig config);
  ~MesosDriver() override;

  void setConnection(tailor::mesos::SchedulerConnection* connection) { connection_ = connection; }

  // Where TMs register; set once the RPC server is listening.
  void setResourceManagerAddress(std::string address) {
    config_.resourceManagerAddress = std::move(address);
  }

  // ResourceManagerDriver
  void start(DriverListener* listener) override;
  void launchTaskManager(const std::string& taskManagerId, const TaskManagerSpec& spec) override;
  void releaseTaskManager(const std::string& taskManagerId) override;
  Resources maxTaskManager() const override { return config_.maxTaskManager; }
  std::string describe() const override;
  void shutdown() override;

  // SchedulerListener
  void onSubscribed(const std::string& frameworkId, bool isNewFramework) override;
  void onEvent(const tailor::mesos::SchedulerEvent& event) override;
  void onDisconnected(const std::string& reason) override;

  bool tornDown() const { return tornDown_; }

 private:
  enum class TmState { kPending, kLaunched, kRunning, kKilling };

  struct Tm {
    std::string id;
    TaskManagerSpec spec;
    TmState state = TmState::kPending;
    std::string agentId;
    std::string hostname;
    bool started = false;  // onTaskManagerStarted reported
    MonotonicTime lastUpdate{};  // of the latest status update
  };

  void onOffers(const ::mesos::v1::scheduler::Event::Offers& offers);
  void processHeldOffers();
  void onUpdate(const ::mesos::v1::TaskStatus& status);
  void terminated(const std::string& id, const std::string& reason);
  ::mesos::v1::TaskInfo makeTask(const Tm& tm, const ::mesos::v1::Offer& offer,
                                 const std::vector<std::uint64_t>& ports) const;
  void updateSuppression();
  void sendKill(const std::string& taskId, const std::string& agentId);
  // Reconciles launched TMs with no update since the reconciliation began,
  // again and again with back-off until all answered (reference §5.6).
  void reconcile(Duration backoff);
  void send(tailor::mesos::SchedulerCall call);

  EventLoop& loop_;
  MesosDriverConfig config_;
  tailor::mesos::SchedulerConnection* connection_ = nullptr;
  DriverListener* listener_ = nullptr;
  std::map<std::string, Tm> tms_;
  bool suppressed_ = false;
  bool tornDown_ = false;
  std::map<std::string, ::mesos::v1::Offer> held_;  // by offer id
  std::optional<TimerId> batchTimer_;
  MonotonicTime reconcileStartedAt_{};
  std::optional<TimerId> reconcileTimer_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::scheduler::mesos
