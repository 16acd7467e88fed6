#include "tests/fake_mesos/wire.hpp"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "common/base64.hpp"
#include "mesos/recordio.hpp"

namespace tailor::fake_mesos {

// Doubles always carry a fraction or exponent ("15.0", "0.1", "1795254696.5489617").
std::string formatMesosDouble(double value) {
  if (std::isnan(value)) return "\"NaN\"";
  if (std::isinf(value)) return value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

namespace {

namespace gpb = google::protobuf;

void appendMessage(std::string& out, const gpb::Message& message);

// One value of `field`: the element at `index` of a repeated field, or the
// singular value (its default when unset) for index -1.
void appendValue(std::string& out, const gpb::Message& message, const gpb::FieldDescriptor* field,
                 int index) {
  const gpb::Reflection* r = message.GetReflection();
  bool repeated = index >= 0;
  switch (field->cpp_type()) {
    case gpb::FieldDescriptor::CPPTYPE_INT32:
      out += std::to_string(repeated ? r->GetRepeatedInt32(message, field, index)
                                     : r->GetInt32(message, field));
      break;
    case gpb::FieldDescriptor::CPPTYPE_INT64:
      out += std::to_string(repeated ? r->GetRepeatedInt64(message, field, index)
                                     : r->GetInt64(message, field));
      break;
    case gpb::FieldDescriptor::CPPTYPE_UINT32:
      out += std::to_string(repeated ? r->GetRepeatedUInt32(message, field, index)
                                     : r->GetUInt32(message, field));
      break;
    case gpb::FieldDescriptor::CPPTYPE_UINT64:
      out += std::to_string(repeated ? r->GetRepeatedUInt64(message, field, index)
                                     : r->GetUInt64(message, field));
      break;
    case gpb::FieldDescriptor::CPPTYPE_DOUBLE:
      out += formatMesosDouble(repeated ? r->GetRepeatedDouble(message, field, index)
                                        : r->GetDouble(message, field));
      break;
    case gpb::FieldDescriptor::CPPTYPE_FLOAT:
      out += formatMesosDouble(repeated ? r->GetRepeatedFloat(message, field, index)
                                        : r->GetFloat(message, field));
      break;
    case gpb::FieldDescriptor::CPPTYPE_BOOL:
      out += (repeated ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                 ? "true"
                 : "false";
      break;
    case gpb::FieldDescriptor::CPPTYPE_ENUM: {
      int number = repeated ? r->GetRepeatedEnumValue(message, field, index)
                            : r->GetEnumValue(message, field);
      const gpb::EnumValueDescriptor* value = field->enum_type()->FindValueByNumber(number);
      out += value != nullptr ? jsonString(value->name()) : std::to_string(number);
      break;
    }
    case gpb::FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = repeated
                                    ? r->GetRepeatedStringReference(message, field, index, &scratch)
                                    : r->GetStringReference(message, field, &scratch);
      out += field->type() == gpb::FieldDescriptor::TYPE_BYTES ? "\"" + base64Encode(text) + "\""
                                                               : jsonString(text);
      break;
    }
    case gpb::FieldDescriptor::CPPTYPE_MESSAGE:
      appendMessage(out, repeated ? r->GetRepeatedMessage(message, field, index)
                                  : r->GetMessage(message, field));
      break;
  }
}

// A map field as a JSON object keyed by the entries' keys.
void appendMap(std::string& out, const gpb::Message& message, const gpb::FieldDescriptor* field) {
  const gpb::Reflection* r = message.GetReflection();
  out += '{';
  int size = r->FieldSize(message, field);
  for (int i = 0; i < size; ++i) {
    const gpb::Message& entry = r->GetRepeatedMessage(message, field, i);
    const gpb::FieldDescriptor* key = entry.GetDescriptor()->FindFieldByNumber(1);
    const gpb::FieldDescriptor* value = entry.GetDescriptor()->FindFieldByNumber(2);
    if (i > 0) out += ',';
    std::string keyText;
    appendValue(keyText, entry, key, -1);
    if (keyText.empty() || keyText.front() != '"') keyText = "\"" + keyText + "\"";
    out += keyText + ":";
    appendValue(out, entry, value, -1);
  }
  out += '}';
}

void appendMessage(std::string& out, const gpb::Message& message) {
  const gpb::Descriptor* descriptor = message.GetDescriptor();
  const gpb::Reflection* r = message.GetReflection();
  out += '{';
  bool first = true;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const gpb::FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) {
      if (r->FieldSize(message, field) == 0) continue;
    } else if (!r->HasField(message, field) &&
               !(field->has_default_value() && !field->options().deprecated())) {
      continue;
    }
    if (!first) out += ',';
    first = false;
    out += jsonString(field->name()) + ":";
    if (field->is_map()) {
      appendMap(out, message, field);
    } else if (field->is_repeated()) {
      out += '[';
      int size = r->FieldSize(message, field);
      for (int j = 0; j < size; ++j) {
        if (j > 0) out += ',';
        appendValue(out, message, field, j);
      }
      out += ']';
    } else {
      appendValue(out, message, field, -1);
    }
  }
  out += '}';
}

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  auto end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The codec's explanation without its "decoding ... (N bytes): " prefix.
std::string problemOf(const Error& error) {
  auto colon = error.message.find("): ");
  return colon == std::string::npos ? error.message : error.message.substr(colon + 3);
}

template <typename Call, typename Decode>
std::variant<DecodedCall<Call>, http::Response> decodeRequest(const http::Request& request,
                                                              Decode decode) {
  if (request.method != "POST") return methodNotAllowed(request.method);
  auto header = request.headers.find("content-type");
  if (header == request.headers.end()) {
    return textResponse(400, "Expecting 'Content-Type' to be present");
  }
  auto type = mesos::parseContentType(header->second);
  if (!type.ok()) {
    return textResponse(415,
                        "Expecting 'Content-Type' of application/json or application/x-protobuf");
  }
  if (*type == ContentType::kJson) {
    gpb::Value any;
    auto syntax = gpb::util::JsonStringToMessage(request.body, &any);
    if (!syntax.ok()) {
      return textResponse(400, "Failed to parse body into JSON: " +
                                   std::string(syntax.message().data(), syntax.message().size()));
    }
  }
  auto call = decode(request.body, *type);
  if (!call.ok()) {
    if (*type == ContentType::kProtobuf) {
      return textResponse(400, "Failed to parse body into Call protobuf");
    }
    return textResponse(400,
                        "Failed to convert JSON into Call protobuf: " + problemOf(call.error()));
  }
  return DecodedCall<Call>{std::move(*call), *type};
}

}  // namespace

