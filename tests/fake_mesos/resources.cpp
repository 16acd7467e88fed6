#include "tests/fake_mesos/resources.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tailor::fake_mesos {
namespace {

using Range = ResourceSet::Range;

// Sorts and merges overlapping or adjacent ranges.
std::vector<Range> normalize(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<Range> merged;
  for (const Range& range : ranges) {
    if (!merged.empty() && range.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, range.second);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

std::vector<Range> subtract(const std::vector<Range>& from, const std::vector<Range>& remove) {
  std::vector<Range> result;
  for (Range piece : from) {
    std::vector<Range> pieces{piece};
    for (const Range& cut : remove) {
      std::vector<Range> next;
      for (const Range& p : pieces) {
        if (cut.second < p.first || cut.first > p.second) {
          next.push_back(p);
          continue;
        }
        if (cut.first > p.first) next.emplace_back(p.first, cut.first - 1);
        if (cut.second < p.second) next.emplace_back(cut.second + 1, p.second);
      }
      pieces = std::move(next);
    }
    result.insert(result.end(), pieces.begin(), pieces.end());
  }
  return normalize(std::move(result));
}

bool rangesContain(const std::vector<Range>& outer, const std::vector<Range>& inner) {
  for (const Range& range : inner) {
    bool inside = std::any_of(outer.begin(), outer.end(), [&](const Range& o) {
      return o.first <= range.first && range.second <= o.second;
    });
    if (!inside) return false;
  }
  return true;
}

}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
bool hasLegacyRole(const ::mesos::v1::Resource& resource) { return resource.has_role(); }
const std::string& legacyRole(const ::mesos::v1::Resource& resource) { return resource.role(); }
void setLegacyRole(::mesos::v1::Resource& resource, const std::string& role) {
  resource.set_role(role);
}
void clearLegacyRole(::mesos::v1::Resource& resource) { resource.clear_role(); }
bool hasLegacyRole(const ::mesos::v1::FrameworkInfo& info) { return info.has_role(); }
const std::string& legacyRole(const ::mesos::v1::FrameworkInfo& info) { return info.role(); }
#pragma GCC diagnostic pop

std::int64_t toThousandths(double value) { return std::llround(value * 1000.0); }

std::string formatScalar(std::int64_t thousandths) {
  return fmt::format("{}", static_cast<double>(thousandths) / 1000.0);
}

std::string formatRanges(const std::vector<Range>& ranges) {
  std::string text = "[";
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i > 0) text += ", ";
    text += fmt::format("{}-{}", ranges[i].first, ranges[i].second);
  }
  return text + "]";
}

Result<ResourceSet> ResourceSet::fromProto(const Resources& resources) {
  ResourceSet set;
  for (const auto& resource : resources) {
    if ((hasLegacyRole(resource) && legacyRole(resource) != "*") || resource.has_reservation() ||
        resource.reservations_size() > 0) {
      return makeError(ErrorCode::kInvalidArgument,
                       "reserved resource '{}' (the fake only has "
                       "unreserved resources)",
                       resource.name());
    }
    if (resource.has_disk() || resource.has_revocable() || resource.has_shared() ||
        resource.has_provider_id()) {
      return makeError(ErrorCode::kInvalidArgument,
                       "resource '{}' with disk, revocable, shared or provider info",
                       resource.name());
    }
    if (resource.type() == ::mesos::v1::Value::SCALAR && resource.has_scalar()) {
      if (resource.scalar().value() < 0 || !std::isfinite(resource.scalar().value())) {
        return makeError(ErrorCode::kInvalidArgument, "resource '{}' has a negative value",
                         resource.name());
      }
      set.addScalar(resource.name(), toThousandths(resource.scalar().value()));
    } else if (resource.type() == ::mesos::v1::Value::RANGES && resource.has_ranges()) {
      for (const auto& range : resource.ranges().range()) {
        if (range.begin() > range.end()) {
          return makeError(ErrorCode::kInvalidArgument, "resource '{}' has range {}-{}",
                           resource.name(), range.begin(), range.end());
        }
        set.addRange(resource.name(), {range.begin(), range.end()});
      }
    } else {
      return makeError(ErrorCode::kInvalidArgument, "resource '{}' of type {} without a value",
                       resource.name(), ::mesos::v1::Value::Type_Name(resource.type()));
    }
  }
  return set;
}

