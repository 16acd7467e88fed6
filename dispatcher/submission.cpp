#include "dispatcher/submission.hpp"

#include <algorithm>
#include <cctype>

#include "common/jobspec/jobspec.hpp"
#include "common/naming.hpp"
#include "common/resources.hpp"

namespace tailor::dispatcher {

Result<CheckedSubmission> checkSubmission(const v1::SubmitJobRequest& request,
                                          const std::string& baseDir,
                                          const SubmissionLimits& limits) {
  CheckedSubmission checked;
  checked.specName = request.spec_name().empty() ? "job.yaml" : request.spec_name();
  if (!isPlainName(checked.specName, 255)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "spec_name: '{}' is not a plain file name (expected letters, digits, '.', "
                     "'_' or '-', such as job.yaml)",
                     request.spec_name());
  }
  if (request.spec().empty()) {
    return makeError(ErrorCode::kInvalidArgument, "spec: missing (expected the job spec's YAML)");
  }
  const std::string& submissionId = request.submission_id();
  if (submissionId.size() > 128 ||
      !std::all_of(submissionId.begin(), submissionId.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      })) {
    return makeError(ErrorCode::kInvalidArgument,
                     "submission_id: '{}' is not a submission id (expected 1 to 128 letters, "
                     "digits, '.', '_' or '-')",
                     submissionId.substr(0, 140));
  }
  if (request.files_size() > limits.maxFiles) {
    return makeError(ErrorCode::kInvalidArgument, "files: {} files (at most {})",
                     request.files_size(), limits.maxFiles);
  }
  std::set<std::string> seen{checked.specName};
  v1::JobFile spec;
  spec.set_path(checked.specName);
  spec.set_content(request.spec());
  checked.files.push_back(std::move(spec));
  for (int i = 0; i < request.files_size(); ++i) {
    const auto& file = request.files(i);
    std::string field = "files[" + std::to_string(i) + "].path";
    Status ok = checkRelativePath(file.path(), field, limits.maxPathLength,
                                  limits.maxPathPartLength);
    if (!ok.ok()) return ok.error();
    if (!seen.insert(file.path()).second) {
      return makeError(ErrorCode::kInvalidArgument, "{}: '{}' is given twice{}", field,
                       file.path(), file.path() == checked.specName ? " (it is the spec)" : "");
    }
    // A file may not also be a folder of another ("a" and "a/b").
    for (const auto& other : seen) {
      if (other != file.path() && (other.rfind(file.path() + "/", 0) == 0 ||
                                   file.path().rfind(other + "/", 0) == 0)) {
        return makeError(ErrorCode::kInvalidArgument, "{}: '{}' clashes with '{}'", field,
                         file.path(), other);
      }
    }
    checked.files.push_back(file);
  }
  auto spec_ = jobspec::parseJobSpec(request.spec(), checked.specName, baseDir);
  if (!spec_.ok()) return spec_.error();
  checked.spec = std::move(*spec_);
  return checked;
}

std::vector<std::string> queueOrder(std::vector<QueuedJob> queued) {
  std::sort(queued.begin(), queued.end(), [](const QueuedJob& a, const QueuedJob& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.sequence < b.sequence;
  });
  std::vector<std::string> ids;
  ids.reserve(queued.size());
  for (auto& job : queued) ids.push_back(std::move(job.id));
  return ids;
}

int launchSlots(int running, int maxRunning) { return std::max(0, maxRunning - running); }

bool isEndState(v1::JobState state) {
  return state == v1::FINISHED || state == v1::FAILED || state == v1::CANCELED;
}

bool isEndState(v1::SessionState state) {
  return state == v1::SESSION_STOPPED || state == v1::SESSION_FAILED;
}

Status checkStartSession(const v1::StartSessionRequest& request) {
  const std::string& name = request.name();
  bool valid = !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z' &&
               name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
  if (!valid) {
    return makeError(ErrorCode::kInvalidArgument,
                     "name: '{}' is not a session name (expected 1 to 64 of a-z, 0-9 and '-', "
                     "starting with a letter)",
                     name);
  }
  const auto& options = request.options();
  double idle = options.idle_timeout_seconds();
  if (!(idle >= 0) || idle > 365.0 * 24 * 3600) {
    return makeError(ErrorCode::kInvalidArgument,
                     "options.idle_timeout_seconds: {} is not a timeout (expected seconds >= 0; "
                     "0: the session's default of 60)",
                     idle);
  }
  if (!options.min_resources().empty()) {
    auto parsed = parseResourceList(options.min_resources(), Resources());
    if (!parsed.ok()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "options.min_resources: '{}' is not a resource list (expected "
                       "cpus=N,mem=SIZE[,disk=SIZE][,gpus=N]): {}",
                       options.min_resources(), parsed.error().message);
    }
  }
  if (!options.sizing().empty() && options.sizing() != "tailored" && options.sizing() != "fixed") {
    return makeError(ErrorCode::kInvalidArgument,
                     "options.sizing: '{}' is not a sizing policy (expected tailored or fixed)",
                     options.sizing());
  }
  return Status();
}

}  // namespace tailor::dispatcher
