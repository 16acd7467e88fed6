#include "mesos/recordio.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tailor::mesos {
namespace {

using ::testing::HasSubstr;

// Feeds `chunks` in order; returns every record pulled, failing the test on a feed error.
std::vector<std::string> decodeChunks(RecordIoDecoder& decoder,
                                      const std::vector<std::string_view>& chunks) {
  std::vector<std::string> records;
  for (std::string_view chunk : chunks) {
    Status status = decoder.feed(chunk);
    EXPECT_TRUE(status.ok()) << status.error().message;
    while (auto record = decoder.next()) records.push_back(std::move(*record));
  }
  return records;
}

std::string encodeAll(const std::vector<std::string>& payloads) {
  std::string stream;
  for (const std::string& payload : payloads) stream += encodeRecord(payload);
  return stream;
}

// Payloads that look like RecordIO themselves: digits, newlines, NULs, high bytes.
std::vector<std::string> trickyPayloads() {
  return {
      R"({"type":"HEARTBEAT"})", std::string("12\n34\n", 6), std::string("\0\n\xff\x80 9", 6), "x",
      std::string(300, '7'),
  };
}

TEST(RecordIoTest, EncodesDecimalLengthNewlinePayload) {
  EXPECT_EQ(encodeRecord(R"({"type":"HEARTBEAT"})"), "20\n{\"type\":\"HEARTBEAT\"}");
  EXPECT_EQ(encodeRecord(""), "0\n");
  EXPECT_EQ(encodeRecord(std::string("\0\n", 2)), std::string("2\n\0\n", 4));
}

TEST(RecordIoTest, RoundTripsRecordsFedAtOnce) {
  std::vector<std::string> payloads = trickyPayloads();
  RecordIoDecoder decoder;
  EXPECT_EQ(decodeChunks(decoder, {encodeAll(payloads)}), payloads);
  EXPECT_EQ(decoder.recordsDecoded(), payloads.size());
  EXPECT_TRUE(decoder.finish().ok());
  EXPECT_FALSE(decoder.next().has_value());
}

TEST(RecordIoTest, RoundTripsWithAChunkBoundaryAtEveryByte) {
  std::vector<std::string> payloads = trickyPayloads();
  std::string stream = encodeAll(payloads);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    SCOPED_TRACE(::testing::Message() << "split at byte " << split);
    std::string_view all(stream);
    RecordIoDecoder decoder;
    EXPECT_EQ(decodeChunks(decoder, {all.substr(0, split), all.substr(split)}), payloads);
    EXPECT_TRUE(decoder.finish().ok());
  }
}

TEST(RecordIoTest, RoundTripsFedOneByteAtATime) {
  std::vector<std::string> payloads = trickyPayloads();
  std::string stream = encodeAll(payloads);
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < stream.size(); ++i)
    bytes.push_back(std::string_view(stream).substr(i, 1));
  RecordIoDecoder decoder;
  EXPECT_EQ(decodeChunks(decoder, bytes), payloads);
  EXPECT_TRUE(decoder.finish().ok());
}

TEST(RecordIoTest, RecordsArePulledInOrderAcrossFeeds) {
  RecordIoDecoder decoder;
  ASSERT_TRUE(decoder.feed("3\nabc2\nd").ok());
  EXPECT_EQ(decoder.next(), "abc");
  EXPECT_FALSE(decoder.next().has_value());  // "d" of 2 bytes so far
  ASSERT_TRUE(decoder.feed("e0\n1\nf").ok());
  EXPECT_EQ(decoder.next(), "de");
  EXPECT_EQ(decoder.next(), "");  // a zero-length record is well-formed
  EXPECT_EQ(decoder.next(), "f");
  EXPECT_FALSE(decoder.next().has_value());
}

TEST(RecordIoTest, EmptyFeedsChangeNothing) {
  RecordIoDecoder decoder;
  ASSERT_TRUE(decoder.feed("").ok());
  ASSERT_TRUE(decoder.feed("1").ok());
  ASSERT_TRUE(decoder.feed("").ok());
  ASSERT_TRUE(decoder.feed("\nz").ok());
  EXPECT_EQ(decoder.next(), "z");
  EXPECT_TRUE(decoder.finish().ok());
}

