#pragma once

// Master and agents in different fake-mesos processes, as in a real cluster
// whose leading master can change (a cluster found through ZooKeeper, --zk).
// Agents register with whichever master leads, telling it what runs on them
// (Mesos' agents do the same with a newly elected master); the master reaches
// them back at their own port. Messages are protocol.proto's, one HTTP POST
// each (binary protobuf), sent in order on one connection per process.
//
// A registered agent holds a connection to its master open (a Link message
// answered with an empty stream): when the agent's process dies, the master
// sees it close and disconnects the agent (Master::agentDisconnected). A
// restarted agent registers again once it has recovered.
//
// What it does not do, compared with Mesos: no agent pings (a master does not
// notice an agent's process that hangs), no authentication between them, agent
// ids made by the agent process (a Mesos master gives them at the first
// registration), and an executor's exit or message while the agent has no
// master is lost (status updates are not: the agent re-sends them until
// acknowledged, and at once after registering).
//
// Loop thread only.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/result.hpp"
#include "tests/fake_mesos/agent.hpp"
#include "tests/fake_mesos/protocol.pb.h"

namespace spdlog {
class logger;
}

namespace tailor::fake_mesos {

class Master;

// Where each side receives the other's messages.
inline constexpr const char* kAgentMessagePath = "/fake/internal/agent-message";
inline constexpr const char* kMasterMessagePath = "/fake/internal/master-message";

// An agent of another process, as its master sees it: what the master asks
// of it becomes a message to its process.
class RemoteAgent : public AgentLink {
 public:
  // `master` is this master's host:port, which the agent checks.
  RemoteAgent(AgentConfig config, std::string master, http::HttpClient& client);

  const AgentConfig& config() const override { return config_; }
  void runTask(const ::mesos::v1::FrameworkInfo& framework,
               const ::mesos::v1::TaskInfo& task) override;
  void killTask(const std::string& frameworkId, const std::string& taskId,
                const std::optional<::mesos::v1::KillPolicy>& killPolicy) override;
  void acknowledge(const std::string& frameworkId, const std::string& taskId,
                   const std::string& uuid) override;
  void shutdownFramework(const std::string& frameworkId) override;
  void shutdownExecutor(const std::string& frameworkId, const std::string& executorId) override;
  void frameworkMessage(const std::string& frameworkId, const std::string& executorId,
                        const std::string& data) override;
  void resendPendingUpdates(const std::string& frameworkId) override;
  void lose() override;
  void reconcileTasks(const ::mesos::v1::FrameworkInfo& framework,
                      const std::vector<std::string>& taskIds) override;
  // The executors this master started there and has not heard end.
  std::vector<std::string> executorIds(const std::string& frameworkId) const override;

  // What runs there (from its registration, which replaces what was known).
  void recovered(const AgentRecovery& recovery);
  // The agent said the executor ended.
  void executorEnded(const std::string& frameworkId, const std::string& executorId);

 private:
  void send(protocol::MasterMessage message);

  AgentConfig config_;
  std::string master_;
  http::HttpClient& client_;
  std::map<std::string, std::set<std::string>> executors_;  // by framework
  std::shared_ptr<spdlog::logger> log_;
};

// The master's side: agents of other processes register here and send their
// updates; the caller serves kAgentMessagePath with handle() while `master`
// leads (and answers as a standby otherwise).
class RemoteAgents {
 public:
  // `admit` runs before an agent new to this master registers (the registry
  // records it there); its error makes the registration fail (503), and the
  // agent tries again.
  RemoteAgents(EventLoop& loop, Master& master, std::string self, http::HttpClient& client,
               std::function<Status(const std::string& agentId)> admit);
  ~RemoteAgents();

  // One AgentMessage: 200 for a registration, 202 for the rest, 400 for a
  // body that is not one, 404 from an agent that has not registered here;
  // a Link is answered with a stream held open.
  http::Response handle(const http::Request& request);

 private:
  struct Link {
    std::uint64_t generation = 0;
    std::shared_ptr<http::StreamWriter> writer;
  };

  http::Response registerAgent(const std::string& agentId,
                               const protocol::AgentMessage::Register& message);
  http::Response link(const std::string& agentId);
  void linkClosed(const std::string& agentId, std::uint64_t generation);

  EventLoop& loop_;
  Master& master_;
  std::string self_;
  http::HttpClient& client_;
  std::function<Status(const std::string&)> admit_;
  std::map<std::string, std::unique_ptr<RemoteAgent>> agents_;
  std::map<std::string, Link> links_;  // by agent id: the open one
  std::uint64_t nextLink_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<spdlog::logger> log_;
};

// The agents' side: the MasterLink of this process's agents, which follows
// the leading master (told by a detector), registers every agent with it and
// passes the agents' updates on while registered.
class RemoteMasterLink : public MasterLink {
 public:
  // `retry`: the pause before a failed registration is tried again.
  RemoteMasterLink(EventLoop& loop, http::HttpClient& client, Duration retry = Duration(1000));
  ~RemoteMasterLink() override;

  // An agent of this process (constructed with this link). Before leaderChanged().
  void addAgent(Agent& agent);
  // The agent finished its recovery (Agent::recover): it registers now if a
  // leader is known. An agent registers only once recovered.
  void agentRecovered(const std::string& agentId);
  // The leading master is `leader` now (nullopt: none is known).
  void leaderChanged(const std::optional<std::string>& leader);
  // After a master failover (a leader other than the first one known), the
  // agents register with the new one only after `delay` (zero: at once). It
  // stands for Mesos' agent registration back-off (--registration_backoff_factor:
  // a random wait up to it), made exact for tests, or a slow agent.
  void setFailoverRegistrationDelay(Duration delay) { failoverDelay_ = delay; }
  // One MasterMessage: 202, 400 for a body that is not one, 404 for an
  // unknown agent, 409 when it comes from a master that is not the leader.
  http::Response handle(const http::Request& request);

  // --- MasterLink ---------------------------------------------------------------
  void forwardStatusUpdate(const std::string& agentId, const std::string& frameworkId,
                           const ::mesos::v1::TaskStatus& status,
                           ::mesos::v1::TaskState latestState) override;
  void executorExited(const std::string& agentId, const std::string& frameworkId,
                      const std::string& executorId, int status) override;
  void executorMessage(const std::string& agentId, const std::string& frameworkId,
                       const std::string& executorId, const std::string& data) override;

 private:
  void registerAgent(const std::string& agentId);
  void retryRegistration(const std::string& agentId);
  // Sends to the leader if `agentId` is registered with it; else drops `what`.
  void sendRegistered(protocol::AgentMessage message, const std::string& what);
  void post(const protocol::AgentMessage& message, std::function<void(int status)> done);
  // Holds the agent's Link to the leader open (replacing an earlier one).
  void openLink(const std::string& agentId);
  void closeLinks();

  EventLoop& loop_;
  http::HttpClient& client_;
  Duration retry_;
  Duration failoverDelay_{0};
  bool hadLeader_ = false;  // a leader was known before (the next one is a failover)
  std::optional<std::string> leader_;
  std::map<std::string, Agent*> agents_;
  std::set<std::string> registered_;  // with leader_
  std::map<std::string, TimerId> retries_;
  // Open links by agent id (the latest generation counts); ended ones are
  // dropped when their call reports its end.
  std::map<std::string, std::pair<std::uint64_t, std::unique_ptr<http::StreamingCall>>> links_;
  std::map<std::uint64_t, std::unique_ptr<http::StreamingCall>> closingLinks_;
  std::uint64_t nextLink_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::fake_mesos
