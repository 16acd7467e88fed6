#pragma once

// A private ZooKeeper server for a test (tests/zookeeper/zk-server.sh): a
// standalone server on a free loopback port with its data in a TempDir,
// stopped when the object goes away.

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tests/common/temp_dir.hpp"

#ifndef TAILOR_ZK_SERVER_SCRIPT
#error "TAILOR_ZK_SERVER_SCRIPT must name tests/zookeeper/zk-server.sh"
#endif

namespace tailor::test {

class ZooKeeperServer {
 public:
  ZooKeeperServer() { port_ = run("start"); }
  ~ZooKeeperServer() { run("kill"); }
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  std::string hosts() const { return "127.0.0.1:" + port_; }
  std::string url(const std::string& path) const { return "zk://" + hosts() + path; }

  // Stops the server; its data stays for start().
  void stop() { run("stop"); }
  void start() { run("start"); }
  // Stops and starts it on the same port with the same data.
  void restart() { run("restart"); }

 private:
  std::string run(const std::string& command) const {
    std::string line =
        std::string("bash ") + TAILOR_ZK_SERVER_SCRIPT + " " + command + " " + dir_.str() + " 2>&1";
    FILE* pipe = ::popen(line.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run " + line);
    std::string output;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    int status = ::pclose(pipe);
    if (status != 0) throw std::runtime_error(line + " failed: " + output);
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    return output;
  }

  TempDir dir_;
  std::string port_;
};

}  // namespace tailor::test
