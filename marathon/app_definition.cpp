#include "marathon/app_definition.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <regex>

#include "common/resources.hpp"

namespace tailor::marathon {

namespace gpb = google::protobuf;
namespace pbutil = google::protobuf::util;

namespace {

// protobuf's JSON syntax errors end with the text around the error and a
// caret line ("...\n<about 40 characters>\n    ^"). Finding that text in
// the input gives the line and column.
std::string locateSyntaxError(const std::string& text, const std::string& message) {
  size_t first = message.find('\n');
  size_t last = message.rfind('\n');
  if (first == std::string::npos || first == last) return message;
  std::string segment = message.substr(first + 1, last - first - 1);
  std::string caret = message.substr(last + 1);
  size_t at = segment.empty() ? std::string::npos : text.find(segment);
  if (at == std::string::npos || caret.empty() || caret.back() != '^') return message;
  size_t offset = at + caret.size() - 1;
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
  size_t lineStart = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  size_t column = lineStart == std::string::npos || offset == 0 ? offset + 1 : offset - lineStart;
  return fmt::format("{}:{}: {}", line, column, message.substr(0, first));
}

gpb::Value stringValue(const std::string& text) {
  gpb::Value value;
  value.set_string_value(text);
  return value;
}

// The object `app[key]`, created when missing. An error when it is there
// and is not an object.
Result<gpb::Struct*> objectField(gpb::Struct& app, const std::string& key) {
  gpb::Value& value = (*app.mutable_fields())[key];
  if (value.kind_case() == gpb::Value::KIND_NOT_SET) value.mutable_struct_value();
  if (!value.has_struct_value()) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "the app definition's \"{}\" is not an object (expected {{\"NAME\": \"value\"}})", key);
  }
  return value.mutable_struct_value();
}

Status setStringIn(gpb::Struct& app, const std::string& object, const std::string& key,
                   const std::string& text) {
  auto target = objectField(app, object);
  if (!target.ok()) return target.error();
  (*(*target)->mutable_fields())[key] = stringValue(text);
  return Status();
}

Result<double> parsePositiveNumber(const std::string& text, const char* flag) {
  double number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size() || !(number > 0)) {
    return makeError(ErrorCode::kInvalidArgument, "{}: '{}' is not a number > 0", flag, text);
  }
  return number;
}

gpb::Value numberValue(double number) {
  gpb::Value value;
  value.set_number_value(number);
  return value;
}

bool isEnvName(const std::string& name) {
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(name, kName);
}

// The keys other flags set in `env`, and the flag that sets each.
std::map<std::string, std::string> envSetByFlags(const DeployOptions& options) {
  std::map<std::string, std::string> keys;
  if (!options.mesosMaster.empty()) keys["TAILOR_MESOS_MASTER"] = "--mesos-master";
  if (!options.tarballUrl.empty()) keys["TAILOR_RELEASE_URL"] = "--tarball-url";
  if (!options.name.empty()) keys["DCOS_SERVICE_NAME"] = "--name";
  return keys;
}

Status applyEnv(gpb::Struct& app, const DeployOptions& options) {
  auto byFlags = envSetByFlags(options);
  for (const auto& entry : options.env) {
    size_t equals = entry.find('=');
    std::string key = entry.substr(0, equals);
    if (equals == std::string::npos || !isEnvName(key)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--env: '{}' is not KEY=VALUE (expected a name of letters, digits and _ "
                       "not starting with a digit, then '=', e.g. TAILOR_MAX_RUNNING_JOBS=8)",
                       entry);
    }
    auto flag = byFlags.find(key);
    if (flag != byFlags.end()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--env {}: {} sets {} already; give one of them", key, flag->second, key);
    }
    Status set = setStringIn(app, "env", key, entry.substr(equals + 1));
    if (!set.ok()) return set;
  }
  return Status();
}

bool isValidName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?");
  return std::regex_match(name, kName);
}

Status applyName(gpb::Struct& app, const std::string& name) {
  if (name.empty()) return Status();
  if (!isValidName(name)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--name: '{}' is not a service name (expected letters, digits, '.', '_', '-' "
                     "and '/', starting and ending with a letter or digit)",
                     name);
  }
  if (name.rfind("tailor-job-", 0) == 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--name: '{}' starts with 'tailor-job-', the prefix of the jobs' own "
                     "frameworks; the Dispatcher refuses it",
                     name);
  }
  for (const char* label : {"DCOS_PACKAGE_FRAMEWORK_NAME", "DCOS_SERVICE_NAME"}) {
    Status set = setStringIn(app, "labels", label, name);
    if (!set.ok()) return set;
  }
  return setStringIn(app, "env", "DCOS_SERVICE_NAME", name);
}

