#pragma once

// The single thread of control of a component. All state of a component is
// touched only from its loop; I/O completions and timers are posted back to
// it. Time is read from the loop so tests can drive it with a fake clock
// (tests/common/manual_event_loop.hpp).

#include <chrono>
#include <cstdint>
#include <functional>

namespace tailor {

using Duration = std::chrono::milliseconds;
using MonotonicTime = std::chrono::steady_clock::time_point;

// Reads time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time, for timeouts and durations.
  virtual MonotonicTime now() const = 0;

  // Seconds since the Unix epoch, for reports and records shown to users.
  virtual double wallSeconds() const = 0;
};

using TimerId = std::uint64_t;

class EventLoop : public Clock {
 public:
  // Runs `fn` on the loop thread, after the current handler. Thread-safe.
  virtual void post(std::function<void()> fn) = 0;

  // Runs `fn` on the loop thread once `delay` has passed. Loop thread only.
  // The returned id can be passed to cancelTimer() until the timer fires.
  virtual TimerId runAfter(Duration delay, std::function<void()> fn) = 0;

  // Cancels a pending timer; a no-op for a timer that fired or was cancelled.
  virtual void cancelTimer(TimerId id) = 0;
};

}  // namespace tailor
