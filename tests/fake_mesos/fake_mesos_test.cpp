// The fake Mesos master and agent, tested over the wire: pure pieces first
// (Mesos-style JSON, resources, command executor info, fetcher names,
// allocator), the command executor on a manual loop, then the cluster
// in-process with a small libcurl client (validation answers, subscriptions,
// offers and filters, launches and status updates, failover, teardown,
// scripted faults, process executors, command tasks with fetched URIs), and
// last the golden conformance replay of every call a real Mesos 1.12 master
// accepted (shared/reference/mesos-wire).

#include "tests/fake_mesos/fake_mesos.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/zookeeper/election.hpp"
#include "common/zookeeper/session.hpp"
#include "mesos/agent_files.hpp"
#include "mesos/codec.hpp"
#include "mesos/master_detector.hpp"
#include "mesos/recordio.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/common/recording_launcher.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/zookeeper_server.hpp"
#include "tests/fake_mesos/agent.hpp"
#include "tests/fake_mesos/allocator.hpp"
#include "tests/fake_mesos/checkpoint.hpp"
#include "tests/fake_mesos/command_executor.hpp"
#include "tests/fake_mesos/config.hpp"
#include "tests/fake_mesos/executor_runtime.hpp"
#include "tests/fake_mesos/fetcher.hpp"
#include "tests/fake_mesos/ids.hpp"
#include "tests/fake_mesos/resources.hpp"
#include "tests/fake_mesos/wire.hpp"

#ifndef TAILOR_MESOS_WIRE_DIR
#error "TAILOR_MESOS_WIRE_DIR must name the capture directory (shared/reference/mesos-wire)"
#endif

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;
namespace gpb = google::protobuf;
using ::google::protobuf::util::MessageDifferencer;
using mesos::ContentType;
using mesos::ExecutorCall;
using mesos::ExecutorEvent;
using mesos::SchedulerCall;
using mesos::SchedulerEvent;
using test::RecordingLauncher;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr Duration kWait{10000};  // generous: only reached when a test fails

// --- A small client of the fake's two APIs ----------------------------------------

// Runs StreamingCall's handlers on its own thread; the streams below lock.
class InlineLoop : public EventLoop {
 public:
  MonotonicTime now() const override { return std::chrono::steady_clock::now(); }
  double wallSeconds() const override { return 0; }
  void post(std::function<void()> fn) override { fn(); }
  TimerId runAfter(Duration, std::function<void()>) override {
    ADD_FAILURE() << "InlineLoop has no timers";
    return 0;
  }
  void cancelTimer(TimerId) override {}
};

std::string typeHeader(ContentType type) { return std::string(mesos::contentTypeHeader(type)); }

// A streamed answer (SUBSCRIBE) read as RecordIO records.
class RecordStream {
 public:
  RecordStream(const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
               std::string body) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = url;
    request.headers = std::move(headers);
    request.body = std::move(body);
    request.timeout = Duration(0);
    http::StreamingCall::Handlers handlers;
    handlers.onHead = [this](int status, const std::map<std::string, std::string>& headers) {
      std::lock_guard<std::mutex> lock(mutex_);
      status_ = status;
      headers_ = headers;
      changed_.notify_all();
    };
    handlers.onData = [this](std::string data) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (status_ != 200) {
        body_ += data;
      } else if (!decoder_.feed(data).ok()) {
        corrupt_ = true;
      }
      while (auto record = decoder_.next()) records_.push_back(std::move(*record));
      changed_.notify_all();
    };
    handlers.onEnd = [this](Status) {
      std::lock_guard<std::mutex> lock(mutex_);
      ended_ = true;
      changed_.notify_all();
    };
    call_ = std::make_unique<http::StreamingCall>(loop_, std::move(request), std::move(handlers));
  }

  // The status once the head arrived (0 on timeout).
  int status() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, kWait, [&] { return status_ != 0 || ended_; });
    return status_;
  }
  std::string header(const std::string& name) {
    status();
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = headers_.find(name);
    return it == headers_.end() ? "" : it->second;
  }
  // The body of a non-200 answer, once it ended.
  std::string body() {
    waitEnd();
    std::lock_guard<std::mutex> lock(mutex_);
    return body_;
  }
  std::optional<std::string> nextRecord(Duration timeout = kWait) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return !records_.empty() || ended_; });
    if (records_.empty()) return std::nullopt;
    std::string record = std::move(records_.front());
    records_.pop_front();
    return record;
  }
  bool waitEnd(Duration timeout = kWait) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return ended_; });
  }
  bool corrupt() {
    std::lock_guard<std::mutex> lock(mutex_);
    return corrupt_;
  }

 private:
  InlineLoop loop_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string body_;
  mesos::RecordIoDecoder decoder_;
  std::deque<std::string> records_;
  bool corrupt_ = false;
  bool ended_ = false;
  std::unique_ptr<http::StreamingCall> call_;  // last: stopped first
};

// A SUBSCRIBE stream of scheduler (or executor) events.
template <typename Event>
class EventStream {
 public:
  EventStream(const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
              std::string body, ContentType encoding)
      : encoding_(encoding), records_(url, std::move(headers), std::move(body)) {}

  RecordStream& raw() { return records_; }
  int status() { return records_.status(); }
  std::string streamId() { return records_.header("mesos-stream-id"); }

  std::optional<Event> next(Duration timeout = kWait) {
    auto record = records_.nextRecord(timeout);
    if (!record) return std::nullopt;
    lastRecord_ = *record;
    Result<Event> event = decode(*record);
    EXPECT_TRUE(event.ok()) << event.error().message;
    return event.ok() ? std::optional<Event>(*event) : std::nullopt;
  }

  // The next event of `type`, skipping others (HEARTBEATs, offers, ...).
  std::optional<Event> nextOf(typename Event::Type type, Duration timeout = kWait) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto event = next(left);
      if (!event) return std::nullopt;
      if (event->type() == type) return event;
    }
  }

  const std::string& lastRecord() const { return lastRecord_; }

 private:
  Result<Event> decode(const std::string& record) const {
    if constexpr (std::is_same_v<Event, SchedulerEvent>) {
      return mesos::decodeSchedulerEvent(record, encoding_);
    } else {
      return mesos::decodeExecutorEvent(record, encoding_);
    }
  }

  ContentType encoding_;
  RecordStream records_;
  std::string lastRecord_;
};

using SchedulerStream = EventStream<SchedulerEvent>;
using ExecutorStream = EventStream<ExecutorEvent>;

struct Answer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

Answer post(const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
            std::string body, const std::string& method = "POST") {
  http::ClientRequest request;
  request.method = method;
  request.url = url;
  request.headers = std::move(headers);
  request.body = std::move(body);
  auto response = http::performBlocking(request);
  EXPECT_TRUE(response.ok()) << response.error().message;
  if (!response.ok()) return {};
  return Answer{response->status, response->body, response->headers};
}

std::string encoded(const SchedulerCall& call, ContentType type) {
  auto body = mesos::encode(call, type);
  EXPECT_TRUE(body.ok()) << body.error().message;
  return body.ok() ? *body : "";
}

std::string encoded(const ExecutorCall& call, ContentType type) {
  auto body = mesos::encode(call, type);
  EXPECT_TRUE(body.ok()) << body.error().message;
  return body.ok() ? *body : "";
}

// --- Builders -------------------------------------------------------------------------

v1::FrameworkInfo frameworkInfo(double failoverTimeout = 0) {
  v1::FrameworkInfo info;
  info.set_user("tester");
  info.set_name("fake-mesos-test");
  info.set_failover_timeout(failoverTimeout);
  info.add_roles("*");
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  return info;
}

SchedulerCall subscribeCall(const v1::FrameworkInfo& info) {
  SchedulerCall call;
  call.set_type(SchedulerCall::SUBSCRIBE);
  *call.mutable_subscribe()->mutable_framework_info() = info;
  if (info.has_id()) *call.mutable_framework_id() = info.id();
  return call;
}

void addScalar(gpb::RepeatedPtrField<v1::Resource>* resources, const std::string& name,
               double value) {
  auto* resource = resources->Add();
  resource->set_name(name);
  resource->set_type(v1::Value::SCALAR);
  resource->mutable_scalar()->set_value(value);
  resource->mutable_allocation_info()->set_role("*");
}

v1::TaskInfo makeTask(const std::string& taskId, const std::string& agentId, double cpus,
                      double mem, const std::string& executorId = "exec-1",
                      const std::string& command = "exit 0") {
  v1::TaskInfo task;
  task.set_name(taskId);
  task.mutable_task_id()->set_value(taskId);
  task.mutable_agent_id()->set_value(agentId);
  addScalar(task.mutable_resources(), "cpus", cpus);
  addScalar(task.mutable_resources(), "mem", mem);
  auto* executor = task.mutable_executor();
  executor->set_type(v1::ExecutorInfo::CUSTOM);
  executor->mutable_executor_id()->set_value(executorId);
  executor->set_name("test executor");
  executor->mutable_command()->set_value(command);
  addScalar(executor->mutable_resources(), "cpus", 0.1);
  addScalar(executor->mutable_resources(), "mem", 32);
  task.set_data("hello-task");
  return task;
}

// A command task (no ExecutorInfo): the agent runs it under its command executor.
v1::TaskInfo makeCommandTask(const std::string& taskId, const std::string& agentId,
                             const std::string& command) {
  v1::TaskInfo task;
  task.set_name(taskId);
  task.mutable_task_id()->set_value(taskId);
  task.mutable_agent_id()->set_value(agentId);
  addScalar(task.mutable_resources(), "cpus", 0.5);
  addScalar(task.mutable_resources(), "mem", 32);
  task.mutable_command()->set_value(command);
  return task;
}

v1::DurationInfo millis(std::int64_t ms) {
  v1::DurationInfo duration;
  duration.set_nanoseconds(ms * 1000000);
  return duration;
}

SchedulerCall acceptCall(const std::string& frameworkId, const std::vector<std::string>& offerIds,
                         const std::vector<v1::TaskInfo>& tasks, double refuseSeconds = 5) {
  SchedulerCall call;
  call.mutable_framework_id()->set_value(frameworkId);
  call.set_type(SchedulerCall::ACCEPT);
  for (const auto& id : offerIds) call.mutable_accept()->add_offer_ids()->set_value(id);
  auto* operation = call.mutable_accept()->add_operations();
  operation->set_type(v1::Offer::Operation::LAUNCH);
  for (const auto& task : tasks) *operation->mutable_launch()->add_task_infos() = task;
  call.mutable_accept()->mutable_filters()->set_refuse_seconds(refuseSeconds);
  return call;
}

SchedulerCall simpleCall(const std::string& frameworkId, SchedulerCall::Type type) {
  SchedulerCall call;
  call.mutable_framework_id()->set_value(frameworkId);
  call.set_type(type);
  return call;
}

SchedulerCall acknowledgeCall(const std::string& frameworkId, const v1::TaskStatus& status) {
  SchedulerCall call = simpleCall(frameworkId, SchedulerCall::ACKNOWLEDGE);
  *call.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
  *call.mutable_acknowledge()->mutable_task_id() = status.task_id();
  call.mutable_acknowledge()->set_uuid(status.uuid());
  return call;
}

// The set of field paths present in a message ("update.status.uuid", ...).
void collectPaths(const gpb::Message& message, const std::string& prefix,
                  std::set<std::string>* paths) {
  std::vector<const gpb::FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const auto* field : fields) {
    std::string path = prefix.empty() ? field->name() : prefix + "." + field->name();
    paths->insert(path);
    if (field->cpp_type() != gpb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < message.GetReflection()->FieldSize(message, field); ++i) {
        collectPaths(message.GetReflection()->GetRepeatedMessage(message, field, i), path, paths);
      }
    } else {
      collectPaths(message.GetReflection()->GetMessage(message, field), path, paths);
    }
  }
}

std::set<std::string> structureOf(const gpb::Message& message) {
  std::set<std::string> paths;
  collectPaths(message, "", &paths);
  return paths;
}

// The golden captures of a real Mesos 1.12 (shared/reference/mesos-wire).
std::string readCapture(const std::string& relative) {
  std::string path = std::string(TAILOR_MESOS_WIRE_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing capture " << path;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::vector<std::string> captureRecords(const std::string& relative) {
  mesos::RecordIoDecoder decoder;
  EXPECT_TRUE(decoder.feed(readCapture(relative)).ok());
  std::vector<std::string> records;
  while (auto record = decoder.next()) records.push_back(*record);
  return records;
}

// Record `index` of a capture (negative: from the end); a missing one is a
// test failure, not a crash.
std::string captureRecord(const std::string& relative, int index) {
  auto records = captureRecords(relative);
  int at = index < 0 ? static_cast<int>(records.size()) + index : index;
  if (at < 0 || at >= static_cast<int>(records.size())) {
    ADD_FAILURE() << relative << " has no record " << index;
    return "";
  }
  return records[static_cast<size_t>(at)];
}

// --- Pure pieces --------------------------------------------------------------------

TEST(FakeMesosWire, PrintsJsonAsMesosDoes) {
  SchedulerEvent event;
  event.set_type(SchedulerEvent::SUBSCRIBED);
  event.mutable_subscribed()->mutable_framework_id()->set_value("F-0000");
  event.mutable_subscribed()->set_heartbeat_interval_seconds(15);
  EXPECT_EQ(toMesosJson(event),
            R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"F-0000"},)"
            R"("heartbeat_interval_seconds":15.0}})");

  // Declaration order, 64-bit integers as numbers, base64 bytes, set fields
  // plus unset non-deprecated defaults ("protocol", "shell"), never `role`.
  v1::TaskStatus status;
  status.mutable_task_id()->set_value("t");
  status.set_state(v1::TASK_RUNNING);
  status.set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status.set_timestamp(1795254696.553091);
  status.set_uuid(
      std::string("\x87\x1c\xbd\xbc\xf0\xb3\x45\x0d\xa6\x7a\x6d\x85\xde\x19\xfb\x61", 16));
  status.mutable_container_status()->add_network_infos()->add_ip_addresses()->set_ip_address(
      "127.0.0.1");
  EXPECT_EQ(toMesosJson(status),
            R"({"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR",)"
            R"("timestamp":1795254696.553091,"uuid":"hxy9vPCzRQ2mem2F3hn7YQ==",)"
            R"("container_status":{"network_infos":[{"ip_addresses":[{"protocol":"IPv4",)"
            R"("ip_address":"127.0.0.1"}]}]}})");

  v1::Resource ports;
  ports.set_name("ports");
  ports.set_type(v1::Value::RANGES);
  auto* range = ports.mutable_ranges()->add_range();
  range->set_begin(31000);
  range->set_end(32000);
  EXPECT_EQ(toMesosJson(ports),
            R"({"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}})");
  v1::CommandInfo command;
  command.set_value("x \"quoted\"\n");
  EXPECT_EQ(toMesosJson(command), R"({"shell":true,"value":"x \"quoted\"\n"})");
}

TEST(FakeMesosWire, NegotiatesAcceptLikeLibprocess) {
  EXPECT_EQ(negotiateStreamEncoding(""), ContentType::kJson);
  EXPECT_EQ(negotiateStreamEncoding("*/*"), ContentType::kJson);
  EXPECT_EQ(negotiateStreamEncoding("application/x-protobuf"), ContentType::kProtobuf);
  EXPECT_EQ(negotiateStreamEncoding("application/x-protobuf, application/json;q=0.1"),
            ContentType::kJson);
  EXPECT_EQ(negotiateStreamEncoding("application/json;q=0, application/x-protobuf"),
            ContentType::kProtobuf);
  EXPECT_EQ(negotiateStreamEncoding("text/html"), std::nullopt);
}

TEST(FakeMesosWire, FormatsDurationsAsStout) {
  EXPECT_EQ(formatStoutDuration(Duration(5000)), "5secs");
  EXPECT_EQ(formatStoutDuration(Duration(900000)), "15mins");
  EXPECT_EQ(formatStoutDuration(Duration(1500)), "1.5secs");
  EXPECT_EQ(formatStoutDuration(Duration(250)), "250ms");
}

TEST(FakeMesosWire, ChecksUuidsAsMesos) {
  IdGenerator ids(IdSeed{});
  std::string uuid = ids.randomUuidBytes();
  EXPECT_TRUE(isValidUuidBytes(uuid));
  EXPECT_EQ(static_cast<unsigned char>(uuid[6]) >> 4, 4);
  EXPECT_FALSE(isValidUuidBytes("short"));
  EXPECT_FALSE(isValidUuidBytes(std::string(16, '\0')));  // version nibble 0
  EXPECT_TRUE(std::regex_match(ids.randomUuidText(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                          "[0-9a-f]{12}")));
  IdGenerator seeded(IdSeed{"M", 4, 18, 0});
  EXPECT_EQ(seeded.nextFrameworkId(), "M-0004");
  EXPECT_EQ(seeded.nextOfferId(), "M-O18");
  EXPECT_EQ(seeded.nextAgentId(), "M-S0");
}

TEST(FakeMesosResources, ParsesAgentsAndPrintsLikeMesos) {
  auto spec = parseAgentSpec("cpus=4,mem=8192,disk=20000,ports=31000-32000");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  // The offered resources of the captured agent, in the captured order.
  EXPECT_EQ(spec->resources.toMesosString("*"),
            "ports(allocated: *):[31000-32000]; cpus(allocated: *):4; mem(allocated: *):8192; "
            "disk(allocated: *):20000");
  auto gpu = parseAgentSpec(
      "cpus=2,mem=1024,ports=[31000-31009;32000-32009],gpus=1,attributes=rack:a;gen:3;r:[1-2]");
  ASSERT_TRUE(gpu.ok()) << gpu.error().message;
  EXPECT_EQ(gpu->resources.scalar("gpus"), 1000);
  EXPECT_EQ(gpu->resources.toSummaryJson(),
            R"({"ports":"[31000-31009, 32000-32009]","cpus":2,"gpus":1,"mem":1024,"disk":20000})");
  ASSERT_EQ(gpu->attributes.size(), 3u);
  EXPECT_EQ(gpu->attributes[0].type(), v1::Value::TEXT);
  EXPECT_EQ(gpu->attributes[1].type(), v1::Value::SCALAR);
  EXPECT_EQ(gpu->attributes[2].type(), v1::Value::RANGES);
  EXPECT_FALSE(parseAgentSpec("cpus=x").ok());
  EXPECT_FALSE(parseAgentSpec("gpus=0.5").ok());
  EXPECT_FALSE(parseAgentSpec("nonsense").ok());
}

