#include "scheduler/session_flags.hpp"

#include <boost/program_options.hpp>

#include "common/config.hpp"

namespace tailor::scheduler {

namespace po = boost::program_options;

void addSessionFlags(po::options_description& options, SessionFlags& flags) {
  options.add_options()(
      "session", po::value(&flags.name),
      "run a session named NAME (1-64 of [a-z0-9-], starting with a letter) instead of one "
      "job: a long-running JobManager that takes jobs over RPC (Session.SubmitJob) and runs "
      "them on TaskManagers they share (docs/sessions.md); no --job-spec")(
      "session-idle-timeout", po::value(&flags.idleTimeout)->default_value(flags.idleTimeout),
      "session: release a TaskManager that runs nothing and holds no partition a job still "
      "needs after this long (replaces --taskmanager-idle-timeout)")(
      "session-min-resources", po::value(&flags.minResources),
      "session: warm capacity started with the session and kept while it is idle, "
      "cpus=N,mem=MiB[,disk=MiB,gpus=N] (default: none)");
}

Status checkSessionName(const std::string& name) {
  bool valid = !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) valid = false;
  }
  if (!valid) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--session: '{}' is not a session name (expected 1 to 64 of [a-z0-9-], "
                     "starting with a letter)",
                     name);
  }
  return Status();
}

std::string defaultSessionWorkDir(const std::string& name) {
  return defaultWorkDir("session-" + name);
}

Result<SessionRunOptions> resolveSessionFlags(const PerJobFlags& flags,
                                              const SessionFlags& session) {
  Status named = checkSessionName(session.name);
  if (!named.ok()) return named.error();
  struct JobFlag {
    const char* name;
    const std::string& value;
    const char* why;
  };
  for (const auto& flag :
       {JobFlag{"--ha-store", flags.haStore,
                "a session has no high availability (docs/sessions.md); a job that needs it "
                "runs in per-job mode"},
        JobFlag{"--job-id", flags.jobId, "each job submitted to a session has its own id"},
        JobFlag{"--output", flags.output, "each job submitted to a session names its own"},
        JobFlag{"--report", flags.report,
                "each job's report is written to <work dir>/jobs/<job id>/report.json"}}) {
    if (!flag.value.empty()) {
      return makeError(ErrorCode::kInvalidArgument, "{}: not with --session: {}", flag.name,
                       flag.why);
    }
  }
  SessionRunOptions options;
  Status shared = resolveJobManagerFlags(flags, options);
  if (!shared.ok()) return shared.error();
  options.name = session.name;
  if (options.workDir.empty()) options.workDir = defaultSessionWorkDir(session.name);
  auto idle = parseDuration(session.idleTimeout);
  if (!idle.ok()) return idle.error().withContext("--session-idle-timeout");
  options.idleTimeout = *idle;
  if (!session.minResources.empty()) {
    auto minimum = parseResourceList(session.minResources, Resources());
    if (!minimum.ok()) return minimum.error().withContext("--session-min-resources");
    options.minResources = *minimum;
  }
  if (options.sizing == SizingKind::kFixed && !options.fixedSlot) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--taskmanager-slot: a session with --taskmanager-sizing fixed needs the "
                     "size of its slots (no job is known when it starts), e.g. cpus=1,mem=512");
  }
  return options;
}

}  // namespace tailor::scheduler
