#pragma once

// Bodies of the Mesos v1 scheduler and executor HTTP APIs: Calls (request
// bodies) and Events (RecordIO payloads of the SUBSCRIBE stream), in both
// content types Mesos speaks (reference §0.1, §1.2).
//
// Protobuf: the plain serialized message, no length prefix.
// JSON: Mesos' mapping, which is protobuf's JSON mapping with proto field names
// (`framework_id`, not `frameworkId`): enums by name, bytes as standard base64
// with padding, IDs as `{"value": ...}` objects.
//  - Encoding prints only fields that are set. 64-bit integers come out as JSON
//    strings ("31000") and whole doubles without a fraction (1 rather than 1.0);
//    Mesos accepts both (§0.1). Unknown fields that a protobuf body brought
//    (numbers the protos do not know, and values of enums they do not name)
//    are left out: this mapping has no form for them.
//  - Decoding ignores unknown keys and unknown names of optional enums (the
//    field stays unset), as Mesos does, unless UnknownFields::kReject is asked
//    for. It accepts numbers as JSON numbers or strings, doubles also as
//    "Infinity"/"-Infinity", and enums also as numbers (more lenient than Mesos).
//
// Both directions check proto2 `required` fields: a message missing one is an
// error (Mesos would answer 400), never sent or returned. Errors are values
// with code kInvalidArgument (kInternal if the protobuf library fails on a
// valid message) and say what was coded, its type and the content type.
// All functions are pure and thread-safe.

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "mesos/v1/executor/executor.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"

namespace tailor::mesos {

using SchedulerCall = ::mesos::v1::scheduler::Call;
using SchedulerEvent = ::mesos::v1::scheduler::Event;
using ExecutorCall = ::mesos::v1::executor::Call;
using ExecutorEvent = ::mesos::v1::executor::Event;

enum class ContentType { kProtobuf, kJson };

// The exact header values Mesos accepts for Content-Type and Accept.
inline constexpr std::string_view kProtobufContentType = "application/x-protobuf";
inline constexpr std::string_view kJsonContentType = "application/json";

// "application/x-protobuf" or "application/json".
std::string_view contentTypeHeader(ContentType type);

// The content type named by a Content-Type header value. Like Mesos, compares
// the whole value: "application/json; charset=utf-8" is an error.
Result<ContentType> parseContentType(std::string_view header);

enum class UnknownFields {
  kIgnore,  // as Mesos: forward compatible with newer masters and agents
  kReject,  // strict: unknown JSON keys or enum names, or unknown protobuf fields, are errors
};

// Serializes a message as `type`. Fails if a required field is missing, or,
// as JSON, if a string field holds bytes that are not UTF-8 (proto2 strings
// may, as protobuf carries them; JSON would silently lose them).
Result<std::string> encode(const SchedulerCall& call, ContentType type);
Result<std::string> encode(const SchedulerEvent& event, ContentType type);
Result<std::string> encode(const ExecutorCall& call, ContentType type);
Result<std::string> encode(const ExecutorEvent& event, ContentType type);

// Parses `body` as `type`. Fails if it is malformed, misses a required field,
// or (with kReject) holds anything the protos do not know.
Result<SchedulerCall> decodeSchedulerCall(std::string_view body, ContentType type,
                                          UnknownFields unknown = UnknownFields::kIgnore);
Result<SchedulerEvent> decodeSchedulerEvent(std::string_view body, ContentType type,
                                            UnknownFields unknown = UnknownFields::kIgnore);
Result<ExecutorCall> decodeExecutorCall(std::string_view body, ContentType type,
                                        UnknownFields unknown = UnknownFields::kIgnore);
Result<ExecutorEvent> decodeExecutorEvent(std::string_view body, ContentType type,
                                          UnknownFields unknown = UnknownFields::kIgnore);

// Parses Mesos JSON (the mapping above, unknown keys ignored) into `message`,
// for messages Mesos writes elsewhere than in its API (the MasterInfo in
// ZooKeeper). A missing required field is an error; the error is the parser's
// text ("missing field id").
Status decodeJsonMessage(std::string_view body, google::protobuf::Message& message);

}  // namespace tailor::mesos
