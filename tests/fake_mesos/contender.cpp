#include "tests/fake_mesos/contender.hpp"

#include "common/logging.hpp"
#include "common/zookeeper/election.hpp"

namespace tailor::fake_mesos {

MasterContender::MasterContender(EventLoop& loop, zookeeper::ZooKeeperUrl url, std::string self,
                                 std::string masterInfoJson,
                                 std::unique_ptr<zookeeper::Session> session, Callbacks callbacks)
    : url_(std::move(url)),
      self_(std::move(self)),
      masterInfoJson_(std::move(masterInfoJson)),
      session_(std::move(session)),
      detector_(loop, *session_, url_),
      callbacks_(std::move(callbacks)),
      log_(logger("fake-master")) {}

// Closing the session (its own) takes the node with it, without waiting for
// a ZooKeeper that may be gone.
MasterContender::~MasterContender() {
  if (subscription_ != 0) session_->unsubscribe(subscription_);
}

Result<std::unique_ptr<MasterContender>> MasterContender::start(
    EventLoop& loop, const zookeeper::ZooKeeperUrl& url, std::string self,
    std::string masterInfoJson, Duration sessionTimeout, Callbacks callbacks) {
  zookeeper::SessionOptions options;
  options.hosts = url.hosts;
  options.digest = url.digest;
  options.sessionTimeout = sessionTimeout;
  auto session = zookeeper::Session::connect(loop, options);
  if (!session.ok()) return session.error().withContext("--zk " + url.describe());
  std::unique_ptr<MasterContender> contender(
      new MasterContender(loop, url, std::move(self), std::move(masterInfoJson),
                          std::move(*session), std::move(callbacks)));
  for (const std::string& path : {url.path, contender->registryPath()}) {
    Status made = contender->session_->ensurePath(path);
    if (!made.ok()) return made.error().withContext("--zk " + url.describe());
  }
  Status contending = contender->contend();
  if (!contending.ok()) return contending.error().withContext("--zk " + url.describe());
  MasterContender* raw = contender.get();
  contender->subscription_ =
      contender->session_->subscribe([raw](zookeeper::SessionEvent event) { raw->onSession(event); });
  contender->detector_.start(
      [raw](const std::optional<std::string>& leader) { raw->onLeader(leader); });
  return contender;
}

std::string MasterContender::registryPath() const { return url_.child("fake-registry"); }

Status MasterContender::contend() {
  auto made = session_->create(url_.child(std::string(mesos::kMasterInfoNodePrefix)),
                               masterInfoJson_, zookeeper::CreateMode::kEphemeralSequential);
  if (!made.ok()) return made.error();
  node_ = *made;
  // A create retried after a lost answer may have made two nodes with this
  // master's info: keep the lowest.
  auto names = session_->children(url_.path);
  if (!names.ok()) return names.error();
  std::vector<std::string> ours;
  for (const auto& name :
       zookeeper::sortBySequence(*names, std::string(mesos::kMasterInfoNodePrefix))) {
    auto value = session_->get(url_.child(name));
    if (value.ok() && value->has_value() && (*value)->data == masterInfoJson_) {
      ours.push_back(url_.child(name));
    }
  }
  if (!ours.empty()) {
    node_ = ours.front();
    for (std::size_t i = 1; i < ours.size(); ++i) (void)session_->remove(ours[i]);
  }
  log_->info("contending for leadership in {} as {}", url_.describe(), node_);
  return Status();
}

void MasterContender::onLeader(const std::optional<std::string>& leader) {
  if (lost_) return;
  leader_ = leader;
  bool mine = leader && *leader == self_;
  if (mine && !elected_) {
    elected_ = true;
    std::vector<std::string> admitted;
    auto names = session_->children(registryPath());
    if (names.ok()) {
      admitted = *names;
    } else {
      log_->error("cannot read the registry {}: {}; expecting no agents", registryPath(),
                  names.error().message);
    }
    log_->info("elected: this master ({}) leads with node {}", self_, node_);
    if (callbacks_.elected) callbacks_.elected(admitted);
  } else if (!mine && elected_) {
    elected_ = false;
    lost_ = true;
    if (callbacks_.lost) {
      callbacks_.lost(leader ? "the master " + *leader + " leads now" : "no master leads now");
    }
  }
}

void MasterContender::onSession(zookeeper::SessionEvent event) {
  if (event != zookeeper::SessionEvent::kExpired || lost_) return;
  node_.clear();
  if (elected_) {
    elected_ = false;
    lost_ = true;
    if (callbacks_.lost) callbacks_.lost("its ZooKeeper session expired, and its node with it");
    return;
  }
  Status contending = contend();
  if (!contending.ok()) {
    log_->error("cannot contend again after the session expired: {}", contending.error().message);
  }
}

Status MasterContender::admit(const std::string& agentId) {
  auto made = session_->create(registryPath() + "/" + agentId, "", zookeeper::CreateMode::kPersistent);
  if (!made.ok() && made.error().code != ErrorCode::kFailedPrecondition) return made.error();
  return Status();
}

}  // namespace tailor::fake_mesos
