#pragma once

// Values of any size in ZooKeeper, written whole and atomically.
//
// A znode holds at most about 1 MiB (the server's jute.maxbuffer), and so does
// one request. A value up to kInlineBytes lives in its node; a bigger one is
// written first as chunks in a fresh folder below the node, and then the node
// is switched to it in one write, so a reader sees the old value or the new
// one, never a mix; the old chunks are removed after the switch.
//
// Every write may carry a fence (a LeaderElection's node): ZooKeeper refuses
// the write once that node is gone, i.e. once the writer no longer leads.
//
// Node data: 'I' followed by the value, or 'C' followed by
// "<generation> <chunks> <bytes>" naming the folder "<node>/chunks-<generation>".

#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/zookeeper/session.hpp"

namespace tailor::zookeeper {

inline constexpr std::size_t kInlineBytes = 900 * 1024;
inline constexpr std::size_t kChunkBytes = 512 * 1024;

// Writes `value` at `path` (created if missing; its parent must exist).
// kFailedPrecondition "fenced" when `fence` is set and gone.
Status writeValue(Session& session, const std::string& path, const std::string& value,
                  const std::string& fence);

// The value at `path`; nullopt when there is no node. kInternal when the node
// or its chunks are damaged (the error says how).
Result<std::optional<std::string>> readValue(Session& session, const std::string& path);

// True when `error` is the refusal of a fenced write.
bool isFenced(const Error& error);

// The refusal of a write fenced by `fence` (its leader's node), gone.
Error fencedError(const std::string& fence);

}  // namespace tailor::zookeeper
