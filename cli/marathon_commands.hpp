#pragma once

// `tailor marathon deploy|status|remove`: the Dispatcher as a Marathon app
// (marathon/). Exit codes: 0 done; 1 Marathon or the Mesos master refused
// (invalid definition, locked by a deployment, credentials, no such app,
// several frameworks of the name); 2 bad usage (flags, the app file); 3
// Marathon or the master could not be reached, failed, or the wait timed out.

namespace tailor::cli {

// Runs `tailor marathon ...` (argv[0] is "marathon").
int runMarathonCommand(int argc, char** argv);

}  // namespace tailor::cli
