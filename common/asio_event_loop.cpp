#include "common/asio_event_loop.hpp"

#include <boost/asio/post.hpp>

namespace tailor {

AsioEventLoop::AsioEventLoop() : work_(boost::asio::make_work_guard(context_)) {}

AsioEventLoop::~AsioEventLoop() = default;

MonotonicTime AsioEventLoop::now() const { return std::chrono::steady_clock::now(); }

double AsioEventLoop::wallSeconds() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AsioEventLoop::post(std::function<void()> fn) { boost::asio::post(context_, std::move(fn)); }

TimerId AsioEventLoop::runAfter(Duration delay, std::function<void()> fn) {
  TimerId id = nextTimerId_++;
  auto timer = std::make_shared<boost::asio::steady_timer>(context_, delay);
  timer->async_wait([this, id, timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec) {
      return;  // cancelled
    }
    timers_.erase(id);
    fn();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void AsioEventLoop::cancelTimer(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) {
    return;
  }
  it->second->cancel();
  timers_.erase(it);  // the aborted handler still holds the timer
}

void AsioEventLoop::run() { context_.run(); }

void AsioEventLoop::stop() {
  work_.reset();
  context_.stop();
}

}  // namespace tailor
