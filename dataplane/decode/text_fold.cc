#include "dataplane/decode/text_fold.hh"

#include "dataplane/core/byte_scan.hh"

namespace phigate::decode {

fold_result fold_code_point(uint32_t cp) {
  if (cp < 0x80) return {fold_result::ascii, static_cast<uint8_t>(cp)};
  // Fullwidth ASCII forms (digits, letters, '-', '@', '.').
  if (cp >= 0xFF01 && cp <= 0xFF5E) return {fold_result::ascii, static_cast<uint8_t>(cp - 0xFEE0)};
  // Dashes and minus signs used to disguise SSNs and phone numbers.
  if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE58 || cp == 0xFE63)
    return {fold_result::ascii, '-'};
  // Zero-width characters and the soft hyphen carry nothing: drop them so digits stay adjacent.
  if ((cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF || cp == 0x00AD)
    return {fold_result::drop, 0};
  // Unusual spaces.
  if (cp == 0x00A0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000)
    return {fold_result::ascii, ' '};
  // Decimal digits of other scripts and the mathematical alphanumerics.
  if (cp >= 0x0660 && cp <= 0x0669) return {fold_result::ascii, static_cast<uint8_t>('0' + cp - 0x0660)};
  if (cp >= 0x06F0 && cp <= 0x06F9) return {fold_result::ascii, static_cast<uint8_t>('0' + cp - 0x06F0)};
  if (cp >= 0x0966 && cp <= 0x096F) return {fold_result::ascii, static_cast<uint8_t>('0' + cp - 0x0966)};
  if (cp >= 0x1D7CE && cp <= 0x1D7FF) return {fold_result::ascii, static_cast<uint8_t>('0' + (cp - 0x1D7CE) % 10)};
  return {fold_result::keep, 0};
}

size_t utf8_encode(uint32_t cp, uint8_t* out) {
  if (cp < 0x80) { out[0] = static_cast<uint8_t>(cp); return 1; }
  if (cp < 0x800) {
    out[0] = static_cast<uint8_t>(0xC0 | (cp >> 6));
    out[1] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<uint8_t>(0xE0 | (cp >> 12));
    out[1] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<uint8_t>(0xF0 | (cp >> 18));
  out[1] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  return 4;
}

namespace {

inline uint8_t sequence_length(uint8_t lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation or invalid lead: passed through as one byte
}

// A complete sequence `b[0..len)` at stream offset raw.
void emit_sequence(scan::scan_scratch& s, int slot, const uint8_t* b, uint8_t len, uint64_t raw) {
  uint32_t cp = 0;
  if (len == 2) cp = ((b[0] & 0x1Fu) << 6) | (b[1] & 0x3Fu);
  else if (len == 3) cp = ((b[0] & 0x0Fu) << 12) | ((b[1] & 0x3Fu) << 6) | (b[2] & 0x3Fu);
  else cp = ((b[0] & 0x07u) << 18) | ((b[1] & 0x3Fu) << 12) | ((b[2] & 0x3Fu) << 6) | (b[3] & 0x3Fu);
  const fold_result f = fold_code_point(cp);
  if (f.kind == fold_result::ascii) {
    scan::channel_put_mapped(s, slot, &f.ch, 1, raw, len, scan::source_kind::utf8_fold);
  } else if (f.kind == fold_result::keep) {
    scan::channel_put_run(s, slot, b, len, raw, scan::source_kind::text);
  }
}

}  // namespace

void fold_feed(fold_state& f, scan::scan_scratch& s, int slot, const uint8_t* p, size_t n, uint64_t raw) {
  size_t i = 0;
  while (i < n && f.pending_len) {
    if ((p[i] & 0xC0) != 0x80) {  // broken sequence: pass what we had through unchanged
      fold_finish(f, s, slot);
      break;
    }
    f.pending[f.pending_len++] = p[i++];
    if (f.pending_len == f.pending_need) {
      emit_sequence(s, slot, f.pending, f.pending_len, f.pending_raw);
      f.pending_len = 0;
      f.pending_raw = scan::kNoOffset;
    }
  }
  while (i < n) {
    const size_t j = i + core::find_non_ascii(p + i, n - i);
    if (j > i) scan::channel_put_run(s, slot, p + i, j - i, raw + i, scan::source_kind::text);
    i = j;
    if (i >= n) break;
    const uint8_t need = sequence_length(p[i]);
    if (need == 0) {
      scan::channel_put_run(s, slot, p + i, 1, raw + i, scan::source_kind::text);
      ++i;
      continue;
    }
    size_t k = 1;
    while (k < need && i + k < n && (p[i + k] & 0xC0) == 0x80) ++k;
    if (k == need) {
      emit_sequence(s, slot, p + i, need, raw + i);
      i += k;
    } else if (i + k == n) {  // split across segments
      f.pending_raw = raw + i;
      f.pending_need = need;
      f.pending_len = static_cast<uint8_t>(k);
      for (size_t q = 0; q < k; ++q) f.pending[q] = p[i + q];
      i = n;
    } else {  // invalid continuation: identity bytes
      scan::channel_put_run(s, slot, p + i, k, raw + i, scan::source_kind::text);
      i += k;
    }
  }
}

void fold_finish(fold_state& f, scan::scan_scratch& s, int slot) {
  if (f.pending_len) scan::channel_put_run(s, slot, f.pending, f.pending_len, f.pending_raw, scan::source_kind::text);
  f.pending_len = 0;
  f.pending_raw = scan::kNoOffset;
}

}  // namespace phigate::decode
