#include "scheduler/ha/job_state_keeper.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "common/logging.hpp"
#include "common/zookeeper/values.hpp"

namespace tailor::scheduler {

std::uint64_t taskManagerNumber(const std::string& id) {
  if (id.rfind("tm-", 0) != 0 || id.size() == 3 || id.size() > 22) return 0;
  std::uint64_t number = 0;
  for (std::size_t i = 3; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    number = number * 10 + static_cast<std::uint64_t>(id[i] - '0');
  }
  return number;
}

JobStateKeeper::JobStateKeeper(EventLoop& loop, JobStateStore& store, int attempt,
                               v1::JobManagerState state, ResourceObserver* next)
    : loop_(loop), store_(store), attempt_(attempt), state_(std::move(state)), next_(next) {
  fenced_ = [](const std::string& why) {
    logger("jobstate")->error("another attempt of this job leads now ({}); exiting", why);
    std::fflush(nullptr);
    std::_Exit(3);
  };
}

JobStateKeeper::~JobStateKeeper() { *alive_ = false; }

void JobStateKeeper::saveSoon() {
  if (savePosted_) return;
  savePosted_ = true;
  loop_.post([this, alive = alive_] {
    if (!*alive || !savePosted_) return;
    save();
  });
}

v1::FinishedTask* JobStateKeeper::findFinished(int stage, int index) {
  for (auto& task : *state_.mutable_finished()) {
    if (task.stage() == stage && task.index() == index) return &task;
  }
  return nullptr;
}

void JobStateKeeper::onTaskFinished(int stage, int index, int attempts, const std::string& holder,
                                    const std::string& address,
                                    const std::vector<v1::PartitionInfo>& partitions) {
  v1::FinishedTask* task = findFinished(stage, index);
  if (task == nullptr) task = state_.add_finished();
  state_.mutable_running()->erase(fmt::format("{}.{}", stage, index));
  task->set_stage(stage);
  task->set_index(index);
  task->set_attempts(attempts);
  task->set_holder(holder);
  task->set_address(address);
  task->clear_partitions();
  for (const auto& partition : partitions) {
    auto* kept = task->add_partitions();
    *kept = partition;
    kept->clear_data();
  }
  saveSoon();
}

void JobStateKeeper::onTaskCollected(int stage, int index) {
  v1::FinishedTask* task = findFinished(stage, index);
  if (task == nullptr) return;
  task->set_collected(true);
  saveSoon();
}

void JobStateKeeper::onTaskReset(int stage, int index) {
  auto* finished = state_.mutable_finished();
  for (int i = 0; i < finished->size(); ++i) {
    if (finished->Get(i).stage() == stage && finished->Get(i).index() == index) {
      finished->DeleteSubrange(i, 1);
      saveSoon();
      return;
    }
  }
}

void JobStateKeeper::onTaskDeployed(int stage, int index, int attempts,
                                    const std::string& taskManager) {
  std::string key = fmt::format("{}.{}", stage, index);
  (*state_.mutable_task_attempts())[key] = attempts;
  v1::RunningTask& running = (*state_.mutable_running())[key];
  running.set_attempt(attempts);
  running.set_taskmanager(taskManager);
  saveSoon();
}

void JobStateKeeper::onTaskStopped(int stage, int index, int failures) {
  std::string key = fmt::format("{}.{}", stage, index);
  state_.mutable_running()->erase(key);
  if (failures > 0) (*state_.mutable_task_failures())[key] = failures;
  saveSoon();
}

void JobStateKeeper::onJobEnding() {
  if (savePosted_) save();
}

void JobStateKeeper::onTaskManagerPid(const std::string& id, std::int64_t pid) {
  for (auto& tm : *state_.mutable_taskmanagers()) {
    if (tm.id() == id && tm.pid() != pid) {
      tm.set_pid(pid);
      save();
      return;
    }
  }
}

Status JobStateKeeper::saveNow() {
  state_.set_attempt(attempt_);
  return store_.save(state_);
}

void JobStateKeeper::save() {
  savePosted_ = false;
  state_.set_attempt(attempt_);
  Status saved = store_.save(state_);
  if (saved.ok()) return;
  if (zookeeper::isFenced(saved.error())) {
    fenced_(saved.error().message);
    return;
  }
  logger("jobstate")->error("cannot write the job's state to {}: {}", store_.describe(),
                            saved.error().message);
}

void JobStateKeeper::remove(const std::string& id) {
  auto* tms = state_.mutable_taskmanagers();
  for (int i = 0; i < tms->size(); ++i) {
    if (tms->Get(i).id() == id) {
      tms->DeleteSubrange(i, 1);
      save();
      return;
    }
  }
}

void JobStateKeeper::onSubscribed(const std::string& frameworkId) {
  if (state_.framework_id() == frameworkId) return;
  state_.set_framework_id(frameworkId);
  save();
}

void JobStateKeeper::onTaskManagerPlaced(const std::string& id, const std::string& agentId) {
  for (auto& tm : *state_.mutable_taskmanagers()) {
    if (tm.id() == id && tm.agent_id() != agentId) {
      tm.set_agent_id(agentId);
      save();
      return;
    }
  }
}

void JobStateKeeper::onRetiredTaskManagerGone(const std::string& id) { remove(id); }

void JobStateKeeper::onTaskManagerRequested(const std::string& id, const TaskManagerSpec& spec) {
  auto* tm = state_.add_taskmanagers();
  tm->set_id(id);
  tm->set_resources(spec.total.toString());
  tm->set_attempt(attempt_);
  state_.set_next_taskmanager(std::max<std::uint64_t>(state_.next_taskmanager(),
                                                      taskManagerNumber(id) + 1));
  save();  // before the driver launches it
  if (next_ != nullptr) next_->onTaskManagerRequested(id, spec);
}

void JobStateKeeper::onTaskManagerRegistered(const std::string& id, const std::string& address,
                                             double launchedAt) {
  if (next_ != nullptr) next_->onTaskManagerRegistered(id, address, launchedAt);
}

void JobStateKeeper::onTaskManagerReleased(const std::string& id, const std::string& how,
                                           bool lost) {
  remove(id);
  if (next_ != nullptr) next_->onTaskManagerReleased(id, how, lost);
}

}  // namespace tailor::scheduler
