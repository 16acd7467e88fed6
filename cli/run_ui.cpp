#include "cli/run_ui.hpp"

#include <signal.h>

#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <future>

#include "common/http/json_api.hpp"
#include "common/task_log.hpp"
#include "webui/web_ui.hpp"

namespace tailor::cli {

void ObserverPair::onStageStarted(const std::string& stage) {
  firstJob_.onStageStarted(stage);
  secondJob_.onStageStarted(stage);
}
void ObserverPair::onStageFinished(const std::string& stage) {
  firstJob_.onStageFinished(stage);
  secondJob_.onStageFinished(stage);
}
void ObserverPair::onAttemptFailed(const std::string& attemptId, const std::string& message,
                                   bool willRetry) {
  firstJob_.onAttemptFailed(attemptId, message, willRetry);
  secondJob_.onAttemptFailed(attemptId, message, willRetry);
}
void ObserverPair::onProgress(const std::vector<scheduler::StageProgress>& stages) {
  firstJob_.onProgress(stages);
  secondJob_.onProgress(stages);
}
void ObserverPair::onJobEnded(scheduler::JobStatus status, const std::string& error) {
  firstJob_.onJobEnded(status, error);
  secondJob_.onJobEnded(status, error);
}
void ObserverPair::onTaskManagerRequested(const std::string& id,
                                          const scheduler::TaskManagerSpec& spec) {
  firstResources_.onTaskManagerRequested(id, spec);
  secondResources_.onTaskManagerRequested(id, spec);
}
void ObserverPair::onTaskManagerRegistered(const std::string& id, const std::string& address,
                                           double launchedAt) {
  firstResources_.onTaskManagerRegistered(id, address, launchedAt);
  secondResources_.onTaskManagerRegistered(id, address, launchedAt);
}
void ObserverPair::onTaskManagerReleased(const std::string& id, const std::string& how,
                                         bool lost) {
  firstResources_.onTaskManagerReleased(id, how, lost);
  secondResources_.onTaskManagerReleased(id, how, lost);
}

namespace {

scheduler::DispatcherReporterConfig statusConfig(const RunUiConfig& config) {
  scheduler::DispatcherReporterConfig status;
  status.jobId = config.jobId;  // no Dispatcher: never started, only its snapshot is read
  return status;
}

// "count[2]" -> ("count", 2).
std::optional<std::pair<std::string, int>> parseTaskName(const std::string& task) {
  auto open = task.find('[');
  if (open == std::string::npos || open == 0 || task.back() != ']') return std::nullopt;
  int index = -1;
  const char* first = task.data() + open + 1;
  const char* last = task.data() + task.size() - 1;
  auto [end, ec] = std::from_chars(first, last, index);
  if (ec != std::errc() || end != last || index < 0) return std::nullopt;
  return std::make_pair(task.substr(0, open), index);
}

}  // namespace

RunUi::RunUi(RunUiConfig config) : config_(std::move(config)), status_(statusConfig(config_)) {}

RunUi::~RunUi() {
  if (server_) loop_.post([this] { server_->stop(); });
  loop_.stop();
  if (thread_.joinable()) thread_.join();
}

void RunUi::setReport(const v1::JobReport& report) {
  std::lock_guard<std::mutex> lock(mutex_);
  report_ = report;
}

v1::JobView RunUi::view(bool full) {
  v1::ReportJobStatusRequest status = status_.snapshot();
  std::optional<v1::JobReport> report;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    report = report_;
  }
  v1::JobView view;
  view.set_id(config_.jobId);
  view.set_name(config_.jobName);
  view.set_state(v1::RUNNING);
  view.set_submitted_at(config_.submittedAt);
  view.set_started_at(config_.submittedAt);
  view.set_attempt(1);
  view.set_output(config_.outputDir);
  view.set_error(status.error());
  if (report) {
    v1::JobState state = v1::FAILED;
    (void)v1::JobState_Parse(report->job().status(), &state);
    view.set_state(state);
    view.set_finished_at(report->job().finished_at());
    view.set_error(report->job().error());
  }
  for (const auto& stage : status.stages()) {
    view.set_tasks(view.tasks() + stage.parallelism());
    view.set_tasks_finished(view.tasks_finished() + stage.finished());
  }
  for (const auto& taskManager : status.taskmanagers()) {
    if (taskManager.state() == "starting" || taskManager.state() == "running") {
      view.set_taskmanagers_running(view.taskmanagers_running() + 1);
    }
  }
  if (full) {
    *view.mutable_stages() = status.stages();
    // An ended job waits for nothing.
    if (report) {
      for (auto& stage : *view.mutable_stages()) stage.clear_waiting();
    }
    *view.mutable_taskmanagers() = status.taskmanagers();
    // This process is the job's one JobManager attempt.
    v1::JobManagerAttempt& attempt = *view.add_attempts();
    attempt.set_attempt(1);
    attempt.set_launcher("local");
    attempt.set_launched_at(config_.submittedAt);
    attempt.set_ended_at(view.finished_at());
    attempt.set_host(status.host());
    attempt.set_pid(status.pid());
    attempt.set_address(status.address());
  }
  return view;
}

