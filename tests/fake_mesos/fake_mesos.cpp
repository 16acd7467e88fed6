#include "tests/fake_mesos/fake_mesos.hpp"

// <utility> before Asio, as asio_event_loop.hpp arranges.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/logging.hpp"
#include "common/process_launcher.hpp"
#include "common/zookeeper/url.hpp"
#include "tests/fake_mesos/agent.hpp"
#include "tests/fake_mesos/allocator.hpp"
#include "tests/fake_mesos/contender.hpp"
#include "tests/fake_mesos/master.hpp"
#include "tests/fake_mesos/remote.hpp"
#include "tests/fake_mesos/scripting.hpp"
#include "tests/fake_mesos/simulated_executor.hpp"
#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {
namespace {

namespace v1 = ::mesos::v1;

// The loop the fake's components use: the Asio loop, plus a notification
// after every handler so that waitFor() re-checks its condition.
class NotifyingLoop : public EventLoop {
 public:
  NotifyingLoop(AsioEventLoop& inner, std::function<void()> changed)
      : inner_(inner), changed_(std::move(changed)) {}

  MonotonicTime now() const override { return inner_.now(); }
  double wallSeconds() const override { return inner_.wallSeconds(); }
  void post(std::function<void()> fn) override {
    inner_.post([fn = std::move(fn), changed = changed_] {
      fn();
      changed();
    });
  }
  TimerId runAfter(Duration delay, std::function<void()> fn) override {
    return inner_.runAfter(delay, [fn = std::move(fn), changed = changed_] {
      fn();
      changed();
    });
  }
  void cancelTimer(TimerId id) override { inner_.cancelTimer(id); }

 private:
  AsioEventLoop& inner_;
  std::function<void()> changed_;
};

const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};

// The command executor binary: `configured`, or fake-command-executor beside
// this process's executable.
std::string commandExecutorPath(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (self.parent_path() / "fake-command-executor").string();
}

}  // namespace

class FakeMesos::Impl : public ControlOps, public ExecutorApi {
 public:
  explicit Impl(FakeMesosConfig config)
      : config_(std::move(config)),
        loop_(asio_, [this] { changed(); }),
        ids_(config_.ids),
        log_(logger("fake-mesos")) {}

  ~Impl() override { stop(); }

  bool running() const { return thread_.joinable() && master_ != nullptr; }