// The host of a URI such as https://host:port/path ("" without "//").
std::string uriHost(const std::string& uri) {
  size_t start = uri.find("://");
  if (start == std::string::npos) return "";
  start += 3;
  size_t end = uri.find_first_of("/?#", start);
  std::string authority = uri.substr(start, end == std::string::npos ? end : end - start);
  authority =
      authority.substr(authority.rfind('@') == std::string::npos ? 0 : authority.rfind('@') + 1);
  return authority.substr(0, authority.find(':'));
}

bool isPlaceholder(const std::string& uri) {
  std::string host = uriHost(uri);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string suffix = ".example.invalid";
  return host == "example.invalid" ||
         (host.size() > suffix.size() &&
          host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0);
}

bool isReleaseTarball(const std::string& uri) {
  std::string path = uri.substr(0, uri.find_first_of("?#"));
  std::string file = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  auto endsWith = [&](const std::string& suffix) {
    return file.size() > suffix.size() &&
           file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return file.rfind("tailor-", 0) == 0 && (endsWith(".tar.gz") || endsWith(".tgz"));
}

// The URI of a fetch entry ("" when it has none).
std::string fetchUri(const gpb::Value& entry) {
  if (!entry.has_struct_value()) return "";
  auto uri = entry.struct_value().fields().find("uri");
  return uri == entry.struct_value().fields().end() ? "" : uri->second.string_value();
}

Status applyTarballUrl(gpb::Struct& app, const std::string& url) {
  if (url.empty()) return Status();
  static const std::regex kUri("([A-Za-z][A-Za-z0-9+.-]*://|/)[^\\s]+");
  if (!std::regex_match(url, kUri)) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "--tarball-url: '{}' is not a URI (expected e.g. "
        "https://HOST/tailor-VERSION-linux-ARCH.tar.gz, or an absolute path on the agents)",
        url);
  }
  gpb::Value& fetch = (*app.mutable_fields())["fetch"];
  if (fetch.kind_case() == gpb::Value::KIND_NOT_SET) fetch.mutable_list_value();
  if (!fetch.has_list_value()) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "the app definition's \"fetch\" is not an array (expected [{{\"uri\": ...}}])");
  }
  auto& entries = *fetch.mutable_list_value()->mutable_values();
  int target = -1;
  for (int i = 0; i < entries.size() && target < 0; ++i) {
    if (isReleaseTarball(fetchUri(entries[i]))) target = i;
  }
  if (target < 0 && entries.size() == 1 && entries[0].has_struct_value()) target = 0;
  if (target < 0 && !entries.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--tarball-url: the app definition fetches {} URIs and none is a release "
                     "tarball (a file named tailor-*.tar.gz); which one to replace is unclear",
                     entries.size());
  }
  if (target < 0) {
    gpb::Value entry;
    (*entry.mutable_struct_value()->mutable_fields())["extract"].set_bool_value(true);
    *entries.Add() = entry;
    target = entries.size() - 1;
  }
  (*entries[target].mutable_struct_value()->mutable_fields())["uri"] = stringValue(url);
  // The Dispatcher's JobManager and TaskManager tasks run from the same
  // tarball, which agents fetch themselves.
  return setStringIn(app, "env", "TAILOR_RELEASE_URL", url);
}

// Refuses to deploy a definition that fetches the packaged placeholder (or
// sends its tasks to fetch it).
Status checkNoPlaceholder(const gpb::Struct& app) {
  for (const char* key : {"fetch", "uris"}) {
    auto list = app.fields().find(key);
    if (list == app.fields().end() || !list->second.has_list_value()) continue;
    const auto& values = list->second.list_value().values();
    for (int i = 0; i < values.size(); ++i) {
      std::string uri =
          values[i].has_string_value() ? values[i].string_value() : fetchUri(values[i]);
      if (isPlaceholder(uri)) {
        return makeError(ErrorCode::kInvalidArgument,
                         "{}[{}]: '{}' is a placeholder that nothing serves: give --tarball-url "
                         "with the URL of the release tarball (tailor-VERSION-linux-ARCH.tar.gz) "
                         "where your Mesos agents can download it",
                         key, i, uri);
      }
    }
  }
  auto env = app.fields().find("env");
  if (env != app.fields().end() && env->second.has_struct_value()) {
    auto release = env->second.struct_value().fields().find("TAILOR_RELEASE_URL");
    if (release != env->second.struct_value().fields().end() &&
        isPlaceholder(release->second.string_value())) {
      return makeError(ErrorCode::kInvalidArgument,
                       "env.TAILOR_RELEASE_URL: '{}' is a placeholder that nothing serves: give "
                       "--tarball-url with the URL of the release tarball "
                       "(tailor-VERSION-linux-ARCH.tar.gz) where your Mesos agents can download it",
                       release->second.string_value());
    }
  }
  return Status();
}

