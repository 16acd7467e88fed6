#include "common/json.hpp"

#include <google/protobuf/util/json_util.h>

namespace tailor {

Result<std::string> printJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto printed = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!printed.ok()) {
    return makeError(ErrorCode::kInternal, "cannot print {} as JSON: {}",
                     message.GetDescriptor()->full_name(), std::string(printed.message()));
  }
  return json;
}

}  // namespace tailor
