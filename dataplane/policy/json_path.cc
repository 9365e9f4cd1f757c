#include "dataplane/policy/json_path.hh"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace phigate::policy {
namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

constexpr uint64_t has_zero_byte(uint64_t v) { return (v - kOnes) & ~v & kHighs; }

// High bit set in each byte of the word that may end a run of plain string bytes ('"', '\\' or a
// control byte); nonzero exactly when the word holds one.
inline uint64_t special_bits(uint64_t w) {
  return has_zero_byte(w ^ (kOnes * '"')) | has_zero_byte(w ^ (kOnes * '\\')) |
         ((w - kOnes * 0x20) & ~w & kHighs);
}

inline bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the 4 hex digits at b[j, j+4). Returns ok, truncated or malformed.
inline json_status hex4(const char* b, size_t n, size_t j, uint32_t& cp) {
  cp = 0;
  for (size_t k = 0; k < 4; ++k) {
    if (j + k >= n) return json_status::truncated;
    const int h = hex_value(b[j + k]);
    if (h < 0) return json_status::malformed;
    cp = (cp << 4) | static_cast<uint32_t>(h);
  }
  return json_status::ok;
}

// b[j] is '\\'. Validates one escape (a surrogate pair counts as one) and advances j past it.
json_status scan_escape(const char* b, size_t n, size_t& j) {
  if (j + 1 >= n) return json_status::truncated;
  switch (b[j + 1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      j += 2;
      return json_status::ok;
    case 'u': {
      uint32_t cp;
      if (auto s = hex4(b, n, j + 2, cp); s != json_status::ok) return s;
      j += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return json_status::malformed;  // lone low surrogate
      if (cp < 0xD800 || cp > 0xDBFF) return json_status::ok;
      // A high surrogate must be followed by an escaped low one: services disagree on what a
      // lone surrogate means, so it is malformed here.
      if (j >= n) return json_status::truncated;
      if (b[j] != '\\') return json_status::malformed;
      if (j + 1 >= n) return json_status::truncated;
      if (b[j + 1] != 'u') return json_status::malformed;
      uint32_t lo;
      if (auto s = hex4(b, n, j + 2, lo); s != json_status::ok) return s;
      if (lo < 0xDC00 || lo > 0xDFFF) return json_status::malformed;
      j += 6;
      return json_status::ok;
    }
    default:
      return json_status::malformed;
  }
}

// b[i] is the opening quote. On ok, i is one past the closing quote and [start, end) the content.
json_status scan_string(const char* b, size_t n, size_t& i, size_t& start, size_t& end,
                        bool& escaped) {
  size_t j = i + 1;
  start = j;
  escaped = false;
  for (;;) {
#if defined(__SSE2__)
    while (j + 16 <= n) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j));
      const __m128i special = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
          _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f)));
      const int mask = _mm_movemask_epi8(special);
      if (mask != 0) {
        j += static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
        break;
      }
      j += 16;
    }
#endif
    while (j + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, b + j, 8);
      if (const uint64_t m = special_bits(w)) {
        // The lowest flagged byte is always a true special (the borrow trick only adds false
        // positives above a real match), so on little-endian jump straight to it.
        if constexpr (std::endian::native == std::endian::little) j += static_cast<size_t>(std::countr_zero(m)) >> 3;
        break;
      }
      j += 8;
    }
    if (j >= n) return json_status::truncated;
    const auto c = static_cast<unsigned char>(b[j]);
    if (c == '"') {
      end = j;
      i = j + 1;
      return json_status::ok;
    }
    if (c == '\\') {
      escaped = true;
      if (auto s = scan_escape(b, n, j); s != json_status::ok) return s;
    } else if (c < 0x20) {
      return json_status::malformed;
    } else {
      ++j;
    }
  }
}

// b[i] is '-' or a digit. On ok, i is one past the number's last byte.
json_status scan_number(const char* b, size_t n, size_t& i) {
  size_t j = i;
  if (b[j] == '-') ++j;
  if (j >= n) return json_status::truncated;
  if (b[j] == '0') {
    ++j;
  } else if (b[j] >= '1' && b[j] <= '9') {
    while (j < n && is_digit(b[j])) ++j;
  } else {
    return json_status::malformed;
  }
  if (j < n && b[j] == '.') {
    ++j;
    if (j >= n) return json_status::truncated;
    if (!is_digit(b[j])) return json_status::malformed;
    while (j < n && is_digit(b[j])) ++j;
  }
  if (j < n && (b[j] == 'e' || b[j] == 'E')) {
    ++j;
    if (j < n && (b[j] == '+' || b[j] == '-')) ++j;
    if (j >= n) return json_status::truncated;
    if (!is_digit(b[j])) return json_status::malformed;
    while (j < n && is_digit(b[j])) ++j;
  }
  i = j;
  return json_status::ok;
}

