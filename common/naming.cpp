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

bool isPlainName(const std::string& text, std::size_t maxLength) {
  if (text.empty() || text.size() > maxLength || text == "." || text == "..") return false;
  for (unsigned char c : text) {
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

std::string hostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

Status checkRelativePath(const std::string& path, const std::string& field, int maxLength,
                         int maxPartLength) {
  if (path.empty()) return makeError(ErrorCode::kInvalidArgument, "{}: empty path", field);
  if (static_cast<int>(path.size()) > maxLength) {
    return makeError(ErrorCode::kInvalidArgument, "{}: path longer than {} characters", field,
                     maxLength);
  }
  if (path.front() == '/') {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: '{}' is absolute (expected a path relative to the spec's folder)", field,
                     path);
  }
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      return makeError(ErrorCode::kInvalidArgument,
                       "{}: control character or backslash in '{}' (expected a plain path)", field,
                       path);
    }
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (static_cast<int>(part.size()) > maxPartLength) {
      return makeError(ErrorCode::kInvalidArgument,
                       "{}: '{}...' is a name longer than {} characters", field,
                       part.substr(0, 40), maxPartLength);
    }
    if (part.empty() || part == "." || part == "..") {
      return makeError(ErrorCode::kInvalidArgument,
                       "{}: '{}' has an empty, '.' or '..' part (expected a path inside the "
                       "spec's folder, such as data/part-1.txt)",
                       field, path);
    }
    start = end + 1;
  }
  return Status();
}

}  // namespace tailor
