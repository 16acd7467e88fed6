#include "scheduler/jobmaster/input_splits.hpp"

#include <glob.h>

#include <algorithm>
#include <filesystem>

namespace tailor::scheduler {

namespace fs = std::filesystem;

std::vector<std::vector<v1::FileSplit>> splitFiles(const std::vector<InputFile>& files,
                                                   int parallelism) {
  std::vector<std::vector<v1::FileSplit>> splits(static_cast<size_t>(std::max(parallelism, 1)));
  std::int64_t total = 0;
  for (const auto& file : files) {
    if (file.size > 0) total += file.size;
  }
  std::int64_t share = (total + parallelism - 1) / std::max(parallelism, 1);
  size_t task = 0;
  std::int64_t taskLeft = share;
  size_t roundRobin = 0;
  for (const auto& file : files) {
    if (file.size < 0) {
      v1::FileSplit split;
      split.set_path(file.path);
      split.set_start(0);
      split.set_end(-1);
      splits[roundRobin++ % splits.size()].push_back(split);
      continue;
    }
    std::int64_t offset = 0;
    while (offset < file.size) {
      if (taskLeft <= 0 && task + 1 < splits.size()) {
        ++task;
        taskLeft = share;
      }
      std::int64_t take = task + 1 == splits.size() ? file.size - offset
                                                    : std::min(taskLeft, file.size - offset);
      v1::FileSplit split;
      split.set_path(file.path);
      split.set_start(offset);
      split.set_end(offset + take);
      splits[task].push_back(split);
      offset += take;
      taskLeft -= take;
    }
  }
  return splits;
}

Result<std::vector<std::vector<std::vector<v1::FileSplit>>>> planInputSplits(
    const v1::JobSpec& spec) {
  std::vector<std::vector<std::vector<v1::FileSplit>>> result;
  for (const auto& stage : spec.stages()) {
    std::vector<InputFile> files;
    for (const auto& pattern : stage.input_files()) {
      if (pattern.rfind("http://", 0) == 0 || pattern.rfind("https://", 0) == 0) {
        files.push_back(InputFile{pattern, -1});
        continue;
      }
      fs::path full = fs::path(pattern).is_absolute() ? fs::path(pattern)
                                                      : fs::path(spec.base_dir()) / pattern;
      glob_t matches{};
      int rc = glob(full.c_str(), GLOB_ERR, nullptr, &matches);
      std::vector<std::string> paths;
      for (size_t i = 0; rc == 0 && i < matches.gl_pathc; ++i) {
        paths.emplace_back(matches.gl_pathv[i]);
      }
      globfree(&matches);
      std::sort(paths.begin(), paths.end());
      std::size_t before = files.size();
      for (const auto& path : paths) {
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) continue;
        auto size = fs::file_size(path, ec);
        if (ec) {
          return makeError(ErrorCode::kIo, "stage \"{}\": cannot read input '{}': {}",
                           stage.name(), path, ec.message());
        }
        files.push_back(InputFile{path, static_cast<std::int64_t>(size)});
      }
      if (files.size() == before) {
        return makeError(ErrorCode::kInvalidArgument,
                         "stage \"{}\": input.files: '{}' matches no file (looked for {})",
                         stage.name(), pattern, full.string());
      }
    }
    if (stage.input_files_size() == 0) {
      result.emplace_back(static_cast<size_t>(stage.parallelism()));
    } else {
      result.push_back(splitFiles(files, stage.parallelism()));
    }
  }
  return result;
}

}  // namespace tailor::scheduler
