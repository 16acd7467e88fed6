#include "dispatcher/jobmanager_gateway.hpp"

#include "common/rpc.hpp"

namespace tailor::dispatcher {

void RpcJobManagerGateway::getStatus(const std::string& address, const std::string& jobId,
                                     StatusCallback done) {
  v1::GetJobStatusRequest request;
  request.set_job_id(jobId);
  client_.call<v1::ReportJobStatusRequest>(address, "JobManager", "GetJobStatus", request,
                                           std::move(done), Duration(5000), secretOf_(jobId));
}

void RpcJobManagerGateway::locateTask(const std::string& address, const std::string& jobId,
                                      const std::string& stage, int index,
                                      std::function<void(Result<v1::LocateTaskResponse>)> done) {
  v1::LocateTaskRequest request;
  request.set_job_id(jobId);
  request.set_stage(stage);
  request.set_index(index);
  client_.call<v1::LocateTaskResponse>(address, "JobManager", "LocateTask", request,
                                       std::move(done), Duration(5000), secretOf_(jobId));
}

void RpcJobManagerGateway::readTaskLog(
    const std::string& address, const v1::ReadTaskLogRequest& request,
    std::function<void(Result<v1::ReadTaskLogResponse>)> done) {
  client_.call<v1::ReadTaskLogResponse>(address, "TaskManager", "ReadTaskLog", request,
                                        std::move(done), Duration(10000),
                                        secretOf_(request.job_id()));
}

}  // namespace tailor::dispatcher
