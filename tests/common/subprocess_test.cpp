#include "common/subprocess.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/common/temp_dir.hpp"

namespace tailor {
namespace {

using test::TempDir;

// Reads `fd` to its end and closes it.
std::string readAll(int fd) {
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

int waitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string fileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The child shares this process's memory until it execs (CLONE_VM |
// CLONE_VFORK): these check that what it sets up is its own.
TEST(SpawnProcessTest, RunsWithPipesEnvironmentAndWorkingDirectory) {
  TempDir dir;
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "cat; echo \"$GREETING from $(pwd)\"; echo oops >&2; exit 3"};
  options.env = {{"GREETING", "hello"}, {"PATH", "/usr/bin:/bin"}};
  options.workDir = dir.str();
  options.pipeStdin = true;
  options.pipeStdout = true;
  options.stderrFile = dir.str() + "/stderr";
  auto child = spawnProcess(options);
  ASSERT_TRUE(child.ok()) << child.error().message;
  ASSERT_EQ(::write(child->stdinFd, "in\n", 3), 3);
  ::close(child->stdinFd);
  EXPECT_EQ(readAll(child->stdoutFd), "in\nhello from " + dir.str() + "\n");
  int status = waitFor(child->pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(fileText(dir.str() + "/stderr"), "oops\n");
}

TEST(SpawnProcessTest, StderrCanBeAPipeOfItsOwn) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "echo out; echo err >&2"};
  options.pipeStdout = true;
  options.pipeStderr = true;
  auto child = spawnProcess(options);
  ASSERT_TRUE(child.ok()) << child.error().message;
  ASSERT_GE(child->stderrFd, 0);
  EXPECT_EQ(readAll(child->stdoutFd), "out\n");
  EXPECT_EQ(readAll(child->stderrFd), "err\n");
  EXPECT_EQ(waitFor(child->pid), 0);
}

TEST(SpawnProcessTest, TheChildLeadsItsOwnProcessGroup) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "ps -o pgid= -p $$ 2>/dev/null || cut -d' ' -f5 /proc/$$/stat"};
  options.pipeStdout = true;
  auto child = spawnProcess(options);
  ASSERT_TRUE(child.ok()) << child.error().message;
  std::string pgid = readAll(child->stdoutFd);
  waitFor(child->pid);
  EXPECT_EQ(std::stoi(pgid), child->pid);
  EXPECT_NE(::getpgrp(), child->pid) << "the parent's group is unchanged";
}

TEST(SpawnProcessTest, AMissingCommandIsNotFound) {
  SpawnOptions options;
  options.argv = {"tailor-no-such-command-here"};
  auto child = spawnProcess(options);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(child.error().message, "command not found: 'tailor-no-such-command-here'");
}

TEST(SpawnProcessTest, AMissingWorkingDirectoryIsAnErrorThatSaysSo) {
  SpawnOptions options;
  options.argv = {"/bin/true"};
  options.workDir = "/nonexistent/tailor-test";
  auto child = spawnProcess(options);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(child.error().message.find("cannot change to the work directory for '/bin/true'"),
            std::string::npos)
      << child.error().message;
}

TEST(SpawnProcessTest, ASignalThisProcessIgnoresIsDefaultInTheChild) {
  auto previous = ::signal(SIGPIPE, SIG_IGN);  // as a server does
  SpawnOptions options;
  options.argv = {"/bin/grep", "SigIgn", "/proc/self/status"};
  options.pipeStdout = true;
  auto child = spawnProcess(options);
  ::signal(SIGPIPE, previous);
  ASSERT_TRUE(child.ok()) << child.error().message;
  std::string line = readAll(child->stdoutFd);
  waitFor(child->pid);
  auto ignored = std::stoull(line.substr(line.find(':') + 1), nullptr, 16);
  EXPECT_EQ(ignored & (1ULL << (SIGPIPE - 1)), 0u) << line;
}

TEST(SpawnProcessTest, ManyChildrenInARowEachGetTheirOwnSetUp) {
  TempDir dir;
  for (int i = 0; i < 200; ++i) {
    SpawnOptions options;
    options.argv = {"/bin/sh", "-c", "echo " + std::to_string(i)};
    options.pipeStdout = true;
    options.stderrFile = dir.str() + "/stderr-" + std::to_string(i);
    auto child = spawnProcess(options);
    ASSERT_TRUE(child.ok()) << child.error().message;
    ASSERT_EQ(readAll(child->stdoutFd), std::to_string(i) + "\n");
    ASSERT_TRUE(WIFEXITED(waitFor(child->pid)));
  }
}

}  // namespace
}  // namespace tailor
