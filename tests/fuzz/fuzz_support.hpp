#pragma once

// What the fuzz targets share: reading the fuzzer's bytes from the front and
// stopping loudly when an invariant breaks. libFuzzer keeps the input of any
// crash, so a broken invariant traps instead of returning.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace tailor::fuzz {

// The input of one run, consumed from the front: a few bytes that choose what
// to do, then the body under test.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  // The next byte; 0 once the input is used up (short inputs stay valid).
  std::uint8_t byte() {
    if (rest_.empty()) return 0;
    auto value = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return value;
  }

  // Everything not consumed yet.
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

// Prints what broke and traps: the fuzzer records the input as a crash.
[[noreturn]] inline void fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()),
               what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  __builtin_trap();
}

inline void check(bool holds, std::string_view what, std::string_view detail = {}) {
  if (!holds) fail(what, detail);
}

// Turns Tailor's logging off: a log line per run would cost more than the
// code under test and flood the fuzzer's output. Call from
// LLVMFuzzerInitialize, before any logger is made.
void quietLogs();

}  // namespace tailor::fuzz
