#pragma once

// The fake agent's URI fetcher: what Mesos' `mesos-fetcher`
// (src/launcher/fetcher.cpp) does for CommandInfo.uris before an executor
// starts, without its cache. Each URI is saved in the sandbox under its
// `output_file` or its basename, then made executable (`executable`) or, if
// it is a tar archive, extracted (`extract`). Sources: file:// URIs and plain
// paths (copied), http:// and https:// URLs (downloaded; only 200 is a
// success, redirects are not followed). As with the real fetcher, a line per
// URI ("Fetched '...' to '...'" / "Failed to fetch '...': ...") is appended
// to the sandbox's `stderr` file.
//
// Blocking: it runs on the calling thread (the fake's loop) until every URI
// is fetched or one failed.

#include <string>

#include "common/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace tailor::fake_mesos {

// The name a URI is saved under without `output_file` (Mesos'
// Fetcher::basename): what follows the last '/' of a URL, query and fragment
// included, or the basename of a path. Errors as Mesos': "Malformed URI
// (missing path): ...", "Illegal characters in URI".
Result<std::string> uriBasename(const std::string& uri);

// Fetches `command`'s URIs into `sandbox`, in order, and stops at the first
// failure, whose message is "Failed to fetch '<uri>': <why>" (for a download:
// "Error downloading resource, received HTTP return code 404").
Status fetchUris(const ::mesos::v1::CommandInfo& command, const std::string& sandbox);

}  // namespace tailor::fake_mesos
