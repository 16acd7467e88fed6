#pragma once

// Session mode (`tailor-jobmanager --session NAME`, docs/sessions.md): a
// long-running JobManager that takes jobs over RPC (Session.SubmitJob) and
// runs one JobMaster per job on a JobManagerRuntime, whose one
// ResourceManager shares its TaskManagers among them.

#include <functional>
#include <string>

#include "common/resources.hpp"
#include "common/result.hpp"
#include "scheduler/jobmanager_runtime.hpp"

namespace tailor::scheduler {

struct SessionRunOptions : JobManagerOptions {
  std::string name;        // 1 to 64 of [a-z0-9-], starting with a letter
  Resources minResources;  // warm capacity kept while idle; zero: none
  // With a Dispatcher: Dispatcher.ReportSession to it once per
  // reportInterval (to whichever leads, with dispatcherLeaders); an answer
  // that it does not know the session, or that the user stopped it, stops it.
  std::string dispatcherAddress;
  std::string dispatcherLeaders;
  int attempt = 1;
  Duration reportInterval{1000};
  // How long a job's final report is retried (DispatcherReporterConfig).
  Duration finalReportTimeout{300000};
  // Told host:port of the session's RPC endpoint once it listens (loop thread).
  std::function<void(const std::string&)> listening;
};

// Runs the session on the calling thread until Session.Stop, SIGINT or
// SIGTERM, or the Dispatcher stops it: then its running jobs are cancelled,
// every TaskManager is released and the driver is shut down. An error means
// the session could not start.
Status runSession(SessionRunOptions options);

}  // namespace tailor::scheduler
