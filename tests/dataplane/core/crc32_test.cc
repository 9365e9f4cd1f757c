// core::crc32 is zlib's CRC-32: pattern database blobs written by one build must load in another.
#include "dataplane/core/crc32.hh"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace phigate::core {
namespace {

uint32_t crc_of(std::string_view s) { return crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

TEST(crc32, matches_the_standard_check_values) {
  EXPECT_EQ(crc_of(""), 0x00000000u);
  EXPECT_EQ(crc_of("123456789"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  EXPECT_EQ(crc_of("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(crc32, every_single_bit_flip_changes_it) {
  std::string s = "PHIGDB1 body bytes";
  const uint32_t base = crc_of(s);
  for (size_t i = 0; i < s.size(); ++i)
    for (int b = 0; b < 8; ++b) {
      s[i] = static_cast<char>(s[i] ^ (1 << b));
      EXPECT_NE(crc_of(s), base) << i << ":" << b;
      s[i] = static_cast<char>(s[i] ^ (1 << b));
    }
}

}  // namespace
}  // namespace phigate::core
