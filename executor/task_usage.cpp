#include "executor/task_usage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

namespace tailor::executor {

namespace {

constexpr double kMib = 1024.0 * 1024.0;

// Reads a small file whole; empty when it cannot be read.
std::string readSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  char buffer[1024];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

template <typename T>
bool parseNumber(std::string_view text, T* value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

double seconds(const timeval& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
}

}  // namespace

std::optional<ProcessSample> parseProcStat(std::string_view text, long ticksPerSecond,
                                           long pageSize) {
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses,
  // so the fields after it are counted from its last ')'.
  size_t open = text.find(" (");
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open ||
      ticksPerSecond <= 0 || pageSize <= 0) {
    return std::nullopt;
  }
  std::vector<std::string_view> fields;  // fields[0] is the state (field 3)
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty() && fields.size() < 22) {
    size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  if (fields.size() < 22) return std::nullopt;
  ProcessSample sample;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  std::int64_t rssPages = 0;
  if (!parseNumber(text.substr(0, open), &sample.pid) ||
      !parseNumber(fields[2], &sample.processGroup) || !parseNumber(fields[11], &utime) ||
      !parseNumber(fields[12], &stime) || !parseNumber(fields[19], &sample.startTicks) ||
      !parseNumber(fields[21], &rssPages)) {
    return std::nullopt;
  }
  sample.cpuSeconds = static_cast<double>(utime + stime) / static_cast<double>(ticksPerSecond);
  sample.rssBytes = std::max<std::int64_t>(0, rssPages) * pageSize;
  return sample;
}

std::vector<ProcessSample> sampleProcessGroup(const std::string& procRoot, pid_t processGroup) {
  static const long ticksPerSecond = ::sysconf(_SC_CLK_TCK);
  static const long pageSize = ::sysconf(_SC_PAGESIZE);
  std::vector<ProcessSample> group;
  DIR* dir = ::opendir(procRoot.c_str());
  if (dir == nullptr) return group;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string text = readSmallFile(procRoot + "/" + entry->d_name + "/stat");
    auto sample = parseProcStat(text, ticksPerSecond, pageSize);
    if (sample && sample->processGroup == processGroup) group.push_back(*sample);
  }
  ::closedir(dir);
  return group;
}

std::vector<ProcessSample> sampleKnownProcesses(const std::string& procRoot, pid_t processGroup,
                                                const std::vector<pid_t>& known) {
  static const long ticksPerSecond = ::sysconf(_SC_CLK_TCK);
  static const long pageSize = ::sysconf(_SC_PAGESIZE);
  std::vector<ProcessSample> group;
  std::vector<pid_t> queue(known.begin(), known.end());
  std::set<pid_t> seen;
  while (!queue.empty()) {
    pid_t pid = queue.back();
    queue.pop_back();
    if (!seen.insert(pid).second) continue;
    std::string dir = procRoot + "/" + std::to_string(pid);
    auto sample = parseProcStat(readSmallFile(dir + "/stat"), ticksPerSecond, pageSize);
    if (!sample || sample->processGroup != processGroup) continue;
    group.push_back(*sample);
    // Children of each of its threads.
    DIR* tasks = ::opendir((dir + "/task").c_str());
    if (tasks == nullptr) continue;
    while (dirent* entry = ::readdir(tasks)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      std::string children = readSmallFile(dir + "/task/" + entry->d_name + "/children");
      size_t start = 0;
      while (start < children.size()) {
        size_t end = children.find(' ', start);
        if (end == std::string::npos) end = children.size();
        pid_t child = 0;
        std::string_view text(children.data() + start, end - start);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
        if (parseNumber(text, &child)) queue.push_back(child);
        start = end + 1;
      }
    }
    ::closedir(tasks);
  }
  return group;
}

double UsageAccumulator::add(const std::vector<ProcessSample>& group) {
  std::int64_t rss = 0;
  for (const auto& process : group) {
    rss += process.rssBytes;
    double& cpu = cpuByProcess_[{process.pid, process.startTicks}];
    cpu = std::max(cpu, process.cpuSeconds);
  }
  double mib = static_cast<double>(rss) / kMib;
  peakMemMib_ = std::max(peakMemMib_, mib);
  return mib;
}

double UsageAccumulator::cpuSeconds() const {
  double total = 0;
  for (const auto& [process, cpu] : cpuByProcess_) total += cpu;
  return total;
}

v1::TaskUsage combineUsage(const UsageAccumulator& sampled, const struct rusage& waited,
                           std::int64_t readBytes, std::int64_t writtenBytes) {
  v1::TaskUsage usage;
  double waitedCpu = seconds(waited.ru_utime) + seconds(waited.ru_stime);
  usage.set_cpu_seconds(std::max(waitedCpu, sampled.cpuSeconds()));
  // ru_maxrss is in KiB on Linux.
  double waitedPeak = static_cast<double>(waited.ru_maxrss) / 1024.0;
  usage.set_peak_mem_mib(std::max(waitedPeak, sampled.peakMemMib()));
  usage.set_read_bytes(readBytes);
  usage.set_written_bytes(writtenBytes);
  usage.set_source("proc");
  return usage;
}

TaskMonitor::TaskMonitor(Options options) : options_(std::move(options)) {}

TaskMonitor::~TaskMonitor() { stop(); }

void TaskMonitor::start() {
  known_ = {options_.processGroup};
  // The first sample after one interval: a task shorter than that costs no
  // scan of /proc (wait4's rusage measures it).
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, options_.interval);
      if (stopping_) break;
      lock.unlock();
      sampleOnce(/*last=*/false);
      lock.lock();
    }
  });
}

void TaskMonitor::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  sampleOnce(/*last=*/true);
}

void TaskMonitor::sampleOnce(bool last) {
  // Read outside the lock: reading /proc is the slow part.
  bool full = !last && (options_.fullScanEvery <= 1 || samples_ % options_.fullScanEvery == 0);
  samples_ += 1;
  auto group = full ? sampleProcessGroup(options_.procRoot, options_.processGroup)
                    : sampleKnownProcesses(options_.procRoot, options_.processGroup, known_);
  known_.clear();
  for (const auto& process : group) known_.push_back(process.pid);
  if (known_.empty()) known_.push_back(options_.processGroup);
  std::lock_guard<std::mutex> lock(mutex_);
  double mib = accumulator_.add(group);
  if (options_.memLimitMib > 0 && !exceededMib_ && !group.empty() &&
      mib > static_cast<double>(options_.memLimitMib)) {
    exceededMib_ = mib;
    ::kill(-options_.processGroup, SIGKILL);
  }
}

std::optional<double> TaskMonitor::memoryExceeded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exceededMib_;
}

UsageAccumulator TaskMonitor::usage() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accumulator_;
}

}  // namespace tailor::executor
