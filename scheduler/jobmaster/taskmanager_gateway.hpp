#pragma once

// What the JobMaster asks of TaskManagers; the real one speaks RPC
// (rpc_taskmanager_gateway.hpp), tests use a gmock mock.

#include <functional>
#include <string>

#include "common/result.hpp"
#include "tailor/v1/rpc.pb.h"

namespace tailor::scheduler {

class TaskManagerGateway {
 public:
  using Done = std::function<void(Status)>;
  virtual ~TaskManagerGateway() = default;

  // Deploys an attempt to the TM at `address`. `done` runs on the loop once
  // the TM accepted or refused it (or could not be reached).
  virtual void deployTask(const std::string& address, const v1::TaskDeployment& task,
                          Done done) = 0;

  // Asks the TM to kill attempt `attemptId` of job `jobId`; best effort, no
  // answer.
  virtual void cancelTask(const std::string& address, const std::string& jobId,
                          const std::string& attemptId) = 0;

  // Tells the TM that job `jobId` ended (TaskManager.DropPartitions): it
  // kills the job's attempts and removes its partitions and scratch space.
  // Fire and forget: best effort, no answer.
  virtual void dropJob(const std::string& address, const std::string& jobId) = 0;

  // Copies partition `path` of the TM at `address` into the local file
  // `destination`.
  virtual void fetchPartition(const std::string& address, const std::string& path,
                              const std::string& destination, Done done) = 0;
};

}  // namespace tailor::scheduler
