// ExecutorConnection: the pure helpers (durations, UUIDs, the MESOS_*
// environment) and the real connection against a scripted agent on loopback
// (reference §7). Each scripted agent answers SUBSCRIBE with exactly the
// events a test wants, accepts UPDATE with 202, and lets the test push further
// events, raw bytes, or drop the stream. Waits are condition-variable waits
// on "something changed on the loop"; no sleeps.

#include "mesos/executor_connection.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "mesos/codec.hpp"
#include "mesos/recordio.hpp"

#ifndef TAILOR_MESOS_WIRE_DIR
#error "TAILOR_MESOS_WIRE_DIR must name the capture directory (shared/reference/mesos-wire)"
#endif

namespace tailor::mesos {
namespace {

namespace v1 = ::mesos::v1;
using Call = ::mesos::v1::executor::Call;
using Event = ::mesos::v1::executor::Event;
using ::google::protobuf::util::MessageDifferencer;

// --- Pure helpers -------------------------------------------------------------

TEST(ExecutorConnectionDuration, ParsesEveryStoutUnit) {
  struct Case {
    const char* text;
    Duration expected;
  };
  for (const Case& c :
       {Case{"15mins", Duration(15 * 60 * 1000)}, Case{"2secs", Duration(2000)},
        Case{"500ms", Duration(500)}, Case{"1hrs", Duration(3600 * 1000)},
        Case{"3days", Duration(3LL * 86400 * 1000)}, Case{"1weeks", Duration(7LL * 86400 * 1000)},
        Case{"1.5secs", Duration(1500)}, Case{"0secs", Duration(0)}, Case{"5000us", Duration(5)},
        Case{"3000000ns", Duration(3)}}) {
    auto parsed = parseMesosDuration(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->count(), c.expected.count()) << c.text;
  }
}

std::string parsedMessage(const char* text) {
  auto parsed = parseMesosDuration(text);
  return parsed.ok() ? std::string("<accepted>") : parsed.error().message;
}

TEST(ExecutorConnectionDuration, RejectsBadDurationsWithClearErrors) {
  // No number at all: "not a Mesos duration", quoting the text.
  for (const char* text : {"", "secs", "-1secs", "abc", ".secs", "1.2.3secs"}) {
    auto parsed = parseMesosDuration(text);
    ASSERT_FALSE(parsed.ok()) << "'" << text << "' was accepted";
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(parsed.error().message.find(std::string("'") + text + "'"), std::string::npos)
        << parsed.error().message;
  }
  for (const char* text : {"1.2.3secs", "-1secs", "secs"}) {
    EXPECT_NE(parsedMessage(text).find("not a Mesos duration"), std::string::npos) << text;
  }
  // A number with a unit stout does not know: the error names the unit and the valid ones.
  for (const auto& [text, unit] : std::vector<std::pair<std::string, std::string>>{
           {"15", ""}, {"15minutes", "minutes"}, {"15 mins", " mins"}, {"2s", "s"}, {"1h", "h"}}) {
    auto parsed = parseMesosDuration(text);
    ASSERT_FALSE(parsed.ok()) << "'" << text << "' was accepted";
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("unknown unit '" + unit + "'"), std::string::npos)
        << parsed.error().message;
    EXPECT_NE(parsed.error().message.find("secs"), std::string::npos) << parsed.error().message;
  }
}

TEST(ExecutorConnectionUuid, IsAVersion4Rfc4122UuidOf16Bytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string uuid = randomUuidBytes();
    ASSERT_EQ(uuid.size(), 16u);
    auto byte = [&](int index) { return static_cast<unsigned char>(uuid[index]); };
    EXPECT_EQ(byte(6) & 0xf0, 0x40) << "version nibble of uuid " << i;
    EXPECT_EQ(byte(8) & 0xc0, 0x80) << "variant bits of uuid " << i;
    seen.insert(uuid);
  }
  EXPECT_EQ(seen.size(), 1000u) << "random UUIDs repeat";
}

TEST(ExecutorConnectionUuid, RandomBitsVary) {
  // Every bit outside the version and variant bits takes both values over many UUIDs.
  std::vector<int> ones(128, 0);
  for (int i = 0; i < 256; ++i) {
    std::string uuid = randomUuidBytes();
    for (int bit = 0; bit < 128; ++bit) {
      if ((static_cast<unsigned char>(uuid[bit / 8]) >> (7 - bit % 8)) & 1) ones[bit] += 1;
    }
  }
  std::set<int> fixed = {48, 49, 50, 51, 64, 65};  // version 0100, variant 10
  for (int bit = 0; bit < 128; ++bit) {
    if (fixed.count(bit) != 0) continue;
    EXPECT_GT(ones[bit], 0) << "bit " << bit << " is always 0";
    EXPECT_LT(ones[bit], 256) << "bit " << bit << " is always 1";
  }
}

// The environment a real Mesos 1.12 agent gave a custom executor.
std::map<std::string, std::string> capturedEnvironment() {
  std::filesystem::path path =
      std::filesystem::path(TAILOR_MESOS_WIRE_DIR) / "json/executor/environment.json";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "missing " << path;
  std::ostringstream text;
  text << in.rdbuf();
  google::protobuf::Struct json;
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &json);
  EXPECT_TRUE(status.ok()) << status.ToString();
  std::map<std::string, std::string> env;
  for (const auto& [name, value] : json.fields()) env[name] = value.string_value();
  return env;
}

