// The packaged app definition and applyDeployOptions: app JSON + the user's
// options -> the app JSON that is deployed, and every error it gives.

#include "marathon/app_definition.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tailor::marathon {
namespace {

using ::testing::HasSubstr;

namespace gpb = google::protobuf;

constexpr const char* kTarball = "https://downloads.example.com/tailor-0.1.0-linux-x86_64.tar.gz";

gpb::Struct parse(const std::string& json) {
  auto app = parseAppDefinition(json, "test.json");
  EXPECT_TRUE(app.ok()) << app.error().message;
  return app.ok() ? *app : gpb::Struct();
}

gpb::Struct packaged() { return parse(std::string(packagedAppDefinition())); }

const gpb::Struct& object(const gpb::Struct& app, const std::string& key) {
  return app.fields().at(key).struct_value();
}

std::string text(const gpb::Struct& object, const std::string& key) {
  return object.fields().at(key).string_value();
}

std::string fetchUri(const gpb::Struct& app, int index = 0) {
  return text(app.fields().at("fetch").list_value().values(index).struct_value(), "uri");
}

Result<gpb::Struct> apply(const gpb::Struct& app, DeployOptions options) {
  return applyDeployOptions(app, options);
}

DeployOptions withTarball() {
  DeployOptions options;
  options.tarballUrl = kTarball;
  return options;
}

TEST(PackagedAppDefinitionTest, FollowsTheSharedContract) {
  gpb::Struct app = packaged();
  EXPECT_EQ(appIdOf(app), "/tailor");
  EXPECT_THAT(text(app, "cmd"), HasSubstr("tailor-*/bin/tailor-dispatcher"));
  const auto& env = object(app, "env");
  EXPECT_EQ(text(env, "TAILOR_LAUNCHER"), "mesos");
  EXPECT_EQ(text(env, "TAILOR_STATE_STORE"), "local:state");
  EXPECT_TRUE(env.fields().count("TAILOR_MESOS_MASTER"));
  const auto& labels = object(app, "labels");
  EXPECT_EQ(text(labels, "MARATHON_SINGLE_INSTANCE_APP"), "true");
  EXPECT_EQ(text(labels, "DCOS_PACKAGE_FRAMEWORK_NAME"), text(labels, "DCOS_SERVICE_NAME"));
  EXPECT_EQ(text(labels, "DCOS_SERVICE_PORT_INDEX"), "0");
  const auto& ports = app.fields().at("portDefinitions").list_value();
  ASSERT_EQ(ports.values_size(), 1);
  EXPECT_EQ(text(ports.values(0).struct_value(), "name"), "api");
  // It ships with the placeholder, so deploying it as it is is refused.
  EXPECT_THAT(fetchUri(app), HasSubstr(".example.invalid/"));
  auto refused = apply(app, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message, HasSubstr("fetch[0]: '" + fetchUri(app) +
                                                 "' is a placeholder that nothing serves: give "
                                                 "--tarball-url"));
}

TEST(ApplyDeployOptionsTest, WithoutOptionsOnlyTheTarballChanges) {
  gpb::Struct app = packaged();
  auto deployed = apply(app, withTarball());
  ASSERT_TRUE(deployed.ok()) << deployed.error().message;
  EXPECT_EQ(fetchUri(*deployed), kTarball);
  // The Dispatcher's own tasks fetch the same tarball.
  EXPECT_EQ(text(object(*deployed, "env"), "TAILOR_RELEASE_URL"), kTarball);
  (*app.mutable_fields())["fetch"] = deployed->fields().at("fetch");
  (*app.mutable_fields())["env"] = deployed->fields().at("env");
  EXPECT_EQ(printAppDefinition(*deployed), printAppDefinition(app));
}

TEST(ApplyDeployOptionsTest, AppliesEveryOption) {
  DeployOptions options = withTarball();
  options.appId = "dev/tailor";
  options.mesosMaster = "10.0.0.1:5050,10.0.0.2:5050";
  options.name = "tailor-dev";
  options.cpus = "1.5";
  options.mem = "2GiB";
  options.env = {"TAILOR_MAX_RUNNING_JOBS=8", "EMPTY=", "WITH_EQUALS=a=b"};
  auto deployed = apply(packaged(), options);
  ASSERT_TRUE(deployed.ok()) << deployed.error().message;
  EXPECT_EQ(appIdOf(*deployed), "/dev/tailor");
  EXPECT_EQ(deployed->fields().at("cpus").number_value(), 1.5);
  EXPECT_EQ(deployed->fields().at("mem").number_value(), 2048);
  const auto& env = object(*deployed, "env");
  EXPECT_EQ(text(env, "TAILOR_MESOS_MASTER"), "10.0.0.1:5050,10.0.0.2:5050");
  EXPECT_EQ(text(env, "DCOS_SERVICE_NAME"), "tailor-dev");
  EXPECT_EQ(text(env, "TAILOR_MAX_RUNNING_JOBS"), "8");
  EXPECT_EQ(text(env, "EMPTY"), "");
  EXPECT_EQ(text(env, "WITH_EQUALS"), "a=b");
  EXPECT_EQ(text(env, "TAILOR_LAUNCHER"), "mesos");  // the rest stays
  const auto& labels = object(*deployed, "labels");
  EXPECT_EQ(text(labels, "DCOS_PACKAGE_FRAMEWORK_NAME"), "tailor-dev");
  EXPECT_EQ(text(labels, "DCOS_SERVICE_NAME"), "tailor-dev");
  EXPECT_EQ(text(labels, "MARATHON_SINGLE_INSTANCE_APP"), "true");
  EXPECT_EQ(fetchUri(*deployed), kTarball);
}

TEST(ApplyDeployOptionsTest, KeepsUnknownFieldsOfAUsersDefinition) {
  gpb::Struct app = parse(R"({"id": "mine", "cmd": "x", "container": {"type": "DOCKER",
    "docker": {"image": "tailor:0.1.0"}}, "networks": [{"mode": "host"}], "secrets": {"s": {"source": "p"}},
    "env": {"TOKEN": {"secret": "s"}}})");
  DeployOptions options;
  options.mesosMaster = "m:5050";
  auto deployed = apply(app, options);
  ASSERT_TRUE(deployed.ok()) << deployed.error().message;
  EXPECT_EQ(appIdOf(*deployed), "/mine");
  EXPECT_EQ(text(object(object(*deployed, "container"), "docker"), "image"), "tailor:0.1.0");
  EXPECT_TRUE(object(*deployed, "env").fields().at("TOKEN").has_struct_value());
  EXPECT_EQ(text(object(*deployed, "env"), "TAILOR_MESOS_MASTER"), "m:5050");
  EXPECT_FALSE(deployed->fields().count("fetch"));  // no --tarball-url: nothing added
}

