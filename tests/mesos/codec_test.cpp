#include "mesos/codec.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace tailor::mesos {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::Not;

namespace v1 = ::mesos::v1;

SchedulerCall makeAcceptLaunch() {
  SchedulerCall call;
  call.mutable_framework_id()->set_value("fw-1");
  call.set_type(SchedulerCall::ACCEPT);
  SchedulerCall::Accept* accept = call.mutable_accept();
  accept->add_offer_ids()->set_value("offer-1");
  v1::Offer::Operation* operation = accept->add_operations();
  operation->set_type(v1::Offer::Operation::LAUNCH);
  v1::TaskInfo* task = operation->mutable_launch()->add_task_infos();
  task->set_name("tm-1");
  task->mutable_task_id()->set_value("tm-1");
  task->mutable_agent_id()->set_value("agent-1");
  v1::Resource* ports = task->add_resources();
  ports->set_name("ports");
  ports->set_type(v1::Value::RANGES);
  v1::Value::Range* range = ports->mutable_ranges()->add_range();
  range->set_begin(31000);
  range->set_end(31001);
  ports->mutable_allocation_info()->set_role("*");
  v1::ExecutorInfo* executor = task->mutable_executor();
  executor->set_type(v1::ExecutorInfo::CUSTOM);
  executor->mutable_executor_id()->set_value("tm-1");
  executor->mutable_command()->set_value("tailor-taskmanager");
  task->set_data("hello-task");
  accept->mutable_filters()->set_refuse_seconds(1.0);
  return call;
}

ExecutorCall makeExecutorUpdate() {
  ExecutorCall call;
  call.mutable_executor_id()->set_value("tm-1");
  call.mutable_framework_id()->set_value("fw-1");
  call.set_type(ExecutorCall::UPDATE);
  v1::TaskStatus* status = call.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value("tm-1");
  status->set_state(v1::TASK_RUNNING);
  status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
  status->set_uuid(
      std::string("\x3e\xb4\x9d\xc7\xe0\x9d\x4c\x21\xb8\x6c\xf2\xc1\xbe\x3c\xa4\x27", 16));
  status->set_timestamp(1795254696.5489616);
  return call;
}

