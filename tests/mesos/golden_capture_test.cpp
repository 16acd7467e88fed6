// Decodes every byte captured from a real Mesos 1.12 master and agent
// (shared/reference/mesos-wire, see its README.md) with Tailor's protos and
// codec, and checks the values against what the capture says happened.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesos/codec.hpp"
#include "mesos/recordio.hpp"

#ifndef TAILOR_MESOS_WIRE_DIR
#error "TAILOR_MESOS_WIRE_DIR must name the capture directory (shared/reference/mesos-wire)"
#endif

namespace tailor::mesos {
namespace {

namespace v1 = ::mesos::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// --- Reading the captures ---------------------------------------------------

std::filesystem::path captureDir() { return std::filesystem::path(TAILOR_MESOS_WIRE_DIR); }

// The file's bytes. A missing file fails the test (the captures are part of the repository).
std::string readCapture(std::string_view relative) {
  std::filesystem::path path = captureDir() / relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing capture file " << path;
    return {};
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Every record of a RecordIO file, which must end on a record boundary.
std::vector<std::string> readRecords(std::string_view relative) {
  RecordIoDecoder decoder;
  std::vector<std::string> records;
  Status fed = decoder.feed(readCapture(relative));
  EXPECT_TRUE(fed.ok()) << relative << ": " << fed.error().message;
  Status finished = decoder.finish();
  EXPECT_TRUE(finished.ok()) << relative << ": " << finished.error().message;
  while (auto record = decoder.next()) records.push_back(std::move(*record));
  return records;
}

// Strict decoding: anything the protos cannot represent fails the test.
std::vector<SchedulerEvent> readSchedulerEvents(std::string_view relative, ContentType type) {
  std::vector<SchedulerEvent> events;
  for (const std::string& record : readRecords(relative)) {
    auto event = decodeSchedulerEvent(record, type, UnknownFields::kReject);
    EXPECT_TRUE(event.ok()) << relative << " record " << events.size() << ": "
                            << event.error().message;
    events.push_back(event.ok() ? *event : SchedulerEvent());
  }
  return events;
}

// The one field of the captures that Mesos' v1 protos do not define either: the
// agent builds the executor's SUBSCRIBED from its internal v0 SlaveInfo, whose
// deprecated `checkpoint = 7` (bool, here true) survives in protobuf as an
// unknown field of AgentInfo. Mesos' JSON printer drops it. Removes it and
// fails the test if it is not exactly that.
void removeV0AgentCheckpoint(ExecutorEvent& event) {
  if (!event.has_subscribed()) return;
  v1::AgentInfo* agent = event.mutable_subscribed()->mutable_agent_info();
  google::protobuf::UnknownFieldSet* unknown = agent->GetReflection()->MutableUnknownFields(agent);
  if (unknown->empty()) return;
  ASSERT_EQ(unknown->field_count(), 1);
  EXPECT_EQ(unknown->field(0).number(), 7);
  ASSERT_EQ(unknown->field(0).type(), google::protobuf::UnknownField::TYPE_VARINT);
  EXPECT_EQ(unknown->field(0).varint(), 1u);
  unknown->Clear();
}

std::vector<ExecutorEvent> readExecutorEvents(std::string_view relative, ContentType type) {
  std::vector<ExecutorEvent> events;
  for (const std::string& record : readRecords(relative)) {
    SCOPED_TRACE(::testing::Message() << relative << " record " << events.size());
    auto event = decodeExecutorEvent(record, type, UnknownFields::kIgnore);
    EXPECT_TRUE(event.ok()) << event.error().message;
    if (!event.ok()) {
      events.emplace_back();
      continue;
    }
    removeV0AgentCheckpoint(*event);
    // Strict: apart from that field, everything is known.
    std::string rest = type == ContentType::kJson ? record : event->SerializeAsString();
    auto strict = decodeExecutorEvent(rest, type, UnknownFields::kReject);
    EXPECT_TRUE(strict.ok()) << strict.error().message;
    events.push_back(*event);
  }
  return events;
}

SchedulerCall readSchedulerCall(std::string_view relative, ContentType type) {
  auto call = decodeSchedulerCall(readCapture(relative), type, UnknownFields::kReject);
  EXPECT_TRUE(call.ok()) << relative << ": " << call.error().message;
  return call.ok() ? *call : SchedulerCall();
}

ExecutorCall readExecutorCall(std::string_view relative, ContentType type) {
  auto call = decodeExecutorCall(readCapture(relative), type, UnknownFields::kReject);
  EXPECT_TRUE(call.ok()) << relative << ": " << call.error().message;
  return call.ok() ? *call : ExecutorCall();
}

// The EVENT lines of an exchange.log, in order.
std::vector<std::string> loggedEventLines(std::string_view relative) {
  std::vector<std::string> lines;
  std::istringstream log(readCapture(relative));
  for (std::string line; std::getline(log, line);) {
    if (line.find("EVENT ") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

std::string loggedType(const std::string& line) {
  static constexpr std::string_view kKey = R"("type": ")";
  auto start = line.find(kKey);
  if (start == std::string::npos) return {};
  start += kKey.size();
  return line.substr(start, line.find('"', start) - start);
}

// --- Small helpers ----------------------------------------------------------

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

// RFC 4122 version 4, variant 10xx.
bool isVersion4Uuid(const std::string& bytes) {
  return bytes.size() == 16 && (static_cast<unsigned char>(bytes[6]) >> 4) == 4 &&
         (static_cast<unsigned char>(bytes[8]) & 0xc0) == 0x80;
}

// Resource.role is deprecated in Mesos (the pre-refinement format), but it is
// what frameworks without RESERVATION_REFINEMENT are offered.
std::string roleOf(const v1::Resource& resource) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return resource.has_role() ? resource.role() : "<unset>";
#pragma GCC diagnostic pop
}

template <typename M>
std::string differences(const M& actual, const M& expected) {
  std::string report;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&report);
  differencer.Compare(actual, expected);
  return report;
}

std::vector<std::string> namesOf(
    const google::protobuf::RepeatedPtrField<v1::Resource>& resources) {
  std::vector<std::string> names;
  for (const v1::Resource& resource : resources) names.push_back(resource.name());
  return names;
}

void expectScalar(const v1::Resource& resource, std::string_view name, double value) {
  EXPECT_EQ(resource.name(), name);
  EXPECT_EQ(resource.type(), v1::Value::SCALAR) << name;
  EXPECT_EQ(resource.scalar().value(), value) << name;
}

void expectPorts(const v1::Resource& resource, std::uint64_t begin, std::uint64_t end) {
  EXPECT_EQ(resource.name(), "ports");
  EXPECT_EQ(resource.type(), v1::Value::RANGES);
  ASSERT_EQ(resource.ranges().range_size(), 1);
  EXPECT_EQ(resource.ranges().range(0).begin(), begin);
  EXPECT_EQ(resource.ranges().range(0).end(), end);
}

// Offered resources, as the MULTI_ROLE framework of the captures gets them:
// pre-refinement `role` and the allocation role, both "*".
void expectOfferedRole(const v1::Resource& resource) {
  EXPECT_EQ(roleOf(resource), "*") << resource.name();
  EXPECT_EQ(resource.allocation_info().role(), "*") << resource.name();
  EXPECT_FALSE(resource.has_reservation()) << resource.name();
  EXPECT_EQ(resource.reservations_size(), 0) << resource.name();
}

// Resources of launched tasks and executors: the allocation role only.
void expectLaunchedRole(const v1::Resource& resource) {
  EXPECT_EQ(roleOf(resource), "<unset>") << resource.name();
  EXPECT_EQ(resource.allocation_info().role(), "*") << resource.name();
}

// --- The two recorded conversations -----------------------------------------

constexpr std::string_view kMasterId = "8069ef52-89c3-4686-b446-decadf88634d";
const std::string kAgentId = fmt::format("{}-S0", kMasterId);

// What differs between the json/ and protobuf/ runs of the same conversation.
struct Conversation {
  std::string dir;
  ContentType type;
  std::string frameworkId;
  std::string firstOfferId;
  std::string secondOfferId;
  std::string containerId;
  std::uint32_t executorPid;
  std::string executorCommand;
  // Of the TASK_STARTING, TASK_RUNNING and TASK_FINISHED updates, as logged.
  std::array<std::string, 3> uuids;
  std::array<double, 3> timestamps;
  double reconciliationTimestamp;
};

Conversation jsonConversation() {
  return Conversation{
      "json",
      ContentType::kJson,
      fmt::format("{}-0004", kMasterId),
      fmt::format("{}-O18", kMasterId),
      fmt::format("{}-O19", kMasterId),
      "32c69fcb-b75a-432f-8127-f6b094195621",
      6608,
      "CAPTURE_OUT=/tmp/capture-json/executor ENCODING=json capture-executor",
      {"PrSdx+CdTCG4bPLBvjykJw==", "hxy9vPCzRQ2mem2F3hn7YQ==", "Jy1pGxo8TaimAQgpN+1qfA=="},
      {1795254696.5489616, 1795254696.553091, 1795254697.5650768},
      1795254697.588918,
  };
}

Conversation protobufConversation() {
  return Conversation{
      "protobuf",
      ContentType::kProtobuf,
      fmt::format("{}-0005", kMasterId),
      fmt::format("{}-O20", kMasterId),
      fmt::format("{}-O21", kMasterId),
      "519b67d9-57d0-47a7-8fc4-c7248d20a977",
      6629,
      "CAPTURE_OUT=/tmp/capture-protobuf/executor ENCODING=protobuf capture-executor",
      {"B20japBSSdCei9ZDN6AqVg==", "ivy9Cyy2QK6bU10nmR4o9Q==", "+6pd3SI4SzeVnNok6Zc61A=="},
      {1795254700.8905773, 1795254700.894591, 1795254701.9077814},
      1795254701.936508,
  };
}

std::string path(const Conversation& conversation, std::string_view file) {
  return fmt::format("{}/{}", conversation.dir, file);
}

constexpr std::array<v1::TaskState, 3> kExecutorStates = {v1::TASK_STARTING, v1::TASK_RUNNING,
                                                          v1::TASK_FINISHED};

const std::vector<std::string> kSchedulerCallFiles = {
    "call-subscribe.bin",     "call-accept-launch.bin", "call-acknowledge-0.bin",
    "call-acknowledge-1.bin", "call-acknowledge-2.bin", "call-reconcile.bin",
    "call-suppress.bin",      "call-revive.bin",        "call-teardown.bin",
};

const std::vector<std::string> kExecutorCallFiles = {
    "executor/call-subscribe.bin",
    "executor/call-update-0.bin",
    "executor/call-update-1.bin",
    "executor/call-update-2.bin",
};

// --- Checks shared by both encodings ----------------------------------------

void expectSubscribed(const SchedulerEvent& event, const std::string& frameworkId) {
  ASSERT_EQ(event.type(), SchedulerEvent::SUBSCRIBED);
  const SchedulerEvent::Subscribed& subscribed = event.subscribed();
  EXPECT_EQ(subscribed.framework_id().value(), frameworkId);
  EXPECT_EQ(subscribed.heartbeat_interval_seconds(), 15.0);
  const v1::MasterInfo& master = subscribed.master_info();
  EXPECT_EQ(master.id(), kMasterId);
  EXPECT_EQ(master.ip(), 16777343u);  // 127.0.0.1 packed in network byte order
  EXPECT_TRUE(master.has_port());
  EXPECT_EQ(master.port(), 5050u);
  EXPECT_EQ(master.pid(), "master@127.0.0.1:5050");
  EXPECT_EQ(master.hostname(), "127.0.0.1");
  EXPECT_EQ(master.version(), "1.12.0");
  EXPECT_EQ(master.address().hostname(), "127.0.0.1");
  EXPECT_EQ(master.address().ip(), "127.0.0.1");
  EXPECT_EQ(master.address().port(), 5050);
  ASSERT_EQ(master.capabilities_size(), 3);
  EXPECT_EQ(master.capabilities(0).type(), v1::MasterInfo::Capability::AGENT_UPDATE);
  EXPECT_EQ(master.capabilities(1).type(), v1::MasterInfo::Capability::AGENT_DRAINING);
  EXPECT_EQ(master.capabilities(2).type(), v1::MasterInfo::Capability::QUOTA_V2);
}

void expectHeartbeat(const SchedulerEvent& event) {
  EXPECT_EQ(event.type(), SchedulerEvent::HEARTBEAT);
  EXPECT_EQ(event.ByteSizeLong(), 2u);  // the type and nothing else
}

// One offer of the whole agent (cpus:4;mem:8192;disk:20000;ports:[31000-32000])
// minus what is still in use.
void expectOffer(const SchedulerEvent& event, const std::string& frameworkId,
                 const std::string& offerId, double cpus, double mem,
                 const std::vector<std::string>& executorIds) {
  ASSERT_EQ(event.type(), SchedulerEvent::OFFERS);
  ASSERT_EQ(event.offers().offers_size(), 1);
  const v1::Offer& offer = event.offers().offers(0);
  EXPECT_EQ(offer.id().value(), offerId);
  EXPECT_EQ(offer.framework_id().value(), frameworkId);
  EXPECT_EQ(offer.agent_id().value(), kAgentId);
  EXPECT_EQ(offer.hostname(), "127.0.0.1");
  EXPECT_EQ(offer.url().scheme(), "http");
  EXPECT_EQ(offer.url().address().hostname(), "127.0.0.1");
  EXPECT_EQ(offer.url().address().ip(), "127.0.0.1");
  EXPECT_EQ(offer.url().address().port(), 5051);
  EXPECT_EQ(offer.url().path(), "/slave(1)");
  EXPECT_EQ(offer.allocation_info().role(), "*");
  EXPECT_EQ(offer.attributes_size(), 0);
  EXPECT_FALSE(offer.has_unavailability());
  EXPECT_FALSE(offer.has_domain());
  std::vector<std::string> ids;
  for (const v1::ExecutorID& id : offer.executor_ids()) ids.push_back(id.value());
  EXPECT_EQ(ids, executorIds);
  ASSERT_THAT(namesOf(offer.resources()), ElementsAre("ports", "cpus", "mem", "disk"));
  expectPorts(offer.resources(0), 31000, 32000);
  expectScalar(offer.resources(1), "cpus", cpus);
  expectScalar(offer.resources(2), "mem", mem);
  expectScalar(offer.resources(3), "disk", 20000);
  for (const v1::Resource& resource : offer.resources()) expectOfferedRole(resource);
}

// An update the executor sent: reliable (uuid), with the agent's container_status.
void expectExecutorUpdate(const SchedulerEvent& event, const Conversation& conversation,
                          int index) {
  ASSERT_EQ(event.type(), SchedulerEvent::UPDATE);
  const v1::TaskStatus& status = event.update().status();
  EXPECT_EQ(status.task_id().value(), "task-1");
  EXPECT_EQ(status.state(), kExecutorStates[index]);
  EXPECT_EQ(status.message(), "capture " + v1::TaskState_Name(kExecutorStates[index]));
  EXPECT_EQ(status.source(), v1::TaskStatus::SOURCE_EXECUTOR);
  EXPECT_FALSE(status.has_reason());
  EXPECT_EQ(status.agent_id().value(), kAgentId);
  EXPECT_EQ(status.executor_id().value(), "exec-1");
  EXPECT_EQ(status.timestamp(), conversation.timestamps[index]);
  ASSERT_TRUE(status.has_uuid());
  EXPECT_EQ(base64(status.uuid()), conversation.uuids[index]);
  EXPECT_TRUE(isVersion4Uuid(status.uuid()));
  EXPECT_FALSE(status.has_data());
  const v1::ContainerStatus& container = status.container_status();
  EXPECT_EQ(container.container_id().value(), conversation.containerId);
  EXPECT_FALSE(container.container_id().has_parent());
  EXPECT_EQ(container.executor_pid(), conversation.executorPid);
  ASSERT_EQ(container.network_infos_size(), 1);
  ASSERT_EQ(container.network_infos(0).ip_addresses_size(), 1);
  const v1::NetworkInfo::IPAddress& ip = container.network_infos(0).ip_addresses(0);
  EXPECT_EQ(ip.ip_address(), "127.0.0.1");
  // Mesos' JSON prints the default; its protobuf leaves it out.
  EXPECT_EQ(ip.has_protocol(), conversation.type == ContentType::kJson);
  EXPECT_EQ(ip.protocol(), v1::NetworkInfo::IPv4);
}

// What the master answers itself: no uuid (nothing to acknowledge), no container_status.
void expectMasterUpdate(const SchedulerEvent& event, std::string_view taskId, v1::TaskState state,
                        v1::TaskStatus::Reason reason, std::string_view message, double timestamp) {
  ASSERT_EQ(event.type(), SchedulerEvent::UPDATE);
  const v1::TaskStatus& status = event.update().status();
  EXPECT_EQ(status.task_id().value(), taskId);
  EXPECT_EQ(status.state(), state);
  EXPECT_EQ(status.source(), v1::TaskStatus::SOURCE_MASTER);
  EXPECT_EQ(status.reason(), reason);
  EXPECT_EQ(status.message(), message);
  EXPECT_EQ(status.agent_id().value(), kAgentId);
  EXPECT_EQ(status.timestamp(), timestamp);
  EXPECT_FALSE(status.has_uuid());
  EXPECT_FALSE(status.has_executor_id());
  EXPECT_FALSE(status.has_container_status());
}

void expectSchedulerStream(const Conversation& conversation) {
  std::vector<SchedulerEvent> events =
      readSchedulerEvents(path(conversation, "scheduler-stream.recordio"), conversation.type);
  ASSERT_EQ(events.size(), 8u);
  expectSubscribed(events[0], conversation.frameworkId);
  expectHeartbeat(events[1]);
  expectOffer(events[2], conversation.frameworkId, conversation.firstOfferId, 4, 8192, {});
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(v1::TaskState_Name(kExecutorStates[i]));
    expectExecutorUpdate(events[3 + i], conversation, i);
  }
  // The task finished and was acknowledged: explicit reconciliation says LOST, not FINISHED.
  expectMasterUpdate(events[6], "task-1", v1::TASK_LOST, v1::TaskStatus::REASON_RECONCILIATION,
                     "Reconciliation: Task is unknown to the agent",
                     conversation.reconciliationTimestamp);
  // After the revive: the executor (cpus 0.1, mem 32) still runs on the agent.
  expectOffer(events[7], conversation.frameworkId, conversation.secondOfferId, 3.9, 8160,
              {"exec-1"});

  // exchange.log lists the events it saw, in order, with the uuid where there is one.
  std::vector<std::string> logged = loggedEventLines(path(conversation, "exchange.log"));
  ASSERT_EQ(logged.size(), 7u);  // the last OFFERS arrived after the log's end
  for (std::size_t i = 0; i < logged.size(); ++i) {
    SCOPED_TRACE(logged[i]);
    EXPECT_EQ(loggedType(logged[i]), SchedulerEvent::Type_Name(events[i].type()));
    if (events[i].type() != SchedulerEvent::UPDATE) continue;
    const v1::TaskStatus& status = events[i].update().status();
    EXPECT_THAT(logged[i],
                HasSubstr(fmt::format(R"("state": "{}")", v1::TaskState_Name(status.state()))));
    EXPECT_EQ(logged[i].find(R"("uuid": )") != std::string::npos, status.has_uuid());
    if (status.has_uuid()) {
      EXPECT_THAT(logged[i], HasSubstr(fmt::format(R"("uuid": "{}")", base64(status.uuid()))));
    }
  }
}

void expectCaptureExecutorInfo(const v1::ExecutorInfo& executor, const Conversation& conversation) {
  EXPECT_EQ(executor.type(), v1::ExecutorInfo::CUSTOM);
  EXPECT_EQ(executor.executor_id().value(), "exec-1");
  EXPECT_EQ(executor.name(), "capture-executor");
  EXPECT_EQ(executor.framework_id().value(), conversation.frameworkId);
  EXPECT_EQ(executor.command().value(), conversation.executorCommand);
  EXPECT_TRUE(executor.command().has_shell());
  EXPECT_TRUE(executor.command().shell());
  EXPECT_EQ(executor.command().uris_size(), 0);
  ASSERT_THAT(namesOf(executor.resources()), ElementsAre("cpus", "mem"));
  expectScalar(executor.resources(0), "cpus", 0.1);
  expectScalar(executor.resources(1), "mem", 32);
  for (const v1::Resource& resource : executor.resources()) expectLaunchedRole(resource);
}

void expectCaptureTaskInfo(const v1::TaskInfo& task, const Conversation& conversation) {
  EXPECT_EQ(task.name(), "capture-task");
  EXPECT_EQ(task.task_id().value(), "task-1");
  EXPECT_EQ(task.agent_id().value(), kAgentId);
  ASSERT_THAT(namesOf(task.resources()), ElementsAre("cpus", "mem", "ports"));
  expectScalar(task.resources(0), "cpus", 0.5);
  expectScalar(task.resources(1), "mem", 64);
  expectPorts(task.resources(2), 31000, 31000);
  for (const v1::Resource& resource : task.resources()) expectLaunchedRole(resource);
  EXPECT_FALSE(task.has_command());
  expectCaptureExecutorInfo(task.executor(), conversation);
  EXPECT_EQ(task.data(), "hello-task");
}

void expectExecutorStream(const Conversation& conversation) {
  std::vector<ExecutorEvent> events = readExecutorEvents(
      path(conversation, "executor/executor-stream.recordio"), conversation.type);
  ASSERT_EQ(events.size(), 6u);

  ASSERT_EQ(events[0].type(), ExecutorEvent::SUBSCRIBED);
  const ExecutorEvent::Subscribed& subscribed = events[0].subscribed();
  expectCaptureExecutorInfo(subscribed.executor_info(), conversation);
  const v1::FrameworkInfo& framework = subscribed.framework_info();
  EXPECT_EQ(framework.user(), "root");
  EXPECT_EQ(framework.name(), "wire-capture");
  EXPECT_EQ(framework.id().value(), conversation.frameworkId);
  EXPECT_EQ(framework.failover_timeout(), 60.0);
  EXPECT_TRUE(framework.checkpoint());
  EXPECT_THAT(framework.roles(), ElementsAre("*"));
  EXPECT_EQ(framework.hostname(), "127.0.0.1");
  ASSERT_EQ(framework.capabilities_size(), 1);
  EXPECT_EQ(framework.capabilities(0).type(), v1::FrameworkInfo::Capability::MULTI_ROLE);
  const v1::AgentInfo& agent = subscribed.agent_info();
  EXPECT_EQ(agent.hostname(), "127.0.0.1");
  EXPECT_TRUE(agent.has_port());
  EXPECT_EQ(agent.port(), 5051);
  EXPECT_EQ(agent.id().value(), kAgentId);
  ASSERT_THAT(namesOf(agent.resources()), ElementsAre("cpus", "mem", "disk", "ports"));
  expectScalar(agent.resources(0), "cpus", 4);
  expectScalar(agent.resources(1), "mem", 8192);
  expectScalar(agent.resources(2), "disk", 20000);
  expectPorts(agent.resources(3), 31000, 32000);
  for (const v1::Resource& resource : agent.resources()) {
    EXPECT_FALSE(resource.has_allocation_info()) << resource.name();
  }
  EXPECT_EQ(subscribed.container_id().value(), conversation.containerId);

  ASSERT_EQ(events[1].type(), ExecutorEvent::LAUNCH);
  expectCaptureTaskInfo(events[1].launch().task(), conversation);
  // The agent hands the executor exactly the ExecutorInfo it was started with.
  EXPECT_TRUE(
      MessageDifferencer::Equals(events[1].launch().task().executor(), subscribed.executor_info()))
      << differences(events[1].launch().task().executor(), subscribed.executor_info());

  for (int i = 0; i < 3; ++i) {
    const ExecutorEvent& event = events[2 + i];
    ASSERT_EQ(event.type(), ExecutorEvent::ACKNOWLEDGED);
    EXPECT_EQ(event.acknowledged().task_id().value(), "task-1");
    EXPECT_EQ(base64(event.acknowledged().uuid()), conversation.uuids[i]);
  }
  EXPECT_EQ(events[5].type(), ExecutorEvent::SHUTDOWN);
  EXPECT_EQ(events[5].ByteSizeLong(), 2u);

  std::vector<std::string> logged = loggedEventLines(path(conversation, "executor/exchange.log"));
  ASSERT_EQ(logged.size(), events.size());
  for (std::size_t i = 0; i < logged.size(); ++i) {
    SCOPED_TRACE(logged[i]);
    EXPECT_EQ(loggedType(logged[i]), ExecutorEvent::Type_Name(events[i].type()));
    if (events[i].type() == ExecutorEvent::ACKNOWLEDGED) {
      EXPECT_THAT(logged[i], HasSubstr(fmt::format(R"("uuid": "{}")",
                                                   base64(events[i].acknowledged().uuid()))));
    }
  }
}

void expectSchedulerCalls(const Conversation& conversation) {
  SchedulerCall subscribe =
      readSchedulerCall(path(conversation, "call-subscribe.bin"), conversation.type);
  EXPECT_EQ(subscribe.type(), SchedulerCall::SUBSCRIBE);
  EXPECT_FALSE(subscribe.has_framework_id());  // first registration
  const v1::FrameworkInfo& framework = subscribe.subscribe().framework_info();
  EXPECT_EQ(framework.user(), "root");
  EXPECT_EQ(framework.name(), "wire-capture");
  EXPECT_FALSE(framework.has_id());
  EXPECT_EQ(framework.failover_timeout(), 60.0);
  EXPECT_TRUE(framework.checkpoint());
  EXPECT_THAT(framework.roles(), ElementsAre("*"));
  ASSERT_EQ(framework.capabilities_size(), 1);
  EXPECT_EQ(framework.capabilities(0).type(), v1::FrameworkInfo::Capability::MULTI_ROLE);
  EXPECT_EQ(framework.hostname(), "127.0.0.1");
  EXPECT_FALSE(framework.has_principal());
  EXPECT_EQ(subscribe.subscribe().suppressed_roles_size(), 0);

  SchedulerCall accept =
      readSchedulerCall(path(conversation, "call-accept-launch.bin"), conversation.type);
  EXPECT_EQ(accept.type(), SchedulerCall::ACCEPT);
  EXPECT_EQ(accept.framework_id().value(), conversation.frameworkId);
  ASSERT_EQ(accept.accept().offer_ids_size(), 1);
  EXPECT_EQ(accept.accept().offer_ids(0).value(), conversation.firstOfferId);
  EXPECT_EQ(accept.accept().filters().refuse_seconds(), 1.0);
  ASSERT_EQ(accept.accept().operations_size(), 1);
  const v1::Offer::Operation& operation = accept.accept().operations(0);
  EXPECT_EQ(operation.type(), v1::Offer::Operation::LAUNCH);
  EXPECT_FALSE(operation.has_id());  // an id on LAUNCH would be TASK_ERROR
  ASSERT_EQ(operation.launch().task_infos_size(), 1);
  expectCaptureTaskInfo(operation.launch().task_infos(0), conversation);

  for (int i = 0; i < 3; ++i) {
    SchedulerCall ack = readSchedulerCall(
        path(conversation, fmt::format("call-acknowledge-{}.bin", i)), conversation.type);
    EXPECT_EQ(ack.type(), SchedulerCall::ACKNOWLEDGE);
    EXPECT_EQ(ack.framework_id().value(), conversation.frameworkId);
    EXPECT_EQ(ack.acknowledge().agent_id().value(), kAgentId);
    EXPECT_EQ(ack.acknowledge().task_id().value(), "task-1");
    EXPECT_EQ(base64(ack.acknowledge().uuid()), conversation.uuids[i]);
  }

  SchedulerCall reconcile =
      readSchedulerCall(path(conversation, "call-reconcile.bin"), conversation.type);
  EXPECT_EQ(reconcile.type(), SchedulerCall::RECONCILE);
  EXPECT_EQ(reconcile.framework_id().value(), conversation.frameworkId);
  ASSERT_EQ(reconcile.reconcile().tasks_size(), 1);
  EXPECT_EQ(reconcile.reconcile().tasks(0).task_id().value(), "task-1");
  EXPECT_EQ(reconcile.reconcile().tasks(0).agent_id().value(), kAgentId);

  SchedulerCall suppress =
      readSchedulerCall(path(conversation, "call-suppress.bin"), conversation.type);
  EXPECT_EQ(suppress.type(), SchedulerCall::SUPPRESS);
  EXPECT_EQ(suppress.framework_id().value(), conversation.frameworkId);
  EXPECT_THAT(suppress.suppress().roles(), ElementsAre("*"));

  SchedulerCall revive =
      readSchedulerCall(path(conversation, "call-revive.bin"), conversation.type);
  EXPECT_EQ(revive.type(), SchedulerCall::REVIVE);
  EXPECT_EQ(revive.framework_id().value(), conversation.frameworkId);
  EXPECT_THAT(revive.revive().roles(), ElementsAre("*"));

  SchedulerCall teardown =
      readSchedulerCall(path(conversation, "call-teardown.bin"), conversation.type);
  EXPECT_EQ(teardown.type(), SchedulerCall::TEARDOWN);
  EXPECT_EQ(teardown.framework_id().value(), conversation.frameworkId);
  SchedulerCall bare;
  bare.set_type(SchedulerCall::TEARDOWN);
  *bare.mutable_framework_id() = teardown.framework_id();
  EXPECT_TRUE(MessageDifferencer::Equals(teardown, bare)) << differences(teardown, bare);
}

void expectExecutorCalls(const Conversation& conversation) {
  ExecutorCall subscribe =
      readExecutorCall(path(conversation, "executor/call-subscribe.bin"), conversation.type);
  EXPECT_EQ(subscribe.type(), ExecutorCall::SUBSCRIBE);
  EXPECT_EQ(subscribe.framework_id().value(), conversation.frameworkId);
  EXPECT_EQ(subscribe.executor_id().value(), "exec-1");
  EXPECT_TRUE(subscribe.has_subscribe());  // required by the agent even when empty
  EXPECT_EQ(subscribe.subscribe().unacknowledged_tasks_size(), 0);
  EXPECT_EQ(subscribe.subscribe().unacknowledged_updates_size(), 0);

  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(v1::TaskState_Name(kExecutorStates[i]));
    ExecutorCall update = readExecutorCall(
        path(conversation, fmt::format("executor/call-update-{}.bin", i)), conversation.type);
    EXPECT_EQ(update.type(), ExecutorCall::UPDATE);
    EXPECT_EQ(update.framework_id().value(), conversation.frameworkId);
    EXPECT_EQ(update.executor_id().value(), "exec-1");
    const v1::TaskStatus& status = update.update().status();
    EXPECT_EQ(status.task_id().value(), "task-1");
    EXPECT_EQ(status.state(), kExecutorStates[i]);
    EXPECT_EQ(status.source(), v1::TaskStatus::SOURCE_EXECUTOR);
    EXPECT_EQ(status.executor_id().value(), "exec-1");
    EXPECT_EQ(status.agent_id().value(), kAgentId);
    EXPECT_EQ(base64(status.uuid()), conversation.uuids[i]);
    EXPECT_TRUE(isVersion4Uuid(status.uuid()));
    EXPECT_EQ(status.timestamp(), conversation.timestamps[i]);
    EXPECT_EQ(status.message(), "capture " + v1::TaskState_Name(kExecutorStates[i]));
  }
}

// The executor's UPDATE reaches the scheduler unchanged but for the agent's
// container_status; the LAUNCH carries the TaskInfo the scheduler sent.
void expectCallsMatchStreams(const Conversation& conversation) {
  std::vector<SchedulerEvent> events =
      readSchedulerEvents(path(conversation, "scheduler-stream.recordio"), conversation.type);
  ASSERT_EQ(events.size(), 8u);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    v1::TaskStatus received = events[3 + i].update().status();
    received.clear_container_status();
    ExecutorCall sent = readExecutorCall(
        path(conversation, fmt::format("executor/call-update-{}.bin", i)), conversation.type);
    EXPECT_TRUE(MessageDifferencer::Equals(received, sent.update().status()))
        << differences(received, sent.update().status());
    SchedulerCall ack = readSchedulerCall(
        path(conversation, fmt::format("call-acknowledge-{}.bin", i)), conversation.type);
    EXPECT_EQ(ack.acknowledge().uuid(), events[3 + i].update().status().uuid());
    EXPECT_EQ(ack.acknowledge().agent_id().value(),
              events[3 + i].update().status().agent_id().value());
  }