TEST(FakeMesosResources, AddsSubtractsAndContainsRanges) {
  ResourceSet agent = parseAgentSpec("cpus=4,mem=8192,ports=31000-32000").value().resources;
  ResourceSet task;
  task.addScalar("cpus", 500);
  task.addScalar("mem", 64000);
  task.addRange("ports", {31000, 31000});
  ASSERT_TRUE(agent.contains(task));
  ResourceSet left = agent - task;
  EXPECT_EQ(left.scalar("cpus"), 3500);
  EXPECT_EQ(left.toMesosString("*"),
            "ports(allocated: *):[31001-32000]; cpus(allocated: *):3.5; "
            "mem(allocated: *):8128; disk(allocated: *):20000");
  EXPECT_FALSE(left.contains(task));
  EXPECT_EQ((left + task).toMesosString("*"), agent.toMesosString("*"));
  v1::Resource reserved;
  reserved.set_name("cpus");
  reserved.set_type(v1::Value::SCALAR);
  reserved.mutable_scalar()->set_value(1);
  setLegacyRole(reserved, "web");
  Resources list;
  *list.Add() = reserved;
  EXPECT_FALSE(ResourceSet::fromProto(list).ok());
}

TEST(FakeMesosCommandExecutorInfo, IsWhatTheMesosAgentMakesForACommandTask) {
  v1::TaskInfo task = makeCommandTask("t1", "A-S0", "echo hi > out.txt");
  auto* uri = task.mutable_command()->add_uris();
  uri->set_value("http://127.0.0.1:1/jm");
  uri->set_executable(true);
  auto* variable = task.mutable_command()->mutable_environment()->add_variables();
  variable->set_name("APP_MODE");
  variable->set_value("test");
  *task.mutable_kill_policy()->mutable_grace_period() = millis(1000);
  v1::ExecutorInfo info = commandExecutorInfo("F-0000", task, "/bin/fake-command-executor");
  EXPECT_EQ(info.executor_id().value(), "t1");
  EXPECT_EQ(info.framework_id().value(), "F-0000");
  EXPECT_EQ(info.name(), "Command Executor (Task: t1) (Command: sh -c 'echo hi > ou...')");
  EXPECT_FALSE(info.command().shell());
  EXPECT_EQ(info.command().value(), "/bin/fake-command-executor");
  ASSERT_EQ(info.command().uris_size(), 1) << "fetched before the executor starts";
  EXPECT_TRUE(info.command().uris(0).executable());
  EXPECT_EQ(info.command().environment().variables(0).name(), "APP_MODE");
  EXPECT_EQ(info.shutdown_grace_period().nanoseconds(), 3000000000) << "grace + 2 s";

  v1::TaskInfo shortTask = makeCommandTask("t2", "A-S0", "true");
  EXPECT_EQ(commandExecutorInfo("F", shortTask, "x").name(),
            "Command Executor (Task: t2) (Command: sh -c 'true')");
  EXPECT_FALSE(commandExecutorInfo("F", shortTask, "x").has_shutdown_grace_period());
  v1::TaskInfo exec = makeCommandTask("t3", "A-S0", "/bin/echo");
  exec.mutable_command()->set_shell(false);
  exec.mutable_command()->add_arguments("echo");
  exec.mutable_command()->add_arguments("hi");
  EXPECT_EQ(commandExecutorInfo("F", exec, "x").name(),
            "Command Executor (Task: t3) (Command: [/bin/echo, e...])");
}

TEST(FakeMesosCommandExecutorInfo, RunsCommandsAndDescribesTheirEndAsMesos) {
  v1::CommandInfo shell;
  shell.set_value("echo hi");
  EXPECT_EQ(commandArgv(shell), (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  v1::CommandInfo exec;
  exec.set_shell(false);
  exec.set_value("/bin/echo");
  EXPECT_EQ(commandArgv(exec), (std::vector<std::string>{"/bin/echo"}));
  exec.add_arguments("echo");
  exec.add_arguments("hi");
  EXPECT_EQ(commandArgv(exec), (std::vector<std::string>{"/bin/echo", "hi"}));

  EXPECT_EQ(describeCommandStatus(0), "exited with status 0");
  EXPECT_EQ(describeCommandStatus(3 << 8), "exited with status 3");
  EXPECT_EQ(describeCommandStatus(SIGKILL), "terminated with signal Killed");
  EXPECT_EQ(describeCommandStatus(SIGSEGV | 0x80),
            "terminated with signal Segmentation fault (core dumped)");
}

TEST(FakeMesosFetcher, NamesFilesAsTheMesosFetcher) {
  EXPECT_EQ(uriBasename("http://127.0.0.1:8080/files/jm.tar.gz").value(), "jm.tar.gz");
  // Mesos keeps the query (and fragment): "a bug (or is it a feature?)".
  EXPECT_EQ(uriBasename("https://host/a/run.sh?token=x#f").value(), "run.sh?token=x#f");
  EXPECT_EQ(uriBasename("file:///tmp/dir/payload.txt").value(), "payload.txt");
  EXPECT_EQ(uriBasename("/tmp/dir/payload.txt").value(), "payload.txt");
  auto noPath = uriBasename("http://host");
  ASSERT_FALSE(noPath.ok());
  EXPECT_EQ(noPath.error().message, "Malformed URI (missing path): http://host");
  EXPECT_FALSE(uriBasename("http://host/").ok());
  EXPECT_FALSE(uriBasename("http://host/it's").ok());
}

// --- The command executor, on a manual loop -------------------------------------------

class FakeMesosCommandExecutor : public ::testing::Test {
 protected:
  FakeMesosCommandExecutor()
      : executor_(loop_, launcher_, config(),
                  CommandExecutor::Hooks{[this](v1::TaskStatus s) { updates_.push_back(s); },
                                         [this](int code) { exits_.push_back(code); }}) {}

  static CommandExecutor::Config config() {
    CommandExecutor::Config config;
    config.environment = {{"PATH", "/bin"}, {"MESOS_SANDBOX", "/sandbox"}};
    config.sandbox = "/sandbox";
    config.shutdownGracePeriod = Duration(5000);
    return config;
  }

  void subscribed(bool taskKilling) {
    mesos::ExecutorEvent::Subscribed event;
    if (taskKilling) {
      event.mutable_framework_info()->add_capabilities()->set_type(
          v1::FrameworkInfo::Capability::TASK_KILLING_STATE);
    }
    executor_.onSubscribed(event);
  }

  // "STATE: message" of every update so far.
  std::vector<std::string> states() const {
    std::vector<std::string> out;
    for (const auto& status : updates_) {
      out.push_back(v1::TaskState_Name(status.state()) +
                    (status.message().empty() ? "" : ": " + status.message()));
    }
    return out;
  }

  test::ManualEventLoop loop_;
  RecordingLauncher launcher_;
  std::vector<v1::TaskStatus> updates_;
  std::vector<int> exits_;
  CommandExecutor executor_;
};

TEST_F(FakeMesosCommandExecutor, RunsTheCommandAndExitsOnceTheEndIsAcknowledged) {
  subscribed(false);
  v1::TaskInfo task = makeCommandTask("t1", "A-S0", "echo hi > out.txt");
  auto* variables = task.mutable_command()->mutable_environment();
  auto* mode = variables->add_variables();
  mode->set_name("APP_MODE");
  mode->set_value("test");
  auto* secret = variables->add_variables();
  secret->set_name("TOKEN");
  secret->set_type(v1::Environment::Variable::SECRET);
  executor_.onLaunch(task);
  EXPECT_EQ(states(), (std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING"}));
  ASSERT_EQ(launcher_.spawned.size(), 1u);
  const SpawnOptions& spawned = launcher_.spawned[0];
  EXPECT_EQ(spawned.argv, (std::vector<std::string>{"/bin/sh", "-c", "echo hi > out.txt"}));
  EXPECT_EQ(spawned.workDir, "/sandbox");
  EXPECT_EQ(spawned.env.at("MESOS_SANDBOX"), "/sandbox") << "the executor's environment";
  EXPECT_EQ(spawned.env.at("APP_MODE"), "test") << "plus the command's";
  EXPECT_EQ(spawned.env.at("MESOS_ALLOCATION_ROLE"), "*");
  EXPECT_EQ(spawned.env.count("TOKEN"), 0u) << "unresolved secrets are skipped";

  launcher_.exit(0);
  EXPECT_EQ(states().back(), "TASK_FINISHED: Command exited with status 0");
  EXPECT_TRUE(exits_.empty()) << "waits for the acknowledgement";
  executor_.onAllAcknowledged();
  EXPECT_EQ(exits_, std::vector<int>{0});
}

TEST_F(FakeMesosCommandExecutor, KillSendsSigtermThenSigkillAfterTheKillPolicysGrace) {
  subscribed(true);
  v1::TaskInfo task = makeCommandTask("t1", "A-S0", "sleep 60");
  *task.mutable_kill_policy()->mutable_grace_period() = millis(10000);
  executor_.onLaunch(task);
  v1::KillPolicy override;
  *override.mutable_grace_period() = millis(1000);
  executor_.onKillWithPolicy(task.task_id(), override);  // the KILL's policy wins
  EXPECT_EQ(states().back(), "TASK_KILLING") << "the framework has TASK_KILLING_STATE";
  EXPECT_EQ(launcher_.signals, std::vector<int>{SIGTERM});
  loop_.advance(Duration(999));
  EXPECT_EQ(launcher_.signals, std::vector<int>{SIGTERM});
  executor_.onKill(task.task_id());  // a retry may not extend the grace (10 s)
  loop_.advance(Duration(1));
  EXPECT_EQ(launcher_.signals, (std::vector<int>{SIGTERM, SIGKILL}));
  launcher_.exit(SIGKILL);
  EXPECT_EQ(states().back(), "TASK_KILLED: Command terminated with signal Killed");
}

TEST_F(FakeMesosCommandExecutor, KillDefaultsToThreeSecondsAndALaterKillMayShortenIt) {
  subscribed(false);
  v1::TaskInfo task = makeCommandTask("t1", "A-S0", "sleep 60");
  executor_.onLaunch(task);
  executor_.onKill(task.task_id());
  EXPECT_EQ(states().back(), "TASK_RUNNING") << "no TASK_KILLING without the capability";
  loop_.advance(Duration(500));
  v1::KillPolicy shorter;
  *shorter.mutable_grace_period() = millis(1000);
  executor_.onKillWithPolicy(task.task_id(), shorter);
  EXPECT_EQ(launcher_.signals, std::vector<int>{SIGTERM}) << "SIGTERM once";
  loop_.advance(Duration(999));
  EXPECT_EQ(launcher_.signals.size(), 1u);
  loop_.advance(Duration(1));
  EXPECT_EQ(launcher_.signals, (std::vector<int>{SIGTERM, SIGKILL})) << "at 0.5 + 1 s, not 3 s";
}

TEST_F(FakeMesosCommandExecutor, KillWithoutAPolicyUsesTheTasks) {
  subscribed(false);
  v1::TaskInfo task = makeCommandTask("t1", "A-S0", "sleep 60");
  *task.mutable_kill_policy()->mutable_grace_period() = millis(500);
  executor_.onLaunch(task);
  executor_.onKillWithPolicy(task.task_id(), v1::KillPolicy());  // a policy without grace
  loop_.advance(Duration(499));
  EXPECT_EQ(launcher_.signals, std::vector<int>{SIGTERM});
  loop_.advance(Duration(1));
  EXPECT_EQ(launcher_.signals, (std::vector<int>{SIGTERM, SIGKILL}));
}

TEST_F(FakeMesosCommandExecutor, ShutdownKillsWithinTheShutdownGracePeriod) {
  subscribed(false);
  v1::TaskInfo task = makeCommandTask("t1", "A-S0", "sleep 60");
  executor_.onLaunch(task);
  executor_.onShutdown();
  EXPECT_EQ(launcher_.signals, std::vector<int>{SIGTERM});
  loop_.advance(Duration(2999));
  EXPECT_EQ(launcher_.signals.size(), 1u);
  loop_.advance(Duration(1));
  EXPECT_EQ(launcher_.signals, (std::vector<int>{SIGTERM, SIGKILL})) << "5 s less 2 s";
  launcher_.exit(SIGTERM);
  EXPECT_EQ(states().back(), "TASK_KILLED: Command terminated with signal Terminated");
  // Never acknowledged: it exits anyway after a minute.
  loop_.advance(CommandExecutor::kAcknowledgementTimeout);
  EXPECT_EQ(exits_, std::vector<int>{0});
}

TEST_F(FakeMesosCommandExecutor, ExecFailureExitsWithOneAndASecondTaskIsRefused) {
  subscribed(false);
  launcher_.failLaunch = true;
  v1::TaskInfo task = makeCommandTask("t1", "A-S0", "nope");
  task.mutable_command()->set_shell(false);
  executor_.onLaunch(task);
  loop_.runPending();
  EXPECT_EQ(states(), (std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING",
                                                "TASK_FAILED: Command exited with status 1"}));
  executor_.onLaunch(makeCommandTask("t2", "A-S0", "true"));
  EXPECT_EQ(updates_.back().task_id().value(), "t2");
  EXPECT_EQ(states().back(),
            "TASK_FAILED: Attempted to run multiple tasks using a \"command\" executor");
}

class FakeMesosAllocator : public ::testing::Test {
 protected:
  void SetUp() override {
    allocator_.addAgent("S0",
                        parseAgentSpec("cpus=4,mem=1024,ports=31000-31001").value().resources);
    allocator_.addFramework("F", {"*"}, false);
  }
  MonotonicTime at(int ms) const { return MonotonicTime{} + Duration(ms); }
  Allocator allocator_;
};

TEST_F(FakeMesosAllocator, OffersFreeResourcesOncePerAgent) {
  auto first = allocator_.allocate(at(0));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].frameworkId, "F");
  EXPECT_EQ(first[0].role, "*");
  EXPECT_TRUE(allocator_.allocate(at(1)).empty()) << "everything is offered already";
  allocator_.recover("F", "S0", "*", first[0].resources, std::nullopt, at(2));
  EXPECT_EQ(allocator_.allocate(at(3)).size(), 1u);
}

TEST_F(FakeMesosAllocator, DeclineFiltersUntilExpiryOrRevive) {
  auto offer = allocator_.allocate(at(0)).at(0);
  allocator_.recover("F", "S0", "*", offer.resources, Duration(5000), at(0));
  EXPECT_TRUE(allocator_.allocate(at(4999)).empty());
  EXPECT_EQ(allocator_.allocate(at(5000)).size(), 1u);

  allocator_.recover("F", "S0", "*", offer.resources, Duration(5000), at(6000));
  allocator_.revive("F", {});
  EXPECT_EQ(allocator_.allocate(at(6001)).size(), 1u) << "REVIVE drops the filters";
}

TEST_F(FakeMesosAllocator, FilterDoesNotHideResourcesItDoesNotCover) {
  auto offer = allocator_.allocate(at(0)).at(0);
  ResourceSet used;
  used.addScalar("cpus", 1000);
  // One cpu is used by a task; the rest is declined for 5 s.
  allocator_.recover("F", "S0", "*", offer.resources - used, Duration(5000), at(0));
  EXPECT_TRUE(allocator_.allocate(at(1)).empty());
  allocator_.recover("F", "S0", "*", used, std::nullopt, at(2));  // the task ended
  EXPECT_EQ(allocator_.allocate(at(3)).size(), 1u) << "more is free than was refused";
}

TEST_F(FakeMesosAllocator, SuppressStopsOffersAndInactiveFrameworksGetNone) {
  allocator_.suppress("F", {});
  EXPECT_TRUE(allocator_.allocate(at(0)).empty());
  EXPECT_EQ(allocator_.suppressedRoles("F"), std::vector<std::string>{"*"});
  allocator_.revive("F", {"*"});
  allocator_.setActive("F", false);
  EXPECT_TRUE(allocator_.allocate(at(1)).empty());
  allocator_.setActive("F", true);
  EXPECT_EQ(allocator_.allocate(at(2)).size(), 1u);
}

TEST_F(FakeMesosAllocator, GpuAgentsOnlyForGpuFrameworks) {
  allocator_.addAgent("G", parseAgentSpec("cpus=4,mem=1024,gpus=1").value().resources);
  auto offers = allocator_.allocate(at(0));
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agentId, "S0");
  allocator_.updateFramework("F", {"*"}, true);
  offers = allocator_.allocate(at(1));
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agentId, "G");
}

// --- The cluster over the wire ---------------------------------------------------

class FakeMesosCluster : public ::testing::Test {
 protected:
  // Simulated executors; allocation only when a test asks (allocateNow) or
  // right after a subscription; no heartbeat within a test.
  static FakeMesosConfig baseConfig() {
    FakeMesosConfig config;
    config.executorMode = ExecutorMode::kSimulated;
    config.allocationInterval = Duration(3600000);
    config.heartbeatInterval = Duration(3600000);
    return config;
  }

  void start(FakeMesosConfig config = baseConfig()) {
    mesos_ = std::make_unique<FakeMesos>(std::move(config));
    auto port = mesos_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    base_ = "http://" + mesos_->endpoint();
  }

  void TearDown() override {
    if (mesos_) mesos_->stop();  // ends every stream first: clients close at once
    schedulers_.clear();
    executors_.clear();
  }

  std::string schedulerUrl() const { return base_ + "/api/v1/scheduler"; }

  SchedulerStream& subscribe(const v1::FrameworkInfo& info, ContentType type = ContentType::kJson) {
    schedulers_.push_back(std::make_unique<SchedulerStream>(
        schedulerUrl(),
        std::vector<std::pair<std::string, std::string>>{{"Content-Type", typeHeader(type)},
                                                         {"Accept", typeHeader(type)}},
        encoded(subscribeCall(info), type), type));
    return *schedulers_.back();
  }

  // Subscribes and reads SUBSCRIBED and the first HEARTBEAT; returns the framework id.
  std::string subscribed(SchedulerStream& stream) {
    EXPECT_EQ(stream.status(), 200);
    auto event = stream.next();
    EXPECT_TRUE(event && event->type() == SchedulerEvent::SUBSCRIBED);
    if (!event || event->type() != SchedulerEvent::SUBSCRIBED) return "";
    auto heartbeat = stream.next();
    EXPECT_TRUE(heartbeat && heartbeat->type() == SchedulerEvent::HEARTBEAT);
    return event->subscribed().framework_id().value();
  }

