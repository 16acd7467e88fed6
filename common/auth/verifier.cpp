#include "common/auth/verifier.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <cstdlib>
#include <vector>

#include "common/base64.hpp"

namespace tailor::auth {

namespace {

constexpr std::string_view kPasswordForm = "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>";
constexpr std::string_view kTokenForm = "sha256$<64 hex digits: the SHA-256 of the token>";

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string toHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string pbkdf2Sha256(std::string_view password, std::string_view salt, int iterations,
                         int length) {
  std::string out(static_cast<size_t>(length), '\0');
  int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                             reinterpret_cast<const unsigned char*>(salt.data()),
                             static_cast<int>(salt.size()), iterations, EVP_sha256(), length,
                             reinterpret_cast<unsigned char*>(out.data()));
  if (ok != 1) std::abort();  // only for arguments the preconditions rule out
  return out;
}

Result<std::string> randomBytes(int count) {
  std::string out(static_cast<size_t>(count), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), count) != 1) {
    return makeError(ErrorCode::kInternal, "OpenSSL's RAND_bytes could not draw {} random bytes",
                     count);
  }
  return out;
}

bool sameBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string formatPasswordVerifier(const PasswordVerifier& verifier) {
  return fmt::format("pbkdf2-sha256${}${}${}", verifier.iterations, base64Encode(verifier.salt),
                     base64Encode(verifier.hash));
}

Result<PasswordVerifier> parsePasswordVerifier(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dollar = text.find('$', start);
    parts.push_back(text.substr(
        start, dollar == std::string_view::npos ? std::string_view::npos : dollar - start));
    if (dollar == std::string_view::npos) break;
    start = dollar + 1;
  }
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") {
    return makeError(ErrorCode::kInvalidArgument, "not a password verifier (expected {})",
                     kPasswordForm);
  }
  PasswordVerifier verifier;
  auto [end, ec] =
      std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), verifier.iterations);
  if (ec != std::errc() || end != parts[1].data() + parts[1].size() ||
      verifier.iterations < kMinIterations || verifier.iterations > kMaxIterations) {
    return makeError(ErrorCode::kInvalidArgument,
                     "iterations '{}' is not an integer from {} to {} (expected {})", parts[1],
                     kMinIterations, kMaxIterations, kPasswordForm);
  }
  auto salt = base64Decode(parts[2]);
  auto hash = base64Decode(parts[3]);
  if (!salt || salt->size() < 8) {
    return makeError(ErrorCode::kInvalidArgument,
                     "the salt is not base64 of at least 8 bytes (expected {})", kPasswordForm);
  }
  if (!hash || hash->size() < 16) {
    return makeError(ErrorCode::kInvalidArgument,
                     "the hash is not base64 of at least 16 bytes (expected {})", kPasswordForm);
  }
  verifier.salt = std::move(*salt);
  verifier.hash = std::move(*hash);
  return verifier;
}

Result<PasswordVerifier> hashPassword(std::string_view password, int iterations) {
  auto salt = randomBytes(16);
  if (!salt.ok()) return salt.error();
  PasswordVerifier verifier;
  verifier.iterations = iterations;
  verifier.salt = std::move(*salt);
  verifier.hash = pbkdf2Sha256(password, verifier.salt, iterations, 32);
  return verifier;
}

bool verifyPassword(const PasswordVerifier& verifier, std::string_view password) {
  std::string derived = pbkdf2Sha256(password, verifier.salt, verifier.iterations,
                                     static_cast<int>(verifier.hash.size()));
  return sameBytes(derived, verifier.hash);
}

std::string formatTokenVerifier(std::string_view token) { return "sha256$" + toHex(sha256(token)); }

Result<std::string> parseTokenVerifier(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256$";
  if (text.substr(0, kPrefix.size()) != kPrefix || text.size() != kPrefix.size() + 64) {
    return makeError(ErrorCode::kInvalidArgument, "not a token verifier (expected {})", kTokenForm);
  }
  std::string digest;
  for (size_t i = kPrefix.size(); i < text.size(); i += 2) {
    int high = hexDigit(text[i]);
    int low = hexDigit(text[i + 1]);
    if (high < 0 || low < 0) {
      return makeError(ErrorCode::kInvalidArgument, "'{}' is not a hex digit (expected {})",
                       high < 0 ? text[i] : text[i + 1], kTokenForm);
    }
    digest += static_cast<char>(high * 16 + low);
  }
  return digest;
}

}  // namespace tailor::auth
