#pragma once

// The Dispatcher's credentials file (tailor-dispatcher --auth-file,
// docs/security.md "REST authentication"): who may use the REST API, with
// which role, and the verifier of their password or token. One entry a line:
//
//   user  <name> <role> pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>
//   token <name> <role> sha256$<hex of SHA-256 of the token>
//
// `#` starts a comment line; blank lines are allowed.

#include <string>
#include <vector>

#include "common/auth/verifier.hpp"
#include "common/result.hpp"

namespace tailor::auth {

// What an authenticated caller may do (common/auth/permissions.hpp).
enum class Role { kRead, kSubmit, kAdmin };

// "read", "submit", "admin".
const char* toString(Role role);

struct Credential {
  enum class Kind { kUser, kToken };
  Kind kind = Kind::kUser;
  std::string name;  // unique over users and tokens
  Role role = Role::kRead;
  PasswordVerifier password;  // kUser
  std::string tokenDigest;    // kToken: SHA-256 of the token, raw bytes
};

// The text of a credentials file. Errors read "FILE:LINE: problem (expected
// FORM)"; a name given twice is an error.
Result<std::vector<Credential>> parseCredentials(const std::string& text,
                                                 const std::string& fileName);

// Reads and parses the file at `path`. Refused unless it is a regular file
// that neither its group nor others may read or write (mode & 0077 == 0);
// the message names the file, its mode and `chmod 600`. A file without any
// user or token is refused too (authentication on, nobody let in is a
// mistake, not a configuration).
Result<std::vector<Credential>> loadCredentials(const std::string& path);

}  // namespace tailor::auth
