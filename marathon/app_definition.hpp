#pragma once

// Marathon app definitions as JSON objects (google.protobuf.Struct, so every
// field of a user's definition survives), the Dispatcher's packaged
// definition, and the pure function that applies `tailor marathon deploy`'s
// options to a definition.

#include <google/protobuf/struct.pb.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tailor::marathon {

// The Dispatcher's app definition shipped with Tailor
// (packaging/marathon/tailor-dispatcher.json, compiled into the binary).
std::string_view packagedAppDefinition();

// The name packaging/marathon/tailor-dispatcher.json is shown under in errors.
inline constexpr const char* kPackagedAppName = "packaging/marathon/tailor-dispatcher.json";

// Parses `text` as one JSON object. Errors start with `source` (a file name)
// and say what is wrong, with the line and column of a syntax error.
Result<google::protobuf::Struct> parseAppDefinition(const std::string& text,
                                                    const std::string& source);

// The definition as indented JSON.
std::string printAppDefinition(const google::protobuf::Struct& app);

// The user's options, as given on the command line (empty: not given).
struct DeployOptions {
  std::string appId;             // --app-id: the app's id (made absolute)
  std::string tarballUrl;        // --tarball-url: the fetch URI of the release tarball
  std::string mesosMaster;       // --mesos-master: env TAILOR_MESOS_MASTER
  std::string name;              // --name: framework and service name (labels and env)
  std::string cpus;              // --cpus: a number > 0
  std::string mem;               // --mem: MiB, or with a unit (512MiB, 2GiB)
  std::vector<std::string> env;  // --env KEY=VALUE, in order
};

// Applies `options` to `app` and checks the result can be deployed: it has
// an id of Marathon's form and fetches no placeholder URI under
// example.invalid. Errors name the flag or the definition's field.
Result<google::protobuf::Struct> applyDeployOptions(google::protobuf::Struct app,
                                                    const DeployOptions& options);

// The app's "id" ("" when missing or not a string).
std::string appIdOf(const google::protobuf::Struct& app);

// True if `id` is a Marathon app id (PathId: segments of lowercase letters,
// digits, '-' and '.', separated by '/').
bool isValidAppId(const std::string& id);

}  // namespace tailor::marathon
