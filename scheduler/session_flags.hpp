#pragma once

// The flags of session mode (`tailor-jobmanager --session NAME`,
// docs/sessions.md). A session takes the per-job flags too (sizing, Mesos,
// endpoint), but not those of one job: --job-spec, --job-id, --output,
// --report, --ha-store (a session has no high availability).

#include <string>

#include <boost/program_options/options_description.hpp>

#include "common/result.hpp"
#include "scheduler/per_job_flags.hpp"
#include "scheduler/session_runner.hpp"

namespace tailor::scheduler {

struct SessionFlags {
  std::string name;  // empty: per-job mode
  std::string idleTimeout = "60s";
  std::string minResources;
};

// Adds the session flags to `options`, writing into `flags`.
void addSessionFlags(boost::program_options::options_description& options, SessionFlags& flags);

// A session's name: 1 to 64 of [a-z0-9-], starting with a letter. Errors
// name --session.
Status checkSessionName(const std::string& name);

// Checks the flags and builds the options for runSession(). Errors name the flag.
Result<SessionRunOptions> resolveSessionFlags(const PerJobFlags& flags,
                                              const SessionFlags& session);

// $TMPDIR/tailor/session-<name> (/tmp when TMPDIR is unset or empty).
std::string defaultSessionWorkDir(const std::string& name);

}  // namespace tailor::scheduler
