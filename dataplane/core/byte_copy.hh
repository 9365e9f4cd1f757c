#pragma once
// Short copies without a library call. The staging of decoded text copies a few bytes at a time
// (a JSON key, a number, one unescaped byte, a small packet's payload): a call to memcpy, whose
// size is only known at run time, cost more than the copy itself there.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace phigate::core {

// dst[0, n) = src[0, n); the ranges must not overlap. Reads only src[0, n), writes only dst[0, n):
// up to 16 bytes as two fixed-size moves that overlap in the middle, memcpy beyond.
inline void copy_short(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n > 16) {
    std::memcpy(dst, src, n);
  } else if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n >= 2) {
    uint16_t a, b;
    std::memcpy(&a, src, 2);
    std::memcpy(&b, src + n - 2, 2);
    std::memcpy(dst, &a, 2);
    std::memcpy(dst + n - 2, &b, 2);
  } else if (n == 1) {
    dst[0] = src[0];
  }
}

}  // namespace phigate::core
