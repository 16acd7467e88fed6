#pragma once

// Finding the leading Mesos master through ZooKeeper (reference §2.3).
//
// Mesos masters started with `--zk=zk://host:port,.../mesos` contend for
// leadership under that path: each owns an ephemeral sequential child
// `json.info_<10 digits>` whose data is its MasterInfo as JSON, and the child
// with the lowest sequence number leads. Other children (`log_replicas`, the
// `info_` nodes of very old masters) take no part. A detector follows those
// children and says where the leader can be reached, "host:port".

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/session.hpp"
#include "common/zookeeper/url.hpp"

namespace spdlog {
class logger;
}

namespace tailor::mesos {

// The name prefix of the masters' nodes.
inline constexpr std::string_view kMasterInfoNodePrefix = "json.info_";

// Where to reach the master a MasterInfo describes (the JSON a master writes
// to its node), as "host:port": `address.hostname`, else `address.ip`, with
// `address.port`; without an `address`, the deprecated packed `ip` (IPv4 in
// network byte order) with `port` (5050 when absent). Errors say what is
// missing or malformed and what was expected. Pure.
Result<std::string> masterAddressOf(std::string_view masterInfoJson);

// Follows which master leads. The real one reads ZooKeeper; tests script one.
class MasterDetector {
 public:
  virtual ~MasterDetector() = default;

  // Starts following. `changed` runs on the loop with the leader's
  // "host:port", or nullopt while no master leads (or the leader's MasterInfo
  // cannot be read): once when first known, then after every change. Once.
  virtual void start(std::function<void(const std::optional<std::string>& leader)> changed) = 0;

  // Where it looks, for logs (no credentials): "zk://zk1:2181/mesos".
  virtual std::string describe() const = 0;
};

// The detector on ZooKeeper. Loop thread only.
class ZooKeeperMasterDetector : public MasterDetector {
 public:
  // Follows the masters of `url` on a session the caller owns and keeps open
  // longer than the detector.
  ZooKeeperMasterDetector(EventLoop& loop, zookeeper::Session& session, zookeeper::ZooKeeperUrl url);

  // Connects to the ensemble of `url` (its digest credentials added), waiting
  // up to `connectTimeout`; the error names the ensemble. A session that
  // expires later is renewed by itself and the leader looked up again.
  static Result<std::unique_ptr<ZooKeeperMasterDetector>> connect(
      EventLoop& loop, const zookeeper::ZooKeeperUrl& url,
      Duration connectTimeout = Duration(15000));
  ~ZooKeeperMasterDetector() override;

  void start(std::function<void(const std::optional<std::string>& leader)> changed) override;
  std::string describe() const override { return url_.describe(); }

 private:
  ZooKeeperMasterDetector(EventLoop& loop, zookeeper::ZooKeeperUrl url,
                          std::unique_ptr<zookeeper::Session> session);
  void onLeaderData(const std::optional<std::string>& data);

  zookeeper::ZooKeeperUrl url_;
  std::unique_ptr<zookeeper::Session> ownedSession_;  // null on a borrowed session
  zookeeper::LeaderRetrieval retrieval_;
  std::function<void(const std::optional<std::string>&)> changed_;
  std::optional<std::string> leader_;
  bool known_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

// The leading master of `url` now, once, without following it (for
// command-line tools): "host:port", or nullopt when no master leads. Blocks up
// to about `timeout`; errors name the ensemble or what is wrong with the
// leader's MasterInfo.
Result<std::optional<std::string>> findLeadingMaster(const zookeeper::ZooKeeperUrl& url,
                                                     Duration timeout = Duration(15000));

}  // namespace tailor::mesos
