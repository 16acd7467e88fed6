#pragma once

// Where a per-job JobManager gets the usage history of its job for
// `resources: auto` (common/usage_history.hpp), and where it leaves what the
// run used: the Dispatcher that launched it (which records the history from
// the end report itself), or a folder of files (`--usage-history DIR`; `tailor
// run` defaults to $XDG_STATE_HOME/tailor/usage).

#include <string>

#include "common/result.hpp"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/report.pb.h"

namespace tailor::scheduler {

// True when some stage of `spec` has `resources: auto`.
bool hasAutoStages(const v1::JobSpec& spec);

// $XDG_STATE_HOME/tailor/usage, else $HOME/.local/state/tailor/usage; empty
// when neither variable is set.
std::string defaultUsageHistoryDir();

// Asks the Dispatcher at `address` (host:port) with Dispatcher.GetUsageHistory,
// as the JobManager of job `jobId` (whose secret the call carries).
Result<v1::UsageHistory> fetchUsageHistory(const std::string& address, const std::string& jobName,
                                           const std::string& jobId);

// The history for `spec` before a run: from the Dispatcher when `dispatcher`
// is set, else from `dir` ("" or "none": none). Only looked up when the spec
// has `resources: auto` stages. When it cannot be had, the run goes on with
// the fallback profiles and `*problem` says why.
v1::UsageHistory loadUsageHistory(const v1::JobSpec& spec, const std::string& dispatcher,
                                  const std::string& jobId,
                                  const std::string& dir, std::string* problem);

// After a run without a Dispatcher: adds what `report` used to the history in
// `dir` (nothing when `dir` is "" or "none" or the spec has no auto stage).
Status saveUsageHistory(const v1::JobSpec& spec, const std::string& dir,
                        const v1::JobReport& report);

}  // namespace tailor::scheduler
