#pragma once
// Vectorised searches for the few bytes the decoders must stop at. Bodies are mostly plain
// ASCII text; finding the next interesting byte 16 at a time keeps the decoders near memory
// speed. SSE2 is baseline on x86-64; other targets use the scalar loop.
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace phigate::core {

// Index of the first byte in p[0, n) that is '"', '\\', a control byte (< 0x20) or non-ASCII
// (>= 0x80); n when there is none. Reads only p[0, n).
inline size_t find_json_special(const uint8_t* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compare: bytes >= 0x80 are negative, so one compare catches controls and non-ASCII.
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                     _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(hit);
    if (mask) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i)
    if (p[i] == '"' || p[i] == '\\' || p[i] < 0x20 || p[i] >= 0x80) return i;
  return n;
}

// Index of the first non-ASCII byte (>= 0x80) in p[0, n); n when there is none.
inline size_t find_non_ascii(const uint8_t* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    const int mask = _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    if (mask) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i)
    if (p[i] >= 0x80) return i;
  return n;
}

// Index of the first '\n' or '\r' in p[0, n); n when there is none.
inline size_t find_line_end(const uint8_t* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
    if (mask) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i)
    if (p[i] == '\n' || p[i] == '\r') return i;
  return n;
}

// Bit planes of a byte table over p[0, n), n <= 64: bit i of out[b] is bit b of table[p[i]], for
// b < planes (<= 8). Bits n..63 are zero. Lets a scanner test a whole block of bytes against a
// few byte classes with shifts and masks instead of a branch per byte.
inline void bit_planes64(const uint8_t* p, size_t n, const uint8_t (&table)[256], uint32_t planes, uint64_t* out) {
  for (uint32_t b = 0; b < planes; ++b) out[b] = 0;
#if defined(__SSE2__)
  alignas(16) uint8_t looked[64];
  size_t i = 0;
  for (; i < n; ++i) looked[i] = table[p[i]];
  for (; i < 64; ++i) looked[i] = 0;
  for (uint32_t chunk = 0; chunk < 4; ++chunk) {
    const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(looked + 16 * chunk));
    for (uint32_t b = 0; b < planes; ++b) {
      // Moves bit b of every byte to bit 7 (a 16-bit shift keeps each byte's bit 7 its own for
      // shifts up to 7), where movemask reads it.
      const __m128i s = _mm_sll_epi16(v, _mm_cvtsi32_si128(static_cast<int>(7 - b)));
      out[b] |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(s))) << (16 * chunk);
    }
  }
#else
  for (size_t i = 0; i < n; ++i) {
    const uint8_t v = table[p[i]];
    for (uint32_t b = 0; b < planes; ++b) out[b] |= static_cast<uint64_t>((v >> b) & 1) << i;
  }
#endif
}

// Byte classes given as a few inclusive ranges, for range_planes64. Build with add(); the
// broadcast copies let the compare loop load its constants instead of rebuilding them.
inline constexpr uint32_t kMaxPlaneRanges = 4;
struct byte_ranges {
  uint8_t count = 0;
  uint8_t lo[kMaxPlaneRanges] = {}, hi[kMaxPlaneRanges] = {};
  alignas(16) uint8_t lo16[kMaxPlaneRanges][16] = {};
  alignas(16) uint8_t width16[kMaxPlaneRanges][16] = {};  // hi - lo
  bool add(uint8_t l, uint8_t h) {  // false when full
    if (count == kMaxPlaneRanges) return false;
    lo[count] = l;
    hi[count] = h;
    for (int i = 0; i < 16; ++i) {
      lo16[count][i] = l;
      width16[count][i] = static_cast<uint8_t>(h - l);
    }
    ++count;
    return true;
  }
  bool contains(uint8_t c) const {
    for (uint32_t r = 0; r < count; ++r)
      if (c >= lo[r] && c <= hi[r]) return true;
    return false;
  }
};

// Same result as bit_planes64 for a table whose bit b is planes[b].contains(c), but with range
// compares on 16 bytes at a time instead of a lookup per byte: a third of the cost on text where
// few bytes are in any class.
inline void range_planes64(const uint8_t* p, size_t n, const byte_ranges* planes, uint32_t count, uint64_t* out) {
#if defined(__SSE2__)
  alignas(16) uint8_t copy[64];
  const uint8_t* src = p;
  if (n < 64) {  // read only p[0, n): pad a copy (padding bits are cleared below)
    for (size_t i = 0; i < n; ++i) copy[i] = p[i];
    for (size_t i = n; i < 64; ++i) copy[i] = 0;
    src = copy;
  }
  __m128i v[4];
  for (int c = 0; c < 4; ++c) v[c] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * c));
  const uint64_t keep = n < 64 ? (uint64_t{1} << n) - 1 : ~uint64_t{0};
  for (uint32_t b = 0; b < count; ++b) {
    __m128i in[4] = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
    for (uint32_t r = 0; r < planes[b].count; ++r) {
      // c in [lo, hi]  <=>  (c - lo) mod 256 <= hi - lo, unsigned.
      const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(planes[b].lo16[r]));
      const __m128i w = _mm_load_si128(reinterpret_cast<const __m128i*>(planes[b].width16[r]));
      for (int c = 0; c < 4; ++c) {
        const __m128i d = _mm_sub_epi8(v[c], lo);
        in[c] = _mm_or_si128(in[c], _mm_cmpeq_epi8(_mm_min_epu8(d, w), d));
      }
    }
    uint64_t m = 0;
    for (int c = 0; c < 4; ++c)
      m |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(in[c]))) << (16 * c);
    out[b] = m & keep;
  }
#else
  for (uint32_t b = 0; b < count; ++b) out[b] = 0;
  for (size_t i = 0; i < n; ++i)
    for (uint32_t b = 0; b < count; ++b) out[b] |= static_cast<uint64_t>(planes[b].contains(p[i])) << i;
#endif
}

}  // namespace phigate::core
