// The job spec parser (common/jobspec) on any text: what a user writes in a
// job.yaml and what a REST submission carries as its spec. Every input must
// give either an error of the documented form or a spec that keeps the
// promises of jobspec.hpp; never a crash, a hang or an exception.

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/jobspec/jobspec.hpp"
#include "common/resources.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace tailor::fuzz {
namespace {

bool nameChars(const std::string& text, bool allowDot) {
  if (text.empty() || text.size() > 100) return false;
  for (unsigned char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (allowDot && c == '.');
    if (!ok) return false;
  }
  return true;
}

// The stages read each other without a cycle: every stage can be put in an
// order where its inputs come first.
bool acyclic(const v1::JobSpec& spec, const std::map<std::string, int>& index) {
  std::vector<int> pending(static_cast<std::size_t>(spec.stages_size()));
  std::vector<std::vector<int>> consumers(pending.size());
  for (int i = 0; i < spec.stages_size(); ++i) {
    for (const auto& input : spec.stages(i).inputs()) {
      consumers[static_cast<std::size_t>(index.at(input.stage()))].push_back(i);
      ++pending[static_cast<std::size_t>(i)];
    }
  }
  std::vector<int> ready;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (pending[i] == 0) ready.push_back(static_cast<int>(i));
  }
  std::size_t ordered = 0;
  while (!ready.empty()) {
    int stage = ready.back();
    ready.pop_back();
    ++ordered;
    for (int consumer : consumers[static_cast<std::size_t>(stage)]) {
      if (--pending[static_cast<std::size_t>(consumer)] == 0) ready.push_back(consumer);
    }
  }
  return ordered == pending.size();
}

// What jobspec.hpp promises of a spec it returns.
void checkSpec(const v1::JobSpec& spec) {
  check(nameChars(spec.name(), /*allowDot=*/true) && spec.name() != "." && spec.name() != "..",
        "job name is not a plain name", spec.name());
  check(spec.base_dir() == "/nonexistent", "base_dir is not the one given", spec.base_dir());
  check(spec.stages_size() > 0, "a spec without stages");
  std::map<std::string, int> index;
  for (int i = 0; i < spec.stages_size(); ++i) {
    const v1::Stage& stage = spec.stages(i);
    check(nameChars(stage.name(), /*allowDot=*/false), "stage name is not valid", stage.name());
    check(index.emplace(stage.name(), i).second, "two stages share a name", stage.name());
    check(stage.parallelism() >= 1, "parallelism below 1", stage.name());
    check(stage.max_attempts() >= 1, "max_attempts below 1", stage.name());
    Resources resources = Resources::fromProto(stage.resources());
    check(resources.milliCpus >= 1, "cpus below 0.001", stage.name());
    check(resources.memMib > 0, "mem not above 0", stage.name());
    check(resources.diskMib >= 0 && resources.gpus >= 0, "negative disk or gpus", stage.name());
    const v1::Command& command = stage.command();
    check(command.has_argv() ? command.argv().args_size() > 0
                             : command.kind_case() == v1::Command::kShell,
          "a stage without a command", stage.name());
    bool source = stage.input_files_size() > 0;
    check(source != (stage.inputs_size() > 0), "not exactly one of input and inputs",
          stage.name());
  }
  std::set<int> read;
  for (const v1::Stage& stage : spec.stages()) {
    for (const auto& input : stage.inputs()) {
      auto upstream = index.find(input.stage());
      check(upstream != index.end(), "an input names no stage", input.stage());
      check(input.stage() != stage.name(), "a stage reads itself", stage.name());
      read.insert(upstream->second);
      if (input.partitioning() == v1::FORWARD) {
        check(spec.stages(upstream->second).parallelism() == stage.parallelism(),
              "forward between stages of different parallelism", stage.name());
      }
    }
  }
  check(static_cast<int>(read.size()) == spec.stages_size() - 1, "not exactly one sink");
  check(acyclic(spec, index), "the stages form a cycle");
}

}  // namespace
}  // namespace tailor::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tailor;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = jobspec::parseJobSpec(text, "fuzz.yaml", "/nonexistent", {});
  if (!parsed.ok()) {
    fuzz::check(parsed.error().code == ErrorCode::kInvalidArgument, "error code is not invalid argument",
                parsed.error().message);
    // "FILE:LINE:COL: FIELD_PATH: problem"; only an unreadable file has no position.
    fuzz::check(parsed.error().message.rfind("fuzz.yaml:", 0) == 0,
                "error does not start with the file's name", parsed.error().message);
    return 0;
  }
  fuzz::checkSpec(*parsed);
  return 0;
}