TEST(RecordIoTest, RejectsANonDigitInTheLength) {
  RecordIoDecoder decoder;
  Status status = decoder.feed("3\nabc1x\nq");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(status.error().message, HasSubstr("corrupt stream at record 1 (stream offset 5)"));
  EXPECT_THAT(status.error().message, HasSubstr("record length '1' is followed by 'x'"));
  EXPECT_TRUE(decoder.failed());
  // What came before the corruption is still delivered.
  EXPECT_EQ(decoder.next(), "abc");
  EXPECT_FALSE(decoder.next().has_value());
}

TEST(RecordIoTest, RejectsALengthThatIsNotANumber) {
  for (std::string_view stream :
       {std::string_view("{\"type\":\"HEARTBEAT\"}"), std::string_view("-1\n"),
        std::string_view(" 1\nx"), std::string_view("\xff")}) {
    SCOPED_TRACE(stream);
    RecordIoDecoder decoder;
    Status status = decoder.feed(stream);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(status.error().message, HasSubstr("record length starts with"));
  }
  RecordIoDecoder binary;
  Status status = binary.feed("\x01");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("starts with 0x01, expected a digit"));
}

TEST(RecordIoTest, RejectsAnEmptyLength) {
  RecordIoDecoder decoder;
  Status status = decoder.feed("\nabc");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(status.error().message, HasSubstr("empty record length"));
}

TEST(RecordIoTest, StaysFailedAfterCorruption) {
  RecordIoDecoder decoder;
  Status first = decoder.feed("1y");
  ASSERT_FALSE(first.ok());
  Status again = decoder.feed("\n1\nz");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, first.error().message);
  Status finish = decoder.finish();
  ASSERT_FALSE(finish.ok());
  EXPECT_EQ(finish.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(finish.error().message, first.error().message);
  EXPECT_FALSE(decoder.next().has_value());
}

TEST(RecordIoTest, RejectsARecordOverTheConfiguredMaximum) {
  RecordIoDecoder decoder(/*maxRecordBytes=*/10);
  ASSERT_TRUE(decoder.feed("10\n0123456789").ok());
  EXPECT_EQ(decoder.next(), "0123456789");
  Status status = decoder.feed("11\n");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(status.error().message,
              HasSubstr("record length '11...' exceeds the maximum of 10 bytes"));
}

TEST(RecordIoTest, DefaultMaximumIs64MiB) {
  EXPECT_EQ(RecordIoDecoder::kDefaultMaxRecordBytes, 64u * 1024 * 1024);
  RecordIoDecoder atLimit;
  EXPECT_TRUE(atLimit.feed("67108864\n").ok());  // a header only: nothing is allocated up front
  RecordIoDecoder overLimit;
  Status status = overLimit.feed("67108865\n");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("exceeds the maximum of 67108864 bytes"));
}

TEST(RecordIoTest, RejectsAnEndlessLengthBeforeItsNewline) {
  // Detected while the digits arrive, without overflowing and without waiting for '\n'.
  RecordIoDecoder decoder;
  Status status = decoder.feed(std::string(40, '9'));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("exceeds the maximum"));
  RecordIoDecoder unbounded(/*maxRecordBytes=*/UINT64_MAX);
  EXPECT_TRUE(unbounded.feed("18446744073709551615").ok());
  EXPECT_FALSE(unbounded.feed("0").ok());  // would overflow uint64
}

TEST(RecordIoTest, ReportsATruncatedPayloadAtFinish) {
  RecordIoDecoder decoder;
  ASSERT_TRUE(decoder.feed("2\nok501\n{\"type\":\"UPDATE\"").ok());
  EXPECT_EQ(decoder.next(), "ok");
  Status status = decoder.finish();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(status.error().message,
              HasSubstr("truncated stream: it ended inside record 1 (stream offset 4) after 16 of "
                        "its 501 payload bytes"));
  EXPECT_FALSE(decoder.failed());  // more bytes could still complete it
}

TEST(RecordIoTest, ReportsATruncatedLengthAtFinish) {
  RecordIoDecoder decoder;
  ASSERT_TRUE(decoder.feed("1\na42").ok());
  Status status = decoder.finish();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(status.error().message,
              HasSubstr("ended inside the length of record 1 (stream offset 3) after '42'"));
}

TEST(RecordIoTest, FinishIsCleanOnARecordBoundary) {
  RecordIoDecoder decoder;
  EXPECT_TRUE(decoder.finish().ok());  // an empty stream
  ASSERT_TRUE(decoder.feed("1\na").ok());
  EXPECT_TRUE(decoder.finish().ok());
  EXPECT_EQ(decoder.next(), "a");
}

}  // namespace
}  // namespace tailor::mesos