TEST(ExecutorConnectionEnvironment, ReadsTheEnvironmentARealAgentSets) {
  auto env = capturedEnvironment();
  ASSERT_EQ(env.count("MESOS_AGENT_ENDPOINT"), 1u);
  auto parsed = ExecutorEnvironment::fromEnvironment(env);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->agentEndpoint, "127.0.0.1:5051");
  EXPECT_EQ(parsed->frameworkId, "8069ef52-89c3-4686-b446-decadf88634d-0004");
  EXPECT_EQ(parsed->executorId, "exec-1");
  EXPECT_EQ(parsed->sandbox, env["MESOS_SANDBOX"]);
  EXPECT_FALSE(parsed->sandbox.empty());
  EXPECT_TRUE(parsed->checkpoint);  // MESOS_CHECKPOINT=1
  EXPECT_EQ(parsed->recoveryTimeout.count(), 15 * 60 * 1000);
  EXPECT_EQ(parsed->backoffMax.count(), 2000);
  EXPECT_EQ(parsed->authenticationToken, "");
}

TEST(ExecutorConnectionEnvironment, WithoutCheckpointingAndWithAToken) {
  auto env = capturedEnvironment();
  env["MESOS_CHECKPOINT"] = "0";
  env.erase("MESOS_RECOVERY_TIMEOUT");  // the agent sets these only when checkpointing
  env.erase("MESOS_SUBSCRIPTION_BACKOFF_MAX");
  env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"] = "eyJhbGciOiJIUzI1NiJ9.e30.sig";
  auto parsed = ExecutorEnvironment::fromEnvironment(env);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->checkpoint);
  EXPECT_EQ(parsed->recoveryTimeout.count(), 15 * 60 * 1000);  // defaults
  EXPECT_EQ(parsed->backoffMax.count(), 2000);
  EXPECT_EQ(parsed->authenticationToken, "eyJhbGciOiJIUzI1NiJ9.e30.sig");

  env["MESOS_CHECKPOINT"] = "true";  // Mesos writes "1", never "true"
  auto notOne = ExecutorEnvironment::fromEnvironment(env);
  ASSERT_TRUE(notOne.ok());
  EXPECT_FALSE(notOne->checkpoint);

  env.erase("MESOS_CHECKPOINT");
  env.erase("MESOS_SANDBOX");
  auto minimal = ExecutorEnvironment::fromEnvironment(env);
  ASSERT_TRUE(minimal.ok()) << minimal.error().message;
  EXPECT_FALSE(minimal->checkpoint);
  EXPECT_EQ(minimal->sandbox, "");
}

TEST(ExecutorConnectionEnvironment, AMissingRequiredVariableIsNamed) {
  for (const char* name : {"MESOS_AGENT_ENDPOINT", "MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID"}) {
    auto env = capturedEnvironment();
    env.erase(name);
    auto missing = ExecutorEnvironment::fromEnvironment(env);
    ASSERT_FALSE(missing.ok()) << name;
    EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(missing.error().message.find(name), std::string::npos) << missing.error().message;

    env[name] = "";  // set but empty is as good as missing
    auto empty = ExecutorEnvironment::fromEnvironment(env);
    ASSERT_FALSE(empty.ok()) << name;
    EXPECT_NE(empty.error().message.find(name), std::string::npos) << empty.error().message;
  }
  auto none = ExecutorEnvironment::fromEnvironment({});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("MESOS_"), std::string::npos) << none.error().message;
}

TEST(ExecutorConnectionEnvironment, ABadDurationNamesTheVariable) {
  for (const char* name : {"MESOS_RECOVERY_TIMEOUT", "MESOS_SUBSCRIPTION_BACKOFF_MAX"}) {
    auto env = capturedEnvironment();
    env[name] = "soon";
    auto bad = ExecutorEnvironment::fromEnvironment(env);
    ASSERT_FALSE(bad.ok()) << name;
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(bad.error().message.find(name), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("soon"), std::string::npos) << bad.error().message;
  }
  auto env = capturedEnvironment();
  env["MESOS_RECOVERY_TIMEOUT"] = "300ms";
  env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = "1.5secs";
  auto good = ExecutorEnvironment::fromEnvironment(env);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->recoveryTimeout.count(), 300);
  EXPECT_EQ(good->backoffMax.count(), 1500);
}

// --- A scripted agent -----------------------------------------------------------

constexpr const char* kFrameworkId = "fw-0001";
constexpr const char* kExecutorId = "exec-1";
constexpr const char* kAgentId = "agent-S0";

Event subscribedEvent() {
  Event event;
  event.set_type(Event::SUBSCRIBED);
  auto* subscribed = event.mutable_subscribed();
  subscribed->mutable_executor_info()->mutable_executor_id()->set_value(kExecutorId);
  subscribed->mutable_framework_info()->set_user("tailor");
  subscribed->mutable_framework_info()->set_name("tailor-job");
  subscribed->mutable_framework_info()->mutable_id()->set_value(kFrameworkId);
  subscribed->mutable_agent_info()->set_hostname("agent-1.example.com");
  subscribed->mutable_agent_info()->mutable_id()->set_value(kAgentId);
  subscribed->mutable_container_id()->set_value("container-1");
  return event;
}

