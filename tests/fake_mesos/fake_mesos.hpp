#pragma once

// A fake Mesos 1.12 cluster for tests: one master and its agents in one
// process, on one loopback port, speaking the real v1 HTTP APIs (scheduler
// API for frameworks, executor API for executors), scriptable to fail in the
// ways a real cluster does. With FakeMesosConfig::zooKeeper, several of them
// make one cluster whose masters fail over (contender.hpp, remote.hpp). It is
// a test double: it lives under tests/ and is never part of the product.
//
//   FakeMesosConfig config;
//   config.executorMode = ExecutorMode::kSimulated;
//   FakeMesos mesos(config);
//   auto port = mesos.start();           // http://127.0.0.1:<port>/api/v1/scheduler
//   mesos.failNextSubscribes(1);          // scripted faults
//   mesos.waitFor([](const StateSnapshot& s) { return !s.offers.empty(); }, Duration(5000));
//
// Layout: master.* (scheduler API), allocator.* (offers and filters),
// agent.* (executor API, status updates, recovery after a restart),
// checkpoint.* (what an agent keeps to recover), fetcher.* (URIs into sandboxes),
// command_executor.* (command tasks), executor_runtime.* and
// simulated_executor.* (how executors run), scripting.* (faults and the
// /fake/ control endpoints), wire.* (Mesos' JSON and HTTP conventions).
//
// Threading: all state is owned by one event loop thread started by start().
// The public methods are thread-safe; they run on that loop and wait for it,
// so they must not be called from it (e.g. from an external launch hook).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "tests/fake_mesos/config.hpp"
#include "tests/fake_mesos/state.hpp"

namespace tailor::fake_mesos {

class FakeMesos {
 public:
  explicit FakeMesos(FakeMesosConfig config);
  ~FakeMesos();  // stops
  FakeMesos(const FakeMesos&) = delete;
  FakeMesos& operator=(const FakeMesos&) = delete;

  // Binds 127.0.0.1 and starts the loop thread. Returns the port.
  Result<std::uint16_t> start();
  // Closes every stream, kills every executor, stops the loop. Idempotent.
  void stop();

  std::uint16_t port() const;
  // "127.0.0.1:<port>"
  std::string endpoint() const;
  const std::string& masterId() const;
  // The agents' ids, in the order of the configuration.
  std::vector<std::string> agentIds() const;

  // --- Scripted faults (see scripting.hpp for the HTTP equivalents) ---------

  // Cuts the event stream of `frameworkId` (or of all frameworks) mid-flight.
  Status dropStream(const std::optional<std::string>& frameworkId = std::nullopt);
  // The next `count` SUBSCRIBE calls get `status` (503: "Master has not finished recovery").
  void failNextSubscribes(int count, int status = 503);
  // The next `count` SUBSCRIBE calls get 307 to //`to`/master/api/v1/scheduler.
  void redirectNextSubscribes(const std::string& to, int count = 1);
  Status rescindOffer(const std::string& offerId);
  // The next `count` offers are rescinded right after they are sent.
  void rescindNextOffers(int count = 1);
  // SIGKILL of the executor running `taskId`.
  Status killExecutorOfTask(const std::string& taskId);
  // The next `count` task launches fail with TASK_FAILED "Failed to launch container: ...".
  void failNextLaunches(int count = 1);
  Status loseAgent(const std::string& agentId);
  // The agent's process is SIGKILLed and started again at once on the same
  // work directory (agent.hpp, "Restarts"): the master sees it disconnect,
  // executors of checkpointing frameworks are recovered, the others
  // destroyed, and the agent registers again once recovered. Not with
  // ZooKeeper (there, kill the agents' process and start it again) nor with
  // simulated executors.
  Status restartAgent(const std::string& agentId);
  // A simulated executor sends `state` ("TASK_FINISHED", ...) for `taskId`.
  Status sendSimulatedStatus(const std::string& taskId, const std::string& state,
                             const std::string& message = "");
  // Removes a framework as the operator endpoint /master/teardown does.
  Status teardown(const std::string& frameworkId);
  // Runs an allocation pass now instead of at the next interval.
  void allocateNow();

  // --- Observation -----------------------------------------------------------

  StateSnapshot state();
  std::string stateJson();
  // Waits until `predicate` holds for the state, re-checking after every
  // change; false if it still does not after `timeout`.
  bool waitFor(const std::function<bool(const StateSnapshot&)>& predicate, Duration timeout);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tailor::fake_mesos
