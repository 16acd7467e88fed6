#pragma once

// Pure checks and decisions of the Dispatcher, tested without I/O: what a
// submission must look like and the order of the queue. (Job ids:
// common/naming.hpp.)

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/session.pb.h"

namespace tailor::dispatcher {

struct SubmissionLimits {
  int maxFiles = 1000;
  int maxPathLength = 1024;
  int maxPathPartLength = 200;  // leaves room for the store's temporary suffix
};

// A submission that passed its checks.
struct CheckedSubmission {
  std::string specName;  // a plain file name
  v1::JobSpec spec;      // parsed and validated, base_dir = `baseDir`
  std::vector<v1::JobFile> files;  // the spec first, then the submitted files
};

// Checks the spec (as `tailor validate` does: the message is
// `SPEC_NAME:LINE:COL: field: problem`), the spec's name, and every file's
// path: relative, no "." or ".." parts, no empty parts, no duplicates, not the
// spec's own name. `baseDir` is where the files will be stored. Errors are
// kInvalidArgument and name the field (`spec_name`, `files[3].path`, ...).
Result<CheckedSubmission> checkSubmission(const v1::SubmitJobRequest& request,
                                          const std::string& baseDir,
                                          const SubmissionLimits& limits = {});

struct QueuedJob {
  std::string id;
  int priority = 0;
  std::int64_t sequence = 0;
};

// The queue in launch order: higher priority first, FIFO (by sequence) within one.
std::vector<std::string> queueOrder(std::vector<QueuedJob> queued);

// How many jobs may start now: `maxRunning - running`, never below zero.
int launchSlots(int running, int maxRunning);

bool isEndState(v1::JobState state);

// Checks POST /v1/sessions: `name` 1 to 64 of [a-z0-9-] starting with a
// letter; options.idle_timeout_seconds >= 0 (0: the session's default);
// options.min_resources empty or "cpus=N,mem=SIZE[,disk=SIZE][,gpus=N]";
// options.sizing empty, tailored or fixed. Errors are kInvalidArgument and
// name the field.
Status checkStartSession(const v1::StartSessionRequest& request);

// STOPPED or FAILED: the session's JobManager is gone for good.
bool isEndState(v1::SessionState state);

}  // namespace tailor::dispatcher
