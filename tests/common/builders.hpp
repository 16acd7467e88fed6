#pragma once

// Small builders and printers shared by the unit tests.

#include <cstdint>
#include <ostream>

#include "common/resources.hpp"

namespace tailor {

// Lets gtest print Resources in failure messages ("cpus=0.5,mem=1024,...").
inline void PrintTo(const Resources& resources, std::ostream* os) { *os << resources.toString(); }

namespace test {

// A profile of `cpus` CPUs and `mem` MiB (and optionally disk MiB and GPUs).
inline Resources res(double cpus, std::int64_t mem, std::int64_t disk = 0, std::int64_t gpus = 0) {
  return Resources{toMilliCpus(cpus), mem, disk, gpus};
}

}  // namespace test
}  // namespace tailor
