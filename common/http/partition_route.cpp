#include "common/http/partition_route.hpp"

#include <filesystem>
#include <system_error>

#include "common/metrics.hpp"

namespace tailor::http {

void countPartitionBytesFetched(std::int64_t bytes) {
  metrics::defaultRegistry()
      .counter("tailor_partition_bytes_fetched_total",
               "Bytes of result partitions this process fetched from TaskManagers")
      .inc(static_cast<double>(bytes));
}

void servePartitions(Server& server, const std::string& directory) {
  server.route("GET", "/partitions/", [directory](const Request& request, Responder respond) {
    std::string relative = request.path.substr(std::string("/partitions/").size());
    if (relative.empty() || relative.find("..") != std::string::npos || relative[0] == '/') {
      respond(Response::text(400, "bad partition path\n"));
      return;
    }
    Response response;
    response.contentType = "application/octet-stream";
    response.filePath = directory + "/" + relative;
    std::error_code ec;
    auto bytes = std::filesystem::file_size(response.filePath, ec);
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
