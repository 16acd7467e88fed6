#include "marathon/service.hpp"

#include <chrono>
#include <thread>

#include "marathon/app_definition.hpp"

namespace tailor::marathon {

namespace v2 = ::marathon::v2;

namespace {

std::string seconds(Duration duration) {
  return fmt::format("{}s", std::chrono::duration_cast<std::chrono::seconds>(duration).count());
}

// One line per task: id, state and health.
std::string describeTasks(const v2::App& app) {
  if (app.tasks().empty()) return "no task yet";
  std::string text;
  for (const auto& task : app.tasks()) {
    text += fmt::format("{}task {} {}", text.empty() ? "" : "; ", task.id(), task.state());
    for (const auto& result : task.health_check_results()) {
      if (result.alive()) continue;
      text += " (health check failing";
      if (!result.last_failure_cause().empty()) text += ": " + result.last_failure_cause();
      text += ")";
    }
    if (task.state() == "TASK_RUNNING" && app.health_checks_size() > 0 &&
        task.health_check_results().empty()) {
      text += " (no health check result yet)";
    }
  }
  return text;
}

std::string envString(const v2::App& app, const std::string& key) {
  auto found = app.env().find(key);
  return found == app.env().end() ? "" : found->second.string_value();
}

// Tears down the framework named `name` through `masters`; fills `outcome`.
Status tearDownFramework(const MasterOperatorFactory& masters, const std::string& master,
                         const std::string& name, RemoveOutcome& outcome, const Reporter& report) {
  auto client = masters(master);
  if (!client.ok()) return client.error();
  outcome.master = (*client)->master();
  auto frameworks = (*client)->frameworks();
  if (!frameworks.ok()) return frameworks.error();
  auto chosen = frameworkToTearDown(*frameworks, name);
  if (!chosen.ok()) return chosen.error();
  if (!chosen->has_value()) {
    report(fmt::format("no framework named '{}' on the Mesos master {}: nothing to tear down", name,
                       outcome.master));
    return Status();
  }
  const std::string& id = (*chosen)->id;
  Status removed = (*client)->teardown(id);
  if (!removed.ok() && removed.error().code != ErrorCode::kNotFound) return removed;
  outcome.tornDownFramework = id;
  report(fmt::format("framework {} ('{}') torn down", id, name));
  return Status();
}

}  // namespace

MonotonicTime RealSleeper::now() const { return std::chrono::steady_clock::now(); }

double RealSleeper::wallSeconds() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void RealSleeper::sleep(Duration duration) { std::this_thread::sleep_for(duration); }

Status waitForDeployment(MarathonClient& client, Sleeper& sleeper, const std::string& deploymentId,
                         MonotonicTime deadline, Duration poll) {
  MonotonicTime start = sleeper.now();
  while (true) {
    auto running = client.deployments();
    if (!running.ok()) return running.error();
    const v2::Deployment* found = nullptr;
    for (const auto& deployment : *running) {
      if (deployment.id() == deploymentId) found = &deployment;
    }
    if (found == nullptr) return Status();
    if (sleeper.now() + poll > deadline) {
      return makeError(ErrorCode::kUnavailable,
                       "deployment {} is still running after {} (step {} of {}); Marathon goes on "
                       "with it (GET {}/v2/deployments)",
                       deploymentId,
                       seconds(std::chrono::duration_cast<Duration>(sleeper.now() - start)),
                       found->current_step(), found->total_steps(), client.url());
    }
    sleeper.sleep(poll);
  }
}

bool isHealthy(const v2::App& app, const v2::Task& task) {
  if (task.state() != "TASK_RUNNING") return false;
  if (app.health_checks_size() == 0) return true;
  if (task.health_check_results_size() < app.health_checks_size()) return false;
  for (const auto& result : task.health_check_results()) {
    if (!result.alive()) return false;
  }
  return true;
}

Result<v2::Task> waitForHealthyTask(MarathonClient& client, Sleeper& sleeper,
                                    const std::string& appId, MonotonicTime deadline,
                                    Duration poll) {
  MonotonicTime start = sleeper.now();
  while (true) {
    auto app = client.getApp(appId);
    if (!app.ok()) return app.error();
    for (const auto& task : app->tasks()) {
      if (isHealthy(*app, task)) return task;
    }
    if (sleeper.now() + poll > deadline) {
      std::string failure;
      if (!app->last_task_failure().message().empty()) {
        failure = fmt::format("; last task failure: {} {} on {}", app->last_task_failure().state(),
                              app->last_task_failure().message(), app->last_task_failure().host());
      }
      return makeError(ErrorCode::kUnavailable, "app {} has no healthy task after {}: {}{}", appId,
                       seconds(std::chrono::duration_cast<Duration>(sleeper.now() - start)),
                       describeTasks(*app), failure);
    }
    sleeper.sleep(poll);
  }
}

std::string dispatcherAddress(const v2::Task& task) {
  if (task.ports().empty() || task.host().empty()) return "";
  return fmt::format("http://{}:{}", task.host(), task.ports(0));
}

Result<DeployOutcome> deployApp(MarathonClient& client, Sleeper& sleeper,
                                const google::protobuf::Struct& app, bool force,
                                std::optional<WaitOptions> wait, const Reporter& report) {
  DeployOutcome outcome;
  outcome.appId = appIdOf(app);
  auto put = client.putApp(app, force);
  if (!put.ok()) return put.error();
  outcome.created = put->created;
  outcome.deploymentId = put->deployment.deployment_id();
  report(fmt::format("app {} {} on {} (deployment {})", outcome.appId,
                     outcome.created ? "created" : "updated", client.url(), outcome.deploymentId));
  if (!wait) return outcome;
  MonotonicTime deadline = sleeper.now() + wait->timeout;
  if (!outcome.deploymentId.empty()) {
    Status done = waitForDeployment(client, sleeper, outcome.deploymentId, deadline, wait->poll);
    if (!done.ok()) return done.error();
    report(fmt::format("deployment {} done", outcome.deploymentId));
  }
  auto task = waitForHealthyTask(client, sleeper, outcome.appId, deadline, wait->poll);
  if (!task.ok()) return task.error();
  outcome.address = dispatcherAddress(*task);
  return outcome;
}

Result<std::optional<mesos::FrameworkSummary>> frameworkToTearDown(
    const std::vector<mesos::FrameworkSummary>& frameworks, const std::string& name) {
  std::vector<const mesos::FrameworkSummary*> named;
  for (const auto& framework : frameworks) {
    if (framework.name == name) named.push_back(&framework);
  }
  if (named.empty()) return std::optional<mesos::FrameworkSummary>();
  if (named.size() == 1) return std::optional<mesos::FrameworkSummary>(*named.front());
  std::string ids;
  for (const auto* framework : named) {
    ids += fmt::format("{}{} (on {}{})", ids.empty() ? "" : ", ", framework->id,
                       framework->hostname.empty() ? "?" : framework->hostname,
                       framework->active ? ", active" : ", inactive");
  }
  return makeError(ErrorCode::kFailedPrecondition,
                   "{} frameworks are named '{}': {}; not tearing any down, as the wrong one could "
                   "be another service's (tear the right one down with POST /master/teardown "
                   "frameworkId=ID)",
                   named.size(), name, ids);
}

Result<RemoveOutcome> removeApp(MarathonClient& client, Sleeper& sleeper,
                                const MasterOperatorFactory& masters, const std::string& appId,
                                const std::string& mesosMaster, bool force, WaitOptions wait,
                                const Reporter& report) {
  auto app = client.getApp(appId);
  if (!app.ok()) return app.error();
  RemoveOutcome outcome;
  auto label = app->labels().find("DCOS_PACKAGE_FRAMEWORK_NAME");
  if (label != app->labels().end()) outcome.frameworkName = label->second;
  std::string master = mesosMaster.empty() ? envString(*app, "TAILOR_MESOS_MASTER") : mesosMaster;
  if (!outcome.frameworkName.empty() && master.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "app {} names framework '{}' but no Mesos master to tear it down through "
                     "(its env has no TAILOR_MESOS_MASTER): give --mesos-master HOST:PORT",
                     appId, outcome.frameworkName);
  }
  auto deleted = client.deleteApp(appId, force);
  if (!deleted.ok()) return deleted.error();
  outcome.deploymentId = deleted->deployment_id();
  report(fmt::format("app {} deleted from {} (deployment {})", app->id(), client.url(),
                     outcome.deploymentId));
  MonotonicTime deadline = sleeper.now() + wait.timeout;
  Status done = waitForDeployment(client, sleeper, outcome.deploymentId, deadline, wait.poll);
  if (!done.ok()) return done.error();
  report(fmt::format("deployment {} done", outcome.deploymentId));
  if (outcome.frameworkName.empty()) {
    report("the app has no DCOS_PACKAGE_FRAMEWORK_NAME label: no framework to tear down");
    return outcome;
  }
  Status torn = tearDownFramework(masters, master, outcome.frameworkName, outcome, report);
  if (!torn.ok()) {
    return torn.error().withContext(
        fmt::format("app {} is removed, but its framework '{}' is not torn down", appId,
                    outcome.frameworkName));
  }
  return outcome;
}

}  // namespace tailor::marathon
