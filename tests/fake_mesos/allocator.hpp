#pragma once

// The fake master's allocator: which agent resources are free, which
// frameworks may get them, and what to offer at each allocation interval.
// A much simplified Mesos hierarchical allocator:
//  - each pass offers every agent's whole free resources to one framework
//    (lowest allocated CPU share first), one offer per agent, under the
//    first of the framework's roles that is neither suppressed nor filtered;
//  - DECLINE/ACCEPT filters refuse an agent's resources to a framework and
//    role until they expire, as long as the refused resources contain what
//    is free (Mesos' RefusedOfferFilter);
//  - SUPPRESS stops offers for roles; REVIVE resumes them and drops the
//    roles' filters;
//  - agents with GPUs are offered only to GPU_RESOURCES frameworks;
//  - an agent is offered only when it has cpus >= 0.01 or mem >= 32 free
//    (Mesos' default --min_allocatable_resources).
// Pure bookkeeping: time is passed in, nothing is sent. Loop thread only.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "tests/fake_mesos/resources.hpp"

namespace tailor::fake_mesos {

class Allocator {
 public:
  struct Decision {
    std::string frameworkId;
    std::string agentId;
    std::string role;
    ResourceSet resources;
  };

  // Agents come with their total resources; removing one forgets it.
  void addAgent(const std::string& agentId, const ResourceSet& total);
  void removeAgent(const std::string& agentId);

  // A framework with its roles (its `roles`, or its single `role`).
  void addFramework(const std::string& frameworkId, const std::vector<std::string>& roles,
                    bool gpuCapable);
  void updateFramework(const std::string& frameworkId, const std::vector<std::string>& roles,
                       bool gpuCapable);
  void removeFramework(const std::string& frameworkId);
  // Inactive frameworks (disconnected) get no offers.
  void setActive(const std::string& frameworkId, bool active);

  // SUPPRESS / REVIVE; an empty `roles` means all the framework's roles.
  void suppress(const std::string& frameworkId, const std::vector<std::string>& roles);
  void revive(const std::string& frameworkId, const std::vector<std::string>& roles);
  // Replaces the suppressed set (SUBSCRIBE's suppressed_roles).
  void setSuppressed(const std::string& frameworkId, const std::vector<std::string>& roles);

  // Marks resources of an agent as in use by a framework (tasks and
  // executors launched outside an offer pass). Rarely needed: offers made by
  // allocate() are already counted.
  void allocate(const std::string& frameworkId, const std::string& agentId,
                const ResourceSet& resources);

  // Gives resources back (declined or unused offers, finished tasks, exited
  // executors). With `refuse` > 0 the framework's role gets a filter for them.
  void recover(const std::string& frameworkId, const std::string& agentId, const std::string& role,
               const ResourceSet& resources, std::optional<Duration> refuse, MonotonicTime now);

  // One allocation pass: the offers to make now (already counted as allocated).
  std::vector<Decision> allocate(MonotonicTime now);

  ResourceSet available(const std::string& agentId) const;
  std::vector<std::string> suppressedRoles(const std::string& frameworkId) const;

 private:
  struct Filter {
    std::string agentId;
    std::string role;
    ResourceSet refused;
    MonotonicTime expires;
  };
  struct AgentState {
    ResourceSet total;
    ResourceSet allocated;
  };
  struct FrameworkState {
    std::vector<std::string> roles;
    bool gpuCapable = false;
    bool active = true;
    std::set<std::string> suppressed;
    std::vector<Filter> filters;
    std::int64_t allocatedCpus = 0;  // thousandths, for the ordering
  };

  std::vector<std::string> rolesOrAll(const FrameworkState& framework,
                                      const std::vector<std::string>& roles) const;

  std::map<std::string, AgentState> agents_;
  std::map<std::string, FrameworkState> frameworks_;
};

}  // namespace tailor::fake_mesos
