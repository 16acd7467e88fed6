#include "mesos/offer_matcher.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <limits>
#include <numeric>
#include <optional>
#include <tuple>

namespace tailor::mesos {
namespace {

// An offer's remaining resources, or what a TaskManager needs, in best-fit
// order: gpus, milliCpus, memMib, diskMib, ports.
using Capacity = std::array<std::int64_t, 5>;
constexpr size_t kPorts = 4;

constexpr std::int64_t kMaxCount = std::numeric_limits<std::int64_t>::max();
// Covers nothing a valid (non-negative) need asks for.
constexpr Capacity kNothing = {
    std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min(),
    std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min(),
    std::numeric_limits<std::int64_t>::min()};

Capacity capacityOf(const Resources& resources, std::int64_t ports) {
  return {resources.gpus, resources.milliCpus, resources.memMib, resources.diskMib, ports};
}

bool covers(const Capacity& have, const Capacity& need) {
  for (size_t i = 0; i < have.size(); ++i) {
    if (have[i] < need[i]) return false;
  }
  return true;
}

void raiseTo(Capacity& max, const Capacity& other) {
  for (size_t i = 0; i < max.size(); ++i) max[i] = std::max(max[i], other[i]);
}

bool hasNegative(const Capacity& capacity) {
  return std::any_of(capacity.begin(), capacity.end(), [](std::int64_t v) { return v < 0; });
}

// The free ports of every offer. Ports are handed out lowest first and never
// returned, so per offer a cursor (range, next port) is all the state needed.
class PortPools {
 public:
  explicit PortPools(const std::vector<OfferView>& offers) {
    pools_.reserve(offers.size());
    for (const OfferView& offer : offers) pools_.push_back(add(offer.ports));
  }

  // How many ports offer `offer` has left (saturated at kMaxCount).
  std::int64_t freeCount(size_t offer) const { return pools_[offer].free; }

  // The `count` lowest free ports of `offer`. Precondition: count <= freeCount(offer).
  std::vector<std::uint64_t> take(size_t offer, std::int64_t count) {
    Pool& pool = pools_[offer];
    std::vector<std::uint64_t> ports;
    ports.reserve(static_cast<size_t>(count));
    for (; count > 0; --count) {
      if (pool.range >= pool.end) std::abort();  // broken invariant: over-commit
      ports.push_back(pool.next);
      if (pool.next == ranges_[pool.range].end) {
        ++pool.range;
        if (pool.range < pool.end) pool.next = ranges_[pool.range].begin;
      } else {
        ++pool.next;
      }
      if (pool.free != kMaxCount) --pool.free;
    }
    return ports;
  }

 private:
  struct Pool {
    size_t range = 0;  // current range in ranges_
    size_t end = 0;    // one past the offer's last range
    std::uint64_t next = 0;
    std::int64_t free = 0;
  };

  // Appends `offered` to ranges_ sorted, merged and without empty ranges.
  Pool add(const std::vector<PortRange>& offered) {
    size_t first = ranges_.size();
    for (const PortRange& range : offered) {
      if (range.begin <= range.end) ranges_.push_back(range);
    }
    auto begin = ranges_.begin() + static_cast<std::ptrdiff_t>(first);
    auto byBegin = [](const PortRange& a, const PortRange& b) { return a.begin < b.begin; };
    if (!std::is_sorted(begin, ranges_.end(), byBegin)) std::sort(begin, ranges_.end(), byBegin);
    // Merge overlapping and adjacent ranges so that no port counts twice.
    size_t last = first;
    for (size_t i = first + 1; i < ranges_.size(); ++i) {
      PortRange& merged = ranges_[last];
      const PortRange& range = ranges_[i];
      if (range.begin <= merged.end || range.begin - 1 == merged.end) {
        merged.end = std::max(merged.end, range.end);
      } else {
        ranges_[++last] = range;
      }
    }
    if (ranges_.size() > first) ranges_.resize(last + 1);

    Pool pool{first, ranges_.size(), first < ranges_.size() ? ranges_[first].begin : 0, 0};
    for (size_t i = first; i < ranges_.size(); ++i) {
      std::uint64_t span = ranges_[i].end - ranges_[i].begin;  // size - 1, cannot overflow
      auto room = static_cast<std::uint64_t>(kMaxCount - pool.free);
      pool.free = span >= room ? kMaxCount : pool.free + static_cast<std::int64_t>(span) + 1;
    }
    return pool;
  }

