#include "executor/task_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/http/client.hpp"
#include "common/rpc.hpp"
#include "common/http/partition_route.hpp"
#include "common/http/tls.hpp"
#include "common/naming.hpp"
#include "common/subprocess.hpp"
#include "executor/partitioner.hpp"
#include "executor/task_usage.hpp"

namespace tailor::executor {

namespace fs = std::filesystem;

namespace {

double wallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes all of `data` to `fd`; false once the reader is gone. Adds what
// was written to `*written` (the task's input bytes).
bool writeAll(int fd, const char* data, size_t size, std::int64_t* written) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    *written += n;
  }
  return true;
}

// Streams a whole file to `fd`. False when the reader is gone or the file
// cannot be read (`error` set).
bool feedFile(int fd, const std::string& path, std::string* error, std::int64_t* written) {
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    *error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
    return false;
  }
  std::vector<char> buffer(1 << 16);
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!writeAll(fd, buffer.data(), static_cast<size_t>(n), written)) {
      ok = false;
      break;
    }
  }
  ::close(in);
  return ok;
}

// Streams the lines of `split` that start inside [start, end) to `fd`.
// False when the reader is gone or the file cannot be read (`error` set).
bool feedSplit(int fd, const v1::FileSplit& split, std::string* error, std::int64_t* written) {
  std::ifstream in(split.path(), std::ios::binary);
  if (!in) {
    *error = fmt::format("cannot read input '{}'", split.path());
    return false;
  }
  std::int64_t pos = split.start();
  if (pos > 0) {
    // The line that straddles `start` belongs to the split before.
    in.seekg(pos - 1);
    char previous = 0;
    in.get(previous);
    if (previous != '\n') {
      std::string skipped;
      std::getline(in, skipped);
      pos += static_cast<std::int64_t>(skipped.size()) + 1;
    }
  }
  std::string line;
  std::string chunk;
  while ((split.end() < 0 || pos < split.end()) && std::getline(in, line)) {
    pos += static_cast<std::int64_t>(line.size()) + 1;
    chunk += line;
    chunk += '\n';
    if (chunk.size() >= (1 << 16)) {
      if (!writeAll(fd, chunk.data(), chunk.size(), written)) return false;
      chunk.clear();
    }
  }
  return writeAll(fd, chunk.data(), chunk.size(), written);
}

std::string tail(const std::string& path, size_t maxBytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff from = std::max<std::streamoff>(0, size - static_cast<std::streamoff>(maxBytes));
  in.seekg(from);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (from > 0) {
    auto newline = text.find('\n');
    if (newline != std::string::npos) text = text.substr(newline + 1);
  }
  return text;
}

// An attempt's stderr, read from its pipe: the log file is created at the
// first byte and written through, so that readers see it grow; the last
// bytes are kept for the failure message. A log that cannot be written
// loses the log, not the attempt.
struct StderrLog {
  std::string path;
  std::string recent;
  int fd = -1;
  bool broken = false;

  StderrLog() = default;
  StderrLog(const StderrLog&) = delete;
  StderrLog& operator=(const StderrLog&) = delete;
  ~StderrLog() {
    if (fd >= 0) ::close(fd);
  }

  void append(std::string_view data) {
    recent.append(data);
    if (recent.size() > 2 * kTailBytes) recent.erase(0, recent.size() - kTailBytes);
    if (broken) return;
    if (fd < 0) fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (fd >= 0 && !data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      data.remove_prefix(static_cast<size_t>(n));
    }
    broken = fd < 0 || !data.empty();
  }

  std::string tail() const {
    return recent.size() <= kTailBytes ? recent : recent.substr(recent.size() - kTailBytes);
  }

  static constexpr size_t kTailBytes = 2048;
};

}  // namespace

std::string jobPartitionDirectory(const std::string& workDir, const std::string& jobId) {
  return workDir + "/partitions/" + fileNameOf(jobId);
}

std::string jobScratchDirectory(const std::string& workDir, const std::string& jobId) {
  return workDir + "/tasks/" + fileNameOf(jobId);
}

