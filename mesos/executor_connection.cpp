#include "mesos/executor_connection.hpp"

#include <charconv>
#include <chrono>
#include <random>

#include "common/logging.hpp"

namespace tailor::mesos {

namespace v1 = ::mesos::v1;

Result<Duration> parseMesosDuration(std::string_view text) {
  size_t split = 0;
  while (split < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[split])) || text[split] == '.')) {
    ++split;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + split, value);
  std::string_view unit = text.substr(split);
  static const std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1e-6},    {"us", 1e-3},     {"ms", 1},          {"secs", 1000},
      {"mins", 60000}, {"hrs", 3600000}, {"days", 86400000}, {"weeks", 604800000}};
  if (split == 0 || ec != std::errc() || end != text.data() + split) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'{}' is not a Mesos duration (expected e.g. 15mins, 2secs, 500ms)", text);
  }
  for (const auto& [name, ms] : kUnits) {
    if (unit == name) return Duration(static_cast<Duration::rep>(value * ms));
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "'{}' has an unknown unit '{}' (expected ns, us, ms, secs, mins, hrs, days or "
                   "weeks)",
                   text, unit);
}

std::string randomUuidBytes() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uint64_t high = random();
  std::uint64_t low = random();
  std::string bytes(16, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(high >> (56 - 8 * i));
    bytes[8 + i] = static_cast<char>(low >> (56 - 8 * i));
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return bytes;
}

Result<ExecutorEnvironment> ExecutorEnvironment::fromEnvironment(
    const std::map<std::string, std::string>& env) {
  ExecutorEnvironment result;
  auto get = [&](const char* name) -> Result<std::string> {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "{} is not set (is this process running as a Mesos executor?)", name);
    }
    return it->second;
  };
  for (auto [name, field] : {std::pair{"MESOS_AGENT_ENDPOINT", &result.agentEndpoint},
                             std::pair{"MESOS_FRAMEWORK_ID", &result.frameworkId},
                             std::pair{"MESOS_EXECUTOR_ID", &result.executorId}}) {
    auto value = get(name);
    if (!value.ok()) return value.error();
    *field = *value;
  }
  auto optional = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  result.sandbox = optional("MESOS_SANDBOX");
  result.checkpoint = optional("MESOS_CHECKPOINT") == "1";
  result.authenticationToken = optional("MESOS_EXECUTOR_AUTHENTICATION_TOKEN");
  for (auto [name, field] : {std::pair{"MESOS_RECOVERY_TIMEOUT", &result.recoveryTimeout},
                             std::pair{"MESOS_SUBSCRIPTION_BACKOFF_MAX", &result.backoffMax}}) {
    std::string text = optional(name);
    if (text.empty()) continue;
    auto parsed = parseMesosDuration(text);
    if (!parsed.ok()) return parsed.error().withContext(name);
    *field = *parsed;
  }
  return result;
}

ExecutorConnection::ExecutorConnection(EventLoop& loop, http::HttpClient& http,
                                       ExecutorEnvironment environment, ContentType contentType,
                                       ExecutorListener& listener)
    : loop_(loop),
      http_(http),
      env_(std::move(environment)),
      contentType_(contentType),
      listener_(listener),
      log_(logger("mesos-executor")) {}

ExecutorConnection::~ExecutorConnection() { stop(); }

void ExecutorConnection::start() { subscribe(); }

void ExecutorConnection::stop() {
  if (stopped_) return;
  stopped_ = true;
  ++generation_;
  if (retryTimer_) loop_.cancelTimer(*retryTimer_);
  if (recoveryTimer_) loop_.cancelTimer(*recoveryTimer_);
  for (auto& [generation, stream] : streams_) stream->cancel();
}

std::vector<std::pair<std::string, std::string>> ExecutorConnection::headers() const {
  std::string type(contentTypeHeader(contentType_));
  std::vector<std::pair<std::string, std::string>> result = {{"Content-Type", type},
                                                             {"Accept", type}};
  if (!env_.authenticationToken.empty()) {
    result.emplace_back("Authorization", "Bearer " + env_.authenticationToken);
  }
  return result;
}