  std::vector<ExecutorEvent> executorEvents = readExecutorEvents(
      path(conversation, "executor/executor-stream.recordio"), conversation.type);
  ASSERT_GE(executorEvents.size(), 2u);
  SchedulerCall accept =
      readSchedulerCall(path(conversation, "call-accept-launch.bin"), conversation.type);
  const v1::TaskInfo& launched = executorEvents[1].launch().task();
  const v1::TaskInfo& requested = accept.accept().operations(0).launch().task_infos(0);
  EXPECT_TRUE(MessageDifferencer::Equals(launched, requested)) << differences(launched, requested);
}

void expectEnvironment(const Conversation& conversation) {
  google::protobuf::Struct environment;
  auto status = google::protobuf::util::JsonStringToMessage(
      readCapture(path(conversation, "executor/environment.json")), &environment);
  ASSERT_TRUE(status.ok()) << status.ToString();
  auto variable = [&](const std::string& name) {
    auto found = environment.fields().find(name);
    return found == environment.fields().end() ? std::string("<unset>")
                                               : found->second.string_value();
  };
  EXPECT_EQ(variable("MESOS_FRAMEWORK_ID"), conversation.frameworkId);
  EXPECT_EQ(variable("MESOS_EXECUTOR_ID"), "exec-1");
  EXPECT_EQ(variable("MESOS_SLAVE_ID"), kAgentId);
  EXPECT_EQ(variable("MESOS_AGENT_ENDPOINT"), "127.0.0.1:5051");
  EXPECT_EQ(variable("MESOS_SLAVE_PID"), "slave(1)@127.0.0.1:5051");
  EXPECT_EQ(variable("MESOS_CHECKPOINT"), "1");  // checkpoint: true; "1", not "true"
  EXPECT_EQ(variable("MESOS_RECOVERY_TIMEOUT"), "15mins");
  EXPECT_EQ(variable("MESOS_SUBSCRIPTION_BACKOFF_MAX"), "2secs");
  EXPECT_EQ(variable("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"), "5secs");
  std::string sandbox =
      fmt::format("/var/lib/mesos/agent/slaves/{}/frameworks/{}/executors/exec-1/runs/{}", kAgentId,
                  conversation.frameworkId, conversation.containerId);
  EXPECT_EQ(variable("MESOS_DIRECTORY"), sandbox);
  EXPECT_EQ(variable("MESOS_SANDBOX"), sandbox);
}

