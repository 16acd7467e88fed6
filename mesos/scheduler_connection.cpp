#include "mesos/scheduler_connection.hpp"

#include <algorithm>

#include "common/base64.hpp"
#include "common/logging.hpp"

namespace tailor::mesos {

namespace {

constexpr const char* kFrameworkRemoved = "Framework has been removed";

// "//host:port/master/api/v1/scheduler" or "http://host:port/..." -> "host:port".
std::string hostOfLocation(const std::string& location) {
  std::string rest = location;
  for (const char* prefix : {"http://", "https://", "//"}) {
    if (rest.rfind(prefix, 0) == 0) {
      rest = rest.substr(std::string(prefix).size());
      break;
    }
  }
  return rest.substr(0, rest.find('/'));
}

std::string callName(const SchedulerCall& call) {
  return ::mesos::v1::scheduler::Call::Type_Name(call.type());
}

}  // namespace

HttpSchedulerConnection::HttpSchedulerConnection(EventLoop& loop, http::HttpClient& calls,
                                                 SchedulerConnectionConfig config,
                                                 SchedulerListener& listener,
                                                 MasterDetector* detector)
    : loop_(loop),
      http_(calls),
      config_(std::move(config)),
      listener_(listener),
      detector_(detector),
      log_(logger("mesos-scheduler")) {}

HttpSchedulerConnection::~HttpSchedulerConnection() {
  *alive_ = false;
  stop();
}

void HttpSchedulerConnection::start(const ::mesos::v1::FrameworkInfo& info) {
  if (started_) return;
  started_ = true;
  info_ = info;
  if (detector_ != nullptr) {
    log_->info("waiting for the leading Mesos master in {}", detector_->describe());
    detector_->start([this, alive = alive_](const std::optional<std::string>& leader) {
      if (*alive) onLeaderDetected(leader);
    });
    return;
  }
  master_ = config_.masters.empty() ? "" : config_.masters.front();
  subscribe();
}

void HttpSchedulerConnection::onLeaderDetected(const std::optional<std::string>& leader) {
  if (stopped_ || leader == detected_) return;
  std::string reason = leader ? "the leading master is now " + *leader
                              : "no master leads in " + detector_->describe();
  detected_ = leader;
  master_ = leader.value_or("");
  redirected_ = false;
  // A new leader is tried at once, not after the back-off earned on the old one.
  failures_ = 0;
  if (retryTimer_) {
    loop_.cancelTimer(*retryTimer_);
    retryTimer_.reset();
  }
  if (streams_.count(generation_) != 0) {
    disconnect(reason, false);  // the current session or attempt is with the old leader
  } else {
    log_->info("{}", reason);
    subscribe();
  }
}

void HttpSchedulerConnection::stop() {
  if (stopped_) return;
  stopped_ = true;
  subscribed_ = false;
  ++generation_;
  if (watchdog_) loop_.cancelTimer(*watchdog_);
  if (retryTimer_) loop_.cancelTimer(*retryTimer_);
  watchdog_.reset();
  retryTimer_.reset();
  queue_.clear();
  for (auto& [generation, stream] : streams_) stream->cancel();
}

std::string HttpSchedulerConnection::url(const std::string& master) const {
  return "http://" + master + "/api/v1/scheduler";
}

std::vector<std::pair<std::string, std::string>> HttpSchedulerConnection::headers(
    bool withStreamId) const {
  std::string type(contentTypeHeader(config_.contentType));
  std::vector<std::pair<std::string, std::string>> result = {{"Content-Type", type},
                                                             {"Accept", type}};
  if (withStreamId) result.emplace_back("Mesos-Stream-Id", streamId_);
  if (!config_.principal.empty()) {
    result.emplace_back("Authorization",
                        "Basic " + base64Encode(config_.principal + ":" + config_.secret));
  }
  return result;
}

void HttpSchedulerConnection::subscribe() {
  retryTimer_.reset();
  if (stopped_) return;
  if (master_.empty()) {
    if (detector_ != nullptr) {
      log_->info("no leading Mesos master in {} yet; waiting", detector_->describe());
    } else {
      log_->error("no Mesos master to subscribe to");
    }
    return;
  }
  int generation = ++generation_;
  SchedulerCall call;
  call.set_type(SchedulerCall::SUBSCRIBE);
  if (info_.has_id()) *call.mutable_framework_id() = info_.id();
  *call.mutable_subscribe()->mutable_framework_info() = info_;
  auto body = encode(call, config_.contentType);
  if (!body.ok()) {
    log_->error("cannot encode SUBSCRIBE: {}", body.error().message);
    return;
  }
  http::ClientRequest request;
  request.method = "POST";
  request.url = url(master_);
  request.headers = headers(/*withStreamId=*/false);
  request.body = std::move(*body);
  request.timeout = Duration(0);
  streamStatus_ = 0;
  streamHeaders_.clear();
  errorBody_.clear();
  decoder_.reset();
  log_->info("subscribing to {} as {} ({})", master_,
             info_.has_id() ? "framework " + info_.id().value() : "a new framework",
             contentTypeHeader(config_.contentType));
  streams_[generation] = std::make_unique<http::StreamingCall>(
      loop_, std::move(request),
      http::StreamingCall::Handlers{
          [this, generation](int status, const std::map<std::string, std::string>& headers) {
            onHead(generation, status, headers);
          },
          [this, generation](std::string data) { onData(generation, std::move(data)); },
          [this, generation](Status end) {
            onEnd(generation, end);
            streams_.erase(generation);
          }});
  armWatchdog();
}

void HttpSchedulerConnection::onHead(int generation, int status,
                                     const std::map<std::string, std::string>& headers) {
  if (generation != generation_) return;
  streamStatus_ = status;
  streamHeaders_ = headers;
  if (status == 200) {
    auto it = headers.find("mesos-stream-id");
    streamId_ = it == headers.end() ? "" : it->second;
    decoder_.emplace();
  }
}

void HttpSchedulerConnection::onData(int generation, std::string data) {
  if (generation != generation_) return;
  if (streamStatus_ != 200) {
    if (errorBody_.size() < 4096) errorBody_ += data.substr(0, 4096 - errorBody_.size());
    return;
  }
  armWatchdog();
  Status fed = decoder_->feed(data);
  // Records completed before any corruption are still good.
  while (auto record = decoder_->next()) {
    onRecord(*record);
    if (generation != generation_) return;  // the record ended this stream
  }
  if (!fed.ok()) {
    disconnect("corrupt event stream from " + master_ + ": " + fed.error().message, false);
  }
}

void HttpSchedulerConnection::onRecord(const std::string& record) {
  auto event = decodeSchedulerEvent(record, config_.contentType);
  if (!event.ok()) {
    disconnect("unparsable event from " + master_ + " (" + std::to_string(record.size()) +
                   " bytes): " + event.error().message,
               false);
    return;
  }
  switch (event->type()) {
    case SchedulerEvent::SUBSCRIBED: {
      const auto& subscribed = event->subscribed();
      bool isNew = !info_.has_id() || info_.id().value() != subscribed.framework_id().value();
      *info_.mutable_id() = subscribed.framework_id();
      subscribed_ = true;
      failures_ = 0;
      redirected_ = false;
      if (subscribed.has_heartbeat_interval_seconds() &&
          subscribed.heartbeat_interval_seconds() > 0) {
        heartbeatInterval_ =
            Duration(static_cast<Duration::rep>(subscribed.heartbeat_interval_seconds() * 1000));
      }
      log_->info("subscribed to {} as framework {} (stream {}, heartbeat every {} ms)", master_,
                 info_.id().value(), streamId_, heartbeatInterval_.count());
      armWatchdog();
      listener_.onSubscribed(info_.id().value(), isNew);
      pumpCalls();
      return;
    }
    case SchedulerEvent::HEARTBEAT:
      return;
    case SchedulerEvent::ERROR: {
      const std::string& message = event->error().message();
      if (message == kFrameworkRemoved) {
        log_->error(
            "the master removed framework {} (torn down, or its failover timeout expired): "
            "that id can never subscribe again; registering as a new framework",
            info_.id().value());
        info_.clear_id();
      }
      disconnect("ERROR event from " + master_ + ": " + message, false);
      return;
    }
    case SchedulerEvent::UNKNOWN:
      // A newer master may send event types this framework does not know.
      log_->warn("ignoring an event of unknown type from {} ({} bytes)", master_, record.size());
      return;
    default:
      listener_.onEvent(*event);
  }
}

void HttpSchedulerConnection::onEnd(int generation, Status end) {
  if (generation != generation_) return;
  if (streamStatus_ == 307) {
    auto it = streamHeaders_.find("location");
    std::string leader = it == streamHeaders_.end() ? "" : hostOfLocation(it->second);
    if (!leader.empty() && !redirected_) {
      log_->info("{} is not the leading master; following the redirect to {}", master_, leader);
      redirected_ = true;
      master_ = leader;
      ++generation_;
      loop_.post([this] { subscribe(); });
      return;
    }
    disconnect("redirect from " + master_ + " without a usable Location (or a redirect loop)",
               true);
    return;
  }
  if (streamStatus_ != 200) {
    std::string reason =
        streamStatus_ == 0
            ? "cannot reach " + master_ + ": " + (end.ok() ? "no answer" : end.error().message)
            : fmt::format("SUBSCRIBE to {} answered {}: {}", master_, streamStatus_, errorBody_);
    // 503: no leader yet or still recovering; 4xx: our request is wrong (logged
    // loudly); either way retry with back-off, trying the next master.
    disconnect(reason, true);
    return;
  }
  std::string reason = "the master closed the event stream";
  if (decoder_) {
    Status finished = decoder_->finish();
    if (!finished.ok()) reason += " inside a record: " + finished.error().message;
  }
  if (!end.ok()) reason = "event stream from " + master_ + " failed: " + end.error().message;
  disconnect(reason, false);
}

void HttpSchedulerConnection::disconnect(const std::string& reason, bool rotateMaster) {
  if (stopped_) return;
  bool was = subscribed_;
  subscribed_ = false;
  streamId_.clear();
  ++generation_;
  queue_.clear();
  if (watchdog_) {
    loop_.cancelTimer(*watchdog_);
    watchdog_.reset();
  }
  // Old streams end by themselves (their onEnd drops them).
  for (auto& [generation, stream] : streams_) stream->cancel();
  if (rotateMaster && detector_ != nullptr) {
    master_ = detected_.value_or("");  // back from a redirect to the detected leader
    redirected_ = false;
  } else if (rotateMaster && !config_.masters.empty()) {
    masterIndex_ = (masterIndex_ + 1) % config_.masters.size();
    master_ = config_.masters[masterIndex_];
    redirected_ = false;
  }
  (was ? log_->warn("disconnected from the master: {}", reason)
       : log_->warn("subscription failed: {}", reason));
  if (was) listener_.onDisconnected(reason);
  scheduleResubscribe();
}

void HttpSchedulerConnection::scheduleResubscribe() {
  if (stopped_ || retryTimer_) return;
  failures_ += 1;
  Duration backoff = std::min<Duration>(
      config_.backoffMax, config_.backoffMin * (Duration::rep{1} << std::min(failures_ - 1, 10)));
  log_->info("subscribing again in {} ms", backoff.count());
  retryTimer_ = loop_.runAfter(backoff, [this] { subscribe(); });
}

void HttpSchedulerConnection::armWatchdog() {
  if (watchdog_) loop_.cancelTimer(*watchdog_);
  Duration limit =
      subscribed_ ? heartbeatInterval_ * config_.missedHeartbeats : config_.subscribeTimeout;
  watchdog_ = loop_.runAfter(limit, [this, limit] {
    watchdog_.reset();
    disconnect(fmt::format("nothing from {} for {} ms{}", master_, limit.count(),
                           subscribed_ ? " (missed heartbeats)" : " (no SUBSCRIBED)"),
               !subscribed_);
  });
}

void HttpSchedulerConnection::send(SchedulerCall call) {
  if (!subscribed_) {
    log_->warn("dropping {}: not subscribed", callName(call));
    return;
  }
  *call.mutable_framework_id() = info_.id();
  queue_.push_back(std::move(call));
  pumpCalls();
}

void HttpSchedulerConnection::pumpCalls() {
  if (sending_ || queue_.empty() || !subscribed_) return;
  SchedulerCall call = std::move(queue_.front());
  queue_.pop_front();
  auto body = encode(call, config_.contentType);
  if (!body.ok()) {
    log_->error("cannot encode {}: {}", callName(call), body.error().message);
    pumpCalls();
    return;
  }
  http::ClientRequest request;
  request.method = "POST";
  request.url = url(master_);
  request.headers = headers(/*withStreamId=*/true);
  request.body = std::move(*body);
  request.timeout = config_.callTimeout;
  sending_ = true;
  int generation = generation_;
  std::string name = callName(call);
  http_.send(std::move(request), [this, generation, name](Result<http::ClientResponse> answer) {
    sending_ = false;
    if (generation != generation_ || stopped_) {
      pumpCalls();
      return;
    }
    if (!answer.ok()) {
      log_->warn("{} to {} failed: {}", name, master_, answer.error().message);
    } else if (answer->status == 202 || answer->status == 200) {
      log_->debug("{} accepted by {}", name, master_);
    } else if (answer->status == 307 || answer->status == 403 ||
               (answer->status == 400 &&
                (answer->body.find("Framework cannot be found") != std::string::npos ||
                 answer->body.find("Mesos-Stream-Id") != std::string::npos))) {
      disconnect(fmt::format("{} answered {}: {}", name, answer->status, answer->body),
                 answer->status == 307);
      return;
    } else {
      log_->error("{} refused by {} with {}: {}", name, master_, answer->status, answer->body);
    }
    pumpCalls();
  });
}

}  // namespace tailor::mesos