  Answer call(SchedulerStream& stream, const SchedulerCall& call,
              ContentType type = ContentType::kJson) {
    return post(schedulerUrl(),
                {{"Content-Type", typeHeader(type)}, {"Mesos-Stream-Id", stream.streamId()}},
                encoded(call, type));
  }

  std::vector<v1::Offer> offers(SchedulerStream& stream) {
    auto event = stream.nextOf(SchedulerEvent::OFFERS);
    EXPECT_TRUE(event.has_value()) << "no OFFERS";
    if (!event) return {};
    return std::vector<v1::Offer>(event->offers().offers().begin(), event->offers().offers().end());
  }

  v1::TaskStatus update(SchedulerStream& stream) {
    auto event = stream.nextOf(SchedulerEvent::UPDATE);
    EXPECT_TRUE(event.has_value()) << "no UPDATE";
    return event ? event->update().status() : v1::TaskStatus();
  }

  // Subscribes `info` and has task t1 (executor exec-1) run on the agent
  // offered first, with simulated executors: its STARTING and RUNNING are
  // acknowledged. Returns the scheduler's stream.
  SchedulerStream& runOneTask(const v1::FrameworkInfo& info) {
    SchedulerStream& stream = subscribe(info);
    std::string id = subscribed(stream);
    auto made = offers(stream);
    EXPECT_EQ(made.size(), 1u);
    if (made.empty()) return stream;
    v1::TaskInfo task = makeTask("t1", made[0].agent_id().value(), 1, 64);
    EXPECT_EQ(call(stream, acceptCall(id, {made[0].id().value()}, {task})).status, 202);
    for (int i = 0; i < 2; ++i) call(stream, acknowledgeCall(id, update(stream)));
    return stream;
  }

  std::unique_ptr<FakeMesos> mesos_;
  std::string base_;
  std::vector<std::unique_ptr<SchedulerStream>> schedulers_;
  std::vector<std::unique_ptr<ExecutorStream>> executors_;
};

