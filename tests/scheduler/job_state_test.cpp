// A JobManager's state store (local:DIR) and the keeper that writes it ahead.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "scheduler/ha/job_state_keeper.hpp"
#include "scheduler/ha/job_state_store.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::scheduler {
namespace {

using test::ManualEventLoop;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LocalJobStateStoreTest, OneAttemptLeadsAtATimeAndPublishesItsAddress) {
  TempDir dir;
  ManualEventLoop loop;
  std::string spec = "local:" + dir.str() + "/jm";
  auto first = openJobStateStore(loop, spec);
  auto second = openJobStateStore(loop, spec);
  ASSERT_TRUE(first.ok() && second.ok());
  bool firstLeads = false;
  bool secondLeads = false;
  (*first)->campaign(1, "h:1", [&] { firstLeads = true; }, nullptr);
  loop.runPending();
  ASSERT_TRUE(firstLeads);
  EXPECT_EQ(test::readFile(dir.str() + "/jm/leader"), "h:1\n");
  (*second)->campaign(2, "h:2", [&] { secondLeads = true; }, nullptr);
  loop.advance(Duration(1000));
  EXPECT_FALSE(secondLeads);  // the first still holds the lock
  first->reset();             // as its process ending would release it
  loop.advance(Duration(200));
  EXPECT_TRUE(secondLeads);
  EXPECT_EQ(test::readFile(dir.str() + "/jm/leader"), "h:2\n");
}

TEST(LocalJobStateStoreTest, StateRoundTripsAndANewerAttemptsStateStopsAnOlderOne) {
  TempDir dir;
  ManualEventLoop loop;
  auto store = openJobStateStore(loop, "local:" + dir.str());
  ASSERT_TRUE(store.ok());
  auto empty = (*store)->load(1);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  v1::JobManagerState state;
  state.set_attempt(2);
  state.set_framework_id("fw-1");
  ASSERT_TRUE((*store)->save(state).ok());
  auto loaded = (*store)->load(3);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->framework_id(), "fw-1");
  auto stale = (*store)->load(1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(stale.error().message, HasSubstr("attempt 2 of this job wrote it"));
}

TEST(LocalJobStateStoreTest, ABadSpecIsAClearError) {
  ManualEventLoop loop;
  auto store = openJobStateStore(loop, "nfs:/x");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.error().message, HasSubstr("--ha-store: 'nfs:/x' is not a state store"));
  EXPECT_THAT(store.error().message, HasSubstr("local:DIR or zk://"));
}

// Records what was saved, in order; can refuse as a fenced store does.
class RecordingStore : public JobStateStore {
 public:
  void campaign(int, const std::string&, std::function<void()>,
                std::function<void(const std::string&)>) override {}
  Result<std::optional<v1::JobManagerState>> load(int) override {
    return std::optional<v1::JobManagerState>();
  }
  Status save(const v1::JobManagerState& state) override {
    if (fenced) return makeError(ErrorCode::kFailedPrecondition, "fenced: another leads");
    saved.push_back(state);
    return Status();
  }
  std::string describe() const override { return "recording"; }
  std::vector<v1::JobManagerState> saved;
  bool fenced = false;
};

TEST(JobStateKeeperTest, ATaskManagerIsStoredBeforeItIsLaunchedAndRemovedWhenGone) {
  ManualEventLoop loop;
  RecordingStore store;
  JobStateKeeper keeper(loop, store, 3, v1::JobManagerState(), nullptr);
  keeper.onTaskManagerRequested("tm-7", TaskManagerSpec{Resources{1000, 512, 0, 0}, {}});
  ASSERT_EQ(store.saved.size(), 1u);  // synchronously: before the driver launches it
  EXPECT_EQ(store.saved[0].attempt(), 3);
  EXPECT_EQ(store.saved[0].next_taskmanager(), 8u);
  ASSERT_EQ(store.saved[0].taskmanagers_size(), 1);
  EXPECT_EQ(store.saved[0].taskmanagers(0).id(), "tm-7");
  EXPECT_EQ(store.saved[0].taskmanagers(0).attempt(), 3);
  keeper.onTaskManagerPlaced("tm-7", "agent-S1");
  keeper.onSubscribed("fw-9");
  EXPECT_EQ(store.saved.back().taskmanagers(0).agent_id(), "agent-S1");
  EXPECT_EQ(store.saved.back().framework_id(), "fw-9");
  keeper.onTaskManagerReleased("tm-7", "idle", false);
  EXPECT_EQ(store.saved.back().taskmanagers_size(), 0);
  EXPECT_EQ(taskManagerNumber("tm-12"), 12u);
  EXPECT_EQ(taskManagerNumber("jobmanager"), 0u);
}

