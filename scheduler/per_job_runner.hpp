#pragma once

// Per-job mode: one JobMaster, one ResourceManager and its driver in this
// process, serving the internal RPC that TaskManagers call. Used by
// `tailor run` (JobManager inside the CLI) and by `tailor-jobmanager`.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"
#include "mesos/master_operator.hpp"
#include "scheduler/drivers/mesos/mesos_driver.hpp"
#include "scheduler/jobmaster/job_observer.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "scheduler/resourcemanager/sizing_policy.hpp"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/report.pb.h"

namespace tailor::rpc {
class Server;
}

namespace tailor::scheduler {

struct PerJobOptions {
  v1::JobSpec spec;
  std::string jobId;       // empty: made from the job name and the time
  std::string outputDir;   // empty: spec.output, else ./tailor-output/<name>
  std::string workDir;     // empty: $TMPDIR/tailor/<job id>
  SizingKind sizing = SizingKind::kTailored;
  Resources localResources;
  int maxSlotsPerTaskManager = 4;
  int spread = 8;
  int fixedSlotsPerTaskManager = 1;
  std::optional<Resources> fixedSlot;  // default: the job's largest profile
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
  // High availability (docs/ha.md): where this job's JobManager attempts keep
  // their state (local:DIR or zk://...; empty: nowhere), and which attempt
  // this is. An attempt leads before it acts and goes on from the state the
  // previous one left: the same Mesos framework, TaskManager ids after its.
  std::string haStore;
  int attempt = 1;
  // An earlier attempt's TaskManager that does not register again within
  // this is lost; a TaskManager waits this long for the job's next JobManager.
  Duration adoptionTimeout{30000};
  Duration jobManagerLossTimeout{60000};
};

// Resources of this machine: all its CPUs and memory, the free disk of
// `dir`, no GPUs.
Resources machineResources(const std::string& dir);

// Makes "<name>-<yyyymmdd>-<hhmmss>-<4 hex digits>".
std::string makeJobId(const std::string& jobName, double wallSeconds);

// $TMPDIR/tailor/<job id> (/tmp when TMPDIR is unset or empty).
std::string defaultWorkDir(const std::string& jobId);

// Writes the report as JSON (proto field names, all fields).
Status writeReport(const v1::JobReport& report, const std::string& path);
std::string reportToJson(const v1::JobReport& report);

// Observes the run, and answers what it asks of its caller; each may be
// null. Called on the runner's loop thread.
struct RunObservers {
  JobObserver* job = nullptr;
  ResourceObserver* resources = nullptr;
  // Told host:port of the JobManager's RPC endpoint once it listens.
  std::function<void(const std::string&)> listening;
  // Adds more RPC methods to the JobManager's endpoint before it listens.
  std::function<void(rpc::Server&)> addRoutes;
  // host:port of the leading Dispatcher as far as this process knows (the
  // last one known when none is found); must not block. Asked at each Mesos
  // TaskManager launch for executor URIs on the leading Dispatcher
  // ("dispatcher:/PATH"), which are refused without it.
  std::function<std::string()> leadingDispatcher;
};

// Runs the job to its end on the calling thread and returns its report.
// SIGINT and SIGTERM cancel the job. An error means the job could not start.
Result<v1::JobReport> runPerJob(PerJobOptions options, RunObservers observers);

}  // namespace tailor::scheduler
