#include "common/logging.hpp"

#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace tailor {
namespace {

// Guards sink and level below; loggers themselves are thread-safe.
std::mutex& configMutex() {
  static std::mutex mutex;
  return mutex;
}

spdlog::sink_ptr& currentSink() {
  static spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

spdlog::level::level_enum& currentLevel() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}

}  // namespace

bool configureLogging(const LogConfig& config, std::string* error) {
  auto level = spdlog::level::from_str(config.level);
  if (level == spdlog::level::off && config.level != "off") {
    *error = "unknown log level '" + config.level +
             "' (expected trace, debug, info, warn, error or off)";
    return false;
  }
  spdlog::sink_ptr sink;
  try {
    if (config.file.empty()) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file);
    }
  } catch (const spdlog::spdlog_ex& e) {
    *error = "cannot open log file '" + config.file + "': " + e.what();
    return false;
  }
  std::lock_guard<std::mutex> lock(configMutex());
  currentSink() = sink;
  currentLevel() = level;
  spdlog::drop_all();
  return true;
}

namespace {

// A logger on the configured sink and level; configMutex() held.
std::shared_ptr<spdlog::logger> makeLogger(const std::string& name) {
  auto created = std::make_shared<spdlog::logger>(name, currentSink());
  created->set_level(currentLevel());
  created->set_pattern("%Y-%m-%dT%H:%M:%S.%e %L [%n] %v");
  created->flush_on(spdlog::level::info);
  return created;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  std::lock_guard<std::mutex> lock(configMutex());
  if (auto existing = spdlog::get(name)) {
    return existing;
  }
  auto created = makeLogger(name);
  spdlog::register_logger(created);
  return created;
}

std::shared_ptr<spdlog::logger> logger(const std::string& name, const std::string& id) {
  std::lock_guard<std::mutex> lock(configMutex());
  return makeLogger(name + " " + id);
}

}  // namespace tailor
