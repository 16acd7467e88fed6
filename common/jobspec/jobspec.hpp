#pragma once

// Parsing and validation of job specs: the YAML file a user writes to describe a job as a DAG
// of stages. The format:
//
//   name: wordcount              # required, [A-Za-z0-9_.-]+, at most 100 characters
//   output: out/wordcount        # optional: directory for the sink stage's records, relative
//                                #   paths are resolved against the spec's folder (later; the
//                                #   parser stores it as written)
//   stages:                      # required, non-empty list
//     - name: tokenize           # required, unique, [A-Za-z0-9_-]+, at most 100 characters
//       parallelism: 8           # required integer >= 1: the number of tasks
//       resources:               # required, per task
//         cpus: 0.25             #   required number > 0 (held in thousandths)
//         mem: 128MiB            #   required size > 0: a number of MiB, or a number with a
//                                #     unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB)
//         disk: 64               #   optional size >= 0, default 0
//         gpus: 0                #   optional integer >= 0, default 0
//       command: "tr -cs A-Za-z '\n'"   # required: a string run with /bin/sh -c, or a
//                                       #   non-empty list of strings executed directly
//       env: {LC_ALL: C}         # optional map from variable names to strings (numbers are
//                                #   taken as written; booleans and nulls must be quoted)
//       max_attempts: 4          # optional integer >= 1, default 4
//       input:                   # source stages only: where the records come from
//         files: ["data/*.txt", "https://host/x.txt"]   # non-empty list of globs or URLs
//     - name: count
//       ...
//       inputs:                  # other stages: the stages this one reads, at least one
//         - stage: tokenize      #   required, the name of another stage
//           partitioning: hash   #   optional: hash (default), forward or broadcast
//   restart_strategy:            # optional: how a Dispatcher restarts the job as a whole after
//     type: fixed-delay          #   a failure (common/restart_strategy.hpp; `tailor run` ignores
//     attempts: 3                #   it). type: none, fixed-delay, failure-rate or
//     delay: 10s                 #   exponential-delay, and only that type's options, each with
//     restart_on: [jobmanager-lost, job-failed]   # Flink's default when left out. Durations
//                                #   as the flags write them: 250ms, 10s, 5m, 1h (a plain number
//                                #   is seconds). Just the type (restart_strategy: none) is short
//                                #   for the type with every default. Without the block the
//                                #   Dispatcher's default applies.
//
// Each stage has exactly one of `input` and `inputs`. The stages must form a DAG with exactly
// one sink (a stage that no other stage reads); `forward` needs both stages to have the same
// parallelism. Unknown fields are errors at every level.
//
// Errors are a single Error with code kInvalidArgument and a message of the form
//   FILE:LINE:COL: FIELD_PATH: problem (expected ...)
// for example
//   job.yaml:7:12: stages[1].resources.mem: 'lots' is not a size (expected ...)
// with 1-based lines and columns. FIELD_PATH is `job` for the document itself and `invalid
// YAML` for syntax errors. Value problems point at the value, unknown and duplicate fields at
// the key, missing fields at the map that lacks them. Scalars in YAML 1.1 boolean spelling
// (true/false/yes/no/on/off) and nulls are refused where text is expected; quote them.
// Only a file that cannot be read has no position: "PATH: cannot read the job spec: ...".

#include <optional>
#include <string>
#include <string_view>

#include "common/resources.hpp"
#include "common/result.hpp"
#include "tailor/v1/job.pb.h"

namespace tailor::jobspec {

struct ParseOptions {
  // When set, every stage's resources must fit within it ("resources larger than the local
  // cluster").
  std::optional<Resources> clusterCapacity;
  std::string clusterDescription = "the local cluster";  // used in that error message
};

// Parses and validates a job spec. `fileName` is used in error messages; `baseDir` is stored in
// spec.base_dir. Never throws.
Result<v1::JobSpec> parseJobSpec(std::string_view yamlText, const std::string& fileName,
                                 const std::string& baseDir, const ParseOptions& options = {});

// Reads the file at `path` (an error if it cannot be read) and parses it with base_dir set to
// the file's folder, made absolute. Never throws.
Result<v1::JobSpec> loadJobSpec(const std::string& path, const ParseOptions& options = {});

}  // namespace tailor::jobspec
