#pragma once

// RecordIO, the framing of Mesos' SUBSCRIBE response streams (reference §1.4):
//
//   record = decimal-length "\n" <length bytes>
//
// repeated forever. The length is ASCII base 10 and counts the payload only;
// there is no separator after a payload. HTTP chunk boundaries are unrelated
// to record boundaries: de-chunk first, then feed the bytes here.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tailor::mesos {

// Frames one payload: "<payload.size()>\n<payload>".
std::string encodeRecord(std::string_view payload);

// Incremental RecordIO decoder for one stream. Feed bytes as they arrive, pull
// complete records in order, and call finish() when the stream ends.
//
// Errors are values, never exceptions:
//  - kInvalidArgument: the stream is corrupt (a non-digit in a length, an empty
//    length, a length over the maximum). The decoder stays failed: every later
//    feed() and finish() returns the same error. Records completed before the
//    corruption can still be pulled.
//  - kUnavailable, from finish() only: the stream ended inside a record (its
//    length or its payload); the message says how much was missing.
// Messages give the record's index and the stream offset where it starts.
//
// Not thread-safe: one owner (the stream's reader).
class RecordIoDecoder {
 public:
  static constexpr std::uint64_t kDefaultMaxRecordBytes = 64ull * 1024 * 1024;

  // Records longer than `maxRecordBytes` are corruption (a protection against
  // garbage lengths, checked as soon as the length grows past it).
  explicit RecordIoDecoder(std::uint64_t maxRecordBytes = kDefaultMaxRecordBytes);

  // Consumes `chunk` (any size, including empty), queueing every record it completes.
  Status feed(std::string_view chunk);

  // The oldest complete record not yet pulled, or nullopt if there is none.
  std::optional<std::string> next();

  // Ok if the stream ended on a record boundary; otherwise the error above.
  // Does not change the decoder's state.
  Status finish() const;

  bool failed() const { return failure_.has_value(); }
  // Records completed so far (pulled or not).
  std::uint64_t recordsDecoded() const { return recordsDecoded_; }

 private:
  enum class State { kLength, kPayload };

  Error corrupt(std::string message);

  std::uint64_t maxRecordBytes_;
  State state_ = State::kLength;
  std::string lengthText_;  // digits of the current length, as received
  std::uint64_t length_ = 0;
  std::string payload_;
  std::uint64_t streamOffset_ = 0;  // bytes consumed so far
  std::uint64_t recordStart_ = 0;   // stream offset of the current record
  std::uint64_t recordsDecoded_ = 0;
  std::deque<std::string> ready_;
  std::optional<Error> failure_;
};

}  // namespace tailor::mesos
