#include "scheduler/session_reporter.hpp"

#include "common/http/client.hpp"
#include "common/logging.hpp"
#include "common/rpc.hpp"
#include "scheduler/dispatcher_reporter.hpp"

namespace tailor::scheduler {

SessionReporter::SessionReporter(SessionReporterConfig config) : config_(std::move(config)) {}

SessionReporter::~SessionReporter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void SessionReporter::start() { sender_ = std::thread([this] { senderMain(); }); }

void SessionReporter::update(v1::SessionStatus status) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_ = std::move(status);
}

std::optional<v1::ReportSessionResponse> SessionReporter::send(
    const v1::ReportSessionRequest& request) {
  std::string dispatcher;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dispatcher = config_.dispatcherAddress;
  }
  auto answer =
      rpc::callBlocking<v1::ReportSessionResponse>(dispatcher, "Dispatcher", "ReportSession", request);
  if (!answer.ok()) {
    std::string leader = lookUpLeadingDispatcher(config_.dispatcherLeaders);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!leader.empty()) config_.dispatcherAddress = leader;
    return std::nullopt;
  }
  return *answer;
}

void SessionReporter::senderMain() {
  auto log = logger("session");
  bool reachable = true;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (status_) {
      v1::ReportSessionRequest request;
      *request.mutable_status() = *status_;
      request.set_attempt(config_.attempt);
      lock.unlock();
      auto answer = send(request);
      if (!answer && reachable) {
        log->warn("session {}: the Dispatcher cannot be reached; the session goes on",
                  config_.name);
      }
      reachable = answer.has_value();
      if (answer && (answer->stop() || !answer->known()) && !stopAsked_) {
        stopAsked_ = true;
        std::string why = answer->known() ? "the Dispatcher asks to stop the session"
                                          : "the Dispatcher no longer knows this session";
        log->info("session {}: {}", config_.name, why);
        if (config_.onStopAsked) config_.onStopAsked(why);
      }
      lock.lock();
    }
    wake_.wait_for(lock, config_.interval, [this] { return stopping_; });
  }
}

}  // namespace tailor::scheduler
