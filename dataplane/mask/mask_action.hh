#pragma once
// Same-length mask rewrites, expressed against raw stream offsets.
//
// The engine never writes into the caller's buffers: it emits mask_actions, and the caller (the
// DPDK loop on mbufs, the CLI on its buffer, tests on guarded pieces) applies them with
// mask_apply() to whichever held buffers intersect the action. An action may straddle two
// buffers (a \u escape split across TCP segments); applying it piecewise gives the same bytes
// as applying it whole, because the replacement depends only on the action and the offset.
#include <cstddef>
#include <cstdint>

namespace phigate::mask {

enum class mask_kind : uint8_t {
  text_alnum,   // raw bytes are the logical bytes: replace ASCII letters/digits and bytes >= 0x80 with '*'
  text_all,     // raw bytes are the logical bytes: replace every byte with '*'
  number,       // a JSON number: digits become '9' so the document stays valid JSON
  json_escape,  // one or two \uXXXX escapes (6 or 12 raw bytes): become \u002a (each), valid JSON
  short_escape, // a two-byte JSON escape (\n, \/, ...): becomes "**" (only under mask style "all")
  utf8_char,    // a folded multi-byte UTF-8 character (fullwidth digit, ...): every byte becomes '*'
};

struct mask_action {
  uint64_t raw_off;   // stream offset of the first raw byte to rewrite
  uint32_t raw_len;   // number of raw bytes
  mask_kind kind;
};

// Applies the part of `a` that falls inside buf, whose first byte is at stream offset buf_off.
// Returns the number of bytes rewritten (0 when they do not intersect).
size_t mask_apply(uint8_t* buf, size_t buf_len, uint64_t buf_off, const mask_action& a);

}  // namespace phigate::mask
