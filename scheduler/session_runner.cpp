#include "scheduler/session_runner.hpp"

#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <memory>

#include "common/asio_event_loop.hpp"
#include "common/logging.hpp"
#include "scheduler/session.hpp"
#include "scheduler/session_reporter.hpp"

namespace tailor::scheduler {

namespace {

SessionConfig sessionConfig(const SessionRunOptions& options, const SizingConfig& sizing) {
  SessionConfig config;
  config.name = options.name;
  config.workDir = options.workDir;
  config.sizing = sizing;
  config.onMesos = !options.mesosMasters.empty();
  config.capacity = config.onMesos ? options.mesos.maxTaskManager : options.localResources;
  config.capacityDescription = config.onMesos
                                   ? "the largest TaskManager (--taskmanager-max-size)"
                                   : "the local cluster";
  config.jobReportInterval = options.reportInterval;
  config.finalReportTimeout = options.finalReportTimeout;
  return config;
}

// Sends the session's status to the reporter now and once per interval.
void publishStatus(AsioEventLoop& loop, Session& session, SessionReporter& reporter,
                   Duration interval) {
  reporter.update(session.status());
  loop.runAfter(interval, [&loop, &session, &reporter, interval] {
    publishStatus(loop, session, reporter, interval);
  });
}

}  // namespace

Status runSession(SessionRunOptions options) {
  auto log = logger("session");
  AsioEventLoop loop;
  options.workDir = std::filesystem::absolute(options.workDir).lexically_normal().string();
  std::error_code ec;
  std::filesystem::create_directories(options.workDir, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "cannot create work directory '{}': {}", options.workDir,
                     ec.message());
  }
  auto sizing = makeSizingConfig(options, options.fixedSlot.value_or(Resources()));
  if (!sizing.ok()) return sizing.error();

  options.mesos.sessionName = options.name;
  JobManagerRuntime::Settings settings;
  settings.resourceManager = makeResourceManagerConfig(options, *sizing);
  settings.resourceManager.session = true;
  settings.resourceManager.minResources = options.minResources;
  if (!options.dispatcherAddress.empty()) {
    settings.leadingDispatcher = [address = options.dispatcherAddress] { return address; };
  }
  auto made = JobManagerRuntime::create(loop, options, std::move(settings));
  if (!made.ok()) return made.error();
  JobManagerRuntime& runtime = **made;

  Session session(loop, runtime, sessionConfig(options, *sizing));
  session.addRoutes();
  auto address = runtime.listen();
  if (!address.ok()) return address.error();
  session.setAddress(*address);
  log->info("session {}: JobManager on {}, {}, work dir {}, TaskManagers idle for {} ms go{}",
            options.name, *address, runtime.describe(), options.workDir,
            options.idleTimeout.count(),
            options.minResources.isZero() ? ""
                                          : ", warm capacity " + options.minResources.toString());
  runtime.logServedExecutor("session " + options.name);
  if (options.listening) options.listening(*address);

  boost::asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (!error) session.stop(fmt::format("interrupted by signal {}", signal));
  });

  std::unique_ptr<SessionReporter> reporter;
  if (!options.dispatcherAddress.empty()) {
    SessionReporterConfig config;
    config.dispatcherAddress = options.dispatcherAddress;
    config.dispatcherLeaders = options.dispatcherLeaders;
    config.name = options.name;
    config.attempt = options.attempt;
    config.interval = options.reportInterval;
    config.onStopAsked = [&loop, &session](const std::string& why) {
      loop.post([&session, why] { session.stop(why); });
    };
    reporter = std::make_unique<SessionReporter>(config);
  }
  loop.post([&] {
    session.start();
    if (reporter) {
      publishStatus(loop, session, *reporter, options.reportInterval);
      reporter->start();
    }
  });
  loop.run();
  signals.cancel();
  runtime.stopListening();
  return Status();
}

}  // namespace tailor::scheduler
