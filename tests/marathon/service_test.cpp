// The deploy and remove flows (marathon/service.hpp) with an in-memory
// Marathon, a fake Mesos master and a fake clock.

#include "marathon/service.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/marathon/fakes.hpp"

namespace tailor::marathon {
namespace {

using test::FakeMasterOperator;
using test::FakeSleeper;
using test::InMemoryMarathon;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace v2 = ::marathon::v2;

google::protobuf::Struct definition(const std::string& id) {
  google::protobuf::Struct app;
  (*app.mutable_fields())["id"].set_string_value(id);
  return app;
}

v2::Task runningTask(bool alive = true) {
  v2::Task task;
  task.set_id("tailor.instance-1._app.1");
  task.set_host("agent-1.example.com");
  task.add_ports(31005);
  task.set_state("TASK_RUNNING");
  auto* result = task.add_health_check_results();
  result->set_alive(alive);
  if (!alive) result->set_last_failure_cause("ConnectException: Connection refused");
  return task;
}

v2::App withHealthCheck(const std::string& id) {
  v2::App app;
  app.set_id(id);
  app.add_health_checks()->set_protocol("MESOS_HTTP");
  return app;
}

mesos::FrameworkSummary framework(const std::string& id, const std::string& name,
                                  bool active = true) {
  mesos::FrameworkSummary summary;
  summary.id = id;
  summary.name = name;
  summary.hostname = "agent-1.example.com";
  summary.active = active;
  return summary;
}

class ServiceTest : public ::testing::Test {
 protected:
  Reporter reporter() {
    return [this](const std::string& line) { lines_.push_back(line); };
  }

  MasterOperatorFactory masters() {
    return [this](const std::string& master) -> Result<std::unique_ptr<mesos::MasterOperator>> {
      mastersAsked_.push_back(master);
      return std::unique_ptr<mesos::MasterOperator>(
          std::make_unique<test::MasterOperatorRef>(master_));
    };
  }

  v2::App installedApp() {
    v2::App app;
    app.set_id("/tailor");
    (*app.mutable_labels())["DCOS_PACKAGE_FRAMEWORK_NAME"] = "tailor";
    (*app.mutable_env())["TAILOR_MESOS_MASTER"].set_string_value("10.0.0.1:5050");
    return app;
  }

