#pragma once

// What the Dispatcher asks of a job's processes directly over Tailor's RPC,
// beside the reports the JobManager pushes: its status (JobManager.GetJobStatus)
// after a restart, so an adopted job's status is current at once, and when a
// JobManager has been silent for half of --jobmanager-timeout, before it is
// given up; and a task's stderr where it is not on this machine (on Mesos):
// where the task ran (JobManager.LocateTask), then the window of its log
// (TaskManager.ReadTaskLog).

#include <functional>
#include <string>

#include "common/result.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/rpc.pb.h"

namespace tailor {
namespace rpc {
class Client;
}
}  // namespace tailor

namespace tailor::dispatcher {

class JobManagerGateway {
 public:
  using StatusCallback = std::function<void(Result<v1::ReportJobStatusRequest>)>;
  virtual ~JobManagerGateway() = default;

  // Asks the JobManager at `address` (host:port) for job `jobId`'s status;
  // `done` runs later on the Dispatcher's loop, with an error when it cannot
  // be reached.
  virtual void getStatus(const std::string& address, const std::string& jobId,
                         StatusCallback done) = 0;

  // Asks the JobManager at `address` where task `stage`[`index`] of job
  // `jobId` last ran (a session's JobManager runs many jobs).
  virtual void locateTask(const std::string& address, const std::string& jobId,
                          const std::string& stage, int index,
                          std::function<void(Result<v1::LocateTaskResponse>)> done) = 0;

  // Reads a window of a task attempt's stderr from the TaskManager at `address`.
  virtual void readTaskLog(const std::string& address, const v1::ReadTaskLogRequest& request,
                           std::function<void(Result<v1::ReadTaskLogResponse>)> done) = 0;
};

class RpcJobManagerGateway : public JobManagerGateway {
 public:
  // `secretOf(jobId)`: what a call about that job carries (the secret its
  // processes hold; docs/security.md).
  using SecretOf = std::function<std::string(const std::string& jobId)>;
  RpcJobManagerGateway(rpc::Client& client, SecretOf secretOf)
      : client_(client), secretOf_(std::move(secretOf)) {}
  void getStatus(const std::string& address, const std::string& jobId,
                 StatusCallback done) override;
  void locateTask(const std::string& address, const std::string& jobId, const std::string& stage,
                  int index, std::function<void(Result<v1::LocateTaskResponse>)> done) override;
  void readTaskLog(const std::string& address, const v1::ReadTaskLogRequest& request,
                   std::function<void(Result<v1::ReadTaskLogResponse>)> done) override;

 private:
  rpc::Client& client_;
  SecretOf secretOf_;
};

}  // namespace tailor::dispatcher
