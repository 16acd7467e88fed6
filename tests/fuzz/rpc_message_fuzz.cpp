// The bodies of the internal RPCs (docs/rpc.md): rpc::Server parses a body
// with ParseFromString into the handler's request type. The first byte
// chooses the type (its low four bits, kRequestTypes below); the rest is the
// body. Every body that parses is printed as the JSON the REST API and the
// logs would print, and goes on to what our code does with it where that
// needs no process, socket or file:
//
//  - RegisterTaskManager, Heartbeat, UpdateTaskState, LocateTask: a real
//    ResourceManager and JobMaster (a two-stage job) over an in-memory loop,
//    driver and TaskManager gateway, as a per-job JobManager wires them
//    (scheduler/per_job_runner.cpp). One TaskManager was adopted from an
//    earlier JobManager attempt, so that a registration may take over the
//    attempts it names; for all but RegisterTaskManager, tm-1 has registered
//    first and runs the source tasks split[0]#1 and split[1]#1. Afterwards
//    the job's report is built and printed, as the JobManager sends it.
//  - ReportJobStatus, ReportSession, GetUsageHistory: a real Dispatcher over
//    the in-memory job store of the unit tests, with one running job and one
//    starting session; bit 7 of the first byte sets the body's job id and
//    attempt (or session name and attempt) to theirs, so that the report is
//    taken. Afterwards the views the REST API serves are printed.
//  - SessionSubmitJob: the checks a session applies before it writes the
//    files (checkRelativePath on the spec's and files' paths) and the spec
//    parser.
//  - DeployTask: the folders a TaskManager derives from a deployment must lie
//    beneath its work folder.
// The other handlers (CancelTask, DropPartitions, ReadTaskLog, the session's
// CancelJob, GetStatus and Stop, GetJobStatus) act on processes and files
// only: their bodies are parsed and printed, nothing more.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/jobspec/jobspec.hpp"
#include "common/json.hpp"
#include "common/naming.hpp"
#include "dispatcher/dispatcher.hpp"
#include "executor/task_runner.hpp"
#include "scheduler/job_report.hpp"
#include "scheduler/jobmaster/job_master.hpp"
#include "scheduler/resourcemanager/resource_manager.hpp"
#include "tailor/v1/dispatcher.pb.h"
#include "tailor/v1/rpc.pb.h"
#include "tailor/v1/session.pb.h"
#include "tests/common/manual_event_loop.hpp"
#include "tests/dispatcher/fakes.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace tailor::fuzz {
namespace {

using scheduler::JobMaster;
using scheduler::ResourceManager;
using test::ManualEventLoop;

// --- the JobManager: a ResourceManager and a JobMaster over doubles ---------

constexpr char kJobId[] = "fuzz-job";
constexpr char kJobSpec[] = R"(name: fuzz
stages:
  - name: split
    parallelism: 2
    resources: {cpus: 1, mem: 256}
    command: cat
    input: {files: [in.txt]}
  - name: count
    parallelism: 1
    resources: {cpus: 1, mem: 512}
    command: wc -l
    inputs: [{stage: split}]
)";

const v1::JobSpec& jobSpec() {
  static const v1::JobSpec spec = [] {
    auto parsed = jobspec::parseJobSpec(kJobSpec, "fuzz.yaml", "/nonexistent");
    check(parsed.ok(), "the fixed job spec does not parse",
          parsed.ok() ? "" : parsed.error().message);
    return *parsed;
  }();
  return spec;
}

// A cluster where any TaskManager fits and nothing is launched for real.
class SilentDriver : public scheduler::ResourceManagerDriver {
 public:
  void start(scheduler::DriverListener*) override {}
  void launchTaskManager(const std::string&, const scheduler::TaskManagerSpec&) override {}
  void releaseTaskManager(const std::string&) override {}
  Resources maxTaskManager() const override { return Resources{16000, 65536, 65536, 0}; }
  std::optional<Resources> capacity() const override { return std::nullopt; }
  bool placementBlocked() const override { return false; }
  std::string describeOffers() const override { return "no offers"; }
  std::optional<scheduler::ClosestFit> closestFit(const Resources&) const override {
    return std::nullopt;
  }
  std::string describe() const override { return "the fuzz cluster"; }
  void shutdown() override {}
};