Status applyResources(gpb::Struct& app, const DeployOptions& options) {
  auto& fields = *app.mutable_fields();
  if (!options.cpus.empty()) {
    auto cpus = parsePositiveNumber(options.cpus, "--cpus");
    if (!cpus.ok()) return cpus.error();
    fields["cpus"] = numberValue(*cpus);
  }
  if (!options.mem.empty()) {
    auto mem = parseMebibytes(options.mem);
    if (!mem.ok()) return mem.error().withContext("--mem");
    if (*mem <= 0) {
      return makeError(ErrorCode::kInvalidArgument, "--mem: '{}' is not more than 0 MiB",
                       options.mem);
    }
    fields["mem"] = numberValue(static_cast<double>(*mem));
  }
  return Status();
}

Status applyMesosMaster(gpb::Struct& app, const std::string& master) {
  if (master.empty()) return Status();
  if (master.find_first_of(" \t\r\n") != std::string::npos) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "--mesos-master: '{}' contains white space (expected HOST:PORT[,HOST:PORT...])", master);
  }
  return setStringIn(app, "env", "TAILOR_MESOS_MASTER", master);
}

Status applyAppId(gpb::Struct& app, const std::string& given) {
  std::string id = given.empty() ? appIdOf(app) : given;
  const char* where = given.empty() ? "the app definition's \"id\"" : "--app-id";
  if (id.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "{} is missing (expected e.g. \"/tailor\")",
                     where);
  }
  if (id.front() != '/') id = "/" + id;
  if (!isValidAppId(id)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: '{}' is not a Marathon app id (expected segments of lowercase letters, "
                     "digits, '-' and '.' separated by '/', e.g. /tailor or /dev/tailor)",
                     where, id);
  }
  (*app.mutable_fields())["id"] = stringValue(id);
  return Status();
}

// Indented JSON with object keys sorted (protobuf prints maps in hash
// order); scalars are printed by protobuf's JSON printer.
void printValue(const gpb::Value& value, int depth, std::string& out) {
  std::string indent(static_cast<size_t>(depth + 1) * 2, ' ');
  std::string closing(static_cast<size_t>(depth) * 2, ' ');
  if (value.has_struct_value()) {
    std::map<std::string, const gpb::Value*> sorted;
    for (const auto& [key, field] : value.struct_value().fields()) sorted[key] = &field;
    if (sorted.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t n = 0;
    for (const auto& [key, field] : sorted) {
      gpb::Value name;
      name.set_string_value(key);
      out += indent;
      printValue(name, depth + 1, out);
      out += ": ";
      printValue(*field, depth + 1, out);
      out += ++n < sorted.size() ? ",\n" : "\n";
    }
    out += closing + "}";
  } else if (value.has_list_value()) {
    const auto& values = value.list_value().values();
    if (values.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (int i = 0; i < values.size(); ++i) {
      out += indent;
      printValue(values[i], depth + 1, out);
      out += i + 1 < values.size() ? ",\n" : "\n";
    }
    out += closing + "]";
  } else {
    std::string scalar;
    (void)pbutil::MessageToJsonString(value, &scalar);
    out += scalar;
  }
}

}  // namespace

Result<gpb::Struct> parseAppDefinition(const std::string& text, const std::string& source) {
  gpb::Struct app;
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos || text[start] != '{') {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: not an app definition (expected a JSON object {{\"id\": ..., ...}})",
                     source);
  }
  auto parsed = pbutil::JsonStringToMessage(text, &app);
  if (!parsed.ok()) {
    return makeError(ErrorCode::kInvalidArgument, "{}:{}", source,
                     locateSyntaxError(text, std::string(parsed.message())));
  }
  return app;
}

std::string printAppDefinition(const gpb::Struct& app) {
  gpb::Value root;
  *root.mutable_struct_value() = app;
  std::string out;
  printValue(root, 0, out);
  return out;
}

std::string appIdOf(const gpb::Struct& app) {
  auto id = app.fields().find("id");
  return id == app.fields().end() ? "" : id->second.string_value();
}

bool isValidAppId(const std::string& id) {
  // Marathon's PathId pattern (AppDefinition.json, stringTypes.raml).
  static const std::regex kPathId(
      R"(^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9]))?($|\/))+$)");
  return !id.empty() && id != "/" && std::regex_match(id, kPathId);
}

Result<gpb::Struct> applyDeployOptions(gpb::Struct app, const DeployOptions& options) {
  const std::function<Status()> steps[] = {
      [&] { return applyAppId(app, options.appId); },
      [&] { return applyTarballUrl(app, options.tarballUrl); },
      [&] { return applyResources(app, options); },
      [&] { return applyMesosMaster(app, options.mesosMaster); },
      [&] { return applyName(app, options.name); },
      [&] { return applyEnv(app, options); },
      [&] { return checkNoPlaceholder(app); },
  };
  for (const auto& step : steps) {
    Status done = step();
    if (!done.ok()) return done.error();
  }
  return app;
}

}  // namespace tailor::marathon
