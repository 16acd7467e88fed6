#pragma once

// The `local` state store: one folder per job under DIR/jobs/<id>/ with
//   record.pb      the JobRecord (binary protobuf), replaced atomically
//   files/         the submitted spec and files
//   ...            logs, reports and work folders of its JobManagers
// DIR/sessions/<name>/ with record.pb (the SessionRecord) and its
// JobManagers' logs and work folders, and DIR/values/<key> for the
// Dispatcher's own values (its framework id).
// Writes go to a fresh temporary file that is fsync'ed, renamed over the old one,
// and the folder fsync'ed, so a crash leaves either the old or the new record.
// Loop thread only: writes block for the fsync (a few milliseconds).

#include <filesystem>

#include "dispatcher/job_store.hpp"

namespace tailor::dispatcher {

class LocalJobStore : public JobStore {
 public:
  // `root` must exist or be creatable.
  static Result<std::unique_ptr<LocalJobStore>> open(const std::string& root);

  Result<std::string> putFiles(const std::string& jobId,
                               const std::vector<v1::JobFile>& files) override;
  Result<std::vector<v1::JobFile>> getFiles(const std::string& jobId) override;
  Status putJob(const v1::JobRecord& record) override;
  Result<std::vector<v1::JobRecord>> loadJobs(std::vector<std::string>* problems) override;
  Status putSession(const v1::SessionRecord& record) override;
  Result<std::vector<v1::SessionRecord>> loadSessions(std::vector<std::string>* problems) override;
  std::string sessionDir(const std::string& name) const override;
  Result<std::string> getValue(const std::string& key) override;
  Status putValue(const std::string& key, const std::string& value) override;
  std::string jobDir(const std::string& jobId) const override;
  std::string jobManagerStore(const std::string& jobId) const override {
    return "local:" + jobDir(jobId) + "/jobmanager";
  }
  std::string describe() const override { return "local:" + root_; }

 private:
  explicit LocalJobStore(std::string root) : root_(std::move(root)) {}

  std::string root_;
};

// Writes a job's submitted files into `folder` (created if needed), never
// outside it.
Status writeJobFiles(const std::filesystem::path& folder, const std::vector<v1::JobFile>& files);

// Reads back every file under `folder`, paths relative to it, in path order.
Result<std::vector<v1::JobFile>> readJobFiles(const std::filesystem::path& folder);


}  // namespace tailor::dispatcher