// --- The tests --------------------------------------------------------------

TEST(MesosGoldenCaptureTest, JsonSchedulerStream) { expectSchedulerStream(jsonConversation()); }

TEST(MesosGoldenCaptureTest, ProtobufSchedulerStream) {
  expectSchedulerStream(protobufConversation());
}

TEST(MesosGoldenCaptureTest, JsonExecutorStream) { expectExecutorStream(jsonConversation()); }

TEST(MesosGoldenCaptureTest, ProtobufExecutorStream) {
  expectExecutorStream(protobufConversation());
}

TEST(MesosGoldenCaptureTest, JsonSchedulerCalls) { expectSchedulerCalls(jsonConversation()); }

TEST(MesosGoldenCaptureTest, ProtobufSchedulerCalls) {
  expectSchedulerCalls(protobufConversation());
}

TEST(MesosGoldenCaptureTest, JsonExecutorCalls) { expectExecutorCalls(jsonConversation()); }

TEST(MesosGoldenCaptureTest, ProtobufExecutorCalls) { expectExecutorCalls(protobufConversation()); }

TEST(MesosGoldenCaptureTest, JsonCallsMatchTheStreams) {
  expectCallsMatchStreams(jsonConversation());
}

TEST(MesosGoldenCaptureTest, ProtobufCallsMatchTheStreams) {
  expectCallsMatchStreams(protobufConversation());
}

