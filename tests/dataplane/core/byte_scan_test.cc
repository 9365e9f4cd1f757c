// The vectorised byte searches against their scalar definitions, at every length and offset, with
// inputs against a guard page so a read past the end faults.
#include "dataplane/core/byte_scan.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "tests/support/guard_page.hh"

namespace phigate::core {
namespace {

TEST(byte_scan, bit_planes64_matches_the_table_bit_by_bit) {
  uint8_t table[256];
  std::mt19937 rng(9);
  for (int c = 0; c < 256; ++c) table[c] = static_cast<uint8_t>(rng());
  uint8_t text[64];
  for (int round = 0; round < 200; ++round) {
    for (uint8_t& b : text) b = static_cast<uint8_t>(rng());
    for (size_t n = 0; n <= 64; ++n) {
      // The n bytes end at a guard page: bit_planes64 may read p[0, n) only.
      test::guarded_buffer g(std::span<const uint8_t>(text, n));
      for (uint32_t planes : {1u, 5u, 8u}) {
        uint64_t out[8];
        std::memset(out, 0xAB, sizeof out);
        bit_planes64(g.data(), n, table, planes, out);
        for (uint32_t b = 0; b < planes; ++b) {
          uint64_t want = 0;
          for (size_t i = 0; i < n; ++i) want |= static_cast<uint64_t>((table[text[i]] >> b) & 1) << i;
          ASSERT_EQ(out[b], want) << "n " << n << " plane " << b;
        }
      }
    }
  }
}

TEST(byte_scan, range_planes64_matches_its_ranges_bit_by_bit) {
  std::mt19937 rng(11);
  uint8_t text[64];
  for (int round = 0; round < 200; ++round) {
    byte_ranges planes[5];
    for (byte_ranges& r : planes) {
      for (uint32_t k = rng() % (kMaxPlaneRanges + 1); k > 0; --k) {
        const uint8_t a = static_cast<uint8_t>(rng()), b = static_cast<uint8_t>(rng() % 8 == 0 ? a : rng());
        ASSERT_TRUE(r.add(std::min(a, b), std::max(a, b)));
      }
      // Byte 0 in a class where there is room: the zero padding of a short block must not show.
      const bool room = r.count < kMaxPlaneRanges;
      EXPECT_EQ(r.add(0, 0), room);
    }
    // Bytes near the range ends are the interesting ones: draw half of them from the bounds +-1.
    for (uint8_t& b : text) {
      const byte_ranges& r = planes[rng() % 5];
      b = static_cast<uint8_t>(rng());
      if (r.count && rng() % 2) b = static_cast<uint8_t>((rng() % 2 ? r.lo : r.hi)[rng() % r.count] + (int(rng() % 3) - 1));
    }
    for (size_t n = 0; n <= 64; ++n) {
      test::guarded_buffer g(std::span<const uint8_t>(text, n));
      uint64_t out[5];
      std::memset(out, 0xAB, sizeof out);
      range_planes64(g.data(), n, planes, 5, out);
      for (uint32_t b = 0; b < 5; ++b) {
        uint64_t want = 0;
        for (size_t i = 0; i < n; ++i) want |= static_cast<uint64_t>(planes[b].contains(text[i])) << i;
        ASSERT_EQ(out[b], want) << "n " << n << " plane " << b;
      }
    }
  }
}

}  // namespace
}  // namespace phigate::core
