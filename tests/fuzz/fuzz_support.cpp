#include "tests/fuzz/fuzz_support.hpp"

#include <string>

#include "common/logging.hpp"

namespace tailor::fuzz {

void quietLogs() {
  LogConfig config;
  config.level = "off";
  std::string error;
  check(configureLogging(config, &error), "logging could not be turned off", error);
}

}  // namespace tailor::fuzz
