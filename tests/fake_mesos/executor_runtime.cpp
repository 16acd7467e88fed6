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

// The parent and process group of every process, from /proc.
struct ProcessEntry {
  pid_t parent = 0;
  pid_t group = 0;
};

std::map<pid_t, ProcessEntry> processTable() {
  std::map<pid_t, ProcessEntry> table;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    ProcessEntry process;
    if (rest >> state >> process.parent >> process.group) table[std::stoi(name)] = process;
  }
  return table;
}

}  // namespace

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

Result<std::optional<pid_t>> ProcessExecutorRuntime::launch(const ContainerLaunch& launch,
                                                            ExitCallback onExit) {
  SpawnOptions options;
  options.argv = commandArgv(launch.executorInfo.command());
  options.env = launch.environment;
  options.workDir = launch.sandbox;
  options.stdoutFile = launch.sandbox + "/stdout";
  options.stderrFile = launch.sandbox + "/stderr";
  options.dieWithParent = true;
  std::string containerId = launch.containerId;
  auto pid = launcher_.launch(options, [this, containerId, onExit](int status) {
    running_.erase(containerId);
    onExit(status);
  });
  if (!pid.ok()) return pid.error();
  running_[containerId] = *pid;
  return std::optional<pid_t>(*pid);
}

void ProcessExecutorRuntime::destroy(const std::string& containerId) {
  auto it = running_.find(containerId);
  if (it == running_.end()) return;
  // The whole container: the executor and everything it started (a command
  // executor's task runs in a process group of its own).
  killProcessTree(it->second);
  launcher_.signal(it->second, SIGKILL);
}

Result<std::optional<pid_t>> ExternalExecutorRuntime::launch(const ContainerLaunch& launch,
                                                             ExitCallback onExit) {
  std::optional<pid_t> pid;
  if (hook_) pid = hook_(launch);
  running_[launch.containerId] = std::move(onExit);
  return pid;
}

void ExternalExecutorRuntime::destroy(const std::string& containerId) {
  auto it = running_.find(containerId);
  if (it == running_.end()) return;
  auto onExit = std::move(it->second);
  running_.erase(it);
  loop_.post([onExit] { onExit(SIGKILL); });  // the wait status of a SIGKILLed process
}

}  // namespace tailor::fake_mesos
