#include "cli/auth_commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "cli/command_line.hpp"
#include "common/auth/verifier.hpp"
#include "common/base64.hpp"

namespace tailor::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage = R"(usage: tailor auth <command>

commands:
  hash-password   read a password on stdin, print its pbkdf2-sha256$... verifier
  new-token       print a fresh random token, and its sha256$... verifier on the next line

A credentials file (tailor-dispatcher --auth-file) has one entry a line:
  user  <name> <read|submit|admin> <the verifier hash-password printed>
  token <name> <read|submit|admin> <the verifier new-token printed>
)";

// One line from stdin, without echo when stdin is a terminal.
std::string readPassword() {
  const bool terminal = isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (terminal) {
    std::cerr << "password: " << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string password;
  std::getline(std::cin, password);
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

int hashPasswordCommand(int argc, char** argv) {
  int iterations = auth::kDefaultIterations;
  po::options_description options(
      "tailor auth hash-password [--iterations N] < password\n"
      "Reads one line (the password; without echo on a terminal) and prints its verifier");
  options.add_options()("help", "show this help")(
      "iterations", po::value(&iterations)->default_value(iterations),
      "PBKDF2-HMAC-SHA256 iterations (docs/security.md: each verification costs this many)");
  if (auto done = parseCommand("auth hash-password", argc, argv, options, {})) return *done;
  if (iterations < auth::kMinIterations || iterations > auth::kMaxIterations) {
    std::cerr << "tailor auth hash-password: --iterations: expected " << auth::kMinIterations
              << " to " << auth::kMaxIterations << "\n";
    return 2;
  }
  std::string password = readPassword();
  if (password.empty()) {
    std::cerr << "tailor auth hash-password: no password read on stdin (expected one line)\n";
    return 2;
  }
  auto verifier = auth::hashPassword(password, iterations);
  if (!verifier.ok()) {
    std::cerr << "tailor auth hash-password: " << verifier.error().message << "\n";
    return 1;
  }
  std::cout << auth::formatPasswordVerifier(*verifier) << "\n";
  return 0;
}

int newTokenCommand(int argc, char** argv) {
  po::options_description options(
      "tailor auth new-token\n"
      "Prints a fresh token (32 random bytes, base64url) and, on the next line, the\n"
      "sha256$... verifier for the credentials file. Keep the token secret: give it to\n"
      "its user (TAILOR_TOKEN_FILE); the file keeps only the verifier");
  options.add_options()("help", "show this help");
  if (auto done = parseCommand("auth new-token", argc, argv, options, {})) return *done;
  auto bytes = auth::randomBytes(32);
  if (!bytes.ok()) {
    std::cerr << "tailor auth new-token: " << bytes.error().message << "\n";
    return 1;
  }
  std::string token = base64UrlEncode(*bytes);
  std::cout << token << "\n" << auth::formatTokenVerifier(token) << "\n";
  return 0;
}

}  // namespace

int runAuthCommand(int argc, char** argv) {
  std::string sub = argc >= 2 ? argv[1] : "";
  if (sub == "hash-password") return hashPasswordCommand(argc - 1, argv + 1);
  if (sub == "new-token") return newTokenCommand(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (sub.empty() ? std::string("tailor auth: a command is needed\n")
                            : "tailor auth: unknown command '" + sub + "'\n")
            << kUsage;
  return 2;
}

}  // namespace tailor::cli
