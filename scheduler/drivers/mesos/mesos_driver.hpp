#pragma once

// The Mesos driver: the JobManager is its own Mesos framework
// ("tailor-job-<job id>", or "tailor-session-<name>" for a session). Each TaskManager is one Mesos task carrying an
// ExecutorInfo for the custom executor `tailor-taskmanager`, with one port
// from its offer. The offer loop shared with the Dispatcher's framework
// (mesos/offer_loop.hpp) places, launches, declines, suppresses, revives,
// acknowledges, kills and reconciles; this driver decides what a TaskManager
// task is and tells the ResourceManager when one started or ended. A
// TaskManager whose task FAILED is told ended only once the driver knows how
// its executor ended (the master's FAILURE event) and has read the end of its
// stderr from the agent's sandbox, or after failureDetailsTimeout: the reason
// names the agent, the exit status, what to check and the stderr lines
// (executor_failure.hpp). The framework is PARTITION_AWARE: a TaskManager
// whose task Mesos says TASK_UNREACHABLE or TASK_UNKNOWN is reported
// unreachable (not ended) and reachable again on TASK_RUNNING; released while
// unreachable, it is reported ended at once and its KILL waits until Mesos
// sees it again. At the end: TEARDOWN.
//
// Loop thread only.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "mesos/agent_files.hpp"
#include "mesos/offer_loop.hpp"
#include "mesos/scheduler_connection.hpp"
#include "scheduler/drivers/mesos/executor_failure.hpp"
#include "scheduler/drivers/mesos/executor_uri.hpp"
#include "scheduler/resourcemanager/driver.hpp"

namespace spdlog {
class logger;
}

