// copy_short against memcpy at every length around its size steps, with the source against a
// guard page (a read past src + n faults) and canaries around the destination (a write outside
// dst[0, n) shows).
#include "dataplane/core/byte_copy.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/support/guard_page.hh"

namespace phigate::core {
namespace {

TEST(copy_short, copies_exactly_n_bytes_reading_and_writing_nothing_else) {
  std::vector<uint8_t> text(64);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<uint8_t>(0x41 + i * 7);
  for (size_t n = 0; n <= 40; ++n) {
    for (size_t dst_off = 0; dst_off < 8; ++dst_off) {
      test::guarded_buffer g(std::span<const uint8_t>(text.data(), n));
      std::vector<uint8_t> out(n + 32, 0xEE);
      copy_short(out.data() + 8 + dst_off, g.data(), n);
      for (size_t i = 0; i < out.size(); ++i) {
        const bool inside = i >= 8 + dst_off && i < 8 + dst_off + n;
        ASSERT_EQ(out[i], inside ? text[i - 8 - dst_off] : 0xEE) << "n " << n << " dst_off " << dst_off << " at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace phigate::core
