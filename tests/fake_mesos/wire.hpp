#pragma once

// The wire details the fake master and agent share with a real Mesos 1.12:
//  - events in JSON exactly as Mesos prints them (stout's JSON::protobuf:
//    proto field names in declaration order, only set fields plus unset
//    non-deprecated optional fields with an explicit default, doubles with a
//    fraction, 64-bit integers as numbers, bytes in standard base64), or as
//    serialized protobuf; each framed as one RecordIO record;
//  - the request checks both v1 API endpoints make before they look at a
//    call (method, Content-Type, body, Accept) with Mesos' status codes and
//    plain-text bodies;
//  - stout's duration format ("5secs", "15mins") used in executor variables.
// Calls are decoded with Tailor's codec (mesos/codec.hpp). Pure functions.

#include <google/protobuf/message.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/event_loop.hpp"
#include "common/http/server.hpp"
#include "mesos/codec.hpp"

namespace tailor::fake_mesos {

using mesos::ContentType;

// The message as Mesos prints it in JSON.
std::string toMesosJson(const google::protobuf::Message& message);

// One RecordIO record holding `event` in `type` (protobuf or Mesos JSON).
std::string encodeEventRecord(const google::protobuf::Message& event, ContentType type);

// The body of `message` in `type` (protobuf or Mesos JSON), without framing.
std::string encodeBody(const google::protobuf::Message& message, ContentType type);

// A double as Mesos' JSON prints it: always with a fraction or exponent
// ("15.0", "0.1", "1795254696.5489617").
std::string formatMesosDouble(double value);

// A JSON string literal for `text`, quotes included.
std::string jsonString(std::string_view text);

// True if an `Accept` header value admits `mediaType` (libprocess'
// Request::acceptsMediaType: absent header, `*/*`, `type/*` or the exact type,
// with any q > 0).
bool acceptsMediaType(const std::string& acceptHeader, std::string_view mediaType);

// The encoding of a response stream chosen from `Accept` like Mesos: JSON when
// acceptable at all, else protobuf, else nothing (406).
std::optional<ContentType> negotiateStreamEncoding(const std::string& acceptHeader);

// A request to an API endpoint that passed the method, Content-Type and body
// checks: the decoded call and the request's content type.
template <typename Call>
struct DecodedCall {
  Call call;
  ContentType contentType;
};

// Checks `request` as the master's scheduler endpoint and the agent's executor
// endpoint do before any call-specific validation, answering like them:
// 405 (not POST), 400 (no Content-Type), 415 (not exactly one of the two types),
// 400 (body that does not parse). Otherwise the decoded call.
std::variant<DecodedCall<mesos::SchedulerCall>, http::Response> decodeSchedulerRequest(
    const http::Request& request);
std::variant<DecodedCall<mesos::ExecutorCall>, http::Response> decodeExecutorRequest(
    const http::Request& request);

// Mesos' plain-text answers.
http::Response textResponse(int status, std::string body);
http::Response methodNotAllowed(const std::string& method);  // 405 + `Allow: POST`
http::Response notAcceptable();                              // 406

// stout's Duration text: the largest unit giving a value of at least 1
// ("5secs", "15mins", "1.5secs", "250ms").
std::string formatStoutDuration(Duration duration);

// Terminal for resource accounting: FINISHED, FAILED, KILLED, ERROR, LOST,
// DROPPED, GONE, GONE_BY_OPERATOR (reference §5.3).
bool isTerminalState(int state);

// Query parameters of a URL, percent-decoded; later keys win.
std::map<std::string, std::string> parseQuery(std::string_view query);

}  // namespace tailor::fake_mesos
