#pragma once

// The pieces of a JSON REST API over the HTTP server: answers with a JSON
// body (protobuf's JSON mapping, as common/json.hpp prints it), errors as
// `{code, message}`, query strings, and windows of log files. Shared by the
// Dispatcher's API and the one `tailor run --ui` serves.

#include <cstdint>
#include <map>
#include <string>

#include <google/protobuf/message.h>

#include "common/file_chunk.hpp"
#include "common/http/server.hpp"
#include "common/result.hpp"
#include "tailor/v1/dispatcher.pb.h"

namespace tailor::http {

// `message` as the JSON body of an answer with `status`.
Response json(int status, const google::protobuf::Message& message);

// An ApiError answer: {"code": CODE, "message": MESSAGE}.
Response apiError(int status, const std::string& code, const std::string& message);

// An Error as its HTTP answer: 400, 404, 409, 503 or 500 with its message.
Response errorResponse(const Error& error);

// `text` with %XX and '+' decoded.
std::string decode(const std::string& text);

// A query string's decoded parameters (the last of repeated ones).
std::map<std::string, std::string> parseQuery(const std::string& query);

// A non-negative integer query parameter, `fallback` when absent, or an
// error naming it.
Result<std::int64_t> intParameter(const std::map<std::string, std::string>& query,
                                  const std::string& name, std::int64_t fallback);

// A window of a log as the API returns it (invalid UTF-8 replaced).
v1::LogChunk toLogChunk(FileChunk read, const std::string& label);

// Which part of a log a request asks for: ?offset=N&length=M or ?tail=M,
// lengths capped at `maxChunk`.
struct LogWindow {
  std::int64_t offset = 0;
  std::int64_t length = 0;
  std::int64_t tail = -1;  // >= 0: the last `tail` bytes instead
};
Result<LogWindow> parseLogWindow(const std::map<std::string, std::string>& query,
                                 std::int64_t maxChunk);

// The window of the log at `path` the query asks for (400 for a bad query).
Response logChunk(const std::string& path, const std::string& label,
                  const std::map<std::string, std::string>& query, std::int64_t maxChunk);

}  // namespace tailor::http
