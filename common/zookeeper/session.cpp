#include "common/zookeeper/session.hpp"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "common/logging.hpp"

namespace tailor::zookeeper {

namespace {

auto log() { return logger("zookeeper"); }

void logFromClient(const char* message) {
  // The C client's own lines (connection attempts, errors) are detail; what
  // matters is said by the Session at info and warn.
  log()->debug("client: {}", message);
}

int modeFlags(CreateMode mode) {
  switch (mode) {
    case CreateMode::kPersistent:
      return ZOO_PERSISTENT;
    case CreateMode::kEphemeral:
      return ZOO_EPHEMERAL;
    case CreateMode::kPersistentSequential:
      return ZOO_PERSISTENT_SEQUENTIAL;
    case CreateMode::kEphemeralSequential:
      return ZOO_EPHEMERAL_SEQUENTIAL;
  }
  return ZOO_PERSISTENT;
}

bool retryable(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONMOVED;
}

bool expired(int rc) { return rc == ZSESSIONEXPIRED || rc == ZINVALIDSTATE; }

ErrorCode codeOf(int rc) {
  if (rc == ZNONODE) return ErrorCode::kNotFound;
  if (rc == ZNODEEXISTS || rc == ZBADVERSION || rc == ZNOTEMPTY)
    return ErrorCode::kFailedPrecondition;
  if (retryable(rc) || expired(rc)) return ErrorCode::kUnavailable;
  if (rc == ZBADARGUMENTS) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

}  // namespace

struct Shared;

// Watch contexts live in a registry of the session's, so that nothing is
// freed by the client's thread and nothing leaks when a handle closes.
struct WatchContext {
  std::function<void()> changed;
  std::weak_ptr<Shared> shared;
};

const char* toString(SessionEvent event) {
  switch (event) {
    case SessionEvent::kConnected:
      return "connected";
    case SessionEvent::kDisconnected:
      return "disconnected";
    case SessionEvent::kExpired:
      return "expired";
  }
  return "?";
}

Op Op::create(std::string path, std::string data, CreateMode mode) {
  Op op;
  op.kind = Kind::kCreate;
  op.path = std::move(path);
  op.data = std::move(data);
  op.mode = mode;
  return op;
}
Op Op::set(std::string path, std::string data, int version) {
  Op op;
  op.kind = Kind::kSet;
  op.path = std::move(path);
  op.data = std::move(data);
  op.version = version;
  return op;
}
Op Op::remove(std::string path, int version) {
  Op op;
  op.kind = Kind::kRemove;
  op.path = std::move(path);
  op.version = version;
  return op;
}
Op Op::check(std::string path, int version) {
  Op op;
  op.kind = Kind::kCheck;
  op.path = std::move(path);
  op.version = version;
  return op;
}

std::int64_t sequenceOf(const std::string& name) {
  if (name.size() < 10) return -1;
  std::int64_t value = 0;
  for (std::size_t i = name.size() - 10; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    value = value * 10 + (name[i] - '0');
  }
  return value;
}

// What the client's threads may touch, shared with closures they post: a
// closure that runs after the Session is gone finds `impl` null.
struct Shared {
  EventLoop* loop = nullptr;
  std::mutex mutex;
  std::condition_variable cv;
  Session::Impl* impl = nullptr;  // read on the loop thread only
  std::uint64_t generation = 0;   // of the current handle
  int state = 0;                  // the last session state of the current handle
  std::map<WatchContext*, std::unique_ptr<WatchContext>> watches;
};

// The context of a handle's global watcher: which session, which handle.
struct HandleContext {
  std::weak_ptr<Shared> shared;
  std::uint64_t generation = 0;
};

struct Session::Impl {
  SessionOptions options;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  zhandle_t* handle = nullptr;
  std::unique_ptr<HandleContext> handleContext;
  std::map<int, std::function<void(SessionEvent)>> listeners;
  int nextListener = 1;
  bool everConnected = false;
  bool disconnected = false;

