#include "common/file_chunk.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
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

namespace {

Status syncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return makeError(ErrorCode::kIo, "cannot open '{}': {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return makeError(ErrorCode::kIo, "cannot fsync '{}': {}", path, std::strerror(saved));
  return Status();
}

Status writeAll(int fd, const std::string& data, const std::string& path) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(ErrorCode::kIo, "cannot write '{}': {}", path, std::strerror(errno));
    written += static_cast<size_t>(n);
  }
  return Status();
}

}  // namespace

Status writeFileAtomically(const std::string& path, const std::string& data) {
  // A fresh name (never an existing file, such as a submitted "x.tmp").
  std::string temporary = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) {
    return makeError(ErrorCode::kIo, "cannot create a file beside '{}': {}", path,
                     std::strerror(errno));
  }
  ::fchmod(fd, 0644);
  Status written = writeAll(fd, data, temporary);
  if (written.ok() && ::fsync(fd) != 0) {
    written = makeError(ErrorCode::kIo, "cannot fsync '{}': {}", temporary, std::strerror(errno));
  }
  ::close(fd);
  if (!written.ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    auto error = makeError(ErrorCode::kIo, "cannot rename '{}' to '{}': {}", temporary, path,
                           std::strerror(errno));
    ::unlink(temporary.c_str());
    return error;
  }
  return syncPath(std::filesystem::path(path).parent_path().string(), O_RDONLY | O_DIRECTORY);
}

void replaceInvalidUtf8(std::string& data) {
  size_t i = 0;
  while (i < data.size()) {
    auto byte = static_cast<unsigned char>(data[i]);
    size_t length = byte < 0x80           ? 1
                    : (byte >> 5) == 0x6  ? 2
                    : (byte >> 4) == 0xe  ? 3
                    : (byte >> 3) == 0x1e ? 4
                                          : 0;
    bool valid = length > 0 && i + length <= data.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(data[i + k]) & 0xc0) == 0x80;
    }
    if (!valid) {
      data[i] = '?';
      ++i;
      continue;
    }
    i += length;
  }
}

}  // namespace tailor
