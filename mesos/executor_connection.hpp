#pragma once

// A custom executor's session with its Mesos agent over the v1 executor HTTP
// API (reference §7): SUBSCRIBE from the MESOS_* environment, events decoded
// from the RecordIO stream, UPDATE calls with fresh version-4 UUIDs kept until
// the agent ACKNOWLEDGEs them and re-sent with the next SUBSCRIBE, and
// re-subscription when the agent goes away (each delay drawn from [0, cap],
// the cap doubling to MESOS_SUBSCRIPTION_BACKOFF_MAX); past the recovery
// timeout (or at once without checkpointing) the agent is given up.
//
// Loop thread only; listener callbacks run on the loop.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/event_loop.hpp"
#include "common/http/client.hpp"
#include "common/result.hpp"
#include "mesos/codec.hpp"
#include "mesos/recordio.hpp"

namespace spdlog {
class logger;
}

namespace tailor::mesos {

// Parses a Mesos (stout) duration: "15mins", "2secs", "500ms", "1hrs", "3days".
Result<Duration> parseMesosDuration(std::string_view text);

// A random version-4 UUID, as the 16 raw bytes Mesos expects in `uuid`.
std::string randomUuidBytes();

struct ExecutorEnvironment {
  std::string agentEndpoint;  // host:port
  std::string frameworkId;
  std::string executorId;
  std::string sandbox;
  bool checkpoint = false;
  Duration recoveryTimeout{15 * 60 * 1000};
  Duration backoffMax{2000};
  std::string authenticationToken;  // MESOS_EXECUTOR_AUTHENTICATION_TOKEN

  // Reads the variables the agent sets. Errors name the missing or bad one.
  static Result<ExecutorEnvironment> fromEnvironment(const std::map<std::string, std::string>& env);
};

class ExecutorListener {
 public:
  virtual ~ExecutorListener() = default;
  virtual void onSubscribed(const ExecutorEvent::Subscribed& subscribed) = 0;
  virtual void onLaunch(const ::mesos::v1::TaskInfo& task) = 0;
  virtual void onKill(const ::mesos::v1::TaskID& taskId) = 0;
  // KILL with its kill policy, which overrides the task's when present
  // (reference §7.3). By default the policy is dropped and onKill() runs.
  virtual void onKillWithPolicy(const ::mesos::v1::TaskID& taskId,
                                const std::optional<::mesos::v1::KillPolicy>& killPolicy) {
    onKill(taskId);
  }
  // Every update sent was acknowledged (called after each ACKNOWLEDGED that
  // leaves none outstanding).
  virtual void onAllAcknowledged() = 0;
  // The agent asked the executor to shut down.
  virtual void onShutdown() = 0;
  // The agent is gone for good (recovery timeout passed, or no checkpointing).
  virtual void onAgentLost(const std::string& reason) = 0;
};

class ExecutorConnection {
 public:
  ExecutorConnection(EventLoop& loop, http::HttpClient& http, ExecutorEnvironment environment,
                     ContentType contentType, ExecutorListener& listener);
  ~ExecutorConnection();

  void start();
  void stop();

  // Sends a status update for `status.task_id()`: fills in uuid, timestamp,
  // source (SOURCE_EXECUTOR) and executor id, and keeps it until acknowledged.
  void update(::mesos::v1::TaskStatus status);

  // Remembers a launched task so a re-subscription can report it.
  void trackTask(const ::mesos::v1::TaskInfo& task) { tasks_[task.task_id().value()] = task; }

  size_t unacknowledged() const { return unacknowledged_.size(); }
  bool subscribed() const { return subscribed_; }

 private:
  void subscribe();
  void onData(int generation, std::string data);
  void onEnd(int generation, Status end);
  void onRecord(const std::string& record);
  void disconnected(const std::string& reason);
  void sendUpdate(const ::mesos::v1::TaskStatus& status);
  std::vector<std::pair<std::string, std::string>> headers() const;

  EventLoop& loop_;
  http::HttpClient& http_;
  ExecutorEnvironment env_;
  ContentType contentType_;
  ExecutorListener& listener_;
  bool stopped_ = false;
  bool subscribed_ = false;
  int generation_ = 0;
  int streamStatus_ = 0;
  std::map<int, std::unique_ptr<http::StreamingCall>> streams_;
  std::optional<RecordIoDecoder> decoder_;
  std::optional<MonotonicTime> disconnectedSince_;
  std::optional<TimerId> retryTimer_;
  int failures_ = 0;
  std::map<std::string, ::mesos::v1::TaskStatus> unacknowledged_;  // by uuid bytes
  std::map<std::string, ::mesos::v1::TaskInfo> tasks_;
  std::set<std::string> acknowledgedTasks_;  // tasks with an acknowledged update
  std::optional<TimerId> recoveryTimer_;
  std::string lastReason_;  // why the agent was last lost
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tailor::mesos
