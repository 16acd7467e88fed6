// The extra latency of starting a task in a warm slot versus running the same
// command directly. See bench/README.md.
//
// Baseline (BM_SpawnTrue, and interleaved in every other benchmark): fork and
// exec `/bin/true` with tailor::spawnProcess, then waitpid.
// Measured:
//   BM_TaskRunner  executor::TaskRunner running `/bin/true` (argv command, one
//                  sink output), from start() to its onDone callback.
//   BM_WarmSlot    the full warm-slot path: a DeployTask RPC to an in-process
//                  TaskManager component, until the TASK_FINISHED update
//                  arrives at a JobMaster "UpdateTaskState" endpoint.
// Each measured iteration is paired with one baseline spawn made right before
// it, so the counters compare samples taken under the same machine load:
//   base_us      median baseline (spawn + wait), microseconds
//   meas_us      median measured latency
//   overhead_us  median over iterations of (measured - baseline), the per-task
//                overhead; the goal is < 5000
//   overhead_p90_us, overhead_mean_us
//   ratio        meas_us / base_us
// Iteration times are manual (the measured latency only).

#include <sys/wait.h>

#include <condition_variable>
#include <mutex>

#include "bench/bench_support.hpp"
#include "common/subprocess.hpp"
#include "executor/task_runner.hpp"

namespace tailor::bench {
namespace {

// One baseline sample: spawn /bin/true and reap it.
double spawnTrueSeconds() {
  SpawnOptions options;
  options.argv = {"/bin/true"};
  auto start = Clock::now();
  auto child = spawnProcess(options);
  if (!child.ok()) {
    std::fprintf(stderr, "spawn /bin/true: %s\n", child.error().message.c_str());
    std::abort();
  }
  int status = 0;
  while (::waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  double seconds = secondsSince(start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "/bin/true: %s\n", describeWaitStatus(status).c_str());
    std::abort();
  }
  return seconds;
}

v1::TaskDeployment trueTask(const std::string& jobId, int attempt) {
  v1::TaskDeployment task;
  task.set_job_id(jobId);
  task.set_stage("true");
  task.set_index(0);
  task.set_attempt(attempt);
  task.set_parallelism(1);
  task.set_attempt_id("true[0]#" + std::to_string(attempt));
  task.set_slot_id("slot-0");
  task.mutable_command()->mutable_argv()->add_args("/bin/true");
  // The job's output: what a sink stage of parallelism 1 gets.
  auto* output = task.add_outputs();
  output->set_partitioning(v1::FORWARD);
  output->set_num_partitions(1);
  return task;
}

// Sets the paired-sample counters described at the top of the file.
void reportPaired(benchmark::State& state, const std::vector<double>& baseline,
                  const std::vector<double>& measured) {
  std::vector<double> overhead;
  double sum = 0;
  for (size_t i = 0; i < measured.size(); ++i) {
    overhead.push_back((measured[i] - baseline[i]) * 1e6);
    sum += overhead.back();
  }
  double base = median(baseline) * 1e6;
  double meas = median(measured) * 1e6;
  state.counters["base_us"] = base;
  state.counters["meas_us"] = meas;
  state.counters["overhead_us"] = median(overhead);
  state.counters["overhead_p90_us"] = percentile(overhead, 0.9);
  state.counters["overhead_mean_us"] = overhead.empty() ? 0 : sum / overhead.size();
  state.counters["ratio"] = base > 0 ? meas / base : 0;
}

void BM_SpawnTrue(benchmark::State& state) {
  std::vector<double> samples;
  for (auto _ : state) {
    double seconds = spawnTrueSeconds();
    samples.push_back(seconds);
    state.SetIterationTime(seconds);
  }
  state.counters["base_us"] = median(samples) * 1e6;
  state.counters["base_p90_us"] = percentile(samples, 0.9) * 1e6;
}
BENCHMARK(BM_SpawnTrue)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(2.0);

void BM_TaskRunner(benchmark::State& state) {
  TempDir workDir("tailor-bench-runner");
  executor::TaskRunnerContext context{"tm-bench", workDir.path()};
  std::mutex mutex;
  std::condition_variable doneCv;
  std::vector<double> baseline;
  std::vector<double> measured;
  int attempt = 0;
  for (auto _ : state) {
    baseline.push_back(spawnTrueSeconds());

    bool done = false;
    v1::TaskStateUpdate last;
    Clock::time_point finishedAt;
    executor::TaskRunner runner(
        context, trueTask("bench", ++attempt), [](v1::TaskStateUpdate) {},
        [&](v1::TaskStateUpdate update) {
          auto now = Clock::now();
          std::lock_guard<std::mutex> lock(mutex);
          finishedAt = now;
          last = std::move(update);
          done = true;
          doneCv.notify_one();
        });
    auto start = Clock::now();
    runner.start();
    {
      std::unique_lock<std::mutex> lock(mutex);
      doneCv.wait(lock, [&] { return done; });
    }
    double seconds = secondsSince(start, finishedAt);
    state.SetIterationTime(seconds);
    measured.push_back(seconds);
    if (last.state() != v1::TASK_FINISHED) {
      state.SkipWithError(("task ended " + v1::TaskState_Name(last.state()) + ": " +
                           last.message())
                              .c_str());
      break;
    }
    // ~TaskRunner joins its thread here, outside the measured interval.
  }
  reportPaired(state, baseline, measured);
}
BENCHMARK(BM_TaskRunner)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(2.0);

// The JobMaster side of the warm-slot path: its own loop thread, an HTTP
// server with the UpdateTaskState RPC, and a client to send DeployTask.
class FakeJobMaster {
 public:
  FakeJobMaster()
      : httpClient_(loopThread_.loop(), 1),
        httpServer_(loopThread_.loop(), "127.0.0.1", 0),
        rpcServer_(httpServer_),
        rpcClient_(httpClient_) {
    rpcServer_.handle<v1::TaskStateUpdate, v1::TaskStateUpdateResponse>(
        "JobMaster", "UpdateTaskState",
        [this](const v1::TaskStateUpdate& update) -> Result<v1::TaskStateUpdateResponse> {
          auto now = Clock::now();
          if (update.state() != v1::TASK_RUNNING) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (update.attempt_id() == waitingFor_) {
              final_ = update;
              finishedAt_ = now;
              finished_ = true;
              cv_.notify_one();
            }
          }
          return v1::TaskStateUpdateResponse();
        });
    auto port = httpServer_.start();
    if (!port.ok()) {
      std::fprintf(stderr, "JobMaster server: %s\n", port.error().message.c_str());
      std::abort();
    }
    address_ = "127.0.0.1:" + std::to_string(*port);
    loopThread_.start();
  }
  ~FakeJobMaster() { loopThread_.stop(); }

