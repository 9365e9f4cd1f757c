#pragma once
// Inline TCP reassembly for one direction of a connection: in-order bytes go to the engine,
// out-of-order packets wait for the gap to fill, and every byte that leaves the appliance is the
// byte the engine inspected (and masked), whatever the sender retransmits.
//
// The model (Suricata inline mode's first-seen-wins, StreamTcpInlineSegmentReplacePacket, adapted
// to an engine that decides release): the reassembler owns the caller's packets between arrival
// and release. Three watermarks, as stream offsets (offset 0 = sequence number ISN + 1):
//   released <= delivered <= (held out-of-order data)
//   [0, released)          forwarded; its last history_size bytes are kept in the history ring
//   [released, delivered)  given to the engine, not yet final: held packets cover it completely
//   past delivered         out-of-order packets, held until the gap fills
// For each arriving packet, bytes below `released` are rewritten from the history ring (the exact,
// masked bytes forwarded before) and bytes overlapping held packets are rewritten from them: the
// first copy of a byte to arrive wins, so a retransmission cannot smuggle different bytes past the
// engine. A packet with no new byte is forwarded at once if all its bytes were released (the
// receiver may have lost them) and dropped otherwise (the held original will go). A packet with
// new bytes is held; the new in-order bytes are delivered to the engine through the sink. Masks
// from the engine are applied to every held copy (reasm_apply_mask); reasm_release() forwards,
// in sequence order, the held packets whose bytes are all below the engine's final offset.
//
// Released bytes older than the ring cannot be reproduced: such a retransmission is dropped and
// counted, unless the receiver has acknowledged those bytes (reasm_on_ack): then it discards them
// unread, so they are overwritten with fill bytes and forwarded, which keeps its ACK clock going
// when the sender missed an ACK.
//
// Fail closed: over a memcap (per direction, per lcore) or with a gap older than gap_timeout the
// result carries an event; the caller resets the connection and calls reasm_abort(), which drops
// every held packet. Nothing unreleased ever leaves.
//
// Ownership and threads: reasm lives in the flow's payload and is touched by the flow's lcore
// only; reasm_pool (segment records, counters, the lcore memcap) is per lcore. Packets and their
// payload bytes stay owned by the caller (mbufs); the reassembler keeps handles to held ones and
// hands each back exactly once through forward() or drop(). The history ring is caller memory.
// No allocation after reasm_pool_create(); no locks; bounded work per call (held segments per
// direction are capped).
#include <cstddef>
#include <cstdint>

#include "dataplane/mask/mask_action.hh"

