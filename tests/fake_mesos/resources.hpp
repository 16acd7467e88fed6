#pragma once

// The resources the fake agents have and the fake master hands out: unreserved
// SCALAR resources (cpus, mem, disk, gpus, ...) held in thousandths as Mesos
// does (three decimal digits), and RANGES resources (ports), in a stable order.
// Reservations, SET resources, disks with DiskInfo, revocable and shared
// resources are outside the fake's model: parsing them is an error, which
// the master turns into the answer a real master gives to resources an offer
// does not hold.

#include <google/protobuf/repeated_field.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace tailor::fake_mesos {

using Resources = google::protobuf::RepeatedPtrField<::mesos::v1::Resource>;

class ResourceSet {
 public:
  using Range = std::pair<std::uint64_t, std::uint64_t>;  // both ends included

  // Parses the resources of a task, executor or offer (ignoring `role` "*"
  // and `allocation_info`). Fails on anything outside the model above.
  static Result<ResourceSet> fromProto(const Resources& resources);

  void addScalar(const std::string& name, std::int64_t thousandths);
  void addRange(const std::string& name, Range range);

  ResourceSet& operator+=(const ResourceSet& other);
  // Removes what `other` has of each resource (never below zero).
  ResourceSet& operator-=(const ResourceSet& other);
  friend ResourceSet operator+(ResourceSet a, const ResourceSet& b) { return a += b; }
  friend ResourceSet operator-(ResourceSet a, const ResourceSet& b) { return a -= b; }

  // True when every resource of `other` is here in at least that amount.
  bool contains(const ResourceSet& other) const;
  bool empty() const { return entries_.empty(); }
  // Thousandths of a scalar resource (0 when absent).
  std::int64_t scalar(std::string_view name) const;

  // How resources are written out.
  struct ProtoStyle {
    bool unreservedRole = true;  // `role: "*"` (the pre-refinement format of offers)
    std::string allocationRole;  // `allocation_info.role` when not empty
  };
  // Appends the resources to `out` in this set's order.
  void toProto(Resources* out, const ProtoStyle& style) const;

  // Mesos' text form, used in its error messages:
  // "ports(allocated: *):[31000-32000]; cpus(allocated: *):4".
  std::string toMesosString(const std::string& allocationRole) const;

  // A JSON object of amounts: {"cpus":0.5,"mem":64,"ports":"[31000-31000]"}.
  std::string toSummaryJson() const;

  // The names in this set's order.
  std::vector<std::string> names() const;

 private:
  struct Entry {
    std::string name;
    bool isRanges = false;
    std::int64_t thousandths = 0;
    std::vector<Range> ranges;  // sorted, disjoint, not adjacent
  };

  Entry* find(std::string_view name);
  const Entry* find(std::string_view name) const;
  void dropEmpty();

  std::vector<Entry> entries_;
};

// Mesos' deprecated `role` fields (pre-refinement Resource.role, non-MULTI_ROLE
// FrameworkInfo.role), read and written only through these.
bool hasLegacyRole(const ::mesos::v1::Resource& resource);
const std::string& legacyRole(const ::mesos::v1::Resource& resource);
void setLegacyRole(::mesos::v1::Resource& resource, const std::string& role);
void clearLegacyRole(::mesos::v1::Resource& resource);
bool hasLegacyRole(const ::mesos::v1::FrameworkInfo& info);
const std::string& legacyRole(const ::mesos::v1::FrameworkInfo& info);

// "4", "0.5", "3.9": a scalar as Mesos prints it in text.
std::string formatScalar(std::int64_t thousandths);
// "[31000-31099, 32000-32000]".
std::string formatRanges(const std::vector<ResourceSet::Range>& ranges);
// Rounds a Mesos scalar to thousandths.
std::int64_t toThousandths(double value);

}  // namespace tailor::fake_mesos
