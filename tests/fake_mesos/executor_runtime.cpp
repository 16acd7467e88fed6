#include "tests/fake_mesos/executor_runtime.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace tailor::fake_mesos {

std::vector<std::string> commandArgv(const ::mesos::v1::CommandInfo& command) {
  if (command.shell()) return {"/bin/sh", "-c", command.value()};
  std::vector<std::string> argv(command.arguments().begin(), command.arguments().end());
  if (argv.empty()) argv.push_back(command.value());
  argv[0] = command.value();
  return argv;
}

namespace {

// What Mesos' launcher looks at in /proc/<pid>/stat.
struct ProcessEntry {
  char state = 0;  // 'Z' for a zombie
  pid_t parent = 0;
  pid_t group = 0;
  std::uint64_t startTime = 0;  // clock ticks after boot
};

std::optional<ProcessEntry> readProcessEntry(const std::filesystem::path& statFile) {
  std::ifstream in(statFile);
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice threads itrealvalue
  // starttime ...": comm may hold spaces and parentheses.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  ProcessEntry process;
  if (!(rest >> process.state >> process.parent >> process.group)) return std::nullopt;
  std::string skipped;
  for (int field = 6; field < 22 && rest >> skipped; ++field) {
  }
  if (!(rest >> process.startTime)) return std::nullopt;
  return process;
}

// Every process, from /proc.
std::map<pid_t, ProcessEntry> processTable() {
  std::map<pid_t, ProcessEntry> table;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (auto process = readProcessEntry(entry.path() / "stat")) table[std::stoi(name)] = *process;
  }
  return table;
}

}  // namespace

std::optional<std::uint64_t> processStartTime(pid_t pid) {
  auto process = readProcessEntry("/proc/" + std::to_string(pid) + "/stat");
  if (!process || process->state == 'Z' || process->state == 'X') return std::nullopt;
  return process->startTime;
}

bool processAlive(pid_t pid, std::optional<std::uint64_t> startTime) {
  auto started = processStartTime(pid);
  return started && (!startTime || *started == *startTime);
}

void killProcessTree(pid_t pid) {
  auto table = processTable();
  std::set<pid_t> tree = {pid};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [child, process] : table) {
      if (tree.count(process.parent) != 0 && tree.insert(child).second) grew = true;
    }
  }
  std::set<pid_t> groups;
  for (pid_t member : tree) {
    auto it = table.find(member);
    if (it != table.end() && it->second.group > 1) groups.insert(it->second.group);
  }
  for (pid_t group : groups) ::kill(-group, SIGKILL);
  for (pid_t member : tree) ::kill(member, SIGKILL);
}

ProcessExecutorRuntime::~ProcessExecutorRuntime() {
  if (pollTimer_ != 0) loop_.cancelTimer(pollTimer_);
}

Result<std::optional<pid_t>> ProcessExecutorRuntime::launch(const ContainerLaunch& launch,
                                                            ExitCallback onExit) {
  SpawnOptions options;
  options.argv = commandArgv(launch.executorInfo.command());
  options.env = launch.environment;
  options.workDir = launch.sandbox;
  options.stdoutFile = launch.sandbox + "/stdout";
  options.stderrFile = launch.sandbox + "/stderr";
  // Containers outlive the agent's process, as Mesos' do: a restarted agent
  // recovers them or destroys them.
  options.dieWithParent = false;
  std::string containerId = launch.containerId;
  auto pid =
      launcher_.launch(options, [this, containerId](int status) { ended(containerId, status); });
  if (!pid.ok()) return pid.error();
  running_[containerId] = Container{*pid, std::move(onExit), false, std::nullopt};
  return std::optional<pid_t>(*pid);
}

bool ProcessExecutorRuntime::recover(const checkpoint::Container& container, ExitCallback onExit) {
  auto it = running_.find(container.container_id());
  if (it != running_.end()) {  // still a child of this process: only the listener changes
    it->second.onExit = std::move(onExit);
    return true;
  }
  if (!container.has_pid()) return false;
  auto pid = static_cast<pid_t>(container.pid());
  std::optional<std::uint64_t> startTime;
  if (container.has_start_time()) startTime = container.start_time();
  if (!processAlive(pid, startTime)) return false;
  running_[container.container_id()] = Container{pid, std::move(onExit), true, startTime};
  if (pollTimer_ == 0) pollAdopted();
  return true;
}

void ProcessExecutorRuntime::pollAdopted() {
  pollTimer_ = 0;
  std::vector<std::string> gone;
  bool watching = false;
  for (const auto& [containerId, container] : running_) {
    if (!container.adopted) continue;
    if (processAlive(container.pid, container.startTime)) {
      watching = true;
    } else {
      gone.push_back(containerId);
    }
  }
  // Not a child: how it ended cannot be known.
  for (const auto& containerId : gone) ended(containerId, -1);
  if (watching) pollTimer_ = loop_.runAfter(kAdoptedPollInterval, [this] { pollAdopted(); });
}

void ProcessExecutorRuntime::ended(const std::string& containerId, int status) {
  auto it = running_.find(containerId);
  if (it == running_.end()) return;
  ExitCallback onExit = std::move(it->second.onExit);
  running_.erase(it);
  if (onExit) onExit(status);
}

void ProcessExecutorRuntime::destroy(const std::string& containerId) {
  auto it = running_.find(containerId);
  if (it == running_.end()) return;
  // The whole container: the executor and everything it started (a command
  // executor's task runs in a process group of its own).
  killProcessTree(it->second.pid);
  if (!it->second.adopted) launcher_.signal(it->second.pid, SIGKILL);
}

Result<std::optional<pid_t>> ExternalExecutorRuntime::launch(const ContainerLaunch& launch,
                                                             ExitCallback onExit) {
  std::optional<pid_t> pid;
  if (hook_) pid = hook_(launch);
  running_[launch.containerId] = std::move(onExit);
  return pid;
}

bool ExternalExecutorRuntime::recover(const checkpoint::Container& container, ExitCallback onExit) {
  running_[container.container_id()] = std::move(onExit);
  return true;
}

void ExternalExecutorRuntime::destroy(const std::string& containerId) {
  auto it = running_.find(containerId);
  if (it == running_.end()) return;
  auto onExit = std::move(it->second);
  running_.erase(it);
  loop_.post([onExit] { onExit(SIGKILL); });  // the wait status of a SIGKILLed process
}

}  // namespace tailor::fake_mesos