ResourceSet::Entry* ResourceSet::find(std::string_view name) {
  for (auto& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const ResourceSet::Entry* ResourceSet::find(std::string_view name) const {
  for (const auto& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

void ResourceSet::dropEmpty() {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const Entry& e) {
                                  return e.isRanges ? e.ranges.empty() : e.thousandths <= 0;
                                }),
                 entries_.end());
}

void ResourceSet::addScalar(const std::string& name, std::int64_t thousandths) {
  if (thousandths <= 0) return;
  Entry* entry = find(name);
  if (entry == nullptr) {
    entries_.push_back(Entry{name, false, thousandths, {}});
    return;
  }
  entry->thousandths += thousandths;
}

void ResourceSet::addRange(const std::string& name, Range range) {
  Entry* entry = find(name);
  if (entry == nullptr) {
    entries_.push_back(Entry{name, true, 0, {range}});
    return;
  }
  entry->ranges.push_back(range);
  entry->ranges = normalize(std::move(entry->ranges));
}

ResourceSet& ResourceSet::operator+=(const ResourceSet& other) {
  for (const Entry& entry : other.entries_) {
    if (entry.isRanges) {
      for (const Range& range : entry.ranges) addRange(entry.name, range);
    } else {
      addScalar(entry.name, entry.thousandths);
    }
  }
  return *this;
}

ResourceSet& ResourceSet::operator-=(const ResourceSet& other) {
  for (const Entry& removed : other.entries_) {
    Entry* entry = find(removed.name);
    if (entry == nullptr || entry->isRanges != removed.isRanges) continue;
    if (entry->isRanges) {
      entry->ranges = subtract(entry->ranges, removed.ranges);
    } else {
      entry->thousandths = std::max<std::int64_t>(0, entry->thousandths - removed.thousandths);
    }
  }
  dropEmpty();
  return *this;
}

bool ResourceSet::contains(const ResourceSet& other) const {
  for (const Entry& wanted : other.entries_) {
    const Entry* have = find(wanted.name);
    if (have == nullptr || have->isRanges != wanted.isRanges) return false;
    if (wanted.isRanges ? !rangesContain(have->ranges, wanted.ranges)
                        : have->thousandths < wanted.thousandths) {
      return false;
    }
  }
  return true;
}

std::int64_t ResourceSet::scalar(std::string_view name) const {
  const Entry* entry = find(name);
  return entry == nullptr || entry->isRanges ? 0 : entry->thousandths;
}

void ResourceSet::toProto(Resources* out, const ProtoStyle& style) const {
  for (const Entry& entry : entries_) {
    auto* resource = out->Add();
    resource->set_name(entry.name);
    if (entry.isRanges) {
      resource->set_type(::mesos::v1::Value::RANGES);
      for (const Range& range : entry.ranges) {
        auto* r = resource->mutable_ranges()->add_range();
        r->set_begin(range.first);
        r->set_end(range.second);
      }
    } else {
      resource->set_type(::mesos::v1::Value::SCALAR);
      resource->mutable_scalar()->set_value(static_cast<double>(entry.thousandths) / 1000.0);
    }
    if (style.unreservedRole) setLegacyRole(*resource, "*");
    if (!style.allocationRole.empty()) {
      resource->mutable_allocation_info()->set_role(style.allocationRole);
    }
  }
}

std::string ResourceSet::toMesosString(const std::string& allocationRole) const {
  std::string text;
  for (const Entry& entry : entries_) {
    if (!text.empty()) text += "; ";
    text +=
        fmt::format("{}(allocated: {}):{}", entry.name, allocationRole,
                    entry.isRanges ? formatRanges(entry.ranges) : formatScalar(entry.thousandths));
  }
  return text;
}

std::string ResourceSet::toSummaryJson() const {
  std::string json = "{";
  for (const Entry& entry : entries_) {
    if (json.size() > 1) json += ",";
    if (entry.isRanges) {
      json += fmt::format("\"{}\":\"{}\"", entry.name, formatRanges(entry.ranges));
    } else {
      json += fmt::format("\"{}\":{}", entry.name, formatScalar(entry.thousandths));
    }
  }
  return json + "}";
}

std::vector<std::string> ResourceSet::names() const {
  std::vector<std::string> names;
  for (const Entry& entry : entries_) names.push_back(entry.name);
  return names;
}

}  // namespace tailor::fake_mesos
