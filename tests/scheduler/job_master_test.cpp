#include "scheduler/jobmaster/job_master.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/common/builders.hpp"
#include "tests/common/manual_event_loop.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/scheduler/job_spec_builder.hpp"
#include "tests/scheduler/mocks.hpp"

namespace tailor::scheduler {
namespace {

namespace fs = std::filesystem;
using test::JobSpecBuilder;
using test::ManualEventLoop;
using test::res;
using test::StageBuilder;
using test::TempDir;
using ::testing::_;
using ::testing::AllOf;
using ::testing::AnyNumber;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::IsEmpty;
using ::testing::Mock;
using ::testing::NiceMock;
using ::testing::Pair;
using ::testing::Return;
using ::testing::StrictMock;
using ::testing::UnorderedElementsAre;

using Splits = std::vector<std::vector<std::vector<v1::FileSplit>>>;

const Resources kSmall = res(1, 256);
const Resources kLarge = res(2, 512);
const Resources kHuge = res(4, 1024);

MATCHER_P3(InputIs, taskManagerId, address, path, "") {
  return arg.taskmanager_id() == taskManagerId && arg.address() == address &&
         arg.partition_path() == path;
}

MATCHER_P3(OutputIs, consumer, partitioning, partitions, "") {
  return arg.consumer_stage() == consumer && arg.partitioning() == partitioning &&
         arg.num_partitions() == partitions;
}

MATCHER_P3(SplitIs, path, start, end, "") {
  return arg.path() == path && arg.start() == start && arg.end() == end;
}

// The input a consumer reads from the partition `path` on `taskManagerId`.
auto inputFrom(const std::string& taskManagerId, const std::string& path) {
  return InputIs(taskManagerId, taskManagerId + ":9000", path);
}

v1::PartitionInfo partition(const std::string& consumer, int index, const std::string& path) {
  v1::PartitionInfo info;
  info.set_consumer_stage(consumer);
  info.set_partition(index);
  info.set_path(path);
  info.set_records(10);
  info.set_bytes(100);
  return info;
}

// What a producer attempt reports for a HASH or FORWARD consumer: one file per
// listed partition, named as the PartitionWriter names them.
std::vector<v1::PartitionInfo> partitionsFor(const std::string& attemptId,
                                             const std::string& consumer,
                                             std::vector<int> indexes) {
  std::vector<v1::PartitionInfo> infos;
  for (int p : indexes) {
    infos.push_back(partition(consumer, p, attemptId + "/" + consumer + "-" + std::to_string(p)));
  }
  return infos;
}

std::vector<v1::PartitionInfo> broadcastFor(const std::string& attemptId,
                                            const std::string& consumer) {
  return {partition(consumer, -1, attemptId + "/" + consumer + "-all")};
}

std::vector<v1::PartitionInfo> sinkOutput(const std::string& attemptId, int index) {
  return {partition("", index, attemptId + "/_output-" + std::to_string(index))};
}

v1::FileSplit fileSplit(const std::string& path, std::int64_t start, std::int64_t end) {
  v1::FileSplit split;
  split.set_path(path);
  split.set_start(start);
  split.set_end(end);
  return split;
}

class JobMasterTest : public ::testing::Test {
 protected:
  struct Deployed {
    std::string address;
    v1::TaskDeployment task;
    TaskManagerGateway::Done done;
  };
  struct Fetch {
    std::string address;
    std::string path;
    std::string destination;
    TaskManagerGateway::Done done;
  };

  JobMasterTest() { installRecorders(); }

  // Checks and clears the expectations set so far on the ResourceManager and
  // TaskManager mocks, keeping the recorders.
  void verifyAndClear() {
    Mock::VerifyAndClearExpectations(&rm_);
    Mock::VerifyAndClearExpectations(&tms_);
    installRecorders();
  }

  void installRecorders() {
    // Requirements and partition holders are recorded and checked by value;
    // deployments and fetches are recorded and answered by the tests.
    EXPECT_CALL(rm_, declareRequirements(_))
        .Times(AnyNumber())
        .WillRepeatedly(
            [this](const std::map<Resources, int>& wanted) { declared_.push_back(wanted); });
    EXPECT_CALL(rm_, declareSoloRequirements(_))
        .Times(AnyNumber())
        .WillRepeatedly(
            [this](const std::map<Resources, int>& wanted) { soloDeclared_.push_back(wanted); });
    EXPECT_CALL(rm_, placement(_)).Times(AnyNumber()).WillRepeatedly(Return(PlacementWait{}));
    EXPECT_CALL(rm_, setPartitionHolders(_))
        .Times(AnyNumber())
        .WillRepeatedly([this](const std::set<std::string>& ids) { holders_.push_back(ids); });
    EXPECT_CALL(tms_, deployTask(_, _, _))
        .Times(AnyNumber())
        .WillRepeatedly([this](const std::string& address, const v1::TaskDeployment& task,
                               TaskManagerGateway::Done done) {
          deployed_.push_back(Deployed{address, task, std::move(done)});
        });
    EXPECT_CALL(tms_, fetchPartition(_, _, _, _))
        .Times(AnyNumber())
        .WillRepeatedly([this](const std::string& address, const std::string& path,
                               const std::string& destination, TaskManagerGateway::Done done) {
          fetches_.push_back(Fetch{address, path, destination, std::move(done)});
        });
  }

  void create(const v1::JobSpec& spec, Splits splits = {}, bool sharedTaskManagers = false) {
    JobMasterConfig config;
    config.jobId = "job-1";
    config.sharedTaskManagers = sharedTaskManagers;
    config.outputDir = outputDir();
    config.splits = std::move(splits);
    config.maxFetchFailures = 3;
    config.partitionDir = (temp_.path() / "jm-partitions").string();
    jm_ = std::make_unique<JobMaster>(loop_, spec, config, rm_, tms_, &observer_);
    jm_->setAddress("jm.host:7000");
  }

  // Schedules run as posted passes: each helper runs what its call posted.
  void start(const v1::JobSpec& spec, Splits splits = {}, bool sharedTaskManagers = false) {
    create(spec, std::move(splits), sharedTaskManagers);
    jm_->start();
    loop_.runPending();
  }

  std::string outputDir() const { return (temp_.path() / "output").string(); }

  static Slot slotOn(const std::string& slotId, const std::string& taskManagerId,
                     const Resources& profile, bool solo = false) {
    return Slot{slotId, taskManagerId, taskManagerId + ":9000", profile, "", solo};
  }

  // Offers a slot the JobMaster must take (`solo`: a whole TaskManager kept
  // for one task); returns the attempt it deployed.
  std::string offer(const std::string& slotId, const std::string& taskManagerId,
                    const Resources& profile, bool solo = false) {
    size_t before = deployed_.size();
    EXPECT_TRUE(jm_->offerSlot(slotOn(slotId, taskManagerId, profile, solo)))
        << slotId << " on " << taskManagerId << " refused";
    if (deployed_.size() != before + 1) {
      ADD_FAILURE() << "offering " << slotId << " deployed " << deployed_.size() - before
                    << " attempts";
      return "";
    }
    EXPECT_EQ(deployed_.back().address, taskManagerId + ":9000");
    EXPECT_EQ(deployed_.back().task.slot_id(), slotId);
    return deployed_.back().task.attempt_id();
  }

  // The last deployment of `attemptId`.
  const v1::TaskDeployment& deployment(const std::string& attemptId) {
    for (auto it = deployed_.rbegin(); it != deployed_.rend(); ++it) {
      if (it->task.attempt_id() == attemptId) return it->task;
    }
    ADD_FAILURE() << attemptId << " was never deployed";
    static const v1::TaskDeployment kNone;
    return kNone;
  }

  std::vector<std::string> deployedAttempts() const {
    std::vector<std::string> ids;
    for (const auto& d : deployed_) ids.push_back(d.task.attempt_id());
    return ids;
  }

  void update(const v1::TaskStateUpdate& update) {
    auto response = jm_->updateTaskState(update);
    EXPECT_TRUE(response.ok());
    loop_.runPending();
  }

  void lose(const std::string& taskManagerId, const std::string& reason) {
    jm_->onTaskManagerLost(taskManagerId, reason);
    loop_.runPending();
  }

  void finish(const std::string& attemptId, const std::string& taskManagerId,
              const std::vector<v1::PartitionInfo>& partitions) {
    v1::TaskStateUpdate u;
    u.set_taskmanager_id(taskManagerId);
    u.set_attempt_id(attemptId);
    u.set_state(v1::TASK_FINISHED);
    for (const auto& p : partitions) *u.add_partitions() = p;
    update(u);
  }

  void fail(const std::string& attemptId, const std::string& taskManagerId, v1::FailureKind kind,
            const std::string& message, const std::string& stderrTail = "",
            const std::string& failedTaskManager = "") {
    v1::TaskStateUpdate u;
    u.set_taskmanager_id(taskManagerId);
    u.set_attempt_id(attemptId);
    u.set_state(v1::TASK_FAILED);
    u.set_failure(kind);
    u.set_message(message);
    u.set_stderr_tail(stderrTail);
    u.set_exit_code(kind == v1::EXIT_NONZERO ? 1 : 0);
    u.set_failed_taskmanager_id(failedTaskManager);
    update(u);
  }

  const StageProgress& progressOf(const std::string& stage) {
    progress_ = jm_->progress();
    for (const auto& p : progress_) {
      if (p.name == stage) return p;
    }
    ADD_FAILURE() << "no stage " << stage;
    static const StageProgress kNone;
    return kNone;
  }

  TempDir temp_;
  ManualEventLoop loop_;
  StrictMock<MockResourceManagerGateway> rm_;
  StrictMock<MockTaskManagerGateway> tms_;
  NiceMock<MockJobObserver> observer_;
  std::unique_ptr<JobMaster> jm_;

