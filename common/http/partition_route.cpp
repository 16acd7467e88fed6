#include "common/http/partition_route.hpp"

namespace tailor::http {

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
    respond(std::move(response));
  });
}

}  // namespace tailor::http
