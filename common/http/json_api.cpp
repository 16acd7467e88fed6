#include "common/http/json_api.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "common/json.hpp"

namespace tailor::http {

namespace {

std::string toJson(const google::protobuf::Message& message) {
  auto json = printJson(message);
  // Our own messages always print; a failure here is a bug, not bad input.
  if (!json.ok()) std::abort();
  return *json;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

http::Response json(int status, const google::protobuf::Message& message) {
  http::Response response;
  response.status = status;
  response.contentType = "application/json";
  response.body = toJson(message);
  return response;
}

http::Response apiError(int status, const std::string& code, const std::string& message) {
  v1::ApiError error;
  error.set_code(code);
  error.set_message(message);
  return json(status, error);
}

http::Response errorResponse(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return apiError(400, "INVALID_ARGUMENT", error.message);
    case ErrorCode::kNotFound: return apiError(404, "NOT_FOUND", error.message);
    case ErrorCode::kFailedPrecondition: return apiError(409, "CONFLICT", error.message);
    case ErrorCode::kUnavailable: return apiError(503, "UNAVAILABLE", error.message);
    default: return apiError(500, "INTERNAL", error.message);
  }
}

std::string decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() + 0 && hexValue(text[i + 1]) >= 0 &&
               hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A non-negative integer query parameter, or an error naming it.
Result<std::int64_t> intParameter(const std::map<std::string, std::string>& query,
                                  const std::string& name, std::int64_t fallback) {
  auto it = query.find(name);
  if (it == query.end()) return fallback;
  std::int64_t value = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "query parameter '{}': '{}' is not a non-negative integer", name, text);
  }
  return value;
}


v1::LogChunk toLogChunk(FileChunk read, const std::string& label) {
  replaceInvalidUtf8(read.data);
  v1::LogChunk chunk;
  chunk.set_data(std::move(read.data));
  chunk.set_offset(static_cast<double>(read.offset));
  chunk.set_size(static_cast<double>(read.size));
  chunk.set_path(label);
  return chunk;
}


Result<LogWindow> parseLogWindow(const std::map<std::string, std::string>& query,
                                 std::int64_t maxChunk) {
  auto offset = intParameter(query, "offset", 0);
  if (!offset.ok()) return offset.error();
  auto length = intParameter(query, "length", maxChunk);
  if (!length.ok()) return length.error();
  auto tail = intParameter(query, "tail", -1);
  if (query.count("tail") != 0 && !tail.ok()) return tail.error();
  return LogWindow{*offset, std::min(*length, maxChunk),
                   query.count("tail") != 0 ? std::min(*tail, maxChunk) : -1};
}

// The window of the log at `path` the query asks for (400 for a bad query).
http::Response logChunk(const std::string& path, const std::string& label,
                        const std::map<std::string, std::string>& query, std::int64_t maxChunk) {
  auto window = parseLogWindow(query, maxChunk);
  if (!window.ok()) return errorResponse(window.error());
  FileChunk read = readFileChunk(path, window->offset, window->length, window->tail);
  return json(200, toLogChunk(std::move(read), label));
}


std::map<std::string, std::string> parseQuery(const std::string& query) {
  std::map<std::string, std::string> parameters;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    if (!pair.empty()) {
      auto equals = pair.find('=');
      parameters[decode(pair.substr(0, equals))] =
          equals == std::string::npos ? "" : decode(pair.substr(equals + 1));
    }
    start = end + 1;
  }
  return parameters;
}

}  // namespace tailor::http
