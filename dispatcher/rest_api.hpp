#pragma once

// The Dispatcher's HTTP surface: the public REST API (JSON, /v1, described
// in docs/openapi.yaml), the web UI at /ui/ (webui/), /health and /ready, and the internal RPC that
// JobManagers call (Dispatcher.ReportJobStatus). Handlers translate HTTP to
// calls on the Dispatcher and back; they hold no state of their own.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "common/auth/authenticator.hpp"
#include "common/auth/permissions.hpp"
#include "common/http/server.hpp"
#include "dispatcher/dispatcher.hpp"

namespace tailor::dispatcher {

struct RestApiConfig {
  std::uint64_t maxUploadBytes = 64ull << 20;  // a submission's whole body
  int maxListLimit = 1000;
  std::int64_t maxLogChunk = 1 << 20;
  // Where tailor-jobmanager and tailor-taskmanager are, served for the Mesos
  // fetcher at /v1/artifacts/<name>. Empty: not served.
  std::string artifactDir;
  // The path prefix under which users reach the API through a proxy (e.g.
  // /service/tailor behind DC/OS Admin Router); links given out start with it.
  std::string externalBasePath;
  // With Dispatchers electing a leader (a ZooKeeper state store): nullopt
  // while this one leads, else the leader's URL ("" while none is known).
  // A standby answers /v1 with 307 to the leader (503 without one), /ready
  // with 503, and /health as usual. Unset: this Dispatcher always leads.
  std::function<std::optional<std::string>()> standbyLeader;
  // Checks every request's credentials (docs/security.md, "REST
  // authentication"); null: authentication is off and every caller may do
  // everything. Outlives the server.
  auth::Authenticator* authenticator = nullptr;
};

// Who a request comes from, once its credentials are checked.
struct Caller {
  std::string name;  // "" without authentication
  // Sees and changes only its own jobs and sessions (role submit).
  bool ownOnly = false;
  // The owner to filter by: the caller's name when ownOnly.
  std::optional<std::string> onlyOwner() const {
    return ownOnly ? std::optional<std::string>(name) : std::nullopt;
  }
};

// Checks `request`'s credentials for `action`: the caller, or the answer
// (401 UNAUTHENTICATED with WWW-Authenticate, 403 FORBIDDEN naming the
// permission needed). Without an authenticator every request is a Caller
// named "" that may do everything.
std::variant<Caller, http::Response> authorize(auth::Authenticator* authenticator,
                                               const http::Request& request, auth::Action action);

// Adds the routes to `server` (before it starts).
void addRestApi(http::Server& server, Dispatcher& dispatcher, const RestApiConfig& config);

// Exposed for tests: the targets in Prometheus' HTTP service discovery format.
std::string scrapeTargetsJson(const std::vector<Dispatcher::ScrapeTarget>& targets);


}  // namespace tailor::dispatcher