v1::TaskInfo taskInfo(const std::string& id) {
  v1::TaskInfo task;
  task.set_name("taskmanager " + id);
  task.mutable_task_id()->set_value(id);
  task.mutable_agent_id()->set_value(kAgentId);
  task.mutable_executor()->mutable_executor_id()->set_value(kExecutorId);
  return task;
}

Event launchEvent(const std::string& taskId) {
  Event event;
  event.set_type(Event::LAUNCH);
  *event.mutable_launch()->mutable_task() = taskInfo(taskId);
  return event;
}

Event killEvent(const std::string& taskId) {
  Event event;
  event.set_type(Event::KILL);
  event.mutable_kill()->mutable_task_id()->set_value(taskId);
  return event;
}

Event acknowledgedEvent(const v1::TaskStatus& status) {
  Event event;
  event.set_type(Event::ACKNOWLEDGED);
  *event.mutable_acknowledged()->mutable_task_id() = status.task_id();
  event.mutable_acknowledged()->set_uuid(status.uuid());
  return event;
}

Event simpleEvent(Event::Type type) {
  Event event;
  event.set_type(type);
  return event;
}

Event errorEvent(const std::string& message) {
  Event event;
  event.set_type(Event::ERROR);
  event.mutable_error()->set_message(message);
  return event;
}

std::string record(const Event& event, ContentType type) {
  auto body = encode(event, type);
  EXPECT_TRUE(body.ok()) << body.error().message;
  return body.ok() ? encodeRecord(*body) : std::string();
}

v1::TaskStatus taskStatus(const std::string& taskId, v1::TaskState state) {
  v1::TaskStatus status;
  status.mutable_task_id()->set_value(taskId);
  status.set_state(state);
  return status;
}

// Counts changes made on the loop, so the test thread can wait for the next one.
class Changes {
 public:
  void bump() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  std::uint64_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  // False if nothing changed after `seen` by `deadline`.
  bool waitPast(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return count_ != seen; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t count_ = 0;
};

// What the agent does with one SUBSCRIBE.
struct Answer {
  int status = 200;
  std::vector<Event> events;  // streamed (for 200) in the request's content type
  bool close = false;         // end the stream after the events
  bool hang = false;          // never answer at all (a hung agent)
};

// An agent on loopback answering the n-th SUBSCRIBE with answers[n] (the last
// one repeats; by default SUBSCRIBED on an open stream) and 202 to UPDATE.
// Everything it records is touched on the loop thread only.
class ScriptedAgent {
 public:
  ScriptedAgent(AsioEventLoop& loop, Changes& changes)
      : loop_(loop), changes_(changes), server_(loop, "127.0.0.1", 0) {
    server_.route("POST", "/api/v1/executor",
                  [this](const http::Request& request, http::Responder respond) {
                    handle(request, std::move(respond));
                  });
    auto port = server_.start();
    EXPECT_TRUE(port.ok());
    port_ = port.ok() ? *port : 0;
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  void script(std::vector<Answer> answers) { answers_ = std::move(answers); }

  // Loop thread: sends `event` on the newest stream, or raw bytes.
  void send(const Event& event) { write(record(event, streamTypes_.back())); }
  void write(const std::string& bytes) {
    ASSERT_FALSE(streams.empty());
    streams.back()->write(bytes);
  }
  // Loop thread: acknowledges the n-th UPDATE received.
  void acknowledge(size_t n) { send(acknowledgedEvent(updates.at(n).update().status())); }
  // Loop thread: forgets held requests (before the loop stops).
  void release() { held_.clear(); }

  std::vector<Call> subscribes;
  std::vector<http::Request> subscribeRequests;
  std::vector<MonotonicTime> subscribeTimes;
  std::vector<Call> updates;
  std::vector<http::Request> updateRequests;
  std::vector<std::shared_ptr<http::StreamWriter>> streams;

 private:
  void handle(const http::Request& request, http::Responder respond) {
    auto type = parseContentType(request.header("content-type"));
    if (!type.ok()) {
      ADD_FAILURE() << "bad Content-Type '" << request.header("content-type") << "'";
      respond(http::Response::text(415, "bad content type"));
      changes_.bump();
      return;
    }
    auto call = decodeExecutorCall(request.body, *type, UnknownFields::kReject);
    if (!call.ok()) {
      ADD_FAILURE() << "the agent cannot decode a call: " << call.error().message;
      respond(http::Response::text(400, call.error().message));
      changes_.bump();
      return;
    }
    if (call->type() != Call::SUBSCRIBE) {
      updates.push_back(*call);
      updateRequests.push_back(request);
      respond(http::Response::text(202, ""));
      changes_.bump();
      return;
    }
    subscribes.push_back(*call);
    subscribeRequests.push_back(request);
    subscribeTimes.push_back(loop_.now());
    Answer answer = answers_.empty()
                        ? Answer{200, {subscribedEvent()}, false, false}
                        : answers_.at(std::min(subscribes.size() - 1, answers_.size() - 1));
    if (answer.hang) {
      held_.push_back(std::move(respond));
      changes_.bump();
      return;
    }
    http::Response response;
    response.status = answer.status;
    if (answer.status != 200) {
      response.body = "Agent has not finished recovery";
      respond(std::move(response));
      changes_.bump();
      return;
    }
    response.contentType = std::string(contentTypeHeader(*type));
    ContentType streamType = *type;
    response.stream = [this, answer, streamType](std::shared_ptr<http::StreamWriter> writer) {
      streams.push_back(writer);
      streamTypes_.push_back(streamType);
      writer->onClosed([this] { changes_.bump(); });
      std::string bytes;
      for (const Event& event : answer.events) bytes += record(event, streamType);
      if (!bytes.empty()) writer->write(bytes);
      if (answer.close) writer->close();
      changes_.bump();
    };
    respond(std::move(response));
  }

  AsioEventLoop& loop_;
  Changes& changes_;
  http::Server server_;
  std::uint16_t port_ = 0;
  std::vector<Answer> answers_;
  std::vector<ContentType> streamTypes_;
  std::vector<http::Responder> held_;
};

// Records what the connection tells its listener (loop thread only).
class Recorder : public ExecutorListener {
 public:
  Recorder(EventLoop& loop, Changes& changes) : loop_(loop), changes_(changes) {}

