#pragma once
// The request hold's contract between the session (which holds a request's packets) and a
// decider (policy, identity, credentials, audit: dataplane/gate). The session copies each
// request's head and body (up to request_hold_config::buffer_bytes) into a per-lcore buffer, keeps
// every packet of it held, and asks the decider once per request: when the request is complete,
// when the buffer is full or the request stopped growing for stall_ns (body_complete == false),
// or on the head alone for Expect: 100-continue.
// The answer is applied to the held packets before any of them leaves.
//
// Thread affinity: the decider runs on the lcore that owns the session; it must not block,
// allocate or log (it may push events into a bounded queue that another thread drains).
#include <atomic>
#include <cstdint>
#include <string_view>

#include "dataplane/flow/flow_key.hh"
#include "dataplane/http/http_parser.hh"
#include "dataplane/scan/response_mode.hh"

namespace phigate::session {

// Views into the held request, valid only during decide().
struct request_info {
  std::string_view method;         // as sent ("POST")
  std::string_view target;         // request-target as sent, full length
  std::string_view host;           // Host value ("" when absent)
  std::string_view authorization;  // Authorization value ("" when absent)
  std::string_view head;           // the whole head, start line to final CRLF
  std::string_view body;           // body bytes held (raw: chunked framing is not removed)
  bool body_complete = true;       // false: the buffer filled, the body is chunked, or 100-continue
  bool authorization_repeated = false;
  http::body_kind body_kind = http::body_kind::none;
  uint64_t content_length = 0;
  flow::ip_family family = flow::ip_family::v4;
  uint8_t client_addr[16] = {};    // 4 bytes used for IPv4
  uint8_t server_addr[16] = {};
  uint16_t client_port = 0, server_port = 0;
  uint32_t request_index = 0;      // 0-based within the connection
  uint64_t conn_id = 0;            // unique per lcore session (audit correlation)
};

enum class request_verdict : uint8_t {
  forward,  // release the request (after the optional rewrite and the durable-audit wait)
  respond,  // inject `response` toward the client, close it (FIN) and reset the server side
  reset,    // reset both sides
  count
};
inline constexpr size_t request_verdict_count = static_cast<size_t>(request_verdict::count);
const char* request_verdict_name(request_verdict v);

struct request_answer {
  request_verdict verdict = request_verdict::reset;
  // forward: replace the Authorization value with these bytes, padded with spaces to the original
  // length. A replacement longer than the original cannot be applied in place (sequence numbers
  // must not change): the session then resets (counted as credential_too_long), so the decider
  // should check first and respond with an error instead.
  bool rewrite_authorization = false;
  std::string_view authorization;
  // forward: release only once the audit writer has made record `wait_seq` durable (0: at once).
  uint64_t wait_seq = 0;
  // respond: a complete HTTP/1.1 response (with Connection: close); the bytes must stay valid
  // until the next decide() on this lcore.
  std::string_view response;
  // forward: how this request's response is masked (the route's masking profile, and whether the
  // caller may read it unmasked). Values only: a flow can outlive the snapshots they came from.
  uint64_t mask_entities = scan::all_entities;
  uint32_t mask_db = 0;  // scan::response_mode::db of mask_entities
  scan::style_override mask_style = scan::style_override::pattern;
  bool unmasked = false;
  // Opaque to the session: handed back in response_info (the decider names the profile with it).
  uint32_t profile_tag = 0;
};

// Responses whose request mode the session keeps per connection: pipelined requests deeper than
// this get the fail-closed mode (scan::default_response_mode: everything masked).
inline constexpr uint32_t response_mode_depth = 4;

// What the session reports when a response (or the connection) ends, for the second audit record.
struct response_info {
  uint64_t conn_id = 0;
  uint32_t request_index = 0;      // the request this response answers
  uint16_t status = 0;             // 0: no response head seen (connection ended first)
  uint64_t response_bytes = 0;     // response stream bytes, head included
  uint32_t findings = 0;           // findings of this response (all entities)
  // Counts per pattern index, `patterns` long; valid only during response_done.
  const uint16_t* findings_by_pattern = nullptr;
  uint32_t patterns = 0;
  uint32_t patterns_db = 0;        // pattern_db::serial() of the database the body was scanned with
  bool aborted = false;            // the connection ended before the response did
  bool unmasked = false;           // served without masks (request_answer::unmasked)
  uint32_t profile_tag = 0;        // request_answer::profile_tag of its request (0: default mode)
};

struct request_decider {
  void* ctx = nullptr;
  request_answer (*decide)(void* ctx, const request_info& req, uint64_t now_ns) = nullptr;
  void (*response_done)(void* ctx, const response_info& resp, uint64_t now_ns) = nullptr;  // optional
  // Highest audit seq made durable by the writer thread (release ordering); required when
  // decide() ever returns wait_seq != 0.
  const std::atomic<uint64_t>* durable = nullptr;
};

struct request_hold_config {
  uint32_t buffers = 64;              // requests being assembled at once per lcore
  uint32_t buffer_bytes = 80 * 1024;  // head + body held for the decision (>= max_head_bytes)
  // A forwarded request still waiting for its durable audit record after this long (the control
  // plane is away or stuck) resets its connection instead of holding the client indefinitely;
  // it is never released unrecorded. 0: wait as long as the flow lives.
  uint64_t audit_wait_timeout_ns = 0;
  // An incomplete request that has not grown for this long is decided on what is held
  // (body_complete false), then the rest streams. Without it a body larger than what the client
  // sends unacknowledged (its congestion window, ~14 KB at first, or the server's window) would
  // wait forever: the server acknowledges nothing while the request is held. 0: only a full
  // buffer or the request's end decides.
  uint64_t stall_ns = 10'000'000;
};

}  // namespace phigate::session
