#include "common/file_chunk.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tailor {

FileChunk readFileChunk(const std::string& path, std::int64_t offset, std::int64_t length,
                        std::int64_t tail) {
  FileChunk chunk;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  chunk.size = in ? static_cast<std::int64_t>(in.tellg()) : 0;
  std::int64_t start = std::max<std::int64_t>(0, offset);
  std::int64_t count = std::max<std::int64_t>(0, length);
  if (tail >= 0) {
    count = std::min(tail, count);
    start = std::max<std::int64_t>(0, chunk.size - count);
  }
  start = std::min(start, chunk.size);
  count = std::min(count, chunk.size - start);
  chunk.offset = start;
  if (count > 0) {
    chunk.data.resize(static_cast<size_t>(count));
    in.seekg(start);
    in.read(chunk.data.data(), count);
    chunk.data.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  }
  return chunk;
}

std::optional<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(buffer).str();
}

}  // namespace tailor