  // Runs `fn` on the loop thread and returns its result.
  template <typename F>
  auto run(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) return fn();
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    auto future = task->get_future();
    loop_.post([task] { (*task)(); });
    return future.get();
  }

  Result<std::uint16_t> start() {
    if (thread_.joinable()) return port_;
    thread_ = std::thread([this] { asio_.run(); });
    auto port = run([this] { return startOnLoop(); });
    if (!port.ok()) stop();
    return port;
  }

  void stop() {
    if (!thread_.joinable()) return;
    run([this] { stopOnLoop(); });
    // AsioEventLoop frees a cancelled timer in a posted handler: let the ones
    // cancelled above run before the loop stops.
    run([] {});
    asio_.stop();
    thread_.join();
    server_.reset();
    agents_.clear();
    deadAgents_.clear();
    master_.reset();
    remoteAgents_.reset();
    masterLink_.reset();
    internal_.reset();
    runtime_.reset();
    launcher_.reset();
    if (ownWorkDir_) {
      std::error_code ec;
      std::filesystem::remove_all(workDir_, ec);
    }
  }

  void changed() {
    {
      std::lock_guard<std::mutex> lock(changeMutex_);
      ++generation_;
    }
    changeCv_.notify_all();
  }

  bool waitFor(const std::function<bool(const StateSnapshot&)>& predicate, Duration timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      std::uint64_t seen;
      {
        std::lock_guard<std::mutex> lock(changeMutex_);
        seen = generation_;
      }
      if (predicate(snapshot())) return true;
      std::unique_lock<std::mutex> lock(changeMutex_);
      if (!changeCv_.wait_until(lock, deadline, [&] { return generation_ != seen; })) {
        lock.unlock();
        return predicate(snapshot());
      }
    }
  }

  StateSnapshot snapshot() {
    if (!running()) return StateSnapshot();
    return run([this] {
      StateSnapshot state;
      if (master_) master_->snapshot(state);
      for (const auto& agent : agents_) agent->snapshot(state);
      return state;
    });
  }

  // --- ControlOps (loop thread) ----------------------------------------------

  FaultPlan& faults() override { return faults_; }
  Status dropStream(const std::optional<std::string>& frameworkId) override {
    return master_->dropStream(frameworkId);
  }
  Status rescindOffer(const std::string& offerId) override {
    return master_->rescindOffer(offerId);
  }
  Status killExecutorOfTask(const std::string& taskId) override {
    for (const auto& agent : agents_) {
      if (agent->killExecutorOfTask(taskId)) return Status::okStatus();
    }
    return makeError(ErrorCode::kNotFound, "no running executor has task {}", taskId);
  }
  Status loseAgent(const std::string& agentId) override { return master_->loseAgent(agentId); }
  Status restartAgent(const std::string& agentId) override {
    if (!config_.zooKeeper.empty()) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "in a --zk cluster, kill the agents' process and start it again instead");
    }
    auto it = std::find_if(agents_.begin(), agents_.end(),
                           [&](const auto& agent) { return agent->id() == agentId; });
    if (it == agents_.end()) return makeError(ErrorCode::kNotFound, "no agent {}", agentId);
    if ((*it)->lost())
      return makeError(ErrorCode::kFailedPrecondition, "agent {} is lost", agentId);
    if (config_.executorMode == ExecutorMode::kSimulated) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "simulated executors do not outlive their agent: restarts need executor "
                       "processes (or external executors)");
    }
    auto read =
        AgentCheckpoint(Agent::checkpointDir(workDir_, (*it)->config().processIndex)).read();
    if (!read.ok()) return read.error();
    // The old process dies: its master sees it go.
    (*it)->crash();
    master_->agentDisconnected(agentId);
    AgentConfig agentConfig = (*it)->config();
    // Callbacks of the dead agent may still be queued: it stays allocated, empty.
    deadAgents_.push_back(std::move(*it));
    *it = std::make_unique<Agent>(loop_, agentConfig, *runtime_, *master_, ids_, faults_, files_);
    log_->info("agent {} starts again", agentId);
    return recoverAgent(**it, *read);
  }
  Status sendSimulatedStatus(const std::string& taskId, const std::string& stateName,
                             const std::string& message) override {
    v1::TaskState state;
    if (!v1::TaskState_Parse(stateName, &state)) {
      return makeError(ErrorCode::kInvalidArgument, "unknown task state '{}'", stateName);
    }
    if (simulated_ == nullptr) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "task statuses can be scripted only with simulated executors");
    }
    for (const auto& agent : agents_) {
      if (auto container = agent->containerOfTask(taskId)) {
        return simulated_->sendStatus(*container, taskId, state, message);
      }
    }
    return makeError(ErrorCode::kNotFound, "no running executor has task {}", taskId);
  }
  std::string stateJson() override { return snapshot().toJson(); }

  // --- ExecutorApi (loop thread) -----------------------------------------------

  CallAnswer executorCall(const std::string& agentId, const mesos::ExecutorCall& call,
                          std::shared_ptr<ExecutorEventSink> subscriber) override {
    for (const auto& agent : agents_) {
      if (agent->id() == agentId && !agent->lost()) {
        return agent->executorCall(call, std::move(subscriber));
      }
    }
    return CallAnswer{503, "Agent is gone"};
  }

  FakeMesosConfig config_;
  AsioEventLoop asio_;
  NotifyingLoop loop_;
  std::thread thread_;
  std::mutex changeMutex_;
  std::condition_variable changeCv_;
  std::uint64_t generation_ = 0;  // guarded by changeMutex_

  // Loop thread only from here on.
  IdGenerator ids_;
  FaultPlan faults_;
  SandboxFiles files_;  // the agents' /files endpoint
  Allocator allocator_;
  std::unique_ptr<ChildProcessLauncher> launcher_;
  std::unique_ptr<ExecutorRuntime> runtime_;
  SimulatedExecutorRuntime* simulated_ = nullptr;
  std::unique_ptr<Master> master_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::vector<std::unique_ptr<Agent>> deadAgents_;  // of restarts
  // A cluster found through ZooKeeper (config_.zooKeeper): messages to the
  // other processes (one worker: in order), this master's contention and the
  // agents that registered with it, this process's agents' link to the leader.
  std::unique_ptr<http::CurlHttpClient> internal_;
  std::unique_ptr<MasterContender> contender_;
  std::unique_ptr<RemoteAgents> remoteAgents_;
  std::unique_ptr<RemoteMasterLink> masterLink_;
  std::unique_ptr<mesos::ZooKeeperMasterDetector> agentsDetector_;
  std::unique_ptr<http::Server> server_;
  TimerId allocationTimer_ = 0;
  std::uint16_t port_ = 0;
  std::string workDir_;
  bool ownWorkDir_ = false;
  std::vector<std::string> agentIds_;  // also read by agentIds() after start
  std::shared_ptr<spdlog::logger> log_;

 private:
  Result<std::uint16_t> startOnLoop() {
    server_ = std::make_unique<http::Server>(asio_, "127.0.0.1", config_.port);
    addRoutes();
    auto port = server_->start();
    if (!port.ok()) return port.error();
    port_ = *port;

    bool simulated = config_.executorMode == ExecutorMode::kSimulated;
    workDir_ = config_.workDir;
    if (workDir_.empty()) {
      workDir_ = (std::filesystem::temp_directory_path() /
                  fmt::format("fake-mesos-{}-{}", ::getpid(), port_))
                     .string();
      ownWorkDir_ = !simulated;
    }
    if (!simulated) {
      std::error_code ec;
      std::filesystem::create_directories(workDir_, ec);
      if (ec) {
        return makeError(ErrorCode::kIo, "cannot create work dir {}: {}", workDir_, ec.message());
      }
    }

    switch (config_.executorMode) {
      case ExecutorMode::kProcess:
        launcher_ = std::make_unique<ChildProcessLauncher>(loop_);
        runtime_ = std::make_unique<ProcessExecutorRuntime>(loop_, *launcher_);
        break;
      case ExecutorMode::kSimulated: {
        auto runtime = std::make_unique<SimulatedExecutorRuntime>(loop_, ids_);
        runtime->setApi(this);
        simulated_ = runtime.get();
        runtime_ = std::move(runtime);
        break;
      }
      case ExecutorMode::kExternal:
        runtime_ = std::make_unique<ExternalExecutorRuntime>(loop_, config_.externalLaunch);
        break;
    }

    MasterConfig masterConfig;
    masterConfig.port = port_;
    masterConfig.heartbeatInterval = config_.heartbeatInterval;
    masterConfig.offerTimeout = config_.offerTimeout;
    masterConfig.agentReregisterTimeout = config_.agentReregisterTimeout;
    master_ = std::make_unique<Master>(loop_, masterConfig, ids_, allocator_, faults_);

    std::string commandExecutor;
    if (config_.executorMode == ExecutorMode::kProcess) {
      commandExecutor = commandExecutorPath(config_.commandExecutor);
      if (::access(commandExecutor.c_str(), X_OK) != 0) {
        if (!config_.commandExecutor.empty()) {
          return makeError(ErrorCode::kInvalidArgument, "no executable command executor at '{}'",
                           commandExecutor);
        }
        log_->warn("no command executor at '{}': command tasks will fail", commandExecutor);
        commandExecutor.clear();
      }
    }

    bool clustered = !config_.zooKeeper.empty();
    std::optional<zookeeper::ZooKeeperUrl> url;
    if (clustered) {
      auto parsed = zookeeper::parseZooKeeperUrl(config_.zooKeeper, "--zk");
      if (!parsed.ok()) return parsed.error();
      url = *parsed;
      internal_ = std::make_unique<http::CurlHttpClient>(loop_, 1);
      masterLink_ = std::make_unique<RemoteMasterLink>(loop_, *internal_);
      masterLink_->setFailoverRegistrationDelay(config_.failoverRegistrationDelay);
    }
    std::vector<AgentSpec> specs = config_.agents;
    if (specs.empty() && !clustered) specs.push_back(parseAgentSpec("").value());
    MasterLink& link = clustered ? static_cast<MasterLink&>(*masterLink_) : *master_;
    int index = 1;
    for (const auto& spec : specs) {
      AgentConfig agentConfig;
      agentConfig.processIndex = index++;
      // An agent checkpointed in this work directory before is that agent again.
      AgentCheckpoint::State saved;
      if (!simulated) {
        auto read =
            AgentCheckpoint(Agent::checkpointDir(workDir_, agentConfig.processIndex)).read();
        if (!read.ok()) {
          return read.error().withContext(
              fmt::format("cannot recover agent {} (remove the directory to start a new agent)",
                          agentConfig.processIndex));
        }
        saved = std::move(*read);
      }
      agentConfig.id = saved.agent ? saved.agent->id().value() : ids_.nextAgentId();
      agentConfig.port = port_;
      agentConfig.resources = spec.resources;
      agentConfig.attributes = spec.attributes;
      agentConfig.workDir = workDir_;
      agentConfig.createSandboxes = !simulated;
      agentConfig.commandTasks = simulated || !commandExecutor.empty();
      agentConfig.commandExecutor = commandExecutor;
      agentConfig.statusUpdateRetry = config_.statusUpdateRetry;
      agentConfig.statusUpdateRetryMax = config_.statusUpdateRetryMax;
      agentConfig.registrationTimeout = config_.executorRegistrationTimeout;
      agentConfig.reregistrationTimeout = config_.executorReregistrationTimeout;
      agentConfig.shutdownGracePeriod = config_.executorShutdownGracePeriod;
      agentConfig.executorHeartbeat = config_.executorHeartbeatInterval;
      agentConfig.ackExecutorAfterScheduler = config_.ackExecutorAfterScheduler;
      agents_.push_back(
          std::make_unique<Agent>(loop_, agentConfig, *runtime_, link, ids_, faults_, files_));
      if (clustered) masterLink_->addAgent(*agents_.back());
      agentIds_.push_back(agentConfig.id);
      Status recovered = recoverAgent(*agents_.back(), saved);
      if (!recovered.ok()) return recovered.error();
    }
    if (clustered) {
      Status joined = joinCluster(*url);
      if (!joined.ok()) return joined.error();
    }
    armAllocation();
    if (config_.runMaster) {
      log_->info("fake Mesos master {} listening on 127.0.0.1:{} with {} agent(s){}",
                 ids_.masterId(), port_, agents_.size(),
                 clustered ? " (found through ZooKeeper)" : "");
    } else {
      log_->info("fake Mesos agents (no master) listening on 127.0.0.1:{}: {} agent(s)", port_,
                 agents_.size());
    }
    return port_;
  }

  // With ZooKeeper: this master contends, this process's agents follow the
  // leader. Blocks while the sessions connect.
  Status joinCluster(const zookeeper::ZooKeeperUrl& url) {
    std::string self = fmt::format("127.0.0.1:{}", port_);
    if (!agents_.empty()) {
      auto detector = mesos::ZooKeeperMasterDetector::connect(loop_, url);
      if (!detector.ok()) return detector.error().withContext("--zk");
      agentsDetector_ = std::move(*detector);
      agentsDetector_->start([this](const std::optional<std::string>& leader) {
        masterLink_->leaderChanged(leader);
      });
    }
    if (!config_.runMaster) return Status();
    // An in-memory registry (Mesos' --registry=in_memory) records nothing: a
    // new leader knows no agent until it registers.
    remoteAgents_ = std::make_unique<RemoteAgents>(
        loop_, *master_, self, *internal_, [this](const std::string& agentId) {
          return config_.inMemoryRegistry ? Status() : contender_->admit(agentId);
        });
    MasterContender::Callbacks callbacks;
    callbacks.elected = [this](const std::vector<std::string>& admitted) {
      master_->expectAgents(config_.inMemoryRegistry ? std::vector<std::string>() : admitted,
                            config_.agentReregisterTimeout);
    };
    callbacks.lost = [this](const std::string& why) {
      // As a Mesos master: "Lost leadership... committing suicide!"
      log_->critical("lost leadership ({}): exiting", why);
      log_->flush();
      std::_Exit(1);
    };
    auto contender = MasterContender::start(loop_, url, self, toMesosJson(master_->info()),
                                            config_.zooKeeperSessionTimeout, std::move(callbacks));
    if (!contender.ok()) return contender.error();
    contender_ = std::move(*contender);
    return Status();
  }

  // Starts `agent` from its checkpoint; once it has recovered it registers
  // with the leading master (with ZooKeeper) or this process's master.
  Status recoverAgent(Agent& agent, const AgentCheckpoint::State& saved) {
    Agent* started = &agent;
    return agent.recover(saved, [this, started] {
      if (masterLink_) {
        masterLink_->agentRecovered(started->id());
        return;
      }
      AgentRecovery recovery = started->recovery();
      master_->reregisterAgent(*started, recovery);
      for (const auto& framework : recovery.frameworks) {
        started->resendPendingUpdates(framework.id().value());
      }
    });
  }

  // How a master endpoint answers in a cluster while this master does not
  // lead (Mesos' Master::Http::redirect): 307 to the leader, 503 when none is
  // known; 404 in a process without a master. Nothing while it leads, or
  // without ZooKeeper.
  std::optional<http::Response> notLeading(const http::Request& request) const {
    if (config_.zooKeeper.empty()) return std::nullopt;
    if (!config_.runMaster) return textResponse(404, "");
    if (contender_ && contender_->elected()) return std::nullopt;
    const std::optional<std::string> leader =
        contender_ ? contender_->leader() : std::optional<std::string>();
    if (!leader) return textResponse(503, "No leader elected");
    std::string location = "//" + *leader;
    if (request.path != "/redirect" && request.path != "/master/redirect") {
      location += request.path == "/api/v1/scheduler" ? "/master/api/v1/scheduler" : request.path;
      if (!request.query.empty()) location += "?" + request.query;
    }
    http::Response response = textResponse(307, "");
    response.headers.emplace_back("Location", location);
    return response;
  }

  // Serves `handler` as a master endpoint: while this master leads, or
  // without ZooKeeper.
  http::Handler asMaster(http::Handler handler) {
    return [this, handler](const http::Request& request, http::Responder respond) {
      if (auto answer = notLeading(request)) {
        respond(std::move(*answer));
        return;
      }
      handler(request, std::move(respond));
    };
  }

  void stopOnLoop() {
    contender_.reset();  // its node goes at once: another master takes over
    agentsDetector_.reset();
    if (allocationTimer_ != 0) loop_.cancelTimer(allocationTimer_);
    allocationTimer_ = 0;
    if (master_) master_->shutdown();
    for (const auto& agent : agents_) agent->lose();
    if (server_) server_->stop();
  }

  void armAllocation() {
    allocationTimer_ = loop_.runAfter(config_.allocationInterval, [this] {
      allocationTimer_ = 0;
      master_->allocate();
      armAllocation();
    });
  }

  // Wraps a handler so that waitFor() notices what it changed, also once a
  // streamed answer has started (a subscription).
  http::Handler notifying(http::Handler handler) {
    return [this, handler](const http::Request& request, http::Responder respond) {
      handler(request, [this, respond](http::Response response) {
        if (response.stream) {
          response.stream = [this, start = std::move(response.stream)](
                                std::shared_ptr<http::StreamWriter> writer) {
            start(std::move(writer));
            changed();
          };
        }
        respond(std::move(response));
      });
      changed();
    };
  }

  void addRoutes() {
    for (const auto& method : kMethods) {
      for (const char* path : {"/api/v1/scheduler", "/master/api/v1/scheduler"}) {
        server_->route(method, path,
                       notifying(asMaster([this](const http::Request& request,
                                                 http::Responder respond) {
                         master_->handleScheduler(request, std::move(respond));
                       })));
      }
      for (const char* path : {"/api/v1/executor", "/slave("}) {
        server_->route(method, path,
                       notifying([this](const http::Request& request, http::Responder respond) {
                         handleExecutor(request, std::move(respond));
                       }));
      }
    }
    for (const char* path : {"/health", "/master/health"}) {
      server_->route("GET", path, [path](const http::Request& request, http::Responder respond) {
        respond(textResponse(request.path == path ? 200 : 404, ""));
      });
    }
    for (const char* path : {"/version", "/master/version"}) {
      server_->route("GET", path, [](const http::Request&, http::Responder respond) {
        http::Response response = textResponse(
            200,
            R"({"version":"1.12.0","build_date":"2024-08-23 00:00:00","build_time":1724371200.0,)"
            R"("build_user":"fake-mesos"})");
        response.contentType = "application/json";
        respond(std::move(response));
      });
    }
    for (const char* path : {"/redirect", "/master/redirect"}) {
      server_->route("GET", path, asMaster([this](const http::Request&, http::Responder respond) {
        std::string leader =
            faults_.redirectCount > 0 ? faults_.redirectTo : fmt::format("127.0.0.1:{}", port_);
        http::Response response = textResponse(307, "");
        response.headers.emplace_back("Location", "//" + leader);
        respond(std::move(response));
      }));
    }
    for (const char* path : {"/frameworks", "/master/frameworks"}) {
      server_->route(
          "GET", path,
          asMaster([this, path](const http::Request& request, http::Responder respond) {
            if (request.path != path) {
              respond(textResponse(404, ""));
              return;
            }
            auto query = parseQuery(request.query);
            auto id = query.find("framework_id");
            http::Response response =
                textResponse(200, master_->frameworksJson(id == query.end() ? "" : id->second));
            response.contentType = "application/json";
            respond(std::move(response));
          }));
    }
    // The agents' files endpoint (any method, as libprocess routes it).
    for (const auto& method : kMethods) {
      server_->route(
          method, "/files/read", [this](const http::Request& request, http::Responder respond) {
            respond(request.path == "/files/read" ? files_.read(request) : textResponse(404, ""));
          });
    }
    server_->route(
        "POST", "/master/teardown",
        notifying(asMaster([this](const http::Request& request, http::Responder respond) {
          auto params = parseQuery(request.body);
          auto id = params.find("frameworkId");
          if (id == params.end()) {
            respond(textResponse(400, "Missing 'frameworkId' query parameter in the request body"));
            return;
          }
          Status removed = master_->teardown(id->second);
          respond(removed.ok() ? textResponse(200, "")
                               : textResponse(400, "No framework found with specified ID"));
        })));
    server_->route("POST", kAgentMessagePath,
                   notifying(asMaster([this](const http::Request& request, http::Responder respond) {
                     respond(remoteAgents_ ? remoteAgents_->handle(request) : textResponse(404, ""));
                   })));
    server_->route("POST", kMasterMessagePath,
                   notifying([this](const http::Request& request, http::Responder respond) {
                     respond(masterLink_ ? masterLink_->handle(request) : textResponse(404, ""));
                   }));
    registerControlRoutes(*server_, *this);
  }

  // POST /api/v1/executor (the agent found by the executor's ids) or
  // /slave(N)/api/v1/executor (agent N).
  void handleExecutor(const http::Request& request, http::Responder respond) {
    std::optional<int> index;
    if (request.path != "/api/v1/executor") {
      const std::string suffix = ")/api/v1/executor";
      const std::string& path = request.path;
      bool shaped = path.rfind("/slave(", 0) == 0 && path.size() > 7 + suffix.size() &&
                    path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
      if (shaped) {
        std::string number = path.substr(7, path.size() - 7 - suffix.size());
        if (!number.empty() && number.find_first_not_of("0123456789") == std::string::npos) {
          index = std::stoi(number);
        }
      }
      if (!index) {
        respond(textResponse(404, ""));
        return;
      }
    }
    Agent* agent = nullptr;
    if (index) {
      for (const auto& a : agents_) {
        if (a->config().processIndex == *index) agent = a.get();
      }
      if (agent == nullptr) {
        respond(textResponse(404, ""));
        return;
      }
    }
    auto decoded = decodeExecutorRequest(request);
    if (auto* response = std::get_if<http::Response>(&decoded)) {
      respond(std::move(*response));
      return;
    }
    const mesos::ExecutorCall& call = std::get<DecodedCall<mesos::ExecutorCall>>(decoded).call;
    if (agent == nullptr) {
      for (const auto& a : agents_) {
        if (!a->lost() && a->hasExecutor(call.framework_id().value(), call.executor_id().value())) {
          agent = a.get();
          break;
        }
      }
      if (agent == nullptr) agent = agents_.front().get();
    }
    agent->handleExecutorRequest(request, call, std::move(respond));
  }
};

