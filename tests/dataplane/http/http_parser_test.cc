// Vector tests for the incremental HTTP/1.1 parser. The core property: every vector gives the same
// events (heads, de-chunked body bytes with exact stream offsets, message ends, errors) under every
// segmentation from tests/support/segmentation.hh, each piece in a guarded buffer.
#include "dataplane/http/http_parser.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tests/support/segmentation.hh"

namespace phigate::http {
namespace {

using namespace std::string_literals;

const char* method_str(method m) {
  switch (m) {
    case method::other: return "OTHER";
    case method::get: return "GET";
    case method::head: return "HEAD";
    case method::post: return "POST";
    case method::put: return "PUT";
    case method::del: return "DELETE";
    case method::patch: return "PATCH";
    case method::options: return "OPTIONS";
    case method::connect: return "CONNECT";
    case method::trace: return "TRACE";
  }
  return "?";
}

const char* body_str(body_kind b) {
  switch (b) {
    case body_kind::none: return "none";
    case body_kind::content_length: return "cl";
    case body_kind::chunked: return "chunked";
    case body_kind::until_close: return "close";
  }
  return "?";
}

// One line per head; optional fields only when set so vectors stay readable.
std::string format_head(const message_head& h) {
  std::string s = h.dir == direction::request ? "req " : "res ";
  if (h.dir == direction::response) s += std::to_string(h.status) + " ";
  s += method_str(h.meth);
  if (h.dir == direction::request) s += " " + std::string(h.target, h.target_len);
  s += " 1." + std::to_string(h.version_minor);
  s += " body="s + body_str(h.body);
  if (h.content_length) s += " cl=" + std::to_string(h.content_length);
  s += h.keep_alive ? " ka=1" : " ka=0";
  if (h.expect_continue) s += " ec";
  if (h.interim) s += " interim";
  if (h.has_content_encoding) s += " ce";
  if (h.content_type_len) s += " ct=" + std::string(h.content_type, h.content_type_len);
  if (h.target_truncated) s += " trunc";
  s += " head=[" + std::to_string(h.head_start) + "," + std::to_string(h.head_end) + ")";
  if (h.authorization_value_len)
    s += " auth=" + std::to_string(h.authorization_value_off) + "+" + std::to_string(h.authorization_value_len);
  if (h.host_value_len) s += " host=" + std::to_string(h.host_value_off) + "+" + std::to_string(h.host_value_len);
  if (h.content_type_repeated) s += " ct_rep";
  if (h.authorization_repeated) s += " auth_rep";
  if (h.host_repeated) s += " host_rep";
  return s;
}

// Records events; adjacent body callbacks with contiguous offsets merge into one event, so the
// record does not depend on where segments were cut.
struct recorder {
  std::vector<std::string> events;
  uint64_t body_next = UINT64_MAX;
  const uint8_t* piece_begin = nullptr;
  const uint8_t* piece_end = nullptr;
  bool body_outside_piece = false;
  uint64_t last_head_end = 0;
  target_buffer target{};
  bool with_target = true;

