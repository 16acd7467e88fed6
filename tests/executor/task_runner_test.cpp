// TaskRunner: one attempt as a real process, measured (TaskStateUpdate.usage)
// and killed over its slot's memory. Waits are future waits on onDone.

#include "executor/task_runner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

#include "tests/common/temp_dir.hpp"

namespace tailor::executor {
namespace {

using test::TempDir;
using ::testing::HasSubstr;

class TaskRunnerTest : public ::testing::Test {
 protected:
  // Attempt read[0]#1, a sink task, running `shell` in a slot of `memMib`
  // (0: none given) with `input` as its one source split.
  v1::TaskDeployment task(const std::string& shell, std::int64_t memMib, const std::string& input) {
    v1::TaskDeployment task;
    task.set_job_id("job-1");
    task.set_stage("read");
    task.set_attempt(1);
    task.set_parallelism(1);
    task.set_attempt_id("read[0]#1");
    task.mutable_command()->set_shell(shell);
    if (memMib > 0) {
      task.mutable_slot_resources()->set_cpus(1);
      task.mutable_slot_resources()->set_mem(memMib);
    }
    auto* split = task.add_splits();
    split->set_path(temp_.write("input.txt", input));
    split->set_start(0);
    split->set_end(-1);
    auto* output = task.add_outputs();
    output->set_partitioning(v1::FORWARD);
    output->set_num_partitions(1);
    return task;
  }

  v1::TaskStateUpdate run(v1::TaskDeployment deployment) {
    std::promise<v1::TaskStateUpdate> done;
    TaskRunner runner(
        TaskRunnerContext{"tm-1", temp_.str()}, std::move(deployment), [](v1::TaskStateUpdate) {},
        [&done](v1::TaskStateUpdate update) { done.set_value(std::move(update)); });
    runner.start();
    auto result = done.get_future();
    if (result.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "the attempt did not end within 60 s; cancelled";
      runner.cancel();
    }
    return result.get();
  }

  TempDir temp_;
};

TEST_F(TaskRunnerTest, AFinishedAttemptCarriesItsUsage) {
  auto update = run(task("cat; echo extra", 256, "one\ntwo\n"));
  ASSERT_EQ(update.state(), v1::TASK_FINISHED) << update.message();
  ASSERT_TRUE(update.has_usage());
  EXPECT_EQ(update.usage().read_bytes(), 8);      // "one\ntwo\n"
  EXPECT_EQ(update.usage().written_bytes(), 14);  // and "extra\n"
  EXPECT_EQ(update.usage().source(), "proc");
  EXPECT_GT(update.usage().peak_mem_mib(), 0);
  EXPECT_GE(update.usage().cpu_seconds(), 0);
}

TEST_F(TaskRunnerTest, AnAttemptOverItsSlotsMemoryIsKilledAndSaysSo) {
  // dd holds a 64 MiB buffer, touched by every read, for many reads.
  auto update = run(task("dd if=/dev/zero of=/dev/null bs=64M count=100000 2>/dev/null", 32, ""));
  ASSERT_EQ(update.state(), v1::TASK_FAILED);
  EXPECT_EQ(update.failure(), v1::MEMORY_EXCEEDED);
  EXPECT_THAT(update.message(), HasSubstr("MiB, over the 32 MiB its slot allows (mem)"));
  EXPECT_GT(update.usage().peak_mem_mib(), 32);
}

TEST_F(TaskRunnerTest, WithoutASlotProfileThereIsNoLimit) {
  auto update = run(task("dd if=/dev/zero of=/dev/null bs=64M count=20 2>/dev/null", 0, ""));
  EXPECT_EQ(update.state(), v1::TASK_FINISHED) << update.message();
}

}  // namespace
}  // namespace tailor::executor
