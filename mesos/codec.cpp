#include "mesos/codec.hpp"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <climits>
#include <memory>
#include <optional>
#include <vector>

namespace tailor::mesos {
namespace {

namespace gpb = google::protobuf;

constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com";

// "scheduler Call ACCEPT", "executor Event (no type)".
template <typename M>
std::string describe(std::string_view api, const M& message) {
  std::string_view kind = M::descriptor()->name();
  if (!message.has_type()) return fmt::format("{} {} (no type)", api, kind);
  // proto2 keeps unknown enum values out of the field, so a set type has a name.
  return fmt::format("{} {} {}", api, kind, M::Type_Name(message.type()));
}

// The first problem `check` finds in `message` or in a message it holds,
// depth first. `check(message, path)` looks at one message; `path` is empty
// for the top one, else like "offers.offers[0].resources[1]".
template <typename Check>
std::optional<std::string> findInMessages(const gpb::Message& message, const std::string& path,
                                          const Check& check) {
  if (auto found = check(message, path)) return found;
  const gpb::Reflection* reflection = message.GetReflection();
  std::vector<const gpb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const gpb::FieldDescriptor* field : fields) {
    if (field->cpp_type() != gpb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    std::string fieldPath = path.empty() ? field->name() : path + "." + field->name();
    if (field->is_repeated()) {
      int size = reflection->FieldSize(message, field);
      for (int i = 0; i < size; ++i) {
        auto found = findInMessages(reflection->GetRepeatedMessage(message, field, i),
                                    fmt::format("{}[{}]", fieldPath, i), check);
        if (found) return found;
      }
    } else {
      auto found = findInMessages(reflection->GetMessage(message, field), fieldPath, check);
      if (found) return found;
    }
  }
  return std::nullopt;
}

// The path of the first unknown field in `message`, if any.
std::optional<std::string> findUnknownField(const gpb::Message& message) {
  return findInMessages(message, "", [](const gpb::Message& m, const std::string& path) {
    const gpb::UnknownFieldSet& unknown = m.GetReflection()->GetUnknownFields(m);
    if (unknown.empty()) return std::optional<std::string>();
    return std::optional<std::string>(fmt::format("{} has unknown field number {}",
                                                  path.empty() ? "message" : path,
                                                  unknown.field(0).number()));
  });
}

// The path of the first string field that is not UTF-8, if any. proto2
// strings may hold any bytes and protobuf carries them, but JSON cannot: its
// printer drops what is not UTF-8 and prints the rest. The check is
// protobuf's own, the one behind its "invalid UTF-8" warnings.
std::optional<std::string> findNonUtf8String(const gpb::Message& message) {
  return findInMessages(message, "", [](const gpb::Message& m, const std::string& path) {
    const gpb::Reflection* reflection = m.GetReflection();
    std::vector<const gpb::FieldDescriptor*> fields;
    reflection->ListFields(m, &fields);
    for (const gpb::FieldDescriptor* field : fields) {
      if (field->type() != gpb::FieldDescriptor::TYPE_STRING) continue;
      std::string fieldPath = path.empty() ? field->name() : path + "." + field->name();
      int size = field->is_repeated() ? reflection->FieldSize(m, field) : 1;
      for (int i = 0; i < size; ++i) {
        std::string scratch;
        const std::string& value =
            field->is_repeated() ? reflection->GetRepeatedStringReference(m, field, i, &scratch)
                                 : reflection->GetStringReference(m, field, &scratch);
        if (!gpb::internal::IsStructurallyValidUTF8(value.data(),
                                                    static_cast<int>(value.size()))) {
          return std::optional<std::string>(
              field->is_repeated() ? fmt::format("{}[{}]", fieldPath, i) : fieldPath);
        }
      }
    }
    return std::optional<std::string>();
  });
}

// Parses JSON in protobuf's mapping into `message` (the transcoder also
// reports missing required fields); the error is the parser's own text.
Status jsonToMessage(std::string_view body, gpb::Message& message, UnknownFields unknown) {
  std::unique_ptr<gpb::util::TypeResolver> resolver(gpb::util::NewTypeResolverForDescriptorPool(
      std::string(kTypeUrlPrefix), gpb::DescriptorPool::generated_pool()));
  gpb::util::JsonParseOptions options;
  // Also makes unknown enum names leave the field unset.
  options.ignore_unknown_fields = unknown == UnknownFields::kIgnore;
  std::string binary;
  auto status = gpb::util::JsonToBinaryString(
      resolver.get(), fmt::format("{}/{}", kTypeUrlPrefix, message.GetDescriptor()->full_name()),
      gpb::StringPiece(body.data(), body.size()), &binary, options);
  if (!status.ok()) {
    std::string problem(status.message().data(), status.message().size());
    // The transcoder puts the field's path before ": "; at the top it is empty.
    if (problem.rfind(": ", 0) == 0) problem.erase(0, 2);
    return makeError(ErrorCode::kInvalidArgument, "{}", problem);
  }
  if (!message.ParsePartialFromString(binary)) {
    return makeError(ErrorCode::kInvalidArgument, "the JSON transcoder produced an unparsable message");
  }
  return Status();
}

template <typename M>
Result<std::string> encodeMessage(std::string_view api, const M& message, ContentType type) {
  auto context = [&] {
    return fmt::format("encoding {} as {}", describe(api, message), contentTypeHeader(type));
  };
  if (!message.IsInitialized()) {
    return makeError(ErrorCode::kInvalidArgument, "{}: missing required fields: {}", context(),
                     message.InitializationErrorString());
  }
  std::string body;
  if (type == ContentType::kProtobuf) {
    if (!message.SerializeToString(&body)) {
      return makeError(ErrorCode::kInternal, "{}: protobuf serialization failed", context());
    }
    return body;
  }
  if (auto field = findNonUtf8String(message)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: {} is not UTF-8, which JSON cannot carry (protobuf can)", context(),
                     *field);
  }
  gpb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // The printer works from the binary form, where proto2 keeps an enum value
  // it does not name as an unknown field: it would print it as a number
  // ("type": 8), which Mesos refuses. So unknown fields go first.
  std::optional<M> known;
  if (findUnknownField(message)) {
    known = message;
    known->DiscardUnknownFields();
  }
  auto status = gpb::util::MessageToJsonString(known ? *known : message, &body, options);
  if (!status.ok()) {
    return makeError(ErrorCode::kInternal, "{}: {}", context(), status.ToString());
  }
  return body;
}

template <typename M>
Result<M> decodeMessage(std::string_view api, std::string_view body, ContentType type,
                        UnknownFields unknown) {
  M message;
  auto fail = [&](const std::string& problem) -> Error {
    // The type is named when enough of the body parsed to know it.
    return makeError(ErrorCode::kInvalidArgument, "decoding {} from {} ({} bytes): {}",
                     describe(api, message), contentTypeHeader(type), body.size(), problem);
  };
  if (body.size() > static_cast<std::size_t>(INT_MAX)) return fail("body too large");

  if (type == ContentType::kProtobuf) {
    if (!message.ParsePartialFromArray(body.data(), static_cast<int>(body.size()))) {
      message.Clear();
      return fail(fmt::format("not a serialized {}", M::descriptor()->full_name()));
    }
  } else {
    Status parsed = jsonToMessage(body, message, unknown);
    if (!parsed.ok()) {
      message.Clear();
      return fail(parsed.error().message);
    }
  }

  if (unknown == UnknownFields::kReject) {
    if (auto found = findUnknownField(message)) return fail(*found);
  }
  if (!message.IsInitialized()) {
    return fail("missing required fields: " + message.InitializationErrorString());
  }
  return message;
}

}  // namespace