  std::vector<std::map<Resources, int>> declared_;
  std::vector<std::map<Resources, int>> soloDeclared_;
  std::vector<std::set<std::string>> holders_;
  std::vector<Deployed> deployed_;
  std::vector<Fetch> fetches_;
  std::vector<StageProgress> progress_;
};

// A source stage feeding a sink: the shape most tests use.
v1::JobSpec twoStages(int producers, const Resources& producerProfile, int consumers,
                      const Resources& consumerProfile, v1::Partitioning how = v1::HASH) {
  return JobSpecBuilder("two")
      .stage(StageBuilder("map").parallelism(producers).resources(producerProfile))
      .stage(StageBuilder("reduce")
                 .parallelism(consumers)
                 .resources(consumerProfile)
                 .input("map", how))
      .build();
}

v1::JobSpec oneStage(int parallelism, int maxAttempts = 1) {
  return JobSpecBuilder("one")
      .stage(
          StageBuilder("work").parallelism(parallelism).resources(kSmall).maxAttempts(maxAttempts))
      .build();
}

// --- why tasks wait (StageProgress::waiting) ---

TEST_F(JobMasterTest, ProgressNamesEachStagesInputs) {
  start(twoStages(2, kSmall, 1, kLarge));
  EXPECT_THAT(progressOf("map").inputs, IsEmpty());
  EXPECT_THAT(progressOf("reduce").inputs, ElementsAre("map"));
}

TEST_F(JobMasterTest, AStageBehindIncompleteInputsWaitsForThem) {
  start(twoStages(2, kSmall, 3, kLarge));
  const StageProgress& reduce = progressOf("reduce");
  ASSERT_TRUE(reduce.waiting);
  EXPECT_EQ(reduce.waiting->reason(), "inputs");
  EXPECT_EQ(reduce.waiting->tasks(), 3);
  EXPECT_EQ(reduce.waiting->message(), "waits for stage \"map\"");
  EXPECT_DOUBLE_EQ(reduce.waiting->profile().mem(), 512);
}

TEST_F(JobMasterTest, PendingTasksWaitForWhatTheResourceManagerSays) {
  PlacementWait noFit;
  noFit.reason = PlacementWait::Reason::kNoFit;
  noFit.slots = 2;
  noFit.closest = ClosestFit{Shortage{"mem", 3584, 0.875}, "the best offer (agent a1 (h1))"};
  EXPECT_CALL(rm_, placement(kSmall)).WillRepeatedly(Return(noFit));
  start(twoStages(2, kSmall, 1, kLarge));
  const StageProgress& map = progressOf("map");
  ASSERT_TRUE(map.waiting);
  EXPECT_EQ(map.waiting->reason(), "no_fit");
  EXPECT_EQ(map.waiting->tasks(), 2);
  EXPECT_EQ(map.waiting->short_resource(), "mem");
  EXPECT_DOUBLE_EQ(map.waiting->short_amount(), 3584);
  EXPECT_EQ(map.waiting->best_offer(), "the best offer (agent a1 (h1))");
  EXPECT_EQ(map.waiting->message(),
            "no offer fits: mem short by 3584 MiB on the best offer (agent a1 (h1))");
  // Once running, nothing of it waits.
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-1", kSmall);
  EXPECT_FALSE(progressOf("map").waiting);
}

TEST_F(JobMasterTest, WhyTasksWaitIsToldAgainWhenItChanges) {
  PlacementWait launching;
  launching.reason = PlacementWait::Reason::kLaunching;
  launching.taskManagers = 1;
  launching.since = 1000;
  PlacementWait noFit;
  noFit.reason = PlacementWait::Reason::kNoFit;
  noFit.closest = ClosestFit{Shortage{"cpus", 1, 0.5}, "the local cluster's free room"};
  PlacementWait answer = launching;
  EXPECT_CALL(rm_, placement(kSmall)).WillRepeatedly([&](const Resources&) { return answer; });
  std::vector<std::string> told;
  EXPECT_CALL(observer_, onProgress(_))
      .WillRepeatedly([&](const std::vector<StageProgress>& stages) {
        told.push_back(stages[0].waiting ? stages[0].waiting->reason() : "-");
      });
  start(oneStage(2));
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told.back(), "launching");
  loop_.advance(Duration(3000));  // unchanged: not told again
  EXPECT_EQ(told.size(), 1u);
  answer = noFit;
  loop_.advance(Duration(1000));
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told.back(), "no_fit");
  // The job's end stops the refresh.
  EXPECT_CALL(rm_, releaseAll());
  jm_->cancel("test");
  loop_.runPending();
  size_t atEnd = told.size();
  answer = launching;
  loop_.advance(Duration(5000));
  EXPECT_EQ(told.size(), atEnd);
}

// --- start and deployment ---

TEST_F(JobMasterTest, StartDeclaresSourceStageProfilesOnly) {
  start(JobSpecBuilder()
            .stage(StageBuilder("read").parallelism(2).resources(kSmall))
            .stage(StageBuilder("lookup").parallelism(1).resources(res(0.5, 128)))
            .stage(StageBuilder("join")
                       .parallelism(3)
                       .resources(kHuge)
                       .input("read", v1::HASH)
                       .input("lookup", v1::BROADCAST))
            .build());
  ASSERT_THAT(declared_, ElementsAre(ElementsAre(Pair(res(0.5, 128), 1), Pair(kSmall, 2))));
  EXPECT_THAT(deployed_, IsEmpty());
  EXPECT_THAT(holders_, IsEmpty());
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_DOUBLE_EQ(jm_->submittedAt(), ManualEventLoop::kWallStart);
}

TEST_F(JobMasterTest, OfferSlotDeploysAPendingTask) {
  Splits splits = {
      {{fileSplit("/in/a", 0, 10)}, {fileSplit("/in/a", 10, 20), fileSplit("/in/b", 0, 5)}},
      {{}, {}, {}}};
  start(JobSpecBuilder()
            .stage(StageBuilder("read")
                       .parallelism(2)
                       .resources(kSmall)
                       .shell("tr a-z A-Z")
                       .env("MODE", "upper")
                       .env("LANG", "C"))
            .stage(StageBuilder("count").parallelism(3).resources(kLarge).input("read", v1::HASH))
            .build(),
        splits);

  EXPECT_EQ(offer("slot-1", "tm-1", kSmall), "read[0]#1");
  const v1::TaskDeployment& d = deployed_.back().task;
  EXPECT_EQ(d.job_id(), "job-1");
  EXPECT_EQ(d.stage(), "read");
  EXPECT_EQ(d.index(), 0);
  EXPECT_EQ(d.attempt(), 1);
  EXPECT_EQ(d.parallelism(), 2);
  EXPECT_EQ(d.slot_id(), "slot-1");
  EXPECT_EQ(d.jobmaster_address(), "jm.host:7000");
  EXPECT_EQ(d.command().shell(), "tr a-z A-Z");
  EXPECT_EQ(d.env().size(), 2u);
  EXPECT_EQ(d.env().at("MODE"), "upper");
  EXPECT_EQ(d.env().at("LANG"), "C");
  EXPECT_THAT(d.splits(), ElementsAre(SplitIs("/in/a", 0, 10)));
  EXPECT_THAT(d.inputs(), IsEmpty());
  EXPECT_THAT(d.outputs(), ElementsAre(OutputIs("count", v1::HASH, 3)));

  EXPECT_EQ(offer("slot-2", "tm-2", kSmall), "read[1]#1");
  EXPECT_THAT(deployed_.back().task.splits(),
              ElementsAre(SplitIs("/in/a", 10, 20), SplitIs("/in/b", 0, 5)));

  // Nothing else is runnable yet: further slots are refused.
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-3", "tm-3", kHuge)));
  EXPECT_EQ(deployed_.size(), 2u);
}

TEST_F(JobMasterTest, RefusesSlotsTooSmallForAnyPendingTask) {
  start(oneStage(1));
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-1", "tm-1", res(0.5, 256))));
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-2", "tm-1", res(1, 255))));
  EXPECT_THAT(deployed_, IsEmpty());
  EXPECT_EQ(offer("slot-3", "tm-1", kSmall), "work[0]#1");
}

TEST_F(JobMasterTest, ArgvCommandsAreDeployedAsGiven) {
  start(JobSpecBuilder().stage(StageBuilder("only").argv({"python3", "-c", "print(1)"})).build());
  offer("slot-1", "tm-1", kSmall);
  EXPECT_THAT(deployed_.back().task.command().argv().args(),
              ElementsAre("python3", "-c", "print(1)"));
}

TEST_F(JobMasterTest, PrefersATaskOfTheSlotsOwnProfile) {
  start(JobSpecBuilder()
            .stage(StageBuilder("small").resources(kSmall))
            .stage(StageBuilder("large").resources(kLarge))
            .stage(StageBuilder("join")
                       .resources(kSmall)
                       .input("small", v1::HASH)
                       .input("large", v1::HASH))
            .build());
  EXPECT_EQ(offer("slot-1", "tm-1", kLarge), "large[0]#1");
  // The only task left is smaller; a larger slot still serves it.
  EXPECT_EQ(offer("slot-2", "tm-1", kLarge), "small[0]#1");
}

TEST_F(JobMasterTest, SinkTasksWriteTheJobOutput) {
  start(oneStage(2));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_THAT(deployed_.back().task.outputs(), ElementsAre(OutputIs("", v1::FORWARD, 2)));
  EXPECT_THAT(deployed_.back().task.splits(), IsEmpty());
}

TEST_F(JobMasterTest, OutputsListEveryConsumer) {
  start(
      JobSpecBuilder()
          .stage(StageBuilder("a").parallelism(2))
          .stage(StageBuilder("b").parallelism(3).input("a", v1::HASH))
          .stage(StageBuilder("c").parallelism(3).input("b", v1::FORWARD).input("a", v1::BROADCAST))
          .build());
  offer("slot-1", "tm-1", kSmall);
  EXPECT_THAT(deployed_.back().task.outputs(),
              ElementsAre(OutputIs("b", v1::HASH, 3), OutputIs("c", v1::BROADCAST, 3)));
}

TEST_F(JobMasterTest, ASuccessfulDeployMarksTheTaskRunning) {
  EXPECT_CALL(observer_, onStageStarted("work"));
  start(oneStage(2));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_EQ(progressOf("work").running, 1);
  EXPECT_TRUE(progressOf("work").started);
  deployed_.back().done(Status());
  loop_.runPending();
  EXPECT_EQ(progressOf("work").running, 1);
  EXPECT_EQ(progressOf("work").finished, 0);
}

