#pragma once

// What one task attempt uses, measured by its TaskManager while it runs
// (docs/observability.md, "Measured usage"): CPU time and resident memory of
// the processes of the task's process group, sampled from /proc, and the
// bytes it read on stdin and wrote on stdout (counted by the runner). A
// TaskMonitor samples on its own thread and kills the group when it goes
// over its memory limit.

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tailor/v1/report.pb.h"

namespace tailor::executor {

// One process as /proc/<pid>/stat shows it.
struct ProcessSample {
  pid_t pid = 0;
  pid_t processGroup = 0;
  std::uint64_t startTicks = 0;  // when it started (with pid, names it uniquely)
  double cpuSeconds = 0;         // its own user + system time (not its children's)
  std::int64_t rssBytes = 0;
};

// Parses the text of /proc/<pid>/stat; nullopt when it is not in that form.
// `ticksPerSecond` and `pageSize` as sysconf(_SC_CLK_TCK) and (_SC_PAGESIZE).
std::optional<ProcessSample> parseProcStat(std::string_view text, long ticksPerSecond,
                                           long pageSize);

// The processes of process group `processGroup`, read from `procRoot`
// (normally "/proc"). Processes that end while being read are left out.
// Scans every process of the machine: costs a read per process there.
std::vector<ProcessSample> sampleProcessGroup(const std::string& procRoot, pid_t processGroup);

// The same, cheaply: the processes `known` (the group's leader and those of
// the last sample) and their descendants (<pid>/task/<tid>/children, where
// the kernel has them), those in the group. A process that left the group's
// tree unseen (orphaned between two samples), or any new one where the
// kernel has no children files, is found by the next full scan.
std::vector<ProcessSample> sampleKnownProcesses(const std::string& procRoot, pid_t processGroup,
                                                const std::vector<pid_t>& known);

// The figures of the samples of one task's process group so far: the peak of
// their summed resident memory, and the CPU time of every process ever seen
// (its latest sample). Not thread-safe.
class UsageAccumulator {
 public:
  // Adds one sample of the whole group; returns its summed resident memory
  // in MiB.
  double add(const std::vector<ProcessSample>& group);

  double peakMemMib() const { return peakMemMib_; }
  double cpuSeconds() const;

 private:
  std::map<std::pair<pid_t, std::uint64_t>, double> cpuByProcess_;
  double peakMemMib_ = 0;
};

// The attempt's usage: the larger of two lower bounds for CPU (what wait4
// reports for the task's command and the descendants it waited for; the CPU
// sampled of each process of its group), and for peak memory (the sampled
// peak of the group's sum; ru_maxrss, the largest single waited-for process),
// with the stdin/stdout bytes. `source` is "proc".
v1::TaskUsage combineUsage(const UsageAccumulator& sampled, const struct rusage& waited,
                           std::int64_t readBytes, std::int64_t writtenBytes);

// Samples a running task's process group every `interval` on its own thread
// and kills the group (SIGKILL) when its summed resident memory goes over
// `memLimitMib` (0: no limit). Each sample reads the processes it knows and
// their descendants; the first and every `fullScanEvery`-th after it scan all
// of /proc for processes of the group it does not know.
//
// Threads: the sampler thread and the caller share `accumulator_`,
// `exceededMib_` and `stopping_`, all guarded by `mutex_`.
class TaskMonitor {
 public:
  struct Options {
    pid_t processGroup = -1;
    std::int64_t memLimitMib = 0;
    std::chrono::milliseconds interval{50};
    std::string procRoot = "/proc";
    int fullScanEvery = 10;
  };

  explicit TaskMonitor(Options options);
  ~TaskMonitor();  // stop()
  TaskMonitor(const TaskMonitor&) = delete;
  TaskMonitor& operator=(const TaskMonitor&) = delete;

  // Starts sampling (the first sample, a full scan, after one interval).
  // Once only.
  void start();
  // Takes a last sample and stops the thread. Idempotent.
  void stop();

  // The summed resident memory (MiB) at which the group was killed for
  // going over its limit; nullopt while it has not been.
  std::optional<double> memoryExceeded() const;
  UsageAccumulator usage() const;

 private:
  // One sample; the `last` (at stop()) reads only the processes known.
  void sampleOnce(bool last);

  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  UsageAccumulator accumulator_;
  // The group's processes at the last sample; the sampler's alone (stop()
  // joins it before sampling itself).
  std::vector<pid_t> known_;
  int samples_ = 0;
  std::optional<double> exceededMib_;
  std::thread thread_;
};

}  // namespace tailor::executor