json_status scan_literal(const char* b, size_t n, size_t& i, std::string_view lit) {
  for (size_t k = 0; k < lit.size(); ++k) {
    if (i + k >= n) return json_status::truncated;
    if (b[i + k] != lit[k]) return json_status::malformed;
  }
  i += lit.size();
  return json_status::ok;
}

// Decodes one logical character of a string's raw content at raw[r]; -1 when malformed.
int decode_one(std::string_view raw, size_t& r, unsigned char out[4]) {
  const auto c = static_cast<unsigned char>(raw[r]);
  if (c != '\\') {
    if (c < 0x20 || c == '"') return -1;
    out[0] = c;
    ++r;
    return 1;
  }
  if (r + 1 >= raw.size()) return -1;
  unsigned char simple = 0;
  switch (raw[r + 1]) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': break;
    default: return -1;
  }
  if (simple) {
    out[0] = simple;
    r += 2;
    return 1;
  }
  uint32_t cp;
  if (hex4(raw.data(), raw.size(), r + 2, cp) != json_status::ok) return -1;
  r += 6;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return -1;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (r + 1 >= raw.size() || raw[r] != '\\' || raw[r + 1] != 'u') return -1;
    uint32_t lo;
    if (hex4(raw.data(), raw.size(), r + 2, lo) != json_status::ok) return -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return -1;
    r += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  if (cp < 0x80) {
    out[0] = static_cast<unsigned char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<unsigned char>(0xC0 | (cp >> 6));
    out[1] = static_cast<unsigned char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<unsigned char>(0xE0 | (cp >> 12));
    out[1] = static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<unsigned char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<unsigned char>(0xF0 | (cp >> 18));
  out[1] = static_cast<unsigned char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<unsigned char>(0x80 | (cp & 0x3F));
  return 4;
}

bool bare_key_byte(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c > 0x20 && c != 0x7f && c != '.' && c != '[' && c != ']' && c != '"' && c != '\\';
}

}  // namespace

const char* json_kind_name(json_kind k) {
  switch (k) {
    case json_kind::missing: return "missing";
    case json_kind::null: return "null";
    case json_kind::boolean: return "boolean";
    case json_kind::number: return "number";
    case json_kind::string: return "string";
    case json_kind::array: return "array";
    case json_kind::object: return "object";
  }
  return "?";
}

const char* json_status_name(json_status s) {
  switch (s) {
    case json_status::ok: return "ok";
    case json_status::truncated: return "truncated";
    case json_status::malformed: return "malformed";
    case json_status::too_deep: return "too_deep";
    case json_status::duplicate_key: return "duplicate_key";
  }
  return "?";
}

bool json_string_equals(std::string_view raw, std::string_view decoded) noexcept {
  size_t r = 0, k = 0;
  unsigned char buf[4];
  while (r < raw.size()) {
    const int m = decode_one(raw, r, buf);
    if (m < 0 || k + static_cast<size_t>(m) > decoded.size()) return false;
    if (std::memcmp(buf, decoded.data() + k, static_cast<size_t>(m)) != 0) return false;
    k += static_cast<size_t>(m);
  }
  return k == decoded.size();
}

bool json_string_decode(std::string_view raw, char* out, size_t cap, size_t& len) noexcept {
  size_t r = 0, k = 0;
  unsigned char buf[4];
  len = 0;
  while (r < raw.size()) {
    const int m = decode_one(raw, r, buf);
    if (m < 0 || k + static_cast<size_t>(m) > cap) return false;
    std::memcpy(out + k, buf, static_cast<size_t>(m));
    k += static_cast<size_t>(m);
  }
  len = k;
  return true;
}