TEST_F(FakeMesosCluster, AnswersBadRequestsLikeTheRealMaster) {
  start();
  auto get = post(schedulerUrl(), {}, "", "GET");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.headers["allow"], "POST");
  EXPECT_EQ(get.body, "Expecting one of { 'POST' }, but received 'GET'");

  std::string body = encoded(subscribeCall(frameworkInfo()), ContentType::kJson);
  auto charset = post(schedulerUrl(), {{"Content-Type", "application/json; charset=utf-8"}}, body);
  EXPECT_EQ(charset.status, 415);
  EXPECT_EQ(charset.body, "Expecting 'Content-Type' of application/json or application/x-protobuf");
  auto none = post(schedulerUrl(), {{"Content-Type", ""}}, body);
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.body, "Expecting 'Content-Type' to be present");
  auto garbage = post(schedulerUrl(), {{"Content-Type", "application/json"}}, "{not json");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_THAT(garbage.body, StartsWith("Failed to parse body into JSON: "));
  auto missing = post(schedulerUrl(), {{"Content-Type", "application/json"}},
                      R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(missing.body, StartsWith("Failed to convert JSON into Call protobuf: "));
  auto protobuf = post(schedulerUrl(), {{"Content-Type", "application/x-protobuf"}}, "\xff\xff");
  EXPECT_EQ(protobuf.status, 400);
  EXPECT_EQ(protobuf.body, "Failed to parse body into Call protobuf");
  auto noType = post(schedulerUrl(), {{"Content-Type", "application/json"}}, R"({"type":"NOPE"})");
  EXPECT_EQ(noType.status, 400);
  EXPECT_EQ(noType.body, "Failed to validate scheduler::Call: Expecting 'type' to be present");
  auto html =
      post(schedulerUrl(), {{"Content-Type", "application/json"}, {"Accept", "text/html"}}, body);
  EXPECT_EQ(html.status, 406);
  auto withStream =
      post(schedulerUrl(), {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", "x"}}, body);
  EXPECT_EQ(withStream.status, 400);
  EXPECT_EQ(withStream.body, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
  auto unknown =
      post(schedulerUrl(), {{"Content-Type", "application/json"}},
           encoded(simpleCall("nobody-0000", SchedulerCall::REVIVE), ContentType::kJson));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body, "Framework cannot be found");
  EXPECT_EQ(post(base_ + "/api/v1/schedulerx", {}, "").status, 404);

  auto& stream = subscribe(frameworkInfo(60));
  std::string id = subscribed(stream);
  auto noStreamId = post(schedulerUrl(), {{"Content-Type", "application/json"}},
                         encoded(simpleCall(id, SchedulerCall::REVIVE), ContentType::kJson));
  EXPECT_EQ(noStreamId.status, 400);
  EXPECT_EQ(noStreamId.body, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
  auto wrongStream =
      post(schedulerUrl(), {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", "abc"}},
           encoded(simpleCall(id, SchedulerCall::REVIVE), ContentType::kJson));
  EXPECT_EQ(wrongStream.status, 400);
  EXPECT_EQ(wrongStream.body,
            "The stream ID 'abc' included in this request didn't match the stream ID currently "
            "associated with framework ID " +
                id);
  SchedulerCall badAck = simpleCall(id, SchedulerCall::ACKNOWLEDGE);
  badAck.mutable_acknowledge()->mutable_agent_id()->set_value("a");
  badAck.mutable_acknowledge()->mutable_task_id()->set_value("t");
  badAck.mutable_acknowledge()->set_uuid("not-a-uuid");
  auto ack = call(stream, badAck);
  EXPECT_EQ(ack.status, 400);
  EXPECT_EQ(ack.body, "Failed to validate scheduler::Call: Not a valid UUID");
  EXPECT_EQ(call(stream, simpleCall(id, SchedulerCall::UNKNOWN)).status, 501);
  EXPECT_EQ(call(stream, simpleCall(id, SchedulerCall::RECONCILE)).status, 400)
      << "RECONCILE needs its (possibly empty) sub-message";

  // Once the stream is gone the framework is not subscribed (failover timeout 60 s).
  std::string streamId = stream.streamId();
  ASSERT_TRUE(mesos_->dropStream(id).ok());
  EXPECT_TRUE(stream.raw().waitEnd());
  ASSERT_TRUE(mesos_->waitFor(
      [&](const StateSnapshot& s) { return s.framework(id) && !s.framework(id)->connected; },
      kWait));
  auto forbidden =
      post(schedulerUrl(), {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", streamId}},
           encoded(simpleCall(id, SchedulerCall::REVIVE), ContentType::kJson));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.body, "Framework is not subscribed");
}

class FakeMesosEncodings : public FakeMesosCluster,
                           public ::testing::WithParamInterface<ContentType> {};

TEST_P(FakeMesosEncodings, SubscribedThenHeartbeats) {
  FakeMesosConfig config = baseConfig();
  config.heartbeatInterval = Duration(100);
  start(config);
  auto& stream = subscribe(frameworkInfo(), GetParam());
  ASSERT_EQ(stream.status(), 200);
  EXPECT_EQ(stream.raw().header("content-type"), typeHeader(GetParam()));
  EXPECT_TRUE(std::regex_match(stream.streamId(), std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                                             "[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << stream.streamId();
  auto subscribed = stream.next();
  ASSERT_TRUE(subscribed.has_value());
  ASSERT_EQ(subscribed->type(), SchedulerEvent::SUBSCRIBED);
  EXPECT_EQ(subscribed->subscribed().framework_id().value(), mesos_->masterId() + "-0000");
  EXPECT_DOUBLE_EQ(subscribed->subscribed().heartbeat_interval_seconds(), 0.1);
  EXPECT_EQ(subscribed->subscribed().master_info().id(), mesos_->masterId());
  EXPECT_EQ(subscribed->subscribed().master_info().port(), mesos_->port());
  auto first = stream.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type(), SchedulerEvent::HEARTBEAT) << "a HEARTBEAT right after SUBSCRIBED";
  if (GetParam() == ContentType::kJson) {
    EXPECT_EQ(stream.lastRecord(), R"({"type":"HEARTBEAT"})");
  }
  EXPECT_TRUE(stream.nextOf(SchedulerEvent::OFFERS).has_value());
  EXPECT_TRUE(stream.nextOf(SchedulerEvent::HEARTBEAT).has_value()) << "then periodic ones";
  EXPECT_TRUE(stream.nextOf(SchedulerEvent::HEARTBEAT).has_value());
}

INSTANTIATE_TEST_SUITE_P(BothEncodings, FakeMesosEncodings,
                         ::testing::Values(ContentType::kJson, ContentType::kProtobuf),
                         [](const auto& info) {
                           return info.param == ContentType::kJson ? "Json" : "Protobuf";
                         });

TEST_F(FakeMesosCluster, OffersEveryAgentAndHonoursDeclineFilters) {
  FakeMesosConfig config = baseConfig();
  config.agents = {parseAgentSpec("cpus=4,mem=8192,disk=20000,ports=31000-31099").value(),
                   parseAgentSpec("cpus=2,mem=1024,ports=32000-32009,attributes=rack:b").value()};
  start(config);
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 2u) << "one offer per agent";
  auto agents = mesos_->agentIds();
  EXPECT_EQ(made[0].agent_id().value(), agents[0]);
  EXPECT_EQ(made[1].agent_id().value(), agents[1]);
  EXPECT_EQ(made[0].hostname(), "127.0.0.1");
  EXPECT_EQ(made[0].url().path(), "/slave(1)");
  EXPECT_EQ(made[1].url().path(), "/slave(2)");
  EXPECT_EQ(made[0].url().address().port(), mesos_->port());
  EXPECT_EQ(made[0].allocation_info().role(), "*");
  ASSERT_EQ(made[1].attributes_size(), 1);
  EXPECT_EQ(made[1].attributes(0).text().value(), "b");
  auto offered = ResourceSet::fromProto(made[0].resources());
  ASSERT_TRUE(offered.ok());
  EXPECT_EQ(offered->toMesosString("*"),
            "ports(allocated: *):[31000-31099]; cpus(allocated: *):4; mem(allocated: *):8192; "
            "disk(allocated: *):20000");

  // A long filter keeps the first agent away; the second offer is still outstanding.
  SchedulerCall decline = simpleCall(id, SchedulerCall::DECLINE);
  *decline.mutable_decline()->add_offer_ids() = made[0].id();
  decline.mutable_decline()->mutable_filters()->set_refuse_seconds(3600);
  EXPECT_EQ(call(stream, decline).status, 202);
  mesos_->allocateNow();
  auto state = mesos_->state();
  ASSERT_EQ(state.offers.size(), 1u);
  EXPECT_EQ(state.offers[0].id, made[1].id().value());

  // Without a filter it comes back at the next allocation.
  decline.mutable_decline()->clear_offer_ids();
  *decline.mutable_decline()->add_offer_ids() = made[1].id();
  decline.mutable_decline()->mutable_filters()->set_refuse_seconds(0);
  EXPECT_EQ(call(stream, decline).status, 202);
  mesos_->allocateNow();
  auto again = offers(stream);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].agent_id().value(), agents[1]);
  EXPECT_NE(again[0].id().value(), made[1].id().value());
}

TEST_F(FakeMesosCluster, SuppressStopsOffersAndReviveClearsFilters) {
  start();
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  SchedulerCall decline = simpleCall(id, SchedulerCall::DECLINE);
  *decline.mutable_decline()->add_offer_ids() = made[0].id();
  decline.mutable_decline()->mutable_filters()->set_refuse_seconds(3600);
  ASSERT_EQ(call(stream, decline).status, 202);
  ASSERT_EQ(call(stream, simpleCall(id, SchedulerCall::SUPPRESS)).status, 202);
  auto state = mesos_->state();
  EXPECT_EQ(state.framework(id)->suppressedRoles, std::vector<std::string>{"*"});

  SchedulerCall revive = simpleCall(id, SchedulerCall::REVIVE);
  revive.mutable_revive()->add_roles("*");
  ASSERT_EQ(call(stream, revive).status, 202);
  EXPECT_TRUE(mesos_->state().framework(id)->suppressedRoles.empty());
  mesos_->allocateNow();
  auto back = offers(stream);
  ASSERT_EQ(back.size(), 1u) << "REVIVE dropped the 3600 s filter";
}

TEST_F(FakeMesosCluster, LaunchesOnSimulatedExecutorsWithReliableUpdates) {
  FakeMesosConfig config = baseConfig();
  config.statusUpdateRetry = Duration(50);
  start(config);
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  ASSERT_EQ(call(stream, acceptCall(id, {made[0].id().value()}, {makeTask("t1", agent, 1, 128)}, 0))
                .status,
            202);

  v1::TaskStatus starting = update(stream);
  EXPECT_EQ(starting.task_id().value(), "t1");
  EXPECT_EQ(starting.state(), v1::TASK_STARTING);
  EXPECT_EQ(starting.source(), v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_EQ(starting.agent_id().value(), agent);
  EXPECT_EQ(starting.executor_id().value(), "exec-1");
  EXPECT_TRUE(isValidUuidBytes(starting.uuid()));
  EXPECT_TRUE(starting.container_status().has_container_id());
  EXPECT_GT(starting.timestamp(), 1e9);

  // Not acknowledged: the same update comes again, and RUNNING waits behind it.
  v1::TaskStatus again = update(stream);
  EXPECT_EQ(again.state(), v1::TASK_STARTING);
  EXPECT_EQ(again.uuid(), starting.uuid());
  ASSERT_EQ(call(stream, acknowledgeCall(id, starting)).status, 202);
  v1::TaskStatus running;
  do {
    running = update(stream);
  } while (running.uuid() == starting.uuid() && running.state() == v1::TASK_STARTING);
  EXPECT_EQ(running.state(), v1::TASK_RUNNING);
  EXPECT_NE(running.uuid(), starting.uuid());
  ASSERT_EQ(call(stream, acknowledgeCall(id, running)).status, 202);
  ASSERT_TRUE(mesos_->waitFor(
      [](const StateSnapshot& s) {
        auto* task = s.task("t1");
        return task != nullptr && task->state == "TASK_RUNNING";
      },
      kWait));
  auto state = mesos_->state();
  ASSERT_NE(state.executorOfTask("t1"), nullptr);
  EXPECT_EQ(state.executorOfTask("t1")->state, "RUNNING");
  EXPECT_EQ(state.task("t1")->resourcesJson, R"({"cpus":1,"mem":128})");

  // A second LAUNCH in one ACCEPT (same executor: only task resources needed).
  mesos_->allocateNow();
  auto more = offers(stream);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].executor_ids_size(), 1);
  ASSERT_EQ(call(stream, acceptCall(id, {more[0].id().value()},
                                    {makeTask("t2", agent, 1, 64), makeTask("t3", agent, 1, 64)}))
                .status,
            202);

  // KILL: the simulated executor answers TASK_KILLED.
  SchedulerCall kill = simpleCall(id, SchedulerCall::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("t1");
  ASSERT_EQ(call(stream, kill).status, 202);
  std::set<std::string> pending = {"t1:TASK_KILLED", "t2:TASK_STARTING", "t3:TASK_STARTING",
                                   "t2:TASK_RUNNING", "t3:TASK_RUNNING"};
  while (!pending.empty()) {
    v1::TaskStatus status = update(stream);
    if (!status.has_task_id()) break;
    pending.erase(status.task_id().value() + ":" + v1::TaskState_Name(status.state()));
    if (status.has_uuid()) call(stream, acknowledgeCall(id, status));
  }
  EXPECT_TRUE(pending.empty()) << *pending.begin();
  ASSERT_TRUE(mesos_->waitFor(
      [](const StateSnapshot& s) { return s.task("t1") && s.task("t1")->completed; }, kWait));
  EXPECT_EQ(mesos_->state().task("t1")->state, "TASK_KILLED");
}

TEST_F(FakeMesosCluster, ScriptedTaskStatusEndsSimulatedExecutor) {
  start();
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  ASSERT_EQ(call(stream, acceptCall(id, {made[0].id().value()},
                                    {makeTask("t1", made[0].agent_id().value(), 1, 64)}))
                .status,
            202);
  for (auto state : {v1::TASK_STARTING, v1::TASK_RUNNING}) {
    v1::TaskStatus status = update(stream);
    EXPECT_EQ(status.state(), state);
    call(stream, acknowledgeCall(id, status));
  }
  auto control = post(base_ + "/fake/task-status?task=t1&state=TASK_FINISHED&message=done", {}, "");
  EXPECT_EQ(control.status, 200) << control.body;
  v1::TaskStatus finished = update(stream);
  EXPECT_EQ(finished.state(), v1::TASK_FINISHED);
  EXPECT_EQ(finished.message(), "done");
  auto failure = stream.nextOf(SchedulerEvent::FAILURE);
  ASSERT_TRUE(failure.has_value()) << "the simulated executor exits without tasks";
  EXPECT_EQ(failure->failure().executor_id().value(), "exec-1");
  EXPECT_EQ(failure->failure().status(), 0);
}

TEST_F(FakeMesosCluster, InvalidOffersGiveTaskLostAndOversizedTasksTaskError) {
  // The captured agent, so that the error text can be compared with the capture's.
  start();
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  std::string stale = mesos_->masterId() + "-O999";
  ASSERT_EQ(call(stream, acceptCall(id, {stale}, {makeTask("stale-1", agent, 1, 64)})).status, 202);
  v1::TaskStatus lost = update(stream);
  EXPECT_EQ(lost.task_id().value(), "stale-1");
  EXPECT_EQ(lost.state(), v1::TASK_LOST);
  EXPECT_EQ(lost.message(),
            "Task launched with invalid offers: Offer " + stale + " is no longer valid");
  EXPECT_EQ(lost.source(), v1::TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(lost.reason(), v1::TaskStatus::REASON_INVALID_OFFERS);
  EXPECT_EQ(lost.agent_id().value(), agent);
  EXPECT_FALSE(lost.has_uuid()) << "master updates are not acknowledged";

  v1::TaskInfo big = makeTask("too-big-1", agent, 999.9, 1);
  big.mutable_resources()->RemoveLast();  // cpus only: 999.9 + 0.1 of the executor
  big.mutable_executor()->mutable_resources()->RemoveLast();
  ASSERT_EQ(call(stream, acceptCall(id, {made[0].id().value()}, {big})).status, 202);
  v1::TaskStatus error = update(stream);
  EXPECT_EQ(error.state(), v1::TASK_ERROR);
  EXPECT_EQ(error.reason(), v1::TaskStatus::REASON_TASK_INVALID);
  auto captured = mesos::decodeSchedulerEvent(
      captureRecord("failover-json/stream-b-same-id.recordio", 4), ContentType::kJson);
  ASSERT_TRUE(captured.ok());
  EXPECT_EQ(error.message(), captured->update().status().message()) << "the captured text";
  auto ours = mesos::decodeSchedulerEvent(stream.lastRecord(), ContentType::kJson);
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(structureOf(*ours), structureOf(*captured));

  // The offer is used up by that ACCEPT: using it again is TASK_LOST.
  ASSERT_EQ(
      call(stream, acceptCall(id, {made[0].id().value()}, {makeTask("t2", agent, 1, 64)})).status,
      202);
  EXPECT_EQ(update(stream).state(), v1::TASK_LOST);
}

TEST_F(FakeMesosCluster, ReconcilesKnownAndUnknownTasks) {
  start();
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  ASSERT_EQ(
      call(stream, acceptCall(id, {made[0].id().value()}, {makeTask("t1", agent, 1, 64)})).status,
      202);
  v1::TaskStatus starting = update(stream);
  ASSERT_EQ(call(stream, acknowledgeCall(id, starting)).status, 202);
  v1::TaskStatus running = update(stream);
  ASSERT_EQ(running.state(), v1::TASK_RUNNING);

  SchedulerCall explicitCall = simpleCall(id, SchedulerCall::RECONCILE);
  auto* known = explicitCall.mutable_reconcile()->add_tasks();
  known->mutable_task_id()->set_value("t1");
  known->mutable_agent_id()->set_value(agent);
  auto* unknown = explicitCall.mutable_reconcile()->add_tasks();
  unknown->mutable_task_id()->set_value("ghost");
  unknown->mutable_agent_id()->set_value(agent);
  ASSERT_EQ(call(stream, explicitCall).status, 202);
  v1::TaskStatus latest = update(stream);
  EXPECT_EQ(latest.task_id().value(), "t1");
  EXPECT_EQ(latest.state(), v1::TASK_RUNNING);
  EXPECT_EQ(latest.message(), "Reconciliation: Latest task state");
  EXPECT_EQ(latest.source(), v1::TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(latest.reason(), v1::TaskStatus::REASON_RECONCILIATION);
  EXPECT_EQ(latest.executor_id().value(), "exec-1");
  EXPECT_FALSE(latest.has_uuid());
  v1::TaskStatus ghost = update(stream);
  EXPECT_EQ(ghost.task_id().value(), "ghost");
  EXPECT_EQ(ghost.state(), v1::TASK_LOST);
  EXPECT_EQ(ghost.message(), "Reconciliation: Task is unknown to the agent");

  SchedulerCall implicitCall = simpleCall(id, SchedulerCall::RECONCILE);
  implicitCall.mutable_reconcile();
  ASSERT_EQ(call(stream, implicitCall).status, 202);
  EXPECT_EQ(update(stream).task_id().value(), "t1");

  // A kill of an unknown task is answered like its reconciliation.
  SchedulerCall kill = simpleCall(id, SchedulerCall::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("nobody");
  ASSERT_EQ(call(stream, kill).status, 202);
  v1::TaskStatus nobody = update(stream);
  EXPECT_EQ(nobody.state(), v1::TASK_LOST);
  EXPECT_EQ(nobody.message(), "Reconciliation: Task is unknown");
}

TEST_F(FakeMesosCluster, FailoverWithTheSameIdErrorsTheOldStream) {
  start();
  auto& first = subscribe(frameworkInfo(60));
  std::string id = subscribed(first);
  auto old = offers(first);
  ASSERT_EQ(old.size(), 1u);

  v1::FrameworkInfo again = frameworkInfo(60);
  again.mutable_id()->set_value(id);
  auto& second = subscribe(again);
  EXPECT_EQ(subscribed(second), id);
  EXPECT_NE(second.streamId(), first.streamId());
  auto error = first.nextOf(SchedulerEvent::ERROR);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(first.lastRecord(), captureRecord("failover-json/stream-a.recordio", -1))
      << "the captured ERROR, byte for byte";
  EXPECT_TRUE(first.raw().waitEnd());

  auto stale = call(first, simpleCall(id, SchedulerCall::REVIVE));
  EXPECT_EQ(stale.status, 400);
  EXPECT_EQ(stale.body, "The stream ID '" + first.streamId() +
                            "' included in this request didn't match the stream ID currently "
                            "associated with framework ID " +
                            id);
  // Offers of the old stream are void.
  ASSERT_EQ(call(second, acceptCall(id, {old[0].id().value()},
                                    {makeTask("stale-1", old[0].agent_id().value(), 1, 64)}))
                .status,
            202);
  v1::TaskStatus lost = update(second);
  EXPECT_EQ(lost.state(), v1::TASK_LOST);
  EXPECT_EQ(lost.message(), "Task launched with invalid offers: Offer " + old[0].id().value() +
                                " is no longer valid");
  // The fields the real master sent in that situation, no more, no less.
  auto captured = mesos::decodeSchedulerEvent(
      captureRecord("failover-json/stream-b-same-id.recordio", 2), ContentType::kJson);
  ASSERT_TRUE(captured.ok());
  auto ours = mesos::decodeSchedulerEvent(second.lastRecord(), ContentType::kJson);
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(structureOf(*ours), structureOf(*captured));
}

TEST_F(FakeMesosCluster, TornDownFrameworkIsRemovedForGood) {
  start();
  auto& stream = subscribe(frameworkInfo(60));
  std::string id = subscribed(stream);
  ASSERT_EQ(call(stream, simpleCall(id, SchedulerCall::TEARDOWN)).status, 202);
  EXPECT_TRUE(stream.raw().waitEnd()) << "TEARDOWN closes the stream";
  auto state = mesos_->state();
  ASSERT_NE(state.framework(id), nullptr);
  EXPECT_TRUE(state.framework(id)->tornDown);

  v1::FrameworkInfo again = frameworkInfo(60);
  again.mutable_id()->set_value(id);
  auto& removed = subscribe(again);
  EXPECT_EQ(removed.status(), 200);
  auto error = removed.next();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type(), SchedulerEvent::ERROR);
  EXPECT_EQ(error->error().message(), "Framework has been removed");
  EXPECT_EQ(removed.lastRecord(),
            captureRecord("failover-json/stream-c-after-teardown.recordio", 0));
  EXPECT_TRUE(removed.raw().waitEnd());
  EXPECT_FALSE(removed.next(Duration(0)).has_value()) << "ERROR is the only event";
}

TEST_F(FakeMesosCluster, DisconnectedFrameworkIsRemovedAfterItsFailoverTimeout) {
  start();
  auto& stream = subscribe(frameworkInfo(0.2));
  std::string id = subscribed(stream);
  EXPECT_EQ(offers(stream).size(), 1u);
  ASSERT_TRUE(post(base_ + "/fake/drop-stream", {}, "").status == 200);
  EXPECT_TRUE(stream.raw().waitEnd());
  EXPECT_TRUE(mesos_->waitFor(
      [&](const StateSnapshot& s) { return s.framework(id) && s.framework(id)->tornDown; }, kWait));
  EXPECT_TRUE(mesos_->state().offers.empty()) << "its offers went back";
}

TEST_F(FakeMesosCluster, ScriptedSubscribeFailuresRedirectsAndRescinds) {
  start();
  ASSERT_EQ(post(base_ + "/fake/fail-subscribe?status=503&count=1", {}, "").status, 200);
  std::string body = encoded(subscribeCall(frameworkInfo()), ContentType::kJson);
  auto unavailable = post(schedulerUrl(), {{"Content-Type", "application/json"}}, body);
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.body, "Master has not finished recovery");

  mesos_->redirectNextSubscribes("127.0.0.1:5050", 1);
  auto redirect = post(schedulerUrl(), {{"Content-Type", "application/json"}}, body);
  EXPECT_EQ(redirect.status, 307);
  EXPECT_EQ(redirect.headers["location"], "//127.0.0.1:5050/master/api/v1/scheduler");

  ASSERT_EQ(post(base_ + "/fake/rescind-next", {}, "").status, 200);
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  auto rescind = stream.nextOf(SchedulerEvent::RESCIND);
  ASSERT_TRUE(rescind.has_value());
  EXPECT_EQ(rescind->rescind().offer_id().value(), made[0].id().value());

  mesos_->allocateNow();
  auto next = offers(stream);
  ASSERT_EQ(next.size(), 1u);
  auto control = post(base_ + "/fake/rescind?offer=" + next[0].id().value(), {}, "");
  EXPECT_EQ(control.status, 200) << control.body;
  EXPECT_EQ(stream.nextOf(SchedulerEvent::RESCIND)->rescind().offer_id().value(),
            next[0].id().value());
  EXPECT_EQ(post(base_ + "/fake/rescind?offer=nope", {}, "").status, 404);
}

TEST_F(FakeMesosCluster, OfferTimeoutRescinds) {
  FakeMesosConfig config = baseConfig();
  config.offerTimeout = Duration(50);
  start(config);
  auto& stream = subscribe(frameworkInfo());
  subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  auto rescind = stream.nextOf(SchedulerEvent::RESCIND);
  ASSERT_TRUE(rescind.has_value());
  EXPECT_EQ(rescind->rescind().offer_id().value(), made[0].id().value());
}

TEST_F(FakeMesosCluster, ScriptedLaunchFailureAndLostAgent) {
  start();
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  ASSERT_EQ(post(base_ + "/fake/fail-next-launch?count=1", {}, "").status, 200);
  ASSERT_EQ(
      call(stream, acceptCall(id, {made[0].id().value()},
                              {makeTask("t1", agent, 1, 64), makeTask("t2", agent, 1, 64)}, 0))
          .status,
      202);
  v1::TaskStatus failed = update(stream);
  EXPECT_EQ(failed.task_id().value(), "t1");
  EXPECT_EQ(failed.state(), v1::TASK_FAILED);
  EXPECT_EQ(failed.source(), v1::TaskStatus::SOURCE_AGENT);
  EXPECT_EQ(failed.reason(), v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(failed.message(), StartsWith("Failed to launch container"));
  EXPECT_TRUE(isValidUuidBytes(failed.uuid()));
  call(stream, acknowledgeCall(id, failed));
  v1::TaskStatus starting = update(stream);
  EXPECT_EQ(starting.task_id().value(), "t2");
  call(stream, acknowledgeCall(id, starting));
  EXPECT_EQ(update(stream).state(), v1::TASK_RUNNING);

  ASSERT_EQ(post(base_ + "/fake/lose-agent?agent=" + agent, {}, "").status, 200);
  v1::TaskStatus lost = update(stream);
  EXPECT_EQ(lost.task_id().value(), "t2");
  EXPECT_EQ(lost.state(), v1::TASK_LOST);
  EXPECT_EQ(lost.source(), v1::TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(lost.reason(), v1::TaskStatus::REASON_AGENT_REMOVED);
  EXPECT_TRUE(lost.has_unreachable_time());
  auto failure = stream.nextOf(SchedulerEvent::FAILURE);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->failure().agent_id().value(), agent);
  EXPECT_FALSE(failure->failure().has_executor_id());
  EXPECT_TRUE(mesos_->state().agents[0].lost);
}

TEST_F(FakeMesosCluster, ControlAndOperatorEndpoints) {
  start();
  EXPECT_EQ(post(base_ + "/health", {}, "", "GET").status, 200);
  auto version = post(base_ + "/version", {}, "", "GET");
  EXPECT_EQ(version.status, 200);
  EXPECT_THAT(version.body, HasSubstr(R"("version":"1.12.0")"));
  auto redirect = post(base_ + "/master/redirect", {}, "", "GET");
  EXPECT_EQ(redirect.status, 307);
  EXPECT_EQ(redirect.headers["location"], "//" + mesos_->endpoint());
  EXPECT_EQ(post(base_ + "/fake/fail-subscribe?status=abc", {}, "").status, 400);
  EXPECT_EQ(post(base_ + "/fake/kill-executor?task=nope", {}, "").status, 404);

  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  offers(stream);
  auto state = post(base_ + "/fake/state", {}, "", "GET");
  ASSERT_EQ(state.status, 200);
  gpb::Struct json;
  ASSERT_TRUE(gpb::util::JsonStringToMessage(state.body, &json).ok()) << state.body;
  EXPECT_EQ(json.fields()
                .at("frameworks")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("id")
                .string_value(),
            id);
  EXPECT_EQ(json.fields().at("agents").list_value().values_size(), 1);
  EXPECT_EQ(json.fields().at("offers").list_value().values_size(), 1);

  auto teardown =
      post(base_ + "/master/teardown", {{"Content-Type", "application/x-www-form-urlencoded"}},
           "frameworkId=" + id);
  EXPECT_EQ(teardown.status, 200);
  EXPECT_TRUE(stream.raw().waitEnd());
}

// GET /master/frameworks in the shape of Mesos' FullFrameworkWriter: registered
// frameworks (a disconnected one stays, inactive, within its failover timeout)
// and, once torn down, completed ones.
TEST_F(FakeMesosCluster, FrameworksEndpointListsFrameworksAsTheMaster) {
  start();
  v1::FrameworkInfo info = frameworkInfo(3600);
  info.set_hostname("dispatcher-host");
  info.set_webui_url("http://dispatcher-host:31000/");
  auto& stream = subscribe(info);
  std::string id = subscribed(stream);
  offers(stream);
  auto fetch = [&](const std::string& query = "") {
    auto answer = post(base_ + "/master/frameworks" + query, {}, "", "GET");
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.headers["content-type"], "application/json");
    gpb::Struct json;
    EXPECT_TRUE(gpb::util::JsonStringToMessage(answer.body, &json).ok()) << answer.body;
    return json;
  };
  auto list = [](const gpb::Struct& json, const char* key) -> const gpb::ListValue& {
    return json.fields().at(key).list_value();
  };
  gpb::Struct json = fetch();
  ASSERT_EQ(list(json, "frameworks").values_size(), 1);
  EXPECT_EQ(list(json, "completed_frameworks").values_size(), 0);
  EXPECT_EQ(list(json, "unregistered_frameworks").values_size(), 0);
  const auto& framework = list(json, "frameworks").values(0).struct_value().fields();
  EXPECT_EQ(framework.at("id").string_value(), id);
  EXPECT_EQ(framework.at("name").string_value(), "fake-mesos-test");
  EXPECT_EQ(framework.at("hostname").string_value(), "dispatcher-host");
  EXPECT_EQ(framework.at("webui_url").string_value(), "http://dispatcher-host:31000/");
  EXPECT_TRUE(framework.at("active").bool_value());
  EXPECT_TRUE(framework.at("connected").bool_value());
  EXPECT_FALSE(framework.at("recovered").bool_value());
  EXPECT_EQ(framework.at("user").string_value(), "tester");
  EXPECT_EQ(framework.at("failover_timeout").number_value(), 3600);
  EXPECT_GT(framework.at("registered_time").number_value(), 0);
  EXPECT_EQ(framework.at("unregistered_time").number_value(), 0);
  EXPECT_EQ(framework.at("roles").list_value().values(0).string_value(), "*");
  EXPECT_EQ(framework.count("role"), 0u);  // multi-role: "roles" only
  EXPECT_EQ(framework.at("capabilities")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("type")
                .string_value(),
            "MULTI_ROLE");
  EXPECT_EQ(framework.at("offers").list_value().values_size(), 1);
  EXPECT_EQ(framework.at("offered_resources").struct_value().fields().at("cpus").number_value(), 4);
  EXPECT_EQ(framework.at("used_resources").struct_value().fields().at("cpus").number_value(), 0);
  for (const char* key : {"tasks", "unreachable_tasks", "completed_tasks", "executors"}) {
    EXPECT_TRUE(framework.at(key).has_list_value()) << key;
  }
  EXPECT_EQ(fetch("?framework_id=other").fields().at("frameworks").list_value().values_size(), 0);
  EXPECT_EQ(fetch("?framework_id=" + id).fields().at("frameworks").list_value().values_size(), 1);
  EXPECT_EQ(post(base_ + "/frameworks", {}, "", "GET").status, 200);

  // Disconnected within the failover timeout: listed, inactive.
  ASSERT_TRUE(mesos_->dropStream(id).ok());
  ASSERT_TRUE(mesos_->waitFor(
      [&](const StateSnapshot& state) {
        return state.framework(id) != nullptr && !state.framework(id)->connected;
      },
      Duration(10000)));
  json = fetch();
  ASSERT_EQ(list(json, "frameworks").values_size(), 1);
  EXPECT_FALSE(
      list(json, "frameworks").values(0).struct_value().fields().at("active").bool_value());

  // Torn down: completed.
  ASSERT_TRUE(mesos_->teardown(id).ok());
  json = fetch();
  EXPECT_EQ(list(json, "frameworks").values_size(), 0);
  ASSERT_EQ(list(json, "completed_frameworks").values_size(), 1);
  const auto& completed = list(json, "completed_frameworks").values(0).struct_value().fields();
  EXPECT_EQ(completed.at("id").string_value(), id);
  EXPECT_FALSE(completed.at("active").bool_value());
  EXPECT_GT(completed.at("unregistered_time").number_value(), 0);
}

// --- Executors as processes ---------------------------------------------------------

class FakeMesosProcessExecutors : public FakeMesosCluster {
 protected:
  FakeMesosConfig processConfig() {
    FakeMesosConfig config = baseConfig();
    config.executorMode = ExecutorMode::kProcess;
    config.workDir = workDir_.str();
    return config;
  }
  test::TempDir workDir_;
};

TEST_F(FakeMesosProcessExecutors, RunsTheExecutorWithTheMesosEnvironment) {
  start(processConfig());
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  std::string artifact = workDir_.write("artifacts/payload.txt", "payload\n");
  v1::TaskInfo task =
      makeTask("t1", agent, 1, 64, "exec-env", "env > env.txt; cat payload.txt > copy.txt; exit 3");
  task.mutable_executor()->mutable_command()->add_uris()->set_value("file://" + artifact);
  auto* variable =
      task.mutable_executor()->mutable_command()->mutable_environment()->add_variables();
  variable->set_name("APP_MODE");
  variable->set_value("test");
  ASSERT_EQ(call(stream, acceptCall(id, {made[0].id().value()}, {task})).status, 202);

  // The executor exits without subscribing: its task fails, the framework hears of it.
  v1::TaskStatus failed = update(stream);
  EXPECT_EQ(failed.state(), v1::TASK_FAILED);
  EXPECT_EQ(failed.source(), v1::TaskStatus::SOURCE_AGENT);
  EXPECT_EQ(failed.reason(), v1::TaskStatus::REASON_EXECUTOR_TERMINATED);
  EXPECT_EQ(failed.message(), "Executor terminated");
  EXPECT_EQ(failed.executor_id().value(), "exec-env");
  auto failure = stream.nextOf(SchedulerEvent::FAILURE);
  ASSERT_TRUE(failure.has_value());
  EXPECT_TRUE(WIFEXITED(failure->failure().status()));
  EXPECT_EQ(WEXITSTATUS(failure->failure().status()), 3);

  std::string sandbox = workDir_.str() + "/slaves/" + agent + "/frameworks/" + id +
                        "/executors/exec-env/runs/" +
                        failed.container_status().container_id().value();
  EXPECT_EQ(test::readFile(sandbox + "/copy.txt"), "payload\n");
  std::map<std::string, std::string> env;
  std::istringstream lines(test::readFile(sandbox + "/env.txt"));
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  // The names of the captured environment; values adapted to the fake.
  gpb::Struct captured;
  ASSERT_TRUE(gpb::util::JsonStringToMessage(test::readFile(std::string(TAILOR_MESOS_WIRE_DIR) +
                                                            "/json/executor/environment.json"),
                                             &captured)
                  .ok());
  std::set<std::string> capturedNames;
  for (const auto& [name, value] : captured.fields()) capturedNames.insert(name);
  std::set<std::string> ours;
  for (const auto& [name, value] : env) {
    if (name.rfind("MESOS_", 0) == 0 || name.rfind("LIBPROCESS_", 0) == 0) ours.insert(name);
  }
  // Checkpointing is off here, so the two recovery variables are absent.
  capturedNames.erase("MESOS_RECOVERY_TIMEOUT");
  capturedNames.erase("MESOS_SUBSCRIPTION_BACKOFF_MAX");
  EXPECT_EQ(ours, capturedNames);
  EXPECT_EQ(env["MESOS_AGENT_ENDPOINT"], mesos_->endpoint());
  EXPECT_EQ(env["MESOS_SLAVE_PID"], "slave(1)@" + mesos_->endpoint());
  EXPECT_EQ(env["MESOS_FRAMEWORK_ID"], id);
  EXPECT_EQ(env["MESOS_EXECUTOR_ID"], "exec-env");
  EXPECT_EQ(env["MESOS_SLAVE_ID"], agent);
  EXPECT_EQ(env["MESOS_DIRECTORY"], sandbox);
  EXPECT_EQ(env["MESOS_SANDBOX"], sandbox);
  EXPECT_EQ(env["MESOS_CHECKPOINT"], "0");
  EXPECT_EQ(env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"], "5secs");
  EXPECT_EQ(env["MESOS_HTTP_COMMAND_EXECUTOR"], "0");
  EXPECT_EQ(env["LIBPROCESS_PORT"], "0");
  EXPECT_EQ(env["APP_MODE"], "test");
}

TEST_F(FakeMesosProcessExecutors, RegistrationTimeoutAndMissingUris) {
  FakeMesosConfig config = processConfig();
  config.executorRegistrationTimeout = Duration(200);
  start(config);
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  v1::TaskInfo silent = makeTask("silent", agent, 0.5, 64, "exec-silent", "exec sleep 60");
  v1::TaskInfo fetch = makeTask("fetch", agent, 0.5, 64, "exec-fetch", "true");
  fetch.mutable_executor()->mutable_command()->add_uris()->set_value(workDir_.str() + "/missing");
  ASSERT_EQ(call(stream, acceptCall(id, {made[0].id().value()}, {silent, fetch})).status, 202);

  std::map<std::string, v1::TaskStatus> statuses;
  for (int i = 0; i < 2; ++i) {
    v1::TaskStatus status = update(stream);
    statuses[status.task_id().value()] = status;
  }
  EXPECT_EQ(statuses["fetch"].state(), v1::TASK_FAILED);
  EXPECT_EQ(statuses["fetch"].reason(), v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(statuses["fetch"].message(),
              StartsWith("Failed to launch container: Failed to fetch all URIs for container"));
  EXPECT_EQ(statuses["silent"].state(), v1::TASK_FAILED);
  EXPECT_EQ(statuses["silent"].reason(), v1::TaskStatus::REASON_EXECUTOR_REGISTRATION_TIMEOUT);
  EXPECT_EQ(statuses["silent"].message(), "Executor did not register within 200ms");
}

TEST_F(FakeMesosProcessExecutors, ScriptedKillOfAnExecutorFailsItsTasks) {
  start(processConfig());
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  ASSERT_EQ(
      call(stream, acceptCall(id, {made[0].id().value()},
                              {makeTask("victim", agent, 0.5, 64, "exec-victim", "exec sleep 60")}))
          .status,
      202);
  ASSERT_TRUE(mesos_->waitFor(
      [](const StateSnapshot& s) {
        auto* executor = s.executorOfTask("victim");
        return executor != nullptr && executor->pid.has_value();
      },
      kWait));
  ASSERT_EQ(post(base_ + "/fake/kill-executor?task=victim", {}, "").status, 200);
  v1::TaskStatus killed = update(stream);
  EXPECT_EQ(killed.task_id().value(), "victim");
  EXPECT_EQ(killed.state(), v1::TASK_FAILED);
  EXPECT_EQ(killed.reason(), v1::TaskStatus::REASON_EXECUTOR_TERMINATED);
  auto failure = stream.nextOf(SchedulerEvent::FAILURE);
  ASSERT_TRUE(failure.has_value());
  EXPECT_TRUE(WIFSIGNALED(failure->failure().status()));
  EXPECT_EQ(WTERMSIG(failure->failure().status()), SIGKILL);
}

// --- The agents' /files/read: sandboxes of ended executors ---------------------------

class FakeMesosSandboxFiles : public FakeMesosProcessExecutors {
 protected:
  // Runs an executor whose command is `command` for task t1 (executor `executorId`)
  // and waits for its TASK_FAILED and FAILURE; sets id_, agent_ and sandbox_.
  int runToFailure(const std::string& executorId, const std::string& command) {
    start(processConfig());
    auto& stream = subscribe(frameworkInfo());
    id_ = subscribed(stream);
    auto made = offers(stream);
    EXPECT_EQ(made.size(), 1u);
    if (made.empty()) return 0;
    agent_ = made[0].agent_id().value();
    EXPECT_EQ(call(stream, acceptCall(id_, {made[0].id().value()},
                                      {makeTask("t1", agent_, 0.5, 64, executorId, command)}))
                  .status,
              202);
    v1::TaskStatus failed = update(stream);
    EXPECT_EQ(failed.state(), v1::TASK_FAILED);
    sandbox_ = workDir_.str() + "/slaves/" + agent_ + "/frameworks/" + id_ + "/executors/" +
               executorId + "/runs/" + failed.container_status().container_id().value();
    auto failure = stream.nextOf(SchedulerEvent::FAILURE);
    EXPECT_TRUE(failure.has_value());
    return failure ? failure->failure().status() : 0;
  }

  // GET /files/read?<query>.
  Answer read(const std::string& query) {
    return post(base_ + "/files/read?" + query, {}, "", "GET");
  }

  std::string id_;
  std::string agent_;
  std::string sandbox_;
};

TEST_F(FakeMesosSandboxFiles, ServesAnEndedExecutorsStderrUnderItsVirtualPath) {
  int status = runToFailure("exec-broken", "echo 'broken: no config' >&2; exit 3");
  EXPECT_EQ(WEXITSTATUS(status), 3);
  std::string path = "/frameworks/" + id_ + "/executors/exec-broken/runs/latest/stderr";
  // offset=-1: the size, no data (as the Mesos web UI asks first).
  Answer size = read("path=" + http::percentEncode(path) + "&offset=-1");
  EXPECT_EQ(size.status, 200);
  EXPECT_EQ(size.headers["content-type"], "application/json");
  EXPECT_EQ(size.body, R"({"data":"","offset":18})");
  EXPECT_EQ(read("path=" + path).body, R"({"data":"","offset":18})");  // no offset: the same
  EXPECT_EQ(read("path=" + path + "&offset=0").body,
            R"({"data":"broken: no config\n","offset":0})");
  EXPECT_EQ(read("path=" + path + "&offset=8&length=6").body, R"({"data":"no con","offset":8})");
  EXPECT_EQ(read("path=" + path + "&offset=8&length=-1").body,
            R"({"data":"no config\n","offset":8})");
  EXPECT_EQ(read("path=" + path + "&offset=100").body, R"({"data":"","offset":100})");
  // Also under the sandbox's real path, and as a file:// URI.
  EXPECT_EQ(read("path=" + sandbox_ + "/stderr&offset=0").body,
            R"({"data":"broken: no config\n","offset":0})");
  EXPECT_EQ(read("path=file://" + path + "&offset=0").status, 200);
}

TEST_F(FakeMesosSandboxFiles, AnswersBadReadsAsMesos) {
  runToFailure("exec-broken", "exit 3");
  std::string latest = "/frameworks/" + id_ + "/executors/exec-broken/runs/latest";
  auto expect = [&](const std::string& query, int status, const std::string& body) {
    Answer answer = read(query);
    EXPECT_EQ(answer.status, status) << query;
    EXPECT_EQ(answer.body, body) << query;
  };
  expect("offset=0", 400, "Expecting 'path=value' in query.\n");
  expect("path=&offset=0", 400, "Expecting 'path=value' in query.\n");
  expect("path=" + latest + "/stderr&offset=-2", 400, "Negative offset provided: -2.\n");
  expect("path=" + latest + "/stderr&offset=x", 400,
         "Failed to parse offset: Failed to convert 'x' to number.\n");
  expect("path=" + latest + "/stderr&offset=0&length=-5", 400, "Negative length provided: -5.\n");
  expect("path=" + latest + "/stderr&offset=0&length=1.5", 400,
         "Failed to parse length: Failed to convert '1.5' to number.\n");
  expect("path=" + latest + "&offset=0", 400, "Cannot read a directory.\n");
  expect("path=" + latest + "/&offset=0", 400, "Cannot read a directory.\n");
  expect("path=" + latest + "/no-such-file", 404, "");
  expect("path=/frameworks/" + id_ + "/executors/other/runs/latest/stderr", 404, "");
  expect("path=/etc/passwd", 404, "");
  Answer outside = read("path=" + latest + "/../../../../../..&offset=0");
  EXPECT_EQ(outside.status, 400);
  EXPECT_THAT(outside.body, HasSubstr("' is inaccessible.\n"));
  // The sandbox stays served after the framework is gone (until GC, which the fake never does).
  ASSERT_TRUE(mesos_->teardown(id_).ok());
  EXPECT_EQ(read("path=" + latest + "/stderr&offset=-1").status, 200);
}

TEST_F(FakeMesosSandboxFiles, AnExecutorThatIsNotFoundExits127WithTheShellsComplaint) {
  int status = runToFailure("exec-missing", "exec tailor-no-such-executor --flag");
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 127);
  EXPECT_THAT(test::readFile(sandbox_ + "/stderr"), HasSubstr("tailor-no-such-executor"));
  EXPECT_THAT(test::readFile(sandbox_ + "/stderr"), HasSubstr("not found"));
}

TEST_F(FakeMesosSandboxFiles, TailorsAgentFilesReadsTheEndOfTheStderr) {
  runToFailure("exec-long",
               "for i in $(seq 1 50); do echo \"line $i of the executor's stderr\" >&2; done; "
               "exit 3");
  AsioEventLoop loop;
  http::CurlHttpClient client(loop, 1);
  mesos::HttpAgentFiles files(loop, client);
  std::optional<Result<mesos::FileTail>> tail;
  loop.post([&] {
    files.readTail(base_, mesos::executorSandboxPath(id_, "exec-long") + "/stderr", 64,
                   Duration(5000), [&](Result<mesos::FileTail> read) {
                     tail = std::move(read);
                     loop.stop();
                   });
  });
  loop.run();
  ASSERT_TRUE(tail.has_value());
  ASSERT_TRUE(tail->ok()) << (*tail).error().message;
  std::string whole = test::readFile(sandbox_ + "/stderr");
  EXPECT_EQ((*tail)->data, whole.substr(whole.size() - 64));
  EXPECT_TRUE((*tail)->truncated);
  EXPECT_THAT(mesos::lastLines((*tail)->data, true, 10, 300),
              ::testing::ElementsAre("line 50 of the executor's stderr"));
}

// --- Command tasks: the command executor and the fetcher, as processes ----------------

// Files served over HTTP on loopback, from a loop of their own (the fake's
// fetcher blocks its loop while downloading).
class FileServer {
 public:
  explicit FileServer(std::map<std::string, std::string> files)
      : files_(std::move(files)), server_(loop_, "127.0.0.1", 0) {
    server_.route("GET", "/", [this](const http::Request& request, http::Responder respond) {
      auto file = files_.find(request.path);
      respond(file == files_.end() ? http::Response::text(404, "no such file")
                                   : http::Response::text(200, file->second));
    });
    port_ = server_.start().value();
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~FileServer() {
    loop_.post([this] { server_.stop(); });
    loop_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  std::map<std::string, std::string> files_;
  AsioEventLoop loop_;
  http::Server server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

class FakeMesosCommandTasks : public FakeMesosProcessExecutors {
 protected:
  // Subscribes a framework and launches `tasks` on the first offer.
  void launch(const std::vector<v1::TaskInfo>& tasks,
              const v1::FrameworkInfo& info = frameworkInfo()) {
    stream_ = &subscribe(info);
    frameworkId_ = subscribed(*stream_);
    auto made = offers(*stream_);
    ASSERT_EQ(made.size(), 1u);
    agent_ = made[0].agent_id().value();
    std::vector<v1::TaskInfo> placed = tasks;
    for (auto& task : placed) task.mutable_agent_id()->set_value(agent_);
    ASSERT_EQ(call(*stream_, acceptCall(frameworkId_, {made[0].id().value()}, placed)).status, 202);
  }

  // The next update, acknowledged.
  v1::TaskStatus next() {
    v1::TaskStatus status = update(*stream_);
    if (status.has_uuid()) call(*stream_, acknowledgeCall(frameworkId_, status));
    return status;
  }

  // "STATE: message" of the updates of one task, up to its terminal one.
  std::vector<std::string> untilTerminal(v1::TaskStatus* last = nullptr) {
    std::vector<std::string> states;
    while (true) {
      v1::TaskStatus status = next();
      if (!status.has_task_id()) break;
      states.push_back(v1::TaskState_Name(status.state()) +
                       (status.message().empty() ? "" : ": " + status.message()));
      if (last != nullptr) *last = status;
      if (isTerminalState(status.state())) break;
    }
    return states;
  }

  std::string sandboxOf(const v1::TaskStatus& status) const {
    return workDir_.str() + "/slaves/" + agent_ + "/frameworks/" + frameworkId_ + "/executors/" +
           status.executor_id().value() + "/runs/" +
           status.container_status().container_id().value();
  }

  SchedulerStream* stream_ = nullptr;
  std::string frameworkId_;
  std::string agent_;
};

TEST_F(FakeMesosCommandTasks, RunsTheCommandInItsSandboxUntilTaskFinished) {
  start(processConfig());
  v1::TaskInfo task = makeCommandTask(
      "echo", "", "echo hi > out.txt; echo \"$APP_MODE\" > mode.txt; pwd > pwd.txt");
  auto* variable = task.mutable_command()->mutable_environment()->add_variables();
  variable->set_name("APP_MODE");
  variable->set_value("test");
  launch({task});
  v1::TaskStatus last;
  EXPECT_EQ(untilTerminal(&last),
            (std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING",
                                      "TASK_FINISHED: Command exited with status 0"}));
  EXPECT_EQ(last.source(), v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_EQ(last.executor_id().value(), "echo") << "the command executor's id is the task's";
  std::string sandbox = sandboxOf(last);
  EXPECT_EQ(test::readFile(sandbox + "/out.txt"), "hi\n");
  EXPECT_EQ(test::readFile(sandbox + "/mode.txt"), "test\n");
  EXPECT_EQ(test::readFile(sandbox + "/pwd.txt"), sandbox + "\n");
  // Acknowledged, the executor exits; the master tells no FAILURE of command executors.
  EXPECT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return s.executors.empty(); }, kWait));
  EXPECT_FALSE(stream_->nextOf(SchedulerEvent::FAILURE, Duration(200)).has_value());
}

TEST_F(FakeMesosCommandTasks, FailingCommandsGiveTaskFailedWithTheirStatus) {
  start(processConfig());
  v1::TaskInfo signalled = makeCommandTask("signalled", "", "/bin/sh");
  signalled.mutable_command()->set_shell(false);
  for (const char* argument : {"sh", "-c", "kill -TERM $$"}) {
    signalled.mutable_command()->add_arguments(argument);
  }
  launch({makeCommandTask("exit3", "", "echo oops >&2; exit 3")});
  v1::TaskStatus last;
  EXPECT_EQ(untilTerminal(&last).back(), "TASK_FAILED: Command exited with status 3");
  EXPECT_EQ(last.source(), v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_THAT(test::readFile(sandboxOf(last) + "/stderr"), HasSubstr("oops\n"))
      << "the command writes to the sandbox's stderr";

  mesos_->allocateNow();
  auto more = offers(*stream_);
  ASSERT_EQ(more.size(), 1u);
  signalled.mutable_agent_id()->set_value(agent_);
  ASSERT_EQ(call(*stream_, acceptCall(frameworkId_, {more[0].id().value()}, {signalled})).status,
            202);
  EXPECT_EQ(untilTerminal().back(), "TASK_FAILED: Command terminated with signal Terminated");
}

TEST_F(FakeMesosCommandTasks, KilledCommandGivesTaskKilledAfterEscalation) {
  start(processConfig());
  v1::FrameworkInfo info = frameworkInfo();
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::TASK_KILLING_STATE);
  v1::TaskInfo polite = makeCommandTask("polite", "", "sleep 60");
  v1::TaskInfo stubborn = makeCommandTask("stubborn", "", "trap '' TERM; sleep 60");
  *stubborn.mutable_kill_policy()->mutable_grace_period() = millis(10000);
  launch({polite, stubborn}, info);
  std::set<std::string> running;
  while (running.size() < 2) {
    v1::TaskStatus status = next();
    ASSERT_TRUE(status.has_task_id());
    if (status.state() == v1::TASK_RUNNING) running.insert(status.task_id().value());
  }
  for (const char* taskId : {"polite", "stubborn"}) {
    SchedulerCall kill = simpleCall(frameworkId_, SchedulerCall::KILL);
    kill.mutable_kill()->mutable_task_id()->set_value(taskId);
    if (taskId == std::string("stubborn")) {
      *kill.mutable_kill()->mutable_kill_policy()->mutable_grace_period() = millis(200);
    }
    ASSERT_EQ(call(*stream_, kill).status, 202);
  }
  std::map<std::string, std::vector<std::string>> states;
  for (int terminal = 0; terminal < 2;) {
    v1::TaskStatus status = next();
    ASSERT_TRUE(status.has_task_id());
    states[status.task_id().value()].push_back(v1::TaskState_Name(status.state()) + ": " +
                                               status.message());
    if (isTerminalState(status.state())) ++terminal;
  }
  EXPECT_EQ(states["polite"],
            (std::vector<std::string>{"TASK_KILLING: ",
                                      "TASK_KILLED: Command terminated with signal Terminated"}));
  EXPECT_EQ(states["stubborn"],
            (std::vector<std::string>{"TASK_KILLING: ",
                                      "TASK_KILLED: Command terminated with signal Killed"}))
      << "SIGTERM ignored: SIGKILL after the KILL's 200 ms grace period (not the task's 10 s)";
  EXPECT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return s.executors.empty(); }, kWait));
}

// Whether `pid` is a live process (not gone, not a zombie).
bool processAlive(pid_t pid) {
  std::string stat = test::readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

TEST_F(FakeMesosCommandTasks, DestroyingTheContainerKillsTheCommandToo) {
  start(processConfig());
  launch({makeCommandTask("victim", "", "sleep 60 & echo $! > pid.txt; wait")});
  v1::TaskStatus running;
  do {
    running = next();
    ASSERT_TRUE(running.has_task_id());
  } while (running.state() != v1::TASK_RUNNING);
  std::string pidFile = sandboxOf(running) + "/pid.txt";
  ASSERT_TRUE(mesos_->waitFor(
      [&](const StateSnapshot&) { return !test::readFile(pidFile).empty(); }, kWait));
  pid_t command = std::stoi(test::readFile(pidFile));
  EXPECT_TRUE(processAlive(command));
  // The command (here a grandchild of the executor, in a process group of its
  // own) goes with its container.
  ASSERT_EQ(post(base_ + "/fake/kill-executor?task=victim", {}, "").status, 200);
  v1::TaskStatus failed = next();
  EXPECT_EQ(failed.state(), v1::TASK_FAILED);
  EXPECT_EQ(failed.reason(), v1::TaskStatus::REASON_EXECUTOR_TERMINATED);
  // SIGKILL was sent to it; on a busy machine it may not have run its exit
  // yet when the update arrives.
  EXPECT_TRUE(mesos_->waitFor([&](const StateSnapshot&) { return !processAlive(command); },
                              kWait));
}

TEST_F(FakeMesosCommandTasks, FetchesHttpUrisIntoTheSandboxBeforeTheCommandRuns) {
  FileServer files({{"/files/run.sh", "#!/bin/sh\necho fetched > fetched.txt\n"},
                    {"/files/app.conf", "mode=test\n"}});
  start(processConfig());
  v1::TaskInfo task = makeCommandTask("fetch", "", "./run.sh && cat conf/app.conf > copy.txt");
  auto* script = task.mutable_command()->add_uris();
  script->set_value(files.url("/files/run.sh"));
  script->set_executable(true);
  auto* conf = task.mutable_command()->add_uris();
  conf->set_value(files.url("/files/app.conf"));
  conf->set_output_file("conf/app.conf");
  launch({task});
  v1::TaskStatus last;
  EXPECT_EQ(untilTerminal(&last).back(), "TASK_FINISHED: Command exited with status 0");
  std::string sandbox = sandboxOf(last);
  EXPECT_EQ(test::readFile(sandbox + "/fetched.txt"), "fetched\n");
  EXPECT_EQ(test::readFile(sandbox + "/copy.txt"), "mode=test\n");
  struct stat info {};
  ASSERT_EQ(::stat((sandbox + "/run.sh").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0755u);
  EXPECT_THAT(
      test::readFile(sandbox + "/stderr"),
      HasSubstr("Fetched '" + files.url("/files/run.sh") + "' to '" + sandbox + "/run.sh'"));
}

TEST_F(FakeMesosCommandTasks, FailedDownloadFailsTheLaunchAsMesos) {
  FileServer files({});
  start(processConfig());
  v1::TaskInfo missing = makeCommandTask("missing", "", "true");
  missing.mutable_command()->add_uris()->set_value(files.url("/files/missing.sh"));
  launch({missing});
  v1::TaskStatus failed = next();
  EXPECT_EQ(failed.state(), v1::TASK_FAILED);
  EXPECT_EQ(failed.source(), v1::TaskStatus::SOURCE_AGENT);
  EXPECT_EQ(failed.reason(), v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  std::string container = failed.container_status().container_id().value();
  EXPECT_EQ(failed.message(),
            "Failed to launch container: Failed to fetch all URIs for container '" + container +
                "': exited with status 1");
  // Which URI failed, and why, is in the sandbox's stderr (the fetcher's log).
  std::string sandbox = sandboxOf(failed);
  EXPECT_THAT(test::readFile(sandbox + "/stderr"),
              HasSubstr("Failed to fetch '" + files.url("/files/missing.sh") +
                        "': Error downloading resource, received HTTP return code 404"));
  EXPECT_FALSE(std::filesystem::exists(sandbox + "/missing.sh")) << "no error page left behind";

  // Nobody listening: a transport error, same status message.
  mesos_->allocateNow();
  auto more = offers(*stream_);
  ASSERT_EQ(more.size(), 1u);
  v1::TaskInfo unreachable = makeCommandTask("unreachable", agent_, "true");
  unreachable.mutable_command()->add_uris()->set_value("http://127.0.0.1:1/jm");
  ASSERT_EQ(call(*stream_, acceptCall(frameworkId_, {more[0].id().value()}, {unreachable})).status,
            202);
  v1::TaskStatus down = next();
  EXPECT_EQ(down.reason(), v1::TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  EXPECT_THAT(down.message(), StartsWith("Failed to launch container: Failed to fetch all URIs"));
  EXPECT_THAT(test::readFile(sandboxOf(down) + "/stderr"),
              HasSubstr("Failed to fetch 'http://127.0.0.1:1/jm': Error downloading resource: "));
}

TEST_F(FakeMesosCommandTasks, AConfiguredCommandExecutorMustExist) {
  FakeMesosConfig config = processConfig();
  config.commandExecutor = workDir_.str() + "/no-such-executor";
  FakeMesos mesos(config);
  auto started = mesos.start();
  ASSERT_FALSE(started.ok()) << "a configured path must exist";
  EXPECT_THAT(started.error().message, HasSubstr("no-such-executor"));
}

// --- Golden conformance: the captured calls, replayed ------------------------------

struct GoldenCase {
  ContentType type;
  std::string dir;
  std::uint64_t framework;  // the captured framework's number
  std::uint64_t offer;      // and its first offer's
  // Send Tailor's own encoding of each captured call (decoded, then encoded
  // by mesos/codec) instead of the captured bytes.
  bool reencode = false;
};

void PrintTo(const GoldenCase& golden, std::ostream* out) {
  *out << golden.dir << (golden.reencode ? " re-encoded by Tailor" : " as captured");
}

class FakeMesosGolden : public FakeMesosCluster, public ::testing::WithParamInterface<GoldenCase> {
 protected:
  template <typename Event>
  Event capturedEvent(const std::string& file, std::size_t index) {
    auto records = captureRecords(GetParam().dir + "/" + file);
    EXPECT_LT(index, records.size());
    if (index >= records.size()) return Event();
    Result<Event> event = Event();
    if constexpr (std::is_same_v<Event, SchedulerEvent>) {
      event = mesos::decodeSchedulerEvent(records[index], GetParam().type);
    } else {
      event = mesos::decodeExecutorEvent(records[index], GetParam().type);
    }
    EXPECT_TRUE(event.ok());
    return event.ok() ? *event : Event();
  }

  // Same fields present, and equal once the values that must differ are
  // made equal by `normalize` (ports, container ids, pids, timestamps).
  template <typename Event>
  void expectLikeCaptured(const Event& ours, const std::string& file, std::size_t index,
                          const std::function<void(Event&)>& normalize = {}) {
    Event theirs = capturedEvent<Event>(file, index);
    EXPECT_EQ(structureOf(ours), structureOf(theirs)) << "ours:\n"
                                                      << ours.DebugString() << "captured:\n"
                                                      << theirs.DebugString();
    Event a = ours;
    Event b = theirs;
    if (normalize) {
      normalize(a);
      normalize(b);
    }
    EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << "ours:\n"
                                                  << a.DebugString() << "captured:\n"
                                                  << b.DebugString();
  }

  // The body of a captured call: its bytes, or Tailor's encoding of it.
  std::string callBody(const std::string& relative, bool executor) {
    std::string raw = readCapture(GetParam().dir + "/" + relative);
    if (!GetParam().reencode) return raw;
    ContentType type = GetParam().type;
    Result<std::string> body = std::string();
    if (executor) {
      auto call = mesos::decodeExecutorCall(raw, type);
      EXPECT_TRUE(call.ok()) << relative;
      if (call.ok()) body = mesos::encode(*call, type);
    } else {
      auto call = mesos::decodeSchedulerCall(raw, type);
      EXPECT_TRUE(call.ok()) << relative;
      if (call.ok()) body = mesos::encode(*call, type);
    }
    EXPECT_TRUE(body.ok()) << relative;
    return body.ok() ? *body : raw;
  }

  Answer replay(SchedulerStream& stream, const std::string& file) {
    return post(
        schedulerUrl(),
        {{"Content-Type", typeHeader(GetParam().type)}, {"Mesos-Stream-Id", stream.streamId()}},
        callBody(file, /*executor=*/false));
  }
  Answer replayExecutor(const std::string& file) {
    return post(base_ + "/api/v1/executor", {{"Content-Type", typeHeader(GetParam().type)}},
                callBody("executor/" + file, /*executor=*/true));
  }
};

TEST_P(FakeMesosGolden, AcceptsEveryCapturedCallLikeTheRealMaster) {
  const GoldenCase& golden = GetParam();
  ContentType type = golden.type;
  FakeMesosConfig config = baseConfig();
  config.executorMode = ExecutorMode::kExternal;
  config.executorShutdownGracePeriod = Duration(100);
  config.heartbeatInterval = Duration(15000);  // as captured; none is due within the test
  config.ids = IdSeed{"8069ef52-89c3-4686-b446-decadf88634d", golden.framework, golden.offer, 0};
  std::mutex launchMutex;
  std::vector<ContainerLaunch> launches;
  config.externalLaunch = [&](const ContainerLaunch& launch) -> std::optional<pid_t> {
    std::lock_guard<std::mutex> lock(launchMutex);
    launches.push_back(launch);
    return ::getpid();  // this test plays the executor
  };
  start(config);
  int port = mesos_->port();

  // SUBSCRIBE -> 200, SUBSCRIBED with the captured framework id, HEARTBEAT, OFFERS.
  schedulers_.push_back(std::make_unique<SchedulerStream>(
      schedulerUrl(),
      std::vector<std::pair<std::string, std::string>>{{"Content-Type", typeHeader(type)},
                                                       {"Accept", typeHeader(type)}},
      callBody("call-subscribe.bin", /*executor=*/false), type));
  SchedulerStream& stream = *schedulers_.back();
  ASSERT_EQ(stream.status(), 200);
  auto subscribed = stream.next();
  ASSERT_TRUE(subscribed.has_value());
  expectLikeCaptured<SchedulerEvent>(*subscribed, "scheduler-stream.recordio", 0,
                                     [](SchedulerEvent& e) {
                                       auto* info = e.mutable_subscribed()->mutable_master_info();
                                       info->set_port(5050);
                                       info->set_pid("master@127.0.0.1:5050");
                                       info->mutable_address()->set_port(5050);
                                     });
  if (type == ContentType::kJson) {
    std::string captured = captureRecord(golden.dir + "/scheduler-stream.recordio", 0);
    std::string expected = std::regex_replace(captured, std::regex("5050"), std::to_string(port));
    EXPECT_EQ(stream.lastRecord(), expected) << "byte for byte, but for the port";
  }
  auto heartbeat = stream.next();
  ASSERT_TRUE(heartbeat.has_value());
  expectLikeCaptured<SchedulerEvent>(*heartbeat, "scheduler-stream.recordio", 1);
  auto firstOffers = stream.next();
  ASSERT_TRUE(firstOffers.has_value());
  auto fixUrl = [](SchedulerEvent& e) {
    for (auto& offer : *e.mutable_offers()->mutable_offers()) {
      offer.mutable_url()->mutable_address()->set_port(5051);
    }
  };
  expectLikeCaptured<SchedulerEvent>(*firstOffers, "scheduler-stream.recordio", 2, fixUrl);

  // ACCEPT of the captured offer -> 202; the agent "starts" exec-1.
  EXPECT_EQ(replay(stream, "call-accept-launch.bin").status, 202);
  ASSERT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return !s.executors.empty(); }, kWait));
  {
    std::lock_guard<std::mutex> lock(launchMutex);
    ASSERT_EQ(launches.size(), 1u);
    EXPECT_EQ(launches[0].executorId, "exec-1");
    EXPECT_EQ(launches[0].environment.at("MESOS_CHECKPOINT"), "1");
    EXPECT_EQ(launches[0].environment.at("MESOS_RECOVERY_TIMEOUT"), "15mins");
  }
  std::string containerId = mesos_->state().executors[0].containerId;
  auto fixContainer = [&](auto& status) {
    if (!status.has_container_status()) return;
    status.mutable_container_status()->mutable_container_id()->set_value("C");
    status.mutable_container_status()->set_executor_pid(1);
  };

  // The test as executor: SUBSCRIBE -> SUBSCRIBED and LAUNCH like the captured ones.
  executors_.push_back(std::make_unique<ExecutorStream>(
      base_ + "/api/v1/executor",
      std::vector<std::pair<std::string, std::string>>{{"Content-Type", typeHeader(type)},
                                                       {"Accept", typeHeader(type)}},
      callBody("executor/call-subscribe.bin", /*executor=*/true), type));
  ExecutorStream& executor = *executors_.back();
  ASSERT_EQ(executor.status(), 200);
  auto executorSubscribed = executor.next();
  ASSERT_TRUE(executorSubscribed.has_value());
  EXPECT_EQ(executorSubscribed->subscribed().container_id().value(), containerId);
  expectLikeCaptured<ExecutorEvent>(
      *executorSubscribed, "executor/executor-stream.recordio", 0, [](ExecutorEvent& e) {
        e.mutable_subscribed()->mutable_container_id()->set_value("C");
        e.mutable_subscribed()->mutable_agent_info()->set_port(5051);
      });
  auto launch = executor.next();
  ASSERT_TRUE(launch.has_value());
  expectLikeCaptured<ExecutorEvent>(*launch, "executor/executor-stream.recordio", 1);
  if (type == ContentType::kJson) {
    EXPECT_EQ(executor.lastRecord(),
              captureRecord(golden.dir + "/executor/executor-stream.recordio", 1));
  }

  // Each UPDATE reaches the scheduler with the executor's uuid; each ACKNOWLEDGE -> 202.
  for (int i = 0; i < 3; ++i) {
    std::string n = std::to_string(i);
    EXPECT_EQ(replayExecutor("call-update-" + n + ".bin").status, 202);
    auto acknowledged = executor.next();
    ASSERT_TRUE(acknowledged.has_value());
    expectLikeCaptured<ExecutorEvent>(*acknowledged, "executor/executor-stream.recordio", 2 + i);
    auto forwarded = stream.nextOf(SchedulerEvent::UPDATE);
    ASSERT_TRUE(forwarded.has_value());
    EXPECT_EQ(forwarded->update().status().container_status().container_id().value(), containerId);
    EXPECT_EQ(forwarded->update().status().container_status().executor_pid(),
              static_cast<std::uint32_t>(::getpid()));
    expectLikeCaptured<SchedulerEvent>(
        *forwarded, "scheduler-stream.recordio", 3 + i,
        [&](SchedulerEvent& e) { fixContainer(*e.mutable_update()->mutable_status()); });
    EXPECT_EQ(replay(stream, "call-acknowledge-" + n + ".bin").status, 202);
  }

  // RECONCILE of the finished, acknowledged task -> TASK_LOST, as captured.
  EXPECT_EQ(replay(stream, "call-reconcile.bin").status, 202);
  auto reconciled = stream.nextOf(SchedulerEvent::UPDATE);
  ASSERT_TRUE(reconciled.has_value());
  expectLikeCaptured<SchedulerEvent>(
      *reconciled, "scheduler-stream.recordio", 6,
      [](SchedulerEvent& e) { e.mutable_update()->mutable_status()->set_timestamp(0); });

  // SUPPRESS, REVIVE -> 202; the next offer lists the still running executor.
  EXPECT_EQ(replay(stream, "call-suppress.bin").status, 202);
  EXPECT_EQ(replay(stream, "call-revive.bin").status, 202);
  mesos_->allocateNow();
  auto later = stream.nextOf(SchedulerEvent::OFFERS);
  ASSERT_TRUE(later.has_value());
  expectLikeCaptured<SchedulerEvent>(*later, "scheduler-stream.recordio", 7, fixUrl);

  // TEARDOWN -> 202: the scheduler stream ends; the executor gets SHUTDOWN.
  EXPECT_EQ(replay(stream, "call-teardown.bin").status, 202);
  EXPECT_TRUE(stream.raw().waitEnd());
  auto shutdown = executor.nextOf(ExecutorEvent::SHUTDOWN);
  ASSERT_TRUE(shutdown.has_value());
  expectLikeCaptured<ExecutorEvent>(*shutdown, "executor/executor-stream.recordio", 5);
  EXPECT_TRUE(executor.raw().waitEnd()) << "the container is destroyed after the grace period";
  EXPECT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return s.executors.empty(); }, kWait));
}

