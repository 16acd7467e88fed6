#pragma once

// Right-sizing (`resources: auto`, docs/observability.md "Right-sizing"):
// what earlier runs of a job used, per stage, and the profile chosen from it.
// The Dispatcher keeps a job name's history in its state store; `tailor run`
// and a JobManager started by hand keep it in a file per job name.

#include <map>
#include <string>

#include "common/result.hpp"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/report.pb.h"

namespace tailor {

// Runs kept per stage: the oldest is forgotten beyond this.
inline constexpr int kUsageHistoryRuns = 5;

// For each stage of `spec` with `resources: auto`, sets its profile from
// `history`: per dimension the highest recommendation (StageUsage.recommended)
// of the runs kept, else the spec's fallback. Returns, for every stage, how its
// profile was chosen ("spec" for stages that are not auto), in words.
std::map<std::string, std::string> chooseAutoResources(v1::JobSpec& spec,
                                                       const v1::UsageHistory& history);

// Adds what `report`'s stages used (those with a measured recommendation) to
// `history`, keeping the last kUsageHistoryRuns runs of each stage.
void recordUsage(v1::UsageHistory& history, const v1::JobReport& report);

// <dir>/<job name>.json.
std::string usageHistoryPath(const std::string& dir, const std::string& jobName);

// The history in `path` (JSON); an empty one for `jobName` when the file does
// not exist. An error names the file when it cannot be read or parsed.
Result<v1::UsageHistory> readUsageHistory(const std::string& path, const std::string& jobName);

// Writes it atomically, creating the folder.
Status writeUsageHistory(const std::string& path, const v1::UsageHistory& history);

}  // namespace tailor
