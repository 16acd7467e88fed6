#pragma once

// Resource arithmetic for profiles, slots and TaskManagers. CPUs are held in
// thousandths (as Mesos does) so that sums and differences stay exact.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "tailor/v1/job.pb.h"
#include "tailor/v1/report.pb.h"

namespace tailor {

struct Resources {
  std::int64_t milliCpus = 0;
  std::int64_t memMib = 0;
  std::int64_t diskMib = 0;
  std::int64_t gpus = 0;

  static Resources fromProto(const v1::ResourceProfile& profile);
  v1::ResourceProfile toProto() const;
  // The report's form: every dimension a JSON number.
  v1::ReportResources toReport() const;

  double cpus() const { return static_cast<double>(milliCpus) / 1000.0; }

  // True when every dimension of `other` is at most this one's.
  bool contains(const Resources& other) const;
  bool isZero() const { return milliCpus == 0 && memMib == 0 && diskMib == 0 && gpus == 0; }
  // A profile read off the wire may hold anything: a negative dimension (or
  // cpus too large for thousandths) makes no sense as room.
  bool hasNegative() const { return milliCpus < 0 || memMib < 0 || diskMib < 0 || gpus < 0; }

  Resources& operator+=(const Resources& other);
  Resources& operator-=(const Resources& other);
  friend Resources operator+(Resources a, const Resources& b) { return a += b; }
  friend Resources operator-(Resources a, const Resources& b) { return a -= b; }
  friend Resources operator*(Resources a, std::int64_t n);
  auto operator<=>(const Resources&) const = default;

  // "cpus=0.5,mem=1024,disk=0,gpus=0" (mem and disk in MiB).
  std::string toString() const;
  // For people: "cpus 0.5, mem 1024 MiB", with disk and gpus when above zero.
  std::string toWords() const;
};

// What one set of resources lacks to hold another.
struct Shortage {
  std::string resource;  // cpus | mem | disk | gpus
  double amount = 0;     // in CPUs, MiB or GPUs
  double fraction = 0;   // amount / what is needed, in (0, 1]
};

// The resource `have` is most short of to hold `need` (the largest part of
// what is needed that is missing; ties go to cpus, mem, disk, gpus in that
// order), or nullopt when `have` contains `need`. Pure.
std::optional<Shortage> mostShort(const Resources& need, const Resources& have);

// True when `a` comes closer to holding `need` than `b`: its most short
// resource lacks a smaller part of what is needed (nothing short is closest);
// ties go to the smaller shortage summed over every resource. Pure.
bool closerFit(const Resources& need, const Resources& a, const Resources& b);

// Parses "cpus=N,mem=SIZE[,disk=SIZE][,gpus=N]" as used by --local-resources.
// Missing keys keep their value in `defaults`.
Result<Resources> parseResourceList(std::string_view text, const Resources& defaults);

// Parses a size in MiB: a plain number means MiB; units KiB, MiB, GiB, TiB
// (and the decimal KB, MB, GB, TB) are accepted, with optional spaces.
Result<std::int64_t> parseMebibytes(std::string_view text);

// Rounds a CPU amount to thousandths.
std::int64_t toMilliCpus(double cpus);

}  // namespace tailor
