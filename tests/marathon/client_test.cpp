// HttpMarathonClient against a loopback server answering with the bodies and
// status codes Marathon sends (reference §2; Marathon's RAML examples and
// MarathonExceptionMapper): every call, every error path, authentication.

#include "marathon/client.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/base64.hpp"
#include "tests/common/canned_http_server.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::marathon {
namespace {

using ::testing::HasSubstr;

namespace gpb = google::protobuf;

constexpr const char* kAppBody = R"({"app": {
  "id": "/tailor", "cmd": "exec tailor-*/bin/tailor-dispatcher", "cpus": 0.5, "mem": 512.0,
  "instances": 1, "env": {"TAILOR_MESOS_MASTER": "10.0.0.1:5050", "SECRET": {"secret": "s1"}},
  "labels": {"DCOS_PACKAGE_FRAMEWORK_NAME": "tailor", "MARATHON_SINGLE_INSTANCE_APP": "true"},
  "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0,
                    "gracePeriodSeconds": 300, "intervalSeconds": 30, "timeoutSeconds": 10,
                    "maxConsecutiveFailures": 3, "delaySeconds": 15}],
  "version": "2026-11-30T10:00:00.000Z", "versionInfo": {"lastScalingAt": "2026-11-30T10:00:00.000Z"},
  "tasksStaged": 0, "tasksRunning": 1, "tasksHealthy": 1, "tasksUnhealthy": 0,
  "deployments": [{"id": "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}],
  "tasks": [{"appId": "/tailor", "host": "agent-1.example.com",
             "id": "tailor.instance-564bd685-4c30-11e5-98c1-be5b2935a987._app.1",
             "ports": [31756], "servicePorts": [10000], "slaveId": "agent0",
             "stagedAt": "2026-11-30T10:00:01.463Z", "startedAt": "2026-11-30T10:00:04.678Z",
             "version": "2026-11-30T10:00:00.000Z", "state": "TASK_RUNNING", "role": "*",
             "ipAddresses": [{"ipAddress": "10.0.0.7", "protocol": "IPv4"}], "localVolumes": [],
             "healthCheckResults": [{"alive": true, "consecutiveFailures": 0,
                                     "firstSuccess": "2026-11-30T10:00:20.000Z",
                                     "lastFailure": null, "lastSuccess": "2026-11-30T10:00:50.000Z",
                                     "lastFailureCause": null,
                                     "instanceId": "tailor.marathon-564bd685"}]}],
  "lastTaskFailure": {"appId": "/tailor", "host": "agent-2.example.com",
                      "message": "Command exited with status 1", "state": "TASK_FAILED",
                      "taskId": "tailor.instance-1._app.1", "timestamp": "2026-11-30T09:59:00.000Z",
                      "version": "2026-11-30T09:58:00.000Z"}}})";

constexpr const char* kDeploymentResult =
    R"({"deploymentId": "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43", "version": "2026-11-30T10:00:00.000Z"})";

gpb::Struct app(const std::string& id) {
  gpb::Struct app;
  (*app.mutable_fields())["id"].set_string_value(id);
  (*app.mutable_fields())["cpus"].set_number_value(0.5);
  return app;
}

class MarathonClientTest : public ::testing::Test {
 protected:
  HttpMarathonClient client(Credentials credentials = {}) {
    ClientConfig config;
    config.url = server_.base() + "/";  // a trailing slash is dropped
    config.credentials = std::move(credentials);
    config.forceHint = "--force";
    config.credentialsHint = "give --marathon-user";
    return HttpMarathonClient(config);
  }

  test::CannedHttpServer server_;
};

TEST_F(MarathonClientTest, ReadsInfo) {
  server_.on("GET", "/v2/info", 200, R"({"name": "marathon", "version": "1.10.26",
    "buildref": "abc", "elected": true, "leader": "m1:8080",
    "frameworkId": "96d7da70-b731-4cfb-96a7-0ee877af615d-0000",
    "marathon_config": {"master": "zk://localhost:2181/mesos", "framework_name": "marathon",
                        "features": ["gpu_resources"], "mesos_leader_ui_url": "http://m:5050/",
                        "checkpoint": true},
    "zookeeper_config": {"zk": "zk://localhost:2181/marathon"},
    "http_config": {"http_port": 8080, "https_port": 8443}})");
  auto info = client().info();
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->version(), "1.10.26");
  EXPECT_EQ(info->framework_id(), "96d7da70-b731-4cfb-96a7-0ee877af615d-0000");
  EXPECT_EQ(info->marathon_config().master(), "zk://localhost:2181/mesos");
  EXPECT_EQ(server_.lastRequest().header("accept"), "application/json");
  EXPECT_EQ(server_.lastRequest().header("authorization"), "");
}

