#pragma once

// A client of Marathon's v2 REST API (reference §2): create or replace an
// app, read it with its tasks and their health, delete it, list deployments,
// and GET /v2/info. Calls are blocking (the `tailor marathon` commands make
// one call at a time) and run on the project's HTTP client.
//
// Every failure is a value whose message is meant for the user:
//  - Marathon cannot be reached: kUnavailable naming the URL;
//  - 401 / 403: kFailedPrecondition saying the credentials were refused or
//    lack the permission, with Marathon's message;
//  - 409 (the app is locked by a running deployment): kFailedPrecondition
//    naming the deployments and how to force the change;
//  - 422 / 400 (the definition is invalid): kInvalidArgument with every
//    detail Marathon gave, one `path: error` per line;
//  - 404: kNotFound ("app '/x' does not exist");
//  - 5xx: kUnavailable; an answer that does not parse: kInternal.

#include <google/protobuf/struct.pb.h>

#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "marathon/v2/marathon.pb.h"

namespace tailor::marathon {

// How requests authenticate: HTTP Basic (user and password, Marathon's
// --http_credentials), a DC/OS token (`Authorization: token=<token>`), or
// nothing.
struct Credentials {
  std::string user;
  std::string password;
  std::string token;
};

// Reads the password or token from files (one line; a trailing newline is
// not part of it). Errors name the file or the flag combination that is
// wrong: a user needs a password file, a token excludes a user, files must
// be readable and not empty.
Result<Credentials> loadCredentials(const std::string& user, const std::string& passwordFile,
                                    const std::string& tokenFile);

struct ClientConfig {
  // http(s)://HOST:PORT[/PREFIX] (a bare HOST:PORT gets http://), e.g.
  // https://cluster/service/marathon behind DC/OS' Admin Router.
  std::string url;
  Credentials credentials;
  Duration timeout{30000};
  // How the user forces a change and gives credentials, for the 409 and
  // 401/403 messages (a command names its flags here).
  std::string forceHint = "force=true";
  std::string credentialsHint;
};

// What PUT /v2/apps/{id} did.
struct PutResult {
  bool created = false;  // 201: the app did not exist
  ::marathon::v2::DeploymentResult deployment;
};

class MarathonClient {
 public:
  virtual ~MarathonClient() = default;

  // GET /v2/info.
  virtual Result<::marathon::v2::Info> info() = 0;

  // GET /v2/apps/{id}: the app with its counters, deployments and tasks.
  // kNotFound when there is no such app.
  virtual Result<::marathon::v2::App> getApp(const std::string& appId) = 0;

  // PUT /v2/apps/{id}?partialUpdate=false[&force=true]: creates the app or
  // replaces its whole definition with `app` (a JSON object with an "id").
  virtual Result<PutResult> putApp(const google::protobuf::Struct& app, bool force) = 0;

  // DELETE /v2/apps/{id}[?force=true]: kills the app's tasks and removes it.
  virtual Result<::marathon::v2::DeploymentResult> deleteApp(const std::string& appId,
                                                             bool force) = 0;

  // GET /v2/apps/{id}/tasks, with each task's health check results.
  virtual Result<std::vector<::marathon::v2::Task>> appTasks(const std::string& appId) = 0;

  // GET /v2/deployments: the deployments still running.
  virtual Result<std::vector<::marathon::v2::Deployment>> deployments() = 0;

  // The base URL requests go to, for messages.
  virtual const std::string& url() const = 0;
};

// The real client, over libcurl (common/http/client.hpp). Not thread-safe.
class HttpMarathonClient : public MarathonClient {
 public:
  explicit HttpMarathonClient(ClientConfig config);

  Result<::marathon::v2::Info> info() override;
  Result<::marathon::v2::App> getApp(const std::string& appId) override;
  Result<PutResult> putApp(const google::protobuf::Struct& app, bool force) override;
  Result<::marathon::v2::DeploymentResult> deleteApp(const std::string& appId, bool force) override;
  Result<std::vector<::marathon::v2::Task>> appTasks(const std::string& appId) override;
  Result<std::vector<::marathon::v2::Deployment>> deployments() override;
  const std::string& url() const override { return config_.url; }

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };
  // Sends one request; any status outside 2xx becomes the error its
  // status means (see the top of this file). `appId` names the app in the
  // 404 and 409 messages ("" for calls about no app).
  Result<Answer> call(const std::string& method, const std::string& path, const std::string& body,
                      const std::string& appId);
  Error statusError(const std::string& method, const std::string& path, int status,
                    const std::string& body, const std::string& appId) const;

  ClientConfig config_;
};

// The path of an app id in URLs: "/tailor" and "tailor" give "tailor",
// "/dev/tailor" gives "dev/tailor" (segments percent-encoded).
std::string appPath(const std::string& appId);

// The message of Marathon's error body ({"message", "details": [{"path",
// "errors"}]}): the message, then one "path: error" line per detail. Bodies
// that are not such JSON are shown as they are (cut at 2 KiB).
std::string describeErrorBody(const std::string& body);

}  // namespace tailor::marathon
