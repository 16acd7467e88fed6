#include "common/secret.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
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

Status checkPrivateFile(const std::string& path, const std::string& what) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return makeError(ErrorCode::kInvalidArgument, "{} '{}': cannot read it: {}", what, path,
                     std::strerror(errno));
  }
  // A pipe (a secret handed over on standard input, /dev/stdin) is read by
  // this process alone.
  if (S_ISFIFO(info.st_mode)) return Status();
  if (!S_ISREG(info.st_mode)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{} '{}' is not a regular file (expected a file only its owner may read, "
                     "mode 0600)",
                     what, path);
  }
  if ((info.st_mode & 0077) != 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{} '{}' has mode {:04o}: its group or others may read or write it "
                     "(expected mode 0600: chmod 600 '{}')",
                     what, path, info.st_mode & 07777, path);
  }
  return Status();
}

Result<std::string> readFile(const std::string& path) {
  Status private_ = checkPrivateFile(path, "secret file");
  if (!private_.ok()) return private_.error();
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
