// What the Dispatcher's REST API reads from a caller before anything else
// looks at it (dispatcher/rest_api.cpp): the JSON body of POST /v1/jobs and
// POST /v1/sessions, parsed as the API parses them and checked by the pure
// checks behind them, the Authorization header, and the credentials file
// (common/auth). The first byte chooses:
//   0  SubmitJobRequest JSON, then checkSubmission (which parses the spec)
//   1  StartSessionRequest JSON, then checkStartSession
//   2  an Authorization header value, parseAuthorization
//   3  a credentials file, parseCredentials
// The rest is the body, header or file.

#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/auth/authenticator.hpp"
#include "common/auth/credentials.hpp"
#include "common/auth/verifier.hpp"
#include "common/base64.hpp"
#include "common/naming.hpp"
#include "dispatcher/submission.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/session.pb.h"
#include "tests/fuzz/fuzz_support.hpp"

namespace tailor::fuzz {
namespace {

namespace pbutil = google::protobuf::util;

constexpr char kBaseDir[] = "/nonexistent-base";

void submitJob(std::string_view body) {
  v1::SubmitJobRequest request;
  // The options the API passes: unknown fields are errors.
  if (!pbutil::JsonStringToMessage(std::string(body), &request, pbutil::JsonParseOptions()).ok()) {
    return;
  }
  dispatcher::SubmissionLimits limits;
  auto checked = dispatcher::checkSubmission(request, kBaseDir, limits);
  if (!checked.ok()) {
    check(checked.error().code == ErrorCode::kInvalidArgument,
          "a refused submission is not kInvalidArgument", checked.error().message);
    return;
  }
  // The store writes these files beneath the job's folder: each must be a
  // plain relative path, and the spec comes first.
  check(static_cast<int>(checked->files.size()) == request.files_size() + 1,
        "checked files are not the spec and the submitted files");
  check(checked->files.front().path() == checked->specName, "the first file is not the spec");
  check(isPlainName(checked->specName, 255), "the spec's name is not a plain name",
        checked->specName);
  for (const auto& file : checked->files) {
    Status relative = checkRelativePath(file.path(), "path", limits.maxPathLength,
                                        limits.maxPathPartLength);
    check(relative.ok(), "an accepted path escapes the job's folder", file.path());
  }
  check(checked->spec.base_dir() == kBaseDir, "the spec's base_dir is not the job's folder");
}

void startSession(std::string_view body) {
  v1::StartSessionRequest request;
  if (!pbutil::JsonStringToMessage(std::string(body), &request, pbutil::JsonParseOptions()).ok()) {
    return;
  }
  Status checked = dispatcher::checkStartSession(request);
  if (!checked.ok()) {
    check(checked.error().code == ErrorCode::kInvalidArgument,
          "a refused session is not kInvalidArgument", checked.error().message);
    return;
  }
  // The name becomes a folder and a Mesos framework name.
  check(isPlainName(request.name(), 64), "an accepted session name is not plain", request.name());
}

// A header that parsed must mean the same when written again in canonical form.
void authorization(std::string_view text) {
  std::string header(text);
  auto presented = auth::parseAuthorization(header);
  if (!presented.ok()) {
    check(presented.error().code == ErrorCode::kInvalidArgument,
          "a bad header is not kInvalidArgument");
    return;
  }
  switch (presented->kind) {
    case auth::Presented::Kind::kNone:
      check(header.find_first_not_of(" \t") == std::string::npos,
            "a header with content presents nothing");
      break;
    case auth::Presented::Kind::kBasic: {
      check(presented->user.find(':') == std::string::npos, "a Basic user holds ':'");
      auto again = auth::parseAuthorization(
          "Basic " + base64Encode(presented->user + ":" + presented->secret));
      check(again.ok() && again->kind == auth::Presented::Kind::kBasic &&
                again->user == presented->user && again->secret == presented->secret,
            "Basic credentials do not round-trip");
      break;
    }
    case auth::Presented::Kind::kToken: {
      check(!presented->secret.empty(), "an empty token was accepted");
      // A bearer token is taken without its surrounding blanks.
      if (presented->secret.find_first_of(" \t") == 0 ||
          presented->secret.find_last_of(" \t") == presented->secret.size() - 1) {
        break;
      }
      auto again = auth::parseAuthorization("Bearer " + presented->secret);
      check(again.ok() && again->kind == auth::Presented::Kind::kToken &&
                again->secret == presented->secret,
            "a token does not round-trip");
      break;
    }
  }
}

// Credentials that parsed, written again, must parse to the same entries.
void credentials(std::string_view text) {
  auto parsed = auth::parseCredentials(std::string(text), "fuzz");
  if (!parsed.ok()) {
    check(parsed.error().message.rfind("fuzz:", 0) == 0, "a credentials error names no line",
          parsed.error().message);
    return;
  }
  std::string written;
  for (const auto& credential : *parsed) {
    check(credential.name.size() <= 64 && isPlainName(credential.name, 64),
          "a credential's name is not plain", credential.name);
    if (credential.kind == auth::Credential::Kind::kUser) {
      check(credential.password.iterations >= auth::kMinIterations &&
                credential.password.iterations <= auth::kMaxIterations,
            "iterations out of range");
      written += "user " + credential.name + " " + auth::toString(credential.role) + " " +
                 auth::formatPasswordVerifier(credential.password) + "\n";
    } else {
      check(credential.tokenDigest.size() == 32, "a token digest is not 32 bytes");
      written += "token " + credential.name + " " + auth::toString(credential.role) +
                 " sha256$" + auth::toHex(credential.tokenDigest) + "\n";
    }
  }
  auto again = auth::parseCredentials(written, "fuzz");
  check(again.ok() && again->size() == parsed->size(), "credentials written again do not parse",
        again.ok() ? written : again.error().message);
  for (std::size_t i = 0; i < parsed->size(); ++i) {
    const auto& a = (*parsed)[i];
    const auto& b = (*again)[i];
    check(a.kind == b.kind && a.name == b.name && a.role == b.role &&
              a.tokenDigest == b.tokenDigest && a.password.iterations == b.password.iterations &&
              a.password.salt == b.password.salt && a.password.hash == b.password.hash,
          "a credential changed when written again", a.name);
  }
}

}  // namespace
}  // namespace tailor::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tailor::fuzz;
  Input input(data, size);
  std::uint8_t choice = input.byte();
  switch (choice & 0x03) {
    case 0:
      submitJob(input.rest());
      break;
    case 1:
      startSession(input.rest());
      break;
    case 2:
      authorization(input.rest());
      break;
    default:
      credentials(input.rest());
      break;
  }
  return 0;
}