// TaskManagers that take every deployment and every fetch; the answers come
// on a later turn of the loop, as RPC answers do.
class AgreeableTaskManagers : public scheduler::TaskManagerGateway {
 public:
  explicit AgreeableTaskManagers(EventLoop& loop) : loop_(loop) {}
  void deployTask(const std::string&, const v1::TaskDeployment&, Done done) override {
    loop_.post([done = std::move(done)] { done(Status()); });
  }
  void cancelTask(const std::string&, const std::string&, const std::string&) override {}
  void dropJob(const std::string&, const std::string&) override {}
  void fetchPartition(const std::string&, const std::string&, const std::string&,
                      Done done) override {
    loop_.post([done = std::move(done)] { done(Status()); });
  }

 private:
  EventLoop& loop_;
};

scheduler::ResourceManagerConfig resourceManagerConfig() {
  scheduler::ResourceManagerConfig config;
  config.sizing.maxTaskManager = Resources{16000, 65536, 65536, 0};
  return config;
}

scheduler::JobMasterConfig jobMasterConfig() {
  scheduler::JobMasterConfig config;
  config.jobId = kJobId;
  // Never created: a job that comes to collect its output fails there
  // instead of writing files.
  config.outputDir = "/dev/null/fuzz-output";
  v1::FileSplit split;
  split.set_path("/nonexistent/in.txt");
  split.set_end(-1);
  config.splits = {{{split}, {split}}, {{}}};
  return config;
}

// tm-1, registering as it does at start.
v1::RegisterTaskManagerRequest firstRegistration() {
  v1::RegisterTaskManagerRequest request;
  request.set_taskmanager_id("tm-1");
  request.set_address("tm-1.host:9000");
  *request.mutable_resources() = Resources{4000, 4096, 0, 0}.toProto();
  request.set_pid(4242);
  return request;
}

class JobManagerScene {
 public:
  JobManagerScene()
      : resourceManager_(loop_, driver_, resourceManagerConfig()),
        jobMaster_(loop_, jobSpec(), jobMasterConfig(), resourceManager_.addJob(kJobId),
                   taskManagers_, nullptr) {
    resourceManager_.setSlotOwner(kJobId, &jobMaster_);
    // tm-9 ran split[1]#1 for an earlier JobManager attempt (docs/ha.md).
    resourceManager_.adoptTaskManager("tm-9", 9, Resources{2000, 2048, 0, 0}, Duration(60000));
    jobMaster_.restoreAttempts(0, 1, 1, 0);
    jobMaster_.restoreRunning(0, 1, 1, "tm-9");
    resourceManager_.start();
    jobMaster_.setAddress("jobmanager.host:7000");
    jobMaster_.start();
    loop_.runPending();
  }

  // What the JobManager's RegisterTaskManager handler does.
  void registerTaskManager(const v1::RegisterTaskManagerRequest& request) {
    auto response = resourceManager_.registerTaskManager(request);
    if (response.ok() && response->accepted()) {
      jobMaster_.taskManagerReturned(
          request.taskmanager_id(), request.address(),
          std::vector<v1::RunningAttempt>(request.running().begin(), request.running().end()),
          std::vector<v1::TaskStateUpdate>(request.unreported().begin(),
                                           request.unreported().end()));
    }
    if (response.ok()) printed(*response);
    loop_.runPending();
  }

  void heartbeat(const v1::HeartbeatRequest& request) {
    auto response = resourceManager_.heartbeat(request);
    if (response.ok()) printed(*response);
    loop_.runPending();
  }

  void updateTaskState(const v1::TaskStateUpdate& update) {
    auto response = jobMaster_.updateTaskState(update);
    if (response.ok()) printed(*response);
    loop_.runPending();
  }

