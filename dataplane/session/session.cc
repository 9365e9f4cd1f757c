#include "dataplane/session/session.hh"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "dataplane/net/checksum.hh"

namespace phigate::session {

using flow::flow_dir;

namespace {

// A frame the reassembler holds: the reassembler's opaque handle points here, so the forward
// callback can fix the checksum without re-parsing. payload_sum is the ones'-complement sum of the
// payload as it arrived (RFC 1624's m), taken while the bytes are cache-hot.
struct held_pkt {
  void* pkt = nullptr;
  uint8_t* frame = nullptr;
  net::packet_view v;
  uint16_t payload_sum = 0;
  uint32_t next_free = 0;
  flow_dir dir = flow_dir::to_responder;  // for the recorder's stream offset
};
constexpr uint32_t no_record = UINT32_MAX;

constexpr uint32_t no_buf = UINT32_MAX;

// The request hold of one connection (see request_hold.hh). Offsets are request stream offsets.
struct req_gate {
  uint64_t cleared = 0;        // request bytes below this may be released
  uint64_t pending_clear = 0;  // becomes `cleared` once audit record wait_seq is durable
  uint64_t wait_seq = 0;
  uint64_t msg_start = 0;      // first byte of the message being held for its decision
  uint64_t head_end = 0;       // of that message, once its head is parsed
  uint64_t auth_off = 0, host_off = 0;
  uint64_t content_length = 0;
  uint64_t grew_ns = 0;        // when the held message last grew (request_hold_config::stall_ns)
  uint32_t buf = no_buf;       // per-lcore hold buffer holding [msg_start, msg_start + buf_len)
  uint32_t buf_len = 0;
  uint32_t requests = 0;       // heads seen on this connection
  uint32_t forwarded = 0;      // requests allowed
  uint32_t responses = 0;      // final responses ended
  uint16_t auth_len = 0, host_len = 0;
  http::body_kind body = http::body_kind::none;
  bool have_head = false, expect_continue = false, auth_repeated = false;
  bool streaming = false;      // allowed before its end: the rest is released as it arrives
  bool closed = false;         // the gateway answered and closed this connection
  bool waiting_listed = false;
  reset_reason refused = reset_reason::none;  // a decision to act on once the feed returns
  std::string_view response;   // request_blocked: the bytes to inject
};

// Findings of the response in progress: a few (pattern, count) pairs; the rest are summed in
// `other` (the lcore counters keep every pattern).
struct resp_findings {
  static constexpr uint32_t slots = 6;
  uint16_t pattern[slots] = {};
  uint16_t count[slots] = {};
  uint16_t used = 0;
  uint16_t status = 0;
  uint32_t total = 0;
  uint64_t start = 0;          // response stream offset of the current head
  uint32_t profile_tag = 0;    // the mode of this response, once its final head is seen
  uint32_t db = 0;             // pattern_db::serial() of the database its body is scanned with
  uint16_t db_patterns = 0;    // and that database's pattern count
  bool unmasked = false;
  bool mode_taken = false;
};

// Response modes of forwarded requests whose final response has not started, in request order
// (responses come in request order). Past the depth, forwarded requests only count in `overflow`
// and their responses get the fail-closed default mode; once anything overflowed, later requests
// overflow too until the stored ones are used up, so no response ever takes a later one's mode.
struct mode_queue {
  struct entry {
    uint64_t entities;
    uint32_t profile_tag;
    uint32_t db;  // scan::response_mode::db
    scan::style_override style;
    bool unmasked;
  };
  // Stored by field: an array of entries would carry 6 bytes of padding each, per connection.
  uint64_t entities[response_mode_depth];
  uint32_t profile_tag[response_mode_depth];
  uint32_t db[response_mode_depth];
  scan::style_override style[response_mode_depth];
  bool unmasked[response_mode_depth];
  uint8_t head = 0, count = 0;
  uint32_t overflow = 0;
  void put(size_t i, const entry& e) {
    entities[i] = e.entities, profile_tag[i] = e.profile_tag, db[i] = e.db, style[i] = e.style, unmasked[i] = e.unmasked;
  }
  entry get(size_t i) const { return {entities[i], profile_tag[i], db[i], style[i], unmasked[i]}; }
};

// Per-flow state, constructed once per table slot at setup (the engine's Hyperscan streams come
// from the session's pool while a response body is open).
struct session_flow {
  engine::flow_engine eng;  // first: it is cache-line aligned, so nothing pads before it
  tcp::tcp_conn tcp;
  tcp::reasm r[2];
  uint64_t response_final = 0;
  uint64_t conn_id = 0;
  engine::engine_error response_error = engine::engine_error::none;
  engine::engine_error request_error = engine::engine_error::none;
  bool timer_listed = false;                      // in session_ctx::timers
  reset_reason pending_reset = reset_reason::none;  // a timer failed the flow: reset on its next packet
  // Window scale each side announced in its SYN (by flow direction; -1: none). Windows
  // are scaled only when both did (RFC 7323).
  int8_t wscale[2] = {-1, -1};
  req_gate gate;
  resp_findings rf;
  mode_queue modes;
};
// One per flow slot, with flow_entry (72 B) and its index slots (16 B): 1 KB per flow in all.
static_assert(sizeof(session_flow) <= 896, "session_flow grew: it is per-flow state (docs/benchmarks.md)");

}  // namespace

struct session_ctx {
  session_config cfg;
  session_sink sink;
  flow::flow_table* table = nullptr;
  tcp::reasm_pool* pool = nullptr;
  engine::engine_scratch* x = nullptr;
  scan::stream_pool* streams = nullptr;  // Hyperscan stream state of open bodies
  std::unique_ptr<uint8_t[]> history;  // capacity * 2 * history_bytes
  std::vector<held_pkt> recs;
  uint32_t free_head = no_record;
  uint32_t held = 0;
  bool engines_ready = false;
  // Request hold buffers (request_hold_config) and the flows waiting for a durable audit record.
  std::unique_ptr<uint8_t[]> hold_mem;
  std::vector<uint32_t> hold_free;
  struct waiter { uint32_t slot; uint64_t conn_id; };
  struct audit_waiter { uint32_t slot; uint64_t conn_id; uint64_t since_ns; };  // since: for audit_wait_timeout_ns
  std::vector<audit_waiter> waiters;
  size_t waiter_count = 0;
  // Flows with held response bytes or an open gap: their timers run from session_tick() even when
  // no packet of theirs arrives (a model pausing mid-stream must not keep a token held).
  std::vector<waiter> timers;
  size_t timer_count = 0, timer_cursor = 0;
  uint64_t next_conn_id = 0;
  std::vector<uint16_t> findings_scratch;  // response_info::findings_by_pattern (zero between uses)
  session_counters n;
  tcp::tcp_counters tn;
};

const char* packet_action_name(packet_action a) {
  static const char* const names[] = {"forward", "held", "drop", "reset"};
  return a < packet_action::count ? names[static_cast<size_t>(a)] : "unknown";
}
const char* drop_reason_name(drop_reason r) {
  static const char* const names[] = {"none", "parse_error", "not_tcp", "fragment", "flow_table_full",
                                      "tcp_invalid", "reassembly", "packet_records", "gateway_closed"};
  return r < drop_reason::count ? names[static_cast<size_t>(r)] : "unknown";
}
const char* request_verdict_name(request_verdict v) {
  static const char* const names[] = {"forward", "respond", "reset"};
  return v < request_verdict::count ? names[static_cast<size_t>(v)] : "unknown";
}
const char* reset_reason_name(reset_reason r) {
  static const char* const names[] = {"none", "midstream", "response_unmaskable", "request_error", "reasm_memcap",
                                      "unfillable_gap", "request_refused", "request_blocked", "credential_too_long",
                                      "request_buffers", "request_unparsable", "retransmit_unrecoverable",
                                      "audit_wait_timeout"};
  static_assert(std::size(names) == reset_reason_count);
  return r < reset_reason::count ? names[static_cast<size_t>(r)] : "unknown";
}

namespace {

inline flow_dir request_dir(const session_flow& f) { return f.tcp.client_dir; }
inline flow_dir response_dir(const session_flow& f) { return flow::dir_other(f.tcp.client_dir); }

uint64_t durable_seq(const session_ctx& s) {
  return s.cfg.decider.durable ? s.cfg.decider.durable->load(std::memory_order_acquire) : 0;
}

// How far the request stream may be released: everything seen without a decider; with one, what
// decisions allowed, once their audit record is durable.
uint64_t request_release_limit(const session_ctx& s, session_flow& f, const tcp::reasm& r) {
  if (s.cfg.decider.decide == nullptr) return r.delivered;
  req_gate& g = f.gate;
  if (g.wait_seq != 0) {
    if (durable_seq(s) < g.wait_seq) return g.cleared;
    g.wait_seq = 0;
    g.cleared = std::max(g.cleared, g.pending_clear);
  }
  return g.streaming ? r.delivered : g.cleared;
}

held_pkt* record_alloc(session_ctx& s) {
  if (s.free_head == no_record) return nullptr;
  held_pkt* h = &s.recs[s.free_head];
  s.free_head = h->next_free;
  ++s.held;
  return h;
}
void record_free(session_ctx& s, held_pkt* h) {
  h->pkt = nullptr;
  h->frame = nullptr;
  h->next_free = static_cast<uint32_t>(h - s.recs.data());
  std::swap(h->next_free, s.free_head);
  --s.held;
}

// The context of one session_on_packet (or timer) call, for the reassembler's and engine's sinks.
struct call {
  session_ctx* s;
  session_flow* f;
  flow_dir d;               // direction of the bytes being delivered
  held_pkt* current;        // the frame of this call, while the reassembler may hold it
  packet_action outcome;    // what happened to `current` inside the reassembler
  uint64_t now;
  uint32_t slot = 0;               // flow table slot of f
  const net::packet_view* v = nullptr;  // the current frame (addresses for the decider)
  const uint8_t* frame = nullptr;
  flow_dir frame_dir = flow_dir::to_responder;
  const uint8_t* chunk = nullptr;  // request bytes being fed (for the hold buffer)
  uint64_t chunk_off = 0;
  uint32_t chunk_len = 0;
};

// ---- Request hold -------------------------------------------------------------------------------

uint8_t* hold_buf(session_ctx& s, uint32_t i) { return s.hold_mem.get() + uint64_t{i} * s.cfg.hold.buffer_bytes; }

void hold_buf_put(session_ctx& s, req_gate& g) {
  if (g.buf == no_buf) return;
  s.hold_free.push_back(g.buf);  // capacity reserved at setup: never allocates
  g.buf = no_buf;
  g.buf_len = 0;
}

void gate_refuse(req_gate& g, reset_reason why) {
  if (g.refused == reset_reason::none) g.refused = why;
}

bool gate_deciding(const req_gate& g) { return !g.streaming && !g.closed && g.refused == reset_reason::none; }

// A held request waiting for more of itself (request_hold_config::stall_ns).
bool request_may_stall(const session_ctx& s, const session_flow& f) {
  return s.cfg.decider.decide != nullptr && s.cfg.hold.stall_ns != 0 && gate_deciding(f.gate) && f.gate.have_head;
}

// Copies the current chunk's bytes of the held message into its buffer (as far as it goes).
void gate_fill(call& c) {
  session_ctx& s = *c.s;
  req_gate& g = c.f->gate;
  if (!gate_deciding(g) || c.chunk == nullptr) return;
  const uint64_t have = g.msg_start + g.buf_len, chunk_end = c.chunk_off + c.chunk_len;
  if (chunk_end <= have) return;
  if (have < c.chunk_off) return gate_refuse(g, reset_reason::request_unparsable);  // bytes we never kept
  const uint32_t room = s.cfg.hold.buffer_bytes - g.buf_len;
  const uint64_t n = std::min<uint64_t>(chunk_end - have, room);
  if (n == 0) return;
  if (g.buf == no_buf) {
    if (s.hold_free.empty()) return gate_refuse(g, reset_reason::request_buffers);
    g.buf = s.hold_free.back();
    s.hold_free.pop_back();
  }
  std::memcpy(hold_buf(s, g.buf) + g.buf_len, c.chunk + (have - c.chunk_off), n);
  g.buf_len += static_cast<uint32_t>(n);
  g.grew_ns = c.now;
}

void list_waiter(session_ctx& s, session_flow& f, uint32_t slot, uint64_t now_ns) {
  if (f.gate.waiting_listed) return;
  if (s.waiter_count == s.waiters.size()) {
    ++s.n.audit_wait_overflow;  // still released by its own next packet or ACK
    return;
  }
  s.waiters[s.waiter_count++] = {slot, f.conn_id, now_ns};
  f.gate.waiting_listed = true;
}

void mode_push(session_ctx& s, session_flow& f, const request_answer& a) {
  mode_queue& m = f.modes;
  if (m.overflow != 0 || m.count == response_mode_depth) {
    ++m.overflow;
    ++s.n.response_mode_overflow;
    return;
  }
  m.put((m.head + m.count) % response_mode_depth, {a.mask_entities, a.profile_tag, a.mask_db, a.mask_style, a.unmasked});
  ++m.count;
}

// The mode of the oldest forwarded request without a response (the default when none is queued:
// no decider, or a response nobody asked for). `take` consumes it.
mode_queue::entry mode_front(mode_queue& m, bool take) {
  mode_queue::entry e{scan::default_response_mode.entities, 0, 0, scan::default_response_mode.style, false};
  if (m.count != 0) {
    e = m.get(m.head);
    if (take) {
      m.head = static_cast<uint8_t>((m.head + 1) % response_mode_depth);
      --m.count;
    }
  } else if (m.overflow != 0 && take) {
    --m.overflow;
  }
  return e;
}

// Asks the decider about the held message ending at `end` (UINT64_MAX: not ended yet).
void gate_decide(call& c, uint64_t end) {
  session_ctx& s = *c.s;
  session_flow& f = *c.f;
  req_gate& g = f.gate;
  const uint8_t* b = g.buf == no_buf ? nullptr : hold_buf(s, g.buf);
  const uint64_t held_end = g.msg_start + g.buf_len;
  if (!g.have_head || b == nullptr || g.head_end > held_end) return gate_refuse(g, reset_reason::request_unparsable);
  auto view = [&](uint64_t off, uint64_t len) {
    if (off < g.msg_start || off + len > held_end) return std::string_view{};
    return std::string_view(reinterpret_cast<const char*>(b + (off - g.msg_start)), len);
  };
  request_info ri;
  const std::string_view head = view(g.msg_start, g.head_end - g.msg_start);
  size_t p = 0;
  while (p < head.size() && (head[p] == '\r' || head[p] == '\n')) ++p;  // tolerated leading CRLFs
  const size_t sp1 = head.find(' ', p);
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : head.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return gate_refuse(g, reset_reason::request_unparsable);
  ri.method = head.substr(p, sp1 - p);
  ri.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
  ri.head = head.substr(p);
  ri.host = view(g.host_off, g.host_len);
  ri.authorization = view(g.auth_off, g.auth_len);
  ri.authorization_repeated = g.auth_repeated;
  const uint64_t body_end = end == UINT64_MAX ? held_end : std::min(end, held_end);
  ri.body = view(g.head_end, body_end - g.head_end);
  ri.body_complete = end != UINT64_MAX && end <= held_end && g.body != http::body_kind::chunked;
  ri.body_kind = g.body;
  ri.content_length = g.content_length;
  if (c.v == nullptr) {
    // From a timer (no frame at hand): the addresses come from the flow's key. The client is the
    // connection's initiator unless the handshake was seen the other way round.
    const flow::flow_entry& e = flow::flow_table_entry_at(*s.table, c.slot);
    const bool client_initiated = f.tcp.client_dir == flow_dir::to_responder;
    const bool client_lo = client_initiated != e.initiator_swapped;
    const bool v4 = e.key.family == flow::ip_family::v4;
    const uint32_t skip = v4 ? 12 : 0, alen = v4 ? 4 : 16;
    ri.family = e.key.family;
    std::memcpy(ri.client_addr, (client_lo ? e.key.lo_addr : e.key.hi_addr) + skip, alen);
    std::memcpy(ri.server_addr, (client_lo ? e.key.hi_addr : e.key.lo_addr) + skip, alen);
    ri.client_port = client_lo ? e.key.lo_port : e.key.hi_port;
    ri.server_port = client_lo ? e.key.hi_port : e.key.lo_port;
  } else {
    const net::packet_view& v = *c.v;
    const uint32_t alen = v.family == flow::ip_family::v4 ? 4 : 16;
    const bool from_client = c.frame_dir == f.tcp.client_dir;
    ri.family = v.family;
    std::memcpy(ri.client_addr, c.frame + (from_client ? net::src_addr_off(v) : net::dst_addr_off(v)), alen);
    std::memcpy(ri.server_addr, c.frame + (from_client ? net::dst_addr_off(v) : net::src_addr_off(v)), alen);
    ri.client_port = from_client ? v.sport : v.dport;
    ri.server_port = from_client ? v.dport : v.sport;
  }
  ri.request_index = g.requests - 1;
  ri.conn_id = f.conn_id;
  const request_answer a = s.cfg.decider.decide(s.cfg.decider.ctx, ri, c.now);
  ++s.n.decisions[static_cast<size_t>(a.verdict < request_verdict::count ? a.verdict : request_verdict::reset)];
  if (!ri.body_complete) ++s.n.decisions_partial_body;
  if (a.verdict == request_verdict::respond) {
    // An injected answer is only coherent when nothing else is owed to the client.
    if (g.forwarded != g.responses || a.response.empty()) return gate_refuse(g, reset_reason::request_refused);
    g.response = a.response;
    return gate_refuse(g, reset_reason::request_blocked);
  }
  if (a.verdict != request_verdict::forward) return gate_refuse(g, reset_reason::request_refused);
  if (a.rewrite_authorization) {
    if (g.auth_len == 0 || a.authorization.size() > g.auth_len)
      return gate_refuse(g, reset_reason::credential_too_long);
    tcp::reasm& rq = f.r[flow::dir_index(f.tcp.client_dir)];
    // The value is rewritten piecewise so no buffer is needed: replacement, then spaces.
    tcp::reasm_rewrite(rq, g.auth_off, reinterpret_cast<const uint8_t*>(a.authorization.data()),
                       static_cast<uint32_t>(a.authorization.size()));
    static constexpr uint8_t spaces[64] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
                                           ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
                                           ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
                                           ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    for (uint64_t o = a.authorization.size(); o < g.auth_len; o += sizeof spaces) {
      const uint32_t k = static_cast<uint32_t>(std::min<uint64_t>(sizeof spaces, g.auth_len - o));
      tcp::reasm_rewrite(rq, g.auth_off + o, spaces, k);
    }
    ++s.n.credential_swaps;
  }
  ++g.forwarded;
  mode_push(s, f, a);
  const bool waits = a.wait_seq != 0 && durable_seq(s) < a.wait_seq;
  if (waits) {
    g.wait_seq = std::max(g.wait_seq, a.wait_seq);
    ++s.n.audit_waits;
    list_waiter(s, f, c.slot, c.now);
  }
  if (end == UINT64_MAX) {
    g.streaming = true;  // released as it arrives (after the wait, if any)
    hold_buf_put(s, g);
    return;
  }
  // The message is complete: what follows it in the buffer is the next (pipelined) message.
  // While any earlier record is not durable, nothing after it may go either (release is in order).
  if (g.wait_seq != 0) g.pending_clear = std::max(g.pending_clear, end);
  else g.cleared = std::max(g.cleared, end);
  const uint64_t keep = held_end > end ? held_end - end : 0;
  if (keep != 0) std::memmove(hold_buf(s, g.buf), hold_buf(s, g.buf) + (end - g.msg_start), keep);
  g.buf_len = static_cast<uint32_t>(keep);
  if (keep == 0) hold_buf_put(s, g);
  g.msg_start = end;
  g.have_head = false;
}

void gate_on_head(call& c, const http::message_head& h) {
  req_gate& g = c.f->gate;
  ++g.requests;
  ++c.s->n.requests;
  if (c.s->cfg.decider.decide == nullptr || g.streaming) return;
  g.have_head = true;
  g.head_end = h.head_end;
  g.auth_len = h.authorization_value_len;
  g.auth_off = h.authorization_value_off;
  g.host_off = h.host_value_off;
  g.host_len = h.host_value_len;
  g.auth_repeated = h.authorization_repeated;
  g.body = h.body;
  g.content_length = h.content_length;
  g.expect_continue = h.expect_continue;
}

void gate_on_end(call& c, uint64_t end) {
  req_gate& g = c.f->gate;
  if (c.s->cfg.decider.decide == nullptr || g.closed || g.refused != reset_reason::none) return;
  if (g.streaming) {
    g.streaming = false;
    if (g.wait_seq != 0) g.pending_clear = std::max(g.pending_clear, end);
    else g.cleared = std::max(g.cleared, end);
    g.msg_start = end;
    g.have_head = false;
    gate_fill(c);  // the next pipelined message may start in this chunk
    return;
  }
  gate_decide(c, end);
}

// After a feed: decide early when the buffer is full or the client waits for 100-continue.
void gate_after_feed(call& c) {
  req_gate& g = c.f->gate;
  if (c.s->cfg.decider.decide == nullptr || !gate_deciding(g) || !g.have_head) return;
  const bool full = g.buf_len == c.s->cfg.hold.buffer_bytes;
  if (full || g.expect_continue) gate_decide(c, UINT64_MAX);
}

void note_finding(call& c, const scan::finding& fd) {
  session_ctx& s = *c.s;
  resp_findings& rf = c.f->rf;
  if (rf.db == 0) {
    // The database this body is scanned with: its indexes name the findings' patterns.
    if (const scan::pattern_db* db = engine::flow_engine_body_db(c.f->eng)) {
      rf.db = db->serial();
      rf.db_patterns = static_cast<uint16_t>(db->patterns().size());
    }
  }
  if (s.cfg.recorder.on_span != nullptr)
    s.cfg.recorder.on_span(s.cfg.recorder.ctx, c.f->conn_id, fd.raw_start,
                           static_cast<uint32_t>(fd.raw_end - fd.raw_start), fd.pattern, rf.db, c.now);
  ++s.n.findings;
  ++s.n.findings_by_pattern[engine::flow_engine_body_slot(c.f->eng) & 1][std::min<uint32_t>(fd.pattern, 63)];
  ++rf.total;
  for (uint16_t i = 0; i < rf.used; ++i)
    if (rf.pattern[i] == fd.pattern) {
      if (rf.count[i] != UINT16_MAX) ++rf.count[i];
      return;
    }
  if (rf.used < resp_findings::slots) {
    rf.pattern[rf.used] = static_cast<uint16_t>(fd.pattern);
    rf.count[rf.used++] = 1;
  }
}

void report_response(session_ctx& s, session_flow& f, uint64_t end, bool aborted, uint64_t now) {
  resp_findings& rf = f.rf;
  if (s.cfg.decider.response_done != nullptr) {
    for (uint16_t i = 0; i < rf.used; ++i)
      if (rf.pattern[i] < s.findings_scratch.size()) s.findings_scratch[rf.pattern[i]] = rf.count[i];
    response_info ri;
    ri.conn_id = f.conn_id;
    ri.request_index = f.gate.responses;
    ri.status = rf.status;
    ri.response_bytes = end - rf.start;
    ri.findings = rf.total;
    ri.findings_by_pattern = s.findings_scratch.data();
    ri.patterns = std::min<uint32_t>(rf.db_patterns, static_cast<uint32_t>(s.findings_scratch.size()));
    ri.patterns_db = rf.db;
    ri.aborted = aborted;
    if (rf.mode_taken) {
      ri.unmasked = rf.unmasked;
      ri.profile_tag = rf.profile_tag;
    } else {
      // Ended before its head: name the mode it would have had.
      const mode_queue::entry m = mode_front(f.modes, false);
      ri.unmasked = m.unmasked;
      ri.profile_tag = m.profile_tag;
    }
    s.cfg.decider.response_done(s.cfg.decider.ctx, ri, now);
    for (uint16_t i = 0; i < rf.used; ++i)
      if (rf.pattern[i] < s.findings_scratch.size()) s.findings_scratch[rf.pattern[i]] = 0;
  }
  const uint64_t start = end;
  rf = resp_findings{};
  rf.start = start;
}


void note_response(call& k, const engine::feed_result& fr) {
  session_flow& f = *k.f;
  if (fr.error != engine::engine_error::none) {
    if (f.response_error == engine::engine_error::none) {
      f.response_error = fr.error;
      ++k.s->n.engine_errors[static_cast<size_t>(fr.error)];
    }
  } else {
    f.response_final = std::max(f.response_final, fr.final_offset);
  }
}

engine::engine_sink engine_sink_for(call* k) {
  engine::engine_sink es;
  es.ctx = k;
  es.on_mask = [](void* ctx, const mask::mask_action& a) {
    call& c = *static_cast<call*>(ctx);
    c.s->n.mask_bytes += tcp::reasm_apply_mask(c.f->r[flow::dir_index(response_dir(*c.f))], a);
  };
  es.on_finding = [](void* ctx, const scan::finding& fd) { note_finding(*static_cast<call*>(ctx), fd); };
  es.on_request_head = [](void* ctx, const http::message_head& h) { gate_on_head(*static_cast<call*>(ctx), h); };
  es.on_request_end = [](void* ctx, uint64_t off) { gate_on_end(*static_cast<call*>(ctx), off); };
  es.on_response_head = [](void* ctx, const http::message_head& h, engine::body_codec) {
    call& c = *static_cast<call*>(ctx);
    if (h.interim) return;
    session_flow& f = *c.f;
    f.rf.status = h.status;
    // Runs before the engine opens this body's channels: the mode applies to this response.
    const mode_queue::entry m = mode_front(f.modes, true);
    engine::set_response_mode(f.eng, scan::response_mode{m.entities, m.style, m.unmasked, m.db});
    f.rf.profile_tag = m.profile_tag;
    f.rf.unmasked = m.unmasked;
    f.rf.mode_taken = true;
  };
  es.on_response_end = [](void* ctx, uint64_t off) {
    call& c = *static_cast<call*>(ctx);
    session_flow& f = *c.f;
    if (f.rf.status == 0 || f.rf.status >= 200 || f.rf.status == 101) {
      ++c.s->n.responses;
      if (f.rf.unmasked) ++c.s->n.responses_unmasked;
      report_response(*c.s, f, off, false, c.now);
      ++f.gate.responses;
    } else {
      f.rf.start = off;  // an interim 1xx: the final head follows
    }
  };
  return es;
}

// The frame's payload as it leaves, with its 64-bit stream offset (from the 32-bit sequence
// number, taken next to the direction's release point).
void record_bytes(call& c, const held_pkt& h) {
  const tcp::reasm& r = c.f->r[flow::dir_index(h.dir)];
  const uint32_t rel = h.v.seq - r.base_seq;
  uint64_t off = (r.released & ~uint64_t{0xffffffff}) | rel;
  if (off > r.released + (uint64_t{1} << 31) && off >= (uint64_t{1} << 32)) off -= uint64_t{1} << 32;
  const session_recorder& rec = c.s->cfg.recorder;
  rec.on_bytes(rec.ctx, c.f->conn_id, h.dir != c.f->tcp.client_dir, off, h.frame + h.v.payload_off, h.v.payload_len,
               c.now);
}

void fix_checksum(session_ctx& s, held_pkt& h) {
  const net::packet_view& v = h.v;
  if (v.payload_len == 0) return;
  const bool odd = ((v.payload_off - v.l4_off) & 1) != 0;
  const uint16_t now_sum = net::checksum_range_sum(h.frame + v.payload_off, v.payload_len, odd);
  if (now_sum == h.payload_sum) return;
  const uint16_t c = net::tcp_checksum_field(h.frame, v);
  net::set_tcp_checksum_field(h.frame, v, net::checksum_adjust(c, h.payload_sum, now_sum));
  ++s.n.checksums_updated;
}

tcp::reasm_sink reasm_sink_for(call* k) {
  tcp::reasm_sink rs;
  rs.ctx = k;
  rs.deliver = [](void* ctx, uint64_t off, const uint8_t* b, uint32_t n) {
    call& c = *static_cast<call*>(ctx);
    session_flow& f = *c.f;
    const engine::engine_sink es = engine_sink_for(&c);
    if (c.d == request_dir(f)) {
      c.chunk = b;
      c.chunk_off = off;
      c.chunk_len = n;
      if (c.s->cfg.decider.decide != nullptr) gate_fill(c);
      const engine::feed_result fr = engine::feed_request(f.eng, *c.s->x, b, n, c.now, es);
      gate_after_feed(c);
      c.chunk = nullptr;
      if (fr.error != engine::engine_error::none && f.request_error == engine::engine_error::none) {
        f.request_error = fr.error;
        ++c.s->n.engine_errors[static_cast<size_t>(fr.error)];
      }
    } else if (f.response_error == engine::engine_error::none) {
      note_response(c, engine::feed_response(f.eng, *c.s->x, b, n, c.now, es));
    }
  };
  rs.end = [](void* ctx, uint64_t) {
    call& c = *static_cast<call*>(ctx);
    if (c.d != response_dir(*c.f) || c.f->response_error != engine::engine_error::none) return;
    note_response(c, engine::finish_response(c.f->eng, *c.s->x, c.now, engine_sink_for(&c)));
  };
  rs.forward = [](void* ctx, void* pkt, bool rewritten) {
    call& c = *static_cast<call*>(ctx);
    held_pkt* h = static_cast<held_pkt*>(pkt);
    if (rewritten) fix_checksum(*c.s, *h);
    if (c.s->cfg.recorder.on_bytes != nullptr && h->v.payload_len != 0) record_bytes(c, *h);
    if (h == c.current) {
      c.outcome = packet_action::forward;
      c.current = nullptr;
    } else {
      ++c.s->n.held_forwarded;
      c.s->sink.forward(c.s->sink.ctx, h->pkt);
    }
    record_free(*c.s, h);
  };
  rs.drop = [](void* ctx, void* pkt, tcp::reasm_drop) {
    call& c = *static_cast<call*>(ctx);
    held_pkt* h = static_cast<held_pkt*>(pkt);
    if (h == c.current) {
      c.outcome = packet_action::drop;
      c.current = nullptr;
    } else {
      ++c.s->n.held_dropped;
      c.s->sink.drop(c.s->sink.ctx, h->pkt);
    }
    record_free(*c.s, h);
  };
  return rs;
}

// The window scale option of a SYN (RFC 7323: kind 3, length 3): its shift (at most 14), or -1.
// Reads only the TCP header packet_parse bounded; stops at a malformed option.
int8_t syn_window_scale(const uint8_t* frame, const net::packet_view& v) {
  const uint8_t* o = frame + v.l4_off + 20;
  const uint8_t* const end = frame + v.l4_off + v.tcp_header_len;
  while (o < end) {
    if (o[0] == 0) break;  // end of options
    if (o[0] == 1) {       // NOP
      ++o;
      continue;
    }
    if (end - o < 2 || o[1] < 2 || o[1] > end - o) break;
    if (o[0] == 3 && o[1] == 3) return static_cast<int8_t>(std::min<int>(o[2], 14));
    o += o[1];
  }
  return -1;
}

// Keeps what a sender may have in flight within the retransmission history of its direction:
// the window a frame advertises (for the other direction's data) is lowered to history_bytes.
// Bytes released but not yet acknowledged then always lie within the history, so a lost segment's
// retransmission can be rewritten to what was forwarded instead of resetting the connection
// (retransmit_unrecoverable). Costs a connection at most history_bytes per round trip (64 KiB per
// 0.1 ms LAN round trip is 5 Gbps). SYNs are left alone (their window is never scaled); the TCP
// checksum is adjusted for the one changed word.
void clamp_window(session_ctx& s, session_flow& f, uint8_t* frame, net::packet_view& v, flow_dir d) {
  const int8_t mine = f.wscale[flow::dir_index(d)], theirs = f.wscale[flow::dir_index(flow::dir_other(d))];
  const int shift = mine >= 0 && theirs >= 0 ? mine : 0;
  const uint64_t limit = s.cfg.history_bytes;
  if ((uint64_t{v.window} << shift) <= limit) return;
  // At least 1: a shift so large that the history is below one unit must not close the window.
  const uint16_t w = static_cast<uint16_t>(std::max<uint64_t>(1, std::min<uint64_t>(limit >> shift, 0xFFFF)));
  if (w >= v.window) return;
  uint8_t* field = frame + v.l4_off + 14;
  const uint16_t old_checksum = net::tcp_checksum_field(frame, v);
  field[0] = static_cast<uint8_t>(w >> 8);
  field[1] = static_cast<uint8_t>(w);
  net::set_tcp_checksum_field(frame, v, net::checksum_adjust(old_checksum, v.window, w));
  v.window = w;
  ++s.n.windows_clamped;
}

// The HTTP-level state of a new connection on this slot (a new flow, or port reuse).
void reset_exchanges(session_ctx& s, session_flow& f) {
  engine::flow_engine_reset(f.eng);
  f.response_final = 0;
  f.response_error = engine::engine_error::none;
  f.request_error = engine::engine_error::none;
  hold_buf_put(s, f.gate);
  f.gate = req_gate{};
  f.rf = resp_findings{};
  f.modes = mode_queue{};
  f.conn_id = ++s.next_conn_id;
}

void new_connection(session_ctx& s, session_flow& f, uint32_t slot) {
  tcp::tcp_conn_reset(f.tcp);
  f.wscale[0] = f.wscale[1] = -1;
  const uint32_t hb = s.cfg.history_bytes;
  for (uint32_t i = 0; i < 2; ++i)
    tcp::reasm_init(f.r[i], s.pool, hb == 0 ? nullptr : s.history.get() + (uint64_t{slot} * 2 + i) * hb, hb);
  reset_exchanges(s, f);
  f.timer_listed = false;
  f.pending_reset = reset_reason::none;
}

// The connection is going away (reset, close, eviction): give back its hold buffer and report an
// unfinished exchange so its audit trail has an end.
void end_connection(session_ctx& s, session_flow& f, uint64_t now) {
  hold_buf_put(s, f.gate);
  if (s.cfg.recorder.on_end != nullptr && f.conn_id != 0) s.cfg.recorder.on_end(s.cfg.recorder.ctx, f.conn_id, now);
  if (f.gate.responses < f.gate.forwarded) report_response(s, f, f.eng.response_end, true, now);
  f.gate.forwarded = f.gate.responses;
  f.conn_id = 0;  // ended: timers and waiters that still name it are stale
}

void abort_both(call& k) {
  const tcp::reasm_sink rs = reasm_sink_for(&k);
  for (tcp::reasm& r : k.f->r) tcp::reasm_abort(r, rs);
}

void release_both(call& k) {
  session_flow& f = *k.f;
  if (f.response_error != engine::engine_error::none || f.request_error != engine::engine_error::none) return;
  const tcp::reasm_sink rs = reasm_sink_for(&k);
  tcp::reasm& rq = f.r[flow::dir_index(request_dir(f))];
  tcp::reasm& rp = f.r[flow::dir_index(response_dir(f))];
  if (rq.started) tcp::reasm_release(rq, request_release_limit(*k.s, f, rq), rs);
  if (rp.started) tcp::reasm_release(rp, f.response_final, rs);
}

// Hold and gap timers of one flow. Returns the reset reason they call for.
reset_reason check_timers(call& k) {
  session_flow& f = *k.f;
  for (tcp::reasm& r : f.r)
    if (r.started && tcp::reasm_check(r, k.now) == tcp::reasm_event::unfillable_gap) return reset_reason::unfillable_gap;
  const uint64_t since = engine::hold_since(f.eng);
  if (since != 0 && k.now - since >= k.s->cfg.hold_timeout_ns && f.response_error == engine::engine_error::none) {
    ++k.s->n.hold_flushes;
    k.d = response_dir(f);
    note_response(k, engine::flush_response(f.eng, *k.s->x, k.now, engine_sink_for(&k)));
  }
  // The client stopped sending an incomplete request: it waits for acknowledgements the server
  // cannot send while the request is held. Decide on what is here; the rest streams. A refusal
  // is acted on with the flow's next packet (the client retransmits), like any other.
  if (request_may_stall(*k.s, f) && k.now - f.gate.grew_ns >= k.s->cfg.hold.stall_ns) {
    ++k.s->n.decisions_stalled;
    k.d = request_dir(f);
    gate_decide(k, UINT64_MAX);
  }
  return reset_reason::none;
}

// The two RSTs for a tracked connection (see rst_spec). `from` is the current frame's direction.
void describe_resets(const session_flow& f, const net::packet_view& v, flow_dir from, session_result& out) {
  const flow_dir cd = request_dir(f), sd = response_dir(f);
  const tcp::tcp_half& client = f.tcp.half[flow::dir_index(cd)];
  const tcp::tcp_half& server = f.tcp.half[flow::dir_index(sd)];
  const tcp::reasm& resp = f.r[flow::dir_index(sd)];
  const bool pkt_has_ack = (v.tcp_flags & tcp::tcp_flag::ack) != 0;
  rst_spec to_server;
  to_server.dir = cd;
  // The server's RCV.NXT: what it acknowledged, or else what we released to it (a request held
  // for its decision was never delivered, and RFC 5961 receivers ignore an RST off RCV.NXT).
  const tcp::reasm& req = f.r[flow::dir_index(cd)];
  to_server.seq = from == sd && pkt_has_ack ? v.ack
                  : req.started             ? req.base_seq + static_cast<uint32_t>(req.released)
                                            : client.next_seq;
  to_server.ack = server.next_seq;
  rst_spec to_client;
  to_client.dir = sd;
  to_client.seq = resp.started ? resp.base_seq + static_cast<uint32_t>(resp.released) : server.next_seq;
  to_client.ack = client.next_seq;
  out.rst_count = 0;
  for (rst_spec r : {to_server, to_client}) {
    r.reverse = r.dir != from;
    r.flags = tcp::tcp_flag::rst | tcp::tcp_flag::ack;
    out.rst[out.rst_count++] = r;
  }
}

bool needs_timer(const session_ctx& s, const session_flow& f) {
  if (engine::hold_since(f.eng) != 0) return true;
  for (const tcp::reasm& r : f.r)
    if (r.started && r.gap_since_ns != 0) return true;
  return request_may_stall(s, f);
}

void list_timer(session_ctx& s, session_flow& f, uint32_t slot) {
  if (f.timer_listed || !needs_timer(s, f) || s.timer_count == s.timers.size()) return;
  s.timers[s.timer_count++] = {slot, f.conn_id};
  f.timer_listed = true;
}

session_result finish(session_ctx& s, session_result r) {
  ++s.n.actions[static_cast<size_t>(r.action)];
  if (r.action == packet_action::drop) ++s.n.drops[static_cast<size_t>(r.drop)];
  if (r.action == packet_action::reset) ++s.n.resets[static_cast<size_t>(r.reset)];
  return r;
}

session_result drop_with(session_ctx& s, drop_reason why) {
  session_result r;
  r.action = packet_action::drop;
  r.drop = why;
  return finish(s, r);
}

}  // namespace

session_ctx* session_create(const session_config& cfg, const session_sink& sink, const char** why) {
  const char* unused;
  if (why == nullptr) why = &unused;
  *why = nullptr;
  if (cfg.engine == nullptr) return *why = "engine configuration missing", nullptr;
  if (sink.forward == nullptr || sink.drop == nullptr) return *why = "sink incomplete", nullptr;
  if (cfg.history_bytes != 0 && (cfg.history_bytes & (cfg.history_bytes - 1)) != 0)
    return *why = "history_bytes must be a power of two or 0", nullptr;
  if (const char* e = flow::flow_table_config_check(cfg.table)) return *why = e, nullptr;
  if (const char* e = tcp::reasm_config_check(cfg.reasm)) return *why = e, nullptr;
  if (cfg.decider.decide != nullptr) {
    if (cfg.hold.buffers == 0) return *why = "request hold needs at least one buffer", nullptr;
    if (cfg.hold.buffer_bytes < cfg.engine->limits.max_head_bytes + 1)
      return *why = "request hold buffer must be larger than the longest request head", nullptr;
  }
  auto s = std::unique_ptr<session_ctx>(new (std::nothrow) session_ctx);
  if (!s) return *why = "out of memory", nullptr;
  s->cfg = cfg;
  s->sink = sink;
  s->table = flow::flow_table_create_for<session_flow>(cfg.table);
  s->pool = tcp::reasm_pool_create(cfg.reasm);
  const uint32_t bodies = cfg.open_bodies != 0 ? std::min(cfg.open_bodies, cfg.table.capacity) : cfg.table.capacity;
  s->x = engine::engine_scratch_create(*cfg.engine, bodies);
  if (cfg.engine->db != nullptr) {
    const uint32_t block = scan::stream_pool_block_for(cfg.engine->db->stream_bytes(), cfg.stream_block_bytes);
    if (block >= cfg.engine->db->stream_bytes() && scan::stream_pool_install())
      s->streams = scan::stream_pool_create(uint64_t{bodies} * 2 + 2, block);
  }
  const uint64_t hist = uint64_t{cfg.table.capacity} * 2 * cfg.history_bytes;
  if (hist != 0) s->history.reset(new (std::nothrow) uint8_t[hist]);
  bool ok = s->table != nullptr && s->pool != nullptr && s->x != nullptr && s->streams != nullptr &&
            (hist == 0 || s->history);
  if (ok) {
    // One record per segment the pool can hold, plus the frame in flight.
    s->recs.resize(size_t{cfg.reasm.max_segments} + 1);
    for (size_t i = 0; i < s->recs.size(); ++i)
      s->recs[i].next_free = i + 1 < s->recs.size() ? static_cast<uint32_t>(i + 1) : no_record;
    s->free_head = 0;
    if (cfg.decider.decide != nullptr) {
      s->hold_mem.reset(new (std::nothrow) uint8_t[uint64_t{cfg.hold.buffers} * cfg.hold.buffer_bytes]);
      ok = s->hold_mem != nullptr;
      s->hold_free.reserve(cfg.hold.buffers);
      for (uint32_t i = cfg.hold.buffers; i-- > 0;) s->hold_free.push_back(i);
      s->waiters.resize(flow::flow_table_capacity(*s->table));
    }
    s->timers.resize(flow::flow_table_capacity(*s->table));
    s->findings_scratch.assign(scan::pattern_set_max_entries, 0);
  }
  if (ok) {
    uint32_t opened = 0;
    for (; opened < flow::flow_table_capacity(*s->table); ++opened) {
      auto& f = *static_cast<session_flow*>(flow::flow_table_payload_at(*s->table, opened));
      if (!engine::flow_engine_setup(f.eng, *cfg.engine)) break;
    }
    ok = opened == flow::flow_table_capacity(*s->table);
    s->engines_ready = true;
    if (!ok) {
      for (uint32_t i = 0; i < opened; ++i)
        engine::flow_engine_teardown(static_cast<session_flow*>(flow::flow_table_payload_at(*s->table, i))->eng);
      s->engines_ready = false;
    }
  }
  if (!ok) {
    *why = "allocation failed (flow table, reassembly pool, engine scratch and body pool, stream pool or history)";
    session_destroy(s.release());
    return nullptr;
  }
  return s.release();
}

void session_destroy(session_ctx* s) {
  if (s == nullptr) return;
  if (s->table != nullptr) {
    for (uint32_t i = 0; i < flow::flow_table_capacity(*s->table); ++i) {
      auto& f = *static_cast<session_flow*>(flow::flow_table_payload_at(*s->table, i));
      if (s->pool != nullptr) {
        call k{s, &f, flow_dir::to_responder, nullptr, packet_action::held, 0};
        abort_both(k);
      }
      if (f.conn_id != 0) end_connection(*s, f, 0);  // live connections end with the session
      f.gate.buf = no_buf;  // the buffers go with hold_mem
      if (s->engines_ready) engine::flow_engine_teardown(f.eng);
    }
    flow::flow_table_destroy_for<session_flow>(s->table);
  }
  if (s->pool != nullptr) tcp::reasm_pool_destroy(s->pool);
  if (s->x != nullptr) engine::engine_scratch_destroy(s->x);
  scan::stream_pool_destroy(s->streams);  // after the flows' streams went back to it
  delete s;
}

session_result session_on_packet(session_ctx& s, packet_ref p, uint64_t now_ns) {
  net::packet_view v;
  const net::parse_error pe = net::packet_parse(p.frame, p.len, v);
  if (pe != net::parse_error::none) {
    ++s.n.parse_errors[static_cast<size_t>(pe)];
    session_result r = drop_with(s, drop_reason::parse_error);
    r.parse = pe;
    return r;
  }
  if (v.l4_proto != net::ip_proto_tcp) return drop_with(s, drop_reason::not_tcp);
  if (v.fragment) return drop_with(s, drop_reason::fragment);

  bool swapped = false;
  const flow::flow_key key = net::packet_flow_key(p.frame, v, swapped);
  const uint64_t hash = flow::flow_table_hash(*s.table, key);
  flow::flow_entry* e = flow::flow_table_find(*s.table, key, hash);
  if (e == nullptr) {
    e = flow::flow_table_insert(*s.table, key, hash, swapped, now_ns);
    if (e == nullptr) return drop_with(s, drop_reason::flow_table_full);
    new_connection(s, flow::flow_payload<session_flow>(*s.table, *e), e->index);
    ++s.n.flows_created;
  }
  session_flow& f = flow::flow_payload<session_flow>(*s.table, *e);
  const flow_dir d = flow::flow_direction(*e, swapped);
  if (f.pending_reset != reset_reason::none) {
    // A timer failed this flow while no packet was there to answer: answer this one.
    session_result out;
    out.action = packet_action::reset;
    out.reset = f.pending_reset;
    describe_resets(f, v, d, out);
    flow::flow_table_remove(*s.table, *e);
    return finish(s, out);
  }
  if (f.gate.closed) {
    // The gateway already answered this connection; the client's ACKs and FIN end here.
    flow::flow_table_set_class(*s.table, *e, flow::timeout_class::closing, now_ns);
    return drop_with(s, drop_reason::gateway_closed);
  }

  if ((v.tcp_flags & tcp::tcp_flag::syn) != 0) {
    f.wscale[flow::dir_index(d)] = syn_window_scale(p.frame, v);
  } else if (s.cfg.clamp_window && s.cfg.history_bytes != 0 && (v.tcp_flags & tcp::tcp_flag::ack) != 0) {
    clamp_window(s, f, p.frame, v, d);
  }

  tcp::tcp_packet tp;
  tp.seq = v.seq;
  tp.ack = v.ack;
  tp.flags = v.tcp_flags;
  tp.payload_len = v.payload_len;
  const tcp::tcp_result tr = tcp::tcp_track(f.tcp, s.cfg.tcp, d, tp, s.tn);
  flow::flow_table_set_class(*s.table, *e, tcp::tcp_timeout_class(f.tcp.state), now_ns);
  if ((v.tcp_flags & tcp::tcp_flag::ack) != 0) tcp::reasm_on_ack(f.r[flow::dir_index(flow::dir_other(d))], v.ack);

  call k{&s, &f, d, nullptr, packet_action::held, now_ns};
  k.slot = e->index;
  k.v = &v;
  k.frame = p.frame;
  k.frame_dir = d;
  session_result r;
  reset_reason rr = reset_reason::none;
  switch (tr.verdict) {
    case tcp::tcp_verdict::forward:
      r.action = packet_action::forward;
      break;
    case tcp::tcp_verdict::drop:
      r.action = packet_action::drop;
      r.drop = drop_reason::tcp_invalid;
      // A junk frame that started no connection must not occupy an entry until the syn timeout.
      if (f.tcp.state == tcp::tcp_state::none) {
        flow::flow_table_remove(*s.table, *e);
        return finish(s, r);
      }
      break;
    case tcp::tcp_verdict::reset: {
      // Midstream pickup: no sequence spaces known, so both RSTs come from this frame.
      r.action = packet_action::reset;
      r.reset = reset_reason::midstream;
      r.rst_count = 2;
      r.rst[0] = rst_spec{d, false, v.seq + v.payload_len, v.ack, tcp::tcp_flag::rst | tcp::tcp_flag::ack};
      r.rst[1] = rst_spec{flow::dir_other(d), true, v.ack, v.seq + v.payload_len, tcp::tcp_flag::rst | tcp::tcp_flag::ack};
      abort_both(k);
      end_connection(s, f, now_ns);
      flow::flow_table_remove(*s.table, *e);
      return finish(s, r);
    }
    case tcp::tcp_verdict::close:
      abort_both(k);  // an accepted RST: nothing held is ever released
      end_connection(s, f, now_ns);
      r.action = packet_action::forward;
      break;
    case tcp::tcp_verdict::restart:
      abort_both(k);
      end_connection(s, f, now_ns);
      reset_exchanges(s, f);
      r.action = packet_action::forward;
      break;
    case tcp::tcp_verdict::stream: {
      tcp::reasm& ra = f.r[flow::dir_index(d)];
      if (!ra.started) tcp::reasm_start(ra, tcp::tcp_stream_base(f.tcp, d));
      held_pkt* h = record_alloc(s);
      if (h == nullptr) {
        r.action = packet_action::drop;
        r.drop = drop_reason::packet_records;
        break;
      }
      h->pkt = p.pkt;
      h->frame = p.frame;
      h->v = v;
      h->dir = d;
      h->payload_sum = net::checksum_range_sum(p.frame + v.payload_off, v.payload_len,
                                               ((v.payload_off - v.l4_off) & 1) != 0);
      tcp::seg_ref sr;
      sr.pkt = h;
      sr.payload = p.frame + v.payload_off;
      sr.len = v.payload_len;
      sr.seq = tr.data_seq;
      sr.fin = tr.fin;
      k.current = h;
      const tcp::reasm_result res = tcp::reasm_on_segment(ra, sr, now_ns, reasm_sink_for(&k));
      if (res.event == tcp::reasm_event::memcap_flow || res.event == tcp::reasm_event::memcap_lcore)
        rr = reset_reason::reasm_memcap;
      else if (res.event == tcp::reasm_event::unfillable_gap)
        rr = reset_reason::unfillable_gap;
      else if (res.drop == tcp::reasm_drop::retransmit_beyond_history)
        rr = reset_reason::retransmit_unrecoverable;
      r.action = k.outcome;
      if (r.action == packet_action::drop) r.drop = drop_reason::reassembly;
      break;
    }
  }

  if (rr == reset_reason::none) rr = check_timers(k);
  if (rr == reset_reason::none && f.response_error != engine::engine_error::none) rr = reset_reason::response_unmaskable;
  if (rr == reset_reason::none && f.request_error != engine::engine_error::none) rr = reset_reason::request_error;
  if (rr == reset_reason::none) rr = f.gate.refused;
  if (rr == reset_reason::none) {
    release_both(k);
    // A clean close (both FINs released and acknowledged, nothing held) ends the connection now,
    // not at eviction a closing timeout later: its recording and audit trail close promptly.
    if (f.conn_id != 0 && f.tcp.state == tcp::tcp_state::closed && f.r[0].segments == 0 && f.r[1].segments == 0)
      end_connection(s, f, now_ns);
    list_timer(s, f, e->index);
    // The current frame may have been released by the calls above.
    if (r.action == packet_action::held && k.outcome != packet_action::held) {
      r.action = k.outcome;
      if (r.action == packet_action::drop) r.drop = drop_reason::reassembly;
    }
    return finish(s, r);
  }
  // Fail closed: describe the RSTs while the sequence state is intact, then drop everything held.
  session_result out;
  out.action = packet_action::reset;
  out.reset = rr;
  describe_resets(f, v, d, out);
  abort_both(k);
  end_connection(s, f, now_ns);
  if (rr == reset_reason::request_blocked) {
    // The answer replaces the RST toward the client: data + FIN at the client's RCV.NXT, acking
    // everything it sent. The entry stays (closed) so the client's ACK and FIN are absorbed
    // instead of drawing a midstream RST that could race the client reading the answer.
    for (uint8_t i = 0; i < out.rst_count; ++i) {
      rst_spec& x = out.rst[i];
      if (x.dir != response_dir(f)) continue;
      x.flags = tcp::tcp_flag::fin | tcp::tcp_flag::psh | tcp::tcp_flag::ack;
      x.payload = reinterpret_cast<const uint8_t*>(f.gate.response.data());
      x.payload_len = static_cast<uint32_t>(f.gate.response.size());
    }
    f.gate.closed = true;
    f.gate.response = {};
    flow::flow_table_set_class(*s.table, *e, flow::timeout_class::closing, now_ns);
    return finish(s, out);
  }
  flow::flow_table_remove(*s.table, *e);
  return finish(s, out);
}

size_t session_tick(session_ctx& s, uint64_t now_ns, size_t budget) {
  flow::evict_sink es;
  es.ctx = &s;
  es.on_evict = [](void* ctx, flow::flow_entry&, void* payload) {
    session_ctx& c = *static_cast<session_ctx*>(ctx);
    call k{&c, static_cast<session_flow*>(payload), flow_dir::to_responder, nullptr, packet_action::held, 0};
    abort_both(k);
    end_connection(c, *k.f, k.now);
  };
  // Flows whose request waited for a durable audit record: release what is now allowed.
  if (s.waiter_count != 0) {
    const uint64_t durable = durable_seq(s);
    size_t kept = 0;
    for (size_t i = 0; i < s.waiter_count; ++i) {
      const session_ctx::audit_waiter w = s.waiters[i];
      auto& f = *static_cast<session_flow*>(flow::flow_table_payload_at(*s.table, w.slot));
      if (f.conn_id != w.conn_id || !f.gate.waiting_listed) continue;  // gone or reused
      if (f.gate.wait_seq != 0 && durable < f.gate.wait_seq) {
        const uint64_t limit = s.cfg.hold.audit_wait_timeout_ns;
        if (limit != 0 && now_ns >= w.since_ns + limit) {
          // Fail closed now (the request never leaves); the RSTs go out on the flow's next
          // packet: the client retransmits the request bytes nobody acknowledged.
          f.gate.waiting_listed = false;
          f.pending_reset = reset_reason::audit_wait_timeout;
          call k{&s, &f, flow_dir::to_responder, nullptr, packet_action::held, now_ns};
          k.slot = w.slot;
          abort_both(k);
          end_connection(s, f, now_ns);
          ++s.n.audit_wait_timeouts;
          continue;
        }
        s.waiters[kept++] = w;
        continue;
      }
      f.gate.waiting_listed = false;
      call k{&s, &f, flow_dir::to_responder, nullptr, packet_action::held, now_ns};
      k.slot = w.slot;
      release_both(k);
    }
    s.waiter_count = kept;
  }
  // Hold and gap timers of flows that may have no packet coming, a bounded slice per tick: each
  // listed flow at most once (the cursor wraps; a second visit in the same tick finds nothing new
  // and cost as much as the first when few flows hold bytes and the tick runs every loop).
  const size_t visits = std::min(budget, s.timer_count);
  for (size_t visited = 0; visited < visits && s.timer_count != 0; ++visited) {
    if (s.timer_cursor >= s.timer_count) s.timer_cursor = 0;
    const session_ctx::waiter w = s.timers[s.timer_cursor];
    auto& f = *static_cast<session_flow*>(flow::flow_table_payload_at(*s.table, w.slot));
    bool keep = f.conn_id == w.conn_id && f.timer_listed && f.pending_reset == reset_reason::none;
    if (keep) {
      call k{&s, &f, flow_dir::to_responder, nullptr, packet_action::held, now_ns};
      k.slot = w.slot;
      reset_reason rr = check_timers(k);
      if (rr == reset_reason::none && f.response_error != engine::engine_error::none) rr = reset_reason::response_unmaskable;
      if (rr != reset_reason::none) {
        // Fail closed now (nothing held leaves); the RSTs go out on the flow's next packet.
        f.pending_reset = rr;
        abort_both(k);
        end_connection(s, f, now_ns);
        ++s.n.timer_resets;
        keep = false;
      } else {
        release_both(k);
        keep = needs_timer(s, f);
      }
    }
    if (!keep) {
      if (f.conn_id == w.conn_id) f.timer_listed = false;
      s.timers[s.timer_cursor] = s.timers[--s.timer_count];
    } else {
      ++s.timer_cursor;
    }
  }
  const size_t n = flow::flow_table_expire(*s.table, now_ns, budget, es);
  s.n.flows_expired += n;
  return n;
}

const session_counters& session_stats(const session_ctx& s) { return s.n; }
const tcp::tcp_counters& session_tcp_stats(const session_ctx& s) { return s.tn; }
const tcp::reasm_counters& session_reasm_stats(const session_ctx& s) { return tcp::reasm_pool_counters(*s.pool); }
uint32_t session_held_packets(const session_ctx& s) { return s.held; }
uint32_t session_live_flows(const session_ctx& s) { return flow::flow_table_live(*s.table); }

void session_bind_thread(session_ctx& s) { scan::stream_pool_bind(s.streams); }
uint32_t session_stream_block_bytes(const session_ctx& s) { return scan::stream_pool_block_bytes(*s.streams); }
scan::stream_pool_stats session_stream_stats(const session_ctx& s) { return scan::stream_pool_read(*s.streams); }
core::object_pool_stats session_body_stats(const session_ctx& s) { return engine::engine_scratch_body_stats(*s.x); }
const scan::scan_counters& session_scan_stats(const session_ctx& s) { return engine::engine_scratch_counters(*s.x); }

int session_adopt_patterns(session_ctx& s, const scan::pattern_db& db, hs_scratch_t* stream_scratch,
                           hs_scratch_t* block_scratch) {
  return engine::engine_scratch_adopt(*s.x, db, stream_scratch, block_scratch);
}

int64_t session_open_bodies(const session_ctx& s, int slot) { return engine::engine_scratch_open_bodies(*s.x, slot); }

}  // namespace phigate::session
