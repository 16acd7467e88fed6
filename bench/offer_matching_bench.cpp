// The cost of one offer-matching round (mesos/offer_matcher.hpp)
// and how it grows with the number of offers. See bench/README.md.
//
// Inputs (fixed seed, generated outside the timed part): offers from agents of
// 8-64 CPUs (2% with GPUs), each offer a random 10-100% share of its agent,
// Mesos' default port range with some ports in use; pending TaskManagers as
// the tailored sizing makes them (1-4 slots of a few profiles, plus executor
// overhead), 2% with a GPU, 1-2 ports.
//
//   BM_MatchRound/OFFERS/PENDING  one matchOffers call per iteration; counters
//                                 placed, unplaced, unused (offers)
//   BM_Growth                     each iteration times one round at 10000,
//                                 20000 and 40000 offers (5000 pending), in
//                                 rotating order, so the three are sampled
//                                 under the same machine load. Counters:
//     t10k_ms, t20k_ms, t40k_ms   median round time
//     ratio_20k_10k               t20k_ms / t10k_ms (linear growth: ~2)
//     ratio_40k_20k               t40k_ms / t20k_ms (linear growth: ~2)

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "mesos/offer_matcher.hpp"

namespace tailor::bench {
namespace {

using mesos::matchOffers;
using mesos::MatchResult;
using mesos::OfferView;
using mesos::PendingTaskManager;
using mesos::PortRange;

struct Round {
  std::vector<OfferView> offers;
  std::vector<PendingTaskManager> pending;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  // Plain modulo: the same inputs with every standard library.
  std::int64_t pick(std::int64_t n) { return static_cast<std::int64_t>(rng_() % n); }
  // A percentage in [low, 100].
  std::int64_t share(std::int64_t low) { return low + pick(101 - low); }

 private:
  std::mt19937_64 rng_;
};

struct AgentType {
  std::int64_t cpus, memMib, diskMib, gpus;
  std::int64_t weight;  // out of 100
};

constexpr std::array<AgentType, 5> kAgentTypes = {{
    {8, 32768, 200000, 0, 30},
    {16, 65536, 400000, 0, 35},
    {32, 131072, 800000, 0, 25},
    {64, 262144, 1600000, 0, 8},
    {32, 131072, 800000, 4, 2},
}};

OfferView makeOffer(Generator& gen, size_t index) {
  std::int64_t roll = gen.pick(100);
  const AgentType* type = &kAgentTypes.back();
  for (const AgentType& t : kAgentTypes) {
    if (roll < t.weight) {
      type = &t;
      break;
    }
    roll -= t.weight;
  }
  // What other frameworks have not taken: cpus in tenths, memory in 256 MiB steps.
  std::int64_t milliCpus = type->cpus * 1000 * gen.share(10) / 100 / 100 * 100;
  std::int64_t memMib = type->memMib * gen.share(10) / 100 / 256 * 256;
  std::int64_t diskMib = type->diskMib * gen.share(10) / 100;
  std::int64_t gpus = type->gpus * gen.share(0) / 100;
  // [31000-32000] with up to 4 ports in use, cut out as gaps.
  std::vector<PortRange> ports;
  std::uint64_t begin = 31000;
  for (std::int64_t used = gen.pick(5); used > 0; --used) {
    std::uint64_t hole = begin + static_cast<std::uint64_t>(gen.pick(200));
    if (hole > begin) ports.push_back(PortRange{begin, hole - 1});
    begin = hole + 1;
  }
  ports.push_back(PortRange{begin, 32000});
  // About 1.2 offers per agent.
  size_t agent = index * 5 / 6;
  return OfferView{fmt::format("a4c5e1c0-1d2b-4b7e-9f00-3c1d2e4f5a6b-O{}", index),
                   fmt::format("7f3e0c1a-8b2d-4c5e-a6f7-0b1c2d3e4f5a-S{}", agent),
                   fmt::format("agent-{}.cluster.local", agent),
                   Resources{milliCpus, memMib, diskMib, gpus}, std::move(ports)};
}

PendingTaskManager makePending(Generator& gen, size_t index) {
  // Slot profiles (milliCpus, MiB) as jobs declare them.
  constexpr std::array<std::pair<std::int64_t, std::int64_t>, 7> kProfiles = {{
      {250, 256},
      {500, 512},
      {1000, 1024},
      {1000, 2048},
      {2000, 4096},
      {4000, 8192},
      {4000, 16384},
  }};
  const auto& profile = kProfiles[static_cast<size_t>(gen.pick(kProfiles.size()))];
  std::int64_t slots = 1 + gen.pick(4);
  // Executor overhead: 0.1 cpus, 32 MiB.
  Resources resources{100 + profile.first * slots, 32 + profile.second * slots,
                      slots * 512 * gen.pick(3), gen.pick(50) == 0 ? 1 : 0};
  return PendingTaskManager{fmt::format("tm-{}", index), resources, gen.pick(5) == 0 ? 2 : 1};
}

// The inputs of one round, made once per size.
const Round& roundOf(size_t offers, size_t pending) {
  static std::map<std::pair<size_t, size_t>, Round> rounds;
  auto [it, inserted] = rounds.try_emplace({offers, pending});
  if (inserted) {
    Generator gen(20261121);
    for (size_t i = 0; i < offers; ++i) it->second.offers.push_back(makeOffer(gen, i));
    for (size_t i = 0; i < pending; ++i) it->second.pending.push_back(makePending(gen, i));
  }
  return it->second;
}

void BM_MatchRound(benchmark::State& state) {
  const Round& round =
      roundOf(static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)));
  MatchResult result;
  for (auto _ : state) {
    result = matchOffers(round.offers, round.pending);
    benchmark::DoNotOptimize(result);
  }
  state.counters["placed"] = static_cast<double>(result.placements.size());
  state.counters["unplaced"] = static_cast<double>(result.unplacedTaskManagerIds.size());
  state.counters["unused"] = static_cast<double>(result.unusedOfferIds.size());
}
BENCHMARK(BM_MatchRound)
    ->Args({1000, 500})
    ->Args({10000, 5000})
    ->Args({20000, 5000})
    ->Args({40000, 5000})
    ->Unit(benchmark::kMillisecond);

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

void BM_Growth(benchmark::State& state) {
  constexpr std::array<size_t, 3> kOffers = {10000, 20000, 40000};
  std::array<const Round*, 3> rounds{};
  for (size_t i = 0; i < kOffers.size(); ++i) rounds[i] = &roundOf(kOffers[i], 5000);
  std::array<std::vector<double>, 3> samples;
  size_t rotation = 0;
  for (auto _ : state) {
    for (size_t k = 0; k < kOffers.size(); ++k) {
      size_t i = (rotation + k) % kOffers.size();
      auto start = std::chrono::steady_clock::now();
      MatchResult result = matchOffers(rounds[i]->offers, rounds[i]->pending);
      benchmark::DoNotOptimize(result);
      samples[i].push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    ++rotation;
  }
  double t10k = median(samples[0]), t20k = median(samples[1]), t40k = median(samples[2]);
  state.counters["t10k_ms"] = t10k;
  state.counters["t20k_ms"] = t20k;
  state.counters["t40k_ms"] = t40k;
  state.counters["ratio_20k_10k"] = t10k > 0 ? t20k / t10k : 0;
  state.counters["ratio_40k_20k"] = t20k > 0 ? t40k / t20k : 0;
}
BENCHMARK(BM_Growth)->Unit(benchmark::kMillisecond)->Iterations(30);

}  // namespace
}  // namespace tailor::bench

BENCHMARK_MAIN();
