#pragma once

// GET /partitions/<path>: serves the files under one directory (a
// TaskManager's result partitions, or those the JobManager took over) with
// sendfile. Paths that climb out of the directory are refused with 400.
// The bytes served count in tailor_partition_bytes_served_total.

#include <cstdint>
#include <string>

#include "common/http/server.hpp"

namespace tailor::http {

void servePartitions(Server& server, const std::string& directory);

// Counts `bytes` of partitions fetched (tailor_partition_bytes_fetched_total),
// by a TaskManager's inputs or the JobManager's collection. Any thread.
void countPartitionBytesFetched(std::int64_t bytes);

}  // namespace tailor::http
