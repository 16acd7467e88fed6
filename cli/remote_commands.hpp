#pragma once

// The commands that talk to a Dispatcher: submit, list, status, cancel,
// logs, report, and session start|list|stop. Exit codes: 0 done (for `submit --wait`: the job FINISHED);
// 1 the job ended otherwise, or the Dispatcher refused the request (unknown
// id, bad spec, job already ended); 2 bad usage; 3 the Dispatcher could not
// be reached or failed.

#include <optional>
#include <string>

namespace tailor::cli {

// Runs `command` when it is one of these; nothing when it is not.
std::optional<int> runRemoteCommand(const std::string& command, int argc, char** argv);

}  // namespace tailor::cli
