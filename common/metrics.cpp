#include "common/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/http/server.hpp"

namespace tailor::metrics {

void Counter::inc(double amount) {
  if (!(amount > 0)) return;
  value_.fetch_add(amount);
}

void Gauge::add(double amount) { value_.fetch_add(amount); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                      bounds_.begin());
  std::lock_guard<std::mutex> lock(mutex_);
  counts_[bucket] += 1;
  sum_ += value;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t total = 0;
  for (std::uint64_t count : counts_) {
    total += count;
    snapshot.cumulative.push_back(total);
  }
  snapshot.sum = sum_;
  snapshot.count = total;
  return snapshot;
}

const std::vector<double>& latencyBuckets() {
  static const std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,      2.5,   5,    10,    30,   60};
  return buckets;
}

CollectorHandle& CollectorHandle::operator=(CollectorHandle&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = other.registry_;
    id_ = other.id_;
    other.registry_ = nullptr;
  }
  return *this;
}

void CollectorHandle::reset() {
  if (registry_ != nullptr) registry_->removeCollector(id_);
  registry_ = nullptr;
}

Registry::Family& Registry::family(const std::string& name, Type type, const std::string& help) {
  auto [it, created] = families_.try_emplace(name);
  if (created) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    // One name, two types: a bug in the code that names metrics.
    std::abort();
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& series = family(name, Type::kCounter, help).counters[labels];
  if (!series) series = std::make_unique<Counter>();
  return *series;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& series = family(name, Type::kGauge, help).gauges[labels];
  if (!series) series = std::make_unique<Gauge>();
  return *series;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = this->family(name, Type::kHistogram, help);
  if (family.bounds.empty()) family.bounds = bounds;
  auto& series = family.histograms[labels];
  if (!series) series = std::make_unique<Histogram>(family.bounds);
  return *series;
}

CollectorHandle Registry::addCollector(const std::string& name, const std::string& help,
                                       Collector collect) {
  std::lock_guard<std::mutex> lock(collectorsMutex_);
  std::uint64_t id = nextCollector_++;
  collectors_.emplace(id, CollectorEntry{name, help, std::move(collect)});
  return CollectorHandle(this, id);
}

void Registry::removeCollector(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(collectorsMutex_);
  collectors_.erase(id);
}

std::string formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<std::int64_t>(value));
  }
  return fmt::format("{}", value);  // shortest text that reads back the same
}

std::string escapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Labels sizeLabels(double cpus, double memMib) {
  return {{"cpus", fmt::format("{}", cpus)}, {"mem_mib", formatValue(memMib)}};
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

namespace {

std::string escapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} with `extra` (name, value) last; "" without any label.
std::string labelText(const Labels& labels,
                      const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!first) out += ",";
    first = false;
    out += name + "=\"" + escapeLabelValue(value) + "\"";
  };
  for (const auto& [name, value] : labels) add(name, value);
  if (extra != nullptr) add(extra->first, extra->second);
  return out + "}";
}

void writeHead(std::string& out, const std::string& name, const std::string& help,
               const char* type) {
  out += "# HELP " + name + " " + escapeHelp(help) + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string Registry::exposition() const {
  // Collectors first (they may count into families), outside mutex_.
  struct Collected {
    std::string help;
    GaugeSamples samples;
  };
  std::map<std::string, Collected> collected;
  {
    std::lock_guard<std::mutex> lock(collectorsMutex_);
    for (const auto& [id, entry] : collectors_) {
      Collected& family = collected[entry.name];
      if (family.help.empty()) family.help = entry.help;
      entry.collect(family.samples);
    }
  }
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  auto collectedIt = collected.begin();
  auto writeCollected = [&out](const std::string& name, const Collected& family) {
    if (family.samples.values().empty()) return;
    writeHead(out, name, family.help, "gauge");
    for (const auto& [labels, value] : family.samples.values()) {
      out += name + labelText(labels) + " " + formatValue(value) + "\n";
    }
  };
  for (const auto& [name, family] : families_) {
    while (collectedIt != collected.end() && collectedIt->first < name) {
      writeCollected(collectedIt->first, collectedIt->second);
      ++collectedIt;
    }
    if (collectedIt != collected.end() && collectedIt->first == name) ++collectedIt;  // taken
    switch (family.type) {
      case Type::kCounter:
        if (family.counters.empty()) break;
        writeHead(out, name, family.help, "counter");
        for (const auto& [labels, series] : family.counters) {
          out += name + labelText(labels) + " " + formatValue(series->value()) + "\n";
        }
        break;
      case Type::kGauge:
        if (family.gauges.empty()) break;
        writeHead(out, name, family.help, "gauge");
        for (const auto& [labels, series] : family.gauges) {
          out += name + labelText(labels) + " " + formatValue(series->value()) + "\n";
        }
        break;
      case Type::kHistogram:
        if (family.histograms.empty()) break;
        writeHead(out, name, family.help, "histogram");
        for (const auto& [labels, series] : family.histograms) {
          Histogram::Snapshot snapshot = series->snapshot();
          for (size_t i = 0; i <= snapshot.bounds.size(); ++i) {
            std::pair<std::string, std::string> le{
                "le", i < snapshot.bounds.size() ? formatValue(snapshot.bounds[i]) : "+Inf"};
            out += name + "_bucket" + labelText(labels, &le) + " " +
                   std::to_string(snapshot.cumulative[i]) + "\n";
          }
          out += name + "_sum" + labelText(labels) + " " + formatValue(snapshot.sum) + "\n";
          out += name + "_count" + labelText(labels) + " " + std::to_string(snapshot.count) + "\n";
        }
        break;
    }
  }
  for (; collectedIt != collected.end(); ++collectedIt) {
    writeCollected(collectedIt->first, collectedIt->second);
  }
  return out;
}

Registry& defaultRegistry() {
  static Registry registry;
  return registry;
}

void serveMetrics(http::Server& server, const Registry& registry) {
  server.route("GET", "/metrics",
               [&registry](const http::Request& request, http::Responder respond) {
                 if (request.path != "/metrics") {
                   respond(http::Response::text(404, "no route for GET " + request.path + "\n"));
                   return;
                 }
                 http::Response response;
                 response.contentType = "text/plain; version=0.0.4; charset=utf-8";
                 response.body = registry.exposition();
                 respond(std::move(response));
               });
}

}  // namespace tailor::metrics
