#include "common/jobspec/jobspec.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>

#include "common/restart_strategy.hpp"

namespace tailor::jobspec {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kFile[] = "job.yaml";
constexpr char kBaseDir[] = "/specs/wordcount";

// A valid two-stage spec; the error tests below start from copies of it. Line numbers matter.
constexpr char kTwoStages[] = R"(name: wordcount
stages:
  - name: tokenize
    parallelism: 2
    resources: {cpus: 0.5, mem: 128}
    command: cat
    input: {files: [a.txt]}
  - name: count
    parallelism: 2
    resources: {cpus: 1, mem: 256}
    command: wc -l
    inputs: [{stage: tokenize}]
)";

Result<v1::JobSpec> parse(std::string_view yaml, const ParseOptions& options = {}) {
  return parseJobSpec(yaml, kFile, kBaseDir, options);
}

// Parses `yaml`, expects it to fail, and checks the message holds every one of `parts`.
void expectError(std::string_view yaml, std::initializer_list<std::string_view> parts,
                 const ParseOptions& options = {}) {
  auto result = parse(yaml, options);
  ASSERT_FALSE(result.ok()) << "parsed without error:\n" << yaml;
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, StartsWith(std::string(kFile) + ":"));
  for (std::string_view part : parts) {
    EXPECT_THAT(result.error().message, HasSubstr(std::string(part))) << "yaml:\n" << yaml;
  }
}

// Replaces the first occurrence of `from` in `text`, which must be there.
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class TempDir {
 public:
  TempDir() {
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() / ("jobspec_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(stamp) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

  fs::path write(const std::string& name, std::string_view text) const {
    fs::path file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out << text;
    return file;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(JobSpecTest, ParsesFullSpec) {
  constexpr char kYaml[] = R"(# A full spec.
name: word.count-v2_1
output: out/wordcount
stages:
  - name: tokenize
    parallelism: 8
    resources: {cpus: 0.25, mem: 128MiB, disk: 64, gpus: 1}
    command: "tr -cs A-Za-z '\n'"
    env: {LC_ALL: C, THREADS: 4, EMPTY: "", QUOTED: "yes"}
    max_attempts: 2
    input:
      files: ["data/*.txt", "https://host/x.txt"]
  - name: lookup
    parallelism: 1
    resources: {cpus: 1, mem: 64}
    command: [cat, /etc/words]
    input: {files: [words.txt]}
  - name: count
    parallelism: 8
    resources:
      cpus: 2
      mem: 1GiB
    command: ["/usr/bin/awk", "-F\t", "{c[$1]++} END {for (w in c) print w \"\t\" c[w]}"]
    inputs:
      - stage: tokenize
        partitioning: forward
      - {stage: lookup, partitioning: broadcast}
  - name: merge
    parallelism: 1
    resources: {cpus: 0.5, mem: 32}
    command: sort
    inputs:
      - stage: count
)";
  auto result = parse(kYaml);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const v1::JobSpec& spec = *result;
  EXPECT_EQ(spec.name(), "word.count-v2_1");
  EXPECT_EQ(spec.output(), "out/wordcount");
  EXPECT_EQ(spec.base_dir(), kBaseDir);
  ASSERT_EQ(spec.stages_size(), 4);

  const v1::Stage& tokenize = spec.stages(0);
  EXPECT_EQ(tokenize.name(), "tokenize");
  EXPECT_EQ(tokenize.parallelism(), 8);
  EXPECT_DOUBLE_EQ(tokenize.resources().cpus(), 0.25);
  EXPECT_EQ(tokenize.resources().mem(), 128);
  EXPECT_EQ(tokenize.resources().disk(), 64);
  EXPECT_EQ(tokenize.resources().gpus(), 1);
  ASSERT_EQ(tokenize.command().kind_case(), v1::Command::kShell);
  EXPECT_EQ(tokenize.command().shell(), "tr -cs A-Za-z '\n'");
  ASSERT_EQ(tokenize.env_size(), 4);
  EXPECT_EQ(tokenize.env().at("LC_ALL"), "C");
  EXPECT_EQ(tokenize.env().at("THREADS"), "4");
  EXPECT_EQ(tokenize.env().at("EMPTY"), "");
  EXPECT_EQ(tokenize.env().at("QUOTED"), "yes");
  EXPECT_EQ(tokenize.max_attempts(), 2);
  EXPECT_THAT(tokenize.input_files(), ::testing::ElementsAre("data/*.txt", "https://host/x.txt"));
  EXPECT_EQ(tokenize.inputs_size(), 0);

  const v1::Stage& lookup = spec.stages(1);
  EXPECT_EQ(lookup.name(), "lookup");
  ASSERT_EQ(lookup.command().kind_case(), v1::Command::kArgv);
  EXPECT_THAT(lookup.command().argv().args(), ::testing::ElementsAre("cat", "/etc/words"));
  EXPECT_EQ(lookup.env_size(), 0);
  EXPECT_EQ(lookup.max_attempts(), 4);  // the default
  EXPECT_EQ(lookup.resources().disk(), 0);
  EXPECT_EQ(lookup.resources().gpus(), 0);

  const v1::Stage& count = spec.stages(2);
  EXPECT_EQ(count.name(), "count");
  EXPECT_EQ(count.parallelism(), 8);
  EXPECT_DOUBLE_EQ(count.resources().cpus(), 2.0);
  EXPECT_EQ(count.resources().mem(), 1024);
  EXPECT_EQ(count.resources().disk(), 0);
  EXPECT_EQ(count.resources().gpus(), 0);
  ASSERT_EQ(count.command().kind_case(), v1::Command::kArgv);
  EXPECT_THAT(count.command().argv().args(),
              ::testing::ElementsAre("/usr/bin/awk", "-F\t",
                                     "{c[$1]++} END {for (w in c) print w \"\t\" c[w]}"));
  EXPECT_EQ(count.input_files_size(), 0);
  ASSERT_EQ(count.inputs_size(), 2);
  EXPECT_EQ(count.inputs(0).stage(), "tokenize");
  EXPECT_EQ(count.inputs(0).partitioning(), v1::FORWARD);
  EXPECT_EQ(count.inputs(1).stage(), "lookup");
  EXPECT_EQ(count.inputs(1).partitioning(), v1::BROADCAST);

  const v1::Stage& merge = spec.stages(3);
  ASSERT_EQ(merge.inputs_size(), 1);
  EXPECT_EQ(merge.inputs(0).stage(), "count");
  EXPECT_EQ(merge.inputs(0).partitioning(), v1::HASH);  // the default
  EXPECT_EQ(merge.max_attempts(), 4);
}

TEST(JobSpecTest, OutputIsOptional) {
  auto result = parse(kTwoStages);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->output(), "");
  EXPECT_EQ(result->stages(0).command().shell(), "cat");
}

TEST(JobSpecTest, SingleSourceStageIsItsOwnSink) {
  auto result = parse(R"(name: one
stages:
  - {name: only, parallelism: 1, resources: {cpus: 1, mem: 1}, command: cat,
     input: {files: [x]}}
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stages_size(), 1);
}

TEST(JobSpecTest, MemoryUnits) {
  struct Case {
    std::string_view mem;
    std::int64_t mebibytes;
  };
  const Case cases[] = {
      {"512MiB", 512}, {"2GiB", 2048}, {"300", 300},        {"1TiB", 1024 * 1024},
      {"2048KiB", 2},  {"0.5", 1},     {"\"1 GiB\"", 1024}, {"1.5GiB", 1536},
  };
  for (const Case& c : cases) {
    std::string yaml = replaced(kTwoStages, "mem: 128}", "mem: " + std::string(c.mem) + "}");
    auto result = parse(yaml);
    ASSERT_TRUE(result.ok()) << c.mem << ": " << result.error().message;
    EXPECT_EQ(result->stages(0).resources().mem(), c.mebibytes) << c.mem;
  }
  std::string withDisk = replaced(kTwoStages, "mem: 128}", "mem: 128, disk: 2GiB}");
  auto result = parse(withDisk);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stages(0).resources().disk(), 2048);
}

TEST(JobSpecTest, JobNamesDotAndDotDotAreRefused) {
  for (const char* name : {"'.'", "'..'"}) {
    expectError(replaced(kTwoStages, "name: wordcount", std::string("name: ") + name),
                {"job.yaml:1:", "not a valid job name", "not . or .."});
  }
}

TEST(JobSpecTest, ResourcesAutoTakesAFallbackOfOneCpuAndOneGiBOrTheOneGiven) {
  auto bare = parse(replaced(kTwoStages, "resources: {cpus: 0.5, mem: 128}", "resources: auto"));
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_TRUE(bare->stages(0).auto_resources());
  EXPECT_EQ(bare->stages(0).resources().cpus(), 1);
  EXPECT_EQ(bare->stages(0).resources().mem(), 1024);
  EXPECT_FALSE(bare->stages(1).auto_resources());

  auto given = parse(replaced(kTwoStages, "mem: 128}", "mem: 128, auto: true}"));
  ASSERT_TRUE(given.ok()) << given.error().message;
  EXPECT_TRUE(given->stages(0).auto_resources());
  EXPECT_EQ(given->stages(0).resources().mem(), 128);

  auto off = parse(replaced(kTwoStages, "mem: 128}", "mem: 128, auto: false}"));
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->stages(0).auto_resources());

  expectError(replaced(kTwoStages, "mem: 128}", "mem: 128, auto: yes please}"),
              {"job.yaml:5:", "stages[0].resources.auto", "true or false"});
  expectError(replaced(kTwoStages, "resources: {cpus: 0.5, mem: 128}", "resources: automatic"),
              {"job.yaml:5:", "stages[0].resources", "or auto"});
}

