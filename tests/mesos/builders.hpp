#pragma once

// Builders of Mesos v1 scheduler events (offers, updates, rescinds) and
// readers of the calls a framework sends back (ACCEPTs and their tasks,
// RECONCILEs), shared by the tests of the frameworks built on the offer loop:
// the JobManager's Mesos driver and the Dispatcher's Mesos launcher.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mesos/offer_matcher.hpp"
#include "mesos/scheduler_connection.hpp"

namespace tailor::test {

// The role offers are allocated to unless a builder is told otherwise.
inline const std::string kTestRole = "tailor";

// 16 raw bytes, a zero byte and high bytes included: must be echoed verbatim.
inline const std::string kTestUuid(
    "\x3b\x1a\x00\x4f\xe2\x11\x4c\x8d\x9a\x00\xff\x10\x20\x30\x40\x50", 16);

// --- builders ---

// A scalar resource allocated to `role` (none when empty: unreserved, pre-MULTI_ROLE).
inline ::mesos::v1::Resource scalar(const std::string& name, double value,
                                    const std::string& role = kTestRole) {
  ::mesos::v1::Resource resource;
  resource.set_name(name);
  resource.set_type(::mesos::v1::Value::SCALAR);
  resource.mutable_scalar()->set_value(value);
  if (!role.empty()) resource.mutable_allocation_info()->set_role(role);
  return resource;
}

inline ::mesos::v1::Resource portsResource(std::vector<tailor::mesos::PortRange> ranges,
                                           const std::string& role = kTestRole) {
  ::mesos::v1::Resource resource;
  resource.set_name("ports");
  resource.set_type(::mesos::v1::Value::RANGES);
  for (const auto& r : ranges) {
    auto* range = resource.mutable_ranges()->add_range();
    range->set_begin(r.begin);
    range->set_end(r.end);
  }
  if (!role.empty()) resource.mutable_allocation_info()->set_role(role);
  return resource;
}

// An offer of `cpus` and `mem` (and optionally disk, gpus) for kTestRole, with
// the ports `portRange` (none when it begins at 0), from agent `agent`
// (hostname "host-<agent>").
inline ::mesos::v1::Offer makeOffer(const std::string& id, const std::string& agent, double cpus,
                                    std::int64_t mem,
                                    tailor::mesos::PortRange portRange = {31000, 31009},
                                    std::int64_t disk = 0, std::int64_t gpus = 0) {
  ::mesos::v1::Offer offer;
  offer.mutable_id()->set_value(id);
  offer.mutable_framework_id()->set_value("fw-1");
  offer.mutable_agent_id()->set_value(agent);
  offer.set_hostname("host-" + agent);
  offer.mutable_allocation_info()->set_role(kTestRole);
  *offer.add_resources() = scalar("cpus", cpus);
  *offer.add_resources() = scalar("mem", static_cast<double>(mem));
  if (disk > 0) *offer.add_resources() = scalar("disk", static_cast<double>(disk));
  if (gpus > 0) *offer.add_resources() = scalar("gpus", static_cast<double>(gpus));
  if (portRange.begin != 0) *offer.add_resources() = portsResource({portRange});
  return offer;
}

inline tailor::mesos::SchedulerEvent offersEvent(const std::vector<::mesos::v1::Offer>& offers) {
  tailor::mesos::SchedulerEvent event;
  event.set_type(tailor::mesos::SchedulerEvent::OFFERS);
  for (const auto& offer : offers) *event.mutable_offers()->add_offers() = offer;
  return event;
}

// An UPDATE of `taskId`; with `uuid` as the agent sends it (to be
// acknowledged), without as the master sends it.
inline tailor::mesos::SchedulerEvent updateEvent(
    const std::string& taskId, const std::string& agentId, ::mesos::v1::TaskState state,
    std::optional<std::string> uuid = std::nullopt,
    std::optional<::mesos::v1::TaskStatus::Reason> reason = std::nullopt,
    const std::string& message = "",
    ::mesos::v1::TaskStatus::Source source = ::mesos::v1::TaskStatus::SOURCE_EXECUTOR) {
  tailor::mesos::SchedulerEvent event;
  event.set_type(tailor::mesos::SchedulerEvent::UPDATE);
  ::mesos::v1::TaskStatus* status = event.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value(taskId);
  status->set_state(state);
  if (!agentId.empty()) status->mutable_agent_id()->set_value(agentId);
  if (uuid) status->set_uuid(*uuid);
  if (reason) status->set_reason(*reason);
  if (!message.empty()) status->set_message(message);
  status->set_source(source);
  return event;
}

// A reconciliation answer: from the master, no uuid.
inline tailor::mesos::SchedulerEvent reconciliationAnswer(const std::string& taskId,
                                                          const std::string& agentId,
                                                          ::mesos::v1::TaskState state) {
  return updateEvent(taskId, agentId, state, std::nullopt,
                     ::mesos::v1::TaskStatus::REASON_RECONCILIATION, "",
                     ::mesos::v1::TaskStatus::SOURCE_MASTER);
}

inline tailor::mesos::SchedulerEvent rescindEvent(const std::string& offerId) {
  tailor::mesos::SchedulerEvent event;
  event.set_type(tailor::mesos::SchedulerEvent::RESCIND);
  event.mutable_rescind()->mutable_offer_id()->set_value(offerId);
  return event;
}

// --- inspecting calls ---

// The calls of `type` among `calls`, in order.
inline std::vector<tailor::mesos::SchedulerCall> callsOfType(
    const std::vector<tailor::mesos::SchedulerCall>& calls,
    tailor::mesos::SchedulerCall::Type type) {
  std::vector<tailor::mesos::SchedulerCall> out;
  for (const auto& call : calls) {
    if (call.type() == type) out.push_back(call);
  }
  return out;
}

// The types of `calls`, in order.
inline std::vector<tailor::mesos::SchedulerCall::Type> typesOf(
    const std::vector<tailor::mesos::SchedulerCall>& calls) {
  std::vector<tailor::mesos::SchedulerCall::Type> out;
  for (const auto& call : calls) out.push_back(call.type());
  return out;
}

inline const ::mesos::v1::Resource* findResource(
    const google::protobuf::RepeatedPtrField<::mesos::v1::Resource>& list,
    const std::string& name) {
  const ::mesos::v1::Resource* found = nullptr;
  for (const auto& resource : list) {
    if (resource.name() != name) continue;
    EXPECT_EQ(found, nullptr) << "resource " << name << " appears twice";
    found = &resource;
  }
  return found;
}

// A copy of the resource `name` (an empty one if missing, so a matcher fails cleanly).
inline ::mesos::v1::Resource resourceNamed(
    const google::protobuf::RepeatedPtrField<::mesos::v1::Resource>& list,
    const std::string& name) {
  const ::mesos::v1::Resource* resource = findResource(list, name);
  return resource == nullptr ? ::mesos::v1::Resource() : *resource;
}

inline double scalarOf(const google::protobuf::RepeatedPtrField<::mesos::v1::Resource>& list,
                       const std::string& name) {
  const ::mesos::v1::Resource* resource = findResource(list, name);
  return resource == nullptr ? 0.0 : resource->scalar().value();
}

// A scalar resource `name` of `value` allocated to kTestRole, unreserved.
MATCHER_P2(ScalarIs, name, value, "") {
  return arg.name() == name && arg.type() == ::mesos::v1::Value::SCALAR &&
         arg.scalar().value() == value && arg.has_allocation_info() &&
         arg.allocation_info().role() == kTestRole && arg.reservations_size() == 0 &&
         !arg.has_reservation() && !arg.has_disk() && !arg.has_revocable();
}

// The single port a task was given (its `ports` resource must hold exactly one).
inline std::uint64_t portOf(const ::mesos::v1::TaskInfo& task) {
  const ::mesos::v1::Resource* resource = findResource(task.resources(), "ports");
  EXPECT_NE(resource, nullptr) << task.task_id().value() << " has no ports";
  if (resource == nullptr) return 0;
  EXPECT_EQ(resource->type(), ::mesos::v1::Value::RANGES);
  EXPECT_EQ(resource->ranges().range_size(), 1);
  if (resource->ranges().range_size() != 1) return 0;
  EXPECT_EQ(resource->ranges().range(0).begin(), resource->ranges().range(0).end());
  return resource->ranges().range(0).begin();
}

inline std::vector<std::string> offerIdsOf(
    const google::protobuf::RepeatedPtrField<::mesos::v1::OfferID>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.push_back(id.value());
  return out;
}

// The tasks of an ACCEPT's LAUNCH operations.
inline std::vector<::mesos::v1::TaskInfo> tasksOf(const tailor::mesos::SchedulerCall& accept) {
  std::vector<::mesos::v1::TaskInfo> tasks;
  for (const auto& operation : accept.accept().operations()) {
    if (operation.type() != ::mesos::v1::Offer::Operation::LAUNCH) continue;
    for (const auto& task : operation.launch().task_infos()) tasks.push_back(task);
  }
  return tasks;
}

inline std::vector<std::string> taskIdsOf(const tailor::mesos::SchedulerCall& accept) {
  std::vector<std::string> ids;
  for (const auto& task : tasksOf(accept)) ids.push_back(task.task_id().value());
  return ids;
}

// (task id, agent id) of a RECONCILE.
inline std::vector<std::pair<std::string, std::string>> reconciledOf(
    const tailor::mesos::SchedulerCall& call) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& task : call.reconcile().tasks()) {
    out.emplace_back(task.task_id().value(), task.agent_id().value());
  }
  return out;
}

}  // namespace tailor::test
