#include "scheduler/drivers/mesos/executor_failure.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>

namespace tailor::scheduler::mesos {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Wait statuses as waitpid() makes them.
int exited(int code) { return code << 8; }
int signalled(int signal) { return signal; }

const std::string kCommand = "tailor-taskmanager";

TEST(ExecutorExitHintTest, CommandNotFoundSaysWhereTheExecutorMustBe) {
  EXPECT_THAT(executorExitHint(exited(127), kCommand, false),
              AllOf(HasSubstr("no command 'tailor-taskmanager' on the agent's PATH"),
                    HasSubstr("give its full path with --taskmanager-executor"),
                    HasSubstr("leave --taskmanager-executor out to have the agents fetch the "
                              "JobManager's own"),
                    HasSubstr("--taskmanager-executor-uri")));
  EXPECT_THAT(executorExitHint(exited(127), "/opt/tailor/bin/tailor-taskmanager", false),
              AllOf(HasSubstr("no file '/opt/tailor/bin/tailor-taskmanager' on the agent"),
                    HasSubstr("install tailor-taskmanager there on every agent"),
                    HasSubstr("leave --taskmanager-executor out"), Not(HasSubstr("PATH"))));
  EXPECT_THAT(executorExitHint(exited(127), "./tailor-taskmanager", true),
              AllOf(HasSubstr("no command './tailor-taskmanager' in the sandbox"),
                    HasSubstr("--taskmanager-executor must name the file "
                              "--taskmanager-executor-uri fetches"),
                    // The executor the JobManager serves: its libraries may be missing.
                    HasSubstr("a shared library it links is missing on the agent")));
}

TEST(ExecutorExitHintTest, NotExecutableSaysWhatToCheck) {
  EXPECT_THAT(executorExitHint(exited(126), kCommand, false),
              AllOf(HasSubstr("cannot be executed"), HasSubstr("check --taskmanager-executor"),
                    Not(HasSubstr("fetches"))));
  EXPECT_THAT(executorExitHint(exited(126), kCommand, true),
              HasSubstr("the file --taskmanager-executor-uri fetches"));
}

TEST(ExecutorExitHintTest, OtherEndsPointAtTheLogOrSayWhoKills) {
  EXPECT_THAT(executorExitHint(exited(3), kCommand, false), HasSubstr("taskmanager.log"));
  EXPECT_THAT(executorExitHint(signalled(SIGKILL), kCommand, false),
              HasSubstr("the agent or an operator killed it"));
  EXPECT_THAT(executorExitHint(-1, kCommand, false),
              HasSubstr("Mesos does not know how the executor ended"));
  EXPECT_THAT(executorExitHint(exited(0), kCommand, false), IsEmpty());
  EXPECT_THAT(executorExitHint(signalled(SIGTERM), kCommand, false), IsEmpty());
}

ExecutorFailure failure() {
  ExecutorFailure f;
  f.taskEnd = "TASK_FAILED (REASON_EXECUTOR_TERMINATED): Executor terminated";
  f.agentId = "a1-S0";
  f.agentHostname = "agent-1.example.com";
  f.waitStatus = exited(127);
  f.stderrPath = "/frameworks/fw-1/executors/tm-5/runs/latest/stderr";
  f.stderrLines = {"sh: 1: exec: tailor-taskmanager: not found"};
  return f;
}

TEST(DescribeExecutorFailureTest, NamesAgentExitHintAndStderr) {
  EXPECT_EQ(describeExecutorFailure(failure(), kCommand, false),
            "TASK_FAILED (REASON_EXECUTOR_TERMINATED): Executor terminated; on agent a1-S0 "
            "(agent-1.example.com): the executor ended with exit code 127 (" +
                executorExitHint(exited(127), kCommand, false) +
                "); the last line of its stderr "
                "(/frameworks/fw-1/executors/tm-5/runs/latest/stderr on the agent):\n"
                "    sh: 1: exec: tailor-taskmanager: not found");
}

TEST(DescribeExecutorFailureTest, CountsTheStderrLinesShown) {
  ExecutorFailure f = failure();
  f.waitStatus = exited(3);
  f.stderrLines = {"first", "second"};
  EXPECT_THAT(describeExecutorFailure(f, kCommand, false),
              AllOf(HasSubstr("exit code 3 (the TaskManager's own log is taskmanager.log"),
                    HasSubstr("; the last 2 lines of its stderr ("),
                    HasSubstr(":\n    first\n    second")));
}

TEST(DescribeExecutorFailureTest, SaysWhatIsNotKnown) {
  ExecutorFailure f = failure();
  f.agentHostname.clear();
  f.waitStatus.reset();
  f.statusWait = Duration(3000);
  f.stderrLines.clear();
  f.stderrError = "reading ... on the agent at http://10.0.0.1:5051: no such file (404)";
  EXPECT_EQ(describeExecutorFailure(f, kCommand, false),
            "TASK_FAILED (REASON_EXECUTOR_TERMINATED): Executor terminated; on agent a1-S0: the "
            "master sent no exit status of the executor within 3000 ms; its stderr was not read: "
            "reading ... on the agent at http://10.0.0.1:5051: no such file (404)");
}

TEST(DescribeExecutorFailureTest, UnknownStatusEmptyStderrAndNoAgent) {
  ExecutorFailure f = failure();
  f.agentId.clear();
  f.agentHostname.clear();
  f.waitStatus = -1;
  f.stderrLines.clear();
  EXPECT_THAT(describeExecutorFailure(f, kCommand, false),
              AllOf(HasSubstr("Executor terminated; the executor ended with an unknown status "
                              "(Mesos does not know"),
                    HasSubstr("; its stderr (/frameworks/fw-1/executors/tm-5/runs/latest/stderr "
                              "on the agent) is empty")));
}

TEST(DescribeExecutorFailureTest, OnlyTheTaskEndWhenNothingElseIsKnown) {
  ExecutorFailure f;
  f.taskEnd = "TASK_FAILED: boom";
  EXPECT_EQ(describeExecutorFailure(f, kCommand, false), "TASK_FAILED: boom");
}

}  // namespace
}  // namespace tailor::scheduler::mesos
