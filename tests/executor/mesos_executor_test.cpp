// MesosExecutor, the TaskManager's adapter to its Mesos agent, driven through
// a real ExecutorConnection against a scripted agent on loopback: the agent
// streams LAUNCH/KILL/SHUTDOWN/ACKNOWLEDGED, records every UPDATE, and the
// test plays the TaskManager through the hooks. The 5 s grace for a missing
// acknowledgement runs on a ManualEventLoop. Waits are condition-variable
// waits on "something changed on the loop"; no sleeps.

#include "executor/mesos_executor.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "mesos/codec.hpp"
#include "mesos/executor_connection.hpp"
#include "mesos/recordio.hpp"
#include "tests/common/manual_event_loop.hpp"

namespace tailor::executor {
namespace {

namespace v1 = ::mesos::v1;
using Call = ::mesos::v1::executor::Call;
using Event = ::mesos::v1::executor::Event;
using mesos::ContentType;
using mesos::ExecutorConnection;
using mesos::ExecutorEnvironment;

constexpr const char* kFrameworkId = "fw-0001";
constexpr const char* kExecutorId = "exec-1";
constexpr const char* kAgentId = "agent-S0";

Event subscribedEvent() {
  Event event;
  event.set_type(Event::SUBSCRIBED);
  auto* subscribed = event.mutable_subscribed();
  subscribed->mutable_executor_info()->mutable_executor_id()->set_value(kExecutorId);
  subscribed->mutable_framework_info()->set_user("tailor");
  subscribed->mutable_framework_info()->set_name("tailor-job");
  subscribed->mutable_framework_info()->mutable_id()->set_value(kFrameworkId);
  subscribed->mutable_agent_info()->set_hostname("agent-1.example.com");
  subscribed->mutable_agent_info()->mutable_id()->set_value(kAgentId);
  return event;
}

v1::TaskInfo taskInfo(const std::string& id) {
  v1::TaskInfo task;
  task.set_name("taskmanager " + id);
  task.mutable_task_id()->set_value(id);
  task.mutable_agent_id()->set_value(kAgentId);
  task.mutable_executor()->mutable_executor_id()->set_value(kExecutorId);
  return task;
}

Event launchEvent(const std::string& taskId) {
  Event event;
  event.set_type(Event::LAUNCH);
  *event.mutable_launch()->mutable_task() = taskInfo(taskId);
  return event;
}

Event killEvent(const std::string& taskId) {
  Event event;
  event.set_type(Event::KILL);
  event.mutable_kill()->mutable_task_id()->set_value(taskId);
  return event;
}

Event shutdownEvent() {
  Event event;
  event.set_type(Event::SHUTDOWN);
  return event;
}

// Counts changes made on the loop, so the test thread can wait for the next one.
class Changes {
 public:
  void bump() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  std::uint64_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }
  bool waitPast(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return count_ != seen; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t count_ = 0;
};

// An agent on loopback: answers SUBSCRIBE with `firstEvents` on an open
// protobuf stream and UPDATE with 202. Loop thread only.
class ScriptedAgent {
 public:
  ScriptedAgent(AsioEventLoop& loop, Changes& changes)
      : changes_(changes), server_(loop, "127.0.0.1", 0) {
    server_.route("POST", "/api/v1/executor",
                  [this](const http::Request& request, http::Responder respond) {
                    handle(request, std::move(respond));
                  });
    auto port = server_.start();
    EXPECT_TRUE(port.ok());
    port_ = port.ok() ? *port : 0;
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  void send(const Event& event) {
    ASSERT_FALSE(streams.empty());
    auto body = mesos::encode(event, ContentType::kProtobuf);
    ASSERT_TRUE(body.ok()) << body.error().message;
    streams.back()->write(mesos::encodeRecord(*body));
  }

  // The n-th UPDATE's status.
  const v1::TaskStatus& status(size_t n) const { return updates.at(n).update().status(); }

  // Acknowledges the n-th UPDATE, as the agent does once it stored it.
  void acknowledge(size_t n) {
    Event event;
    event.set_type(Event::ACKNOWLEDGED);
    *event.mutable_acknowledged()->mutable_task_id() = status(n).task_id();
    event.mutable_acknowledged()->set_uuid(status(n).uuid());
    send(event);
  }

  std::vector<Event> firstEvents = {subscribedEvent(), launchEvent("tm-1")};
  std::vector<Call> subscribes;
  std::vector<Call> updates;
  std::vector<std::shared_ptr<http::StreamWriter>> streams;

 private:
  void handle(const http::Request& request, http::Responder respond) {
    auto call = mesos::decodeExecutorCall(request.body, ContentType::kProtobuf,
                                          mesos::UnknownFields::kReject);
    if (!call.ok()) {
      ADD_FAILURE() << "the agent cannot decode a call: " << call.error().message;
      respond(http::Response::text(400, call.error().message));
      return;
    }
    if (call->type() == Call::UPDATE) {
      updates.push_back(*call);
      respond(http::Response::text(202, ""));
      changes_.bump();
      return;
    }
    subscribes.push_back(*call);
    http::Response response;
    response.contentType = "application/x-protobuf";
    response.stream = [this](std::shared_ptr<http::StreamWriter> writer) {
      streams.push_back(writer);
      std::string bytes;
      for (const Event& event : firstEvents) {
        auto body = mesos::encode(event, ContentType::kProtobuf);
        EXPECT_TRUE(body.ok()) << body.error().message;
        if (body.ok()) bytes += mesos::encodeRecord(*body);
      }
      writer->write(bytes);
      changes_.bump();
    };
    respond(std::move(response));
  }

  Changes& changes_;
  http::Server server_;
  std::uint16_t port_ = 0;
};

// Passes every notice from the connection on to the executor, then tells the
// waiting test thread that something changed.
class Forwarder : public mesos::ExecutorListener {
 public:
  Forwarder(MesosExecutor*& executor, Changes& changes) : executor_(executor), changes_(changes) {}
  void onSubscribed(const mesos::ExecutorEvent::Subscribed& subscribed) override {
    executor_->onSubscribed(subscribed);
    changes_.bump();
  }
  void onLaunch(const v1::TaskInfo& task) override {
    executor_->onLaunch(task);
    changes_.bump();
  }
  void onKill(const v1::TaskID& taskId) override {
    executor_->onKill(taskId);
    kills.push_back(taskId.value());
    changes_.bump();
  }
  void onAllAcknowledged() override {
    executor_->onAllAcknowledged();
    changes_.bump();
  }
  void onShutdown() override {
    executor_->onShutdown();
    changes_.bump();
  }
  void onAgentLost(const std::string& reason) override {
    executor_->onAgentLost(reason);
    changes_.bump();
  }
  std::vector<std::string> kills;

