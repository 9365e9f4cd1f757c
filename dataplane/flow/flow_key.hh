#pragma once
// The flow key: a TCP/UDP 5-tuple normalised so that both directions of a connection produce the
// same key (and therefore the same hash and table entry), plus a `swapped` bit telling the caller
// which way the packet went. Pure value code, inline because it runs once per packet.
//
// Normalisation: the two endpoints (address, port) are ordered lexicographically; the smaller one
// is stored as `lo`. A packet whose source is the larger endpoint is `swapped`. IPv4 addresses are
// stored IPv4-mapped (::ffff:a.b.c.d) so one layout serves both families; the family byte keeps a
// v4 flow and a v6 flow to the literal mapped address apart. Padding is zeroed so the key can be
// hashed and compared as plain bytes.
//
// The hash is seeded: the table draws the seed at setup so a sender cannot aim many flows at one
// bucket without knowing it (and the bucket layout bounds the damage if they do; flow_table.hh).
#include <bit>
#include <cstdint>
#include <cstring>

namespace phigate::flow {

enum class ip_family : uint8_t { v4 = 4, v6 = 6 };

struct flow_key {
  uint8_t lo_addr[16];
  uint8_t hi_addr[16];
  uint16_t lo_port;
  uint16_t hi_port;
  uint8_t proto;
  ip_family family;
  uint8_t pad[2];
};
static_assert(sizeof(flow_key) == 40, "flow_key is hashed as five 64-bit words");

// Direction of a packet relative to the flow's initiator (the endpoint whose packet created the
// table entry; for TCP normally the SYN sender).
enum class flow_dir : uint8_t { to_responder = 0, to_initiator = 1 };
inline constexpr uint8_t dir_index(flow_dir d) { return static_cast<uint8_t>(d); }
inline constexpr flow_dir dir_other(flow_dir d) {
  return d == flow_dir::to_responder ? flow_dir::to_initiator : flow_dir::to_responder;
}

namespace detail {
inline flow_key make_key(const uint8_t* src16, const uint8_t* dst16, uint16_t sport, uint16_t dport,
                         uint8_t proto, ip_family fam, bool& swapped) {
  flow_key k;
  std::memset(&k, 0, sizeof k);
  int c = std::memcmp(src16, dst16, 16);
  swapped = c > 0 || (c == 0 && sport > dport);
  std::memcpy(k.lo_addr, swapped ? dst16 : src16, 16);
  std::memcpy(k.hi_addr, swapped ? src16 : dst16, 16);
  k.lo_port = swapped ? dport : sport;
  k.hi_port = swapped ? sport : dport;
  k.proto = proto;
  k.family = fam;
  return k;
}
inline void map_v4(const uint8_t* a4, uint8_t* out16) {
  std::memset(out16, 0, 10);
  out16[10] = 0xff;
  out16[11] = 0xff;
  std::memcpy(out16 + 12, a4, 4);
}
inline uint64_t mix64(uint64_t h) {  // murmur3 fmix64: every input bit reaches every output bit
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}
}  // namespace detail

// Addresses in network byte order as they sit in the IP header; ports in host byte order.
// `swapped` is set when the packet travels from the `hi` endpoint to the `lo` endpoint.
inline flow_key make_flow_key_v4(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport,
                                 uint8_t proto, bool& swapped) {
  uint8_t s[16], d[16];
  detail::map_v4(src, s);
  detail::map_v4(dst, d);
  return detail::make_key(s, d, sport, dport, proto, ip_family::v4, swapped);
}
inline flow_key make_flow_key_v6(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport,
                                 uint8_t proto, bool& swapped) {
  return detail::make_key(src, dst, sport, dport, proto, ip_family::v6, swapped);
}

// Five word compares, no libc call: every packet's lookup compares at least one key.
inline bool flow_key_equal(const flow_key& a, const flow_key& b) {
  uint64_t x[5], y[5];
  std::memcpy(x, &a, sizeof x);
  std::memcpy(y, &b, sizeof y);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

// Symmetric by construction (the key is normalised); `seed` comes from flow_table_seed().
// Three independent lanes, each word mixed in with the seed, joined by one last mix: the
// multiplies of the lanes overlap, so a packet waits for three rounds of mix64 instead of a chain
// of six (~30 cycles less on every packet).
inline uint64_t flow_key_hash(const flow_key& k, uint64_t seed) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  uint64_t w[5];
  std::memcpy(w, &k, sizeof w);
  const uint64_t a = detail::mix64(detail::mix64(seed ^ w[0]) ^ w[3]);
  const uint64_t b = detail::mix64(detail::mix64((seed + kGolden) ^ w[1]) ^ w[4]);
  const uint64_t c = detail::mix64((seed + 2 * kGolden) ^ w[2]);
  return detail::mix64(a ^ std::rotl(b, 21) ^ std::rotl(c, 42));
}

}  // namespace phigate::flow