  static void globalWatcher(zhandle_t*, int type, int state, const char*, void* context);
  static void pathWatcher(zhandle_t*, int type, int state, const char*, void* context);

  // Starts a new handle (a new ZooKeeper session); does not wait.
  Status open();
  // Closes the handle and fires the watches it carried.
  void close();
  void onState(std::uint64_t generation, int state);
  // After an expiry: a new session, every watch fired, listeners told.
  void renew();
  void notify(SessionEvent event);
  WatchContext* addWatch(std::function<void()> changed);
  void dropWatch(WatchContext* context);

  // Runs `call` (one client call returning a ZooKeeper code) until it answers
  // with something other than a connection loss, or retryFor has passed.
  template <typename Call>
  int retry(Call&& call) {
    auto deadline = std::chrono::steady_clock::now() + options.retryFor;
    while (true) {
      int rc = call();
      if (expired(rc)) {
        renew();
      } else if (!retryable(rc)) {
        return rc;
      }
      if (std::chrono::steady_clock::now() >= deadline) return rc;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  Error failure(int rc, const std::string& what, const std::string& path) const {
    if (retryable(rc) || expired(rc)) {
      return makeError(ErrorCode::kUnavailable,
                       "ZooKeeper at {} unreachable: {} '{}' failed for {} ms ({})", options.hosts,
                       what, path, options.retryFor.count(), zerror(rc));
    }
    return makeError(codeOf(rc), "ZooKeeper {} '{}': {}", what, path, zerror(rc));
  }
};

void Session::Impl::globalWatcher(zhandle_t*, int type, int state, const char*, void* context) {
  if (type != ZOO_SESSION_EVENT || context == nullptr) return;
  auto* handleContext = static_cast<HandleContext*>(context);
  std::shared_ptr<Shared> shared = handleContext->shared.lock();
  if (!shared) return;
  std::uint64_t generation = handleContext->generation;
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    if (shared->generation == generation) shared->state = state;
  }
  shared->cv.notify_all();
  shared->loop->post([shared, generation, state] {
    if (shared->impl != nullptr) shared->impl->onState(generation, state);
  });
}

void Session::Impl::pathWatcher(zhandle_t*, int type, int, const char*, void* context) {
  // Session events reach path watchers too but leave the watch in place; an
  // expiry is the session's business (renew() fires every watch).
  if (type == ZOO_SESSION_EVENT || context == nullptr) return;
  auto* watch = static_cast<WatchContext*>(context);
  // Valid: contexts are freed only after their handle (whose thread this is)
  // has been closed, or here, once.
  std::shared_ptr<Shared> shared = watch->shared.lock();
  if (!shared) return;
  std::unique_ptr<WatchContext> owned;
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    auto it = shared->watches.find(watch);
    if (it == shared->watches.end()) return;
    owned = std::move(it->second);
    shared->watches.erase(it);
  }
  std::shared_ptr<WatchContext> fired(std::move(owned));
  shared->loop->post([shared, fired] {
    if (shared->impl != nullptr) fired->changed();
  });
}

Status Session::Impl::open() {
  std::uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    generation = ++shared->generation;
    shared->state = 0;
  }
  handleContext = std::make_unique<HandleContext>();
  handleContext->shared = shared;
  handleContext->generation = generation;
  handle = zookeeper_init2(options.hosts.c_str(), &Impl::globalWatcher,
                           static_cast<int>(options.sessionTimeout.count()), nullptr,
                           handleContext.get(), 0, &logFromClient);
  if (handle == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, "ZooKeeper hosts '{}': {}", options.hosts,
                     std::strerror(errno));
  }
  if (!options.digest.empty()) {
    int rc = zoo_add_auth(handle, "digest", options.digest.data(),
                          static_cast<int>(options.digest.size()), nullptr, nullptr);
    if (rc != ZOK) {
      return makeError(ErrorCode::kInternal, "ZooKeeper digest auth: {}", zerror(rc));
    }
  }
  return Status();
}

