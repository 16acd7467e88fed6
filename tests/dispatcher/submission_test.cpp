#include "dispatcher/submission.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/naming.hpp"
#include "tests/dispatcher/job_file.hpp"

namespace tailor::dispatcher {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kBaseDir[] = "/state/jobs/wordcount-1/files";

// A valid one-stage spec. Line numbers matter for the error tests.
constexpr char kSpec[] = R"(name: wordcount
stages:
  - name: count
    parallelism: 2
    resources: {cpus: 1, mem: 128}
    command: wc -l
    input: {files: [data/a.txt]}
)";

v1::SubmitJobRequest request(const std::vector<std::string>& paths = {}) {
  v1::SubmitJobRequest request;
  request.set_spec(kSpec);
  for (const auto& path : paths) *request.add_files() = jobFile(path);
  return request;
}

// Checks `submission`, expects it refused, and returns the message.
std::string refusal(const v1::SubmitJobRequest& submission, const SubmissionLimits& limits = {}) {
  auto checked = checkSubmission(submission, kBaseDir, limits);
  EXPECT_FALSE(checked.ok()) << "accepted";
  if (checked.ok()) return "";
  EXPECT_EQ(checked.error().code, ErrorCode::kInvalidArgument);
  return checked.error().message;
}

TEST(SubmissionTest, AcceptsAGoodSpecAndFiles) {
  auto submission = request({"data/a.txt", "data/b.txt", "lookup.csv"});
  submission.mutable_files(0)->set_content("hello\n");
  auto checked = checkSubmission(submission, kBaseDir);
  ASSERT_TRUE(checked.ok()) << checked.error().message;

  EXPECT_EQ(checked->specName, "job.yaml");
  EXPECT_EQ(checked->spec.name(), "wordcount");
  EXPECT_EQ(checked->spec.base_dir(), kBaseDir);
  ASSERT_EQ(checked->spec.stages_size(), 1);
  EXPECT_EQ(checked->spec.stages(0).parallelism(), 2);
  // The spec comes first, as a file of its own.
  ASSERT_EQ(checked->files.size(), 4u);
  EXPECT_EQ(checked->files[0].path(), "job.yaml");
  EXPECT_EQ(checked->files[0].content(), kSpec);
  EXPECT_EQ(checked->files[1].path(), "data/a.txt");
  EXPECT_EQ(checked->files[1].content(), "hello\n");
  EXPECT_EQ(checked->files[2].path(), "data/b.txt");
  EXPECT_EQ(checked->files[3].path(), "lookup.csv");
}

TEST(SubmissionTest, AcceptsASpecAlone) {
  auto checked = checkSubmission(request(), kBaseDir);
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  ASSERT_EQ(checked->files.size(), 1u);
  EXPECT_EQ(checked->files[0].path(), "job.yaml");
}

TEST(SubmissionTest, KeepsTheGivenSpecName) {
  auto submission = request({"a.txt"});
  submission.set_spec_name("word_count-v2.yaml");
  auto checked = checkSubmission(submission, kBaseDir);
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->specName, "word_count-v2.yaml");
  EXPECT_EQ(checked->files[0].path(), "word_count-v2.yaml");
}

struct BadPath {
  std::string path;
  std::string problem;
};

void PrintTo(const BadPath& bad, std::ostream* os) { *os << '"' << bad.path << '"'; }

class SubmissionBadPathTest : public ::testing::TestWithParam<BadPath> {};

TEST_P(SubmissionBadPathTest, IsRefusedNamingTheField) {
  // The bad path is the second file, so the field is files[1].path.
  std::string message = refusal(request({"ok.txt", GetParam().path}));
  EXPECT_THAT(message, StartsWith("files[1].path: "));
  EXPECT_THAT(message, HasSubstr(GetParam().problem));
}

INSTANTIATE_TEST_SUITE_P(
    SubmissionTest, SubmissionBadPathTest,
    ::testing::Values(BadPath{"", "empty path"}, BadPath{"/etc/passwd", "is absolute"},
                      BadPath{"/", "is absolute"}, BadPath{"..", "has an empty, '.' or '..' part"},
                      BadPath{"../secret", "has an empty, '.' or '..' part"},
                      BadPath{"data/../../secret", "has an empty, '.' or '..' part"},
                      BadPath{"data/..", "has an empty, '.' or '..' part"},
                      BadPath{".", "has an empty, '.' or '..' part"},
                      BadPath{"./a.txt", "has an empty, '.' or '..' part"},
                      BadPath{"data/./a.txt", "has an empty, '.' or '..' part"},
                      BadPath{"a//b", "has an empty, '.' or '..' part"},
                      BadPath{"data/", "has an empty, '.' or '..' part"},
                      BadPath{"a\\b", "control character or backslash"},
                      BadPath{"..\\secret", "control character or backslash"},
                      BadPath{"a\nb", "control character or backslash"},
                      BadPath{std::string("a\0b", 3), "control character or backslash"},
                      BadPath{"tab\there", "control character or backslash"},
                      BadPath{"del\x7f", "control character or backslash"}));

TEST(SubmissionTest, RefusesAPathLongerThanTheLimit) {
  SubmissionLimits limits;
  limits.maxPathLength = 10;
  EXPECT_TRUE(checkSubmission(request({"0123456789"}), kBaseDir, limits).ok());
  EXPECT_EQ(refusal(request({"0123456789a"}), limits),
            "files[0].path: path longer than 10 characters");
}

