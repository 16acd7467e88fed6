#include "scheduler/usage_source.hpp"

#include <cstdlib>

#include "common/rpc.hpp"
#include "common/usage_history.hpp"
#include "tailor/v1/dispatcher.pb.h"

namespace tailor::scheduler {

bool hasAutoStages(const v1::JobSpec& spec) {
  for (const auto& stage : spec.stages()) {
    if (stage.auto_resources()) return true;
  }
  return false;
}

std::string defaultUsageHistoryDir() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state != nullptr && *state != '\0') return std::string(state) + "/tailor/usage";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return std::string(home) + "/.local/state/tailor/usage";
  return "";
}

Result<v1::UsageHistory> fetchUsageHistory(const std::string& address,
                                           const std::string& jobName, const std::string& jobId) {
  v1::GetUsageHistoryRequest request;
  request.set_job_name(jobName);
  request.set_job_id(jobId);
  return rpc::callBlocking<v1::UsageHistory>(address, "Dispatcher", "GetUsageHistory", request,
                                             Duration(10000));
}

v1::UsageHistory loadUsageHistory(const v1::JobSpec& spec, const std::string& dispatcher,
                                  const std::string& jobId, const std::string& dir,
                                  std::string* problem) {
  v1::UsageHistory empty;
  empty.set_job_name(spec.name());
  if (!hasAutoStages(spec)) return empty;
  if (!dispatcher.empty()) {
    auto fetched = fetchUsageHistory(dispatcher, spec.name(), jobId);
    if (fetched.ok()) return *fetched;
    *problem = "the usage history could not be had from the Dispatcher (" +
               fetched.error().message + "); auto stages get their fallback";
    return empty;
  }
  if (dir.empty() || dir == "none") return empty;
  auto read = readUsageHistory(usageHistoryPath(dir, spec.name()), spec.name());
  if (read.ok()) return *read;
  *problem = read.error().message + "; auto stages get their fallback";
  return empty;
}

Status saveUsageHistory(const v1::JobSpec& spec, const std::string& dir,
                        const v1::JobReport& report) {
  if (!hasAutoStages(spec) || dir.empty() || dir == "none") return Status();
  std::string path = usageHistoryPath(dir, spec.name());
  auto history = readUsageHistory(path, spec.name());
  if (!history.ok()) return history.error();
  recordUsage(*history, report);
  return writeUsageHistory(path, *history);
}

}  // namespace tailor::scheduler
