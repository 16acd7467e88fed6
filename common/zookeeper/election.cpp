#include "common/zookeeper/election.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "common/asio_event_loop.hpp"
#include "common/logging.hpp"
#include "common/zookeeper/url.hpp"

namespace tailor::zookeeper {

namespace {

constexpr Duration kRetryDelay{1000};

auto log() { return logger("zookeeper"); }

std::string makeNonce() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

std::string baseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

std::vector<std::string> sortBySequence(std::vector<std::string> names,
                                        const std::string& namePrefix) {
  names.erase(std::remove_if(names.begin(), names.end(),
                             [&](const std::string& name) {
                               return sequenceOf(name) < 0 || name.rfind(namePrefix, 0) != 0;
                             }),
              names.end());
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return sequenceOf(a) < sequenceOf(b);
  });
  return names;
}

LeaderElection::LeaderElection(EventLoop& loop, Session& session, std::string folder,
                               std::string data)
    : loop_(loop),
      session_(session),
      folder_(std::move(folder)),
      data_(std::move(data)),
      nonce_(makeNonce()) {}

LeaderElection::~LeaderElection() {
  *alive_ = false;
  stopped_ = true;
  if (retryArmed_) loop_.cancelTimer(retryTimer_);
  if (subscription_ != 0) session_.unsubscribe(subscription_);
  if (!node_.empty()) {
    Status removed = session_.remove(node_);
    if (!removed.ok()) log()->warn("cannot remove {}: {}", node_, removed.error().message);
  }
}

Status LeaderElection::start(Callbacks callbacks) {
  callbacks_ = std::move(callbacks);
  Status folder = session_.ensurePath(folder_);
  if (!folder.ok()) return folder;
  Status created = createNode();
  if (!created.ok()) return created;
  subscription_ = session_.subscribe([this](SessionEvent event) { onSession(event); });
  loop_.post([this, alive = alive_] {
    if (*alive) check();
  });
  return Status();
}

Status LeaderElection::createNode() {
  auto created =
      session_.create(folder_ + "/latch-" + nonce_ + "-", data_, CreateMode::kEphemeralSequential);
  if (!created.ok()) return created.error();
  node_ = *created;
  // A create retried after a lost answer may have made two nodes: keep the
  // lowest of ours, remove the others.
  auto names = session_.children(folder_);
  if (!names.ok()) return names.error();
  std::vector<std::string> ours;
  for (const auto& name : sortBySequence(*names)) {
    if (name.find(nonce_) != std::string::npos) ours.push_back(name);
  }
  if (!ours.empty()) {
    node_ = folder_ + "/" + ours.front();
    for (std::size_t i = 1; i < ours.size(); ++i) (void)session_.remove(folder_ + "/" + ours[i]);
  }
  log()->debug("contending for {} as {}", folder_, baseName(node_));
  return Status();
}

void LeaderElection::retryLater() {
  if (retryArmed_ || stopped_) return;
  retryArmed_ = true;
  retryTimer_ = loop_.runAfter(kRetryDelay, [this] {
    retryArmed_ = false;
    check();
  });
}

void LeaderElection::check() {
  if (stopped_) return;
  if (node_.empty()) {
    Status created = createNode();
    if (!created.ok()) {
      log()->warn("cannot contend for {}: {}", folder_, created.error().message);
      retryLater();
      return;
    }
  }
  auto names = session_.children(folder_);
  if (!names.ok()) {
    log()->warn("cannot list {}: {}", folder_, names.error().message);
    retryLater();
    return;
  }
  std::vector<std::string> sorted = sortBySequence(*names);
  std::string mine = baseName(node_);
  auto it = std::find(sorted.begin(), sorted.end(), mine);
  if (it == sorted.end()) {
    // Our node is gone (our session expired): contend again, unless we led.
    if (leading_) {
      leading_ = false;
      stopped_ = true;
      if (callbacks_.revoked) callbacks_.revoked("its ZooKeeper node " + node_ + " is gone");
      return;
    }
    node_.clear();
    check();
    return;
  }
  if (it == sorted.begin()) {
    if (!leading_) {
      leading_ = true;
      log()->info("leading {} as {}", folder_, mine);
      if (callbacks_.elected) callbacks_.elected();
    }
    return;
  }
  std::string previous = folder_ + "/" + *(it - 1);
  auto watched = session_.watchGet(previous, [this, alive = alive_] {
    if (*alive) check();
  });
  if (!watched.ok()) {
    retryLater();
    return;
  }
  if (!watched->has_value()) {
    check();  // it went between the list and the watch
    return;
  }
  log()->debug("waiting behind {} for {}", baseName(previous), folder_);
}

