#pragma once

#include "common/http/client.hpp"
#include "common/rpc.hpp"
#include "scheduler/jobmaster/taskmanager_gateway.hpp"

namespace tailor::scheduler {

// TaskManagerGateway over Tailor's internal RPC and the TM's partition server.
class RpcTaskManagerGateway : public TaskManagerGateway {
 public:
  RpcTaskManagerGateway(rpc::Client& rpc, http::HttpClient& http) : rpc_(rpc), http_(http) {}

  void deployTask(const std::string& address, const v1::TaskDeployment& task,
                  Done done) override;
  void cancelTask(const std::string& address, const std::string& jobId,
                  const std::string& attemptId) override;
  void dropJob(const std::string& address, const std::string& jobId) override;
  void fetchPartition(const std::string& address, const std::string& path,
                      const std::string& destination, Done done) override;

 private:
  rpc::Client& rpc_;
  http::HttpClient& http_;
};

}  // namespace tailor::scheduler
