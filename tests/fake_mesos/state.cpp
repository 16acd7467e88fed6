#include "tests/fake_mesos/state.hpp"

#include <fmt/format.h>

#include "tests/fake_mesos/wire.hpp"

namespace tailor::fake_mesos {
namespace {

std::string strings(const std::vector<std::string>& values) {
  std::string json = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) json += ",";
    json += jsonString(values[i]);
  }
  return json + "]";
}

const char* boolean(bool value) { return value ? "true" : "false"; }

template <typename T, typename F>
std::string array(const std::vector<T>& items, F render) {
  std::string json = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) json += ",";
    json += render(items[i]);
  }
  return json + "]";
}

}  // namespace

const StateSnapshot::Task* StateSnapshot::task(const std::string& id) const {
  // The latest task with that id (ids may be reused after a terminal state).
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) {
    if (it->id == id) return &*it;
  }
  return nullptr;
}

const StateSnapshot::Framework* StateSnapshot::framework(const std::string& id) const {
  for (const auto& framework : frameworks) {
    if (framework.id == id) return &framework;
  }
  return nullptr;
}

const StateSnapshot::Executor* StateSnapshot::executorOfTask(const std::string& taskId) const {
  for (const auto& executor : executors) {
    for (const auto& id : executor.taskIds) {
      if (id == taskId) return &executor;
    }
  }
  return nullptr;
}

std::string StateSnapshot::toJson() const {
  std::string json = fmt::format("{{\"master_id\":{},\"port\":{}", jsonString(masterId), port);
  json +=
      ",\"frameworks\":" + array(frameworks, [](const Framework& f) {
        return fmt::format(
            "{{\"id\":{},\"name\":{},\"active\":{},\"connected\":{},\"torn_down\":{},\"roles\":{},"
            "\"suppressed_roles\":{}}}",
            jsonString(f.id), jsonString(f.name), boolean(f.active), boolean(f.connected),
            boolean(f.tornDown), strings(f.roles), strings(f.suppressedRoles));
      });
  json += ",\"agents\":" + array(agents, [](const Agent& a) {
            return fmt::format(
                "{{\"id\":{},\"hostname\":{},\"lost\":{},\"connected\":{},\"resources\":{},"
                "\"available\":{}}}",
                jsonString(a.id), jsonString(a.hostname), boolean(a.lost), boolean(a.connected),
                a.resourcesJson, a.availableJson);
          });
  json +=
      ",\"tasks\":" + array(tasks, [](const Task& t) {
        return fmt::format(
            "{{\"id\":{},\"framework_id\":{},\"agent\":{},\"executor_id\":{},\"state\":{},"
            "\"completed\":{},\"resources\":{}}}",
            jsonString(t.id), jsonString(t.frameworkId), jsonString(t.agentId),
            jsonString(t.executorId), jsonString(t.state), boolean(t.completed), t.resourcesJson);
      });
  json += ",\"offers\":" + array(offers, [](const Offer& o) {
            return fmt::format("{{\"id\":{},\"framework_id\":{},\"agent\":{},\"resources\":{}}}",
                               jsonString(o.id), jsonString(o.frameworkId), jsonString(o.agentId),
                               o.resourcesJson);
          });
  json += ",\"executors\":" + array(executors, [](const Executor& e) {
            return fmt::format(
                "{{\"id\":{},\"framework_id\":{},\"agent\":{},\"container_id\":{},\"state\":{},"
                "\"pid\":{},"
                "\"sandbox\":{},\"tasks\":{}}}",
                jsonString(e.id), jsonString(e.frameworkId), jsonString(e.agentId),
                jsonString(e.containerId), jsonString(e.state),
                e.pid ? std::to_string(*e.pid) : std::string("null"), jsonString(e.sandbox),
                strings(e.taskIds));
          });
  return json + "}";
}

}  // namespace tailor::fake_mesos
