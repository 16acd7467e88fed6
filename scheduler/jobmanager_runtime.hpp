#pragma once

// What a JobManager process is made of in either mode: its HTTP and RPC
// endpoint, its HTTP client, the driver (LocalDriver, or MesosDriver with its
// scheduler connection and master detector) and the one ResourceManager.
// Per-job mode (per_job_runner.*) puts one JobMaster on it; session mode
// (session_runner.*) one per job. Each mode adds its own RPC methods.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"
#include "mesos/master_operator.hpp"
#include "scheduler/drivers/mesos/mesos_driver.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "scheduler/resourcemanager/sizing_policy.hpp"
#include "tailor/v1/job.pb.h"

namespace tailor::http {
class CurlHttpClient;
class Server;
}  // namespace tailor::http

namespace tailor::rpc {
class Client;
class Server;
}  // namespace tailor::rpc

namespace tailor::mesos {
class HttpAgentFiles;
class HttpSchedulerConnection;
class MasterDetector;
}  // namespace tailor::mesos

namespace tailor {
class ChildProcessLauncher;
}

namespace tailor::scheduler {

class LocalDriver;
class RpcTaskManagerGateway;

// What both modes take from the flags (per_job_flags.*).
struct JobManagerOptions {
  std::string workDir;  // per-job: empty is $TMPDIR/tailor/<job id>
  SizingKind sizing = SizingKind::kTailored;
  Resources localResources;
  int maxSlotsPerTaskManager = 4;
  int spread = 8;
  int fixedSlotsPerTaskManager = 1;
  std::optional<Resources> fixedSlot;  // per-job default: the job's largest profile
  Duration idleTimeout{5000};
  Duration heartbeatInterval{1000};
  Duration heartbeatTimeout{10000};
  Duration placementTimeout{300000};
  Duration evacuateAfter{2000};
  // A TaskManager Mesos cannot reach is kept this long at most while its
  // heartbeat lives (ResourceManagerConfig::unreachableTimeout).
  Duration mesosUnreachableTimeout{600000};
  std::string taskManagerBinary;  // empty: next to this executable
  std::string logLevel = "info";
  // Where the JobManager's RPC endpoint listens and how TMs reach it.
  std::string bindAddress = "127.0.0.1";
  std::string advertiseHost = "127.0.0.1";
  std::uint16_t rpcPort = 0;  // 0: any free port
  // Mesos: when masters are given (a list, or ZooKeeper to detect the
  // leader in), TaskManagers run as Mesos executors.
  tailor::mesos::MesosMasters mesosMasters;
  // No executor given (--taskmanager-executor, --taskmanager-executor-uri):
  // this JobManager serves taskManagerBinary on its HTTP endpoint, and the
  // agents' fetcher downloads it into each TaskManager's sandbox.
  bool serveExecutor = false;
  bool mesosJson = false;
  std::string mesosSecret;
  mesos::MesosDriverConfig mesos;
};

// The sizing policy's settings from the flags. Fixed slots are
// options.fixedSlot, else `defaultFixedSlot`. Errors name the flag.
Result<SizingConfig> makeSizingConfig(const JobManagerOptions& options,
                                      const Resources& defaultFixedSlot);

// Fixed sizing: every stage of `spec` fits in a fixed slot, and a fixed
// TaskManager in the largest one allowed. Tailored: always fine.
Status checkFixedSizing(const SizingConfig& sizing, const v1::JobSpec& spec);

// The ResourceManager's settings from the flags, with `sizing`.
ResourceManagerConfig makeResourceManagerConfig(const JobManagerOptions& options,
                                                SizingConfig sizing);

// Where tailor-taskmanager is by default: next to this executable.
std::string defaultTaskManagerBinary();

// Makes the job's secret (TAILOR_JOB_SECRET, taken out of the environment;
// else a fresh one) and the TLS settings (TAILOR_TLS_*) this process's, so
// that every call it makes from then on carries the secret and uses TLS
// where set (docs/security.md). A JobManager's main calls it first, before
// its first report to a Dispatcher; JobManagerRuntime::build calls it again
// (a secret already taken stays).
Status takeJobManagerSecurity();

class JobManagerRuntime {
 public:
  // What the mode adds to the options.
  struct Settings {
    ResourceManagerConfig resourceManager;
    // host:port of the leading Dispatcher as far as this process knows;
    // must not block (RunObservers::leadingDispatcher). Empty: none known,
    // and executor URIs on the leading Dispatcher are refused.
    std::function<std::string()> leadingDispatcher;
    // Local TaskManagers' log folder (default: <work dir>/logs).
    std::string logDir;
  };

