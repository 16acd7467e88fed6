// The Mesos v1 codec (mesos/codec.hpp) on any body: the Events a master and an
// agent send us (scheduler and executor SUBSCRIBE streams) and the Calls the
// fake Mesos decodes, in protobuf and in JSON, ignoring or rejecting unknown
// fields. The first byte chooses:
//   bits 0-1  scheduler Event, executor Event, scheduler Call, executor Call
//   bit 2     protobuf (0) or JSON (1)
//   bit 3     UnknownFields::kIgnore (0) or kReject (1)
//   bits 4-5  both set: the body is a MasterInfo as masters write it to
//             ZooKeeper (masterAddressOf) instead
// The rest is the body.
//
// Where a body decodes, the message must encode again in the same content
// type, decode again, and encode to the same bytes (the codec's output is a
// fixed point). A message decoded from protobuf must also survive JSON (what
// a log or the fake Mesos prints of it), the same but for its unknown fields,
// or be refused by the JSON encoder for a string that is not UTF-8.

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mesos/codec.hpp"
#include "mesos/master_detector.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace tailor::fuzz {
namespace {

using mesos::ContentType;
using mesos::UnknownFields;

// Equal field by field; NaNs are equal to each other (JSON keeps a NaN, not
// its payload bits).
bool sameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  return differencer.Compare(a, b);
}

template <typename M, typename Decode>
void roundTrip(std::string_view body, ContentType type, UnknownFields unknown, Decode decode) {
  Result<M> decoded = decode(body, type, unknown);
  if (!decoded.ok()) {
    check(decoded.error().code == ErrorCode::kInvalidArgument,
          "a bad body is not kInvalidArgument", decoded.error().message);
    return;
  }
  Result<std::string> encoded = mesos::encode(*decoded, type);
  check(encoded.ok(), "a decoded message does not encode again",
        encoded.ok() ? "" : encoded.error().message);
  Result<M> again = decode(*encoded, type, unknown);
  check(again.ok(), "a re-encoded message does not decode",
        again.ok() ? "" : again.error().message);
  Result<std::string> reencoded = mesos::encode(*again, type);
  check(reencoded.ok() && *reencoded == *encoded, "encoding is not a fixed point", *encoded);

  if (type != ContentType::kProtobuf) return;
  Result<std::string> json = mesos::encode(*decoded, ContentType::kJson);
  if (!json.ok()) {
    // Protobuf carries proto2 strings that are not UTF-8; JSON cannot, and
    // the codec says so rather than print something else.
    check(json.error().code == ErrorCode::kInvalidArgument &&
              json.error().message.find("is not UTF-8") != std::string::npos,
          "JSON encoding failed unexpectedly", json.error().message);
    return;
  }
  Result<M> fromJson = decode(*json, ContentType::kJson, UnknownFields::kReject);
  check(fromJson.ok(), "the JSON of a decoded message does not decode",
        fromJson.ok() ? *json : fromJson.error().message);
  M known = *decoded;
  known.DiscardUnknownFields();
  check(sameMessage(known, *fromJson), "JSON changes the message", *json);
}

void masterInfo(std::string_view body) {
  Result<std::string> address = mesos::masterAddressOf(body);
  if (!address.ok()) return;
  auto colon = address->rfind(':');
  check(colon != std::string::npos && colon > 0 && colon + 1 < address->size(),
        "masterAddressOf gave no host:port", *address);
}

// Decodes the body the first byte chose.
void decodeChosen(Input& input) {
  std::uint8_t choice = input.byte();
  std::string_view body = input.rest();
  if ((choice & 0x30) == 0x30) {
    masterInfo(body);
    return;
  }
  ContentType type = (choice & 0x04) != 0 ? ContentType::kJson : ContentType::kProtobuf;
  UnknownFields unknown = (choice & 0x08) != 0 ? UnknownFields::kReject : UnknownFields::kIgnore;
  switch (choice & 0x03) {
    case 0:
      roundTrip<mesos::SchedulerEvent>(body, type, unknown, mesos::decodeSchedulerEvent);
      break;
    case 1:
      roundTrip<mesos::ExecutorEvent>(body, type, unknown, mesos::decodeExecutorEvent);
      break;
    case 2:
      roundTrip<mesos::SchedulerCall>(body, type, unknown, mesos::decodeSchedulerCall);
      break;
    default:
      roundTrip<mesos::ExecutorCall>(body, type, unknown, mesos::decodeExecutorCall);
      break;
  }
}

}  // namespace
}  // namespace tailor::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tailor::fuzz::Input input(data, size);
  tailor::fuzz::decodeChosen(input);
  return 0;
}