namespace phigate::tcp {

struct seg_ref {
  void* pkt = nullptr;         // caller's packet handle (an mbuf): opaque here
  uint8_t* payload = nullptr;  // the TCP payload inside the packet: rewrites and masks land here
  uint32_t len = 0;
  uint32_t seq = 0;            // sequence number of payload[0]
  bool fin = false;            // the stream ends at seq + len
};

enum class reasm_drop : uint8_t {
  none,
  duplicate,                  // every byte already held: the first copy will be released
  retransmit_beyond_history,  // released bytes older than the history ring, not acknowledged
  before_stream,              // bytes before the stream's first byte
  beyond_window,              // starts more than max_ahead_bytes past the in-order point
  after_fin,                  // bytes past the FIN
  fin_moved,                  // a FIN at another offset than the first, or before bytes already seen
  memcap_flow,                // over the per-direction segment or byte cap
  memcap_lcore,               // over the per-lcore segment or byte cap
  not_started,                // no reasm_start() yet
  aborted,                    // held when the connection was reset (reasm_abort)
  count
};
inline constexpr size_t reasm_drop_count = static_cast<size_t>(reasm_drop::count);
const char* reasm_drop_name(reasm_drop d);

// Events the caller must act on by resetting the connection.
enum class reasm_event : uint8_t { none, memcap_flow, memcap_lcore, unfillable_gap, count };
inline constexpr size_t reasm_event_count = static_cast<size_t>(reasm_event::count);
const char* reasm_event_name(reasm_event e);

enum class reasm_status : uint8_t {
  held,       // the reassembler owns the packet until forward() or drop()
  forwarded,  // forward() was called for it (rewritten retransmission, or no payload)
  dropped,    // drop() was called for it
};

struct reasm_result {
  reasm_status status = reasm_status::dropped;
  reasm_event event = reasm_event::none;
  reasm_drop drop = reasm_drop::none;
};

struct reasm_config {
  uint32_t max_segments_per_flow = 128;   // held packets per direction
  uint32_t max_bytes_per_flow = 1u << 20;  // held payload bytes per direction
  uint32_t max_segments = 1u << 16;       // held packets per lcore (the pool's size)
  uint64_t max_bytes = 64ull << 20;       // held payload bytes per lcore
  uint32_t max_ahead_bytes = 16u << 20;   // how far past the in-order point a segment may start
  uint64_t gap_timeout_ns = 5'000'000'000ULL;  // out-of-order data waiting this long: unfillable_gap
  uint8_t fill_byte = '*';                // for acknowledged bytes older than the history ring
};

struct reasm_counters {
  uint64_t drops[reasm_drop_count] = {};
  uint64_t events[reasm_event_count] = {};
  uint64_t segments_held = 0;
  uint64_t segments_released = 0;
  uint64_t bytes_delivered = 0;
  uint64_t bytes_released = 0;
  uint64_t retransmits_forwarded = 0;    // packets of released bytes forwarded (rewritten from history)
  uint64_t retransmit_bytes_changed = 0; // bytes of such packets that differed from what was sent
  uint64_t retransmit_bytes_filled = 0;  // acknowledged bytes older than the ring, filled
  uint64_t overlap_packets_rewritten = 0;  // packets whose bytes differed from the first-seen copy
  uint64_t overlap_bytes_rewritten = 0;
  uint64_t late_mask_bytes = 0;          // mask bytes aimed below `released` (engine contract: 0)
};

struct reasm_pool;  // per lcore, opaque

// Setup time. nullptr when valid, else the reason.
const char* reasm_config_check(const reasm_config& cfg);
reasm_pool* reasm_pool_create(const reasm_config& cfg);  // nullptr on invalid config or no memory
void reasm_pool_destroy(reasm_pool* p);
reasm_counters& reasm_pool_counters(reasm_pool& p);
uint32_t reasm_pool_segments_held(const reasm_pool& p);
uint64_t reasm_pool_bytes_held(const reasm_pool& p);

// Callbacks run inside reasm_on_segment/release/abort. They may call reasm_apply_mask (it only
// rewrites payload bytes) but must not call back into on_segment, release or abort.
struct reasm_sink {
  void* ctx = nullptr;
  // Newly in-order bytes for the engine, in stream order, each byte exactly once. The bytes are
  // held payload: the engine's masks may be applied to them (reasm_apply_mask) during the call.
  void (*deliver)(void* ctx, uint64_t stream_off, const uint8_t* bytes, uint32_t len) = nullptr;
  // The FIN became in order at stream_off (once): finish the engine's side of the stream.
  void (*end)(void* ctx, uint64_t stream_off) = nullptr;
  // Send the packet now. `rewritten`: its payload changed since it arrived (recompute the checksum).
  void (*forward)(void* ctx, void* pkt, bool rewritten) = nullptr;
  // Free the packet.
  void (*drop)(void* ctx, void* pkt, reasm_drop why) = nullptr;
};

inline constexpr uint32_t reasm_nil = UINT32_MAX;

// One direction of a connection. Fields are read-only for the caller.
struct reasm {
  reasm_pool* pool = nullptr;
  uint8_t* history = nullptr;  // caller-owned ring: the last history_size released bytes
  uint32_t history_size = 0;   // a power of two, or 0 (no history)
  uint32_t base_seq = 0;       // sequence number of stream offset 0
  uint32_t head = reasm_nil;   // held segments, sorted by offset (ties: arrival order)
  uint32_t tail = reasm_nil;
  uint32_t segments = 0;
  uint32_t held_bytes = 0;
  uint64_t delivered = 0;
  uint64_t released = 0;
  uint64_t acked = 0;          // the receiver acknowledged bytes below this (<= released)
  uint64_t max_end = 0;        // highest end offset accepted
  uint64_t fin_off = UINT64_MAX;
  uint64_t gap_since_ns = 0;   // out-of-order data waiting since (0: none)
  uint8_t fin_state = 0;       // 0 no FIN packet, 1 held, 2 released
  bool started = false;
  bool ended = false;          // end() was called
};

// Setup time, once per flow slot: binds the lcore pool and the history ring (history_size a power
// of two or 0). The binding survives reasm_start/abort.
void reasm_init(reasm& r, reasm_pool* pool, uint8_t* history, uint32_t history_size);
// A new connection's direction: stream offset 0 is base_seq (ISN + 1). Nothing may be held.
void reasm_start(reasm& r, uint32_t base_seq);
// Drops every held packet (reason aborted) and stops the direction until the next reasm_start().
void reasm_abort(reasm& r, const reasm_sink& out);

// One packet of this direction carrying payload and/or FIN. now_ns drives the gap timer.
reasm_result reasm_on_segment(reasm& r, const seg_ref& s, uint64_t now_ns, const reasm_sink& out);
// Forwards, in order, the held packets whose bytes are all below final_off (the engine's final
// offset; clamped to `delivered`). Returns how many.
size_t reasm_release(reasm& r, uint64_t final_off, const reasm_sink& out);
// Applies an engine mask to every held payload it intersects. Returns the bytes rewritten.
size_t reasm_apply_mask(reasm& r, const mask::mask_action& a);
// Overwrites stream bytes [off, off + len) in every held copy with `bytes` (same length: the
// request path's credential swap). Bytes already released cannot change and are counted as late.
size_t reasm_rewrite(reasm& r, uint64_t off, const uint8_t* bytes, uint32_t len);
// The receiver's cumulative ACK for this direction (from packets travelling the other way).
void reasm_on_ack(reasm& r, uint32_t ack);
// Timer: unfillable_gap when out-of-order data has waited gap_timeout without progress.
reasm_event reasm_check(reasm& r, uint64_t now_ns);

}  // namespace phigate::tcp
