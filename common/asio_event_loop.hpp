#pragma once

// The real EventLoop, on a Boost.Asio io_context. This is the one header that
// includes Asio for the project's logic code.

// <utility> first: Boost 1.74's awaitable.hpp uses std::exchange without it.
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>

#include "common/event_loop.hpp"

namespace tailor {

class AsioEventLoop : public EventLoop {
 public:
  AsioEventLoop();
  ~AsioEventLoop() override;

  MonotonicTime now() const override;
  double wallSeconds() const override;
  void post(std::function<void()> fn) override;
  TimerId runAfter(Duration delay, std::function<void()> fn) override;
  void cancelTimer(TimerId id) override;

  // Runs handlers on the calling thread until stop() is called.
  void run();
  // Makes run() return. Thread-safe.
  void stop();

  boost::asio::io_context& context() { return context_; }

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  TimerId nextTimerId_ = 1;
  // A timer's handler holds it too, so cancelling never frees it under Asio.
  std::map<TimerId, std::shared_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace tailor
