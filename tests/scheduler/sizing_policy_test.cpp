#include "scheduler/resourcemanager/sizing_policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "tests/common/builders.hpp"

namespace tailor::scheduler {
namespace {

using test::res;
using ::testing::HasSubstr;

SizingConfig tailored(const Resources& maxTaskManager, int maxSlotsPerTaskManager = 4) {
  SizingConfig config;
  config.kind = SizingKind::kTailored;
  config.maxTaskManager = maxTaskManager;
  config.maxSlotsPerTaskManager = maxSlotsPerTaskManager;
  return config;
}

SizingConfig fixed(const Resources& slot, int slotsPerTaskManager) {
  SizingConfig config;
  config.kind = SizingKind::kFixed;
  config.maxTaskManager = res(64, 262144);
  config.fixedSlot = slot;
  config.fixedSlotsPerTaskManager = slotsPerTaskManager;
  return config;
}

std::vector<Resources> copies(const Resources& profile, int n) {
  return std::vector<Resources>(static_cast<size_t>(n), profile);
}

// --- parseSizingKind / toString ---

TEST(SizingKindTest, ParsesBothPolicies) {
  auto tailoredKind = parseSizingKind("tailored");
  ASSERT_TRUE(tailoredKind.ok());
  EXPECT_EQ(*tailoredKind, SizingKind::kTailored);
  auto fixedKind = parseSizingKind("fixed");
  ASSERT_TRUE(fixedKind.ok());
  EXPECT_EQ(*fixedKind, SizingKind::kFixed);
}

TEST(SizingKindTest, RejectsOthersNamingTheFlag) {
  for (const char* text : {"", "Tailored", "FIXED", "auto", "fixed "}) {
    auto kind = parseSizingKind(text);
    ASSERT_FALSE(kind.ok()) << text;
    EXPECT_EQ(kind.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(kind.error().message, HasSubstr("--taskmanager-sizing"));
    EXPECT_THAT(kind.error().message, HasSubstr("expected tailored or fixed"));
  }
}

TEST(SizingKindTest, PrintsAsParsed) {
  EXPECT_EQ(toString(SizingKind::kTailored), "tailored");
  EXPECT_EQ(toString(SizingKind::kFixed), "fixed");
  EXPECT_EQ(*parseSizingKind(toString(SizingKind::kFixed)), SizingKind::kFixed);
}

// --- largestProfile / slotProfileFor ---

TEST(LargestProfileTest, TakesTheMaximumOfEachDimension) {
  EXPECT_EQ(largestProfile({res(0.5, 4096), res(2, 256, 100), res(1, 512, 0, 1)}),
            res(2, 4096, 100, 1));
  EXPECT_EQ(largestProfile({res(1.5, 300)}), res(1.5, 300));
  EXPECT_TRUE(largestProfile({}).isZero());
}

TEST(SlotProfileForTest, TailoredCutsTheTaskProfile) {
  EXPECT_EQ(slotProfileFor(tailored(res(8, 8192)), res(0.5, 300)), res(0.5, 300));
}

TEST(SlotProfileForTest, FixedCutsTheConfiguredSlot) {
  EXPECT_EQ(slotProfileFor(fixed(res(2, 2048), 2), res(0.5, 300)), res(2, 2048));
}

// --- planTaskManagers, tailored ---

TEST(TailoredSizingTest, PacksUpToMaxSlotsPerTaskManager) {
  auto specs = planTaskManagers(tailored(res(16, 65536), 4), {{res(1, 1024), 10}});
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].total, res(4, 4096));
  EXPECT_EQ(specs[0].slots, copies(res(1, 1024), 4));
  EXPECT_EQ(specs[1].total, res(4, 4096));
  EXPECT_EQ(specs[1].slots, copies(res(1, 1024), 4));
  EXPECT_EQ(specs[2].total, res(2, 2048));
  EXPECT_EQ(specs[2].slots, copies(res(1, 1024), 2));
}

TEST(TailoredSizingTest, AsksForNoMoreSlotsThanNeeded) {
  auto specs = planTaskManagers(tailored(res(16, 65536), 4), {{res(0.5, 300), 1}});
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].total, res(0.5, 300));
  EXPECT_EQ(specs[0].slots, copies(res(0.5, 300), 1));
}

TEST(TailoredSizingTest, NeverExceedsTheLargestTaskManager) {
  // Memory allows only two 3 GiB slots per TM, though four are allowed.
  auto specs = planTaskManagers(tailored(res(16, 7000), 4), {{res(1, 3072), 5}});
  ASSERT_EQ(specs.size(), 3u);
  for (const auto& spec : specs) {
    EXPECT_TRUE(res(16, 7000).contains(spec.total)) << spec.total.toString();
  }
  EXPECT_EQ(specs[0].slots.size(), 2u);
  EXPECT_EQ(specs[1].slots.size(), 2u);
  EXPECT_EQ(specs[2].slots.size(), 1u);
  EXPECT_EQ(specs[2].total, res(1, 3072));
}

TEST(TailoredSizingTest, CpusCanBeTheLimit) {
  auto specs = planTaskManagers(tailored(res(2.5, 65536), 8), {{res(1, 10), 3}});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].total, res(2, 20));
  EXPECT_EQ(specs[1].total, res(1, 10));
}

