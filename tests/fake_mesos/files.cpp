#include "tests/fake_mesos/files.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {
namespace {

namespace fs = std::filesystem;

// Mesos' strings::remove(text, "/", SUFFIX): one trailing slash less.
std::string withoutTrailingSlash(std::string text) {
  if (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

// os::realpath: the canonical path; nullopt when it does not exist.
std::optional<std::string> realPath(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) return std::nullopt;
  return std::string(buffer);
}

// stout's numify<T> of a decimal integer: the value, or its error text.
Result<std::int64_t> numify(const std::string& text) {
  std::int64_t value = 0;
  const char* begin = text.data();
  if (!text.empty() && text[0] == '+') ++begin;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return makeError(ErrorCode::kInvalidArgument, "Failed to convert '{}' to number", text);
  }
  return value;
}

// Mesos' OK(JSON::Object): keys in order, stout's string printing.
http::Response readAnswer(const std::string& data, std::int64_t offset) {
  http::Response response =
      textResponse(200, fmt::format(R"({{"data":{},"offset":{}}})", jsonString(data), offset));
  response.contentType = "application/json";
  return response;
}

}  // namespace

void SandboxFiles::attach(const std::string& directory, const std::string& virtualPath) {
  attached_[withoutTrailingSlash(virtualPath)] = realPath(directory).value_or(directory);
}

Result<std::string> SandboxFiles::resolve(const std::string& virtualPath) const {
  std::string path = virtualPath;
  if (path.rfind("file://", 0) == 0) path = path.substr(7);  // path::from_uri
  path = withoutTrailingSlash(path);
  std::vector<std::string> tokens;
  for (std::size_t start = 0;;) {
    std::size_t slash = path.find('/', start);
    tokens.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  auto join = [](const std::vector<std::string>& parts) {
    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i) joined += (i == 0 ? "" : "/") + parts[i];
    return joined;
  };
  std::string suffix;
  while (!tokens.empty()) {
    auto found = attached_.find(join(tokens));
    if (found == attached_.end()) {
      suffix = suffix.empty() ? tokens.back() : tokens.back() + "/" + suffix;
      tokens.pop_back();
      continue;
    }
    const std::string& root = found->second;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
      if (!suffix.empty()) return makeError(ErrorCode::kNotFound, "");
      return root;
    }
    std::string joined = suffix.empty() ? root : root + "/" + suffix;
    auto real = realPath(joined);
    if (!real) return makeError(ErrorCode::kNotFound, "");
    // Mesos checks the prefix as text, as here.
    if (real->rfind(root, 0) != 0) {
      return makeError(ErrorCode::kInvalidArgument, "'{}' is inaccessible", joined);
    }
    return *real;
  }
  return makeError(ErrorCode::kNotFound, "");
}

http::Response SandboxFiles::read(const http::Request& request) const {
  auto query = parseQuery(request.query);
  auto path = query.find("path");
  if (path == query.end() || path->second.empty()) {
    return textResponse(400, "Expecting 'path=value' in query.\n");
  }
  std::int64_t offset = -1;
  if (auto given = query.find("offset"); given != query.end()) {
    auto parsed = numify(given->second);
    if (!parsed.ok())
      return textResponse(400, "Failed to parse offset: " + parsed.error().message + ".\n");
    if (*parsed < -1)
      return textResponse(400, fmt::format("Negative offset provided: {}.\n", *parsed));
    offset = *parsed;
  }
  std::optional<std::int64_t> length;
  if (auto given = query.find("length"); given != query.end()) {
    auto parsed = numify(given->second);
    if (!parsed.ok())
      return textResponse(400, "Failed to parse length: " + parsed.error().message + ".\n");
    if (*parsed < -1)
      return textResponse(400, fmt::format("Negative length provided: {}.\n", *parsed));
    if (*parsed > -1) length = *parsed;
  }
  std::int64_t from = offset;
  if (offset == -1) {  // the web UI's way to ask for the size
    from = 0;
    length = 0;
  }
  auto resolved = resolve(path->second);
  if (!resolved.ok()) {
    if (resolved.error().code == ErrorCode::kNotFound) return textResponse(404, "");
    return textResponse(400, resolved.error().message + ".\n");
  }
  std::error_code ec;
  if (fs::is_directory(*resolved, ec)) return textResponse(400, "Cannot read a directory.\n");
  std::ifstream in(*resolved, std::ios::binary | std::ios::ate);
  if (!in) {
    return textResponse(
        500, fmt::format("Failed to open file at '{}': {}.\n", *resolved, std::strerror(errno)));
  }
  auto size = static_cast<std::int64_t>(in.tellg());
  std::int64_t answered = offset == -1 ? size : offset;
  if (from >= size) return readAnswer("", answered);
  std::int64_t count = length.value_or(size - from);
  if (count == 0) return readAnswer("", answered);
  count = std::min<std::int64_t>(count, ::sysconf(_SC_PAGESIZE) * 16);
  std::string data(static_cast<std::size_t>(count), '\0');
  in.seekg(from);
  in.read(data.data(), count);
  data.resize(static_cast<std::size_t>(in.gcount()));
  return readAnswer(data, answered);
}

}  // namespace tailor::fake_mesos
