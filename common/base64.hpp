#pragma once

#include <string>
#include <string_view>

namespace tailor {

// Standard base64 (RFC 4648, with padding), e.g. for HTTP Basic credentials.
std::string base64Encode(std::string_view data);

}  // namespace tailor