TEST(JobSpecTest, CpusAreKeptInThousandths) {
  auto result = parse(replaced(kTwoStages, "cpus: 0.5", "cpus: 0.0004"));
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("stages[0].resources.cpus"));
  result = parse(replaced(kTwoStages, "cpus: 0.5", "cpus: 1.2344"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_DOUBLE_EQ(result->stages(0).resources().cpus(), 1.234);
}

TEST(JobSpecTest, UnknownFieldsAtEveryLevel) {
  expectError(replaced(kTwoStages, "name: wordcount", "name: wordcount\nstagse: []"),
              {"job.yaml:2:1: job: unknown field 'stagse'", "did you mean 'stages'?",
               "expected one of: name, output, stages"});
  expectError(replaced(kTwoStages, "    parallelism: 2\n    resources: {cpus: 0.5",
                       "    paralelism: 2\n    resources: {cpus: 0.5"),
              {"job.yaml:4:5: stages[0]: unknown field 'paralelism'", "did you mean 'parallelism'?",
               "expected one of: name, parallelism, resources, command, env, max_attempts, "
               "input, inputs"});
  expectError(replaced(kTwoStages, "{cpus: 0.5, mem: 128}", "{cpus: 0.5, mem: 128, cpu: 1}"),
              {"job.yaml:5:", "stages[0].resources: unknown field 'cpu'",
               "expected one of: cpus, mem, disk, gpus"});
  expectError(replaced(kTwoStages, "input: {files: [a.txt]}", "input: {file: [a.txt]}"),
              {"job.yaml:7:", "stages[0].input: unknown field 'file'", "did you mean 'files'?"});
  expectError(replaced(kTwoStages, "{stage: tokenize}", "{stage: tokenize, partition: hash}"),
              {"job.yaml:12:", "stages[1].inputs[0]: unknown field 'partition'",
               "did you mean 'partitioning'?", "expected one of: stage, partitioning"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    bogus_thing: 1"),
              {"job.yaml:7:5: stages[0]: unknown field 'bogus_thing' (expected one of:"});
}

TEST(JobSpecTest, DuplicateField) {
  expectError(replaced(kTwoStages, "    parallelism: 2\n    resources: {cpus: 0.5",
                       "    parallelism: 2\n    parallelism: 3\n    resources: {cpus: 0.5"),
              {"job.yaml:5:5: stages[0]: duplicate field 'parallelism'", "line 4"});
}

TEST(JobSpecTest, IntegerFieldsRejectOtherTypes) {
  expectError(
      replaced(kTwoStages, "parallelism: 2", "parallelism: eight"),
      {"job.yaml:4:18: stages[0].parallelism: 'eight' is not an integer", "expected an integer"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: 1.5"),
              {"job.yaml:4:18: stages[0].parallelism: '1.5' is not an integer"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: \"8\""),
              {"job.yaml:4:", "stages[0].parallelism", "quoted", "expected an integer"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: [2]"),
              {"job.yaml:4:", "stages[0].parallelism: found a list (expected an integer"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: true"),
              {"job.yaml:4:", "stages[0].parallelism: found the boolean 'true'"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: 99999999999999999999"),
              {"job.yaml:4:", "stages[0].parallelism", "out of range"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    max_attempts: 2.0"),
              {"job.yaml:7:", "stages[0].max_attempts: '2.0' is not an integer"});
  expectError(replaced(kTwoStages, "mem: 128}", "mem: 128, gpus: 0.5}"),
              {"job.yaml:5:", "stages[0].resources.gpus: '0.5' is not an integer"});
}

TEST(JobSpecTest, IntegerFieldsRejectOutOfRange) {
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: 0"),
              {"job.yaml:4:18: stages[0].parallelism: 0 is too small (expected an integer >= 1)"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: -3"),
              {"job.yaml:4:18: stages[0].parallelism: -3 is too small"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: 3000000000"),
              {"job.yaml:4:", "stages[0].parallelism: 3000000000 is too large"});
  expectError(replaced(kTwoStages, "parallelism: 2", "parallelism: 100001"),
              {"job.yaml:4:18: stages[0].parallelism: 100001 is too large (expected an integer "
               ">= 1 and at most 100000)"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    max_attempts: 0"),
              {"job.yaml:7:", "stages[0].max_attempts: 0 is too small"});
  expectError(
      replaced(kTwoStages, "mem: 128}", "mem: 128, gpus: -1}"),
      {"job.yaml:5:", "stages[0].resources.gpus: -1 is too small", "expected an integer >= 0"});
}

TEST(JobSpecTest, ResourceValues) {
  expectError(replaced(kTwoStages, "mem: 256", "mem: lots"),
              {"job.yaml:10:", "stages[1].resources.mem: 'lots' is not a size (expected"});
  expectError(replaced(kTwoStages, "mem: 256", "mem: 12 parsecs"),
              {"job.yaml:10:", "stages[1].resources.mem", "unknown unit 'parsecs'"});
  expectError(replaced(kTwoStages, "mem: 256", "mem: 0"),
              {"job.yaml:10:", "stages[1].resources.mem: '0' is not greater than 0"});
  expectError(replaced(kTwoStages, "mem: 256", "mem: -5MiB"),
              {"job.yaml:10:", "stages[1].resources.mem: '-5MiB' is negative"});
  expectError(replaced(kTwoStages, "mem: 256", "mem: 99999999999999999999TiB"),
              {"job.yaml:10:", "stages[1].resources.mem", "too large"});
  expectError(replaced(kTwoStages, "mem: 256", "mem: true"),
              {"job.yaml:10:", "stages[1].resources.mem: found the boolean 'true'"});
  expectError(replaced(kTwoStages, "mem: 256}", "mem: 256, disk: -1}"),
              {"job.yaml:10:", "stages[1].resources.disk: '-1' is negative"});
  expectError(replaced(kTwoStages, "cpus: 1,", "cpus: 0,"),
              {"job.yaml:10:", "stages[1].resources.cpus: 0 is not greater than 0"});
  expectError(replaced(kTwoStages, "cpus: 1,", "cpus: many,"),
              {"job.yaml:10:", "stages[1].resources.cpus: 'many' is not a number"});
  expectError(replaced(kTwoStages, "cpus: 1,", "cpus: .nan,"),
              {"job.yaml:10:", "stages[1].resources.cpus: '.nan' is not a number"});
  expectError(replaced(kTwoStages, "resources: {cpus: 1, mem: 256}", "resources: [1, 256]"),
              {"job.yaml:10:", "stages[1].resources: found a list (expected a map"});
}

TEST(JobSpecTest, StringFieldsRejectBooleansNullsAndCollections) {
  expectError(replaced(kTwoStages, "name: wordcount", "name: yes"),
              {"job.yaml:1:7: name: found the boolean 'yes'", "quote it"});
  expectError(replaced(kTwoStages, "name: wordcount", "name: ~"),
              {"job.yaml:1:", "name: found null (expected"});
  expectError(replaced(kTwoStages, "name: wordcount", "name:"), {"job.yaml:1:1: name: found null"});
  expectError(replaced(kTwoStages, "name: wordcount", "name: wordcount\noutput: false"),
              {"job.yaml:2:9: output: found the boolean 'false'"});
  expectError(replaced(kTwoStages, "command: cat", "command: {run: cat}"),
              {"job.yaml:6:", "stages[0].command: found a map (expected a shell command"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    env: {DEBUG: on}"),
              {"job.yaml:7:", "stages[0].env.DEBUG: found the boolean 'on'"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    env: {DEBUG: [1]}"),
              {"job.yaml:7:", "stages[0].env.DEBUG: found a list (expected a string)"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    env: {DEBUG: null}"),
              {"job.yaml:7:", "stages[0].env.DEBUG: found null"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    env: [A=1]"),
              {"job.yaml:7:", "stages[0].env: found a list (expected a map"});
  expectError(replaced(kTwoStages, "command: cat", "command: cat\n    env: {1A: x}"),
              {"job.yaml:7:", "stages[0].env: '1A' is not a valid variable name"});
  expectError(replaced(kTwoStages, "{files: [a.txt]}", "{files: [a.txt, null]}"),
              {"job.yaml:7:", "stages[0].input.files[1]: found null"});
  expectError(replaced(kTwoStages, "{stage: tokenize}", "{stage: {name: tokenize}}"),
              {"job.yaml:12:", "stages[1].inputs[0].stage: found a map"});
}

TEST(JobSpecTest, ListsAndMapsWhereExpected) {
  expectError("name: x\nstages: {name: a}\n",
              {"job.yaml:2:9: stages: found a map (expected a non-empty list of stages)"});
  expectError("name: x\nstages: []\n", {"job.yaml:2:9: stages: the list is empty"});
  expectError("name: x\nstages:\n  - just-a-name\n",
              {"job.yaml:3:5: stages[0]: found 'just-a-name' (expected a map"});
  expectError("- a\n- b\n", {"job.yaml:1:1: job: found a list (expected a map"});
  expectError(replaced(kTwoStages, "input: {files: [a.txt]}", "input: {files: a.txt}"),
              {"job.yaml:7:", "stages[0].input.files: found 'a.txt' (expected a non-empty list"});
  expectError(replaced(kTwoStages, "input: {files: [a.txt]}", "input: {files: []}"),
              {"job.yaml:7:", "stages[0].input.files: the list is empty"});
  expectError(replaced(kTwoStages, "inputs: [{stage: tokenize}]", "inputs: {stage: tokenize}"),
              {"job.yaml:12:", "stages[1].inputs: found a map (expected a non-empty list"});
  expectError(replaced(kTwoStages, "inputs: [{stage: tokenize}]", "inputs: [tokenize]"),
              {"job.yaml:12:", "stages[1].inputs[0]: found 'tokenize' (expected a map"});
  expectError(replaced(kTwoStages, "command: wc -l", "command: []"),
              {"job.yaml:11:", "stages[1].command: the list is empty"});
  expectError(replaced(kTwoStages, "command: wc -l", "command: [wc, [-l]]"),
              {"job.yaml:11:", "stages[1].command[1]: found a list (expected a string"});
  expectError(replaced(kTwoStages, "command: wc -l", "command: ['', -l]"),
              {"job.yaml:11:", "stages[1].command[0]: the program name is empty"});
  expectError(replaced(kTwoStages, "command: wc -l", "command: '  '"),
              {"job.yaml:11:", "stages[1].command: the command is empty"});
}

// A chain of `count` stages of `parallelism` tasks: the first reads a file,
// each next one the stage before.
std::string manyStages(int count, int parallelism) {
  std::string yaml = "name: many\nstages:\n";
  for (int i = 0; i < count; ++i) {
    yaml += fmt::format(
        "  - name: s{}\n    parallelism: {}\n    resources: {{cpus: 0.1, mem: 32}}\n"
        "    command: cat\n    {}\n",
        i, parallelism,
        i == 0 ? std::string("input: {files: [a.txt]}") : fmt::format("inputs: [{{stage: s{}}}]", i - 1));
  }
  return yaml;
}

TEST(JobSpecTest, StagesTasksAndSizeAreBounded) {
  auto most = parse(manyStages(1000, 1));
  EXPECT_TRUE(most.ok()) << most.error().message;
  expectError(manyStages(1001, 1),
              {"job.yaml:3:3: stages: 1001 stages (expected at most 1000 stages in one job)"});
  EXPECT_TRUE(parse(manyStages(10, 100000)).ok());
  expectError(manyStages(11, 100000),
              {"job.yaml:3:3: stages: 1100000 tasks in all (expected at most 1000000 tasks"});
  std::string huge = std::string(kTwoStages) + "# " + std::string(16 << 20, 'x') + "\n";
  expectError(huge, {"the job spec is larger than 16 MiB"});
}

TEST(JobSpecTest, MissingRequiredFields) {
  expectError("stages: []\n",
              {"job.yaml:1:1: job: missing required field 'name' (expected a name"});
  expectError("name: x\n", {"job.yaml:1:1: job: missing required field 'stages'"});
  expectError(replaced(kTwoStages, "    parallelism: 2\n    resources: {cpus: 1",
                       "    resources: {cpus: 1"),
              {"job.yaml:8:5: stages[1]: missing required field 'parallelism' "
               "(expected an integer >= 1)"});
  expectError(replaced(kTwoStages, "  - name: count\n    parallelism: 2", "  - parallelism: 2"),
              {"job.yaml:8:5: stages[1]: missing required field 'name'"});
  expectError(replaced(kTwoStages, "    resources: {cpus: 0.5, mem: 128}\n", ""),
              {"job.yaml:3:5: stages[0]: missing required field 'resources'"});
  expectError(replaced(kTwoStages, "    command: cat\n", ""),
              {"job.yaml:3:5: stages[0]: missing required field 'command'"});
  expectError(replaced(kTwoStages, "{cpus: 0.5, mem: 128}", "{mem: 128}"),
              {"job.yaml:5:16: stages[0].resources: missing required field 'cpus'"});
  expectError(replaced(kTwoStages, "{cpus: 0.5, mem: 128}", "{cpus: 0.5}"),
              {"job.yaml:5:16: stages[0].resources: missing required field 'mem'"});
  expectError(replaced(kTwoStages, "{files: [a.txt]}", "{}"),
              {"job.yaml:7:12: stages[0].input: missing required field 'files'"});
  expectError(replaced(kTwoStages, "{stage: tokenize}", "{partitioning: hash}"),
              {"job.yaml:12:14: stages[1].inputs[0]: missing required field 'stage'"});
}

TEST(JobSpecTest, InvalidNames) {
  expectError(replaced(kTwoStages, "name: wordcount", "name: word count"),
              {"job.yaml:1:7: name: 'word count' is not a valid job name"});
  expectError(replaced(kTwoStages, "name: tokenize", "name: token.ize"),
              {"job.yaml:3:11: stages[0].name: 'token.ize' is not a valid stage name"});
  expectError(replaced(kTwoStages, "name: tokenize", "name: ''"),
              {"job.yaml:3:11: stages[0].name: '' is not a valid stage name"});
  // Names become file names and ids: at most 100 characters.
  std::string longName(101, 'a');
  expectError(replaced(kTwoStages, "name: wordcount", "name: " + longName),
              {"job.yaml:1:7: name: 'aaaa", "...' is not a valid job name", "at most 100"});
  expectError(replaced(kTwoStages, "name: tokenize", "name: " + longName),
              {"job.yaml:3:11: stages[0].name: 'aaaa", "...' is not a valid stage name"});
  EXPECT_TRUE(parseJobSpec(replaced(kTwoStages, "name: wordcount", "name: " + longName.substr(1)),
                           "job.yaml", "/base")
                  .ok());
}

TEST(JobSpecTest, DuplicateStageNames) {
  std::string yaml = replaced(kTwoStages, "name: count", "name: tokenize");
  yaml = replaced(yaml, "inputs: [{stage: tokenize}]", "inputs: [{stage: other}]");
  expectError(yaml, {"job.yaml:8:11: stages[1].name: duplicate stage name 'tokenize'",
                     "stages[0] at line 3"});
}

TEST(JobSpecTest, InputAndInputsTogetherOrNeither) {
  expectError(replaced(kTwoStages, "    inputs: [{stage: tokenize}]",
                       "    inputs: [{stage: tokenize}]\n    input: {files: [b]}"),
              {"job.yaml:13:5: stages[1]: has both 'input' and 'inputs'"});
  expectError(replaced(kTwoStages, "    input: {files: [a.txt]}\n", ""),
              {"job.yaml:3:5: stages[0]: has neither 'input' nor 'inputs'"});
}

TEST(JobSpecTest, InputsNamingUnknownStage) {
  expectError(replaced(kTwoStages, "{stage: tokenize}", "{stage: tokenise}"),
              {"job.yaml:12:22: stages[1].inputs[0].stage: unknown stage 'tokenise'",
               "did you mean 'tokenize'?", "expected one of: tokenize, count"});
  expectError(replaced(kTwoStages, "{stage: tokenize}", "{stage: zzz}"),
              {"job.yaml:12:", "unknown stage 'zzz' (expected one of: tokenize, count)"});
}

TEST(JobSpecTest, InputsNamingItself) {
  expectError(replaced(kTwoStages, "[{stage: tokenize}]", "[{stage: tokenize}, {stage: count}]"),
              {"job.yaml:12:", "stages[1].inputs[1].stage: stage 'count' reads from itself"});
}

TEST(JobSpecTest, SameUpstreamTwice) {
  expectError(
      replaced(kTwoStages, "    inputs: [{stage: tokenize}]",
               "    inputs:\n      - stage: tokenize\n      - stage: tokenize\n"
               "        partitioning: broadcast"),
      {"job.yaml:14:16: stages[1].inputs[1].stage: stage 'tokenize' is listed twice", "line 13"});
}

TEST(JobSpecTest, BadPartitioning) {
  expectError(replaced(kTwoStages, "{stage: tokenize}", "{stage: tokenize, partitioning: hsah}"),
              {"job.yaml:12:", "stages[1].inputs[0].partitioning: 'hsah' is not a partitioning",
               "did you mean 'hash'?", "expected hash, forward or broadcast"});
  expectError(replaced(kTwoStages, "{stage: tokenize}", "{stage: tokenize, partitioning: 3}"),
              {"job.yaml:12:", "stages[1].inputs[0].partitioning: '3' is not a partitioning"});
}

TEST(JobSpecTest, ForwardNeedsEqualParallelism) {
  std::string forward =
      replaced(kTwoStages, "{stage: tokenize}", "{stage: tokenize, partitioning: forward}");
  auto ok = parse(forward);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->stages(1).inputs(0).partitioning(), v1::FORWARD);

  std::string yaml = replaced(forward, "    parallelism: 2\n    resources: {cpus: 1",
                              "    parallelism: 3\n    resources: {cpus: 1");
  expectError(yaml, {"job.yaml:12:", "stages[1].inputs[0].partitioning",
                     "forward partitioning between stages of different parallelism",
                     "'tokenize' has 2 and 'count' has 3"});
  // Hash and broadcast are fine across different parallelism.
  auto hash = parse(replaced(kTwoStages, "    parallelism: 2\n    resources: {cpus: 1",
                             "    parallelism: 3\n    resources: {cpus: 1"));
  EXPECT_TRUE(hash.ok()) << hash.error().message;
}

TEST(JobSpecTest, Cycle) {
  constexpr char kYaml[] = R"(name: loop
stages:
  - name: src
    parallelism: 1
    resources: {cpus: 1, mem: 1}
    command: cat
    input: {files: [x]}
  - name: a
    parallelism: 1
    resources: {cpus: 1, mem: 1}
    command: cat
    inputs: [{stage: src}, {stage: c}]
  - name: b
    parallelism: 1
    resources: {cpus: 1, mem: 1}
    command: cat
    inputs: [{stage: a}]
  - name: c
    parallelism: 1
    resources: {cpus: 1, mem: 1}
    command: cat
    inputs: [{stage: b}]
  - name: sink
    parallelism: 1
    resources: {cpus: 1, mem: 1}
    command: cat
    inputs: [{stage: c}]
)";
  expectError(kYaml, {"job.yaml:12:36: stages[1].inputs[1].stage: cycle: a -> b -> c -> a",
                      "expected the stages to form a DAG"});
  // Two stages reading each other.
  constexpr char kPair[] = R"(name: pair
stages:
  - {name: x, parallelism: 1, resources: {cpus: 1, mem: 1}, command: cat, inputs: [{stage: y}]}
  - {name: y, parallelism: 1, resources: {cpus: 1, mem: 1}, command: cat, inputs: [{stage: x}]}
)";
  expectError(kPair, {"job.yaml:3:", "stages[0].inputs[0].stage: cycle: x -> y -> x"});
}

TEST(JobSpecTest, ExactlyOneSink) {
  std::string twoSinks =
      std::string(kTwoStages) +
      "  - {name: extra, parallelism: 1, resources: {cpus: 1, mem: 1}, command: cat,\n"
      "     inputs: [{stage: tokenize}]}\n";
  expectError(twoSinks, {"job.yaml:3:3: stages: found 2 sink stages: count, extra",
                         "expected exactly one stage that no other stage reads"});
  std::string twoSources =
      replaced(kTwoStages, "    inputs: [{stage: tokenize}]", "    input: {files: [b]}");
  expectError(twoSources, {"job.yaml:3:3: stages: found 2 sink stages: tokenize, count"});
}

TEST(JobSpecTest, ClusterCapacity) {
  ParseOptions options;
  options.clusterCapacity = Resources{/*milliCpus=*/4000, /*memMib=*/2048, /*diskMib=*/100,
                                      /*gpus=*/0};
  auto fits = parse(kTwoStages, options);
  EXPECT_TRUE(fits.ok()) << fits.error().message;

  expectError(
      replaced(kTwoStages, "cpus: 1,", "cpus: 6.5,"),
      {"job.yaml:10:", "stages[1].resources.cpus", "resources larger than the local cluster",
       "asks for 6.5 cpus", "the local cluster has 4"},
      options);
  expectError(replaced(kTwoStages, "mem: 256", "mem: 4GiB"),
              {"job.yaml:10:", "stages[1].resources.mem", "resources larger than the local cluster",
               "asks for 4096 MiB mem", "has 2048 MiB"},
              options);
  expectError(replaced(kTwoStages, "mem: 256}", "mem: 256, disk: 1GiB}"),
              {"job.yaml:10:", "stages[1].resources.disk", "asks for 1024 MiB disk", "has 100 MiB"},
              options);
  options.clusterDescription = "agent 'big-box'";
  expectError(replaced(kTwoStages, "mem: 128}", "mem: 128, gpus: 2}"),
              {"job.yaml:5:", "stages[0].resources.gpus", "resources larger than agent 'big-box'",
               "asks for 2 gpus", "agent 'big-box' has 0"},
              options);
  // Without a capacity anything goes.
  auto unchecked = parse(replaced(kTwoStages, "cpus: 1,", "cpus: 500,"));
  EXPECT_TRUE(unchecked.ok()) << unchecked.error().message;
}

// --- restart_strategy ---

// kTwoStages with a restart_strategy block after it: the block starts on line 13.
std::string withRestart(std::string_view block) {
  return std::string(kTwoStages) + "restart_strategy:" + std::string(block);
}

TEST(JobSpecTest, WithoutARestartStrategyTheDispatcherChooses) {
  auto spec = parse(kTwoStages);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_FALSE(spec->has_restart_strategy());
  EXPECT_EQ(spec->restart_strategy().type(), v1::RESTART_STRATEGY_TYPE_UNSPECIFIED);
}

TEST(JobSpecTest, RestartStrategyOptionsAreReadAndTheRestDefaulted) {
  auto spec = parse(withRestart(R"(
  type: fixed-delay
  attempts: 3
  delay: 10s
  restart_on: [jobmanager-lost, job-failed]
)"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  const auto& fixed = spec->restart_strategy();
  EXPECT_EQ(fixed.type(), v1::FIXED_DELAY);
  EXPECT_EQ(fixed.attempts(), 3);
  EXPECT_EQ(fixed.delay_seconds(), 10);
  EXPECT_THAT(fixed.restart_on(), ::testing::ElementsAre(v1::JOBMANAGER_LOST, v1::JOB_FAILED));

  spec = parse(withRestart(" {type: failure-rate, max_failures_per_interval: 3}\n"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  const auto& rate = spec->restart_strategy();
  EXPECT_EQ(rate.type(), v1::FAILURE_RATE);
  EXPECT_EQ(rate.max_failures_per_interval(), 3);
  EXPECT_EQ(rate.failure_rate_interval_seconds(), 60);  // Flink's defaults
  EXPECT_EQ(rate.delay_seconds(), 1);
  EXPECT_THAT(rate.restart_on(), ::testing::ElementsAre(v1::JOBMANAGER_LOST));
  EXPECT_EQ(rate.attempts(), 0);  // not an option of failure-rate

  spec = parse(withRestart(R"(
  type: exponential-delay
  initial_backoff: 250ms
  max_backoff: 2m
  backoff_multiplier: 2
  reset_backoff_threshold: never
  jitter_factor: 0
  attempts: unlimited
)"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  const auto& exponential = spec->restart_strategy();
  EXPECT_EQ(exponential.type(), v1::EXPONENTIAL_DELAY);
  EXPECT_EQ(exponential.initial_backoff_seconds(), 0.25);
  EXPECT_EQ(exponential.max_backoff_seconds(), 120);
  EXPECT_EQ(exponential.backoff_multiplier(), 2);
  EXPECT_EQ(exponential.reset_backoff_threshold_seconds(), 0);
  EXPECT_EQ(exponential.jitter_factor(), 0);
  EXPECT_EQ(exponential.attempts(), 0);
}

TEST(JobSpecTest, ARestartStrategyCanBeJustItsType) {
  auto spec = parse(withRestart(" none\n"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->restart_strategy().type(), v1::NO_RESTART);
  EXPECT_THAT(spec->restart_strategy().restart_on(), ::testing::IsEmpty());

  spec = parse(withRestart(" exponential-delay\n"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      spec->restart_strategy(), defaultRestartStrategy(v1::EXPONENTIAL_DELAY)));
}

TEST(JobSpecTest, RestartStrategyTypeErrors) {
  expectError(withRestart("\n  attempts: 3\n"),
              {"job.yaml:14:3: restart_strategy: missing required field 'type' (expected none, "
               "fixed-delay, failure-rate or exponential-delay)"});
  expectError(withRestart("\n  type: fixed\n"),
              {"job.yaml:14:9: restart_strategy.type: 'fixed' is not a restart strategy (did you "
               "mean 'fixed-delay'? expected none, fixed-delay, failure-rate or "
               "exponential-delay)"});
  expectError(withRestart(" failure_rate\n"),
              {"job.yaml:13:19: restart_strategy: 'failure_rate' is not a restart strategy (did "
               "you mean 'failure-rate'?"});
  expectError(withRestart(" [fixed-delay]\n"),
              {"job.yaml:13:19: restart_strategy: found a list (expected a map with type"});
  expectError(withRestart("\n  type: no\n"),
              {"job.yaml:14:9: restart_strategy.type: found the boolean 'no'"});
}

TEST(JobSpecTest, RestartStrategyOptionErrorsNameTheOption) {
  expectError(withRestart("\n  type: fixed-delay\n  delays: 1s\n"),
              {"job.yaml:15:3: restart_strategy: unknown field 'delays' (did you mean 'delay'? "
               "expected one of: type, attempts, delay"});
  expectError(withRestart("\n  type: fixed-delay\n  jitter_factor: 0.1\n"),
              {"job.yaml:15:3: restart_strategy: 'jitter_factor' does not apply to fixed-delay "
               "(expected one of: type, attempts, delay, restart_on)"});
  expectError(withRestart("\n  type: none\n  attempts: 2\n"),
              {"job.yaml:15:3: restart_strategy: 'attempts' does not apply to none (expected no "
               "other field)"});
  expectError(withRestart("\n  type: fixed-delay\n  delay: soon\n"),
              {"job.yaml:15:10: restart_strategy.delay: 'soon' is not a duration (expected a "
               "duration >= 0 such as 10s, 500ms or 2m)"});
  expectError(withRestart("\n  type: fixed-delay\n  delay: 9000h\n"),
              {"job.yaml:15:10: restart_strategy.delay: '9000h' is too long"});
  expectError(withRestart("\n  type: fixed-delay\n  attempts: 0\n"),
              {"job.yaml:15:13: restart_strategy.attempts: 0 is too small (expected an integer "
               ">= 1, or unlimited)"});
  expectError(withRestart("\n  type: fixed-delay\n  attempts: yes\n"),
              {"job.yaml:15:13: restart_strategy.attempts: found the boolean 'yes'"});
  expectError(withRestart("\n  type: fixed-delay\n  delay: [1s]\n"),
              {"job.yaml:15:10: restart_strategy.delay: found a list (expected a duration >= 0"});
  expectError(withRestart("\n  type: failure-rate\n  failure_rate_interval: 0s\n"),
              {"job.yaml:15:26: restart_strategy.failure_rate_interval: '0s' is too short "
               "(expected a duration > 0"});
  expectError(withRestart("\n  type: exponential-delay\n  jitter_factor: 1.5\n"),
              {"job.yaml:15:18: restart_strategy.jitter_factor: 1.5 is out of range (expected a "
               "number from 0 to 1"});
  expectError(withRestart("\n  type: exponential-delay\n  backoff_multiplier: 1\n"),
              {"job.yaml:15:23: restart_strategy.backoff_multiplier: 1 is not greater than 1"});
  expectError(withRestart("\n  type: exponential-delay\n  reset_backoff_threshold: always\n"),
              {"job.yaml:15:28: restart_strategy.reset_backoff_threshold: 'always' is not a "
               "duration (expected a duration > 0 such as 10m or 1h, or never)"});
}

TEST(JobSpecTest, RestartStrategyBackoffsMustBeInOrder) {
  // Blamed on initial_backoff when it is given...
  expectError(withRestart("\n  type: exponential-delay\n  initial_backoff: 5m\n"),
              {"job.yaml:15:20: restart_strategy.initial_backoff: initial_backoff 5m is longer "
               "than max_backoff 1m (expected initial_backoff <= max_backoff)"});
  // ... else on max_backoff.
  expectError(withRestart("\n  type: exponential-delay\n  max_backoff: 500ms\n"),
              {"job.yaml:15:16: restart_strategy.max_backoff: initial_backoff 1s is longer than "
               "max_backoff 500ms"});
}

TEST(JobSpecTest, RestartOnErrors) {
  expectError(withRestart("\n  type: fixed-delay\n  restart_on: [jobmanager-lost, job-fail]\n"),
              {"job.yaml:15:33: restart_strategy.restart_on[1]: 'job-fail' is not a failure to "
               "restart on (did you mean 'job-failed'? expected jobmanager-lost, job-failed)"});
  expectError(withRestart("\n  type: fixed-delay\n  restart_on: []\n"),
              {"job.yaml:15:15: restart_strategy.restart_on: the list is empty"});
  expectError(withRestart("\n  type: fixed-delay\n  restart_on: job-failed\n"),
              {"job.yaml:15:15: restart_strategy.restart_on: found 'job-failed' (expected a "
               "non-empty list"});
  expectError(withRestart("\n  type: fixed-delay\n  restart_on: [job-failed, job-failed]\n"),
              {"job.yaml:15:15: restart_strategy.restart_on: job-failed is given twice"});
}

TEST(JobSpecTest, YamlSyntaxError) {
  expectError("name: x\nstages: [{name: a\n",
              {"job.yaml:3:1: invalid YAML:", "expected valid YAML syntax"});
  expectError("name: x\n\tstages: []\n", {"job.yaml:2:", "invalid YAML: illegal tab"});
  expectError("name: *nope\n", {"job.yaml:1:", "invalid YAML:", "anchor"});
  expectError(std::string(50000, '['), {"job.yaml:1:1: invalid YAML:", "nested too deeply"});
}

TEST(JobSpecTest, StrayCommaAfterTheDocument) {
  // yaml-cpp's LoadAll never returns on these; the parser must report them instead.
  expectError(",", {"job.yaml:1:1: invalid YAML: unexpected ','"});
  expectError("[a], b\n", {"job.yaml:1:4: invalid YAML: unexpected ','"});
  expectError(std::string(kTwoStages) + ",\n", {"job.yaml:13:1: invalid YAML"});
}

TEST(JobSpecTest, EmptyFile) {
  expectError("", {"job.yaml:1:1: job: the file is empty"});
  expectError("# nothing but a comment\n\n", {"job.yaml:1:1: job: the file is empty"});
  expectError("---\n", {"job.yaml:", "job: the file is empty"});
}

TEST(JobSpecTest, SeveralDocuments) {
  expectError(std::string(kTwoStages) + "---\nname: second\n",
              {"job.yaml:13:1: job: found a second YAML document"});
}

TEST(JobSpecTest, OddKeysAndAliases) {
  expectError("? [a, b]\n: c\n", {"job.yaml:1:3: job: found a list as a field name"});
  // An alias to a list that contains itself must not loop forever.
  expectError(replaced(kTwoStages, "command: cat", "command: &c [cat, *c]"),
              {"job.yaml:6:", "stages[0].command"});
  // Aliases to good values are fine.
  std::string aliased = replaced(kTwoStages, "{cpus: 0.5, mem: 128}", "&res {cpus: 0.5, mem: 128}");
  aliased = replaced(aliased, "{cpus: 1, mem: 256}", "*res");
  auto result = parse(aliased);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stages(1).resources().mem(), 128);
}

TEST(JobSpecTest, NeverThrowsOnMangledInput) {
  // Deterministic mutations of a valid spec: deleting, duplicating and replacing characters.
  const std::string base = kTwoStages;
  const std::string alphabet = "[]{}:,-'\"&*!|>#?\n\t 0a.~";
  std::mt19937 random(12345);
  for (int round = 0; round < 3000; ++round) {
    std::string text = base;
    int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      std::size_t at = random() % text.size();
      switch (random() % 3) {
        case 0:
          text.erase(at, 1 + random() % 5);
          break;
        case 1:
          text.insert(at, text.substr(random() % text.size(), random() % 20));
          break;
        default:
          text[at] = alphabet[random() % alphabet.size()];
          break;
      }
    }
    auto result = parseJobSpec(text, kFile, kBaseDir);
    if (!result.ok()) {
      EXPECT_THAT(result.error().message, StartsWith("job.yaml:")) << text;
      EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST(JobSpecTest, LoadsFileAndSetsBaseDir) {
  TempDir dir;
  fs::path file = dir.write("job.yaml", kTwoStages);
  auto result = loadJobSpec(file.string());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->name(), "wordcount");
  EXPECT_EQ(fs::path(result->base_dir()), dir.path().lexically_normal());
  EXPECT_TRUE(fs::path(result->base_dir()).is_absolute());
}

TEST(JobSpecTest, LoadReportsThePathInErrors) {
  TempDir dir;
  fs::path file = dir.write("broken.yaml", "name: x\nstages: 3\n");
  auto result = loadJobSpec(file.string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, StartsWith(file.string() + ":2:9: stages: found '3'"));
}

TEST(JobSpecTest, LoadMissingFile) {
  TempDir dir;
  std::string missing = (dir.path() / "does-not-exist.yaml").string();
  auto result = loadJobSpec(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr(missing));
  EXPECT_THAT(result.error().message, HasSubstr("cannot read the job spec"));
  EXPECT_THAT(result.error().message, HasSubstr("No such file or directory"));
}

TEST(JobSpecTest, LoadDirectory) {
  TempDir dir;
  auto result = loadJobSpec(dir.path().string());
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("is a directory"));
}

}  // namespace
}  // namespace tailor::jobspec