std::string slotScratchDirectory(const std::string& workDir, const v1::TaskDeployment& task) {
  if (task.slot_id().empty()) return "";
  return jobScratchDirectory(workDir, task.job_id()) + "/" + fileNameOf("slot-" + task.slot_id());
}

std::string attemptDirectory(const v1::TaskDeployment& task) {
  return fileNameOf(task.job_id()) + "/" +
         fileNameOf(fmt::format("{}-{}-a{}", task.stage(), task.index(), task.attempt()));
}

TaskRunner::TaskRunner(TaskRunnerContext context, v1::TaskDeployment task,
                       std::function<void(v1::TaskStateUpdate)> onRunning,
                       std::function<void(v1::TaskStateUpdate)> onDone)
    : context_(std::move(context)),
      task_(std::move(task)),
      onRunning_(std::move(onRunning)),
      onDone_(std::move(onDone)) {}

TaskRunner::~TaskRunner() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

void TaskRunner::start() {
  startedAt_ = wallNow();
  thread_ = std::thread([this] {
    v1::TaskStateUpdate update = run();
    // The attempt's scratch space (fetched inputs, files the command left) goes
    // with the attempt, spread over the run rather than all at the TM's end;
    // a slot's directory itself stays for the slot's next attempt. Without a
    // task log folder its stderr lives there and is kept.
    if (!context_.taskLogDir.empty()) {
      std::error_code ec;
      if (context_.reuseScratch) {
        for (const auto& entry : fs::directory_iterator(context_.scratchDir, ec)) {
          fs::remove_all(entry.path(), ec);
        }
      } else {
        fs::remove_all(context_.workDir + "/tasks/" + attemptDirectory(task_), ec);
      }
    }
    onDone_(std::move(update));
  });
}

void TaskRunner::cancel() {
  cancelled_ = true;
  pid_t pid = pid_.load();
  if (pid > 0) ::kill(-pid, SIGKILL);
}

v1::TaskStateUpdate TaskRunner::makeUpdate(v1::TaskState state) const {
  v1::TaskStateUpdate update;
  update.set_taskmanager_id(context_.taskManagerId);
  update.set_job_id(task_.job_id());
  update.set_attempt_id(task_.attempt_id());
  update.set_state(state);
  update.set_started_at(startedAt_);
  update.set_finished_at(wallNow());
  return update;
}

