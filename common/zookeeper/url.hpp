#pragma once

// `zk://host:port,host:port/path`: where a ZooKeeper ensemble is and which
// folder (znode) of it a component uses. Optional credentials before the hosts
// (`zk://user:password@host:port/path`) are added as a `digest` auth.

#include <string>

#include "common/result.hpp"

namespace tailor::zookeeper {

struct ZooKeeperUrl {
  std::string hosts;   // "host:port,host:port", as the ZooKeeper client takes it
  std::string path;    // absolute, no trailing '/': "/tailor"; "" for the root
  std::string digest;  // "user:password", or empty

  // The URL again, credentials left out (for logs and errors).
  std::string describe() const;
  // "zk://[user:password@]hosts" followed by `path`: the URL to hand to
  // another process of this deployment.
  std::string withCredentials(const std::string& path) const;
  // A folder below this one: child("jobs") is "<path>/jobs".
  std::string child(const std::string& name) const;
};

// Parses `text`; errors say what is wrong and name `what` (a flag such as
// "--state-store") and the expected form.
Result<ZooKeeperUrl> parseZooKeeperUrl(const std::string& text, const std::string& what);

// True when `text` starts with "zk://".
bool isZooKeeperUrl(const std::string& text);

}  // namespace tailor::zookeeper
