#include "executor/partitioner.hpp"

#include <algorithm>
#include <filesystem>

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
    const std::vector<v1::OutputSpec>& outputs, int taskIndex, const std::string& filePrefix) {
  std::unique_ptr<PartitionWriter> writer(new PartitionWriter());
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
  const size_t kBufferBytes =
      std::clamp<size_t>((4u << 20) / std::max<size_t>(1, files), 4096, 256 * 1024);
  auto addFile = [&](const v1::OutputSpec& output, int partition) -> Result<size_t> {
    std::string name = filePrefix + partitionFileName(output, partition);
    File file;
    file.file = std::fopen((directory + "/" + name).c_str(), "wb");
    if (file.file == nullptr) {
      return makeError(ErrorCode::kIo, "cannot create partition '{}/{}'", directory, name);
    }
    file.buffer.reset(new char[kBufferBytes]);
    std::setvbuf(file.file, file.buffer.get(), _IOFBF, kBufferBytes);
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

void PartitionWriter::append(File& file, std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), file.file);
  std::fputc('\n', file.file);
  file.info.set_bytes(file.info.bytes() + static_cast<std::int64_t>(line.size()) + 1);
  file.info.set_records(file.info.records() + 1);
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
  for (auto& file : files_) {
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