  std::vector<PortRange> ranges_;
  std::vector<Pool> pools_;
};

// An offer as the indexes hold it: a snapshot of its remaining capacity.
struct OfferKey {
  Capacity remaining;
  const std::string* offerId;
  std::uint32_t index;  // in the input
};

// The best-fit order: remaining capacity, then id, then input index.
struct FitsTighter {
  bool operator()(const OfferKey& a, const OfferKey& b) const {
    if (a.remaining != b.remaining) return a.remaining < b.remaining;
    return std::tie(*a.offerId, a.index) < std::tie(*b.offerId, b.index);
  }
};

// Offers that have no placement yet, in best-fit order. Their remaining
// capacity never changes while they are here, so the order is fixed: a sorted
// array with a segment tree of per-dimension maxima over it. Built in
// O(n log n), a lookup descends the tree, removal is O(log n).
class UntouchedOffers {
 public:
  explicit UntouchedOffers(std::vector<OfferKey> offers) : offers_(std::move(offers)) {
    std::sort(offers_.begin(), offers_.end(), FitsTighter());
    while (leaves_ < offers_.size()) leaves_ *= 2;
    max_.assign(2 * leaves_, kNothing);
    for (size_t i = 0; i < offers_.size(); ++i) max_[leaves_ + i] = offers_[i].remaining;
    for (size_t node = leaves_ - 1; node > 0; --node) {
      max_[node] = max_[2 * node];
      raiseTo(max_[node], max_[2 * node + 1]);
    }
  }

  // The first offer in best-fit order that covers `need`, with its position.
  std::optional<std::pair<OfferKey, size_t>> bestFit(const Capacity& need) const {
    // Offers ordered before `need` itself cannot cover it.
    auto from = std::lower_bound(
        offers_.begin(), offers_.end(), need,
        [](const OfferKey& offer, const Capacity& c) { return offer.remaining < c; });
    size_t found = find(1, 0, leaves_, static_cast<size_t>(from - offers_.begin()), need);
    if (found == kNone) return std::nullopt;
    return std::pair{offers_[found], found};
  }

  void remove(size_t position) {
    size_t node = leaves_ + position;
    max_[node] = kNothing;
    for (node /= 2; node > 0; node /= 2) {
      max_[node] = max_[2 * node];
      raiseTo(max_[node], max_[2 * node + 1]);
    }
  }

 private:
  static constexpr size_t kNone = std::numeric_limits<size_t>::max();

  // Leftmost position >= from in node's range [low, high) that covers need.
  size_t find(size_t node, size_t low, size_t high, size_t from, const Capacity& need) const {
    if (high <= from || !covers(max_[node], need)) return kNone;
    if (high - low == 1) return low;
    size_t middle = low + (high - low) / 2;
    size_t found = find(2 * node, low, middle, from, need);
    return found != kNone ? found : find(2 * node + 1, middle, high, from, need);
  }

  std::vector<OfferKey> offers_;  // sorted by FitsTighter
  size_t leaves_ = 1;
  std::vector<Capacity> max_;  // 1-based heap layout; leaves at [leaves_, 2 * leaves_)
};

// Keeps in each tree node the per-dimension maximum of the remaining
// capacities in its subtree (policy interface of libstdc++'s pb_ds trees).
template <class NodeConstIterator, class NodeIterator, class Compare, class Allocator>
struct SubtreeMaxUpdate {
  using metadata_type = Capacity;

  void operator()(NodeIterator node, NodeConstIterator end) const {
    Capacity max = (**node).remaining;
    NodeConstIterator left = node.get_l_child(), right = node.get_r_child();
    if (left != end) raiseTo(max, left.get_metadata());
    if (right != end) raiseTo(max, right.get_metadata());
    const_cast<Capacity&>(node.get_metadata()) = max;
  }

