#include "scheduler/per_job_flags.hpp"

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/config.hpp"
#include "common/secret.hpp"
#include "mesos/master_operator.hpp"

namespace tailor::scheduler {

namespace po = boost::program_options;

void addPerJobFlags(po::options_description& options, PerJobFlags& flags) {
  options.add_options()("output", po::value(&flags.output),
                        "directory for the job's output (default: the spec's "
                        "`output`, else ./tailor-output/<job name>)")(
      "report", po::value(&flags.report), "write the run report (JSON) to this file")(
      "taskmanager-sizing", po::value(&flags.sizing)->default_value(flags.sizing),
      "tailored | fixed")(
      "local-resources", po::value(&flags.localResources),
      "the local cluster: cpus=N,mem=MiB[,disk=MiB,gpus=N] (default: this machine)")(
      "taskmanager-idle-timeout", po::value(&flags.idleTimeout)->default_value(flags.idleTimeout),
      "release a TaskManager idle this long (e.g. 500ms, 5s)")(
      "taskmanager-max-slots", po::value(&flags.maxSlots)->default_value(flags.maxSlots),
      "tailored: slots of one profile per TaskManager for a narrow stage")(
      "taskmanager-spread", po::value(&flags.spread)->default_value(flags.spread),
      "tailored: a wider stage packs ceil(tasks / N) slots per TaskManager (as far as the largest "
      "TaskManager holds them), so it runs on about N TaskManagers, in waves")(
      "placement-timeout",
      po::value(&flags.placementTimeout)->default_value(flags.placementTimeout),
      "fail the job when its demand cannot be placed this long while it holds no TaskManager")(
      "evacuate-after", po::value(&flags.evacuateAfter)->default_value(flags.evacuateAfter),
      "when demand waits this long for room, idle TaskManagers that only keep partitions move "
      "them into the JobManager and go")(
      "taskmanager-slots", po::value(&flags.fixedSlots)->default_value(flags.fixedSlots),
      "fixed: slots per TaskManager")(
      "taskmanager-slot", po::value(&flags.fixedSlot),
      "fixed: size of every slot, cpus=N,mem=MiB (default: the job's largest profile)")(
      "heartbeat-interval",
      po::value(&flags.heartbeatInterval)->default_value(flags.heartbeatInterval),
      "TaskManager heartbeat interval")(
      "heartbeat-timeout",
      po::value(&flags.heartbeatTimeout)->default_value(flags.heartbeatTimeout),
      "a TaskManager silent this long is lost")(
      "work-dir", po::value(&flags.workDir), "work directory (default: $TMPDIR/tailor/<job id>)")(
      "usage-history", po::value(&flags.usageHistory),
      "folder where what runs used is kept per job name (<name>.json), read for `resources: "
      "auto` stages before a run and updated after it; none: neither (default: tailor run "
      "$XDG_STATE_HOME/tailor/usage, tailor-jobmanager none, or its Dispatcher's)")(
      "ha-store", po::value(&flags.haStore),
      "where the job's JobManager attempts keep their state and elect one leader: local:DIR or "
      "zk://HOST:PORT[,HOST:PORT...]/PATH (default: none; the Dispatcher gives one)")(
      "taskmanager-binary", po::value(&flags.taskManagerBinary),
      "path of tailor-taskmanager (default: next to this program)")(
      "job-id", po::value(&flags.jobId), "job id (default: <name>-<date>-<time>-<random>)")(
      "log-level", po::value(&flags.logLevel)->default_value(flags.logLevel),
      "trace | debug | info | warn | error")("bind",
                                             po::value(&flags.bind)->default_value(flags.bind),
                                             "address the JobManager's RPC endpoint listens on")(
      "advertise-host", po::value(&flags.advertiseHost)->default_value(flags.advertiseHost),
      "host TaskManagers reach the JobManager at")(
      "rpc-port", po::value(&flags.rpcPort)->default_value(flags.rpcPort),
      "port of the JobManager's RPC endpoint (0 picks a free one)")(
      "mesos-master", po::value(&flags.mesosMaster),
      "run TaskManagers on Mesos: HOST:PORT[,HOST:PORT...] of the masters, or "
      "zk://HOST:PORT[,...]/PATH where they elect their leader")(
      "mesos-content-type",
      po::value(&flags.mesosContentType)->default_value(flags.mesosContentType), "protobuf | json")(
      "mesos-principal", po::value(&flags.mesosPrincipal), "framework principal (HTTP Basic user)")(
      "mesos-secret-file", po::value(&flags.mesosSecretFile),
      "file holding the principal's secret")(
      "mesos-role", po::value(&flags.mesosRole)->default_value(flags.mesosRole), "framework role")(
      "mesos-user", po::value(&flags.mesosUser), "user tasks run as (default: this user)")(
      "mesos-failover-timeout",
      po::value(&flags.mesosFailoverTimeout)->default_value(flags.mesosFailoverTimeout),
      "how long Mesos keeps the framework while the JobManager is away")(
      "mesos-checkpoint", po::value(&flags.mesosCheckpoint)->default_value(flags.mesosCheckpoint),
      "ask agents to checkpoint (TaskManagers survive agent restarts)")(
      "mesos-hostname", po::value(&flags.mesosHostname),
      "FrameworkInfo.hostname (default: --advertise-host)")(
      "mesos-webui-url", po::value(&flags.mesosWebuiUrl),
      "FrameworkInfo.webui_url (default: under a Dispatcher, the job's page there: "
      "http://<dispatcher>/v1/jobs/<job id>; else none)")(
      "mesos-refuse", po::value(&flags.mesosRefuse)->default_value(flags.mesosRefuse),
      "refuse filter on declined offers")(
      "mesos-offer-batch-window",
      po::value(&flags.mesosOfferBatchWindow)->default_value(flags.mesosOfferBatchWindow),
      "offers are held at most this long, then used or declined")(
      "mesos-release-grace",
      po::value(&flags.mesosReleaseGrace)->default_value(flags.mesosReleaseGrace),
      "a released TaskManager that has not finished by then is killed")(
      "mesos-unreachable-timeout",
      po::value(&flags.mesosUnreachableTimeout)->default_value(flags.mesosUnreachableTimeout),
      "a TaskManager Mesos says is unreachable or unknown is kept while its heartbeat lives, "
      "at most this long; then its work is redone (Mesos' --agent_reregister_timeout is 10m "
      "too)")(
      "taskmanager-executor", po::value(&flags.executorCommand),
      "the TaskManager executor's command on the agents (default: ./tailor-taskmanager, "
      "which this JobManager serves to the agents' Mesos fetcher; with "
      "--taskmanager-executor-uri: tailor-taskmanager). Given alone, nothing is fetched")(
      "taskmanager-executor-uri", po::value(&flags.executorUris)->composing(),
      "URI for the Mesos fetcher (repeatable), e.g. the tailor-taskmanager binary; "
      "dispatcher:/PATH is PATH on whichever Dispatcher leads when a TaskManager is launched "
      "(needs --dispatcher)")(
      "taskmanager-executor-cache",
      po::value(&flags.executorCache)->default_value(flags.executorCache),
      "the agents' Mesos fetcher caches the executor's URIs (a URI is never fetched again "
      "while cached, docs/mesos.md)")(
      "taskmanager-executor-resources",
      po::value(&flags.executorResources)->default_value(flags.executorResources),
      "the executor's own resources beside the TaskManager's")(
      "taskmanager-max-size", po::value(&flags.maxTaskManager)->default_value(flags.maxTaskManager),
      "on Mesos: the largest TaskManager tailored sizing asks for");
}

namespace {

// The executor's command, and whether this JobManager serves its own
// tailor-taskmanager for it: the command given runs as it is, with the URIs
// given (nothing fetched without); with no command, the URIs given are
// fetched and tailor-taskmanager runs from the agents' PATH, and with
// neither, the fetcher downloads this JobManager's tailor-taskmanager into
// the sandbox and it runs from there.
void chooseExecutor(const PerJobFlags& flags, JobManagerOptions& options) {
  options.serveExecutor = flags.executorCommand.empty() && flags.executorUris.empty();
  if (!flags.executorCommand.empty()) {
    options.mesos.executorCommand = flags.executorCommand;
  } else if (options.serveExecutor) {
    options.mesos.executorCommand = std::string("./") + mesos::kExecutorFileName;
  } else {
    options.mesos.executorCommand = mesos::kExecutorFileName;
  }
}

}  // namespace

Result<Resources> localClusterResources(const PerJobFlags& flags) {
  std::error_code ec;
  Resources machine = machineResources(std::filesystem::temp_directory_path(ec).string());
  if (flags.localResources.empty()) return machine;
  auto parsed = parseResourceList(flags.localResources, machine);
  if (!parsed.ok()) return parsed.error().withContext("--local-resources");
  return parsed;
}

Result<Resources> taskCapacity(const PerJobFlags& flags, std::string* description) {
  if (flags.mesosMaster.empty()) {
    *description = "the local cluster";
    return localClusterResources(flags);
  }
  *description = "the largest TaskManager (--taskmanager-max-size)";
  auto largest = parseResourceList(flags.maxTaskManager, Resources());
  if (!largest.ok()) return largest.error().withContext("--taskmanager-max-size");
  return largest;
}

Result<PerJobOptions> resolvePerJobFlags(const PerJobFlags& flags, v1::JobSpec spec) {
  PerJobOptions options;
  Status shared = resolveJobManagerFlags(flags, options);
  if (!shared.ok()) return shared.error();
  options.spec = std::move(spec);
  options.jobId =
      !flags.jobId.empty()
          ? flags.jobId
          : makeJobId(options.spec.name(), std::chrono::duration<double>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  options.outputDir = flags.output;
  options.workDir = !flags.workDir.empty() ? flags.workDir : defaultWorkDir(options.jobId);
  options.haStore = flags.haStore;
  return options;
}

Status resolveJobManagerFlags(const PerJobFlags& flags, JobManagerOptions& options) {
  options.workDir = flags.workDir;
  options.taskManagerBinary = flags.taskManagerBinary;
  options.logLevel = flags.logLevel;
  auto sizing = parseSizingKind(flags.sizing);
  if (!sizing.ok()) return sizing.error();
  options.sizing = *sizing;
  auto local = localClusterResources(flags);
  if (!local.ok()) return local.error();
  options.localResources = *local;
  struct DurationFlag {
    const char* name;
    const std::string& text;
    Duration* out;
  };
  for (const auto& flag :
       {DurationFlag{"--taskmanager-idle-timeout", flags.idleTimeout, &options.idleTimeout},
        DurationFlag{"--heartbeat-interval", flags.heartbeatInterval, &options.heartbeatInterval},
        DurationFlag{"--heartbeat-timeout", flags.heartbeatTimeout, &options.heartbeatTimeout},
        DurationFlag{"--placement-timeout", flags.placementTimeout, &options.placementTimeout},
        DurationFlag{"--evacuate-after", flags.evacuateAfter, &options.evacuateAfter},
        DurationFlag{"--mesos-unreachable-timeout", flags.mesosUnreachableTimeout,
                     &options.mesosUnreachableTimeout}}) {
    auto parsed = parseDuration(flag.text);
    if (!parsed.ok()) return parsed.error().withContext(flag.name);
    *flag.out = *parsed;
  }
  if (flags.maxSlots < 1) {
    return makeError(ErrorCode::kInvalidArgument, "--taskmanager-max-slots: must be at least 1");
  }
  if (flags.spread < 1) {
    return makeError(ErrorCode::kInvalidArgument, "--taskmanager-spread: must be at least 1");
  }
  options.spread = flags.spread;
  if (flags.fixedSlots < 1) {
    return makeError(ErrorCode::kInvalidArgument, "--taskmanager-slots: must be at least 1");
  }
  options.maxSlotsPerTaskManager = flags.maxSlots;
  options.fixedSlotsPerTaskManager = flags.fixedSlots;
  options.bindAddress = flags.bind;
  options.advertiseHost = flags.advertiseHost;
  if (flags.rpcPort < 0 || flags.rpcPort > 65535) {
    return makeError(ErrorCode::kInvalidArgument, "--rpc-port: {} is not a port (expected 0..65535)",
                     flags.rpcPort);
  }
  options.rpcPort = static_cast<std::uint16_t>(flags.rpcPort);
  if (!flags.mesosMaster.empty()) {
    auto masters = tailor::mesos::parseMasterList(flags.mesosMaster);
    if (!masters.ok()) return masters.error();
    options.mesosMasters = std::move(*masters);
    if (flags.mesosContentType != "protobuf" && flags.mesosContentType != "json") {
      return makeError(ErrorCode::kInvalidArgument,
                       "--mesos-content-type: '{}' (expected protobuf or json)",
                       flags.mesosContentType);
    }
    options.mesosJson = flags.mesosContentType == "json";
    auto& m = options.mesos;
    m.principal = flags.mesosPrincipal;
    if (!flags.mesosSecretFile.empty()) {
      // Owner-only, like every secret file (docs/security.md).
      auto secret = secret::readFile(flags.mesosSecretFile);
      if (!secret.ok()) return secret.error().withContext("--mesos-secret-file");
      options.mesosSecret = *secret;
    }
    m.role = flags.mesosRole;
    m.user = flags.mesosUser;
    auto failover = parseDuration(flags.mesosFailoverTimeout);
    if (!failover.ok()) return failover.error().withContext("--mesos-failover-timeout");
    m.failoverTimeoutSeconds = std::chrono::duration<double>(*failover).count();
    m.checkpoint = flags.mesosCheckpoint;
    m.hostname = flags.mesosHostname.empty() ? flags.advertiseHost : flags.mesosHostname;
    m.webuiUrl = flags.mesosWebuiUrl;
    auto refuse = parseDuration(flags.mesosRefuse);
    if (!refuse.ok()) return refuse.error().withContext("--mesos-refuse");
    m.refuse = *refuse;
    auto window = parseDuration(flags.mesosOfferBatchWindow);
    if (!window.ok()) return window.error().withContext("--mesos-offer-batch-window");
    m.offerBatchWindow = *window;
    auto grace = parseDuration(flags.mesosReleaseGrace);
    if (!grace.ok()) return grace.error().withContext("--mesos-release-grace");
    m.releaseGrace = *grace;
    chooseExecutor(flags, options);
    auto uris = mesos::parseExecutorUris(flags.executorUris);
    if (!uris.ok()) return uris.error();
    m.executorUris = std::move(*uris);
    m.executorCache = flags.executorCache;
    auto overhead = parseResourceList(flags.executorResources, Resources());
    if (!overhead.ok()) return overhead.error().withContext("--taskmanager-executor-resources");
    m.executorOverhead = *overhead;
    auto largest = parseResourceList(flags.maxTaskManager, Resources());
    if (!largest.ok()) return largest.error().withContext("--taskmanager-max-size");
    m.maxTaskManager = *largest;
  }
  if (!flags.fixedSlot.empty()) {
    auto slot = parseResourceList(flags.fixedSlot, Resources());
    if (!slot.ok()) return slot.error().withContext("--taskmanager-slot");
    options.fixedSlot = *slot;
  }
  return Status();
}

}  // namespace tailor::scheduler
