#pragma once

// GET <path>: serves one file at exactly one path, with sendfile (404 when the
// file is missing, or for any other path under it). The JobManager serves its
// tailor-taskmanager to the agents' Mesos fetcher this way.

#include <string>

#include "common/http/server.hpp"

namespace tailor::http {

// `path` starts with '/'; `file` is read at each request. Call before start().
void serveFile(Server& server, const std::string& path, const std::string& file);

}  // namespace tailor::http
