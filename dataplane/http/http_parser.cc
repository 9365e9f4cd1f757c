#include "dataplane/http/http_parser.hh"

#include <algorithm>
#include <array>
#include <bit>
#include <string_view>
#include <type_traits>

// Design: one switch over a small state enum, a byte at a time where every byte matters (start
// lines, CRLFs, interpreted header values, chunk-size lines), runs at a time where only the run's
// end matters (uninterpreted names and values, the request-target, the reason phrase; always
// bounded by the head limit) and whole spans through body data (the bulk of the traffic).
// A header name seen whole inside one segment is resolved at once; one cut by a segment boundary
// is matched incrementally with a bitmask of candidate names still matching, so no name bytes are
// buffered. Header values are interpreted by small per-field sub-machines (`kind` + `vs`). Only
// the Content-Type media type (into the parser) and, when the caller provides a target_buffer,
// the request-target are copied, because the caller needs their text in on_head and the head may
// span segments the caller no longer holds. The test suite runs every vector split at every
// offset, which exercises both the run and the byte-wise paths.

namespace phigate::http {

static_assert(std::is_trivially_copyable_v<parser>);

namespace {

enum state : uint8_t {
  s_req_start,     // before a request line; may skip a few empty lines
  s_req_lead_lf,   // after the CR of an empty line before a request line
  s_res_start,     // before a status line; nothing of it seen
  // --- head states: bytes count against max_head_bytes from head_start ---
  s_req_method,
  s_req_target,
  s_req_version,
  s_req_line_end,
  s_req_line_lf,
  s_res_version,
  s_res_sp,
  s_res_status,
  s_res_after_status,
  s_res_reason,
  s_res_line_lf,
  s_hdr_line_start,  // shared by heads and trailer sections (flag f_trailers)
  s_hdr_name,
  s_hdr_ows,
  s_hdr_value,
  s_hdr_value_lf,
  s_hdr_end_lf,
  // --- chunk-size line states: bytes count against max_chunk_line_bytes ---
  s_chunk_size,
  s_chunk_size_bws,
  s_chunk_ext_name_start,
  s_chunk_ext_name,
  s_chunk_ext_after_name,
  s_chunk_ext_value_start,
  s_chunk_ext_token,
  s_chunk_ext_quoted,
  s_chunk_ext_quoted_pair,
  s_chunk_ext_after_value,
  s_chunk_size_lf,
  s_chunk_data_cr,
  s_chunk_data_lf,
  // --- span states: whole runs of bytes at a time; everything from here on ---
  s_chunk_data,
  s_body_length,
  s_body_close,
  s_closed,    // last message said close; any byte is data_after_close
  s_finished,  // parser_finish was called
  s_error,
};

enum flag : uint32_t {
  f_has_cl = 1u << 0,
  f_has_te = 1u << 1,
  f_chunked_seen = 1u << 2,
  f_conn_close = 1u << 3,
  f_conn_keep_alive = 1u << 4,
  f_expect_continue = 1u << 5,
  f_has_ce = 1u << 6,
  f_ct_seen = 1u << 8,
  f_ct_repeated = 1u << 9,
  f_auth_seen = 1u << 10,
  f_auth_repeated = 1u << 11,
  f_host_seen = 1u << 12,
  f_host_repeated = 1u << 13,
  f_trailers = 1u << 14,
  f_keep_alive = 1u << 15,  // decided at head end; acted on at message end
  f_interim = 1u << 16,
};

// Header fields whose values we interpret; `kind` is the index + 1, 0 = any other field.
enum kind : uint8_t {
  k_other, k_content_length, k_transfer_encoding, k_connection, k_expect, k_content_type,
  k_content_encoding, k_authorization, k_host,
};
constexpr std::string_view header_names[] = {
    "content-length", "transfer-encoding", "connection", "expect",
    "content-type",   "content-encoding",  "authorization", "host"};
constexpr std::string_view method_names[] = {"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
                                             "PATCH", "OPTIONS", "CONNECT", "TRACE"};
constexpr std::string_view connection_names[] = {"close", "keep-alive"};
constexpr uint16_t all_of(size_t n) { return static_cast<uint16_t>((1u << n) - 1); }

// Character classes (RFC 9110 5.6.2 tchar, 5.5 field-vchar, RFC 9112 3.2 target, qdtext).
enum cls : uint8_t { c_tchar = 1, c_value = 2, c_target = 4, c_hex = 8, c_qdtext = 16 };
constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)
      v |= c_tchar;
    if (c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80) v |= c_value;
    if (c >= 0x21 && c <= 0x7e) v |= c_target;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= c_hex;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80)
      v |= c_qdtext;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> classes = make_classes();

