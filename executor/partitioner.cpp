#include "executor/partitioner.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace tailor::executor {

std::string_view recordKey(std::string_view line) {
  auto tab = line.find('\t');
  return tab == std::string_view::npos ? line : line.substr(0, tab);
}

std::uint64_t stableHash(std::string_view data) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

int hashPartition(std::string_view line, int partitions) {
  if (partitions <= 1) return 0;
  return static_cast<int>(stableHash(recordKey(line)) % static_cast<std::uint64_t>(partitions));
}

std::string partitionFileName(const v1::OutputSpec& output, int partition) {
  std::string consumer = output.consumer_stage().empty() ? "_output" : output.consumer_stage();
  if (output.partitioning() == v1::BROADCAST) return consumer + "-all";
  return consumer + "-" + std::to_string(partition);
}

Result<std::unique_ptr<PartitionWriter>> PartitionWriter::open(
    const std::string& directory, const std::string& relativeDirectory,
    const std::vector<v1::OutputSpec>& outputs, int taskIndex, const std::string& filePrefix,
    size_t inlineOutputBytes) {
  std::unique_ptr<PartitionWriter> writer(new PartitionWriter());
  writer->inlineOutputBytes_ = inlineOutputBytes;
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, "cannot create '{}': {}", directory, ec.message());
  }
  // Up to 256 KiB of buffer per file, but at most 4 MiB per attempt in all:
  // a task hashing into 500 partitions would otherwise hold 125 MiB, and a
  // TaskManager packing a wide stage runs many such tasks at once.
  size_t files = 0;
  for (const auto& output : outputs) {
    files += output.partitioning() == v1::HASH
                 ? static_cast<size_t>(std::max(1, output.num_partitions()))
                 : 1;
  }
  writer->bufferBytes_ =
      std::clamp<size_t>((4u << 20) / std::max<size_t>(1, files), 4096, 256 * 1024);
  auto addFile = [&](const v1::OutputSpec& output, int partition) -> Result<size_t> {
    std::string name = filePrefix + partitionFileName(output, partition);
    File file;
    file.path = directory + "/" + name;
    file.inMemory = output.consumer_stage().empty() && inlineOutputBytes > 0;
    if (!file.inMemory) {
      writer->spill(file);
      if (!writer->error_.empty()) return makeError(ErrorCode::kIo, "{}", writer->error_);
    }
    file.info.set_consumer_stage(output.consumer_stage());
    file.info.set_partition(output.partitioning() == v1::BROADCAST ? -1 : partition);
    file.info.set_path(relativeDirectory + "/" + name);
    writer->files_.push_back(std::move(file));
    return writer->files_.size() - 1;
  };
  for (const auto& output : outputs) {
    Output routed;
    routed.partitioning = output.partitioning();
    if (output.partitioning() == v1::HASH) {
      for (int p = 0; p < std::max(1, output.num_partitions()); ++p) {
        auto index = addFile(output, p);
        if (!index.ok()) return index.error();
        routed.files.push_back(*index);
      }
    } else {
      auto index = addFile(output, output.partitioning() == v1::BROADCAST ? 0 : taskIndex);
      if (!index.ok()) return index.error();
      routed.files.push_back(*index);
    }
    writer->outputs_.push_back(std::move(routed));
  }
  return writer;
}

PartitionWriter::~PartitionWriter() {
  for (auto& file : files_) {
    if (file.file != nullptr) std::fclose(file.file);
  }
}

void PartitionWriter::spill(File& file) {
  file.inMemory = false;
  file.file = std::fopen(file.path.c_str(), "wb");
  if (file.file == nullptr) {
    if (error_.empty()) {
      error_ = fmt::format("cannot create partition '{}': {}", file.path, std::strerror(errno));
    }
    return;
  }
  file.buffer.reset(new char[bufferBytes_]);
  std::setvbuf(file.file, file.buffer.get(), _IOFBF, bufferBytes_);
  std::fwrite(file.held.data(), 1, file.held.size(), file.file);
  std::string().swap(file.held);
}

void PartitionWriter::append(File& file, std::string_view line) {
  file.info.set_bytes(file.info.bytes() + static_cast<std::int64_t>(line.size()) + 1);
  file.info.set_records(file.info.records() + 1);
  if (file.inMemory) {
    file.held.append(line);
    file.held.push_back('\n');
    if (file.held.size() > inlineOutputBytes_) spill(file);
    return;
  }
  if (file.file == nullptr) return;  // could not be created: finish() says so
  std::fwrite(line.data(), 1, line.size(), file.file);
  std::fputc('\n', file.file);
}

void PartitionWriter::write(std::string_view line) {
  for (const auto& output : outputs_) {
    size_t file = output.files.size() == 1
                      ? output.files[0]
                      : output.files[static_cast<size_t>(
                            hashPartition(line, static_cast<int>(output.files.size())))];
    append(files_[file], line);
  }
}

Result<std::vector<v1::PartitionInfo>> PartitionWriter::finish() {
  std::vector<v1::PartitionInfo> infos;
  if (!error_.empty()) return makeError(ErrorCode::kIo, "{}", error_);
  for (auto& file : files_) {
    if (file.inMemory) {
      file.info.clear_path();
      file.info.set_data(std::move(file.held));
      file.held.clear();
      infos.push_back(file.info);
      continue;
    }
    bool failed = std::ferror(file.file) != 0;
    failed = std::fclose(file.file) != 0 || failed;
    file.file = nullptr;
    if (failed) {
      return makeError(ErrorCode::kIo, "cannot write partition '{}'", file.info.path());
    }
    infos.push_back(file.info);
  }
  return infos;
}

}  // namespace tailor::executor
