#pragma once

// A gtest fixture for code that talks to ZooKeeper: a private server
// (zookeeper_server.hpp) and a real event loop that the test runs on its own
// thread while it waits (runUntil).

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>

#include "common/asio_event_loop.hpp"
#include "common/zookeeper/session.hpp"
#include "tests/common/zookeeper_server.hpp"

namespace tailor::test {

class ZooKeeperFixture : public ::testing::Test {
 protected:
  // A session with the server; null (and a test failure) if it cannot connect.
  std::unique_ptr<zookeeper::Session> connect(Duration retryFor = Duration(5000),
                                              Duration sessionTimeout = Duration(4000)) {
    zookeeper::SessionOptions options;
    options.hosts = server_.hosts();
    options.retryFor = retryFor;
    options.sessionTimeout = sessionTimeout;
    auto session = zookeeper::Session::connect(loop_, options);
    EXPECT_TRUE(session.ok()) << (session.ok() ? "" : session.error().message);
    return session.ok() ? std::move(*session) : nullptr;
  }

  // Runs the loop on this thread until `done` or `timeout`.
  bool runUntil(const std::function<bool()>& done, Duration timeout = Duration(10000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop_.context().run_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  ZooKeeperServer server_;
  AsioEventLoop loop_;
};

}  // namespace tailor::test
