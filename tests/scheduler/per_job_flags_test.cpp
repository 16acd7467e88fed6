#include "scheduler/per_job_flags.hpp"

#include <gtest/gtest.h>

#include "scheduler/dispatcher_reporter.hpp"

namespace tailor::scheduler {
namespace {

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

TEST(DispatcherJobUrlTest, IsTheJobsResourceOnTheDispatcher) {
  EXPECT_EQ(dispatcherJobUrl("10.0.0.2:8080", "wordcount-20240101-120000-ab12"),
            "http://10.0.0.2:8080/v1/jobs/wordcount-20240101-120000-ab12");
  EXPECT_EQ(dispatcherJobUrl("10.0.0.2:8080", "a b/c"), "http://10.0.0.2:8080/v1/jobs/a%20b%2Fc");
}

}  // namespace
}  // namespace tailor::scheduler
