#pragma once
// Short copies without a library call. The staging of decoded text copies a few bytes at a time
// (a JSON key, a number, one unescaped byte, a small packet's payload): a call to memcpy, whose
// size is only known at run time, cost more than the copy itself there.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace phigate::core {

// The first and the last sizeof(W) bytes of src[0, n), sizeof(W) <= n <= 2 * sizeof(W): together
// they cover all n. Both loads come before the stores.
template <class W>
inline void copy_ends(uint8_t* dst, const uint8_t* src, size_t n) {
  W a, b;
  std::memcpy(&a, src, sizeof a);
  std::memcpy(&b, src + n - sizeof b, sizeof b);
  std::memcpy(dst, &a, sizeof a);
  std::memcpy(dst + n - sizeof b, &b, sizeof b);
}

// dst[0, n) = src[0, n); the ranges must not overlap. Reads only src[0, n), writes only dst[0, n):
// up to 16 bytes as two fixed-size moves that overlap in the middle, memcpy beyond.
inline void copy_short(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n > 16) std::memcpy(dst, src, n);
  else if (n >= 8) copy_ends<uint64_t>(dst, src, n);
  else if (n >= 4) copy_ends<uint32_t>(dst, src, n);
  else if (n >= 2) copy_ends<uint16_t>(dst, src, n);
  else if (n == 1) dst[0] = src[0];
}

}  // namespace phigate::core
