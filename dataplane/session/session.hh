#pragma once
// The per-packet glue for protected TCP flows: one call per received frame does parse → flow
// lookup/insert → tcp_track → reassembly → engine feed (request and response directions) →
// release of final bytes → masks applied to held payloads → TCP checksum fix, and says what the
// caller must do with the frame.
//
// Ownership: a frame handed in with result `held` belongs to the session until it comes back
// exactly once through session_sink::forward (send it; its payload may have been masked and its
// checksum fixed) or session_sink::drop (free it). Frames with any other result stay the
// caller's, and the session never touches them again. Held frames must stay where they are (the
// session keeps their byte pointer, as the reassembler rewrites and masks payloads in place).
//
// Threads: one session_ctx per lcore (its flow table, reassembly pool, engine scratch, held
// packet records and counters), touched only by that lcore; the engine_config's pattern_db is
// shared read-only. All memory is allocated by session_create(); the packet path allocates nothing.
//
// Request direction: without a decider, requests are forwarded as soon as the engine has seen
// them. With one (request_hold.hh), every request is held until its decision: forward (optionally
// with the Authorization value swapped in place, and after its audit record is durable), respond
// (an injected response to the client, FIN, RST to the server) or reset.
// Response modes: each forwarded request's answer carries how its response is masked (entities,
// style, unmasked); the session queues them per connection (response_mode_depth, in request
// order) and sets the next one on the engine when a final response head arrives. Deeper
// pipelining gets the fail-closed default (everything masked).
// Response direction: bytes leave only below the engine's final offset; hold timer and gap timer
// are checked on every packet of the flow and, for flows holding bytes or waiting on a gap, by
// session_tick() whether or not another packet comes.
//
// Fail closed: an unmaskable response, a request framing error, a reassembly memcap or an
// unfillable gap resets the connection: every held frame of the flow is dropped, the flow is
// removed, and the result describes one RST per side (see rst_spec).
#include <cstddef>
#include <cstdint>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/scan/stream_pool.hh"
#include "dataplane/session/request_hold.hh"
#include "dataplane/flow/flow_table.hh"
#include "dataplane/net/packet_parse.hh"
#include "dataplane/tcp/reassembly.hh"
#include "dataplane/tcp/tcp_tracker.hh"

