#pragma once

// Identifiers as a Mesos 1.12 master makes them (reference §0.3): a master id
// that is a UUID, FrameworkID `<master>-NNNN`, OfferID `<master>-O<n>`,
// AgentID `<master>-S<n>`, random container ids, and the 16-byte RFC 4122
// UUIDs of status updates. The counters can be seeded so that ids recorded
// from a real master (the golden captures) are valid on the fake.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace tailor::fake_mesos {

// Where the id counters start. Defaults are a fresh master's.
struct IdSeed {
  std::string masterId;  // empty: a random UUID
  std::uint64_t nextFrameworkNumber = 0;
  std::uint64_t nextOfferNumber = 0;
  std::uint64_t firstAgentNumber = 0;
};

// Hands out ids. Not thread-safe: owned by the fake's loop.
class IdGenerator {
 public:
  explicit IdGenerator(const IdSeed& seed);

  const std::string& masterId() const { return masterId_; }
  std::string nextFrameworkId();
  std::string nextOfferId();
  std::string nextAgentId();
  // A random version 4 UUID as text (stream ids, container ids).
  std::string randomUuidText();
  // A random version 4 UUID as 16 raw bytes (status update uuids).
  std::string randomUuidBytes();

 private:
  std::mt19937_64 random_;
  std::string masterId_;
  std::uint64_t nextFramework_;
  std::uint64_t nextOffer_;
  std::uint64_t nextAgent_;
};

// True for 16 bytes whose version nibble is 1..5, the test Mesos applies to
// acknowledgement and status update uuids (stout's UUID::fromBytes).
bool isValidUuidBytes(std::string_view bytes);

// "8-4-4-4-12" lower-case hex of 16 raw bytes; "" for any other length.
std::string uuidBytesToText(std::string_view bytes);

}  // namespace tailor::fake_mesos