void RunUi::addRoutes() {
  webui::WebUiConfig ui{.externalBasePath = "", .title = "Tailor run " + config_.jobName};
  webui::addWebUi(*server_, ui);
  auto notFound = [](const http::Request& request) {
    return http::apiError(404, "NOT_FOUND", "no route for " + request.method + " " + request.path);
  };
  server_->route("GET", "/", [this, ui, notFound](const http::Request& request,
                                                  http::Responder respond) {
    if (request.path == "/") return respond(webui::redirectToUi(ui));
    if (request.path == "/v1/overview") {
      v1::JobView job = view(true);
      v1::Overview overview;
      for (auto state : {v1::QUEUED, v1::LAUNCHING, v1::RUNNING, v1::FINISHED, v1::FAILED,
                         v1::CANCELED}) {
        (*overview.mutable_jobs())[v1::JobState_Name(state)] = job.state() == state ? 1 : 0;
      }
      bool running = job.state() == v1::RUNNING;
      overview.set_jobmanagers(running ? 1 : 0);
      double cpus = 0, mem = 0, disk = 0, gpus = 0;
      for (const auto& tm : job.taskmanagers()) {
        if (tm.state() != "starting" && tm.state() != "running") continue;
        overview.set_taskmanagers(overview.taskmanagers() + 1);
        cpus += tm.resources().cpus();
        mem += tm.resources().mem();
        disk += tm.resources().disk();
        gpus += tm.resources().gpus();
      }
      overview.mutable_resources()->set_cpus(cpus);
      overview.mutable_resources()->set_mem(mem);
      overview.mutable_resources()->set_disk(disk);
      overview.mutable_resources()->set_gpus(gpus);
      overview.set_max_running_jobs(1);
      return respond(http::json(200, overview));
    }
    auto query = http::parseQuery(request.query);
    if (request.path == "/v1/jobs" || request.path == "/v1/jobs/") {
      v1::ListJobsResponse list;
      *list.add_jobs() = view(false);
      list.set_total(1);
      list.set_limit(100);
      return respond(http::json(200, list));
    }
    const std::string prefix = "/v1/jobs/" + config_.jobId;
    if (request.path.rfind(prefix, 0) != 0) return respond(notFound(request));
    std::string rest = request.path.substr(prefix.size());
    if (rest.empty()) return respond(http::json(200, view(true)));
    if (rest == "/report") {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!report_) {
        return respond(http::apiError(409, "FAILED_PRECONDITION",
                                "job " + config_.jobId + " runs; its report exists once it ended"));
      }
      return respond(http::json(200, *report_));
    }
    if (rest != "/log") return respond(notFound(request));
    std::string path = config_.workDir + "/jobmanager.log";
    std::string label = "jobmanager";
    if (auto task = query.find("task"); task != query.end()) {
      auto parsed = parseTaskName(task->second);
      if (!parsed) {
        return respond(http::apiError(
            400, "INVALID_ARGUMENT", "task: '" + task->second + "' is not a task (expected STAGE[INDEX])"));
      }
      auto attempt = http::intParameter(query, "attempt", 0);
      if (!attempt.ok()) return respond(http::errorResponse(attempt.error()));
      auto found = findTaskLog(config_.workDir + "/logs/tasks", config_.jobId, parsed->first,
                               parsed->second, static_cast<int>(std::min<std::int64_t>(*attempt, 1 << 20)));
      if (!found.ok()) return respond(http::apiError(404, "NOT_FOUND", found.error().message));
      path = found->path;
      label = "task " + task->second;
    }
    respond(http::logChunk(path, label, query, 1 << 20));
  });
}

Result<std::string> RunUi::start() {
  server_ = std::make_unique<http::Server>(loop_, config_.bind, config_.port);
  addRoutes();
  auto port = server_->start();
  if (!port.ok()) return port.error();
  thread_ = std::thread([this] { loop_.run(); });
  std::string host = config_.bind == "0.0.0.0" ? "127.0.0.1" : config_.bind;
  return "http://" + host + ":" + std::to_string(*port) + "/ui/";
}

void RunUi::waitForStop() {
  std::promise<void> stopped;
  auto signals = std::make_shared<boost::asio::signal_set>(loop_.context(), SIGINT, SIGTERM);
  loop_.post([signals, &stopped] {
    // The handler keeps the signal set alive until a signal comes.
    signals->async_wait([signals, &stopped](const boost::system::error_code&, int) {
      stopped.set_value();
    });
  });
  stopped.get_future().wait();
}

}  // namespace tailor::cli
