#include "scheduler/ha/job_state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "common/file_chunk.hpp"
#include "common/logging.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/session.hpp"
#include "common/zookeeper/url.hpp"
#include "common/zookeeper/values.hpp"

namespace tailor::scheduler {

namespace fs = std::filesystem;

namespace {

auto log() { return logger("jobstate"); }

Result<std::optional<v1::JobManagerState>> parseState(const std::optional<std::string>& bytes,
                                                      const std::string& where, int attempt) {
  if (!bytes) return std::optional<v1::JobManagerState>();
  v1::JobManagerState state;
  if (!state.ParseFromString(*bytes)) {
    return makeError(ErrorCode::kInternal, "{}: not a JobManager state", where);
  }
  if (state.attempt() > attempt) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "{}: attempt {} of this job wrote it, newer than this attempt {}; this "
                     "attempt is stale and stops",
                     where, state.attempt(), attempt);
  }
  return std::optional<v1::JobManagerState>(std::move(state));
}

// local:DIR
class LocalJobStateStore : public JobStateStore {
 public:
  LocalJobStateStore(EventLoop& loop, std::string dir) : loop_(loop), dir_(std::move(dir)) {}
  ~LocalJobStateStore() override {
    *alive_ = false;
    if (lockFd_ >= 0) ::close(lockFd_);
  }

  void campaign(int attempt, std::function<void()> elected,
                std::function<void(const std::string&)> revoked) override {
    elected_ = std::move(elected);
    revoked_ = std::move(revoked);
    std::string path = dir_ + "/leader.lock";
    lockFd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockFd_ < 0) {
      std::string why = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
      loop_.post([this, why, alive = alive_] {
        if (*alive && revoked_) revoked_(why);
      });
      return;
    }
    loop_.post([this, alive = alive_] {
      if (*alive) tryLock();
    });
  }

  Result<std::optional<v1::JobManagerState>> load(int attempt) override {
    return parseState(readWholeFile(dir_ + "/state.pb"), dir_ + "/state.pb", attempt);
  }

  Status save(const v1::JobManagerState& state) override {
    return writeFileAtomically(dir_ + "/state.pb", state.SerializeAsString());
  }

  std::string describe() const override { return "local:" + dir_; }

 private:
  void tryLock() {
    if (::flock(lockFd_, LOCK_EX | LOCK_NB) == 0) {
      if (elected_) elected_();
      return;
    }
    if (!waiting_) {
      waiting_ = true;
      log()->warn("another attempt of this job still holds {}/leader.lock; waiting for it to end",
                  dir_);
    }
    loop_.runAfter(Duration(200), [this, alive = alive_] {
      if (*alive) tryLock();
    });
  }

  EventLoop& loop_;
  std::string dir_;
  int lockFd_ = -1;
  bool waiting_ = false;
  std::function<void()> elected_;
  std::function<void(const std::string&)> revoked_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// zk://HOSTS/PATH
class ZooKeeperJobStateStore : public JobStateStore {
 public:
  ZooKeeperJobStateStore(EventLoop& loop, std::unique_ptr<zookeeper::Session> session,
                         zookeeper::ZooKeeperUrl url)
      : loop_(loop), session_(std::move(session)), url_(std::move(url)) {}

  void campaign(int attempt, std::function<void()> elected,
                std::function<void(const std::string&)> revoked) override {
    election_ = std::make_unique<zookeeper::LeaderElection>(
        loop_, *session_, url_.child("leader"), "attempt " + std::to_string(attempt));
    Status started = election_->start({std::move(elected), revoked});
    if (!started.ok()) {
      std::string why = started.error().message;
      loop_.post([revoked, why] {
        if (revoked) revoked(why);
      });
    }
  }

  Result<std::optional<v1::JobManagerState>> load(int attempt) override {
    auto value = zookeeper::readValue(*session_, url_.child("state"));
    if (!value.ok()) return value.error();
    return parseState(*value, url_.describe() + "/state", attempt);
  }

  Status save(const v1::JobManagerState& state) override {
    return zookeeper::writeValue(*session_, url_.child("state"), state.SerializeAsString(),
                                 election_ ? election_->node() : "");
  }

  std::string describe() const override { return url_.describe(); }

 private:
  EventLoop& loop_;
  std::unique_ptr<zookeeper::Session> session_;
  zookeeper::ZooKeeperUrl url_;
  std::unique_ptr<zookeeper::LeaderElection> election_;
};

}  // namespace

Result<std::unique_ptr<JobStateStore>> openJobStateStore(EventLoop& loop,
                                                         const std::string& spec) {
  if (zookeeper::isZooKeeperUrl(spec)) {
    auto url = zookeeper::parseZooKeeperUrl(spec, "--ha-store");
    if (!url.ok()) return url.error();
    zookeeper::SessionOptions options;
    options.hosts = url->hosts;
    options.digest = url->digest;
    auto session = zookeeper::Session::connect(loop, options);
    if (!session.ok()) return session.error().withContext("--ha-store");
    Status made = (*session)->ensurePath(url->path);
    if (!made.ok()) return made.error().withContext("--ha-store");
    return std::unique_ptr<JobStateStore>(
        new ZooKeeperJobStateStore(loop, std::move(*session), *url));
  }
  const std::string prefix = "local:";
  if (spec.rfind(prefix, 0) != 0 || spec.size() == prefix.size()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--ha-store: '{}' is not a state store (expected local:DIR or "
                     "zk://HOST:PORT[,HOST:PORT...]/PATH)",
                     spec);
  }
  std::error_code ec;
  fs::path dir = fs::absolute(spec.substr(prefix.size()), ec).lexically_normal();
  fs::create_directories(dir, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "--ha-store: cannot create '{}': {}", dir.string(),
                     ec.message());
  }
  std::string text = dir.string();
  if (text.size() > 1 && text.back() == '/') text.pop_back();
  return std::unique_ptr<JobStateStore>(new LocalJobStateStore(loop, text));
}

}  // namespace tailor::scheduler
