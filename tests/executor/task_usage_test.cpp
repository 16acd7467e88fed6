#include "executor/task_usage.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>

#include "tests/common/temp_dir.hpp"

namespace tailor::executor {
namespace {

using test::TempDir;

// A /proc/<pid>/stat line: pid, comm, then fields 3..24 with pgrp, utime,
// stime, starttime and rss (in pages) where given.
std::string statLine(int pid, const std::string& comm, int pgrp, int utime, int stime, int start,
                     int rssPages) {
  return fmt::format(
      "{} ({}) S 1 {} {} 0 -1 4194304 100 0 0 0 {} {} 7 8 20 0 1 0 {} 123456 {} 1844 0 0\n", pid,
      comm, pgrp, pgrp, utime, stime, start, rssPages);
}

constexpr long kTicks = 100;
constexpr long kPage = 4096;

// --- parseProcStat ---

TEST(ParseProcStatTest, ReadsGroupCpuStartAndRss) {
  auto sample = parseProcStat(statLine(42, "sh", 40, 150, 50, 999, 256), kTicks, kPage);
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->pid, 42);
  EXPECT_EQ(sample->processGroup, 40);
  EXPECT_DOUBLE_EQ(sample->cpuSeconds, 2.0);  // (150 + 50) ticks; children's (7, 8) not counted
  EXPECT_EQ(sample->startTicks, 999u);
  EXPECT_EQ(sample->rssBytes, 256 * kPage);
}

TEST(ParseProcStatTest, CommWithSpacesAndParentheses) {
  auto sample = parseProcStat(statLine(7, "a) (b c", 7, 1, 0, 5, 1), kTicks, kPage);
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->processGroup, 7);
  EXPECT_EQ(sample->rssBytes, kPage);
}

TEST(ParseProcStatTest, MalformedIsNullopt) {
  EXPECT_FALSE(parseProcStat("", kTicks, kPage));
  EXPECT_FALSE(parseProcStat("42 (sh) S 1 40", kTicks, kPage));
  EXPECT_FALSE(parseProcStat("x (sh) " + std::string(200, ' '), kTicks, kPage));
  std::string line = statLine(42, "sh", 40, 150, 50, 999, 256);
  line.replace(line.find(" 150 "), 5, " 1x0 ");
  EXPECT_FALSE(parseProcStat(line, kTicks, kPage));
  EXPECT_FALSE(parseProcStat(statLine(42, "sh", 40, 1, 1, 1, 1), 0, kPage));
}

// --- sampleProcessGroup ---

TEST(SampleProcessGroupTest, OnlyTheGroupsProcesses) {
  TempDir proc;
  proc.write("10/stat", statLine(10, "sh", 10, 1, 0, 1, 10));
  proc.write("11/stat", statLine(11, "sort", 10, 1, 0, 2, 20));
  proc.write("12/stat", statLine(12, "other", 12, 1, 0, 3, 30));
  proc.write("13/stat", "garbage");
  proc.write("self/stat", statLine(10, "sh", 10, 1, 0, 1, 10));  // not a pid: skipped
  auto group = sampleProcessGroup(proc.str(), 10);
  ASSERT_EQ(group.size(), 2u);
  std::int64_t rss = group[0].rssBytes + group[1].rssBytes;
  EXPECT_EQ(rss, 30 * ::sysconf(_SC_PAGESIZE));
}

TEST(SampleProcessGroupTest, KnownProcessesAndTheirDescendantsInTheGroup) {
  TempDir proc;
  proc.write("10/stat", statLine(10, "sh", 10, 1, 0, 1, 10));
  proc.write("10/task/10/children", "11 12 ");
  proc.write("10/task/15/children", "14");  // another thread's child
  proc.write("11/stat", statLine(11, "sort", 10, 1, 0, 2, 20));
  proc.write("11/task/11/children", "13");
  proc.write("12/stat", statLine(12, "setsid", 12, 1, 0, 3, 30));  // left the group
  proc.write("12/task/12/children", "16");
  proc.write("13/stat", statLine(13, "awk", 10, 1, 0, 4, 40));
  proc.write("14/stat", statLine(14, "cat", 10, 1, 0, 5, 50));
  proc.write("16/stat", statLine(16, "daemon", 10, 1, 0, 6, 60));  // under 12: not walked
  proc.write("17/stat", statLine(17, "orphan", 10, 1, 0, 7, 70));  // known from before
  std::set<pid_t> pids;
  for (const auto& p : sampleKnownProcesses(proc.str(), 10, {10, 17, 99})) pids.insert(p.pid);
  EXPECT_EQ(pids, (std::set<pid_t>{10, 11, 13, 14, 17}));
}

