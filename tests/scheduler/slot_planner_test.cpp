#include "scheduler/resourcemanager/slot_planner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/common/builders.hpp"

namespace tailor::scheduler {
namespace {

using test::res;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

TaskManagerView registered(const std::string& id, const Resources& free) {
  return TaskManagerView{id, free, true};
}

TaskManagerView pending(const std::string& id, const Resources& total) {
  return TaskManagerView{id, total, false};
}

Resources same(const Resources& profile) { return profile; }

MATCHER_P4(CutIs, taskManagerId, taskProfile, slotProfile, count, "") {
  return arg.taskManagerId == taskManagerId && arg.taskProfile == taskProfile &&
         arg.slotProfile == slotProfile && arg.count == count;
}

// Which TM each slot cut went to, in order (a cut of n slots counts n times).
std::vector<std::string> cutTargets(const SlotPlan& plan) {
  std::vector<std::string> targets;
  for (const auto& cut : plan.cuts) {
    for (int n = 0; n < cut.count; ++n) targets.push_back(cut.taskManagerId);
  }
  return targets;
}

TEST(SlotPlannerTest, CutsFromARegisteredTaskManager) {
  SlotPlan plan = planSlots({{res(1, 1024), 2}}, {registered("tm-1", res(4, 4096))}, same);
  // One cut of two slots: the work is per TM, not per slot.
  EXPECT_THAT(plan.cuts, ElementsAre(CutIs("tm-1", res(1, 1024), res(1, 1024), 2)));
  EXPECT_THAT(plan.unmet, IsEmpty());
}

TEST(SlotPlannerTest, PicksTheTightestFit) {
  SlotPlan plan = planSlots({{res(1, 1024), 1}},
                            {registered("tm-a", res(4, 4096)), registered("tm-b", res(1, 1024)),
                             registered("tm-c", res(2, 2048))},
                            same);
  EXPECT_THAT(cutTargets(plan), ElementsAre("tm-b"));
}

TEST(SlotPlannerTest, TiesGoToTheLowestId) {
  SlotPlan plan = planSlots({{res(1, 1024), 1}},
                            {registered("tm-3", res(2, 2048)), registered("tm-2", res(2, 2048)),
                             registered("tm-4", res(2, 2048))},
                            same);
  EXPECT_THAT(cutTargets(plan), ElementsAre("tm-2"));
}

TEST(SlotPlannerTest, KeepsGpuTaskManagersForGpuWork) {
  // The GPU TM has fewer CPUs left over but a GPU would be wasted on it.
  SlotPlan plan = planSlots(
      {{res(1, 1024), 1}},
      {registered("tm-gpu", res(1, 1024, 0, 1)), registered("tm-plain", res(8, 16384))}, same);
  EXPECT_THAT(cutTargets(plan), ElementsAre("tm-plain"));
}

TEST(SlotPlannerTest, FillsOneTaskManagerBeforeTheNext) {
  // After each cut the fuller TM is the tighter fit, so cuts stack up on it.
  SlotPlan plan =
      planSlots({{res(1, 1024), 3}},
                {registered("tm-1", res(4, 4096)), registered("tm-2", res(3, 3072))}, same);
  EXPECT_THAT(cutTargets(plan), ElementsAre("tm-2", "tm-2", "tm-2"));
}

TEST(SlotPlannerTest, LargerProfilesAreServedFirst) {
  // Only one of the two fits; the larger gets it even though the map lists
  // the smaller first.
  SlotPlan plan =
      planSlots({{res(1, 1024), 1}, {res(2, 2048), 1}}, {registered("tm-1", res(2, 2048))}, same);
  EXPECT_THAT(plan.cuts, ElementsAre(CutIs("tm-1", res(2, 2048), res(2, 2048), 1)));
  EXPECT_THAT(plan.unmet, ElementsAre(Pair(res(1, 1024), 1)));
}

TEST(SlotPlannerTest, PendingTaskManagersAbsorbDemandWithoutCuts) {
  SlotPlan plan = planSlots({{res(1, 1024), 3}}, {pending("tm-1", res(2, 2048))}, same);
  EXPECT_THAT(plan.cuts, IsEmpty());
  EXPECT_THAT(plan.unmet, ElementsAre(Pair(res(1, 1024), 1)));
}

TEST(SlotPlannerTest, RegisteredTaskManagersGoBeforePendingOnes) {
  // The pending TM would be the tighter fit, but only a registered one can
  // serve the slot now.
  SlotPlan plan = planSlots(
      {{res(1, 1024), 2}}, {pending("tm-1", res(1, 1024)), registered("tm-2", res(4, 4096))}, same);
  EXPECT_THAT(cutTargets(plan), ElementsAre("tm-2", "tm-2"));
  EXPECT_THAT(plan.unmet, IsEmpty());
}

TEST(SlotPlannerTest, OverflowFromRegisteredGoesToPendingThenUnmet) {
  SlotPlan plan = planSlots(
      {{res(1, 1024), 5}}, {registered("tm-1", res(2, 2048)), pending("tm-2", res(2, 2048))}, same);
  EXPECT_THAT(cutTargets(plan), ElementsAre("tm-1", "tm-1"));
  EXPECT_THAT(plan.unmet, ElementsAre(Pair(res(1, 1024), 1)));
}

TEST(SlotPlannerTest, EverythingUnmetWithoutTaskManagers) {
  SlotPlan plan = planSlots({{res(1, 1024), 2}, {res(0.5, 100), 1}}, {}, same);
  EXPECT_THAT(plan.cuts, IsEmpty());
  EXPECT_THAT(plan.unmet, ElementsAre(Pair(res(0.5, 100), 1), Pair(res(1, 1024), 2)));
}

TEST(SlotPlannerTest, NoDemandNoCuts) {
  SlotPlan plan = planSlots({}, {registered("tm-1", res(4, 4096))}, same);
  EXPECT_THAT(plan.cuts, IsEmpty());
  EXPECT_THAT(plan.unmet, IsEmpty());
}

TEST(SlotPlannerTest, CutsTheSlotProfileButRecordsTheTaskProfile) {
  auto fixedSlot = [](const Resources&) { return res(2, 2048); };
  SlotPlan plan =
      planSlots({{res(0.5, 256), 3}},
                {registered("tm-1", res(4, 4096)), pending("tm-2", res(2, 2048))}, fixedSlot);
  // Two fixed slots fill tm-1; the pending TM takes the third.
  EXPECT_THAT(plan.cuts, ElementsAre(CutIs("tm-1", res(0.5, 256), res(2, 2048), 2)));
  EXPECT_THAT(plan.unmet, IsEmpty());
  EXPECT_THAT(plan.pendingNeeded, ElementsAre("tm-2"));
}

TEST(SlotPlannerTest, UnmetIsKeyedByTaskProfile) {
  auto fixedSlot = [](const Resources&) { return res(2, 2048); };
  SlotPlan plan = planSlots({{res(0.5, 256), 2}}, {}, fixedSlot);
  EXPECT_THAT(plan.unmet, ElementsAre(Pair(res(0.5, 256), 2)));
}

TEST(SlotPlannerTest, NeverCutsMoreThanATaskManagerHas) {
  std::vector<TaskManagerView> tms = {registered("tm-1", res(3, 3000)),
                                      registered("tm-2", res(2.5, 8000)),
                                      registered("tm-3", res(1, 500))};
  SlotPlan plan = planSlots({{res(1, 1000), 4}, {res(0.5, 2000), 4}}, tms, same);
  std::map<std::string, Resources> used;
  for (const auto& cut : plan.cuts) used[cut.taskManagerId] += cut.slotProfile * cut.count;
  for (const auto& tm : tms) {
    EXPECT_TRUE(tm.free.contains(used[tm.id])) << tm.id << " over-cut: " << used[tm.id].toString();
  }
  int served = 0;
  for (const auto& cut : plan.cuts) served += cut.count;
  for (const auto& [profile, count] : plan.unmet) served += count;
  EXPECT_EQ(served, 8);
}

TEST(SlotPlannerTest, PendingTaskManagersAbsorbInTheOrderGiven) {
  // The caller lists those closest to running first; the last absorbs nothing
  // and is reported as not needed.
  SlotPlan plan = planSlots({{res(1, 1024), 3}},
                            {pending("tm-9", res(2, 2048)), pending("tm-2", res(2, 2048)),
                             pending("tm-5", res(2, 2048))},
                            same);
  EXPECT_THAT(plan.pendingNeeded, ElementsAre("tm-2", "tm-9"));
  EXPECT_THAT(plan.unmet, IsEmpty());
}

TEST(SlotPlannerTest, TenThousandSlotsCostNoMoreThanTen) {
  // Cuts are counted, not listed: a wide stage is one cut per TM.
  SlotPlan plan = planSlots({{res(0.01, 16), 10000}},
                            {registered("tm-1", res(2, 3200)), pending("tm-2", res(1, 1600))},
                            same);
  EXPECT_THAT(plan.cuts, ElementsAre(CutIs("tm-1", res(0.01, 16), res(0.01, 16), 200)));
  EXPECT_THAT(plan.pendingNeeded, ElementsAre("tm-2"));
  EXPECT_THAT(plan.unmet, ElementsAre(Pair(res(0.01, 16), 9700)));
}

}  // namespace
}  // namespace tailor::scheduler
