#include "common/resources.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "common/config.hpp"
#include "tests/common/builders.hpp"

namespace tailor {
namespace {

using test::res;
using ::testing::HasSubstr;

// --- Resources arithmetic ---

TEST(ResourcesTest, HoldsCpusInThousandths) {
  Resources r = res(0.5, 1024);
  EXPECT_EQ(r.milliCpus, 500);
  EXPECT_EQ(r.memMib, 1024);
  EXPECT_DOUBLE_EQ(r.cpus(), 0.5);
  EXPECT_EQ(toMilliCpus(0.1234), 123);
  EXPECT_EQ(toMilliCpus(0.1236), 124);
  EXPECT_EQ(toMilliCpus(2), 2000);
}

TEST(ResourcesTest, SumsAndDifferencesStayExact) {
  // 0.1 + 0.2 is not 0.3 in doubles; in thousandths it is.
  EXPECT_EQ(res(0.1, 100) + res(0.2, 200), res(0.3, 300));
  EXPECT_EQ(res(1, 1000, 10, 1) - res(0.7, 300, 4, 1), res(0.3, 700, 6, 0));

  Resources acc;
  for (int i = 0; i < 10; ++i) acc += res(0.1, 10);
  EXPECT_EQ(acc, res(1, 100));
  for (int i = 0; i < 10; ++i) acc -= res(0.1, 10);
  EXPECT_TRUE(acc.isZero());
}

TEST(ResourcesTest, MultipliesEveryDimension) {
  EXPECT_EQ(res(0.5, 256, 10, 1) * 3, (Resources{1500, 768, 30, 3}));
  EXPECT_TRUE((res(2, 512) * 0).isZero());
}

TEST(ResourcesTest, ContainsNeedsEveryDimension) {
  Resources big = res(4, 4096, 100, 1);
  EXPECT_TRUE(big.contains(big));
  EXPECT_TRUE(big.contains(res(4, 4096)));
  EXPECT_TRUE(big.contains(Resources{}));
  EXPECT_FALSE(big.contains(res(4.001, 1)));
  EXPECT_FALSE(big.contains(res(1, 4097)));
  EXPECT_FALSE(big.contains(res(1, 1, 101)));
  EXPECT_FALSE(big.contains(res(1, 1, 0, 2)));
  EXPECT_FALSE(Resources{}.contains(res(0.001, 0)));
}

TEST(ResourcesTest, IsZeroOnlyWhenEveryDimensionIs) {
  EXPECT_TRUE(Resources{}.isZero());
  EXPECT_FALSE((Resources{0, 0, 0, 1}).isZero());
  EXPECT_FALSE((Resources{0, 0, 1, 0}).isZero());
  EXPECT_FALSE((Resources{0, 1, 0, 0}).isZero());
  EXPECT_FALSE((Resources{1, 0, 0, 0}).isZero());
}

TEST(ResourcesTest, OrdersByCpusThenMemDiskGpus) {
  EXPECT_LT(res(1, 4096), res(2, 1));
  EXPECT_LT(res(1, 1), res(1, 2));
  EXPECT_LT(res(1, 1, 1), res(1, 1, 2));
  EXPECT_LT(res(1, 1, 1, 0), res(1, 1, 1, 1));
  EXPECT_EQ(res(1, 1, 1, 1), res(1, 1, 1, 1));
}

TEST(ResourcesTest, PrintsAsResourceList) {
  EXPECT_EQ(res(0.5, 1024).toString(), "cpus=0.5,mem=1024,disk=0,gpus=0");
  EXPECT_EQ(res(2, 300, 10, 1).toString(), "cpus=2,mem=300,disk=10,gpus=1");
}

TEST(ResourcesTest, RoundTripsThroughProto) {
  v1::ResourceProfile profile;
  profile.set_cpus(0.25);
  profile.set_mem(384);
  profile.set_disk(2048);
  profile.set_gpus(2);
  Resources r = Resources::fromProto(profile);
  EXPECT_EQ(r, (Resources{250, 384, 2048, 2}));
  v1::ResourceProfile back = r.toProto();
  EXPECT_DOUBLE_EQ(back.cpus(), 0.25);
  EXPECT_EQ(back.mem(), 384);
  EXPECT_EQ(back.disk(), 2048);
  EXPECT_EQ(back.gpus(), 2);
}

TEST(ResourcesTest, FromProtoRoundsCpusToThousandths) {
  v1::ResourceProfile profile;
  profile.set_cpus(0.3333);
  EXPECT_EQ(Resources::fromProto(profile).milliCpus, 333);
}

// --- parseMebibytes ---

struct SizeCase {
  const char* text;
  std::int64_t mib;
};

void PrintTo(const SizeCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class ParseMebibytesTest : public ::testing::TestWithParam<SizeCase> {};

TEST_P(ParseMebibytesTest, Parses) {
  auto result = parseMebibytes(GetParam().text);
  ASSERT_TRUE(result.ok()) << GetParam().text << ": " << result.error().message;
  EXPECT_EQ(*result, GetParam().mib) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(Sizes, ParseMebibytesTest,
                         ::testing::Values(SizeCase{"512", 512}, SizeCase{"0", 0},
                                           SizeCase{"512MiB", 512}, SizeCase{"2GiB", 2048},
                                           SizeCase{"1.5GiB", 1536}, SizeCase{"1.5 GiB", 1536},
                                           SizeCase{"  3 GiB  ", 3072},
                                           SizeCase{"1TiB", 1024 * 1024}, SizeCase{"2048KiB", 2},
                                           // Partial MiB round up, so a size is never under-asked.
                                           SizeCase{"1KiB", 1}, SizeCase{"1.2", 2},
                                           // Decimal units: 1 GB = 10^9 bytes = 953.67 MiB.
                                           SizeCase{"1GB", 954}, SizeCase{"1000MB", 954},
                                           SizeCase{"1MB", 1}, SizeCase{"1TB", 953675},
                                           SizeCase{"1000KB", 1}));

TEST(ParseMebibytesErrorsTest, RejectsWhatIsNotASize) {
  for (const char* text : {"", "   ", "GiB", "-5", "-5MiB", "1.2.3", "five", "12XB", "12 gib",
                           "12 MiB extra", "1e3"}) {
    auto result = parseMebibytes(text);
    ASSERT_FALSE(result.ok()) << "'" << text << "' parsed as " << *result;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << text;
  }
}

TEST(ParseMebibytesErrorsTest, NamesTheUnknownUnit) {
  auto result = parseMebibytes("12XB");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("unknown unit 'XB'"));
  EXPECT_THAT(result.error().message, HasSubstr("GiB"));
}

// --- parseResourceList ---

TEST(ParseResourceListTest, ParsesEveryKey) {
  auto result = parseResourceList("cpus=2.5,mem=4GiB,disk=100,gpus=1", Resources{});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, (Resources{2500, 4096, 100, 1}));
}

TEST(ParseResourceListTest, MissingKeysKeepTheDefaults) {
  Resources defaults{8000, 16384, 50000, 2};
  auto result = parseResourceList("mem=512", defaults);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, (Resources{8000, 512, 50000, 2}));

