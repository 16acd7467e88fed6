#pragma once

// Metrics: counters, gauges and histograms with label sets, and their text in
// the Prometheus exposition format 0.0.4 (docs/observability.md, "Metrics").
//
// A series is created on first use: registry.counter(name, help, labels)
// returns the one series of that family with those label values, and the
// reference stays valid as long as the registry. Label sets must be bounded
// (sizes, states, RPC methods; never attempt ids).
//
// Threading: every method may be called from any thread. Families and series
// are created under one mutex; a series' value is updated under its own
// (counters and gauges: atomics). Collectors run on the thread that calls
// exposition(), one at a time.
//
// A process has one registry, defaultRegistry(): each binary serves it on
// GET /metrics (serveMetrics). Components count into it directly instead of
// having a registry passed through every constructor; tests read values with
// value()/exposition() or use a Registry of their own.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tailor::http {
class Server;
}

namespace tailor::metrics {

// Label names and values, in the order the family is always given them.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  // Adds `amount` (>= 0; a negative amount is ignored: counters only go up).
  void inc(double amount = 1);
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value); }
  void add(double amount);
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;           // guards counts_ and sum_
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative), then +Inf
  double sum_ = 0;
};

// Bucket bounds in seconds for latencies from a millisecond to a minute.
const std::vector<double>& latencyBuckets();

// What a collector reports at exposition time: gauge samples, summed when
// several collectors report the same labels (e.g. a session's JobMasters).
class GaugeSamples {
 public:
  void add(const Labels& labels, double value) { values_[labels] += value; }
  const std::map<Labels, double>& values() const { return values_; }

 private:
  std::map<Labels, double> values_;
};

using Collector = std::function<void(GaugeSamples&)>;

class Registry;

// Unregisters its collector when destroyed (or reset).
class CollectorHandle {
 public:
  CollectorHandle() = default;
  CollectorHandle(Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
  ~CollectorHandle() { reset(); }
  CollectorHandle(CollectorHandle&& other) noexcept { *this = std::move(other); }
  CollectorHandle& operator=(CollectorHandle&& other) noexcept;
  CollectorHandle(const CollectorHandle&) = delete;
  CollectorHandle& operator=(const CollectorHandle&) = delete;
  void reset();

 private:
  Registry* registry_ = nullptr;
  std::uint64_t id_ = 0;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series of family `name` with `labels`, created on first use. The
  // first call's `help` (and a histogram's `bounds`) stay. A name used
  // with two types is a bug and aborts.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});

  // A gauge family whose samples `collect` reports each time the text is
  // made (a value owned by a component's loop: the text is made on the loop
  // thread of the process' HTTP server). Several collectors may report the
  // same family. `collect` must not add or remove collectors.
  [[nodiscard]] CollectorHandle addCollector(const std::string& name, const std::string& help,
                                             Collector collect);

  // The text exposition format 0.0.4: families sorted by name, series by
  // labels; families without a series are left out.
  std::string exposition() const;

 private:
  friend class CollectorHandle;
  void removeCollector(std::uint64_t id);

  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  struct CollectorEntry {
    std::string name;
    std::string help;
    Collector collect;
  };
  Family& family(const std::string& name, Type type, const std::string& help);

  mutable std::mutex mutex_;  // guards families_
  std::map<std::string, Family> families_;
  mutable std::mutex collectorsMutex_;  // guards collectors_; held while they run
  std::map<std::uint64_t, CollectorEntry> collectors_;
  std::uint64_t nextCollector_ = 1;
};

// The process' registry.
Registry& defaultRegistry();

// A sample value as the format writes it: integers without a fraction,
// "+Inf", "-Inf", "NaN".
std::string formatValue(double value);

// A label value with \, " and newline escaped.
std::string escapeLabelValue(const std::string& value);

// GET /metrics on `server`: `registry`'s text, Content-Type
// "text/plain; version=0.0.4; charset=utf-8". Call before the server starts.
void serveMetrics(http::Server& server, const Registry& registry = defaultRegistry());

// The labels of a TaskManager size: cpus="0.5",mem_mib="512".
Labels sizeLabels(double cpus, double memMib);

// Seconds since `start` on the steady clock (latencies of calls and RPCs).
double secondsSince(std::chrono::steady_clock::time_point start);

}  // namespace tailor::metrics