void LeaderElection::onSession(SessionEvent event) {
  if (event != SessionEvent::kExpired || stopped_) return;
  if (leading_) {
    leading_ = false;
    stopped_ = true;
    node_.clear();
    if (callbacks_.revoked) callbacks_.revoked("its ZooKeeper session expired");
    return;
  }
  node_.clear();
  check();
}

Result<std::optional<std::string>> currentLeader(Session& session, const std::string& folder,
                                                 const std::string& namePrefix) {
  auto names = session.children(folder);
  if (!names.ok()) {
    if (names.error().code == ErrorCode::kNotFound) return std::optional<std::string>();
    return names.error();
  }
  for (const auto& name : sortBySequence(*names, namePrefix)) {
    auto value = session.get(folder + "/" + name);
    if (!value.ok()) return value.error();
    if (value->has_value()) return std::optional<std::string>((*value)->data);
    // Gone since the list: the next one.
  }
  return std::optional<std::string>();
}

Result<std::string> lookUpLeader(const std::string& text, const std::string& child,
                                 const std::string& what) {
  auto url = parseZooKeeperUrl(text, what);
  if (!url.ok()) return url.error();
  AsioEventLoop loop;  // never run: one synchronous read
  SessionOptions options;
  options.hosts = url->hosts;
  options.digest = url->digest;
  options.connectTimeout = Duration(5000);
  options.retryFor = Duration(5000);
  auto session = Session::connect(loop, options);
  if (!session.ok()) return session.error();
  auto leader = currentLeader(**session, url->child(child));
  if (!leader.ok()) return leader.error();
  if (!leader->has_value()) {
    return makeError(ErrorCode::kUnavailable, "nobody leads in {} yet", url->describe());
  }
  return **leader;
}

LeaderRetrieval::LeaderRetrieval(EventLoop& loop, Session& session, std::string folder,
                                 std::string namePrefix)
    : loop_(loop),
      session_(session),
      folder_(std::move(folder)),
      namePrefix_(std::move(namePrefix)) {}

LeaderRetrieval::~LeaderRetrieval() {
  *alive_ = false;
  if (retryArmed_) loop_.cancelTimer(retryTimer_);
  if (subscription_ != 0) session_.unsubscribe(subscription_);
}

void LeaderRetrieval::start(std::function<void(const std::optional<std::string>&)> changed) {
  changed_ = std::move(changed);
  subscription_ = session_.subscribe([this](SessionEvent event) {
    if (event == SessionEvent::kExpired) look();
  });
  loop_.post([this, alive = alive_] {
    if (*alive) look();
  });
}

void LeaderRetrieval::look() {
  auto retry = [this] {
    if (retryArmed_) return;
    retryArmed_ = true;
    retryTimer_ = loop_.runAfter(kRetryDelay, [this] {
      retryArmed_ = false;
      look();
    });
  };
  Status folder = session_.ensurePath(folder_);
  if (!folder.ok()) {
    retry();
    return;
  }
  auto names = session_.watchChildren(folder_, [this, alive = alive_] {
    if (*alive) look();
  });
  if (!names.ok()) {
    log()->warn("cannot list {}: {}", folder_, names.error().message);
    retry();
    return;
  }
  std::optional<std::string> leader;
  for (const auto& name : sortBySequence(*names, namePrefix_)) {
    auto value = session_.get(folder_ + "/" + name);
    if (!value.ok()) {
      retry();
      return;
    }
    if (value->has_value()) {
      leader = (*value)->data;
      break;
    }
  }
  if (known_ && leader == leader_) return;
  known_ = true;
  leader_ = leader;
  if (changed_) changed_(leader_);
}

}  // namespace tailor::zookeeper