  void onSubscribed(const ExecutorEvent::Subscribed& subscribed) override {
    add("subscribed " + subscribed.agent_info().id().value());
  }
  void onLaunch(const v1::TaskInfo& task) override { add("launch " + task.task_id().value()); }
  void onKill(const v1::TaskID& taskId) override { add("kill " + taskId.value()); }
  void onAllAcknowledged() override { add("all acknowledged"); }
  void onShutdown() override { add("shutdown"); }
  void onAgentLost(const std::string& reason) override {
    lostAt = loop_.now();
    add("agent lost: " + reason);
  }

  size_t count(const std::string& prefix) const {
    size_t n = 0;
    for (const auto& notice : notices) n += notice.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }
  std::string find(const std::string& prefix) const {
    for (const auto& notice : notices) {
      if (notice.rfind(prefix, 0) == 0) return notice;
    }
    return "<none>";
  }

  std::vector<std::string> notices;
  std::optional<MonotonicTime> lostAt;

 private:
  void add(std::string notice) {
    notices.push_back(std::move(notice));
    changes_.bump();
  }
  EventLoop& loop_;
  Changes& changes_;
};

class ExecutorConnectionTest : public ::testing::Test {
 protected:
  ExecutorConnectionTest()
      : calls_(loop_, 1), agent_(loop_, changes_), recorder_(loop_, changes_) {}

  ExecutorEnvironment environment(bool checkpoint) {
    ExecutorEnvironment env;
    env.agentEndpoint = agent_.endpoint();
    env.frameworkId = kFrameworkId;
    env.executorId = kExecutorId;
    env.sandbox = "/tmp";
    env.checkpoint = checkpoint;
    env.recoveryTimeout = Duration(300);
    env.backoffMax = Duration(50);
    return env;
  }

