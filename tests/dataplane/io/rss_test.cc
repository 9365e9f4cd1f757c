// Symmetric RSS (dataplane/io/rss.hh): the Toeplitz implementation against Microsoft's published
// verification vector, and the symmetric key giving both directions of a flow the same hash (and
// so the same NIC queue and worker), which the usual default key does not.
#include "dataplane/io/rss.hh"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace phigate::test {
namespace {

// The key of Microsoft's "Verifying the RSS Hash Calculation" page (also DPDK's default).
constexpr uint8_t kMicrosoftKey[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
                                       0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
                                       0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

std::vector<uint8_t> tuple(const std::vector<uint8_t>& src, const std::vector<uint8_t>& dst, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> t(src);
  t.insert(t.end(), dst.begin(), dst.end());
  t.push_back(uint8_t(sport >> 8));
  t.push_back(uint8_t(sport));
  t.push_back(uint8_t(dport >> 8));
  t.push_back(uint8_t(dport));
  return t;
}

TEST(rss, toeplitz_matches_the_published_vectors) {
  // Source 66.9.149.187:2794, destination 161.142.100.80:1766.
  const auto t = tuple({66, 9, 149, 187}, {161, 142, 100, 80}, 2794, 1766);
  EXPECT_EQ(io::toeplitz_hash(kMicrosoftKey, 40, t.data(), 12), 0x51ccc178u);
  EXPECT_EQ(io::toeplitz_hash(kMicrosoftKey, 40, t.data(), 8), 0x323e8fc2u) << "addresses only";
  // Source 199.92.111.2:14230, destination 65.69.140.83:4739.
  const auto u = tuple({199, 92, 111, 2}, {65, 69, 140, 83}, 14230, 4739);
  EXPECT_EQ(io::toeplitz_hash(kMicrosoftKey, 40, u.data(), 12), 0xc626b0eau);
}

template <size_t AddrBytes>
void check_symmetry(const uint8_t* key, size_t key_len, bool expect_symmetric) {
  std::mt19937_64 rng(42);
  size_t asymmetric = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> a(AddrBytes), b(AddrBytes);
    for (auto& x : a) x = uint8_t(rng());
    for (auto& x : b) x = uint8_t(rng());
    const uint16_t pa = uint16_t(rng()), pb = uint16_t(rng());
    const auto fwd = tuple(a, b, pa, pb), rev = tuple(b, a, pb, pa);
    asymmetric += io::toeplitz_hash(key, key_len, fwd.data(), fwd.size()) !=
                  io::toeplitz_hash(key, key_len, rev.data(), rev.size());
  }
  if (expect_symmetric) EXPECT_EQ(asymmetric, 0u);
  else EXPECT_GT(asymmetric, 1900u) << "the default key sends the two directions to different queues";
}

TEST(rss, the_symmetric_key_hashes_both_directions_alike) {
  std::array<uint8_t, 52> key{};
  io::symmetric_rss_key(key.data(), key.size());
  check_symmetry<4>(key.data(), 40, true);
  check_symmetry<16>(key.data(), 52, true);  // IPv6: 36 input bytes need a 40-byte window
  check_symmetry<4>(kMicrosoftKey, 40, false);
}

TEST(rss, the_symmetric_key_spreads_flows_over_queues) {
  std::array<uint8_t, 40> key{};
  io::symmetric_rss_key(key.data(), key.size());
  std::mt19937_64 rng(7);
  // Clients of one subnet to one service, as phigate-dp sees them: only the client address
  // and port vary.
  constexpr unsigned kQueues = 4, kFlows = 20000;
  unsigned per_queue[kQueues] = {};
  for (unsigned i = 0; i < kFlows; ++i) {
    const auto t = tuple({198, 18, uint8_t(rng() & 3), uint8_t(rng())}, {198, 19, 0, 2}, uint16_t(32768 + rng() % 28000), 8000);
    // NICs index the redirection table with the hash's low bits.
    ++per_queue[io::toeplitz_hash(key.data(), key.size(), t.data(), t.size()) % 128 % kQueues];
  }
  for (unsigned q = 0; q < kQueues; ++q) {
    EXPECT_GT(per_queue[q], kFlows / kQueues * 8 / 10) << "queue " << q;
    EXPECT_LT(per_queue[q], kFlows / kQueues * 12 / 10) << "queue " << q;
  }
}

}  // namespace
}  // namespace phigate::test
