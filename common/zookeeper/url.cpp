#include "common/zookeeper/url.hpp"

#include <cctype>
#include <charconv>

namespace tailor::zookeeper {

namespace {

constexpr const char* kForm = "zk://host:port[,host:port...]/path";

bool validHostPort(const std::string& hostPort, std::string* problem) {
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    *problem = "'" + hostPort + "' is not host:port";
    return false;
  }
  std::string host = hostPort.substr(0, colon);
  std::string port = hostPort.substr(colon + 1);
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == '[' || c == ']' || c == ':')) {
      *problem =
          "host '" + host + "' has a character '" + std::string(1, c) + "' that is not allowed";
      return false;
    }
  }
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    *problem = "port '" + port + "' of '" + hostPort + "' is not a number from 1 to 65535";
    return false;
  }
  return true;
}

}  // namespace

bool isZooKeeperUrl(const std::string& text) { return text.rfind("zk://", 0) == 0; }

std::string ZooKeeperUrl::describe() const { return "zk://" + hosts + (path.empty() ? "/" : path); }

std::string ZooKeeperUrl::child(const std::string& name) const { return path + "/" + name; }

std::string ZooKeeperUrl::withCredentials(const std::string& folder) const {
  return "zk://" + (digest.empty() ? "" : digest + "@") + hosts + folder;
}

Result<ZooKeeperUrl> parseZooKeeperUrl(const std::string& text, const std::string& what) {
  auto invalid = [&](const std::string& problem) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: '{}' is not a ZooKeeper URL: {}; expected {}", what, text, problem,
                     kForm);
  };
  if (!isZooKeeperUrl(text)) return invalid("it does not start with zk://");
  std::string rest = text.substr(5);
  ZooKeeperUrl url;
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  auto at = authority.rfind('@');
  if (at != std::string::npos) {
    url.digest = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (url.digest.find(':') == std::string::npos) {
      return invalid("credentials before '@' must be user:password");
    }
  }
  if (authority.empty()) return invalid("no host:port");
  std::string problem;
  std::size_t start = 0;
  while (true) {
    auto comma = authority.find(',', start);
    std::string hostPort = authority.substr(start, comma - start);
    if (!validHostPort(hostPort, &problem)) return invalid(problem);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  url.hosts = authority;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") path.clear();
  if (path.find("//") != std::string::npos) return invalid("the path has an empty part");
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (std::iscntrl(static_cast<unsigned char>(c)))
      return invalid("the path has a control character");
  }
  if (path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
      (path.size() >= 2 && path.compare(path.size() - 2, 2, "/.") == 0) ||
      (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0)) {
    return invalid("the path has a '.' or '..' part");
  }
  url.path = path;
  return url;
}

}  // namespace tailor::zookeeper