inline bool is(uint8_t c, cls k) { return (classes[c] & k) != 0; }
inline bool is_ws(uint8_t c) { return c == ' ' || c == '\t'; }
inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }
inline uint8_t hex_value(uint8_t c) {
  return c <= '9' ? static_cast<uint8_t>(c - '0') : static_cast<uint8_t>(lower(c) - 'a' + 10);
}

template <size_t N>
inline uint16_t narrow(uint16_t cand, uint16_t pos, uint8_t c, const std::string_view (&names)[N]) {
  uint16_t out = cand;
  for (uint16_t m = cand; m != 0; m = static_cast<uint16_t>(m & (m - 1))) {
    const int k = std::countr_zero(m);
    if (pos >= names[k].size() || static_cast<uint8_t>(names[k][pos]) != c)
      out = static_cast<uint16_t>(out & ~(1u << k));
  }
  return out;
}
// Index + 1 of the candidate whose whole name was matched, 0 if none.
template <size_t N>
inline uint8_t resolve(uint16_t cand, uint16_t pos, const std::string_view (&names)[N]) {
  for (uint16_t m = cand; m != 0; m = static_cast<uint16_t>(m & (m - 1))) {
    const int k = std::countr_zero(m);
    if (names[k].size() == pos) return static_cast<uint8_t>(k + 1);
  }
  return 0;
}
// Same answer as narrowing byte by byte and resolving, for a name seen whole.
inline uint8_t whole_name_kind(const uint8_t* name, size_t n) {
  for (size_t k = 0; k < std::size(header_names); ++k) {
    if (header_names[k].size() != n) continue;
    size_t x = 0;
    while (x < n && lower(name[x]) == static_cast<uint8_t>(header_names[k][x])) ++x;
    if (x == n) return static_cast<uint8_t>(k + 1);
  }
  return k_other;
}
inline uint16_t bump(uint16_t v) { return v == UINT16_MAX ? v : static_cast<uint16_t>(v + 1); }

constexpr std::string_view http_1_prefix = "HTTP/1.";
constexpr std::string_view expect_100 = "100-continue";
constexpr std::string_view identity = "identity";

void begin_message(parser& p, uint64_t at) {
  p.head_start = at;
  p.count = 0;
  p.content_length = 0;
  p.flags = 0;
  p.auth_rel = p.host_rel = 0;
  p.auth_len = p.host_len = 0;
  p.nheaders = 0;
  p.status = 0;
  p.cand = 0;
  p.pos = 0;
  p.line_len = 0;
  p.target_len = 0;
  p.meth = static_cast<uint8_t>(method::other);
  p.version_minor = 0;
  p.kind = k_other;
  p.vs = 0;
  p.ct_len = 0;
}

void start_chunk_line(parser& p) {
  p.state = s_chunk_size;
  p.count = 0;
  p.pos = 0;
  p.line_len = 0;
}

// Value sub-machines. `vs` meanings per kind are listed at each handler.

// Content-Length: 0 = expect first digit, 1 = in digits, 2 = OWS after digits, 3 = after a comma.
error cl_element_end(parser& p) {
  if ((p.flags & f_has_cl) && p.content_length != p.count) return error::conflicting_content_length;
  p.content_length = p.count;
  p.flags |= f_has_cl;
  return error::none;
}
error cl_byte(parser& p, uint8_t c) {
  if (c >= '0' && c <= '9') {
    const uint64_t d = c - '0';
    if (p.vs == 2) return error::bad_content_length;  // "5 5"
    if (p.vs != 1) { p.count = 0; p.vs = 1; }
    if (p.count > (UINT64_MAX - d) / 10) return error::bad_content_length;
    p.count = p.count * 10 + d;
    return error::none;
  }
  if (c == ',') {
    if (p.vs == 0 || p.vs == 3) return error::bad_content_length;  // empty element
    if (p.vs == 1) {
      if (error e = cl_element_end(p); e != error::none) return e;
    }
    p.vs = 3;
    return error::none;
  }
  if (is_ws(c)) {
    if (p.vs == 1) {
      if (error e = cl_element_end(p); e != error::none) return e;
      p.vs = 2;
    }
    return error::none;
  }
  return error::bad_content_length;
}
error cl_end(parser& p) {
  if (p.vs == 1) return cl_element_end(p);
  if (p.vs == 2) return error::none;
  return error::bad_content_length;  // empty value or trailing comma
}

