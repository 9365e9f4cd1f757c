#pragma once
// UTF-8 folding: raw UTF-8 bytes -> the scanner's logical text, with the map back to raw bytes.
//
// PHI hides behind look-alikes: fullwidth digits (U+FF11), Unicode dashes (U+2011, U+2212) and
// zero-width characters between digits. Folding them here lets every pattern stay plain ASCII.
// ASCII passes through as identity runs (the fast path); a multi-byte character split across
// segments is kept in a 3-byte pending buffer, and its raw bytes count as not final until it
// completes. Pure, per flow, no allocation.
#include <cstddef>
#include <cstdint>

#include "dataplane/scan/channel.hh"

namespace phigate::decode {

// What a code point becomes in logical text.
struct fold_result {
  enum kind_t : uint8_t { keep, ascii, drop } kind;  // keep: pass its UTF-8 bytes unchanged
  uint8_t ch;                                        // the ASCII byte for kind == ascii
};
fold_result fold_code_point(uint32_t cp);

// Encodes cp as UTF-8 into out (4 bytes room); returns the length (1..4).
size_t utf8_encode(uint32_t cp, uint8_t* out);

struct fold_state {
  uint64_t pending_raw = scan::kNoOffset;  // raw offset of the pending lead byte
  uint8_t pending[4] = {};
  uint8_t pending_len = 0;
  uint8_t pending_need = 0;                // total length of the pending sequence
};

// Appends the folded text of raw bytes [p, p+n) (stream offset raw) to `slot` of the scanner.
// `kind` is the identity kind for ASCII runs (text, or number inside JSON).
void fold_feed(fold_state& f, scan::scan_scratch& s, int slot, const uint8_t* p, size_t n, uint64_t raw);
// Flushes an incomplete sequence as identity bytes (end of field or body).
void fold_finish(fold_state& f, scan::scan_scratch& s, int slot);

}  // namespace phigate::decode
