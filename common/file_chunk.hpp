#pragma once

// Reading files: a window of a growing file (a log), from an offset or its
// last bytes (the TaskManager's task logs, the Dispatcher's logs); or a whole
// small file (records, specs, submitted files).

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

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

// Makes `data` valid UTF-8 without changing its length: every byte that is
// not part of a well-formed sequence becomes '?'. JSON strings must be UTF-8,
// and a chunk cut at arbitrary offsets may split a character.
void replaceInvalidUtf8(std::string& data);

// The whole file; nothing when it cannot be opened or read.
std::optional<std::string> readWholeFile(const std::string& path);

// Writes `data` to `path` through a fsync'ed temporary file and a rename, and
// fsyncs the folder: after a crash the file holds the old or the new data.
Status writeFileAtomically(const std::string& path, const std::string& data);

}  // namespace tailor