  const std::string& address() const { return address_; }

  struct Outcome {
    bool ok = false;
    std::string error;
    double seconds = 0;  // DeployTask sent -> final update received
  };

  // Deploys `task` to the TaskManager at `tm` and waits for its final state.
  Outcome deployAndWait(const std::string& tm, const v1::TaskDeployment& task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waitingFor_ = task.attempt_id();
      finished_ = false;
      answered_ = false;
      deployError_.clear();
    }
    v1::DeployTaskRequest request;
    *request.mutable_task() = task;
    auto start = Clock::now();
    rpcClient_.call<v1::DeployTaskResponse>(
        tm, "TaskManager", "DeployTask", request,
        [this](Result<v1::DeployTaskResponse> response) {
          std::lock_guard<std::mutex> lock(mutex_);
          answered_ = true;
          if (!response.ok()) {
            deployError_ = response.error().message;
          } else if (!response->accepted()) {
            deployError_ = "not accepted: " + response->reason();
          }
          cv_.notify_one();
        });
    std::unique_lock<std::mutex> lock(mutex_);
    bool inTime = cv_.wait_for(lock, std::chrono::seconds(20), [this] {
      return (answered_ && !deployError_.empty()) || (answered_ && finished_);
    });
    Outcome outcome;
    if (!inTime) {
      outcome.error = "no answer within 20 s";
    } else if (!deployError_.empty()) {
      outcome.error = "DeployTask: " + deployError_;
    } else if (final_.state() != v1::TASK_FINISHED) {
      outcome.error = "task ended " + v1::TaskState_Name(final_.state()) + ": " + final_.message();
    } else {
      outcome.ok = true;
      outcome.seconds = secondsSince(start, finishedAt_);
    }
    return outcome;
  }

 private:
  LoopThread loopThread_;
  http::CurlHttpClient httpClient_;
  http::Server httpServer_;
  rpc::Server rpcServer_;
  rpc::Client rpcClient_;
  std::string address_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::string waitingFor_;
  bool finished_ = false;
  bool answered_ = false;
  std::string deployError_;
  v1::TaskStateUpdate final_;
  Clock::time_point finishedAt_;
};

void BM_WarmSlot(benchmark::State& state) {
  TempDir workDir("tailor-bench-tm");
  InProcessTaskManager taskManager("tm-bench", workDir.path());
  FakeJobMaster jobMaster;
  int attempt = 0;
  auto deploy = [&] {
    auto task = trueTask("bench", ++attempt);
    task.set_jobmaster_address(jobMaster.address());
    return jobMaster.deployAndWait(taskManager.address(), task);
  };
  // Warm up: open the keep-alive connections both ways (the TM's client has
  // two workers, each with its own connection).
  for (int i = 0; i < 5; ++i) {
    auto outcome = deploy();
    if (!outcome.ok) {
      state.SkipWithError(outcome.error.c_str());
      return;
    }
  }
  std::vector<double> baseline;
  std::vector<double> measured;
  for (auto _ : state) {
    baseline.push_back(spawnTrueSeconds());
    auto outcome = deploy();
    if (!outcome.ok) {
      state.SkipWithError(outcome.error.c_str());
      break;
    }
    state.SetIterationTime(outcome.seconds);
    measured.push_back(outcome.seconds);
  }
  if (measured.size() == baseline.size()) reportPaired(state, baseline, measured);
}
BENCHMARK(BM_WarmSlot)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(3.0);

}  // namespace
}  // namespace tailor::bench

int main(int argc, char** argv) { return tailor::bench::runBenchmarks(argc, argv); }