// Transfer-Encoding: 0 = before an element, 1 = in an element (pos into "chunked"), 2 = OWS after.
error te_element_end(parser& p) {
  if (p.pos != 7 || (p.flags & f_chunked_seen)) return error::bad_transfer_encoding;
  p.flags |= f_chunked_seen;
  return error::none;
}
error te_byte(parser& p, uint8_t c) {
  constexpr std::string_view chunked = "chunked";
  if (is_ws(c)) {
    if (p.vs == 1) {
      if (error e = te_element_end(p); e != error::none) return e;
      p.vs = 2;
    }
    return error::none;
  }
  if (c == ',') {
    if (p.vs == 0) return error::bad_transfer_encoding;  // empty element
    if (p.vs == 1) {
      if (error e = te_element_end(p); e != error::none) return e;
    }
    p.vs = 0;
    return error::none;
  }
  if (p.vs == 2) return error::bad_transfer_encoding;
  if (p.vs == 0) { p.vs = 1; p.pos = 0; }
  if (p.pos >= chunked.size() || lower(c) != static_cast<uint8_t>(chunked[p.pos]))
    return error::bad_transfer_encoding;  // any other coding, or parameters
  ++p.pos;
  return error::none;
}
error te_end(parser& p) {
  if (p.vs == 1) return te_element_end(p);
  if (p.vs == 2) return error::none;
  return error::bad_transfer_encoding;
}

// Connection: 0 = before an element, 1 = in an element (cand/pos), 2 = OWS after. Lenient: only
// "close" and "keep-alive" matter; other tokens are ignored.
void connection_element_end(parser& p) {
  switch (resolve(p.cand, p.pos, connection_names)) {
    case 1: p.flags |= f_conn_close; break;
    case 2: p.flags |= f_conn_keep_alive; break;
    default: break;
  }
}
void connection_byte(parser& p, uint8_t c) {
  if (c == ',') {
    if (p.vs == 1) connection_element_end(p);
    p.vs = 0;
    return;
  }
  if (is_ws(c)) {
    if (p.vs == 1) { connection_element_end(p); p.vs = 2; }
    return;
  }
  if (p.vs != 1) {  // a new element; after "tok tok" the second one is garbage and never matches
    p.cand = p.vs == 0 ? all_of(std::size(connection_names)) : 0;
    p.pos = 0;
    p.vs = 1;
  }
  p.cand = narrow(p.cand, p.pos, lower(c), connection_names);
  p.pos = bump(p.pos);
}

// Whole-value match (Expect, Content-Encoding): 0 = matching, 1 = matched + trailing OWS, 2 = failed.
void exact_byte(parser& p, uint8_t c, std::string_view lit) {
  if (p.vs == 0) {
    if (p.pos < lit.size() && lower(c) == static_cast<uint8_t>(lit[p.pos])) ++p.pos;
    else if (p.pos == lit.size() && is_ws(c)) p.vs = 1;
    else p.vs = 2;
  } else if (p.vs == 1 && !is_ws(c)) {
    p.vs = 2;
  }
}
bool exact_matched(const parser& p, std::string_view lit) { return p.vs != 2 && p.pos == lit.size(); }

// Authorization / Host: 0 = nothing yet, 1 = recording, 2 = repeated field, ignored.
void span_byte(parser& p, uint8_t c, uint64_t at, uint32_t& rel, uint16_t& len) {
  if (p.vs == 2 || is_ws(c)) return;
  const uint64_t r = at - p.head_start;
  if (p.vs == 0) { rel = static_cast<uint32_t>(r); p.vs = 1; }
  len = static_cast<uint16_t>(std::min<uint64_t>(r + 1 - rel, UINT16_MAX));
}

void header_begin(parser& p) {
  p.vs = 0;
  p.pos = 0;
  switch (p.kind) {
    case k_transfer_encoding: p.flags |= f_has_te; break;
    case k_content_type:
      if (p.flags & f_ct_seen) p.flags |= f_ct_repeated;
      p.flags |= f_ct_seen;
      p.ct_len = 0;  // last one wins
      break;
    case k_authorization:
      if (p.flags & f_auth_seen) { p.flags |= f_auth_repeated; p.vs = 2; }
      p.flags |= f_auth_seen;
      break;
    case k_host:
      if (p.flags & f_host_seen) { p.flags |= f_host_repeated; p.vs = 2; }
      p.flags |= f_host_seen;
      break;
    default: break;
  }
}

error value_byte(parser& p, uint8_t c, uint64_t at) {
  switch (p.kind) {
    case k_content_length: return cl_byte(p, c);
    case k_transfer_encoding: return te_byte(p, c);
    case k_connection: connection_byte(p, c); break;
    case k_expect: exact_byte(p, c, expect_100); break;
    case k_content_encoding: exact_byte(p, c, identity); break;
    case k_content_type:
      // vs: 0 = copying the media type, 1 = parameters or garbage after it, ignored.
      if (p.vs == 0) {
        if (c == ';' || is_ws(c)) p.vs = 1;
        else if (p.ct_len < sizeof(p.ct) - 1) p.ct[p.ct_len++] = static_cast<char>(lower(c));
      }
      break;
    case k_authorization: span_byte(p, c, at, p.auth_rel, p.auth_len); break;
    case k_host: span_byte(p, c, at, p.host_rel, p.host_len); break;
    default: break;
  }
  return error::none;
}