  auto empty = parseResourceList("", defaults);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, defaults);
}

TEST(ParseResourceListTest, AllowsSpacesAndEmptyItems) {
  auto result = parseResourceList(" cpus = 1 , , mem = 2 GiB ,", Resources{});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, res(1, 2048));
}

TEST(ParseResourceListTest, LaterKeysWin) {
  auto result = parseResourceList("cpus=1,cpus=3", Resources{});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->milliCpus, 3000);
}

struct BadList {
  const char* text;
  const char* mentions;
};

void PrintTo(const BadList& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class ParseResourceListErrorTest : public ::testing::TestWithParam<BadList> {};

TEST_P(ParseResourceListErrorTest, Rejects) {
  auto result = parseResourceList(GetParam().text, Resources{});
  ASSERT_FALSE(result.ok()) << GetParam().text << " parsed as " << result->toString();
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr(GetParam().mentions));
}

INSTANTIATE_TEST_SUITE_P(Lists, ParseResourceListErrorTest,
                         ::testing::Values(BadList{"cpus", "'cpus' is not of the form key=value"},
                                           BadList{"cpus=-1",
                                                   "cpus: '-1' is not a non-negative number"},
                                           BadList{"cpus=lots", "cpus: 'lots'"},
                                           BadList{"gpus=1.5", "gpus: '1.5' is not a whole number"},
                                           BadList{"gpus=-1", "gpus: '-1'"},
                                           BadList{"mem=12XB", "mem: '12XB' has an unknown unit"},
                                           BadList{"disk=big", "disk: 'big' is not a size"},
                                           BadList{"ram=1", "unknown resource 'ram'"}));