FakeMesos::FakeMesos(FakeMesosConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

FakeMesos::~FakeMesos() { impl_->stop(); }

Result<std::uint16_t> FakeMesos::start() { return impl_->start(); }

void FakeMesos::stop() { impl_->stop(); }

std::uint16_t FakeMesos::port() const { return impl_->port_; }

std::string FakeMesos::endpoint() const { return fmt::format("127.0.0.1:{}", impl_->port_); }

const std::string& FakeMesos::masterId() const { return impl_->ids_.masterId(); }

std::vector<std::string> FakeMesos::agentIds() const { return impl_->agentIds_; }

namespace {
Error notRunning() {
  return makeError(ErrorCode::kFailedPrecondition, "fake Mesos is not running");
}
}  // namespace

Status FakeMesos::dropStream(const std::optional<std::string>& frameworkId) {
  if (!impl_->running()) return notRunning();
  return impl_->run([&] { return impl_->dropStream(frameworkId); });
}

void FakeMesos::failNextSubscribes(int count, int status) {
  impl_->run([&] {
    impl_->faults_.failSubscribeCount = count;
    impl_->faults_.failSubscribeStatus = status;
  });
}

void FakeMesos::redirectNextSubscribes(const std::string& to, int count) {
  impl_->run([&] {
    impl_->faults_.redirectTo = to;
    impl_->faults_.redirectCount = count;
  });
}

Status FakeMesos::rescindOffer(const std::string& offerId) {
  if (!impl_->running()) return notRunning();
  return impl_->run([&] { return impl_->rescindOffer(offerId); });
}

void FakeMesos::rescindNextOffers(int count) {
  impl_->run([&] { impl_->faults_.rescindNextCount = count; });
}

Status FakeMesos::killExecutorOfTask(const std::string& taskId) {
  if (!impl_->running()) return notRunning();
  return impl_->run([&] { return impl_->killExecutorOfTask(taskId); });
}

void FakeMesos::failNextLaunches(int count) {
  impl_->run([&] { impl_->faults_.failLaunchCount = count; });
}

Status FakeMesos::loseAgent(const std::string& agentId) {
  if (!impl_->running()) return notRunning();
  return impl_->run([&] { return impl_->loseAgent(agentId); });
}

Status FakeMesos::restartAgent(const std::string& agentId) {
  if (!impl_->running()) return notRunning();
  return impl_->run([&] { return impl_->restartAgent(agentId); });
}

Status FakeMesos::sendSimulatedStatus(const std::string& taskId, const std::string& state,
                                      const std::string& message) {
  if (!impl_->running()) return notRunning();
  return impl_->run([&] { return impl_->sendSimulatedStatus(taskId, state, message); });
}

Status FakeMesos::teardown(const std::string& frameworkId) {
  if (!impl_->running()) return notRunning();
  return impl_->run([&] { return impl_->master_->teardown(frameworkId); });
}

void FakeMesos::allocateNow() {
  if (!impl_->running()) return;
  impl_->run([&] { impl_->master_->allocate(); });
}

StateSnapshot FakeMesos::state() { return impl_->snapshot(); }

std::string FakeMesos::stateJson() { return impl_->snapshot().toJson(); }

bool FakeMesos::waitFor(const std::function<bool(const StateSnapshot&)>& predicate,
                        Duration timeout) {
  return impl_->waitFor(predicate, timeout);
}

}  // namespace tailor::fake_mesos
