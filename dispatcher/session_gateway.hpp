#pragma once

// What the Dispatcher asks of a session's JobManager over Tailor's RPC (the
// Session service of proto/tailor/v1/session.proto): run a job in it, cancel
// one of its jobs, stop it. What the session tells back comes as reports
// (Dispatcher.ReportSession for itself, Dispatcher.ReportJobStatus per job).

#include <functional>
#include <string>

#include "common/result.hpp"
#include "tailor/v1/session.pb.h"

namespace tailor {
namespace rpc {
class Client;
}
}  // namespace tailor

namespace tailor::dispatcher {

class SessionGateway {
 public:
  virtual ~SessionGateway() = default;

  // Session.SubmitJob to the session at `address` (host:port). `done` runs
  // later on the Dispatcher's loop: the answer (accepted, or refused with a
  // reason), or an error when the session cannot be reached.
  virtual void submitJob(const std::string& address, const v1::SessionSubmitJobRequest& request,
                         std::function<void(Result<v1::SessionSubmitJobResponse>)> done) = 0;

  // Session.CancelJob; as submitJob.
  virtual void cancelJob(const std::string& address, const v1::SessionCancelJobRequest& request,
                         std::function<void(Result<v1::SessionCancelJobResponse>)> done) = 0;

  // Session.Stop: the session cancels its jobs, releases its TaskManagers and
  // exits. `done` hears whether it was reached.
  virtual void stop(const std::string& address, const v1::SessionStopRequest& request,
                    std::function<void(Result<v1::SessionStopResponse>)> done) = 0;
};

class RpcSessionGateway : public SessionGateway {
 public:
  // What calls carry (docs/security.md): `jobSecretOf(jobId)` for calls
  // about a job (its session's secret), `sessionSecretOf(name)` for Stop.
  using SecretOf = std::function<std::string(const std::string&)>;
  RpcSessionGateway(rpc::Client& client, SecretOf jobSecretOf, SecretOf sessionSecretOf)
      : client_(client),
        jobSecretOf_(std::move(jobSecretOf)),
        sessionSecretOf_(std::move(sessionSecretOf)) {}
  void submitJob(const std::string& address, const v1::SessionSubmitJobRequest& request,
                 std::function<void(Result<v1::SessionSubmitJobResponse>)> done) override;
  void cancelJob(const std::string& address, const v1::SessionCancelJobRequest& request,
                 std::function<void(Result<v1::SessionCancelJobResponse>)> done) override;
  void stop(const std::string& address, const v1::SessionStopRequest& request,
            std::function<void(Result<v1::SessionStopResponse>)> done) override;

 private:
  rpc::Client& client_;
  SecretOf jobSecretOf_;
  SecretOf sessionSecretOf_;
};

}  // namespace tailor::dispatcher
