#include "scheduler/jobmaster/input_splits.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "tests/common/temp_dir.hpp"
#include "tests/scheduler/job_spec_builder.hpp"

namespace tailor::scheduler {
namespace {

using test::JobSpecBuilder;
using test::StageBuilder;
using test::TempDir;
using ::testing::HasSubstr;
using ::testing::SizeIs;

using Splits = std::vector<std::vector<v1::FileSplit>>;

std::string describe(const v1::FileSplit& split) {
  return split.path() + "[" + std::to_string(split.start()) + "," + std::to_string(split.end()) +
         ")";
}

std::string describe(const Splits& splits) {
  std::string text;
  for (size_t t = 0; t < splits.size(); ++t) {
    text += "task " + std::to_string(t) + ":";
    for (const auto& split : splits[t]) text += " " + describe(split);
    text += "\n";
  }
  return text;
}

// Random text of `lines` lines of 0..maxLength characters; the last line
// lacks its newline when `trailingNewline` is false.
std::string generateText(std::mt19937& random, int lines, int maxLength, bool trailingNewline) {
  std::uniform_int_distribution<int> length(0, maxLength);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string text;
  for (int i = 0; i < lines; ++i) {
    int n = length(random);
    for (int c = 0; c < n; ++c) text += static_cast<char>(letter(random));
    if (i + 1 < lines || trailingNewline) text += '\n';
  }
  return text;
}

// Offsets where the lines of `text` start.
std::vector<std::int64_t> lineStarts(const std::string& text) {
  std::vector<std::int64_t> starts;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(text.size()); ++i) {
    if (i == 0 || text[static_cast<size_t>(i - 1)] == '\n') starts.push_back(i);
  }
  return starts;
}

// Checks that, with lines belonging to the split that holds their first
// byte, every line of every file is read exactly once across all tasks.
void expectEveryLineReadOnce(const std::map<std::string, std::string>& contents,
                             const Splits& splits) {
  std::map<std::string, std::vector<int>> reads;  // per file, per line
  std::map<std::string, std::vector<std::int64_t>> starts;
  for (const auto& [path, text] : contents) {
    starts[path] = lineStarts(text);
    reads[path].assign(starts[path].size(), 0);
  }
  for (const auto& task : splits) {
    for (const auto& split : task) {
      auto file = contents.find(split.path());
      ASSERT_NE(file, contents.end()) << "unknown file in " << describe(split);
      std::int64_t end =
          split.end() < 0 ? static_cast<std::int64_t>(file->second.size()) : split.end();
      const auto& fileStarts = starts[split.path()];
      for (size_t line = 0; line < fileStarts.size(); ++line) {
        if (fileStarts[line] >= split.start() && fileStarts[line] < end) {
          reads[split.path()][line] += 1;
        }
      }
    }
  }
  for (const auto& [path, counts] : reads) {
    for (size_t line = 0; line < counts.size(); ++line) {
      ASSERT_EQ(counts[line], 1) << path << " line " << line << " (offset " << starts[path][line]
                                 << ") read " << counts[line] << " times; splits:\n"
                                 << describe(splits);
    }
  }
}

// Checks that the splits of each known-size file tile it exactly: in order,
// without gaps, overlaps or empty ranges.
void expectFilesTiled(const std::vector<InputFile>& files, const Splits& splits) {
  std::map<std::string, std::vector<std::pair<std::int64_t, std::int64_t>>> ranges;
  for (const auto& task : splits) {
    for (const auto& split : task) ranges[split.path()].emplace_back(split.start(), split.end());
  }
  for (const auto& file : files) {
    if (file.size < 0) continue;
    auto& fileRanges = ranges[file.path];
    std::sort(fileRanges.begin(), fileRanges.end());
    std::int64_t at = 0;
    for (const auto& [start, end] : fileRanges) {
      EXPECT_EQ(start, at) << file.path << ":\n" << describe(splits);
      EXPECT_LT(start, end) << file.path << ":\n" << describe(splits);
      at = end;
    }
    EXPECT_EQ(at, file.size) << file.path << ":\n" << describe(splits);
  }
}

struct Layout {
  const char* name;
  std::vector<int> lineCounts;  // lines per file (0: an empty file)
  int maxLineLength;
  bool trailingNewline;
};

void PrintTo(const Layout& layout, std::ostream* os) { *os << layout.name; }

class SplitCoverageTest : public ::testing::TestWithParam<Layout> {};

TEST_P(SplitCoverageTest, EveryLineIsReadExactlyOnce) {
  const Layout& layout = GetParam();
  std::mt19937 random(12345);
  std::map<std::string, std::string> contents;
  std::vector<InputFile> files;
  for (size_t f = 0; f < layout.lineCounts.size(); ++f) {
    std::string path = "/data/part-" + std::to_string(f) + ".txt";
    std::string text = layout.lineCounts[f] == 0
                           ? std::string()
                           : generateText(random, layout.lineCounts[f], layout.maxLineLength,
                                          layout.trailingNewline);
    contents[path] = text;
    files.push_back(InputFile{path, static_cast<std::int64_t>(text.size())});
  }
  std::int64_t total = 0;
  for (const auto& file : files) total += file.size;

  for (int parallelism : {1, 2, 3, 4, 5, 7, 8, 13, 64}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    Splits splits = splitFiles(files, parallelism);
    ASSERT_THAT(splits, SizeIs(parallelism));
    expectFilesTiled(files, splits);
    expectEveryLineReadOnce(contents, splits);
    // About equal shares: no task gets more than its ceil(total / n) bytes.
    std::int64_t share = (total + parallelism - 1) / parallelism;
    for (size_t t = 0; t < splits.size(); ++t) {
      std::int64_t bytes = 0;
      for (const auto& split : splits[t]) bytes += split.end() - split.start();
      EXPECT_LE(bytes, share) << "task " << t << "\n" << describe(splits);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, SplitCoverageTest,
    ::testing::Values(Layout{"OneFile", {200}, 30, true},
                      Layout{"SeveralFiles", {50, 3, 120, 17}, 40, true},
                      Layout{"NoTrailingNewline", {40, 25}, 20, false},
                      Layout{"WithEmptyFiles", {0, 30, 0, 0, 30, 0}, 25, true},
                      Layout{"EmptyLinesOnly", {80}, 0, true},
                      Layout{"FewLongLines", {3, 2}, 400, true},
                      Layout{"ManyTinyFiles", {1, 1, 2, 1, 1, 1, 3, 1, 1, 1, 2, 1}, 4, false},
                      Layout{"OneLine", {1}, 300, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SplitFilesTest, CutsOneFileIntoEqualRanges) {
  Splits splits = splitFiles({InputFile{"/a", 100}}, 4);
  ASSERT_EQ(splits.size(), 4u);
  for (int t = 0; t < 4; ++t) {
    ASSERT_EQ(splits[t].size(), 1u) << describe(splits);
    EXPECT_EQ(splits[t][0].path(), "/a");
    EXPECT_EQ(splits[t][0].start(), 25 * t);
    EXPECT_EQ(splits[t][0].end(), 25 * (t + 1));
  }
}

TEST(SplitFilesTest, RangesSpanFiles) {
  // 150 bytes over 2 tasks: 75 each; the second task reads the end of /a and all of /b.
  Splits splits = splitFiles({InputFile{"/a", 100}, InputFile{"/b", 50}}, 2);
  ASSERT_EQ(splits.size(), 2u);
  ASSERT_EQ(splits[0].size(), 1u) << describe(splits);
  EXPECT_EQ(describe(splits[0][0]), "/a[0,75)");
  ASSERT_EQ(splits[1].size(), 2u) << describe(splits);
  EXPECT_EQ(describe(splits[1][0]), "/a[75,100)");
  EXPECT_EQ(describe(splits[1][1]), "/b[0,50)");
}

TEST(SplitFilesTest, OneTaskReadsEverything) {
  Splits splits = splitFiles({InputFile{"/a", 10}, InputFile{"/b", 20}}, 1);
  ASSERT_EQ(splits.size(), 1u);
  ASSERT_EQ(splits[0].size(), 2u);
  EXPECT_EQ(describe(splits[0][0]), "/a[0,10)");
  EXPECT_EQ(describe(splits[0][1]), "/b[0,20)");
}

TEST(SplitFilesTest, MoreTasksThanBytesLeavesSomeIdle) {
  Splits splits = splitFiles({InputFile{"/a", 3}}, 5);
  ASSERT_EQ(splits.size(), 5u);
  int busy = 0;
  for (const auto& task : splits) busy += task.empty() ? 0 : 1;
  EXPECT_EQ(busy, 3) << describe(splits);
}

TEST(SplitFilesTest, UnknownSizesGoWholeRoundRobin) {
  Splits splits = splitFiles(
      {InputFile{"http://h/1", -1}, InputFile{"http://h/2", -1}, InputFile{"http://h/3", -1}}, 2);
  ASSERT_EQ(splits.size(), 2u);
  ASSERT_EQ(splits[0].size(), 2u) << describe(splits);
  ASSERT_EQ(splits[1].size(), 1u) << describe(splits);
  EXPECT_EQ(describe(splits[0][0]), "http://h/1[0,-1)");
  EXPECT_EQ(describe(splits[0][1]), "http://h/3[0,-1)");
  EXPECT_EQ(describe(splits[1][0]), "http://h/2[0,-1)");
}

TEST(SplitFilesTest, KnownAndUnknownSizesMix) {
  Splits splits =
      splitFiles({InputFile{"http://h/u", -1}, InputFile{"/a", 40}, InputFile{"/b", 0}}, 2);
  ASSERT_EQ(splits.size(), 2u);
  // The URL goes whole to task 0; /a's 40 bytes are shared 20/20; /b is empty.
  EXPECT_EQ(describe(splits), "task 0: http://h/u[0,-1) /a[0,20)\ntask 1: /a[20,40)\n");
}

TEST(SplitFilesTest, NoFilesGiveEmptyTasks) {
  Splits splits = splitFiles({}, 3);
  ASSERT_EQ(splits.size(), 3u);
  for (const auto& task : splits) EXPECT_TRUE(task.empty());
}

// --- planInputSplits ---

class PlanInputSplitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = dir_.write("a.txt", std::string(99, 'a') + "\n");  // 100 bytes
    b_ = dir_.write("b.txt", std::string(49, 'b') + "\n");  // 50 bytes
    dir_.write("c.log", "log\n");
    dir_.write("sub.txt/inner.txt", "nested\n");  // a folder matching *.txt
  }

  TempDir dir_;
  std::string a_;
  std::string b_;
};

TEST_F(PlanInputSplitsTest, ExpandsGlobsAgainstTheBaseDirInOrder) {
  auto spec = JobSpecBuilder()
                  .baseDir(dir_.str())
                  .stage(StageBuilder("read").parallelism(2).files({"*.txt"}))
                  .stage(StageBuilder("count").parallelism(3).input("read"))
                  .build();
  auto plan = planInputSplits(spec);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->size(), 2u);

  // The folder sub.txt is skipped; a.txt and b.txt are sorted and split 75/75.
  const Splits& read = (*plan)[0];
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(describe(read),
            "task 0: " + a_ + "[0,75)\ntask 1: " + a_ + "[75,100) " + b_ + "[0,50)\n");

  // Non-sources get one empty list per task.
  const Splits& count = (*plan)[1];
  ASSERT_EQ(count.size(), 3u);
  for (const auto& task : count) EXPECT_TRUE(task.empty());
}

TEST_F(PlanInputSplitsTest, KeepsPatternOrderAndAbsolutePaths) {
  auto spec = JobSpecBuilder()
                  .baseDir("/nowhere")
                  .stage(StageBuilder("read").parallelism(1).files({b_, a_}))
                  .build();
  auto plan = planInputSplits(spec);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(describe((*plan)[0]), "task 0: " + b_ + "[0,50) " + a_ + "[0,100)\n");
}

TEST_F(PlanInputSplitsTest, UrlsAreTakenWholeWithUnknownSize) {
  auto spec = JobSpecBuilder()
                  .baseDir(dir_.str())
                  .stage(StageBuilder("read").parallelism(2).files(
                      {"https://example.com/data.txt", "c.log"}))
                  .build();
  auto plan = planInputSplits(spec);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const Splits& read = (*plan)[0];
  ASSERT_EQ(read.size(), 2u);
  ASSERT_EQ(read[0].size(), 2u) << describe(read);
  EXPECT_EQ(describe(read[0][0]), "https://example.com/data.txt[0,-1)");
  EXPECT_EQ(read[0][1].path(), (dir_.path() / "c.log").string());
}

TEST_F(PlanInputSplitsTest, AGlobMatchingNothingNamesStageAndPattern) {
  auto spec = JobSpecBuilder()
                  .baseDir(dir_.str())
                  .stage(StageBuilder("read").files({"*.txt", "*.csv"}))
                  .build();
  auto plan = planInputSplits(spec);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(plan.error().message, HasSubstr("stage \"read\""));
  EXPECT_THAT(plan.error().message, HasSubstr("'*.csv' matches no file"));
  EXPECT_THAT(plan.error().message, HasSubstr((dir_.path() / "*.csv").string()));
}

TEST_F(PlanInputSplitsTest, AGlobMatchingOnlyFoldersIsAnError) {
  auto spec =
      JobSpecBuilder().baseDir(dir_.str()).stage(StageBuilder("read").files({"sub*"})).build();
  auto plan = planInputSplits(spec);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.error().message, HasSubstr("'sub*' matches no file"));
}

TEST_F(PlanInputSplitsTest, AMissingFileIsAnError) {
  auto spec = JobSpecBuilder()
                  .baseDir(dir_.str())
                  .stage(StageBuilder("read").files({"missing.txt"}))
                  .build();
  auto plan = planInputSplits(spec);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.error().message, HasSubstr("'missing.txt' matches no file"));
}

}  // namespace
}  // namespace tailor::scheduler