  parser_callbacks callbacks() {
    parser_callbacks cb;
    cb.ctx = this;
    if (with_target) cb.target = &target;
    cb.on_head = [](void* ctx, const message_head& h) {
      auto* r = static_cast<recorder*>(ctx);
      r->events.push_back(format_head(h));
      r->body_next = UINT64_MAX;
      r->last_head_end = h.head_end;
    };
    cb.on_body = [](void* ctx, const uint8_t* data, size_t len, uint64_t off) {
      auto* r = static_cast<recorder*>(ctx);
      if (data < r->piece_begin || data + len > r->piece_end || len == 0) r->body_outside_piece = true;
      std::string bytes(reinterpret_cast<const char*>(data), len);
      if (r->body_next == off && !r->events.empty()) {
        r->events.back() += bytes;
      } else {
        r->events.push_back("body@" + std::to_string(off) + ":" + bytes);
      }
      r->body_next = off + len;
    };
    cb.on_message_end = [](void* ctx, uint64_t off) {
      auto* r = static_cast<recorder*>(ctx);
      r->events.push_back("end@" + std::to_string(off));
      r->body_next = UINT64_MAX;
    };
    return cb;
  }
};

struct vector_case {
  std::string name;
  direction dir;
  std::string input;
  std::vector<std::string> expected;
  std::vector<method> pushes = {};
  bool finish = false;
  parser_limits limits = {};
};

std::string err(error e, uint64_t off) { return "error:"s + error_name(e) + "@" + std::to_string(off); }

// Runs one vector under one segmentation and returns its events.
std::vector<std::string> run(const vector_case& v, const test::segmentation& seg) {
  recorder r;
  const parser_callbacks cb = r.callbacks();
  parser p;
  parser_init(p, v.dir, v.limits);
  for (method m : v.pushes) parser_push_request(p, m);
  size_t consumed = 0;
  bool stuck = false;
  test::feed_segmented(v.input, seg, [&](std::span<uint8_t> piece) {
    r.piece_begin = piece.data();
    r.piece_end = piece.data() + piece.size();
    const size_t n = parser_feed(p, piece.data(), piece.size(), cb);
    EXPECT_LE(n, piece.size());
    if (stuck) {
      EXPECT_EQ(n, 0u) << "a parser in error must consume nothing";
    }
    if (n != piece.size()) stuck = true;
    consumed += n;
  });
  EXPECT_FALSE(r.body_outside_piece) << "on_body data must point into the current segment";
  const error e = parser_error(p);
  EXPECT_EQ(stuck, e != error::none);
  EXPECT_EQ(parser_offset(p), consumed);
  if (e != error::none) {
    r.events.push_back(err(e, parser_offset(p)));
    const uint8_t extra = 'x';
    EXPECT_EQ(parser_feed(p, &extra, 1, cb), 0u);
    EXPECT_EQ(parser_error(p), e);
  }
  if (v.finish) r.events.push_back("finish:"s + error_name(parser_finish(p, cb)));
  return r.events;
}

using ev = std::vector<std::string>;
constexpr auto req = direction::request;
constexpr auto res = direction::response;

// "POST / HTTP/1.1\r\n" + te + "\r\n" + body: a 47-byte chunked request head used by many vectors.
const std::string chunked_head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string chunked_head_event = "req POST / 1.1 body=chunked ka=1 head=[0,47)";
// "POST / HTTP/1.1\r\n" is 17 bytes; a header value after "Content-Length: " starts at 33.
const std::string post = "POST / HTTP/1.1\r\n";
const std::string get = "GET / HTTP/1.1\r\n";

std::vector<vector_case> make_vectors() {
  std::vector<vector_case> v;
  // ------------------------------------------------------------------ valid requests
  v.push_back({"simple_get", req, "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
               {"req GET /index.html 1.1 body=none ka=1 head=[0,47) host=32+11", "end@47"}});
  v.push_back({"post_content_length", req,
               "POST /api HTTP/1.1\r\nHost: h\r\nContent-Type: Application/JSON; charset=utf-8\r\n"
               "Content-Length: 13\r\n\r\n{\"a\":\"12345\"}",
               {"req POST /api 1.1 body=cl cl=13 ka=1 ct=application/json head=[0,98) host=26+1",
                "body@98:{\"a\":\"12345\"}", "end@111"}});
  v.push_back({"chunked_extensions_trailers", req,
               "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5;name=val;q=\"a b\\\"c\"\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n",
               {"req POST /up 1.1 body=chunked ka=1 head=[0,49)", "body@72:hello", "body@86: world", "end@116"}});
  v.push_back({"chunked_quoted_pair_and_last_chunk_extension", req,
               chunked_head + "3;a=\"x\\\\\\\"y\";b\r\nabc\r\n0;last\r\nT: 1\r\nU: 2\r\n\r\n",
               {chunked_head_event, "body@63:abc", "end@90"}});
  v.push_back({"chunked_uppercase_hex_and_crlf_in_data", req, chunked_head + "A\r\n0123\r\n5678\r\n0\r\n\r\n",
               {chunked_head_event, "body@50:0123\r\n5678", "end@67"}});
  v.push_back({"chunked_empty_body", req, chunked_head + "0\r\n\r\n", {chunked_head_event, "end@52"}});
  v.push_back({"chunked_leading_zeros_16_digits", req, chunked_head + "0000000000000002\r\nok\r\n0\r\n\r\n",
               {chunked_head_event, "body@65:ok", "end@74"}});
  v.push_back({"transfer_encoding_case_and_ows", req,
               "POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n1\r\nz\r\n0\r\n\r\n",
               {"req POST / 1.1 body=chunked ka=1 head=[0,49)", "body@52:z", "end@60"}});
  v.push_back({"pipelined_requests", req,
               "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
               "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n",
               {"req GET /a 1.1 body=none ka=1 head=[0,28) host=23+1", "end@28",
                "req POST /b 1.1 body=cl cl=3 ka=1 head=[28,67)", "body@67:abc", "end@70",
                "req GET /c 1.1 body=none ka=0 head=[70,108)", "end@108"}});
  v.push_back({"all_known_methods", req,
               "HEAD / HTTP/1.1\r\n\r\nDELETE /d HTTP/1.1\r\n\r\nPATCH /p HTTP/1.1\r\n\r\n"
               "OPTIONS * HTTP/1.1\r\n\r\nCONNECT h:443 HTTP/1.1\r\n\r\nTRACE / HTTP/1.1\r\n\r\n"
               "PUT / HTTP/1.1\r\n\r\n",
               {"req HEAD / 1.1 body=none ka=1 head=[0,19)", "end@19",
                "req DELETE /d 1.1 body=none ka=1 head=[19,41)", "end@41",
                "req PATCH /p 1.1 body=none ka=1 head=[41,62)", "end@62",
                "req OPTIONS * 1.1 body=none ka=1 head=[62,84)", "end@84",
                "req CONNECT h:443 1.1 body=none ka=1 head=[84,110)", "end@110",
                "req TRACE / 1.1 body=none ka=1 head=[110,130)", "end@130",
                "req PUT / 1.1 body=none ka=1 head=[130,148)", "end@148"}});
  v.push_back({"unknown_and_lowercase_methods_are_other", req,
               "PROPFIND /x HTTP/1.1\r\n\r\nget / HTTP/1.1\r\n\r\nGETS / HTTP/1.1\r\n\r\nGE / HTTP/1.1\r\n\r\n",
               {"req OTHER /x 1.1 body=none ka=1 head=[0,24)", "end@24",
                "req OTHER / 1.1 body=none ka=1 head=[24,42)", "end@42",
                "req OTHER / 1.1 body=none ka=1 head=[42,61)", "end@61",
                "req OTHER / 1.1 body=none ka=1 head=[61,78)", "end@78"}});
  v.push_back({"leading_empty_lines_skipped", req, "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 head=[4,22)", "end@22"}});
  v.push_back({"crlf_after_body_before_next_request", req,
               post + "Content-Length: 2\r\n\r\nhi\r\nGET / HTTP/1.1\r\n\r\n",
               {"req POST / 1.1 body=cl cl=2 ka=1 head=[0,38)", "body@38:hi", "end@40",
                "req GET / 1.1 body=none ka=1 head=[42,60)", "end@60"}});
  v.push_back({"http10_keep_alive_then_default_close", req,
               "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
               {"req GET / 1.0 body=none ka=1 head=[0,42)", "end@42",
                "req GET /2 1.0 body=none ka=0 head=[42,61)", "end@61"}});
  v.push_back({"expect_100_continue", req, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
               {"req PUT /x 1.1 body=cl cl=2 ka=1 ec head=[0,60)", "body@60:hi", "end@62"}});
  v.push_back({"expect_case_insensitive_with_ows_but_not_longer", req,
               get + "Expect: 100-Continue \r\n\r\n" + get + "Expect: 100-continuex\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 ec head=[0,41)", "end@41",
                "req GET / 1.1 body=none ka=1 head=[41,82)", "end@82"}});
  v.push_back({"authorization_and_host_offsets_trim_ows", req,
               "GET / HTTP/1.1\r\nAuthorization:   Bearer abc.def  \r\nHost:h\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 head=[0,61) auth=33+14 host=56+1", "end@61"}});
  v.push_back({"repeated_host_and_authorization_flagged_first_kept", req,
               get + "Host: a\r\nAuthorization: x\r\nHost: b\r\nauthorization: y\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 head=[0,72) auth=40+1 host=22+1 auth_rep host_rep", "end@72"}});
  v.push_back({"content_type_params_stripped_last_wins", req,
               get + "Content-Type: text/html\r\ncontent-type: TEXT/Plain ;charset=x\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 ct=text/plain head=[0,80) ct_rep", "end@80"}});
  v.push_back({"content_type_truncated_to_63", req,
               get + "Content-Type: application/" + std::string(70, 'x') + "\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 ct=application/" + std::string(51, 'x') + " head=[0,116)", "end@116"}});
  v.push_back({"target_truncated_at_256", req, "GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n",
               {"req GET /" + std::string(255, 'a') + " 1.1 body=none ka=1 trunc head=[0,318)", "end@318"}});
  v.push_back({"content_encoding_identity_vs_other", req,
               get + "Content-Encoding: Identity \r\n\r\n" + get + "Content-Encoding: gzip\r\n\r\n" + get +
                   "Content-Encoding: identity, gzip\r\n\r\n" + get + "Content-Encoding:\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 head=[0,47)", "end@47",
                "req GET / 1.1 body=none ka=1 ce head=[47,89)", "end@89",
                "req GET / 1.1 body=none ka=1 ce head=[89,141)", "end@141",
                "req GET / 1.1 body=none ka=1 ce head=[141,178)", "end@178"}});
  v.push_back({"connection_lists", req,
               get + "Connection: upgrade\r\n\r\n" + get + "Connection: closed\r\n\r\n" + get +
                   "Connection: keep-alive, Upgrade ,CLOSE\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 head=[0,39)", "end@39",
                "req GET / 1.1 body=none ka=1 head=[39,77)", "end@77",
                "req GET / 1.1 body=none ka=0 head=[77,135)", "end@135"}});
  v.push_back({"content_length_identical_list_accepted", req,
               post + "Content-Length: 3, 3\r\nContent-Length:3\r\n\r\nabc",
               {"req POST / 1.1 body=cl cl=3 ka=1 head=[0,59)", "body@59:abc", "end@62"}});
  v.push_back({"content_length_zero", req, post + "Content-Length: 0\r\n\r\n" + get + "\r\n",
               {"req POST / 1.1 body=cl ka=1 head=[0,38)", "end@38", "req GET / 1.1 body=none ka=1 head=[38,56)",
                "end@56"}});
  v.push_back({"names_extending_interpreted_ones_are_not_interpreted", req,
               get + "Content-Lengthy: x\r\nTransfer-Encodings: gzip\r\nHost2: y\r\nX-U: caf\xc3\xa9\r\nX-E:  \r\n\r\n",
               {"req GET / 1.1 body=none ka=1 head=[0,94)", "end@94"}});
  v.push_back({"framing_fields_in_trailers_are_ignored", req,
               chunked_head + "1\r\na\r\n0\r\nContent-Length: 9\r\nTransfer-Encoding: gzip\r\n\r\n",
               {chunked_head_event, "body@50:a", "end@102"}});
  v.push_back({"head_exactly_at_limit", req, get + "Host: example.com\r\n\r\n",
               {"req GET / 1.1 body=none ka=1 head=[0,37) host=22+11", "end@37"},
               {}, false, {.max_head_bytes = 37}});
  v.push_back({"finish_after_complete_message_is_clean", req, get + "\r\n",
               {"req GET / 1.1 body=none ka=1 head=[0,18)", "end@18", "finish:none"}, {}, true});

  // ------------------------------------------------------------------ request errors
  v.push_back({"bare_lf_request_line", req, "GET / HTTP/1.1\nHost: x\n\n", {err(error::bad_request_line, 14)}});
  v.push_back({"bare_lf_in_header", req, get + "Host: x\nX: y\r\n\r\n", {err(error::bad_header_value, 23)}});
  v.push_back({"bare_lf_ends_head", req, get + "Host: x\r\n\n", {err(error::bad_header_value, 25)}});
  v.push_back({"cr_without_lf_in_value", req, get + "X: a\rb\r\n\r\n", {err(error::bad_header_value, 21)}});
  v.push_back({"double_space_request_line", req, "GET  / HTTP/1.1\r\n\r\n", {err(error::bad_request_line, 4)}});
  v.push_back({"http09_request_line", req, "GET /\r\n\r\n", {err(error::bad_request_line, 5)}});
  v.push_back({"too_many_leading_empty_lines", req, "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
               {err(error::bad_request_line, 8)}});
  v.push_back({"leading_bare_lf", req, "\nGET / HTTP/1.1\r\n\r\n", {err(error::bad_request_line, 0)}});
  v.push_back({"bad_method_char", req, "G(T / HTTP/1.1\r\n\r\n", {err(error::bad_method, 1)}});
  v.push_back({"tls_client_hello", req, "\x16\x03\x01\x02\x00"s, {err(error::bad_method, 0)}});
  v.push_back({"leading_space", req, " GET / HTTP/1.1\r\n\r\n", {err(error::bad_method, 0)}});
  v.push_back({"bad_target_del", req, "GET /a\x7f" "b HTTP/1.1\r\n\r\n", {err(error::bad_target, 6)}});
  v.push_back({"bad_target_non_ascii", req, "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", {err(error::bad_target, 8)}});
  v.push_back({"bad_version_minor", req, "GET / HTTP/1.2\r\n\r\n", {err(error::bad_version, 13)}});
  v.push_back({"bad_version_major", req, "GET / HTTP/2.0\r\n\r\n", {err(error::bad_version, 11)}});
  v.push_back({"bad_version_lowercase", req, "GET / http/1.1\r\n\r\n", {err(error::bad_version, 6)}});
  v.push_back({"bad_version_extra_digit", req, "GET / HTTP/1.10\r\n\r\n", {err(error::bad_version, 14)}});
  v.push_back({"space_before_colon", req, get + "Host : x\r\n\r\n", {err(error::bad_header_name, 20)}});
  v.push_back({"empty_header_name", req, get + ": x\r\n\r\n", {err(error::bad_header_name, 16)}});
  v.push_back({"non_token_header_name", req, get + "Ho(st: x\r\n\r\n", {err(error::bad_header_name, 18)}});
  v.push_back({"control_char_in_value", req, get + "X-A: a\x01" "b\r\n\r\n", {err(error::bad_header_value, 22)}});
  v.push_back({"nul_in_value", req, get + "X-A: \x00\r\n\r\n"s, {err(error::bad_header_value, 21)}});
  v.push_back({"obs_fold", req, get + "X: a\r\n b\r\n\r\n", {err(error::obs_fold, 22)}});
  v.push_back({"whitespace_before_first_header", req, get + "\tX: a\r\n\r\n", {err(error::obs_fold, 16)}});
  v.push_back({"headers_too_large", req, get + "Host: example.com\r\n\r\n", {err(error::headers_too_large, 32)},
               {}, false, {.max_head_bytes = 32}});
  // Regression: uninterpreted values are skipped in a fast loop; it must stop at the head limit
  // rather than at the end of the value (the Host vector above never takes that loop).
  v.push_back({"headers_too_large_inside_uninterpreted_value", req, get + "X-Long: " + std::string(40, 'v') + "\r\n\r\n",
               {err(error::headers_too_large, 32)}, {}, false, {.max_head_bytes = 32}});
  // The trailer section has its own max_head_bytes budget, counted from its first byte (50).
  v.push_back({"trailers_too_large", req, chunked_head + "0\r\nX-T: " + std::string(60, 'a') + "\r\n\r\n",
               {chunked_head_event, err(error::headers_too_large, 100)}, {}, false, {.max_head_bytes = 50}});
  v.push_back({"too_many_headers", req, get + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", {err(error::too_many_headers, 28)},
               {}, false, {.max_headers = 2}});
  v.push_back({"content_length_negative", req, post + "Content-Length: -1\r\n\r\n",
               {err(error::bad_content_length, 33)}});
  v.push_back({"content_length_plus", req, post + "Content-Length: +1\r\n\r\n", {err(error::bad_content_length, 33)}});
  v.push_back({"content_length_two_numbers", req, post + "Content-Length: 1 2\r\n\r\n",
               {err(error::bad_content_length, 35)}});
  v.push_back({"content_length_empty", req, post + "Content-Length: \r\n\r\n", {err(error::bad_content_length, 34)}});
  v.push_back({"content_length_overflow", req, post + "Content-Length: 99999999999999999999\r\n\r\n",
               {err(error::bad_content_length, 52)}});
  v.push_back({"content_length_trailing_comma", req, post + "Content-Length: 5,\r\n\r\n",
               {err(error::bad_content_length, 36)}});
  v.push_back({"content_length_hex", req, post + "Content-Length: 0x10\r\n\r\n", {err(error::bad_content_length, 34)}});
  v.push_back({"content_length_list_differs", req, post + "Content-Length: 5, 6\r\n\r\n",
               {err(error::conflicting_content_length, 38)}});
  v.push_back({"content_length_headers_differ", req, post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
               {err(error::conflicting_content_length, 54)}});
  // Regression: in list-valued fields (Content-Length, Transfer-Encoding, Connection) the bytes
  // after OWS still matter; an early fast path treated "after OWS" as "rest of value ignorable".
  v.push_back({"list_field_bytes_after_ows_not_skipped_content_length", req, post + "Content-Length: 5 ,6\r\n\r\n",
               {err(error::conflicting_content_length, 38)}});
  v.push_back({"list_field_bytes_after_ows_not_skipped_transfer_encoding", req,
               post + "Transfer-Encoding: chunked , gzip\r\n\r\n", {err(error::bad_transfer_encoding, 46)}});
  v.push_back({"list_field_bytes_after_ows_not_skipped_connection", req, get + "Connection: keep-alive , close\r\n\r\n",
               {"req GET / 1.1 body=none ka=0 head=[0,50)", "end@50"}});
  v.push_back({"te_then_cl", req, post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
               {err(error::transfer_encoding_with_content_length, 65)}});
  v.push_back({"cl_then_te", req, post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
               {err(error::transfer_encoding_with_content_length, 65)}});
  v.push_back({"te_gzip_then_chunked", req, post + "Transfer-Encoding: gzip, chunked\r\n\r\n",
               {err(error::bad_transfer_encoding, 36)}});
  v.push_back({"te_chunked_then_gzip", req, post + "Transfer-Encoding: chunked, gzip\r\n\r\n",
               {err(error::bad_transfer_encoding, 45)}});
  v.push_back({"te_chunked_twice_in_list", req, post + "Transfer-Encoding: chunked, chunked\r\n\r\n",
               {err(error::bad_transfer_encoding, 53)}});
  v.push_back({"te_chunked_in_two_headers", req,
               post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
               {err(error::bad_transfer_encoding, 72)}});
  v.push_back({"te_with_parameter", req, post + "Transfer-Encoding: chunked;q=1\r\n\r\n",
               {err(error::bad_transfer_encoding, 43)}});
  v.push_back({"te_empty", req, post + "Transfer-Encoding: \r\n\r\n", {err(error::bad_transfer_encoding, 37)}});
  v.push_back({"te_prefixed_token", req, post + "Transfer-Encoding: xchunked\r\n\r\n",
               {err(error::bad_transfer_encoding, 36)}});
  v.push_back({"te_longer_token", req, post + "Transfer-Encoding: chunkedx\r\n\r\n",
               {err(error::bad_transfer_encoding, 43)}});
  v.push_back({"te_empty_list_element", req, post + "Transfer-Encoding: , chunked\r\n\r\n",
               {err(error::bad_transfer_encoding, 36)}});
  v.push_back({"te_in_http10", req, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
               {err(error::bad_transfer_encoding, 46)}});
  v.push_back({"chunk_size_not_hex", req, chunked_head + "X\r\n", {chunked_head_event, err(error::bad_chunk_size, 47)}});
  v.push_back({"chunk_size_negative", req, chunked_head + "-1\r\n", {chunked_head_event, err(error::bad_chunk_size, 47)}});
  v.push_back({"chunk_size_0x_prefix", req, chunked_head + "0x5\r\nhello\r\n",
               {chunked_head_event, err(error::bad_chunk_size, 48)}});
  v.push_back({"chunk_size_trailing_space", req, chunked_head + "5 \r\nhello\r\n",
               {chunked_head_event, err(error::bad_chunk_size, 49)}});
  v.push_back({"chunk_size_bare_lf", req, chunked_head + "5\nhello\r\n",
               {chunked_head_event, err(error::bad_chunk_size, 48)}});
  v.push_back({"chunk_size_17_digits", req, chunked_head + "00000000000000001\r\nx\r\n",
               {chunked_head_event, err(error::chunk_size_too_large, 63)}});
  v.push_back({"chunk_size_over_limit", req, chunked_head + "10000000001\r\n",
               {chunked_head_event, err(error::chunk_size_too_large, 57)}});
  v.push_back({"chunk_size_over_custom_limit", req, chunked_head + "100\r\n",
               {chunked_head_event, err(error::chunk_size_too_large, 49)}, {}, false, {.max_chunk_size = 255}});
  v.push_back({"chunk_extension_empty_name", req, chunked_head + "5;\r\nhello\r\n",
               {chunked_head_event, err(error::bad_chunk_extension, 49)}});
  v.push_back({"chunk_extension_empty_value", req, chunked_head + "5;a=\r\nhello\r\n",
               {chunked_head_event, err(error::bad_chunk_extension, 51)}});
  v.push_back({"chunk_extension_unterminated_quote", req, chunked_head + "5;a=\"x\r\nhello\r\n",
               {chunked_head_event, err(error::bad_chunk_extension, 53)}});
  v.push_back({"chunk_extension_too_long", req, chunked_head + "5;" + std::string(4100, 'a') + "\r\nhello\r\n",
               {chunked_head_event, err(error::bad_chunk_extension, 47 + 4096)}});
  v.push_back({"chunk_data_terminator", req, chunked_head + "5\r\nhelloX\r\n",
               {chunked_head_event, "body@50:hello", err(error::bad_chunk_data_terminator, 55)}});
  v.push_back({"chunk_data_terminator_lf", req, chunked_head + "5\r\nhello\rX\r\n",
               {chunked_head_event, "body@50:hello", err(error::bad_chunk_data_terminator, 56)}});
  v.push_back({"trailer_space_before_colon", req, chunked_head + "0\r\nX : y\r\n\r\n",
               {chunked_head_event, err(error::bad_trailer, 51)}});
  v.push_back({"trailer_obs_fold", req, chunked_head + "0\r\nX: y\r\n z\r\n\r\n",
               {chunked_head_event, err(error::bad_trailer, 56)}});
  v.push_back({"trailer_bare_lf", req, chunked_head + "0\r\nX: y\n\r\n", {chunked_head_event, err(error::bad_trailer, 54)}});
  v.push_back({"trailer_too_many_fields", req, chunked_head + "0\r\nA: 1\r\nB: 2\r\n\r\n",
               {"req POST / 1.1 body=chunked ka=1 head=[0,47)", err(error::too_many_headers, 56)},
               {}, false, {.max_headers = 1}});
  v.push_back({"data_after_http10_request", req, "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n",
               {"req GET / 1.0 body=none ka=0 head=[0,18)", "end@18", err(error::data_after_close, 18)}});
  v.push_back({"data_after_connection_close", req, get + "Connection: close\r\n\r\n\r\n",
               {"req GET / 1.1 body=none ka=0 head=[0,37)", "end@37", err(error::data_after_close, 37)}});
  v.push_back({"truncated_head", req, get + "Host: x\r\n", {"finish:truncated_message"}, {}, true});
  v.push_back({"truncated_body", req, post + "Content-Length: 10\r\n\r\nabc",
               {"req POST / 1.1 body=cl cl=10 ka=1 head=[0,39)", "body@39:abc", "finish:truncated_message"}, {}, true});
  v.push_back({"truncated_in_trailers", req, chunked_head + "0\r\nX: 1\r\n",
               {chunked_head_event, "finish:truncated_message"}, {}, true});

  // ------------------------------------------------------------------ responses
  v.push_back({"response_content_length", res,
               "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
               {"res 200 GET 1.1 body=cl cl=5 ka=1 ct=text/plain head=[0,64)", "body@64:hello", "end@69"},
               {method::get}});
  v.push_back({"response_chunked_sse", res,
               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
               "7\r\ndata: 1\r\nA\r\ndata: 22\r\n\r\n0\r\n\r\n",
               {"res 200 GET 1.1 body=chunked ka=1 ct=text/event-stream head=[0,80)", "body@83:data: 1",
                "body@95:data: 22\r\n", "end@112"},
               {method::get}});
  v.push_back({"response_100_continue_then_final", res,
               "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
               {"res 100 POST 1.1 body=none ka=1 interim head=[0,25)", "end@25",
                "res 200 POST 1.1 body=cl cl=2 ka=1 head=[25,63)", "body@63:ok", "end@65"},
               {method::post}});
  v.push_back({"response_103_early_hints_then_final", res,
               "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
               {"res 103 GET 1.1 body=none ka=1 interim head=[0,57)", "end@57",
                "res 204 GET 1.1 body=none ka=1 head=[57,84)", "end@84"},
               {method::get}});
  v.push_back({"response_head_204_304_have_no_body", res,
               "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
               "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
               {"res 200 HEAD 1.1 body=none cl=1234 ka=1 head=[0,41)", "end@41",
                "res 204 GET 1.1 body=none ka=1 head=[41,68)", "end@68",
                "res 304 GET 1.1 body=none cl=10 ka=1 head=[68,117)", "end@117"},
               {method::head, method::get, method::get}});
  v.push_back({"response_pipelined_fifo", res,
               "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
               {"res 200 HEAD 1.1 body=none cl=10 ka=1 head=[0,39)", "end@39",
                "res 200 GET 1.1 body=cl cl=2 ka=1 head=[39,77)", "body@77:ok", "end@79"},
               {method::head, method::get}});
  v.push_back({"response_until_close", res, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>body</p>",
               {"res 200 GET 1.1 body=close ka=0 ct=text/html head=[0,44)", "body@44:<p>body</p>", "end@55",
                "finish:none"},
               {method::get}, true});
  v.push_back({"response_http10_until_close", res, "HTTP/1.0 200 OK\r\n\r\nabc",
               {"res 200 GET 1.0 body=close ka=0 head=[0,19)", "body@19:abc", "end@22", "finish:none"},
               {method::get}, true});
  v.push_back({"response_status_without_reason", res,
               "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
               {"res 200 GET 1.1 body=cl ka=1 head=[0,35)", "end@35", "res 404 GET 1.1 body=cl ka=1 head=[35,71)",
                "end@71"},
               {method::get, method::get}});
  v.push_back({"response_connect_non_2xx_has_body", res,
               "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 1\r\n\r\nx",
               {"res 407 CONNECT 1.1 body=cl cl=1 ka=1 head=[0,46)", "body@46:x", "end@47"}, {method::connect}});
  v.push_back({"response_content_encoding_gzip", res, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nz",
               {"res 200 GET 1.1 body=cl cl=1 ka=1 ce head=[0,62)", "body@62:z", "end@63"}, {method::get}});
  v.push_back({"response_connection_close", res, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nz",
               {"res 200 GET 1.1 body=cl cl=1 ka=0 head=[0,57)", "body@57:z", "end@58", "finish:none"},
               {method::get}, true});
  v.push_back({"response_chunked_trailers", res,
               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nDigest: x\r\n\r\n",
               {"res 200 GET 1.1 body=chunked ka=1 head=[0,47)", "body@50:abc", "end@71"}, {method::get}});

  // ------------------------------------------------------------------ response errors
  v.push_back({"response_without_request", res, "HTTP/1.1 200 OK\r\n\r\n", {err(error::response_without_request, 18)}});
  v.push_back({"response_after_all_requests_answered", res,
               "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
               {"res 204 GET 1.1 body=none ka=1 head=[0,27)", "end@27", err(error::response_without_request, 53)},
               {method::get}});
  v.push_back({"status_two_digits", res, "HTTP/1.1 20 OK\r\n\r\n", {err(error::bad_status_line, 11)}, {method::get}});
  v.push_back({"status_double_space", res, "HTTP/1.1  200 OK\r\n\r\n", {err(error::bad_status_line, 9)}, {method::get}});
  v.push_back({"status_four_digits", res, "HTTP/1.1 2000 OK\r\n\r\n", {err(error::bad_status_line, 12)}, {method::get}});
  v.push_back({"status_below_100", res, "HTTP/1.1 099 X\r\n\r\n", {err(error::bad_status_line, 11)}, {method::get}});
  v.push_back({"status_above_599", res, "HTTP/1.1 600 X\r\n\r\n", {err(error::bad_status_line, 11)}, {method::get}});
  v.push_back({"status_line_not_http", res, "XTTP/1.1 200 OK\r\n\r\n", {err(error::bad_status_line, 0)}, {method::get}});
  v.push_back({"status_line_no_space", res, "HTTP/1.1200 OK\r\n\r\n", {err(error::bad_status_line, 8)}, {method::get}});
  v.push_back({"status_line_bare_lf", res, "HTTP/1.1 200 OK\n\r\n", {err(error::bad_status_line, 15)}, {method::get}});
  v.push_back({"status_reason_control_char", res, "HTTP/1.1 200 O\x01K\r\n\r\n", {err(error::bad_status_line, 14)},
               {method::get}});
  v.push_back({"response_leading_crlf_rejected", res, "\r\nHTTP/1.1 200 OK\r\n\r\n", {err(error::bad_status_line, 0)},
               {method::get}});
  v.push_back({"response_bad_version_minor", res, "HTTP/1.2 200 OK\r\n\r\n", {err(error::bad_version, 7)}, {method::get}});
  v.push_back({"response_http2_version", res, "HTTP/2 200\r\n\r\n", {err(error::bad_version, 5)}, {method::get}});
  v.push_back({"response_101_upgrade", res,
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
               {err(error::upgrade_unsupported, 76)}, {method::get}});
  v.push_back({"response_connect_2xx", res, "HTTP/1.1 200 Connection established\r\n\r\n",
               {err(error::upgrade_unsupported, 38)}, {method::connect}});
  v.push_back({"response_te_and_cl", res,
               "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
               {err(error::transfer_encoding_with_content_length, 65)}, {method::get}});
  v.push_back({"response_http10_chunked", res, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
               {err(error::bad_transfer_encoding, 46)}, {method::get}});
  v.push_back({"response_data_after_http10", res,
               "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
               {"res 200 GET 1.0 body=cl cl=2 ka=0 head=[0,38)", "body@38:ok", "end@40", err(error::data_after_close, 40)},
               {method::get, method::get}});
  v.push_back({"response_truncated_chunk", res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
               {"res 200 GET 1.1 body=chunked ka=1 head=[0,47)", "body@50:hel", "finish:truncated_message"},
               {method::get}, true});
  {
    std::vector<method> seventeen(17, method::get);
    v.push_back({"pipeline_overflow", res, "HTTP/1.1 200 OK\r\n\r\n", {err(error::pipeline_overflow, 0)}, seventeen});
  }
  return v;
}

