#pragma once

// The secrets of REST authentication as a credentials file keeps them
// (docs/security.md, "REST authentication"): passwords as PBKDF2-HMAC-SHA256
// verifiers, tokens as their SHA-256. OpenSSL does the cryptography.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tailor::auth {

// What `tailor auth hash-password` writes: 600,000 is OWASP's figure for
// PBKDF2-HMAC-SHA256 (its cost on a Dispatcher: docs/security.md).
inline constexpr int kDefaultIterations = 600000;
// Verifiers with fewer or more iterations are refused when read.
inline constexpr int kMinIterations = 1000;
inline constexpr int kMaxIterations = 10000000;

// SHA-256 of `data`, 32 raw bytes.
std::string sha256(std::string_view data);

// Lower-case hex of `bytes`.
std::string toHex(std::string_view bytes);

// PBKDF2-HMAC-SHA256 of `password` with `salt`, `length` raw bytes.
// Precondition: iterations >= 1, length >= 1.
std::string pbkdf2Sha256(std::string_view password, std::string_view salt, int iterations,
                         int length);

// `count` bytes from OpenSSL's RAND_bytes; kInternal when it has no entropy.
Result<std::string> randomBytes(int count);

// Constant-time equality (CRYPTO_memcmp) of two byte strings; false when
// their lengths differ.
bool sameBytes(std::string_view a, std::string_view b);

// A password verifier: PBKDF2-HMAC-SHA256 parameters and the derived key.
struct PasswordVerifier {
  int iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};

// "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>".
std::string formatPasswordVerifier(const PasswordVerifier& verifier);

// Parses the form above; an error says what is wrong and the expected form.
Result<PasswordVerifier> parsePasswordVerifier(std::string_view text);

// A verifier for `password` with a fresh 16-byte salt and `iterations`.
Result<PasswordVerifier> hashPassword(std::string_view password, int iterations);

// Whether `password` matches (PBKDF2 once, compared in constant time).
bool verifyPassword(const PasswordVerifier& verifier, std::string_view password);

// "sha256$<hex of SHA-256 of token>".
std::string formatTokenVerifier(std::string_view token);

// Parses "sha256$<64 hex digits>" into the 32-byte digest.
Result<std::string> parseTokenVerifier(std::string_view text);

}  // namespace tailor::auth