error value_end(parser& p) {
  switch (p.kind) {
    case k_content_length: return cl_end(p);
    case k_transfer_encoding: return te_end(p);
    case k_connection:
      if (p.vs == 1) connection_element_end(p);
      break;
    case k_expect:
      if (exact_matched(p, expect_100)) p.flags |= f_expect_continue;
      break;
    case k_content_encoding:
      if (!exact_matched(p, identity)) p.flags |= f_has_ce;  // empty or list: fail closed
      break;
    default: break;
  }
  return error::none;
}

// True when the rest of a run of value bytes cannot change what we learn from the field, except
// the end of an Authorization / Host span (handled by the caller).
bool value_run_skippable(const parser& p) {
  switch (p.kind) {
    case k_other: return true;
    case k_authorization:
    case k_host: return p.vs != 0;  // span started (1) or repeated field ignored (2)
    case k_expect:
    case k_content_encoding: return p.vs == 2;  // already failed to match
    case k_content_type: return p.vs == 1;      // media type done, parameters follow
    default: return false;                      // lists: every byte matters
  }
}

// Syntax errors inside a trailer section all read bad_trailer; limits keep their own names.
error in_section(const parser& p, error e) { return (p.flags & f_trailers) ? error::bad_trailer : e; }

void emit_end(const parser_callbacks& cb, uint64_t end) {
  if (cb.on_message_end) cb.on_message_end(cb.ctx, end);
}

void message_done(parser& p, const parser_callbacks& cb, uint64_t end) {
  emit_end(cb, end);
  if (p.flags & f_interim) {
    p.state = s_res_start;
  } else if (!(p.flags & f_keep_alive)) {
    p.state = s_closed;
  } else if (p.dir == static_cast<uint8_t>(direction::request)) {
    p.state = s_req_start;
    p.leads = 0;
  } else {
    p.state = s_res_start;
  }
}

// The head's final CRLF was consumed; `end` is one past it. Decides framing (RFC 9112 6.3) and
// reports the head.
error head_done(parser& p, const parser_callbacks& cb, uint64_t end) {
  const bool is_request = p.dir == static_cast<uint8_t>(direction::request);
  method m = static_cast<method>(p.meth);
  if (!is_request) {
    if (p.qcount == 0) return error::response_without_request;
    m = static_cast<method>(p.queue & 0xf);
  }
  const bool te = (p.flags & f_has_te) != 0;
  const bool cl = (p.flags & f_has_cl) != 0;
  if (te && cl) return error::transfer_encoding_with_content_length;
  // TE in HTTP/1.0 is faulty framing (RFC 9112 6.1): the peer may not understand chunked.
  if (te && (!(p.flags & f_chunked_seen) || p.version_minor == 0)) return error::bad_transfer_encoding;

  body_kind body = body_kind::none;
  bool interim = false;
  if (is_request) {
    body = te ? body_kind::chunked : cl ? body_kind::content_length : body_kind::none;
  } else {
    const uint16_t s = p.status;
    if (s == 101) return error::upgrade_unsupported;
    if (s < 200) {
      interim = true;
    } else if (m == method::connect && s < 300) {
      return error::upgrade_unsupported;  // a tunnel we cannot inspect
    } else if (m == method::head || s == 204 || s == 304) {
      body = body_kind::none;
    } else {
      body = te ? body_kind::chunked : cl ? body_kind::content_length : body_kind::until_close;
    }
  }

  bool keep_alive = p.version_minor == 1 ? !(p.flags & f_conn_close)
                                         : ((p.flags & f_conn_keep_alive) && !(p.flags & f_conn_close));
  if (body == body_kind::until_close) keep_alive = false;

  if (cb.on_head) {
    message_head h{};
    h.dir = static_cast<direction>(p.dir);
    h.meth = m;
    h.status = p.status;
    h.version_minor = p.version_minor;
    h.body = body;
    h.content_length = cl ? p.content_length : 0;
    h.keep_alive = keep_alive;
    h.expect_continue = (p.flags & f_expect_continue) != 0;
    h.interim = interim;
    h.has_content_encoding = (p.flags & f_has_ce) != 0;
    std::copy_n(p.ct, p.ct_len, h.content_type);
    h.content_type_len = p.ct_len;
    if (cb.target != nullptr) {
      const uint16_t n = std::min<uint16_t>(p.target_len, sizeof(h.target));
      std::copy_n(cb.target->bytes, n, h.target);
      h.target_len = n;
    }
    h.target_truncated = p.target_len > h.target_len;
    h.head_start = p.head_start;
    h.head_end = end;
    if (p.auth_len) {
      h.authorization_value_off = p.head_start + p.auth_rel;
      h.authorization_value_len = p.auth_len;
    }
    if (p.host_len) {
      h.host_value_off = p.head_start + p.host_rel;
      h.host_value_len = p.host_len;
    }
    h.content_type_repeated = (p.flags & f_ct_repeated) != 0;
    h.authorization_repeated = (p.flags & f_auth_repeated) != 0;
    h.host_repeated = (p.flags & f_host_repeated) != 0;
    cb.on_head(cb.ctx, h);
  }

  if (!is_request && !interim) {
    p.queue >>= 4;
    --p.qcount;
  }
  if (interim) p.flags |= f_interim;
  if (keep_alive) p.flags |= f_keep_alive;

  switch (body) {
    case body_kind::chunked: start_chunk_line(p); break;
    case body_kind::content_length:
      p.count = p.content_length;
      if (p.count == 0) message_done(p, cb, end);
      else p.state = s_body_length;
      break;
    case body_kind::until_close: p.state = s_body_close; break;
    case body_kind::none: message_done(p, cb, end); break;
  }
  return error::none;
}

}  // namespace

