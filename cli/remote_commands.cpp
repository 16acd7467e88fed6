#include "cli/remote_commands.hpp"

#include <glob.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <google/protobuf/util/json_util.h>

#include "cli/command_line.hpp"
#include "cli/dispatcher_client.hpp"
#include "cli/progress.hpp"
#include "common/config.hpp"
#include "common/file_chunk.hpp"
#include "common/jobspec/jobspec.hpp"
#include "common/resources.hpp"
#include "common/restart_strategy.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace tailor::cli {

namespace {

constexpr int kRefused = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

struct CommonFlags {
  std::string dispatcher;
  std::string output = "text";
};

void addCommonFlags(po::options_description& options, CommonFlags& flags) {
  options.add_options()("help", "show this help")(
      "dispatcher", po::value(&flags.dispatcher),
      "the Dispatcher's URL (default: $TAILOR_DISPATCHER, else http://127.0.0.1:8080); with "
      "standbys: URL,URL,... or the shared state store zk://HOST:PORT,.../PATH, and calls "
      "go to whichever leads")(
      "output,o", po::value(&flags.output)->default_value("text"), "text | json");
}

std::optional<int> checkOutput(const char* command, const CommonFlags& flags) {
  if (flags.output != "text" && flags.output != "json") {
    std::cerr << "tailor " << command << ": --output: '" << flags.output
              << "' is not an output format (expected text or json)\n";
    return kUsage;
  }
  return std::nullopt;
}

// Prints a failed call and returns its exit code.
template <typename T>
int failed(const char* command, const ApiResult<T>& result, const CommonFlags& flags) {
  if (flags.output == "json" && !result.json.empty()) std::cout << result.json;
  std::cerr << "tailor " << command << ": " << result.failure.message << "\n";
  if (result.failure.httpStatus == 0 || result.failure.httpStatus >= 500) return kUnreachable;
  return kRefused;
}

std::string formatTime(double seconds) {
  if (seconds <= 0) return "-";
  std::time_t whole = static_cast<std::time_t>(seconds);
  std::tm local{};
  localtime_r(&whole, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

std::string formatResources(const v1::ReportResources& resources) {
  std::string text = fmt::format("{:g} cpus, {:g} MiB", resources.cpus(), resources.mem());
  if (resources.disk() > 0) text += fmt::format(", {:g} MiB disk", resources.disk());
  if (resources.gpus() > 0) text += fmt::format(", {:g} gpus", resources.gpus());
  return text;
}

std::string stateName(v1::JobState state) { return v1::JobState_Name(state); }

// Files to send with a spec: what its relative input globs match, then --file.
// Names are relative to the spec's folder.
Result<std::vector<v1::JobFile>> collectFiles(const v1::JobSpec& spec,
                                              const std::vector<std::string>& extra) {
  std::map<std::string, std::string> byName;  // name -> local path
  fs::path base = spec.base_dir();
  for (const auto& stage : spec.stages()) {
    for (const auto& pattern : stage.input_files()) {
      if (pattern.find("://") != std::string::npos || (!pattern.empty() && pattern[0] == '/')) {
        continue;  // URLs and absolute paths are read where the JobManager runs
      }
      std::string full = (base / pattern).string();
      glob_t matches{};
      if (glob(full.c_str(), 0, nullptr, &matches) == 0) {
        for (size_t i = 0; i < matches.gl_pathc; ++i) {
          fs::path match = fs::path(matches.gl_pathv[i]).lexically_normal();
          std::error_code ec;
          if (!fs::is_regular_file(match, ec)) continue;  // folders are not inputs
          std::string name = match.lexically_relative(base).string();
          if (name.empty() || name.rfind("..", 0) == 0) continue;
          byName[name] = match.string();
        }
      }
      globfree(&matches);
    }
  }
  for (const auto& given : extra) {
    fs::path path = fs::absolute(given).lexically_normal();
    if (!fs::is_regular_file(path)) {
      return makeError(ErrorCode::kInvalidArgument, "--file: '{}' is not a readable file", given);
    }
    std::string name = path.lexically_relative(base).string();
    if (name.empty() || name.rfind("..", 0) == 0) name = path.filename().string();
    byName[name] = path.string();
  }
  std::vector<v1::JobFile> files;
  for (const auto& [name, path] : byName) {
    auto content = readWholeFile(path);
    if (!content) return makeError(ErrorCode::kIo, "cannot read '{}'", path);
    v1::JobFile file;
    file.set_path(name);
    file.set_content(std::move(*content));
    files.push_back(std::move(file));
  }
  return files;
}

// Feeds a job's polled state into the same live view `tailor run` shows.
class RemoteProgress {
 public:
  RemoteProgress(Progress& progress) : progress_(progress) {}

  void update(const v1::JobView& job) {
    std::vector<scheduler::StageProgress> stages;
    for (const auto& stage : job.stages()) {
      scheduler::StageProgress out;
      out.name = stage.name();
      out.parallelism = stage.parallelism();
      out.finished = stage.finished();
      out.running = stage.running();
      out.failedAttempts = stage.failed_attempts();
      out.started = stage.started();
      out.complete = stage.complete();
      if (out.started && !started_.count(out.name)) {
        started_.insert(out.name);
        progress_.onStageStarted(out.name);
      }
      if (out.complete && !finished_.count(out.name)) {
        finished_.insert(out.name);
        progress_.onStageFinished(out.name);
      }
      stages.push_back(out);
    }
    for (const auto& tm : job.taskmanagers()) {
      std::string& seen = tmStates_[tm.id()];
      if (seen == tm.state()) continue;
      if (seen.empty()) {
        scheduler::TaskManagerSpec spec;
        spec.total.milliCpus = toMilliCpus(tm.resources().cpus());
        spec.total.memMib = static_cast<std::int64_t>(tm.resources().mem());
        spec.total.diskMib = static_cast<std::int64_t>(tm.resources().disk());
        spec.total.gpus = static_cast<std::int64_t>(tm.resources().gpus());
        spec.slots.resize(static_cast<size_t>(std::max(0, tm.slots())));
        progress_.onTaskManagerRequested(tm.id(), spec);
      }
      if (tm.state() == "running")
        progress_.onTaskManagerRegistered(tm.id(), tm.address(), tm.launched_at());
      if (tm.state() == "released" || tm.state() == "lost") {
        progress_.onTaskManagerReleased(tm.id(), tm.state(), tm.state() == "lost");
      }
      seen = tm.state();
    }
    if (!stages.empty()) progress_.onProgress(stages);
  }

 private:
  Progress& progress_;
  std::set<std::string> started_, finished_;
  std::map<std::string, std::string> tmStates_;
};

bool isEnd(v1::JobState state) {
  return state == v1::FINISHED || state == v1::FAILED || state == v1::CANCELED;
}

// Follows a job until it ended; returns the exit code.
int waitForJob(DispatcherClient& client, const std::string& id, const CommonFlags& flags) {
  bool terminal = flags.output == "text" && isatty(STDOUT_FILENO) == 1 &&
                  std::getenv("TERM") != nullptr && std::string(std::getenv("TERM")) != "dumb";
  std::optional<Progress> progress;
  std::optional<RemoteProgress> remote;
  std::string lastState;
  int unreachable = 0;
  while (true) {
    auto job = client.job(id);
    if (!job.ok()) {
      // The Dispatcher may be restarting (Marathon brings it back): keep trying a while.
      if (job.failure.httpStatus == 0 && ++unreachable < 600) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      return failed("submit", job, flags);
    }
    unreachable = 0;
    if (flags.output == "text") {
      if (!progress) {
        progress.emplace(stdout, terminal, job.value->name());
        remote.emplace(*progress);
      }
      remote->update(*job.value);
      std::string state = stateName(job.value->state());
      // State changes as lines when not on a terminal; the end gets its own line below.
      if (state != lastState && !terminal && !isEnd(job.value->state())) {
        std::printf("job %s %s\n", id.c_str(), state.c_str());
        std::fflush(stdout);
      }
      lastState = state;
    }
    if (isEnd(job.value->state())) {
      if (progress) progress->finish();
      const auto& view = *job.value;
      if (flags.output == "json") {
        std::cout << job.json;
      } else if (view.state() == v1::FINISHED) {
        std::printf("job %s FINISHED in %.2fs\noutput: %s\n", id.c_str(),
                    view.finished_at() - view.submitted_at(), view.output().c_str());
      } else {
        std::fprintf(stderr, "job %s %s: %s\n", id.c_str(), stateName(view.state()).c_str(),
                     view.error().c_str());
      }
      return view.state() == v1::FINISHED ? 0 : kRefused;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int submit(int argc, char** argv) {
  CommonFlags flags;
  std::string specPath;
  std::vector<std::string> files;
  int priority = 0;
  bool wait = false;
  std::string session;
  std::string submissionId = newSubmissionId();
  po::options_description options("tailor submit JOB.yaml [options]");
  addCommonFlags(options, flags);
  options.add_options()("file", po::value(&files)->composing(),
                        "also send this file (repeatable); files the spec's relative input "
                        "globs match are sent anyway")(
      "priority", po::value(&priority)->default_value(0),
      "higher runs first; FIFO within a priority; in a session, its weight in the "
      "session's fair share")(
      "session", po::value(&session),
      "run the job in this session (`tailor session start`) instead of a JobManager of its own")(
      "wait", po::bool_switch(&wait), "follow the job to its end (exit code as `tailor run`)")(
      "submission-id", po::value(&submissionId),
      "the submission's id (default: a fresh one); sent again with the same id, the "
      "Dispatcher answers with the job it made instead of making a second");
  if (auto done = parseCommand("submit", argc, argv, options, {{"JOB.yaml", &specPath}})) {
    return *done;
  }
  if (auto bad = checkOutput("submit", flags)) return *bad;
  auto spec = jobspec::loadJobSpec(specPath);
  if (!spec.ok()) {
    std::cerr << spec.error().message << "\n";
    return kRefused;
  }
  auto collected = collectFiles(*spec, files);
  if (!collected.ok()) {
    std::cerr << "tailor submit: " << collected.error().message << "\n";
    return kUsage;
  }
  v1::SubmitJobRequest request;
  auto text = readWholeFile(specPath);
  if (!text) {
    std::cerr << "tailor submit: cannot read '" << specPath << "'\n";
    return kUsage;
  }
  request.set_spec(std::move(*text));
  request.set_spec_name(fs::path(specPath).filename().string());
  request.set_priority(priority);
  request.set_submission_id(submissionId);
  request.set_session(session);
  for (auto& file : *collected) *request.add_files() = std::move(file);
  DispatcherClient client(dispatcherUrl(flags.dispatcher));
  auto submitted = client.submit(request);
  if (!submitted.ok()) return failed("submit", submitted, flags);
  const auto& answer = *submitted.value;
  if (flags.output == "json" && !wait) {
    std::cout << submitted.json;
  } else if (flags.output == "text") {
    std::printf("job %s submitted to %s (%s%s%s, %d files)\n", answer.id().c_str(),
                client.base().c_str(), stateName(answer.state()).c_str(),
                answer.queue_position() > 0
                    ? fmt::format(", position {} in the queue", answer.queue_position()).c_str()
                    : "",
                session.empty() ? "" : (", session " + session).c_str(), request.files_size());
    std::fflush(stdout);
  }
  if (!wait) return 0;
  return waitForJob(client, answer.id(), flags);
}

int list(int argc, char** argv) {
  CommonFlags flags;
  std::string state;
  int offset = 0;
  int limit = 100;
  po::options_description options("tailor list [options]");
  addCommonFlags(options, flags);
  options.add_options()("state", po::value(&state), "only jobs in this state (QUEUED, RUNNING, ...)")(
      "offset", po::value(&offset)->default_value(0), "skip this many jobs")(
      "limit", po::value(&limit)->default_value(100), "show at most this many");
  if (auto done = parseCommand("list", argc, argv, options, {})) return *done;
  if (auto bad = checkOutput("list", flags)) return *bad;
  if (offset < 0 || limit < 0) {
    std::cerr << "tailor list: --offset and --limit must be >= 0\n";
    return kUsage;
  }
  for (auto& c : state) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  DispatcherClient client(dispatcherUrl(flags.dispatcher));
  auto jobs = client.list(state, offset, limit);
  if (!jobs.ok()) return failed("list", jobs, flags);
  if (flags.output == "json") {
    std::cout << jobs.json;
    return 0;
  }
  std::printf("%-44s %-10s %8s %5s  %-19s  %-12s  %-12s  %s\n", "ID", "STATE", "PRIORITY",
              "QUEUE", "SUBMITTED", "SESSION", "OWNER", "ERROR");
  for (const auto& job : jobs.value->jobs()) {
    std::string error = job.error().substr(0, job.error().find('\n'));
    if (error.size() > 60) error = error.substr(0, 57) + "...";
    std::printf("%-44s %-10s %8d %5s  %-19s  %-12s  %-12s  %s\n", job.id().c_str(),
                stateName(job.state()).c_str(), job.priority(),
                job.queue_position() > 0 ? std::to_string(job.queue_position()).c_str() : "-",
                formatTime(job.submitted_at()).c_str(),
                job.session().empty() ? "-" : job.session().c_str(),
                job.owner().empty() ? "-" : job.owner().c_str(), error.c_str());
  }
  int shown = jobs.value->jobs_size();
  if (jobs.value->total() > offset + shown) {
    std::printf("(%d of %d; --offset %d for more)\n", shown, jobs.value->total(), offset + shown);
  }
  return 0;
}

// "count: 4 tasks wait: no offer fits: mem short by ..." for a stage whose
// tasks wait (StageStatus.waiting); `now` in seconds since the Unix epoch.
std::string describeWaiting(const v1::StageStatus& stage, double now) {
  const v1::PlacementDiagnostic& waiting = stage.waiting();
  std::string text =
      fmt::format("{}: {} wait{}: {}", stage.name(),
                  waiting.tasks() == 1 ? "1 task" : fmt::format("{} tasks", waiting.tasks()),
                  waiting.tasks() == 1 ? "s" : "", waiting.message());
  if (waiting.reason() == "launching" && waiting.since() > 0 && now > waiting.since()) {
    text += fmt::format(" (requested {:.0f} s ago)", now - waiting.since());
  }
  return text;
}

void printJob(const v1::JobView& job) {
  std::printf("job %s (%s): %s\n", job.id().c_str(), job.name().c_str(),
              stateName(job.state()).c_str());
  if (job.queue_position() > 0) std::printf("  queue position %d\n", job.queue_position());
  if (!job.session().empty()) std::printf("  session %s\n", job.session().c_str());
  if (!job.owner().empty()) std::printf("  owner %s\n", job.owner().c_str());
  std::printf("  submitted %s, started %s, ended %s, priority %d, JobManager attempts %d\n",
              formatTime(job.submitted_at()).c_str(), formatTime(job.started_at()).c_str(),
              formatTime(job.finished_at()).c_str(), job.priority(), job.attempt());
  std::printf("  restart strategy %s\n", describeRestartStrategy(job.restart_strategy()).c_str());
  if (job.restart_at() > 0 && !isEnd(job.state())) {
    std::printf("  next JobManager attempt at %s\n", formatTime(job.restart_at()).c_str());
  }
  if (job.cancel_requested() && !isEnd(job.state())) std::printf("  cancel requested\n");
  if (!job.error().empty()) std::printf("  error: %s\n", job.error().c_str());
  if (job.stages_size() > 0) std::printf("stages:\n");
  for (const auto& stage : job.stages()) {
    std::printf("  %-20s %d/%d done, %d running%s%s\n", stage.name().c_str(), stage.finished(),
                stage.parallelism(), stage.running(),
                stage.failed_attempts() > 0
                    ? fmt::format(", {} failed attempts", stage.failed_attempts()).c_str()
                    : "",
                stage.complete() ? " (complete)" : "");
  }
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  bool waitingShown = false;
  for (const auto& stage : job.stages()) {
    if (!stage.has_waiting() || isEnd(job.state())) continue;
    if (!waitingShown) std::printf("waiting:\n");
    waitingShown = true;
    std::printf("  %s\n", describeWaiting(stage, now).c_str());
  }
  if (job.taskmanagers_size() > 0) std::printf("taskmanagers:\n");
  for (const auto& tm : job.taskmanagers()) {
    std::printf("  %-8s %-28s %d slots  %s\n", tm.id().c_str(),
                formatResources(tm.resources()).c_str(), tm.slots(), tm.state().c_str());
  }
  if (!job.output().empty()) std::printf("output: %s\n", job.output().c_str());
}

// `tailor COMMAND ID [options]`: parses, checks --output, makes the client.
struct IdCommand {
  CommonFlags flags;
  std::string id;
  po::options_description options;
  explicit IdCommand(const char* usage) : options(usage) { addCommonFlags(options, flags); }
  std::optional<int> parse(const char* command, int argc, char** argv,
                           std::vector<Positional> extra = {}) {
    std::vector<Positional> positional{{"ID", &id}};
    positional.insert(positional.end(), extra.begin(), extra.end());
    if (auto done = parseCommand(command, argc, argv, options, positional)) return done;
    return checkOutput(command, flags);
  }
};

int status(int argc, char** argv) {
  IdCommand command("tailor status ID [options]");
  if (auto done = command.parse("status", argc, argv)) return *done;
  DispatcherClient client(dispatcherUrl(command.flags.dispatcher));
  auto job = client.job(command.id);
  if (!job.ok()) return failed("status", job, command.flags);
  if (command.flags.output == "json") {
    std::cout << job.json;
  } else {
    printJob(*job.value);
  }
  return 0;
}

int cancel(int argc, char** argv) {
  IdCommand command("tailor cancel ID [options]");
  if (auto done = command.parse("cancel", argc, argv)) return *done;
  DispatcherClient client(dispatcherUrl(command.flags.dispatcher));
  auto job = client.cancel(command.id);
  if (!job.ok()) return failed("cancel", job, command.flags);
  if (command.flags.output == "json") {
    std::cout << job.json;
  } else {
    std::printf("job %s: %s\n", command.id.c_str(),
                job.value->state() == v1::CANCELED ? "CANCELED"
                                                   : "cancel requested; its JobManager stops it");
  }
  return 0;
}

int logs(int argc, char** argv) {
  IdCommand command("tailor logs ID [TASK] [options]   (TASK: stage[index], e.g. count[0])");
  std::string task;
  long long tail = -1;
  int attempt = 0;
  command.options.add_options()("tail", po::value(&tail), "only the last N bytes")(
      "attempt", po::value(&attempt)->default_value(0),
      "with TASK: which attempt (default: the latest)");
  if (auto done = command.parse("logs", argc, argv, {{"TASK", &task, false}})) return *done;
  DispatcherClient client(dispatcherUrl(command.flags.dispatcher));
  auto print = [&](const ApiResult<v1::LogChunk>& chunk) {
    if (command.flags.output == "json") {
      std::cout << chunk.json;
    } else {
      std::cout << chunk.value->data();
    }
  };
  if (tail >= 0) {
    auto chunk = client.log(command.id, task, attempt, -1, tail);
    if (!chunk.ok()) return failed("logs", chunk, command.flags);
    print(chunk);
    return 0;
  }
  long long offset = 0;
  while (true) {
    auto chunk = client.log(command.id, task, attempt, offset, -1);
    if (!chunk.ok()) return failed("logs", chunk, command.flags);
    print(chunk);
    offset += static_cast<long long>(chunk.value->data().size());
    if (chunk.value->data().empty() || offset >= static_cast<long long>(chunk.value->size())) break;
  }
  return 0;
}

int report(int argc, char** argv) {
  IdCommand command("tailor report ID [options]");
  if (auto done = command.parse("report", argc, argv)) return *done;
  DispatcherClient client(dispatcherUrl(command.flags.dispatcher));
  auto report = client.report(command.id);
  if (!report.ok()) return failed("report", report, command.flags);
  std::cout << report.json;
  return 0;
}

// "RUNNING" for SESSION_RUNNING.
std::string sessionStateName(v1::SessionState state) {
  std::string name = v1::SessionState_Name(state);
  return name.rfind("SESSION_", 0) == 0 ? name.substr(8) : name;
}

void printSession(const v1::SessionView& session) {
  std::printf("session %s: %s\n", session.name().c_str(), sessionStateName(session.state()).c_str());
  if (!session.owner().empty()) std::printf("  owner %s\n", session.owner().c_str());
  const auto& options = session.options();
  std::printf("  started %s, stopped %s, idle timeout %s, min resources %s, sizing %s\n",
              formatTime(session.started_at()).c_str(), formatTime(session.stopped_at()).c_str(),
              options.idle_timeout_seconds() > 0
                  ? fmt::format("{:g}s", options.idle_timeout_seconds()).c_str()
                  : "default",
              options.min_resources().empty() ? "none" : options.min_resources().c_str(),
              options.sizing().empty() ? "default" : options.sizing().c_str());
  if (!session.address().empty()) std::printf("  address %s\n", session.address().c_str());
  if (!session.error().empty()) std::printf("  error: %s\n", session.error().c_str());
  if (session.taskmanagers_size() > 0 || session.taskmanagers_launched() > 0) {
    std::printf("taskmanagers (%d launched since it started):\n", session.taskmanagers_launched());
  }
  for (const auto& tm : session.taskmanagers()) {
    std::printf("  %-8s %-28s %d slots  %s\n", tm.id().c_str(),
                formatResources(tm.resources()).c_str(), tm.slots(), tm.state().c_str());
  }
  if (session.jobs_size() > 0) std::printf("jobs:\n");
  for (const auto& job : session.jobs()) {
    std::printf("  %-44s %-10s %s\n", job.job_id().c_str(), stateName(job.state()).c_str(),
                job.error().substr(0, job.error().find('\n')).c_str());
  }
}

int sessionStart(int argc, char** argv) {
  CommonFlags flags;
  std::string name;
  std::string idleTimeout;
  v1::StartSessionRequest request;
  po::options_description options("tailor session start NAME [options]");
  addCommonFlags(options, flags);
  options.add_options()(
      "idle-timeout", po::value(&idleTimeout),
      "release a TaskManager that runs nothing for this long (e.g. 30s, 5m; default 60s)")(
      "min-resources", po::value(request.mutable_options()->mutable_min_resources()),
      "warm capacity kept while idle: cpus=N,mem=SIZE[,disk=SIZE][,gpus=N] (default: none)")(
      "sizing", po::value(request.mutable_options()->mutable_sizing()),
      "TaskManager sizing over the jobs' demand: tailored | fixed (default: tailored)");
  if (auto done = parseCommand("session start", argc, argv, options, {{"NAME", &name}})) {
    return *done;
  }
  if (auto bad = checkOutput("session start", flags)) return *bad;
  request.set_name(name);
  if (!idleTimeout.empty()) {
    auto parsed = parseDuration(idleTimeout);
    if (!parsed.ok()) {
      std::cerr << "tailor session start: --idle-timeout: " << parsed.error().message << "\n";
      return kUsage;
    }
    request.mutable_options()->set_idle_timeout_seconds(durationToSeconds(*parsed));
  }
  DispatcherClient client(dispatcherUrl(flags.dispatcher));
  auto started = client.startSession(request);
  if (!started.ok()) return failed("session start", started, flags);
  if (flags.output == "json") {
    std::cout << started.json;
  } else if (started.value->state() == v1::SESSION_FAILED) {
    std::fprintf(stderr, "session %s FAILED: %s\n", name.c_str(), started.value->error().c_str());
    return kRefused;
  } else {
    std::printf("session %s %s on %s; submit to it with `tailor submit --session %s JOB.yaml`\n",
                name.c_str(), sessionStateName(started.value->state()).c_str(),
                client.base().c_str(), name.c_str());
  }
  return started.value->state() == v1::SESSION_FAILED ? kRefused : 0;
}

int sessionList(int argc, char** argv) {
  CommonFlags flags;
  po::options_description options("tailor session list [options]");
  addCommonFlags(options, flags);
  if (auto done = parseCommand("session list", argc, argv, options, {})) return *done;
  if (auto bad = checkOutput("session list", flags)) return *bad;
  DispatcherClient client(dispatcherUrl(flags.dispatcher));
  auto listed = client.sessions();
  if (!listed.ok()) return failed("session list", listed, flags);
  if (flags.output == "json") {
    std::cout << listed.json;
    return 0;
  }
  std::printf("%-24s %-9s %-21s %4s %4s %5s  %-19s  %s\n", "NAME", "STATE", "ADDRESS", "TMS",
              "JOBS", "RUN", "STARTED", "ERROR");
  for (const auto& session : listed.value->sessions()) {
    int running = 0;
    for (const auto& job : session.jobs()) {
      if (!isEnd(job.state())) ++running;
    }
    std::string error = session.error().substr(0, session.error().find('\n'));
    if (error.size() > 60) error = error.substr(0, 57) + "...";
    std::printf("%-24s %-9s %-21s %4d %4d %5d  %-19s  %s\n", session.name().c_str(),
                sessionStateName(session.state()).c_str(),
                session.address().empty() ? "-" : session.address().c_str(),
                session.taskmanagers_size(), session.jobs_size(), running,
                formatTime(session.started_at()).c_str(), error.c_str());
  }
  return 0;
}

int sessionStatus(int argc, char** argv) {
  CommonFlags flags;
  std::string name;
  po::options_description options("tailor session status NAME [options]");
  addCommonFlags(options, flags);
  if (auto done = parseCommand("session status", argc, argv, options, {{"NAME", &name}})) {
    return *done;
  }
  if (auto bad = checkOutput("session status", flags)) return *bad;
  DispatcherClient client(dispatcherUrl(flags.dispatcher));
  auto session = client.session(name);
  if (!session.ok()) return failed("session status", session, flags);
  if (flags.output == "json") {
    std::cout << session.json;
  } else {
    printSession(*session.value);
  }
  return 0;
}

int sessionStop(int argc, char** argv) {
  CommonFlags flags;
  std::string name;
  po::options_description options("tailor session stop NAME [options]");
  addCommonFlags(options, flags);
  if (auto done = parseCommand("session stop", argc, argv, options, {{"NAME", &name}})) {
    return *done;
  }
  if (auto bad = checkOutput("session stop", flags)) return *bad;
  DispatcherClient client(dispatcherUrl(flags.dispatcher));
  auto stopped = client.stopSession(name);
  if (!stopped.ok()) return failed("session stop", stopped, flags);
  if (flags.output == "json") {
    std::cout << stopped.json;
  } else {
    std::printf("session %s: %s; it cancels its running jobs and releases its TaskManagers\n",
                name.c_str(), sessionStateName(stopped.value->state()).c_str());
  }
  return 0;
}

constexpr const char* kSessionUsage = R"(usage: tailor session <command> [options]

commands:
  start NAME   start a session: a JobManager that runs many jobs on shared TaskManagers
  list         the sessions the Dispatcher knows
  status NAME  one session: state, options, TaskManagers, jobs
  stop NAME    stop a session (its running jobs are canceled)

Submit jobs to a session with `tailor submit --session NAME JOB.yaml`.
`tailor session <command> --help` lists a command's options.
)";

int session(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kSessionUsage;
    return kUsage;
  }
  if (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kSessionUsage;
    return 0;
  }
  std::string command = argv[1];
  if (command == "start") return sessionStart(argc - 1, argv + 1);
  if (command == "list") return sessionList(argc - 1, argv + 1);
  if (command == "status") return sessionStatus(argc - 1, argv + 1);
  if (command == "stop") return sessionStop(argc - 1, argv + 1);
  std::cerr << "tailor session: unknown command '" << command << "'\n" << kSessionUsage;
  return kUsage;
}

}  // namespace

std::optional<int> runRemoteCommand(const std::string& command, int argc, char** argv) {
  if (command == "submit") return submit(argc, argv);
  if (command == "list") return list(argc, argv);
  if (command == "status") return status(argc, argv);
  if (command == "cancel") return cancel(argc, argv);
  if (command == "logs") return logs(argc, argv);
  if (command == "report") return report(argc, argv);
  if (command == "session") return session(argc, argv);
  return std::nullopt;
}

}  // namespace tailor::cli
