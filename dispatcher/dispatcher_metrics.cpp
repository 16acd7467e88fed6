// The Dispatcher's metrics and the targets it gives Prometheus
// (docs/observability.md, "Metrics").

#include "dispatcher/dispatcher.hpp"

namespace tailor::dispatcher {

namespace {

bool isRunning(v1::JobState state) { return state == v1::LAUNCHING || state == v1::RUNNING; }

}  // namespace

void Dispatcher::addGauges() {
  auto& registry = metrics::defaultRegistry();
  gauges_.push_back(registry.addCollector(
      "tailor_dispatcher_jobs", "Jobs this Dispatcher keeps records of, by state",
      [this](metrics::GaugeSamples& samples) {
        std::map<v1::JobState, int> counts;
        for (v1::JobState state :
             {v1::QUEUED, v1::LAUNCHING, v1::RUNNING, v1::FINISHED, v1::FAILED, v1::CANCELED}) {
          counts[state] = 0;
        }
        for (const auto& [id, job] : jobs_) counts[job.record.state()] += 1;
        for (const auto& [state, count] : counts) samples.add({{"state", toString(state)}}, count);
      }));
  gauges_.push_back(registry.addCollector(
      "tailor_dispatcher_queue_length", "Jobs queued for a JobManager of their own",
      [this](metrics::GaugeSamples& samples) {
        samples.add({}, static_cast<double>(queuePositions().size()));
      }));
  gauges_.push_back(registry.addCollector(
      "tailor_dispatcher_jobmanagers_running",
      "JobManager processes this Dispatcher started that may be running, per job and per session",
      [this](metrics::GaugeSamples& samples) {
        int sessions = 0;
        for (const auto& [name, session] : sessions_) sessions += session.alive ? 1 : 0;
        samples.add({{"mode", "per_job"}}, running());
        samples.add({{"mode", "session"}}, sessions);
      }));
}

void Dispatcher::countEndedJob(const v1::JobRecord& record) {
  auto& registry = metrics::defaultRegistry();
  int finished = 0;
  for (const auto& stage : record.stages()) finished += stage.finished();
  registry
      .counter("tailor_dispatcher_tasks_finished_total",
               "Tasks finished in the jobs that ended, over all of this Dispatcher's jobs "
               "(from their last status, counted once per job)")
      .inc(finished);
  registry
      .counter("tailor_dispatcher_jobs_ended_total", "Jobs that ended, by their end state",
               {{"state", toString(record.state())}})
      .inc();
  for (const auto& tm : record.report().taskmanagers()) {
    if (tm.launched_at() <= 0) continue;  // a request withdrawn before its launch
    registry
        .counter("tailor_dispatcher_taskmanagers_launched_total",
                 "TaskManagers launched by the jobs that ended, by size (from their reports, "
                 "counted once per job)",
                 metrics::sizeLabels(tm.resources().cpus(), tm.resources().mem()))
        .inc();
  }
}

std::vector<Dispatcher::ScrapeTarget> Dispatcher::scrapeTargets() const {
  std::vector<ScrapeTarget> targets;
  if (!address_.empty()) targets.push_back({address_, {{"role", "dispatcher"}}});
  auto addTaskManagers = [&targets](const auto& taskManagers, const std::string& key,
                                    const std::string& value) {
    for (const v1::TaskManagerStatus& tm : taskManagers) {
      if (tm.address().empty() || tm.state() != "running") continue;
      targets.push_back(
          {tm.address(), {{"role", "taskmanager"}, {key, value}, {"taskmanager_id", tm.id()}}});
    }
  };
  for (const auto& [id, job] : jobs_) {
    if (inSession(job) || !isRunning(job.record.state()) || job.record.attempts_size() == 0) {
      continue;
    }
    const auto& attempt = job.record.attempts(job.record.attempts_size() - 1);
    if (attempt.address().empty() || attempt.ended_at() != 0) continue;
    targets.push_back({attempt.address(), {{"role", "jobmanager"}, {"job_id", id}}});
    addTaskManagers(job.record.taskmanagers(), "job_id", id);
  }
  for (const auto& [name, session] : sessions_) {
    const v1::SessionView& view = session.record.view();
    if (!session.alive || view.address().empty()) continue;
    targets.push_back({view.address(), {{"role", "jobmanager"}, {"session", name}}});
    addTaskManagers(view.taskmanagers(), "session", name);
  }
  return targets;
}

}  // namespace tailor::dispatcher