std::string toMesosJson(const google::protobuf::Message& message) {
  std::string out;
  appendMessage(out, message);
  return out;
}

std::string encodeBody(const google::protobuf::Message& message, ContentType type) {
  if (type == ContentType::kJson) return toMesosJson(message);
  std::string body;
  message.SerializeToString(&body);
  return body;
}

std::string encodeEventRecord(const google::protobuf::Message& event, ContentType type) {
  return mesos::encodeRecord(encodeBody(event, type));
}

std::string jsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

bool acceptsMediaType(const std::string& acceptHeader, std::string_view mediaType) {
  if (trim(acceptHeader).empty()) return true;
  std::string wanted = lower(std::string(mediaType));
  std::string wantedType = wanted.substr(0, wanted.find('/'));
  std::string_view rest = acceptHeader;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto semicolon = item.find(';');
    std::string range = lower(trim(item.substr(0, semicolon)));
    double q = 1.0;
    while (semicolon != std::string_view::npos) {
      item = item.substr(semicolon + 1);
      semicolon = item.find(';');
      std::string param = trim(item.substr(0, semicolon));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        q = std::atof(param.c_str() + 2);
      }
    }
    if (q <= 0) continue;
    if (range == "*/*" || range == wanted || range == wantedType + "/*") return true;
  }
  return false;
}

std::optional<ContentType> negotiateStreamEncoding(const std::string& acceptHeader) {
  if (acceptsMediaType(acceptHeader, mesos::kJsonContentType)) return ContentType::kJson;
  if (acceptsMediaType(acceptHeader, mesos::kProtobufContentType)) return ContentType::kProtobuf;
  return std::nullopt;
}

std::variant<DecodedCall<mesos::SchedulerCall>, http::Response> decodeSchedulerRequest(
    const http::Request& request) {
  return decodeRequest<mesos::SchedulerCall>(request, [](std::string_view body, ContentType type) {
    return mesos::decodeSchedulerCall(body, type);
  });
}

std::variant<DecodedCall<mesos::ExecutorCall>, http::Response> decodeExecutorRequest(
    const http::Request& request) {
  return decodeRequest<mesos::ExecutorCall>(request, [](std::string_view body, ContentType type) {
    return mesos::decodeExecutorCall(body, type);
  });
}

http::Response textResponse(int status, std::string body) {
  return http::Response::text(status, std::move(body));
}

http::Response methodNotAllowed(const std::string& method) {
  auto response = textResponse(405, "Expecting one of { 'POST' }, but received '" + method + "'");
  response.headers.emplace_back("Allow", "POST");
  return response;
}

http::Response notAcceptable() {
  return textResponse(406,
                      "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
}

std::string formatStoutDuration(Duration duration) {
  struct Unit {
    double nanos;
    const char* name;
  };
  static const Unit kUnits[] = {{604800e9, "weeks"}, {86400e9, "days"}, {3600e9, "hrs"},
                                {60e9, "mins"},      {1e9, "secs"},     {1e6, "ms"},
                                {1e3, "us"}};
  double nanos = static_cast<double>(duration.count()) * 1e6;
  for (const Unit& unit : kUnits) {
    if (nanos >= unit.nanos) return fmt::format("{}{}", nanos / unit.nanos, unit.name);
  }
  return fmt::format("{}ns", nanos);
}

bool isTerminalState(int state) {
  switch (state) {
    case ::mesos::v1::TASK_FINISHED:
    case ::mesos::v1::TASK_FAILED:
    case ::mesos::v1::TASK_KILLED:
    case ::mesos::v1::TASK_ERROR:
    case ::mesos::v1::TASK_LOST:
    case ::mesos::v1::TASK_DROPPED:
    case ::mesos::v1::TASK_GONE:
    case ::mesos::v1::TASK_GONE_BY_OPERATOR:
      return true;
    default:
      return false;
  }
}

std::map<std::string, std::string> parseQuery(std::string_view query) {
  auto decode = [](std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '+') {
        out += ' ';
      } else if (text[i] == '%' && i + 2 < text.size()) {
        int value = 0;
        auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
        if (ec == std::errc() && end == text.data() + i + 3) {
          out += static_cast<char>(value);
          i += 2;
        } else {
          out += text[i];
        }
      } else {
        out += text[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    params[decode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
  }
  return params;
}

}  // namespace tailor::fake_mesos
