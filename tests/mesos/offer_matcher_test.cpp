#include "mesos/offer_matcher.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/common/builders.hpp"

namespace tailor::mesos {

// Lets gtest print placements in failure messages.
void PrintTo(const Placement& p, std::ostream* os) {
  *os << fmt::format("{} -> {} @ {} ports [{}]", p.taskManagerId, p.offerId, p.agentId,
                     fmt::join(p.ports, ","));
}

namespace {

using test::res;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::uint64_t kMaxPort = std::numeric_limits<std::uint64_t>::max();

// --- builders and printers ---

OfferView offer(const std::string& id, const Resources& resources,
                std::vector<PortRange> ports = {{31000, 31009}}, const std::string& agentId = "") {
  return OfferView{id, agentId.empty() ? "agent-" + id : agentId, "host-" + id, resources,
                   std::move(ports)};
}

PendingTaskManager tm(const std::string& id, const Resources& resources, int portsNeeded = 1) {
  return PendingTaskManager{id, resources, portsNeeded};
}

::testing::Matcher<const Placement&> placedOn(const std::string& taskManagerId,
                                              const std::string& offerId,
                                              std::vector<std::uint64_t> ports) {
  return ::testing::AllOf(
      ::testing::Field("taskManagerId", &Placement::taskManagerId, taskManagerId),
      ::testing::Field("offerId", &Placement::offerId, offerId),
      ::testing::Field("ports", &Placement::ports, ports));
}

std::string describe(const MatchResult& result) {
  std::string out;
  for (const Placement& p : result.placements) {
    std::ostringstream line;
    PrintTo(p, &line);
    out += line.str() + "\n";
  }
  out += fmt::format("unused: {}\nunplaced: {}\n", fmt::join(result.unusedOfferIds, ","),
                     fmt::join(result.unplacedTaskManagerIds, ","));
  return out;
}

// Which offer each TM went to, by TM id.
std::map<std::string, std::string> targets(const MatchResult& result) {
  std::map<std::string, std::string> out;
  for (const Placement& p : result.placements) out[p.taskManagerId] = p.offerId;
  return out;
}

// Every port an offer holds (test offers hold few).
std::set<std::uint64_t> portsOf(const OfferView& offer) {
  std::set<std::uint64_t> ports;
  for (const PortRange& range : offer.ports) {
    for (std::uint64_t port = range.begin; port <= range.end && range.begin <= range.end; ++port) {
      ports.insert(port);
      if (port == kMaxPort) break;
    }
  }
  return ports;
}

bool hasNegative(const PendingTaskManager& pending) {
  const Resources& r = pending.resources;
  return r.milliCpus < 0 || r.memMib < 0 || r.diskMib < 0 || r.gpus < 0 || pending.portsNeeded < 0;
}

// A brute-force matcher written from the contract in offer_matcher.hpp: every
// TM (larger first) scans every offer. The oracle for the generated cases.
MatchResult referenceMatch(const std::vector<OfferView>& offers,
                           const std::vector<PendingTaskManager>& pending) {
  auto sizeKey = [](const Resources& r) {
    return std::make_tuple(r.gpus, r.milliCpus, r.memMib, r.diskMib);
  };
  std::vector<Resources> left;
  std::vector<std::set<std::uint64_t>> freePorts;
  for (const OfferView& o : offers) {
    left.push_back(o.resources);
    freePorts.push_back(portsOf(o));
  }
  std::vector<size_t> order(pending.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto ka = std::make_tuple(sizeKey(pending[a].resources), pending[a].portsNeeded);
    auto kb = std::make_tuple(sizeKey(pending[b].resources), pending[b].portsNeeded);
    if (ka != kb) return ka > kb;
    return std::tie(pending[a].taskManagerId, a) < std::tie(pending[b].taskManagerId, b);
  });

