#pragma once

// An agent's meta directory: what a fake agent writes as it goes so that,
// killed and started again on the same work directory, it can recover the
// executors of checkpointing frameworks, as a Mesos agent does from
// `<work_dir>/meta`. One directory per agent of a process, one file per
// item (checkpoint.proto), each replaced at once (written aside, renamed):
//
//   <work dir>/meta/slave(N)/slave.info                       AgentInfo
//   <work dir>/meta/slave(N)/containers/<container id>        every executor's process
//   <work dir>/meta/slave(N)/frameworks/<id>/framework.info   FrameworkInfo
//   <work dir>/meta/slave(N)/frameworks/<id>/executors/<executor id>
//   <work dir>/meta/slave(N)/frameworks/<id>/tasks/<task id>  the task and its updates
//
// Frameworks, executors and tasks are written only for frameworks with
// `checkpoint` set; containers for all. Ids are Mesos ids, which never hold
// '/' (the master validates them). Loop thread only.

#include <map>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "mesos/v1/mesos.pb.h"
#include "tests/fake_mesos/checkpoint.pb.h"

namespace tailor::fake_mesos {

class AgentCheckpoint {
 public:
  struct Framework {
    ::mesos::v1::FrameworkInfo info;
    std::map<std::string, checkpoint::Executor> executors;  // by executor id
    std::map<std::string, checkpoint::Task> tasks;          // by task id
  };
  struct State {
    std::optional<::mesos::v1::AgentInfo> agent;  // none: nothing was checkpointed
    std::map<std::string, Framework> frameworks;
    std::map<std::string, checkpoint::Container> containers;  // by container id
  };

  // `dir`: the agent's own directory, <work dir>/meta/slave(N).
  explicit AgentCheckpoint(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }

  // Everything written before. A missing directory is an empty state; a file
  // that cannot be read or parsed is an error naming it.
  Result<State> read() const;

  // Each replaces its file (creating directories); errors name the file.
  Status writeAgent(const ::mesos::v1::AgentInfo& info);
  Status writeFramework(const ::mesos::v1::FrameworkInfo& info);
  Status writeExecutor(const std::string& frameworkId, const checkpoint::Executor& executor);
  Status writeTask(const std::string& frameworkId, const checkpoint::Task& task);
  Status writeContainer(const checkpoint::Container& container);

  // Removals of what ended; a missing file is fine.
  void removeTask(const std::string& frameworkId, const std::string& taskId);
  void removeExecutor(const std::string& frameworkId, const std::string& executorId);
  void removeFramework(const std::string& frameworkId);
  void removeContainer(const std::string& containerId);
  // The whole directory: the agent is gone for good (its next start is a new agent).
  void removeAll();

 private:
  std::string frameworkDir(const std::string& frameworkId) const;
  Status write(const std::string& path, const google::protobuf::Message& message);

  std::string dir_;
};

}  // namespace tailor::fake_mesos
