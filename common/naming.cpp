#include "common/naming.hpp"

#include <unistd.h>

#include <cctype>
#include <ctime>

#include <fmt/format.h>

namespace tailor {

std::string makeJobId(const std::string& jobName, double wallSeconds, std::uint32_t random) {
  std::time_t seconds = static_cast<std::time_t>(wallSeconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &utc);
  return fmt::format("{}-{}-{:04x}", jobName, stamp, random & 0xffff);
}

std::string fileNameOf(const std::string& text) {
  std::string name;
  name.reserve(text.size());
  for (char c : text) {
    bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                 (c == '.' && !name.empty());
    name += plain ? c : '-';
  }
  return name;
}

std::string hostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace tailor
