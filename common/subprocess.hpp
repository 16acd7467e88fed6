#pragma once

// Starting child processes. Each child gets its own process group so that a
// whole pipeline (a shell command with pipes) can be signalled at once.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tailor {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH
  // The child's whole environment; empty means inherit this process's.
  std::map<std::string, std::string> env;
  std::string workDir;  // empty: this process's
  bool pipeStdin = false;   // otherwise /dev/null
  bool pipeStdout = false;  // otherwise stdoutFile, or inherited
  std::string stdoutFile;
  bool pipeStderr = false;  // otherwise stderrFile, or inherited
  std::string stderrFile;   // empty: inherited
  // Kill the child when the thread that started it exits (PR_SET_PDEATHSIG),
  // so that nothing outlives a killed TaskManager.
  bool dieWithParent = false;
};

struct Child {
  pid_t pid = -1;
  int stdinFd = -1;   // write end, when pipeStdin
  int stdoutFd = -1;  // read end, when pipeStdout
  int stderrFd = -1;  // read end, when pipeStderr
};

// Starts the child. A program that cannot be executed (not found, not
// executable) is an error (kNotFound for "not found") and nothing is left running.
Result<Child> spawnProcess(const SpawnOptions& options);

// This process's environment as a map.
std::map<std::string, std::string> currentEnvironment();

// Describes a wait status: "exit code 3", "killed by signal 9 (Killed)".
std::string describeWaitStatus(int status);

}  // namespace tailor