  void start(ExecutorEnvironment env, ContentType type = ContentType::kProtobuf) {
    connection_ =
        std::make_unique<ExecutorConnection>(loop_, calls_, std::move(env), type, recorder_);
    thread_ = std::thread([this] { loop_.run(); });
    onLoop([&] { connection_->start(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      onLoop([&] {
        if (connection_) connection_->stop();
        agent_.release();
      });
      loop_.stop();
      thread_.join();
    }
  }

  // Runs `fn` on the loop and waits for it.
  void onLoop(const std::function<void()>& fn) {
    std::promise<void> done;
    loop_.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Waits until `predicate` (evaluated on the loop) holds, re-checking after
  // every change the agent or the listener makes.
  bool waitUntil(const std::function<bool()>& predicate,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      std::uint64_t seen = changes_.count();
      bool holds = false;
      onLoop([&] { holds = predicate(); });
      if (holds) return true;
      if (!changes_.waitPast(seen, deadline)) {
        onLoop([&] { holds = predicate(); });
        return holds;
      }
    }
  }

  // Sends a KILL of an unknown task after whatever the agent sent before and
  // waits until the listener has it: everything sent earlier was processed.
  void barrier() {
    std::string task = "barrier-" + std::to_string(++barriers_);
    onLoop([&] { agent_.send(killEvent(task)); });
    ASSERT_TRUE(waitUntil([&] { return recorder_.count("kill " + task) == 1; })) << notices();
  }

  bool subscribedTimes(size_t n) {
    return waitUntil([&] { return recorder_.count("subscribed") >= n; });
  }

  std::string notices() {
    std::string all;
    onLoop([&] {
      for (const auto& notice : recorder_.notices) all += "\n  " + notice;
    });
    return all;
  }

  AsioEventLoop loop_;
  http::CurlHttpClient calls_;
  Changes changes_;
  ScriptedAgent agent_;
  Recorder recorder_;
  std::unique_ptr<ExecutorConnection> connection_;
  std::thread thread_;
  int barriers_ = 0;
};

// --- SUBSCRIBE ------------------------------------------------------------------

class ExecutorConnectionEncodingTest : public ExecutorConnectionTest,
                                       public ::testing::WithParamInterface<ContentType> {};

TEST_P(ExecutorConnectionEncodingTest, SubscribesWithTheIdsAndExactHeaders) {
  ContentType type = GetParam();
  std::string header(contentTypeHeader(type));
  start(environment(false), type);
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] {
    EXPECT_TRUE(connection_->subscribed());
    EXPECT_EQ(recorder_.notices.front(), std::string("subscribed ") + kAgentId);
    ASSERT_EQ(agent_.subscribes.size(), 1u);
    const Call& call = agent_.subscribes[0];
    EXPECT_EQ(call.type(), Call::SUBSCRIBE);
    EXPECT_EQ(call.executor_id().value(), kExecutorId);
    EXPECT_EQ(call.framework_id().value(), kFrameworkId);
    EXPECT_TRUE(call.has_subscribe());  // present even when empty (§7.2)
    EXPECT_EQ(call.subscribe().unacknowledged_updates_size(), 0);
    EXPECT_EQ(call.subscribe().unacknowledged_tasks_size(), 0);
    const http::Request& request = agent_.subscribeRequests[0];
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.path, "/api/v1/executor");
    EXPECT_EQ(request.header("content-type"), header);
    EXPECT_EQ(request.header("accept"), header);
    EXPECT_EQ(request.headers.count("authorization"), 0u);
  });
}

TEST_P(ExecutorConnectionEncodingTest, UpdateFillsInUuidSourceExecutorAndTimestamp) {
  ContentType type = GetParam();
  start(environment(false), type);
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  double before = 0;
  onLoop([&] {
    before =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    v1::TaskStatus status = taskStatus("task-1", v1::TASK_RUNNING);
    status.set_message("registered");
    connection_->update(status);
    EXPECT_EQ(connection_->unacknowledged(), 1u);
  });
  ASSERT_TRUE(waitUntil([&] { return agent_.updates.size() == 1; }));
  double after =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  onLoop([&] {
    const Call& call = agent_.updates[0];
    EXPECT_EQ(call.type(), Call::UPDATE);
    EXPECT_EQ(call.executor_id().value(), kExecutorId);
    EXPECT_EQ(call.framework_id().value(), kFrameworkId);
    const v1::TaskStatus& status = call.update().status();
    EXPECT_EQ(status.task_id().value(), "task-1");
    EXPECT_EQ(status.state(), v1::TASK_RUNNING);
    EXPECT_EQ(status.message(), "registered");
    EXPECT_EQ(status.source(), v1::TaskStatus::SOURCE_EXECUTOR);
    EXPECT_EQ(status.executor_id().value(), kExecutorId);
    ASSERT_EQ(status.uuid().size(), 16u);
    EXPECT_EQ(static_cast<unsigned char>(status.uuid()[6]) & 0xf0, 0x40);
    EXPECT_EQ(static_cast<unsigned char>(status.uuid()[8]) & 0xc0, 0x80);
    ASSERT_TRUE(status.has_timestamp());
    EXPECT_GE(status.timestamp(), before - 1);
    EXPECT_LE(status.timestamp(), after + 1);
    const http::Request& request = agent_.updateRequests[0];
    EXPECT_EQ(request.path, "/api/v1/executor");
    EXPECT_EQ(request.header("content-type"), std::string(contentTypeHeader(type)));
    EXPECT_EQ(request.header("accept"), std::string(contentTypeHeader(type)));
  });
}

INSTANTIATE_TEST_SUITE_P(ExecutorConnectionEncodings, ExecutorConnectionEncodingTest,
                         ::testing::Values(ContentType::kProtobuf, ContentType::kJson),
                         [](const ::testing::TestParamInfo<ContentType>& info) {
                           return info.param == ContentType::kJson ? "Json" : "Protobuf";
                         });

TEST_F(ExecutorConnectionTest, SendsTheAuthenticationTokenAsBearer) {
  ExecutorEnvironment env = environment(false);
  env.authenticationToken = "jwt.token.value";
  start(env);
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] {
    EXPECT_EQ(agent_.subscribeRequests.at(0).header("authorization"), "Bearer jwt.token.value");
    connection_->update(taskStatus("task-1", v1::TASK_RUNNING));
  });
  ASSERT_TRUE(waitUntil([&] { return agent_.updates.size() == 1; }));
  onLoop([&] {
    EXPECT_EQ(agent_.updateRequests.at(0).header("authorization"), "Bearer jwt.token.value");
  });
}

// --- Events ---------------------------------------------------------------------

TEST_F(ExecutorConnectionTest, DispatchesLaunchKillAndShutdown) {
  Event unknown = simpleEvent(Event::UNKNOWN);  // what a newer agent's new event decodes to
  Event message;
  message.set_type(Event::MESSAGE);
  message.mutable_message()->set_data("opaque");
  agent_.script({{200,
                  {subscribedEvent(), launchEvent("task-1"), simpleEvent(Event::HEARTBEAT), message,
                   unknown, killEvent("task-1"), simpleEvent(Event::SHUTDOWN)},
                  false,
                  false}});
  start(environment(false));
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("shutdown") == 1; })) << notices();
  onLoop([&] {
    std::vector<std::string> expected = {std::string("subscribed ") + kAgentId, "launch task-1",
                                         "kill task-1", "shutdown"};
    EXPECT_EQ(recorder_.notices, expected);
    EXPECT_TRUE(connection_->subscribed());  // none of these ends the session
  });
}

