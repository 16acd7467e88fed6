#pragma once

// Placement of pending TaskManagers onto Mesos offers. Pure: the Mesos driver
// converts offers to OfferViews, calls matchOffers, then ACCEPTs each offer
// that got placements (one LAUNCH per placement) and DECLINEs the unused ones.
// Independent of the Mesos protos so that it can be tested exhaustively.

#include <cstdint>
#include <string>
#include <vector>

#include "common/resources.hpp"

namespace tailor::mesos {

// A range of ports, both ends included (as Mesos' Value.Range).
struct PortRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// What one offer holds for this framework.
struct OfferView {
  std::string offerId;
  std::string agentId;
  std::string hostname;
  // Unreserved scalars usable by our role (cpus in thousandths, mem and disk in MB).
  Resources resources;
  // The offer's `ports` ranges. Any order; overlaps are counted once; a range
  // with begin > end holds nothing.
  std::vector<PortRange> ports;
};

// A TaskManager waiting for an offer.
struct PendingTaskManager {
  std::string taskManagerId;
  // What the TM's task needs, executor overhead already included.
  Resources resources;
  // How many distinct ports from the offer the TM needs.
  int portsNeeded = 1;
};

// One TaskManager placed on one offer.
struct Placement {
  std::string taskManagerId;
  std::string offerId;
  std::string agentId;
  // portsNeeded distinct ports of the offer, ascending.
  std::vector<std::uint64_t> ports;
};

struct MatchResult {
  // In the order they were decided (see matchOffers).
  std::vector<Placement> placements;
  // Offers that got no placement, to decline; in input order.
  std::vector<std::string> unusedOfferIds;
  // TaskManagers that fit in no offer; in input order.
  std::vector<std::string> unplacedTaskManagerIds;
};

// Places `pending` TaskManagers onto `offers`, best fit:
//
//  - TaskManagers are placed one at a time, larger first: by resources
//    compared as (gpus, cpus, mem, disk) then portsNeeded, all descending;
//    ties by taskManagerId, then input order.
//  - Each goes to the offer whose remaining resources after the placement are
//    smallest, compared as (gpus, cpus, mem, disk, free ports) -- the order the
//    slot planner uses (docs/sizing.md), so GPU offers are kept for GPU
//    TaskManagers; ties by offerId, then input order. An offer may take several
//    TaskManagers: what is placed is subtracted from its remaining resources.
//  - A TaskManager fits an offer when every dimension of its resources is at
//    most the offer's remaining one and the offer has portsNeeded free ports.
//    It gets the lowest free ports of the offer. Nothing is ever over-committed:
//    per offer, the placed resources sum to at most the offered ones, and no
//    port is given twice.
//  - A TaskManager that fits no offer is unplaced; so is one with a negative
//    resource dimension or negative portsNeeded. Offers with no placement are
//    unused. Several offers of one agent are matched as separate offers.
//
// Preconditions: offer ids are distinct; TaskManager ids are distinct.
// Deterministic: the same input gives the same result, and with distinct ids
// reordering the input changes only the order of the two id lists.
// Cost: O(offers log offers + pending log(offers + pending)). Offers without
// placements sit in an array sorted in best-fit order under a segment tree of
// per-dimension maxima; offers with placements (no more than there are placements) in
// a balanced tree in the same order with the same maxima. Finding the best fit
// descends one path of each in the usual case; an adversarial mix (every
// dimension of the need is met by some offers, but few offers meet all) can
// widen the descent. bench/offer_matching_bench.cpp measures it.
MatchResult matchOffers(const std::vector<OfferView>& offers,
                        const std::vector<PendingTaskManager>& pending);

}  // namespace tailor::mesos
