#pragma once

// Splitting a source stage's input files across its tasks.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/rpc.pb.h"

namespace tailor::scheduler {

struct InputFile {
  std::string path;  // local path or URL
  std::int64_t size = -1;  // -1: unknown (URLs), assigned whole
};

// Cuts the concatenation of `files` into `parallelism` byte ranges of about
// equal size; a range may span files. Files of unknown size go whole, round
// robin. Tasks read the lines that start inside their ranges. Pure.
std::vector<std::vector<v1::FileSplit>> splitFiles(const std::vector<InputFile>& files,
                                                   int parallelism);

// Expands each source stage's globs (against spec.base_dir) and splits the
// files. Result: per stage, per task, its splits (empty for non-sources).
// A glob matching nothing is an error naming the stage and the pattern.
Result<std::vector<std::vector<std::vector<v1::FileSplit>>>> planInputSplits(
    const v1::JobSpec& spec);

}  // namespace tailor::scheduler
