#pragma once

// The TaskManager: registers with the ResourceManager, heartbeats, runs the
// attempts the JobMaster deploys (one TaskRunner each), reports their state,
// serves its result partitions over HTTP and cleans its work directory when
// it stops. A session's TaskManager runs attempts of many jobs at once, and
// attempt ids are unique within a job only: attempts are keyed by job and
// attempt id, and a job's partitions and scratch space go when its JobMaster
// says it ended (DropPartitions). Loop thread only, except where noted.

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/http/server.hpp"
#include "common/metrics.hpp"
#include "common/resources.hpp"
#include "common/rpc.hpp"
#include "executor/task_runner.hpp"

namespace spdlog {
class logger;
}

namespace tailor::zookeeper {
class Session;
}

namespace tailor::executor {

// An attempt on this TaskManager: its job and its attempt id
// ("<stage>[<index>]#<attempt>", unique within the job).
struct AttemptKey {
  std::string jobId;
  std::string attemptId;

  auto operator<=>(const AttemptKey&) const = default;
  // "<job id>/<attempt id>" (the attempt id alone for an empty job id): for
  // logs and heartbeats.
  std::string toString() const;
};

struct TaskManagerConfig {
  std::string id;
  std::string resourceManagerAddress;  // host:port
  Resources resources;
  std::string workDir;
  std::string taskLogDir = {};  // kept after exit; empty: task stderr stays in the work directory
  std::string advertiseHost = "127.0.0.1";
  Duration registrationTimeout{60000};
  Duration retryInterval{200};
  // High availability (docs/ha.md): where the job's leading JobManager says
  // where it is (local:DIR or zk://..., the JobManager's --ha-store), and how
  // long this TaskManager waits for a new one when it loses the current one.
  // Meanwhile it keeps its partitions, its running attempts run on and the
  // final updates of those that end are kept; it registers with the new
  // leader, telling it both. Empty or zero: it shuts down when it loses the
  // ResourceManager.
  std::string jobManagerSource = {};
  Duration jobManagerLossTimeout{0};
};

class TaskManager {
 public:
  // `stop` is called once the TM has shut down (to end the process).
  TaskManager(EventLoop& loop, http::Server& server, rpc::Client& rpc, TaskManagerConfig config,
              std::function<void(int exitCode)> stop);
  ~TaskManager();

  // Adds the RPC and partition routes to `server` (before it starts).
  void addRoutes(rpc::Server& rpcServer);

  // The RPCs of the TaskManager service (docs/rpc.md), as addRoutes serves
  // them. Loop thread only.
  //
  // Runs an attempt; refused while stopping or when the job's attempt of
  // that id already runs here.
  Result<v1::DeployTaskResponse> deploy(const v1::DeployTaskRequest& request);
  // Kills the attempt `attempt_id` of job `job_id` if it runs here (its
  // CANCELED update follows). An empty job id names the only job running
  // that attempt id: kInvalidArgument when several do.
  Result<v1::CancelTaskResponse> cancelTask(const v1::CancelTaskRequest& request);
  // The job ended: kills its attempts still running (their ends are not
  // reported), forgets its unreported updates and removes its partitions and
  // scratch space at once; other jobs' attempts and partitions are left
  // alone. A job unknown here removes nothing. kInvalidArgument for an empty
  // job id.
  Result<v1::DropPartitionsResponse> dropPartitions(const v1::DropPartitionsRequest& request);
  // A window of an attempt's stderr from the task log folder. An empty job id
  // names the folder's only job.
  Result<v1::ReadTaskLogResponse> readTaskLog(const v1::ReadTaskLogRequest& request);

  // Called once the ResourceManager accepted the registration.
  void setOnRegistered(std::function<void()> callback) { onRegistered_ = std::move(callback); }

  // Starts registering, once the server listens on `port`.
  void start(std::uint16_t port);

  // Kills running attempts, removes the work directory and stops.
  void shutdown(const std::string& reason, int exitCode);

 private:
  v1::RegisterTaskManagerRequest registration() const;
  // Registered: heartbeats at the interval the answer gives.
  void startHeartbeats(const v1::RegisterTaskManagerResponse& response);
  void tryRegister();
  void heartbeat();
  // The JobManager is lost: wait for a new leader (HA) or shut down.
  void onJobManagerLost(const std::string& reason);
  void lookForLeader();
  // The address the job's leader published; empty when none (yet).
  std::string readLeader();
  // The runner of `key` ended with `update`, unless its job was dropped
  // meanwhile (then `serial` no longer names a running attempt).
  void onRunnerDone(const AttemptKey& key, std::uint64_t serial, v1::TaskStateUpdate update);
  // An attempt's last update: to the JobManager running it, or kept for the
  // next one while none listens.
  void report(const AttemptKey& key, v1::TaskStateUpdate update);
  void sendUpdate(const std::string& jobMaster, const AttemptKey& key, int triesLeft);
  // Registered with the job's new leader at `leader`; the updates of the
  // attempts `sent` went with the registration.
  void onReRegistered(const std::string& leader, const std::set<AttemptKey>& sent,
                      const v1::RegisterTaskManagerResponse& response);
  void onAttemptDone(const AttemptKey& key);
  TaskRunnerContext scratchFor(const v1::TaskDeployment& task);

  EventLoop& loop_;
  http::Server& server_;
  rpc::Client& rpc_;
  TaskManagerConfig config_;
  std::function<void(int)> stop_;
  std::function<void()> onRegistered_;
  std::string address_;
  bool registered_ = false;
  bool stopping_ = false;
  MonotonicTime startedAt_{};
  MonotonicTime lastHeartbeatOk_{};
  Duration heartbeatInterval_{1000};
  Duration heartbeatTimeout_{10000};
  std::optional<TimerId> timer_;
  std::optional<MonotonicTime> lostSince_;  // waiting for a new JobManager since
  std::unique_ptr<zookeeper::Session> zooKeeper_;
  std::map<AttemptKey, std::unique_ptr<TaskRunner>> runners_;
  // Running attempts: as a registration names them, the JobMaster each
  // reports to, and the number of its deployment here (a runner's end is
  // only taken for the deployment it ran).
  struct Running {
    v1::RunningAttempt attempt;
    std::string reportTo;
    std::uint64_t serial = 0;
  };
  std::map<AttemptKey, Running> running_;
  std::uint64_t nextSerial_ = 1;
  // Final updates no JobManager has acknowledged yet, by attempt: they go
  // with a registration with a new JobManager too.
  std::map<AttemptKey, v1::TaskStateUpdate> unheard_;
  // The attempts started here, in the task log folder (with one).
  std::unique_ptr<StartedAttempts> startedAttempts_;
  // Slot scratch directories in use, and which attempt uses which.
  std::set<std::string> busyScratch_;
  std::map<AttemptKey, std::string> scratchOf_;
  std::shared_ptr<spdlog::logger> log_;
  // Last: unregistered before the state it reads goes.
  metrics::CollectorHandle runningGauge_;
};

}  // namespace tailor::executor
