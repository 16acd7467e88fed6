#include "common/http/partition_route.hpp"

#include <filesystem>
#include <system_error>

#include "common/metrics.hpp"
#include "common/rpc.hpp"

namespace tailor::http {

void countPartitionBytesFetched(std::int64_t bytes) {
  metrics::defaultRegistry()
      .counter("tailor_partition_bytes_fetched_total",
               "Bytes of result partitions this process fetched from TaskManagers")
      .inc(static_cast<double>(bytes));
}

bool isPlainRelativePath(const std::string& relative) {
  if (relative.empty() || relative.front() == '/' || relative.back() == '/') return false;
  size_t start = 0;
  while (start <= relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    std::string part = relative.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string::npos) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

void servePartitions(Server& server, const std::string& directory, const std::string& secret) {
  server.route("GET", "/partitions/", [directory, secret](const Request& request,
                                                          Responder respond) {
    if (!rpc::carriesSecret(request, secret)) {
      respond(rpc::wrongSecretResponse("GET /partitions/"));
      return;
    }
    // The path as sent: it is not percent-decoded, so an encoded `..` is a
    // name that does not exist.
    std::string relative = request.path.substr(std::string("/partitions/").size());
    if (!isPlainRelativePath(relative)) {
      respond(Response::text(400, "bad partition path\n"));
      return;
    }
    Response response;
    response.contentType = "application/octet-stream";
    response.fileRoot = directory;
    response.filePath = relative;
    std::error_code ec;
    auto bytes = std::filesystem::file_size(directory + "/" + relative, ec);
    if (!ec) {
      metrics::defaultRegistry()
          .counter("tailor_partition_bytes_served_total",
                   "Bytes of result partitions this process served on GET /partitions/")
          .inc(static_cast<double>(bytes));
    }
    respond(std::move(response));
  });
}

}  // namespace tailor::http
