#include "tests/fake_mesos/fetcher.hpp"

#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "common/http/client.hpp"
#include "common/subprocess.hpp"

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;
namespace fs = std::filesystem;

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool isTarArchive(const std::string& name) {
  for (const char* suffix : {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz"}) {
    if (endsWith(name, suffix)) return true;
  }
  return false;
}

Status copyLocal(const std::string& path, const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return makeError(ErrorCode::kNotFound, "'{}': no such file", path);
  fs::copy(path, target, fs::copy_options::overwrite_existing | fs::copy_options::recursive, ec);
  if (ec) return makeError(ErrorCode::kIo, "copy failed: {}", ec.message());
  return Status::okStatus();
}

Status download(const std::string& url, const fs::path& target) {
  http::ClientRequest request;
  request.url = url;
  request.outputFile = target.string();
  request.timeout = Duration(60000);  // Mesos' default --fetcher_stall_timeout
  auto response = http::performBlocking(request);
  if (!response.ok()) {
    return makeError(ErrorCode::kUnavailable, "Error downloading resource: {}",
                     response.error().message);
  }
  if (response->status != 200) {
    return makeError(ErrorCode::kUnavailable,
                     "Error downloading resource, received HTTP return code {}", response->status);
  }
  return Status::okStatus();
}

Status extractTar(const fs::path& archive, const std::string& sandbox) {
  SpawnOptions options;
  options.argv = {"tar", "-C", sandbox, "-xf", archive.string()};
  auto child = spawnProcess(options);
  if (!child.ok()) return child.error();
  int status = 0;
  while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return makeError(ErrorCode::kIo, "Failed to extract archive '{}': tar failed: {}",
                     archive.string(), describeWaitStatus(status));
  }
  return Status::okStatus();
}

// One URI into the sandbox; returns where it went.
Result<fs::path> fetchOne(const v1::CommandInfo::URI& uri, const std::string& sandbox) {
  // Mesos trims leading whitespace.
  std::string value =
      uri.value().substr(std::min(uri.value().find_first_not_of(" \t\r\n"), uri.value().size()));
  auto name = uri.has_output_file() ? Result<std::string>(uri.output_file()) : uriBasename(value);
  if (!name.ok()) return name.error();
  fs::path target = fs::path(sandbox) / *name;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "Unable to create subdirectory {} in sandbox: {}",
                     target.parent_path().string(), ec.message());
  }
  Status fetched = Status::okStatus();
  if (startsWith(value, "http://") || startsWith(value, "https://")) {
    fetched = download(value, target);
  } else if (startsWith(value, "file://")) {
    fetched = copyLocal(value.substr(7), target);
  } else if (value.find("://") == std::string::npos) {
    fetched = copyLocal(value, target);
  } else {
    fetched = makeError(ErrorCode::kInvalidArgument,
                        "fake-mesos fetches only file://, http:// and https:// URIs and paths");
  }
  if (!fetched.ok()) {
    fs::remove(target, ec);  // no partial download or error page left behind
    return fetched.error();
  }
  if (uri.executable()) {
    fs::permissions(target,
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec,
                    ec);
    if (ec) {
      return makeError(ErrorCode::kIo, "Failed to chmod executable '{}': {}", target.string(),
                       ec.message());
    }
  } else if (uri.extract() && isTarArchive(target.filename().string())) {
    Status extracted = extractTar(target, sandbox);
    if (!extracted.ok()) return extracted.error();
  }
  return target;
}

}  // namespace

Result<std::string> uriBasename(const std::string& uri) {
  if (uri.find_first_of(std::string("\\'\0", 3)) != std::string::npos) {
    return makeError(ErrorCode::kInvalidArgument, "Illegal characters in URI");
  }
  auto scheme = uri.find("://");
  if (scheme != std::string::npos && scheme > 1) {
    std::string path = uri.substr(scheme + 3);
    auto slash = path.find('/');
    if (slash == std::string::npos || path.size() <= slash + 1) {
      return makeError(ErrorCode::kInvalidArgument, "Malformed URI (missing path): {}", uri);
    }
    return path.substr(path.rfind('/') + 1);
  }
  return fs::path(uri).filename().string();
}

Status fetchUris(const v1::CommandInfo& command, const std::string& sandbox) {
  std::ofstream log(fs::path(sandbox) / "stderr", std::ios::app);
  for (const auto& uri : command.uris()) {
    auto fetched = fetchOne(uri, sandbox);
    if (!fetched.ok()) {
      std::string message = "Failed to fetch '" + uri.value() + "': " + fetched.error().message;
      log << message << "\n";
      return Error{fetched.error().code, message};
    }
    log << "Fetched '" << uri.value() << "' to '" << fetched->string() << "'\n";
  }
  return Status::okStatus();
}

}  // namespace tailor::fake_mesos
