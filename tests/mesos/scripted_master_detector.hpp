#pragma once

// A MasterDetector a test plays: it says which master leads when the test
// calls appoint(). What it does not do: read ZooKeeper, parse MasterInfo, or
// report anything by itself (not even at start()).

#include <functional>
#include <optional>
#include <string>

#include "mesos/master_detector.hpp"

namespace tailor::mesos {

class ScriptedMasterDetector : public MasterDetector {
 public:
  void start(std::function<void(const std::optional<std::string>&)> changed) override {
    changed_ = std::move(changed);
  }
  std::string describe() const override { return "zk://scripted:2181/mesos"; }

  // Tells the connection that `leader` leads now (nullopt: nobody). Call it
  // on the loop thread, after start().
  void appoint(const std::optional<std::string>& leader) {
    if (changed_) changed_(leader);
  }
  bool started() const { return static_cast<bool>(changed_); }

 private:
  std::function<void(const std::optional<std::string>&)> changed_;
};

}  // namespace tailor::mesos
