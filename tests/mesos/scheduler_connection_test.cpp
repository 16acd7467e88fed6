// HttpSchedulerConnection against scripted masters on loopback: each test
// master answers SUBSCRIBE with exactly the bytes a test wants, so bad input
// from a master (corrupt RecordIO, truncated records, unparsable or unknown
// events, ERROR events), redirects, 503s and missed heartbeats can be played.

#include "mesos/scheduler_connection.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "mesos/recordio.hpp"
#include "tests/mesos/scripted_master_detector.hpp"

namespace tailor::mesos {
namespace {

using ::mesos::v1::scheduler::Call;
using ::mesos::v1::scheduler::Event;

std::string record(const Event& event, ContentType type = ContentType::kProtobuf) {
  auto body = encode(event, type);
  EXPECT_TRUE(body.ok());
  return encodeRecord(*body);
}

Event subscribedEvent(const std::string& frameworkId, double heartbeat = 15) {
  Event event;
  event.set_type(Event::SUBSCRIBED);
  event.mutable_subscribed()->mutable_framework_id()->set_value(frameworkId);
  event.mutable_subscribed()->set_heartbeat_interval_seconds(heartbeat);
  return event;
}

Event errorEvent(const std::string& message) {
  Event event;
  event.set_type(Event::ERROR);
  event.mutable_error()->set_message(message);
  return event;
}

// What a scripted master does with one SUBSCRIBE: the status and headers of
// its answer, and for 200 the bytes it streams (then whether it closes).
struct Answer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // streamed for 200, the whole body otherwise
  bool close = false;
};

// A master on loopback answering the n-th SUBSCRIBE with answers[n] (the last
// one repeats) and 202 to every other call. Records what it received.
class ScriptedMaster {
 public:
  explicit ScriptedMaster(AsioEventLoop& loop) : server_(loop, "127.0.0.1", 0) {
    server_.route("POST", "/api/v1/scheduler",
                  [this](const http::Request& request, http::Responder respond) {
                    handle(request, std::move(respond));
                  });
    port_ = *server_.start();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void script(std::vector<Answer> answers) { answers_ = std::move(answers); }

  // Loop thread only.
  std::vector<Call> subscribes;
  std::vector<Call> calls;
  std::vector<std::string> streamIdsSeen;
  std::vector<std::string> authorizations;  // of every request
  std::vector<std::shared_ptr<http::StreamWriter>> streams;

 private:
  void handle(const http::Request& request, http::Responder respond) {
    authorizations.push_back(request.header("authorization"));
    EXPECT_EQ(request.header("content-type"), "application/x-protobuf");
    auto call = decodeSchedulerCall(request.body, ContentType::kProtobuf);
    ASSERT_TRUE(call.ok()) << call.error().message;
    if (call->type() != Call::SUBSCRIBE) {
      calls.push_back(*call);
      streamIdsSeen.push_back(request.header("mesos-stream-id"));
      respond(http::Response::text(202, ""));
      return;
    }
    subscribes.push_back(*call);
    Answer answer = answers_.at(std::min(subscribes.size() - 1, answers_.size() - 1));
    http::Response response;
    response.status = answer.status;
    response.headers = answer.headers;
    if (answer.status != 200) {
      response.body = answer.body;
      respond(std::move(response));
      return;
    }
    response.contentType = "application/x-protobuf";
    response.headers.emplace_back("Mesos-Stream-Id", "stream-" + std::to_string(subscribes.size()));
    response.stream = [this, answer](std::shared_ptr<http::StreamWriter> writer) {
      streams.push_back(writer);
      writer->write(answer.body);
      if (answer.close) writer->close();
    };
    respond(std::move(response));
  }

  http::Server server_;
  std::uint16_t port_ = 0;
  std::vector<Answer> answers_;
};

// Records what the connection tells its listener; waits on it from the test thread.
class Recorder : public SchedulerListener {
 public:
  void onSubscribed(const std::string& frameworkId, bool isNewFramework) override {
    add("subscribed " + frameworkId + (isNewFramework ? " new" : " again"));
  }
  void onEvent(const SchedulerEvent& event) override {
    add("event " + Event::Type_Name(event.type()));
  }
  void onDisconnected(const std::string& reason) override { add("disconnected: " + reason); }

  // Waits until `count` notices arrived; returns them.
  std::vector<std::string> waitFor(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return notices_.size() >= count; });
    return notices_;
  }

 private:
  void add(std::string notice) {
    std::lock_guard<std::mutex> lock(mutex_);
    notices_.push_back(std::move(notice));
    changed_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> notices_;
};

class SchedulerConnectionTest : public ::testing::Test {
 protected:
  SchedulerConnectionTest() : calls_(loop_, 1), master_(loop_), other_(loop_) {}