// Vectors print by name, not as a byte dump.
void PrintTo(const vector_case& v, std::ostream* os) { *os << v.name; }

class http_vectors : public ::testing::TestWithParam<vector_case> {};

TEST_P(http_vectors, identical_events_under_every_segmentation) {
  const vector_case& v = GetParam();
  for (const auto& seg : test::all_segmentations(v.input.size())) {
    const auto got = run(v, seg);
    ASSERT_EQ(got, v.expected) << "vector " << v.name << ", segmentation " << test::describe(seg);
  }
}

INSTANTIATE_TEST_SUITE_P(all, http_vectors, ::testing::ValuesIn(make_vectors()),
                         [](const ::testing::TestParamInfo<vector_case>& info) { return info.param.name; });

// Every error has at least one vector, so a new error value cannot go untested silently.
TEST(http_vectors_meta, every_error_has_a_vector) {
  std::vector<bool> seen(static_cast<size_t>(error::upgrade_unsupported) + 1, false);
  for (const auto& v : make_vectors())
    for (const auto& e : v.expected)
      for (size_t i = 1; i < seen.size(); ++i) {
        const std::string name = error_name(static_cast<error>(i));
        if (e == "finish:" + name || e.rfind("error:" + name + "@", 0) == 0) seen[i] = true;
      }
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << error_name(static_cast<error>(i));
}