TEST(JobStateKeeperTest, ProgressOfOneTurnIsWrittenOnceWithoutInlineData) {
  ManualEventLoop loop;
  RecordingStore store;
  JobStateKeeper keeper(loop, store, 1, v1::JobManagerState(), nullptr);
  v1::PartitionInfo output;
  output.set_path("");
  output.set_data("small output");
  keeper.onTaskDeployed(1, 0, 1, "tm-1");
  keeper.onTaskFinished(1, 0, 1, "tm-1", "h:9", {output});
  keeper.onTaskCollected(1, 0);
  EXPECT_TRUE(store.saved.empty());  // on the loop's next turn
  loop.runPending();
  ASSERT_EQ(store.saved.size(), 1u);
  const auto& state = store.saved[0];
  ASSERT_EQ(state.finished_size(), 1);
  EXPECT_TRUE(state.finished(0).collected());
  EXPECT_EQ(state.finished(0).holder(), "tm-1");
  EXPECT_EQ(state.finished(0).partitions(0).data(), "");
  EXPECT_EQ(state.task_attempts().at("1.0"), 1);
  EXPECT_TRUE(state.running().empty());  // finished: no longer running
  keeper.onTaskReset(1, 0);
  loop.runPending();
  EXPECT_EQ(store.saved.back().finished_size(), 0);
}

TEST(JobStateKeeperTest, RunningAttemptsAndFailuresAreKept) {
  ManualEventLoop loop;
  RecordingStore store;
  JobStateKeeper keeper(loop, store, 1, v1::JobManagerState(), nullptr);
  keeper.onTaskDeployed(0, 2, 1, "tm-3");
  keeper.onTaskDeployed(0, 4, 2, "tm-1");
  loop.runPending();
  ASSERT_EQ(store.saved.size(), 1u);
  ASSERT_EQ(store.saved[0].running().size(), 2u);
  EXPECT_EQ(store.saved[0].running().at("0.2").taskmanager(), "tm-3");
  EXPECT_EQ(store.saved[0].running().at("0.4").attempt(), 2);
  keeper.onTaskStopped(0, 4, 2);  // failed: its second failure
  loop.runPending();
  const auto& state = store.saved.back();
  EXPECT_EQ(state.running().count("0.4"), 0u);
  EXPECT_EQ(state.running().count("0.2"), 1u);
  EXPECT_EQ(state.task_failures().at("0.4"), 2);
  EXPECT_EQ(state.task_attempts().at("0.4"), 2);
  // At the job's end, what is pending is written at once (before the
  // TaskManagers holding the outputs go).
  keeper.onTaskCollected(0, 2);
  keeper.onTaskFinished(0, 2, 1, "tm-3", "h:9", {});
  keeper.onTaskCollected(0, 2);
  std::size_t writes = store.saved.size();
  keeper.onJobEnding();
  ASSERT_EQ(store.saved.size(), writes + 1);
  EXPECT_TRUE(store.saved.back().finished(0).collected());
}

TEST(JobStateKeeperTest, AFencedWriteStopsThisAttempt) {
  ManualEventLoop loop;
  RecordingStore store;
  JobStateKeeper keeper(loop, store, 1, v1::JobManagerState(), nullptr);
  std::vector<std::string> fenced;
  keeper.setFencedHandler([&](const std::string& why) { fenced.push_back(why); });
  store.fenced = true;
  keeper.onTaskManagerRequested("tm-1", TaskManagerSpec{Resources{1000, 512, 0, 0}, {}});
  EXPECT_THAT(fenced, ElementsAre(HasSubstr("another leads")));
}

}  // namespace
}  // namespace tailor::scheduler
