#include "dispatcher/jobmanager_gateway.hpp"

#include "common/rpc.hpp"

namespace tailor::dispatcher {

void RpcJobManagerGateway::getStatus(const std::string& address, const std::string& jobId,
                                     StatusCallback done) {
  v1::GetJobStatusRequest request;
  request.set_job_id(jobId);
  client_.call<v1::ReportJobStatusRequest>(address, "JobManager", "GetJobStatus", request,
                                           std::move(done), Duration(5000));
}

}  // namespace tailor::dispatcher
