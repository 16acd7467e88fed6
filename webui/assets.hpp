#pragma once

// The web UI's files (webui/static), compiled in by webui/embed.cmake.

#include <string_view>
#include <vector>

namespace tailor::webui {

struct Asset {
  std::string_view name;  // "index.html", "app.js", ...
  std::string_view bytes;
};

const std::vector<Asset>& assets();

}  // namespace tailor::webui
