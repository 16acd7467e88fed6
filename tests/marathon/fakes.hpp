#pragma once

// Test doubles for the `tailor marathon` flows (marathon/service.hpp):
//  - InMemoryMarathon: a MarathonClient keeping apps in memory. A PUT or
//    DELETE starts a deployment that stays listed for `deploymentPolls`
//    looks at GET /v2/deployments; when a PUT's deployment ends, the app
//    gets the task set by `taskOnDeploy`. It does not validate definitions,
//    run anything, check health, or model 409 locks, authentication or
//    groups: errors are scripted with `failNext`.
//  - FakeSleeper: a clock that only moves when the code sleeps.
//  - FakeMasterOperator: a Mesos master's framework list; teardown removes
//    from it and records the id. No redirects, no tasks.

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "marathon/client.hpp"
#include "marathon/service.hpp"
#include "mesos/master_operator.hpp"

namespace tailor::marathon::test {

class InMemoryMarathon : public MarathonClient {
 public:
  Result<::marathon::v2::Info> info() override {
    if (auto error = scripted()) return *error;
    ::marathon::v2::Info info;
    info.set_name("marathon");
    return info;
  }

  Result<::marathon::v2::App> getApp(const std::string& appId) override {
    if (auto error = scripted()) return *error;
    auto app = apps.find(appId);
    if (app == apps.end()) {
      return makeError(ErrorCode::kNotFound, "GET /v2/apps{}: app '{}' does not exist", appId,
                       appId);
    }
    return app->second;
  }

  Result<PutResult> putApp(const google::protobuf::Struct& definition, bool force) override {
    if (auto error = scripted()) return *error;
    puts.push_back(definition);
    forced.push_back(force);
    std::string id = definition.fields().at("id").string_value();
    bool created = apps.count(id) == 0;
    ::marathon::v2::App& app = apps[id];
    app.set_id(id);
    app.clear_tasks();
    std::string deployment = startDeployment(id);
    pendingTasks[deployment] = id;
    PutResult result;
    result.created = created;
    result.deployment.set_deployment_id(deployment);
    return result;
  }

  Result<::marathon::v2::DeploymentResult> deleteApp(const std::string& appId,
                                                     bool force) override {
    if (auto error = scripted()) return *error;
    deletes.push_back(appId);
    forced.push_back(force);
    if (apps.erase(appId) == 0) {
      return makeError(ErrorCode::kNotFound, "DELETE: app '{}' does not exist", appId);
    }
    ::marathon::v2::DeploymentResult result;
    result.set_deployment_id(startDeployment(appId));
    return result;
  }

  Result<std::vector<::marathon::v2::Task>> appTasks(const std::string& appId) override {
    auto app = getApp(appId);
    if (!app.ok()) return app.error();
    return std::vector<::marathon::v2::Task>(app->tasks().begin(), app->tasks().end());
  }

  Result<std::vector<::marathon::v2::Deployment>> deployments() override {
    if (auto error = scripted()) return *error;
    deploymentLooks++;
    std::vector<::marathon::v2::Deployment> listed;
    for (auto it = running.begin(); it != running.end();) {
      if (it->second.remaining-- <= 0) {
        finish(it->first);
        it = running.erase(it);
        continue;
      }
      listed.push_back(it->second.deployment);
      ++it;
    }
    return listed;
  }

  const std::string& url() const override { return url_; }

  // The next call fails with `error`.
  void failNext(Error error) { failures.push_back(std::move(error)); }

  std::map<std::string, ::marathon::v2::App> apps;
  std::optional<::marathon::v2::Task> taskOnDeploy;
  int deploymentPolls = 2;
  std::vector<google::protobuf::Struct> puts;
  std::vector<std::string> deletes;
  std::vector<bool> forced;
  int deploymentLooks = 0;

 private:
  struct Running {
    ::marathon::v2::Deployment deployment;
    int remaining = 0;
  };

  std::optional<Error> scripted() {
    if (failures.empty()) return std::nullopt;
    Error error = failures.front();
    failures.pop_front();
    return error;
  }

  std::string startDeployment(const std::string& appId) {
    std::string id = "deployment-" + std::to_string(++deploymentCount_);
    Running entry;
    entry.deployment.set_id(id);
    entry.deployment.add_affected_apps(appId);
    entry.deployment.set_current_step(1);
    entry.deployment.set_total_steps(1);
    entry.remaining = deploymentPolls;
    running.emplace(id, entry);
    return id;
  }

  void finish(const std::string& deploymentId) {
    auto pending = pendingTasks.find(deploymentId);
    if (pending == pendingTasks.end()) return;
    auto app = apps.find(pending->second);
    if (app != apps.end() && taskOnDeploy) *app->second.add_tasks() = *taskOnDeploy;
    pendingTasks.erase(pending);
  }

  std::string url_ = "http://marathon.test:8080";
  std::deque<Error> failures;
  std::map<std::string, Running> running;
  std::map<std::string, std::string> pendingTasks;  // deployment -> app
  int deploymentCount_ = 0;
};

class FakeSleeper : public Sleeper {
 public:
  MonotonicTime now() const override { return now_; }
  double wallSeconds() const override { return 0; }
  void sleep(Duration duration) override {
    now_ += duration;
    slept += duration;
  }
  Duration slept{0};

 private:
  MonotonicTime now_{};
};

class FakeMasterOperator : public mesos::MasterOperator {
 public:
  Result<std::vector<mesos::FrameworkSummary>> frameworks() override { return list; }
  Status teardown(const std::string& frameworkId) override {
    tornDown.push_back(frameworkId);
    std::erase_if(list, [&](const auto& framework) { return framework.id == frameworkId; });
    return Status();
  }
  std::string master() const override { return "master.test:5050"; }

  std::vector<mesos::FrameworkSummary> list;
  std::vector<std::string> tornDown;
};

// Hands a test's FakeMasterOperator to code that wants to own its client.
class MasterOperatorRef : public mesos::MasterOperator {
 public:
  explicit MasterOperatorRef(mesos::MasterOperator& target) : target_(target) {}
  Result<std::vector<mesos::FrameworkSummary>> frameworks() override {
    return target_.frameworks();
  }
  Status teardown(const std::string& frameworkId) override { return target_.teardown(frameworkId); }
  std::string master() const override { return target_.master(); }

 private:
  mesos::MasterOperator& target_;
};

}  // namespace tailor::marathon::test