  void start(std::vector<std::string> masters, Duration backoff = Duration(20),
             std::string principal = "", std::string secret = "",
             MasterDetector* detector = nullptr) {
    SchedulerConnectionConfig config;
    config.principal = principal;
    config.secret = secret;
    config.masters = std::move(masters);
    config.backoffMin = backoff;
    config.backoffMax = backoff;
    config.missedHeartbeats = 2;
    connection_ =
        std::make_unique<HttpSchedulerConnection>(loop_, calls_, config, recorder_, detector);
    ::mesos::v1::FrameworkInfo info;
    info.set_user("tailor");
    info.set_name("tailor-job-test");
    thread_ = std::thread([this] { loop_.run(); });
    onLoop([&] { connection_->start(info); });
  }

  void TearDown() override {
    onLoop([&] {
      if (connection_) connection_->stop();
    });
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Runs `fn` on the loop and waits for it.
  void onLoop(const std::function<void()>& fn) {
    std::promise<void> done;
    loop_.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Waits (polling the loop) until `predicate` holds on the loop.
  bool eventually(const std::function<bool()>& predicate) {
    for (int i = 0; i < 1000; ++i) {
      bool holds = false;
      onLoop([&] { holds = predicate(); });
      if (holds) return true;
      std::unique_lock<std::mutex> lock(pollMutex_);
      pollWake_.wait_for(lock, std::chrono::milliseconds(10));
    }
    return false;
  }

  AsioEventLoop loop_;
  http::CurlHttpClient calls_;
  ScriptedMaster master_;
  ScriptedMaster other_;
  Recorder recorder_;
  std::unique_ptr<HttpSchedulerConnection> connection_;
  std::thread thread_;
  std::mutex pollMutex_;
  std::condition_variable pollWake_;
};

TEST_F(SchedulerConnectionTest, SubscribesAndDeliversEvents) {
  Event offers;
  offers.set_type(Event::OFFERS);
  Event heartbeat;
  heartbeat.set_type(Event::HEARTBEAT);
  master_.script({{200, {}, record(subscribedEvent("fw-1")) + record(heartbeat) + record(offers)}});
  start({master_.address()});
  auto notices = recorder_.waitFor(2);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[0], "subscribed fw-1 new");
  EXPECT_EQ(notices[1], "event OFFERS");  // HEARTBEAT is not passed on
  onLoop([&] {
    EXPECT_TRUE(connection_->subscribed());
    EXPECT_EQ(connection_->frameworkId(), "fw-1");
    EXPECT_FALSE(master_.subscribes[0].has_framework_id());
    Call revive;
    revive.set_type(Call::REVIVE);
    connection_->send(revive);
  });
  ASSERT_TRUE(eventually([&] { return master_.calls.size() == 1; }));
  onLoop([&] {
    EXPECT_EQ(master_.calls[0].framework_id().value(), "fw-1");
    EXPECT_EQ(master_.streamIdsSeen[0], "stream-1");
  });
}

// Each kind of bad input ends the session with a reason naming it, then the
// connection subscribes again with the same framework id.
struct BadInput {
  const char* name;
  std::string bytes;
  bool close;
  const char* reason;
};

class SchedulerConnectionBadInputTest : public SchedulerConnectionTest,
                                        public ::testing::WithParamInterface<int> {};

std::vector<BadInput> badInputs() {
  return {
      {"corrupt length", "12x\n", false, "corrupt event stream"},
      {"truncated record", "100\nabc", true, "inside a record"},
      {"unparsable body", encodeRecord("\xff\xff\xff garbage"), false, "unparsable event"},
      {"error event", record(errorEvent("Framework failed over")), false,
       "ERROR event from 127.0.0.1"},
      {"closed stream", "", true, "closed the event stream"},
  };
}

TEST_P(SchedulerConnectionBadInputTest, EndsTheSessionAndSubscribesAgainWithTheSameId) {
  BadInput bad = badInputs()[GetParam()];
  SCOPED_TRACE(bad.name);
  master_.script({{200, {}, record(subscribedEvent("fw-1")), false},
                  {200, {}, record(subscribedEvent("fw-1")), false}});
  start({master_.address()});
  ASSERT_EQ(recorder_.waitFor(1)[0], "subscribed fw-1 new");
  onLoop([&] {
    master_.streams[0]->write(bad.bytes);
    if (bad.close) master_.streams[0]->close();
  });
  auto notices = recorder_.waitFor(3);
  ASSERT_EQ(notices.size(), 3u);
  EXPECT_NE(notices[1].find("disconnected"), std::string::npos) << notices[1];
  EXPECT_NE(notices[1].find(bad.reason), std::string::npos) << notices[1];
  EXPECT_EQ(notices[2], "subscribed fw-1 again");
  onLoop([&] {
    ASSERT_EQ(master_.subscribes.size(), 2u);
    EXPECT_EQ(master_.subscribes[1].framework_id().value(), "fw-1");
    EXPECT_EQ(master_.subscribes[1].subscribe().framework_info().id().value(), "fw-1");
  });
}

INSTANTIATE_TEST_SUITE_P(Inputs, SchedulerConnectionBadInputTest, ::testing::Range(0, 5));

TEST_F(SchedulerConnectionTest, UnknownEventTypesAreIgnored) {
  Event unknown;  // type UNKNOWN: what a newer master's new event decodes to
  unknown.set_type(Event::UNKNOWN);
  Event offers;
  offers.set_type(Event::OFFERS);
  master_.script({{200, {}, record(subscribedEvent("fw-1")) + record(unknown) + record(offers)}});
  start({master_.address()});
  auto notices = recorder_.waitFor(2);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[1], "event OFFERS");
  onLoop([&] { EXPECT_TRUE(connection_->subscribed()); });
}

TEST_F(SchedulerConnectionTest, FrameworkRemovedRegistersANewFramework) {
  master_.script({{200, {}, record(subscribedEvent("fw-old")), false},
                  {200, {}, record(errorEvent("Framework has been removed")), true},
                  {200, {}, record(subscribedEvent("fw-new")), false}});
  start({master_.address()});
  ASSERT_EQ(recorder_.waitFor(1)[0], "subscribed fw-old new");
  onLoop([&] { master_.streams[0]->abort(); });  // the connection drops
  auto notices = recorder_.waitFor(3);
  ASSERT_EQ(notices.size(), 3u);
  EXPECT_EQ(notices[2], "subscribed fw-new new");
  onLoop([&] {
    ASSERT_EQ(master_.subscribes.size(), 3u);
    EXPECT_EQ(master_.subscribes[1].framework_id().value(), "fw-old");  // tried the old id
    EXPECT_FALSE(master_.subscribes[2].has_framework_id());             // then registered anew
    EXPECT_FALSE(master_.subscribes[2].subscribe().framework_info().has_id());
  });
}

TEST_F(SchedulerConnectionTest, Follows503Then307ToTheLeader) {
  master_.script({{503, {}, "Master has not finished recovery"},
                  {307, {{"Location", "//" + other_.address() + "/master/api/v1/scheduler"}}, ""}});
  other_.script({{200, {}, record(subscribedEvent("fw-1"))}});
  start({master_.address()});
  auto notices = recorder_.waitFor(1);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0], "subscribed fw-1 new");
  onLoop([&] {
    EXPECT_EQ(master_.subscribes.size(), 2u);
    EXPECT_EQ(other_.subscribes.size(), 1u);
    EXPECT_EQ(connection_->master(), other_.address());
  });
}