INSTANTIATE_TEST_SUITE_P(Captures, FakeMesosGolden,
                         ::testing::Values(GoldenCase{ContentType::kJson, "json", 4, 18},
                                           GoldenCase{ContentType::kProtobuf, "protobuf", 5, 20},
                                           GoldenCase{ContentType::kJson, "json", 4, 18, true},
                                           GoldenCase{ContentType::kProtobuf, "protobuf", 5, 20,
                                                      true}),
                         [](const auto& info) {
                           return std::string(info.param.type == ContentType::kJson ? "Json"
                                                                                    : "Protobuf") +
                                  (info.param.reencode ? "ReencodedByTailor" : "AsCaptured");
                         });

TEST_F(FakeMesosCluster, ExecutorApiValidatesLikeTheAgent) {
  FakeMesosConfig config = baseConfig();
  config.executorMode = ExecutorMode::kExternal;
  start(config);
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  auto made = offers(stream);
  ASSERT_EQ(made.size(), 1u);
  ASSERT_EQ(call(stream, acceptCall(id, {made[0].id().value()},
                                    {makeTask("t1", made[0].agent_id().value(), 1, 64)}))
                .status,
            202);
  ASSERT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return !s.executors.empty(); }, kWait));

  ExecutorCall update;
  update.mutable_framework_id()->set_value(id);
  update.mutable_executor_id()->set_value("exec-1");
  update.set_type(ExecutorCall::UPDATE);
  auto* status = update.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value("t1");
  status->set_state(v1::TASK_RUNNING);
  status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status->set_uuid(IdGenerator(IdSeed{}).randomUuidBytes());
  std::string url = base_ + "/api/v1/executor";
  std::vector<std::pair<std::string, std::string>> json = {{"Content-Type", "application/json"}};
  auto early = post(url, json, encoded(update, ContentType::kJson));
  EXPECT_EQ(early.status, 403);
  EXPECT_EQ(early.body, "Executor is not subscribed");

  ExecutorCall badUuid = update;
  badUuid.mutable_update()->mutable_status()->set_uuid("123");
  auto bad = post(url, json, encoded(badUuid, ContentType::kJson));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "Failed to validate Executor::Call: Not a valid UUID");
  ExecutorCall stranger = update;
  stranger.mutable_executor_id()->set_value("exec-2");
  stranger.mutable_update()->mutable_status()->clear_executor_id();
  EXPECT_EQ(post(url, json, encoded(stranger, ContentType::kJson)).body,
            "Executor cannot be found");
  EXPECT_EQ(post(url, {{"Content-Type", "text/plain"}}, "x").status, 415);
  EXPECT_EQ(post(base_ + "/slave(9)/api/v1/executor", json, "{}").status, 404);

  ExecutorCall subscribeCall;
  subscribeCall.mutable_framework_id()->set_value(id);
  subscribeCall.mutable_executor_id()->set_value("exec-1");
  subscribeCall.set_type(ExecutorCall::SUBSCRIBE);
  subscribeCall.mutable_subscribe();
  executors_.push_back(std::make_unique<ExecutorStream>(
      base_ + "/slave(1)/api/v1/executor",
      std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"}},
      encoded(subscribeCall, ContentType::kJson), ContentType::kJson));
  ExecutorStream& executor = *executors_.back();
  ASSERT_EQ(executor.status(), 200);
  EXPECT_EQ(executor.nextOf(ExecutorEvent::SUBSCRIBED)->subscribed().framework_info().id().value(),
            id);
  EXPECT_EQ(executor.nextOf(ExecutorEvent::LAUNCH)->launch().task().task_id().value(), "t1");
  EXPECT_EQ(post(url, json, encoded(update, ContentType::kJson)).status, 202);
  auto acknowledged = executor.nextOf(ExecutorEvent::ACKNOWLEDGED);
  ASSERT_TRUE(acknowledged.has_value()) << "stored updates are acknowledged at once";
  EXPECT_EQ(acknowledged->acknowledged().uuid(), status->uuid());
  v1::TaskStatus forwarded = this->update(stream);
  EXPECT_EQ(forwarded.state(), v1::TASK_RUNNING);
  EXPECT_EQ(forwarded.agent_id().value(), made[0].agent_id().value()) << "filled in by the agent";

  // KILL: the executor hears of it; without TASK_KILLED in time the agent kills it.
  SchedulerCall kill = simpleCall(id, SchedulerCall::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("t1");
  kill.mutable_kill()->mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(50000000);
  ASSERT_EQ(call(stream, kill).status, 202);
  auto killEvent = executor.nextOf(ExecutorEvent::KILL);
  ASSERT_TRUE(killEvent.has_value());
  EXPECT_EQ(killEvent->kill().task_id().value(), "t1");
  call(stream, acknowledgeCall(id, forwarded));
  v1::TaskStatus killed = this->update(stream);
  EXPECT_EQ(killed.state(), v1::TASK_KILLED);
  EXPECT_EQ(killed.source(), v1::TaskStatus::SOURCE_AGENT);
  EXPECT_TRUE(executor.raw().waitEnd());
  auto failure = stream.nextOf(SchedulerEvent::FAILURE);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->failure().status(), 9) << "SIGKILL";
}