void Session::Impl::close() {
  if (handle == nullptr) return;
  zookeeper_close(handle);  // joins the client's threads: no callback after this
  handle = nullptr;
  handleContext.reset();
  std::vector<std::shared_ptr<WatchContext>> pending;
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    for (auto& [raw, owned] : shared->watches) pending.emplace_back(std::move(owned));
    shared->watches.clear();
  }
  for (auto& watch : pending) {
    shared->loop->post([shared = shared, watch] {
      if (shared->impl != nullptr) watch->changed();
    });
  }
}

void Session::Impl::onState(std::uint64_t generation, int state) {
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    if (generation != shared->generation) return;  // an old handle's last words
  }
  if (state == ZOO_CONNECTED_STATE) {
    if (disconnected || !everConnected) {
      log()->info("connected to ZooKeeper at {} (session 0x{:x})", options.hosts,
                  zoo_client_id(handle)->client_id);
    }
    everConnected = true;
    disconnected = false;
    notify(SessionEvent::kConnected);
  } else if (state == ZOO_EXPIRED_SESSION_STATE) {
    renew();
  } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
    if (everConnected && !disconnected) {
      disconnected = true;
      log()->warn(
          "lost the connection to ZooKeeper at {}; reconnecting (the session lives for {} ms)",
          options.hosts, options.sessionTimeout.count());
      notify(SessionEvent::kDisconnected);
    }
  } else if (state == ZOO_AUTH_FAILED_STATE) {
    log()->error("ZooKeeper at {} refused the credentials", options.hosts);
  }
}

void Session::Impl::renew() {
  std::int64_t old = handle != nullptr ? zoo_client_id(handle)->client_id : 0;
  log()->warn("ZooKeeper session 0x{:x} expired; its ephemeral nodes are gone; starting a new one",
              old);
  close();
  Status opened = open();
  if (!opened.ok()) log()->error("{}", opened.error().message);
  disconnected = true;
  notify(SessionEvent::kExpired);
}

void Session::Impl::notify(SessionEvent event) {
  // Listeners may unsubscribe while they run.
  std::vector<int> ids;
  for (const auto& [id, listener] : listeners) ids.push_back(id);
  for (int id : ids) {
    auto it = listeners.find(id);
    if (it != listeners.end()) {
      auto listener = it->second;
      listener(event);
    }
  }
}

WatchContext* Session::Impl::addWatch(std::function<void()> changed) {
  auto watch = std::make_unique<WatchContext>();
  watch->changed = std::move(changed);
  watch->shared = shared;
  WatchContext* raw = watch.get();
  std::lock_guard<std::mutex> lock(shared->mutex);
  shared->watches.emplace(raw, std::move(watch));
  return raw;
}

void Session::Impl::dropWatch(WatchContext* context) {
  std::lock_guard<std::mutex> lock(shared->mutex);
  shared->watches.erase(context);
}

