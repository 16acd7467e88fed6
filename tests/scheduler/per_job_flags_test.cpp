#include "scheduler/per_job_flags.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "scheduler/dispatcher_reporter.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::scheduler {
namespace {

namespace po = boost::program_options;
using mesos::ExecutorUri;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

PerJobFlags mesosFlags() {
  PerJobFlags flags;
  flags.jobId = "job-1";
  flags.mesosMaster = "127.0.0.1:5050";
  flags.advertiseHost = "10.0.0.9";
  return flags;
}

TEST(PerJobFlagsTest, FrameworkHostnameDefaultsToTheAdvertisedHost) {
  auto options = resolvePerJobFlags(mesosFlags(), v1::JobSpec());
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->mesos.hostname, "10.0.0.9");
  EXPECT_EQ(options->mesos.webuiUrl, "");
}

TEST(PerJobFlagsTest, FrameworkLinksGivenAreKept) {
  PerJobFlags flags = mesosFlags();
  flags.mesosHostname = "jm.example.com";
  flags.mesosWebuiUrl = "https://ui.example.com/jobs/job-1";
  auto options = resolvePerJobFlags(flags, v1::JobSpec());
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->mesos.hostname, "jm.example.com");
  EXPECT_EQ(options->mesos.webuiUrl, "https://ui.example.com/jobs/job-1");
}

TEST(PerJobFlagsTest, TheMesosSecretFileMustBeItsOwnersOnly) {
  test::TempDir dir;
  std::string path = dir.path().string() + "/mesos-secret";
  std::ofstream(path) << "s3cret\n";
  ::chmod(path.c_str(), 0644);
  auto flags = mesosFlags();
  flags.mesosSecretFile = path;
  auto open = resolvePerJobFlags(flags, v1::JobSpec());
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("--mesos-secret-file: secret file '" + path + "' has mode 0644"),
            std::string::npos)
      << open.error().message;
  EXPECT_NE(open.error().message.find("chmod 600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  auto read = resolvePerJobFlags(flags, v1::JobSpec());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->mesosSecret, "s3cret");
}

TEST(DispatcherJobUrlTest, IsTheJobsResourceOnTheDispatcher) {
  EXPECT_EQ(dispatcherJobUrl("10.0.0.2:8080", "wordcount-20240101-120000-ab12"),
            "http://10.0.0.2:8080/v1/jobs/wordcount-20240101-120000-ab12");
  EXPECT_EQ(dispatcherJobUrl("10.0.0.2:8080", "a b/c"), "http://10.0.0.2:8080/v1/jobs/a%20b%2Fc");
}

// The options of `tailor run --job-id j1 ARGS...`, as the command line gives them.
PerJobOptions resolved(const std::vector<std::string>& args) {
  PerJobFlags flags;
  po::options_description options;
  addPerJobFlags(options, flags);
  std::vector<std::string> all = {"--job-id", "j1"};
  all.insert(all.end(), args.begin(), args.end());
  po::variables_map values;
  po::store(po::command_line_parser(all).options(options).run(), values);
  po::notify(values);
  auto resolved = resolvePerJobFlags(flags, v1::JobSpec());
  EXPECT_TRUE(resolved.ok()) << (resolved.ok() ? "" : resolved.error().message);
  return resolved.ok() ? *resolved : PerJobOptions();
}

const std::vector<std::string> kOnMesos = {"--mesos-master", "10.0.0.1:5050"};

std::vector<std::string> onMesos(std::vector<std::string> args) {
  args.insert(args.begin(), kOnMesos.begin(), kOnMesos.end());
  return args;
}

// Nothing installed on the agents: the JobManager serves its tailor-taskmanager.
TEST(PerJobFlagsTest, WithNoExecutorGivenTheJobManagerServesItsOwn) {
  PerJobOptions options = resolved(kOnMesos);
  EXPECT_TRUE(options.serveExecutor);
  EXPECT_EQ(options.mesos.executorCommand, "./tailor-taskmanager");
  EXPECT_THAT(options.mesos.executorUris, IsEmpty()) << "the runner adds its own";
  EXPECT_FALSE(options.mesos.executorCache);
}

TEST(PerJobFlagsTest, AnExecutorGivenAloneIsRunAsInstalledWithNothingFetched) {
  PerJobOptions options = resolved(onMesos({"--taskmanager-executor", "/opt/tailor/bin/tm"}));
  EXPECT_FALSE(options.serveExecutor);
  EXPECT_EQ(options.mesos.executorCommand, "/opt/tailor/bin/tm");
  EXPECT_THAT(options.mesos.executorUris, IsEmpty());
}

TEST(PerJobFlagsTest, UrisGivenWithoutACommandRunTailorTaskmanagerFromThePath) {
  PerJobOptions options = resolved(onMesos({"--taskmanager-executor-uri", "http://repo/tm"}));
  EXPECT_FALSE(options.serveExecutor);
  EXPECT_EQ(options.mesos.executorCommand, "tailor-taskmanager");
  EXPECT_THAT(options.mesos.executorUris,
              ElementsAre(ExecutorUri{ExecutorUri::Kind::kAsGiven, "http://repo/tm"}));
}

TEST(PerJobFlagsTest, UrisAndACommandAreTakenAsGiven) {
  PerJobOptions options =
      resolved(onMesos({"--taskmanager-executor", "tailor-*/bin/tailor-taskmanager",
                        "--taskmanager-executor-uri", "http://repo/tailor.tar.gz"}));
  EXPECT_FALSE(options.serveExecutor);
  EXPECT_EQ(options.mesos.executorCommand, "tailor-*/bin/tailor-taskmanager");
  EXPECT_THAT(options.mesos.executorUris,
              ElementsAre(ExecutorUri{ExecutorUri::Kind::kAsGiven, "http://repo/tailor.tar.gz"}));
}

TEST(PerJobFlagsTest, TheExecutorCacheIsOnlyOnWhenAsked) {
  EXPECT_TRUE(resolved(onMesos({"--taskmanager-executor-cache", "true"})).mesos.executorCache);
  EXPECT_FALSE(resolved(onMesos({"--taskmanager-executor-cache", "false"})).mesos.executorCache);
}

TEST(PerJobFlagsTest, TheLocalDriverServesNoExecutor) { EXPECT_FALSE(resolved({}).serveExecutor); }

}  // namespace
}  // namespace tailor::scheduler
