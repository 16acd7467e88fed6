#pragma once

// Shared pieces of the Google Benchmark binaries: a temporary directory, an
// in-process TaskManager component serving on loopback, a tiny JobMaster RPC
// endpoint, sample statistics and a main() that routes logs to a file.

// <utility> first: asio_event_loop.hpp includes Asio (see DESIGN.md).
#include <utility>

#include "common/asio_event_loop.hpp"

#include <benchmark/benchmark.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/logging.hpp"
#include "common/rpc.hpp"
#include "executor/task_manager.hpp"

namespace tailor::bench {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return std::chrono::duration<double>(end - start).count();
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An AsioEventLoop running on its own thread once started.
class LoopThread {
 public:
  ~LoopThread() { stop(); }
  AsioEventLoop& loop() { return loop_; }
  void start() {
    thread_ = std::thread([this] { loop_.run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    loop_.stop();
    thread_.join();
  }

 private:
  AsioEventLoop loop_;
  std::thread thread_;
};

// A TaskManager component as tailor-taskmanager composes it (see
// executor/main.cpp): its own loop thread, HTTP server on 127.0.0.1, a curl
// client with 2 workers for its outgoing RPCs. It is not registered with any
// ResourceManager (start() is never called): deploys and partition GETs work
// without registration.
class InProcessTaskManager {
 public:
  InProcessTaskManager(const std::string& id, const std::string& workDir)
      : httpClient_(loopThread_.loop(), 2),
        httpServer_(loopThread_.loop(), "127.0.0.1", 0),
        rpcServer_(httpServer_),
        rpcClient_(httpClient_),
        taskManager_(loopThread_.loop(), httpServer_, rpcClient_,
                     executor::TaskManagerConfig{.id = id,
                                                 .resourceManagerAddress = "127.0.0.1:1",
                                                 .resources = Resources(),
                                                 .workDir = workDir},
                     [](int) {}) {
    taskManager_.addRoutes(rpcServer_);
    auto port = httpServer_.start();
    if (!port.ok()) {
      std::fprintf(stderr, "TaskManager server: %s\n", port.error().message.c_str());
      std::abort();
    }
    address_ = "127.0.0.1:" + std::to_string(*port);
    loopThread_.start();
  }
  ~InProcessTaskManager() { loopThread_.stop(); }

  const std::string& address() const { return address_; }

 private:
  // Declaration order is construction order; the loop stops first in the
  // destructor, then members go in reverse.
  LoopThread loopThread_;
  http::CurlHttpClient httpClient_;
  http::Server httpServer_;
  rpc::Server rpcServer_;
  rpc::Client rpcClient_;
  executor::TaskManager taskManager_;
  std::string address_;
};

inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  double rank = p * static_cast<double>(values.size() - 1);
  auto low = static_cast<size_t>(rank);
  size_t high = std::min(low + 1, values.size() - 1);
  double fraction = rank - static_cast<double>(low);
  return values[low] + (values[high] - values[low]) * fraction;
}

inline double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

// Routes the components' logs (info, like a real TaskManager) to a file in a
// temporary directory, then runs the benchmarks.
inline int runBenchmarks(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir logDir("tailor-bench-log");
  std::string error;
  if (!configureLogging(LogConfig{"info", logDir.path() + "/bench.log"}, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace tailor::bench