const char* error_name(error e) {
  switch (e) {
    case error::none: return "none";
    case error::bad_request_line: return "bad_request_line";
    case error::bad_method: return "bad_method";
    case error::bad_target: return "bad_target";
    case error::bad_version: return "bad_version";
    case error::bad_status_line: return "bad_status_line";
    case error::bad_header_name: return "bad_header_name";
    case error::bad_header_value: return "bad_header_value";
    case error::obs_fold: return "obs_fold";
    case error::headers_too_large: return "headers_too_large";
    case error::too_many_headers: return "too_many_headers";
    case error::bad_content_length: return "bad_content_length";
    case error::conflicting_content_length: return "conflicting_content_length";
    case error::transfer_encoding_with_content_length: return "transfer_encoding_with_content_length";
    case error::bad_transfer_encoding: return "bad_transfer_encoding";
    case error::bad_chunk_size: return "bad_chunk_size";
    case error::chunk_size_too_large: return "chunk_size_too_large";
    case error::bad_chunk_extension: return "bad_chunk_extension";
    case error::bad_chunk_data_terminator: return "bad_chunk_data_terminator";
    case error::bad_trailer: return "bad_trailer";
    case error::pipeline_overflow: return "pipeline_overflow";
    case error::response_without_request: return "response_without_request";
    case error::truncated_message: return "truncated_message";
    case error::data_after_close: return "data_after_close";
    case error::upgrade_unsupported: return "upgrade_unsupported";
  }
  return "unknown";
}

void parser_init(parser& p, direction d, const parser_limits& lim) {
  p = parser{};
  p.dir = static_cast<uint8_t>(d);
  p.state = d == direction::request ? s_req_start : s_res_start;
  p.max_head_bytes = lim.max_head_bytes;
  p.max_headers = lim.max_headers;
  p.max_chunk_size = lim.max_chunk_size;
}