TEST(MesosCodecTest, ContentTypeHeadersAreMesosExactStrings) {
  EXPECT_EQ(contentTypeHeader(ContentType::kJson), "application/json");
  EXPECT_EQ(contentTypeHeader(ContentType::kProtobuf), "application/x-protobuf");
  EXPECT_EQ(parseContentType("application/json").value(), ContentType::kJson);
  EXPECT_EQ(parseContentType("application/x-protobuf").value(), ContentType::kProtobuf);
  // The master answers 415 to this one (captured in json/exchange.log).
  auto withCharset = parseContentType("application/json; charset=utf-8");
  ASSERT_FALSE(withCharset.ok());
  EXPECT_EQ(withCharset.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(withCharset.error().message, HasSubstr("'application/json; charset=utf-8'"));
  EXPECT_FALSE(parseContentType("").ok());
  EXPECT_FALSE(parseContentType("Application/JSON").ok());
}

TEST(MesosCodecTest, EncodesJsonWithProtoFieldNamesEnumNamesAndBase64) {
  auto json = encode(makeAcceptLaunch(), ContentType::kJson);
  ASSERT_TRUE(json.ok()) << json.error().message;
  EXPECT_THAT(*json, HasSubstr(R"("framework_id":{"value":"fw-1"})"));
  EXPECT_THAT(*json, HasSubstr(R"("type":"ACCEPT")"));
  EXPECT_THAT(*json, HasSubstr(R"("operations":[{"type":"LAUNCH","launch":{"task_infos":[)"));
  // 64-bit integers as strings (proto3 JSON); Mesos accepts them (reference §0.1).
  EXPECT_THAT(*json, HasSubstr(R"("ranges":{"range":[{"begin":"31000","end":"31001"}]})"));
  EXPECT_THAT(*json, HasSubstr(R"("allocation_info":{"role":"*"})"));
  EXPECT_THAT(*json, HasSubstr(R"("data":"aGVsbG8tdGFzaw==")"));
  EXPECT_THAT(*json, HasSubstr(R"("refuse_seconds":1)"));
  EXPECT_THAT(*json, Not(HasSubstr("frameworkId")));
  // Unset fields with defaults stay out (no "shell", no "role").
  EXPECT_THAT(*json, Not(HasSubstr("shell")));
  EXPECT_THAT(*json, Not(HasSubstr(R"("role":"*","allocation_info")")));
}

TEST(MesosCodecTest, RoundTripsCallsAndEventsInBothContentTypes) {
  SchedulerEvent update;
  update.set_type(SchedulerEvent::UPDATE);
  *update.mutable_update()->mutable_status() = makeExecutorUpdate().update().status();
  for (ContentType type : {ContentType::kJson, ContentType::kProtobuf}) {
    SCOPED_TRACE(contentTypeHeader(type));
    SchedulerCall accept = makeAcceptLaunch();
    auto acceptBody = encode(accept, type);
    ASSERT_TRUE(acceptBody.ok()) << acceptBody.error().message;
    auto acceptBack = decodeSchedulerCall(*acceptBody, type, UnknownFields::kReject);
    ASSERT_TRUE(acceptBack.ok()) << acceptBack.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*acceptBack, accept));

    auto eventBody = encode(update, type);
    ASSERT_TRUE(eventBody.ok()) << eventBody.error().message;
    auto eventBack = decodeSchedulerEvent(*eventBody, type, UnknownFields::kReject);
    ASSERT_TRUE(eventBack.ok()) << eventBack.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*eventBack, update));

    ExecutorCall executorCall = makeExecutorUpdate();
    auto executorBody = encode(executorCall, type);
    ASSERT_TRUE(executorBody.ok()) << executorBody.error().message;
    auto executorBack = decodeExecutorCall(*executorBody, type, UnknownFields::kReject);
    ASSERT_TRUE(executorBack.ok()) << executorBack.error().message;
    EXPECT_TRUE(MessageDifferencer::Equals(*executorBack, executorCall));
    EXPECT_EQ(executorBack->update().status().uuid().size(), 16u);
    EXPECT_EQ(executorBack->update().status().timestamp(), 1795254696.5489616);

    ExecutorEvent shutdown;
    shutdown.set_type(ExecutorEvent::SHUTDOWN);
    auto shutdownBody = encode(shutdown, type);
    ASSERT_TRUE(shutdownBody.ok());
    auto shutdownBack = decodeExecutorEvent(*shutdownBody, type);
    ASSERT_TRUE(shutdownBack.ok());
    EXPECT_EQ(shutdownBack->type(), ExecutorEvent::SHUTDOWN);
  }
}

TEST(MesosCodecTest, ImplicitReconcileKeepsItsEmptySubMessage) {
  // Mesos answers 400 to a RECONCILE without `reconcile`, even an empty one.
  SchedulerCall call;
  call.mutable_framework_id()->set_value("fw");
  call.set_type(SchedulerCall::RECONCILE);
  call.mutable_reconcile();
  auto binary = encode(call, ContentType::kProtobuf);
  ASSERT_TRUE(binary.ok());
  EXPECT_EQ(*binary, std::string("\x0a\x04\x0a\x02"
                                 "fw\x10\x09\x4a\x00",
                                 10));
  auto json = encode(call, ContentType::kJson);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"framework_id":{"value":"fw"},"type":"RECONCILE","reconcile":{}})");
  auto back = decodeSchedulerCall(*json, ContentType::kJson);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->has_reconcile());
}

