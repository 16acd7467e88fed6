#include "common/task_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/naming.hpp"

namespace tailor {
namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexPrefix = ".attempts-";

// The attempt number in "<prefix><number><suffix>", or 0.
int attemptIn(const std::string& text, const std::string& prefix, const std::string& suffix) {
  if (text.size() <= prefix.size() + suffix.size() || text.rfind(prefix, 0) != 0 ||
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return 0;
  }
  std::string number = text.substr(prefix.size(), text.size() - prefix.size() - suffix.size());
  if (number.size() > 8 || number.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoi(number);
}

}  // namespace

std::string taskLogName(const std::string& stage, int index, int attempt) {
  return stage + "-" + std::to_string(index) + "-" + std::to_string(attempt) + ".stderr";
}

std::string taskLogFolder(const std::string& folder, const std::string& jobId) {
  return jobId.empty() ? folder : folder + "/" + fileNameOf(jobId);
}

Result<std::unique_ptr<StartedAttempts>> StartedAttempts::open(const std::string& folder,
                                                               const std::string& taskManagerId) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot create {}: {}", folder, ec.message());
  return std::unique_ptr<StartedAttempts>(new StartedAttempts(folder, taskManagerId));
}

StartedAttempts::~StartedAttempts() {
  for (const auto& [jobId, fd] : files_) ::close(fd);
}

Status StartedAttempts::add(const std::string& jobId, const std::string& stage, int index,
                            int attempt) {
  std::string line = stage + "-" + std::to_string(index) + "-" + std::to_string(attempt) + "\n";
  int fd = -1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto open = files_.find(jobId);
    if (open == files_.end()) {
      std::string jobFolder = taskLogFolder(folder_, jobId);
      std::error_code ec;
      fs::create_directories(jobFolder, ec);
      if (ec) return makeError(ErrorCode::kIo, "cannot create {}: {}", jobFolder, ec.message());
      std::string path = jobFolder + "/" + kIndexPrefix + taskManagerId_;
      int opened = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (opened < 0) {
        return makeError(ErrorCode::kIo, "cannot open {}: {}", path, std::strerror(errno));
      }
      open = files_.emplace(jobId, opened).first;
    }
    fd = open->second;
  }
  // Outside the lock: appends of whole lines need none. closeJob only runs
  // once the job's attempts are done.
  ssize_t written;
  do {
    written = ::write(fd, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(line.size())) {
    return makeError(ErrorCode::kIo, "cannot record attempt {} of job {}: {}",
                     line.substr(0, line.size() - 1), jobId,
                     written < 0 ? std::strerror(errno) : "short write");
  }
  return Status();
}

void StartedAttempts::closeJob(const std::string& jobId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto open = files_.find(jobId);
  if (open == files_.end()) return;
  ::close(open->second);
  files_.erase(open);
}

namespace {

// The folder of the only job in `folder`: its one sub-folder, or `folder`
// itself when it has none (logs kept before jobs had folders).
Result<std::string> onlyJobFolder(const std::string& folder) {
  std::string only;
  int jobs = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (!entry.is_directory(ec)) continue;
    only = entry.path().string();
    ++jobs;
  }
  if (jobs == 0) return folder;
  if (jobs == 1) return only;
  return makeError(ErrorCode::kNotFound, "holds the logs of {} jobs (name the job)", jobs);
}

}  // namespace

Result<TaskLogFile> findTaskLog(const std::string& folder, const std::string& stage, int index,
                                int attempt) {
  return findTaskLog(folder, "", stage, index, attempt);
}

Result<TaskLogFile> findTaskLog(const std::string& logFolder, const std::string& jobId,
                                const std::string& stage, int index, int attempt) {
  std::string folder = taskLogFolder(logFolder, jobId);
  if (jobId.empty()) {
    auto only = onlyJobFolder(logFolder);
    if (!only.ok()) return only.error();
    folder = *only;
  }
  const std::string prefix = stage + "-" + std::to_string(index) + "-";
  auto pathOf = [&](int number) { return folder + "/" + taskLogName(stage, index, number); };
  std::error_code ec;
  if (attempt > 0 && fs::exists(pathOf(attempt), ec)) return TaskLogFile{pathOf(attempt), attempt};
  int latest = 0;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kIndexPrefix, 0) == 0) {
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) {
        int number = attemptIn(line, prefix, "");
        if (attempt > 0 && number == attempt) return TaskLogFile{pathOf(attempt), attempt};
        latest = std::max(latest, number);
      }
    } else if (attempt == 0) {
      latest = std::max(latest, attemptIn(name, prefix, ".stderr"));
    }
  }
  if (attempt == 0 && latest > 0) return TaskLogFile{pathOf(latest), latest};
  return makeError(ErrorCode::kNotFound, "{}", attempt == 0
                                                   ? "has not run yet"
                                                   : "has no attempt " + std::to_string(attempt));
}

}  // namespace tailor