TEST(http_parser, error_names_are_stable_snake_case) {
  EXPECT_STREQ(error_name(error::none), "none");
  EXPECT_STREQ(error_name(error::obs_fold), "obs_fold");
  EXPECT_STREQ(error_name(error::transfer_encoding_with_content_length), "transfer_encoding_with_content_length");
  EXPECT_STREQ(error_name(error::upgrade_unsupported), "upgrade_unsupported");
  for (int i = 0; i <= static_cast<int>(error::upgrade_unsupported); ++i) {
    const std::string n = error_name(static_cast<error>(i));
    EXPECT_NE(n, "unknown");
    for (char c : n) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << n;
  }
}

TEST(http_parser, state_is_small_fixed_and_reported) {
  EXPECT_EQ(parser_state_size(), sizeof(parser));
  // The Content-Type copy (64) dominates; the rest must stay small. The request-target copy
  // lives in the caller's target_buffer (two parsers per flow, neither needs it in the engine).
  EXPECT_LE(sizeof(parser) - sizeof(parser::ct), 96u);
  EXPECT_LE(sizeof(parser), 160u);
  std::printf("sizeof(phigate::http::parser) = %zu\n", sizeof(parser));
}

// Without a target_buffer (the engine's case) a request head carries no target text but is
// otherwise identical, under every segmentation: the copy is the only thing the buffer changes.
TEST(http_parser, target_copy_needs_a_caller_buffer) {
  const std::string in = "GET /v1/chat/completions?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab"
                         "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  for (const auto& seg : test::all_segmentations(in.size())) {
    std::vector<std::string> got[2];
    for (int with = 0; with < 2; ++with) {
      recorder r;
      r.with_target = with == 1;
      const parser_callbacks cb = r.callbacks();
      parser p;
      parser_init(p, direction::request);
      test::feed_segmented(in, seg, [&](std::span<uint8_t> piece) {
        r.piece_begin = piece.data();
        r.piece_end = piece.data() + piece.size();
        EXPECT_EQ(parser_feed(p, piece.data(), piece.size(), cb), piece.size());
      });
      got[with] = r.events;
    }
    EXPECT_EQ(got[1], (std::vector<std::string>{
                          "req GET /v1/chat/completions?x=1 1.1 body=cl cl=2 ka=1 head=[0,69) host=45+1",
                          "body@69:ab", "end@71", "req POST / 1.1 body=cl ka=1 head=[71,109)", "end@109"}))
        << test::describe(seg);
    EXPECT_EQ(got[0], (std::vector<std::string>{
                          "req GET  1.1 body=cl cl=2 ka=1 trunc head=[0,69) host=45+1", "body@69:ab", "end@71",
                          "req POST  1.1 body=cl ka=1 trunc head=[71,109)", "end@109"}))
        << test::describe(seg);
  }
}

