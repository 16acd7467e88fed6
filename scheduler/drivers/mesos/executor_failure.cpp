#include "scheduler/drivers/mesos/executor_failure.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <csignal>

#include "common/subprocess.hpp"

namespace tailor::scheduler::mesos {

std::string executorExitHint(int waitStatus, const std::string& executorCommand, bool fetched) {
  if (waitStatus == -1) {
    return "Mesos does not know how the executor ended: its container may not have started "
           "(the agent's log says why)";
  }
  if (WIFSIGNALED(waitStatus)) {
    if (WTERMSIG(waitStatus) != SIGKILL) return "";
    return "the agent or an operator killed it (with memory isolation, an executor over its "
           "container's memory limit is killed so)";
  }
  if (!WIFEXITED(waitStatus)) return "";
  switch (WEXITSTATUS(waitStatus)) {
    case 0:
      return "";
    case 127:
      // A fetched binary whose shared libraries the agent lacks exits 127 too.
      if (fetched) {
        return fmt::format(
            "the shell found no command '{}' in the sandbox or on the agent's PATH: "
            "--taskmanager-executor must name the file --taskmanager-executor-uri fetches, "
            "e.g. ./tailor-taskmanager; or, if the file was found, a shared library it links is "
            "missing on the agent (its stderr names it): install it there, or fetch the "
            "release tarball (docs/mesos.md, \"How the executor reaches the agents\")",
            executorCommand);
      }
      if (executorCommand.find('/') != std::string::npos) {
        return fmt::format(
            "the shell found no file '{}' on the agent: install tailor-taskmanager there on "
            "every agent, leave --taskmanager-executor out to have the agents fetch the "
            "JobManager's own, or have Mesos fetch one with --taskmanager-executor-uri",
            executorCommand);
      }
      return fmt::format(
          "the shell found no command '{}' on the agent's PATH: install tailor-taskmanager on "
          "every agent's PATH, give its full path with --taskmanager-executor, leave "
          "--taskmanager-executor out to have the agents fetch the JobManager's own, or have "
          "Mesos fetch one with --taskmanager-executor-uri",
          executorCommand);
    case 126:
      return fmt::format(
          "the command '{}' was found but cannot be executed (no execute permission, or built "
          "for another system): check --taskmanager-executor{}",
          executorCommand, fetched ? " and the file --taskmanager-executor-uri fetches" : "");
    default:
      return "the TaskManager's own log is taskmanager.log in the same sandbox";
  }
}

std::string describeExecutorFailure(const ExecutorFailure& failure,
                                    const std::string& executorCommand, bool fetched) {
  std::string text = failure.taskEnd;
  if (!failure.agentId.empty()) {
    text += fmt::format("; on agent {}{}", failure.agentId,
                        failure.agentHostname.empty() ? "" : " (" + failure.agentHostname + ")");
  }
  if (failure.waitStatus) {
    std::string how = *failure.waitStatus == -1 ? std::string("an unknown status")
                                                : describeWaitStatus(*failure.waitStatus);
    text += fmt::format("{} the executor ended with {}", failure.agentId.empty() ? ";" : ":", how);
    std::string hint = executorExitHint(*failure.waitStatus, executorCommand, fetched);
    if (!hint.empty()) text += " (" + hint + ")";
  } else if (failure.statusWait.count() > 0) {
    text += fmt::format("{} the master sent no exit status of the executor within {} ms",
                        failure.agentId.empty() ? ";" : ":", failure.statusWait.count());
  }
  if (!failure.stderrLines.empty()) {
    std::size_t count = failure.stderrLines.size();
    text += fmt::format("; the last {} of its stderr ({} on the agent):",
                        count == 1 ? std::string("line") : fmt::format("{} lines", count),
                        failure.stderrPath);
    for (const auto& line : failure.stderrLines) text += "\n    " + line;
  } else if (failure.stderrError) {
    text += "; its stderr was not read: " + *failure.stderrError;
  } else if (!failure.stderrPath.empty()) {
    text += fmt::format("; its stderr ({} on the agent) is empty", failure.stderrPath);
  }
  return text;
}

}  // namespace tailor::scheduler::mesos