  void locateTask(const v1::LocateTaskRequest& request) {
    auto response = jobMaster_.locateTask(request.stage(), request.index());
    if (response.ok()) printed(*response);
  }

  // Time passes (heartbeat checks, idle TaskManagers, retries), then the
  // report the JobManager would send is built and printed.
  void finish() {
    loop_.advance(Duration(2000));
    loop_.runPending();
    (void)jobMaster_.progress();
    v1::JobReport report =
        scheduler::makeJobReport(jobMaster_, resourceManager_.taskManagerReports(),
                                 /*onlyUsed=*/false, scheduler::SizingKind::kTailored,
                                 "/dev/null/fuzz-output");
    check(!scheduler::reportToJson(report).empty(), "the job report printed empty");
  }

  static void printed(const google::protobuf::Message& message) {
    auto json = printJson(message);
    check(json.ok(), "an answer does not print as JSON", message.GetTypeName());
  }

 private:
  ManualEventLoop loop_;
  SilentDriver driver_;
  AgreeableTaskManagers taskManagers_{loop_};
  ResourceManager resourceManager_;
  JobMaster jobMaster_;
};

// --- the Dispatcher, over the unit tests' in-memory store --------------------

// Launches every JobManager and session at once, on a made-up host.
class InstantLauncher : public dispatcher::JobManagerLauncher {
 public:
  void setExitCallback(ExitCallback) override {}
  Result<v1::JobManagerAttempt> launch(const dispatcher::JobManagerLaunch&) override {
    return attempt();
  }
  void adopt(const std::string&, const v1::JobManagerAttempt&) override {}
  void stop(const std::string&, int, bool) override {}
  void setSessionExitCallback(SessionExitCallback) override {}
  Result<v1::JobManagerAttempt> launchSession(const dispatcher::SessionLaunch&) override {
    return attempt();
  }
  void adoptSession(const std::string&, const v1::JobManagerAttempt&) override {}
  void stopSession(const std::string&, int, bool) override {}
  std::string name() const override { return "local"; }

 private:
  static v1::JobManagerAttempt attempt() {
    v1::JobManagerAttempt attempt;
    attempt.set_launcher("local");
    attempt.set_host("node-1");
    attempt.set_pid(4242);
    return attempt;
  }
};

constexpr char kSessionName[] = "fuzz-session";

dispatcher::DispatcherConfig dispatcherConfig() {
  dispatcher::DispatcherConfig config;
  config.jitter = [] { return 0.0; };
  // A fixed key: recover() would otherwise draw one from OpenSSL each run.
  config.secretKey = std::string(32, 'k');
  return config;
}

class DispatcherScene {
 public:
  DispatcherScene() : dispatcher_(loop_, store_, launcher_, dispatcherConfig()) {
    dispatcher_.setAddress("dispatcher.host:7070");
    check(dispatcher_.recover().ok(), "the Dispatcher does not recover an empty store");
    v1::SubmitJobRequest submission;
    submission.set_spec(kJobSpec);
    auto* file = submission.add_files();
    file->set_path("in.txt");
    file->set_content("to be or not to be\n");
    auto submitted = dispatcher_.submit(submission);
    check(submitted.ok(), "the fixed job is refused",
          submitted.ok() ? "" : submitted.error().message);
    jobId_ = submitted->id();
    v1::StartSessionRequest session;
    session.set_name(kSessionName);
    check(dispatcher_.startSession(session).ok(), "the fixed session is refused");
    loop_.runPending();
  }

  void reportStatus(v1::ReportJobStatusRequest request, bool aimed) {
    if (aimed) {
      request.set_job_id(jobId_);
      request.set_attempt(1);
    }
    JobManagerScene::printed(dispatcher_.reportStatus(request));
    loop_.runPending();
  }

  void reportSession(v1::ReportSessionRequest request, bool aimed) {
    if (aimed) {
      request.mutable_status()->set_name(kSessionName);
      request.set_attempt(1);
    }
    JobManagerScene::printed(dispatcher_.reportSession(request));
    loop_.runPending();
  }

