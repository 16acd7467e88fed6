#include "scheduler/jobmaster/rpc_taskmanager_gateway.hpp"

#include "common/http/partition_route.hpp"
#include "common/http/tls.hpp"

namespace tailor::scheduler {

void RpcTaskManagerGateway::deployTask(const std::string& address,
                                       const v1::TaskDeployment& task, Done done) {
  v1::DeployTaskRequest request;
  *request.mutable_task() = task;
  rpc_.call<v1::DeployTaskResponse>(
      address, "TaskManager", "DeployTask", request,
      [done = std::move(done)](Result<v1::DeployTaskResponse> response) {
        if (!response.ok()) {
          done(response.error());
        } else if (!response->accepted()) {
          done(makeError(ErrorCode::kFailedPrecondition, "refused: {}", response->reason()));
        } else {
          done(Status());
        }
      });
}

void RpcTaskManagerGateway::cancelTask(const std::string& address, const std::string& jobId,
                                       const std::string& attemptId) {
  v1::CancelTaskRequest request;
  request.set_job_id(jobId);
  request.set_attempt_id(attemptId);
  rpc_.call<v1::CancelTaskResponse>(address, "TaskManager", "CancelTask", request,
                                    [](Result<v1::CancelTaskResponse>) {});
}

void RpcTaskManagerGateway::dropJob(const std::string& address, const std::string& jobId) {
  v1::DropPartitionsRequest request;
  request.set_job_id(jobId);
  rpc_.call<v1::DropPartitionsResponse>(address, "TaskManager", "DropPartitions", request,
                                        [](Result<v1::DropPartitionsResponse>) {});
}

void RpcTaskManagerGateway::fetchPartition(const std::string& address, const std::string& path,
                                           const std::string& destination, Done done) {
  http::ClientRequest request;
  request.url = http::internalScheme() + address + "/partitions/" + path;
  rpc::addCallSecret(request);
  request.outputFile = destination;
  request.timeout = Duration(600000);
  std::string url = request.url;
  http_.send(std::move(request),
             [done = std::move(done), url](Result<http::ClientResponse> response) {
               if (!response.ok()) {
                 done(response.error());
               } else if (response->status != 200) {
                 done(makeError(ErrorCode::kUnavailable, "GET {}: HTTP {}", url,
                                response->status));
               } else {
                 http::countPartitionBytesFetched(response->bytesReceived);
                 done(Status());
               }
             });
}

}  // namespace tailor::scheduler
