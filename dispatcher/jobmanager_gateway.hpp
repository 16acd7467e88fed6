#pragma once

// What the Dispatcher asks of a JobManager directly (JobManager.GetJobStatus
// over Tailor's RPC), beside the reports the JobManager pushes: after a
// restart, so an adopted job's status is current at once, and when a
// JobManager has been silent for half of --jobmanager-timeout, before it is
// given up.

#include <functional>
#include <string>

#include "common/result.hpp"
#include "tailor/v1/dispatcher.pb.h"

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
};

class RpcJobManagerGateway : public JobManagerGateway {
 public:
  explicit RpcJobManagerGateway(rpc::Client& client) : client_(client) {}
  void getStatus(const std::string& address, const std::string& jobId,
                 StatusCallback done) override;

 private:
  rpc::Client& client_;
};

}  // namespace tailor::dispatcher
