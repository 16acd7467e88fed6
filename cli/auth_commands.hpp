#pragma once

// `tailor auth hash-password|new-token`: the secrets of a Dispatcher's
// credentials file (docs/security.md, "REST authentication"). Exit codes: 0
// done; 2 bad usage or no password read; 1 no random bytes.

namespace tailor::cli {

// Runs `tailor auth ...` (argv[0] is "auth").
int runAuthCommand(int argc, char** argv);

}  // namespace tailor::cli
