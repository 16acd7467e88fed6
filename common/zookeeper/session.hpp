#pragma once

// A session with a ZooKeeper ensemble (the ZooKeeper C client, multi-threaded
// flavour), for the loop of one component.
//
// Operations are synchronous and called on the loop thread: each is one round
// trip (about a millisecond on a LAN), and on a connection loss it is retried
// until `retryFor` has passed, so a ZooKeeper server restart or a switch to
// another server of the ensemble is invisible to the caller; only then the
// error (kUnavailable) says that ZooKeeper is unreachable. Operations that are
// retried must be safe to repeat: a create may answer "exists" for a node the
// lost attempt made, a remove "ok" for a node it removed. Sequential nodes are
// not safe to repeat; LeaderElection (election.hpp) makes them so.
//
// When ZooKeeper expires the session (the client was away longer than the
// session timeout), its ephemeral nodes are gone: subscribers hear kExpired,
// every pending watch fires (so its owner looks again), and the session goes
// on with a new ZooKeeper session at once.
//
// Error codes: kNotFound (no such node), kFailedPrecondition (the node exists,
// has another version, or has children), kUnavailable (connection loss past
// `retryFor`), kInvalidArgument (a bad path), kInternal (anything else).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"

namespace tailor::zookeeper {

struct SessionOptions {
  std::string hosts;   // "host:port,host:port"
  std::string digest;  // "user:password" for a digest auth, or empty
  Duration sessionTimeout{10000};
  Duration connectTimeout{15000};  // the first connection, in connect()
  Duration retryFor{15000};        // an operation's retries on connection loss
};

enum class CreateMode { kPersistent, kEphemeral, kPersistentSequential, kEphemeralSequential };

enum class SessionEvent {
  kConnected,     // (again) connected; the session and its ephemeral nodes live
  kDisconnected,  // the connection is lost; the session may still live
  kExpired,       // the session is gone with its ephemeral nodes; a new one starts
};

const char* toString(SessionEvent event);

// One operation of multi().
struct Op {
  enum class Kind { kCreate, kSet, kRemove, kCheck };
  Kind kind = Kind::kCheck;
  std::string path;
  std::string data;
  int version = -1;  // kSet, kRemove, kCheck: -1 for any
  CreateMode mode = CreateMode::kPersistent;

  static Op create(std::string path, std::string data, CreateMode mode = CreateMode::kPersistent);
  static Op set(std::string path, std::string data, int version = -1);
  static Op remove(std::string path, int version = -1);
  // Fails the whole multi unless `path` exists (with `version`, when not -1).
  static Op check(std::string path, int version = -1);
};

struct NodeValue {
  std::string data;
  int version = 0;
  std::int64_t ephemeralOwner = 0;  // the owning session of an ephemeral node
};

class Session {
 public:
  // Connects, waiting up to options.connectTimeout; the error names the hosts.
  static Result<std::unique_ptr<Session>> connect(EventLoop& loop, SessionOptions options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The node's data; nullopt when there is no such node.
  Result<std::optional<NodeValue>> get(const std::string& path);
  // Creates the node; returns its path (with the sequence number of a
  // sequential node). kFailedPrecondition when it exists, kNotFound when its
  // parent does not.
  Result<std::string> create(const std::string& path, const std::string& data, CreateMode mode);
  // Creates the persistent node and any missing parents, empty; ok when it exists.
  Status ensurePath(const std::string& path);
  // Replaces the node's data (only at `version` unless -1). kNotFound.
  Status set(const std::string& path, const std::string& data, int version = -1);
  // Removes the node; ok when there is none. kFailedPrecondition with children.
  Status remove(const std::string& path, int version = -1);
  // Removes the node and everything below it; ok when there is none.
  Status removeAll(const std::string& path);
  // Names of the node's children (unsorted). kNotFound.
  Result<std::vector<std::string>> children(const std::string& path);
  // All operations or none. On failure, *failed (when given) is the index of
  // the operation that failed, and the error names it.
  Status multi(const std::vector<Op>& ops, int* failed = nullptr);

  // One-shot watches: `changed` runs on the loop once, when the node (or its
  // list of children) changes, or the session expired. Each returns what is
  // there now, as the call without a watch would.
  Result<std::vector<std::string>> watchChildren(const std::string& path,
                                                 std::function<void()> changed);
  Result<std::optional<NodeValue>> watchGet(const std::string& path, std::function<void()> changed);

  // Session events, on the loop. Returns an id for unsubscribe().
  int subscribe(std::function<void(SessionEvent)> listener);
  void unsubscribe(int id);

  // The current ZooKeeper session id (changes after an expiry); 0 while none.
  std::int64_t sessionId() const;
  bool connected() const;
  const std::string& hosts() const;

  // Test hook: asks ZooKeeper to expire this session now (as a server would
  // after a long partition), by taking it over from a second client and
  // closing that one.
  Status expireForTest();

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The name of a sequential node's sequence number part: "latch-0000000012" → 12;
// -1 when `name` ends in no 10-digit number.
std::int64_t sequenceOf(const std::string& name);

}  // namespace tailor::zookeeper
