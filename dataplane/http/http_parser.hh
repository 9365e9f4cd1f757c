#pragma once
// Incremental HTTP/1.1 framing for one direction of one TCP flow.
//
// Why a hand-written byte machine: the engine sees each direction as a reassembled byte stream cut
// into arbitrary segments (1 byte .. 64 KiB) and must mask body bytes in place, so the parser never
// buffers input. Every decision (head fields, body boundaries, errors) depends only on the byte
// sequence, never on where segments are cut; all state that must survive a cut lives in `parser`.
//
// Strictness: this is a security middlebox sitting where request smuggling lives, so framing
// ambiguity is an error, never a guess (RFC 9112 rules, tightened):
//   - CRLF only; a bare LF or a CR not followed by LF is an error (bad_request_line in the request
//     line, bad_status_line in the status line, bad_header_value in the header section,
//     bad_chunk_size / bad_chunk_extension in chunk lines, bad_trailer in trailers).
//   - Transfer-Encoding with Content-Length is an error in both directions; Transfer-Encoding must
//     be exactly `chunked` once (any other coding, `chunked` twice, empty list elements or a
//     Transfer-Encoding on an HTTP/1.0 message -> bad_transfer_encoding).
//   - Content-Length lists are accepted only when every element is the same number.
//   - Whitespace after a chunk size is accepted only before a `;` extension (BWS).
//
// Ownership and threads: a parser is a plain value owned by its flow; one thread (the flow's lcore)
// feeds it. No heap, no exceptions, no locks. Callbacks run synchronously inside parser_feed /
// parser_finish and must not call parser functions on the same parser (pushing to the *other*
// direction's parser is the intended use).
#include <cstddef>
#include <cstdint>