TEST(http_parser, error_state_is_sticky) {
  parser p;
  parser_init(p, direction::request);
  const std::string bad = "GET / HTTP/9.9\r\n\r\n";
  const parser_callbacks cb{};
  EXPECT_EQ(parser_feed(p, reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), cb), 11u);
  EXPECT_EQ(parser_error(p), error::bad_version);
  const std::string good = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parser_feed(p, reinterpret_cast<const uint8_t*>(good.data()), good.size(), cb), 0u);
  EXPECT_EQ(parser_error(p), error::bad_version);
  EXPECT_EQ(parser_finish(p, cb), error::bad_version);
  EXPECT_EQ(parser_offset(p), 11u);
}

TEST(http_parser, push_request_only_on_response_parser_and_bounded) {
  parser rq;
  parser_init(rq, direction::request);
  EXPECT_FALSE(parser_push_request(rq, method::get));
  EXPECT_EQ(parser_error(rq), error::none);

  parser rs;
  parser_init(rs, direction::response);
  for (int i = 0; i < max_pending_requests; ++i) EXPECT_TRUE(parser_push_request(rs, method::get));
  EXPECT_EQ(parser_error(rs), error::none);
  EXPECT_FALSE(parser_push_request(rs, method::get));
  EXPECT_EQ(parser_error(rs), error::pipeline_overflow);
}