TEST_F(JobMasterTest, AFailedDeployGivesTheSlotBackAndReportsTheTaskManager) {
  start(oneStage(1, /*maxAttempts=*/1));
  offer("slot-1", "tm-1", kSmall);
  size_t declaredBefore = declared_.size();
  {
    InSequence order;
    EXPECT_CALL(rm_, releaseSlot("slot-1"));
    EXPECT_CALL(rm_, reportUnreachable("tm-1", HasSubstr("connection refused")));
  }
  deployed_.back().done(Error{ErrorCode::kUnavailable, "connection refused"});
  loop_.runPending();
  verifyAndClear();
  // Not a failure of the task: it is wanted again and runs elsewhere.
  ASSERT_GT(declared_.size(), declaredBefore);
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 1)));
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_EQ(offer("slot-2", "tm-2", kSmall), "work[0]#2");
}

// --- consumers ---

TEST_F(JobMasterTest, HashConsumersReadTheirPartitionFromEveryProducer) {
  start(twoStages(2, kSmall, 2, kLarge, v1::HASH));
  ASSERT_EQ(offer("slot-1", "tm-1", kSmall), "map[0]#1");
  ASSERT_EQ(offer("slot-2", "tm-2", kSmall), "map[1]#1");

  // The first producer done: the consumers still wait; its slot fits nothing.
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0, 1}));
  EXPECT_THAT(declared_.back(), IsEmpty());
  EXPECT_EQ(deployed_.size(), 2u);

  // The second one done: the consumer stage is scheduled.
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("map[1]#1", "tm-2", partitionsFor("map[1]#1", "reduce", {0, 1}));
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kLarge, 2)));

  ASSERT_EQ(offer("slot-3", "tm-3", kLarge), "reduce[0]#1");
  EXPECT_THAT(
      deployment("reduce[0]#1").inputs(),
      ElementsAre(inputFrom("tm-1", "map[0]#1/reduce-0"), inputFrom("tm-2", "map[1]#1/reduce-0")));
  ASSERT_EQ(offer("slot-4", "tm-4", kLarge), "reduce[1]#1");
  EXPECT_THAT(
      deployment("reduce[1]#1").inputs(),
      ElementsAre(inputFrom("tm-1", "map[0]#1/reduce-1"), inputFrom("tm-2", "map[1]#1/reduce-1")));
  EXPECT_THAT(deployment("reduce[1]#1").outputs(), ElementsAre(OutputIs("", v1::FORWARD, 2)));
}

TEST_F(JobMasterTest, ForwardConsumersReadOnlyTheirOwnProducer) {
  start(twoStages(2, kSmall, 2, kLarge, v1::FORWARD));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  finish("map[1]#1", "tm-2", partitionsFor("map[1]#1", "reduce", {1}));

  ASSERT_EQ(offer("slot-3", "tm-3", kLarge), "reduce[0]#1");
  ASSERT_EQ(offer("slot-4", "tm-4", kLarge), "reduce[1]#1");
  EXPECT_THAT(deployment("reduce[0]#1").inputs(),
              ElementsAre(inputFrom("tm-1", "map[0]#1/reduce-0")));
  EXPECT_THAT(deployment("reduce[1]#1").inputs(),
              ElementsAre(inputFrom("tm-2", "map[1]#1/reduce-1")));
}

TEST_F(JobMasterTest, BroadcastConsumersReadEveryProducersSingleFile) {
  start(twoStages(2, kSmall, 3, kLarge, v1::BROADCAST));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_THAT(deployment("map[0]#1").outputs(), ElementsAre(OutputIs("reduce", v1::BROADCAST, 3)));
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("map[0]#1", "tm-1", broadcastFor("map[0]#1", "reduce"));
  finish("map[1]#1", "tm-2", broadcastFor("map[1]#1", "reduce"));

  for (int i = 0; i < 3; ++i) {
    std::string attempt = offer("slot-" + std::to_string(3 + i), "tm-3", kLarge);
    ASSERT_EQ(attempt, "reduce[" + std::to_string(i) + "]#1");
    EXPECT_THAT(deployment(attempt).inputs(),
                ElementsAre(inputFrom("tm-1", "map[0]#1/reduce-all"),
                            inputFrom("tm-2", "map[1]#1/reduce-all")));
  }
}

TEST_F(JobMasterTest, ConsumersOfSeveralStagesReadEachAsDeclared) {
  start(
      JobSpecBuilder()
          .stage(StageBuilder("a").parallelism(2))
          .stage(StageBuilder("b").parallelism(2).input("a", v1::HASH))
          .stage(StageBuilder("c").parallelism(2).input("b", v1::FORWARD).input("a", v1::BROADCAST))
          .build());
  auto aOutputs = [](const std::string& attempt) {
    auto infos = partitionsFor(attempt, "b", {0, 1});
    for (const auto& p : broadcastFor(attempt, "c")) infos.push_back(p);
    return infos;
  };
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("a[0]#1", "tm-1", aOutputs("a[0]#1"));
  // The last producer's slot is reused for b[0] (same profile).
  finish("a[1]#1", "tm-2", aOutputs("a[1]#1"));
  EXPECT_EQ(deployed_.back().task.attempt_id(), "b[0]#1");
  EXPECT_EQ(deployed_.back().task.slot_id(), "slot-2");
  EXPECT_EQ(offer("slot-3", "tm-3", kSmall), "b[1]#1");

  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("b[0]#1", "tm-2", partitionsFor("b[0]#1", "c", {0}));
  finish("b[1]#1", "tm-3", partitionsFor("b[1]#1", "c", {1}));
  EXPECT_EQ(deployed_.back().task.attempt_id(), "c[0]#1");
  EXPECT_EQ(offer("slot-4", "tm-4", kSmall), "c[1]#1");

  EXPECT_THAT(deployment("c[0]#1").inputs(),
              ElementsAre(inputFrom("tm-2", "b[0]#1/c-0"), inputFrom("tm-1", "a[0]#1/c-all"),
                          inputFrom("tm-2", "a[1]#1/c-all")));
  EXPECT_THAT(deployment("c[1]#1").inputs(),
              ElementsAre(inputFrom("tm-3", "b[1]#1/c-1"), inputFrom("tm-1", "a[0]#1/c-all"),
                          inputFrom("tm-2", "a[1]#1/c-all")));
}

// --- slot reuse ---

TEST_F(JobMasterTest, AFreeSlotIsReusedByTheNextStageWhenItFits) {
  start(twoStages(1, kLarge, 1, kSmall));
  offer("slot-1", "tm-1", kLarge);
  // StrictMock: the slot is not released.
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  ASSERT_EQ(deployed_.size(), 2u);
  EXPECT_EQ(deployed_.back().task.attempt_id(), "reduce[0]#1");
  EXPECT_EQ(deployed_.back().task.slot_id(), "slot-1");
  EXPECT_EQ(deployed_.back().address, "tm-1:9000");
  EXPECT_THAT(declared_.back(), IsEmpty());
}

TEST_F(JobMasterTest, InASessionAFreeSlotGoesBackForTheFairShareToDecide) {
  start(twoStages(1, kLarge, 1, kSmall), {}, /*sharedTaskManagers=*/true);
  offer("slot-1", "tm-1", kLarge);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  EXPECT_EQ(deployed_.size(), 1u);
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 1)));
}

TEST_F(JobMasterTest, AFreeSlotTooSmallForTheNextStageIsReleased) {
  start(twoStages(1, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  EXPECT_EQ(deployed_.size(), 1u);
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kLarge, 1)));
}

// --- failures and retries ---

TEST_F(JobMasterTest, NonZeroExitsAreRetriedUpToMaxAttemptsThenFailTheJob) {
  start(oneStage(1, /*maxAttempts=*/3));
  offer("slot-1", "tm-1", kSmall);

  EXPECT_CALL(observer_, onAttemptFailed(_, _, _)).Times(AnyNumber());
  EXPECT_CALL(observer_, onAttemptFailed("work[0]#1", "exited with status 1", true));
  EXPECT_CALL(observer_, onAttemptFailed("work[0]#2", "exited with status 1", true));
  fail("work[0]#1", "tm-1", v1::EXIT_NONZERO, "exited with status 1", "first try\n");
  // Retried at once in the slot it had.
  EXPECT_THAT(deployedAttempts(), ElementsAre("work[0]#1", "work[0]#2"));
  EXPECT_EQ(deployment("work[0]#2").attempt(), 2);
  EXPECT_EQ(deployment("work[0]#2").slot_id(), "slot-1");

  fail("work[0]#2", "tm-1", v1::EXIT_NONZERO, "exited with status 1", "second try\n");
  EXPECT_THAT(deployedAttempts(), ElementsAre("work[0]#1", "work[0]#2", "work[0]#3"));
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);

  EXPECT_CALL(observer_, onAttemptFailed("work[0]#3", "exited with status 2", false));
  EXPECT_CALL(observer_, onJobEnded(JobStatus::kFailed, HasSubstr("stage \"work\"")));
  EXPECT_CALL(rm_, releaseAll());
  fail("work[0]#3", "tm-1", v1::EXIT_NONZERO, "exited with status 2",
       "Traceback (most recent call last):\nValueError: bad record\n");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("stage \"work\" failed"));
  EXPECT_THAT(jm_->error(), HasSubstr("3 of 3 attempts"));
  EXPECT_THAT(jm_->error(), HasSubstr("work[0]#3"));
  EXPECT_THAT(jm_->error(), HasSubstr("exited with status 2"));
  EXPECT_THAT(jm_->error(), HasSubstr("ValueError: bad record"));
  EXPECT_EQ(deployed_.size(), 3u);
  EXPECT_EQ(progressOf("work").failedAttempts, 3);
}

TEST_F(JobMasterTest, MaxAttemptsZeroMeansOneAttempt) {
  start(oneStage(1, /*maxAttempts=*/0));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseAll());
  fail("work[0]#1", "tm-1", v1::EXIT_NONZERO, "exited with status 1");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_EQ(deployed_.size(), 1u);
}

TEST_F(JobMasterTest, AFailingJobCancelsItsOtherRunningAttempts) {
  start(oneStage(2, /*maxAttempts=*/1));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(tms_, cancelTask("tm-2:9000", "job-1", "work[1]#1"));
  EXPECT_CALL(rm_, releaseAll());
  fail("work[0]#1", "tm-1", v1::EXIT_NONZERO, "exited with status 3");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_EQ(progressOf("work").running, 0);
}

