#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tailor {

// Standard base64 (RFC 4648, with padding), e.g. for HTTP Basic credentials.
std::string base64Encode(std::string_view data);

}  // namespace tailor

namespace tailor {

// Decodes standard base64 (padding required when the length is not a
// multiple of 4); nullopt for any other character or a bad length.
std::optional<std::string> base64Decode(std::string_view text);

// base64url without padding (RFC 4648 section 5), e.g. for random tokens.
std::string base64UrlEncode(std::string_view data);

}  // namespace tailor
