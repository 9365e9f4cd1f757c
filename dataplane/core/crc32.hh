#pragma once
// CRC-32 (IEEE 802.3, reflected, as zlib's crc32()): the pattern database blob's checksum. It
// catches truncation and bit rot, not tampering (authenticity is the snapshot signer's job).
// Shared by the blob's writer and reader and by the tests and fuzzer that reseal edited blobs.
#include <array>
#include <cstddef>
#include <cstdint>

namespace phigate::core {

inline constexpr std::array<uint32_t, 256> crc32_table = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}();

inline uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = crc32_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace phigate::core
