#pragma once

// Test doubles for the Dispatcher's boundaries: an in-memory JobStore (with
// failures that tests can switch on), a gmock JobManagerLauncher and gmock
// gateways to JobManagers and sessions.

#include <gmock/gmock.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dispatcher/job_store.hpp"
#include "dispatcher/jobmanager_gateway.hpp"
#include "dispatcher/launcher.hpp"
#include "dispatcher/session_gateway.hpp"

namespace tailor::dispatcher {

// Keeps the latest record of each job and the files submitted with it, in
// memory. jobDir() names a folder under `root` that the fake never creates:
// tests that want the Dispatcher to find a JobManager's log or report there
// write it themselves.
class FakeJobStore : public JobStore {
 public:
  explicit FakeJobStore(std::string root) : root_(std::move(root)) {}

  Result<std::string> putFiles(const std::string& jobId,
                               const std::vector<v1::JobFile>& files) override {
    if (putFilesError) return *putFilesError;
    this->files[jobId] = files;
    return jobDir(jobId) + "/files";
  }

  Result<std::vector<v1::JobFile>> getFiles(const std::string& jobId) override {
    auto it = files.find(jobId);
    if (it == files.end()) return makeError(ErrorCode::kNotFound, "no files of {}", jobId);
    return it->second;
  }

  Status putJob(const v1::JobRecord& record) override {
    if (putJobError) return *putJobError;
    records[record.id()] = record;
    ++writes;
    return Status();
  }

  // Records in id order (not submission order), like a directory listing.
  Result<std::vector<v1::JobRecord>> loadJobs(std::vector<std::string>* problems) override {
    if (loadError) return *loadError;
    if (problems != nullptr)
      problems->insert(problems->end(), loadProblems.begin(), loadProblems.end());
    std::vector<v1::JobRecord> loaded;
    for (const auto& [id, record] : records) loaded.push_back(record);
    return loaded;
  }

  Status putSession(const v1::SessionRecord& record) override {
    if (putJobError) return *putJobError;
    sessions[record.view().name()] = record;
    return Status();
  }
  Result<std::vector<v1::SessionRecord>> loadSessions(std::vector<std::string>* problems) override {
    if (loadError) return *loadError;
    std::vector<v1::SessionRecord> loaded;
    for (const auto& [name, record] : sessions) loaded.push_back(record);
    return loaded;
  }
  std::string sessionDir(const std::string& name) const override {
    return root_ + "/sessions/" + name;
  }

  Result<std::string> getValue(const std::string& key) override {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
  Status putValue(const std::string& key, const std::string& value) override {
    values[key] = value;
    return Status();
  }
  std::string jobDir(const std::string& jobId) const override { return root_ + "/jobs/" + jobId; }
  std::string jobManagerStore(const std::string& jobId) const override {
    return "local:" + jobDir(jobId) + "/jobmanager";
  }

  std::string describe() const override { return "fake:" + root_; }

  // The stored record of `jobId`; an empty record when there is none.
  v1::JobRecord record(const std::string& jobId) const {
    auto it = records.find(jobId);
    return it == records.end() ? v1::JobRecord() : it->second;
  }

  std::map<std::string, v1::JobRecord> records;
  std::map<std::string, v1::SessionRecord> sessions;  // by name
  std::map<std::string, std::vector<v1::JobFile>> files;
  std::map<std::string, std::string> values;
  int writes = 0;  // successful putJob calls
  std::optional<Error> putFilesError;
  std::optional<Error> putJobError;
  std::optional<Error> loadError;
  std::vector<std::string> loadProblems;  // what loadJobs reports as skipped

 private:
  std::string root_;
};

class MockJobManagerGateway : public JobManagerGateway {
 public:
  MOCK_METHOD(void, getStatus,
              (const std::string& address, const std::string& jobId, StatusCallback done),
              (override));
  MOCK_METHOD(void, locateTask,
              (const std::string& address, const std::string& stage, int index,
               std::function<void(Result<v1::LocateTaskResponse>)> done),
              (override));
  MOCK_METHOD(void, readTaskLog,
              (const std::string& address, const v1::ReadTaskLogRequest& request,
               std::function<void(Result<v1::ReadTaskLogResponse>)> done),
              (override));
};

class MockLauncher : public JobManagerLauncher {
 public:
  MOCK_METHOD(void, setExitCallback, (ExitCallback callback), (override));
  MOCK_METHOD(Result<v1::JobManagerAttempt>, launch, (const JobManagerLaunch& launch), (override));
  MOCK_METHOD(void, adopt, (const std::string& jobId, const v1::JobManagerAttempt& attempt),
              (override));
  MOCK_METHOD(void, stop, (const std::string& jobId, int attempt, bool force), (override));
  MOCK_METHOD(std::string, name, (), (const, override));
  // Not a mock: the watchdog asks it on every round.
  bool waiting(const std::string& jobId, int attempt) const override {
    return waitingJobs.count(jobId) != 0;
  }
  std::set<std::string> waitingJobs;

  // Sessions. The exit callback is kept (not a mock): tests call it.
  void setSessionExitCallback(SessionExitCallback callback) override {
    sessionExited = std::move(callback);
  }
  MOCK_METHOD(Result<v1::JobManagerAttempt>, launchSession, (const SessionLaunch& launch),
              (override));
  MOCK_METHOD(void, adoptSession, (const std::string& name, const v1::JobManagerAttempt& attempt),
              (override));
  MOCK_METHOD(void, stopSession, (const std::string& name, int attempt, bool force), (override));
  SessionExitCallback sessionExited;
};

class MockSessionGateway : public SessionGateway {
 public:
  MOCK_METHOD(void, submitJob,
              (const std::string& address, const v1::SessionSubmitJobRequest& request,
               std::function<void(Result<v1::SessionSubmitJobResponse>)> done),
              (override));
  MOCK_METHOD(void, cancelJob,
              (const std::string& address, const v1::SessionCancelJobRequest& request,
               std::function<void(Result<v1::SessionCancelJobResponse>)> done),
              (override));
  MOCK_METHOD(void, stop,
              (const std::string& address, const v1::SessionStopRequest& request,
               std::function<void(Result<v1::SessionStopResponse>)> done),
              (override));
};

}  // namespace tailor::dispatcher