// --- Masters failing over through ZooKeeper ------------------------------------------

// Two masters and an agents-only process found through a real ZooKeeper
// (tests/zookeeper/zk-server.sh): `mesos_` leads first, `standby_` takes over.
class FakeMesosFailover : public FakeMesosCluster {
 protected:
  FakeMesosConfig clusterConfig(bool master) {
    FakeMesosConfig config = baseConfig();
    config.zooKeeper = zk_.url("/mesos");
    config.zooKeeperSessionTimeout = Duration(2000);
    config.runMaster = master;
    if (!master) config.agents = {parseAgentSpec("cpus=4,mem=8192,ports=31000-31099").value()};
    return config;
  }

  std::unique_ptr<FakeMesos> startProcess(FakeMesosConfig config) {
    auto process = std::make_unique<FakeMesos>(std::move(config));
    auto port = process->start();
    EXPECT_TRUE(port.ok()) << (port.ok() ? "" : port.error().message);
    return process;
  }

  // Waits until the master at `endpoint` says `leader` leads (GET /master/redirect).
  bool leads(const std::string& endpoint, const std::string& leader) {
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto answer = post("http://" + endpoint + "/master/redirect", {}, "", "GET");
      if (answer.status == 307 && answer.headers["location"] == "//" + leader) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Starts the first master and the agents, and waits until they found each other.
  void startCluster() {
    start(clusterConfig(true));
    ASSERT_TRUE(leads(mesos_->endpoint(), mesos_->endpoint()));
    agents_ = startProcess(clusterConfig(false));
    ASSERT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return s.agents.size() == 1; }, kWait));
    standby_ = startProcess(clusterConfig(true));
    ASSERT_TRUE(leads(standby_->endpoint(), mesos_->endpoint()));
  }

  // Makes the standby the master requests go to.
  void failOver() {
    mesos_->stop();  // its session closes: its node goes at once
    ASSERT_TRUE(leads(standby_->endpoint(), standby_->endpoint()));
    base_ = "http://" + standby_->endpoint();
  }

  std::unique_ptr<zookeeper::Session> zooKeeper() {
    zookeeper::SessionOptions options;
    options.hosts = zk_.hosts();
    auto session = zookeeper::Session::connect(zkLoop_, options);
    EXPECT_TRUE(session.ok()) << (session.ok() ? "" : session.error().message);
    return session.ok() ? std::move(*session) : nullptr;
  }

  void TearDown() override {
    if (standby_) standby_->stop();
    if (agents_) agents_->stop();
    FakeMesosCluster::TearDown();
  }

  test::ZooKeeperServer zk_;
  AsioEventLoop zkLoop_;  // not run: the test's own ZooKeeper session sets no watches
  std::unique_ptr<FakeMesos> agents_;
  std::unique_ptr<FakeMesos> standby_;
};

