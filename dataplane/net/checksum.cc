#include "dataplane/net/checksum.hh"

#include <bit>
#include <cstring>

namespace phigate::net {

// Runs on every protected payload (twice for a masked one), so it sums 8 bytes per step: 64-bit
// native-order words with end-around carry (2^64 = 1 mod 2^16 - 1, so the folded result is the
// 16-bit ones'-complement sum), byte-swapped at the end on a little-endian host (RFC 1071, 2.(B):
// the sum of byte-swapped words is the byte-swapped sum). Nonzero data never folds to 0, as the
// word-by-word sum, so both give the same representative.
uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len) {
  uint64_t s = 0;
  const auto add = [&s](uint64_t w) {
    s += w;
    s += s < w;  // end-around carry
  };
  size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, sizeof w);
    add(w[0]);
    add(w[1]);
    add(w[2]);
    add(w[3]);
  }
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    add(w);
  }
  // The tail (< 8 bytes) as one zero-padded word: byte k of it lands where a load would put it.
  // Built from fixed-size loads: a variable-length memcpy is a libc call, and small packets sum
  // several short ranges (pseudo-header, IP header) each.
  if (i < len) {
    const size_t r = len - i;
    uint64_t w = 0;
    if constexpr (std::endian::native == std::endian::little) {
      size_t k = 0;
      if (r & 4) {
        uint32_t v;
        std::memcpy(&v, p + i, 4);
        w = v;
        k = 4;
      }
      if (r & 2) {
        uint16_t v;
        std::memcpy(&v, p + i + k, 2);
        w |= uint64_t{v} << (8 * k);
        k += 2;
      }
      if (r & 1) w |= uint64_t{p[i + k]} << (8 * k);
    } else {
      for (size_t k = 0; k < r; ++k) w |= uint64_t{p[i + k]} << (56 - 8 * k);
    }
    add(w);
  }
  uint16_t folded = checksum_fold((s & 0xFFFFFFFFu) + (s >> 32));
  if constexpr (std::endian::native == std::endian::little) folded = static_cast<uint16_t>(folded << 8 | folded >> 8);
  return checksum_fold(uint64_t{sum} + folded);
}

uint16_t checksum_fold(uint64_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xFFFFu) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint16_t checksum_range_sum(const uint8_t* p, size_t len, bool odd) {
  const uint16_t s = static_cast<uint16_t>(checksum_add(0, p, len));
  // Byte-swapping every word of a ones'-complement sum swaps the sum (RFC 1071, 2.(B)).
  return odd ? static_cast<uint16_t>(s << 8 | s >> 8) : s;
}

uint16_t checksum_adjust(uint16_t old_checksum, uint16_t old_sum, uint16_t new_sum) {
  const uint64_t s = uint64_t{static_cast<uint16_t>(~old_checksum)} + static_cast<uint16_t>(~old_sum) + new_sum;
  return static_cast<uint16_t>(~checksum_fold(s));
}

uint16_t checksum_update_range(uint16_t old_checksum, const uint8_t* old_bytes, const uint8_t* new_bytes,
                               size_t len, size_t off) {
  const bool odd = (off & 1) != 0;
  return checksum_adjust(old_checksum, checksum_range_sum(old_bytes, len, odd),
                         checksum_range_sum(new_bytes, len, odd));
}

uint16_t ipv4_header_checksum(const uint8_t* frame, const packet_view& v) {
  const uint8_t* h = frame + v.l3_off;
  const size_t ihl = size_t{h[0] & 0x0Fu} * 4;
  uint32_t s = checksum_add(0, h, 10);
  s = checksum_add(s, h + 12, ihl - 12);
  return static_cast<uint16_t>(~checksum_fold(s));
}

uint16_t tcp_checksum(const uint8_t* frame, const packet_view& v) {
  const uint32_t seg_len = v.ip_end - v.l4_off;
  const size_t alen = v.family == flow::ip_family::v4 ? 4 : 16;
  uint64_t s = checksum_add(0, frame + src_addr_off(v), alen);
  s += checksum_add(0, frame + dst_addr_off(v), alen);
  // v4: zero, protocol, 16-bit length; v6: 32-bit length, 3 zero bytes, next header. As words
  // both come to length + protocol (v6 lengths above 64 KiB are jumbograms, refused by the parser).
  s += (seg_len >> 16) + (seg_len & 0xFFFFu) + ip_proto_tcp;
  const uint8_t* t = frame + v.l4_off;
  s += checksum_add(0, t, 16);  // header up to the checksum field
  s += checksum_add(0, t + 18, seg_len - 18);
  return static_cast<uint16_t>(~checksum_fold(s));
}

uint16_t tcp_checksum_field(const uint8_t* frame, const packet_view& v) {
  const uint8_t* p = frame + v.l4_off + 16;
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
void set_tcp_checksum_field(uint8_t* frame, const packet_view& v, uint16_t c) {
  frame[v.l4_off + 16] = static_cast<uint8_t>(c >> 8);
  frame[v.l4_off + 17] = static_cast<uint8_t>(c);
}
void set_ipv4_checksum_field(uint8_t* frame, const packet_view& v, uint16_t c) {
  frame[v.l3_off + 10] = static_cast<uint8_t>(c >> 8);
  frame[v.l3_off + 11] = static_cast<uint8_t>(c);
}

}  // namespace phigate::net