void ExecutorConnection::subscribe() {
  retryTimer_.reset();
  if (stopped_) return;
  int generation = ++generation_;
  ExecutorCall call;
  call.set_type(ExecutorCall::SUBSCRIBE);
  call.mutable_executor_id()->set_value(env_.executorId);
  call.mutable_framework_id()->set_value(env_.frameworkId);
  auto* subscribe = call.mutable_subscribe();
  for (const auto& [uuid, status] : unacknowledged_) {
    *subscribe->add_unacknowledged_updates()->mutable_status() = status;
  }
  // Tasks the agent has no acknowledged update for (reference §7.2).
  for (const auto& [id, task] : tasks_) {
    if (acknowledgedTasks_.count(id) == 0) *subscribe->add_unacknowledged_tasks() = task;
  }
  auto body = encode(call, contentType_);
  if (!body.ok()) {
    log_->error("cannot encode SUBSCRIBE: {}", body.error().message);
    return;
  }
  http::ClientRequest request;
  request.method = "POST";
  request.url = "http://" + env_.agentEndpoint + "/api/v1/executor";
  request.headers = headers();
  request.body = std::move(*body);
  request.timeout = Duration(0);
  streamStatus_ = 0;
  decoder_.reset();
  log_->info("executor {} subscribing to agent {} in {} ({} unacknowledged updates)",
             env_.executorId, env_.agentEndpoint, contentTypeHeader(contentType_),
             unacknowledged_.size());
  streams_[generation] = std::make_unique<http::StreamingCall>(
      loop_, std::move(request),
      http::StreamingCall::Handlers{
          [this, generation](int status, const std::map<std::string, std::string>&) {
            if (generation != generation_) return;
            streamStatus_ = status;
            if (status == 200) decoder_.emplace();
          },
          [this, generation](std::string data) { onData(generation, std::move(data)); },
          [this, generation](Status end) {
            onEnd(generation, end);
            streams_.erase(generation);
          }});
}

void ExecutorConnection::onData(int generation, std::string data) {
  if (generation != generation_ || streamStatus_ != 200) return;
  Status fed = decoder_->feed(data);
  while (auto record = decoder_->next()) {
    onRecord(*record);
    if (generation != generation_) return;
  }
  if (!fed.ok()) disconnected("corrupt event stream: " + fed.error().message);
}

void ExecutorConnection::onRecord(const std::string& record) {
  auto event = decodeExecutorEvent(record, contentType_);
  if (!event.ok()) {
    disconnected("unparsable event (" + std::to_string(record.size()) +
                 " bytes): " + event.error().message);
    return;
  }
  switch (event->type()) {
    case ExecutorEvent::SUBSCRIBED:
      subscribed_ = true;
      failures_ = 0;
      disconnectedSince_.reset();
      if (recoveryTimer_) {
        loop_.cancelTimer(*recoveryTimer_);
        recoveryTimer_.reset();
      }
      log_->info("executor {} subscribed to agent {}", env_.executorId,
                 event->subscribed().agent_info().id().value());
      // Updates the agent never acknowledged were sent with SUBSCRIBE.
      listener_.onSubscribed(event->subscribed());
      return;
    case ExecutorEvent::LAUNCH:
      trackTask(event->launch().task());
      listener_.onLaunch(event->launch().task());
      return;
    case ExecutorEvent::KILL:
      listener_.onKillWithPolicy(event->kill().task_id(),
                                 event->kill().has_kill_policy()
                                     ? std::optional<v1::KillPolicy>(event->kill().kill_policy())
                                     : std::nullopt);
      return;
    case ExecutorEvent::ACKNOWLEDGED: {
      unacknowledged_.erase(event->acknowledged().uuid());
      acknowledgedTasks_.insert(event->acknowledged().task_id().value());
      if (unacknowledged_.empty()) listener_.onAllAcknowledged();
      return;
    }
    case ExecutorEvent::SHUTDOWN:
      listener_.onShutdown();
      return;
    case ExecutorEvent::ERROR:
      log_->error("agent error: {}", event->error().message());
      disconnected("ERROR event: " + event->error().message());
      return;
    case ExecutorEvent::HEARTBEAT:
    case ExecutorEvent::MESSAGE:
      return;
    default:
      log_->warn("ignoring an executor event of unknown type ({} bytes)", record.size());
  }
}

