#include "dispatcher/local_launcher.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/file_chunk.hpp"
#include "common/logging.hpp"
#include "common/naming.hpp"
#include "common/secret.hpp"
#include "common/subprocess.hpp"

namespace tailor::dispatcher {

std::string jobManagerLogPath(const std::string& jobDir, int attempt) {
  return jobDir + "/jobmanager-" + std::to_string(attempt) + ".log";
}

std::string jobManagerReportPath(const std::string& jobDir, int attempt) {
  return jobDir + "/report-" + std::to_string(attempt) + ".json";
}

std::string jobFilesPath(const std::string& jobId, const std::string& jobSecret) {
  return "/v1/jobs/" + jobId + "/files/" + secret::derive(jobSecret, "files.tar") + "/files.tar";
}

std::vector<std::string> sessionFlags(const SessionLaunch& launch) {
  std::vector<std::string> flags = {"--session", launch.name};
  const auto& options = launch.options;
  if (options.idle_timeout_seconds() > 0) {
    flags.push_back("--session-idle-timeout");
    flags.push_back(
        fmt::format("{}ms", static_cast<long long>(options.idle_timeout_seconds() * 1000 + 0.5)));
  }
  if (!options.min_resources().empty()) {
    flags.push_back("--session-min-resources");
    flags.push_back(options.min_resources());
  }
  if (!options.sizing().empty()) {
    flags.push_back("--taskmanager-sizing");
    flags.push_back(options.sizing());
  }
  return flags;
}

namespace {

// True when /proc says `pid` runs `binary` (a file name) with `flag` `value`.
bool runsWithFlag(pid_t pid, const std::string& binary, const std::string& flag,
                  const std::string& value) {
  auto read = readWholeFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!read) return false;
  const std::string& cmdline = *read;
  return cmdline.find(binary) != std::string::npos &&
         cmdline.find(flag + '\0' + value + '\0') != std::string::npos;
}

}  // namespace

LocalLauncher::LocalLauncher(EventLoop& loop, LocalLauncherConfig config)
    : loop_(loop), config_(std::move(config)) {}

LocalLauncher::~LocalLauncher() {
  if (timerArmed_) loop_.cancelTimer(timer_);
}

std::string LocalLauncher::binaryName() const {
  auto slash = config_.jobManagerBinary.rfind('/');
  return slash == std::string::npos ? config_.jobManagerBinary
                                    : config_.jobManagerBinary.substr(slash + 1);
}

std::vector<std::string> LocalLauncher::commandLine(const JobManagerLaunch& launch) const {
  std::vector<std::string> argv = {config_.jobManagerBinary,
                                   "--job-spec", launch.specPath,
                                   "--job-id", launch.jobId,
                                   "--dispatcher", launch.dispatcherAddress,
                                   "--dispatcher-attempt", std::to_string(launch.attempt),
                                   "--work-dir", launch.jobDir + "/work",
                                   "--output",
                                   launch.outputDir.empty() ? launch.jobDir + "/output"
                                                            : launch.outputDir,
                                   "--report", jobManagerReportPath(launch.jobDir, launch.attempt),
                                   "--log-file", jobManagerLogPath(launch.jobDir, launch.attempt),
                                   "--log-level", config_.logLevel};
  if (!launch.haStore.empty()) {
    argv.push_back("--ha-store");
    argv.push_back(launch.haStore);
  }
  if (!launch.dispatcherLeaders.empty()) {
    argv.push_back("--dispatcher-leaders");
    argv.push_back(launch.dispatcherLeaders);
  }
  argv.insert(argv.end(), config_.extraArgs.begin(), config_.extraArgs.end());
  return argv;
}

std::vector<std::string> LocalLauncher::commandLine(const SessionLaunch& launch) const {
  std::vector<std::string> argv = {config_.jobManagerBinary};
  for (auto& flag : sessionFlags(launch)) argv.push_back(std::move(flag));
  std::vector<std::string> rest = {
      "--dispatcher", launch.dispatcherAddress,
      "--dispatcher-attempt", std::to_string(launch.attempt),
      "--work-dir", launch.sessionDir + "/work",
      "--log-file", jobManagerLogPath(launch.sessionDir, launch.attempt),
      "--log-level", config_.logLevel};
  argv.insert(argv.end(), rest.begin(), rest.end());
  if (!launch.dispatcherLeaders.empty()) {
    argv.push_back("--dispatcher-leaders");
    argv.push_back(launch.dispatcherLeaders);
  }
  argv.insert(argv.end(), config_.extraArgs.begin(), config_.extraArgs.end());
  return argv;
}

