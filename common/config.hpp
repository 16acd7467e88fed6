#pragma once

// Parsing of configuration values shared by the binaries' flags.

#include <string_view>

#include "common/event_loop.hpp"
#include "common/result.hpp"

namespace tailor {

// Parses "250ms", "5s", "2m", "1h"; a plain number means seconds.
Result<Duration> parseDuration(std::string_view text);

}  // namespace tailor
