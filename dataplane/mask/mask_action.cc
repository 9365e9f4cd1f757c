#include "dataplane/mask/mask_action.hh"

#include <algorithm>

namespace phigate::mask {
namespace {

inline bool is_maskable_text(uint8_t b) {
  return (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z') || b >= 0x80;
}

// The replacement byte at position i of an action (i counts from the action's first byte).
inline uint8_t replacement(const mask_action& a, uint32_t i, uint8_t original) {
  switch (a.kind) {
    case mask_kind::text_alnum: return is_maskable_text(original) ? '*' : original;
    case mask_kind::text_all: return '*';
    case mask_kind::number: return (original >= '0' && original <= '9') ? '9' : original;
    case mask_kind::json_escape: {
      static constexpr char kEscape[] = "\\u002a";
      return static_cast<uint8_t>(kEscape[i % 6]);
    }
    case mask_kind::short_escape: return '*';
    case mask_kind::utf8_char: return '*';
  }
  return original;
}

}  // namespace

size_t mask_apply(uint8_t* buf, size_t buf_len, uint64_t buf_off, const mask_action& a) {
  const uint64_t lo = std::max(buf_off, a.raw_off);
  const uint64_t hi = std::min(buf_off + buf_len, a.raw_off + a.raw_len);
  if (lo >= hi) return 0;
  for (uint64_t off = lo; off < hi; ++off) {
    uint8_t& b = buf[off - buf_off];
    b = replacement(a, static_cast<uint32_t>(off - a.raw_off), b);
  }
  return static_cast<size_t>(hi - lo);
}

}  // namespace phigate::mask