TEST(MesosGoldenCaptureTest, ProtobufExecutorSubscribedCarriesAnUnknownV0AgentField) {
  std::vector<std::string> records = readRecords("protobuf/executor/executor-stream.recordio");
  ASSERT_FALSE(records.empty());
  // Kept (and re-encoded byte for byte) by default...
  auto lenient = decodeExecutorEvent(records[0], ContentType::kProtobuf);
  ASSERT_TRUE(lenient.ok()) << lenient.error().message;
  const google::protobuf::UnknownFieldSet& unknown =
      lenient->subscribed().agent_info().GetReflection()->GetUnknownFields(
          lenient->subscribed().agent_info());
  ASSERT_EQ(unknown.field_count(), 1);
  EXPECT_EQ(unknown.field(0).number(), 7);
  // ...and named by strict decoding.
  auto strict = decodeExecutorEvent(records[0], ContentType::kProtobuf, UnknownFields::kReject);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.error().message,
              HasSubstr("executor Event SUBSCRIBED from application/x-protobuf (500 bytes): "
                        "subscribed.agent_info has unknown field number 7"));
  // The JSON run has no trace of it.
  std::vector<std::string> jsonRecords = readRecords("json/executor/executor-stream.recordio");
  ASSERT_FALSE(jsonRecords.empty());
  std::string_view json = jsonRecords[0];
  auto agentInfo = json.find(R"("agent_info":{"hostname":"127.0.0.1","port":5051,)");
  ASSERT_NE(agentInfo, std::string_view::npos);
  auto containerId = json.find(R"("container_id":)", agentInfo);
  ASSERT_NE(containerId, std::string_view::npos);
  EXPECT_THAT(std::string(json.substr(agentInfo, containerId - agentInfo)),
              Not(HasSubstr("checkpoint")));
}