  virtual ~SubtreeMaxUpdate() = default;
};

// Offers that have placements: their remaining capacity changes with each
// one, so they live in a balanced tree in best-fit order, each node holding
// its subtree's per-dimension maxima. Holds no more offers than there are
// placements.
class TouchedOffers {
 public:
  std::optional<OfferKey> bestFit(const Capacity& need) const {
    Node found = find(tree_.node_begin(), tree_.node_end(), need);
    if (found == tree_.node_end()) return std::nullopt;
    return **found;
  }
  void insert(const OfferKey& key) { tree_.insert(key); }
  void erase(const OfferKey& key) { tree_.erase(key); }

 private:
  using Tree = __gnu_pbds::tree<OfferKey, __gnu_pbds::null_type, FitsTighter,
                                __gnu_pbds::rb_tree_tag, SubtreeMaxUpdate>;
  using Node = Tree::node_const_iterator;

  // The leftmost entry of node's subtree that covers need, or end.
  static Node find(Node node, Node end, const Capacity& need) {
    if (node == end || !covers(node.get_metadata(), need)) return end;
    const Capacity& here = (**node).remaining;
    // Entries left of one ordered before `need` are ordered before it too.
    if (here >= need) {
      Node found = find(node.get_l_child(), end, need);
      if (found != end) return found;
      if (covers(here, need)) return node;
    }
    return find(node.get_r_child(), end, need);
  }

  Tree tree_;
};

}  // namespace

MatchResult matchOffers(const std::vector<OfferView>& offers,
                        const std::vector<PendingTaskManager>& pending) {
  MatchResult result;
  result.placements.reserve(pending.size());

  PortPools ports(offers);
  std::vector<Capacity> remaining;
  remaining.reserve(offers.size());
  std::vector<OfferKey> keys;
  keys.reserve(offers.size());
  for (std::uint32_t i = 0; i < offers.size(); ++i) {
    remaining.push_back(capacityOf(offers[i].resources, ports.freeCount(i)));
    keys.push_back(OfferKey{remaining.back(), &offers[i].offerId, i});
  }
  UntouchedOffers untouched(std::move(keys));
  TouchedOffers touched;
  std::vector<bool> used(offers.size(), false);

  std::vector<Capacity> needs;
  needs.reserve(pending.size());
  for (const PendingTaskManager& tm : pending) {
    needs.push_back(capacityOf(tm.resources, tm.portsNeeded));
  }
  std::vector<std::uint32_t> tmOrder(pending.size());
  std::iota(tmOrder.begin(), tmOrder.end(), 0U);
  std::sort(tmOrder.begin(), tmOrder.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (needs[a] != needs[b]) return needs[a] > needs[b];
    return std::tie(pending[a].taskManagerId, a) < std::tie(pending[b].taskManagerId, b);
  });

  std::vector<bool> placed(pending.size(), false);
  for (std::uint32_t tmIndex : tmOrder) {
    const Capacity& need = needs[tmIndex];
    if (hasNegative(need)) continue;

    auto fresh = untouched.bestFit(need);
    auto reused = touched.bestFit(need);
    std::uint32_t offerIndex = 0;
    if (reused && (!fresh || FitsTighter()(*reused, fresh->first))) {
      offerIndex = reused->index;
      touched.erase(*reused);
    } else if (fresh) {
      offerIndex = fresh->first.index;
      untouched.remove(fresh->second);
    } else {
      continue;
    }

    Capacity& left = remaining[offerIndex];
    for (size_t i = 0; i < need.size(); ++i) left[i] -= need[i];
    std::vector<std::uint64_t> given = ports.take(offerIndex, need[kPorts]);
    left[kPorts] = ports.freeCount(offerIndex);  // the pool's count saturates for huge ranges
    touched.insert(OfferKey{left, &offers[offerIndex].offerId, offerIndex});

    used[offerIndex] = true;
    placed[tmIndex] = true;
    const OfferView& offer = offers[offerIndex];
    result.placements.push_back(
        Placement{pending[tmIndex].taskManagerId, offer.offerId, offer.agentId, std::move(given)});
  }

  for (size_t i = 0; i < offers.size(); ++i) {
    if (!used[i]) result.unusedOfferIds.push_back(offers[i].offerId);
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    if (!placed[i]) result.unplacedTaskManagerIds.push_back(pending[i].taskManagerId);
  }
  return result;
}

}  // namespace tailor::mesos
