#include "mesos/master_detector.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/asio_event_loop.hpp"
#include "common/logging.hpp"
#include "mesos/codec.hpp"

namespace tailor::mesos {

namespace {

constexpr const char* kExpected =
    "expected a MasterInfo as JSON with address.hostname or address.ip and address.port, or the "
    "packed ip and port";

Error badInfo(const std::string& problem) {
  return makeError(ErrorCode::kInvalidArgument, "MasterInfo {} ({})", problem, kExpected);
}

// A host name or address a URL can carry: no spaces, controls or URL syntax.
bool usableHost(const std::string& host) {
  return !host.empty() && std::none_of(host.begin(), host.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '@' || c == '?' || c == '#' ||
           c == 0x7f;
  });
}

Result<std::string> hostPort(const std::string& host, std::int64_t port, const char* portField) {
  if (!usableHost(host)) return badInfo(fmt::format("has an unusable host '{}'", host));
  if (port < 1 || port > 65535) {
    return badInfo(fmt::format("has {} {}, which is not a port from 1 to 65535", portField, port));
  }
  // An IPv6 address goes in brackets, as in a URL.
  bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return fmt::format("{}{}{}:{}", ipv6 ? "[" : "", host, ipv6 ? "]" : "", port);
}

// The packed IPv4 of MasterInfo.ip: network byte order read as a number on a
// little-endian machine, so the first octet is the lowest byte.
std::string unpackIp(std::uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip & 0xff, (ip >> 8) & 0xff, (ip >> 16) & 0xff,
                     (ip >> 24) & 0xff);
}

}  // namespace

Result<std::string> masterAddressOf(std::string_view json) {
  if (json.empty()) return badInfo("is empty");
  ::mesos::v1::MasterInfo info;
  Status parsed = decodeJsonMessage(json, info);
  if (!parsed.ok()) {
    return badInfo(fmt::format("is not understood ({} bytes): {}", json.size(),
                               parsed.error().message));
  }
  if (info.has_address()) {
    const auto& address = info.address();
    std::string host = !address.hostname().empty() ? address.hostname() : address.ip();
    if (host.empty()) return badInfo("has an address with neither hostname nor ip");
    return hostPort(host, address.port(), "address.port");
  }
  if (info.has_ip() && info.ip() != 0) return hostPort(unpackIp(info.ip()), info.port(), "port");
  return badInfo("has neither address nor ip");
}

ZooKeeperMasterDetector::ZooKeeperMasterDetector(EventLoop& loop, zookeeper::Session& session,
                                                 zookeeper::ZooKeeperUrl url)
    : url_(std::move(url)),
      retrieval_(loop, session, url_.path, std::string(kMasterInfoNodePrefix)),
      log_(logger("mesos-detector")) {}

ZooKeeperMasterDetector::ZooKeeperMasterDetector(EventLoop& loop, zookeeper::ZooKeeperUrl url,
                                                 std::unique_ptr<zookeeper::Session> session)
    : url_(std::move(url)),
      ownedSession_(std::move(session)),
      retrieval_(loop, *ownedSession_, url_.path, std::string(kMasterInfoNodePrefix)),
      log_(logger("mesos-detector")) {}

ZooKeeperMasterDetector::~ZooKeeperMasterDetector() = default;

Result<std::unique_ptr<ZooKeeperMasterDetector>> ZooKeeperMasterDetector::connect(
    EventLoop& loop, const zookeeper::ZooKeeperUrl& url, Duration connectTimeout) {
  zookeeper::SessionOptions options;
  options.hosts = url.hosts;
  options.digest = url.digest;
  options.connectTimeout = connectTimeout;
  auto session = zookeeper::Session::connect(loop, options);
  if (!session.ok()) {
    return session.error().withContext("finding the Mesos master in " + url.describe());
  }
  return std::unique_ptr<ZooKeeperMasterDetector>(
      new ZooKeeperMasterDetector(loop, url, std::move(*session)));
}

void ZooKeeperMasterDetector::start(
    std::function<void(const std::optional<std::string>& leader)> changed) {
  changed_ = std::move(changed);
  log_->info("looking for the leading Mesos master in {}", describe());
  retrieval_.start([this](const std::optional<std::string>& data) { onLeaderData(data); });
}

void ZooKeeperMasterDetector::onLeaderData(const std::optional<std::string>& data) {
  std::optional<std::string> leader;
  if (!data) {
    log_->warn("no Mesos master leads in {}", describe());
  } else if (auto address = masterAddressOf(*data); address.ok()) {
    leader = *address;
  } else {
    log_->error("the leading master's node in {} is not usable: {}; waiting for it to change",
                describe(), address.error().message);
  }
  if (known_ && leader == leader_) return;
  known_ = true;
  leader_ = leader;
  if (leader) log_->info("the leading Mesos master is {} (from {})", *leader, describe());
  if (changed_) changed_(leader_);
}

Result<std::optional<std::string>> findLeadingMaster(const zookeeper::ZooKeeperUrl& url,
                                                     Duration timeout) {
  // The session posts its events to a loop; nothing here waits for them.
  AsioEventLoop loop;
  zookeeper::SessionOptions options;
  options.hosts = url.hosts;
  options.digest = url.digest;
  options.connectTimeout = timeout;
  options.retryFor = timeout;
  auto session = zookeeper::Session::connect(loop, options);
  if (!session.ok()) {
    return session.error().withContext("finding the Mesos master in " + url.describe());
  }
  auto data = zookeeper::currentLeader(**session, url.path, std::string(kMasterInfoNodePrefix));
  if (!data.ok()) return data.error().withContext("finding the Mesos master in " + url.describe());
  if (!data->has_value()) return std::optional<std::string>();
  auto address = masterAddressOf(**data);
  if (!address.ok()) {
    return address.error().withContext("the leading master's node in " + url.describe());
  }
  return std::optional<std::string>(*address);
}

}  // namespace tailor::mesos
