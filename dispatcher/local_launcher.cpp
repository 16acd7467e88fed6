#include "dispatcher/local_launcher.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/file_chunk.hpp"
#include "common/logging.hpp"
#include "common/naming.hpp"
#include "common/subprocess.hpp"

namespace tailor::dispatcher {

std::string jobManagerLogPath(const std::string& jobDir, int attempt) {
  return jobDir + "/jobmanager-" + std::to_string(attempt) + ".log";
}

std::string jobManagerReportPath(const std::string& jobDir, int attempt) {
  return jobDir + "/report-" + std::to_string(attempt) + ".json";
}

namespace {

// True when /proc says `pid` runs `binary` (a file name) for `jobId`.
bool isJobManagerOf(pid_t pid, const std::string& jobId, const std::string& binary) {
  auto read = readWholeFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!read) return false;
  const std::string& cmdline = *read;
  return cmdline.find(binary) != std::string::npos &&
         cmdline.find(std::string("--job-id") + '\0' + jobId + '\0') != std::string::npos;
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
  argv.insert(argv.end(), config_.extraArgs.begin(), config_.extraArgs.end());
  return argv;
}

Result<v1::JobManagerAttempt> LocalLauncher::launch(const JobManagerLaunch& launch) {
  SpawnOptions options;
  options.argv = commandLine(launch);
  options.workDir = launch.jobDir;
  std::string console = launch.jobDir + "/jobmanager-" + std::to_string(launch.attempt) + ".out";
  options.stdoutFile = console;
  options.stderrFile = console;
  auto child = spawnProcess(options);
  if (!child.ok()) return child.error();
  watched_[{launch.jobId, launch.attempt}] = Watched{child->pid, true};
  armPoll();
  v1::JobManagerAttempt attempt;
  attempt.set_attempt(launch.attempt);
  attempt.set_launcher(name());
  attempt.set_host(hostName());
  attempt.set_pid(child->pid);
  return attempt;
}

void LocalLauncher::adopt(const std::string& jobId, const v1::JobManagerAttempt& attempt) {
  watched_[{jobId, attempt.attempt()}] = Watched{static_cast<pid_t>(attempt.pid()), false};
  armPoll();
}

void LocalLauncher::stop(const std::string& jobId, int attempt, bool force) {
  auto it = watched_.find({jobId, attempt});
  if (it == watched_.end()) return;
  pid_t pid = it->second.pid;
  if (!it->second.child && !isJobManagerOf(pid, jobId, binaryName())) return;
  int signal = force ? SIGKILL : SIGTERM;
  // The JobManager leads its own process group; with force its TaskManagers
  // (children in their own groups, dying with it) go too.
  ::kill(pid, signal);
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
  std::vector<std::tuple<std::string, int, std::string>> ended;
  for (auto it = watched_.begin(); it != watched_.end();) {
    const Watched& watched = it->second;
    std::string how;
    if (watched.child) {
      int status = 0;
      pid_t done = ::waitpid(watched.pid, &status, WNOHANG);
      if (done == watched.pid) how = describeWaitStatus(status);
      if (done < 0 && errno == ECHILD) how = "gone (not found)";
    } else if (!isJobManagerOf(watched.pid, it->first.first, binaryName())) {
      how = "ended while the Dispatcher was away";
    }
    if (how.empty()) {
      ++it;
      continue;
    }
    ended.emplace_back(it->first.first, it->first.second, how);
    it = watched_.erase(it);
  }
  // Exits may launch more JobManagers (their callbacks arm the timer again).
  for (const auto& [jobId, attempt, how] : ended) {
    if (onExit_) onExit_(jobId, attempt, how);
  }
  armPoll();
}

}  // namespace tailor::dispatcher
