#include "marathon/client.hpp"

#include <google/protobuf/util/json_util.h>

#include "common/base64.hpp"
#include "common/file_chunk.hpp"
#include "common/http/client.hpp"

namespace tailor::marathon {

namespace gpb = google::protobuf;
namespace pbutil = google::protobuf::util;

namespace {

constexpr size_t kMaxBodyShown = 2048;

// The first line of a secret file, without its line end.
Result<std::string> readSecretFile(const std::string& path, const char* flag) {
  auto text = readWholeFile(path);
  if (!text) {
    return makeError(ErrorCode::kInvalidArgument, "{}: cannot read '{}'", flag, path);
  }
  std::string secret = text->substr(0, text->find_first_of("\r\n"));
  if (secret.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: '{}' is empty (expected the secret on its first line)", flag, path);
  }
  return secret;
}

template <typename T>
Result<T> parseAnswer(const std::string& body, const std::string& what) {
  T message;
  pbutil::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = pbutil::JsonStringToMessage(body, &message, options);
  if (!parsed.ok()) {
    return makeError(ErrorCode::kInternal, "{}: Marathon's answer is not understood ({}): {}", what,
                     std::string(parsed.message()), body.substr(0, kMaxBodyShown));
  }
  return message;
}

const gpb::Value* field(const gpb::Struct& object, const std::string& name) {
  auto found = object.fields().find(name);
  return found == object.fields().end() ? nullptr : &found->second;
}

std::string stringField(const gpb::Struct& object, const std::string& name) {
  const gpb::Value* value = field(object, name);
  return value != nullptr && value->has_string_value() ? value->string_value() : "";
}

// The ids of a 409's "deployments": [{"id": ...}].
std::vector<std::string> lockingDeployments(const std::string& body) {
  std::vector<std::string> ids;
  gpb::Struct object;
  if (!pbutil::JsonStringToMessage(body, &object).ok()) return ids;
  const gpb::Value* list = field(object, "deployments");
  if (list == nullptr || !list->has_list_value()) return ids;
  for (const auto& element : list->list_value().values()) {
    if (element.has_struct_value()) {
      std::string id = stringField(element.struct_value(), "id");
      if (!id.empty()) ids.push_back(id);
    }
  }
  return ids;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

Result<Credentials> loadCredentials(const std::string& user, const std::string& passwordFile,
                                    const std::string& tokenFile) {
  Credentials credentials;
  if (!tokenFile.empty() && (!user.empty() || !passwordFile.empty())) {
    return makeError(ErrorCode::kInvalidArgument,
                     "give either a DC/OS token (--marathon-token-file) or HTTP Basic credentials "
                     "(--marathon-user with --marathon-password-file), not both");
  }
  if (!tokenFile.empty()) {
    auto token = readSecretFile(tokenFile, "--marathon-token-file");
    if (!token.ok()) return token.error();
    credentials.token = std::move(*token);
    return credentials;
  }
  if (user.empty() != passwordFile.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--marathon-user and --marathon-password-file go together (HTTP Basic "
                     "needs both)");
  }
  if (user.find(':') != std::string::npos) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--marathon-user: '{}' contains ':' (HTTP Basic user names cannot)", user);
  }
  if (!user.empty()) {
    auto password = readSecretFile(passwordFile, "--marathon-password-file");
    if (!password.ok()) return password.error();
    credentials.user = user;
    credentials.password = std::move(*password);
  }
  return credentials;
}

std::string appPath(const std::string& appId) {
  std::string out;
  size_t start = 0;
  while (start <= appId.size()) {
    size_t end = appId.find('/', start);
    if (end == std::string::npos) end = appId.size();
    if (end > start) {
      if (!out.empty()) out += '/';
      out += http::percentEncode(std::string_view(appId).substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

std::string describeErrorBody(const std::string& body) {
  gpb::Struct object;
  if (body.empty() || !pbutil::JsonStringToMessage(body, &object).ok()) {
    return body.substr(0, kMaxBodyShown);
  }
  std::string text = stringField(object, "message");
  const gpb::Value* details = field(object, "details");
  if (details != nullptr && details->has_string_value()) {
    text += "\n  " + details->string_value();
  } else if (details != nullptr && details->has_list_value()) {
    for (const auto& detail : details->list_value().values()) {
      if (!detail.has_struct_value()) continue;
      std::string path = stringField(detail.struct_value(), "path");
      if (path.empty()) path = "/";
      const gpb::Value* errors = field(detail.struct_value(), "errors");
      if (errors == nullptr || !errors->has_list_value()) continue;
      for (const auto& error : errors->list_value().values()) {
        text += "\n  " + path + ": " + error.string_value();
      }
    }
  }
  return text.empty() ? body.substr(0, kMaxBodyShown) : text;
}

HttpMarathonClient::HttpMarathonClient(ClientConfig config) : config_(std::move(config)) {
  config_.url = http::normalizeBaseUrl(std::move(config_.url));
}

Result<HttpMarathonClient::Answer> HttpMarathonClient::call(const std::string& method,
                                                            const std::string& path,
                                                            const std::string& body,
                                                            const std::string& appId) {
  http::ClientRequest request;
  request.method = method;
  request.url = config_.url + path;
  request.body = body;
  request.timeout = config_.timeout;
  request.headers = {{"Accept", "application/json"}};
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  const Credentials& credentials = config_.credentials;
  if (!credentials.token.empty()) {
    request.headers.emplace_back("Authorization", "token=" + credentials.token);
  } else if (!credentials.user.empty()) {
    request.headers.emplace_back(
        "Authorization", "Basic " + base64Encode(credentials.user + ":" + credentials.password));
  }
  auto response = http::performBlocking(request);
  if (!response.ok()) {
    return makeError(ErrorCode::kUnavailable, "cannot reach Marathon at {}: {}", config_.url,
                     response.error().message);
  }
  if (response->status / 100 != 2) {
    return statusError(method, path, response->status, response->body, appId);
  }
  return Answer{response->status, std::move(response->body)};
}

Error HttpMarathonClient::statusError(const std::string& method, const std::string& path,
                                      int status, const std::string& body,
                                      const std::string& appId) const {
  std::string what = fmt::format("{} {}{}", method, config_.url, path);
  std::string said = describeErrorBody(body);
  std::string saidPart = said.empty() ? "" : ": " + said;
  std::string credentialsHint =
      config_.credentialsHint.empty() ? "" : " (" + config_.credentialsHint + ")";
  bool gaveCredentials = !config_.credentials.token.empty() || !config_.credentials.user.empty();
  switch (status) {
    case 401:
      return makeError(
          ErrorCode::kFailedPrecondition, "{}: 401 Unauthorized: {}{}{}", what,
          gaveCredentials ? "Marathon refused the credentials given" : "Marathon wants credentials",
          credentialsHint, saidPart);
    case 403:
      return makeError(ErrorCode::kFailedPrecondition,
                       "{}: 403 Forbidden: the credentials given may not do this{}", what,
                       saidPart);
    case 404:
      if (!appId.empty()) {
        return makeError(ErrorCode::kNotFound, "{}: app '{}' does not exist", what, appId);
      }
      return makeError(ErrorCode::kNotFound, "{}: 404 Not Found{}", what, saidPart);
    case 409: {
      auto ids = lockingDeployments(body);
      std::string locked =
          ids.empty() ? "by a deployment"
                      : fmt::format("by deployment{} {}", ids.size() > 1 ? "s" : "", joined(ids));
      return makeError(ErrorCode::kFailedPrecondition,
                       "{}: 409 Conflict: app '{}' is locked {} that is still running; wait until "
                       "it is done (GET /v2/deployments lists it) or override it with {}{}",
                       what, appId, locked, config_.forceHint, saidPart);
    }
    case 400:
    case 422:
      return makeError(ErrorCode::kInvalidArgument,
                       "{}: {} {}: Marathon rejected the app "
                       "definition{}",
                       what, status, status == 422 ? "Unprocessable Entity" : "Bad Request",
                       saidPart);
    default:
      return makeError(status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                       "{}: HTTP {}{}", what, status, saidPart);
  }
}

Result<::marathon::v2::Info> HttpMarathonClient::info() {
  auto answer = call("GET", "/v2/info", "", "");
  if (!answer.ok()) return answer.error();
  return parseAnswer<::marathon::v2::Info>(answer->body, "GET /v2/info");
}

Result<::marathon::v2::App> HttpMarathonClient::getApp(const std::string& appId) {
  std::string path = "/v2/apps/" + appPath(appId);
  auto answer = call("GET", path, "", appId);
  if (!answer.ok()) return answer.error();
  auto parsed = parseAnswer<::marathon::v2::AppResponse>(answer->body, "GET " + path);
  if (!parsed.ok()) return parsed.error();
  return std::move(*parsed->mutable_app());
}

Result<PutResult> HttpMarathonClient::putApp(const gpb::Struct& app, bool force) {
  std::string appId = stringField(app, "id");
  if (appId.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "the app definition has no \"id\" (expected a string such as \"/tailor\")");
  }
  std::string body;
  (void)pbutil::MessageToJsonString(app, &body);
  std::string path = "/v2/apps/" + appPath(appId) + "?partialUpdate=false";
  if (force) path += "&force=true";
  auto answer = call("PUT", path, body, appId);
  if (!answer.ok()) return answer.error();
  auto deployment = parseAnswer<::marathon::v2::DeploymentResult>(answer->body, "PUT " + path);
  if (!deployment.ok()) return deployment.error();
  return PutResult{answer->status == 201, std::move(*deployment)};
}

Result<::marathon::v2::DeploymentResult> HttpMarathonClient::deleteApp(const std::string& appId,
                                                                       bool force) {
  std::string path = "/v2/apps/" + appPath(appId) + (force ? "?force=true" : "");
  auto answer = call("DELETE", path, "", appId);
  if (!answer.ok()) return answer.error();
  return parseAnswer<::marathon::v2::DeploymentResult>(answer->body, "DELETE " + path);
}

Result<std::vector<::marathon::v2::Task>> HttpMarathonClient::appTasks(const std::string& appId) {
  std::string path = "/v2/apps/" + appPath(appId) + "/tasks";
  auto answer = call("GET", path, "", appId);
  if (!answer.ok()) return answer.error();
  auto list = parseAnswer<::marathon::v2::TaskList>(answer->body, "GET " + path);
  if (!list.ok()) return list.error();
  return std::vector<::marathon::v2::Task>(list->tasks().begin(), list->tasks().end());
}

Result<std::vector<::marathon::v2::Deployment>> HttpMarathonClient::deployments() {
  auto answer = call("GET", "/v2/deployments", "", "");
  if (!answer.ok()) return answer.error();
  // The answer is a JSON array; protobuf's JSON parser wants an object.
  auto list = parseAnswer<::marathon::v2::DeploymentList>("{\"deployments\":" + answer->body + "}",
                                                          "GET /v2/deployments");
  if (!list.ok()) return list.error();
  return std::vector<::marathon::v2::Deployment>(list->deployments().begin(),
                                                 list->deployments().end());
}

}  // namespace tailor::marathon