  // Builds every part on `loop`; nothing runs or listens yet. Errors name
  // the flag at fault (--taskmanager-binary, --mesos-master, ...).
  // options.mesos says what the Mesos driver launches (its jobId or
  // sessionName, taskManagerArgs, gpus); workDir must exist.
  static Result<std::unique_ptr<JobManagerRuntime>> create(AsioEventLoop& loop,
                                                           JobManagerOptions options,
                                                           Settings settings);
  ~JobManagerRuntime();
  JobManagerRuntime(const JobManagerRuntime&) = delete;
  JobManagerRuntime& operator=(const JobManagerRuntime&) = delete;

  http::Server& httpServer() { return *httpServer_; }
  rpc::Server& rpcServer() { return *rpcServer_; }
  // The secret the job's processes present to each other (docs/security.md).
  const std::string& jobSecret() const { return jobSecret_; }
  RpcTaskManagerGateway& taskManagers() { return *taskManagers_; }
  ResourceManager& resourceManager() { return *resourceManager_; }
  ResourceManagerDriver& driver() { return *driver_; }
  LocalDriver* localDriver() { return localDriver_; }
  mesos::MesosDriver* mesosDriver() { return mesosDriver_; }
  const JobManagerOptions& options() const { return options_; }

  // Listens (after every route is added) and tells the driver where
  // TaskManagers register. Returns host:port as TaskManagers reach it.
  Result<std::string> listen();
  const std::string& address() const { return address_; }

  // "local driver ..." or "Mesos ..." for the start-up log line.
  std::string describe() const;
  // Logs where the agents fetch the executor from, when this JobManager serves it.
  void logServedExecutor(const std::string& subject) const;

  // Shuts the driver down (once; later calls do nothing).
  void shutdownDriver();
  // True once the driver's last calls (the Mesos TEARDOWN) are out.
  bool drained() const;
  // Stops listening.
  void stopListening();

 private:
  JobManagerRuntime(AsioEventLoop& loop, JobManagerOptions options);
  Status build(Settings settings);

  AsioEventLoop& loop_;
  JobManagerOptions options_;
  std::string address_;
  std::string jobSecret_;
  bool driverShutDown_ = false;
  // Destroyed in reverse order: the ResourceManager before its driver, the
  // driver before the clients and servers it uses.
  std::unique_ptr<http::CurlHttpClient> httpClient_;
  // Failed executors' stderr, read from their agents' sandboxes.
  std::unique_ptr<tailor::mesos::HttpAgentFiles> agentFiles_;
  std::unique_ptr<http::Server> httpServer_;
  std::unique_ptr<rpc::Server> rpcServer_;
  std::unique_ptr<rpc::Client> rpcClient_;
  std::unique_ptr<ChildProcessLauncher> launcher_;
  std::unique_ptr<RpcTaskManagerGateway> taskManagers_;
  std::unique_ptr<ResourceManagerDriver> driver_;
  LocalDriver* localDriver_ = nullptr;
  mesos::MesosDriver* mesosDriver_ = nullptr;
  std::unique_ptr<http::CurlHttpClient> mesosCalls_;  // one worker: Mesos calls stay in order
  std::unique_ptr<tailor::mesos::MasterDetector> detector_;
  std::unique_ptr<tailor::mesos::HttpSchedulerConnection> connection_;
  std::unique_ptr<ResourceManager> resourceManager_;
};

}  // namespace tailor::scheduler
