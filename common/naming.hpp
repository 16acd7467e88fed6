#pragma once

// Names shared by the binaries: job ids, file names made of them and this
// machine's host name.

#include <cstdint>
#include <string>

namespace tailor {

// "<name>-<yyyymmdd>-<hhmmss>-<4 hex digits>" from the job's name, the wall
// time (UTC) and the low 16 bits of `random`. Callers that must not reuse an
// id draw again while it is taken.
std::string makeJobId(const std::string& jobName, double wallSeconds, std::uint32_t random);

// `text` as one path component: characters other than letters, digits, '.',
// '_' and '-' become '-', and so does a leading '.' (no "..", no hidden
// file). A job's folders are named so (partitions, scratch, task logs).
std::string fileNameOf(const std::string& text);

// This machine's host name, or "localhost" when it cannot be read.
std::string hostName();

}  // namespace tailor