TEST(http_parser, data_after_finish_is_rejected) {
  parser p;
  parser_init(p, direction::request);
  const parser_callbacks cb{};
  EXPECT_EQ(parser_finish(p, cb), error::none);
  const uint8_t b = 'G';
  EXPECT_EQ(parser_feed(p, &b, 1, cb), 0u);
  EXPECT_EQ(parser_error(p), error::data_after_close);
}

TEST(http_parser, null_callbacks_are_allowed) {
  parser p;
  parser_init(p, direction::request);
  const std::string in = post + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  EXPECT_EQ(parser_feed(p, reinterpret_cast<const uint8_t*>(in.data()), in.size(), parser_callbacks{}), in.size());
  EXPECT_EQ(parser_error(p), error::none);
}

// Both directions of one flow: the request parser's on_head pushes the method to the response
// parser, as the engine does; pipelined HEAD + GET responses are framed by the pushed methods.
TEST(http_parser, request_heads_drive_response_framing) {
  struct flow {
    parser rq, rs;
    std::vector<std::string> events;
  } f;
  parser_init(f.rq, direction::request);
  parser_init(f.rs, direction::response);
  parser_callbacks rq_cb;
  rq_cb.ctx = &f;
  rq_cb.on_head = [](void* ctx, const message_head& h) {
    auto* fl = static_cast<flow*>(ctx);
    EXPECT_TRUE(parser_push_request(fl->rs, h.meth));
  };
  parser_callbacks rs_cb;
  rs_cb.ctx = &f;
  rs_cb.on_head = [](void* ctx, const message_head& h) { static_cast<flow*>(ctx)->events.push_back(format_head(h)); };
  rs_cb.on_body = [](void* ctx, const uint8_t* d, size_t n, uint64_t off) {
    static_cast<flow*>(ctx)->events.push_back("body@" + std::to_string(off) + ":" + std::string(reinterpret_cast<const char*>(d), n));
  };
  const std::string requests = "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string responses = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_EQ(parser_feed(f.rq, reinterpret_cast<const uint8_t*>(requests.data()), requests.size(), rq_cb), requests.size());
  ASSERT_EQ(parser_feed(f.rs, reinterpret_cast<const uint8_t*>(responses.data()), responses.size(), rs_cb),
            responses.size());
  EXPECT_EQ(f.events, (std::vector<std::string>{"res 200 HEAD 1.1 body=none cl=3 ka=1 head=[0,38)",
                                                "res 200 GET 1.1 body=cl cl=3 ka=1 head=[38,76)", "body@76:abc"}));
}

