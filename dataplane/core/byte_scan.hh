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

}  // namespace phigate::core
