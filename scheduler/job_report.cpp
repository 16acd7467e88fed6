#include "scheduler/job_report.hpp"

#include <algorithm>
#include <fstream>

#include "common/json.hpp"

namespace tailor::scheduler {

std::string reportToJson(const v1::JobReport& report) {
  auto json = printJson(report);
  return json.ok() ? *json : std::string();
}

Status writeReport(const v1::JobReport& report, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  out << reportToJson(report);
  out.close();
  if (!out) {
    return makeError(ErrorCode::kIo, "cannot write report '{}'", path);
  }
  return Status();
}

namespace {

// Resources x time the TaskManagers were allocated: from their launch to
// their release (or `jobEnd`, if still running); with `withinJob`, only
// between `jobStart` and `jobEnd`.
v1::ResourceSeconds allocatedSeconds(const std::vector<v1::TaskManagerReport>& tms,
                                     bool withinJob, double jobStart, double jobEnd) {
  v1::ResourceSeconds total;
  for (const auto& tm : tms) {
    if (tm.launched_at() <= 0) continue;
    double start = withinJob ? std::max(tm.launched_at(), jobStart) : tm.launched_at();
    double end = tm.released_at() > 0 ? tm.released_at() : jobEnd;
    if (withinJob) end = std::min(end, jobEnd);
    double seconds = std::max(0.0, end - start);
    total.set_cpu_seconds(total.cpu_seconds() + tm.resources().cpus() * seconds);
    total.set_mem_mib_seconds(total.mem_mib_seconds() + tm.resources().mem() * seconds);
  }
  return total;
}

}  // namespace

v1::JobReport makeJobReport(const JobMaster& jobMaster,
                            std::vector<v1::TaskManagerReport> taskManagers, bool onlyUsed,
                            SizingKind sizing, const std::string& outputDir) {
  v1::JobReport report;
  auto* job = report.mutable_job();
  job->set_id(jobMaster.jobId());
  job->set_name(jobMaster.spec().name());
  job->set_status(toString(jobMaster.status()));
  job->set_submitted_at(jobMaster.submittedAt());
  job->set_finished_at(jobMaster.finishedAt());
  job->set_error(jobMaster.error());
  job->set_duration_seconds(jobMaster.finishedAt() - jobMaster.submittedAt());
  for (auto& stage : jobMaster.stageReports()) *report.add_stages() = stage;
  const auto& attempts = jobMaster.attemptsPerTaskManager();
  std::vector<v1::TaskManagerReport> used;
  for (auto& tm : taskManagers) {
    auto it = attempts.find(tm.id());
    int run = it == attempts.end() ? 0 : it->second;
    if (onlyUsed && run == 0) continue;
    tm.set_tasks_run(run);
    *report.add_taskmanagers() = tm;
    used.push_back(std::move(tm));
  }
  *report.mutable_totals()->mutable_allocated() =
      allocatedSeconds(used, onlyUsed, jobMaster.submittedAt(), jobMaster.finishedAt());
  *report.mutable_totals()->mutable_requested() = jobMaster.requestedResourceSeconds();
  for (const auto& attempt : jobMaster.attemptReports()) *report.add_attempts() = attempt;
  report.set_sizing(toString(sizing));
  report.set_output(outputDir);
  return report;
}

}  // namespace tailor::scheduler
