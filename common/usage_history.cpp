#include "common/usage_history.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "common/file_chunk.hpp"
#include "common/json.hpp"

namespace tailor {

namespace {

const v1::StageHistory* findStage(const v1::UsageHistory& history, const std::string& stage) {
  for (const auto& entry : history.stages()) {
    if (entry.stage() == stage) return &entry;
  }
  return nullptr;
}

std::string describeProfile(double cpus, std::int64_t memMib) {
  return fmt::format("{} cpus, {} MiB", cpus, memMib);
}

}  // namespace

std::map<std::string, std::string> chooseAutoResources(v1::JobSpec& spec,
                                                       const v1::UsageHistory& history) {
  std::map<std::string, std::string> reasons;
  for (auto& stage : *spec.mutable_stages()) {
    if (!stage.auto_resources()) {
      reasons[stage.name()] = "spec";
      continue;
    }
    const v1::StageHistory* past = findStage(history, stage.name());
    double cpus = 0, usedCpus = 0, usedMem = 0;
    double mem = 0;
    int runs = 0;
    if (past != nullptr) {
      for (const auto& run : past->runs()) {
        if (run.recommended().cpus() <= 0 || run.recommended().mem() <= 0) continue;
        ++runs;
        cpus = std::max(cpus, run.recommended().cpus());
        mem = std::max(mem, run.recommended().mem());
        usedCpus = std::max(usedCpus, run.max_cpus_used());
        usedMem = std::max(usedMem, run.max_peak_mem_mib());
      }
    }
    auto* profile = stage.mutable_resources();
    if (runs == 0) {
      reasons[stage.name()] = fmt::format(
          "auto: no earlier run of job {} measured stage {}; the fallback {}", spec.name(),
          stage.name(), describeProfile(profile->cpus(), profile->mem()));
      continue;
    }
    // Profiles count CPUs in thousandths and memory in whole MiB.
    profile->set_cpus(std::ceil(cpus * 1000.0) / 1000.0);
    profile->set_mem(static_cast<std::int64_t>(std::ceil(mem)));
    reasons[stage.name()] = fmt::format(
        "auto: {}, the highest recommendation of the last {} run{} of job {} (at most {:.2f} "
        "cpus and {:.0f} MiB used by a task)",
        describeProfile(profile->cpus(), profile->mem()), runs, runs == 1 ? "" : "s",
        spec.name(), usedCpus, usedMem);
  }
  return reasons;
}

void recordUsage(v1::UsageHistory& history, const v1::JobReport& report) {
  if (history.job_name().empty()) history.set_job_name(report.job().name());
  for (const auto& stage : report.stages()) {
    const v1::StageUsage& usage = stage.usage();
    if (usage.recommended().cpus() <= 0 || usage.recommended().mem() <= 0) continue;
    v1::StageHistory* entry = nullptr;
    for (auto& existing : *history.mutable_stages()) {
      if (existing.stage() == stage.name()) entry = &existing;
    }
    if (entry == nullptr) {
      entry = history.add_stages();
      entry->set_stage(stage.name());
    }
    *entry->add_runs() = usage;
    entry->add_job_ids(report.job().id());
    while (entry->runs_size() > kUsageHistoryRuns) {
      entry->mutable_runs()->erase(entry->mutable_runs()->begin());
    }
    while (entry->job_ids_size() > kUsageHistoryRuns) {
      entry->mutable_job_ids()->erase(entry->mutable_job_ids()->begin());
    }
  }
}

std::string usageHistoryPath(const std::string& dir, const std::string& jobName) {
  return dir + "/" + jobName + ".json";
}

Result<v1::UsageHistory> readUsageHistory(const std::string& path, const std::string& jobName) {
  v1::UsageHistory history;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    history.set_job_name(jobName);
    return history;
  }
  std::optional<std::string> text = readWholeFile(path);
  if (!text) return makeError(ErrorCode::kIo, "usage history '{}': cannot be read", path);
  auto parsed = google::protobuf::util::JsonStringToMessage(*text, &history);
  if (!parsed.ok()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "usage history '{}': not a usage history ({}); remove it to start afresh",
                     path, std::string(parsed.message()));
  }
  return history;
}

Status writeUsageHistory(const std::string& path, const v1::UsageHistory& history) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "usage history '{}': cannot create its folder: {}", path,
                     ec.message());
  }
  auto text = printJson(history);
  if (!text.ok()) return text.error();
  return writeFileAtomically(path, *text);
}

}  // namespace tailor
