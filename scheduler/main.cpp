// tailor-jobmanager: runs one job in per-job mode (JobMaster + ResourceManager
// + driver). The Dispatcher will launch it as a Mesos task or local child.

#include <boost/program_options.hpp>
#include <iostream>

#include "common/jobspec/jobspec.hpp"
#include "common/logging.hpp"
#include "scheduler/per_job_flags.hpp"
#include "scheduler/per_job_runner.hpp"

namespace po = boost::program_options;
using namespace tailor;

int main(int argc, char** argv) {
  std::string specPath;
  std::string logFile;
  scheduler::PerJobFlags flags;
  po::options_description options("tailor-jobmanager --job-spec JOB.yaml [options]");
  options.add_options()("help", "show this help")(
      "job-spec", po::value(&specPath)->required(), "the job spec (YAML)")(
      "log-file", po::value(&logFile), "log file (default: stderr)");
  scheduler::addPerJobFlags(options, flags);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "tailor-jobmanager: " << e.what() << "\n";
    return 2;
  }
  std::string error;
  if (!configureLogging(LogConfig{flags.logLevel, logFile}, &error)) {
    std::cerr << "tailor-jobmanager: " << error << "\n";
    return 2;
  }
  auto log = logger("jobmanager");
  std::string capacityName;
  auto local = scheduler::taskCapacity(flags, &capacityName);
  if (!local.ok()) {
    log->error("{}", local.error().message);
    return 2;
  }
  jobspec::ParseOptions parse;
  parse.clusterCapacity = *local;
  parse.clusterDescription = capacityName;
  auto spec = jobspec::loadJobSpec(specPath, parse);
  if (!spec.ok()) {
    log->error("{}", spec.error().message);
    return 1;
  }
  auto options_ = scheduler::resolvePerJobFlags(flags, *spec);
  if (!options_.ok()) {
    log->error("{}", options_.error().message);
    return 2;
  }
  auto report = scheduler::runPerJob(*options_, {});
  if (!report.ok()) {
    log->error("{}", report.error().message);
    return 1;
  }
  if (!flags.report.empty()) {
    auto written = scheduler::writeReport(*report, flags.report);
    if (!written.ok()) log->error("{}", written.error().message);
  }
  log->info("job {} {}", report->job().id(), report->job().status());
  return report->job().status() == "FINISHED" ? 0 : 1;
}