void ExecutorConnection::onEnd(int generation, Status end) {
  if (generation != generation_) return;
  std::string reason =
      streamStatus_ == 200 ? "the agent closed the event stream"
      : streamStatus_ == 0
          ? "cannot reach the agent: " + (end.ok() ? std::string("no answer") : end.error().message)
          : "SUBSCRIBE answered " + std::to_string(streamStatus_);
  disconnected(reason);
}

void ExecutorConnection::disconnected(const std::string& reason) {
  if (stopped_) return;
  subscribed_ = false;
  ++generation_;
  for (auto& [generation, stream] : streams_) stream->cancel();
  if (retryTimer_) {
    loop_.cancelTimer(*retryTimer_);
    retryTimer_.reset();
  }
  lastReason_ = reason;
  if (!disconnectedSince_) {
    disconnectedSince_ = loop_.now();
    if (env_.checkpoint) {
      // Give up at the recovery timeout even if a SUBSCRIBE never answers.
      recoveryTimer_ = loop_.runAfter(env_.recoveryTimeout, [this] {
        recoveryTimer_.reset();
        if (!subscribed_) disconnected("the agent did not come back; last: " + lastReason_);
      });
    }
  }
  Duration away = std::chrono::duration_cast<Duration>(loop_.now() - *disconnectedSince_);
  if (!env_.checkpoint || away >= env_.recoveryTimeout) {
    log_->error("giving up on agent {}: {}", env_.agentEndpoint, reason);
    stopped_ = true;
    listener_.onAgentLost(env_.checkpoint ? reason + " (recovery timeout passed)"
                                          : reason + " (no checkpointing, so no recovery)");
    return;
  }
  failures_ += 1;
  // Drawn from [0, cap], the cap doubling from 200 ms to MESOS_SUBSCRIPTION_BACKOFF_MAX,
  // as Mesos' executor library draws from [0, max]: a restarted agent waits
  // only that long (its --executor_reregistration_timeout) for its executors,
  // and retries a fixed `max` apart could keep missing that window.
  Duration cap = std::min<Duration>(env_.backoffMax,
                                    Duration(100) * (Duration::rep{1} << std::min(failures_, 8)));
  thread_local std::mt19937_64 random{std::random_device{}()};
  Duration backoff(std::uniform_int_distribution<Duration::rep>(0, cap.count())(random));
  log_->warn("lost agent {} ({}); subscribing again in {} ms", env_.agentEndpoint, reason,
             backoff.count());
  retryTimer_ = loop_.runAfter(backoff, [this] { subscribe(); });
}

void ExecutorConnection::update(v1::TaskStatus status) {
  status.set_uuid(randomUuidBytes());
  status.set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status.mutable_executor_id()->set_value(env_.executorId);
  status.set_timestamp(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  unacknowledged_[status.uuid()] = status;
  sendUpdate(status);
}

void ExecutorConnection::sendUpdate(const v1::TaskStatus& status) {
  if (!subscribed_) return;  // sent again with the next SUBSCRIBE
  ExecutorCall call;
  call.set_type(ExecutorCall::UPDATE);
  call.mutable_executor_id()->set_value(env_.executorId);
  call.mutable_framework_id()->set_value(env_.frameworkId);
  *call.mutable_update()->mutable_status() = status;
  auto body = encode(call, contentType_);
  if (!body.ok()) {
    log_->error("cannot encode UPDATE: {}", body.error().message);
    return;
  }
  http::ClientRequest request;
  request.method = "POST";
  request.url = "http://" + env_.agentEndpoint + "/api/v1/executor";
  request.headers = headers();
  request.body = std::move(*body);
  std::string state = v1::TaskState_Name(status.state());
  http_.send(std::move(request), [this, state](Result<http::ClientResponse> answer) {
    if (!answer.ok()) {
      log_->warn("UPDATE {} failed: {}", state, answer.error().message);
    } else if (answer->status != 202) {
      log_->warn("UPDATE {} answered {}: {}", state, answer->status, answer->body);
    }
  });
}

}  // namespace tailor::mesos