TEST_F(SchedulerConnectionTest, MissedHeartbeatsEndTheSession) {
  // Heartbeats every 50 ms promised, none sent: dead after 2 x 50 ms.
  master_.script({{200, {}, record(subscribedEvent("fw-1", 0.05)), false},
                  {200, {}, record(subscribedEvent("fw-1", 15)), false}});
  start({master_.address()});
  auto notices = recorder_.waitFor(3);
  ASSERT_EQ(notices.size(), 3u);
  EXPECT_NE(notices[1].find("missed heartbeats"), std::string::npos) << notices[1];
  EXPECT_EQ(notices[2], "subscribed fw-1 again");
}

TEST_F(SchedulerConnectionTest, CallsAreDroppedWhileNotSubscribed) {
  master_.script({{503, {}, "No leader elected"}});
  start({master_.address()}, Duration(200));
  onLoop([&] {
    Call revive;
    revive.set_type(Call::REVIVE);
    connection_->send(revive);
    EXPECT_TRUE(connection_->idle());
  });
  ASSERT_TRUE(eventually([&] { return master_.subscribes.size() >= 1; }));
  onLoop([&] { EXPECT_TRUE(master_.calls.empty()); });
}

TEST_F(SchedulerConnectionTest, SendsBasicCredentialsOnEveryRequest) {
  master_.script({{200, {}, record(subscribedEvent("fw-1"))}});
  start({master_.address()}, Duration(20), "tailor", "s3cret");
  ASSERT_EQ(recorder_.waitFor(1)[0], "subscribed fw-1 new");
  onLoop([&] {
    Call suppress;
    suppress.set_type(Call::SUPPRESS);
    connection_->send(suppress);
  });
  ASSERT_TRUE(eventually([&] { return master_.calls.size() == 1; }));
  onLoop([&] {
    ASSERT_EQ(master_.authorizations.size(), 2u);
    for (const auto& value : master_.authorizations) {
      EXPECT_EQ(value, "Basic dGFpbG9yOnMzY3JldA==");  // base64("tailor:s3cret")
    }
  });
}

// --- With a master detector (ZooKeeper) --------------------------------------