TEST(ApplyDeployOptionsTest, TheTarballReplacesTheReleaseEntryOrIsAdded) {
  gpb::Struct several = parse(R"({"id": "/t", "fetch": [
    {"uri": "https://h/config.json"}, {"uri": "https://h/tailor-0.0.9-linux-x86_64.tar.gz?x=1", "cache": true}]})");
  auto replaced = apply(several, withTarball());
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(fetchUri(*replaced, 0), "https://h/config.json");
  EXPECT_EQ(fetchUri(*replaced, 1), kTarball);
  EXPECT_TRUE(replaced->fields()
                  .at("fetch")
                  .list_value()
                  .values(1)
                  .struct_value()
                  .fields()
                  .at("cache")
                  .bool_value());

  auto one = apply(parse(R"({"id": "/t", "fetch": [{"uri": "/opt/other.tgz"}]})"), withTarball());
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(fetchUri(*one), kTarball);

  auto added = apply(parse(R"({"id": "/t"})"), withTarball());
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(fetchUri(*added), kTarball);
  EXPECT_TRUE(added->fields()
                  .at("fetch")
                  .list_value()
                  .values(0)
                  .struct_value()
                  .fields()
                  .at("extract")
                  .bool_value());

  auto unclear =
      apply(parse(R"({"id": "/t", "fetch": [{"uri": "https://h/a"}, {"uri": "https://h/b"}]})"),
            withTarball());
  ASSERT_FALSE(unclear.ok());
  EXPECT_THAT(unclear.error().message, HasSubstr("fetches 2 URIs and none is a release tarball"));

  DeployOptions absolute;
  absolute.tarballUrl = "/srv/tailor-0.1.0-linux-x86_64.tar.gz";
  EXPECT_TRUE(apply(parse(R"({"id": "/t"})"), absolute).ok());
}

