#pragma once

// Serves the web UI (docs/observability.md, "Web UI") on an HTTP server: the
// page at /ui/ and its files, and / sent there. The page reads the REST API
// (/v1/...) with URLs relative to itself, so it works unchanged behind a proxy
// that serves it under a path prefix; `externalBasePath` (that prefix, e.g.
// APPLICATION_WEB_PROXY_BASE) is only needed for the redirects.

#include <string>

#include "common/http/server.hpp"

namespace tailor::webui {

struct WebUiConfig {
  std::string externalBasePath;  // "" or "/service/tailor" (no trailing slash)
  std::string title = "Tailor";  // shown in the page's header: "Tailor Dispatcher", ...
};

// Routes GET /ui and /ui/... . Call before the server starts.
void addWebUi(http::Server& server, const WebUiConfig& config);

// The answer to GET / on a server that serves the UI: a redirect to it.
http::Response redirectToUi(const WebUiConfig& config);

// The type of an asset by its name's ending ("text/html; charset=utf-8", ...).
std::string contentTypeOf(const std::string& name);

}  // namespace tailor::webui