TEST(MesosGoldenCaptureTest, ExecutorEnvironmentMatchesTheStreams) {
  expectEnvironment(jsonConversation());
  expectEnvironment(protobufConversation());
}

TEST(MesosGoldenCaptureTest, FailedOverStreamEndsWithAnError) {
  std::string frameworkId = fmt::format("{}-0002", kMasterId);
  std::vector<SchedulerEvent> events =
      readSchedulerEvents("failover-json/stream-a.recordio", ContentType::kJson);
  ASSERT_EQ(events.size(), 4u);
  expectSubscribed(events[0], frameworkId);
  expectHeartbeat(events[1]);
  expectOffer(events[2], frameworkId, fmt::format("{}-O4", kMasterId), 4, 8192, {});
  ASSERT_EQ(events[3].type(), SchedulerEvent::ERROR);
  EXPECT_EQ(events[3].error().message(), "Framework failed over");
}

TEST(MesosGoldenCaptureTest, ResubscriptionWithTheSameIdKeepsTheFramework) {
  std::string frameworkId = fmt::format("{}-0002", kMasterId);
  std::vector<SchedulerEvent> events =
      readSchedulerEvents("failover-json/stream-b-same-id.recordio", ContentType::kJson);
  ASSERT_EQ(events.size(), 5u);
  expectSubscribed(events[0], frameworkId);
  expectHeartbeat(events[1]);
  // A launch on an offer of the failed-over stream.
  expectMasterUpdate(
      events[2], "stale-1", v1::TASK_LOST, v1::TaskStatus::REASON_INVALID_OFFERS,
      fmt::format("Task launched with invalid offers: Offer {}-O4 is no longer valid", kMasterId),
      1795254668.846878);
  expectOffer(events[3], frameworkId, fmt::format("{}-O5", kMasterId), 4, 8192, {});
  // A launch asking for more than the offer held.
  expectMasterUpdate(events[4], "too-big-1", v1::TASK_ERROR, v1::TaskStatus::REASON_TASK_INVALID,
                     "Total resources cpus(allocated: *):1000 required by task and its executor is "
                     "more than available ports(allocated: *):[31000-32000]; cpus(allocated: *):4; "
                     "mem(allocated: *):8192; disk(allocated: *):20000",
                     1795254669.574754);

  std::string log = readCapture("failover-json/exchange.log");
  EXPECT_THAT(log, HasSubstr(fmt::format("SUBSCRIBE[b-same-id] fwid={} -> 200", frameworkId)));
  EXPECT_THAT(log, HasSubstr(R"(EVENT UPDATE {"type": "UPDATE", "update": {"status": {"task_id": )"
                             R"({"value": "stale-1"}, "state": "TASK_LOST")"));
  EXPECT_THAT(log, HasSubstr(R"({"value": "too-big-1"}, "state": "TASK_ERROR")"));
}

