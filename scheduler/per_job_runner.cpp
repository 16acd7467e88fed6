#include "scheduler/per_job_runner.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <optional>
#include <random>

#include "common/asio_event_loop.hpp"
#include "common/http/partition_route.hpp"
#include "common/http/server.hpp"
#include "common/logging.hpp"
#include "common/naming.hpp"
#include "common/rpc.hpp"
#include "common/usage_history.hpp"
#include "scheduler/drivers/local_driver.hpp"
#include "scheduler/ha/job_state_keeper.hpp"
#include "scheduler/ha/job_state_store.hpp"
#include "scheduler/jobmaster/input_splits.hpp"
#include "scheduler/jobmaster/job_master.hpp"
#include "scheduler/jobmaster/rpc_taskmanager_gateway.hpp"

namespace tailor::scheduler {

namespace fs = std::filesystem;

Resources machineResources(const std::string& dir) {
  Resources resources;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  resources.milliCpus = std::max(1L, cpus) * 1000;
  long pages = sysconf(_SC_PHYS_PAGES);
  long pageSize = sysconf(_SC_PAGE_SIZE);
  resources.memMib = static_cast<std::int64_t>(pages) * pageSize / (1024 * 1024);
  struct statvfs fsStats {};
  if (statvfs(dir.c_str(), &fsStats) == 0) {
    resources.diskMib = static_cast<std::int64_t>(fsStats.f_bavail) *
                        static_cast<std::int64_t>(fsStats.f_frsize) / (1024 * 1024);
  }
  return resources;
}

std::string makeJobId(const std::string& jobName, double wallSeconds) {
  std::random_device random;
  return tailor::makeJobId(jobName, wallSeconds, random());
}

std::string defaultWorkDir(const std::string& jobId) {
  const char* tmp = std::getenv("TMPDIR");
  return (fs::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / "tailor" / jobId).string();
}

namespace {

// Forwards to the user's observer and stops the loop once the job ended and
// every TaskManager is gone.
class EndWatcher : public JobObserver {
 public:
  EndWatcher(AsioEventLoop& loop, JobObserver* next) : loop_(loop), next_(next) {}
  // At the end the runtime's driver is shut down once its TaskManagers are released.
  void setRuntime(JobManagerRuntime* runtime) { runtime_ = runtime; }

  void onStageStarted(const std::string& stage) override {
    if (next_) next_->onStageStarted(stage);
  }
  void onStageFinished(const std::string& stage) override {
    if (next_) next_->onStageFinished(stage);
  }
  void onAttemptFailed(const std::string& attemptId, const std::string& message,
                       bool willRetry) override {
    if (next_) next_->onAttemptFailed(attemptId, message, willRetry);
  }
  void onProgress(const std::vector<StageProgress>& stages) override {
    if (next_) next_->onProgress(stages);
  }
  void onJobEnded(JobStatus status, const std::string& error) override {
    if (next_) next_->onJobEnded(status, error);
    deadline_ = loop_.now() + std::chrono::seconds(15);
    waitForRelease();
  }

 private:
  void waitForRelease() {
    if (runtime_->resourceManager().allReleased() || loop_.now() > deadline_) {
      runtime_->shutdownDriver();
      if (runtime_->drained() || loop_.now() > deadline_) {
        loop_.stop();
        return;
      }
    }
    loop_.runAfter(Duration(20), [this] { waitForRelease(); });
  }

  AsioEventLoop& loop_;
  JobObserver* next_;
  JobManagerRuntime* runtime_ = nullptr;
  MonotonicTime deadline_{};
};

}  // namespace

Result<v1::JobReport> runPerJob(PerJobOptions options, RunObservers observers) {
  auto log = logger("jobmanager");
  AsioEventLoop loop;
  std::map<std::string, std::string> resourceReasons =
      chooseAutoResources(options.spec, options.usageHistory);
  for (const auto& stage : options.spec.stages()) {
    if (stage.auto_resources()) log->info("stage {}: {}", stage.name(), resourceReasons[stage.name()]);
  }
  const v1::JobSpec& spec = options.spec;
  if (options.jobId.empty()) options.jobId = makeJobId(spec.name(), loop.wallSeconds());
  if (options.outputDir.empty()) {
    options.outputDir = !spec.output().empty()
                            ? (fs::path(spec.base_dir()) / spec.output()).string()
                            : (fs::current_path() / "tailor-output" / spec.name()).string();
  }
  options.outputDir = fs::absolute(options.outputDir).lexically_normal().string();
  if (options.workDir.empty()) options.workDir = defaultWorkDir(options.jobId);
  std::error_code ec;
  fs::create_directories(options.workDir, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "cannot create work directory '{}': {}", options.workDir,
                     ec.message());
  }