TEST(SampleProcessGroupTest, MissingRootIsEmpty) {
  EXPECT_TRUE(sampleProcessGroup("/nonexistent/proc", 1).empty());
}

// --- UsageAccumulator ---

ProcessSample process(pid_t pid, std::uint64_t start, double cpu, double rssMib) {
  ProcessSample sample;
  sample.pid = pid;
  sample.processGroup = 1;
  sample.startTicks = start;
  sample.cpuSeconds = cpu;
  sample.rssBytes = static_cast<std::int64_t>(rssMib * 1024 * 1024);
  return sample;
}

TEST(UsageAccumulatorTest, PeakOfTheSumAndCpuOfEveryProcessSeen) {
  UsageAccumulator usage;
  EXPECT_DOUBLE_EQ(usage.add({process(1, 1, 0.5, 10), process(2, 1, 0.1, 30)}), 40);
  // Process 2 ended (its CPU stays counted); 3 started.
  EXPECT_DOUBLE_EQ(usage.add({process(1, 1, 0.7, 10), process(3, 1, 0.2, 20)}), 30);
  EXPECT_DOUBLE_EQ(usage.peakMemMib(), 40);
  EXPECT_DOUBLE_EQ(usage.cpuSeconds(), 0.7 + 0.1 + 0.2);
  // A new process with a reused pid is another process.
  usage.add({process(2, 9, 0.4, 1)});
  EXPECT_DOUBLE_EQ(usage.cpuSeconds(), 0.7 + 0.1 + 0.2 + 0.4);
}

// --- combineUsage ---

TEST(CombineUsageTest, LargerOfTheLowerBounds) {
  UsageAccumulator sampled;
  sampled.add({process(1, 1, 1.5, 100)});
  struct rusage waited {};
  waited.ru_utime.tv_sec = 1;
  waited.ru_stime.tv_usec = 250000;  // 1.25 s: less than sampled
  waited.ru_maxrss = 200 * 1024;     // KiB: more than sampled
  auto usage = combineUsage(sampled, waited, 11, 22);
  EXPECT_DOUBLE_EQ(usage.cpu_seconds(), 1.5);
  EXPECT_DOUBLE_EQ(usage.peak_mem_mib(), 200);
  EXPECT_EQ(usage.read_bytes(), 11);
  EXPECT_EQ(usage.written_bytes(), 22);
  EXPECT_EQ(usage.source(), "proc");

  waited.ru_utime.tv_sec = 3;
  EXPECT_DOUBLE_EQ(combineUsage(sampled, waited, 0, 0).cpu_seconds(), 3.25);
}

// --- TaskMonitor (real processes) ---

// A child in its own process group holding `mib` MiB resident until killed.
pid_t spawnHolder(size_t mib) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    size_t bytes = mib << 20;
    void* memory =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) ::_exit(1);
    std::memset(memory, 1, bytes);
    ::kill(::getpid(), SIGSTOP);  // tells the parent it holds the memory
    for (;;) ::pause();
  }
  ::setpgid(pid, pid);
  int status = 0;
  ::waitpid(pid, &status, WUNTRACED);  // stopped: the memory is resident
  ::kill(pid, SIGCONT);
  return pid;
}

TEST(TaskMonitorTest, MeasuresTheGroupWithoutLimit) {
  pid_t pid = spawnHolder(48);
  TaskMonitor monitor(TaskMonitor::Options{pid, 0, std::chrono::milliseconds(10)});
  monitor.start();
  monitor.stop();
  EXPECT_FALSE(monitor.memoryExceeded());
  EXPECT_GE(monitor.usage().peakMemMib(), 48);
  // The forked child starts with this process's resident pages mapped.
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto self = parseProcStat(text, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE));
  ASSERT_TRUE(self);
  EXPECT_LT(monitor.usage().peakMemMib(),
            48 + 16 + static_cast<double>(self->rssBytes) / (1 << 20));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST(TaskMonitorTest, KillsTheGroupOverItsLimit) {
  pid_t pid = spawnHolder(48);
  TaskMonitor monitor(TaskMonitor::Options{pid, 32, std::chrono::milliseconds(10)});
  monitor.start();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);  // ends only when killed
  monitor.stop();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_TRUE(monitor.memoryExceeded());
  EXPECT_GE(*monitor.memoryExceeded(), 48);
}

}  // namespace
}  // namespace tailor::executor