TEST(MesosGoldenCaptureTest, SubscribingWithATornDownIdIsAnError) {
  std::vector<SchedulerEvent> events =
      readSchedulerEvents("failover-json/stream-c-after-teardown.recordio", ContentType::kJson);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].type(), SchedulerEvent::ERROR);
  EXPECT_EQ(events[0].error().message(), "Framework has been removed");
  EXPECT_THAT(
      readCapture("failover-json/exchange.log"),
      HasSubstr(
          R"(EVENT ERROR {"type": "ERROR", "error": {"message": "Framework has been removed"}})"));
}

// Calls Tailor encodes are byte for byte what the real master accepted: the
// protos know every field and protobuf serializes in field-number order.
TEST(MesosGoldenCaptureTest, ReencodedProtobufCallsAreByteIdentical) {
  Conversation conversation = protobufConversation();
  for (const std::string& file : kSchedulerCallFiles) {
    SCOPED_TRACE(file);
    std::string captured = readCapture(path(conversation, file));
    auto call = decodeSchedulerCall(captured, ContentType::kProtobuf, UnknownFields::kReject);
    ASSERT_TRUE(call.ok()) << call.error().message;
    auto encoded = encode(*call, ContentType::kProtobuf);
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    EXPECT_EQ(*encoded, captured);
  }
  for (const std::string& file : kExecutorCallFiles) {
    SCOPED_TRACE(file);
    std::string captured = readCapture(path(conversation, file));
    auto call = decodeExecutorCall(captured, ContentType::kProtobuf, UnknownFields::kReject);
    ASSERT_TRUE(call.ok()) << call.error().message;
    auto encoded = encode(*call, ContentType::kProtobuf);
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    EXPECT_EQ(*encoded, captured);
  }
}

