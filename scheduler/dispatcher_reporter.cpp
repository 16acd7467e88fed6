#include "scheduler/dispatcher_reporter.hpp"

#include "common/zookeeper/election.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>

#include "common/http/client.hpp"
#include "common/http/tls.hpp"
#include "common/logging.hpp"
#include "common/naming.hpp"
#include "common/rpc.hpp"

namespace tailor::scheduler {

std::string dispatcherJobUrl(const std::string& dispatcherAddress, const std::string& jobId) {
  std::string base = dispatcherAddress.find("://") == std::string::npos
                         ? http::internalScheme() + dispatcherAddress
                         : dispatcherAddress;
  return http::normalizeBaseUrl(base) + "/v1/jobs/" + http::percentEncode(jobId);
}

DispatcherReporter::DispatcherReporter(DispatcherReporterConfig config)
    : config_(std::move(config)) {
  status_.set_job_id(config_.jobId);
  status_.set_attempt(config_.attempt);
  status_.set_state(v1::RUNNING);
  status_.set_host(hostName());
  status_.set_pid(static_cast<int>(getpid()));
}

DispatcherReporter::~DispatcherReporter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void DispatcherReporter::start() { sender_ = std::thread([this] { senderMain(); }); }

v1::ReportJobStatusRequest DispatcherReporter::snapshot() {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

std::string DispatcherReporter::dispatcherAddress() {
  std::lock_guard<std::mutex> lock(mutex_);
  return config_.dispatcherAddress;
}

void DispatcherReporter::setAddress(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_.set_address(address);
  changed_ = true;
  wake_.notify_all();
}

std::optional<v1::ReportJobStatusResponse> DispatcherReporter::send(
    const v1::ReportJobStatusRequest& request) {
  auto answer = rpc::callBlocking<v1::ReportJobStatusResponse>(dispatcherAddress(), "Dispatcher",
                                                                "ReportJobStatus", request);
  if (!answer.ok()) {
    followLeader();
    return std::nullopt;
  }
  return *answer;
}

std::string lookUpLeadingDispatcher(const std::string& dispatcherLeaders) {
  if (dispatcherLeaders.empty()) return "";
  auto leader = zookeeper::lookUpLeader(dispatcherLeaders, "leader", "--dispatcher-leaders");
  if (!leader.ok()) return "";
  std::string address = *leader;
  for (const char* scheme : {"http://", "https://"}) {
    if (address.rfind(scheme, 0) == 0) address = address.substr(std::string(scheme).size());
  }
  while (!address.empty() && address.back() == '/') address.pop_back();
  return address;
}

void DispatcherReporter::followLeader() {
  std::string address = lookUpLeadingDispatcher(config_.dispatcherLeaders);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (address.empty() || address == config_.dispatcherAddress) return;
    config_.dispatcherAddress = address;
  }
  logger("jobmanager")->info("job {}: the leading Dispatcher is now {}", config_.jobId, address);
}

void DispatcherReporter::senderMain() {
  auto log = logger("jobmanager");
  bool reachable = true;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    v1::ReportJobStatusRequest request = status_;
    changed_ = false;
    lock.unlock();
    auto answer = send(request);
    if (!answer && reachable) {
      log->warn("job {}: the Dispatcher at {} cannot be reached; the job goes on", config_.jobId,
                dispatcherAddress());
    }
    reachable = answer.has_value();
    if (answer && (answer->cancel() || !answer->known()) && !signalled_) {
      signalled_ = true;
      std::string why =
          answer->known() ? "asks to cancel the job" : "no longer knows this attempt";
      log->info("job {}: the Dispatcher {}", config_.jobId, why);
      if (config_.onStopAsked) {
        config_.onStopAsked("the Dispatcher " + why);
      } else {
        ::kill(getpid(), SIGTERM);
      }
    }
    lock.lock();
    // Soon after a change, else once per interval.
    wake_.wait_for(lock, config_.interval, [this] { return stopping_ || changed_; });
    if (!stopping_ && changed_) {
      // Batch a burst of events into one report; finish() cuts this short.
      wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    }
  }
}

bool DispatcherReporter::finish(v1::JobState state, const std::string& error,
                                const v1::JobReport* report) {
  v1::ReportJobStatusRequest request;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    status_.set_state(state);
    status_.set_error(error);
    if (report != nullptr) *status_.mutable_report() = *report;
    request = status_;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
  auto log = logger("jobmanager");
  auto deadline = std::chrono::steady_clock::now() + config_.finalReportTimeout;
  auto pause = std::chrono::milliseconds(200);
  while (true) {
    auto answer = send(request);
    if (answer) return true;
    if (std::chrono::steady_clock::now() + pause > deadline) break;
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::milliseconds(5000));
  }
  log->error("job {}: could not deliver the final state to the Dispatcher at {}", config_.jobId,
             dispatcherAddress());
  return false;
}

void DispatcherReporter::onProgress(const std::vector<StageProgress>& stages) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_.clear_stages();
  for (const auto& stage : stages) {
    auto* out = status_.add_stages();
    out->set_name(stage.name);
    out->set_parallelism(stage.parallelism);
    out->set_finished(stage.finished);
    out->set_running(stage.running);
    out->set_failed_attempts(stage.failedAttempts);
    out->set_started(stage.started);
    out->set_complete(stage.complete);
    for (const auto& input : stage.inputs) out->add_inputs(input);
    if (stage.waiting) *out->mutable_waiting() = *stage.waiting;
  }
  changed_ = true;
  wake_.notify_all();
}

void DispatcherReporter::onJobEnded(JobStatus status, const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_.set_error(error);
  changed_ = true;
  wake_.notify_all();
}

v1::TaskManagerStatus* DispatcherReporter::findTaskManager(const std::string& id) {
  for (auto& tm : *status_.mutable_taskmanagers()) {
    if (tm.id() == id) return &tm;
  }
  return nullptr;
}

void DispatcherReporter::onTaskManagerRequested(const std::string& id,
                                                const TaskManagerSpec& spec) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto* tm = findTaskManager(id);
  if (tm == nullptr) tm = status_.add_taskmanagers();
  tm->set_id(id);
  *tm->mutable_resources() = spec.total.toReport();
  tm->set_slots(static_cast<int>(spec.slots.size()));
  tm->set_state("starting");
  changed_ = true;
  wake_.notify_all();
}

void DispatcherReporter::onTaskManagerRegistered(const std::string& id, const std::string& address,
                                                 double launchedAt) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto* tm = findTaskManager(id)) {
    tm->set_state("running");
    tm->set_address(address);
    tm->set_launched_at(launchedAt);
  }
  changed_ = true;
  wake_.notify_all();
}

void DispatcherReporter::onTaskManagerReleased(const std::string& id, const std::string& how,
                                               bool lost) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto* tm = findTaskManager(id)) {
    tm->set_state(lost ? "lost" : "released");
    tm->set_released_at(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  }
  changed_ = true;
  wake_.notify_all();
}

}  // namespace tailor::scheduler
