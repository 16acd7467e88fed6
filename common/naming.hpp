#pragma once

// Names shared by the binaries: job ids, file names made of them, submitted
// paths and this machine's host name.

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace tailor {

// "<name>-<yyyymmdd>-<hhmmss>-<4 hex digits>" from the job's name, the wall
// time (UTC) and the low 16 bits of `random`. Callers that must not reuse an
// id draw again while it is taken.
std::string makeJobId(const std::string& jobName, double wallSeconds, std::uint32_t random);

// `text` as one path component: characters other than letters, digits, '.',
// '_' and '-' become '-', and so does a leading '.' (no "..", no hidden
// file). A job's folders are named so (partitions, scratch, task logs).
std::string fileNameOf(const std::string& text);

// A path relative to a job spec's folder, as submitted files name it: no
// empty, "." or ".." part, not absolute, no control character or backslash,
// at most `maxLength` characters and `maxPartLength` per part. Errors start
// with `field`.
Status checkRelativePath(const std::string& path, const std::string& field, int maxLength = 1024,
                         int maxPartLength = 255);

// A name safe as one path component as it is: 1 to `maxLength` letters,
// digits, '.', '_' and '-', and neither "." nor "..". Job names, job ids and
// submitted spec names are such names.
bool isPlainName(const std::string& text, std::size_t maxLength);

// This machine's host name, or "localhost" when it cannot be read.
std::string hostName();

}  // namespace tailor
