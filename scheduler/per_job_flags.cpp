#include "scheduler/per_job_flags.hpp"

#include <filesystem>

#include <boost/program_options.hpp>

#include "common/config.hpp"

namespace tailor::scheduler {

namespace po = boost::program_options;

void addPerJobFlags(po::options_description& options, PerJobFlags& flags) {
  options.add_options()
      ("output", po::value(&flags.output), "directory for the job's output (default: the spec's "
       "`output`, else ./tailor-output/<job name>)")
      ("report", po::value(&flags.report), "write the run report (JSON) to this file")
      ("taskmanager-sizing", po::value(&flags.sizing)->default_value(flags.sizing),
       "tailored | fixed")
      ("local-resources", po::value(&flags.localResources),
       "the local cluster: cpus=N,mem=MiB[,disk=MiB,gpus=N] (default: this machine)")
      ("taskmanager-idle-timeout", po::value(&flags.idleTimeout)->default_value(flags.idleTimeout),
       "release a TaskManager idle this long (e.g. 500ms, 5s)")
      ("taskmanager-max-slots", po::value(&flags.maxSlots)->default_value(flags.maxSlots),
       "tailored: at most this many slots of one profile per TaskManager")
      ("taskmanager-slots", po::value(&flags.fixedSlots)->default_value(flags.fixedSlots),
       "fixed: slots per TaskManager")
      ("taskmanager-slot", po::value(&flags.fixedSlot),
       "fixed: size of every slot, cpus=N,mem=MiB (default: the job's largest profile)")
      ("heartbeat-interval", po::value(&flags.heartbeatInterval)->default_value(
       flags.heartbeatInterval), "TaskManager heartbeat interval")
      ("heartbeat-timeout", po::value(&flags.heartbeatTimeout)->default_value(
       flags.heartbeatTimeout), "a TaskManager silent this long is lost")
      ("work-dir", po::value(&flags.workDir), "work directory (default: $TMPDIR/tailor/<job id>)")
      ("taskmanager-binary", po::value(&flags.taskManagerBinary),
       "path of tailor-taskmanager (default: next to this program)")
      ("job-id", po::value(&flags.jobId), "job id (default: <name>-<date>-<time>-<random>)")
      ("log-level", po::value(&flags.logLevel)->default_value(flags.logLevel),
       "trace | debug | info | warn | error");
}

Result<Resources> localClusterResources(const PerJobFlags& flags) {
  std::error_code ec;
  Resources machine = machineResources(std::filesystem::temp_directory_path(ec).string());
  if (flags.localResources.empty()) return machine;
  auto parsed = parseResourceList(flags.localResources, machine);
  if (!parsed.ok()) return parsed.error().withContext("--local-resources");
  return parsed;
}

Result<PerJobOptions> resolvePerJobFlags(const PerJobFlags& flags, v1::JobSpec spec) {
  PerJobOptions options;
  options.spec = std::move(spec);
  options.jobId = flags.jobId;
  options.outputDir = flags.output;
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
  for (const auto& flag : {DurationFlag{"--taskmanager-idle-timeout", flags.idleTimeout,
                                        &options.idleTimeout},
                           DurationFlag{"--heartbeat-interval", flags.heartbeatInterval,
                                        &options.heartbeatInterval},
                           DurationFlag{"--heartbeat-timeout", flags.heartbeatTimeout,
                                        &options.heartbeatTimeout}}) {
    auto parsed = parseDuration(flag.text);
    if (!parsed.ok()) return parsed.error().withContext(flag.name);
    *flag.out = *parsed;
  }
  if (flags.maxSlots < 1) {
    return makeError(ErrorCode::kInvalidArgument, "--taskmanager-max-slots: must be at least 1");
  }
  if (flags.fixedSlots < 1) {
    return makeError(ErrorCode::kInvalidArgument, "--taskmanager-slots: must be at least 1");
  }
  options.maxSlotsPerTaskManager = flags.maxSlots;
  options.fixedSlotsPerTaskManager = flags.fixedSlots;
  if (!flags.fixedSlot.empty()) {
    auto slot = parseResourceList(flags.fixedSlot, Resources());
    if (!slot.ok()) return slot.error().withContext("--taskmanager-slot");
    options.fixedSlot = *slot;
  }
  return options;
}

}  // namespace tailor::scheduler
