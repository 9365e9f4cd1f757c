#include "dataplane/decode/sse.hh"

#include <algorithm>
#include <cstring>

#include "dataplane/core/byte_scan.hh"

namespace phigate::decode {
namespace {

enum : uint8_t { L_START, L_NAME, L_SPACE, L_VALUE, L_CR };
enum : uint8_t { F_DATA, F_OTHER, F_COMMENT };
enum : uint8_t { D_UNDECIDED, D_JSON, D_TEXT, D_DONE_MARKER };

constexpr char kDone[] = "[DONE]";
constexpr uint8_t kDoneLen = 6;

bool json_part(sse_state& st, const json_slots& slots, scan::scan_scratch& s, const uint8_t* p, size_t n,
               uint64_t raw) {
  if (!json_feed(st.json, json_mode::events, slots, s, p, n, raw)) {
    st.error = sse_error::json;
    return false;
  }
  return true;
}

// Data value bytes of the current line.
bool data_bytes(sse_state& st, const json_slots& slots, scan::scan_scratch& s, const uint8_t* p, size_t n,
                uint64_t raw) {
  if (st.data_kind == D_UNDECIDED) {
    // Decide from the first bytes: '{' is JSON; "[DONE]" (exactly) is the end marker; '[' may be
    // either, so buffer up to six bytes before deciding.
    while (n > 0 && st.data_kind == D_UNDECIDED) {
      if (st.prefix_len == 0) st.prefix_raw = raw;
      st.prefix[st.prefix_len++] = *p;
      ++p;
      ++raw;
      --n;
      if (st.prefix[0] == '{') {
        st.data_kind = D_JSON;
      } else if (st.prefix[0] != '[') {
        st.data_kind = D_TEXT;
      } else if (std::memcmp(st.prefix, kDone, st.prefix_len) != 0) {
        st.data_kind = D_JSON;
      } else if (st.prefix_len == kDoneLen) {
        st.data_kind = D_DONE_MARKER;
      }
    }
    if (st.data_kind == D_UNDECIDED) return true;
    const uint8_t len = st.prefix_len;
    st.prefix_len = 0;
    const uint64_t praw = st.prefix_raw;
    st.prefix_raw = scan::kNoOffset;
    if (st.data_kind == D_JSON) {
      if (!json_part(st, slots, s, st.prefix, len, praw)) return false;
    } else if (st.data_kind == D_TEXT) {
      fold_feed(st.fold, s, slots.text, st.prefix, len, praw);
    }
  }
  if (n == 0) return true;
  switch (st.data_kind) {
    case D_JSON: return json_part(st, slots, s, p, n, raw);
    case D_TEXT: fold_feed(st.fold, s, slots.text, p, n, raw); return true;
    default:
      // Anything after [DONE] on the same line turns it into text after all.
      st.data_kind = D_TEXT;
      fold_feed(st.fold, s, slots.text, p, n, raw);
      return true;
  }
}

// End of a data line: an undecided short value ("[DO") is text.
bool data_line_end(sse_state& st, const json_slots& slots, scan::scan_scratch& s) {
  if (st.data_kind == D_UNDECIDED && st.prefix_len) {
    st.data_kind = D_TEXT;
    fold_feed(st.fold, s, slots.text, st.prefix, st.prefix_len, st.prefix_raw);
    st.prefix_len = 0;
    st.prefix_raw = scan::kNoOffset;
  }
  if (st.data_kind == D_TEXT) fold_finish(st.fold, s, slots.text);
  return true;
}

bool event_end(sse_state& st, const json_slots& slots, scan::scan_scratch& s) {
  data_line_end(st, slots, s);
  if (st.data_kind == D_JSON && !json_complete(st.json)) {
    st.error = sse_error::unterminated_event;
    return false;
  }
  json_next_value(st.json);
  st.data_kind = D_UNDECIDED;
  st.data_lines = false;
  return true;
}

void line_start_field(sse_state& st, const json_slots& slots, scan::scan_scratch& s) {
  if (st.name_len == 4 && std::memcmp(st.name, "data", 4) == 0) {
    st.field = F_DATA;
    // A second data line joins the first with a newline (SSE spec): in JSON that is whitespace,
    // in text it ends a field.
    if (st.data_lines && st.data_kind == D_TEXT) scan::channel_put_separator(s, slots.text);
    st.data_lines = true;
  } else {
    st.field = F_OTHER;
    scan::channel_put_separator(s, slots.fields);
  }
}

}  // namespace

void sse_init(sse_state& s) {
  s = sse_state{};
  json_init(s.json);
}

uint64_t sse_pending_raw(const sse_state& st) {
  return std::min({st.prefix_raw, json_pending_raw(st.json), st.fold.pending_raw});
}

bool sse_feed(sse_state& st, const json_slots& slots, scan::scan_scratch& s, const uint8_t* p, size_t n,
              uint64_t raw) {
  if (st.error != sse_error::none) return false;
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    switch (st.line) {
      case L_CR:
        st.line = L_START;
        if (b == '\n') {
          ++i;
          continue;
        }
        continue;
      case L_START:
        if (b == '\n' || b == '\r') {  // blank line: dispatch the event
          if (!event_end(st, slots, s)) return false;
          st.line = b == '\r' ? L_CR : L_START;
          ++i;
          continue;
        }
        if (b == ':') {
          st.field = F_COMMENT;
          scan::channel_put_separator(s, slots.fields);
          st.line = L_VALUE;
          ++i;
          continue;
        }
        st.name_len = 0;
        st.line = L_NAME;
        continue;
      case L_NAME:
        if (b == ':' || b == '\n' || b == '\r') {
          line_start_field(st, slots, s);
          if (b == ':') {
            st.line = L_SPACE;
            ++i;
          } else {
            st.line = L_VALUE;  // a field with no value: the line end is handled there
          }
          continue;
        }
        if (st.name_len < sizeof(st.name)) st.name[st.name_len] = b;
        if (st.name_len < 255) ++st.name_len;
        ++i;
        continue;
      case L_SPACE:
        st.line = L_VALUE;
        if (b == ' ') {
          ++i;
          continue;
        }
        continue;
      case L_VALUE: {
        const size_t k = i + core::find_line_end(p + i, n - i);
        if (k > i) {
          if (st.field == F_DATA) {
            if (!data_bytes(st, slots, s, p + i, k - i, raw + i)) return false;
          } else {
            fold_feed(st.fold, s, slots.fields, p + i, k - i, raw + i);
          }
        }
        if (k == n) return true;
        if (st.field == F_DATA) {
          data_line_end(st, slots, s);
          // Inside JSON a line break between data lines is whitespace.
          if (st.data_kind == D_JSON && !json_part(st, slots, s, reinterpret_cast<const uint8_t*>(" "), 1, raw + k))
            return false;
        } else {
          fold_finish(st.fold, s, slots.fields);
          scan::channel_put_separator(s, slots.fields);
        }
        st.line = p[k] == '\r' ? L_CR : L_START;
        i = k + 1;
        continue;
      }
    }
  }
  return true;
}

bool sse_finish(sse_state& st, const json_slots& slots, scan::scan_scratch& s) {
  if (st.error != sse_error::none) return false;
  if (st.line == L_VALUE && st.field == F_DATA) data_line_end(st, slots, s);
  fold_finish(st.fold, s, slots.fields);
  if (st.data_lines || st.data_kind != D_UNDECIDED) return event_end(st, slots, s);
  return true;
}

}  // namespace phigate::decode
