#pragma once

// A framework's session with the Mesos master over the v1 scheduler HTTP API
// (reference §1-§2, §9): SUBSCRIBE on a long-lived streaming connection whose
// RecordIO events are decoded and handed to a listener, calls sent one at a
// time in order on a second connection, 307 redirects to the leader, 503 and
// error back-off, a heartbeat watchdog, and re-subscription with the same
// framework id after any disconnect. `Framework has been removed` means the id
// is dead: the next subscription registers a new framework.
//
// The master is found in one of two ways: a static list tried in turn
// (following 307s), or a MasterDetector (ZooKeeper, master_detector.hpp).
// With a detector the connection subscribes to the detected leader (following
// one 307 if that master says another leads, then back to the detected one),
// and when the leader changes it drops its session (the listener hears
// onDisconnected, offers are void) and subscribes again, with the same
// framework id, to the new leader at once.
//
// Loop thread only; listener callbacks run on the loop.

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/http/client.hpp"
#include "common/result.hpp"
#include "mesos/codec.hpp"
#include "mesos/master_detector.hpp"
#include "mesos/recordio.hpp"

namespace spdlog {
class logger;
}

namespace tailor::mesos {

class SchedulerListener {
 public:
  virtual ~SchedulerListener() = default;

  // A subscription succeeded (first or again); `frameworkId` may be new.
  virtual void onSubscribed(const std::string& frameworkId, bool isNewFramework) = 0;

  // Any event but SUBSCRIBED, HEARTBEAT and ERROR.
  virtual void onEvent(const SchedulerEvent& event) = 0;

  // The session broke (stream closed, ERROR event, missed heartbeats, corrupt
  // stream). Offers of the old stream are void. The connection re-subscribes
  // by itself; `reason` is for logs.
  virtual void onDisconnected(const std::string& reason) = 0;
};

// What a driver uses; the real one is HttpSchedulerConnection.
class SchedulerConnection {
 public:
  virtual ~SchedulerConnection() = default;

  // Starts subscribing with `info` (its id, if set, is re-used). Once.
  virtual void start(const ::mesos::v1::FrameworkInfo& info) = 0;

  // Sends a call (framework_id is filled in). Calls are sent in order; calls
  // made while not subscribed are dropped with a log line (their offers or
  // acknowledgements would be void anyway).
  virtual void send(SchedulerCall call) = 0;

  // True between SUBSCRIBED and the next disconnect.
  virtual bool subscribed() const = 0;

  // The framework id, once known.
  virtual std::string frameworkId() const = 0;

  // True when no call is queued or in flight.
  virtual bool idle() const = 0;

  // Stops: no more subscriptions or events. Pending calls are dropped.
  virtual void stop() = 0;
};

struct SchedulerConnectionConfig {
  std::vector<std::string> masters;  // host:port, tried in turn (unused with a detector)
  ContentType contentType = ContentType::kProtobuf;
  std::string principal;  // with `secret`: HTTP Basic authentication
  std::string secret;
  Duration backoffMin{250};
  Duration backoffMax{15000};
  Duration callTimeout{75000};
  // The stream is dead after this many heartbeat intervals without a byte.
  int missedHeartbeats = 5;
  // How long to wait for SUBSCRIBED after the stream opened.
  Duration subscribeTimeout{30000};
};

class HttpSchedulerConnection : public SchedulerConnection {
 public:
  // With a `detector` (not owned; it must outlive the connection, which
  // starts it) the master is the one it detects, and config.masters is unused.
  HttpSchedulerConnection(EventLoop& loop, http::HttpClient& calls,
                          SchedulerConnectionConfig config, SchedulerListener& listener,
                          MasterDetector* detector = nullptr);
  ~HttpSchedulerConnection() override;

  void start(const ::mesos::v1::FrameworkInfo& info) override;
  void send(SchedulerCall call) override;
  bool subscribed() const override { return subscribed_; }
  std::string frameworkId() const override { return info_.id().value(); }
  bool idle() const override { return queue_.empty() && !sending_; }
  void stop() override;

  // The master calls go to now (the leader, once known); empty while a
  // detector knows no leader.
  const std::string& master() const { return master_; }

 private:
  void subscribe();
  void onLeaderDetected(const std::optional<std::string>& leader);
  void onHead(int generation, int status, const std::map<std::string, std::string>& headers);
  void onData(int generation, std::string data);
  void onEnd(int generation, Status end);
  void onRecord(const std::string& record);
  void disconnect(const std::string& reason, bool rotateMaster);
  void scheduleResubscribe();
  void armWatchdog();
  void pumpCalls();
  std::vector<std::pair<std::string, std::string>> headers(bool withStreamId) const;
  std::string url(const std::string& master) const;

  EventLoop& loop_;
  http::HttpClient& http_;
  SchedulerConnectionConfig config_;
  SchedulerListener& listener_;
  MasterDetector* detector_;
  std::optional<std::string> detected_;  // the detector's leader
  ::mesos::v1::FrameworkInfo info_;
  bool started_ = false;
  bool stopped_ = false;
  bool subscribed_ = false;
  std::string master_;
  size_t masterIndex_ = 0;
  std::string streamId_;
  int generation_ = 0;  // of the current stream; older callbacks are ignored
  // Streams by generation; a stream is dropped once it reported its end
  // (by then its thread is done, so dropping it does not block the loop).
  std::map<int, std::unique_ptr<http::StreamingCall>> streams_;
  int streamStatus_ = 0;
  std::map<std::string, std::string> streamHeaders_;
  std::string errorBody_;
  std::optional<RecordIoDecoder> decoder_;
  Duration heartbeatInterval_{15000};
  std::optional<TimerId> watchdog_;
  std::optional<TimerId> retryTimer_;
  int failures_ = 0;
  bool redirected_ = false;
  std::deque<SchedulerCall> queue_;
  bool sending_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for the detector's callback
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::mesos
