#pragma once

// A snapshot of the fake cluster for tests and GET /fake/state: frameworks,
// agents, tasks (the master's view, completed ones too), outstanding offers
// and the agents' executors.

#include <optional>
#include <string>
#include <vector>

namespace tailor::fake_mesos {

struct StateSnapshot {
  struct Framework {
    std::string id;
    std::string name;
    bool active = false;     // subscribed, offers flowing
    bool connected = false;  // has an event stream
    bool tornDown = false;
    std::vector<std::string> roles;
    std::vector<std::string> suppressedRoles;
  };
  struct Agent {
    std::string id;
    std::string hostname;
    bool lost = false;
    bool connected = true;      // false while its process is away (restarting)
    std::string resourcesJson;  // {"cpus":4,...}
    std::string availableJson;  // not offered, not used
  };
  struct Task {
    std::string id;
    std::string frameworkId;
    std::string agentId;
    std::string executorId;
    std::string state;       // latest state known to the master, e.g. "TASK_RUNNING"
    bool completed = false;  // terminal update acknowledged (or framework removed)
    std::string resourcesJson;
  };
  struct Offer {
    std::string id;
    std::string frameworkId;
    std::string agentId;
    std::string resourcesJson;
  };
  struct Executor {
    std::string id;
    std::string frameworkId;
    std::string agentId;
    std::string containerId;
    std::string state;  // REGISTERING, RUNNING, TERMINATING
    std::optional<int> pid;
    std::string sandbox;
    std::vector<std::string> taskIds;
  };

  std::string masterId;
  int port = 0;
  std::vector<Framework> frameworks;
  std::vector<Agent> agents;
  std::vector<Task> tasks;
  std::vector<Offer> offers;
  std::vector<Executor> executors;

  const Task* task(const std::string& id) const;
  const Framework* framework(const std::string& id) const;
  const Executor* executorOfTask(const std::string& taskId) const;

  std::string toJson() const;
};

}  // namespace tailor::fake_mesos