Result<std::unique_ptr<Session>> Session::connect(EventLoop& loop, SessionOptions options) {
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->shared->loop = &loop;
  Status opened = impl->open();
  if (!opened.ok()) return opened.error();
  std::unique_lock<std::mutex> lock(impl->shared->mutex);
  bool up = impl->shared->cv.wait_for(lock, impl->options.connectTimeout,
                                      [&] { return impl->shared->state == ZOO_CONNECTED_STATE; });
  lock.unlock();
  if (!up) {
    std::string hosts = impl->options.hosts;
    auto timeout = impl->options.connectTimeout.count();
    impl->close();
    return makeError(ErrorCode::kUnavailable,
                     "cannot reach ZooKeeper at {} within {} ms: is it running, and are host and "
                     "port right?",
                     hosts, timeout);
  }
  std::unique_ptr<Session> session(new Session(std::move(impl)));
  session->impl_->shared->impl = session->impl_.get();
  return session;
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Session::~Session() {
  impl_->shared->impl = nullptr;
  impl_->close();
}

Result<std::optional<NodeValue>> Session::get(const std::string& path) {
  return watchGet(path, nullptr);
}

Result<std::optional<NodeValue>> Session::watchGet(const std::string& path,
                                                   std::function<void()> changed) {
  std::string buffer;
  struct Stat stat {};
  int length = 0;
  WatchContext* watch = nullptr;
  int rc = impl_->retry([&] {
    if (watch != nullptr) impl_->dropWatch(watch);
    watch = changed ? impl_->addWatch(changed) : nullptr;
    buffer.assign(1 << 20, '\0');
    length = static_cast<int>(buffer.size());
    int answer = zoo_wget(impl_->handle, path.c_str(), watch ? &Impl::pathWatcher : nullptr, watch,
                          buffer.data(), &length, &stat);
    if (answer == ZNONODE && watch != nullptr) {
      // No node: watch for its creation instead.
      answer = zoo_wexists(impl_->handle, path.c_str(), &Impl::pathWatcher, watch, &stat);
      if (answer == ZOK) answer = ZAPIERROR;  // created in between: ask again
      if (answer == ZNONODE) return static_cast<int>(ZNONODE);
    }
    return answer;
  });
  if (rc == ZAPIERROR) {
    impl_->dropWatch(watch);
    return watchGet(path, std::move(changed));
  }
  if (rc == ZNONODE) return std::optional<NodeValue>();
  if (watch != nullptr && rc != ZOK) impl_->dropWatch(watch);
  if (rc != ZOK) return impl_->failure(rc, "get", path);
  NodeValue value;
  value.data.assign(buffer.data(), static_cast<std::size_t>(std::max(length, 0)));
  value.version = stat.version;
  value.ephemeralOwner = stat.ephemeralOwner;
  return std::optional<NodeValue>(std::move(value));
}

Result<std::string> Session::create(const std::string& path, const std::string& data,
                                    CreateMode mode) {
  std::string created(path.size() + 32, '\0');
  int rc = impl_->retry([&] {
    return zoo_create(impl_->handle, path.c_str(), data.data(), static_cast<int>(data.size()),
                      &ZOO_OPEN_ACL_UNSAFE, modeFlags(mode), created.data(),
                      static_cast<int>(created.size()));
  });
  if (rc != ZOK) return impl_->failure(rc, "create", path);
  created.resize(std::strlen(created.c_str()));
  return created;
}

Status Session::ensurePath(const std::string& path) {
  if (path.empty() || path == "/") return Status();
  std::size_t next = 1;
  while (true) {
    auto slash = path.find('/', next);
    std::string prefix = path.substr(0, slash);
    auto made = create(prefix, "", CreateMode::kPersistent);
    if (!made.ok() && made.error().code != ErrorCode::kFailedPrecondition) return made.error();
    if (slash == std::string::npos) return Status();
    next = slash + 1;
  }
}

Status Session::set(const std::string& path, const std::string& data, int version) {
  int rc = impl_->retry([&] {
    return zoo_set(impl_->handle, path.c_str(), data.data(), static_cast<int>(data.size()),
                   version);
  });
  if (rc != ZOK) return impl_->failure(rc, "set", path);
  return Status();
}

Status Session::remove(const std::string& path, int version) {
  int rc = impl_->retry([&] { return zoo_delete(impl_->handle, path.c_str(), version); });
  if (rc != ZOK && rc != ZNONODE) return impl_->failure(rc, "remove", path);
  return Status();
}

Status Session::removeAll(const std::string& path) {
  auto names = children(path);
  if (!names.ok()) {
    return names.error().code == ErrorCode::kNotFound ? Status() : Status(names.error());
  }
  for (const auto& name : *names) {
    Status removed = removeAll(path + "/" + name);
    if (!removed.ok()) return removed;
  }
  Status removed = remove(path);
  if (!removed.ok() && removed.error().code == ErrorCode::kFailedPrecondition) {
    return removeAll(path);  // a child appeared meanwhile
  }
  return removed;
}

Result<std::vector<std::string>> Session::children(const std::string& path) {
  return watchChildren(path, nullptr);
}

Result<std::vector<std::string>> Session::watchChildren(const std::string& path,
                                                        std::function<void()> changed) {
  struct String_vector strings {};
  WatchContext* watch = nullptr;
  int rc = impl_->retry([&] {
    if (watch != nullptr) impl_->dropWatch(watch);
    watch = changed ? impl_->addWatch(changed) : nullptr;
    return zoo_wget_children(impl_->handle, path.c_str(), watch ? &Impl::pathWatcher : nullptr,
                             watch, &strings);
  });
  if (rc != ZOK) {
    if (watch != nullptr) impl_->dropWatch(watch);
    return impl_->failure(rc, "list", path);
  }
  std::vector<std::string> names;
  for (int i = 0; i < strings.count; ++i) names.emplace_back(strings.data[i]);
  deallocate_String_vector(&strings);
  return names;
}

Status Session::multi(const std::vector<Op>& ops, int* failed) {
  if (ops.empty()) return Status();
  std::vector<zoo_op_t> zops(ops.size());
  std::vector<zoo_op_result_t> results(ops.size());
  std::vector<std::string> createdPaths(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    switch (op.kind) {
      case Op::Kind::kCreate:
        createdPaths[i].assign(op.path.size() + 32, '\0');
        zoo_create_op_init(&zops[i], op.path.c_str(), op.data.data(),
                           static_cast<int>(op.data.size()), &ZOO_OPEN_ACL_UNSAFE,
                           modeFlags(op.mode), createdPaths[i].data(),
                           static_cast<int>(createdPaths[i].size()));
        break;
      case Op::Kind::kSet:
        zoo_set_op_init(&zops[i], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                        op.version, nullptr);
        break;
      case Op::Kind::kRemove:
        zoo_delete_op_init(&zops[i], op.path.c_str(), op.version);
        break;
      case Op::Kind::kCheck:
        zoo_check_op_init(&zops[i], op.path.c_str(), op.version);
        break;
    }
  }
  int rc = impl_->retry([&] {
    return zoo_multi(impl_->handle, static_cast<int>(zops.size()), zops.data(), results.data());
  });
  if (rc == ZOK) return Status();
  int index = -1;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].err != ZOK && results[i].err != ZRUNTIMEINCONSISTENCY) {
      index = static_cast<int>(i);
      rc = results[i].err;
      break;
    }
  }
  if (failed != nullptr) *failed = index;
  static const char* kKinds[] = {"create", "set", "remove", "check"};
  if (index < 0) return impl_->failure(rc, "multi", ops.front().path);
  return impl_->failure(rc, std::string("multi: ") + kKinds[static_cast<int>(ops[index].kind)],
                        ops[index].path);
}

