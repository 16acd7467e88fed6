#pragma once

// Parsing of `tailor <command> [POSITIONAL...] [options]`, shared by every command.

#include <optional>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>

namespace tailor::cli {

struct Positional {
  const char* name;    // shown in errors, e.g. "JOB.yaml"
  std::string* value;  // filled when given
  bool required = true;
};

// Parses argv (argv[0] is the command's name) into `options` and
// `positional`. Returns an exit code when the command should stop here:
// 0 after --help, 2 for bad flags or a missing positional argument.
std::optional<int> parseCommand(const char* command, int argc, char** argv,
                                const boost::program_options::options_description& options,
                                const std::vector<Positional>& positional);

}  // namespace tailor::cli
