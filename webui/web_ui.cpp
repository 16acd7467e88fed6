#include "webui/web_ui.hpp"

#include "webui/assets.hpp"

namespace tailor::webui {

namespace {

bool endsWith(const std::string& text, const std::string& ending) {
  return text.size() >= ending.size() &&
         text.compare(text.size() - ending.size(), ending.size(), ending) == 0;
}

http::Response redirect(const std::string& location) {
  http::Response response = http::Response::text(302, "see " + location + "\n");
  response.headers.emplace_back("Location", location);
  return response;
}

// The page, with the server's title in place of the marker.
std::string indexPage(std::string_view page, const std::string& title) {
  std::string text(page);
  const std::string marker = "{{title}}";
  for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at)) {
    text.replace(at, marker.size(), title);
    at += title.size();
  }
  return text;
}

}  // namespace

std::string contentTypeOf(const std::string& name) {
  if (endsWith(name, ".html")) return "text/html; charset=utf-8";
  if (endsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (endsWith(name, ".css")) return "text/css; charset=utf-8";
  if (endsWith(name, ".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

http::Response redirectToUi(const WebUiConfig& config) {
  return redirect(config.externalBasePath + "/ui/");
}

void addWebUi(http::Server& server, const WebUiConfig& config) {
  server.route("GET", "/ui", [config](const http::Request& request, http::Responder respond) {
    // "/ui" alone: the page's relative links need the trailing slash.
    if (request.path == "/ui") return respond(redirectToUi(config));
    if (request.path.rfind("/ui/", 0) != 0) {
      return respond(http::Response::text(404, "no route for GET " + request.path + "\n"));
    }
    std::string name = request.path.substr(std::string("/ui/").size());
    if (name.empty()) name = "index.html";
    for (const Asset& asset : assets()) {
      if (asset.name != name) continue;
      http::Response response;
      response.contentType = contentTypeOf(name);
      response.body = name == "index.html" ? indexPage(asset.bytes, config.title)
                                            : std::string(asset.bytes);
      // The files change only with the binary; the page itself is small.
      response.headers.emplace_back("Cache-Control", "no-cache");
      return respond(std::move(response));
    }
    respond(http::Response::text(404, "no such file of the web UI: " + name + "\n"));
  });
}

}  // namespace tailor::webui
