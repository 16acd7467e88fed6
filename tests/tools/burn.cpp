// tailor-burn: a task of known usage for the measured-usage tests
// (e2e/task_usage.sh). Allocates and touches --mem-mib MiB, then burns CPU
// until its own user + system time reaches --cpu-seconds, holding the memory
// meanwhile, and copies stdin to stdout.
//
//   tailor-burn [--cpu-seconds S] [--mem-mib M] [--hold-ms MS]
//
// --hold-ms keeps the memory for at least that long (so that a sampler sees
// it even with no CPU to burn).

#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "tailor-burn: %s\nusage: tailor-burn [--cpu-seconds S] [--mem-mib M] "
               "[--hold-ms MS] (S, M, MS: numbers >= 0)\n",
               why);
  return 2;
}

bool parseNumber(const char* text, double* value) {
  char* end = nullptr;
  *value = std::strtod(text, &end);
  return end != text && *end == '\0' && *value >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  double cpu = 0;
  double memMib = 0;
  double holdMs = 0;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    double* target = flag == "--cpu-seconds" ? &cpu
                     : flag == "--mem-mib"   ? &memMib
                     : flag == "--hold-ms"   ? &holdMs
                                             : nullptr;
    if (target == nullptr) return usage(("unknown flag " + flag).c_str());
    if (i + 1 >= argc || !parseNumber(argv[i + 1], target)) {
      return usage((flag + " needs a number >= 0").c_str());
    }
    ++i;
  }
  auto started = std::chrono::steady_clock::now();
  size_t bytes = static_cast<size_t>(memMib * 1024 * 1024);
  std::vector<char> memory(bytes);
  // Touch every page so that it is resident.
  for (size_t i = 0; i < bytes; i += 4096) memory[i] = static_cast<char>(i);
  volatile std::uint64_t sink = 0;
  while (cpuSeconds() < cpu) {
    for (int i = 0; i < 100000; ++i) sink = sink * 31 + static_cast<std::uint64_t>(i);
  }
  auto held = std::chrono::steady_clock::now() - started;
  auto hold = std::chrono::duration<double, std::milli>(holdMs);
  if (held < hold) {
    std::this_thread::sleep_for(hold - held);
  }
  std::cout << std::cin.rdbuf();
  std::cout.flush();
  // Read the memory back, so that touching it cannot be optimised away.
  for (size_t i = 0; i < bytes; i += 4096) sink = sink + static_cast<std::uint64_t>(memory[i]);
  return 0;
}
