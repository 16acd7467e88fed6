#include "tests/fake_mesos/allocator.hpp"

#include <algorithm>

namespace tailor::fake_mesos {
namespace {

constexpr std::int64_t kMinCpus = 10;     // 0.01 cpus in thousandths
constexpr std::int64_t kMinMem = 32'000;  // 32 MB in thousandths

bool allocatable(const ResourceSet& resources) {
  return resources.scalar("cpus") >= kMinCpus || resources.scalar("mem") >= kMinMem;
}

}  // namespace

void Allocator::addAgent(const std::string& agentId, const ResourceSet& total) {
  agents_[agentId] = AgentState{total, ResourceSet()};
}

void Allocator::removeAgent(const std::string& agentId) {
  agents_.erase(agentId);
  for (auto& [id, framework] : frameworks_) {
    std::erase_if(framework.filters, [&](const Filter& f) { return f.agentId == agentId; });
  }
}

void Allocator::addFramework(const std::string& frameworkId, const std::vector<std::string>& roles,
                             bool gpuCapable) {
  auto& framework = frameworks_[frameworkId];
  framework.roles = roles;
  framework.gpuCapable = gpuCapable;
  framework.active = true;
}

void Allocator::updateFramework(const std::string& frameworkId,
                                const std::vector<std::string>& roles, bool gpuCapable) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) {
    addFramework(frameworkId, roles, gpuCapable);
    return;
  }
  it->second.roles = roles;
  it->second.gpuCapable = gpuCapable;
}

void Allocator::removeFramework(const std::string& frameworkId) { frameworks_.erase(frameworkId); }

void Allocator::setActive(const std::string& frameworkId, bool active) {
  auto it = frameworks_.find(frameworkId);
  if (it != frameworks_.end()) it->second.active = active;
}

std::vector<std::string> Allocator::rolesOrAll(const FrameworkState& framework,
                                               const std::vector<std::string>& roles) const {
  return roles.empty() ? framework.roles : roles;
}

void Allocator::suppress(const std::string& frameworkId, const std::vector<std::string>& roles) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  for (const auto& role : rolesOrAll(it->second, roles)) it->second.suppressed.insert(role);
}

void Allocator::revive(const std::string& frameworkId, const std::vector<std::string>& roles) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  for (const auto& role : rolesOrAll(it->second, roles)) {
    it->second.suppressed.erase(role);
    std::erase_if(it->second.filters, [&](const Filter& f) { return f.role == role; });
  }
}

void Allocator::setSuppressed(const std::string& frameworkId,
                              const std::vector<std::string>& roles) {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return;
  it->second.suppressed = std::set<std::string>(roles.begin(), roles.end());
}

void Allocator::allocate(const std::string& frameworkId, const std::string& agentId,
                         const ResourceSet& resources) {
  auto agent = agents_.find(agentId);
  if (agent != agents_.end()) agent->second.allocated += resources;
  auto framework = frameworks_.find(frameworkId);
  if (framework != frameworks_.end()) framework->second.allocatedCpus += resources.scalar("cpus");
}

void Allocator::recover(const std::string& frameworkId, const std::string& agentId,
                        const std::string& role, const ResourceSet& resources,
                        std::optional<Duration> refuse, MonotonicTime now) {
  auto agent = agents_.find(agentId);
  if (agent != agents_.end()) agent->second.allocated -= resources;
  auto framework = frameworks_.find(frameworkId);
  if (framework == frameworks_.end()) return;
  framework->second.allocatedCpus =
      std::max<std::int64_t>(0, framework->second.allocatedCpus - resources.scalar("cpus"));
  if (refuse && refuse->count() > 0 && !resources.empty()) {
    framework->second.filters.push_back(Filter{agentId, role, resources, now + *refuse});
  }
}

std::vector<Allocator::Decision> Allocator::allocate(MonotonicTime now) {
  for (auto& [id, framework] : frameworks_) {
    std::erase_if(framework.filters, [&](const Filter& f) { return f.expires <= now; });
  }
  std::vector<Decision> decisions;
  for (auto& [agentId, agent] : agents_) {
    ResourceSet free = agent.total - agent.allocated;
    if (!allocatable(free)) continue;
    bool hasGpus = free.scalar("gpus") > 0 || agent.total.scalar("gpus") > 0;

    std::vector<std::pair<std::string, FrameworkState*>> order;
    for (auto& [id, framework] : frameworks_) order.emplace_back(id, &framework);
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.second->allocatedCpus < b.second->allocatedCpus;
    });
    for (auto& [frameworkId, framework] : order) {
      if (!framework->active || (hasGpus && !framework->gpuCapable)) continue;
      const std::string* chosen = nullptr;
      for (const auto& role : framework->roles) {
        if (framework->suppressed.count(role) != 0) continue;
        bool filtered =
            std::any_of(framework->filters.begin(), framework->filters.end(), [&](const Filter& f) {
              return f.agentId == agentId && f.role == role && f.refused.contains(free);
            });
        if (!filtered) {
          chosen = &role;
          break;
        }
      }
      if (chosen == nullptr) continue;
      decisions.push_back(Decision{frameworkId, agentId, *chosen, free});
      agent.allocated += free;
      framework->allocatedCpus += free.scalar("cpus");
      break;
    }
  }
  return decisions;
}

ResourceSet Allocator::available(const std::string& agentId) const {
  auto it = agents_.find(agentId);
  return it == agents_.end() ? ResourceSet() : it->second.total - it->second.allocated;
}

std::vector<std::string> Allocator::suppressedRoles(const std::string& frameworkId) const {
  auto it = frameworks_.find(frameworkId);
  if (it == frameworks_.end()) return {};
  return std::vector<std::string>(it->second.suppressed.begin(), it->second.suppressed.end());
}

}  // namespace tailor::fake_mesos