Status decodeJsonMessage(std::string_view body, google::protobuf::Message& message) {
  if (body.size() > static_cast<std::size_t>(INT_MAX)) {
    return makeError(ErrorCode::kInvalidArgument, "body too large");
  }
  return jsonToMessage(body, message, UnknownFields::kIgnore);
}

std::string_view contentTypeHeader(ContentType type) {
  return type == ContentType::kProtobuf ? kProtobufContentType : kJsonContentType;
}

Result<ContentType> parseContentType(std::string_view header) {
  if (header == kProtobufContentType) return ContentType::kProtobuf;
  if (header == kJsonContentType) return ContentType::kJson;
  return makeError(ErrorCode::kInvalidArgument,
                   "unsupported content type '{}' (expected exactly '{}' or '{}')", header,
                   kJsonContentType, kProtobufContentType);
}

Result<std::string> encode(const SchedulerCall& call, ContentType type) {
  return encodeMessage("scheduler", call, type);
}

Result<std::string> encode(const SchedulerEvent& event, ContentType type) {
  return encodeMessage("scheduler", event, type);
}

Result<std::string> encode(const ExecutorCall& call, ContentType type) {
  return encodeMessage("executor", call, type);
}

Result<std::string> encode(const ExecutorEvent& event, ContentType type) {
  return encodeMessage("executor", event, type);
}

Result<SchedulerCall> decodeSchedulerCall(std::string_view body, ContentType type,
                                          UnknownFields unknown) {
  return decodeMessage<SchedulerCall>("scheduler", body, type, unknown);
}

Result<SchedulerEvent> decodeSchedulerEvent(std::string_view body, ContentType type,
                                            UnknownFields unknown) {
  return decodeMessage<SchedulerEvent>("scheduler", body, type, unknown);
}

Result<ExecutorCall> decodeExecutorCall(std::string_view body, ContentType type,
                                        UnknownFields unknown) {
  return decodeMessage<ExecutorCall>("executor", body, type, unknown);
}

Result<ExecutorEvent> decodeExecutorEvent(std::string_view body, ContentType type,
                                          UnknownFields unknown) {
  return decodeMessage<ExecutorEvent>("executor", body, type, unknown);
}

}  // namespace tailor::mesos
