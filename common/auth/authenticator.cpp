#include "common/auth/authenticator.hpp"

#include <cctype>
#include <ctime>

#include "common/base64.hpp"

namespace tailor::auth {

namespace {

// Case-insensitive "scheme " prefix.
bool hasScheme(const std::string& header, const std::string& scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return false;
  }
  return true;
}

std::string trimmed(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

constexpr const char* kExpected =
    "expected 'Basic <base64 of user:password>', 'Bearer <token>' or 'token=<token>'";

}  // namespace

Result<Presented> parseAuthorization(const std::string& header) {
  Presented presented;
  std::string value = trimmed(header);
  if (value.empty()) return presented;
  if (hasScheme(value, "basic")) {
    auto decoded = base64Decode(trimmed(value.substr(6)));
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos) {
      return makeError(ErrorCode::kInvalidArgument,
                       "Authorization: Basic credentials are not base64 of user:password ({})",
                       kExpected);
    }
    presented.kind = Presented::Kind::kBasic;
    presented.user = decoded->substr(0, colon);
    presented.secret = decoded->substr(colon + 1);
    return presented;
  }
  std::string token;
  if (hasScheme(value, "bearer")) {
    token = trimmed(value.substr(7));
  } else if (value.rfind("token=", 0) == 0) {
    token = value.substr(6);
  } else {
    return makeError(ErrorCode::kInvalidArgument, "Authorization: an unknown scheme ({})",
                     kExpected);
  }
  if (token.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "Authorization: the token is empty ({})",
                     kExpected);
  }
  presented.kind = Presented::Kind::kToken;
  presented.secret = std::move(token);
  return presented;
}

Authenticator::Authenticator(std::vector<Credential> credentials, std::size_t cacheSize)
    : credentials_(std::move(credentials)), cacheSize_(cacheSize) {}

std::optional<Identity> Authenticator::authenticate(const std::string& authorizationHeader) {
  auto presented = parseAuthorization(authorizationHeader);
  if (!presented.ok()) return std::nullopt;
  switch (presented->kind) {
    case Presented::Kind::kNone:
      return std::nullopt;
    case Presented::Kind::kBasic:
      return verifyBasic(presented->user, presented->secret);
    case Presented::Kind::kToken:
      return verifyToken(presented->secret);
  }
  return std::nullopt;
}

std::optional<Identity> Authenticator::verifyBasic(const std::string& user,
                                                   const std::string& password) {
  // Length-prefixed, so that ("a:b", "c") and ("a", "b:c") differ.
  std::string key = sha256(std::to_string(user.size()) + ":" + user + password);
  if (auto hit = cache_.find(key); hit != cache_.end()) {
    recent_.splice(recent_.begin(), recent_, hit->second);
    return hit->second->second;
  }
  for (const auto& credential : credentials_) {
    if (credential.kind != Credential::Kind::kUser || credential.name != user) continue;
    if (!verifyPassword(credential.password, password)) return std::nullopt;
    Identity identity{credential.name, credential.role};
    remember(key, identity);
    return identity;
  }
  return std::nullopt;
}

void Authenticator::acceptIamTokens(JwtVerifier verifier, Role role) {
  iam_ = std::move(verifier);
  iamRole_ = role;
}

std::optional<Identity> Authenticator::verifyToken(const std::string& token) const {
  if (iam_ && looksLikeJwt(token)) {
    auto uid = iam_->verify(token, static_cast<std::int64_t>(std::time(nullptr)));
    if (uid.ok()) return Identity{*uid, iamRole_};
    // Not the IAM's: it may still be one of the file's tokens.
  }
  std::string digest = sha256(token);
  std::optional<Identity> found;
  // Every entry is compared, so the time does not tell which matched.
  for (const auto& credential : credentials_) {
    if (credential.kind != Credential::Kind::kToken) continue;
    if (sameBytes(digest, credential.tokenDigest) && !found) {
      found = Identity{credential.name, credential.role};
    }
  }
  return found;
}

void Authenticator::remember(const std::string& key, const Identity& identity) {
  if (cacheSize_ == 0) return;
  recent_.emplace_front(key, identity);
  cache_[key] = recent_.begin();
  while (recent_.size() > cacheSize_) {
    cache_.erase(recent_.back().first);
    recent_.pop_back();
  }
}

}  // namespace tailor::auth
