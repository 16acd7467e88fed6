#pragma once

// A job's run report (report.proto): what `tailor run --report`, a per-job
// JobManager and a session JobManager write at a job's end and send to the
// Dispatcher.

#include <string>
#include <vector>

#include "common/result.hpp"
#include "scheduler/jobmaster/job_master.hpp"
#include "scheduler/resourcemanager/sizing_policy.hpp"
#include "tailor/v1/report.pb.h"

namespace tailor::scheduler {

// The report of `jobMaster`'s job once it ended: its stages, the TaskManagers
// in `taskManagers` (ResourceManager::taskManagerReports()) with the attempts
// each ran for it, and the totals. With `onlyUsed` (a session's TaskManagers
// serve many jobs) only those that ran some attempt of it are listed, and
// their allocation counts from the job's submission on.
v1::JobReport makeJobReport(const JobMaster& jobMaster,
                            std::vector<v1::TaskManagerReport> taskManagers, bool onlyUsed,
                            SizingKind sizing, const std::string& outputDir);

// Writes the report as JSON (proto field names, all fields).
Status writeReport(const v1::JobReport& report, const std::string& path);
std::string reportToJson(const v1::JobReport& report);

}  // namespace tailor::scheduler