TEST(MesosCodecTest, ExecutorMessageCarriesItsDataInFieldTwo) {
  ExecutorCall call;
  call.mutable_executor_id()->set_value("e");
  call.mutable_framework_id()->set_value("f");
  call.set_type(ExecutorCall::MESSAGE);
  call.mutable_message()->set_data("hi");
  auto binary = encode(call, ContentType::kProtobuf);
  ASSERT_TRUE(binary.ok());
  // ... message (field 6, 4 bytes) { data (field 2, 2 bytes) "hi" }
  EXPECT_THAT(*binary, HasSubstr(std::string("\x32\x04\x12\x02hi", 6)));
  auto json = encode(call, ContentType::kJson);
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr(R"("message":{"data":"aGk="})"));
}

TEST(MesosCodecTest, EncodeRefusesAMessageMissingRequiredFields) {
  SchedulerCall call;
  call.mutable_framework_id()->set_value("fw");
  call.set_type(SchedulerCall::ACKNOWLEDGE);
  call.mutable_acknowledge()->mutable_agent_id()->set_value("S0");
  call.mutable_acknowledge()->mutable_task_id()->set_value("t");
  for (ContentType type : {ContentType::kJson, ContentType::kProtobuf}) {
    auto body = encode(call, type);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(body.error().message,
                HasSubstr(fmt::format("encoding scheduler Call ACKNOWLEDGE as {}: missing required "
                                      "fields: acknowledge.uuid",
                                      contentTypeHeader(type))));
  }
  ExecutorCall executorCall;  // executor_id and framework_id are required
  executorCall.set_type(ExecutorCall::HEARTBEAT);
  auto body = encode(executorCall, ContentType::kJson);
  ASSERT_FALSE(body.ok());
  EXPECT_THAT(body.error().message, HasSubstr("executor Call HEARTBEAT"));
  EXPECT_THAT(body.error().message, HasSubstr("executor_id"));
}

// Found by mesos_event_fuzz: protobuf's JSON printer dropped the bytes of a
// proto2 string that are not UTF-8 and printed the rest ("\xa1\x8fus" as "us").
TEST(MesosCodecTest, JsonEncodingRefusesAStringThatIsNotUtf8) {
  SchedulerEvent offers;
  offers.set_type(SchedulerEvent::OFFERS);
  v1::Offer* offer = offers.mutable_offers()->add_offers();
  offer->mutable_id()->set_value("o");
  offer->mutable_framework_id()->set_value("f");
  offer->mutable_agent_id()->set_value("a");
  offer->set_hostname("h");
  v1::Resource* gpus = offer->add_resources();
  gpus->set_name("\xa1\x8fus");
  gpus->set_type(v1::Value::SCALAR);
  gpus->mutable_scalar()->set_value(1);

  // Protobuf carries any bytes: decoding them is fine, as Mesos does.
  auto binary = encode(offers, ContentType::kProtobuf);
  ASSERT_TRUE(binary.ok()) << binary.error().message;
  auto decoded = decodeSchedulerEvent(*binary, ContentType::kProtobuf, UnknownFields::kReject);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->offers().offers(0).resources(0).name(), "\xa1\x8fus");

  auto json = encode(*decoded, ContentType::kJson);
  ASSERT_FALSE(json.ok()) << *json;
  EXPECT_EQ(json.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(json.error().message,
              HasSubstr("encoding scheduler Event OFFERS as application/json: "
                        "offers.offers[0].resources[0].name is not UTF-8"));

  // Repeated strings are named with their index; valid UTF-8 passes.
  ExecutorCall call = makeExecutorUpdate();
  call.mutable_update()->mutable_status()->set_message("caf\xc3\xa9");
  EXPECT_TRUE(encode(call, ContentType::kJson).ok());
  SchedulerCall revive;
  revive.set_type(SchedulerCall::REVIVE);
  revive.mutable_framework_id()->set_value("f");
  revive.mutable_revive()->add_roles("*");
  revive.mutable_revive()->add_roles("\xff");
  auto refused = encode(revive, ContentType::kJson);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("revive.roles[1] is not UTF-8"));
}