// Mesos' own serializer wrote these; ours writes the same bytes.
TEST(MesosGoldenCaptureTest, ReencodedProtobufEventsAreByteIdentical) {
  std::vector<std::string> schedulerRecords = readRecords("protobuf/scheduler-stream.recordio");
  EXPECT_EQ(schedulerRecords.size(), 8u);
  for (std::size_t i = 0; i < schedulerRecords.size(); ++i) {
    SCOPED_TRACE(i);
    auto event = decodeSchedulerEvent(schedulerRecords[i], ContentType::kProtobuf);
    ASSERT_TRUE(event.ok()) << event.error().message;
    auto encoded = encode(*event, ContentType::kProtobuf);
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    EXPECT_EQ(*encoded, schedulerRecords[i]);
  }
  std::vector<std::string> executorRecords =
      readRecords("protobuf/executor/executor-stream.recordio");
  EXPECT_EQ(executorRecords.size(), 6u);
  for (std::size_t i = 0; i < executorRecords.size(); ++i) {
    SCOPED_TRACE(i);
    auto event = decodeExecutorEvent(executorRecords[i], ContentType::kProtobuf);
    ASSERT_TRUE(event.ok()) << event.error().message;
    auto encoded = encode(*event, ContentType::kProtobuf);
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    EXPECT_EQ(*encoded, executorRecords[i]);
  }
}

