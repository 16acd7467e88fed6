#include "common/auth/jwt.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "common/base64.hpp"

namespace tailor::auth {
namespace {

// base64url without padding -> bytes (nullopt when it is not).
std::optional<std::string> decodeBase64Url(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return std::nullopt;  // not base64url
    }
  }
  while (standard.size() % 4 != 0) standard += '=';
  return base64Decode(standard);
}

// The JSON object of a JWT part, or nullopt.
std::optional<google::protobuf::Struct> jsonObject(std::string_view part) {
  auto bytes = decodeBase64Url(part);
  if (!bytes) return std::nullopt;
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(*bytes, &object).ok()) return std::nullopt;
  return object;
}

// A numeric claim in seconds (JSON numbers arrive as doubles).
std::optional<std::int64_t> seconds(const google::protobuf::Struct& claims, const char* name) {
  auto it = claims.fields().find(name);
  if (it == claims.fields().end() || !it->second.has_number_value()) return std::nullopt;
  double value = it->second.number_value();
  if (!std::isfinite(value) || value < 0 || value > 1e15) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

Error refused(const char* why) {
  return makeError(ErrorCode::kUnauthenticated, "DC/OS token refused: {}", why);
}

}  // namespace

bool looksLikeJwt(std::string_view token) {
  auto first = token.find('.');
  if (first == std::string_view::npos) return false;
  auto second = token.find('.', first + 1);
  return second != std::string_view::npos && token.find('.', second + 1) == std::string_view::npos;
}

Result<JwtVerifier> JwtVerifier::fromPublicKeyFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, "DC/OS IAM public key '{}': cannot read it",
                     path);
  }
  EVP_PKEY* key = PEM_read_PUBKEY(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (key == nullptr || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
    if (key != nullptr) EVP_PKEY_free(key);
    return makeError(ErrorCode::kInvalidArgument,
                     "DC/OS IAM public key '{}': not an RSA public key in PEM (expected "
                     "'-----BEGIN PUBLIC KEY-----', the IAM's RS256 key)",
                     path);
  }
  return JwtVerifier(std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
}

Result<std::string> JwtVerifier::verify(std::string_view token, std::int64_t now) const {
  if (!looksLikeJwt(token)) return refused("not a JSON Web Token");
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  std::string_view headerPart = token.substr(0, first);
  std::string_view claimsPart = token.substr(first + 1, second - first - 1);
  std::string_view signed_ = token.substr(0, second);
  auto header = jsonObject(headerPart);
  if (!header) return refused("its header is not base64url JSON");
  auto alg = header->fields().find("alg");
  // Only RS256: "none" and HMAC algorithms must never pass with an RSA key.
  if (alg == header->fields().end() || alg->second.string_value() != "RS256") {
    return refused("its algorithm is not RS256");
  }
  auto signature = decodeBase64Url(token.substr(second + 1));
  if (!signature || signature->empty()) return refused("its signature is not base64url");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context ||
      EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                       signature->size(), reinterpret_cast<const unsigned char*>(signed_.data()),
                       signed_.size()) != 1) {
    return refused("its signature does not verify with the IAM's key");
  }
  auto claims = jsonObject(claimsPart);
  if (!claims) return refused("its claims are not base64url JSON");
  auto expires = seconds(*claims, "exp");
  if (!expires) return refused("it has no expiry (exp)");
  if (*expires <= now) return refused("it has expired");
  if (auto notBefore = seconds(*claims, "nbf"); notBefore && *notBefore > now) {
    return refused("it is not valid yet (nbf)");
  }
  auto uid = claims->fields().find("uid");
  if (uid == claims->fields().end() || uid->second.string_value().empty()) {
    return refused("it names no user (uid)");
  }
  return uid->second.string_value();
}

}  // namespace tailor::auth