// Found by mesos_event_fuzz: proto2 keeps an enum value the protos do not
// name among the unknown fields, and protobuf's JSON printer, which works from
// the binary form, printed it as a number in the field's place ("type":8).
TEST(MesosCodecTest, JsonEncodingLeavesOutUnknownFieldsAndUnnamedEnumValues) {
  std::string binary = makeExecutorUpdate().SerializeAsString();
  binary += std::string("\x18\x08", 2);      // field 3 (type), 8: no Type has it
  binary += std::string("\x98\x06\x01", 3);  // field 99, varint 1
  auto decoded = decodeExecutorCall(binary, ContentType::kProtobuf);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->type(), ExecutorCall::UPDATE);

  auto json = encode(*decoded, ContentType::kJson);
  ASSERT_TRUE(json.ok()) << json.error().message;
  EXPECT_THAT(*json, HasSubstr(R"("type":"UPDATE")"));
  EXPECT_THAT(*json, Not(HasSubstr(R"("type":8)")));
  auto strict = decodeExecutorCall(*json, ContentType::kJson, UnknownFields::kReject);
  ASSERT_TRUE(strict.ok()) << strict.error().message;
  EXPECT_EQ(strict->type(), ExecutorCall::UPDATE);

  // Protobuf still carries them, as Mesos does.
  auto again = encode(*decoded, ContentType::kProtobuf);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, binary);
}

TEST(MesosCodecTest, DecodeIgnoresUnknownKeysAndEnumNamesLikeMesos) {
  auto event = decodeSchedulerEvent(R"({"type":"HEARTBEAT","added_in_mesos_9":{"x":[1,2]}})",
                                    ContentType::kJson);
  ASSERT_TRUE(event.ok()) << event.error().message;
  EXPECT_EQ(event->type(), SchedulerEvent::HEARTBEAT);

  // An unknown name of an optional enum leaves the field unset: ignore such events.
  auto future =
      decodeSchedulerEvent(R"({"type":"SOMETHING_NEW","something_new":{}})", ContentType::kJson);
  ASSERT_TRUE(future.ok()) << future.error().message;
  EXPECT_FALSE(future->has_type());

  auto capability = decodeSchedulerEvent(
      R"({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},)"
      R"("master_info":{"id":"m","ip":1,"capabilities":[{"type":"NEW_CAP"},{"type":"QUOTA_V2"}]}}})",
      ContentType::kJson);
  ASSERT_TRUE(capability.ok()) << capability.error().message;
  ASSERT_EQ(capability->subscribed().master_info().capabilities_size(), 2);
  EXPECT_FALSE(capability->subscribed().master_info().capabilities(0).has_type());
  EXPECT_EQ(capability->subscribed().master_info().capabilities(1).type(),
            v1::MasterInfo::Capability::QUOTA_V2);
}

TEST(MesosCodecTest, StrictDecodingRejectsWhatTheProtosDoNotKnow) {
  auto unknownKey = decodeSchedulerEvent(R"({"type":"HEARTBEAT","added_in_mesos_9":1})",
                                         ContentType::kJson, UnknownFields::kReject);
  ASSERT_FALSE(unknownKey.ok());
  EXPECT_THAT(unknownKey.error().message, HasSubstr("added_in_mesos_9"));

  auto unknownEnum = decodeSchedulerEvent(R"({"type":"SOMETHING_NEW"})", ContentType::kJson,
                                          UnknownFields::kReject);
  ASSERT_FALSE(unknownEnum.ok());

  SchedulerEvent heartbeat;
  heartbeat.set_type(SchedulerEvent::HEARTBEAT);
  std::string binary = heartbeat.SerializeAsString();
  binary += std::string("\x98\x06\x01", 3);  // field 99, varint 1
  auto lenient = decodeSchedulerEvent(binary, ContentType::kProtobuf);
  ASSERT_TRUE(lenient.ok()) << lenient.error().message;
  EXPECT_EQ(lenient->type(), SchedulerEvent::HEARTBEAT);
  auto strict = decodeSchedulerEvent(binary, ContentType::kProtobuf, UnknownFields::kReject);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.error().message,
              HasSubstr("decoding scheduler Event HEARTBEAT from application/x-protobuf (5 bytes): "
                        "message has unknown field number 99"));
}