TEST_F(FakeMesosFailover, TheNodeHoldsMasterInfoAndAStandbyRedirectsToTheLeader) {
  startCluster();
  auto session = zooKeeper();
  ASSERT_TRUE(session);
  auto names = session->children("/mesos");
  ASSERT_TRUE(names.ok());
  auto masters = zookeeper::sortBySequence(*names, "json.info_");
  ASSERT_EQ(masters.size(), 2u);
  auto node = session->get("/mesos/" + masters[0]);
  ASSERT_TRUE(node.ok() && node->has_value());
  EXPECT_EQ(*mesos::masterAddressOf((*node)->data), mesos_->endpoint());
  EXPECT_THAT((*node)->data, HasSubstr(R"("id":")" + mesos_->masterId() + R"(")"));
  EXPECT_NE((*node)->ephemeralOwner, 0) << "ephemeral";

  std::string standby = "http://" + standby_->endpoint();
  auto subscribeThere = post(standby + "/api/v1/scheduler", {{"Content-Type", "application/json"}},
                             encoded(subscribeCall(frameworkInfo()), ContentType::kJson));
  EXPECT_EQ(subscribeThere.status, 307);
  EXPECT_EQ(subscribeThere.headers["location"],
            "//" + mesos_->endpoint() + "/master/api/v1/scheduler");
  auto frameworks = post(standby + "/master/frameworks?framework_id=x", {}, "", "GET");
  EXPECT_EQ(frameworks.status, 307);
  EXPECT_EQ(frameworks.headers["location"], "//" + mesos_->endpoint() + "/master/frameworks?framework_id=x");
  // An agents-only process has no master endpoints.
  EXPECT_EQ(post("http://" + agents_->endpoint() + "/api/v1/scheduler", {}, "").status, 404);
}

TEST_F(FakeMesosFailover, NoLeaderKnownIs503) {
  auto session = zooKeeper();
  ASSERT_TRUE(session && session->ensurePath("/mesos").ok());
  // The lowest node holds no MasterInfo: nobody can be reached as the leader.
  ASSERT_TRUE(
      session->create("/mesos/json.info_", "garbage", zookeeper::CreateMode::kEphemeralSequential)
          .ok());
  start(clusterConfig(true));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto answer = post(schedulerUrl(), {{"Content-Type", "application/json"}},
                     encoded(subscribeCall(frameworkInfo()), ContentType::kJson));
  EXPECT_EQ(answer.status, 503);
  EXPECT_EQ(answer.body, "No leader elected");
  EXPECT_EQ(post(base_ + "/master/redirect", {}, "", "GET").status, 503);
}

// The new leader learns the agents from the registry and their tasks when they
// register again; the framework subscribes again with its id and finds its task.
TEST_F(FakeMesosFailover, TheNewLeaderRecoversAgentsTasksAndTheFramework) {
  startCluster();
  auto& first = subscribe(frameworkInfo(60));
  std::string id = subscribed(first);
  auto made = offers(first);
  ASSERT_EQ(made.size(), 1u);
  std::string agent = made[0].agent_id().value();
  ASSERT_EQ(
      call(first, acceptCall(id, {made[0].id().value()}, {makeTask("t1", agent, 1, 64)})).status,
      202);
  v1::TaskStatus starting = update(first);
  ASSERT_EQ(starting.state(), v1::TASK_STARTING);
  ASSERT_EQ(call(first, acknowledgeCall(id, starting)).status, 202);
  v1::TaskStatus running = update(first);
  ASSERT_EQ(running.state(), v1::TASK_RUNNING);
  ASSERT_EQ(call(first, acknowledgeCall(id, running)).status, 202);
  // An agent of the registry that never comes back.
  auto session = zooKeeper();
  ASSERT_TRUE(session);
  ASSERT_TRUE(
      session->create("/mesos/fake-registry/gone-S9", "", zookeeper::CreateMode::kPersistent).ok());

  failOver();
  EXPECT_TRUE(first.raw().waitEnd());
  ASSERT_TRUE(standby_->waitFor(
      [](const StateSnapshot& s) {
        auto* task = s.task("t1");
        return s.agents.size() == 1 && task != nullptr && task->state == "TASK_RUNNING";
      },
      kWait))
      << standby_->stateJson();
  auto recovered = post(base_ + "/master/frameworks", {}, "", "GET");
  EXPECT_THAT(recovered.body, HasSubstr(R"("recovered":true)"));

  v1::FrameworkInfo again = frameworkInfo(60);
  again.mutable_id()->set_value(id);
  auto& second = subscribe(again);
  EXPECT_EQ(subscribed(second), id);
  // Offers hold what the task and its executor leave: 4 - 1 - 0.1 CPUs.
  auto fresh = offers(second);
  ASSERT_EQ(fresh.size(), 1u);
  for (const auto& resource : fresh[0].resources()) {
    if (resource.name() == "cpus") {
      EXPECT_DOUBLE_EQ(resource.scalar().value(), 2.9);
    }
  }
  EXPECT_EQ(fresh[0].executor_ids_size(), 1);

  SchedulerCall reconcile = simpleCall(id, SchedulerCall::RECONCILE);
  for (const auto& [task, on] : std::vector<std::pair<std::string, std::string>>{
           {"t1", agent}, {"t-gone", "gone-S9"}, {"ghost", agent}}) {
    auto* entry = reconcile.mutable_reconcile()->add_tasks();
    entry->mutable_task_id()->set_value(task);
    entry->mutable_agent_id()->set_value(on);
  }
  ASSERT_EQ(call(second, reconcile).status, 202);
  v1::TaskStatus latest = update(second);
  EXPECT_EQ(latest.task_id().value(), "t1");
  EXPECT_EQ(latest.state(), v1::TASK_RUNNING);
  EXPECT_EQ(latest.message(), "Reconciliation: Latest task state");
  v1::TaskStatus ghost = update(second);
  EXPECT_EQ(ghost.task_id().value(), "ghost") << "no answer for a task of a recovering agent";
  EXPECT_EQ(ghost.state(), v1::TASK_LOST);

  // The kill goes through the new leader to the agent of the other process.
  SchedulerCall kill = simpleCall(id, SchedulerCall::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("t1");
  ASSERT_EQ(call(second, kill).status, 202);
  v1::TaskStatus killed = update(second);
  EXPECT_EQ(killed.task_id().value(), "t1");
  EXPECT_EQ(killed.state(), v1::TASK_KILLED);
  ASSERT_EQ(call(second, acknowledgeCall(id, killed)).status, 202);
  EXPECT_TRUE(agents_->waitFor([](const StateSnapshot& s) { return s.executors.empty(); }, kWait));
}

TEST_F(FakeMesosFailover, AnAgentThatDoesNotComeBackBecomesUnreachable) {
  auto session = zooKeeper();
  ASSERT_TRUE(session && session->ensurePath("/mesos/fake-registry/gone-S9").ok());
  FakeMesosConfig config = clusterConfig(true);
  config.agentReregisterTimeout = Duration(200);
  start(config);
  auto& stream = subscribe(frameworkInfo());
  std::string id = subscribed(stream);
  SchedulerCall reconcile = simpleCall(id, SchedulerCall::RECONCILE);
  auto* entry = reconcile.mutable_reconcile()->add_tasks();
  entry->mutable_task_id()->set_value("t-gone");
  entry->mutable_agent_id()->set_value("gone-S9");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_EQ(call(stream, reconcile).status, 202);
  v1::TaskStatus lost = update(stream);
  EXPECT_EQ(lost.task_id().value(), "t-gone");
  EXPECT_EQ(lost.state(), v1::TASK_LOST);
  EXPECT_EQ(lost.message(), "Reconciliation: Task is unreachable");
}

// With an in-memory registry (Mesos' --registry=in_memory) a new leader knows no
// agent: reconciling a task of one not registered yet is TASK_UNKNOWN for a
// PARTITION_AWARE framework, TASK_LOST for another (Master::_reconcileTasks,
// case 6). The agent registering later brings the task with an update,
// REASON_AGENT_REREGISTERED (Master::__reregisterSlave).
TEST_F(FakeMesosFailover, AnUnknownAgentsTasksAreUnknownUntilItRegistersWithThem) {
  FakeMesosConfig masterConfig = clusterConfig(true);
  masterConfig.inMemoryRegistry = true;
  FakeMesosConfig agentsConfig = clusterConfig(false);
  agentsConfig.failoverRegistrationDelay = Duration(1500);
  start(masterConfig);
  ASSERT_TRUE(leads(mesos_->endpoint(), mesos_->endpoint()));
  agents_ = startProcess(agentsConfig);  // the first leader: at once
  ASSERT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return s.agents.size() == 1; }, kWait));
  standby_ = startProcess(masterConfig);
  ASSERT_TRUE(leads(standby_->endpoint(), mesos_->endpoint()));
  v1::FrameworkInfo info = frameworkInfo(60);
  info.set_checkpoint(true);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::PARTITION_AWARE);
  SchedulerStream& first = runOneTask(info);
  ASSERT_FALSE(HasFatalFailure());
  std::string id = mesos_->state().frameworks.at(0).id;
  std::string agent = mesos_->state().agents.at(0).id;

  failOver();
  auto failedOver = std::chrono::steady_clock::now();
  EXPECT_TRUE(first.raw().waitEnd());
  v1::FrameworkInfo again = info;
  again.mutable_id()->set_value(id);
  auto& second = subscribe(again);
  ASSERT_EQ(subscribed(second), id);
  auto& other = subscribe(frameworkInfo());  // not PARTITION_AWARE
  std::string otherId = subscribed(other);
  auto reconcileT1 = [&](const std::string& frameworkId) {
    SchedulerCall reconcile = simpleCall(frameworkId, SchedulerCall::RECONCILE);
    auto* entry = reconcile.mutable_reconcile()->add_tasks();
    entry->mutable_task_id()->set_value("t1");
    entry->mutable_agent_id()->set_value(agent);
    return reconcile;
  };
  ASSERT_EQ(call(second, reconcileT1(id)).status, 202);
  v1::TaskStatus unknown = update(second);
  EXPECT_EQ(unknown.task_id().value(), "t1");
  EXPECT_EQ(unknown.state(), v1::TASK_UNKNOWN);
  EXPECT_EQ(unknown.reason(), v1::TaskStatus::REASON_RECONCILIATION);
  EXPECT_EQ(unknown.message(), "Reconciliation: Task is unknown");
  ASSERT_EQ(call(other, reconcileT1(otherId)).status, 202);
  v1::TaskStatus lost = update(other);
  EXPECT_EQ(lost.state(), v1::TASK_LOST);
  EXPECT_EQ(lost.message(), "Reconciliation: Task is unknown");

  // The agent registers with the new leader after its delay, with the task.
  v1::TaskStatus back = update(second);
  EXPECT_GE(std::chrono::steady_clock::now() - failedOver, Duration(1000));
  EXPECT_EQ(back.task_id().value(), "t1");
  EXPECT_EQ(back.state(), v1::TASK_RUNNING);
  EXPECT_EQ(back.source(), v1::TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(back.reason(), v1::TaskStatus::REASON_AGENT_REREGISTERED);
  EXPECT_EQ(back.message(), "Unknown agent reregistered");
  EXPECT_EQ(back.agent_id().value(), agent);
  EXPECT_FALSE(back.has_uuid());
  ASSERT_EQ(call(second, reconcileT1(id)).status, 202);
  EXPECT_EQ(update(second).state(), v1::TASK_RUNNING);
}

