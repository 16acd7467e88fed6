#include "scheduler/drivers/mesos/executor_uri.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/http/tls.hpp"

namespace tailor::scheduler::mesos {

namespace {

constexpr const char* kExpected =
    "expected dispatcher:/PATH (a path on the leading Dispatcher, e.g. "
    "dispatcher:/v1/artifacts/tailor-taskmanager) or a URI the Mesos fetcher takes";

bool blankOrControl(unsigned char c) { return std::isspace(c) != 0 || std::iscntrl(c) != 0; }

Error badValue(const std::string& text, const std::string& why) {
  return makeError(ErrorCode::kInvalidArgument, "--taskmanager-executor-uri: '{}' {}; {}", text,
                   why, kExpected);
}

}  // namespace

Result<ExecutorUri> parseExecutorUri(const std::string& text) {
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return blankOrControl(c); })) {
    return badValue(text, "is blank");
  }
  // A URI's scheme is case-insensitive (RFC 3986).
  const std::string prefix = kLeadingDispatcherPrefix;
  std::string head = text.substr(0, prefix.size());
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (head != prefix) return ExecutorUri{ExecutorUri::Kind::kAsGiven, text};
  std::string path = text.substr(prefix.size());
  if (path.empty()) return badValue(text, "names no path");
  if (path.front() != '/' || (path.size() > 1 && path[1] == '/')) {
    return badValue(text, "is not a path starting with one '/'");
  }
  if (std::any_of(path.begin(), path.end(), [](unsigned char c) { return blankOrControl(c); })) {
    return badValue(text, "holds whitespace or control characters");
  }
  return ExecutorUri{ExecutorUri::Kind::kLeadingDispatcher, path};
}

Result<std::vector<ExecutorUri>> parseExecutorUris(const std::vector<std::string>& texts) {
  std::vector<ExecutorUri> uris;
  for (const auto& text : texts) {
    auto uri = parseExecutorUri(text);
    if (!uri.ok()) return uri.error();
    uris.push_back(std::move(*uri));
  }
  return uris;
}

bool needsDispatcher(const std::vector<ExecutorUri>& uris) {
  return std::any_of(uris.begin(), uris.end(), [](const ExecutorUri& uri) {
    return uri.kind == ExecutorUri::Kind::kLeadingDispatcher;
  });
}

std::string resolveExecutorUri(const ExecutorUri& uri, const std::string& dispatcherAddress,
                               const std::string& jobManagerAddress) {
  if (uri.kind == ExecutorUri::Kind::kAsGiven) return uri.value;
  std::string base =
      uri.kind == ExecutorUri::Kind::kJobManager ? jobManagerAddress : dispatcherAddress;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.find("://") == std::string::npos) base = http::internalScheme() + base;
  return base + uri.value;
}

std::string jobManagerExecutorPath(std::uintmax_t size, std::int64_t modifiedNanoseconds) {
  return fmt::format("/artifacts/{:x}-{:x}/{}", size,
                     static_cast<std::uint64_t>(modifiedNanoseconds), kExecutorFileName);
}

}  // namespace tailor::scheduler::mesos
