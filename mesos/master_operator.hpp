#pragma once

// The Mesos master's operator endpoints a package manager uses on uninstall
// (what DC/OS' Cosmos does, reference §4.5 point 8): GET /master/frameworks to
// find a framework by name, POST /master/teardown to remove it with its tasks.
// Blocking calls, for command-line tools.

#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/zookeeper/url.hpp"

namespace tailor::mesos {

// A framework as /master/frameworks lists it (the fields Tailor reads).
struct FrameworkSummary {
  std::string id;
  std::string name;
  std::string hostname;
  std::string webuiUrl;
  bool active = false;     // subscribed and not failed over
  bool connected = false;  // has a connection to the master
};

class MasterOperator {
 public:
  virtual ~MasterOperator() = default;

  // The frameworks the master knows and has not removed ("frameworks"; the
  // "completed_frameworks" are left out). A disconnected framework still in
  // its failover timeout is listed, with active false.
  virtual Result<std::vector<FrameworkSummary>> frameworks() = 0;

  // Tears the framework down: its tasks are killed and it is removed.
  // kNotFound when the master knows no such framework.
  virtual Status teardown(const std::string& frameworkId) = 0;

  // Where requests went, for messages.
  virtual std::string master() const = 0;
};

// The real one, over libcurl. `masters` is HOST:PORT[,HOST:PORT...] (tried
// in turn until one answers); a master that is not the leader answers 307
// with the leader's address, which is followed. No authentication.
class HttpMasterOperator : public MasterOperator {
 public:
  explicit HttpMasterOperator(std::vector<std::string> masters, Duration timeout = Duration(30000));

  Result<std::vector<FrameworkSummary>> frameworks() override;
  Status teardown(const std::string& frameworkId) override;
  std::string master() const override;

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };
  // Sends the request to the masters in turn; follows one redirect.
  Result<Answer> call(const std::string& method, const std::string& path, const std::string& body);

  std::vector<std::string> masters_;
  Duration timeout_;
};

// Where the Mesos masters are, as a --mesos-master value names them: a list
// of HOST:PORT tried in turn (a master that does not lead redirects to the
// one that does), or one ZooKeeper URL under which the masters contend
// (zk://[user:password@]host:port[,host:port...]/path, master_detector.hpp).
struct MesosMasters {
  std::vector<std::string> hosts;                     // HOST:PORT each; empty with `zooKeeper`
  std::optional<zookeeper::ZooKeeperUrl> zooKeeper;  // set for a zk:// value

  bool empty() const { return hosts.empty() && !zooKeeper; }
  // The value again, for another process's --mesos-master (a zk:// URL keeps
  // its credentials).
  std::string flagValue() const;
  // For logs and messages: the list, or the zk:// URL without credentials.
  std::string describe() const;
};

// Parses a --mesos-master value: HOST:PORT[,HOST:PORT...] (PORT 5050 when
// left out, an http:// prefix dropped) or one zk:// URL with a path. Errors
// name the flag and the expected forms.
Result<MesosMasters> parseMasterList(const std::string& text);

// Parses the body of GET /master/frameworks (its "frameworks").
Result<std::vector<FrameworkSummary>> parseFrameworks(const std::string& body);

}  // namespace tailor::mesos