TEST_F(JobMasterTest, CommandNotFoundFailsTheJobAtOnce) {
  start(oneStage(1, /*maxAttempts=*/5));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(observer_, onAttemptFailed("work[0]#1", _, false));
  EXPECT_CALL(observer_, onJobEnded(JobStatus::kFailed, _));
  EXPECT_CALL(rm_, releaseAll());
  fail("work[0]#1", "tm-1", v1::COMMAND_NOT_FOUND, "cannot run 'wordcount': No such file");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("stage \"work\""));
  EXPECT_THAT(jm_->error(), HasSubstr("cannot run 'wordcount': No such file"));
  EXPECT_EQ(deployed_.size(), 1u);
}

// --- measured usage and the memory limit ---

v1::TaskUsage usageOf(double cpuSeconds, double peakMemMib) {
  v1::TaskUsage usage;
  usage.set_cpu_seconds(cpuSeconds);
  usage.set_peak_mem_mib(peakMemMib);
  usage.set_source("proc");
  return usage;
}

TEST_F(JobMasterTest, AttemptsAndStagesReportWhatTheyUsed) {
  start(oneStage(2));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  for (const auto& [attempt, tm, cpu, mem] :
       {std::tuple{"work[0]#1", "tm-1", 0.5, 40.0}, std::tuple{"work[1]#1", "tm-2", 0.25, 90.0}}) {
    v1::TaskStateUpdate u;
    u.set_taskmanager_id(tm);
    u.set_attempt_id(attempt);
    u.set_state(v1::TASK_FINISHED);
    *u.add_partitions() = partition("", 0, std::string(attempt) + "-out");
    *u.mutable_usage() = usageOf(cpu, mem);
    EXPECT_CALL(rm_, releaseSlot(_)).Times(AnyNumber());
    update(u);
  }
  ASSERT_EQ(jm_->attemptReports().size(), 2u);
  EXPECT_DOUBLE_EQ(jm_->attemptReports()[0].usage().cpu_seconds(), 0.5);
  EXPECT_DOUBLE_EQ(jm_->attemptReports()[1].usage().peak_mem_mib(), 90);
  EXPECT_EQ(jm_->attemptReports()[0].failure(), "");
  const std::vector<v1::StageReport> stages = jm_->stageReports();  // a copy: keep it alive
  const v1::StageUsage& usage = stages[0].usage();
  EXPECT_DOUBLE_EQ(usage.cpu_seconds(), 0.75);
  EXPECT_DOUBLE_EQ(usage.max_peak_mem_mib(), 90);
  EXPECT_DOUBLE_EQ(usage.requested().mem(), 256);
  EXPECT_DOUBLE_EQ(usage.recommended().mem(), 128);  // 90 x 1.25 = 112.5, up to 16 MiB
}

TEST_F(JobMasterTest, AMemoryKillRunsOnceAgainWithMoreMemoryInALargerSlot) {
  start(oneStage(1, /*maxAttempts=*/1));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, largestSlot()).WillRepeatedly(::testing::Return(res(8, 4096)));
  EXPECT_CALL(observer_, onAttemptFailed("work[0]#1", HasSubstr("300 MiB"), true));
  // The small slot fits no pending task any more.
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  v1::TaskStateUpdate u;
  u.set_taskmanager_id("tm-1");
  u.set_attempt_id("work[0]#1");
  u.set_state(v1::TASK_FAILED);
  u.set_failure(v1::MEMORY_EXCEEDED);
  u.set_message("killed: its processes used 300 MiB, over the 256 MiB its slot allows (mem)");
  *u.mutable_usage() = usageOf(0.1, 300);
  update(u);
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);  // not counted against max_attempts
  // max(2 x 256, 1.5 x 300) = 512 MiB.
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(res(1, 512), 1)));
  ASSERT_EQ(jm_->attemptReports().size(), 1u);
  EXPECT_EQ(jm_->attemptReports()[0].failure(), "MEMORY_EXCEEDED");
  EXPECT_THAT(jm_->attemptReports()[0].note(), HasSubstr("runs again once with mem 512 MiB"));

  // A slot of the stage's own profile does not take it; one of the larger does.
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-2", "tm-2", kSmall)));
  offer("slot-3", "tm-3", res(1, 512));
  EXPECT_EQ(deployment("work[0]#2").slot_resources().mem(), 512);

  // A second memory kill fails the job, however many attempts are left.
  EXPECT_CALL(observer_, onAttemptFailed("work[0]#2", _, false));
  EXPECT_CALL(rm_, releaseAll());
  u.set_attempt_id("work[0]#2");
  u.set_taskmanager_id("tm-3");
  u.set_message("killed: its processes used 600 MiB, over the 512 MiB its slot allows (mem)");
  update(u);
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("went over its memory again"));
  EXPECT_THAT(jm_->error(), HasSubstr("600 MiB"));
  ASSERT_EQ(jm_->attemptReports().size(), 2u);
  EXPECT_DOUBLE_EQ(jm_->attemptReports()[1].resources().mem(), 512);
  EXPECT_THAT(jm_->attemptReports()[1].note(), HasSubstr("the job fails"));
}

TEST_F(JobMasterTest, AMemoryKillInALargerSlotRunsAgainWithTwiceTheSlotsMemory) {
  start(oneStage(1));
  offer("slot-1", "tm-1", kLarge);  // 512 MiB for a task of 256
  EXPECT_CALL(rm_, largestSlot()).WillRepeatedly(::testing::Return(res(8, 4096)));
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  fail("work[0]#1", "tm-1", v1::MEMORY_EXCEEDED, "killed: used 520 MiB");
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(res(1, 1024), 1)));
}

TEST_F(JobMasterTest, AMemoryKillFailsTheJobWhenNoSlotCanHaveMore) {
  start(oneStage(1, /*maxAttempts=*/3));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, largestSlot()).WillRepeatedly(::testing::Return(res(8, 256)));
  EXPECT_CALL(rm_, releaseAll());
  fail("work[0]#1", "tm-1", v1::MEMORY_EXCEEDED, "killed: used 300 MiB");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("no slot can have more"));
}

TEST_F(JobMasterTest, InputFetchFailuresDoNotCountAgainstMaxAttempts) {
  start(twoStages(1, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  ASSERT_EQ(offer("slot-2", "tm-2", kLarge), "reduce[0]#1");

  EXPECT_CALL(rm_, reportUnreachable("tm-1", HasSubstr("connection refused")));
  EXPECT_CALL(observer_, onAttemptFailed(_, _, _)).Times(AnyNumber());
  EXPECT_CALL(observer_, onAttemptFailed("reduce[0]#1", _, true));
  fail("reduce[0]#1", "tm-2", v1::INPUT_FETCH, "fetching map[0]#1/reduce-0: connection refused", "",
       "tm-1");
  verifyAndClear();
  // max_attempts is 1, yet the task runs again.
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_THAT(deployedAttempts(), ElementsAre("map[0]#1", "reduce[0]#1", "reduce[0]#2"));
  EXPECT_EQ(progressOf("reduce").failedAttempts, 1);

  // Its one real failure then ends the job, as 1 of 1.
  EXPECT_CALL(rm_, releaseAll());
  fail("reduce[0]#2", "tm-2", v1::EXIT_NONZERO, "exited with status 1");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("1 of 1 attempts"));
}

TEST_F(JobMasterTest, TooManyInputFetchFailuresFailTheJob) {
  start(twoStages(1, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  offer("slot-2", "tm-2", kLarge);

  EXPECT_CALL(rm_, reportUnreachable("tm-1", _)).Times(2);
  fail("reduce[0]#1", "tm-2", v1::INPUT_FETCH, "timeout", "", "tm-1");
  fail("reduce[0]#2", "tm-2", v1::INPUT_FETCH, "timeout", "", "tm-1");
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_CALL(rm_, releaseAll());
  fail("reduce[0]#3", "tm-2", v1::INPUT_FETCH, "timeout", "", "tm-1");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("stage \"reduce\""));
  EXPECT_THAT(jm_->error(), HasSubstr("could not fetch its inputs 3 times"));
}

TEST_F(JobMasterTest, AnUnreachableProducerIsReRunBeforeItsConsumer) {
  start(twoStages(1, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  offer("slot-2", "tm-2", kLarge);

  // As the real ResourceManager does: the unreachable TM is declared lost at once.
  EXPECT_CALL(rm_, reportUnreachable("tm-1", _))
      .WillOnce([this](const std::string& id, const std::string&) {
        lose(id, "unreachable");
      });
  fail("reduce[0]#1", "tm-2", v1::INPUT_FETCH, "connection refused", "", "tm-1");
  // The producer runs again, in the consumer's free slot.
  EXPECT_THAT(deployedAttempts(), ElementsAre("map[0]#1", "reduce[0]#1", "map[0]#2"));
  EXPECT_EQ(deployment("map[0]#2").slot_id(), "slot-2");

  finish("map[0]#2", "tm-2", partitionsFor("map[0]#2", "reduce", {0}));
  EXPECT_THAT(deployedAttempts(),
              ElementsAre("map[0]#1", "reduce[0]#1", "map[0]#2", "reduce[0]#2"));
  EXPECT_THAT(deployment("reduce[0]#2").inputs(),
              ElementsAre(inputFrom("tm-2", "map[0]#2/reduce-0")));
}

// --- lost TaskManagers ---

TEST_F(JobMasterTest, RunningTasksOfALostTaskManagerRunAgain) {
  start(oneStage(2, /*maxAttempts=*/1));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(observer_, onAttemptFailed("work[0]#1", HasSubstr("tm-1 lost"), true));
  lose("tm-1", "no heartbeat for 10000 ms");
  // Not counted as a failure; its slot is gone with the TM (not released).
  // It runs again in a TaskManager of its own: an ordinary slot does not
  // take it, a solo one does.
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_THAT(declared_.back(), IsEmpty());
  EXPECT_THAT(soloDeclared_.back(), ElementsAre(Pair(kSmall, 1)));
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-3", "tm-3", kSmall)));
  EXPECT_EQ(offer("slot-4", "tm-4", kLarge, /*solo=*/true), "work[0]#2");
  ASSERT_EQ(jm_->attemptReports().size(), 1u);
  EXPECT_THAT(jm_->attemptReports()[0].note(), HasSubstr("TaskManager of its own"));

  // Late news of the lost attempt changes nothing.
  fail("work[0]#1", "tm-1", v1::EXIT_NONZERO, "killed");
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_EQ(deployed_.size(), 3u);
}

TEST_F(JobMasterTest, ATaskThatLosesItsTaskManagerTooOftenFailsTheJob) {
  start(oneStage(2, /*maxAttempts=*/1));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(observer_, onAttemptFailed(_, _, true)).Times(3);
  // work[0] takes its TaskManager down with it, attempt after attempt.
  for (int n = 1; n <= 3; ++n) {
    lose("tm-1" + std::string(n == 1 ? "" : "-" + std::to_string(n)), "exited on signal 9");
    EXPECT_EQ(offer("slot-1" + std::to_string(n), "tm-1-" + std::to_string(n + 1), kSmall,
                    /*solo=*/true),
              "work[0]#" + std::to_string(n + 1));
  }
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_CALL(observer_, onAttemptFailed("work[0]#4", HasSubstr("tm-1-4 lost"), false));
  EXPECT_CALL(tms_, cancelTask("tm-2:9000", _, "work[1]#1"));
  EXPECT_CALL(rm_, releaseAll());
  lose("tm-1-4", "exited on signal 9");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("task work[0] lost its TaskManager 4 times"));
  EXPECT_THAT(jm_->error(), HasSubstr("last: tm-1-4 lost: exited on signal 9"));
}

TEST_F(JobMasterTest, LostOutputStillNeededIsRecomputed) {
  start(twoStages(2, kSmall, 2, kLarge));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0, 1}));
  finish("map[1]#1", "tm-2", partitionsFor("map[1]#1", "reduce", {0, 1}));
  offer("slot-3", "tm-3", kLarge);
  offer("slot-4", "tm-4", kLarge);
  verifyAndClear();

  // tm-1 held map[0]'s output: map[0] runs again (only it), and the consumers,
  // whose input is gone, are stopped until it is back.
  EXPECT_CALL(tms_, cancelTask("tm-3:9000", "job-1", "reduce[0]#1"));
  EXPECT_CALL(tms_, cancelTask("tm-4:9000", "job-1", "reduce[1]#1"));
  EXPECT_CALL(rm_, releaseSlot("slot-4"));
  lose("tm-1", "exited");
  verifyAndClear();
  EXPECT_EQ(deployed_.back().task.attempt_id(), "map[0]#2");
  EXPECT_EQ(deployed_.back().task.slot_id(), "slot-3");
  EXPECT_THAT(declared_.back(), IsEmpty());
  EXPECT_EQ(holders_.back(), (std::set<std::string>{"tm-2"}));
  EXPECT_EQ(progressOf("map").finished, 1);
  EXPECT_EQ(progressOf("reduce").running, 0);

  finish("map[0]#2", "tm-3", partitionsFor("map[0]#2", "reduce", {0, 1}));
  EXPECT_EQ(deployed_.back().task.attempt_id(), "reduce[0]#2");
  EXPECT_THAT(
      deployment("reduce[0]#2").inputs(),
      ElementsAre(inputFrom("tm-3", "map[0]#2/reduce-0"), inputFrom("tm-2", "map[1]#1/reduce-0")));
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kLarge, 1)));
}