// The JSON and protobuf runs differ only in ids, uuids, timestamps and the
// executor command line; with those swapped, each JSON call decodes to the
// same message as its protobuf twin.
std::string asProtobufRun(std::string json) {
  Conversation from = jsonConversation();
  Conversation to = protobufConversation();
  std::vector<std::pair<std::string, std::string>> swaps = {
      {from.frameworkId, to.frameworkId},
      {from.firstOfferId, to.firstOfferId},
      {from.executorCommand, to.executorCommand},
  };
  for (int i = 0; i < 3; ++i) {
    swaps.emplace_back(from.uuids[i], to.uuids[i]);
    swaps.emplace_back(fmt::format("{}", from.timestamps[i]), fmt::format("{}", to.timestamps[i]));
  }
  for (const auto& [before, after] : swaps) {
    for (auto at = json.find(before); at != std::string::npos;
         at = json.find(before, at + after.size())) {
      json.replace(at, before.size(), after);
    }
  }
  return json;
}

TEST(MesosGoldenCaptureTest, JsonAndProtobufCallsAreEqualMessages) {
  for (const std::string& file : kSchedulerCallFiles) {
    SCOPED_TRACE(file);
    auto fromJson = decodeSchedulerCall(asProtobufRun(readCapture("json/" + file)),
                                        ContentType::kJson, UnknownFields::kReject);
    auto fromProtobuf = decodeSchedulerCall(readCapture("protobuf/" + file), ContentType::kProtobuf,
                                            UnknownFields::kReject);
    ASSERT_TRUE(fromJson.ok()) << fromJson.error().message;
    ASSERT_TRUE(fromProtobuf.ok()) << fromProtobuf.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*fromJson, *fromProtobuf))
        << differences(*fromJson, *fromProtobuf);
  }
  for (const std::string& file : kExecutorCallFiles) {
    SCOPED_TRACE(file);
    auto fromJson = decodeExecutorCall(asProtobufRun(readCapture("json/" + file)),
                                       ContentType::kJson, UnknownFields::kReject);
    auto fromProtobuf = decodeExecutorCall(readCapture("protobuf/" + file), ContentType::kProtobuf,
                                           UnknownFields::kReject);
    ASSERT_TRUE(fromJson.ok()) << fromJson.error().message;
    ASSERT_TRUE(fromProtobuf.ok()) << fromProtobuf.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*fromJson, *fromProtobuf))
        << differences(*fromJson, *fromProtobuf);
  }
}

// What Tailor prints as JSON reads back as the same message, for every captured
// JSON call and event.
TEST(MesosGoldenCaptureTest, JsonCapturesSurviveAJsonRoundTrip) {
  for (const std::string& file : kSchedulerCallFiles) {
    SCOPED_TRACE(file);
    SchedulerCall call = readSchedulerCall("json/" + file, ContentType::kJson);
    auto json = encode(call, ContentType::kJson);
    ASSERT_TRUE(json.ok()) << json.error().message;
    auto back = decodeSchedulerCall(*json, ContentType::kJson, UnknownFields::kReject);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*back, call)) << differences(*back, call);
  }
  for (const std::string& file : kExecutorCallFiles) {
    SCOPED_TRACE(file);
    ExecutorCall call = readExecutorCall("json/" + file, ContentType::kJson);
    auto json = encode(call, ContentType::kJson);
    ASSERT_TRUE(json.ok()) << json.error().message;
    auto back = decodeExecutorCall(*json, ContentType::kJson, UnknownFields::kReject);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*back, call)) << differences(*back, call);
  }
  for (std::string_view stream :
       {"json/scheduler-stream.recordio", "failover-json/stream-a.recordio",
        "failover-json/stream-b-same-id.recordio",
        "failover-json/stream-c-after-teardown.recordio"}) {
    SCOPED_TRACE(stream);
    for (const SchedulerEvent& event : readSchedulerEvents(stream, ContentType::kJson)) {
      auto json = encode(event, ContentType::kJson);
      ASSERT_TRUE(json.ok()) << json.error().message;
      auto back = decodeSchedulerEvent(*json, ContentType::kJson, UnknownFields::kReject);
      ASSERT_TRUE(back.ok()) << back.error().message;
      EXPECT_TRUE(MessageDifferencer::Equals(*back, event)) << differences(*back, event);
    }
  }
  for (const ExecutorEvent& event :
       readExecutorEvents("json/executor/executor-stream.recordio", ContentType::kJson)) {
    auto json = encode(event, ContentType::kJson);
    ASSERT_TRUE(json.ok()) << json.error().message;
    auto back = decodeExecutorEvent(*json, ContentType::kJson, UnknownFields::kReject);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*back, event)) << differences(*back, event);
  }
}

// Every stream and call file of the capture directory is decoded by a test
// above: a new capture file must get its checks.
TEST(MesosGoldenCaptureTest, EveryCapturedStreamAndCallIsCovered) {
  std::set<std::string> covered = {
      "json/scheduler-stream.recordio",
      "protobuf/scheduler-stream.recordio",
      "json/executor/executor-stream.recordio",
      "protobuf/executor/executor-stream.recordio",
      "failover-json/stream-a.recordio",
      "failover-json/stream-b-same-id.recordio",
      "failover-json/stream-c-after-teardown.recordio",
  };
  for (std::string_view dir : {"json", "protobuf"}) {
    for (const std::string& file : kSchedulerCallFiles)
      covered.insert(fmt::format("{}/{}", dir, file));
    for (const std::string& file : kExecutorCallFiles)
      covered.insert(fmt::format("{}/{}", dir, file));
  }
  std::set<std::string> found;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(captureDir(), error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    bool isStream = it->path().extension() == ".recordio";
    bool isCall = name.rfind("call-", 0) == 0 && it->path().extension() == ".bin";
    if (isStream || isCall) {
      found.insert(std::filesystem::relative(it->path(), captureDir()).generic_string());
    }
  }
  ASSERT_FALSE(error) << captureDir() << ": " << error.message();
  EXPECT_EQ(found, covered);
}

}  // namespace
}  // namespace tailor::mesos
