#pragma once

// How a session JobManager started by a Dispatcher keeps it informed:
// Dispatcher.ReportSession with the session's status once per interval (to
// whichever Dispatcher leads, with dispatcherLeaders). An answer that the
// Dispatcher does not know the session (or this attempt), or that the user
// stopped it, calls onStopAsked once.
//
// Threads: update() is called on the session's loop and only replaces the
// status under `mutex_`; a sender thread of its own does the HTTP calls, so
// a slow or absent Dispatcher never stalls the session.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/event_loop.hpp"
#include "tailor/v1/session.pb.h"

namespace tailor::scheduler {

struct SessionReporterConfig {
  std::string dispatcherAddress;  // host:port
  std::string dispatcherLeaders;  // zk://HOSTS/PATH, or empty
  std::string name;               // the session's, for logs
  int attempt = 1;
  Duration interval{1000};
  // Called once, on the sender thread; must not block (post to a loop).
  std::function<void(const std::string& why)> onStopAsked;
};

class SessionReporter {
 public:
  explicit SessionReporter(SessionReporterConfig config);
  ~SessionReporter();  // stops the sender thread (a call under way ends first)
  SessionReporter(const SessionReporter&) = delete;
  SessionReporter& operator=(const SessionReporter&) = delete;

  // Starts the sender thread; it sends the latest status given to update().
  void start();
  // The status the next report carries. Any thread.
  void update(v1::SessionStatus status);

 private:
  void senderMain();
  std::optional<v1::ReportSessionResponse> send(const v1::ReportSessionRequest& request);

  SessionReporterConfig config_;
  // Guards status_, stopping_ and config_.dispatcherAddress.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<v1::SessionStatus> status_;
  bool stopping_ = false;
  bool stopAsked_ = false;  // sender thread only
  std::thread sender_;
};

}  // namespace tailor::scheduler
