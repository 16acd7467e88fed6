#include "common/auth/credentials.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include "common/naming.hpp"
#include "common/secret.hpp"

namespace tailor::auth {

namespace {

constexpr const char* kForms =
    "'user <name> <role> pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>' or "
    "'token <name> <role> sha256$<hex of SHA-256 of the token>'";
constexpr std::size_t kMaxNameLength = 64;

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

}  // namespace

const char* toString(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kSubmit:
      return "submit";
    case Role::kAdmin:
      return "admin";
  }
  return "read";
}

Result<std::vector<Credential>> parseCredentials(const std::string& text,
                                                 const std::string& fileName) {
  std::vector<Credential> out;
  std::map<std::string, int> lineOf;  // name -> its line
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto fields = words(line);
    if (fields.empty() || fields[0].front() == '#') continue;
    auto fail = [&](const std::string& problem) {
      return Error{ErrorCode::kInvalidArgument,
                   fmt::format("{}:{}: {} (expected {})", fileName, number, problem, kForms)};
    };
    if (fields[0] != "user" && fields[0] != "token") {
      return fail("'" + fields[0] + "' is not an entry kind");
    }
    if (fields.size() != 4) {
      return fail(fmt::format("{} fields, not 4", fields.size()));
    }
    Credential credential;
    credential.kind = fields[0] == "user" ? Credential::Kind::kUser : Credential::Kind::kToken;
    credential.name = fields[1];
    if (!isPlainName(credential.name, kMaxNameLength)) {
      return fail(fmt::format("name '{}' is not 1 to {} letters, digits, '.', '_' or '-'",
                              credential.name, kMaxNameLength));
    }
    if (fields[2] == "read") {
      credential.role = Role::kRead;
    } else if (fields[2] == "submit") {
      credential.role = Role::kSubmit;
    } else if (fields[2] == "admin") {
      credential.role = Role::kAdmin;
    } else {
      return fail("role '" + fields[2] + "' is not read, submit or admin");
    }
    if (credential.kind == Credential::Kind::kUser) {
      auto verifier = parsePasswordVerifier(fields[3]);
      if (!verifier.ok()) return fail("user " + credential.name + ": " + verifier.error().message);
      credential.password = std::move(*verifier);
    } else {
      auto digest = parseTokenVerifier(fields[3]);
      if (!digest.ok()) return fail("token " + credential.name + ": " + digest.error().message);
      credential.tokenDigest = std::move(*digest);
    }
    if (auto seen = lineOf.find(credential.name); seen != lineOf.end()) {
      return fail(fmt::format("name '{}' is given twice (first on line {})", credential.name,
                              seen->second));
    }
    lineOf[credential.name] = number;
    out.push_back(std::move(credential));
  }
  return out;
}

Result<std::vector<Credential>> loadCredentials(const std::string& path) {
  Status private_ = secret::checkPrivateFile(path, "credentials file");
  if (!private_.ok()) return private_.error();
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return makeError(ErrorCode::kInvalidArgument, "credentials file '{}': cannot read it", path);
  }
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parseCredentials(text.str(), path);
  if (parsed.ok() && parsed->empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "credentials file '{}' has no user or token (expected {}; "
                     "tailor auth hash-password and tailor auth new-token make the last field)",
                     path, kForms);
  }
  return parsed;
}

}  // namespace tailor::auth
