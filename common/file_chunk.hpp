#pragma once

// Reading a window of a growing file (a log): from an offset, or its last
// bytes. Used by the TaskManager (task logs) and the Dispatcher (its logs).

#include <cstdint>
#include <string>

namespace tailor {

struct FileChunk {
  std::string data;
  std::int64_t offset = 0;  // where `data` starts in the file
  std::int64_t size = 0;    // the file's size when read
};

// Reads at most `length` bytes from `offset` (clamped to the file's end), or
// with `tail` >= 0 the last `tail` bytes. A missing file reads as empty.
FileChunk readFileChunk(const std::string& path, std::int64_t offset, std::int64_t length,
                        std::int64_t tail = -1);

}  // namespace tailor