  void usageHistory(const v1::GetUsageHistoryRequest& request) {
    auto history = dispatcher_.usageHistory(request.job_name());
    if (history.ok()) JobManagerScene::printed(*history);
  }

  // What GET /v1/jobs/ID, /v1/jobs, /v1/overview, /v1/sessions, the report
  // and /v1/metrics/targets would answer now.
  void finish() {
    loop_.advance(Duration(2000));
    loop_.runPending();
    auto job = dispatcher_.job(jobId_);
    check(job.ok(), "the job is gone");
    JobManagerScene::printed(*job);
    JobManagerScene::printed(dispatcher_.list(std::nullopt, 0, 100));
    JobManagerScene::printed(dispatcher_.overview());
    JobManagerScene::printed(dispatcher_.sessions());
    auto report = dispatcher_.report(jobId_);
    if (report.ok()) JobManagerScene::printed(*report);
    auto history = dispatcher_.usageHistory("fuzz");
    if (history.ok()) JobManagerScene::printed(*history);
    for (const auto& target : dispatcher_.scrapeTargets()) {
      check(!target.address.empty(), "a scrape target without an address");
    }
  }

 private:
  ManualEventLoop loop_;
  dispatcher::FakeJobStore store_{"/nonexistent-store"};
  InstantLauncher launcher_;
  dispatcher::Dispatcher dispatcher_;
  std::string jobId_;
};

// --- pure checks --------------------------------------------------------------

// What Session::prepareJob checks before it writes anything, then the spec
// as the session parses it.
void sessionSubmit(const v1::SessionSubmitJobRequest& request) {
  std::string specName = request.spec_name().empty() ? "job.yaml" : request.spec_name();
  if (!checkRelativePath(specName, "spec_name").ok()) return;
  for (const auto& file : request.files()) {
    if (!checkRelativePath(file.path(), "files").ok()) return;
  }
  (void)jobspec::parseJobSpec(request.spec_yaml(), specName, "/nonexistent");
}

// `path` is `root` followed by plain components only.
bool beneath(const std::string& path, const std::string& root) {
  if (path.rfind(root + "/", 0) != 0) return false;
  std::string_view rest(path);
  rest.remove_prefix(root.size() + 1);
  while (true) {
    std::size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    rest.remove_prefix(slash + 1);
  }
}

// The folders a TaskManager makes and removes for a deployment: derived from
// the job id, stage and slot by fileNameOf, never outside its work folder.
void deployTask(const v1::DeployTaskRequest& request) {
  const std::string workDir = "/work";
  const v1::TaskDeployment& task = request.task();
  if (!task.job_id().empty()) {
    check(beneath(executor::jobPartitionDirectory(workDir, task.job_id()), workDir),
          "a job's partition folder leaves the work folder", task.job_id());
    check(beneath(executor::jobScratchDirectory(workDir, task.job_id()), workDir),
          "a job's scratch folder leaves the work folder", task.job_id());
    check(beneath(workDir + "/" + executor::attemptDirectory(task), workDir),
          "an attempt's folder leaves the work folder", executor::attemptDirectory(task));
    std::string slotDir = executor::slotScratchDirectory(workDir, task);
    check(slotDir.empty() || beneath(slotDir, workDir), "a slot's folder leaves the work folder",
          slotDir);
  }
}

// --- the request types --------------------------------------------------------

enum class Type {
  kDeployTask,
  kCancelTask,
  kDropPartitions,
  kReadTaskLog,
  kSessionSubmitJob,
  kSessionCancelJob,
  kSessionStatus,
  kSessionStop,
  kRegisterTaskManager,
  kHeartbeat,
  kTaskStateUpdate,
  kLocateTask,
  kGetJobStatus,
  kReportJobStatus,
  kGetUsageHistory,
  kReportSession,
};
constexpr int kRequestTypes = 16;