TEST_F(MarathonClientTest, ReadsAnAppWithTasksHealthAndLastFailure) {
  server_.on("GET", "/v2/apps/tailor", 200, kAppBody);
  auto got = client().getApp("/tailor");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->id(), "/tailor");
  EXPECT_EQ(got->labels().at("DCOS_PACKAGE_FRAMEWORK_NAME"), "tailor");
  EXPECT_EQ(got->env().at("TAILOR_MESOS_MASTER").string_value(), "10.0.0.1:5050");
  EXPECT_TRUE(got->env().at("SECRET").has_struct_value());
  EXPECT_EQ(got->tasks_healthy(), 1);
  EXPECT_EQ(got->health_checks(0).protocol(), "MESOS_HTTP");
  EXPECT_EQ(got->deployments(0).id(), "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43");
  ASSERT_EQ(got->tasks_size(), 1);
  EXPECT_EQ(got->tasks(0).host(), "agent-1.example.com");
  EXPECT_EQ(got->tasks(0).ports(0), 31756);
  EXPECT_EQ(got->tasks(0).state(), "TASK_RUNNING");
  EXPECT_TRUE(got->tasks(0).health_check_results(0).alive());
  EXPECT_EQ(got->last_task_failure().message(), "Command exited with status 1");
}

TEST_F(MarathonClientTest, AppIdsInPathsAreRelativeAndEncoded) {
  EXPECT_EQ(appPath("/tailor"), "tailor");
  EXPECT_EQ(appPath("dev/tailor"), "dev/tailor");
  EXPECT_EQ(appPath("/dev//tailor/"), "dev/tailor");
  EXPECT_EQ(appPath("/a b"), "a%20b");
  server_.on("GET", "/v2/apps/dev/tailor", 200, kAppBody);
  ASSERT_TRUE(client().getApp("/dev/tailor").ok());
  EXPECT_EQ(server_.lastRequest().path, "/v2/apps/dev/tailor");
}

