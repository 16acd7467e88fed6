#include "mesos/recordio.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace tailor::mesos {
namespace {

// Grows the payload buffer with the data instead of trusting a large length up front.
constexpr std::uint64_t kMaxInitialReserve = 1024ull * 1024;

std::string describeByte(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("0x{:02x}", byte);
}

}  // namespace

std::string encodeRecord(std::string_view payload) {
  std::string record = std::to_string(payload.size());
  record.reserve(record.size() + 1 + payload.size());
  record += '\n';
  record.append(payload);
  return record;
}

RecordIoDecoder::RecordIoDecoder(std::uint64_t maxRecordBytes) : maxRecordBytes_(maxRecordBytes) {}

Error RecordIoDecoder::corrupt(std::string message) {
  failure_ = Error{ErrorCode::kInvalidArgument,
                   fmt::format("RecordIO: corrupt stream at record {} (stream offset {}): {}",
                               recordsDecoded_, recordStart_, message)};
  return *failure_;
}

Status RecordIoDecoder::feed(std::string_view chunk) {
  if (failure_) return *failure_;
  std::size_t pos = 0;
  while (pos < chunk.size()) {
    if (state_ == State::kLength) {
      char c = chunk[pos];
      ++pos;
      ++streamOffset_;
      if (c == '\n') {
        if (lengthText_.empty()) return corrupt("empty record length");
        lengthText_.clear();
        if (length_ == 0) {
          // Never sent by Mesos, but well-formed.
          ready_.emplace_back();
          ++recordsDecoded_;
          recordStart_ = streamOffset_;
          continue;
        }
        state_ = State::kPayload;
        payload_.clear();
        payload_.reserve(static_cast<std::size_t>(std::min(length_, kMaxInitialReserve)));
        continue;
      }
      if (c < '0' || c > '9') {
        if (lengthText_.empty()) {
          return corrupt(
              fmt::format("record length starts with {}, expected a digit", describeByte(c)));
        }
        return corrupt(
            fmt::format("record length '{}' is followed by {}, expected a digit or '\\n'",
                        lengthText_, describeByte(c)));
      }
      auto digit = static_cast<std::uint64_t>(c - '0');
      lengthText_ += c;
      if (digit > maxRecordBytes_ || length_ > (maxRecordBytes_ - digit) / 10) {
        return corrupt(fmt::format("record length '{}...' exceeds the maximum of {} bytes",
                                   lengthText_, maxRecordBytes_));
      }
      length_ = length_ * 10 + digit;
      continue;
    }

    // State::kPayload: take as much of the chunk as the record still needs.
    std::uint64_t missing = length_ - payload_.size();
    std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(missing, chunk.size() - pos));
    payload_.append(chunk.substr(pos, take));
    pos += take;
    streamOffset_ += take;
    if (payload_.size() == length_) {
      ready_.push_back(std::move(payload_));
      payload_ = std::string();
      ++recordsDecoded_;
      recordStart_ = streamOffset_;
      length_ = 0;
      state_ = State::kLength;
    }
  }
  return Status::okStatus();
}

std::optional<std::string> RecordIoDecoder::next() {
  if (ready_.empty()) return std::nullopt;
  std::string record = std::move(ready_.front());
  ready_.pop_front();
  return record;
}

Status RecordIoDecoder::finish() const {
  if (failure_) return *failure_;
  if (state_ == State::kLength && lengthText_.empty()) return Status::okStatus();
  if (state_ == State::kLength) {
    return makeError(ErrorCode::kUnavailable,
                     "RecordIO: truncated stream: it ended inside the length of record {} "
                     "(stream offset {}) after '{}'",
                     recordsDecoded_, recordStart_, lengthText_);
  }
  return makeError(ErrorCode::kUnavailable,
                   "RecordIO: truncated stream: it ended inside record {} (stream offset {}) "
                   "after {} of its {} payload bytes",
                   recordsDecoded_, recordStart_, payload_.size(), length_);
}

}  // namespace tailor::mesos
