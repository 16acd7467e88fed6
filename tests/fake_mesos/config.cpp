#include "tests/fake_mesos/config.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;

// Splits on `separator` outside [] and {}.
std::vector<std::string> splitTopLevel(std::string_view text, char separator) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string current;
  for (char c : text) {
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') --depth;
    if (c == separator && depth == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  return parts;
}

std::optional<double> parseNumber(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "31000-31099" or "[31000-31099;32000-32099]" (',' also separates inside brackets).
Result<std::vector<ResourceSet::Range>> parseRanges(std::string_view text) {
  std::string body(text);
  if (!body.empty() && body.front() == '[' && body.back() == ']') {
    body = body.substr(1, body.size() - 2);
  }
  std::vector<ResourceSet::Range> ranges;
  for (char& c : body) {
    if (c == ',') c = ';';
  }
  for (const auto& piece : splitTopLevel(body, ';')) {
    auto dash = piece.find('-');
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    auto first = std::from_chars(
        piece.data(), piece.data() + (dash == std::string::npos ? piece.size() : dash), begin);
    bool ok = first.ec == std::errc();
    if (dash == std::string::npos) {
      end = begin;
    } else {
      auto second = std::from_chars(piece.data() + dash + 1, piece.data() + piece.size(), end);
      ok = ok && second.ec == std::errc() && second.ptr == piece.data() + piece.size();
    }
    if (!ok || begin > end) {
      return makeError(ErrorCode::kInvalidArgument, "bad range '{}' in '{}'", piece, text);
    }
    ranges.emplace_back(begin, end);
  }
  return ranges;
}

Result<v1::Attribute> parseAttribute(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return makeError(ErrorCode::kInvalidArgument, "attribute '{}' is not name:value", text);
  }
  v1::Attribute attribute;
  attribute.set_name(std::string(text.substr(0, colon)));
  std::string value(text.substr(colon + 1));
  if (auto number = parseNumber(value)) {
    attribute.set_type(v1::Value::SCALAR);
    attribute.mutable_scalar()->set_value(*number);
  } else if (!value.empty() && value.front() == '[') {
    auto ranges = parseRanges(value);
    if (!ranges.ok()) return ranges.error();
    attribute.set_type(v1::Value::RANGES);
    for (const auto& [begin, end] : *ranges) {
      auto* range = attribute.mutable_ranges()->add_range();
      range->set_begin(begin);
      range->set_end(end);
    }
  } else if (!value.empty() && value.front() == '{' && value.back() == '}') {
    attribute.set_type(v1::Value::SET);
    for (const auto& item : splitTopLevel(value.substr(1, value.size() - 2), ';')) {
      if (!item.empty()) attribute.mutable_set()->add_item(item);
    }
  } else {
    attribute.set_type(v1::Value::TEXT);
    attribute.mutable_text()->set_value(value);
  }
  return attribute;
}

}  // namespace

Result<AgentSpec> parseAgentSpec(std::string_view text) {
  std::map<std::string, std::string> values = {
      {"cpus", "4"}, {"mem", "8192"}, {"disk", "20000"}, {"ports", "31000-32000"}};
  std::vector<std::string> extra;
  AgentSpec spec;
  for (const auto& item : splitTopLevel(text, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return makeError(ErrorCode::kInvalidArgument, "'{}' in agent '{}' is not key=value", item,
                       text);
    }
    std::string key = item.substr(0, eq);
    std::string value = item.substr(eq + 1);
    if (key == "attributes") {
      for (const auto& piece : splitTopLevel(value, ';')) {
        if (piece.empty()) continue;
        auto attribute = parseAttribute(piece);
        if (!attribute.ok()) return attribute.error();
        spec.attributes.push_back(*attribute);
      }
      continue;
    }
    if (values.count(key) == 0 && key != "gpus") extra.push_back(key);
    values[key] = value;
  }
  std::vector<std::string> order = {"ports", "cpus", "gpus", "mem", "disk"};
  order.insert(order.end(), extra.begin(), extra.end());
  for (const auto& name : order) {
    auto it = values.find(name);
    if (it == values.end()) continue;
    if (auto number = parseNumber(it->second)) {
      if (*number < 0 || (name == "gpus" && *number != static_cast<std::int64_t>(*number))) {
        return makeError(ErrorCode::kInvalidArgument, "bad amount '{}' for {}", it->second, name);
      }
      spec.resources.addScalar(name, toThousandths(*number));
      continue;
    }
    auto ranges = parseRanges(it->second);
    if (!ranges.ok()) {
      return makeError(ErrorCode::kInvalidArgument, "bad value '{}' for {} in agent '{}'",
                       it->second, name, text);
    }
    for (const auto& range : *ranges) spec.resources.addRange(name, range);
  }
  return spec;
}

}  // namespace tailor::fake_mesos
