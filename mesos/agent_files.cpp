#include "mesos/agent_files.hpp"

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>

#include "common/base64.hpp"
#include "common/http/client.hpp"

namespace tailor::mesos {

namespace gpb = google::protobuf;

std::string executorSandboxPath(const std::string& frameworkId, const std::string& executorId) {
  return fmt::format("/frameworks/{}/executors/{}/runs/latest", frameworkId, executorId);
}

std::string agentBaseUrl(const ::mesos::v1::Offer& offer) {
  if (!offer.has_url() || !offer.url().has_address()) return "";
  const auto& address = offer.url().address();
  std::string host = address.has_ip() && !address.ip().empty() ? address.ip() : address.hostname();
  if (host.empty() || !address.has_port()) return "";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6
  std::string scheme = offer.url().scheme().empty() ? "http" : offer.url().scheme();
  return fmt::format("{}://{}:{}", scheme, host, address.port());
}

Result<FileChunk> parseFilesRead(std::string body) {
  replaceInvalidUtf8(body);
  gpb::Struct answer;
  auto parsed = gpb::util::JsonStringToMessage(body, &answer);
  auto data = answer.fields().find("data");
  auto offset = answer.fields().find("offset");
  if (!parsed.ok() || data == answer.fields().end() || !data->second.has_string_value() ||
      offset == answer.fields().end() || !offset->second.has_number_value() ||
      offset->second.number_value() < 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "the answer is not understood (expected {{\"data\": \"...\", \"offset\": "
                     "N}}): {}",
                     body.substr(0, 200));
  }
  FileChunk chunk;
  chunk.data = data->second.string_value();
  chunk.offset = static_cast<std::int64_t>(std::llround(offset->second.number_value()));
  return chunk;
}

std::vector<std::string> lastLines(std::string_view text, bool cutAtStart, std::size_t maxLines,
                                   std::size_t maxLineLength) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  auto blank = [](const std::string& line) {
    return line.find_first_not_of(" \t\r") == std::string::npos;
  };
  while (!lines.empty() && blank(lines.back())) lines.pop_back();
  if (cutAtStart && lines.size() > 1) lines.erase(lines.begin());
  if (lines.size() > maxLines) lines.erase(lines.begin(), lines.end() - maxLines);
  for (auto& line : lines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (char& c : line) {
      auto byte = static_cast<unsigned char>(c);
      if ((byte < 0x20 && c != '\t') || byte == 0x7f) c = '?';
    }
    if (line.size() > maxLineLength) {
      // Cut on a character boundary: continuation bytes are 10xxxxxx.
      std::size_t cut = maxLineLength;
      while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xc0) == 0x80) --cut;
      line = line.substr(0, cut) + "...";
    }
  }
  return lines;
}

struct HttpAgentFiles::Read {
  std::string agentUrl;
  std::string path;
  MonotonicTime deadline;
  Duration timeout;
};

HttpAgentFiles::HttpAgentFiles(EventLoop& loop, http::HttpClient& client, std::string principal,
                               std::string secret)
    : loop_(loop), client_(client), principal_(std::move(principal)), secret_(std::move(secret)) {}

HttpAgentFiles::~HttpAgentFiles() { *alive_ = false; }

void HttpAgentFiles::readTail(const std::string& agentUrl, const std::string& path,
                              std::int64_t maxBytes, Duration timeout,
                              std::function<void(Result<FileTail>)> done) {
  auto read = std::make_shared<Read>(Read{agentUrl, path, loop_.now() + timeout, timeout});
  // The size first (offset=-1 answers it as `offset`), then the end.
  // `next` runs only while this object lives.
  get(read, -1, 0, [this, read, maxBytes, done](Result<FileChunk> size) {
    if (!size.ok()) return done(size.error());
    std::int64_t start = std::max<std::int64_t>(0, size->offset - maxBytes);
    if (size->offset == 0) return done(FileTail{});
    get(read, start, size->offset - start, [start, done](Result<FileChunk> chunk) {
      if (!chunk.ok()) return done(chunk.error());
      done(FileTail{std::move(chunk->data), start > 0});
    });
  });
}

void HttpAgentFiles::get(const std::shared_ptr<Read>& read, std::int64_t offset,
                         std::int64_t length, std::function<void(Result<FileChunk>)> next) {
  Duration left = std::chrono::duration_cast<Duration>(read->deadline - loop_.now());
  std::string what = fmt::format("reading {} on the agent at {}", read->path, read->agentUrl);
  if (left.count() <= 0) {
    loop_.post([alive = alive_, next, what, timeout = read->timeout] {
      if (!*alive) return;
      next(makeError(ErrorCode::kUnavailable, "{}: no answer within {} ms", what, timeout.count()));
    });
    return;
  }
  http::ClientRequest request;
  request.method = "GET";
  request.url = fmt::format("{}/files/read?path={}&offset={}", read->agentUrl,
                            http::percentEncode(read->path), offset);
  if (offset >= 0) request.url += fmt::format("&length={}", length);
  request.timeout = left;
  request.connectTimeout = std::min(left, request.connectTimeout);
  request.headers.emplace_back("Accept", "application/json");
  if (!principal_.empty() && !secret_.empty()) {
    request.headers.emplace_back("Authorization",
                                 "Basic " + base64Encode(principal_ + ":" + secret_));
  }
  client_.send(std::move(request),
               [alive = alive_, next, what](Result<http::ClientResponse> answer) {
                 if (!*alive) return;
                 if (!answer.ok()) {
                   next(makeError(ErrorCode::kUnavailable, "{}: {}", what, answer.error().message));
                   return;
                 }
                 if (answer->status == 404) {
                   next(makeError(ErrorCode::kNotFound, "{}: no such file (404)", what));
                   return;
                 }
                 if (answer->status != 200) {
                   std::string body = answer->body.substr(0, 200);
                   while (!body.empty() && (body.back() == '\n' || body.back() == ' '))
                     body.pop_back();
                   replaceInvalidUtf8(body);
                   next(makeError(ErrorCode::kFailedPrecondition, "{}: HTTP {}{}", what,
                                  answer->status, body.empty() ? "" : " " + body));
                   return;
                 }
                 auto chunk = parseFilesRead(std::move(answer->body));
                 if (!chunk.ok()) return next(chunk.error().withContext(what));
                 next(std::move(chunk));
               });
}

}  // namespace tailor::mesos