TEST(SubmissionTest, RefusesAFileGivenTwice) {
  EXPECT_EQ(refusal(request({"a.txt", "b.txt", "a.txt"})), "files[2].path: 'a.txt' is given twice");
}

TEST(SubmissionTest, RefusesAFileNamedLikeTheSpec) {
  EXPECT_EQ(refusal(request({"job.yaml"})),
            "files[0].path: 'job.yaml' is given twice (it is the spec)");
  auto named = request({"spec.yaml"});
  named.set_spec_name("spec.yaml");
  EXPECT_THAT(refusal(named), HasSubstr("(it is the spec)"));
  // In a folder it is another file.
  EXPECT_TRUE(checkSubmission(request({"conf/job.yaml"}), kBaseDir).ok());
}

TEST(SubmissionTest, RefusesAFileThatIsAlsoAFolder) {
  EXPECT_EQ(refusal(request({"a", "a/b"})), "files[1].path: 'a/b' clashes with 'a'");
  EXPECT_EQ(refusal(request({"a/b/c", "a/b"})), "files[1].path: 'a/b' clashes with 'a/b/c'");
  EXPECT_EQ(refusal(request({"job.yaml/x"})),
            "files[0].path: 'job.yaml/x' clashes with 'job.yaml'");
  // A common prefix that is not a folder is fine.
  EXPECT_TRUE(checkSubmission(request({"a", "ab/c", "a.txt"}), kBaseDir).ok());
}

TEST(SubmissionTest, RefusesABadSpecName) {
  const std::vector<std::string> names = {"../job.yaml", "conf/job.yaml",      ".",
                                          "..",          "job yaml",           "job$.yaml",
                                          "/job.yaml",   std::string(256, 'a')};
  for (const auto& name : names) {
    auto submission = request();
    submission.set_spec_name(name);
    std::string message = refusal(submission);
    EXPECT_THAT(message, StartsWith("spec_name: '" + name + "' is not a plain file name")) << name;
  }
}

TEST(SubmissionTest, RefusesAnEmptySpec) {
  auto submission = request({"a.txt"});
  submission.clear_spec();
  EXPECT_EQ(refusal(submission), "spec: missing (expected the job spec's YAML)");
}

TEST(SubmissionTest, RefusesTooManyFiles) {
  SubmissionLimits limits;
  limits.maxFiles = 2;
  EXPECT_TRUE(checkSubmission(request({"a", "b"}), kBaseDir, limits).ok());
  EXPECT_EQ(refusal(request({"a", "b", "c"}), limits), "files: 3 files (at most 2)");
}

TEST(SubmissionTest, ABadSpecYieldsTheJobSpecMessageWithItsPosition) {
  auto submission = request();
  std::string spec = kSpec;
  spec.replace(spec.find("parallelism: 2"), 14, "parallelism: two");
  submission.set_spec(spec);
  std::string message = refusal(submission);
  EXPECT_THAT(message, StartsWith("job.yaml:4:18: stages[0].parallelism: "));

  // The position is in the file the user submitted, by its name.
  submission.set_spec_name("wordcount.yaml");
  EXPECT_THAT(refusal(submission), StartsWith("wordcount.yaml:4:18: stages[0].parallelism: "));

  submission.set_spec("name: [unclosed\n");
  EXPECT_THAT(refusal(submission), StartsWith("wordcount.yaml:"));
}

TEST(SubmissionTest, MakeJobIdHasNameUtcTimeAndFourHexDigits) {
  // 1700000000 is 2023-11-14 22:13:20 UTC.
  EXPECT_EQ(makeJobId("wordcount", 1'700'000'000.0, 0xabcd), "wordcount-20231114-221320-abcd");
  EXPECT_EQ(makeJobId("wordcount", 1'700'000'000.9, 5), "wordcount-20231114-221320-0005");
  // Only the low 16 bits of the random number are used.
  EXPECT_EQ(makeJobId("a.b_c-d", 0.0, 0x1234beef), "a.b_c-d-19700101-000000-beef");
}

TEST(SubmissionTest, QueueOrderIsPriorityFirstThenFifo) {
  EXPECT_THAT(queueOrder({}), IsEmpty());
  EXPECT_THAT(
      queueOrder({{"late-low", 0, 7},
                  {"early-high", 5, 2},
                  {"early-low", 0, 1},
                  {"late-high", 5, 9},
                  {"negative", -1, 0},
                  {"middle-low", 0, 4}}),
      ElementsAre("early-high", "late-high", "early-low", "middle-low", "late-low", "negative"));
}

TEST(SubmissionTest, LaunchSlotsIsTheRoomLeft) {
  EXPECT_EQ(launchSlots(0, 4), 4);
  EXPECT_EQ(launchSlots(3, 4), 1);
  EXPECT_EQ(launchSlots(4, 4), 0);
  EXPECT_EQ(launchSlots(6, 4), 0);
}

TEST(SubmissionTest, IsEndStateOnlyForFinishedFailedCanceled) {
  EXPECT_FALSE(isEndState(v1::JOB_STATE_UNSPECIFIED));
  EXPECT_FALSE(isEndState(v1::QUEUED));
  EXPECT_FALSE(isEndState(v1::LAUNCHING));
  EXPECT_FALSE(isEndState(v1::RUNNING));
  EXPECT_TRUE(isEndState(v1::FINISHED));
  EXPECT_TRUE(isEndState(v1::FAILED));
  EXPECT_TRUE(isEndState(v1::CANCELED));
}

}  // namespace
}  // namespace tailor::dispatcher