TEST_F(SchedulerConnectionTest, WaitsForTheDetectedLeaderAndSubscribesToItOnly) {
  ScriptedMasterDetector detector;
  master_.script({{200, {}, record(subscribedEvent("fw-1")), false}});
  // The static list is not used with a detector.
  start({other_.address()}, Duration(20), "", "", &detector);
  ASSERT_TRUE(eventually([&] { return detector.started(); }));
  onLoop([&] { detector.appoint(std::nullopt); });  // nobody leads yet
  onLoop([&] {
    EXPECT_TRUE(master_.subscribes.empty());
    EXPECT_TRUE(other_.subscribes.empty());
    EXPECT_EQ(connection_->master(), "");
    detector.appoint(master_.address());
  });
  ASSERT_EQ(recorder_.waitFor(1)[0], "subscribed fw-1 new");
  onLoop([&] {
    EXPECT_EQ(connection_->master(), master_.address());
    EXPECT_TRUE(other_.subscribes.empty());
  });
}

TEST_F(SchedulerConnectionTest, ANewLeaderMidSessionGetsTheSameFrameworkId) {
  ScriptedMasterDetector detector;
  master_.script({{200, {}, record(subscribedEvent("fw-1")), false}});
  other_.script({{200, {}, record(subscribedEvent("fw-1")), false}});
  start({}, Duration(20), "", "", &detector);
  ASSERT_TRUE(eventually([&] { return detector.started(); }));
  onLoop([&] { detector.appoint(master_.address()); });
  ASSERT_EQ(recorder_.waitFor(1)[0], "subscribed fw-1 new");

  onLoop([&] { detector.appoint(other_.address()); });  // the old leader's stream still flows
  auto notices = recorder_.waitFor(3);
  ASSERT_EQ(notices.size(), 3u);
  EXPECT_EQ(notices[1], "disconnected: the leading master is now " + other_.address());
  EXPECT_EQ(notices[2], "subscribed fw-1 again");
  onLoop([&] {
    ASSERT_EQ(other_.subscribes.size(), 1u);
    EXPECT_EQ(other_.subscribes[0].framework_id().value(), "fw-1");
    EXPECT_EQ(other_.subscribes[0].subscribe().framework_info().id().value(), "fw-1");
    EXPECT_EQ(master_.subscribes.size(), 1u);
    EXPECT_EQ(connection_->master(), other_.address());
    Call revive;
    revive.set_type(Call::REVIVE);
    connection_->send(revive);
  });
  ASSERT_TRUE(eventually([&] { return other_.calls.size() == 1; }));
  onLoop([&] {
    EXPECT_TRUE(master_.calls.empty());
    EXPECT_EQ(other_.streamIdsSeen[0], "stream-1");
  });
}

TEST_F(SchedulerConnectionTest, NoLeaderEndsTheSessionUntilOneIsDetected) {
  ScriptedMasterDetector detector;
  master_.script({{200, {}, record(subscribedEvent("fw-1")), false}});
  start({}, Duration(20), "", "", &detector);
  ASSERT_TRUE(eventually([&] { return detector.started(); }));
  onLoop([&] { detector.appoint(master_.address()); });
  ASSERT_EQ(recorder_.waitFor(1)[0], "subscribed fw-1 new");
  onLoop([&] { detector.appoint(std::nullopt); });
  auto notices = recorder_.waitFor(2);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[1], "disconnected: no master leads in zk://scripted:2181/mesos");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several back-offs
  onLoop([&] {
    EXPECT_EQ(master_.subscribes.size(), 1u);
    EXPECT_FALSE(connection_->subscribed());
    detector.appoint(master_.address());  // it leads again
  });
  EXPECT_EQ(recorder_.waitFor(3).back(), "subscribed fw-1 again");
}

TEST_F(SchedulerConnectionTest, FailuresRetryTheDetectedLeaderAndARedirectIsFollowedOnce) {
  ScriptedMasterDetector detector;
  master_.script({{503, {}, "Master has not finished recovery"},
                  {307, {{"Location", "//" + other_.address() + "/master/api/v1/scheduler"}}, ""},
                  {200, {}, record(subscribedEvent("fw-1")), false}});
  other_.script({{503, {}, "No leader elected"}});
  start({}, Duration(20), "", "", &detector);
  ASSERT_TRUE(eventually([&] { return detector.started(); }));
  onLoop([&] { detector.appoint(master_.address()); });
  ASSERT_EQ(recorder_.waitFor(1)[0], "subscribed fw-1 new");
  onLoop([&] {
    // 503, then 307 to `other_`, whose 503 sent it back to the detected leader.
    EXPECT_EQ(master_.subscribes.size(), 3u);
    EXPECT_EQ(other_.subscribes.size(), 1u);
    EXPECT_EQ(connection_->master(), master_.address());
  });
}

}  // namespace
}  // namespace tailor::mesos