TEST(TailoredSizingTest, LargerProfilesComeFirst) {
  auto specs = planTaskManagers(tailored(res(16, 65536), 4),
                                {{res(0.5, 256), 1}, {res(4, 8192), 1}, {res(1, 512), 1}});
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].slots, copies(res(4, 8192), 1));
  EXPECT_EQ(specs[1].slots, copies(res(1, 512), 1));
  EXPECT_EQ(specs[2].slots, copies(res(0.5, 256), 1));
}

TEST(TailoredSizingTest, OneProfilePerTaskManager) {
  auto specs = planTaskManagers(tailored(res(16, 65536), 4), {{res(1, 512), 1}, {res(2, 512), 1}});
  ASSERT_EQ(specs.size(), 2u);
  for (const auto& spec : specs) {
    ASSERT_EQ(spec.slots.size(), 1u);
    EXPECT_EQ(spec.total, spec.slots[0]);
  }
}

TEST(TailoredSizingTest, LeavesOutProfilesThatFitNoTaskManager) {
  auto specs = planTaskManagers(tailored(res(4, 4096), 4),
                                {{res(8, 1024), 2}, {res(1, 1024), 1}, {res(1, 1024, 0, 1), 1}});
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].slots, copies(res(1, 1024), 1));
}

TEST(TailoredSizingTest, NothingForNoDemandOrZeroProfiles) {
  EXPECT_TRUE(planTaskManagers(tailored(res(4, 4096)), {}).empty());
  EXPECT_TRUE(planTaskManagers(tailored(res(4, 4096)), {{Resources{}, 3}}).empty());
}

TEST(TailoredSizingTest, AtLeastOneSlotPerTaskManager) {
  auto specs = planTaskManagers(tailored(res(16, 65536), 0), {{res(1, 1024), 2}});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].slots.size(), 1u);
  EXPECT_EQ(specs[1].slots.size(), 1u);
}

// --- planTaskManagers, fixed ---

TEST(FixedSizingTest, EveryTaskManagerHasTheSameSize) {
  auto specs = planTaskManagers(fixed(res(2, 2048), 2), {{res(1, 1024), 3}, {res(2, 2048), 2}});
  // Five slots, two per TM: three TMs of two slots each.
  ASSERT_EQ(specs.size(), 3u);
  for (const auto& spec : specs) {
    EXPECT_EQ(spec.total, res(4, 4096));
    EXPECT_EQ(spec.slots, copies(res(2, 2048), 2));
  }
}

TEST(FixedSizingTest, OneSlotPerTaskManager) {
  auto specs = planTaskManagers(fixed(res(1, 1024), 1), {{res(0.5, 100), 2}});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].total, res(1, 1024));
  EXPECT_EQ(specs[0].slots, copies(res(1, 1024), 1));
}

TEST(FixedSizingTest, LeavesOutProfilesLargerThanTheSlot) {
  auto specs = planTaskManagers(fixed(res(1, 1024), 2), {{res(2, 512), 4}, {res(1, 2048), 1}});
  EXPECT_TRUE(specs.empty());
  specs = planTaskManagers(fixed(res(1, 1024), 2), {{res(2, 512), 4}, {res(1, 1024), 1}});
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].total, res(2, 2048));
}

TEST(FixedSizingTest, NothingForNoDemand) {
  EXPECT_TRUE(planTaskManagers(fixed(res(1, 1024), 2), {}).empty());
}

// --- wide stages and room ---

TEST(TailoredSizingTest, AWideStageIsSpreadOverAboutSpreadTaskManagers) {
  SizingConfig config = tailored(res(64, 262144), 4);
  config.spread = 8;
  auto specs = planTaskManagers(config, {{res(0.01, 16), 2000}});
  ASSERT_EQ(specs.size(), 8u);
  for (const auto& spec : specs) {
    EXPECT_EQ(spec.slots.size(), 250u);
    EXPECT_EQ(spec.total, res(2.5, 4000));
  }
}

TEST(TailoredSizingTest, TheLargestTaskManagerBoundsThePacking) {
  SizingConfig config = tailored(res(2, 65536), 4);
  auto specs = planTaskManagers(config, {{res(0.01, 16), 10000}});
  ASSERT_EQ(specs.size(), 50u);  // 200 slots of 0.01 CPU fill 2 CPUs
  EXPECT_EQ(specs.front().slots.size(), 200u);
}

TEST(TailoredSizingTest, OnlyWhatFitsTheRoomIsPlannedAndTheLastTaskManagerShrinks) {
  SizingConfig config = tailored(res(2, 4096), 4);
  auto specs = planTaskManagers(config, {{res(0.01, 16), 500}}, res(2, 4096));
  ASSERT_EQ(specs.size(), 4u);
  EXPECT_EQ(specs[0].total, res(0.63, 1008));
  EXPECT_EQ(specs[2].total, res(0.63, 1008));
  EXPECT_EQ(specs[3].total, res(0.11, 176));  // what is left of 2 CPUs
}

TEST(TailoredSizingTest, NoRoomNoTaskManagers) {
  auto specs = planTaskManagers(tailored(res(4, 4096)), {{res(1, 1024), 3}}, res(0.5, 4096));
  EXPECT_TRUE(specs.empty());
}

TEST(FixedSizingTest, OnlyWholeTaskManagersThatFitTheRoom) {
  auto specs = planTaskManagers(fixed(res(1, 1024), 2), {{res(0.5, 512), 9}}, res(5, 8192));
  EXPECT_EQ(specs.size(), 2u);  // 3 would need 6 CPUs
}

}  // namespace
}  // namespace tailor::scheduler