TEST_F(JobMasterTest, LostOutputWhoseConsumersAreCompleteIsNotRecomputed) {
  start(JobSpecBuilder()
            .stage(StageBuilder("a").resources(kSmall))
            .stage(StageBuilder("b").resources(kLarge).input("a"))
            .stage(StageBuilder("c").resources(kHuge).input("b"))
            .build());
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("a[0]#1", "tm-1", partitionsFor("a[0]#1", "b", {0}));
  offer("slot-2", "tm-2", kLarge);
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("b[0]#1", "tm-2", partitionsFor("b[0]#1", "c", {0}));
  offer("slot-3", "tm-3", kHuge);
  size_t deployments = deployed_.size();

  lose("tm-1", "released when idle");
  EXPECT_EQ(deployed_.size(), deployments);
  EXPECT_THAT(declared_.back(), IsEmpty());
  EXPECT_EQ(progressOf("c").running, 1);

  EXPECT_CALL(rm_, releaseSlot("slot-3"));
  finish("c[0]#1", "tm-3", sinkOutput("c[0]#1", 0));
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_CALL(rm_, releaseAll());
  fetches_[0].done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

// A TaskManager holding only output nobody needs any more (here the sink's
// producer) may go while the sink's output is collected, e.g. released when
// idle. The collection must go on.
TEST_F(JobMasterTest, LosingAnUnneededProducerDuringCollectionStillFinishes) {
  start(twoStages(1, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  offer("slot-2", "tm-2", kLarge);
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("reduce[0]#1", "tm-2", sinkOutput("reduce[0]#1", 0));
  ASSERT_EQ(fetches_.size(), 1u);
  // tm-1 is no longer a partition holder: the RM may release it.
  EXPECT_EQ(holders_.back(), (std::set<std::string>{"tm-2"}));

  lose("tm-1", "released when idle");
  EXPECT_EQ(deployed_.size(), 2u);

  EXPECT_CALL(rm_, releaseAll());
  EXPECT_CALL(observer_, onJobEnded(JobStatus::kFinished, ""));
  for (auto& fetch : fetches_) fetch.done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished) << "the job hangs in RUNNING";
}

TEST_F(JobMasterTest, PartitionHoldersAreTheTaskManagersWithNeededOutput) {
  start(twoStages(2, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  EXPECT_CALL(rm_, releaseSlot("slot-3"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  finish("map[1]#1", "tm-2", partitionsFor("map[1]#1", "reduce", {0}));
  offer("slot-3", "tm-3", kLarge);
  finish("reduce[0]#1", "tm-3", sinkOutput("reduce[0]#1", 0));
  // Producers hold output until their consumer completes; the sink until
  // its output is collected. Only changes are sent.
  EXPECT_THAT(holders_,
              ElementsAre(std::set<std::string>{"tm-1"}, std::set<std::string>{"tm-1", "tm-2"},
                          std::set<std::string>{"tm-3"}));
}

// --- output collection ---

TEST_F(JobMasterTest, CollectsEachSinkOutputAsItsTaskFinishesThenFinishes) {
  fs::create_directories(outputDir());
  temp_.write("output/part-00009", "stale from an earlier run\n");
  temp_.write("output/notes.txt", "kept\n");

  EXPECT_CALL(observer_, onStageFinished("map"));
  EXPECT_CALL(observer_, onStageFinished("reduce"));
  start(twoStages(1, kSmall, 2, kSmall));
  offer("slot-1", "tm-1", kSmall);
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0, 1}));
  EXPECT_EQ(deployed_.back().task.attempt_id(), "reduce[0]#1");
  EXPECT_EQ(offer("slot-2", "tm-2", kSmall), "reduce[1]#1");

  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  // The first sink output is copied while the other task still runs.
  finish("reduce[0]#1", "tm-1", sinkOutput("reduce[0]#1", 0));
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_EQ(fetches_[0].address, "tm-1:9000");
  EXPECT_EQ(fetches_[0].path, "reduce[0]#1/_output-0");
  EXPECT_EQ(fetches_[0].destination, (fs::path(outputDir()) / "part-00000").string());
  EXPECT_FALSE(fs::exists(fs::path(outputDir()) / "part-00009"));
  EXPECT_TRUE(fs::exists(fs::path(outputDir()) / "notes.txt"));
  EXPECT_THAT(holders_.back(), (std::set<std::string>{"tm-1"}));
  fetches_[0].done(Status());
  loop_.runPending();
  // Copied; tm-1 still holds map's output, which reduce[1] may need again.
  EXPECT_THAT(holders_.back(), (std::set<std::string>{"tm-1"}));

  finish("reduce[1]#1", "tm-2", sinkOutput("reduce[1]#1", 1));
  ASSERT_EQ(fetches_.size(), 2u);
  EXPECT_EQ(fetches_[1].address, "tm-2:9000");
  EXPECT_EQ(fetches_[1].path, "reduce[1]#1/_output-1");
  EXPECT_EQ(fetches_[1].destination, (fs::path(outputDir()) / "part-00001").string());
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_CALL(rm_, releaseAll());
  EXPECT_CALL(observer_, onJobEnded(JobStatus::kFinished, ""));
  loop_.advance(Duration(2500));
  fetches_[1].done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
  EXPECT_EQ(jm_->error(), "");
  EXPECT_DOUBLE_EQ(jm_->finishedAt(), ManualEventLoop::kWallStart + 2.5);
}

TEST_F(JobMasterTest, ACollectedSinkOutputIsNotRecomputedWhenItsTaskManagerIsLost) {
  start(oneStage(2));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("work[0]#1", "tm-1", sinkOutput("work[0]#1", 0));
  EXPECT_THAT(holders_.back(), (std::set<std::string>{"tm-1"}));
  fetches_[0].done(Status());
  loop_.runPending();
  EXPECT_THAT(holders_.back(), IsEmpty()) << "a copied output keeps no TaskManager";
  lose("tm-1", "killed");
  EXPECT_EQ(deployed_.size(), 2u) << "work[0] ran again";
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("work[1]#1", "tm-2", sinkOutput("work[1]#1", 1));
  EXPECT_CALL(rm_, releaseAll());
  fetches_[1].done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

TEST_F(JobMasterTest, AFailedFetchReRunsTheSinkTask) {
  start(oneStage(1));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("work[0]#1", "tm-1", sinkOutput("work[0]#1", 0));
  ASSERT_EQ(fetches_.size(), 1u);

  EXPECT_CALL(rm_, reportUnreachable("tm-1", HasSubstr("connection reset")));
  fetches_[0].done(Error{ErrorCode::kUnavailable, "connection reset"});
  loop_.runPending();
  verifyAndClear();
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 1)));

  EXPECT_EQ(offer("slot-2", "tm-2", kSmall), "work[0]#2");
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("work[0]#2", "tm-2", sinkOutput("work[0]#2", 0));
  ASSERT_EQ(fetches_.size(), 2u);
  EXPECT_EQ(fetches_[1].address, "tm-2:9000");
  EXPECT_CALL(rm_, releaseAll());
  fetches_[1].done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

TEST_F(JobMasterTest, ASmallSinkOutputInTheUpdateIsWrittenWithoutAFetch) {
  start(oneStage(2));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  v1::PartitionInfo small;
  small.set_partition(0);
  small.set_data("a\nb\n");
  small.set_bytes(4);
  small.set_records(2);
  finish("work[0]#1", "tm-1", {small});
  EXPECT_TRUE(fetches_.empty());
  EXPECT_EQ(test::readFile(fs::path(outputDir()) / "part-00000"), "a\nb\n");
  EXPECT_TRUE(holders_.empty() || holders_.back().empty()) << "nothing of it stays on tm-1";
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);

  // Empty output is output too: an empty file. The job ends at once, and
  // releasing everything takes slot-2 with it.
  EXPECT_CALL(rm_, releaseAll());
  v1::PartitionInfo empty;
  empty.set_partition(1);
  finish("work[1]#1", "tm-2", {empty});
  EXPECT_TRUE(fetches_.empty());
  EXPECT_EQ(test::readFile(fs::path(outputDir()) / "part-00001"), "");
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

TEST_F(JobMasterTest, AnOutputThatCannotBeWrittenFailsTheJobNamingTheFile) {
  start(oneStage(1));
  offer("slot-1", "tm-1", kSmall);
  // A folder, not empty, where the output file must go.
  temp_.write("output/part-00000/inside", "x");
  EXPECT_CALL(rm_, releaseAll());
  v1::PartitionInfo small;
  small.set_data("x\n");
  finish("work[0]#1", "tm-1", {small});
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("part-00000"));
}

// --- stale updates, cancel ---

TEST_F(JobMasterTest, UpdatesForOldAttemptsAreIgnored) {
  start(oneStage(1, /*maxAttempts=*/2));
  offer("slot-1", "tm-1", kSmall);
  fail("work[0]#1", "tm-1", v1::EXIT_NONZERO, "exited with status 1");
  ASSERT_THAT(deployedAttempts(), ElementsAre("work[0]#1", "work[0]#2"));

  finish("work[0]#1", "tm-1", sinkOutput("work[0]#1", 0));
  fail("work[0]#1", "tm-1", v1::EXIT_NONZERO, "exited with status 1");
  finish("nothing[0]#1", "tm-1", sinkOutput("nothing[0]#1", 0));
  EXPECT_THAT(fetches_, IsEmpty());
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
  EXPECT_EQ(progressOf("work").finished, 0);
  EXPECT_EQ(progressOf("work").failedAttempts, 1);
  EXPECT_EQ(deployed_.size(), 2u);

  // The current attempt still counts, once.
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("work[0]#2", "tm-1", sinkOutput("work[0]#2", 0));
  finish("work[0]#2", "tm-1", sinkOutput("work[0]#2", 0));
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_EQ(fetches_[0].path, "work[0]#2/_output-0");
}

TEST_F(JobMasterTest, ALateDeployAnswerForAnOldAttemptIsIgnored) {
  start(oneStage(1, /*maxAttempts=*/2));
  offer("slot-1", "tm-1", kSmall);
  auto firstDone = deployed_[0].done;
  fail("work[0]#1", "tm-1", v1::EXIT_NONZERO, "exited with status 1");
  ASSERT_EQ(deployed_.size(), 2u);
  // StrictMock: neither releaseSlot nor reportUnreachable.
  firstDone(Error{ErrorCode::kUnavailable, "timed out"});
  EXPECT_EQ(progressOf("work").running, 1);
}

TEST_F(JobMasterTest, CancelStopsRunningAttemptsAndEndsTheJob) {
  start(oneStage(3));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  deployed_[0].done(Status());
  loop_.runPending();
  {
    ::testing::Sequence s1, s2;
    EXPECT_CALL(tms_, cancelTask("tm-1:9000", "job-1", "work[0]#1")).InSequence(s1);
    EXPECT_CALL(tms_, cancelTask("tm-2:9000", "job-1", "work[1]#1")).InSequence(s2);
    EXPECT_CALL(rm_, releaseAll()).InSequence(s1, s2);
    EXPECT_CALL(observer_, onJobEnded(JobStatus::kCanceled, "canceled by the user"))
        .InSequence(s1, s2);
  }
  jm_->cancel("canceled by the user");
  verifyAndClear();
  EXPECT_EQ(jm_->status(), JobStatus::kCanceled);
  EXPECT_EQ(jm_->error(), "canceled by the user");

  // After the end: slots are refused, updates and losses ignored, cancel is idempotent.
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-3", "tm-3", kSmall)));
  finish("work[0]#1", "tm-1", sinkOutput("work[0]#1", 0));
  lose("tm-2", "gone");
  jm_->cancel("again");
  EXPECT_EQ(jm_->status(), JobStatus::kCanceled);
  EXPECT_EQ(jm_->error(), "canceled by the user");
  EXPECT_EQ(deployed_.size(), 2u);
}

TEST_F(JobMasterTest, CancelAsFailedEndsTheJobFailed) {
  start(oneStage(1));
  EXPECT_CALL(rm_, releaseAll());
  jm_->cancel("the ResourceManager cannot place stage work", /*failed=*/true);
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_EQ(jm_->error(), "the ResourceManager cannot place stage work");
}

// --- accounting ---

TEST_F(JobMasterTest, RequestedResourceSecondsFollowTheClock) {
  start(JobSpecBuilder().stage(StageBuilder("work").resources(kLarge)).build());
  offer("slot-1", "tm-1", kLarge);
  loop_.advance(Duration(10000));
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("work[0]#1", "tm-1", sinkOutput("work[0]#1", 0));
  v1::ResourceSeconds seconds = jm_->requestedResourceSeconds();
  EXPECT_DOUBLE_EQ(seconds.cpu_seconds(), 20.0);
  EXPECT_DOUBLE_EQ(seconds.mem_mib_seconds(), 5120.0);

  ASSERT_EQ(jm_->attemptReports().size(), 1u);
  const v1::AttemptReport& ran = jm_->attemptReports().front();
  EXPECT_EQ(ran.stage(), "work");
  EXPECT_EQ(ran.index(), 0);
  EXPECT_EQ(ran.attempt(), 1);
  EXPECT_EQ(ran.taskmanager(), "tm-1");
  EXPECT_DOUBLE_EQ(ran.resources().cpus(), 2.0);
  EXPECT_DOUBLE_EQ(ran.started_at(), ManualEventLoop::kWallStart);
  EXPECT_DOUBLE_EQ(ran.finished_at(), ManualEventLoop::kWallStart + 10.0);

  auto reports = jm_->stageReports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].name(), "work");
  EXPECT_EQ(reports[0].attempts(), 1);
  EXPECT_EQ(reports[0].failed_attempts(), 0);
  EXPECT_DOUBLE_EQ(reports[0].started_at(), ManualEventLoop::kWallStart);
  EXPECT_DOUBLE_EQ(reports[0].finished_at(), ManualEventLoop::kWallStart + 10.0);
  EXPECT_DOUBLE_EQ(reports[0].resources().cpus(), 2.0);
  EXPECT_DOUBLE_EQ(reports[0].resources().mem(), 512.0);
}