v1::TaskStateUpdate TaskRunner::run() {
  auto failed = [this](v1::FailureKind kind, const std::string& message) {
    auto update = makeUpdate(cancelled_ ? v1::TASK_CANCELED : v1::TASK_FAILED);
    update.set_failure(kind);
    update.set_message(message);
    return update;
  };
  std::string relative = attemptDirectory(task_);
  std::string taskDir = !context_.scratchDir.empty() ? context_.scratchDir
                                                     : context_.workDir + "/tasks/" + relative;
  // Partition files of all attempts of a job share one directory: one inode
  // fewer per attempt, which is what short tasks pay most for on ext4.
  std::string jobDir = fileNameOf(task_.job_id());
  std::string partitionDir = jobPartitionDirectory(context_.workDir, task_.job_id());
  std::error_code ec;
  fs::create_directories(taskDir, ec);
  if (ec) return failed(v1::INTERNAL, "cannot create " + taskDir + ": " + ec.message());

  // Inputs: partitions on this TM are read in place, others fetched first.
  std::vector<std::string> inputFiles;
  int localInputs = 0;
  int remoteInputs = 0;
  std::int64_t remoteBytes = 0;
  for (int i = 0; i < task_.inputs_size(); ++i) {
    if (cancelled_) return failed(v1::INTERNAL, "cancelled");
    const auto& input = task_.inputs(i);
    if (input.taskmanager_id() == context_.taskManagerId) {
      inputFiles.push_back(context_.workDir + "/partitions/" + input.partition_path());
      ++localInputs;
      continue;
    }
    http::ClientRequest request;
    request.url = http::internalScheme() + input.address() + "/partitions/" + input.partition_path();
    rpc::addCallSecret(request);
    request.outputFile = taskDir + "/input-" + std::to_string(i);
    request.timeout = Duration(600000);
    request.abort = &cancelled_;
    auto response = http::performBlocking(request);
    if (!response.ok() || response->status != 200) {
      auto update = failed(v1::INPUT_FETCH,
                           response.ok() ? fmt::format("GET {}: HTTP {}", request.url,
                                                       response->status)
                                         : response.error().message);
      update.set_failed_taskmanager_id(input.taskmanager_id());
      return update;
    }
    inputFiles.push_back(request.outputFile);
    ++remoteInputs;
    remoteBytes += response->bytesReceived;
    http::countPartitionBytesFetched(response->bytesReceived);
  }

  std::vector<v1::OutputSpec> outputs(task_.outputs().begin(), task_.outputs().end());
  // A small job output travels in the FINISHED update: no file to create,
  // serve and delete for it, which is most of what a tiny task costs.
  constexpr size_t kInlineOutputBytes = 64 * 1024;
  auto writer = PartitionWriter::open(partitionDir, jobDir, outputs, task_.index(),
                                     relative.substr(jobDir.size() + 1) + "-",
                                     kInlineOutputBytes);
  if (!writer.ok()) return failed(v1::INTERNAL, writer.error().message);

  SpawnOptions options;
  bool shell = task_.command().kind_case() == v1::Command::kShell;
  if (shell) {
    options.argv = {"/bin/sh", "-c", task_.command().shell()};
  } else {
    options.argv.assign(task_.command().argv().args().begin(),
                        task_.command().argv().args().end());
  }
  options.env = currentEnvironment();
  for (const auto& [key, value] : task_.env()) options.env[key] = value;
  options.env["TAILOR_JOB_ID"] = task_.job_id();
  options.env["TAILOR_STAGE"] = task_.stage();
  options.env["TAILOR_TASK_INDEX"] = std::to_string(task_.index());
  options.env["TAILOR_PARALLELISM"] = std::to_string(task_.parallelism());
  options.env["TAILOR_ATTEMPT"] = std::to_string(task_.attempt());
  options.env["TAILOR_WORK_DIR"] = taskDir;
  options.workDir = taskDir;
  options.pipeStdin = true;
  options.pipeStdout = true;
  // With a task log folder, stderr comes through a pipe and its file is
  // created at the first byte (StderrLog); otherwise it is a file in the
  // attempt's own folder.
  StderrLog stderrLog;
  if (!context_.taskLogDir.empty()) {
    std::string logFolder = taskLogFolder(context_.taskLogDir, task_.job_id());
    stderrLog.path = logFolder + "/" + taskLogName(task_.stage(), task_.index(), task_.attempt());
    options.pipeStderr = true;
    if (context_.startedAttempts != nullptr) {
      // Creates the job's log folder too.
      Status recorded = context_.startedAttempts->add(task_.job_id(), task_.stage(),
                                                      task_.index(), task_.attempt());
      if (!recorded.ok()) return failed(v1::INTERNAL, recorded.error().message);
    } else {
      fs::create_directories(logFolder, ec);  // else the log is lost, not the attempt
    }
  } else {
    options.stderrFile = taskDir + "/stderr";
  }
  options.dieWithParent = true;
  if (cancelled_) return failed(v1::INTERNAL, "cancelled");
  auto child = spawnProcess(options);
  if (!child.ok()) {
    return failed(child.error().code == ErrorCode::kNotFound ? v1::COMMAND_NOT_FOUND
                                                             : v1::INTERNAL,
                  child.error().message);
  }
  pid_ = child->pid;
  if (cancelled_) ::kill(-child->pid, SIGKILL);
  // The slot's memory is the task's limit (its profile's, or more when a
  // larger free slot took it): docs/observability.md.
  TaskMonitor monitor(TaskMonitor::Options{child->pid, task_.slot_resources().mem()});
  monitor.start();
  onRunning_(makeUpdate(v1::TASK_RUNNING));

  std::string feedError;
  std::int64_t readBytes = 0;     // what the task read on stdin
  std::int64_t writtenBytes = 0;  // and wrote on stdout
  int stdinFd = child->stdinFd;
  std::thread feeder([&] {
    // Each feed stops early (returning false) when the command closed its
    // stdin or an input could not be read (feedError set).
    bool more = true;
    for (const auto& file : inputFiles) {
      if (!(more = feedFile(stdinFd, file, &feedError, &readBytes))) break;
    }
    for (int i = 0; more && i < task_.splits_size(); ++i) {
      more = feedSplit(stdinFd, task_.splits(i), &feedError, &readBytes);
    }
    ::close(stdinFd);
  });

  // Route stdout lines into the partitions, and stderr into its log.
  std::vector<char> buffer(1 << 16);
  std::string carry;
  auto routeStdout = [&](std::string_view data) {
    size_t start = 0;
    for (size_t newline = data.find('\n'); newline != std::string_view::npos;
         newline = data.find('\n', start)) {
      if (!carry.empty()) {
        carry.append(data.substr(start, newline - start));
        (*writer)->write(carry);
        carry.clear();
      } else {
        (*writer)->write(data.substr(start, newline - start));
      }
      start = newline + 1;
    }
    carry.append(data.substr(start));
  };
  pollfd fds[2] = {{child->stdoutFd, POLLIN, 0}, {child->stderrFd, POLLIN, 0}};
  int open = child->stderrFd >= 0 ? 2 : 1;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (::poll(fds, static_cast<nfds_t>(open), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < open; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;  // poll skips negative descriptors
        continue;
      }
      std::string_view data(buffer.data(), static_cast<size_t>(n));
      if (i == 0) {
        writtenBytes += n;
        routeStdout(data);
      } else {
        stderrLog.append(data);
      }
    }
  }
  if (!carry.empty()) (*writer)->write(carry);
  int status = 0;
  struct rusage waited {};
  while (wait4(child->pid, &status, 0, &waited) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  monitor.stop();
  feeder.join();
  v1::TaskUsage usage = combineUsage(monitor.usage(), waited, readBytes, writtenBytes);
  auto measured = [&usage](v1::TaskStateUpdate update) {
    *update.mutable_usage() = usage;
    return update;
  };

  auto partitions = (*writer)->finish();
  if (cancelled_) return measured(failed(v1::INTERNAL, "cancelled"));
  if (auto usedMib = monitor.memoryExceeded()) {
    auto update = failed(v1::MEMORY_EXCEEDED,
                         fmt::format("killed: its processes used {:.0f} MiB, over the {} MiB "
                                     "its slot allows (mem)",
                                     *usedMib, task_.slot_resources().mem()));
    update.set_exit_code(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    update.set_stderr_tail(stderrLog.path.empty() ? tail(options.stderrFile, 2048)
                                                  : stderrLog.tail());
    return measured(std::move(update));
  }
  if (!feedError.empty()) return measured(failed(v1::INTERNAL, feedError));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    if (!partitions.ok()) return measured(failed(v1::INTERNAL, partitions.error().message));
    auto update = measured(makeUpdate(v1::TASK_FINISHED));
    for (auto& partition : *partitions) *update.add_partitions() = partition;
    update.set_local_inputs(localInputs);
    update.set_remote_inputs(remoteInputs);
    update.set_remote_input_bytes(remoteBytes);
    return update;
  }
  std::string stderrTail =
      stderrLog.path.empty() ? tail(options.stderrFile, 2048) : stderrLog.tail();
  bool notFound = shell && WIFEXITED(status) && WEXITSTATUS(status) == 127;
  auto update = measured(failed(notFound ? v1::COMMAND_NOT_FOUND : v1::EXIT_NONZERO,
                                notFound ? "command not found (the shell exited with code 127)"
                                         : "command failed: " + describeWaitStatus(status)));
  update.set_exit_code(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  update.set_stderr_tail(stderrTail);
  if (notFound && !stderrTail.empty()) {
    std::string last = stderrTail.substr(0, stderrTail.find_last_not_of("\n") + 1);
    last = last.substr(last.find_last_of('\n') == std::string::npos ? 0
                                                                     : last.find_last_of('\n') + 1);
    update.set_message("command not found: " + last);
  }
  return update;
}

}  // namespace tailor::executor
