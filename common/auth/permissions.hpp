#pragma once

// Who may do what on the Dispatcher's REST API (docs/security.md, "REST
// authentication"). A pure decision; dispatcher/rest_api.cpp applies it.

#include <string>

#include "common/auth/credentials.hpp"

namespace tailor::auth {

// What a request does.
enum class Action {
  kView,         // GET jobs, sessions, their logs and reports, the overview
  kViewCluster,  // GET /metrics and /v1/metrics/targets
  kSubmit,       // POST /v1/jobs, POST /v1/sessions
  kChange,       // cancel a job, stop a session
};

struct Access {
  bool allowed = false;
  // Allowed only on the caller's own jobs and sessions; anyone else's are
  // answered as if they did not exist.
  bool ownOnly = false;
  // When not allowed: the permission needed, in words for the 403.
  std::string needed;
};

// read: every kView and kViewCluster; submit: kSubmit (into its own
// sessions), and kView and kChange of its own; admin: everything.
Access decide(Role role, Action action);

}  // namespace tailor::auth