TEST_F(ExecutorConnectionTest, AcknowledgedReleasesUpdatesAndReportsWhenNoneRemain) {
  start(environment(false));
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] {
    connection_->update(taskStatus("task-1", v1::TASK_STARTING));
    connection_->update(taskStatus("task-1", v1::TASK_RUNNING));
    EXPECT_EQ(connection_->unacknowledged(), 2u);
  });
  ASSERT_TRUE(waitUntil([&] { return agent_.updates.size() == 2; }));
  onLoop([&] {
    EXPECT_NE(agent_.updates[0].update().status().uuid(),
              agent_.updates[1].update().status().uuid())
        << "every update has a fresh uuid";
    agent_.acknowledge(0);
  });
  barrier();
  onLoop([&] {
    EXPECT_EQ(connection_->unacknowledged(), 1u);
    EXPECT_EQ(recorder_.count("all acknowledged"), 0u) << "one update is still outstanding";
    agent_.acknowledge(1);
  });
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("all acknowledged") == 1; })) << notices();
  onLoop([&] { EXPECT_EQ(connection_->unacknowledged(), 0u); });
}

// --- Re-subscription and the unacknowledged updates -------------------------------

TEST_F(ExecutorConnectionTest, UnacknowledgedUpdatesGoWithTheNextSubscribe) {
  agent_.script({{200, {subscribedEvent(), launchEvent("task-1"), launchEvent("task-2")}},
                 {200, {subscribedEvent()}}});
  start(environment(true));
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("launch") == 2; })) << notices();
  onLoop([&] {
    connection_->update(taskStatus("task-1", v1::TASK_RUNNING));
    connection_->update(taskStatus("task-2", v1::TASK_FINISHED));
  });
  ASSERT_TRUE(waitUntil([&] { return agent_.updates.size() == 2; }));
  v1::TaskStatus unacknowledged;
  onLoop([&] {
    // The agent stores task-2's update only; task-1's is lost with the agent.
    for (size_t i = 0; i < 2; ++i) {
      const auto& status = agent_.updates[i].update().status();
      if (status.task_id().value() == "task-2") {
        agent_.acknowledge(i);
      } else {
        unacknowledged = status;
      }
    }
  });
  barrier();
  onLoop([&] {
    EXPECT_EQ(connection_->unacknowledged(), 1u);
    agent_.streams[0]->abort();  // the agent restarts
  });
  ASSERT_TRUE(subscribedTimes(2)) << notices();
  onLoop([&] {
    ASSERT_EQ(agent_.subscribes.size(), 2u);
    const Call& again = agent_.subscribes[1];
    EXPECT_EQ(again.executor_id().value(), kExecutorId);
    EXPECT_EQ(again.framework_id().value(), kFrameworkId);
    ASSERT_EQ(again.subscribe().unacknowledged_updates_size(), 1);
    const v1::TaskStatus& resent = again.subscribe().unacknowledged_updates(0).status();
    // The very update sent before, same uuid: the agent de-duplicates by it.
    EXPECT_TRUE(MessageDifferencer::Equals(resent, unacknowledged))
        << resent.DebugString() << " vs " << unacknowledged.DebugString();
    ASSERT_EQ(again.subscribe().unacknowledged_tasks_size(), 1);
    EXPECT_EQ(again.subscribe().unacknowledged_tasks(0).task_id().value(), "task-1");
    EXPECT_TRUE(
        MessageDifferencer::Equals(again.subscribe().unacknowledged_tasks(0), taskInfo("task-1")));
    EXPECT_EQ(recorder_.count("agent lost"), 0u);
    EXPECT_TRUE(connection_->subscribed());
    EXPECT_EQ(agent_.updates.size(), 2u) << "resent in SUBSCRIBE, not as another UPDATE";
  });
}

TEST_F(ExecutorConnectionTest, AnUpdateMadeBeforeSubscribedGoesWithTheNextSubscribe) {
  // The first SUBSCRIBE gets a stream but no SUBSCRIBED; then it drops.
  agent_.script({{200, {}}, {200, {subscribedEvent()}}});
  start(environment(true));
  ASSERT_TRUE(waitUntil([&] { return agent_.streams.size() == 1; }));
  onLoop([&] {
    EXPECT_FALSE(connection_->subscribed());
    connection_->update(taskStatus("task-1", v1::TASK_FAILED));
    EXPECT_EQ(connection_->unacknowledged(), 1u);
    agent_.streams[0]->abort();
  });
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] {
    EXPECT_TRUE(agent_.updates.empty()) << "no UPDATE may be sent before SUBSCRIBED";
    ASSERT_EQ(agent_.subscribes.size(), 2u);
    ASSERT_EQ(agent_.subscribes[1].subscribe().unacknowledged_updates_size(), 1);
    const auto& status = agent_.subscribes[1].subscribe().unacknowledged_updates(0).status();
    EXPECT_EQ(status.task_id().value(), "task-1");
    EXPECT_EQ(status.state(), v1::TASK_FAILED);
    EXPECT_EQ(status.uuid().size(), 16u);
    EXPECT_EQ(status.source(), v1::TaskStatus::SOURCE_EXECUTOR);
  });
}