TEST(JobStatusTest, PrintsUpperCase) {
  EXPECT_STREQ(toString(JobStatus::kRunning), "RUNNING");
  EXPECT_STREQ(toString(JobStatus::kFinished), "FINISHED");
  EXPECT_STREQ(toString(JobStatus::kFailed), "FAILED");
  EXPECT_STREQ(toString(JobStatus::kCanceled), "CANCELED");
}

// --- jobs larger than the cluster ---

TEST_F(JobMasterTest, StalledPlacementMovesAHoldersPartitionsIntoTheJobManager) {
  start(twoStages(2, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  EXPECT_CALL(rm_, releaseSlot("slot-2"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  finish("map[1]#1", "tm-2", partitionsFor("map[1]#1", "reduce", {0}));
  EXPECT_EQ(holders_.back(), (std::set<std::string>{"tm-1", "tm-2"}));

  jm_->onPlacementStalled({"tm-1"});
  loop_.runPending();
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_EQ(fetches_[0].address, "tm-1:9000");
  EXPECT_EQ(fetches_[0].path, "map[0]#1/reduce-0");
  EXPECT_EQ(fetches_[0].destination,
            (temp_.path() / "jm-partitions" / "tm-1" / "map[0]#1" / "reduce-0").string());
  EXPECT_TRUE(fs::is_directory(temp_.path() / "jm-partitions" / "tm-1" / "map[0]#1"));
  // Asked again while moving: nothing is fetched twice.
  jm_->onPlacementStalled({"tm-1"});
  loop_.runPending();
  EXPECT_EQ(fetches_.size(), 1u);
  EXPECT_EQ(holders_.back(), (std::set<std::string>{"tm-1", "tm-2"}));

  fetches_[0].done(Status());
  loop_.runPending();
  // tm-1 holds nothing needed any more: the RM may let it go.
  EXPECT_EQ(holders_.back(), (std::set<std::string>{"tm-2"}));
  lose("tm-1", "released at once: idle while demand waits for room");
  offer("slot-3", "tm-3", kLarge);
  EXPECT_THAT(deployment("reduce[0]#1").inputs(),
              ElementsAre(InputIs(kJobManagerHolder, "jm.host:7000", "tm-1/map[0]#1/reduce-0"),
                          inputFrom("tm-2", "map[1]#1/reduce-0")));
  EXPECT_EQ(deployed_.size(), 3u) << "nothing ran again";
}

TEST_F(JobMasterTest, AFailedMoveTreatsTheHolderAsUnreachable) {
  start(twoStages(1, kSmall, 1, kLarge));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  jm_->onPlacementStalled({"tm-1"});
  loop_.runPending();
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_CALL(rm_, reportUnreachable("tm-1", HasSubstr("moving its partitions failed")));
  fetches_[0].done(Error{ErrorCode::kUnavailable, "connection refused"});
  loop_.runPending();
}

TEST_F(JobMasterTest, AJobThatCannotBePlacedFailsNamingTheStagesThatWait) {
  start(oneStage(2));
  EXPECT_CALL(rm_, releaseAll());
  jm_->onResourcesUnavailable("no TaskManager could be placed for 3000 ms: ...");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("no TaskManagers for stage \"work\" (2 tasks of "
                                      "cpus=1,mem=256,disk=0,gpus=0): no TaskManager could be "
                                      "placed for 3000 ms"));
}

TEST_F(JobMasterTest, TenThousandTasksRunInWavesThroughTheSameSlots) {
  start(oneStage(10000));
  ASSERT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 10000)));
  for (int i = 0; i < 200; ++i) {
    offer("slot-" + std::to_string(i), "tm-" + std::to_string(i % 4), kSmall);
  }
  // Each finished attempt's slot goes to the next pending task at once.
  EXPECT_CALL(rm_, releaseSlot(_)).Times(200);
  for (size_t next = 0; next < deployed_.size(); ++next) {
    const auto& task = deployed_[next].task;
    finish(task.attempt_id(), deployed_[next].address.substr(0, deployed_[next].address.find(':')),
           sinkOutput(task.attempt_id(), task.index()));
  }
  EXPECT_EQ(deployed_.size(), 10000u);
  EXPECT_EQ(progressOf("work").finished, 10000);
  ASSERT_EQ(fetches_.size(), 10000u);
  EXPECT_CALL(rm_, releaseAll());
  for (auto& fetch : fetches_) fetch.done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

// --- high availability: going on from an earlier JobManager attempt ---

namespace ha {

class RecordingProgress : public ProgressListener {
 public:
  void onTaskFinished(int stage, int index, int attempts, const std::string& holder,
                      const std::string& address,
                      const std::vector<v1::PartitionInfo>& partitions) override {
    events.push_back(fmt::format("finished {}.{} #{} on {}", stage, index, attempts, holder));
  }
  void onTaskCollected(int stage, int index) override {
    events.push_back(fmt::format("collected {}.{}", stage, index));
  }
  void onTaskReset(int stage, int index) override {
    events.push_back(fmt::format("reset {}.{}", stage, index));
  }
  void onTaskDeployed(int stage, int index, int attempts, const std::string& tm) override {
    events.push_back(fmt::format("deployed {}.{} #{} on {}", stage, index, attempts, tm));
  }
  void onTaskStopped(int stage, int index, int failures) override {
    events.push_back(fmt::format("stopped {}.{} ({} failures)", stage, index, failures));
  }
  void onJobEnding() override { events.push_back("job ending"); }
  std::vector<std::string> events;
};

}  // namespace ha

TEST_F(JobMasterTest, ARestoredFinishedTaskIsNotRunAgainAndAttemptsGoOn) {
  create(twoStages(2, kSmall, 1, kLarge));
  ha::RecordingProgress progress;
  jm_->setProgressListener(&progress);
  ASSERT_TRUE(jm_->restoreFinished(0, 0, 1, "tm-1", "tm-1:9000",
                                   partitionsFor("map[0]#1", "reduce", {0}), false));
  jm_->restoreAttempts(0, 1, 1, 0);  // map[1] had started once, not finished
  EXPECT_FALSE(jm_->restoreFinished(7, 0, 1, "tm-1", "tm-1:9000", {}, false));  // not this job's
  jm_->start();
  loop_.runPending();
  EXPECT_EQ(progressOf("map").finished, 1);
  // Only map[1] runs, as its attempt 2.
  EXPECT_EQ(offer("slot-1", "tm-2", kSmall), "map[1]#2");
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-2", "tm-2", kSmall)));
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  finish("map[1]#2", "tm-2", partitionsFor("map[1]#2", "reduce", {0}));
  EXPECT_EQ(offer("slot-3", "tm-3", kLarge), "reduce[0]#1");
  EXPECT_THAT(deployment("reduce[0]#1").inputs(),
              ElementsAre(inputFrom("tm-1", "map[0]#1/reduce-0"),
                          inputFrom("tm-2", "map[1]#2/reduce-0")));
  EXPECT_THAT(progress.events, ElementsAre("deployed 0.1 #2 on tm-2", "finished 0.1 #2 on tm-2",
                                           "deployed 1.0 #1 on tm-3"));
}

TEST_F(JobMasterTest, ARestoredOutputWhoseHolderNeverReturnsRunsAgain) {
  create(twoStages(1, kSmall, 1, kLarge));
  ha::RecordingProgress progress;
  jm_->setProgressListener(&progress);
  ASSERT_TRUE(jm_->restoreFinished(0, 0, 2, "tm-1", "tm-1:9000",
                                   partitionsFor("map[0]#2", "reduce", {0}), false));
  jm_->start();
  loop_.runPending();
  lose("tm-1", "an earlier attempt's TaskManager that did not register again");
  EXPECT_EQ(offer("slot-1", "tm-2", kSmall), "map[0]#3");
  EXPECT_THAT(progress.events, ElementsAre("reset 0.0", "deployed 0.0 #3 on tm-2"));
}

TEST_F(JobMasterTest, AJobWhoseOutputWasAllCollectedEndsAtStart) {
  create(oneStage(2));
  temp_.write("output/part-00000", "a\n");
  temp_.write("output/part-00001", "b\n");
  ASSERT_TRUE(jm_->restoreFinished(0, 0, 1, "tm-1", "tm-1:9000",
                                   {partition("", 0, "work[0]#1/out")}, true));
  ASSERT_TRUE(jm_->restoreFinished(0, 1, 1, "tm-1", "tm-1:9000",
                                   {partition("", 0, "work[1]#1/out")}, true));
  EXPECT_CALL(rm_, releaseAll());
  jm_->start();
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
  EXPECT_TRUE(deployed_.empty());
}

TEST_F(JobMasterTest, ACollectedOutputMissingFromThisOutputFolderIsCollectedAgain) {
  create(oneStage(1));
  // Collected by an earlier attempt into another folder (its own Mesos sandbox).
  ASSERT_TRUE(jm_->restoreFinished(0, 0, 1, "tm-1", "tm-1:9000",
                                   {partition("", 0, "work[0]#1/out")}, true));
  jm_->start();
  loop_.runPending();
  ASSERT_EQ(fetches_.size(), 1u);
  EXPECT_EQ(fetches_[0].address, "tm-1:9000");
  EXPECT_EQ(fetches_[0].path, "work[0]#1/out");
  EXPECT_EQ(fetches_[0].destination, outputDir() + "/part-00000");
  EXPECT_CALL(rm_, releaseAll());
  fetches_[0].done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

v1::RunningAttempt runningAttempt(const std::string& stage, int index, int attempt,
                                  const Resources& slot) {
  v1::RunningAttempt running;
  running.set_attempt_id(fmt::format("{}[{}]#{}", stage, index, attempt));
  running.set_stage(stage);
  running.set_index(index);
  running.set_attempt(attempt);
  *running.mutable_slot_resources() = slot.toProto();
  return running;
}

TEST_F(JobMasterTest, AttemptsRunningWhenAnEarlierAttemptWasLostAreTakenOverNotRunAgain) {
  create(twoStages(3, kSmall, 1, kLarge));
  ha::RecordingProgress progress;
  jm_->setProgressListener(&progress);
  ASSERT_TRUE(jm_->restoreFinished(0, 0, 1, "tm-1", "tm-1:9000",
                                   partitionsFor("map[0]#1", "reduce", {0}), false));
  ASSERT_TRUE(jm_->restoreRunning(0, 1, 1, "tm-1"));
  ASSERT_TRUE(jm_->restoreRunning(0, 2, 1, "tm-2"));
  EXPECT_FALSE(jm_->restoreRunning(0, 0, 1, "tm-1"));  // finished already
  EXPECT_FALSE(jm_->restoreRunning(0, 9, 1, "tm-1"));  // not this job's
  jm_->start();
  loop_.runPending();
  EXPECT_TRUE(declared_.back().empty());  // nothing to run: map[1] and map[2] run
  EXPECT_EQ(progressOf("map").running, 2);
  // An update straight from tm-1 before it registered again is refused (it
  // is tried again): its address is not known yet.
  v1::TaskStateUpdate early;
  early.set_taskmanager_id("tm-1");
  early.set_attempt_id("map[1]#1");
  early.set_state(v1::TASK_FINISHED);
  auto refused = jm_->updateTaskState(early);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("has not registered with this JobManager yet"));

  // tm-1 comes back still running map[1]#1; tm-2 ran map[2]#1 to its end
  // while no JobManager listened.
  jm_->taskManagerReturned("tm-1", "tm-1:9000", {runningAttempt("map", 1, 1, kSmall)}, {});
  v1::TaskStateUpdate ended;
  ended.set_taskmanager_id("tm-2");
  ended.set_attempt_id("map[2]#1");
  ended.set_stage("map");
  ended.set_index(2);
  ended.set_attempt(1);
  ended.set_state(v1::TASK_FINISHED);
  for (const auto& p : partitionsFor("map[2]#1", "reduce", {0})) *ended.add_partitions() = p;
  jm_->taskManagerReturned("tm-2", "tm-2:9000", {}, {ended});
  loop_.runPending();
  EXPECT_EQ(progressOf("map").finished, 2);
  EXPECT_TRUE(jm_->adoptSlot(slotOn("slot-1", "tm-1", kSmall), "map[1]#1"));
  EXPECT_FALSE(jm_->adoptSlot(slotOn("slot-2", "tm-2", kSmall), "map[2]#1"));  // ended

  EXPECT_CALL(rm_, releaseSlot("slot-1"));  // reduce does not fit it
  finish("map[1]#1", "tm-1", partitionsFor("map[1]#1", "reduce", {0}));
  EXPECT_EQ(offer("slot-3", "tm-3", kLarge), "reduce[0]#1");
  EXPECT_THAT(deployment("reduce[0]#1").inputs(),
              UnorderedElementsAre(inputFrom("tm-1", "map[0]#1/reduce-0"),
                                   inputFrom("tm-1", "map[1]#1/reduce-0"),
                                   inputFrom("tm-2", "map[2]#1/reduce-0")));
  // No map task was deployed again; the report counts one attempt each.
  EXPECT_THAT(deployedAttempts(), ElementsAre("reduce[0]#1"));
  EXPECT_EQ(jm_->stageReports()[0].attempts(), 3);
  EXPECT_THAT(progress.events, ElementsAre("finished 0.2 #1 on tm-2", "finished 0.1 #1 on tm-1",
                                           "deployed 1.0 #1 on tm-3"));
}

TEST_F(JobMasterTest, AReturningTaskManagerThatNoLongerRunsARestoredAttemptRunsItAgain) {
  create(oneStage(2, /*maxAttempts=*/2));
  ha::RecordingProgress progress;
  jm_->setProgressListener(&progress);
  ASSERT_TRUE(jm_->restoreRunning(0, 0, 1, "tm-1"));
  jm_->restoreAttempts(0, 1, 2, 1);  // work[1]: 2 attempts, 1 failure so far
  jm_->start();
  loop_.runPending();
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 1)));
  // tm-1 runs an older attempt of work[1] (cancelled) and not work[0]#1
  // (whose end went to the lost JobManager): work[0] runs again.
  EXPECT_CALL(tms_, cancelTask("tm-1:9000", "job-1", "work[1]#1"));
  jm_->taskManagerReturned("tm-1", "tm-1:9000", {runningAttempt("work", 1, 1, kSmall)}, {});
  loop_.runPending();
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 2)));
  EXPECT_EQ(offer("slot-1", "tm-1", kSmall), "work[1]#3");  // pending first
  EXPECT_EQ(offer("slot-2", "tm-1", kSmall), "work[0]#2");
  // work[1]'s earlier failure counts: this failure is its last.
  EXPECT_CALL(rm_, releaseAll());
  EXPECT_CALL(tms_, cancelTask("tm-1:9000", "job-1", "work[0]#2"));
  fail("work[1]#3", "tm-1", v1::EXIT_NONZERO, "exited with status 1");
  EXPECT_EQ(jm_->status(), JobStatus::kFailed);
  EXPECT_THAT(jm_->error(), HasSubstr("failed 2 of 2 attempts"));
  EXPECT_EQ(progress.events.front(), "stopped 0.0 (0 failures)");
}