TEST(MesosCodecTest, StrictDecodingNamesTheNestedPathOfAnUnknownField) {
  SchedulerEvent offers;
  offers.set_type(SchedulerEvent::OFFERS);
  v1::Offer* offer = offers.mutable_offers()->add_offers();
  offer->mutable_id()->set_value("o");
  offer->mutable_framework_id()->set_value("f");
  offer->mutable_agent_id()->set_value("a");
  offer->set_hostname("h");
  v1::Resource* cpus = offer->add_resources();
  cpus->set_name("cpus");
  cpus->set_type(v1::Value::SCALAR);
  cpus->mutable_scalar()->set_value(1);
  cpus->GetReflection()->MutableUnknownFields(cpus)->AddVarint(42, 7);
  auto strict = decodeSchedulerEvent(offers.SerializeAsString(), ContentType::kProtobuf,
                                     UnknownFields::kReject);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.error().message,
              HasSubstr("offers.offers[0].resources[0] has unknown field number 42"));
}

TEST(MesosCodecTest, DecodeRejectsAnUnknownValueOfARequiredEnum) {
  // TaskStatus.state is required: Mesos answers 400, we refuse the message.
  auto event = decodeSchedulerEvent(
      R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_BOGUS"}}})",
      ContentType::kJson);
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(event.error().message,
              HasSubstr("decoding scheduler Event UPDATE from application/json"));
  EXPECT_THAT(event.error().message, HasSubstr("missing required fields: update.status.state"));
}

TEST(MesosCodecTest, DecodeAcceptsTheNumberFormsMesosAccepts) {
  auto event = decodeSchedulerEvent(
      R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},)"
      R"("agent_id":{"value":"a"},"hostname":"h","resources":[)"
      R"({"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":"32000"}]}},)"
      R"({"name":"cpus","type":"SCALAR","scalar":{"value":"2.5"}},)"
      R"({"name":"mem","type":"SCALAR","scalar":{"value":"Infinity"}}]}]}})",
      ContentType::kJson);
  ASSERT_TRUE(event.ok()) << event.error().message;
  const v1::Offer& offer = event->offers().offers(0);
  EXPECT_EQ(offer.resources(0).ranges().range(0).begin(), 31000u);
  EXPECT_EQ(offer.resources(0).ranges().range(0).end(), 32000u);
  EXPECT_EQ(offer.resources(1).scalar().value(), 2.5);
  EXPECT_TRUE(std::isinf(offer.resources(2).scalar().value()));
}

TEST(MesosCodecTest, DecodeReportsMalformedBodiesWithContext) {
  auto json = decodeSchedulerEvent(R"({"type":"HEARTBEAT")", ContentType::kJson);
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(json.error().message,
              HasSubstr("decoding scheduler Event (no type) from application/json (19 bytes): "));

  auto bareId =
      decodeSchedulerCall(R"({"type":"TEARDOWN","framework_id":"fw"})", ContentType::kJson);
  ASSERT_FALSE(bareId.ok());  // IDs are objects; Mesos answers 400 too
  EXPECT_THAT(bareId.error().message, HasSubstr("decoding scheduler Call"));

  auto binary = decodeExecutorEvent(std::string("\x08\x01\x12\xff", 4), ContentType::kProtobuf);
  ASSERT_FALSE(binary.ok());
  EXPECT_THAT(binary.error().message,
              HasSubstr("decoding executor Event (no type) from application/x-protobuf (4 bytes): "
                        "not a serialized mesos.v1.executor.Event"));

  auto empty = decodeExecutorCall("", ContentType::kProtobuf);
  ASSERT_FALSE(empty.ok());  // executor_id and framework_id are required
  EXPECT_THAT(empty.error().message,
              HasSubstr("missing required fields: executor_id, framework_id"));
}

}  // namespace
}  // namespace tailor::mesos