std::string json_path_parse(std::string_view text, std::vector<json_path_segment>& out) {
  out.clear();
  if (text.empty()) return "empty path";
  size_t i = 0;
  const size_t n = text.size();
  bool need_key = false;  // after '.'
  while (i < n) {
    if (out.size() == json_path_max_segments) return "more than 16 path segments";
    json_path_segment seg;
    if (text[i] == '[' && !need_key) {
      ++i;
      if (i < n && text[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          char c = text[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= n || (text[i] != '"' && text[i] != '\\')) {
              return "only \\\" and \\\\ escapes are allowed in a quoted path key";
            }
            c = text[i++];
          } else if (static_cast<unsigned char>(c) < 0x20) {
            return "control character in path";
          }
          seg.key.push_back(c);
        }
        if (!closed) return "unterminated quoted key in path";
        if (seg.key.empty()) return "empty key in path";
      } else {
        size_t start = i;
        while (i < n && is_digit(text[i])) ++i;
        if (i == start) return "expected an index or a quoted key after '['";
        if (text[start] == '0' && i - start > 1) return "leading zero in path index";
        if (i - start > 7) return "path index over 1000000";
        uint32_t v = 0;
        for (size_t k = start; k < i; ++k) v = v * 10 + static_cast<uint32_t>(text[k] - '0');
        if (v > json_path_max_index) return "path index over 1000000";
        seg.is_index = true;
        seg.index = v;
      }
      if (i >= n || text[i] != ']') return "missing ']' in path";
      ++i;
    } else {
      size_t start = i;
      while (i < n && bare_key_byte(text[i])) ++i;
      if (i == start) return "empty or invalid key in path";
      seg.key.assign(text.substr(start, i - start));
    }
    if (!seg.is_index && seg.key.size() > json_path_max_key_bytes) {
      return "path key longer than 128 bytes";
    }
    out.push_back(std::move(seg));
    need_key = false;
    if (i < n) {
      if (text[i] == '.') {
        ++i;
        need_key = true;
        if (i == n) return "path ends with '.'";
        if (text[i] == '[') return "'.' followed by '['";
      } else if (text[i] != '[') {
        return "unexpected character in path";
      }
    }
  }
  return {};
}

json_path_set::json_path_set() { nodes_.emplace_back(); }

int32_t json_path_set::add(std::string_view path, std::string& error) {
  std::vector<json_path_segment> segs;
  error = json_path_parse(path, segs);
  if (!error.empty()) return -1;
  int32_t cur = 0;
  for (const auto& seg : segs) {
    int32_t found = -1;
    for (int32_t c = nodes_[cur].first_child; c >= 0; c = nodes_[c].next_sibling) {
      const node& nd = nodes_[c];
      if (nd.is_index != seg.is_index) continue;
      if (seg.is_index ? nd.index == seg.index
                       : std::string_view(keys_).substr(nd.key_off, nd.key_len) == seg.key) {
        found = c;
        break;
      }
    }
    if (found < 0) {
      if (nodes_.size() >= json_path_set_max_nodes) {
        error = "more than 256 distinct path segments in the policy";
        return -1;
      }
      node nd;
      nd.is_index = seg.is_index;
      nd.index = seg.index;
      nd.key_off = static_cast<uint32_t>(keys_.size());
      nd.key_len = static_cast<uint32_t>(seg.key.size());
      keys_ += seg.key;
      // Appended at the end of the sibling list so lookups keep the authoring order.
      found = static_cast<int32_t>(nodes_.size());
      nodes_.push_back(nd);
      if (nodes_[cur].first_child < 0) {
        nodes_[cur].first_child = found;
      } else {
        int32_t c = nodes_[cur].first_child;
        while (nodes_[c].next_sibling >= 0) c = nodes_[c].next_sibling;
        nodes_[c].next_sibling = found;
      }
    }
    cur = found;
  }
  if (nodes_[cur].path >= 0) return nodes_[cur].path;
  if (path_count_ >= json_path_set_max_paths) {
    error = "more than 64 distinct body paths in the policy";
    return -1;
  }
  nodes_[cur].path = static_cast<int32_t>(path_count_++);
  return nodes_[cur].path;
}

int32_t json_path_set::key_child(int32_t parent, std::string_view raw, bool escaped) const noexcept {
  for (int32_t c = nodes_[parent].first_child; c >= 0; c = nodes_[c].next_sibling) {
    const node& nd = nodes_[c];
    if (nd.is_index) continue;
    const std::string_view key(keys_.data() + nd.key_off, nd.key_len);
    if (escaped ? json_string_equals(raw, key) : raw == key) return c;
  }
  return -1;
}

int32_t json_path_set::index_child(int32_t parent, uint32_t index) const noexcept {
  for (int32_t c = nodes_[parent].first_child; c >= 0; c = nodes_[c].next_sibling) {
    if (nodes_[c].is_index && nodes_[c].index == index) return c;
  }
  return -1;
}

