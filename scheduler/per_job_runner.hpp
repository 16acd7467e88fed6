#pragma once

// Per-job mode: one JobMaster on a JobManagerRuntime (one ResourceManager
// and its driver) in this process, serving the internal RPC that
// TaskManagers call. Used by
// `tailor run` (JobManager inside the CLI) and by `tailor-jobmanager`.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"
#include "scheduler/job_report.hpp"
#include "scheduler/jobmanager_runtime.hpp"
#include "scheduler/jobmaster/job_observer.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/report.pb.h"

namespace tailor::rpc {
class Server;
}

namespace tailor::scheduler {

struct PerJobOptions : JobManagerOptions {
  v1::JobSpec spec;
  std::string jobId;       // empty: made from the job name and the time
  std::string outputDir;   // empty: spec.output, else ./tailor-output/<name>
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
  // What earlier runs of the job used: the profiles of its `resources: auto`
  // stages are chosen from it (common/usage_history.hpp).
  v1::UsageHistory usageHistory;
};

// Resources of this machine: all its CPUs and memory, the free disk of
// `dir`, no GPUs.
Resources machineResources(const std::string& dir);

// Makes "<name>-<yyyymmdd>-<hhmmss>-<4 hex digits>".
std::string makeJobId(const std::string& jobName, double wallSeconds);

// $TMPDIR/tailor/<job id> (/tmp when TMPDIR is unset or empty).
std::string defaultWorkDir(const std::string& jobId);

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
