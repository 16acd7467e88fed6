#pragma once

// The URIs the Mesos fetcher gets for every TaskManager executor
// (--taskmanager-executor-uri): a URI passed on as given, or a path on
// whichever Dispatcher leads when the TaskManager is launched
// ("dispatcher:/PATH"). A JobManager outlives the Dispatcher that launched it
// (docs/ha.md): executors it launches after a failover are fetched from the
// Dispatcher leading then, not from the one that is gone. With no executor
// given at all, the JobManager serves its own tailor-taskmanager, a path on
// its own HTTP server (docs/mesos.md, "How the executor reaches the agents").
//
// Pure; any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tailor::scheduler::mesos {

// The prefix of a path on the leading Dispatcher, as the Dispatcher's mesos
// launcher writes it: "dispatcher:/v1/artifacts/tailor-taskmanager".
inline constexpr const char* kLeadingDispatcherPrefix = "dispatcher:";

struct ExecutorUri {
  enum class Kind {
    kAsGiven,            // a URI the Mesos fetcher takes, passed on unchanged
    kLeadingDispatcher,  // a path on whichever Dispatcher leads at launch
    kJobManager,         // a path on this JobManager's HTTP server (no text form)
  };
  Kind kind = Kind::kAsGiven;
  // The URI, or for kLeadingDispatcher and kJobManager the path (one '/'
  // first, e.g. "/v1/artifacts/tailor-taskmanager").
  std::string value;

  bool operator==(const ExecutorUri& other) const {
    return kind == other.kind && value == other.value;
  }
};

// Parses one value of --taskmanager-executor-uri: "dispatcher:/PATH" (the
// prefix in any case, as a URI scheme), or any
// other non-blank text as a URI for the fetcher (http://, https://, hdfs://,
// file://, a path on the agent, ...; the fetcher judges it). Errors
// (kInvalidArgument) name the flag and the expected form: a blank value, or a
// "dispatcher:" value whose path is empty, does not start with exactly one
// '/', or holds whitespace or control characters.
Result<ExecutorUri> parseExecutorUri(const std::string& text);

// Every value in order; the first error.
Result<std::vector<ExecutorUri>> parseExecutorUris(const std::vector<std::string>& texts);

// True when one of `uris` is a path on the leading Dispatcher (it needs one).
bool needsDispatcher(const std::vector<ExecutorUri>& uris);

// The URI for the fetcher: a kAsGiven value unchanged; a path appended to
// `dispatcherAddress` (kLeadingDispatcher: host:port, as the JobManager
// reports to it) or to `jobManagerAddress` (kJobManager: host:port of this
// JobManager's endpoint), with "http://" put first unless the address names
// its scheme.
std::string resolveExecutorUri(const ExecutorUri& uri, const std::string& dispatcherAddress,
                               const std::string& jobManagerAddress);

// The name of the executor's file, as the fetcher saves the JobManager's own
// (the URI's last segment) and as TaskManagers then run it: "./" + this.
inline constexpr const char* kExecutorFileName = "tailor-taskmanager";

// Where a JobManager serves its own tailor-taskmanager:
// "/artifacts/<fingerprint>/tailor-taskmanager", the fingerprint made of the
// file's size and modification time (nanoseconds since the epoch), so that
// one URI never names two different binaries: the fetcher's cache
// (--taskmanager-executor-cache) trusts a URI it has seen and never asks again.
std::string jobManagerExecutorPath(std::uintmax_t size, std::int64_t modifiedNanoseconds);

}  // namespace tailor::scheduler::mesos
