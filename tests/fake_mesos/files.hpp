#pragma once

// An agent's files endpoint as Mesos' FilesProcess serves it
// (src/files/files.cpp): directories attached under virtual paths, read with
//
//   GET /files/read?path=<virtual path>[&offset=N][&length=N]
//
// The agent attaches each executor's sandbox when it launches (or recovers)
// it, as /frameworks/<fw>/executors/<executor>/runs/latest (the latest run)
// and under its real path (Mesos' Framework::addExecutor); Mesos detaches
// them when it garbage-collects the sandbox, the fake never does. One
// SandboxFiles serves all the agents of a fake-mesos process, on its port.
// Loop thread only.

#include <map>
#include <string>

#include "common/http/server.hpp"
#include "common/result.hpp"

namespace tailor::fake_mesos {

class SandboxFiles {
 public:
  // Serves `directory` (a host path; its real path is kept) under
  // `virtualPath`; a later attach of the same virtual path replaces it.
  void attach(const std::string& directory, const std::string& virtualPath);

  // The host path of `virtualPath`, as Mesos' FilesProcess::resolve: the
  // longest attached prefix and the rest below it, canonical. kNotFound when
  // nothing is attached there or no such file exists; kInvalidArgument
  // ("'<path>' is inaccessible") when it leads outside the attached directory.
  Result<std::string> resolve(const std::string& virtualPath) const;

  // Answers /files/read as Mesos does: 200 {"data": ..., "offset": N}
  // (offset=-1, or none: no data and the file's size as `offset`; length -1
  // or none: to the end; at most 16 pages read at once), 400 with Mesos' text
  // for a missing path, a bad offset or length, a directory or an
  // inaccessible path, 404 with no body for a path not found.
  http::Response read(const http::Request& request) const;

 private:
  std::map<std::string, std::string> attached_;  // virtual path -> real path
};

}  // namespace tailor::fake_mesos