 private:
  MesosExecutor*& executor_;
  Changes& changes_;
};

class MesosExecutorTest : public ::testing::Test {
 protected:
  MesosExecutorTest()
      : calls_(loop_, 1), agent_(loop_, changes_), forwarder_(executorPtr_, changes_) {}

  void start(bool checkpoint = false) {
    executor_ = std::make_unique<MesosExecutor>(
        loop_, MesosExecutor::Hooks{[this] {
                                      starts_ += 1;
                                      changes_.bump();
                                    },
                                    [this](const std::string& reason) {
                                      stops_.push_back(reason);
                                      changes_.bump();
                                    },
                                    [this](int code) {
                                      exits_.push_back(code);
                                      changes_.bump();
                                    }});
    executorPtr_ = executor_.get();
    ExecutorEnvironment env;
    env.agentEndpoint = agent_.endpoint();
    env.frameworkId = kFrameworkId;
    env.executorId = kExecutorId;
    env.checkpoint = checkpoint;
    env.recoveryTimeout = Duration(300);
    env.backoffMax = Duration(50);
    connection_ = std::make_unique<ExecutorConnection>(loop_, calls_, env, ContentType::kProtobuf,
                                                       forwarder_);
    executor_->setConnection(connection_.get());
    thread_ = std::thread([this] { loop_.run(); });
    onLoop([&] { connection_->start(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      onLoop([&] {
        if (connection_) connection_->stop();
      });
      loop_.stop();
      thread_.join();
    }
  }

  void onLoop(const std::function<void()>& fn) {
    std::promise<void> done;
    loop_.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  bool waitUntil(const std::function<bool()>& predicate) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      std::uint64_t seen = changes_.count();
      bool holds = false;
      onLoop([&] { holds = predicate(); });
      if (holds) return true;
      if (!changes_.waitPast(seen, deadline)) {
        onLoop([&] { holds = predicate(); });
        return holds;
      }
    }
  }

  bool updatesReceived(size_t n) {
    return waitUntil([&] { return agent_.updates.size() >= n; });
  }

  // Launched (TASK_STARTING received), registered (TASK_RUNNING received),
  // and both acknowledged by the agent.
  void runningAndAcknowledged() {
    ASSERT_TRUE(updatesReceived(1));
    onLoop([&] { executor_->onTaskManagerRegistered(); });
    ASSERT_TRUE(updatesReceived(2));
    onLoop([&] {
      agent_.acknowledge(0);
      agent_.acknowledge(1);
    });
    ASSERT_TRUE(waitUntil([&] { return connection_->unacknowledged() == 0; }));
    onLoop([&] { EXPECT_TRUE(exits_.empty()) << "acknowledgements of a live task do not exit"; });
  }

  // Stops the TaskManager with `code`; the final update must hold the exit
  // until the agent acknowledges it. Returns that update's state.
  v1::TaskState stopAndExpectExitAfterTheAcknowledgement(int code) {
    size_t before = 0;
    onLoop([&] {
      before = agent_.updates.size();
      executor_->onTaskManagerStopped(code);
      EXPECT_TRUE(exits_.empty()) << "exited before the final update was acknowledged";
    });
    EXPECT_TRUE(updatesReceived(before + 1));
    v1::TaskState state = v1::TASK_STAGING;
    onLoop([&] {
      if (agent_.updates.size() != before + 1) {
        ADD_FAILURE() << "expected one final update, got " << agent_.updates.size() - before;
        return;
      }
      state = agent_.status(before).state();
      EXPECT_EQ(agent_.status(before).task_id().value(), "tm-1");
      EXPECT_TRUE(exits_.empty()) << "exited before the final update was acknowledged";
      agent_.acknowledge(before);
    });
    EXPECT_TRUE(waitUntil([&] { return !exits_.empty(); }));
    onLoop([&] {
      ASSERT_EQ(exits_.size(), 1u);
      EXPECT_EQ(exits_[0], code);
    });
    return state;
  }

  AsioEventLoop loop_;
  http::CurlHttpClient calls_;
  Changes changes_;
  ScriptedAgent agent_;
  MesosExecutor* executorPtr_ = nullptr;
  Forwarder forwarder_;
  // Hook calls (loop thread).
  int starts_ = 0;
  std::vector<std::string> stops_;
  std::vector<int> exits_;
  // The executor outlives the connection that calls it.
  std::unique_ptr<MesosExecutor> executor_;
  std::unique_ptr<ExecutorConnection> connection_;
  std::thread thread_;
};

TEST_F(MesosExecutorTest, LaunchSendsTaskStartingAndStartsTheTaskManager) {
  start();
  ASSERT_TRUE(updatesReceived(1));
  ASSERT_TRUE(waitUntil([&] { return starts_ == 1; }));
  onLoop([&] {
    ASSERT_EQ(agent_.updates.size(), 1u);
    const Call& update = agent_.updates[0];
    EXPECT_EQ(update.executor_id().value(), kExecutorId);
    EXPECT_EQ(update.framework_id().value(), kFrameworkId);
    const v1::TaskStatus& status = update.update().status();
    EXPECT_EQ(status.task_id().value(), "tm-1");
    EXPECT_EQ(status.state(), v1::TASK_STARTING);
    EXPECT_EQ(status.source(), v1::TaskStatus::SOURCE_EXECUTOR);
    EXPECT_EQ(status.uuid().size(), 16u);
    EXPECT_TRUE(stops_.empty());
    EXPECT_TRUE(exits_.empty());
  });
}

TEST_F(MesosExecutorTest, RegisteredSendsTaskRunning) {
  start();
  ASSERT_TRUE(updatesReceived(1));
  onLoop([&] { executor_->onTaskManagerRegistered(); });
  ASSERT_TRUE(updatesReceived(2));
  onLoop([&] {
    ASSERT_EQ(agent_.updates.size(), 2u);
    EXPECT_EQ(agent_.status(1).task_id().value(), "tm-1");
    EXPECT_EQ(agent_.status(1).state(), v1::TASK_RUNNING);
    EXPECT_NE(agent_.status(0).uuid(), agent_.status(1).uuid());
  });
}

TEST_F(MesosExecutorTest, KillStopsTheTaskManagerThenReportsKilledAndExitsOnceAcknowledged) {
  start();
  runningAndAcknowledged();
  onLoop([&] {
    agent_.send(killEvent("some-other-task"));  // not ours: ignored
    agent_.send(killEvent("tm-1"));
  });
  ASSERT_TRUE(waitUntil([&] { return !stops_.empty(); }));
  onLoop([&] {
    ASSERT_EQ(stops_.size(), 1u) << "a KILL for another task must not stop the TaskManager";
    EXPECT_NE(stops_[0].find("killed"), std::string::npos) << stops_[0];
    EXPECT_EQ(agent_.updates.size(), 2u) << "nothing is reported until the TaskManager stopped";
  });
  // The TaskManager stops (with whatever code): the task was killed.
  EXPECT_EQ(stopAndExpectExitAfterTheAcknowledgement(0), v1::TASK_KILLED);
}

TEST_F(MesosExecutorTest, StoppingWithCodeZeroWithoutAKillIsTaskFinished) {
  start();
  runningAndAcknowledged();
  EXPECT_EQ(stopAndExpectExitAfterTheAcknowledgement(0), v1::TASK_FINISHED);
  onLoop([&] { EXPECT_TRUE(stops_.empty()); });
}

TEST_F(MesosExecutorTest, StoppingWithAnErrorCodeWithoutAKillIsTaskFailed) {
  start();
  runningAndAcknowledged();
  EXPECT_EQ(stopAndExpectExitAfterTheAcknowledgement(1), v1::TASK_FAILED);
  onLoop([&] {
    EXPECT_NE(agent_.updates.back().update().status().message().find("1"), std::string::npos)
        << agent_.updates.back().update().status().message();
  });
}

TEST_F(MesosExecutorTest, ASecondLaunchFailsThatTask) {
  agent_.firstEvents = {subscribedEvent(), launchEvent("tm-1"), launchEvent("tm-2")};
  start();
  ASSERT_TRUE(updatesReceived(2));
  onLoop([&] {
    ASSERT_EQ(agent_.updates.size(), 2u);
    EXPECT_EQ(agent_.status(0).task_id().value(), "tm-1");
    EXPECT_EQ(agent_.status(0).state(), v1::TASK_STARTING);
    EXPECT_EQ(agent_.status(1).task_id().value(), "tm-2");
    EXPECT_EQ(agent_.status(1).state(), v1::TASK_FAILED);
    EXPECT_EQ(agent_.status(1).source(), v1::TaskStatus::SOURCE_EXECUTOR);
    EXPECT_EQ(agent_.status(1).uuid().size(), 16u);
    EXPECT_NE(agent_.status(1).message().find("tm-1"), std::string::npos)
        << agent_.status(1).message();
    EXPECT_EQ(starts_, 1) << "one TaskManager per executor";
    EXPECT_TRUE(stops_.empty());
    // The first task goes on.
    executor_->onTaskManagerRegistered();
  });
  ASSERT_TRUE(updatesReceived(3));
  onLoop([&] {
    EXPECT_EQ(agent_.status(2).task_id().value(), "tm-1");
    EXPECT_EQ(agent_.status(2).state(), v1::TASK_RUNNING);
  });
}

TEST_F(MesosExecutorTest, ShutdownStopsTheTaskManagerAndReportsKilled) {
  start();
  runningAndAcknowledged();
  onLoop([&] { agent_.send(shutdownEvent()); });
  ASSERT_TRUE(waitUntil([&] { return !stops_.empty(); }));
  onLoop([&] {
    ASSERT_EQ(stops_.size(), 1u);
    EXPECT_NE(stops_[0].find("shut down"), std::string::npos) << stops_[0];
  });
  EXPECT_EQ(stopAndExpectExitAfterTheAcknowledgement(0), v1::TASK_KILLED);
}

TEST_F(MesosExecutorTest, AgentLostStopsTheTaskManagerAndExitsWithoutWaitingForAcks) {
  start(/*checkpoint=*/false);
  ASSERT_TRUE(updatesReceived(1));  // TASK_STARTING, never acknowledged
  onLoop([&] {
    EXPECT_EQ(connection_->unacknowledged(), 1u);
    agent_.streams[0]->abort();  // the agent is gone; no checkpointing, so for good
  });
  ASSERT_TRUE(waitUntil([&] { return !stops_.empty(); }));
  onLoop([&] {
    ASSERT_EQ(stops_.size(), 1u);
    EXPECT_NE(stops_[0].find("agent lost"), std::string::npos) << stops_[0];
    EXPECT_TRUE(exits_.empty()) << "the TaskManager has not stopped yet";
    executor_->onTaskManagerStopped(3);
    // Nobody to acknowledge anything: exit at once, with the TaskManager's code.
    ASSERT_EQ(exits_.size(), 1u);
    EXPECT_EQ(exits_[0], 3);
    EXPECT_EQ(connection_->unacknowledged(), 1u) << "no final update for a lost agent";
  });
}

TEST_F(MesosExecutorTest, AnAgentRestartWithCheckpointingKeepsTheTaskManager) {
  start(/*checkpoint=*/true);
  ASSERT_TRUE(updatesReceived(1));  // TASK_STARTING, not acknowledged yet
  onLoop([&] {
    agent_.firstEvents = {subscribedEvent()};  // the recovered agent launches nothing new
    agent_.streams[0]->abort();                // the agent restarts
  });
  ASSERT_TRUE(
      waitUntil([&] { return connection_->subscribed() && agent_.subscribes.size() == 2; }));
  onLoop([&] {
    EXPECT_TRUE(stops_.empty()) << "a recovered agent is not lost";
    EXPECT_TRUE(exits_.empty());
    EXPECT_EQ(starts_, 1);
    const auto& subscribe = agent_.subscribes[1].subscribe();
    ASSERT_EQ(subscribe.unacknowledged_updates_size(), 1);
    EXPECT_EQ(subscribe.unacknowledged_updates(0).status().state(), v1::TASK_STARTING);
    EXPECT_EQ(subscribe.unacknowledged_updates(0).status().uuid(), agent_.status(0).uuid());
    ASSERT_EQ(subscribe.unacknowledged_tasks_size(), 1);
    EXPECT_EQ(subscribe.unacknowledged_tasks(0).task_id().value(), "tm-1");
    executor_->onTaskManagerRegistered();
  });
  ASSERT_TRUE(updatesReceived(2));
  onLoop([&] { EXPECT_EQ(agent_.status(1).state(), v1::TASK_RUNNING); });
}

// --- The grace for a final update nobody acknowledges (fake clock) ---------------------

class NoHttp : public http::HttpClient {
 public:
  void send(http::ClientRequest, Callback) override { sent += 1; }
  int sent = 0;
};

class MesosExecutorGraceTest : public ::testing::Test {
 protected:
  MesosExecutorGraceTest()
      : executor_(loop_, MesosExecutor::Hooks{
                             [this] { starts_ += 1; },
                             [this](const std::string& reason) { stops_.push_back(reason); },
                             [this](int code) { exits_.push_back(code); }}),
        // Never started, so never subscribed: updates stay unacknowledged.
        connection_(loop_, http_, environment(), ContentType::kProtobuf, executor_) {
    executor_.setConnection(&connection_);
  }

