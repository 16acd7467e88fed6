#include "cli/progress.hpp"

#include <fmt/format.h>

namespace tailor::cli {

std::string formatStageUsage(const v1::StageReport& stage) {
  const v1::StageUsage& usage = stage.usage();
  if (!usage.has_recommended()) return "";
  return fmt::format(
      "{}: asked {:g} cpu {:g} MiB, used {:.2f} cpu {:.0f} MiB peak; "
      "recommended {:g} cpu {:g} MiB",
      stage.name(), usage.requested().cpus(), usage.requested().mem(), usage.max_cpus_used(),
      usage.max_peak_mem_mib(), usage.recommended().cpus(), usage.recommended().mem());
}

namespace {

std::string sizeOf(const scheduler::TaskManagerSpec& spec) {
  std::string slots = spec.slots.size() == 1 ? "1 slot" : fmt::format("{} slots", spec.slots.size());
  return fmt::format("{} cpus, {} MiB, {}", spec.total.cpus(), spec.total.memMib, slots);
}

}  // namespace

Progress::Progress(std::FILE* out, bool terminal, std::string jobName)
    : out_(out),
      terminal_(terminal),
      jobName_(std::move(jobName)),
      started_(std::chrono::steady_clock::now()) {}

void Progress::line(const std::string& text) {
  if (terminal_) {
    messages_.push_back(text);
    redraw(true);
  } else {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    fmt::print(out_, "[{:7.2f}s] {}\n", seconds, text);
    std::fflush(out_);
  }
}

void Progress::onStageStarted(const std::string& stage) { line("stage " + stage + " started"); }

void Progress::onStageFinished(const std::string& stage) { line("stage " + stage + " finished"); }

void Progress::onAttemptFailed(const std::string& attemptId, const std::string& message,
                               bool willRetry) {
  line(fmt::format("attempt {} failed: {}{}", attemptId, message,
                   willRetry ? " (will retry)" : ""));
}

void Progress::onProgress(const std::vector<scheduler::StageProgress>& stages) {
  stages_ = stages;
  redraw(false);
}

void Progress::onJobEnded(scheduler::JobStatus status, const std::string& error) {
  redraw(true);
}

void Progress::onTaskManagerRequested(const std::string& id,
                                      const scheduler::TaskManagerSpec& spec) {
  taskManager(id) = Tm{sizeOf(spec), "starting"};
  if (!terminal_) line(fmt::format("taskmanager {} requested ({})", id, sizeOf(spec)));
  redraw(false);
}

void Progress::onTaskManagerRegistered(const std::string& id, const std::string& address,
                                       double launchedAt) {
  taskManager(id).state = "running";
  if (!terminal_) line("taskmanager " + id + " registered");
  redraw(false);
}

Progress::Tm& Progress::taskManager(const std::string& id) {
  auto [it, added] = tmIndex_.emplace(id, tms_.size());
  if (added) tms_.emplace_back(id, Tm{});
  return tms_[it->second].second;
}

void Progress::onTaskManagerReleased(const std::string& id, const std::string& how, bool lost) {
  taskManager(id).state = lost ? "lost" : "released";
  if (!terminal_) line("taskmanager " + id + " " + how);
  redraw(false);
}

void Progress::redraw(bool force) {
  if (!terminal_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - lastDraw_ < std::chrono::milliseconds(100)) return;
  lastDraw_ = now;
  std::string text;
  // Move up over the previous block and clear it.
  for (int i = 0; i < drawnLines_; ++i) text += "\x1b[1A\x1b[2K";
  text += "\r";
  for (const auto& message : messages_) text += message + "\n";
  messages_.clear();
  int lines = 0;
  double seconds = std::chrono::duration<double>(now - started_).count();
  text += fmt::format("\x1b[1mjob {}\x1b[0m  {:.1f}s\n", jobName_, seconds);
  ++lines;
  for (const auto& stage : stages_) {
    constexpr int kWidth = 24;
    int filled = stage.parallelism == 0 ? 0 : stage.finished * kWidth / stage.parallelism;
    std::string bar(static_cast<size_t>(filled), '#');
    bar += std::string(static_cast<size_t>(kWidth - filled), '.');
    std::string state = stage.complete  ? "done"
                        : stage.running ? fmt::format("{} running", stage.running)
                        : stage.started ? "waiting for slots"
                                        : "waiting for inputs";
    if (stage.failedAttempts > 0) state += fmt::format(", {} failed attempts", stage.failedAttempts);
    text += fmt::format("  {:<16} [{}] {:>4}/{:<4} {}\n", stage.name, bar, stage.finished,
                        stage.parallelism, state);
    ++lines;
  }
  int live = 0;
  int released = 0;
  for (const auto& tm : tms_) {
    if (tm.second.state == "released" || tm.second.state == "lost") {
      ++released;
      continue;
    }
    ++live;
  }
  text += fmt::format("  TaskManagers: {} live, {} released\n", live, released);
  ++lines;
  for (const auto& tm : tms_) {
    if (tm.second.state == "released" || tm.second.state == "lost") continue;
    text += fmt::format("    {:<6} {:<9} {}\n", tm.first, tm.second.state, tm.second.size);
    ++lines;
  }
  drawnLines_ = lines;
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
}

}  // namespace tailor::cli