TEST_F(MarathonClientTest, PutReplacesTheWholeAppAndTellsCreatedFromUpdated) {
  server_.on("PUT", "/v2/apps/tailor", 201, kDeploymentResult,
             {{"Marathon-Deployment-Id", "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}});
  auto created = client().putApp(app("/tailor"), false);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->deployment.deployment_id(), "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43");
  http::Request sent = server_.lastRequest();
  EXPECT_EQ(sent.query, "partialUpdate=false");
  EXPECT_EQ(sent.header("content-type"), "application/json");
  gpb::Struct body;
  ASSERT_TRUE(gpb::util::JsonStringToMessage(sent.body, &body).ok()) << sent.body;
  EXPECT_EQ(body.fields().at("id").string_value(), "/tailor");
  EXPECT_EQ(body.fields().at("cpus").number_value(), 0.5);

  server_.on("PUT", "/v2/apps/tailor", 200, kDeploymentResult);
  auto updated = client().putApp(app("/tailor"), true);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_FALSE(updated->created);
  EXPECT_EQ(server_.lastRequest().query, "partialUpdate=false&force=true");
}

TEST_F(MarathonClientTest, PutNeedsAnId) {
  auto put = client().putApp(gpb::Struct(), false);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(put.error().message, HasSubstr("no \"id\""));
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(MarathonClientTest, LockedByADeploymentNamesItAndHowToForce) {
  server_.on(
      "PUT", "/v2/apps/tailor", 409,
      R"({"message": "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
                 "deployments": [{"id": "97c136bf-5a28-4821-9d94-480d9fbb01c8"}]})");
  auto put = client().putApp(app("/tailor"), false);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(put.error().message, HasSubstr("409"));
  EXPECT_THAT(
      put.error().message,
      HasSubstr("app '/tailor' is locked by deployment 97c136bf-5a28-4821-9d94-480d9fbb01c8"));
  EXPECT_THAT(put.error().message, HasSubstr("override it with --force"));
}

TEST_F(MarathonClientTest, InvalidDefinitionsShowEveryDetailAsPathAndError) {
  server_.on("PUT", "/v2/apps/tailor", 422, R"({"message": "Object is not valid", "details": [
    {"path": "/upgradeStrategy/minimumHealthCapacity", "errors": ["got 1.5, expected 1.0 or less"]},
    {"path": "/", "errors": ["Instances must be less than or equal to 1 for apps with the MARATHON_SINGLE_INSTANCE_APP label", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."]}]})");
  auto put = client().putApp(app("/tailor"), false);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, ErrorCode::kInvalidArgument);
  const std::string& message = put.error().message;
  EXPECT_THAT(message, HasSubstr("422 Unprocessable Entity: Marathon rejected the app definition: "
                                 "Object is not valid"));
  EXPECT_THAT(message,
              HasSubstr("\n  /upgradeStrategy/minimumHealthCapacity: got 1.5, expected 1.0 "
                        "or less"));
  EXPECT_THAT(message, HasSubstr("\n  /: Instances must be less than or equal to 1"));
  EXPECT_THAT(message,
              HasSubstr("\n  /: AppDefinition must either contain one of 'cmd' or 'args'"));
}

TEST_F(MarathonClientTest, BadJsonAnswersAreShownToo) {
  server_.on(
      "PUT", "/v2/apps/tailor", 400,
      R"({"message": "Invalid JSON", "details": [{"path": "/cpus", "errors": ["error.expected.jsnumber"]}]})");
  auto put = client().putApp(app("/tailor"), false);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(put.error().message, HasSubstr("400 Bad Request"));
  EXPECT_THAT(put.error().message, HasSubstr("\n  /cpus: error.expected.jsnumber"));
  // Jackson's parse errors come with "details" as one string.
  EXPECT_EQ(describeErrorBody(
                R"json({"message": "Invalid JSON", "details": "Unexpected character ('}')"})json"),
            "Invalid JSON\n  Unexpected character ('}')");
  EXPECT_EQ(describeErrorBody("<html>oops</html>"), "<html>oops</html>");
}

TEST_F(MarathonClientTest, UnknownAppIsNotFound) {
  server_.on("GET", "/v2/apps/nope", 404, R"({"message": "App '/nope' does not exist"})");
  auto got = client().getApp("/nope");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(got.error().message, HasSubstr("app '/nope' does not exist"));
  server_.on("DELETE", "/v2/apps/nope", 404, R"({"message": "App '/nope' does not exist"})");
  auto deleted = client().deleteApp("/nope", false);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().code, ErrorCode::kNotFound);
}

TEST_F(MarathonClientTest, UnauthenticatedAndForbiddenSaySo) {
  server_.on("GET", "/v2/info", 401, R"({"message": "Invalid username or password."})",
             {{"WWW-Authenticate", "Basic realm=\"Mesosphere\""}});
  auto anonymous = client().info();
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(anonymous.error().message, HasSubstr("401 Unauthorized: Marathon wants credentials "
                                                   "(give --marathon-user)"));
  auto refused = client(Credentials{"alice", "wrong", ""}).info();
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message,
              HasSubstr("Marathon refused the credentials given (give --marathon-user): Invalid "
                        "username or password."));

  server_.on("DELETE", "/v2/apps/tailor", 403,
             R"({"message": "Not Authorized to perform this action!"})");
  auto forbidden = client(Credentials{"", "", "tok"}).deleteApp("/tailor", false);
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(forbidden.error().message,
              HasSubstr("403 Forbidden: the credentials given may not do this: Not Authorized"));
}

TEST_F(MarathonClientTest, SendsBasicOrTokenAuthorization) {
  server_.on("GET", "/v2/info", 200, R"({"name": "marathon"})");
  ASSERT_TRUE(client(Credentials{"alice", "s3cret", ""}).info().ok());
  EXPECT_EQ(server_.lastRequest().header("authorization"), "Basic " + base64Encode("alice:s3cret"));
  ASSERT_TRUE(client(Credentials{"", "", "eyJhbGciOi.x.y"}).info().ok());
  EXPECT_EQ(server_.lastRequest().header("authorization"), "token=eyJhbGciOi.x.y");
}

TEST_F(MarathonClientTest, ServerErrorsAreUnavailable) {
  server_.on("GET", "/v2/deployments", 503, R"({"message": "Leader not elected"})");
  auto deployments = client().deployments();
  ASSERT_FALSE(deployments.ok());
  EXPECT_EQ(deployments.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(deployments.error().message, HasSubstr("HTTP 503: Leader not elected"));
}

TEST_F(MarathonClientTest, AnAnswerThatDoesNotParseIsAnInternalError) {
  server_.on("GET", "/v2/apps/tailor", 200, "{\"app\": [1, 2]}");
  auto got = client().getApp("/tailor");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kInternal);
  EXPECT_THAT(got.error().message, HasSubstr("not understood"));
}

TEST_F(MarathonClientTest, ConnectionRefusedNamesTheUrl) {
  std::string base = server_.base();
  server_.stop();
  auto info = client().info();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(info.error().message, HasSubstr("cannot reach Marathon at " + base));
}

TEST_F(MarathonClientTest, ListsDeploymentsDeletesAndReadsTasks) {
  server_.on("GET", "/v2/deployments", 200, R"([{"id": "97c136bf-5a28-4821-9d94-480d9fbb01c8",
    "version": "2026-11-30T10:00:00.000Z", "affectedApps": ["/tailor"], "affectedPods": [],
    "steps": [{"actions": [{"action": "StartApplication", "app": "/tailor"}]},
              {"actions": [{"action": "ScaleApplication", "app": "/tailor"}]}],
    "currentActions": [{"action": "ScaleApplication", "app": "/tailor",
                        "readinessCheckResults": [{"taskId": "tailor.instance-c9de6033",
                          "lastResponse": {"body": "{}", "contentType": "application/json", "status": 503},
                          "name": "ready", "ready": false}]}],
    "currentStep": 2, "totalSteps": 2}])");
  auto deployments = client().deployments();
  ASSERT_TRUE(deployments.ok()) << deployments.error().message;
  ASSERT_EQ(deployments->size(), 1u);
  EXPECT_EQ((*deployments)[0].affected_apps(0), "/tailor");
  EXPECT_EQ((*deployments)[0].current_step(), 2);
  server_.on("GET", "/v2/deployments", 200, "[]");
  deployments = client().deployments();
  ASSERT_TRUE(deployments.ok());
  EXPECT_TRUE(deployments->empty());

  server_.on("DELETE", "/v2/apps/tailor", 200, kDeploymentResult);
  auto deleted = client().deleteApp("/tailor", true);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(deleted->deployment_id(), "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43");
  EXPECT_EQ(server_.lastRequest().query, "force=true");

  server_.on("GET", "/v2/apps/tailor/tasks", 200, R"({"tasks": [{"appId": "/tailor",
    "host": "agent-1", "id": "tailor.instance-1._app.1", "ports": [31000], "state": "TASK_STAGING",
    "stagedAt": "2026-11-30T10:00:01.463Z"}]})");
  auto tasks = client().appTasks("/tailor");
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].state(), "TASK_STAGING");
  EXPECT_TRUE((*tasks)[0].health_check_results().empty());
}