  InMemoryMarathon marathon_;
  FakeSleeper sleeper_;
  FakeMasterOperator master_;
  std::vector<std::string> mastersAsked_;
  std::vector<std::string> lines_;
};

TEST_F(ServiceTest, DeployWaitsForTheDeploymentAndAHealthyTask) {
  marathon_.apps["/tailor"] = withHealthCheck("/tailor");
  marathon_.taskOnDeploy = runningTask();
  auto outcome =
      deployApp(marathon_, sleeper_, definition("/tailor"), false, WaitOptions{}, reporter());
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_FALSE(outcome->created);
  EXPECT_EQ(outcome->deploymentId, "deployment-1");
  EXPECT_EQ(outcome->address, "http://agent-1.example.com:31005");
  EXPECT_THAT(marathon_.forced, ElementsAre(false));
  EXPECT_EQ(marathon_.deploymentLooks, 3);  // listed twice, then gone
  EXPECT_EQ(sleeper_.slept, Duration(2000));
  EXPECT_THAT(lines_, ElementsAre("app /tailor updated on http://marathon.test:8080 (deployment "
                                  "deployment-1)",
                                  "deployment deployment-1 done"));
}

TEST_F(ServiceTest, DeployWithoutWaitingReturnsOnceAccepted) {
  auto outcome =
      deployApp(marathon_, sleeper_, definition("/tailor"), true, std::nullopt, reporter());
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(outcome->created);
  EXPECT_TRUE(outcome->address.empty());
  EXPECT_EQ(marathon_.deploymentLooks, 0);
  EXPECT_THAT(marathon_.forced, ElementsAre(true));
}

TEST_F(ServiceTest, DeployGivesUpOnADeploymentThatDoesNotEnd) {
  marathon_.deploymentPolls = 1000;
  auto outcome = deployApp(marathon_, sleeper_, definition("/tailor"), false,
                           WaitOptions{Duration(5000), Duration(1000)}, reporter());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(outcome.error().message,
              HasSubstr("deployment deployment-1 is still running after 5s "
                        "(step 1 of 1)"));
  EXPECT_LE(sleeper_.slept, Duration(5000));
}

TEST_F(ServiceTest, DeployGivesUpOnATaskThatStaysUnhealthyAndSaysWhy) {
  marathon_.apps["/tailor"] = withHealthCheck("/tailor");
  marathon_.apps["/tailor"].mutable_last_task_failure()->set_message(
      "Command exited with status 1");
  marathon_.apps["/tailor"].mutable_last_task_failure()->set_state("TASK_FAILED");
  marathon_.taskOnDeploy = runningTask(false);
  auto outcome = deployApp(marathon_, sleeper_, definition("/tailor"), false,
                           WaitOptions{Duration(10000), Duration(1000)}, reporter());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(
      outcome.error().message,
      HasSubstr("app /tailor has no healthy task after 8s: task tailor.instance-1._app.1 "
                "TASK_RUNNING (health check failing: ConnectException: Connection refused)"));
  EXPECT_THAT(outcome.error().message,
              HasSubstr("last task failure: TASK_FAILED Command exited with status 1"));
}

TEST_F(ServiceTest, DeployPassesMarathonsRefusalOn) {
  marathon_.failNext(makeError(ErrorCode::kFailedPrecondition, "409 Conflict: locked"));
  auto outcome =
      deployApp(marathon_, sleeper_, definition("/tailor"), false, WaitOptions{}, reporter());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().message, "409 Conflict: locked");
  EXPECT_TRUE(lines_.empty());
}

TEST(IsHealthyTest, NeedsRunningAndEveryHealthCheckAlive) {
  v2::App plain;
  v2::App checked = withHealthCheck("/t");
  v2::Task task = runningTask();
  EXPECT_TRUE(isHealthy(plain, task));
  EXPECT_TRUE(isHealthy(checked, task));
  EXPECT_FALSE(isHealthy(checked, runningTask(false)));
  task.clear_health_check_results();
  EXPECT_TRUE(isHealthy(plain, task));
  EXPECT_FALSE(isHealthy(checked, task));  // no result yet
  task.set_state("TASK_STAGING");
  EXPECT_FALSE(isHealthy(plain, task));
  EXPECT_EQ(dispatcherAddress(runningTask()), "http://agent-1.example.com:31005");
  EXPECT_EQ(dispatcherAddress(v2::Task()), "");
}

TEST_F(ServiceTest, RemoveDeletesWaitsAndTearsDownTheFrameworkOfTheLabel) {
  marathon_.apps["/tailor"] = installedApp();
  master_.list = {framework("fw-other", "marathon"), framework("fw-1", "tailor", false),
                  framework("fw-job", "tailor-job-wordcount-1")};
  auto outcome =
      removeApp(marathon_, sleeper_, masters(), "/tailor", "", false, WaitOptions{}, reporter());
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_THAT(marathon_.deletes, ElementsAre("/tailor"));
  EXPECT_EQ(marathon_.apps.count("/tailor"), 0u);
  EXPECT_THAT(mastersAsked_, ElementsAre("10.0.0.1:5050"));  // the app's TAILOR_MESOS_MASTER
  EXPECT_THAT(master_.tornDown, ElementsAre("fw-1"));        // inactive, still registered
  EXPECT_EQ(outcome->tornDownFramework, "fw-1");
  EXPECT_EQ(outcome->frameworkName, "tailor");
  EXPECT_EQ(lines_.back(), "framework fw-1 ('tailor') torn down");
}

TEST_F(ServiceTest, RemoveTakesTheGivenMaster) {
  marathon_.apps["/tailor"] = installedApp();
  auto outcome = removeApp(marathon_, sleeper_, masters(), "/tailor", "m2:5050", true,
                           WaitOptions{}, reporter());
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_THAT(mastersAsked_, ElementsAre("m2:5050"));
  EXPECT_THAT(marathon_.forced, ElementsAre(true));
  EXPECT_TRUE(outcome->tornDownFramework.empty());  // no framework of that name
  EXPECT_THAT(lines_.back(), HasSubstr("no framework named 'tailor'"));
}

TEST_F(ServiceTest, RemoveRefusesToPickAmongFrameworksOfTheSameName) {
  marathon_.apps["/tailor"] = installedApp();
  master_.list = {framework("fw-1", "tailor"), framework("fw-2", "tailor", false)};
  auto outcome =
      removeApp(marathon_, sleeper_, masters(), "/tailor", "", false, WaitOptions{}, reporter());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(outcome.error().message,
              HasSubstr("app /tailor is removed, but its framework 'tailor' is not torn down: 2 "
                        "frameworks are named 'tailor': fw-1 (on agent-1.example.com, active), "
                        "fw-2 (on agent-1.example.com, inactive)"));
  EXPECT_TRUE(master_.tornDown.empty());
}

TEST_F(ServiceTest, RemoveWithoutAFrameworkLabelTearsNothingDown) {
  v2::App app;
  app.set_id("/other");
  marathon_.apps["/other"] = app;
  auto outcome =
      removeApp(marathon_, sleeper_, masters(), "/other", "", false, WaitOptions{}, reporter());
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(mastersAsked_.empty());
  EXPECT_THAT(lines_.back(), HasSubstr("no DCOS_PACKAGE_FRAMEWORK_NAME label"));
}

TEST_F(ServiceTest, RemoveNeedsAMasterBeforeDeletingAnything) {
  v2::App app = installedApp();
  app.mutable_env()->erase("TAILOR_MESOS_MASTER");
  marathon_.apps["/tailor"] = app;
  auto outcome =
      removeApp(marathon_, sleeper_, masters(), "/tailor", "", false, WaitOptions{}, reporter());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(outcome.error().message, HasSubstr("give --mesos-master HOST:PORT"));
  EXPECT_TRUE(marathon_.deletes.empty());
}

TEST_F(ServiceTest, RemoveOfAnUnknownAppIsNotFound) {
  auto outcome =
      removeApp(marathon_, sleeper_, masters(), "/nope", "", false, WaitOptions{}, reporter());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(marathon_.deletes.empty());
}

TEST(FrameworkToTearDownTest, NoneOneOrRefused) {
  auto none = frameworkToTearDown({framework("a", "x")}, "tailor");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto one = frameworkToTearDown({framework("a", "x"), framework("b", "tailor")}, "tailor");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)->id, "b");
  auto two = frameworkToTearDown({framework("a", "tailor"), framework("b", "tailor")}, "tailor");
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.error().message, HasSubstr("2 frameworks are named 'tailor': a (on"));
}

}  // namespace
}  // namespace tailor::marathon
