#include "dispatcher/session_gateway.hpp"

#include "common/rpc.hpp"

namespace tailor::dispatcher {

void RpcSessionGateway::submitJob(const std::string& address,
                                  const v1::SessionSubmitJobRequest& request,
                                  std::function<void(Result<v1::SessionSubmitJobResponse>)> done) {
  // A job's files travel in the call: give it time.
  client_.call<v1::SessionSubmitJobResponse>(address, "Session", "SubmitJob", request,
                                             std::move(done), Duration(30000),
                                             jobSecretOf_(request.job_id()));
}

void RpcSessionGateway::cancelJob(const std::string& address,
                                  const v1::SessionCancelJobRequest& request,
                                  std::function<void(Result<v1::SessionCancelJobResponse>)> done) {
  client_.call<v1::SessionCancelJobResponse>(address, "Session", "CancelJob", request,
                                             std::move(done), Duration(5000),
                                             jobSecretOf_(request.job_id()));
}

void RpcSessionGateway::stop(const std::string& address, const v1::SessionStopRequest& request,
                             std::function<void(Result<v1::SessionStopResponse>)> done) {
  client_.call<v1::SessionStopResponse>(address, "Session", "Stop", request, std::move(done),
                                        Duration(5000), sessionSecretOf_(request.session()));
}

}  // namespace tailor::dispatcher
