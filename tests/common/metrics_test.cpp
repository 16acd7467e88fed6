// The metrics registry and its Prometheus text (exposition format 0.0.4),
// and GET /metrics on a real server.

#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"

namespace tailor::metrics {
namespace {

TEST(MetricsTest, GoldenText) {
  Registry registry;
  registry.counter("tailor_offers_received_total", "Offers received.").inc(3);
  registry
      .counter("tailor_rpc_calls_total", "Calls.",
               {{"service", "TaskManager"}, {"method", "Deploy"}})
      .inc();
  registry
      .counter("tailor_rpc_calls_total", "ignored: the first help stays",
               {{"service", "JobMaster"}, {"method", "Update"}})
      .inc(2.5);
  registry.gauge("tailor_slots", "Slots.\nSecond line with \\.", {{"state", "held"}}).set(4);
  registry.gauge("tailor_slots", "", {{"state", "in_use"}}).set(-1.5);
  Histogram& latency = registry.histogram("tailor_start_seconds", "Start latency.", {0.1, 1},
                                          {{"size", "a\"b\\c\nd"}});
  latency.observe(0.05);
  latency.observe(0.1);  // on a bound: counted in that bucket (le)
  latency.observe(0.5);
  latency.observe(7);
  auto handle = registry.addCollector("tailor_jobs", "Jobs by state.", [](GaugeSamples& samples) {
    samples.add({{"state", "RUNNING"}}, 2);
    samples.add({{"state", "QUEUED"}}, 1);
  });
  auto second = registry.addCollector("tailor_jobs", "", [](GaugeSamples& samples) {
    samples.add({{"state", "RUNNING"}}, 1);
  });
  registry.counter("tailor_unused_total", "Never a series.", {{"a", "b"}});  // a series at 0

  EXPECT_EQ(registry.exposition(),
            "# HELP tailor_jobs Jobs by state.\n"
            "# TYPE tailor_jobs gauge\n"
            "tailor_jobs{state=\"QUEUED\"} 1\n"
            "tailor_jobs{state=\"RUNNING\"} 3\n"
            "# HELP tailor_offers_received_total Offers received.\n"
            "# TYPE tailor_offers_received_total counter\n"
            "tailor_offers_received_total 3\n"
            "# HELP tailor_rpc_calls_total Calls.\n"
            "# TYPE tailor_rpc_calls_total counter\n"
            "tailor_rpc_calls_total{service=\"JobMaster\",method=\"Update\"} 2.5\n"
            "tailor_rpc_calls_total{service=\"TaskManager\",method=\"Deploy\"} 1\n"
            "# HELP tailor_slots Slots.\\nSecond line with \\\\.\n"
            "# TYPE tailor_slots gauge\n"
            "tailor_slots{state=\"held\"} 4\n"
            "tailor_slots{state=\"in_use\"} -1.5\n"
            "# HELP tailor_start_seconds Start latency.\n"
            "# TYPE tailor_start_seconds histogram\n"
            "tailor_start_seconds_bucket{size=\"a\\\"b\\\\c\\nd\",le=\"0.1\"} 2\n"
            "tailor_start_seconds_bucket{size=\"a\\\"b\\\\c\\nd\",le=\"1\"} 3\n"
            "tailor_start_seconds_bucket{size=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 4\n"
            "tailor_start_seconds_sum{size=\"a\\\"b\\\\c\\nd\"} 7.65\n"
            "tailor_start_seconds_count{size=\"a\\\"b\\\\c\\nd\"} 4\n"
            "# HELP tailor_unused_total Never a series.\n"
            "# TYPE tailor_unused_total counter\n"
            "tailor_unused_total{a=\"b\"} 0\n");

  // A collector gone: its samples go with it; none left: no family.
  second.reset();
  EXPECT_NE(registry.exposition().find("tailor_jobs{state=\"RUNNING\"} 2\n"), std::string::npos);
  handle.reset();
  EXPECT_EQ(registry.exposition().find("tailor_jobs"), std::string::npos);
}

TEST(MetricsTest, SeriesAreCreatedOnceAndCountersOnlyGoUp) {
  Registry registry;
  Counter& a = registry.counter("c_total", "c", {{"k", "v"}});
  Counter& b = registry.counter("c_total", "c", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  a.inc();
  b.inc(-5);            // ignored
  b.inc(std::nan(""));  // ignored
  EXPECT_EQ(a.value(), 1);
  Gauge& g = registry.gauge("g", "g");
  g.add(2);
  g.add(-3);
  EXPECT_EQ(g.value(), -1);
  EXPECT_EQ(registry.exposition().find("# HELP empty"), std::string::npos);
}

TEST(MetricsTest, ValuesAndLabelsAreWrittenAsTheFormatWants) {
  EXPECT_EQ(formatValue(0), "0");
  EXPECT_EQ(formatValue(42), "42");
  EXPECT_EQ(formatValue(0.25), "0.25");
  EXPECT_EQ(formatValue(1e20), "1e+20");
  EXPECT_EQ(formatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatValue(std::nan("")), "NaN");
  EXPECT_EQ(escapeLabelValue("plain"), "plain");
  EXPECT_EQ(escapeLabelValue("q\"b\\n\n"), "q\\\"b\\\\n\\n");
  EXPECT_EQ(sizeLabels(0.5, 512), (Labels{{"cpus", "0.5"}, {"mem_mib", "512"}}));
  EXPECT_EQ(sizeLabels(2, 4096), (Labels{{"cpus", "2"}, {"mem_mib", "4096"}}));
}

TEST(MetricsTest, CountsFromManyThreadsAddUp) {
  Registry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry, t] {
      for (int i = 0; i < 1000; ++i) {
        registry.counter("n_total", "n", {{"thread", std::to_string(t % 2)}}).inc();
        registry.histogram("h_seconds", "h", latencyBuckets()).observe(0.01);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(registry.counter("n_total", "n", {{"thread", "0"}}).value(), 2000);
  EXPECT_EQ(registry.counter("n_total", "n", {{"thread", "1"}}).value(), 2000);
  auto snapshot = registry.histogram("h_seconds", "h", latencyBuckets()).snapshot();
  EXPECT_EQ(snapshot.count, 4000u);
  EXPECT_EQ(snapshot.cumulative.back(), 4000u);
}

TEST(MetricsTest, ServedOnGetMetricsWithTheFormatsContentType) {
  Registry registry;
  registry.counter("tailor_x_total", "x").inc();
  AsioEventLoop loop;
  http::Server server(loop, "127.0.0.1", 0);
  serveMetrics(server, registry);
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  std::thread thread([&loop] { loop.run(); });
  http::ClientRequest request;
  request.method = "GET";
  request.url = "http://127.0.0.1:" + std::to_string(*port) + "/metrics";
  auto answer = http::performBlocking(request);
  http::ClientRequest other = request;
  other.url += "/more";
  auto missing = http::performBlocking(other);
  loop.post([&server] { server.stop(); });
  loop.stop();
  thread.join();
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body,
            "# HELP tailor_x_total x\n# TYPE tailor_x_total counter\ntailor_x_total 1\n");
  EXPECT_EQ(answer->headers.count("content-type") ? answer->headers.at("content-type") : "",
            "text/plain; version=0.0.4; charset=utf-8");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

}  // namespace
}  // namespace tailor::metrics
