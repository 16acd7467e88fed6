#pragma once

// GET /partitions/<path>: serves the files under one directory (a
// TaskManager's result partitions, or those the JobManager took over) with
// sendfile, to the job's own processes only (docs/security.md). A request
// without the job's secret is refused with 401; a path that is not plain
// names (`..`, `.`, empty parts, absolute, NUL) with 400; a path that passes
// a symbolic link, or is not a regular file, with 404.
// The bytes served count in tailor_partition_bytes_served_total.

#include <cstdint>
#include <string>

#include "common/http/server.hpp"

namespace tailor::http {

// `secret`: what requests must carry (secret::kHeader); empty: nothing.
void servePartitions(Server& server, const std::string& directory, const std::string& secret);

// Whether `relative` is a plain relative path: names separated by single
// slashes, none of them `.` or `..`, no NUL.
bool isPlainRelativePath(const std::string& relative);

// Counts `bytes` of partitions fetched (tailor_partition_bytes_fetched_total),
// by a TaskManager's inputs or the JobManager's collection. Any thread.
void countPartitionBytesFetched(std::int64_t bytes);

}  // namespace tailor::http
