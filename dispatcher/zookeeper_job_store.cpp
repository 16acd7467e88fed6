#include "dispatcher/zookeeper_job_store.hpp"

#include <filesystem>

#include "common/logging.hpp"
#include "common/zookeeper/values.hpp"
#include "dispatcher/local_job_store.hpp"
#include "dispatcher/submission.hpp"

namespace tailor::dispatcher {

namespace fs = std::filesystem;
using zookeeper::CreateMode;
using zookeeper::Op;

Result<std::unique_ptr<ZooKeeperJobStore>> ZooKeeperJobStore::open(zookeeper::Session& session,
                                                                   std::string root,
                                                                   std::string url,
                                                                   std::string workDir) {
  for (const char* folder : {"/jobs", "/sessions", "/values"}) {
    Status made = session.ensurePath(root + folder);
    if (!made.ok()) return made.error().withContext("--state-store " + url);
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(workDir, ec).lexically_normal();
  fs::create_directories(absolute / "jobs", ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "--work-dir: cannot create '{}': {}",
                     (absolute / "jobs").string(), ec.message());
  }
  std::string local = absolute.string();
  if (local.size() > 1 && local.back() == '/') local.pop_back();
  return std::unique_ptr<ZooKeeperJobStore>(
      new ZooKeeperJobStore(session, std::move(root), std::move(url), std::move(local)));
}

std::string ZooKeeperJobStore::jobDir(const std::string& jobId) const {
  return workDir_ + "/jobs/" + jobId;
}

Result<std::string> ZooKeeperJobStore::putFiles(const std::string& jobId,
                                                const std::vector<v1::JobFile>& files) {
  std::vector<Op> ops;
  if (!fence_.empty()) ops.push_back(Op::check(fence_));
  ops.push_back(Op::create(jobNode(jobId), "I"));  // an empty value (values.hpp)
  int failed = -1;
  Status made = session_.multi(ops, &failed);
  if (!made.ok()) {
    if (!fence_.empty() && failed == 0) return zookeeper::fencedError(fence_);
    return made.error();
  }
  v1::StoredFiles stored;
  for (const auto& file : files) *stored.add_files() = file;
  Status written = zookeeper::writeValue(session_, jobNode(jobId) + "/files",
                                         stored.SerializeAsString(), fence_);
  fs::path folder = fs::path(jobDir(jobId)) / "files";
  if (written.ok()) written = writeJobFiles(folder, files);
  if (!written.ok()) {
    // No record points at them: leave nothing half-written behind.
    (void)session_.removeAll(jobNode(jobId));
    std::error_code ignored;
    fs::remove_all(jobDir(jobId), ignored);
    return written.error();
  }
  return folder.string();
}

Result<std::vector<v1::JobFile>> ZooKeeperJobStore::getFiles(const std::string& jobId) {
  auto blob = zookeeper::readValue(session_, jobNode(jobId) + "/files");
  if (!blob.ok()) return blob.error();
  v1::StoredFiles stored;
  if (!blob->has_value() || !stored.ParseFromString(**blob)) {
    return makeError(ErrorCode::kNotFound, "{}/files is missing or not a list of files",
                     jobNode(jobId));
  }
  return std::vector<v1::JobFile>(stored.files().begin(), stored.files().end());
}

Status ZooKeeperJobStore::putJob(const v1::JobRecord& record) {
  return zookeeper::writeValue(session_, jobNode(record.id()), record.SerializeAsString(), fence_);
}

Status ZooKeeperJobStore::materializeFiles(const v1::JobRecord& record) {
  fs::path folder = fs::path(jobDir(record.id())) / "files";
  std::error_code ec;
  if (fs::exists(folder / record.spec_name(), ec)) return Status();
  auto blob = zookeeper::readValue(session_, jobNode(record.id()) + "/files");
  if (!blob.ok()) return blob.error();
  if (!blob->has_value()) {
    return makeError(ErrorCode::kNotFound, "{}/files is missing", jobNode(record.id()));
  }
  v1::StoredFiles stored;
  if (!stored.ParseFromString(**blob)) {
    return makeError(ErrorCode::kInternal, "{}/files is not a list of files", jobNode(record.id()));
  }
  return writeJobFiles(folder, {stored.files().begin(), stored.files().end()});
}

Result<std::vector<v1::JobRecord>> ZooKeeperJobStore::loadJobs(std::vector<std::string>* problems) {
  auto note = [&](const std::string& problem) {
    if (problems != nullptr) problems->push_back(problem);
  };
  auto ids = session_.children(root_ + "/jobs");
  if (!ids.ok()) return ids.error();
  std::vector<v1::JobRecord> records;
  for (const auto& id : *ids) {
    std::string node = jobNode(id);
    auto value = zookeeper::readValue(session_, node);
    if (!value.ok()) {
      if (value.error().code == ErrorCode::kUnavailable) return value.error();
      note(node + ": " + value.error().message);
      continue;
    }
    if (!value->has_value()) continue;  // removed since the list
    if ((*value)->empty()) {
      // Files stored, record not yet: a submission that was never accepted.
      Status removed = session_.removeAll(node);
      note(node + ": a submission that never got its record; " +
           (removed.ok() ? std::string("removed") : "cannot remove: " + removed.error().message));
      continue;
    }
    v1::JobRecord record;
    if (!record.ParseFromString(**value) || record.id() != id) {
      note(node + ": not a valid job record");
      continue;
    }
    if (!isEndState(record.state())) {
      Status files = materializeFiles(record);
      if (!files.ok()) {
        if (files.error().code == ErrorCode::kUnavailable) return files.error();
        note(node + ": cannot write its files to " + jobDir(id) + ": " + files.error().message);
      }
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::string ZooKeeperJobStore::sessionDir(const std::string& name) const {
  return workDir_ + "/sessions/" + name;
}

Status ZooKeeperJobStore::putSession(const v1::SessionRecord& record) {
  return zookeeper::writeValue(session_, root_ + "/sessions/" + record.view().name(),
                               record.SerializeAsString(), fence_);
}

Result<std::vector<v1::SessionRecord>> ZooKeeperJobStore::loadSessions(
    std::vector<std::string>* problems) {
  auto names = session_.children(root_ + "/sessions");
  if (!names.ok()) return names.error();
  std::vector<v1::SessionRecord> records;
  for (const auto& name : *names) {
    std::string node = root_ + "/sessions/" + name;
    auto value = zookeeper::readValue(session_, node);
    if (!value.ok()) {
      if (value.error().code == ErrorCode::kUnavailable) return value.error();
      if (problems != nullptr) problems->push_back(node + ": " + value.error().message);
      continue;
    }
    if (!value->has_value()) continue;  // removed since the list
    v1::SessionRecord record;
    if (!record.ParseFromString(**value) || record.view().name() != name) {
      if (problems != nullptr) problems->push_back(node + ": not a valid session record");
      continue;
    }
    records.push_back(std::move(record));
  }
  return records;
}

Result<std::string> ZooKeeperJobStore::getValue(const std::string& key) {
  auto value = zookeeper::readValue(session_, root_ + "/values/" + key);
  if (!value.ok()) return value.error();
  return value->value_or("");
}

Status ZooKeeperJobStore::putValue(const std::string& key, const std::string& value) {
  return zookeeper::writeValue(session_, root_ + "/values/" + key, value, fence_);
}

}  // namespace tailor::dispatcher
