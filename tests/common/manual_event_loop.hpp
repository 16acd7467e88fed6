#pragma once

// An EventLoop for tests, driven by hand: nothing runs until the test says so
// and time stands still until the test advances it. No threads, no sleeps.
//
//   ManualEventLoop loop;
//   rm.registerTaskManager(request);   // posts a reconcile
//   loop.runPending();                 // runs it
//   loop.advance(Duration(5000));      // fires the idle timer at +5 s
//
// Single-threaded: post() must be called from the test's thread too.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <utility>

#include "common/event_loop.hpp"

namespace tailor::test {

class ManualEventLoop : public EventLoop {
 public:
  // What wallSeconds() returns before the clock is advanced.
  static constexpr double kWallStart = 1'700'000'000.0;

  MonotonicTime now() const override { return now_; }

  double wallSeconds() const override {
    return kWallStart + std::chrono::duration<double>(now_ - MonotonicTime{}).count();
  }

  void post(std::function<void()> fn) override { posted_.push_back(std::move(fn)); }

  TimerId runAfter(Duration delay, std::function<void()> fn) override {
    TimerId id = nextTimerId_++;
    MonotonicTime deadline = now_ + std::max(delay, Duration(0));
    timers_.emplace(Key{deadline, id}, std::move(fn));
    deadlines_.emplace(id, deadline);
    return id;
  }

  void cancelTimer(TimerId id) override {
    auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return;
    timers_.erase(Key{it->second, id});
    deadlines_.erase(it);
  }

  // Runs posted functions, including those they post, until none is left.
  // Returns how many ran.
  std::size_t runPending() {
    std::size_t ran = 0;
    while (!posted_.empty()) {
      auto fn = std::move(posted_.front());
      posted_.pop_front();
      fn();
      ++ran;
    }
    return ran;
  }

  // Moves the clock forward by `by`. Posted work runs first; then every timer
  // due by the new time fires in deadline order (ties: in the order they were
  // set), with the clock at its deadline, and the work it posts runs right
  // after it. Timers set while advancing fire too if they fall due.
  void advance(Duration by) {
    MonotonicTime target = now_ + by;
    runPending();
    while (!timers_.empty() && timers_.begin()->first.deadline <= target) {
      auto it = timers_.begin();
      Key key = it->first;
      auto fn = std::move(it->second);
      timers_.erase(it);
      deadlines_.erase(key.id);
      now_ = key.deadline;
      fn();
      runPending();
    }
    now_ = target;
  }

  // Time passed since the loop was made.
  Duration elapsed() const { return std::chrono::duration_cast<Duration>(now_ - MonotonicTime{}); }

  std::size_t pendingTimers() const { return timers_.size(); }
  std::size_t pendingPosts() const { return posted_.size(); }

 private:
  struct Key {
    MonotonicTime deadline;
    TimerId id;
    bool operator<(const Key& other) const {
      return deadline != other.deadline ? deadline < other.deadline : id < other.id;
    }
  };

  MonotonicTime now_{};
  TimerId nextTimerId_ = 1;
  std::deque<std::function<void()>> posted_;
  std::map<Key, std::function<void()>> timers_;
  std::map<TimerId, MonotonicTime> deadlines_;
};

}  // namespace tailor::test
