#include "mesos/master_operator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "common/http/client.hpp"

namespace tailor::mesos {

namespace gpb = google::protobuf;

namespace {

std::string stringField(const gpb::Struct& object, const char* name) {
  auto found = object.fields().find(name);
  return found == object.fields().end() ? "" : found->second.string_value();
}

bool boolField(const gpb::Struct& object, const char* name) {
  auto found = object.fields().find(name);
  return found != object.fields().end() && found->second.bool_value();
}

// The leader's HOST:PORT from a 307's Location ("//host:port/..." or
// "http://host:port/..."); "" when it has none.
std::string redirectTarget(const std::map<std::string, std::string>& headers) {
  auto location = headers.find("location");
  if (location == headers.end()) return "";
  std::string target = location->second;
  size_t slashes = target.find("//");
  if (slashes == std::string::npos) return "";
  target = target.substr(slashes + 2);
  return target.substr(0, target.find('/'));
}

}  // namespace

namespace {
constexpr const char* kMasterForms =
    "HOST:PORT[,HOST:PORT...] or zk://[user:password@]HOST:PORT[,...]/PATH";
}  // namespace

std::string MesosMasters::flagValue() const {
  if (!zooKeeper) return fmt::format("{}", fmt::join(hosts, ","));
  std::string credentials = zooKeeper->digest.empty() ? "" : zooKeeper->digest + "@";
  return "zk://" + credentials + zooKeeper->hosts + zooKeeper->path;
}

std::string MesosMasters::describe() const {
  return zooKeeper ? zooKeeper->describe() : fmt::format("{}", fmt::join(hosts, ","));
}

Result<MesosMasters> parseMasterList(const std::string& text) {
  MesosMasters parsed;
  if (zookeeper::isZooKeeperUrl(text)) {
    auto url = zookeeper::parseZooKeeperUrl(text, "--mesos-master");
    if (!url.ok()) return url.error();
    if (url->path.empty()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--mesos-master: '{}' names no path: the masters contend under a znode "
                       "(expected e.g. zk://zk1:2181,zk2:2181/mesos)",
                       url->describe());
    }
    parsed.zooKeeper = std::move(*url);
    return parsed;
  }
  std::vector<std::string>& masters = parsed.hosts;
  std::string rest = text;
  for (size_t comma; !rest.empty();
       rest = comma == std::string::npos ? "" : rest.substr(comma + 1)) {
    comma = rest.find(',');
    std::string master = rest.substr(0, comma);
    if (master.rfind("http://", 0) == 0) master = master.substr(7);
    if (master.empty()) continue;
    if (master.find(':') == std::string::npos) master += ":5050";
    std::string port = master.substr(master.rfind(':') + 1);
    if (master.rfind(':') == 0 || port.empty() ||
        port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--mesos-master: '{}' is not HOST:PORT (expected e.g. "
                       "mesos.example.com:5050 or 127.0.0.1:5050,10.0.0.2:5050, or a zk:// URL)",
                       master);
    }
    masters.push_back(master);
  }
  if (masters.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--mesos-master: '{}' names no master (expected {})", text, kMasterForms);
  }
  return parsed;
}

Result<std::vector<FrameworkSummary>> parseFrameworks(const std::string& body) {
  gpb::Struct answer;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(body, &answer, options);
  auto list = answer.fields().find("frameworks");
  if (!parsed.ok() || list == answer.fields().end() || !list->second.has_list_value()) {
    return makeError(ErrorCode::kInternal,
                     "GET /master/frameworks: the answer is not understood (expected "
                     "{{\"frameworks\": [...]}}): {}",
                     body.substr(0, 2048));
  }
  std::vector<FrameworkSummary> frameworks;
  for (const auto& element : list->second.list_value().values()) {
    if (!element.has_struct_value()) continue;
    const gpb::Struct& object = element.struct_value();
    FrameworkSummary framework;
    framework.id = stringField(object, "id");
    framework.name = stringField(object, "name");
    framework.hostname = stringField(object, "hostname");
    framework.webuiUrl = stringField(object, "webui_url");
    framework.active = boolField(object, "active");
    framework.connected = boolField(object, "connected");
    frameworks.push_back(std::move(framework));
  }
  return frameworks;
}

HttpMasterOperator::HttpMasterOperator(std::vector<std::string> masters, Duration timeout)
    : masters_(std::move(masters)), timeout_(timeout) {}

std::string HttpMasterOperator::master() const {
  std::string joined;
  for (const auto& master : masters_) joined += (joined.empty() ? "" : ",") + master;
  return joined;
}

Result<HttpMasterOperator::Answer> HttpMasterOperator::call(const std::string& method,
                                                            const std::string& path,
                                                            const std::string& body) {
  std::string lastError = "no master given";
  for (const auto& given : masters_) {
    std::string master = given;
    for (int hop = 0; hop < 2; ++hop) {
      http::ClientRequest request;
      request.method = method;
      request.url = "http://" + master + path;
      request.body = body;
      request.timeout = timeout_;
      request.headers = {{"Accept", "application/json"}};
      if (!body.empty()) {
        request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      }
      auto response = http::performBlocking(request);
      if (!response.ok()) {
        lastError = response.error().message;
        break;
      }
      std::string leader = response->status == 307 ? redirectTarget(response->headers) : "";
      if (!leader.empty() && hop == 0) {
        master = leader;
        continue;
      }
      if (response->status == 503 || response->status == 307) {
        lastError =
            fmt::format("{} {}: {} (no leading master)", method, request.url, response->status);
        break;
      }
      return Answer{response->status, std::move(response->body)};
    }
  }
  return makeError(ErrorCode::kUnavailable, "cannot reach the Mesos master at {}: {}", master(),
                   lastError);
}

Result<std::vector<FrameworkSummary>> HttpMasterOperator::frameworks() {
  auto answer = call("GET", "/master/frameworks", "");
  if (!answer.ok()) return answer.error();
  if (answer->status != 200) {
    return makeError(answer->status == 401 || answer->status == 403 ? ErrorCode::kFailedPrecondition
                                                                    : ErrorCode::kUnavailable,
                     "GET /master/frameworks on {}: HTTP {}: {}", master(), answer->status,
                     answer->body.substr(0, 2048));
  }
  return parseFrameworks(answer->body);
}

Status HttpMasterOperator::teardown(const std::string& frameworkId) {
  auto answer = call("POST", "/master/teardown", "frameworkId=" + http::percentEncode(frameworkId));
  if (!answer.ok()) return answer.error();
  if (answer->status == 200) return Status();
  // The master answers 400 "No framework found with specified ID" for an
  // unknown (or already removed) framework.
  ErrorCode code = answer->status == 400                            ? ErrorCode::kNotFound
                   : answer->status == 401 || answer->status == 403 ? ErrorCode::kFailedPrecondition
                                                                    : ErrorCode::kUnavailable;
  return makeError(code, "POST /master/teardown frameworkId={} on {}: HTTP {}: {}", frameworkId,
                   master(), answer->status, answer->body.substr(0, 2048));
}

}  // namespace tailor::mesos
