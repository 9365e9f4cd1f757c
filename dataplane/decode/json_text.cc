#include "dataplane/decode/json_text.hh"

#include <cstring>
#include <string_view>

#include "dataplane/core/byte_scan.hh"

namespace phigate::decode {
namespace {

using scan::channel_put_mapped;
using scan::channel_put_run;
using scan::channel_put_separator;
using scan::source_kind;

enum : uint8_t { M_VALUE, M_VALUE_OR_CLOSE, M_KEY, M_KEY_OR_CLOSE, M_COLON, M_AFTER, M_STRING, M_NUMBER, M_LITERAL, M_DONE };
enum : uint8_t { ROLE_KEY, ROLE_FIELD, ROLE_TEXT };
enum : uint8_t { E_NONE, E_BACKSLASH, E_HEX, E_PAIR_BACKSLASH, E_PAIR_U };

constexpr const char* kLiterals[] = {"true", "false", "null"};

inline bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline bool is_number_char(uint8_t c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}
inline int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Keys whose string values are model output, joined across stream events.
uint8_t classify_key(const uint8_t* k, uint8_t len) {
  // Lengths known at compile time: this runs for every key of every event.
  static constexpr struct { std::string_view name; uint8_t cls; } kText[] = {
      {"content", 1}, {"text", 2}, {"partial_json", 3}, {"arguments", 4}, {"reasoning_content", 5},
      {"reasoning", 5}, {"thinking", 5}, {"response", 6}, {"refusal", 7},
  };
  for (const auto& t : kText)
    if (t.name.size() == len && std::memcmp(t.name.data(), k, len) == 0) return t.cls;
  return 0;
}

struct ctx {
  json_state& j;
  json_mode mode;
  const json_slots& slots;
  scan::scan_scratch& s;
  int slot() const { return j.role == ROLE_TEXT ? slots.text : slots.fields; }
};

void key_append(json_state& j, const uint8_t* p, size_t n) {
  if (j.role != ROLE_KEY) return;
  for (size_t i = 0; i < n; ++i) {
    if (j.key_len <= sizeof(j.key_buf)) {
      if (j.key_len < sizeof(j.key_buf)) j.key_buf[j.key_len] = p[i];
      ++j.key_len;  // a key longer than the buffer classifies as "other"
    }
  }
}

void emit_code_point(ctx& c, uint32_t cp, uint64_t raw, uint8_t raw_len) {
  const fold_result f = fold_code_point(cp);
  if (f.kind == fold_result::drop) return;
  uint8_t buf[4];
  size_t n = 1;
  if (f.kind == fold_result::ascii) buf[0] = f.ch;
  else n = utf8_encode(cp, buf);
  key_append(c.j, buf, n);
  channel_put_mapped(c.s, c.slot(), buf, n, raw, raw_len, source_kind::json_escape);
}

void after_value(json_state& j) {
  if (j.depth == 0) {
    j.value_done = true;
    j.mode = M_DONE;
  } else {
    j.mode = M_AFTER;
  }
}

bool fail(json_state& j, json_error e) {
  j.error = e;
  return false;
}

void begin_string(ctx& c, uint8_t role) {
  json_state& j = c.j;
  j.role = role;
  j.mode = M_STRING;
  j.esc = E_NONE;
  if (role == ROLE_KEY) {
    j.key_len = 0;
    channel_put_separator(c.s, c.slots.fields);
  } else if (role == ROLE_TEXT) {
    // A different text field (content -> arguments) must not join with the previous one.
    if (j.text_class && j.text_class != j.key_class) channel_put_separator(c.s, c.slots.text);
    j.text_class = j.key_class;
  } else {
    channel_put_separator(c.s, c.slots.fields);
  }
}

void end_string(ctx& c) {
  json_state& j = c.j;
  fold_finish(j.fold, c.s, c.slot());
  if (j.role == ROLE_KEY) {
    j.key_class = j.key_len <= sizeof(j.key_buf) ? classify_key(j.key_buf, j.key_len) : 0;
    channel_put_separator(c.s, c.slots.fields);
    j.mode = M_COLON;
    return;
  }
  if (j.role == ROLE_FIELD) channel_put_separator(c.s, c.slots.fields);
  after_value(j);
}

bool open_container(json_state& j, bool object) {
  if (j.depth >= kJsonMaxDepth) return fail(j, json_error::too_deep);
  if (object) j.stack |= (1ull << j.depth);
  else j.stack &= ~(1ull << j.depth);
  ++j.depth;
  j.mode = object ? M_KEY_OR_CLOSE : M_VALUE_OR_CLOSE;
  return true;
}

bool close_container(json_state& j, bool object) {
  if (j.depth == 0) return fail(j, json_error::malformed);
  const bool is_object = (j.stack >> (j.depth - 1)) & 1;
  if (is_object != object) return fail(j, json_error::malformed);
  --j.depth;
  after_value(j);
  return true;
}

bool parent_is_object(const json_state& j) { return j.depth > 0 && ((j.stack >> (j.depth - 1)) & 1); }

// A value starts with byte b. Returns false on error.
// The byte was consumed by the caller; a number's first digit is handed back (i is rewound) so
// it is scanned with the rest of the number.
bool begin_value(ctx& c, uint8_t b, size_t& i) {
  json_state& j = c.j;
  switch (b) {
    case '{': return open_container(j, true);
    case '[': return open_container(j, false);
    case '"': {
      const bool text = c.mode == json_mode::events && parent_is_object(j) && j.key_class != 0;
      begin_string(c, text ? ROLE_TEXT : ROLE_FIELD);
      return true;
    }
    case 't': case 'f': case 'n':
      j.lit = b == 't' ? 0 : b == 'f' ? 1 : 2;
      j.lit_pos = 1;
      j.mode = M_LITERAL;
      return true;
    default:
      if (is_number_char(b) && b != '+' && b != '.' && b != 'e' && b != 'E') {
        channel_put_separator(c.s, c.slots.fields);
        j.mode = M_NUMBER;
        --i;
        return true;
      }
      return fail(j, json_error::malformed);
  }
}

}  // namespace

const char* json_error_name(json_error e) {
  switch (e) {
    case json_error::none: return "none";
    case json_error::malformed: return "json_malformed";
    case json_error::too_deep: return "json_too_deep";
    case json_error::control_in_string: return "json_control_in_string";
  }
  return "unknown";
}

void json_init(json_state& j) { j = json_state{}; }

void json_next_value(json_state& j) {
  const uint8_t text_class = j.text_class;
  j = json_state{};
  j.text_class = text_class;
}

bool json_complete(const json_state& j) {
  if (j.error != json_error::none) return false;
  // Nothing at all, a finished value, or a top-level number (it ends with the input).
  return j.mode == M_DONE || (j.depth == 0 && (j.mode == M_VALUE || j.mode == M_NUMBER));
}

uint64_t json_pending_raw(const json_state& j) {
  if (j.mode == M_STRING && (j.esc != E_NONE || j.high_surrogate)) return j.esc_raw;
  return j.fold.pending_raw;
}

bool json_feed(json_state& j, json_mode mode, const json_slots& slots, scan::scan_scratch& s,
               const uint8_t* p, size_t n, uint64_t raw) {
  if (j.error != json_error::none) return false;
  ctx c{j, mode, slots, s};
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    switch (j.mode) {
      case M_STRING: {
        if (j.esc == E_NONE) {
          // Plain ASCII goes straight to the scanner; only non-ASCII needs folding.
          const size_t k = i + core::find_json_special(p + i, n - i);
          if (k > i) {
            key_append(j, p + i, k - i);
            if (j.fold.pending_len) fold_feed(j.fold, s, c.slot(), p + i, k - i, raw + i);
            else channel_put_run(s, c.slot(), p + i, k - i, raw + i, source_kind::text);
            i = k;
            continue;
          }
          if (b >= 0x80) {
            size_t e = i + 1;
            while (e < n && p[e] >= 0x80) ++e;
            key_append(j, p + i, e - i);
            fold_feed(j.fold, s, c.slot(), p + i, e - i, raw + i);
            i = e;
            continue;
          }
          if (b == '"') {
            end_string(c);
          } else if (b == '\\') {
            fold_finish(j.fold, s, c.slot());
            j.esc = E_BACKSLASH;
            j.esc_raw = raw + i;
          } else {
            return fail(j, json_error::control_in_string);
          }
          ++i;
          continue;
        }
        if (j.esc == E_BACKSLASH) {
          uint8_t out;
          switch (b) {
            case '"': out = '"'; break;
            case '\\': out = '\\'; break;
            case '/': out = '/'; break;
            case 'b': out = '\b'; break;
            case 'f': out = '\f'; break;
            case 'n': out = '\n'; break;
            case 'r': out = '\r'; break;
            case 't': out = '\t'; break;
            case 'u':
              j.esc = E_HEX;
              j.hex = 0;
              j.hex_digits = 0;
              ++i;
              continue;
            default: return fail(j, json_error::malformed);
          }
          key_append(j, &out, 1);
          channel_put_mapped(s, c.slot(), &out, 1, j.esc_raw, 2, source_kind::short_escape);
          j.esc = E_NONE;
          ++i;
          continue;
        }
        if (j.esc == E_HEX) {
          const int v = hex_value(b);
          if (v < 0) return fail(j, json_error::malformed);
          j.hex = static_cast<uint16_t>((j.hex << 4) | v);
          ++i;
          if (++j.hex_digits < 4) continue;
          const uint32_t cp = j.hex;
          j.esc = E_NONE;
          if (j.high_surrogate) {
            const uint32_t high = j.high_surrogate;
            j.high_surrogate = 0;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
              emit_code_point(c, 0x10000 + ((high - 0xD800) << 10) + (cp - 0xDC00), j.esc_raw, 12);
              continue;
            }
            emit_code_point(c, 0xFFFD, j.esc_raw, 6);  // lone high surrogate
            j.esc_raw += 6;
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            j.high_surrogate = cp;
            j.esc = E_PAIR_BACKSLASH;
            continue;
          }
          emit_code_point(c, (cp >= 0xDC00 && cp <= 0xDFFF) ? 0xFFFD : cp, j.esc_raw, 6);
          continue;
        }
        if (j.esc == E_PAIR_BACKSLASH) {
          if (b == '\\') {
            j.esc = E_PAIR_U;
            ++i;
            continue;
          }
          emit_code_point(c, 0xFFFD, j.esc_raw, 6);
          j.high_surrogate = 0;
          j.esc = E_NONE;
          continue;  // reprocess b as ordinary string content
        }
        // E_PAIR_U: "\" seen after a high surrogate.
        if (b == 'u') {
          j.esc = E_HEX;
          j.hex = 0;
          j.hex_digits = 0;
          ++i;
          continue;
        }
        emit_code_point(c, 0xFFFD, j.esc_raw, 6);
        j.high_surrogate = 0;
        j.esc_raw += 6;
        j.esc = E_BACKSLASH;
        continue;  // reprocess b as the character after a backslash
      }
      case M_NUMBER: {
        size_t k = i;
        while (k < n && is_number_char(p[k])) ++k;
        if (k > i) channel_put_run(s, slots.fields, p + i, k - i, raw + i, source_kind::number);
        i = k;
        if (i < n) {
          channel_put_separator(s, slots.fields);
          after_value(j);
        }
        continue;
      }
      case M_LITERAL: {
        const char* lit = kLiterals[j.lit];
        if (b != static_cast<uint8_t>(lit[j.lit_pos])) return fail(j, json_error::malformed);
        ++i;
        if (lit[++j.lit_pos] == '\0') after_value(j);
        continue;
      }
      default: break;
    }
    ++i;
    if (is_ws(b)) continue;
    switch (j.mode) {
      case M_DONE:
        if (mode != json_mode::events) return fail(j, json_error::malformed);
        json_next_value(j);
        [[fallthrough]];
      case M_VALUE:
        // A record (event, line) starts: the scanner compares records with the one before.
        if (mode == json_mode::events && j.depth == 0) scan::channel_mark_record(s, slots.fields);
        if (!begin_value(c, b, i)) return false;
        break;
      case M_VALUE_OR_CLOSE:
        if (b == ']') {
          if (!close_container(j, false)) return false;
        } else if (!begin_value(c, b, i)) {
          return false;
        }
        break;
      case M_KEY_OR_CLOSE:
        if (b == '}') {
          if (!close_container(j, true)) return false;
          break;
        }
        [[fallthrough]];
      case M_KEY:
        if (b != '"') return fail(j, json_error::malformed);
        begin_string(c, ROLE_KEY);
        break;
      case M_COLON:
        if (b != ':') return fail(j, json_error::malformed);
        j.mode = M_VALUE;
        break;
      case M_AFTER:
        if (b == ',') {
          j.mode = parent_is_object(j) ? M_KEY : M_VALUE;
        } else if (b == '}' || b == ']') {
          if (!close_container(j, b == '}')) return false;
        } else {
          return fail(j, json_error::malformed);
        }
        break;
      default: return fail(j, json_error::malformed);
    }
  }
  return true;
}

}  // namespace phigate::decode
