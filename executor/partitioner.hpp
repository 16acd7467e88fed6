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
  static Result<std::unique_ptr<PartitionWriter>> open(const std::string& directory,
                                                      const std::string& relativeDirectory,
                                                      const std::vector<v1::OutputSpec>& outputs,
                                                      int taskIndex,
                                                      const std::string& filePrefix = "");
  ~PartitionWriter();

  // Writes one record; `line` excludes the newline.
  void write(std::string_view line);

  // Flushes and closes the files; returns what each file holds, with
  // `path` relative to the partition root.
  Result<std::vector<v1::PartitionInfo>> finish();

 private:
  struct File {
    std::FILE* file = nullptr;
    v1::PartitionInfo info;
    std::unique_ptr<char[]> buffer;
  };
  struct Output {
    v1::Partitioning partitioning = v1::HASH;
    std::vector<size_t> files;  // index into files_, by partition (one for non-hash)
  };

  PartitionWriter() = default;
  void append(File& file, std::string_view line);

  std::vector<File> files_;
  std::vector<Output> outputs_;
};

}  // namespace tailor::executor