size_t parser_feed(parser& p, const uint8_t* data, size_t len, const parser_callbacks& cb) {
  if (p.state == s_error) return 0;
  const uint64_t base = p.off;
  size_t i = 0;
  const auto fail = [&](error e) -> size_t {
    p.err = static_cast<uint8_t>(e);
    p.state = s_error;
    p.off = base + i;
    return i;
  };

  // One past the last index of this feed that the current head may still use; fast paths that skip
  // runs of head bytes stop there so the limit is enforced at the same byte as byte-wise parsing.
  const auto head_stop = [&]() -> size_t {
    return i + static_cast<size_t>(std::min<uint64_t>(len - i, p.head_start + p.max_head_bytes - (base + i)));
  };

  while (i < len) {
    const uint64_t at = base + i;

    // Span-wise states: body data and what can never be consumed.
    if (p.state >= s_chunk_data) {
      switch (p.state) {
        case s_body_length:
        case s_chunk_data: {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(p.count, len - i));
          if (cb.on_body) cb.on_body(cb.ctx, data + i, n, at);
          i += n;
          p.count -= n;
          if (p.count == 0) {
            if (p.state == s_chunk_data) p.state = s_chunk_data_cr;
            else message_done(p, cb, base + i);
          }
          continue;
        }
        case s_body_close:
          if (cb.on_body) cb.on_body(cb.ctx, data + i, len - i, at);
          i = len;
          continue;
        case s_closed:
        case s_finished: return fail(error::data_after_close);
        default: break;
      }
    }

    const uint8_t c = data[i];
    if (p.state >= s_req_method && p.state <= s_hdr_end_lf) {
      if (at - p.head_start >= p.max_head_bytes) return fail(error::headers_too_large);
    } else if (p.state >= s_chunk_size && p.state <= s_chunk_size_lf) {
      if (++p.line_len > max_chunk_line_bytes) return fail(error::bad_chunk_extension);
    }

    switch (p.state) {
      // ---------------------------------------------------------------- request line
      case s_req_start:
        if (c == '\r') {
          if (++p.leads > max_leading_empty_lines) return fail(error::bad_request_line);
          p.state = s_req_lead_lf;
        } else if (c == '\n') {
          return fail(error::bad_request_line);
        } else if (is(c, c_tchar)) {
          begin_message(p, at);
          p.cand = narrow(all_of(std::size(method_names)), 0, c, method_names);
          p.pos = 1;
          p.state = s_req_method;
        } else {
          return fail(error::bad_method);
        }
        break;
      case s_req_lead_lf:
        if (c != '\n') return fail(error::bad_request_line);
        p.state = s_req_start;
        break;
      case s_req_method:
        if (is(c, c_tchar)) {
          p.cand = narrow(p.cand, p.pos, c, method_names);
          p.pos = bump(p.pos);
        } else if (c == ' ') {
          p.meth = resolve(p.cand, p.pos, method_names);  // index + 1 == method enum value
          p.state = s_req_target;
        } else if (c == '\r' || c == '\n') {
          return fail(error::bad_request_line);
        } else {
          return fail(error::bad_method);
        }
        break;
      case s_req_target:
        if (is(c, c_target)) {
          const size_t stop = head_stop();
          size_t j = i;
          while (j < stop && is(data[j], c_target)) ++j;
          if (cb.target != nullptr && p.target_len < sizeof(cb.target->bytes)) {
            const size_t n = std::min(sizeof(cb.target->bytes) - p.target_len, j - i);
            std::copy_n(data + i, n, cb.target->bytes + p.target_len);
          }
          p.target_len = static_cast<uint16_t>(std::min<size_t>(p.target_len + (j - i), UINT16_MAX));
          i = j;
          continue;
        } else if (c == ' ') {
          if (p.target_len == 0) return fail(error::bad_request_line);  // two spaces
          p.pos = 0;
          p.state = s_req_version;
        } else if (c == '\r' || c == '\n') {
          return fail(error::bad_request_line);  // no version (HTTP/0.9 style)
        } else {
          return fail(error::bad_target);
        }
        break;
      case s_req_version:
        if (p.pos < http_1_prefix.size()) {
          if (c != static_cast<uint8_t>(http_1_prefix[p.pos])) return fail(error::bad_version);
          ++p.pos;
        } else {
          if (c != '0' && c != '1') return fail(error::bad_version);
          p.version_minor = static_cast<uint8_t>(c - '0');
          p.state = s_req_line_end;
        }
        break;
      case s_req_line_end:
        if (c == '\r') p.state = s_req_line_lf;
        else if (c == '\n' || c == ' ') return fail(error::bad_request_line);
        else return fail(error::bad_version);  // "HTTP/1.10"
        break;
      case s_req_line_lf:
        if (c != '\n') return fail(error::bad_request_line);
        p.state = s_hdr_line_start;
        break;

      // ---------------------------------------------------------------- status line
      case s_res_start:
        begin_message(p, at);
        if (c != 'H') return fail(error::bad_status_line);
        p.pos = 1;
        p.state = s_res_version;
        break;
      case s_res_version:
        if (p.pos < http_1_prefix.size()) {
          if (c != static_cast<uint8_t>(http_1_prefix[p.pos]))
            return fail(p.pos < 5 ? error::bad_status_line : error::bad_version);  // "HTTP/" vs "1."
          ++p.pos;
        } else {
          if (c != '0' && c != '1') return fail(error::bad_version);
          p.version_minor = static_cast<uint8_t>(c - '0');
          p.state = s_res_sp;
        }
        break;
      case s_res_sp:
        if (c != ' ') return fail(error::bad_status_line);
        p.pos = 0;
        p.state = s_res_status;
        break;
      case s_res_status:
        if (c < '0' || c > '9') return fail(error::bad_status_line);
        p.status = static_cast<uint16_t>(p.status * 10 + (c - '0'));
        if (++p.pos == 3) {
          if (p.status < 100 || p.status > 599) return fail(error::bad_status_line);
          p.state = s_res_after_status;
        }
        break;
      case s_res_after_status:
        if (c == ' ') p.state = s_res_reason;
        else if (c == '\r') p.state = s_res_line_lf;
        else return fail(error::bad_status_line);
        break;
      case s_res_reason:
        if (c == '\r') {
          p.state = s_res_line_lf;
        } else if (!is(c, c_value)) {
          return fail(error::bad_status_line);
        } else {
          const size_t stop = head_stop();
          size_t j = i + 1;
          while (j < stop && data[j] != '\r' && is(data[j], c_value)) ++j;
          i = j;
          continue;
        }
        break;
      case s_res_line_lf:
        if (c != '\n') return fail(error::bad_status_line);
        p.state = s_hdr_line_start;
        break;

      // ---------------------------------------------------------------- header / trailer fields
      case s_hdr_line_start:
        if (c == '\r') {
          p.state = s_hdr_end_lf;
        } else if (is(c, c_tchar)) {
          p.nheaders = bump(p.nheaders);
          if (p.nheaders > p.max_headers) return fail(error::too_many_headers);
          if (!(p.flags & f_trailers)) {
            // Whole name and colon inside this segment (the usual case): resolve it at once.
            const size_t stop = head_stop();
            size_t j = i + 1;
            while (j < stop && is(data[j], c_tchar)) ++j;
            if (j < stop && data[j] == ':') {
              p.kind = whole_name_kind(data + i, j - i);
              header_begin(p);
              p.state = s_hdr_ows;
              i = j + 1;
              continue;
            }
          }
          // The name may continue in the next segment: match it byte by byte.
          p.cand = (p.flags & f_trailers) ? 0 : narrow(all_of(std::size(header_names)), 0, lower(c), header_names);
          p.pos = 1;
          p.state = s_hdr_name;
        } else if (is_ws(c)) {
          return fail(in_section(p, error::obs_fold));
        } else if (c == '\n') {
          return fail(in_section(p, error::bad_header_value));
        } else {
          return fail(in_section(p, error::bad_header_name));
        }
        break;
      case s_hdr_name:
        if (is(c, c_tchar)) {
          if (p.cand) {
            p.cand = narrow(p.cand, p.pos, lower(c), header_names);
            p.pos = bump(p.pos);
          } else {  // no interpreted name can match any more: skip the rest of the name
            const size_t stop = head_stop();
            size_t j = i + 1;
            while (j < stop && is(data[j], c_tchar)) ++j;
            i = j;
            continue;
          }
        } else if (c == ':') {
          p.kind = resolve(p.cand, p.pos, header_names);
          header_begin(p);
          p.state = s_hdr_ows;
        } else {
          return fail(in_section(p, error::bad_header_name));  // incl. whitespace before the colon
        }
        break;
      case s_hdr_ows:
        if (is_ws(c)) break;
        if (c == '\r') {
          p.state = s_hdr_value_lf;
          break;
        }
        p.state = s_hdr_value;
        [[fallthrough]];
      case s_hdr_value:
        if (c == '\r') {
          p.state = s_hdr_value_lf;
        } else if (!is(c, c_value)) {
          return fail(in_section(p, error::bad_header_value));  // CTLs, DEL, bare LF
        } else if (value_run_skippable(p)) {
          // Uninterpreted value (or an Authorization / Host span already started): skip the run of
          // valid bytes within the head limit; a span only needs its last non-whitespace byte.
          const size_t stop = head_stop();
          size_t j = i + 1;
          while (j < stop && data[j] != '\r' && is(data[j], c_value)) ++j;
          if (p.kind == k_authorization || p.kind == k_host) {
            size_t last = j - 1;
            while (last > i && is_ws(data[last])) --last;
            if (!is_ws(data[last])) {
              if (p.kind == k_authorization) span_byte(p, data[last], base + last, p.auth_rel, p.auth_len);
              else span_byte(p, data[last], base + last, p.host_rel, p.host_len);
            }
          }
          i = j;
          continue;
        } else if (error e = value_byte(p, c, at); e != error::none) {
          return fail(e);
        }
        break;
      case s_hdr_value_lf:
        if (c != '\n') return fail(in_section(p, error::bad_header_value));
        if (error e = value_end(p); e != error::none) return fail(e);
        p.state = s_hdr_line_start;
        break;
      case s_hdr_end_lf:
        if (c != '\n') return fail(in_section(p, error::bad_header_value));
        if (p.flags & f_trailers) {
          message_done(p, cb, at + 1);
        } else if (error e = head_done(p, cb, at + 1); e != error::none) {
          return fail(e);
        }
        break;

      // ---------------------------------------------------------------- chunk framing
      case s_chunk_size:
        if (is(c, c_hex)) {
          if (p.pos == 16) return fail(error::chunk_size_too_large);
          p.count = p.count * 16 + hex_value(c);
          ++p.pos;
          if (p.count > p.max_chunk_size) return fail(error::chunk_size_too_large);
        } else if (p.pos == 0) {
          return fail(error::bad_chunk_size);
        } else if (c == ';') {
          p.state = s_chunk_ext_name_start;
        } else if (is_ws(c)) {
          p.state = s_chunk_size_bws;
        } else if (c == '\r') {
          p.state = s_chunk_size_lf;
        } else {
          return fail(error::bad_chunk_size);
        }
        break;
      case s_chunk_size_bws:
        if (c == ';') p.state = s_chunk_ext_name_start;
        else if (!is_ws(c)) return fail(error::bad_chunk_size);
        break;
      case s_chunk_ext_name_start:
        if (is(c, c_tchar)) p.state = s_chunk_ext_name;
        else if (!is_ws(c)) return fail(error::bad_chunk_extension);
        break;
      case s_chunk_ext_name:
      case s_chunk_ext_after_name:
        if (is(c, c_tchar) && p.state == s_chunk_ext_name) break;
        if (is_ws(c)) p.state = s_chunk_ext_after_name;
        else if (c == '=') p.state = s_chunk_ext_value_start;
        else if (c == ';') p.state = s_chunk_ext_name_start;
        else if (c == '\r') p.state = s_chunk_size_lf;
        else return fail(error::bad_chunk_extension);
        break;
      case s_chunk_ext_value_start:
        if (c == '"') p.state = s_chunk_ext_quoted;
        else if (is(c, c_tchar)) p.state = s_chunk_ext_token;
        else if (!is_ws(c)) return fail(error::bad_chunk_extension);
        break;
      case s_chunk_ext_token:
      case s_chunk_ext_after_value:
        if (is(c, c_tchar) && p.state == s_chunk_ext_token) break;
        if (is_ws(c)) p.state = s_chunk_ext_after_value;
        else if (c == ';') p.state = s_chunk_ext_name_start;
        else if (c == '\r') p.state = s_chunk_size_lf;
        else return fail(error::bad_chunk_extension);
        break;
      case s_chunk_ext_quoted:
        if (c == '"') p.state = s_chunk_ext_after_value;
        else if (c == '\\') p.state = s_chunk_ext_quoted_pair;
        else if (!is(c, c_qdtext)) return fail(error::bad_chunk_extension);
        break;
      case s_chunk_ext_quoted_pair:
        if (!is(c, c_value)) return fail(error::bad_chunk_extension);  // HTAB / SP / VCHAR / obs-text
        p.state = s_chunk_ext_quoted;
        break;
      case s_chunk_size_lf:
        if (c != '\n') return fail(error::bad_chunk_size);
        if (p.count == 0) {  // last chunk: a trailer section follows, same rules as a head
          p.flags |= f_trailers;
          p.nheaders = 0;
          p.kind = k_other;
          p.head_start = at + 1;
          p.state = s_hdr_line_start;
        } else {
          p.state = s_chunk_data;
        }
        break;
      case s_chunk_data_cr:
        if (c != '\r') return fail(error::bad_chunk_data_terminator);
        p.state = s_chunk_data_lf;
        break;
      case s_chunk_data_lf:
        if (c != '\n') return fail(error::bad_chunk_data_terminator);
        start_chunk_line(p);
        break;

      default:  // span-wise states are handled above; s_error never reaches the loop
        return fail(error::truncated_message);
    }
    ++i;
  }
  p.off = base + i;
  return i;
}

error parser_error(const parser& p) { return static_cast<error>(p.err); }

uint64_t parser_offset(const parser& p) { return p.off; }

error parser_finish(parser& p, const parser_callbacks& cb) {
  switch (p.state) {
    case s_error: return static_cast<error>(p.err);
    case s_req_start:
    case s_req_lead_lf:  // only empty lines since the last message
    case s_res_start:
    case s_closed:
    case s_finished:
      p.state = s_finished;
      return error::none;
    case s_body_close:
      emit_end(cb, p.off);
      p.state = s_finished;
      return error::none;
    default:
      p.err = static_cast<uint8_t>(error::truncated_message);
      p.state = s_error;
      return error::truncated_message;
  }
}

bool parser_push_request(parser& p, method m) {
  if (p.dir != static_cast<uint8_t>(direction::response) || p.state == s_error) return false;
  if (p.qcount >= max_pending_requests) {
    p.err = static_cast<uint8_t>(error::pipeline_overflow);
    p.state = s_error;
    return false;
  }
  p.queue |= static_cast<uint64_t>(static_cast<uint8_t>(m) & 0xf) << (4 * p.qcount);
  ++p.qcount;
  return true;
}

size_t parser_state_size() { return sizeof(parser); }

}  // namespace phigate::http
