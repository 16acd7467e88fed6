#include "tests/fake_mesos/checkpoint.hpp"

#include <filesystem>

#include "common/file_chunk.hpp"

namespace tailor::fake_mesos {
namespace {

namespace fs = std::filesystem;

// Reads one file into `message`.
Status readMessage(const fs::path& path, google::protobuf::Message& message) {
  auto bytes = readWholeFile(path.string());
  if (!bytes) return makeError(ErrorCode::kIo, "cannot read checkpoint '{}'", path.string());
  if (!message.ParseFromString(*bytes)) {
    return makeError(ErrorCode::kInvalidArgument, "checkpoint '{}' is not a {} protobuf",
                     path.string(), message.GetDescriptor()->full_name());
  }
  return Status::okStatus();
}

// The files of a directory (none if it does not exist), without those a
// write left half done (writeFileAtomically's temporaries).
std::vector<fs::path> filesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) continue;
    files.push_back(entry.path());
  }
  return files;
}

// Reads every file of `dir` as a Message, keyed by file name.
template <typename Message>
Status readAll(const fs::path& dir, std::map<std::string, Message>& out) {
  for (const auto& file : filesIn(dir)) {
    Message message;
    Status read = readMessage(file, message);
    if (!read.ok()) return read;
    out[file.filename().string()] = std::move(message);
  }
  return Status::okStatus();
}

void removeFile(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

}  // namespace

std::string AgentCheckpoint::frameworkDir(const std::string& frameworkId) const {
  return dir_ + "/frameworks/" + frameworkId;
}

Status AgentCheckpoint::write(const std::string& path, const google::protobuf::Message& message) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "cannot create '{}': {}",
                     fs::path(path).parent_path().string(), ec.message());
  }
  return writeFileAtomically(path, message.SerializeAsString());
}

Result<AgentCheckpoint::State> AgentCheckpoint::read() const {
  State state;
  fs::path agentFile = fs::path(dir_) / "slave.info";
  std::error_code ec;
  if (!fs::exists(agentFile, ec)) return state;
  ::mesos::v1::AgentInfo agent;
  Status read = readMessage(agentFile, agent);
  if (!read.ok()) return read.error();
  state.agent = std::move(agent);
  read = readAll(fs::path(dir_) / "containers", state.containers);
  if (!read.ok()) return read.error();
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "frameworks", ec)) {
    // A framework whose removal was cut short leaves nothing to recover.
    if (!entry.is_directory(ec) || !fs::exists(entry.path() / "framework.info", ec)) continue;
    Framework framework;
    read = readMessage(entry.path() / "framework.info", framework.info);
    if (!read.ok()) return read.error();
    read = readAll(entry.path() / "executors", framework.executors);
    if (read.ok()) read = readAll(entry.path() / "tasks", framework.tasks);
    if (!read.ok()) return read.error();
    state.frameworks[entry.path().filename().string()] = std::move(framework);
  }
  return state;
}

Status AgentCheckpoint::writeAgent(const ::mesos::v1::AgentInfo& info) {
  return write(dir_ + "/slave.info", info);
}

Status AgentCheckpoint::writeFramework(const ::mesos::v1::FrameworkInfo& info) {
  return write(frameworkDir(info.id().value()) + "/framework.info", info);
}

Status AgentCheckpoint::writeExecutor(const std::string& frameworkId,
                                      const checkpoint::Executor& executor) {
  return write(frameworkDir(frameworkId) + "/executors/" + executor.info().executor_id().value(),
               executor);
}

Status AgentCheckpoint::writeTask(const std::string& frameworkId, const checkpoint::Task& task) {
  return write(frameworkDir(frameworkId) + "/tasks/" + task.info().task_id().value(), task);
}

Status AgentCheckpoint::writeContainer(const checkpoint::Container& container) {
  return write(dir_ + "/containers/" + container.container_id(), container);
}

void AgentCheckpoint::removeTask(const std::string& frameworkId, const std::string& taskId) {
  removeFile(frameworkDir(frameworkId) + "/tasks/" + taskId);
}

void AgentCheckpoint::removeExecutor(const std::string& frameworkId,
                                     const std::string& executorId) {
  removeFile(frameworkDir(frameworkId) + "/executors/" + executorId);
}

void AgentCheckpoint::removeFramework(const std::string& frameworkId) {
  std::error_code ec;
  fs::remove_all(frameworkDir(frameworkId), ec);
}

void AgentCheckpoint::removeContainer(const std::string& containerId) {
  removeFile(dir_ + "/containers/" + containerId);
}

void AgentCheckpoint::removeAll() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace tailor::fake_mesos
