#pragma once

// Named spdlog loggers, one per component ("jobmaster", "resourcemanager",
// "taskmanager", ...). Every line should carry the IDs it concerns
// (job, TaskManager, attempt) and no trailing period.

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace tailor {

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | off
  std::string file;            // empty: standard error
};

// Configures the default sink for all loggers of this process. Call once from
// main() before creating loggers. Returns false with a message on a bad level.
bool configureLogging(const LogConfig& config, std::string* error);

// Returns the logger named `name`, creating it on first use with the sink set
// up by configureLogging(). Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// A logger of one instance of component `name` among many in a process (a
// session's JobMaster of job `id`): its lines show "[<name> <id>]". Not
// registered, so that it goes with its last user; call after
// configureLogging(). Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& name, const std::string& id);

}  // namespace tailor
