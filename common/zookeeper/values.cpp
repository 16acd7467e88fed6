#include "common/zookeeper/values.hpp"

#include <fmt/format.h>

#include <sstream>

namespace tailor::zookeeper {

namespace {

constexpr const char* kFencedPrefix = "fenced: ";

struct ChunkedHeader {
  long long generation = 0;
  long long chunks = 0;
  long long bytes = 0;
};

std::optional<ChunkedHeader> parseHeader(const std::string& data) {
  if (data.empty() || data[0] != 'C') return std::nullopt;
  std::istringstream in(data.substr(1));
  ChunkedHeader header;
  if (!(in >> header.generation >> header.chunks >> header.bytes)) return std::nullopt;
  if (header.generation < 0 || header.chunks < 0 || header.bytes < 0) return std::nullopt;
  return header;
}

std::string chunkFolder(const std::string& path, long long generation) {
  return fmt::format("{}/chunks-{}", path, generation);
}

// Sets the node's data, creating the node if needed, in one fenced write.
Status putNode(Session& session, const std::string& path, const std::string& data,
               const std::string& fence) {
  std::vector<Op> ops;
  if (!fence.empty()) ops.push_back(Op::check(fence));
  ops.push_back(Op::set(path, data));
  int failed = -1;
  Status status = session.multi(ops, &failed);
  if (status.ok()) return status;
  if (!fence.empty() && failed == 0) return fencedError(fence);
  if (status.error().code != ErrorCode::kNotFound) return status;
  ops.back() = Op::create(path, data);
  status = session.multi(ops, &failed);
  if (!status.ok() && !fence.empty() && failed == 0) return fencedError(fence);
  if (!status.ok() && status.error().code == ErrorCode::kFailedPrecondition) {
    return putNode(session, path, data, fence);  // made meanwhile by a retried create
  }
  return status;
}

}  // namespace

bool isFenced(const Error& error) { return error.message.rfind(kFencedPrefix, 0) == 0; }

Error fencedError(const std::string& fence) {
  return Error{ErrorCode::kFailedPrecondition,
               fmt::format("{}no longer the leader ({} is gone)", kFencedPrefix, fence)};
}

Status writeValue(Session& session, const std::string& path, const std::string& value,
                  const std::string& fence) {
  auto current = session.get(path);
  if (!current.ok()) return current.error();
  std::optional<ChunkedHeader> old;
  if (current->has_value()) old = parseHeader((*current)->data);
  if (value.size() <= kInlineBytes) {
    Status put = putNode(session, path, "I" + value, fence);
    if (put.ok() && old) (void)session.removeAll(chunkFolder(path, old->generation));
    return put;
  }
  // The node must exist before chunks can go below it.
  if (!current->has_value()) {
    Status made = putNode(session, path, "I", fence);
    if (!made.ok()) return made;
  }
  long long generation = old ? old->generation + 1 : 1;
  std::string folder = chunkFolder(path, generation);
  (void)session.removeAll(folder);  // left by a writer that died before its switch
  auto made = session.create(folder, "", CreateMode::kPersistent);
  if (!made.ok()) return made.error();
  long long chunks = 0;
  for (std::size_t offset = 0; offset < value.size(); offset += kChunkBytes, ++chunks) {
    auto chunk = session.create(fmt::format("{}/{:06d}", folder, chunks),
                                value.substr(offset, kChunkBytes), CreateMode::kPersistent);
    if (!chunk.ok() && chunk.error().code != ErrorCode::kFailedPrecondition) {
      (void)session.removeAll(folder);
      return chunk.error();
    }
  }
  Status put =
      putNode(session, path, fmt::format("C{} {} {}", generation, chunks, value.size()), fence);
  if (!put.ok()) {
    (void)session.removeAll(folder);
    return put;
  }
  if (old) (void)session.removeAll(chunkFolder(path, old->generation));
  return Status();
}

Result<std::optional<std::string>> readValue(Session& session, const std::string& path) {
  auto node = session.get(path);
  if (!node.ok()) return node.error();
  if (!node->has_value()) return std::optional<std::string>();
  const std::string& data = (*node)->data;
  if (!data.empty() && data[0] == 'I') return std::optional<std::string>(data.substr(1));
  auto header = parseHeader(data);
  if (!header) {
    return makeError(ErrorCode::kInternal, "'{}' holds no value Tailor wrote ({} bytes)", path,
                     data.size());
  }
  std::string value;
  value.reserve(static_cast<std::size_t>(header->bytes));
  std::string folder = chunkFolder(path, header->generation);
  for (long long i = 0; i < header->chunks; ++i) {
    std::string chunkPath = fmt::format("{}/{:06d}", folder, i);
    auto chunk = session.get(chunkPath);
    if (!chunk.ok()) return chunk.error();
    if (!chunk->has_value()) {
      return makeError(ErrorCode::kInternal, "'{}': chunk {} of {} is missing", path, i + 1,
                       header->chunks);
    }
    value += (*chunk)->data;
  }
  if (static_cast<long long>(value.size()) != header->bytes) {
    return makeError(ErrorCode::kInternal, "'{}': its chunks hold {} bytes, not {}", path,
                     value.size(), header->bytes);
  }
  return std::optional<std::string>(std::move(value));
}

}  // namespace tailor::zookeeper
