#pragma once

#include <string>

#include "common/resources.hpp"

namespace tailor::scheduler {

// A share of a TaskManager cut to one profile and handed to the JobMaster.
struct Slot {
  std::string id;
  std::string taskManagerId;
  std::string address;  // host:port of the TM
  Resources profile;    // what the slot holds (>= the task profile it serves)
  std::string jobId = {};  // the job it is cut for (a session runs many)
  // The whole of a TaskManager kept for one task alone
  // (ResourceManagerGateway::declareSoloRequirements).
  bool solo = false;
};

}  // namespace tailor::scheduler
