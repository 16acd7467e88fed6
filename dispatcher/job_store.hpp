#pragma once

// Where the Dispatcher keeps its job records so that they survive any
// restart, and the records of its sessions (docs/sessions.md). The `local`
// store (a directory) is below; the ZooKeeper store of the HA work implements
// the same interface.

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/session.pb.h"

namespace tailor::dispatcher {

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Stores the job's submitted files (its spec among them) once, before the
  // job's first record. Returns the local folder they are in, which is what
  // the spec's relative paths resolve against. Fails on any I/O error and then
  // leaves no record behind.
  virtual Result<std::string> putFiles(const std::string& jobId,
                                       const std::vector<v1::JobFile>& files) = 0;

  // The files stored with the job (its spec among them), as putFiles got
  // them. Fails when they cannot be read.
  virtual Result<std::vector<v1::JobFile>> getFiles(const std::string& jobId) = 0;

  // Writes the record whole, replacing the previous one. Atomic and durable:
  // after a crash the store holds either the old or the new record, never a mix.
  virtual Status putJob(const v1::JobRecord& record) = 0;

  // Every record in the store. Records that cannot be read are skipped and
  // named in `problems` (a damaged file never stops the Dispatcher).
  virtual Result<std::vector<v1::JobRecord>> loadJobs(std::vector<std::string>* problems) = 0;

  // Writes a session's record whole (keyed by its name), replacing the
  // previous one; atomic and durable like putJob.
  virtual Status putSession(const v1::SessionRecord& record) = 0;

  // Every session record in the store; unreadable ones are skipped and named
  // in `problems`.
  virtual Result<std::vector<v1::SessionRecord>> loadSessions(
      std::vector<std::string>* problems) = 0;

  // A local folder of the session's own for its JobManagers' logs and work files.
  virtual std::string sessionDir(const std::string& name) const = 0;

  // A small value of the Dispatcher's own under `key` (its Mesos framework
  // id); empty when never set. Durable like records.
  virtual Result<std::string> getValue(const std::string& key) = 0;
  virtual Status putValue(const std::string& key, const std::string& value) = 0;

  // A folder of the job's own for logs and work files of its JobManagers.
  virtual std::string jobDir(const std::string& jobId) const = 0;

  // Where the job's JobManager attempts keep their state and elect their
  // leader (tailor-jobmanager --ha-store): local:DIR or zk://... (docs/ha.md).
  virtual std::string jobManagerStore(const std::string& jobId) const = 0;

  // Describes the store for logs, e.g. "local:/var/lib/tailor".
  virtual std::string describe() const = 0;
};

// Parses --state-store (`local:DIR`) into a store, creating DIR if needed.
Result<std::unique_ptr<JobStore>> openJobStore(const std::string& spec);

}  // namespace tailor::dispatcher
