#pragma once

// DC/OS IAM tokens (docs/security.md, "REST authentication"): the JSON Web
// Tokens a DC/OS cluster's IAM signs with RS256 and the `dcos` CLI and Admin
// Router send as `Authorization: token=<JWT>`. The IAM's public key comes
// from a PEM file (converted from the cluster's /acs/api/v1/auth/jwks);
// OpenSSL checks the signature.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace tailor::auth {

// True when `token` has the shape of a JWT (three base64url parts).
bool looksLikeJwt(std::string_view token);

class JwtVerifier {
 public:
  // The RSA public key in `path` ("-----BEGIN PUBLIC KEY-----"). Errors name
  // the file.
  static Result<JwtVerifier> fromPublicKeyFile(const std::string& path);

  // The `uid` claim of `token` when it is an RS256 JWT this key signed, whose
  // `exp` (required) is after `now` and whose `nbf`, if any, is not after it
  // (seconds since the epoch). The error says which check failed, never
  // the token.
  Result<std::string> verify(std::string_view token, std::int64_t now) const;

 private:
  explicit JwtVerifier(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace tailor::auth
