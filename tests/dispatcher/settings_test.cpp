#include "dispatcher/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tailor::dispatcher {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What Marathon gives the Dispatcher's task for the packaged app definition
// (one port named "api", the DC/OS labels, the flags as TAILOR_* in env):
// its port variables, HOST, the MARATHON_APP_* variables with resources in
// Marathon's number format, label variables, the Mesos task id and sandbox,
// and the app's own env.
Environment marathonTaskEnvironment() {
  return {
      {"PORT0", "31005"},
      {"PORT", "31005"},
      {"PORTS", "31005"},
      {"PORT_API", "31005"},
      {"HOST", "agent-3.cluster.example"},
      {"MARATHON_APP_ID", "/tailor-dev"},
      {"MARATHON_APP_VERSION", "2026-11-30T10:15:02.113Z"},
      {"MARATHON_APP_RESOURCE_CPUS", "0.5"},
      {"MARATHON_APP_RESOURCE_MEM", "512.0"},
      {"MARATHON_APP_RESOURCE_DISK", "0.0"},
      {"MARATHON_APP_RESOURCE_GPUS", "0"},
      {"MARATHON_APP_LABELS",
       "MARATHON_SINGLE_INSTANCE_APP DCOS_PACKAGE_FRAMEWORK_NAME DCOS_SERVICE_NAME "
       "DCOS_SERVICE_PORT_INDEX DCOS_SERVICE_SCHEME"},
      {"MARATHON_APP_LABEL_MARATHON_SINGLE_INSTANCE_APP", "true"},
      {"MARATHON_APP_LABEL_DCOS_PACKAGE_FRAMEWORK_NAME", "tailor-dev"},
      {"MARATHON_APP_LABEL_DCOS_SERVICE_NAME", "tailor-dev"},
      {"MARATHON_APP_LABEL_DCOS_SERVICE_PORT_INDEX", "0"},
      {"MARATHON_APP_LABEL_DCOS_SERVICE_SCHEME", "http"},
      {"MESOS_TASK_ID", "tailor-dev.instance-3f2c8a1e-8f1b-11ef-9d3a-0242ac110002._app.1"},
      {"MESOS_SANDBOX",
       "/var/lib/mesos/slaves/a1-S0/frameworks/m-0000/executors/e/runs/latest"},
      {"MESOS_ALLOCATION_ROLE", "*"},
      {"DCOS_SERVICE_NAME", "tailor-dev"},
      {"APPLICATION_WEB_PROXY_BASE", "/service/tailor-dev"},
      {"TAILOR_LAUNCHER", "mesos"},
      {"TAILOR_MESOS_MASTER", "leader.mesos:5050"},
      {"TAILOR_STATE_STORE", "local:state"},
      {"TAILOR_MAX_RUNNING_JOBS", "8"},
      {"TAILOR_JOBMANAGER_ARG", "--taskmanager-idle-timeout 10s"},
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
  };
}

TEST(DispatcherSettingsTest, TheMarathonTaskEnvironmentGivesPortHostNameBasePathAndState) {
  auto settings = loadDispatcherSettings({}, marathonTaskEnvironment());
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->marathonAppId, "/tailor-dev");
  EXPECT_EQ(settings->port, 31005);
  EXPECT_EQ(settings->bind, "0.0.0.0");
  EXPECT_EQ(settings->advertiseHost, "agent-3.cluster.example");
  EXPECT_EQ(settings->frameworkName, "tailor-dev");
  EXPECT_EQ(settings->externalBasePath, "/service/tailor-dev");
  EXPECT_EQ(settings->stateStore, "local:state");
  EXPECT_EQ(settings->launcher, "mesos");
  EXPECT_THAT(settings->mesosMasters.hosts, ElementsAre("leader.mesos:5050"));
  EXPECT_EQ(settings->maxRunningJobs, 8);
  EXPECT_THAT(settings->jobManagerArgs, ElementsAre("--taskmanager-idle-timeout", "10s"));
  EXPECT_TRUE(settings->unknownVariables.empty());
}

TEST(DispatcherSettingsTest, WithoutANamedPortMarathonsFirstPortIsUsed) {
  Environment env = marathonTaskEnvironment();
  env.erase("PORT_API");
  env["PORT0"] = "31999";
  auto settings = loadDispatcherSettings({}, env);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->port, 31999);
}

