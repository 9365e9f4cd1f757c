// checksum: full computations agree with a naive reference over IPv4/IPv6 frames of every payload
// parity; the RFC 1624 incremental update equals a full recompute for random same-length
// rewrites at odd and even offsets, including the 0x0000/0xFFFF corner.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "dataplane/net/checksum.hh"
#include "dataplane/net/packet_parse.hh"
#include "tests/dataplane/net/frame_builder.hh"

namespace phigate::test {
namespace {

std::string random_payload(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(checksum, full_computations_match_reference) {
  std::mt19937 rng(5);
  for (bool v6 : {false, true})
    for (size_t n = 0; n < 40; ++n) {
      frame_spec s;
      s.v6 = v6;
      s.ipv4_option_words = static_cast<uint8_t>(n % 3);
      s.tcp_option_words = static_cast<uint8_t>(n % 2);
      s.seq = rng(), s.ack = rng();
      const built_frame b = build_frame(s, random_payload(rng, n * 7 % 301));
      net::packet_view v;
      ASSERT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), net::parse_error::none);
      EXPECT_EQ(net::tcp_checksum(b.bytes.data(), v), net::tcp_checksum_field(b.bytes.data(), v)) << v6 << " " << n;
      if (!v6) {
        const uint16_t stored = static_cast<uint16_t>(b.bytes[b.l3 + 10] << 8 | b.bytes[b.l3 + 11]);
        EXPECT_EQ(net::ipv4_header_checksum(b.bytes.data(), v), stored);
      }
    }
}

TEST(checksum, ipv4_header_checksum_detects_a_changed_header) {
  built_frame b = build_frame(frame_spec{}, "x");
  net::packet_view v;
  ASSERT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), net::parse_error::none);
  const uint16_t before = net::ipv4_header_checksum(b.bytes.data(), v);
  b.bytes[b.l3 + 8] -= 1;  // TTL
  EXPECT_NE(net::ipv4_header_checksum(b.bytes.data(), v), before);
}

TEST(checksum, incremental_update_equals_full_recompute_for_random_rewrites) {
  std::mt19937 rng(11);
  int odd = 0, even = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    frame_spec s;
    s.v6 = iter % 2 == 1;
    s.tcp_option_words = static_cast<uint8_t>(iter % 3);
    const size_t n = 1 + rng() % 200;
    built_frame b = build_frame(s, random_payload(rng, n));
    net::packet_view v;
    ASSERT_EQ(net::packet_parse(b.bytes.data(), b.bytes.size(), v), net::parse_error::none);
    const size_t from = rng() % n, len = 1 + rng() % (n - from);
    uint8_t* p = b.bytes.data() + v.payload_off + from;
    const std::vector<uint8_t> old(p, p + len);
    for (size_t i = 0; i < len; ++i)
      p[i] = rng() % 3 == 0 ? uint8_t('*') : rng() % 2 ? uint8_t(rng()) : uint8_t(0);
    const size_t off_in_tcp = v.payload_off - v.l4_off + from;
    (off_in_tcp % 2 ? odd : even)++;
    const uint16_t inc =
        net::checksum_update_range(net::tcp_checksum_field(b.bytes.data(), v), old.data(), p, len, off_in_tcp);
    const uint16_t full = net::tcp_checksum(b.bytes.data(), v);
    // Equal as ones'-complement numbers: 0x0000 and 0xFFFF are both zero (RFC 1624 section 3).
    ASSERT_TRUE(inc == full || (inc == 0xFFFF && full == 0) || (inc == 0 && full == 0xFFFF))
        << "iter " << iter << " off " << off_in_tcp << " len " << len << " inc " << inc << " full " << full;
    // And the same through the sum interface the session uses (whole payload, parity of its start).
    const bool podd = ((v.payload_off - v.l4_off) & 1) != 0;
    std::vector<uint8_t> before(b.bytes.begin() + v.payload_off, b.bytes.begin() + v.payload_off + n);
    std::copy(old.begin(), old.end(), before.begin() + from);
    const uint16_t adj = net::checksum_adjust(net::tcp_checksum_field(b.bytes.data(), v),
                                              net::checksum_range_sum(before.data(), n, podd),
                                              net::checksum_range_sum(b.bytes.data() + v.payload_off, n, podd));
    ASSERT_TRUE(adj == full || (adj == 0xFFFF && full == 0) || (adj == 0 && full == 0xFFFF)) << "iter " << iter;
  }
  EXPECT_GT(odd, 500);
  EXPECT_GT(even, 500);
}

TEST(checksum, incremental_update_of_a_single_word_matches_rfc1624_example) {
  // RFC 1624 section 4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
  EXPECT_EQ(net::checksum_adjust(0xDD2F, 0x5555, 0x3285), 0x0000);
}

TEST(checksum, odd_offset_rewrite_is_not_treated_as_even) {
  // Regression guard: a one-byte change at an odd offset must move the low byte of the sum.
  const uint8_t old_b = 0x00, new_b = 0x01;
  EXPECT_EQ(net::checksum_update_range(0xFFFF, &old_b, &new_b, 1, 1), 0xFFFE);
  EXPECT_EQ(net::checksum_update_range(0xFFFF, &old_b, &new_b, 1, 0), 0xFEFF);
}

// The word-by-word definition (RFC 1071): big-endian 16-bit words, a last odd byte padded.
uint32_t reference_add(uint32_t sum, const uint8_t* p, size_t len) {
  uint64_t s = sum;
  size_t i = 0;
  for (; i + 1 < len; i += 2) s += uint32_t{p[i]} << 8 | p[i + 1];
  if (i < len) s += uint32_t{p[i]} << 8;
  return net::checksum_fold(s);
}

TEST(checksum, wide_checksum_add_equals_word_by_word_sum_at_every_length_and_alignment) {
  // checksum_add sums 8 bytes at a time: every tail length (0..7 after the 32- and 8-byte
  // loops), every start alignment, carries in the 64-bit accumulator (all 0xFF), all-zero data,
  // and a running sum carried in.
  std::mt19937 rng(23);
  std::vector<uint8_t> buf(400 + 8);
  for (int fill = 0; fill < 4; ++fill) {
    for (auto& b : buf) b = fill == 0 ? uint8_t(rng()) : fill == 1 ? 0xFF : fill == 2 ? 0x00 : uint8_t(0xF0 | (rng() & 0xF));
    for (size_t align = 0; align < 8; ++align)
      for (size_t len = 0; len <= 400; ++len)
        for (uint32_t carry_in : {0u, 1u, 0xFFFFu, 0x1234u}) {
          const uint8_t* p = buf.data() + align;
          ASSERT_EQ(net::checksum_add(carry_in, p, len), reference_add(carry_in, p, len))
              << "fill " << fill << " align " << align << " len " << len << " carry " << carry_in;
        }
  }
}

}  // namespace
}  // namespace phigate::test