  MatchResult result;
  std::vector<bool> used(offers.size()), placed(pending.size());
  for (size_t t : order) {
    const PendingTaskManager& p = pending[t];
    if (hasNegative(p)) continue;
    auto needPorts = static_cast<size_t>(p.portsNeeded);
    int best = -1;
    auto keyOf = [&](size_t o) {
      Resources after = left[o] - p.resources;
      return std::make_tuple(sizeKey(after), freePorts[o].size() - needPorts, offers[o].offerId, o);
    };
    for (size_t o = 0; o < offers.size(); ++o) {
      if (!left[o].contains(p.resources) || freePorts[o].size() < needPorts) continue;
      if (best < 0 || keyOf(o) < keyOf(static_cast<size_t>(best))) best = static_cast<int>(o);
    }
    if (best < 0) continue;
    auto o = static_cast<size_t>(best);
    left[o] -= p.resources;
    std::vector<std::uint64_t> ports;
    for (size_t i = 0; i < needPorts; ++i) {
      ports.push_back(*freePorts[o].begin());
      freePorts[o].erase(freePorts[o].begin());
    }
    used[o] = true;
    placed[t] = true;
    result.placements.push_back(
        Placement{p.taskManagerId, offers[o].offerId, offers[o].agentId, std::move(ports)});
  }
  for (size_t o = 0; o < offers.size(); ++o) {
    if (!used[o]) result.unusedOfferIds.push_back(offers[o].offerId);
  }
  for (size_t t = 0; t < pending.size(); ++t) {
    if (!placed[t]) result.unplacedTaskManagerIds.push_back(pending[t].taskManagerId);
  }
  return result;
}

// The guarantees of matchOffers that hold whatever the policy: nothing
// over-committed, ports distinct and offered, every TM placed once or
// unplaced, unused offers exactly those without placements, and no unplaced
// TM fits what is left of any offer.
::testing::AssertionResult consistent(const std::vector<OfferView>& offers,
                                      const std::vector<PendingTaskManager>& pending,
                                      const MatchResult& result) {
  std::map<std::string, size_t> offerIndex, tmIndex;
  for (size_t i = 0; i < offers.size(); ++i) offerIndex[offers[i].offerId] = i;
  for (size_t i = 0; i < pending.size(); ++i) tmIndex[pending[i].taskManagerId] = i;

  std::vector<Resources> placedOn(offers.size());
  std::vector<std::set<std::uint64_t>> portsGiven(offers.size());
  std::vector<int> timesSeen(pending.size(), 0);
  std::vector<bool> used(offers.size(), false);
  for (const Placement& p : result.placements) {
    auto o = offerIndex.find(p.offerId);
    auto t = tmIndex.find(p.taskManagerId);
    if (o == offerIndex.end() || t == tmIndex.end()) {
      return ::testing::AssertionFailure()
             << "unknown ids in " << p.taskManagerId << " -> " << p.offerId;
    }
    const OfferView& offer = offers[o->second];
    const PendingTaskManager& want = pending[t->second];
    if (p.agentId != offer.agentId) {
      return ::testing::AssertionFailure() << p.taskManagerId << " has the wrong agent id";
    }
    if (hasNegative(want)) {
      return ::testing::AssertionFailure() << p.taskManagerId << " is invalid but placed";
    }
    timesSeen[t->second] += 1;
    used[o->second] = true;
    placedOn[o->second] += want.resources;
    if (p.ports.size() != static_cast<size_t>(want.portsNeeded) ||
        !std::is_sorted(p.ports.begin(), p.ports.end())) {
      return ::testing::AssertionFailure()
             << p.taskManagerId << " got ports [" << fmt::format("{}", fmt::join(p.ports, ","))
             << "] for " << want.portsNeeded << " needed";
    }
    std::set<std::uint64_t> offered = portsOf(offer);
    for (std::uint64_t port : p.ports) {
      if (offered.count(port) == 0) {
        return ::testing::AssertionFailure() << "port " << port << " not in " << p.offerId;
      }
      if (!portsGiven[o->second].insert(port).second) {
        return ::testing::AssertionFailure()
               << "port " << port << " of " << p.offerId << " given twice";
      }
    }
  }
  for (size_t o = 0; o < offers.size(); ++o) {
    if (!offers[o].resources.contains(placedOn[o])) {
      return ::testing::AssertionFailure()
             << offers[o].offerId << " over-committed: placed " << placedOn[o].toString() << " on "
             << offers[o].resources.toString();
    }
  }

  std::vector<std::string> expectUnused;
  for (size_t o = 0; o < offers.size(); ++o) {
    if (!used[o]) expectUnused.push_back(offers[o].offerId);
  }
  if (result.unusedOfferIds != expectUnused) {
    return ::testing::AssertionFailure()
           << "unused offers [" << fmt::format("{}", fmt::join(result.unusedOfferIds, ","))
           << "], expected [" << fmt::format("{}", fmt::join(expectUnused, ",")) << "]";
  }

  std::vector<std::string> expectUnplaced;
  for (size_t t = 0; t < pending.size(); ++t) {
    if (timesSeen[t] > 1) {
      return ::testing::AssertionFailure() << pending[t].taskManagerId << " placed twice";
    }
    if (timesSeen[t] == 0) expectUnplaced.push_back(pending[t].taskManagerId);
  }
  if (result.unplacedTaskManagerIds != expectUnplaced) {
    return ::testing::AssertionFailure()
           << "unplaced [" << fmt::format("{}", fmt::join(result.unplacedTaskManagerIds, ","))
           << "], expected [" << fmt::format("{}", fmt::join(expectUnplaced, ",")) << "]";
  }
  std::vector<size_t> freePorts;
  for (size_t o = 0; o < offers.size(); ++o) {
    freePorts.push_back(portsOf(offers[o]).size() - portsGiven[o].size());
  }
  for (size_t t = 0; t < pending.size(); ++t) {
    if (timesSeen[t] != 0 || hasNegative(pending[t])) continue;
    for (size_t o = 0; o < offers.size(); ++o) {
      if ((offers[o].resources - placedOn[o]).contains(pending[t].resources) &&
          freePorts[o] >= static_cast<size_t>(pending[t].portsNeeded)) {
        return ::testing::AssertionFailure()
               << pending[t].taskManagerId << " is unplaced but fits " << offers[o].offerId;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// --- generated inputs ---

struct Case {
  std::vector<OfferView> offers;
  std::vector<PendingTaskManager> pending;
};

// Small values from short lists, so that exact fits and ties are common. Ids
// are permuted so that id order differs from input order.
class CaseGenerator {
 public:
  explicit CaseGenerator(std::uint32_t seed) : rng_(seed) {}

  Case next(size_t maxOffers, size_t maxPending) {
    Case c;
    size_t offers = pick(maxOffers + 1);
    size_t pending = pick(maxPending + 1);
    std::vector<size_t> offerIds = permutation(offers), tmIds = permutation(pending);
    for (size_t i = 0; i < offers; ++i) {
      Resources r{oneOf({0, 500, 1000, 1500, 2000, 4000}), oneOf({0, 256, 512, 1024, 2048, 4096}),
                  oneOf({0, 100, 1000}), pick(4) == 0 ? oneOf({1, 2}) : 0};
      std::vector<PortRange> ports;
      for (size_t n = pick(4); n > 0; --n) {
        std::uint64_t begin = 100 + pick(20);
        ports.push_back(PortRange{begin, begin + pick(5) - 1});  // pick 0: begin > end, empty
      }
      c.offers.push_back(OfferView{fmt::format("o{:04}", offerIds[i]), fmt::format("a{}", pick(3)),
                                   "host", r, ports});
    }
    for (size_t i = 0; i < pending; ++i) {
      Resources r{oneOf({0, 500, 1000, 2000}), oneOf({0, 256, 512, 1024, 2048}), oneOf({0, 100}),
                  pick(8) == 0 ? 1 : 0};
      c.pending.push_back(
          PendingTaskManager{fmt::format("t{:04}", tmIds[i]), r, static_cast<int>(pick(4))});
    }
    return c;
  }

  std::mt19937& rng() { return rng_; }

 private:
  // Plain modulo rather than std::uniform_int_distribution, whose output is
  // implementation-defined: the cases are the same with every library.
  size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  std::int64_t oneOf(std::initializer_list<std::int64_t> values) {
    return *(values.begin() + pick(values.size()));
  }
  std::vector<size_t> permutation(size_t n) {
    std::vector<size_t> out(n);
    std::iota(out.begin(), out.end(), 0);
    for (size_t i = n; i > 1; --i) std::swap(out[i - 1], out[pick(i)]);
    return out;
  }

  std::mt19937 rng_;
};

// A large input in the shape of a real cluster: offers of agents of a few
// sizes, partly used by others; TMs of a few tailored sizes.
Case largeCase(size_t offers, size_t pending, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::uint32_t n) { return static_cast<std::int64_t>(rng() % n); };
  Case c;
  for (size_t i = 0; i < offers; ++i) {
    std::int64_t cpus = std::int64_t{8} << pick(3);
    std::int64_t start = 31000 + pick(10) * 5;
    c.offers.push_back(OfferView{
        fmt::format("offer-{}", i),
        fmt::format("agent-{}", i / 2),
        "host",
        Resources{(cpus * 1000 * (1 + pick(10))) / 10, cpus * 4096 * (1 + pick(10)) / 10, 100000,
                  pick(20) == 0 ? 4 : 0},
        {{static_cast<std::uint64_t>(start), static_cast<std::uint64_t>(start + 4)},
         {static_cast<std::uint64_t>(start + 10), static_cast<std::uint64_t>(start + 12)}}});
  }
  for (size_t i = 0; i < pending; ++i) {
    std::int64_t slots = 1 + pick(4);
    c.pending.push_back(PendingTaskManager{
        fmt::format("tm-{}", i),
        Resources{100 + slots * 500 * (1 + pick(4)), 32 + slots * 1024 * (1 + pick(4)), slots * 100,
                  pick(50) == 0 ? 1 : 0},
        1 + static_cast<int>(pick(2))});
  }
  return c;
}

// --- basics ---

TEST(OfferMatcherTest, EmptyInputsGiveAnEmptyResult) {
  MatchResult result = matchOffers({}, {});
  EXPECT_THAT(result.placements, IsEmpty());
  EXPECT_THAT(result.unusedOfferIds, IsEmpty());
  EXPECT_THAT(result.unplacedTaskManagerIds, IsEmpty());
}

TEST(OfferMatcherTest, WithoutOffersEveryTaskManagerIsUnplaced) {
  MatchResult result = matchOffers({}, {tm("tm-1", res(1, 1024)), tm("tm-2", res(0, 0), 0)});
  EXPECT_THAT(result.placements, IsEmpty());
  EXPECT_THAT(result.unusedOfferIds, IsEmpty());
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-1", "tm-2"));
}

TEST(OfferMatcherTest, WithoutPendingTaskManagersEveryOfferIsUnused) {
  MatchResult result = matchOffers({offer("o-1", res(4, 4096)), offer("o-2", res(0, 0))}, {});
  EXPECT_THAT(result.placements, IsEmpty());
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-1", "o-2"));
  EXPECT_THAT(result.unplacedTaskManagerIds, IsEmpty());
}

TEST(OfferMatcherTest, PlacesOneTaskManagerOnAnOfferItFits) {
  MatchResult result = matchOffers({offer("o-1", res(4, 8192, 1000), {{31000, 31009}}, "agent-7")},
                                   {tm("tm-1", res(1.5, 2048, 100))});
  ASSERT_EQ(result.placements.size(), 1U);
  const Placement& placement = result.placements[0];
  EXPECT_EQ(placement.taskManagerId, "tm-1");
  EXPECT_EQ(placement.offerId, "o-1");
  EXPECT_EQ(placement.agentId, "agent-7");
  EXPECT_THAT(placement.ports, ElementsAre(31000U));
  EXPECT_THAT(result.unusedOfferIds, IsEmpty());
  EXPECT_THAT(result.unplacedTaskManagerIds, IsEmpty());
}

TEST(OfferMatcherTest, AnExactFitFits) {
  MatchResult result = matchOffers({offer("o-1", res(1.5, 2048, 100, 1), {{31000, 31001}})},
                                   {tm("tm-1", res(1.5, 2048, 100, 1), 2)});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-1", "o-1", {31000U, 31001U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, IsEmpty());
}

TEST(OfferMatcherTest, AZeroSizedTaskManagerWithoutPortsFitsAnEmptyOffer) {
  MatchResult result = matchOffers({offer("o-1", res(0, 0), {})}, {tm("tm-1", res(0, 0), 0)});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-1", "o-1", std::vector<std::uint64_t>{})));
}

// One dimension of the TM is one unit more than the offer has.
struct ShortDimension {
  const char* name;
  Resources offered;
};

class OfferMatcherShortDimensionTest : public ::testing::TestWithParam<ShortDimension> {};

TEST_P(OfferMatcherShortDimensionTest, DoesNotPlaceATaskManagerThatDoesNotFit) {
  Resources need{2000, 2048, 200, 1};
  MatchResult result = matchOffers({offer("o-1", GetParam().offered)}, {tm("tm-1", need)});
  EXPECT_THAT(result.placements, IsEmpty());
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-1"));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-1"));
}

INSTANTIATE_TEST_SUITE_P(EachDimension, OfferMatcherShortDimensionTest,
                         ::testing::Values(ShortDimension{"cpus", Resources{1999, 2048, 200, 1}},
                                           ShortDimension{"mem", Resources{2000, 2047, 200, 1}},
                                           ShortDimension{"disk", Resources{2000, 2048, 199, 1}},
                                           ShortDimension{"gpus", Resources{2000, 2048, 200, 0}}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(OfferMatcherTest, PacksSeveralTaskManagersIntoOneOffer) {
  MatchResult result =
      matchOffers({offer("o-1", res(4, 4096))},
                  {tm("tm-1", res(1, 1024)), tm("tm-2", res(2, 2048)), tm("tm-3", res(1, 1024))});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-2", "o-1", {31000U}), placedOn("tm-1", "o-1", {31001U}),
                          placedOn("tm-3", "o-1", {31002U})));
  EXPECT_THAT(result.unusedOfferIds, IsEmpty());
  EXPECT_THAT(result.unplacedTaskManagerIds, IsEmpty());
}

TEST(OfferMatcherTest, PacksUntilOneDimensionRunsOut) {
  MatchResult result = matchOffers({offer("o-1", res(8, 3072))},
                                   {tm("tm-1", res(1, 1024)), tm("tm-2", res(1, 1024)),
                                    tm("tm-3", res(1, 1024)), tm("tm-4", res(1, 1024))});
  EXPECT_EQ(result.placements.size(), 3U);
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-4"));
}

TEST(OfferMatcherTest, PlacesLargerTaskManagersFirst) {
  // Input order would put the small TM first and leave no room for the large one.
  MatchResult result = matchOffers({offer("o-1", res(2, 2048))},
                                   {tm("tm-small", res(1, 1024)), tm("tm-large", res(2, 2048))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-large", "o-1", {31000U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-small"));
}

TEST(OfferMatcherTest, OrdersTaskManagersByGpusThenCpusThenMemory) {
  // The offer cannot hold all three; the order decides which are left out.
  MatchResult result = matchOffers(
      {offer("o-1", res(5, 5120, 0, 1))},
      {tm("tm-cpu", res(4, 1024)), tm("tm-gpu", res(1, 1024, 0, 1)), tm("tm-mem", res(1, 4096))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-gpu", "o-1", {31000U}),
                                             placedOn("tm-cpu", "o-1", {31001U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-mem"));

  result = matchOffers({offer("o-1", res(4, 4096))},
                       {tm("tm-mem", res(1, 4096)), tm("tm-cpu", res(4, 1024))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-cpu", "o-1", {31000U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-mem"));
}

TEST(OfferMatcherTest, EqualTaskManagersArePlacedInIdOrder) {
  MatchResult result = matchOffers({offer("o-1", res(1, 1024))},
                                   {tm("tm-b", res(1, 1024)), tm("tm-a", res(1, 1024))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-a", "o-1", {31000U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-b"));
}

// --- best fit ---

TEST(OfferMatcherTest, BestFitChoosesTheTighterOffer) {
  MatchResult result = matchOffers(
      {offer("o-a", res(8, 16384)), offer("o-b", res(1, 1024)), offer("o-c", res(2, 2048))},
      {tm("tm-1", res(1, 1024))});
  EXPECT_THAT(targets(result), ElementsAre(std::pair{"tm-1", "o-b"}));
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-a", "o-c"));
}

TEST(OfferMatcherTest, BestFitSkipsTighterOffersThatAreShortInAnotherDimension) {
  // o-a is smallest by cpus but lacks memory; o-b is the tightest that fits.
  MatchResult result = matchOffers(
      {offer("o-a", res(1, 512)), offer("o-b", res(2, 1024)), offer("o-c", res(4, 4096))},
      {tm("tm-1", res(1, 1024))});
  EXPECT_THAT(targets(result), ElementsAre(std::pair{"tm-1", "o-b"}));
}

TEST(OfferMatcherTest, BestFitCountsWhatIsAlreadyPlaced) {
  // After tm-1 takes 3 of o-a's 4 cpus, o-a is the tighter home for tm-2.
  MatchResult result = matchOffers({offer("o-a", res(4, 4096)), offer("o-b", res(2, 2048))},
                                   {tm("tm-1", res(3, 3072)), tm("tm-2", res(1, 1024))});
  EXPECT_THAT(targets(result), ElementsAre(std::pair{"tm-1", "o-a"}, std::pair{"tm-2", "o-a"}));
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-b"));
}

TEST(OfferMatcherTest, BestFitKeepsGpuOffersForGpuTaskManagers) {
  MatchResult result =
      matchOffers({offer("o-gpu", res(2, 2048, 0, 1)), offer("o-big", res(16, 65536))},
                  {tm("tm-1", res(1, 1024))});
  EXPECT_THAT(targets(result), ElementsAre(std::pair{"tm-1", "o-big"}));
}

TEST(OfferMatcherTest, BestFitTiesGoToTheLowestOfferId) {
  MatchResult result = matchOffers(
      {offer("o-3", res(2, 2048)), offer("o-1", res(2, 2048)), offer("o-2", res(2, 2048))},
      {tm("tm-1", res(1, 1024))});
  EXPECT_THAT(targets(result), ElementsAre(std::pair{"tm-1", "o-1"}));
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-3", "o-2"));
}

TEST(OfferMatcherTest, OffersOfOneAgentAreMatchedSeparately) {
  MatchResult result =
      matchOffers({offer("o-1", res(1, 1024), {{31000, 31009}}, "agent-1"),
                   offer("o-2", res(1, 1024), {{31010, 31019}}, "agent-1")},
                  {tm("tm-big", res(2, 2048)), tm("tm-1", res(1, 1024)), tm("tm-2", res(1, 1024))});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-1", "o-1", {31000U}), placedOn("tm-2", "o-2", {31010U})));
  EXPECT_EQ(result.placements[0].agentId, "agent-1");
  EXPECT_EQ(result.placements[1].agentId, "agent-1");
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-big"));
}

TEST(OfferMatcherTest, ListsUnusedOffersAndUnplacedTaskManagersInInputOrder) {
  MatchResult result = matchOffers(
      {offer("o-z", res(0.5, 512)), offer("o-m", res(4, 4096)), offer("o-a", res(0.5, 512))},
      {tm("tm-z", res(8, 1024)), tm("tm-m", res(2, 2048)), tm("tm-a", res(9, 1024))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-m", "o-m", {31000U})));
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-z", "o-a"));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-z", "tm-a"));
}

TEST(OfferMatcherTest, TaskManagersWithNegativeNeedsAreUnplaced) {
  // Placing a negative need would hand its "surplus" to the next TM.
  MatchResult result =
      matchOffers({offer("o-1", res(2, 2048))},
                  {tm("tm-negative-mem", Resources{1000, -1024, 0, 0}),
                   tm("tm-negative-ports", res(1, 1024), -1), tm("tm-1", res(2, 2048))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-1", "o-1", {31000U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-negative-mem", "tm-negative-ports"));
}

TEST(OfferMatcherTest, OffersWithNegativeResourcesHoldNothing) {
  MatchResult result =
      matchOffers({offer("o-1", Resources{4000, -1, 0, 0})}, {tm("tm-1", res(1, 0))});
  EXPECT_THAT(result.placements, IsEmpty());
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-1"));
}

// --- ports ---

TEST(OfferMatcherPortsTest, AnOfferWithoutPortsTakesNoTaskManagerThatNeedsOne) {
  MatchResult result = matchOffers({offer("o-1", res(4, 4096), {})}, {tm("tm-1", res(1, 1024))});
  EXPECT_THAT(result.placements, IsEmpty());
  EXPECT_THAT(result.unusedOfferIds, ElementsAre("o-1"));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-1"));
}

TEST(OfferMatcherPortsTest, ATaskManagerNeedingNoPortsFitsAnOfferWithout) {
  MatchResult result = matchOffers({offer("o-1", res(4, 4096), {})}, {tm("tm-1", res(1, 1024), 0)});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-1", "o-1", std::vector<std::uint64_t>{})));
}

TEST(OfferMatcherPortsTest, ATaskManagerNeedingNoPortsLeavesThemToOthers) {
  MatchResult result = matchOffers({offer("o-1", res(4, 4096), {{5000, 5000}})},
                                   {tm("tm-0", res(2, 1024), 0), tm("tm-1", res(1, 1024))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-0", "o-1", std::vector<std::uint64_t>{}),
                                             placedOn("tm-1", "o-1", {5000U})));
}

TEST(OfferMatcherPortsTest, TakesTheLowestPortsAcrossGaps) {
  MatchResult result =
      matchOffers({offer("o-1", res(4, 4096), {{31010, 31020}, {31000, 31001}, {31005, 31005}})},
                  {tm("tm-1", res(1, 1024), 4)});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-1", "o-1", {31000U, 31001U, 31005U, 31010U})));
}

TEST(OfferMatcherPortsTest, TaskManagersShareAnOffersPortsWithoutOverlap) {
  MatchResult result = matchOffers(
      {offer("o-1", res(8, 8192), {{100, 101}, {200, 202}})},
      {tm("tm-1", res(1, 1024), 2), tm("tm-2", res(1, 1024), 2), tm("tm-3", res(1, 1024), 1)});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-1", "o-1", {100U, 101U}),
                          placedOn("tm-2", "o-1", {200U, 201U}), placedOn("tm-3", "o-1", {202U})));
}

TEST(OfferMatcherPortsTest, ATaskManagerDoesNotFitWhenTheOffersPortsAreTaken) {
  MatchResult result = matchOffers({offer("o-1", res(8, 8192), {{100, 102}})},
                                   {tm("tm-1", res(1, 1024), 2), tm("tm-2", res(1, 1024), 2)});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-1", "o-1", {100U, 101U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-2"));
}

TEST(OfferMatcherPortsTest, GoesToAnotherOfferWhenPortsRunOut) {
  MatchResult result = matchOffers(
      {offer("o-1", res(8, 8192), {{100, 100}}), offer("o-2", res(8, 8192), {{200, 200}})},
      {tm("tm-1", res(1, 1024)), tm("tm-2", res(1, 1024))});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-1", "o-1", {100U}), placedOn("tm-2", "o-2", {200U})));
}

TEST(OfferMatcherPortsTest, OverlappingRangesCountEachPortOnce) {
  std::vector<OfferView> offers = {
      offer("o-1", res(4, 4096), {{105, 110}, {100, 107}, {108, 108}})};
  EXPECT_THAT(matchOffers(offers, {tm("tm-1", res(1, 1024), 12)}).placements, IsEmpty());
  MatchResult result = matchOffers(offers, {tm("tm-1", res(1, 1024), 11)});
  ASSERT_EQ(result.placements.size(), 1U);
  EXPECT_THAT(result.placements[0].ports,
              ElementsAre(100U, 101U, 102U, 103U, 104U, 105U, 106U, 107U, 108U, 109U, 110U));
}

TEST(OfferMatcherPortsTest, ARangeWithBeginAfterEndHoldsNothing) {
  MatchResult result = matchOffers({offer("o-1", res(4, 4096), {{200, 199}, {300, 300}})},
                                   {tm("tm-1", res(1, 1024), 2), tm("tm-2", res(0.5, 512))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-2", "o-1", {300U})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-1"));
}

TEST(OfferMatcherPortsTest, HandlesRangesAtTheEndsOfTheNumberLine) {
  MatchResult result =
      matchOffers({offer("o-1", res(4, 4096), {{kMaxPort - 1, kMaxPort}, {0, kMaxPort - 2}})},
                  {tm("tm-1", res(1, 1024), 2), tm("tm-2", res(1, 1024), 1)});
  EXPECT_THAT(result.placements,
              ElementsAre(placedOn("tm-1", "o-1", {0U, 1U}), placedOn("tm-2", "o-1", {2U})));

  result = matchOffers({offer("o-1", res(4, 4096), {{kMaxPort - 1, kMaxPort}})},
                       {tm("tm-1", res(1, 1024), 2), tm("tm-2", res(1, 1024), 1)});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-1", "o-1", {kMaxPort - 1, kMaxPort})));
  EXPECT_THAT(result.unplacedTaskManagerIds, ElementsAre("tm-2"));
}

TEST(OfferMatcherPortsTest, BestFitPrefersTheOfferWithFewerFreePorts) {
  MatchResult result = matchOffers(
      {offer("o-a", res(2, 2048), {{100, 199}}), offer("o-b", res(2, 2048), {{300, 301}})},
      {tm("tm-1", res(1, 1024))});
  EXPECT_THAT(result.placements, ElementsAre(placedOn("tm-1", "o-b", {300U})));
}

// --- properties over generated inputs ---

TEST(OfferMatcherPropertyTest, SmallRandomCasesAreConsistentAndMatchTheReference) {
  CaseGenerator generator(20261121);
  for (int i = 0; i < 3000; ++i) {
    Case c = generator.next(8, 12);
    MatchResult result = matchOffers(c.offers, c.pending);
    ASSERT_TRUE(consistent(c.offers, c.pending, result)) << "case " << i;
    ASSERT_EQ(describe(result), describe(referenceMatch(c.offers, c.pending))) << "case " << i;
  }
}

TEST(OfferMatcherPropertyTest, MediumRandomCasesAreConsistentAndMatchTheReference) {
  CaseGenerator generator(7);
  for (int i = 0; i < 20; ++i) {
    Case c = generator.next(300, 400);
    MatchResult result = matchOffers(c.offers, c.pending);
    ASSERT_TRUE(consistent(c.offers, c.pending, result)) << "case " << i;
    ASSERT_EQ(describe(result), describe(referenceMatch(c.offers, c.pending))) << "case " << i;
  }
}

TEST(OfferMatcherPropertyTest, OffersRichInOneDimensionEachAreSearchedCorrectly) {
  // Half the offers have cpus but little memory, half memory but few cpus, so
  // every subtree's per-dimension maximum looks like a fit; a few real fits hide among them.
  std::vector<OfferView> offers;
  for (int i = 0; i < 2000; ++i) {
    Resources r = i % 2 == 0 ? res(16, 512) : res(0.5, 65536);
    if (i % 397 == 0) r = res(4 + i % 5, 8192 + i);
    offers.push_back(offer(fmt::format("o-{:04}", i), r));
  }
  std::vector<PendingTaskManager> pending;
  for (int i = 0; i < 20; ++i) pending.push_back(tm(fmt::format("tm-{:02}", i), res(2, 4096)));
  MatchResult result = matchOffers(offers, pending);
  EXPECT_TRUE(consistent(offers, pending, result));
  EXPECT_EQ(describe(result), describe(referenceMatch(offers, pending)));
  // Six real fits of 2 TMs each.
  EXPECT_EQ(result.placements.size(), 12U);
}

TEST(OfferMatcherPropertyTest, TheSameInputGivesTheSameResult) {
  Case c = largeCase(2000, 1000, 42);
  EXPECT_EQ(describe(matchOffers(c.offers, c.pending)), describe(matchOffers(c.offers, c.pending)));
}

TEST(OfferMatcherPropertyTest, InputOrderDoesNotChangeTheDecision) {
  CaseGenerator generator(99);
  for (int i = 0; i < 200; ++i) {
    Case c = generator.next(20, 30);
    MatchResult before = matchOffers(c.offers, c.pending);
    std::shuffle(c.offers.begin(), c.offers.end(), generator.rng());
    std::shuffle(c.pending.begin(), c.pending.end(), generator.rng());
    MatchResult after = matchOffers(c.offers, c.pending);
    ASSERT_EQ(describe(MatchResult{before.placements, {}, {}}),
              describe(MatchResult{after.placements, {}, {}}))
        << "case " << i;
    std::sort(before.unusedOfferIds.begin(), before.unusedOfferIds.end());
    std::sort(after.unusedOfferIds.begin(), after.unusedOfferIds.end());
    std::sort(before.unplacedTaskManagerIds.begin(), before.unplacedTaskManagerIds.end());
    std::sort(after.unplacedTaskManagerIds.begin(), after.unplacedTaskManagerIds.end());
    ASSERT_EQ(describe(before), describe(after)) << "case " << i;
  }
}

// --- large inputs ---

TEST(OfferMatcherLargeTest, ARealisticMediumInputMatchesTheReference) {
  Case c = largeCase(600, 3000, 1);
  MatchResult result = matchOffers(c.offers, c.pending);
  EXPECT_TRUE(consistent(c.offers, c.pending, result));
  EXPECT_EQ(describe(result), describe(referenceMatch(c.offers, c.pending)));
  // Demand exceeds supply here: both outcomes occur.
  EXPECT_FALSE(result.placements.empty());
  EXPECT_FALSE(result.unplacedTaskManagerIds.empty());
}

TEST(OfferMatcherLargeTest, TenThousandOffersAndFiveThousandTaskManagers) {
  Case c = largeCase(10000, 5000, 2);
  MatchResult result = matchOffers(c.offers, c.pending);
  EXPECT_TRUE(consistent(c.offers, c.pending, result));
  EXPECT_EQ(result.placements.size(), 5000U);
  EXPECT_THAT(result.unplacedTaskManagerIds, IsEmpty());
  // Best fit packs: far fewer offers are used than there are TMs.
  EXPECT_LT(result.unusedOfferIds.size() + 5000U, 2 * c.offers.size());
  EXPECT_GT(result.unusedOfferIds.size(), 5000U);
}

}  // namespace
}  // namespace tailor::mesos