std::unique_ptr<google::protobuf::Message> newRequest(Type type) {
  switch (type) {
    case Type::kDeployTask: return std::make_unique<v1::DeployTaskRequest>();
    case Type::kCancelTask: return std::make_unique<v1::CancelTaskRequest>();
    case Type::kDropPartitions: return std::make_unique<v1::DropPartitionsRequest>();
    case Type::kReadTaskLog: return std::make_unique<v1::ReadTaskLogRequest>();
    case Type::kSessionSubmitJob: return std::make_unique<v1::SessionSubmitJobRequest>();
    case Type::kSessionCancelJob: return std::make_unique<v1::SessionCancelJobRequest>();
    case Type::kSessionStatus: return std::make_unique<v1::SessionStatusRequest>();
    case Type::kSessionStop: return std::make_unique<v1::SessionStopRequest>();
    case Type::kRegisterTaskManager: return std::make_unique<v1::RegisterTaskManagerRequest>();
    case Type::kHeartbeat: return std::make_unique<v1::HeartbeatRequest>();
    case Type::kTaskStateUpdate: return std::make_unique<v1::TaskStateUpdate>();
    case Type::kLocateTask: return std::make_unique<v1::LocateTaskRequest>();
    case Type::kGetJobStatus: return std::make_unique<v1::GetJobStatusRequest>();
    case Type::kReportJobStatus: return std::make_unique<v1::ReportJobStatusRequest>();
    case Type::kGetUsageHistory: return std::make_unique<v1::GetUsageHistoryRequest>();
    case Type::kReportSession: return std::make_unique<v1::ReportSessionRequest>();
  }
  fail("an unknown request type");
}

template <typename M>
const M& as(const google::protobuf::Message& message) {
  return static_cast<const M&>(message);
}

void consume(Type type, const google::protobuf::Message& request, bool aimed) {
  switch (type) {
    case Type::kDeployTask:
      deployTask(as<v1::DeployTaskRequest>(request));
      return;
    case Type::kSessionSubmitJob:
      sessionSubmit(as<v1::SessionSubmitJobRequest>(request));
      return;
    case Type::kRegisterTaskManager: {
      JobManagerScene scene;
      scene.registerTaskManager(as<v1::RegisterTaskManagerRequest>(request));
      scene.finish();
      return;
    }
    case Type::kHeartbeat:
    case Type::kTaskStateUpdate:
    case Type::kLocateTask: {
      JobManagerScene scene;
      scene.registerTaskManager(firstRegistration());
      if (type == Type::kHeartbeat) scene.heartbeat(as<v1::HeartbeatRequest>(request));
      if (type == Type::kTaskStateUpdate) scene.updateTaskState(as<v1::TaskStateUpdate>(request));
      if (type == Type::kLocateTask) scene.locateTask(as<v1::LocateTaskRequest>(request));
      scene.finish();
      return;
    }
    case Type::kReportJobStatus: {
      DispatcherScene scene;
      scene.reportStatus(as<v1::ReportJobStatusRequest>(request), aimed);
      scene.finish();
      return;
    }
    case Type::kReportSession: {
      DispatcherScene scene;
      scene.reportSession(as<v1::ReportSessionRequest>(request), aimed);
      scene.finish();
      return;
    }
    case Type::kGetUsageHistory: {
      DispatcherScene scene;
      scene.usageHistory(as<v1::GetUsageHistoryRequest>(request));
      scene.finish();
      return;
    }
    default:
      return;  // parsed and printed only (see the top of this file)
  }
}

}  // namespace
}  // namespace tailor::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tailor::fuzz::quietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tailor;
  using namespace tailor::fuzz;
  Input input(data, size);
  std::uint8_t choice = input.byte();
  auto type = static_cast<Type>(choice % kRequestTypes);
  bool aimed = (choice & 0x80) != 0;
  std::unique_ptr<google::protobuf::Message> request = newRequest(type);
  std::string_view body = input.rest();
  // As rpc::Server does: a body that does not parse is answered 400.
  if (!request->ParseFromArray(body.data(), static_cast<int>(body.size()))) return 0;
  auto json = printJson(*request);
  check(json.ok(), "a parsed request does not print as JSON", request->GetTypeName());
  consume(type, *request, aimed);
  return 0;
}