TEST(LoadCredentialsTest, ReadsTheFirstLineOfSecretFiles) {
  test::TempDir dir;
  std::string password = dir.path().string() + "/password";
  std::ofstream(password) << "s3cret\nignored\n";
  std::string token = dir.path().string() + "/token";
  std::ofstream(token) << "eyJ.x.y\r\n";
  std::string empty = dir.path().string() + "/empty";
  std::ofstream(empty) << "\n";

  auto basic = loadCredentials("alice", password, "");
  ASSERT_TRUE(basic.ok()) << basic.error().message;
  EXPECT_EQ(basic->user, "alice");
  EXPECT_EQ(basic->password, "s3cret");
  auto dcos = loadCredentials("", "", token);
  ASSERT_TRUE(dcos.ok()) << dcos.error().message;
  EXPECT_EQ(dcos->token, "eyJ.x.y");
  auto none = loadCredentials("", "", "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->user.empty() && none->token.empty());

  EXPECT_THAT(loadCredentials("alice", "", "").error().message, HasSubstr("go together"));
  EXPECT_THAT(loadCredentials("", password, "").error().message, HasSubstr("go together"));
  EXPECT_THAT(loadCredentials("alice", password, token).error().message, HasSubstr("not both"));
  EXPECT_THAT(loadCredentials("a:b", password, "").error().message, HasSubstr("contains ':'"));
  EXPECT_THAT(loadCredentials("", "", dir.path().string() + "/missing").error().message,
              HasSubstr("--marathon-token-file: cannot read"));
  EXPECT_THAT(loadCredentials("alice", empty, "").error().message,
              HasSubstr("--marathon-password-file: '" + empty + "' is empty"));
}

}  // namespace
}  // namespace tailor::marathon
