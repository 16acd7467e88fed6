#pragma once

// Routing a task's output records (lines) to the partitions of its
// consumers. Pure except for the file writes in PartitionWriter.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "tailor/v1/rpc.pb.h"

namespace tailor::executor {

// The key of a record: the text before the first TAB (the whole line if none).
std::string_view recordKey(std::string_view line);

// Stable across processes and machines (FNV-1a, 64 bits).
std::uint64_t stableHash(std::string_view data);

// The partition of `line` among `partitions` by hash of its key.
int hashPartition(std::string_view line, int partitions);

// File name of a partition under the attempt's folder: "<consumer>-<n>", or
// "_output-<n>" for the job's output, "<consumer>-all" for broadcast.
std::string partitionFileName(const v1::OutputSpec& output, int partition);

// Writes a task's records into partition files under `directory`.
class PartitionWriter {
 public:
  // `taskIndex` picks the partition for FORWARD outputs and the job output.
  // Files are named `filePrefix` + the partition's name, so that the
  // attempts of a job can share one directory (no directory per attempt).
  // The job's output is kept in memory while it is at most
  // `inlineOutputBytes`, and finish() returns it in the partition's `data`
  // with an empty `path`: a file is created only once it grows larger.
  static Result<std::unique_ptr<PartitionWriter>> open(const std::string& directory,
                                                      const std::string& relativeDirectory,
                                                      const std::vector<v1::OutputSpec>& outputs,
                                                      int taskIndex,
                                                      const std::string& filePrefix = "",
                                                      size_t inlineOutputBytes = 0);
  ~PartitionWriter();

  // Writes one record; `line` excludes the newline.
  void write(std::string_view line);

  // Flushes and closes the files; returns what each partition holds, with
  // `path` relative to the partition root (empty for output kept in memory).
  Result<std::vector<v1::PartitionInfo>> finish();

 private:
  struct File {
    std::FILE* file = nullptr;
    v1::PartitionInfo info;
    std::unique_ptr<char[]> buffer;
    std::string path;      // where the file is (or goes once created)
    bool inMemory = false;  // records go to `held` until it outgrows the limit
    std::string held;
  };
  struct Output {
    v1::Partitioning partitioning = v1::HASH;
    std::vector<size_t> files;  // index into files_, by partition (one for non-hash)
  };

  PartitionWriter() = default;
  void append(File& file, std::string_view line);
  // Creates `file` on disk and writes what it held in memory.
  void spill(File& file);

  std::vector<File> files_;
  std::vector<Output> outputs_;
  size_t bufferBytes_ = 0;
  size_t inlineOutputBytes_ = 0;
  std::string error_;  // the first file that could not be created
};

}  // namespace tailor::executor
