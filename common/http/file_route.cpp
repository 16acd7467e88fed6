#include "common/http/file_route.hpp"

namespace tailor::http {

void serveFile(Server& server, const std::string& path, const std::string& file) {
  server.route("GET", path, [path, file](const Request& request, Responder respond) {
    if (request.path != path) {
      respond(Response::text(404, "no such file\n"));
      return;
    }
    Response response;
    response.contentType = "application/octet-stream";
    response.filePath = file;
    respond(std::move(response));
  });
}

}  // namespace tailor::http