  static ExecutorEnvironment environment() {
    ExecutorEnvironment env;
    env.agentEndpoint = "127.0.0.1:1";
    env.frameworkId = kFrameworkId;
    env.executorId = kExecutorId;
    return env;
  }

  test::ManualEventLoop loop_;
  NoHttp http_;
  int starts_ = 0;
  std::vector<std::string> stops_;
  std::vector<int> exits_;
  MesosExecutor executor_;
  ExecutorConnection connection_;
};

TEST_F(MesosExecutorGraceTest, ExitsAfterFiveSecondsWhenTheFinalUpdateIsNeverAcknowledged) {
  executor_.onLaunch(taskInfo("tm-1"));
  EXPECT_EQ(starts_, 1);
  EXPECT_EQ(connection_.unacknowledged(), 1u);  // TASK_STARTING
  executor_.onTaskManagerRegistered();
  executor_.onTaskManagerStopped(1);
  EXPECT_EQ(connection_.unacknowledged(), 3u);  // STARTING, RUNNING, FAILED
  EXPECT_TRUE(exits_.empty());
  loop_.advance(Duration(4999));
  EXPECT_TRUE(exits_.empty()) << "exited before the grace ran out";
  loop_.advance(Duration(1));
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 1);
  EXPECT_EQ(http_.sent, 0);
}

TEST_F(MesosExecutorGraceTest, AcknowledgementsBeforeTheEndDoNotExit) {
  executor_.onLaunch(taskInfo("tm-1"));
  executor_.onAllAcknowledged();  // e.g. TASK_STARTING acknowledged
  loop_.advance(Duration(60000));
  EXPECT_TRUE(exits_.empty());
  executor_.onKill(taskInfo("tm-1").task_id());
  ASSERT_EQ(stops_.size(), 1u);
  executor_.onTaskManagerStopped(0);
  EXPECT_TRUE(exits_.empty());
  executor_.onAllAcknowledged();  // TASK_KILLED acknowledged
  ASSERT_EQ(exits_.size(), 1u);
  EXPECT_EQ(exits_[0], 0);
}

TEST_F(MesosExecutorGraceTest, KillBeforeLaunchIsIgnored) {
  executor_.onKill(taskInfo("tm-1").task_id());
  EXPECT_TRUE(stops_.empty());
  EXPECT_EQ(connection_.unacknowledged(), 0u);
}

}  // namespace
}  // namespace tailor::executor
