#pragma once

// GET /partitions/<path>: serves the files under one directory (a
// TaskManager's result partitions, or those the JobManager took over) with
// sendfile. Paths that climb out of the directory are refused with 400.

#include <string>

#include "common/http/server.hpp"

namespace tailor::http {

void servePartitions(Server& server, const std::string& directory);

}  // namespace tailor::http