TEST_F(JobMasterTest, AnAttemptUnknownHereIsTakenOverWhileItsTaskWaitsToRun) {
  start(oneStage(2));
  ha::RecordingProgress progress;
  jm_->setProgressListener(&progress);
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 2)));
  // An attempt the lost JobManager deployed without writing it down.
  jm_->taskManagerReturned("tm-4", "tm-4:9000", {runningAttempt("work", 1, 1, kSmall)}, {});
  loop_.runPending();
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 1)));
  EXPECT_TRUE(jm_->adoptSlot(slotOn("slot-7", "tm-4", kSmall), "work[1]#1"));
  EXPECT_EQ(offer("slot-8", "tm-5", kSmall), "work[0]#1");
  EXPECT_THAT(progress.events, ElementsAre("deployed 0.1 #1 on tm-4", "deployed 0.0 #1 on tm-5"));
  // Unknown attempts of a task that runs already, or of no task, are cancelled.
  EXPECT_CALL(tms_, cancelTask("tm-6:9000", "job-1", "work[0]#1"));
  EXPECT_CALL(tms_, cancelTask("tm-6:9000", "job-1", "nothing[0]#1"));
  jm_->taskManagerReturned("tm-6", "tm-6:9000",
                           {runningAttempt("work", 0, 1, kSmall),
                            runningAttempt("nothing", 0, 1, kSmall)},
                           {});
  loop_.runPending();
}