  auto splits = planInputSplits(spec);
  if (!splits.ok()) return splits.error();

  std::vector<Resources> profiles;
  for (const auto& stage : spec.stages()) {
    profiles.push_back(Resources::fromProto(stage.resources()));
  }
  auto sizing = makeSizingConfig(options, largestProfile(profiles));
  if (!sizing.ok()) return sizing.error();
  Status fits = checkFixedSizing(*sizing, spec);
  if (!fits.ok()) return fits.error();

  options.mesos.jobId = options.jobId;
  for (const auto& stage : spec.stages()) {
    if (stage.resources().gpus() > 0) options.mesos.gpus = true;
  }
  // With a state store, TaskManagers outlive a lost JobManager for a while
  // and register with the job's next one (docs/ha.md).
  if (!options.haStore.empty()) {
    options.mesos.taskManagerArgs = {"--jobmanager-source", options.haStore,
                                     "--jobmanager-loss-timeout",
                                     std::to_string(options.jobManagerLossTimeout.count()) + "ms"};
  }
  JobManagerRuntime::Settings settings;
  settings.resourceManager = makeResourceManagerConfig(options, *sizing);
  settings.leadingDispatcher = observers.leadingDispatcher;
  auto made = JobManagerRuntime::create(loop, options, std::move(settings));
  if (!made.ok()) return made.error();
  JobManagerRuntime& runtime = **made;
  ResourceManager& resourceManager = runtime.resourceManager();
  LocalDriver* localDriver = runtime.localDriver();
  mesos::MesosDriver* mesosDriver = runtime.mesosDriver();
  rpc::Server& rpcServer = runtime.rpcServer();

  EndWatcher watcher(loop, observers.job);
  watcher.setRuntime(&runtime);
  JobMasterConfig jmConfig;
  jmConfig.jobId = options.jobId;
  jmConfig.outputDir = options.outputDir;
  jmConfig.splits = std::move(*splits);
  jmConfig.partitionDir = options.workDir + "/partitions";
  JobMaster jobMaster(loop, spec, jmConfig, resourceManager.addJob(options.jobId),
                      runtime.taskManagers(), &watcher);
  resourceManager.setSlotOwner(options.jobId, &jobMaster);
  resourceManager.setObserver(observers.resources);

  // With a state store the endpoint is up while this attempt waits to lead
  // (an earlier attempt may still hold the job, or its ZooKeeper session
  // not have expired yet): TaskManagers that reach it meanwhile (at the same
  // address, say) are told to try again, not that they are unknown.
  bool leading = options.haStore.empty();
  auto notLeading = [&]() -> std::optional<Error> {
    if (leading) return std::nullopt;
    return Error{ErrorCode::kUnavailable,
                 fmt::format("attempt {} of job {} does not lead the job yet", options.attempt,
                             options.jobId)};
  };
  rpcServer.handle<v1::RegisterTaskManagerRequest, v1::RegisterTaskManagerResponse>(
      "ResourceManager", "RegisterTaskManager",
      [&](const v1::RegisterTaskManagerRequest& r) -> Result<v1::RegisterTaskManagerResponse> {
        if (auto error = notLeading()) return *error;
        auto response = resourceManager.registerTaskManager(r);
        // A TaskManager back from a lost JobManager attempt: what it still
        // runs and what ended meanwhile go to the JobMaster now, before the
        // ResourceManager's pass offers its slots.
        if (response.ok() && response->accepted()) {
          jobMaster.taskManagerReturned(
              r.taskmanager_id(), r.address(),
              std::vector<v1::RunningAttempt>(r.running().begin(), r.running().end()),
              std::vector<v1::TaskStateUpdate>(r.unreported().begin(), r.unreported().end()));
        }
        return response;
      });
  rpcServer.handle<v1::HeartbeatRequest, v1::HeartbeatResponse>(
      "ResourceManager", "Heartbeat",
      [&](const v1::HeartbeatRequest& r) -> Result<v1::HeartbeatResponse> {
        if (auto error = notLeading()) return *error;
        return resourceManager.heartbeat(r);
      });
  rpcServer.handle<v1::TaskStateUpdate, v1::TaskStateUpdateResponse>(
      "JobMaster", "UpdateTaskState",
      [&](const v1::TaskStateUpdate& r) -> Result<v1::TaskStateUpdateResponse> {
        if (auto error = notLeading()) return *error;
        return jobMaster.updateTaskState(r);
      });