namespace phigate::session {

// Session recording taps (optional): what leaves, as it leaves. Called on the lcore; the callee
// must only copy into a bounded queue (the writer runs elsewhere).
struct session_recorder {
  void* ctx = nullptr;
  // Payload of a protected frame being forwarded (after masks and the credential swap), with its
  // stream offset; a retransmission repeats offsets already reported.
  void (*on_bytes)(void* ctx, uint64_t conn_id, bool response, uint64_t stream_off, const uint8_t* b, uint32_t n,
                   uint64_t now_ns) = nullptr;
  // A finding in the response stream (raw offsets), for marking masked spans by entity: pattern
  // index `pattern` of the database with serial `db` (pattern_db::serial).
  void (*on_span)(void* ctx, uint64_t conn_id, uint64_t stream_off, uint32_t len, uint32_t pattern, uint32_t db,
                  uint64_t now_ns) = nullptr;
  // The connection ended (closed, reset, evicted, or the session is being destroyed).
  void (*on_end)(void* ctx, uint64_t conn_id, uint64_t now_ns) = nullptr;
};

struct session_config {
  flow::flow_table_config table{};
  tcp::tcp_config tcp{};
  tcp::reasm_config reasm{};
  const engine::engine_config* engine = nullptr;  // outlives the session (db shared read-only)
  uint32_t history_bytes = 64 * 1024;  // per direction per flow slot; a power of two (or 0)
  // Response bodies open at once (0: one per flow slot, so the pool never runs out first). Each
  // takes an engine::body_state (~1.6 KB) and two Hyperscan stream blocks; both pools are
  // reserved at setup and touched only as bodies need them. A body beyond this fails closed
  // (engine_error::no_body_memory).
  uint32_t open_bodies = 0;
  // Hyperscan stream state per channel: the session's pool holds two blocks per open body (plus
  // two for timer-flush probes) of this size (scan::stream_pool_block_for; 0: automatic).
  uint32_t stream_block_bytes = 0;
  // Lower the window every non-SYN frame advertises to history_bytes (when not 0), so a sender
  // never has more unacknowledged bytes in flight than the history can reproduce: a segment lost
  // after the gateway is retransmitted and rewritten instead of resetting the connection. Bounds
  // each connection to history_bytes per round trip.
  bool clamp_window = true;
  // The engine's hold timer: held response bytes older than this are decided (flush_response).
  uint64_t hold_timeout_ns = 2'000'000'000ULL;
  request_decider decider{};      // decide == nullptr: requests are not held
  request_hold_config hold{};
  session_recorder recorder{};
};

// A received frame. `frame` is writable: masks and checksum fixes land in it.
struct packet_ref {
  void* pkt = nullptr;      // caller's handle (an mbuf), returned through session_sink
  uint8_t* frame = nullptr;  // Ethernet header onwards
  uint32_t len = 0;
};

struct session_sink {
  void* ctx = nullptr;
  void (*forward)(void* ctx, void* pkt) = nullptr;  // a held frame may leave now
  void (*drop)(void* ctx, void* pkt) = nullptr;     // a held frame must be freed
};

enum class packet_action : uint8_t {
  forward,  // send the frame now (its payload may have been rewritten, checksum already fixed)
  held,     // the session owns it (comes back through session_sink)
  drop,     // free it (reason in session_result::drop)
  reset,    // free it and send the RSTs described in session_result::rst
  count
};
inline constexpr size_t packet_action_count = static_cast<size_t>(packet_action::count);
const char* packet_action_name(packet_action a);

enum class drop_reason : uint8_t {
  none,
  parse_error,       // see session_counters::parse_errors
  not_tcp,           // the caller sent a non-TCP packet to the protected path
  fragment,          // IP fragment of a protected flow: cannot be inspected
  flow_table_full,   // insert failed (memcap or both buckets full)
  tcp_invalid,       // tracker said drop (see tcp counters for the event)
  reassembly,        // reassembler dropped it (duplicate, out of window, ...: reasm counters)
  packet_records,    // no free held-packet record (cannot happen when sized from reasm_config)
  gateway_closed,    // a packet of a connection the gateway answered and closed (blocked request)
  count
};
inline constexpr size_t drop_reason_count = static_cast<size_t>(drop_reason::count);
const char* drop_reason_name(drop_reason r);

enum class reset_reason : uint8_t {
  none,
  midstream,           // data without a handshake (tcp_config::midstream == reset)
  response_unmaskable, // the engine refused the response (compressed, malformed, framing, ...)
  request_error,       // the engine refused the request stream (framing)
  reasm_memcap,        // per-flow or per-lcore reassembly memcap
  unfillable_gap,      // out-of-order data waited past gap_timeout
  request_refused,     // the decider answered reset
  request_blocked,     // the decider answered with a response (injected; see session_result::rst)
  credential_too_long, // the swapped-in Authorization value is longer than the caller's
  request_buffers,     // no free request hold buffer on this lcore
  request_unparsable,  // a pipelined request's bytes could not be held for its decision
  // A retransmission of bytes we released, not yet acknowledged, older than the history: we can
  // no longer send what we forwarded the first time, and the receiver needs it (history_bytes
  // smaller than the bytes in flight). Reset, rather than dropping every retransmission.
  retransmit_unrecoverable,
  audit_wait_timeout,  // a forwarded request's audit record did not become durable in time
  count
};
inline constexpr size_t reset_reason_count = static_cast<size_t>(reset_reason::count);
const char* reset_reason_name(reset_reason r);

// An RST to build. Addresses, ports and VLANs are those of the current frame, kept (reverse ==
// false: the RST travels like the frame, toward its destination) or swapped (reverse == true:
// toward the frame's sender). `dir` is the same choice in flow terms.
//   toward the server: seq = the server's RCV.NXT (the offending response packet's ack, or the
//     client's next sequence number) , ack = the server's next sequence number;
//   toward the client: seq = the response stream's next unreleased byte (the client's RCV.NXT once
//     what was released arrives), ack = the client's next sequence number.
// Flags are RST|ACK, or for an injected response FIN|PSH|ACK with `payload` (valid until the next
// session call on this lcore).
struct rst_spec {
  flow::flow_dir dir = flow::flow_dir::to_responder;
  bool reverse = false;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;
};

struct session_result {
  packet_action action = packet_action::drop;
  drop_reason drop = drop_reason::none;
  reset_reason reset = reset_reason::none;
  net::parse_error parse = net::parse_error::none;
  uint8_t rst_count = 0;
  rst_spec rst[2];
};

struct session_counters {
  uint64_t actions[packet_action_count] = {};
  uint64_t drops[drop_reason_count] = {};
  uint64_t resets[reset_reason_count] = {};
  uint64_t parse_errors[net::parse_error_count] = {};
  uint64_t engine_errors[engine::engine_error_count] = {};  // indexed by engine::engine_error (response and request)
  uint64_t flows_created = 0;
  uint64_t flows_expired = 0;
  uint64_t held_forwarded = 0;         // held frames released through the sink
  uint64_t held_dropped = 0;           // held frames freed through the sink
  uint64_t checksums_updated = 0;      // rewritten payloads whose TCP checksum was adjusted
  uint64_t windows_clamped = 0;        // frames whose advertised window was lowered (clamp_window)
  uint64_t mask_bytes = 0;             // payload bytes rewritten by engine masks
  uint64_t hold_flushes = 0;           // flush_response() by the hold timer
  uint64_t requests = 0;               // requests seen (heads)
  uint64_t decisions[request_verdict_count] = {};
  uint64_t decisions_partial_body = 0; // decided before the whole body was held
  uint64_t decisions_stalled = 0;      // of which because the request stopped growing (hold.stall_ns)
  uint64_t credential_swaps = 0;
  uint64_t audit_waits = 0;            // forwards that had to wait for a durable audit record
  uint64_t audit_wait_overflow = 0;    // waiting flows beyond the wait list (released on their next packet)
  uint64_t audit_wait_timeouts = 0;    // waiting flows reset after request_hold_config::audit_wait_timeout_ns
  uint64_t responses = 0;              // final (non-1xx) responses ended
  uint64_t responses_unmasked = 0;     // of which served without masks (request_answer::unmasked)
  uint64_t response_mode_overflow = 0; // forwards past response_mode_depth: their responses fully masked
  uint64_t timer_resets = 0;           // flows failed by a timer from session_tick (RSTs on their next packet)
  uint64_t findings = 0;
  // [database slot][pattern]: the engine slot of the database the body was scanned with (a
  // pattern generation k occupies slot k & 1, io/dp_patterns.hh); pattern index 63 collects the rest.
  uint64_t findings_by_pattern[2][64] = {};
};

struct session_ctx;  // opaque, per lcore

// Setup time: allocates everything. nullptr on failure with *why set to a static reason.
session_ctx* session_create(const session_config& cfg, const session_sink& sink, const char** why);
// The calling thread (the session's lcore) takes stream state from this session's pool: call
// once on that thread before the first packet. Without it the thread's streams use malloc.
void session_bind_thread(session_ctx& s);
uint32_t session_stream_block_bytes(const session_ctx& s);
scan::stream_pool_stats session_stream_stats(const session_ctx& s);
core::object_pool_stats session_body_stats(const session_ctx& s);  // engine::body_state pool
// The engine's scanner counters (read from another thread: monitoring only).
const scan::scan_counters& session_scan_stats(const session_ctx& s);
// Drops every held frame through the sink, then frees everything.
void session_destroy(session_ctx* s);

// The packet path.
session_result session_on_packet(session_ctx& s, packet_ref p, uint64_t now_ns);
// Timers, called often by the owner: releases requests whose audit record became durable, runs
// the hold and gap timers of up to `budget` flows that hold bytes (held bytes are flushed and
// released through the sink; a failed flow drops what it held and answers its next packet with
// RSTs), and evicts up to `budget` idle flows (their held frames are dropped). Returns how many
// flows were evicted.
size_t session_tick(session_ctx& s, uint64_t now_ns, size_t budget);

const session_counters& session_stats(const session_ctx& s);

// Pattern database swaps (engine::engine_scratch_adopt), between bursts on the session's lcore:
// bodies that start from now on use `db`. Returns its slot, or -1 while bodies are still open on
// the database it would replace (retry at a later idle point).
int session_adopt_patterns(session_ctx& s, const scan::pattern_db& db, hs_scratch_t* stream_scratch,
                           hs_scratch_t* block_scratch);
// Bodies open on a slot's database; any thread may read it.
int64_t session_open_bodies(const session_ctx& s, int slot);
const tcp::tcp_counters& session_tcp_stats(const session_ctx& s);
const tcp::reasm_counters& session_reasm_stats(const session_ctx& s);
uint32_t session_held_packets(const session_ctx& s);
uint32_t session_live_flows(const session_ctx& s);

}  // namespace phigate::session