// The master's TASK_LOST for a task of a framework that does not checkpoint,
// when its agent disconnected (Master::exited, removeFramework(slave, framework)).
void expectLostWithDisconnectedAgent(const v1::TaskStatus& lost, const std::string& taskId,
                                     const std::string& executorId) {
  EXPECT_EQ(lost.task_id().value(), taskId);
  EXPECT_EQ(lost.state(), v1::TASK_LOST);
  EXPECT_EQ(lost.source(), v1::TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(lost.reason(), v1::TaskStatus::REASON_AGENT_DISCONNECTED);
  EXPECT_EQ(lost.message(), "Agent 127.0.0.1 disconnected");
  EXPECT_EQ(lost.executor_id().value(), executorId);
  EXPECT_FALSE(lost.has_uuid()) << "the master's own update is not acknowledged";
}

TEST_F(FakeMesosFailover, AnAgentsProcessThatGoesIsDisconnectedAndTasksOfNoCheckpointAreLost) {
  startCluster();
  SchedulerStream& stream = runOneTask(frameworkInfo());  // checkpoint unset
  ASSERT_FALSE(HasFatalFailure());

  agents_->stop();  // its connection to the master closes with it
  expectLostWithDisconnectedAgent(update(stream), "t1", "exec-1");
  auto state = mesos_->state();
  ASSERT_EQ(state.agents.size(), 1u);
  EXPECT_FALSE(state.agents[0].connected);
  EXPECT_FALSE(state.agents[0].lost);
  EXPECT_TRUE(state.offers.empty());
}

TEST_F(FakeMesosFailover, ACheckpointingFrameworksTasksWaitForTheAgentUntilItsReregisterTimeout) {
  FakeMesosConfig config = clusterConfig(true);
  config.agentReregisterTimeout = Duration(300);
  start(config);
  ASSERT_TRUE(leads(mesos_->endpoint(), mesos_->endpoint()));
  agents_ = startProcess(clusterConfig(false));
  ASSERT_TRUE(mesos_->waitFor([](const StateSnapshot& s) { return s.agents.size() == 1; }, kWait));
  v1::FrameworkInfo info = frameworkInfo();
  info.set_checkpoint(true);
  SchedulerStream& stream = runOneTask(info);
  ASSERT_FALSE(HasFatalFailure());

  auto gone = std::chrono::steady_clock::now();
  agents_->stop();
  v1::TaskStatus lost = update(stream);
  EXPECT_GE(std::chrono::steady_clock::now() - gone, Duration(300))
      << "a checkpointing framework's task waits for its agent";
  EXPECT_EQ(lost.task_id().value(), "t1");
  EXPECT_EQ(lost.state(), v1::TASK_LOST);
  EXPECT_EQ(lost.reason(), v1::TaskStatus::REASON_AGENT_REMOVED);
  EXPECT_EQ(lost.message(), "agent did not reregister within 300ms after disconnecting");
  EXPECT_TRUE(mesos_->state().agents[0].lost);
}

// --- Agent restarts ---------------------------------------------------------------------

TEST(FakeMesosAgentCheckpoint, WritesReadsAndNamesWhatItCannotRead) {
  test::TempDir dir;
  AgentCheckpoint checkpoint(dir.str() + "/meta/slave(1)");
  auto empty = checkpoint.read();
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_FALSE(empty->agent.has_value());

  v1::AgentInfo agent;
  agent.set_hostname("127.0.0.1");
  agent.mutable_id()->set_value("M-S0");
  ASSERT_TRUE(checkpoint.writeAgent(agent).ok());
  v1::FrameworkInfo framework = frameworkInfo();
  framework.mutable_id()->set_value("M-0000");
  framework.set_checkpoint(true);
  ASSERT_TRUE(checkpoint.writeFramework(framework).ok());
  checkpoint::Task task;
  *task.mutable_info() = makeTask("t1", "M-S0", 1, 64);
  task.set_executor_id("exec-1");
  task.set_state(v1::TASK_RUNNING);
  task.add_received_uuids("u1");
  ASSERT_TRUE(checkpoint.writeTask("M-0000", task).ok());
  checkpoint::Container container;
  container.set_container_id("c1");
  container.set_framework_id("M-0000");
  container.set_executor_id("exec-1");
  container.set_pid(4242);
  ASSERT_TRUE(checkpoint.writeContainer(container).ok());

  auto read = checkpoint.read();
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read->agent.has_value());
  EXPECT_EQ(read->agent->id().value(), "M-S0");
  ASSERT_EQ(read->frameworks.count("M-0000"), 1u);
  EXPECT_TRUE(read->frameworks["M-0000"].info.checkpoint());
  ASSERT_EQ(read->frameworks["M-0000"].tasks.count("t1"), 1u);
  EXPECT_EQ(read->frameworks["M-0000"].tasks["t1"].state(), v1::TASK_RUNNING);
  EXPECT_EQ(read->containers["c1"].pid(), 4242);

  checkpoint.removeTask("M-0000", "t1");
  EXPECT_TRUE(checkpoint.read()->frameworks["M-0000"].tasks.empty());
  dir.write("meta/slave(1)/containers/c2", "not a protobuf \xff\xff");
  auto bad = checkpoint.read();
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("meta/slave(1)/containers/c2"));
  checkpoint.removeAll();
  EXPECT_FALSE(std::filesystem::exists(checkpoint.dir()));
}

TEST(FakeMesosProcessRuntime, TakesOverAProcessOfAnEarlierAgentAndWatchesItsPid) {
  test::ManualEventLoop loop;
  RecordingLauncher launcher;
  ProcessExecutorRuntime runtime(loop, launcher);
  // A process this runtime did not start, in a process group of its own, as
  // an executor the agent's previous process launched.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  auto started = processStartTime(pid);
  ASSERT_TRUE(started.has_value());
  checkpoint::Container container;
  container.set_container_id("c1");
  container.set_framework_id("M-0000");
  container.set_executor_id("exec-1");
  container.set_pid(pid);
  container.set_start_time(*started);

  checkpoint::Container reused = container;
  reused.set_start_time(*started + 1);
  EXPECT_FALSE(runtime.recover(reused, [](int) {})) << "a reused pid is another process";
  std::optional<int> ended;
  ASSERT_TRUE(runtime.recover(container, [&](int status) { ended = status; }));
  loop.advance(ProcessExecutorRuntime::kAdoptedPollInterval);
  EXPECT_FALSE(ended.has_value());

  runtime.destroy("c1");
  ::waitpid(pid, nullptr, 0);
  loop.advance(ProcessExecutorRuntime::kAdoptedPollInterval);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(*ended, -1) << "not a child: how it ended is unknown";
  EXPECT_TRUE(launcher.signalled.empty()) << "it was not the launcher's";
  EXPECT_FALSE(runtime.recover(container, [](int) {})) << "gone";
}

// One agent whose executors the test plays over HTTP (ExecutorMode::kExternal,
// so they outlive the agent like processes do), restarted in process.
class FakeMesosAgentRestart : public FakeMesosCluster {
 protected:
  static constexpr Duration kReregistration{500};

  FakeMesosConfig restartConfig() {
    FakeMesosConfig config = baseConfig();
    config.executorMode = ExecutorMode::kExternal;
    config.workDir = workDir_.str();
    config.executorReregistrationTimeout = kReregistration;
    return config;
  }

  static v1::FrameworkInfo checkpointing(bool checkpoint) {
    v1::FrameworkInfo info = frameworkInfo();
    info.set_checkpoint(checkpoint);
    return info;
  }

  // An update as an executor makes it: a fresh uuid, SOURCE_EXECUTOR.
  static v1::TaskStatus executorStatus(const std::string& taskId, v1::TaskState state) {
    v1::TaskStatus status;
    status.mutable_task_id()->set_value(taskId);
    status.set_state(state);
    status.set_source(v1::TaskStatus::SOURCE_EXECUTOR);
    status.set_uuid(IdGenerator(IdSeed{}).randomUuidBytes());
    return status;
  }

  ExecutorCall executorCall(const std::string& executorId, ExecutorCall::Type type) {
    ExecutorCall call;
    call.mutable_framework_id()->set_value(frameworkId_);
    call.mutable_executor_id()->set_value(executorId);
    call.set_type(type);
    return call;
  }

  // SUBSCRIBE as `executorId`, with what it has not seen acknowledged.
  ExecutorStream& subscribeExecutor(const std::string& executorId,
                                    const std::vector<v1::TaskInfo>& tasks = {},
                                    const std::vector<v1::TaskStatus>& updates = {}) {
    ExecutorCall subscribe = executorCall(executorId, ExecutorCall::SUBSCRIBE);
    subscribe.mutable_subscribe();
    for (const auto& task : tasks)
      *subscribe.mutable_subscribe()->add_unacknowledged_tasks() = task;
    for (const auto& status : updates) {
      *subscribe.mutable_subscribe()->add_unacknowledged_updates()->mutable_status() = status;
    }
    executors_.push_back(std::make_unique<ExecutorStream>(
        base_ + "/slave(1)/api/v1/executor",
        std::vector<std::pair<std::string, std::string>>{
            {"Content-Type", typeHeader(ContentType::kProtobuf)},
            {"Accept", typeHeader(ContentType::kProtobuf)}},
        encoded(subscribe, ContentType::kProtobuf), ContentType::kProtobuf));
    return *executors_.back();
  }

  Answer sendUpdate(const std::string& executorId, const v1::TaskStatus& status) {
    ExecutorCall update = executorCall(executorId, ExecutorCall::UPDATE);
    *update.mutable_update()->mutable_status() = status;
    return post(base_ + "/slave(1)/api/v1/executor",
                {{"Content-Type", typeHeader(ContentType::kProtobuf)}},
                encoded(update, ContentType::kProtobuf));
  }

  // Subscribes the framework, launches one task per executor on the agent and
  // has each executor whose task is in `running` subscribe and report it
  // TASK_RUNNING (acknowledged). Returns the scheduler's stream.
  SchedulerStream& launch(bool checkpoint, const std::vector<std::string>& taskIds,
                          const std::set<std::string>& running) {
    SchedulerStream& stream = subscribe(checkpointing(checkpoint));
    frameworkId_ = subscribed(stream);
    auto made = offers(stream);
    EXPECT_EQ(made.size(), 1u);
    if (made.empty()) return stream;
    agentId_ = made[0].agent_id().value();
    std::vector<v1::TaskInfo> tasks;
    for (const auto& taskId : taskIds) {
      tasks.push_back(makeTask(taskId, agentId_, 0.5, 64, "exec-" + taskId));
    }
    EXPECT_EQ(call(stream, acceptCall(frameworkId_, {made[0].id().value()}, tasks)).status, 202);
    for (const auto& taskId : running) {
      ExecutorStream& executor = subscribeExecutor("exec-" + taskId);
      EXPECT_EQ(executor.status(), 200);
      auto launched = executor.nextOf(ExecutorEvent::LAUNCH);
      EXPECT_TRUE(launched && launched->launch().task().task_id().value() == taskId);
      EXPECT_EQ(sendUpdate("exec-" + taskId, executorStatus(taskId, v1::TASK_RUNNING)).status, 202);
      EXPECT_TRUE(executor.nextOf(ExecutorEvent::ACKNOWLEDGED).has_value());
      streams_[taskId] = &executor;
    }
    for (size_t i = 0; i < running.size(); ++i) {
      v1::TaskStatus status = update(stream);
      EXPECT_EQ(status.state(), v1::TASK_RUNNING);
      call(stream, acknowledgeCall(frameworkId_, status));
    }
    return stream;
  }

  bool agentConnected() {
    auto state = mesos_->state();
    return !state.agents.empty() && state.agents[0].connected;
  }

  test::TempDir workDir_;
  std::string frameworkId_;
  std::string agentId_;
  std::map<std::string, ExecutorStream*> streams_;  // of the executors that ran, by task
};

TEST_F(FakeMesosAgentRestart, CheckpointedExecutorsSubscribeAgainAndTheRestAreLost) {
  start(restartConfig());
  // t1 and t3 run; exec-t2 never subscribed, so t2 is still STAGING.
  SchedulerStream& stream = launch(true, {"t1", "t2", "t3"}, {"t1", "t3"});
  ASSERT_FALSE(HasFatalFailure());

  auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(mesos_->restartAgent(agentId_).ok());
  EXPECT_TRUE(streams_["t1"]->raw().waitEnd()) << "the dead agent's stream ends";
  EXPECT_FALSE(agentConnected());

  // While the agent recovers: SUBSCRIBE yes, UPDATE no.
  v1::TaskStatus finished = executorStatus("t1", v1::TASK_FINISHED);
  Answer early = sendUpdate("exec-t1", finished);
  EXPECT_EQ(early.status, 503);
  EXPECT_EQ(early.body, "Agent has not finished recovery");
  ExecutorStream& again = subscribeExecutor("exec-t1", {}, {finished});
  ASSERT_EQ(again.status(), 200);
  auto subscribed = again.nextOf(ExecutorEvent::SUBSCRIBED);
  ASSERT_TRUE(subscribed.has_value());
  EXPECT_EQ(subscribed->subscribed().agent_info().id().value(), agentId_) << "the same agent";
  auto acknowledged = again.nextOf(ExecutorEvent::ACKNOWLEDGED);
  ASSERT_TRUE(acknowledged.has_value());
  EXPECT_EQ(acknowledged->acknowledged().uuid(), finished.uuid());
  // exec-t2 comes back without t2: it never got it.
  ExecutorStream& never = subscribeExecutor("exec-t2");
  ASSERT_EQ(never.status(), 200);
  ASSERT_TRUE(never.nextOf(ExecutorEvent::SUBSCRIBED).has_value());
  EXPECT_FALSE(never.nextOf(ExecutorEvent::LAUNCH, Duration(200)).has_value())
      << "a recovered task is not launched again";
  // exec-t3 does not come back.

  std::map<std::string, v1::TaskStatus> statuses;
  for (int i = 0; i < 3; ++i) {
    v1::TaskStatus status = update(stream);
    if (i == 0) {
      EXPECT_GE(std::chrono::steady_clock::now() - restarted, kReregistration)
          << "updates wait until the agent has recovered";
      EXPECT_TRUE(agentConnected());
    }
    statuses[status.task_id().value()] = status;
    call(stream, acknowledgeCall(frameworkId_, status));
  }
  EXPECT_EQ(statuses["t1"].state(), v1::TASK_FINISHED);
  EXPECT_EQ(statuses["t1"].uuid(), finished.uuid());
  EXPECT_EQ(statuses["t2"].state(), v1::TASK_LOST);
  EXPECT_EQ(statuses["t2"].source(), v1::TaskStatus::SOURCE_AGENT);
  EXPECT_EQ(statuses["t2"].reason(), v1::TaskStatus::REASON_AGENT_RESTARTED);
  EXPECT_EQ(statuses["t2"].message(), "Task launched during agent restart");
  EXPECT_EQ(statuses["t3"].state(), v1::TASK_LOST);
  EXPECT_EQ(statuses["t3"].source(), v1::TaskStatus::SOURCE_AGENT);
  EXPECT_EQ(statuses["t3"].reason(), v1::TaskStatus::REASON_EXECUTOR_REREGISTRATION_TIMEOUT);
  EXPECT_EQ(statuses["t3"].message(), "Executor did not reregister within 500ms");
  ASSERT_TRUE(mesos_->waitFor(
      [](const StateSnapshot& s) {
        return s.task("t1") && s.task("t1")->completed && s.task("t3") && s.task("t3")->completed;
      },
      kWait));
  EXPECT_EQ(mesos_->state().executorOfTask("t3"), nullptr) << "exec-t3 was destroyed";
}

TEST_F(FakeMesosAgentRestart, AKillWhileTheAgentIsAwayIsSentOnceItIsBack) {
  start(restartConfig());
  SchedulerStream& stream = launch(true, {"t1"}, {"t1"});
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(mesos_->restartAgent(agentId_).ok());
  SchedulerCall kill = simpleCall(frameworkId_, SchedulerCall::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("t1");
  ASSERT_EQ(call(stream, kill).status, 202);

  ExecutorStream& again = subscribeExecutor("exec-t1");
  ASSERT_EQ(again.status(), 200);
  ASSERT_TRUE(again.nextOf(ExecutorEvent::SUBSCRIBED).has_value());
  auto killed = again.nextOf(ExecutorEvent::KILL);
  ASSERT_TRUE(killed.has_value()) << "the kill reaches the executor once the agent registered";
  EXPECT_EQ(killed->kill().task_id().value(), "t1");
  EXPECT_TRUE(agentConnected());
}

TEST_F(FakeMesosAgentRestart, WithoutCheckpointingTasksAreLostAndExecutorsNotRecovered) {
  start(restartConfig());
  SchedulerStream& stream = launch(false, {"t1"}, {"t1"});
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(mesos_->restartAgent(agentId_).ok());

  // At once: Mesos' master removes a framework that does not checkpoint from
  // an agent that disconnected.
  expectLostWithDisconnectedAgent(update(stream), "t1", "exec-t1");

  // The new agent knows nothing of it: the executor cannot come back.
  EXPECT_TRUE(streams_["t1"]->raw().waitEnd());
  ExecutorStream& again = subscribeExecutor("exec-t1");
  EXPECT_EQ(again.status(), 400);
  EXPECT_EQ(again.raw().body(), "Framework cannot be found");

  // Nothing to wait for: the agent is back at once, all of it offered.
  ASSERT_TRUE(mesos_->waitFor(
      [](const StateSnapshot& s) {
        return s.agents.size() == 1 && s.agents[0].connected && s.offers.size() == 1 &&
               s.offers[0].resourcesJson == s.agents[0].resourcesJson;
      },
      kWait))
      << mesos_->stateJson();
}

TEST_F(FakeMesosAgentRestart, RefusesTheCheckpointOfAnotherAgent) {
  v1::AgentInfo other;
  other.set_hostname("127.0.0.1");
  other.set_port(1);
  other.mutable_id()->set_value("old-S0");
  ASSERT_TRUE(AgentCheckpoint(Agent::checkpointDir(workDir_.str(), 1)).writeAgent(other).ok());
  FakeMesos mesos(restartConfig());
  auto port = mesos.start();
  ASSERT_FALSE(port.ok());
  EXPECT_THAT(port.error().message,
              HasSubstr("agent old-S0 in " + workDir_.str() + "/meta/slave(1)"));
  EXPECT_THAT(port.error().message, HasSubstr("start it with the same --port and --agent"));
}

}  // namespace
}  // namespace tailor::fake_mesos
