#include "tests/common/manual_event_loop.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace tailor::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ManualEventLoopTest, PostedWorkRunsOnlyWhenAsked) {
  ManualEventLoop loop;
  std::vector<int> ran;
  loop.post([&] { ran.push_back(1); });
  loop.post([&] {
    ran.push_back(2);
    loop.post([&] { ran.push_back(3); });
  });
  EXPECT_THAT(ran, IsEmpty());
  EXPECT_EQ(loop.runPending(), 3u);
  EXPECT_THAT(ran, ElementsAre(1, 2, 3));
  EXPECT_EQ(loop.runPending(), 0u);
}

TEST(ManualEventLoopTest, TimersFireInDeadlineOrderAtTheirDeadline) {
  ManualEventLoop loop;
  std::vector<std::string> fired;
  auto at = [&](const std::string& name) {
    return [&, name] { fired.push_back(name + "@" + std::to_string(loop.elapsed().count())); };
  };
  loop.runAfter(Duration(300), at("c"));
  loop.runAfter(Duration(100), at("a"));
  loop.runAfter(Duration(100), at("b"));  // same deadline: in the order set
  loop.advance(Duration(99));
  EXPECT_THAT(fired, IsEmpty());
  loop.advance(Duration(1));
  EXPECT_THAT(fired, ElementsAre("a@100", "b@100"));
  loop.advance(Duration(1000));
  EXPECT_THAT(fired, ElementsAre("a@100", "b@100", "c@300"));
  EXPECT_EQ(loop.elapsed(), Duration(1100));
  EXPECT_EQ(loop.pendingTimers(), 0u);
}

TEST(ManualEventLoopTest, TimersSetWhileAdvancingFireWhenDue) {
  ManualEventLoop loop;
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    loop.runAfter(Duration(10), tick);
  };
  loop.runAfter(Duration(10), tick);
  loop.advance(Duration(55));
  EXPECT_EQ(ticks, 5);
  EXPECT_EQ(loop.pendingTimers(), 1u);
}

TEST(ManualEventLoopTest, CancelledTimersNeverFire) {
  ManualEventLoop loop;
  bool fired = false;
  TimerId id = loop.runAfter(Duration(10), [&] { fired = true; });
  loop.cancelTimer(id);
  loop.cancelTimer(id);      // twice is fine
  loop.cancelTimer(id + 7);  // unknown is fine
  loop.advance(Duration(100));
  EXPECT_FALSE(fired);
}

TEST(ManualEventLoopTest, ClocksFollowTheFakeTime) {
  ManualEventLoop loop;
  MonotonicTime start = loop.now();
  EXPECT_DOUBLE_EQ(loop.wallSeconds(), ManualEventLoop::kWallStart);
  loop.advance(Duration(1500));
  EXPECT_EQ(loop.now() - start, Duration(1500));
  EXPECT_DOUBLE_EQ(loop.wallSeconds(), ManualEventLoop::kWallStart + 1.5);
}

TEST(ManualEventLoopTest, WorkPostedByATimerRunsBeforeTheNextTimer) {
  ManualEventLoop loop;
  std::vector<std::string> order;
  loop.runAfter(Duration(10), [&] {
    order.push_back("timer1");
    loop.post([&] { order.push_back("posted"); });
  });
  loop.runAfter(Duration(20), [&] { order.push_back("timer2"); });
  loop.advance(Duration(20));
  EXPECT_THAT(order, ElementsAre("timer1", "posted", "timer2"));
}

}  // namespace
}  // namespace tailor::test
