#include "common/config.hpp"

#include <charconv>
#include <cmath>

namespace tailor {

Result<Duration> parseDuration(std::string_view text) {
  size_t split = 0;
  while (split < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[split])) || text[split] == '.')) {
    ++split;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + split, value);
  std::string_view unit = text.substr(split);
  double scale = -1;
  if (unit.empty() || unit == "s") scale = 1000;
  if (unit == "ms") scale = 1;
  if (unit == "m") scale = 60000;
  if (unit == "h") scale = 3600000;
  if (split == 0 || ec != std::errc() || end != text.data() + split || scale < 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'{}' is not a duration (expected a number with ms, s, m or h, e.g. 5s)",
                     text);
  }
  // Far beyond any real duration, and before llround could overflow.
  if (value * scale > 1e15) {
    return makeError(ErrorCode::kInvalidArgument, "'{}' is too long a duration", text);
  }
  return Duration(static_cast<Duration::rep>(std::llround(value * scale)));
}

}  // namespace tailor
