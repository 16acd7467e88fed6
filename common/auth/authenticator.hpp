#pragma once

// Who a REST request comes from, from its Authorization header
// (docs/security.md, "REST authentication"). Accepted forms:
//   Authorization: Basic <base64 of user:password>
//   Authorization: Bearer <token>
//   Authorization: token=<token>          (DC/OS' form; checked as a bearer token,
//                                          or as an IAM-signed JWT: acceptIamTokens)

#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/auth/credentials.hpp"
#include "common/auth/jwt.hpp"

namespace tailor::auth {

// What a request presents.
struct Presented {
  enum class Kind { kNone, kBasic, kToken };
  Kind kind = Kind::kNone;
  std::string user;    // kBasic
  std::string secret;  // kBasic: the password; kToken: the token
};

// Parses an Authorization header's value ("" -> kNone). A header in no
// accepted form is an error (its message never contains the header).
Result<Presented> parseAuthorization(const std::string& header);

// An authenticated caller.
struct Identity {
  std::string name;
  Role role = Role::kRead;
};

class Authenticator {
 public:
  // `cacheSize`: how many successful Basic verifications are remembered.
  explicit Authenticator(std::vector<Credential> credentials, std::size_t cacheSize = 1000);

  // The caller the header proves, or nullopt for no, malformed or wrong
  // credentials (which of them is not said: nothing tells whether a name
  // exists). A Basic verification costs one PBKDF2; successful ones are
  // cached, keyed by SHA-256 of (user, password), so repeated requests do not
  // pay it again. One thread at a time (the Dispatcher's loop).
  std::optional<Identity> authenticate(const std::string& authorizationHeader);

  std::size_t size() const { return credentials_.size(); }

  // Also lets in a token (Bearer or DC/OS' token=) that is a JWT `verifier`'s
  // key signed and that has not expired: its `uid` is the caller, with `role`.
  void acceptIamTokens(JwtVerifier verifier, Role role);

 private:
  std::optional<Identity> verifyBasic(const std::string& user, const std::string& password);
  std::optional<Identity> verifyToken(const std::string& token) const;
  void remember(const std::string& key, const Identity& identity);

  std::vector<Credential> credentials_;
  std::optional<JwtVerifier> iam_;
  Role iamRole_ = Role::kRead;
  std::size_t cacheSize_;
  // Successful Basic verifications, most recent first.
  std::list<std::pair<std::string, Identity>> recent_;
  std::unordered_map<std::string, std::list<std::pair<std::string, Identity>>::iterator> cache_;
};

}  // namespace tailor::auth
