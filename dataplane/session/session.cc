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
};
constexpr uint32_t no_record = UINT32_MAX;

// Per-flow state, constructed once per table slot at setup (the engine's Hyperscan streams are
// opened then and reused by every connection the slot carries).
struct session_flow {
  tcp::tcp_conn tcp;
  tcp::reasm r[2];
  engine::flow_engine eng;
  uint64_t response_final = 0;
  engine::engine_error response_error = engine::engine_error::none;
  engine::engine_error request_error = engine::engine_error::none;
};

}  // namespace

struct session_ctx {
  session_config cfg;
  session_sink sink;
  flow::flow_table* table = nullptr;
  tcp::reasm_pool* pool = nullptr;
  engine::engine_scratch* x = nullptr;
  std::unique_ptr<uint8_t[]> history;  // capacity * 2 * history_bytes
  std::vector<held_pkt> recs;
  uint32_t free_head = no_record;
  uint32_t held = 0;
  bool engines_ready = false;
  session_counters n;
  tcp::tcp_counters tn;
};

const char* packet_action_name(packet_action a) {
  static const char* const names[] = {"forward", "held", "drop", "reset"};
  return a < packet_action::count ? names[static_cast<size_t>(a)] : "unknown";
}
const char* drop_reason_name(drop_reason r) {
  static const char* const names[] = {"none", "parse_error", "not_tcp", "fragment", "flow_table_full",
                                      "tcp_invalid", "reassembly", "packet_records"};
  return r < drop_reason::count ? names[static_cast<size_t>(r)] : "unknown";
}
const char* reset_reason_name(reset_reason r) {
  static const char* const names[] = {"none", "midstream", "response_unmaskable", "request_error", "reasm_memcap",
                                      "unfillable_gap"};
  return r < reset_reason::count ? names[static_cast<size_t>(r)] : "unknown";
}

namespace {

inline flow_dir request_dir(const session_flow& f) { return f.tcp.client_dir; }
inline flow_dir response_dir(const session_flow& f) { return flow::dir_other(f.tcp.client_dir); }

// Policy hook (request direction): how far the request stream may be released. For now requests
// are forwarded as soon as the engine has seen them; the policy hold (approvals, route rules) will
// lower this limit while a decision is pending.
inline uint64_t request_release_limit(const session_flow& /*f*/, const tcp::reasm& r) { return r.delivered; }

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
};

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
  return es;
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
  rs.deliver = [](void* ctx, uint64_t, const uint8_t* b, uint32_t n) {
    call& c = *static_cast<call*>(ctx);
    session_flow& f = *c.f;
    const engine::engine_sink es = engine_sink_for(&c);
    if (c.d == request_dir(f)) {
      const engine::feed_result fr = engine::feed_request(f.eng, *c.s->x, b, n, c.now, es);
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

void new_connection(session_ctx& s, session_flow& f, uint32_t slot) {
  tcp::tcp_conn_reset(f.tcp);
  const uint32_t hb = s.cfg.history_bytes;
  for (uint32_t i = 0; i < 2; ++i)
    tcp::reasm_init(f.r[i], s.pool, hb == 0 ? nullptr : s.history.get() + (uint64_t{slot} * 2 + i) * hb, hb);
  engine::flow_engine_reset(f.eng);
  f.response_final = 0;
  f.response_error = engine::engine_error::none;
  f.request_error = engine::engine_error::none;
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
  if (rq.started) tcp::reasm_release(rq, request_release_limit(f, rq), rs);
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
  to_server.seq = from == sd && pkt_has_ack ? v.ack : client.next_seq;
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
  auto s = std::unique_ptr<session_ctx>(new (std::nothrow) session_ctx);
  if (!s) return *why = "out of memory", nullptr;
  s->cfg = cfg;
  s->sink = sink;
  s->table = flow::flow_table_create_for<session_flow>(cfg.table);
  s->pool = tcp::reasm_pool_create(cfg.reasm);
  s->x = engine::engine_scratch_create(*cfg.engine);
  const uint64_t hist = uint64_t{cfg.table.capacity} * 2 * cfg.history_bytes;
  if (hist != 0) s->history.reset(new (std::nothrow) uint8_t[hist]);
  bool ok = s->table != nullptr && s->pool != nullptr && s->x != nullptr && (hist == 0 || s->history);
  if (ok) {
    // One record per segment the pool can hold, plus the frame in flight.
    s->recs.resize(size_t{cfg.reasm.max_segments} + 1);
    for (size_t i = 0; i < s->recs.size(); ++i)
      s->recs[i].next_free = i + 1 < s->recs.size() ? static_cast<uint32_t>(i + 1) : no_record;
    s->free_head = 0;
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
    *why = "allocation failed (flow table, reassembly pool, engine scratch, history or engine streams)";
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
      if (s->engines_ready) engine::flow_engine_teardown(f.eng);
    }
    flow::flow_table_destroy_for<session_flow>(s->table);
  }
  if (s->pool != nullptr) tcp::reasm_pool_destroy(s->pool);
  if (s->x != nullptr) engine::engine_scratch_destroy(s->x);
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

  tcp::tcp_packet tp;
  tp.seq = v.seq;
  tp.ack = v.ack;
  tp.flags = v.tcp_flags;
  tp.payload_len = v.payload_len;
  const tcp::tcp_result tr = tcp::tcp_track(f.tcp, s.cfg.tcp, d, tp, s.tn);
  flow::flow_table_set_class(*s.table, *e, tcp::tcp_timeout_class(f.tcp.state), now_ns);
  if ((v.tcp_flags & tcp::tcp_flag::ack) != 0) tcp::reasm_on_ack(f.r[flow::dir_index(flow::dir_other(d))], v.ack);

  call k{&s, &f, d, nullptr, packet_action::held, now_ns};
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
      flow::flow_table_remove(*s.table, *e);
      return finish(s, r);
    }
    case tcp::tcp_verdict::close:
      abort_both(k);  // an accepted RST: nothing held is ever released
      r.action = packet_action::forward;
      break;
    case tcp::tcp_verdict::restart:
      abort_both(k);
      engine::flow_engine_reset(f.eng);
      f.response_final = 0;
      f.response_error = engine::engine_error::none;
      f.request_error = engine::engine_error::none;
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
      r.action = k.outcome;
      if (r.action == packet_action::drop) r.drop = drop_reason::reassembly;
      break;
    }
  }

  if (rr == reset_reason::none) rr = check_timers(k);
  if (rr == reset_reason::none && f.response_error != engine::engine_error::none) rr = reset_reason::response_unmaskable;
  if (rr == reset_reason::none && f.request_error != engine::engine_error::none) rr = reset_reason::request_error;
  if (rr == reset_reason::none) {
    release_both(k);
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
  };
  const size_t n = flow::flow_table_expire(*s.table, now_ns, budget, es);
  s.n.flows_expired += n;
  return n;
}

const session_counters& session_stats(const session_ctx& s) { return s.n; }
const tcp::tcp_counters& session_tcp_stats(const session_ctx& s) { return s.tn; }
const tcp::reasm_counters& session_reasm_stats(const session_ctx& s) { return tcp::reasm_pool_counters(*s.pool); }
uint32_t session_held_packets(const session_ctx& s) { return s.held; }
uint32_t session_live_flows(const session_ctx& s) { return flow::flow_table_live(*s.table); }

}  // namespace phigate::session