TEST_F(ExecutorConnectionTest, ALaunchedTaskWithoutAnAcknowledgedUpdateGoesWithTheNextSubscribe) {
  // §7.3/§7.5: a task is unacknowledged from LAUNCH until the agent
  // acknowledges an update of it; tasks not listed on re-subscription are
  // marked LOST by a recovering agent.
  agent_.script({{200, {subscribedEvent(), launchEvent("task-1")}}, {200, {subscribedEvent()}}});
  start(environment(true));
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("launch") == 1; })) << notices();
  onLoop([&] { agent_.streams[0]->abort(); });
  ASSERT_TRUE(subscribedTimes(2)) << notices();
  onLoop([&] {
    ASSERT_EQ(agent_.subscribes.size(), 2u);
    const auto& subscribe = agent_.subscribes[1].subscribe();
    EXPECT_EQ(subscribe.unacknowledged_updates_size(), 0);
    ASSERT_EQ(subscribe.unacknowledged_tasks_size(), 1)
        << "task-1 was launched but no update of it was acknowledged";
    EXPECT_EQ(subscribe.unacknowledged_tasks(0).task_id().value(), "task-1");
  });
}

TEST_F(ExecutorConnectionTest, WithoutCheckpointingADroppedStreamLosesTheAgentAtOnce) {
  start(environment(false));
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] { agent_.streams[0]->abort(); });
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("agent lost") == 1; })) << notices();
  onLoop([&] {
    std::string lost = recorder_.find("agent lost");
    EXPECT_NE(lost.find("no checkpointing"), std::string::npos) << lost;
    EXPECT_EQ(agent_.subscribes.size(), 1u) << "no re-subscription without checkpointing";
    EXPECT_FALSE(connection_->subscribed());
  });
}

TEST_F(ExecutorConnectionTest, WithoutCheckpointingAClosedStreamLosesTheAgent) {
  agent_.script({{200, {subscribedEvent()}, true}});
  start(environment(false));
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("agent lost") == 1; })) << notices();
  onLoop([&] {
    EXPECT_NE(recorder_.find("agent lost").find("closed the event stream"), std::string::npos)
        << recorder_.find("agent lost");
    EXPECT_EQ(agent_.subscribes.size(), 1u);
  });
}

TEST_F(ExecutorConnectionTest, WithCheckpointingItRetriesUntilTheRecoveryTimeout) {
  // After the drop the agent answers 503 (recovering) to every SUBSCRIBE.
  agent_.script({{200, {subscribedEvent()}}, {503, {}}});
  start(environment(true));  // recovery timeout 300 ms, back-off at most 50 ms
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  MonotonicTime dropped;
  onLoop([&] {
    dropped = loop_.now();
    agent_.streams[0]->abort();
  });
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("agent lost") == 1; })) << notices();
  onLoop([&] {
    ASSERT_TRUE(recorder_.lostAt.has_value());
    auto away = std::chrono::duration_cast<Duration>(*recorder_.lostAt - dropped);
    EXPECT_GE(away.count(), 300) << "gave up before the recovery timeout";
    std::string lost = recorder_.find("agent lost");
    EXPECT_NE(lost.find("recovery timeout"), std::string::npos) << lost;
    // Re-subscribed again and again, at least once per back-off maximum.
    EXPECT_GE(agent_.subscribes.size(), 4u);
    for (size_t i = 1; i < agent_.subscribes.size(); ++i) {
      EXPECT_EQ(agent_.subscribes[i].executor_id().value(), kExecutorId);
      EXPECT_EQ(agent_.subscribes[i].framework_id().value(), kFrameworkId);
    }
    EXPECT_EQ(recorder_.count("subscribed"), 1u);
    EXPECT_FALSE(connection_->subscribed());
  });
  // Given up for good: no more attempts after the loss.
  size_t attempts = 0;
  onLoop([&] { attempts = agent_.subscribes.size(); });
  onLoop([&] { connection_->update(taskStatus("task-1", v1::TASK_FAILED)); });
  onLoop([&] {
    EXPECT_EQ(agent_.subscribes.size(), attempts);
    EXPECT_TRUE(agent_.updates.empty());
  });
}

TEST_F(ExecutorConnectionTest, WithCheckpointingRetriesAtDelaysDrawnBelowTheBackoffMaximum) {
  // §7.5: a restarted agent waits only MESOS_SUBSCRIPTION_BACKOFF_MAX (its
  // executor reregistration timeout) for its executors; retries a fixed
  // maximum apart could keep missing that window, so each delay is drawn
  // from [0, max] as Mesos' executor library draws it.
  agent_.script({{200, {subscribedEvent()}}, {503, {}}});
  ExecutorEnvironment env = environment(true);
  env.recoveryTimeout = Duration(10000);
  env.backoffMax = Duration(40);
  start(env);
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] { agent_.streams[0]->abort(); });
  ASSERT_TRUE(waitUntil([&] { return agent_.subscribes.size() >= 30; })) << notices();
  onLoop([&] {
    int short_gaps = 0;
    for (size_t i = 2; i < agent_.subscribeTimes.size(); ++i) {
      auto gap = std::chrono::duration_cast<Duration>(agent_.subscribeTimes[i] -
                                                      agent_.subscribeTimes[i - 1]);
      if (gap < env.backoffMax / 2) ++short_gaps;
    }
    EXPECT_GT(short_gaps, 0) << "every retry waited about the maximum";
  });
}

