#pragma once

// The flags of per-job mode, shared by `tailor run` and `tailor-jobmanager`
// so that both accept exactly the same options (docs/configuration.md).

#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>

#include "common/result.hpp"
#include "scheduler/per_job_runner.hpp"

namespace tailor::scheduler {

struct PerJobFlags {
  std::string output;
  std::string report;
  std::string sizing = "tailored";
  std::string localResources;
  std::string idleTimeout = "5s";
  std::string heartbeatInterval = "1s";
  std::string heartbeatTimeout = "10s";
  int maxSlots = 4;
  int spread = 8;
  std::string placementTimeout = "5m";
  std::string evacuateAfter = "2s";
  int fixedSlots = 1;
  std::string fixedSlot;
  std::string workDir;
  // Folder of usage histories for `resources: auto` (<job name>.json); "none": none.
  std::string usageHistory;
  std::string haStore;
  std::string taskManagerBinary;
  std::string logLevel = "info";
  std::string jobId;
  std::string bind = "127.0.0.1";
  std::string advertiseHost = "127.0.0.1";
  int rpcPort = 0;
  // Mesos
  std::string mesosMaster;
  std::string mesosContentType = "protobuf";
  std::string mesosPrincipal;
  std::string mesosSecretFile;
  std::string mesosRole = "*";
  std::string mesosUser;
  std::string mesosFailoverTimeout = "10m";
  bool mesosCheckpoint = true;
  std::string mesosHostname;
  std::string mesosWebuiUrl;
  std::string mesosRefuse = "5s";
  std::string mesosOfferBatchWindow = "20ms";
  std::string mesosReleaseGrace = "3s";
  std::string mesosUnreachableTimeout = "10m";
  std::string executorCommand;  // empty: chooseExecutor() picks
  std::vector<std::string> executorUris;
  bool executorCache = false;
  std::string executorResources = "cpus=0.05,mem=32";
  std::string maxTaskManager = "cpus=8,mem=32GiB";
};

// Adds the per-job flags to `options`, writing into `flags`.
void addPerJobFlags(boost::program_options::options_description& options, PerJobFlags& flags);

// Checks the flags and builds the options for runPerJob(). Errors name the flag.
Result<PerJobOptions> resolvePerJobFlags(const PerJobFlags& flags, v1::JobSpec spec);

// Checks the flags both modes share (all but the job's: its id, output,
// state store) into `options`; workDir as given. Errors name the flag.
Status resolveJobManagerFlags(const PerJobFlags& flags, JobManagerOptions& options);

// The local cluster the flags describe (--local-resources over the machine's).
Result<Resources> localClusterResources(const PerJobFlags& flags);

// What every task must fit in: the local cluster, or on Mesos the largest
// TaskManager (--taskmanager-max-size). `description` names it for errors.
Result<Resources> taskCapacity(const PerJobFlags& flags, std::string* description);

}  // namespace tailor::scheduler
