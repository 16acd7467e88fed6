#pragma once

// Files in an agent's sandboxes, read over the agent's `/files/read`
// endpoint as the Mesos web UI reads them (Mesos' src/files/files.cpp):
//
//   GET http://<agent>:5051/files/read?path=<virtual path>&offset=<n>&length=<n>
//   200 {"data": "...", "offset": n}    offset=-1: no data, `offset` is the size
//   404 (empty body)                    the path is not attached, or no such file
//
// An executor's latest sandbox is attached as the virtual path
// /frameworks/<framework>/executors/<executor>/runs/latest from its launch
// until the agent garbage-collects it (Mesos' paths::getExecutorVirtualPath),
// so it can be read after the executor ended.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.hpp"
#include "common/file_chunk.hpp"
#include "common/result.hpp"
#include "mesos/codec.hpp"

namespace tailor::http {
class HttpClient;
}

namespace tailor::mesos {

// The virtual path of `executorId`'s latest sandbox on its agent (pure).
std::string executorSandboxPath(const std::string& frameworkId, const std::string& executorId);

// "http://<ip>:<port>" of the agent that made `offer`, from the offer's `url`
// (its hostname when it has no ip); empty when the offer names no address (pure).
std::string agentBaseUrl(const ::mesos::v1::Offer& offer);

// The body of a 200 answer of /files/read: `data` and `offset` (size left 0).
// Bytes that are not UTF-8 (a window may cut a character; Mesos sends the
// file's bytes as they are) become '?'. An error names what is wrong (pure).
Result<FileChunk> parseFilesRead(std::string body);

// The last `maxLines` lines of `text`, each cut to `maxLineLength` bytes (a
// cut line ends in "..."), without trailing empty lines; with `cutAtStart`
// (the text is the end of a longer file) its first, partial line is left out
// unless it is the only one. Control characters but tab become '?' (pure).
std::vector<std::string> lastLines(std::string_view text, bool cutAtStart, std::size_t maxLines,
                                   std::size_t maxLineLength);

// What readTail() read: the file's last bytes and whether the file is longer.
struct FileTail {
  std::string data;
  bool truncated = false;  // the file has more before `data`
};

class AgentFiles {
 public:
  virtual ~AgentFiles() = default;

  // Reads the last `maxBytes` of the file at the virtual `path` on the agent
  // at `agentUrl` (agentBaseUrl()). `done` runs once, on the loop, on a later
  // turn: with the bytes, or with an error naming the agent and the path when
  // the agent cannot be reached or does not answer within `timeout`
  // (kUnavailable), has no such file (kNotFound) or refuses (any other
  // status, its answer quoted). Loop thread only.
  virtual void readTail(const std::string& agentUrl, const std::string& path, std::int64_t maxBytes,
                        Duration timeout, std::function<void(Result<FileTail>)> done) = 0;
};

// The real one: two requests through `client`, the file's size (offset=-1)
// and then its end, within the timeout together. With a principal and a
// secret, HTTP Basic authentication, which agents started with
// --authenticate_http_readonly ask for.
class HttpAgentFiles : public AgentFiles {
 public:
  HttpAgentFiles(EventLoop& loop, http::HttpClient& client, std::string principal = "",
                 std::string secret = "");
  ~HttpAgentFiles() override;  // reads under way end without calling back

  void readTail(const std::string& agentUrl, const std::string& path, std::int64_t maxBytes,
                Duration timeout, std::function<void(Result<FileTail>)> done) override;

 private:
  struct Read;
  void get(const std::shared_ptr<Read>& read, std::int64_t offset, std::int64_t length,
           std::function<void(Result<FileChunk>)> next);

  EventLoop& loop_;
  http::HttpClient& client_;
  std::string principal_;
  std::string secret_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tailor::mesos
