#include "cli/command_line.hpp"

#include <boost/program_options.hpp>
#include <iostream>

namespace po = boost::program_options;

namespace tailor::cli {

std::optional<int> parseCommand(const char* command, int argc, char** argv,
                                const po::options_description& options,
                                const std::vector<Positional>& positional) {
  po::options_description hidden;
  po::positional_options_description order;
  for (const auto& argument : positional) {
    hidden.add_options()(argument.name, po::value(argument.value));
    order.add(argument.name, 1);
  }
  po::options_description all;
  all.add(options).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(order).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tailor " << command << ": " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  for (const auto& argument : positional) {
    if (argument.required && argument.value->empty()) {
      std::cerr << "tailor " << command << ": missing " << argument.name << "\n"
                << options << "\n";
      return 2;
    }
  }
  return std::nullopt;
}

}  // namespace tailor::cli