namespace tailor::scheduler::mesos {

struct MesosDriverConfig {
  std::string jobId;
  // Set for a session JobManager (docs/sessions.md): the framework is the
  // session's, named after it, and jobId is unused.
  std::string sessionName;
  std::string user;          // FrameworkInfo.user (default: the current user)
  std::string role = "*";
  std::string principal;
  double failoverTimeoutSeconds = 600;
  bool checkpoint = true;
  std::string hostname;      // FrameworkInfo.hostname (empty: unset)
  std::string webuiUrl;      // FrameworkInfo.webui_url (empty: unset)
  bool gpus = false;         // GPU_RESOURCES capability (a stage asks for gpus)
  Duration refuse{5000};     // DECLINE filter
  // Offers are held at most this long before they are used or declined, so
  // that offers of several events are matched together and a RESCIND right
  // behind its offer is honoured. Zero: each OFFERS event at once.
  Duration offerBatchWindow{0};
  // A released TaskManager learns it from its next heartbeat and exits
  // (TASK_FINISHED); it is KILLed only if still there after this. Zero: KILL at once.
  Duration releaseGrace{0};
  // The executor: a command on the agent, or fetched by the Mesos fetcher
  // into the sandbox ("./tailor-taskmanager").
  std::string executorCommand = "tailor-taskmanager";
  // More flags for every TaskManager (high availability: where to find the
  // job's next JobManager, how long to wait for it).
  std::vector<std::string> taskManagerArgs;
  // The job's secret, given to each TaskManager in its environment
  // (secret::kEnvironmentVariable), never on its command line.
  std::string jobSecret;
  // What the fetcher downloads for each executor; paths on the leading
  // Dispatcher are resolved at each launch (setLeadingDispatcher), paths on
  // this JobManager against resourceManagerAddress.
  std::vector<ExecutorUri> executorUris;
  // Every executor URI with `cache` set: the agents' fetcher keeps one copy
  // per URI and copies it into each sandbox instead of downloading again.
  bool executorCache = false;
  Resources executorOverhead{50, 32, 0, 0};  // the executor's own resources
  std::string resourceManagerAddress;        // host:port TMs register with
  std::string taskManagerLogLevel = "info";
  bool executorJson = false;  // executors talk JSON to their agents (else protobuf)
  Resources maxTaskManager{8000, 32768, 0, 0};
  // A TaskManager whose task FAILED is reported ended at most this long
  // after, with what was learnt by then of its executor's end (its exit
  // status, its stderr). Zero: at once, with the task's status only.
  Duration failureDetailsTimeout{3000};
};

// "tailor-job-<job id>", or "tailor-session-<name>" with config.sessionName.
std::string frameworkName(const MesosDriverConfig& config);

// "job <job id>" or "session <name>": whose framework it is, for logs.
std::string frameworkOwner(const MesosDriverConfig& config);

// Builds the FrameworkInfo the driver subscribes with (pure).
::mesos::v1::FrameworkInfo makeFrameworkInfo(const MesosDriverConfig& config);

class MesosDriver : public ResourceManagerDriver,
                    public tailor::mesos::SchedulerListener,
                    private tailor::mesos::OfferLoopOwner {
 public:
  // `connection` is started by start(); the driver is its listener. Failed
  // executors' stderr is read through `agentFiles` (none: not read); it must
  // outlive the driver.
  MesosDriver(EventLoop& loop, MesosDriverConfig config,
              tailor::mesos::AgentFiles* agentFiles = nullptr);
  ~MesosDriver() override;

  void setConnection(tailor::mesos::SchedulerConnection* connection) {
    connection_ = connection;
    offers_.setConnection(connection);
  }

  // Where TMs register; set once the RPC server is listening.
  void setResourceManagerAddress(std::string address) {
    config_.resourceManagerAddress = std::move(address);
  }

  // host:port of the Dispatcher that leads as far as this JobManager knows
  // (the last one known when none is found), asked at each TaskManager launch
  // to resolve executor URIs on the leading Dispatcher. Needed (before
  // start()) when config.executorUris holds one; must not block.
  void setLeadingDispatcher(std::function<std::string()> address) {
    leadingDispatcher_ = std::move(address);
  }

  // ResourceManagerDriver
  void start(DriverListener* listener) override;
  void launchTaskManager(const std::string& taskManagerId, const TaskManagerSpec& spec) override;
  void releaseTaskManager(const std::string& taskManagerId) override;
  // The configured largest, and once offers came, no larger than the largest
  // agent offered (minus the executor's own resources).
  Resources maxTaskManager() const override;
  std::optional<Resources> capacity() const override { return std::nullopt; }
  bool placementBlocked() const override { return offers_.pendingUnplaced(); }
  std::string describeOffers() const override { return offers_.describeOffersSeen(); }
  // Against the largest TaskManager allowed (--taskmanager-max-size), then
  // the offers seen: `total` and the executor's own resources.
  std::optional<ClosestFit> closestFit(const Resources& total) const override;
  std::string describe() const override;
  void shutdown() override;

  // SchedulerListener
  void onSubscribed(const std::string& frameworkId, bool isNewFramework) override;
  void onEvent(const tailor::mesos::SchedulerEvent& event) override;
  void onDisconnected(const std::string& reason) override;

  bool tornDown() const { return offers_.tornDown(); }

  // High availability (docs/ha.md). Before start(): subscribe again as the
  // framework an earlier attempt of the job registered.
  void setFrameworkId(std::string frameworkId) { frameworkId_ = std::move(frameworkId); }
  // A TaskManager task an earlier attempt launched: tracked, reconciled and
  // killed (this attempt starts its own).
  void retire(const std::string& taskId, const std::string& agentId);
  // A TaskManager task an earlier attempt launched, taken over: reconciled
  // and reported like this attempt's own (the ResourceManager adopts it too).
  void adopt(const std::string& taskId, const std::string& agentId, const TaskManagerSpec& spec);
  // Told (on the loop) the framework id of each subscription, the agent of
  // each launched TaskManager, and the end of each retired task.
  struct StateHooks {
    std::function<void(const std::string& frameworkId)> subscribed;
    std::function<void(const std::string& taskId, const std::string& agentId)> placed;
    std::function<void(const std::string& taskId)> retiredGone;
  };
  void setStateHooks(StateHooks hooks) { hooks_ = std::move(hooks); }

 private:
  struct Tm {
    TaskManagerSpec spec;
    bool started = false;  // onTaskManagerStarted reported
    std::string agentId;
    std::optional<int> exitStatus;  // of its executor, from a FAILURE event
    bool unreachable = false;  // the latest update: TASK_UNREACHABLE or TASK_UNKNOWN
  };

  // An agent as its offers describe it.
  struct Agent {
    std::string hostname;
    std::string url;  // agentBaseUrl(); empty: unknown
  };

  // A TaskManager whose task FAILED, not yet reported ended: what is known of
  // its executor's end so far.
  struct Failing {
    ExecutorFailure failure;
    bool stderrDone = false;  // read, or known to be unreadable
    std::optional<TimerId> deadline;
  };

  // OfferLoopOwner
  ::mesos::v1::TaskInfo makeTask(const std::string& taskId, const ::mesos::v1::Offer& offer,
                                 const std::vector<std::uint64_t>& ports) override;
  void onTaskLaunched(const std::string& taskId, const ::mesos::v1::Offer& offer) override;
  void onTaskUpdate(const std::string& taskId, const ::mesos::v1::TaskStatus& status) override;
  void onTaskEnded(const std::string& taskId, const std::string& reason,
                   const ::mesos::v1::TaskStatus* status) override;
  void reportStarted(const std::string& taskId);
  // Records what an event tells of agents (offers) and executors (FAILURE).
  void noteEvent(const tailor::mesos::SchedulerEvent& event);
  // Starts learning how the executor of `taskId` (whose task FAILED) ended.
  void gatherFailureDetails(const std::string& taskId, const std::string& reason,
                            const ::mesos::v1::TaskStatus& status, const Tm& tm);
  void onStderrRead(const std::string& taskId, Result<tailor::mesos::FileTail> tail);
  // Reports the failure once all is known, or (`due`) at the deadline.
  void reportFailureWhenKnown(const std::string& taskId, bool due);
  // The executor's URIs for the TaskManager `taskId` launched now.
  std::vector<std::string> executorUris(const std::string& taskId);

  EventLoop& loop_;
  MesosDriverConfig config_;
  tailor::mesos::AgentFiles* agentFiles_;
  tailor::mesos::SchedulerConnection* connection_ = nullptr;
  DriverListener* listener_ = nullptr;
  std::map<std::string, Tm> tms_;
  std::map<std::string, Agent> agents_;     // by agent id, from offers
  std::map<std::string, Failing> failing_;  // by TaskManager id
  std::set<std::string> retired_;
  std::string frameworkId_;
  StateHooks hooks_;
  std::function<std::string()> leadingDispatcher_;
  std::string executorDispatcher_;  // the Dispatcher the last launch fetched from
  tailor::mesos::OfferLoop offers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed
  std::string owner_;  // "job <id>" or "session <name>", for logs
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::scheduler::mesos
