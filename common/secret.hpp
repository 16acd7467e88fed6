#pragma once

// Job secrets (docs/security.md, "Job secrets"): the shared secret a job's
// processes (its JobManager and TaskManagers, or a session's) present to
// each other on every RPC and partition fetch, so that a process of another
// job is refused. A Dispatcher derives each job's secret from one key it
// keeps, so it can talk to any of its jobs without storing their secrets.

#include <string>

#include "common/result.hpp"

namespace tailor::secret {

// The environment variable a JobManager and its TaskManagers get their
// job's secret from (never a flag: command lines are visible to everyone).
inline constexpr const char* kEnvironmentVariable = "TAILOR_JOB_SECRET";

// The header that carries it on RPC calls and partition fetches.
inline constexpr const char* kHeader = "Tailor-Secret";

// 32 random bytes from OpenSSL, as 64 hex digits.
std::string random();

// HMAC-SHA256(key, name) as 64 hex digits: the secret of job or session
// `name` under a Dispatcher's key.
std::string derive(const std::string& key, const std::string& name);

// Compares in time that does not depend on where the two differ.
bool equal(const std::string& a, const std::string& b);

// The secret in environment variable `name`, removed from this process's
// environment so that children (tasks) do not inherit it. Empty when unset.
std::string takeFromEnvironment(const char* name = kEnvironmentVariable);

// Refuses a file that is not a regular file, or that its group or others may
// read or write (it must be chmod 600 or stricter): errors name `what` ("the
// credentials file", "TLS key file"), the path and what to do. A pipe
// (/dev/stdin fed by the starter) passes.
Status checkPrivateFile(const std::string& path, const std::string& what);

// Reads a secret from `path` (its first line, surrounding blanks dropped).
// Refused when the file is not a regular file, when group or others may
// read or write it (it must be chmod 600 or stricter), or when it is empty:
// each error names the file and what to do.
Result<std::string> readFile(const std::string& path);

}  // namespace tailor::secret