TEST(DispatcherSettingsTest, WithoutTheFrameworkLabelTheServiceNameIsTheFrameworkName) {
  Environment env = marathonTaskEnvironment();
  env.erase("MARATHON_APP_LABEL_DCOS_PACKAGE_FRAMEWORK_NAME");
  env["DCOS_SERVICE_NAME"] = "jobs";
  auto settings = loadDispatcherSettings({}, env);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->frameworkName, "jobs");
}

TEST(DispatcherSettingsTest, TheCommandLineWinsOverTheEnvironmentWhichWinsOverMarathon) {
  Environment env = marathonTaskEnvironment();
  env["TAILOR_PORT"] = "9100";
  env["TAILOR_FRAMEWORK_NAME"] = "from-env";
  auto settings = loadDispatcherSettings(
      {"--port", "9000", "--max-running-jobs=2", "--state-store", "local:/srv/tailor"}, env);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->port, 9000);
  EXPECT_EQ(settings->maxRunningJobs, 2);
  EXPECT_EQ(settings->stateStore, "local:/srv/tailor");
  EXPECT_EQ(settings->frameworkName, "from-env");

  env.erase("TAILOR_FRAMEWORK_NAME");
  auto fromEnv = loadDispatcherSettings({}, env);
  ASSERT_TRUE(fromEnv.ok()) << fromEnv.error().message;
  EXPECT_EQ(fromEnv->port, 9100) << "TAILOR_PORT beats PORT_API";
  EXPECT_EQ(fromEnv->frameworkName, "tailor-dev");
}

TEST(DispatcherSettingsTest, AuthenticationFromTheFlagOrTheEnvironmentAndOffWhenEmpty) {
  Environment env = marathonTaskEnvironment();
  auto off = loadDispatcherSettings({}, env);
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->authFile, "");
  EXPECT_EQ(off->maxQueuedJobsPerUser, 1000);
  env["TAILOR_AUTH_FILE"] = "credentials";
  env["TAILOR_MAX_QUEUED_JOBS_PER_USER"] = "7";
  auto on = loadDispatcherSettings({}, env);
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_EQ(on->authFile, "credentials");
  EXPECT_EQ(on->maxQueuedJobsPerUser, 7);
  env["TAILOR_AUTH_FILE"] = "";
  auto empty = loadDispatcherSettings({}, env);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->authFile, "");
  auto flag = loadDispatcherSettings({"--auth-file", "/etc/tailor/credentials"}, env);
  ASSERT_TRUE(flag.ok()) << flag.error().message;
  EXPECT_EQ(flag->authFile, "/etc/tailor/credentials");
  auto zero = loadDispatcherSettings({"--max-queued-jobs-per-user", "0"}, env);
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.error().message, HasSubstr("--max-queued-jobs-per-user: expected a number >= 1"));
}

TEST(DispatcherSettingsTest, UnderMarathonAStateStoreMustBeGiven) {
  Environment env = marathonTaskEnvironment();
  env.erase("TAILOR_STATE_STORE");
  auto settings = loadDispatcherSettings({}, env);
  ASSERT_FALSE(settings.ok());
  EXPECT_THAT(settings.error().message, HasSubstr("TAILOR_STATE_STORE"));
  EXPECT_THAT(settings.error().message, HasSubstr("persistent volume"));
}

TEST(DispatcherSettingsTest, ABadMarathonPortNamesTheVariable) {
  Environment env = marathonTaskEnvironment();
  env["PORT_API"] = "31o05";
  auto settings = loadDispatcherSettings({}, env);
  ASSERT_FALSE(settings.ok());
  EXPECT_THAT(settings.error().message, HasSubstr("PORT_API: '31o05' is not a port"));

  env["PORT_API"] = "70000";
  EXPECT_THAT(loadDispatcherSettings({}, env).error().message, HasSubstr("PORT_API"));

  env.erase("PORT_API");
  env.erase("PORT0");
  EXPECT_THAT(loadDispatcherSettings({}, env).error().message,
              HasSubstr("neither PORT_API nor PORT0"));
}