TEST_F(JobMasterTest, AnUncollectedSmallSinkOutputCannotBeRestored) {
  create(oneStage(1));
  v1::PartitionInfo inline_ = partition("", 0, "");
  EXPECT_FALSE(jm_->restoreFinished(0, 0, 1, "tm-1", "tm-1:9000", {inline_}, false));
}

// --- TaskManagers shared with other jobs (a session) ---

TEST_F(JobMasterTest, AnUpdateOfAnotherJobIsRefusedNamingBothJobs) {
  start(oneStage(1));
  EXPECT_EQ(offer("slot-1", "tm-1", kSmall), "work[0]#1");
  v1::TaskStateUpdate foreign;
  foreign.set_job_id("job-2");
  foreign.set_taskmanager_id("tm-1");
  foreign.set_attempt_id("work[0]#1");  // the same attempt id, another job's
  foreign.set_state(v1::TASK_FAILED);
  foreign.set_failure(v1::EXIT_NONZERO);
  auto refused = jm_->updateTaskState(foreign);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message, HasSubstr("job_id"));
  EXPECT_THAT(refused.error().message, HasSubstr("job-2"));
  EXPECT_THAT(refused.error().message, HasSubstr("job-1"));
  loop_.runPending();
  EXPECT_EQ(progressOf("work").running, 1) << "this job's attempt runs on";
  EXPECT_EQ(progressOf("work").failedAttempts, 0);

  // Its own job's update is taken.
  EXPECT_CALL(rm_, releaseAll());
  v1::TaskStateUpdate own = foreign;
  own.set_job_id("job-1");
  own.set_state(v1::TASK_FINISHED);
  own.clear_failure();
  *own.add_partitions() = partition("", 0, "");
  own.mutable_partitions(0)->set_data("x\n");
  update(own);
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

TEST_F(JobMasterTest, AReturningTaskManagerNamesOtherJobsAttemptsWhichAreLeftAlone) {
  start(oneStage(1));
  v1::RunningAttempt other = runningAttempt("work", 0, 1, kSmall);
  other.set_job_id("job-2");
  v1::TaskStateUpdate otherEnded;
  otherEnded.set_job_id("job-2");
  otherEnded.set_attempt_id("work[0]#1");
  otherEnded.set_stage("work");
  otherEnded.set_index(0);
  otherEnded.set_attempt(1);
  otherEnded.set_state(v1::TASK_FAILED);
  // StrictMock: another job's attempt is neither cancelled nor taken over.
  jm_->taskManagerReturned("tm-4", "tm-4:9000", {other}, {otherEnded});
  loop_.runPending();
  EXPECT_EQ(progressOf("work").running, 0);
  EXPECT_EQ(progressOf("work").failedAttempts, 0);
  EXPECT_THAT(declared_.back(), ElementsAre(Pair(kSmall, 1)));
  EXPECT_FALSE(jm_->adoptSlot(slotOn("slot-7", "tm-4", kSmall), "work[0]#1"));
}

TEST_F(JobMasterTest, LosingATaskManagerTheJobNeverUsedChangesNothing) {
  start(oneStage(2));
  EXPECT_EQ(offer("slot-1", "tm-1", kSmall), "work[0]#1");
  loop_.runPending();
  size_t declarations = declared_.size();
  EXPECT_CALL(observer_, onProgress(_)).Times(0);
  EXPECT_CALL(observer_, onAttemptFailed(_, _, _)).Times(0);
  jm_->onTaskManagerLost("tm-other", "another job's TaskManager, idle too long");
  EXPECT_EQ(loop_.pendingPosts(), 0u) << "no scheduling pass";
  loop_.runPending();
  EXPECT_EQ(declared_.size(), declarations);
  EXPECT_EQ(progressOf("work").running, 1);
  EXPECT_EQ(jm_->status(), JobStatus::kRunning);
}

TEST_F(JobMasterTest, WithSharedTaskManagersTheEndDropsTheJobOnEachOneUsedAfterCollecting) {
  start(twoStages(2, kSmall, 1, kSmall), {}, /*sharedTaskManagers=*/true);
  EXPECT_CALL(rm_, releaseSlot(_)).Times(AnyNumber());
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  finish("map[0]#1", "tm-1", partitionsFor("map[0]#1", "reduce", {0}));
  finish("map[1]#1", "tm-2", partitionsFor("map[1]#1", "reduce", {0}));
  // The freed slots went back; the reduce runs in the next one offered.
  offer("slot-3", "tm-1", kSmall);
  std::string sinkTaskManager = "tm-1";
  ASSERT_EQ(deployed_.back().task.attempt_id(), "reduce[0]#1");
  // A TaskManager it never used, and a slot it did not take: not told.
  lose("tm-9", "idle");
  EXPECT_FALSE(jm_->offerSlot(slotOn("slot-4", "tm-3", kSmall)));
  finish("reduce[0]#1", sinkTaskManager, sinkOutput("reduce[0]#1", 0));
  ASSERT_EQ(fetches_.size(), 1u);
  verifyAndClear();  // nothing dropped while its output is being collected

  {
    ::testing::Sequence s1, s2;
    EXPECT_CALL(tms_, dropJob("tm-1:9000", "job-1")).InSequence(s1);
    EXPECT_CALL(tms_, dropJob("tm-2:9000", "job-1")).InSequence(s2);
    EXPECT_CALL(rm_, releaseAll()).InSequence(s1, s2);
  }
  EXPECT_CALL(rm_, releaseSlot(_)).Times(AnyNumber());
  fetches_[0].done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

TEST_F(JobMasterTest, WithSharedTaskManagersAFailedJobDropsItselfToo) {
  start(oneStage(2), {}, /*sharedTaskManagers=*/true);
  offer("slot-1", "tm-1", kSmall);
  offer("slot-2", "tm-2", kSmall);
  lose("tm-2", "gone");
  EXPECT_THAT(soloDeclared_.back(), ElementsAre(Pair(kSmall, 1)));
  EXPECT_CALL(tms_, cancelTask("tm-1:9000", "job-1", "work[0]#1"));
  EXPECT_CALL(tms_, dropJob("tm-1:9000", "job-1"));
  EXPECT_CALL(rm_, releaseAll());
  jm_->cancel("canceled by the user");
  EXPECT_EQ(jm_->status(), JobStatus::kCanceled);
}

TEST_F(JobMasterTest, WithoutSharedTaskManagersTheEndDropsNothing) {
  start(oneStage(1));
  offer("slot-1", "tm-1", kSmall);
  EXPECT_CALL(tms_, dropJob(_, _)).Times(0);
  EXPECT_CALL(rm_, releaseSlot("slot-1"));
  EXPECT_CALL(rm_, releaseAll());
  finish("work[0]#1", "tm-1", sinkOutput("work[0]#1", 0));
  ASSERT_EQ(fetches_.size(), 1u);
  fetches_[0].done(Status());
  loop_.runPending();
  EXPECT_EQ(jm_->status(), JobStatus::kFinished);
}

}  // namespace
}  // namespace tailor::scheduler
