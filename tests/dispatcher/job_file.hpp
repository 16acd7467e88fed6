#pragma once

#include <string>

#include "tailor/v1/dispatcher.pb.h"

namespace tailor::dispatcher {

// A file submitted with a job.
inline v1::JobFile jobFile(const std::string& path, const std::string& content = "x") {
  v1::JobFile file;
  file.set_path(path);
  file.set_content(content);
  return file;
}

}  // namespace tailor::dispatcher
