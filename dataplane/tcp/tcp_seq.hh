#pragma once
// TCP sequence-number arithmetic on 32 bits with wraparound (serial number arithmetic, RFC 1982
// and RFC 793 section 3.3): a precedes b when the signed distance b - a is positive. Valid for
// numbers less than 2^31 apart, which TCP's window bound guarantees for live segments.
#include <cstdint>

namespace phigate::tcp {

inline constexpr int32_t seq_diff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }  // a - b
inline constexpr bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
inline constexpr bool seq_le(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
inline constexpr bool seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }
inline constexpr bool seq_ge(uint32_t a, uint32_t b) { return seq_diff(a, b) >= 0; }
inline constexpr uint32_t seq_max(uint32_t a, uint32_t b) { return seq_ge(a, b) ? a : b; }

// Stream offsets are 64-bit and never wrap. Maps a 32-bit sequence number to the stream offset
// nearest to `ref_off` (whose sequence number is base_seq + ref_off mod 2^32). May be negative
// when seq precedes the stream's first byte.
inline constexpr int64_t seq_to_offset(uint32_t seq, uint32_t base_seq, uint64_t ref_off) {
  const uint32_t ref_seq = base_seq + static_cast<uint32_t>(ref_off);
  return static_cast<int64_t>(ref_off) + seq_diff(seq, ref_seq);
}

}  // namespace phigate::tcp
