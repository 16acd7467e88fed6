#include "tests/fake_mesos/ids.hpp"

#include <fmt/format.h>

namespace tailor::fake_mesos {
namespace {

std::string randomBytes(std::mt19937_64& random) {
  std::string bytes(16, '\0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t word = random();
    for (int i = 0; i < 8; ++i) {
      bytes[half * 8 + i] = static_cast<char>((word >> (8 * i)) & 0xff);
    }
  }
  bytes[6] = static_cast<char>((static_cast<unsigned char>(bytes[6]) & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<char>((static_cast<unsigned char>(bytes[8]) & 0x3f) | 0x80);  // RFC 4122
  return bytes;
}

}  // namespace

IdGenerator::IdGenerator(const IdSeed& seed)
    : random_(std::random_device{}()),
      masterId_(seed.masterId),
      nextFramework_(seed.nextFrameworkNumber),
      nextOffer_(seed.nextOfferNumber),
      nextAgent_(seed.firstAgentNumber) {
  if (masterId_.empty()) masterId_ = randomUuidText();
}

std::string IdGenerator::nextFrameworkId() {
  return fmt::format("{}-{:04d}", masterId_, nextFramework_++);
}

std::string IdGenerator::nextOfferId() { return fmt::format("{}-O{}", masterId_, nextOffer_++); }

std::string IdGenerator::nextAgentId() { return fmt::format("{}-S{}", masterId_, nextAgent_++); }

std::string IdGenerator::randomUuidText() { return uuidBytesToText(randomBytes(random_)); }

std::string IdGenerator::randomUuidBytes() { return randomBytes(random_); }

bool isValidUuidBytes(std::string_view bytes) {
  if (bytes.size() != 16) return false;
  int version = static_cast<unsigned char>(bytes[6]) >> 4;
  return version >= 1 && version <= 5;
}

std::string uuidBytesToText(std::string_view bytes) {
  if (bytes.size() != 16) return "";
  std::string text;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += fmt::format("{:02x}", static_cast<unsigned char>(bytes[i]));
  }
  return text;
}

}  // namespace tailor::fake_mesos