int Session::subscribe(std::function<void(SessionEvent)> listener) {
  int id = impl_->nextListener++;
  impl_->listeners.emplace(id, std::move(listener));
  return id;
}

void Session::unsubscribe(int id) { impl_->listeners.erase(id); }

std::int64_t Session::sessionId() const {
  return impl_->handle != nullptr ? zoo_client_id(impl_->handle)->client_id : 0;
}

bool Session::connected() const {
  return impl_->handle != nullptr && zoo_state(impl_->handle) == ZOO_CONNECTED_STATE;
}

const std::string& Session::hosts() const { return impl_->options.hosts; }

Status Session::expireForTest() {
  const clientid_t* id = zoo_client_id(impl_->handle);
  clientid_t copy = *id;
  zhandle_t* twin = zookeeper_init2(impl_->options.hosts.c_str(), nullptr,
                                    static_cast<int>(impl_->options.sessionTimeout.count()), &copy,
                                    nullptr, 0, &logFromClient);
  if (twin == nullptr) return makeError(ErrorCode::kInternal, "cannot open a second handle");
  for (int i = 0; i < 100 && zoo_state(twin) != ZOO_CONNECTED_STATE; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  bool joined = zoo_state(twin) == ZOO_CONNECTED_STATE;
  zookeeper_close(twin);
  if (!joined) return makeError(ErrorCode::kUnavailable, "the second handle did not connect");
  return Status();
}

}  // namespace tailor::zookeeper