TEST(ApplyDeployOptionsTest, RefusesPlaceholdersAnywhere) {
  auto legacy = apply(parse(R"({"id": "/t", "uris": ["http://EXAMPLE.invalid/x.tgz"]})"), {});
  ASSERT_FALSE(legacy.ok());
  EXPECT_THAT(legacy.error().message, HasSubstr("uris[0]: 'http://EXAMPLE.invalid/x.tgz' is a "
                                                "placeholder"));
  auto second = apply(parse(R"({"id": "/t", "fetch": [{"uri": "https://h/tailor-1.tar.gz"},
    {"uri": "https://user@files.example.invalid:8443/y"}]})"),
                      {});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.error().message, HasSubstr("fetch[1]:"));
  // A host that only ends like the placeholder is not one.
  EXPECT_TRUE(
      apply(parse(R"({"id": "/t", "fetch": [{"uri": "https://notexample.invalidx/t"}]})"), {})
          .ok());
}

struct BadOption {
  const char* name;
  DeployOptions options;
  const char* message;
};

class ApplyDeployOptionsErrorTest : public ::testing::TestWithParam<BadOption> {};

TEST_P(ApplyDeployOptionsErrorTest, NamesTheFlagAndWhatWasExpected) {
  DeployOptions options = GetParam().options;
  if (options.tarballUrl.empty()) options.tarballUrl = kTarball;
  auto deployed = apply(packaged(), options);
  ASSERT_FALSE(deployed.ok());
  EXPECT_EQ(deployed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(deployed.error().message, HasSubstr(GetParam().message));
}

DeployOptions with(void (*set)(DeployOptions&)) {
  DeployOptions options;
  set(options);
  return options;
}

INSTANTIATE_TEST_SUITE_P(
    Flags, ApplyDeployOptionsErrorTest,
    ::testing::Values(
        BadOption{"UpperCaseAppId", with([](DeployOptions& o) { o.appId = "/Tailor"; }),
                  "--app-id: '/Tailor' is not a Marathon app id"},
        BadOption{"AppIdWithSpace", with([](DeployOptions& o) { o.appId = "a b"; }),
                  "--app-id: '/a b' is not a Marathon app id"},
        BadOption{"TarballNotAUri", with([](DeployOptions& o) { o.tarballUrl = "tailor.tar.gz"; }),
                  "--tarball-url: 'tailor.tar.gz' is not a URI"},
        BadOption{"CpusNotANumber", with([](DeployOptions& o) { o.cpus = "two"; }),
                  "--cpus: 'two' is not a number > 0"},
        BadOption{"CpusZero", with([](DeployOptions& o) { o.cpus = "0"; }),
                  "--cpus: '0' is not a number > 0"},
        BadOption{"MemUnit", with([](DeployOptions& o) { o.mem = "12X"; }), "--mem: "},
        BadOption{"MemZero", with([](DeployOptions& o) { o.mem = "0"; }),
                  "--mem: '0' is not more than 0 MiB"},
        BadOption{"NameWithSpace", with([](DeployOptions& o) { o.name = "my tailor"; }),
                  "--name: 'my tailor' is not a service name"},
        BadOption{"NameOfAJob", with([](DeployOptions& o) { o.name = "tailor-job-x"; }),
                  "starts with 'tailor-job-'"},
        BadOption{"MasterWithSpace", with([](DeployOptions& o) { o.mesosMaster = "a:1, b:2"; }),
                  "--mesos-master: 'a:1, b:2' contains white space"},
        BadOption{"EnvWithoutEquals", with([](DeployOptions& o) { o.env = {"JUSTNAME"}; }),
                  "--env: 'JUSTNAME' is not KEY=VALUE"},
        BadOption{"EnvBadName", with([](DeployOptions& o) { o.env = {"1X=2"}; }),
                  "--env: '1X=2' is not KEY=VALUE"},
        BadOption{"EnvAgainstFlag", with([](DeployOptions& o) {
                    o.mesosMaster = "m:5050";
                    o.env = {"TAILOR_MESOS_MASTER=n:5050"};
                  }),
                  "--env TAILOR_MESOS_MASTER: --mesos-master sets TAILOR_MESOS_MASTER already"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ApplyDeployOptionsTest, DefinitionsOfTheWrongShapeAreErrors) {
  auto noId = apply(parse(R"({"cmd": "x"})"), {});
  ASSERT_FALSE(noId.ok());
  EXPECT_THAT(noId.error().message, HasSubstr("the app definition's \"id\" is missing"));
  auto envList = apply(parse(R"({"id": "/t", "env": ["A=1"]})"),
                       with([](DeployOptions& o) { o.env = {"B=2"}; }));
  ASSERT_FALSE(envList.ok());
  EXPECT_THAT(envList.error().message, HasSubstr("the app definition's \"env\" is not an object"));
  auto fetchObject = apply(parse(R"({"id": "/t", "fetch": {"uri": "x"}})"), withTarball());
  ASSERT_FALSE(fetchObject.ok());
  EXPECT_THAT(fetchObject.error().message, HasSubstr("\"fetch\" is not an array"));
}

TEST(ParseAppDefinitionTest, SyntaxErrorsNameTheFileLineAndColumn) {
  auto bad = parseAppDefinition("{\n  \"id\": \"/t\",\n  \"cpus\" 1\n}\n", "app.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message, HasSubstr("app.json:3:10: "));
  auto list = parseAppDefinition("[1]", "app.json");
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.error().message, HasSubstr("app.json: not an app definition (expected a JSON "
                                              "object"));
  auto duplicate = parseAppDefinition(R"({"id": "/a", "id": "/b"})", "app.json");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_THAT(duplicate.error().message, HasSubstr("app.json:"));
  EXPECT_FALSE(parseAppDefinition("", "app.json").ok());
}

TEST(AppIdTest, FollowsMarathonsPathIdPattern) {
  for (const char* good : {"/tailor", "/dev/tailor", "/a.b/c-d", "/x1"}) {
    EXPECT_TRUE(isValidAppId(good)) << good;
  }
  for (const char* bad : {"/", "", "/Tailor", "/-a", "/a-", "/a_b", "/a b"}) {
    EXPECT_FALSE(isValidAppId(bad)) << bad;
  }
}

}  // namespace
}  // namespace tailor::marathon