Result<v1::JobManagerAttempt> LocalLauncher::spawn(const Key& key, std::vector<std::string> argv,
                                                   const std::string& workDir,
                                                   const std::string& console,
                                                   const std::string& secret) {
  SpawnOptions options;
  options.argv = std::move(argv);
  if (!secret.empty()) {
    options.env = currentEnvironment();
    options.env[secret::kEnvironmentVariable] = secret;
  }
  options.workDir = workDir;
  options.stdoutFile = console;
  options.stderrFile = console;
  auto child = spawnProcess(options);
  if (!child.ok()) return child.error();
  watched_[key] = Watched{child->pid, true};
  armPoll();
  v1::JobManagerAttempt attempt;
  attempt.set_attempt(key.attempt);
  attempt.set_launcher(name());
  attempt.set_host(hostName());
  attempt.set_pid(child->pid);
  return attempt;
}

Result<v1::JobManagerAttempt> LocalLauncher::launch(const JobManagerLaunch& launch) {
  return spawn({Kind::kJob, launch.jobId, launch.attempt}, commandLine(launch), launch.jobDir,
               launch.jobDir + "/jobmanager-" + std::to_string(launch.attempt) + ".out",
               launch.secret);
}

Result<v1::JobManagerAttempt> LocalLauncher::launchSession(const SessionLaunch& launch) {
  std::error_code ec;
  std::filesystem::create_directories(launch.sessionDir, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "cannot create '{}': {}", launch.sessionDir, ec.message());
  }
  return spawn({Kind::kSession, launch.name, launch.attempt}, commandLine(launch),
               launch.sessionDir,
               launch.sessionDir + "/jobmanager-" + std::to_string(launch.attempt) + ".out",
               launch.secret);
}

void LocalLauncher::adopt(const std::string& jobId, const v1::JobManagerAttempt& attempt) {
  watched_[{Kind::kJob, jobId, attempt.attempt()}] =
      Watched{static_cast<pid_t>(attempt.pid()), false};
  armPoll();
}

void LocalLauncher::adoptSession(const std::string& name, const v1::JobManagerAttempt& attempt) {
  watched_[{Kind::kSession, name, attempt.attempt()}] =
      Watched{static_cast<pid_t>(attempt.pid()), false};
  armPoll();
}

bool LocalLauncher::stillRuns(pid_t pid, const Key& key) const {
  return key.kind == Kind::kJob ? runsWithFlag(pid, binaryName(), "--job-id", key.id)
                                : runsWithFlag(pid, binaryName(), "--session", key.id);
}

void LocalLauncher::stopWatched(const Key& key, bool force) {
  auto it = watched_.find(key);
  if (it == watched_.end()) return;
  pid_t pid = it->second.pid;
  if (!it->second.child && !stillRuns(pid, key)) return;
  int signal = force ? SIGKILL : SIGTERM;
  // The JobManager leads its own process group; with force its TaskManagers
  // (children in their own groups, dying with it) go too.
  ::kill(pid, signal);
}

void LocalLauncher::stop(const std::string& jobId, int attempt, bool force) {
  stopWatched({Kind::kJob, jobId, attempt}, force);
}

void LocalLauncher::stopSession(const std::string& name, int attempt, bool force) {
  stopWatched({Kind::kSession, name, attempt}, force);
}

void LocalLauncher::armPoll() {
  if (timerArmed_ || watched_.empty()) return;
  timerArmed_ = true;
  timer_ = loop_.runAfter(config_.pollInterval, [this] {
    timerArmed_ = false;
    poll();
  });
}

void LocalLauncher::poll() {
  std::vector<std::pair<Key, std::string>> ended;
  for (auto it = watched_.begin(); it != watched_.end();) {
    const Watched& watched = it->second;
    std::string how;
    if (watched.child) {
      int status = 0;
      pid_t done = ::waitpid(watched.pid, &status, WNOHANG);
      if (done == watched.pid) how = describeWaitStatus(status);
      if (done < 0 && errno == ECHILD) how = "gone (not found)";
    } else if (!stillRuns(watched.pid, it->first)) {
      how = "ended while the Dispatcher was away";
    }
    if (how.empty()) {
      ++it;
      continue;
    }
    ended.emplace_back(it->first, how);
    it = watched_.erase(it);
  }
  // Exits may launch more JobManagers (their callbacks arm the timer again).
  for (const auto& [key, how] : ended) {
    if (key.kind == Kind::kJob && onExit_) onExit_(key.id, key.attempt, how);
    if (key.kind == Kind::kSession && onSessionExit_) onSessionExit_(key.id, key.attempt, how);
  }
  armPoll();
}

}  // namespace tailor::dispatcher
