#pragma once

// gmock double for a framework's connection to the Mesos master, used by the
// tests of the JobManager's Mesos driver and of the Dispatcher's Mesos launcher.

#include <gmock/gmock.h>

#include <string>
#include <utility>
#include <vector>

#include "mesos/scheduler_connection.hpp"

namespace tailor::mesos {

class MockSchedulerConnection : public SchedulerConnection {
 public:
  MOCK_METHOD(void, start, (const ::mesos::v1::FrameworkInfo& info), (override));
  MOCK_METHOD(void, send, (SchedulerCall call), (override));
  MOCK_METHOD(bool, subscribed, (), (const, override));
  MOCK_METHOD(std::string, frameworkId, (), (const, override));
  MOCK_METHOD(bool, idle, (), (const, override));
  MOCK_METHOD(void, stop, (), (override));

  // Makes it keep what is sent as HttpSchedulerConnection would: a call sent
  // while `*subscribed` is appended to `*sent`, any other to `*dropped` (the
  // real connection drops it). subscribed() answers `*subscribed`,
  // frameworkId() `frameworkId`, idle() true. The pointers must outlive it.
  void recordCalls(const bool* subscribed, std::vector<SchedulerCall>* sent,
                   std::vector<SchedulerCall>* dropped, const std::string& frameworkId) {
    ON_CALL(*this, send(::testing::_))
        .WillByDefault([subscribed, sent, dropped](SchedulerCall call) {
          (*subscribed ? sent : dropped)->push_back(std::move(call));
        });
    ON_CALL(*this, subscribed()).WillByDefault([subscribed] { return *subscribed; });
    ON_CALL(*this, frameworkId()).WillByDefault(::testing::Return(frameworkId));
    ON_CALL(*this, idle()).WillByDefault(::testing::Return(true));
  }
};

}  // namespace tailor::mesos
