#pragma once

// The Dispatcher as a Marathon service: deploy it (create or replace the app,
// wait for the deployment and a healthy task), and remove it (delete the app,
// wait for the deployment, tear its Mesos framework down as DC/OS' Cosmos
// does on uninstall). The flows take their collaborators as interfaces, so
// tests drive them with doubles and a fake clock.

#include <google/protobuf/struct.pb.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "marathon/client.hpp"
#include "mesos/master_operator.hpp"

namespace tailor::marathon {

// Time for polling loops: reading it and letting it pass.
class Sleeper : public Clock {
 public:
  // Returns once `duration` has passed.
  virtual void sleep(Duration duration) = 0;
};

// The real one: the steady clock and std::this_thread::sleep_for.
class RealSleeper : public Sleeper {
 public:
  MonotonicTime now() const override;
  double wallSeconds() const override;
  void sleep(Duration duration) override;
};

// Progress lines for the user ("deployment 5ed4... done").
using Reporter = std::function<void(const std::string& line)>;

struct WaitOptions {
  Duration timeout{600000};  // for the whole wait
  Duration poll{1000};       // between two looks
};

// Polls GET /v2/deployments until `deploymentId` is no longer listed.
// kUnavailable after the timeout, naming the deployment and its step.
Status waitForDeployment(MarathonClient& client, Sleeper& sleeper, const std::string& deploymentId,
                         MonotonicTime deadline, Duration poll);

// True if `task` runs and, when the app has health checks, every one of
// them has a result and all are alive.
bool isHealthy(const ::marathon::v2::App& app, const ::marathon::v2::Task& task);

// Polls GET /v2/apps/{id} until a task is healthy, and returns it. After the
// timeout kUnavailable says what the tasks were doing and the app's last
// task failure.
Result<::marathon::v2::Task> waitForHealthyTask(MarathonClient& client, Sleeper& sleeper,
                                                const std::string& appId, MonotonicTime deadline,
                                                Duration poll);

// http://HOST:PORT of the task's first port ("" when it has no port).
std::string dispatcherAddress(const ::marathon::v2::Task& task);

// What deploy did.
struct DeployOutcome {
  std::string appId;
  bool created = false;
  std::string deploymentId;
  std::string address;  // set when waited for a healthy task
};

// PUTs `app` (forcing a running deployment aside when `force`); with `wait`
// then waits for the deployment to end and a task to be healthy.
Result<DeployOutcome> deployApp(MarathonClient& client, Sleeper& sleeper,
                                const google::protobuf::Struct& app, bool force,
                                std::optional<WaitOptions> wait, const Reporter& report);

// Makes the master client for remove's teardown from HOST:PORT[,...].
using MasterOperatorFactory =
    std::function<Result<std::unique_ptr<mesos::MasterOperator>>(const std::string& masters)>;

// Which registered framework to tear down for `name`: none when no framework
// has the name, the one when one has it, an error naming every id when
// several have it (tearing one down at random could hit another service).
Result<std::optional<mesos::FrameworkSummary>> frameworkToTearDown(
    const std::vector<mesos::FrameworkSummary>& frameworks, const std::string& name);

// What remove did.
struct RemoveOutcome {
  std::string deploymentId;
  std::string frameworkName;      // the app's DCOS_PACKAGE_FRAMEWORK_NAME ("" without)
  std::string tornDownFramework;  // its id, when one was torn down
  std::string master;             // the master asked
};

// Reads the app (its DCOS_PACKAGE_FRAMEWORK_NAME label, its
// TAILOR_MESOS_MASTER env), DELETEs it (`force`: Marathon's force=true,
// which overrides a running deployment), waits for that deployment, then tears
// down the framework of that name through `mesosMaster` (else the app's
// TAILOR_MESOS_MASTER). Without a framework label nothing is torn down.
Result<RemoveOutcome> removeApp(MarathonClient& client, Sleeper& sleeper,
                                const MasterOperatorFactory& masters, const std::string& appId,
                                const std::string& mesosMaster, bool force, WaitOptions wait,
                                const Reporter& report);

}  // namespace tailor::marathon
