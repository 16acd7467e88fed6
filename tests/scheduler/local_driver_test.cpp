#include "scheduler/drivers/local_driver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "tests/common/builders.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/common/recording_launcher.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/scheduler/mocks.hpp"

namespace tailor::scheduler {
namespace {

using test::ManualEventLoop;
using test::RecordingLauncher;
using test::res;
using test::TempDir;
using ::testing::_;
using ::testing::StrictMock;

class LocalDriverTest : public ::testing::Test {
 protected:
  LocalDriverTest() {
    LocalDriverConfig config;
    config.capacity = res(2, 4096);
    config.taskManagerBinary = "/bin/tailor-taskmanager";
    config.resourceManagerAddress = "127.0.0.1:7000";
    config.workDir = temp_.path().string();
    config.logDir = (temp_.path() / "logs").string();
    driver_ = std::make_unique<LocalDriver>(loop_, launcher_, config);
    driver_->start(&listener_);
  }

  static TaskManagerSpec spec(const Resources& total) { return TaskManagerSpec{total, {total}}; }

  TempDir temp_;
  ManualEventLoop loop_;
  RecordingLauncher launcher_;
  StrictMock<MockDriverListener> listener_;
  std::unique_ptr<LocalDriver> driver_;
};

TEST_F(LocalDriverTest, AStartIsToldOnceAndNeverInsideTheCall) {
  driver_->launchTaskManager("tm-1", spec(res(1, 1024)));  // StrictMock: nothing yet
  ASSERT_EQ(launcher_.spawned.size(), 1u);
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1")).Times(1);
  EXPECT_EQ(loop_.runPending(), 1u) << "one notice, not a notice that posts itself again";
}

TEST_F(LocalDriverTest, ALaunchWaitsForRoomAndAQueuedOneIsWithdrawnWithoutStarting) {
  EXPECT_CALL(listener_, onTaskManagerStarted(_)).Times(2);
  driver_->launchTaskManager("tm-1", spec(res(1.5, 1024)));
  driver_->launchTaskManager("tm-2", spec(res(1, 1024)));  // 0.5 CPUs left: waits
  driver_->launchTaskManager("tm-3", spec(res(0.5, 512)));  // behind tm-2 (first come)
  loop_.runPending();
  EXPECT_EQ(launcher_.spawned.size(), 1u);
  EXPECT_EQ(driver_->capacity(), res(2, 4096));
  EXPECT_THAT(driver_->describeOffers(), ::testing::HasSubstr("cpus=1.5"));

  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-2", "never started"));
  driver_->releaseTaskManager("tm-2");
  loop_.runPending();
  ASSERT_EQ(launcher_.spawned.size(), 2u);  // tm-3 fits now
  EXPECT_EQ(launcher_.spawned.at(1).argv[2], "tm-3");
}

TEST_F(LocalDriverTest, ClosestFitIsTheFreeRoomOrTheWholeCluster) {
  EXPECT_FALSE(driver_->closestFit(res(2, 4096))) << "the empty cluster holds it";
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1"));
  driver_->launchTaskManager("tm-1", spec(res(1.5, 1024)));
  loop_.runPending();
  auto fit = driver_->closestFit(res(1, 1024));
  ASSERT_TRUE(fit);
  EXPECT_EQ(fit->shortage.resource, "cpus");
  EXPECT_DOUBLE_EQ(fit->shortage.amount, 0.5);
  EXPECT_EQ(fit->where, "the local cluster's free room (cpus 0.5, mem 3072 MiB free)");
  fit = driver_->closestFit(res(1, 8192));
  ASSERT_TRUE(fit);
  EXPECT_EQ(fit->shortage.resource, "mem");
  EXPECT_DOUBLE_EQ(fit->shortage.amount, 4096);
  EXPECT_EQ(fit->where, "the local cluster (cpus 2, mem 4096 MiB)");
}

TEST_F(LocalDriverTest, ReleasingARunningTaskManagerStopsItAndTellsWhenItExited) {
  EXPECT_CALL(listener_, onTaskManagerStarted("tm-1"));
  driver_->launchTaskManager("tm-1", spec(res(1, 1024)));
  loop_.runPending();
  driver_->releaseTaskManager("tm-1");
  EXPECT_EQ(launcher_.signalled, std::vector<pid_t>{4242});
  EXPECT_EQ(launcher_.signals, std::vector<int>{SIGTERM});
  EXPECT_CALL(listener_, onTaskManagerTerminated("tm-1", "stopped (exit code 0)"));
  launcher_.exit(4242, 0);
  loop_.runPending();
  EXPECT_EQ(driver_->used(), Resources());
}

}  // namespace
}  // namespace tailor::scheduler