json_status json_path_set::extract(std::string_view body, std::span<json_value> out) const noexcept {
  for (auto& v : out) v = json_value{};
  if (body.size() > json_max_body_bytes) return json_status::malformed;
  const char* b = body.data();
  const size_t n = body.size();

  // One flag per node: a node reached twice means a repeated key on a wanted path.
  uint8_t visited[json_path_set_max_nodes];
  std::memset(visited, 0, nodes_.size());

  struct frame {
    int32_t node;    // trie node of this container, -1 when nothing below it is wanted
    uint32_t count;  // members or elements so far
    uint32_t start;  // offset of the opening bracket
    bool object;
  };
  frame st[json_max_depth];
  uint32_t depth = 0;

  enum class expect : uint8_t { value, first_key_or_close, key, first_value_or_close, after_value };
  expect state = expect::value;
  int32_t vnode = 0;  // trie node of the value about to start
  size_t i = 0;

  auto record = [&](int32_t nd) -> json_value* {
    if (nd < 0) return nullptr;
    const int32_t p = nodes_[nd].path;
    return (p >= 0 && static_cast<size_t>(p) < out.size()) ? &out[static_cast<size_t>(p)] : nullptr;
  };

  for (;;) {
    while (i < n && is_ws(b[i])) ++i;
    if (i >= n) {
      return (state == expect::after_value && depth == 0) ? json_status::ok : json_status::truncated;
    }
    const char c = b[i];
    switch (state) {
      case expect::value: {
        if (vnode >= 0) {
          if (visited[vnode]) return json_status::duplicate_key;
          visited[vnode] = 1;
        }
        json_value* rec = record(vnode);
        if (c == '{' || c == '[') {
          if (depth == json_max_depth) return json_status::too_deep;
          st[depth++] = frame{vnode, 0, static_cast<uint32_t>(i), c == '{'};
          if (rec) rec->kind = c == '{' ? json_kind::object : json_kind::array;
          ++i;
          state = c == '{' ? expect::first_key_or_close : expect::first_value_or_close;
          break;
        }
        const size_t at = i;
        if (c == '"') {
          size_t s0, s1;
          bool esc;
          if (auto s = scan_string(b, n, i, s0, s1, esc); s != json_status::ok) return s;
          if (rec) {
            rec->kind = json_kind::string;
            rec->raw = body.substr(s0, s1 - s0);
            rec->escaped = esc;
          }
        } else if (c == '-' || is_digit(c)) {
          if (auto s = scan_number(b, n, i); s != json_status::ok) return s;
          if (rec) {
            rec->kind = json_kind::number;
            rec->raw = body.substr(at, i - at);
            double d = 0;
            const auto r = std::from_chars(b + at, b + i, d);
            rec->number_finite = r.ec == std::errc{} && r.ptr == b + i && std::isfinite(d);
            rec->number = rec->number_finite ? d : 0;
          }
        } else if (c == 't' || c == 'f' || c == 'n') {
          const std::string_view lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
          if (auto s = scan_literal(b, n, i, lit); s != json_status::ok) return s;
          if (rec) {
            rec->kind = c == 'n' ? json_kind::null : json_kind::boolean;
            rec->boolean = c == 't';
            rec->raw = body.substr(at, i - at);
          }
        } else {
          return json_status::malformed;
        }
        state = expect::after_value;
        break;
      }
      case expect::first_key_or_close:
      case expect::key: {
        frame& f = st[depth - 1];
        if (c == '}' && state == expect::first_key_or_close) goto close;
        if (c != '"') return json_status::malformed;
        size_t s0, s1;
        bool esc;
        if (auto s = scan_string(b, n, i, s0, s1, esc); s != json_status::ok) return s;
        while (i < n && is_ws(b[i])) ++i;
        if (i >= n) return json_status::truncated;
        if (b[i] != ':') return json_status::malformed;
        ++i;
        ++f.count;
        vnode = f.node >= 0 ? key_child(f.node, body.substr(s0, s1 - s0), esc) : -1;
        state = expect::value;
        break;
      }
      case expect::first_value_or_close: {
        frame& f = st[depth - 1];
        if (c == ']') goto close;
        vnode = f.node >= 0 ? index_child(f.node, f.count) : -1;
        ++f.count;
        state = expect::value;
        break;
      }
      case expect::after_value: {
        if (depth == 0) return json_status::malformed;  // bytes after the top-level value
        frame& f = st[depth - 1];
        if (c == ',') {
          ++i;
          if (f.object) {
            state = expect::key;
          } else {
            vnode = f.node >= 0 ? index_child(f.node, f.count) : -1;
            ++f.count;
            state = expect::value;
          }
          break;
        }
        if (c == (f.object ? '}' : ']')) goto close;
        return json_status::malformed;
      }
    }
    continue;
  close: {
    const frame f = st[--depth];
    ++i;
    if (json_value* rec = record(f.node)) {
      rec->length = f.count;
      rec->raw = body.substr(f.start, i - f.start);
    }
    state = expect::after_value;
  }
  }
}

}  // namespace phigate::policy