  rpcServer.handle<v1::LocateTaskRequest, v1::LocateTaskResponse>(
      "JobManager", "LocateTask",
      [&](const v1::LocateTaskRequest& r) { return jobMaster.locateTask(r.stage(), r.index()); });
  // Partitions moved off TaskManagers to make room (docs/sizing.md).
  http::servePartitions(runtime.httpServer(), jmConfig.partitionDir, runtime.jobSecret());
  if (observers.addRoutes) observers.addRoutes(rpcServer);
  auto listening = runtime.listen();
  if (!listening.ok()) return listening.error();
  const std::string& address = *listening;
  jobMaster.setAddress(address);
  if (observers.listening) observers.listening(address);
  log->info("job {} ({}): JobManager on {}, {}, work dir {}, output {}", options.jobId, spec.name(),
            address, runtime.describe(), options.workDir, options.outputDir);
  runtime.logServedExecutor("job " + options.jobId);

  boost::asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (!error) jobMaster.cancel(fmt::format("interrupted by signal {}", signal));
  });

  std::unique_ptr<JobStateStore> haStore;
  std::unique_ptr<JobStateKeeper> keeper;
  if (!options.haStore.empty()) {
    auto opened = openJobStateStore(loop, options.haStore);
    if (!opened.ok()) return opened.error();
    haStore = std::move(*opened);
  }
  auto begin = [&] {
    leading = true;
    resourceManager.start();
    jobMaster.start();
  };
  // With a state store: lead first, then go on from the previous attempt.
  auto takeOver = [&] {
    auto loaded = haStore->load(options.attempt);
    if (!loaded.ok()) {
      log->error("job {}: {}", options.jobId, loaded.error().message);
      std::fflush(nullptr);
      std::_Exit(3);
    }
    v1::JobManagerState state = loaded->value_or(v1::JobManagerState());
    if (mesosDriver != nullptr && !state.framework_id().empty()) {
      mesosDriver->setFrameworkId(state.framework_id());
    }
    // The earlier attempts' TaskManagers: adopted, they register again with
    // this attempt and keep the outputs they hold.
    int adopted = 0;
    google::protobuf::RepeatedPtrField<v1::StoredTaskManager> kept;
    for (const auto& tm : state.taskmanagers()) {
      auto total = parseResourceList(tm.resources(), Resources());
      std::uint64_t number = taskManagerNumber(tm.id());
      bool local = mesosDriver == nullptr;
      if (!total.ok() || number == 0 || (local && tm.pid() <= 0)) continue;
      if (local) {
        localDriver->adopt(tm.id(), static_cast<pid_t>(tm.pid()), *total);
      } else {
        mesosDriver->adopt(tm.id(), tm.agent_id(), TaskManagerSpec{*total, {}});
      }
      resourceManager.adoptTaskManager(tm.id(), number, *total, options.adoptionTimeout);
      *kept.Add() = tm;
      ++adopted;
    }
    state.mutable_taskmanagers()->Swap(&kept);
    auto parseKey = [](const std::string& key, int& stage, int& index) {
      stage = -1;
      index = -1;
      return std::sscanf(key.c_str(), "%d.%d", &stage, &index) == 2;
    };
    int stage = -1;
    int index = -1;
    for (const auto& [key, attempts] : state.task_attempts()) {
      auto failures = state.task_failures().find(key);
      if (parseKey(key, stage, index)) {
        jobMaster.restoreAttempts(stage, index, attempts,
                                  failures == state.task_failures().end() ? 0 : failures->second);
      }
    }
    // The tasks they finished: not run again while their output lives (on
    // an adopted TaskManager, or in this attempt's partition folder).
    std::set<std::string> holders{kJobManagerHolder};
    for (const auto& tm : state.taskmanagers()) holders.insert(tm.id());
    int restored = 0;
    google::protobuf::RepeatedPtrField<v1::FinishedTask> finished;
    for (const auto& task : state.finished()) {
      if (holders.count(task.holder()) == 0 && !task.collected()) continue;
      std::vector<v1::PartitionInfo> partitions(task.partitions().begin(),
                                                task.partitions().end());
      if (jobMaster.restoreFinished(task.stage(), task.index(), task.attempts(), task.holder(),
                                    task.address(), partitions, task.collected())) {
        *finished.Add() = task;
        ++restored;
      }
    }
    state.mutable_finished()->Swap(&finished);
    // The attempts running when the earlier attempt was lost, on an adopted
    // TaskManager: not run again while it comes back running them.
    int running = 0;
    google::protobuf::Map<std::string, v1::RunningTask> stillRunning;
    for (const auto& [key, task] : state.running()) {
      if (holders.count(task.taskmanager()) == 0 || !parseKey(key, stage, index)) continue;
      if (jobMaster.restoreRunning(stage, index, task.attempt(), task.taskmanager())) {
        stillRunning[key] = task;
        ++running;
      }
    }
    state.mutable_running()->swap(stillRunning);
    if (loaded->has_value()) {
      log->info("job {}: attempt {} goes on from attempt {} ({}): framework {}, {} TaskManagers "
                "adopted, {} finished tasks kept, {} running attempts to take over, new "
                "TaskManagers from tm-{}",
                options.jobId, options.attempt, state.attempt(), haStore->describe(),
                state.framework_id().empty() ? "none yet" : state.framework_id(), adopted,
                restored, running, std::max<std::uint64_t>(1, state.next_taskmanager()));
    }
    resourceManager.setFirstTaskManagerNumber(state.next_taskmanager());
    keeper = std::make_unique<JobStateKeeper>(loop, *haStore, options.attempt, std::move(state),
                                              observers.resources);
    resourceManager.setObserver(keeper.get());
    jobMaster.setProgressListener(keeper.get());
    if (localDriver != nullptr) {
      localDriver->setPidHook(
          [&](const std::string& id, pid_t pid) { keeper->onTaskManagerPid(id, pid); });
    }
    if (mesosDriver != nullptr) {
      mesosDriver->setStateHooks(
          {[&](const std::string& id) { keeper->onSubscribed(id); },
           [&](const std::string& id, const std::string& agent) {
             keeper->onTaskManagerPlaced(id, agent);
           },
           [&](const std::string& id) { keeper->onRetiredTaskManagerGone(id); }});
    }
    Status saved = keeper->saveNow();
    if (!saved.ok()) {
      log->error("job {}: cannot write its state to {}: {}", options.jobId, haStore->describe(),
                 saved.error().message);
      std::fflush(nullptr);
      std::_Exit(3);
    }
    begin();
  };
  loop.post([&] {
    if (!haStore) {
      begin();
      return;
    }
    haStore->campaign(
        options.attempt, address, takeOver, [&](const std::string& why) {
          // Another attempt may act now: stop at once, touch nothing.
          log->error("job {}: attempt {} no longer leads ({}); exiting", options.jobId,
                     options.attempt, why);
          std::fflush(nullptr);
          std::_Exit(3);
        });
  });
  loop.run();
  signals.cancel();
  runtime.stopListening();

  v1::JobReport report =
      makeJobReport(jobMaster, resourceManager.taskManagerReports(), false, options.sizing,
                    options.outputDir);
  for (auto& stage : *report.mutable_stages()) {
    stage.set_resources_reason(resourceReasons[stage.name()]);
  }
  return report;
}

}  // namespace tailor::scheduler
