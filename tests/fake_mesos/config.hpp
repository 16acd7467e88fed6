#pragma once

// Configuration of the fake Mesos cluster, and the parsing of the agent
// description used by `fake-mesos --agent`:
//
//   cpus=4,mem=8192,disk=20000,ports=31000-31099[,gpus=N][,attributes=rack:a;zone:b]
//
// Omitted cpus, mem, disk and ports take the values of the agent of the
// golden captures (cpus=4,mem=8192,disk=20000,ports=31000-32000). ports may
// also be several ranges: ports=[31000-31099;32000-32099]. Attributes follow
// Mesos' --attributes: a number is SCALAR, [a-b;...] RANGES, {a;b} SET, else TEXT.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "mesos/v1/mesos.pb.h"
#include "tests/fake_mesos/executor_runtime.hpp"
#include "tests/fake_mesos/ids.hpp"
#include "tests/fake_mesos/resources.hpp"

namespace tailor::fake_mesos {

struct AgentSpec {
  ResourceSet resources;  // in the order offers list them: ports, cpus, gpus, mem, disk, others
  std::vector<::mesos::v1::Attribute> attributes;
};

Result<AgentSpec> parseAgentSpec(std::string_view text);

enum class ExecutorMode {
  kProcess,    // executors are local processes (the default)
  kSimulated,  // no processes: the agent answers for them (simulated_executor.hpp)
  kExternal,   // nothing is started: a test plays the executor (ExternalExecutorRuntime)
};

struct FakeMesosConfig {
  std::uint16_t port = 0;         // 0 picks a free port
  std::vector<AgentSpec> agents;  // empty: one agent like the captured one
  Duration allocationInterval{1000};
  std::optional<Duration> offerTimeout;  // unset: offers do not expire (Mesos' default)
  Duration heartbeatInterval{15000};
  Duration statusUpdateRetry{10000};  // first re-send of an unacknowledged update; doubles
  Duration statusUpdateRetryMax{600000};
  Duration executorRegistrationTimeout{60000};
  Duration executorReregistrationTimeout{2000};  // after an agent restart (Mesos' default)
  Duration executorShutdownGracePeriod{5000};
  Duration executorHeartbeatInterval{1800000};
  ExecutorMode executorMode = ExecutorMode::kProcess;
  // kExternal: told about each executor launch, returns its pid if known.
  ExternalExecutorRuntime::Hook externalLaunch;
  // kProcess: the binary that runs command tasks (fake-command-executor);
  // empty: `fake-command-executor` beside this process's executable, and when
  // that is missing command tasks fail ("fake-mesos has no command executor").
  // A configured path that is not executable makes start() fail.
  std::string commandExecutor;
  std::string workDir;  // agent sandboxes; empty: a temporary directory removed at stop
  IdSeed ids;           // seed to make recorded ids (golden captures) valid
  // ACKNOWLEDGED reaches the executor only after the scheduler's ACKNOWLEDGE
  // (a real agent sends it as soon as it stored the update).
  bool ackExecutorAfterScheduler = false;

  // A cluster of several fake-mesos processes found through ZooKeeper
  // (zk://host:port[,...]/path; empty: one process, master and agents linked
  // directly). The master contends for leadership there as a Mesos master
  // does (contender.hpp) and answers as a standby while it does not lead; the
  // agents, only those of `agents` (no default one), register with whichever
  // master leads (remote.hpp). A master that loses leadership ends the process
  // with status 1, as a Mesos master does.
  std::string zooKeeper;
  Duration zooKeeperSessionTimeout{10000};  // Mesos' --zk_session_timeout
  bool runMaster = true;                    // false: this process runs agents only
  Duration agentReregisterTimeout{600000};  // Mesos' --agent_reregister_timeout
  // Mesos' --registry=in_memory: the admitted agents are not recorded, so a
  // newly elected master expects none, and answers TASK_UNKNOWN (TASK_LOST
  // without PARTITION_AWARE) for the tasks of agents not registered yet.
  bool inMemoryRegistry = false;
  // After a master failover, this process's agents register with the new
  // leader only after this (RemoteMasterLink::setFailoverRegistrationDelay).
  Duration failoverRegistrationDelay{0};
};

}  // namespace tailor::fake_mesos