TEST(DispatcherSettingsTest, OutsideMarathonItsVariablesAreNotUsed) {
  Environment env = {{"PORT0", "31005"}, {"HOST", "agent-3"}, {"DCOS_SERVICE_NAME", "x"}};
  auto settings = loadDispatcherSettings({"--state-store", "local:s"}, env);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->port, 8080);
  EXPECT_EQ(settings->advertiseHost, "127.0.0.1");
  EXPECT_EQ(settings->frameworkName, "tailor");
  EXPECT_EQ(settings->marathonAppId, "");
}

TEST(DispatcherSettingsTest, MisspeltVariablesAreListedNotApplied) {
  Environment env = {{"TAILOR_STATE_STORE", "local:s"},
                     {"TAILOR_MESOS_MASTRE", "m:5050"},
                     {"TAILOR_HELP", "1"},
                     {"TAILOR_DISPATCHER", "http://127.0.0.1:8080"}};
  auto settings = loadDispatcherSettings({}, env);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_THAT(settings->unknownVariables, ElementsAre("TAILOR_HELP", "TAILOR_MESOS_MASTRE"));
  EXPECT_TRUE(settings->mesosMasters.empty());
}

TEST(DispatcherSettingsTest, BadValuesNameTheFlag) {
  Environment env = {{"TAILOR_STATE_STORE", "local:s"}};
  EXPECT_THAT(loadDispatcherSettings({"--launcher", "yarn"}, env).error().message,
              HasSubstr("--launcher: 'yarn' is not a launcher"));
  EXPECT_THAT(loadDispatcherSettings({"--launcher", "mesos"}, env).error().message,
              HasSubstr("--launcher mesos needs --mesos-master"));
  EXPECT_THAT(loadDispatcherSettings({"--mesos-master", "m:50x"}, env).error().message,
              HasSubstr("--mesos-master: 'm:50x' is not HOST:PORT"));
  EXPECT_THAT(loadDispatcherSettings({"--jobmanager-timeout", "1s"}, env).error().message,
              HasSubstr("too short"));
  EXPECT_THAT(loadDispatcherSettings({"--external-base-path", "service/x"}, env).error().message,
              HasSubstr("--external-base-path"));
  EXPECT_THAT(loadDispatcherSettings({"--release-url", "ftp://h/tailor.tar.gz"}, env).error().message,
              HasSubstr("--release-url: 'ftp://h/tailor.tar.gz' is not the URL of a release tarball"));
  EXPECT_THAT(loadDispatcherSettings({"--release-url", "https://h/tailor"}, env).error().message,
              HasSubstr("--release-url"));
  EXPECT_EQ(loadDispatcherSettings({"--release-url", "file:///srv/tailor-0.1.0-linux-x86_64.tar.gz"},
                                   env)->releaseUrl,
            "file:///srv/tailor-0.1.0-linux-x86_64.tar.gz");
  Environment badEnv = {{"TAILOR_STATE_STORE", "local:s"}, {"TAILOR_MAX_RUNNING_JOBS", "many"}};
  EXPECT_THAT(loadDispatcherSettings({}, badEnv).error().message,
              HasSubstr("max-running-jobs"));
  EXPECT_THAT(loadDispatcherSettings({}, {}).error().message,
              HasSubstr("--state-store is required"));
  EXPECT_THAT(loadDispatcherSettings({"--no-such-flag"}, env).error().message,
              HasSubstr("no-such-flag"));
}

TEST(DispatcherSettingsTest, TheBasePathLosesATrailingSlash) {
  Environment env = {{"TAILOR_STATE_STORE", "local:s"},
                     {"APPLICATION_WEB_PROXY_BASE", "/service/tailor/"}};
  EXPECT_EQ(loadDispatcherSettings({}, env)->externalBasePath, "/service/tailor");
  env["APPLICATION_WEB_PROXY_BASE"] = "/";
  EXPECT_EQ(loadDispatcherSettings({}, env)->externalBasePath, "");
}

TEST(DispatcherSettingsTest, VersionNeedsNothingElse) {
  auto settings = loadDispatcherSettings({"--version"}, {});
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_TRUE(settings->version);
}

TEST(DispatcherSettingsTest, HelpNeedsNothingElse) {
  auto settings = loadDispatcherSettings({"--help"}, {});
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_TRUE(settings->help);
  EXPECT_THAT(settings->helpText, HasSubstr("TAILOR_<FLAG>"));
  EXPECT_THAT(settings->helpText, HasSubstr("--state-store"));
}

}  // namespace
}  // namespace tailor::dispatcher
