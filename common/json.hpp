#pragma once

// The JSON that people and scripts read (run reports, the Dispatcher's API):
// protobuf's JSON mapping with field names as written in the .proto files,
// every field printed (defaults too), indented.

#include <string>

#include <google/protobuf/message.h>

#include "common/result.hpp"

namespace tailor {

// An error only when protobuf cannot print the message.
Result<std::string> printJson(const google::protobuf::Message& message);

}  // namespace tailor