// --- parseDuration ---

struct DurationCase {
  const char* text;
  std::int64_t millis;
};

void PrintTo(const DurationCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class ParseDurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ParseDurationTest, Parses) {
  auto result = parseDuration(GetParam().text);
  ASSERT_TRUE(result.ok()) << GetParam().text << ": " << result.error().message;
  EXPECT_EQ(result->count(), GetParam().millis) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(Durations, ParseDurationTest,
                         ::testing::Values(DurationCase{"250ms", 250}, DurationCase{"5s", 5000},
                                           DurationCase{"2m", 120000}, DurationCase{"1h", 3600000},
                                           DurationCase{"3", 3000}, DurationCase{"0", 0},
                                           DurationCase{"0ms", 0}, DurationCase{"1.5s", 1500},
                                           DurationCase{"0.5", 500}, DurationCase{"1.5m", 90000},
                                           DurationCase{"0.25h", 900000}));

TEST(ParseDurationErrorsTest, RejectsWhatIsNotADuration) {
  for (const char* text :
       {"", "s", "ms", "5x", "5S", "5 s", " 5s", "-1s", "1.2.3s", "5sec", "1d"}) {
    auto result = parseDuration(text);
    ASSERT_FALSE(result.ok()) << "'" << text << "' parsed as " << result->count() << " ms";
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_THAT(result.error().message, HasSubstr("is not a duration")) << text;
  }
}

TEST(ShortageTest, TheMostShortResourceIsTheLargestPartMissing) {
  EXPECT_FALSE(mostShort(res(1, 1024), res(2, 2048)));
  EXPECT_FALSE(mostShort(res(1, 1024), res(1, 1024)));
  auto mem = mostShort(res(1, 8192), res(4, 4096));
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->resource, "mem");
  EXPECT_DOUBLE_EQ(mem->amount, 4096);
  EXPECT_DOUBLE_EQ(mem->fraction, 0.5);
  // 0.5 of 2 CPUs (a quarter) against 768 of 1024 MiB (three quarters).
  auto both = mostShort(res(2, 1024), res(1.5, 256));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->resource, "mem");
  auto cpus = mostShort(res(2, 1024), res(0.5, 512));
  ASSERT_TRUE(cpus);
  EXPECT_EQ(cpus->resource, "cpus");
  EXPECT_DOUBLE_EQ(cpus->amount, 1.5);
  // Ties go to cpus, then mem, disk, gpus.
  EXPECT_EQ(mostShort(res(2, 2048), res(1, 1024))->resource, "cpus");
  EXPECT_EQ(mostShort(res(0, 0, 100, 2), res(0, 0, 0, 0))->resource, "disk");
  auto gpus = mostShort(res(0, 0, 0, 2), res(0, 0, 0, 1));
  ASSERT_TRUE(gpus);
  EXPECT_EQ(gpus->resource, "gpus");
  EXPECT_DOUBLE_EQ(gpus->amount, 1);
}

TEST(ShortageTest, TheCloserFitLacksTheSmallerPart) {
  Resources need = res(2, 4096);
  EXPECT_TRUE(closerFit(need, res(2, 4096), res(1, 4096)));  // holds it
  EXPECT_FALSE(closerFit(need, res(1, 4096), res(2, 4096)));
  EXPECT_TRUE(closerFit(need, res(1.5, 1024), res(4, 512)));  // 3/4 short against 7/8
  // Same largest part missing: the smaller sum wins.
  EXPECT_TRUE(closerFit(need, res(1, 4096), res(1, 2048)));
  EXPECT_FALSE(closerFit(need, res(1, 2048), res(1, 2048)));  // strict
}

TEST(ShortageTest, ResourcesInWords) {
  EXPECT_EQ(res(4, 4096).toWords(), "cpus 4, mem 4096 MiB");
  EXPECT_EQ(res(0.5, 512, 100, 1).toWords(), "cpus 0.5, mem 512 MiB, disk 100 MiB, gpus 1");
}

}  // namespace
}  // namespace tailor
