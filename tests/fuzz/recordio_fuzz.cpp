// The RecordIO decoder (mesos/recordio.hpp) on any stream, cut into chunks as
// HTTP would deliver it. The first byte chooses the maximum record size, the
// next three the sizes of the chunks (cycled); the rest is the stream.
//
// Invariants checked:
//  - the records, the first error and finish()'s answer do not depend on
//    where the chunks are cut (the stream fed at once gives the same);
//  - a failed decoder stays failed with the same error, in feed() and finish();
//  - no record is longer than the maximum, and every completed record is
//    counted once;
//  - the records, framed again with encodeRecord, decode to the same records
//    and end on a record boundary.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesos/recordio.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace tailor::fuzz {
namespace {

using mesos::RecordIoDecoder;

struct Outcome {
  std::vector<std::string> records;
  std::optional<Error> feedError;  // the first feed() error
  Status finish;
};

void pullAll(RecordIoDecoder& decoder, Outcome& outcome) {
  while (auto record = decoder.next()) outcome.records.push_back(std::move(*record));
}

bool sameStatus(const Status& a, const Status& b) {
  return a.ok() == b.ok() &&
         (a.ok() || (a.error().code == b.error().code && a.error().message == b.error().message));
}

// Feeds `stream` in chunks of `sizes` (cycled; 0 is an empty feed), pulling
// records after every feed.
Outcome decode(std::string_view stream, std::uint64_t maxRecordBytes,
               const std::vector<std::size_t>& sizes) {
  RecordIoDecoder decoder(maxRecordBytes);
  Outcome outcome;
  std::size_t pos = 0;
  std::size_t turn = 0;
  // Empty feeds are allowed, but every cycle of sizes moves on by at least one byte.
  while (pos < stream.size()) {
    std::size_t size = sizes[turn++ % sizes.size()];
    std::string_view chunk = stream.substr(pos, size);
    pos += chunk.size();
    Status fed = decoder.feed(chunk);
    pullAll(decoder, outcome);
    if (!fed.ok()) {
      outcome.feedError = fed.error();
      check(decoder.failed(), "feed() failed but failed() is false");
      check(fed.error().code == ErrorCode::kInvalidArgument, "corruption is not kInvalidArgument",
            fed.error().message);
      // The rest of the stream changes nothing: one more chunk shows it.
      Status again = decoder.feed(stream.substr(pos, sizes[turn % sizes.size()]));
      check(!again.ok() && again.error().message == fed.error().message,
            "a failed decoder changed its error", again.ok() ? "" : again.error().message);
      pullAll(decoder, outcome);
      break;
    }
  }
  outcome.finish = decoder.finish();
  if (outcome.feedError) {
    check(!outcome.finish.ok() && outcome.finish.error().message == outcome.feedError->message,
          "finish() of a failed decoder does not repeat its error");
    Status again = decoder.feed("1\nx");
    check(!again.ok() && again.error().message == outcome.feedError->message,
          "a failed decoder accepted more bytes");
  } else if (!outcome.finish.ok()) {
    check(outcome.finish.error().code == ErrorCode::kUnavailable,
          "a truncated stream is not kUnavailable", outcome.finish.error().message);
  }
  pullAll(decoder, outcome);
  check(decoder.recordsDecoded() == outcome.records.size(),
        "recordsDecoded() differs from the records pulled");
  for (const std::string& record : outcome.records) {
    check(record.size() <= maxRecordBytes, "a record longer than the maximum");
  }
  return outcome;
}

}  // namespace
}  // namespace tailor::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tailor;
  using namespace tailor::fuzz;
  Input input(data, size);
  std::uint8_t limit = input.byte();
  // Small maximums reach the length checks; the top bit keeps the default.
  std::uint64_t maxRecordBytes = (limit & 0x80) != 0
                                     ? mesos::RecordIoDecoder::kDefaultMaxRecordBytes
                                     : 1 + static_cast<std::uint64_t>(limit) * 3;
  std::vector<std::size_t> sizes{input.byte(), input.byte(), input.byte()};
  if (sizes[0] + sizes[1] + sizes[2] == 0) sizes[0] = 1;
  std::string_view stream = input.rest();

  Outcome chunked = decode(stream, maxRecordBytes, sizes);
  Outcome whole = decode(stream, maxRecordBytes, {stream.size() + 1});
  check(chunked.records == whole.records, "records depend on the chunk boundaries");
  check(chunked.feedError.has_value() == whole.feedError.has_value() &&
            (!chunked.feedError || chunked.feedError->message == whole.feedError->message),
        "the error depends on the chunk boundaries");
  check(sameStatus(chunked.finish, whole.finish), "finish() depends on the chunk boundaries");

  std::string framed;
  for (const std::string& record : chunked.records) framed += mesos::encodeRecord(record);
  Outcome again = decode(framed, maxRecordBytes, sizes);
  check(!again.feedError && again.finish.ok(), "re-framed records do not decode cleanly");
  check(again.records == chunked.records, "re-framed records decode differently");
  return 0;
}