namespace phigate::http {

enum class direction : uint8_t { request, response };
enum class method : uint8_t { other, get, head, post, put, del, patch, options, connect, trace };
enum class body_kind : uint8_t { none, content_length, chunked, until_close };
enum class error : uint8_t {
  none, bad_request_line, bad_method, bad_target, bad_version, bad_status_line,
  bad_header_name, bad_header_value, obs_fold, headers_too_large, too_many_headers,
  bad_content_length, conflicting_content_length,      // duplicate CL with different values, or list
  transfer_encoding_with_content_length, bad_transfer_encoding,  // TE whose final coding isn't chunked, or unknown coding
  bad_chunk_size, chunk_size_too_large, bad_chunk_extension, bad_chunk_data_terminator, bad_trailer,
  pipeline_overflow, response_without_request, truncated_message, data_after_close, upgrade_unsupported };

// Stable snake_case name of an error ("obs_fold"); never null.
const char* error_name(error e);

struct parser_limits {
  uint32_t max_head_bytes = 16384;  // whole head incl. start line and final CRLF; also each trailer section
  uint16_t max_headers = 100;       // header fields per head (and per trailer section)
  uint64_t max_chunk_size = (1ull << 40);
};

// Longest chunk-size line (size, extensions, CRLF) accepted; extensions are the only way to make it
// long, and unbounded extensions are a known resource-exhaustion trick.
inline constexpr uint16_t max_chunk_line_bytes = 4096;
// Empty lines (CRLF) tolerated before a request line (RFC 9112 2.2); one more is bad_request_line.
inline constexpr uint8_t max_leading_empty_lines = 4;
// Requests whose responses are still outstanding, per response parser.
inline constexpr uint8_t max_pending_requests = 16;

// Filled when a message head is complete; valid only during on_head (built on the stack).
struct message_head {
  direction dir; method meth;            // request method; for responses: the method of the matched request
  uint16_t status;                        // responses
  uint8_t version_minor;                  // HTTP/1.0 or 1.1
  body_kind body;
  uint64_t content_length;                // declared Content-Length (0 if absent), even when body is none (HEAD/204/304)
  bool keep_alive;                        // after this message (1.0 default close, 1.1 default keep-alive, Connection header)
  bool expect_continue;                   // request had Expect: 100-continue
  bool interim;                           // 1xx response (not 101): another head follows for the same request
  bool has_content_encoding;              // a Content-Encoding other than identity was present (caller treats body as unmaskable)
  char content_type[64]; uint8_t content_type_len;   // media type only, lowercased, params stripped ("application/json")
  // Request-target (requests): a copy of its first bytes when the caller gave the parser a
  // target_buffer (parser_callbacks::target), else empty; target_truncated when the copy is shorter
  // than the target (always, for a non-empty target, without a buffer).
  char target[256]; uint16_t target_len; bool target_truncated;
  uint64_t head_start, head_end;          // stream offsets [start, end) of the whole head incl. final CRLF
  uint64_t authorization_value_off; uint16_t authorization_value_len;  // value of Authorization header (0 len if absent); for same-length credential swap
  uint64_t host_value_off; uint16_t host_value_len;
  // Repeated fields are not framing errors, but a caller relying on the single value above (decoder
  // choice, credential swap, routing) may want to fail closed. The value reported is the last
  // Content-Type and the first Authorization / Host.
  bool content_type_repeated;
  bool authorization_repeated;
  bool host_repeated;
};

// Where a request parser copies the request-target. Owned by the caller and kept for the whole
// stream (a head may span feeds and the parser buffers no input); only the caller that reads
// message_head::target needs one. Why it lives outside `parser`: the engine keeps a request and a
// response parser per flow and reads the target from neither (the request gate takes it from its
// own copy of the head), so 256 bytes per parser were pure per-flow memory.
struct target_buffer {
  char bytes[256];
};

struct parser_callbacks {
  void* ctx = nullptr;
  void (*on_head)(void* ctx, const message_head& head) = nullptr;
  // Body bytes after de-chunking: data points into the caller's current segment, stream_off is the
  // stream offset of data[0]. Chunk framing (size lines, CRLFs, trailers) is never passed here.
  void (*on_body)(void* ctx, const uint8_t* data, size_t len, uint64_t stream_off) = nullptr;
  // Offset one past the message's last byte. Every on_head is followed by exactly one on_message_end
  // (interim 1xx heads included) unless the stream errors or is truncated first.
  void (*on_message_end)(void* ctx, uint64_t stream_off) = nullptr;
  // Request parsers: the target copy for message_head::target, the same buffer on every feed of a
  // stream (or always null). Ignored by response parsers. Last, so positional initialisers of the
  // callbacks above keep their meaning.
  target_buffer* target = nullptr;
};

// All state of one direction: fixed size, trivially copyable, no pointers. Treat the members as
// private to http_parser.cc; they are public only so the type stays an aggregate value that flow
// tables can embed. Initialise with parser_init.
struct parser {
  uint64_t off;             // stream offset of the next byte to consume (of the bad byte after an error)
  uint64_t head_start;      // first byte of the current head, or of the trailer section
  uint64_t count;           // body bytes left; also the number being parsed (Content-Length, chunk size)
  uint64_t content_length;  // declared Content-Length of the current head
  uint64_t queue;           // response parser: pending request methods, 4 bits each, front in the low nibble
  uint64_t max_chunk_size;
  uint32_t max_head_bytes;
  uint32_t flags;
  uint32_t auth_rel, host_rel;  // value offsets relative to head_start
  uint16_t auth_len, host_len;
  uint16_t max_headers;
  uint16_t nheaders;
  uint16_t status;
  uint16_t cand;            // candidate names (method / header) still matching the token so far
  uint16_t pos;             // bytes matched in the current token / hex digits seen
  uint16_t line_len;        // bytes of the current chunk-size line
  uint16_t target_len;      // bytes of the request-target seen (saturates; copied up to 256 of them)
  uint8_t state, err, dir, meth, version_minor, kind, vs, qcount, leads, ct_len;
  char ct[64];
};

// Resets p to the start of a stream in direction d (stream offset 0).
void parser_init(parser& p, direction d, const parser_limits& lim = {});
// The limits p was initialised with (a new connection on the same parser keeps them).
inline parser_limits parser_get_limits(const parser& p) {
  return parser_limits{p.max_head_bytes, p.max_headers, p.max_chunk_size};
}
// Feeds len bytes. Returns the number of bytes consumed: == len unless an error occurred; on error,
// p is stuck in error state (every further call returns 0 and the same error) and
// parser_error(p) names it. Callbacks may be called several times per feed (pipelining).
size_t parser_feed(parser& p, const uint8_t* data, size_t len, const parser_callbacks& cb);
error parser_error(const parser& p);
// Stream offset of the next byte the parser expects; after an error, the offset of the byte that
// caused it (for logs: an offset and error name never carry PHI).
uint64_t parser_offset(const parser& p);
// The connection closed (FIN) in this direction: completes an until_close body (on_message_end) or
// reports truncated_message if a message was in progress. Returns the error (none if clean).
// Afterwards any further fed byte is data_after_close. Outstanding pushed requests without a
// response are not an error of the response stream.
error parser_finish(parser& p, const parser_callbacks& cb);
// Responses are matched to requests in order (pipelining). The caller pushes each request's method
// when the request head is parsed on the other direction. Bounded queue (16); overflow puts the
// response parser in pipeline_overflow error and returns false. Returns false without effect on a
// request parser or a parser already in error.
bool parser_push_request(parser& response_parser, method m);
size_t parser_state_size();  // sizeof(parser), for reporting

}  // namespace phigate::http
