#pragma once

// The ZooKeeper state store (`--state-store zk://host:port,.../path`), for
// Dispatchers that take over from each other. Under the URL's path:
//   jobs/<id>          the JobRecord (binary protobuf; values.hpp: any size)
//   jobs/<id>/files    the submitted files (a StoredFiles message)
//   sessions/<name>    the SessionRecord of a session (binary protobuf)
//   values/<key>       the Dispatcher's own values (its Mesos framework id)
//   leader/            the Dispatchers' leader election (dispatcher/main.cpp)
// A job node without data is a submission that never got its record (the
// Dispatcher died between the files and the record); loadJobs() removes it.
//
// What lives on one machine only stays in the local work folder: each job's
// files as a folder for the spec's relative paths (written again from
// ZooKeeper by the Dispatcher that loads the job), JobManager logs and
// reports of the local launcher, the archive for the Mesos fetcher, and the
// logs of sessions' JobManagers (<work dir>/sessions/<name>).
//
// Writes carry the leader's fence (setFence): a Dispatcher that lost its
// leadership cannot overwrite what the new leader wrote.

#include <memory>
#include <string>

#include "common/zookeeper/session.hpp"
#include "dispatcher/job_store.hpp"

namespace tailor::dispatcher {

class ZooKeeperJobStore : public JobStore {
 public:
  // `session` outlives the store; `root` is the URL's path ("" for the root),
  // `url` how to describe it; `workDir` the local folder (created if needed).
  static Result<std::unique_ptr<ZooKeeperJobStore>> open(zookeeper::Session& session,
                                                         std::string root, std::string url,
                                                         std::string workDir);

  // From now on every write fails unless `node` exists (the leader's node).
  void setFence(std::string node) { fence_ = std::move(node); }

  Result<std::string> putFiles(const std::string& jobId,
                               const std::vector<v1::JobFile>& files) override;
  Result<std::vector<v1::JobFile>> getFiles(const std::string& jobId) override;
  Status putJob(const v1::JobRecord& record) override;
  Result<std::vector<v1::JobRecord>> loadJobs(std::vector<std::string>* problems) override;
  Status putSession(const v1::SessionRecord& record) override;
  Result<std::vector<v1::SessionRecord>> loadSessions(std::vector<std::string>* problems) override;
  std::string sessionDir(const std::string& name) const override;
  Result<std::string> getValue(const std::string& key) override;
  Status putValue(const std::string& key, const std::string& value) override;
  std::string jobDir(const std::string& jobId) const override;
  std::string jobManagerStore(const std::string& jobId) const override {
    return jobManagerUrl_ + jobNode(jobId) + "/jobmanager";
  }
  // "zk://[user:password@]hosts" that JobManagers connect to (with the
  // credentials the Dispatcher was given).
  void setJobManagerUrl(std::string hostsUrl) { jobManagerUrl_ = std::move(hostsUrl); }
  std::string describe() const override { return url_; }

 private:
  ZooKeeperJobStore(zookeeper::Session& session, std::string root, std::string url,
                    std::string workDir)
      : session_(session),
        root_(std::move(root)),
        url_(std::move(url)),
        workDir_(std::move(workDir)) {}
  std::string jobNode(const std::string& jobId) const { return root_ + "/jobs/" + jobId; }
  // Writes the job's files into its local folder from ZooKeeper, unless there.
  Status materializeFiles(const v1::JobRecord& record);

  zookeeper::Session& session_;
  std::string root_;
  std::string url_;
  std::string workDir_;
  std::string fence_;
  std::string jobManagerUrl_;
};

}  // namespace tailor::dispatcher
