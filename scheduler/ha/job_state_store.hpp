#pragma once

// Where a JobManager keeps its job's state (JobManagerState) for the next
// attempt of the same job, and how attempts of one job make sure that only
// one of them acts at a time (docs/ha.md):
//
//   local:DIR   a folder on this machine: the state in DIR/state.pb (written
//               atomically), leadership by an exclusive lock on DIR/leader.lock
//               that the kernel releases when the process dies.
//   zk://HOSTS/PATH  ZooKeeper: the state in PATH/state, leadership by the
//               ephemeral sequential node recipe under PATH/leader; every
//               write is fenced by the leader's node.
//
// An attempt campaigns first; it acts (and writes) only once it leads. An
// attempt that finds a newer attempt's state refuses to act: an old attempt
// that comes back never overwrites a newer one. Loop thread only.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "tailor/v1/state.pb.h"

namespace tailor::scheduler {

class JobStateStore {
 public:
  virtual ~JobStateStore() = default;

  // Contends for the job's leadership; `elected` runs on the loop once this
  // attempt leads (another live attempt may hold it for a while: waiting is
  // logged). `revoked` runs on the loop if the leadership is lost later (a
  // ZooKeeper session expired) or cannot be sought: the JobManager must stop
  // acting at once. Neither runs from inside campaign().
  virtual void campaign(int attempt, std::function<void()> elected,
                        std::function<void(const std::string& why)> revoked) = 0;

  // The state the previous attempt left; nullopt when there is none.
  // kFailedPrecondition when a newer attempt than `attempt` wrote it.
  virtual Result<std::optional<v1::JobManagerState>> load(int attempt) = 0;

  // Replaces the state; durable when it returns. Fails once the leadership
  // is lost.
  virtual Status save(const v1::JobManagerState& state) = 0;

  // "local:/..." or "zk://.../...", for logs.
  virtual std::string describe() const = 0;
};

// Opens `spec` (local:DIR or zk://HOSTS/PATH), creating DIR or PATH.
Result<std::unique_ptr<JobStateStore>> openJobStateStore(EventLoop& loop, const std::string& spec);

}  // namespace tailor::scheduler
