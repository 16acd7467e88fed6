#pragma once

// Names shared by the binaries: job ids and this machine's host name.

#include <cstdint>
#include <string>

namespace tailor {

// "<name>-<yyyymmdd>-<hhmmss>-<4 hex digits>" from the job's name, the wall
// time (UTC) and the low 16 bits of `random`. Callers that must not reuse an
// id draw again while it is taken.
std::string makeJobId(const std::string& jobName, double wallSeconds, std::uint32_t random);

// This machine's host name, or "localhost" when it cannot be read.
std::string hostName();

}  // namespace tailor