// Offsets keep counting across messages, feeds and chunk framing: a large chunked body in many
// chunks, fed in uneven pieces, yields body bytes whose offsets map back onto the input exactly.
TEST(http_parser, chunked_body_offsets_map_back_to_input) {
  std::string in = chunked_head;
  std::string body;
  for (int i = 0; i < 40; ++i) {
    std::string chunk(static_cast<size_t>(i * 7 + 1), static_cast<char>('a' + i % 26));
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%x;i=%d\r\n", static_cast<unsigned>(chunk.size()), i);
    in += size_line + chunk + "\r\n";
    body += chunk;
  }
  in += "0\r\n\r\n";
  struct ctx_t {
    const std::string* input;
    std::string got;
    bool offsets_ok = true;
  } ctx{&in, {}, true};
  parser_callbacks cb;
  cb.ctx = &ctx;
  cb.on_body = [](void* c, const uint8_t* d, size_t n, uint64_t off) {
    auto* x = static_cast<ctx_t*>(c);
    if (off + n > x->input->size() || std::memcmp(x->input->data() + off, d, n) != 0) x->offsets_ok = false;
    x->got.append(reinterpret_cast<const char*>(d), n);
  };
  parser p;
  parser_init(p, direction::request);
  size_t off = 0, step = 1;
  while (off < in.size()) {
    const size_t n = std::min(step, in.size() - off);
    ASSERT_EQ(parser_feed(p, reinterpret_cast<const uint8_t*>(in.data()) + off, n, cb), n);
    off += n;
    step = step * 3 % 97 + 1;
  }
  EXPECT_TRUE(ctx.offsets_ok);
  EXPECT_EQ(ctx.got, body);
  EXPECT_EQ(parser_finish(p, cb), error::none);
}

}  // namespace
}  // namespace phigate::http
