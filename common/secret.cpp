#include "common/secret.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "common/auth/verifier.hpp"

namespace tailor::secret {

std::string random() {
  auto bytes = auth::randomBytes(32);
  // No entropy is not something to run on without: nothing could be kept apart.
  if (!bytes.ok()) throw std::runtime_error(bytes.error().message + " for a secret");
  return auth::toHex(*bytes);
}

std::string derive(const std::string& key, const std::string& name) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest, &length);
  return auth::toHex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

bool equal(const std::string& a, const std::string& b) { return auth::sameBytes(a, b); }

std::string takeFromEnvironment(const char* name) {
  const char* value = std::getenv(name);
  std::string secret = value == nullptr ? "" : value;
  ::unsetenv(name);
  return secret;
}

Result<std::string> readFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return makeError(ErrorCode::kInvalidArgument, "{}: cannot read the secret file", path);
  }
  if (!S_ISREG(info.st_mode)) {
    return makeError(ErrorCode::kInvalidArgument, "{}: the secret file is not a regular file",
                     path);
  }
  if ((info.st_mode & 077) != 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: the secret file has mode {:03o}, so others may read it; "
                     "make it readable by its owner only (chmod 600 {})",
                     path, info.st_mode & 0777, path);
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  auto first = line.find_first_not_of(" \t\r");
  auto last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos) {
    return makeError(ErrorCode::kInvalidArgument, "{}: the secret file's first line is empty",
                     path);
  }
  return line.substr(first, last - first + 1);
}

}  // namespace tailor::secret
