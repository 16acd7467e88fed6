#include "common/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace tailor {

std::map<std::string, std::string> currentEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text(*entry);
    auto eq = text.find('=');
    if (eq != std::string::npos) {
      env[text.substr(0, eq)] = text.substr(eq + 1);
    }
  }
  return env;
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("exit code {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("wait status {}", status);
}

namespace {

void closeIfOpen(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

// Runs in the child (sharing the parent's memory until exec, on its own
// stack): only system calls until exec, nothing written to shared memory.
[[noreturn]] void execChild(const SpawnOptions& options, char** argv, char** envp, int inRead,
                            int outWrite, int errWrite, int errorPipe, pid_t parent) {
  auto fail = [errorPipe](int stage) {
    int code = errno;
    int message[2] = {stage, code};
    ssize_t ignored = write(errorPipe, message, sizeof(message));
    (void)ignored;
    _exit(127);
  };
  setpgid(0, 0);
  // Nothing of the parent's but stdin/stdout/stderr reaches the program: an
  // inherited listening socket would keep the parent's port taken after the
  // parent died (a restarted Dispatcher could not listen again).
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (options.dieWithParent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
  }
  // Signal state through raw system calls: the libc wrappers may be
  // interposed (sanitizers keep tables of handlers), and this child still
  // shares the parent's memory. Caught signals are reset by exec anyway;
  // ignored ones (SIGPIPE in a server) must be made default here.
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
  } defaultAction = {SIG_DFL, 0, nullptr, 0};
  unsigned long noSignals = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &noSignals, nullptr, sizeof(noSignals));
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGHUP}) {
    syscall(SYS_rt_sigaction, sig, &defaultAction, nullptr, sizeof(defaultAction.mask));
  }
  int in = inRead >= 0 ? inRead : open("/dev/null", O_RDONLY);
  if (in < 0 || dup2(in, 0) < 0) fail(1);
  if (outWrite >= 0) {
    if (dup2(outWrite, 1) < 0) fail(1);
  } else if (!options.stdoutFile.empty()) {
    int fd = open(options.stdoutFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0) fail(2);
  }
  if (errWrite >= 0) {
    if (dup2(errWrite, 2) < 0) fail(1);
  } else if (!options.stderrFile.empty()) {
    int fd = open(options.stderrFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || dup2(fd, 2) < 0) fail(2);
  }
  if (!options.workDir.empty() && chdir(options.workDir.c_str()) != 0) fail(3);
  execvpe(argv[0], argv, envp);
  fail(4);
  _exit(127);
}

struct ChildArgs {
  const SpawnOptions* options;
  char** argv;
  char** envp;
  int inRead;
  int outWrite;
  int errWrite;
  int errorPipe;
  pid_t parent;
};

int runChild(void* raw) {
  auto* args = static_cast<ChildArgs*>(raw);
  execChild(*args->options, args->argv, args->envp, args->inRead, args->outWrite,
            args->errWrite, args->errorPipe, args->parent);
}

}  // namespace

Result<Child> spawnProcess(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "empty command");
  }
  // Everything the child needs is prepared before fork().
  std::vector<char*> argv;
  for (const auto& arg : options.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<std::string> envStrings;
  std::vector<char*> envp;
  char** envArg = environ;
  if (!options.env.empty()) {
    for (const auto& [key, value] : options.env) {
      envStrings.push_back(key + "=" + value);
    }
    for (auto& entry : envStrings) {
      envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    envArg = envp.data();
  }

  int inPipe[2] = {-1, -1};
  int outPipe[2] = {-1, -1};
  int errPipe[2] = {-1, -1};
  int errorPipe[2] = {-1, -1};
  auto closeAll = [&] {
    for (int* fd : {&inPipe[0], &inPipe[1], &outPipe[0], &outPipe[1], &errPipe[0], &errPipe[1],
                    &errorPipe[0], &errorPipe[1]}) {
      closeIfOpen(*fd);
    }
  };
  if ((options.pipeStdin && pipe2(inPipe, O_CLOEXEC) != 0) ||
      (options.pipeStdout && pipe2(outPipe, O_CLOEXEC) != 0) ||
      (options.pipeStderr && pipe2(errPipe, O_CLOEXEC) != 0) || pipe2(errorPipe, O_CLOEXEC) != 0) {
    int code = errno;
    closeAll();
    return makeError(ErrorCode::kInternal, "pipe: {}", std::strerror(code));
  }
  // The child borrows this process's memory until it execs (CLONE_VM |
  // CLONE_VFORK, as posix_spawn does), on a stack of its own, so no page
  // tables are copied: a TaskManager running hundreds of attempts has many
  // threads and mappings, and fork() copied them for every task. The child
  // only makes system calls on values prepared here (its fd table and signal
  // dispositions are its own), and this thread waits until it execs or exits.
  ChildArgs args{&options,   argv.data(), envArg,      inPipe[0],
                 outPipe[1], errPipe[1],  errorPipe[1], getpid()};
  constexpr size_t kStackSize = 256 * 1024;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int code = errno;
    closeAll();
    return makeError(ErrorCode::kInternal, "mmap: {}", std::strerror(code));
  }
  pid_t pid = clone(runChild, static_cast<char*>(stack) + kStackSize,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int cloneError = errno;
  munmap(stack, kStackSize);
  if (pid < 0) {
    closeAll();
    return makeError(ErrorCode::kInternal, "clone: {}", std::strerror(cloneError));
  }
  // Also set the group from here, so it is in place whichever runs first.
  setpgid(pid, pid);
  closeIfOpen(inPipe[0]);
  closeIfOpen(outPipe[1]);
  closeIfOpen(errPipe[1]);
  closeIfOpen(errorPipe[1]);
  int message[2] = {0, 0};
  ssize_t n;
  do {
    n = read(errorPipe[0], message, sizeof(message));
  } while (n < 0 && errno == EINTR);
  closeIfOpen(errorPipe[0]);
  if (n == static_cast<ssize_t>(sizeof(message))) {
    int status = 0;
    waitpid(pid, &status, 0);
    closeAll();
    static const char* kStages[] = {"", "set up stdin", "open an output file",
                                    "change to the work directory", "execute"};
    int stage = message[0] >= 1 && message[0] <= 4 ? message[0] : 4;
    ErrorCode code = stage == 4 && (message[1] == ENOENT) ? ErrorCode::kNotFound
                                                          : ErrorCode::kFailedPrecondition;
    if (stage == 4 && message[1] == ENOENT) {
      return Error{code, fmt::format("command not found: '{}'", options.argv[0])};
    }
    return Error{code, fmt::format("cannot {} for '{}': {}", kStages[stage], options.argv[0],
                                   std::strerror(message[1]))};
  }
  Child child;
  child.pid = pid;
  child.stdinFd = inPipe[1];
  inPipe[1] = -1;
  child.stdoutFd = outPipe[0];
  outPipe[0] = -1;
  child.stderrFd = errPipe[0];
  errPipe[0] = -1;
  closeAll();
  return child;
}

}  // namespace tailor
