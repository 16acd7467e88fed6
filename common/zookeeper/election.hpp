#pragma once

// Leader election and leader retrieval on ZooKeeper (the ephemeral sequential
// node recipe).
//
// Contenders for one role share a persistent folder. Each creates an
// ephemeral sequential node "<folder>/latch-<nonce>-<sequence>" that holds
// where it can be reached; the node with the lowest sequence number leads. A
// contender watches only the node just before its own, so one leader's end
// wakes one contender. The node lives as long as the contender's ZooKeeper
// session: a leader that crashes, or is away longer than the session timeout,
// loses its node and the next contender leads.
//
// Fencing: a leader that was away may not know yet that it lost. Writes it
// makes in its role carry Op::check(node()) in the same multi(), so ZooKeeper
// refuses them once the node is gone.
//
// Loop thread only.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/zookeeper/session.hpp"

namespace tailor::zookeeper {

class LeaderElection {
 public:
  struct Callbacks {
    std::function<void()> elected;
    // Leadership is gone (the session expired); `why` says so. The process
    // must stop acting in its role at once.
    std::function<void(const std::string& why)> revoked;
  };

  LeaderElection(EventLoop& loop, Session& session, std::string folder, std::string data);
  // Removes the contender's node (a standby leaves, a leader resigns).
  ~LeaderElection();
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  // Creates the contender's node and looks whether it leads. The callbacks
  // run on the loop, never from inside start().
  Status start(Callbacks callbacks);

  bool leading() const { return leading_; }
  // The contender's node, "<folder>/latch-<nonce>-<sequence>"; empty before start().
  const std::string& node() const { return node_; }

 private:
  void check();
  void retryLater();
  void onSession(SessionEvent event);
  Status createNode();

  EventLoop& loop_;
  Session& session_;
  std::string folder_;
  std::string data_;
  std::string nonce_;
  std::string node_;
  Callbacks callbacks_;
  bool leading_ = false;
  bool stopped_ = false;
  int subscription_ = 0;
  TimerId retryTimer_ = 0;
  bool retryArmed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The current leader's data under `folder`; nullopt when nobody leads. With a
// `namePrefix`, only children whose names start with it contend (Mesos masters'
// "json.info_" nodes share their folder with other nodes).
Result<std::optional<std::string>> currentLeader(Session& session, const std::string& folder,
                                                 const std::string& namePrefix = "");

// The same with a short-lived session of its own, for callers without a loop
// (the CLI, a reporting thread): `url` is zk://HOSTS/PATH and the leaders
// contend under PATH/`child`. kUnavailable when nobody leads; `what` names
// the flag in errors.
Result<std::string> lookUpLeader(const std::string& url, const std::string& child,
                                 const std::string& what);

// Follows who leads under `folder` (among children whose names start with
// `namePrefix`, when given): `changed` runs on the loop with the leader's data
// (nullopt when there is none) at start and after every change.
class LeaderRetrieval {
 public:
  LeaderRetrieval(EventLoop& loop, Session& session, std::string folder,
                  std::string namePrefix = "");
  ~LeaderRetrieval();
  LeaderRetrieval(const LeaderRetrieval&) = delete;
  LeaderRetrieval& operator=(const LeaderRetrieval&) = delete;

  void start(std::function<void(const std::optional<std::string>& leader)> changed);
  const std::optional<std::string>& leader() const { return leader_; }

 private:
  void look();

  EventLoop& loop_;
  Session& session_;
  std::string folder_;
  std::string namePrefix_;
  std::function<void(const std::optional<std::string>&)> changed_;
  std::optional<std::string> leader_;
  bool known_ = false;
  int subscription_ = 0;
  TimerId retryTimer_ = 0;
  bool retryArmed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The children of `folder` that are sequential nodes, lowest sequence first;
// with a `namePrefix`, only those whose names start with it.
std::vector<std::string> sortBySequence(std::vector<std::string> names,
                                        const std::string& namePrefix = "");

}  // namespace tailor::zookeeper
