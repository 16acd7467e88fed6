#pragma once

// A fake master's part in a cluster found through ZooKeeper (--zk), as a
// Mesos master's (reference §2.3): it contends for leadership with an
// ephemeral sequential node "<path>/json.info_<10 digits>" holding its
// MasterInfo as JSON (the lowest node leads), and learns who leads the way
// frameworks do (mesos/master_detector.hpp). Its session ending takes the
// node with it, so the next master takes over once ZooKeeper expires the
// session of one that died.
//
// It also keeps the registry, the agents a leading master admitted, so that
// the next leader expects them to register again. Mesos keeps its registry in
// its replicated log; the fake keeps it in ZooKeeper, one persistent node per
// agent under "<path>/fake-registry" (a child detectors ignore).
//
// Loop thread only.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/zookeeper/session.hpp"
#include "common/zookeeper/url.hpp"
#include "mesos/master_detector.hpp"

namespace spdlog {
class logger;
}

namespace tailor::fake_mesos {

class MasterContender {
 public:
  struct Callbacks {
    // This master leads now; `admitted` are the registry's agents.
    std::function<void(const std::vector<std::string>& admitted)> elected;
    // This master led and does not any more (its session expired, its node
    // is gone): a Mesos master exits then.
    std::function<void(const std::string& why)> lost;
  };

  // Connects (waiting up to 15 s), creates this master's node with
  // `masterInfoJson` and starts following the leader. `self` is this master's
  // host:port, as its MasterInfo gives it. Callbacks run on the loop, never
  // from inside start().
  static Result<std::unique_ptr<MasterContender>> start(EventLoop& loop,
                                                        const zookeeper::ZooKeeperUrl& url,
                                                        std::string self,
                                                        std::string masterInfoJson,
                                                        Duration sessionTimeout,
                                                        Callbacks callbacks);
  // Closes the session, which removes this master's node (a standby leaves,
  // a leader resigns).
  ~MasterContender();
  MasterContender(const MasterContender&) = delete;
  MasterContender& operator=(const MasterContender&) = delete;

  bool elected() const { return elected_; }
  // The leading master's host:port when one is known (this one's when elected).
  const std::optional<std::string>& leader() const { return leader_; }
  // Records an agent in the registry (nothing when it is there already).
  Status admit(const std::string& agentId);

 private:
  MasterContender(EventLoop& loop, zookeeper::ZooKeeperUrl url, std::string self,
                  std::string masterInfoJson, std::unique_ptr<zookeeper::Session> session,
                  Callbacks callbacks);
  Status contend();
  void onLeader(const std::optional<std::string>& leader);
  void onSession(zookeeper::SessionEvent event);
  std::string registryPath() const;

  zookeeper::ZooKeeperUrl url_;
  std::string self_;
  std::string masterInfoJson_;
  std::unique_ptr<zookeeper::Session> session_;
  mesos::ZooKeeperMasterDetector detector_;
  Callbacks callbacks_;
  std::string node_;
  std::optional<std::string> leader_;
  bool elected_ = false;
  bool lost_ = false;
  int subscription_ = 0;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::fake_mesos
