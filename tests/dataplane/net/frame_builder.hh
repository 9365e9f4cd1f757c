#pragma once
// Test frames: Ethernet (+ VLAN tags) / IPv4 (+ options) or IPv6 (+ extension headers) / TCP
// (+ options) / payload, with checksums from a deliberately naive reference (the pseudo-header
// laid out in a buffer and summed word by word), independent of dataplane/net/checksum.
#include <cstdint>
#include <string_view>
#include <vector>

namespace phigate::test {

struct frame_spec {
  bool v6 = false;
  std::vector<uint16_t> vlan_types;  // outer first: 0x8100 or 0x88A8 for each tag
  uint8_t src4[4] = {10, 0, 0, 1}, dst4[4] = {10, 0, 0, 2};
  uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  uint8_t ipv4_option_words = 0;          // extra 4-byte option words (NOPs)
  std::vector<uint8_t> ipv6_ext;           // extension header types, in order (0, 43, 60, 44)
  uint16_t ipv4_frag = 0;                  // flags+offset field (0x2000 = MF)
  uint16_t sport = 40000, dport = 8000;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0x10;
  uint8_t tcp_option_words = 0;            // extra 4-byte option words (NOPs)
  std::vector<uint8_t> tcp_options;        // option bytes before those NOPs (a multiple of 4)
  uint16_t window = 65535;
  size_t ether_padding = 0;                // trailing bytes after the IP packet
};

inline uint16_t ref_sum(const std::vector<uint8_t>& b) {
  uint32_t s = 0;
  for (size_t i = 0; i < b.size(); i += 2) s += (uint32_t{b[i]} << 8) | (i + 1 < b.size() ? b[i + 1] : 0);
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// The TCP checksum of a frame built by build_frame, recomputed naively (checksum field zeroed).
inline uint16_t ref_tcp_checksum(const std::vector<uint8_t>& f, size_t l3, size_t l4, size_t end, bool v6) {
  std::vector<uint8_t> ph;
  const size_t alen = v6 ? 16 : 4;
  const size_t src = l3 + (v6 ? 8 : 12), dst = l3 + (v6 ? 24 : 16);
  ph.insert(ph.end(), f.begin() + src, f.begin() + src + alen);
  ph.insert(ph.end(), f.begin() + dst, f.begin() + dst + alen);
  const uint32_t len = static_cast<uint32_t>(end - l4);
  if (v6) {
    ph.insert(ph.end(), {uint8_t(len >> 24), uint8_t(len >> 16), uint8_t(len >> 8), uint8_t(len), 0, 0, 0, 6});
  } else {
    ph.insert(ph.end(), {0, 6, uint8_t(len >> 8), uint8_t(len)});
  }
  std::vector<uint8_t> seg(f.begin() + l4, f.begin() + end);
  seg[16] = seg[17] = 0;
  ph.insert(ph.end(), seg.begin(), seg.end());
  return static_cast<uint16_t>(~ref_sum(ph));
}

struct built_frame {
  std::vector<uint8_t> bytes;
  size_t l3 = 0, l4 = 0, payload = 0, ip_end = 0;
};

inline built_frame build_frame(const frame_spec& s, std::string_view payload) {
  built_frame b;
  auto& f = b.bytes;
  auto put16 = [&](uint16_t x) { f.push_back(uint8_t(x >> 8)), f.push_back(uint8_t(x)); };
  auto put32 = [&](uint32_t x) { put16(uint16_t(x >> 16)), put16(uint16_t(x)); };
  for (int i = 0; i < 6; ++i) f.push_back(0x02);
  for (int i = 0; i < 6; ++i) f.push_back(0x04);
  for (size_t i = 0; i < s.vlan_types.size(); ++i) {
    put16(s.vlan_types[i]);
    f.push_back(0x00), f.push_back(uint8_t(10 + i));  // TCI
  }
  const size_t tcp_len = 20 + s.tcp_options.size() + 4u * s.tcp_option_words + payload.size();
  put16(s.v6 ? 0x86DD : 0x0800);
  b.l3 = f.size();
  if (!s.v6) {
    const size_t ihl = 20 + 4u * s.ipv4_option_words;
    f.push_back(uint8_t(0x40 | ihl / 4)), f.push_back(0);
    put16(uint16_t(ihl + tcp_len));
    put16(0x1234), put16(s.ipv4_frag);
    f.push_back(64), f.push_back(6), put16(0);
    f.insert(f.end(), s.src4, s.src4 + 4);
    f.insert(f.end(), s.dst4, s.dst4 + 4);
    for (size_t i = 0; i < 4u * s.ipv4_option_words; ++i) f.push_back(1);  // NOP
    std::vector<uint8_t> h(f.begin() + b.l3, f.end());
    const uint16_t c = static_cast<uint16_t>(~ref_sum(h));
    f[b.l3 + 10] = uint8_t(c >> 8), f[b.l3 + 11] = uint8_t(c);
  } else {
    const size_t ext_len = 8 * s.ipv6_ext.size();
    put32(0x60000000);
    put16(uint16_t(ext_len + tcp_len));
    f.push_back(s.ipv6_ext.empty() ? 6 : s.ipv6_ext[0]), f.push_back(64);
    f.insert(f.end(), s.src6, s.src6 + 16);
    f.insert(f.end(), s.dst6, s.dst6 + 16);
    for (size_t i = 0; i < s.ipv6_ext.size(); ++i) {
      f.push_back(i + 1 < s.ipv6_ext.size() ? s.ipv6_ext[i + 1] : 6);
      f.push_back(0);  // length 0: 8 bytes (for the fragment header: reserved)
      for (int j = 0; j < 6; ++j) f.push_back(s.ipv6_ext[i] == 44 ? 0 : 1);  // PadN-ish filler / frag offset 0
    }
  }
  b.l4 = f.size();
  put16(s.sport), put16(s.dport), put32(s.seq), put32(s.ack);
  f.push_back(uint8_t((5 + s.tcp_options.size() / 4 + s.tcp_option_words) << 4)), f.push_back(s.flags);
  put16(s.window), put16(0), put16(0);
  f.insert(f.end(), s.tcp_options.begin(), s.tcp_options.end());
  for (size_t i = 0; i < 4u * s.tcp_option_words; ++i) f.push_back(1);
  b.payload = f.size();
  f.insert(f.end(), payload.begin(), payload.end());
  b.ip_end = f.size();
  const uint16_t c = ref_tcp_checksum(f, b.l3, b.l4, b.ip_end, s.v6);
  f[b.l4 + 16] = uint8_t(c >> 8), f[b.l4 + 17] = uint8_t(c);
  f.insert(f.end(), s.ether_padding, 0);
  return b;
}

}  // namespace phigate::test
