#include "dispatcher/local_job_store.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/file_chunk.hpp"

namespace tailor::dispatcher {

namespace fs = std::filesystem;

Result<std::unique_ptr<LocalJobStore>> LocalJobStore::open(const std::string& root) {
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec).lexically_normal();
  fs::create_directories(absolute / "jobs", ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "--state-store: cannot create '{}': {}",
                     (absolute / "jobs").string(), ec.message());
  }
  if (::access((absolute / "jobs").c_str(), W_OK) != 0) {
    return makeError(ErrorCode::kIo, "--state-store: '{}' is not writable", absolute.string());
  }
  std::string text = absolute.string();
  if (text.size() > 1 && text.back() == '/') text.pop_back();
  return std::unique_ptr<LocalJobStore>(new LocalJobStore(text));
}

std::string LocalJobStore::jobDir(const std::string& jobId) const {
  return root_ + "/jobs/" + jobId;
}

Result<std::string> LocalJobStore::putFiles(const std::string& jobId,
                                            const std::vector<v1::JobFile>& files) {
  fs::path folder = fs::path(jobDir(jobId)) / "files";
  Status stored = writeJobFiles(folder, files);
  if (!stored.ok()) {
    // No record points at them: leave nothing half-written behind.
    std::error_code ignored;
    fs::remove_all(jobDir(jobId), ignored);
    return stored.error();
  }
  return folder.string();
}

Status writeJobFiles(const fs::path& folder, const std::vector<v1::JobFile>& files) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "cannot create '{}': {}", folder.string(), ec.message());
  }
  for (const auto& file : files) {
    fs::path target = (folder / file.path()).lexically_normal();
    // The Dispatcher checked the names already; never write outside the folder.
    auto relative = target.lexically_relative(folder);
    if (relative.empty() || *relative.begin() == "..") {
      return makeError(ErrorCode::kInvalidArgument, "files: '{}' is outside the job's folder",
                       file.path());
    }
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return makeError(ErrorCode::kIo, "cannot create '{}': {}", target.parent_path().string(),
                       ec.message());
    }
    Status written = writeFileAtomically(target.string(), file.content());
    if (!written.ok()) return written;
  }
  return Status();
}

Result<std::vector<v1::JobFile>> readJobFiles(const fs::path& folder) {
  std::vector<v1::JobFile> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot list '{}': {}", folder.string(), ec.message());
  for (auto entry = fs::begin(it); entry != fs::end(it); entry.increment(ec)) {
    if (ec) return makeError(ErrorCode::kIo, "cannot list '{}': {}", folder.string(), ec.message());
    std::error_code statError;
    if (!entry->is_regular_file(statError)) continue;
    auto content = readWholeFile(entry->path().string());
    if (!content) return makeError(ErrorCode::kIo, "cannot read '{}'", entry->path().string());
    v1::JobFile file;
    file.set_path(entry->path().lexically_relative(folder).string());
    file.set_content(std::move(*content));
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const v1::JobFile& a, const v1::JobFile& b) { return a.path() < b.path(); });
  return files;
}

Result<std::vector<v1::JobFile>> LocalJobStore::getFiles(const std::string& jobId) {
  return readJobFiles(fs::path(jobDir(jobId)) / "files");
}

Result<std::string> LocalJobStore::getValue(const std::string& key) {
  return readWholeFile(root_ + "/values/" + key).value_or("");
}

Status LocalJobStore::putValue(const std::string& key, const std::string& value) {
  std::error_code ec;
  fs::create_directories(root_ + "/values", ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot create '{}/values': {}", root_, ec.message());
  // Values include the key job secrets derive from: the owner's only.
  fs::permissions(root_ + "/values", fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot restrict '{}/values': {}", root_, ec.message());
  return writeFileAtomically(root_ + "/values/" + key, value);
}

Status LocalJobStore::putJob(const v1::JobRecord& record) {
  std::string folder = jobDir(record.id());
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot create '{}': {}", folder, ec.message());
  return writeFileAtomically(folder + "/record.pb", record.SerializeAsString());
}

namespace {

// Reads DIR/<folder>/<key>/record.pb of every key; `parse` takes the bytes
// and the folder's name and says whether they are a valid record of it.
template <typename Record>
Result<std::vector<Record>> loadRecords(
    const std::string& root, const std::string& folder, const char* what,
    const std::function<bool(const std::string&, const std::string&, Record&)>& parse,
    std::vector<std::string>* problems) {
  std::vector<Record> records;
  std::error_code ec;
  fs::path listed = fs::path(root) / folder;
  if (folder == "sessions" && !fs::exists(listed, ec)) return records;  // none started yet
  fs::directory_iterator it(listed, ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot list '{}': {}", listed.string(), ec.message());
  for (auto entry = fs::begin(it); entry != fs::end(it); entry.increment(ec)) {
    if (ec) {
      if (problems != nullptr) problems->push_back(listed.string() + ": " + ec.message());
      break;
    }
    std::error_code statError;
    if (!entry->is_directory(statError)) continue;
    fs::path file = entry->path() / "record.pb";
    // Files stored, record not yet: a submission never accepted.
    if (!fs::exists(file, statError)) {
      if (statError && problems != nullptr) {
        problems->push_back(file.string() + ": " + statError.message());
      }
      continue;
    }
    auto bytes = readWholeFile(file.string());
    Record record;
    if (!bytes || !parse(*bytes, entry->path().filename().string(), record)) {
      if (problems != nullptr) problems->push_back(file.string() + ": not a valid " + what);
      continue;
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace

Result<std::vector<v1::JobRecord>> LocalJobStore::loadJobs(std::vector<std::string>* problems) {
  return loadRecords<v1::JobRecord>(
      root_, "jobs", "job record",
      [](const std::string& bytes, const std::string& id, v1::JobRecord& record) {
        return record.ParseFromString(bytes) && !record.id().empty() && record.id() == id;
      },
      problems);
}

std::string LocalJobStore::sessionDir(const std::string& name) const {
  return root_ + "/sessions/" + name;
}

Status LocalJobStore::putSession(const v1::SessionRecord& record) {
  std::string folder = sessionDir(record.view().name());
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return makeError(ErrorCode::kIo, "cannot create '{}': {}", folder, ec.message());
  return writeFileAtomically(folder + "/record.pb", record.SerializeAsString());
}

Result<std::vector<v1::SessionRecord>> LocalJobStore::loadSessions(
    std::vector<std::string>* problems) {
  return loadRecords<v1::SessionRecord>(
      root_, "sessions", "session record",
      [](const std::string& bytes, const std::string& name, v1::SessionRecord& record) {
        return record.ParseFromString(bytes) && record.view().name() == name;
      },
      problems);
}

Result<std::unique_ptr<JobStore>> openJobStore(const std::string& spec) {
  const std::string prefix = "local:";
  if (spec.rfind(prefix, 0) != 0 || spec.size() == prefix.size()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--state-store: '{}' is not a state store (expected local:DIR)", spec);
  }
  auto store = LocalJobStore::open(spec.substr(prefix.size()));
  if (!store.ok()) return store.error();
  return std::unique_ptr<JobStore>(std::move(*store));
}

}  // namespace tailor::dispatcher