TEST_F(ExecutorConnectionTest, WithCheckpointingItSubscribesAgainWhenTheAgentIsBack) {
  agent_.script({{200, {subscribedEvent()}}, {503, {}}, {503, {}}, {200, {subscribedEvent()}}});
  ExecutorEnvironment env = environment(true);
  env.recoveryTimeout = Duration(10000);
  start(env);
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] { agent_.streams[0]->abort(); });
  ASSERT_TRUE(subscribedTimes(2)) << notices();
  onLoop([&] {
    EXPECT_EQ(agent_.subscribes.size(), 4u);
    EXPECT_EQ(recorder_.count("agent lost"), 0u);
    EXPECT_TRUE(connection_->subscribed());
    connection_->update(taskStatus("task-1", v1::TASK_RUNNING));
  });
  // UPDATE works on the new session.
  ASSERT_TRUE(waitUntil([&] { return agent_.updates.size() == 1; }));
}

TEST_F(ExecutorConnectionTest, GivesUpAtTheRecoveryTimeoutEvenIfASubscribeNeverAnswers) {
  // §7.5: the recovery timer starts once when the agent is lost, and when it
  // fires the executor exits, whatever the pending SUBSCRIBE is doing. Here a
  // hung agent accepts the re-SUBSCRIBE and never answers.
  agent_.script({{200, {subscribedEvent()}}, {200, {}, false, true}});
  start(environment(true));  // recovery timeout 300 ms
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] { agent_.streams[0]->abort(); });
  ASSERT_TRUE(waitUntil([&] { return agent_.subscribes.size() == 2; }));
  EXPECT_TRUE(
      waitUntil([&] { return recorder_.count("agent lost") == 1; }, std::chrono::seconds(5)))
      << "still waiting on a hung SUBSCRIBE long past the 300 ms recovery timeout" << notices();
}

// --- Bad input from the agent ------------------------------------------------------

struct BadInput {
  const char* name;
  std::string bytes;
  bool close;
  const char* reason;
};

std::vector<BadInput> badInputs() {
  return {
      {"CorruptLength", "12x\n", false, "corrupt event stream"},
      {"UnparsableEvent", encodeRecord("\xff\xff\xff garbage"), false, "unparsable event"},
      {"ErrorEvent", record(errorEvent("Executor is terminating"), ContentType::kProtobuf), false,
       "ERROR event: Executor is terminating"},
      {"ClosedStream", "", true, "closed the event stream"},
  };
}

class ExecutorConnectionBadInputTest : public ExecutorConnectionTest,
                                       public ::testing::WithParamInterface<int> {};

TEST_P(ExecutorConnectionBadInputTest, WithCheckpointingSubscribesAgain) {
  BadInput bad = badInputs()[GetParam()];
  agent_.script({{200, {subscribedEvent()}}, {200, {subscribedEvent()}}});
  ExecutorEnvironment env = environment(true);
  env.recoveryTimeout = Duration(10000);
  start(env);
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] {
    agent_.write(bad.bytes);
    if (bad.close) agent_.streams[0]->close();
  });
  ASSERT_TRUE(subscribedTimes(2)) << notices();
  onLoop([&] {
    EXPECT_EQ(agent_.subscribes.size(), 2u);
    EXPECT_EQ(recorder_.count("agent lost"), 0u);
    EXPECT_TRUE(connection_->subscribed());
  });
  // The new stream works: events on it are delivered.
  onLoop([&] { agent_.send(launchEvent("task-9")); });
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("launch task-9") == 1; })) << notices();
}

TEST_P(ExecutorConnectionBadInputTest, WithoutCheckpointingLosesTheAgentNamingTheCause) {
  BadInput bad = badInputs()[GetParam()];
  start(environment(false));
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] {
    agent_.write(bad.bytes);
    if (bad.close) agent_.streams[0]->close();
  });
  ASSERT_TRUE(waitUntil([&] { return recorder_.count("agent lost") == 1; })) << notices();
  onLoop([&] {
    std::string lost = recorder_.find("agent lost");
    EXPECT_NE(lost.find(bad.reason), std::string::npos) << lost;
    EXPECT_EQ(agent_.subscribes.size(), 1u);
  });
}

INSTANTIATE_TEST_SUITE_P(ExecutorConnectionInputs, ExecutorConnectionBadInputTest,
                         ::testing::Range(0, 4), [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(badInputs()[info.param].name);
                         });

TEST_F(ExecutorConnectionTest, StopEndsTheSessionWithoutLosingTheAgent) {
  start(environment(true));
  ASSERT_TRUE(subscribedTimes(1)) << notices();
  onLoop([&] { connection_->stop(); });
  // The cancelled stream ends; nothing is reported and nothing is retried.
  ASSERT_TRUE(waitUntil([&] { return agent_.streams[0]->closed(); }));
  onLoop([&] {
    EXPECT_EQ(recorder_.count("agent lost"), 0u);
    EXPECT_EQ(agent_.subscribes.size(), 1u);
  });
}

}  // namespace
}  // namespace tailor::mesos
