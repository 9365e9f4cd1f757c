#include "dataplane/tcp/reassembly.hh"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "dataplane/core/byte_copy.hh"
#include "dataplane/tcp/tcp_seq.hh"

namespace phigate::tcp {
namespace {

struct node {
  void* pkt;
  uint8_t* payload;
  uint64_t off;
  uint32_t len;
  uint32_t next;
  uint32_t prev;
  bool fin;
  bool dirty;  // payload changed since arrival
  uint64_t end() const { return off + len; }
};

constexpr uint64_t kNoFin = UINT64_MAX;
constexpr uint8_t kFinNone = 0, kFinHeld = 1, kFinReleased = 2;

}  // namespace

struct reasm_pool {
  reasm_config cfg;
  node* nodes = nullptr;
  uint32_t* free_stack = nullptr;
  uint32_t free_top = 0;
  uint64_t held_bytes = 0;
  reasm_counters counters;
};

namespace {

reasm_result result(reasm_status s, reasm_event e = reasm_event::none, reasm_drop d = reasm_drop::none) {
  reasm_result r;
  r.status = s;
  r.event = e;
  r.drop = d;
  return r;
}

reasm_result drop_packet(reasm_pool& p, const seg_ref& s, reasm_drop why, const reasm_sink& out,
                         reasm_event e = reasm_event::none) {
  ++p.counters.drops[static_cast<size_t>(why)];
  if (e != reasm_event::none) ++p.counters.events[static_cast<size_t>(e)];
  if (out.drop != nullptr) out.drop(out.ctx, s.pkt, why);
  return result(reasm_status::dropped, e, why);
}

// Copies src over dst where they differ; returns the number of differing bytes.
uint32_t overwrite(uint8_t* dst, const uint8_t* src, uint32_t n) {
  if (std::memcmp(dst, src, n) == 0) return 0;
  uint32_t diff = 0;
  for (uint32_t i = 0; i < n; ++i) diff += dst[i] != src[i];
  std::memcpy(dst, src, n);
  return diff;
}

// Rewrites dst (stream bytes [off, off + n), all below r.released) to what was forwarded. Bytes
// older than the ring are filled when the receiver acknowledged them; otherwise returns false and
// leaves dst untouched. `changed` counts bytes that differed.
bool rewrite_from_history(reasm& r, reasm_pool& p, uint64_t off, uint8_t* dst, uint32_t n, uint64_t& changed) {
  const uint64_t end = off + n;
  const uint64_t hist_start = r.released - std::min<uint64_t>(r.released, r.history_size);
  const uint64_t unknown_end = std::min(end, hist_start);
  if (off < unknown_end && unknown_end > r.acked) return false;
  if (off < unknown_end) {
    const uint32_t k = static_cast<uint32_t>(unknown_end - off);
    std::memset(dst, p.cfg.fill_byte, k);
    p.counters.retransmit_bytes_filled += k;
    changed += k;
  }
  for (uint64_t o = std::max(off, hist_start); o < end;) {
    const uint32_t pos = static_cast<uint32_t>(o & (r.history_size - 1));
    const uint32_t k = static_cast<uint32_t>(std::min<uint64_t>(end - o, r.history_size - pos));
    changed += overwrite(dst + (o - off), r.history + pos, k);
    o += k;
  }
  return true;
}

void history_append(reasm& r, const uint8_t* bytes, uint64_t off, uint64_t end) {
  if (r.history_size == 0) return;
  if (end - off > r.history_size) {  // only the last history_size bytes matter
    bytes += end - off - r.history_size;
    off = end - r.history_size;
  }
  while (off < end) {
    const uint32_t pos = static_cast<uint32_t>(off & (r.history_size - 1));
    const uint32_t k = static_cast<uint32_t>(std::min<uint64_t>(end - off, r.history_size - pos));
    core::copy_short(r.history + pos, bytes, k);
    bytes += k;
    off += k;
  }
}

void unlink_node(reasm& r, node* nodes, uint32_t i) {
  node& n = nodes[i];
  if (n.prev != reasm_nil) nodes[n.prev].next = n.next;
  else r.head = n.next;
  if (n.next != reasm_nil) nodes[n.next].prev = n.prev;
  else r.tail = n.prev;
}

void free_node(reasm& r, reasm_pool& p, uint32_t i) {
  const node& n = p.nodes[i];
  unlink_node(r, p.nodes, i);
  --r.segments;
  r.held_bytes -= n.len;
  p.held_bytes -= n.len;
  p.free_stack[p.free_top++] = i;
}

// Inserts after the last node starting at or before off (arrival order among equal starts).
void insert_sorted(reasm& r, node* nodes, uint32_t i) {
  node& n = nodes[i];
  uint32_t after = r.tail;
  while (after != reasm_nil && nodes[after].off > n.off) after = nodes[after].prev;
  n.prev = after;
  n.next = after == reasm_nil ? r.head : nodes[after].next;
  if (n.next != reasm_nil) nodes[n.next].prev = i;
  else r.tail = i;
  if (after != reasm_nil) nodes[after].next = i;
  else r.head = i;
}

bool has_gap(const reasm& r, const node* nodes) { return r.tail != reasm_nil && nodes[r.tail].off > r.delivered; }

void deliver_in_order(reasm& r, reasm_pool& p, const reasm_sink& out) {
  for (uint32_t i = r.head; i != reasm_nil; i = p.nodes[i].next) {
    const node& n = p.nodes[i];
    if (n.off > r.delivered) break;
    if (n.end() <= r.delivered) continue;
    const uint64_t from = r.delivered;
    r.delivered = n.end();
    p.counters.bytes_delivered += r.delivered - from;
    if (out.deliver != nullptr)
      out.deliver(out.ctx, from, n.payload + (from - n.off), static_cast<uint32_t>(r.delivered - from));
  }
  if (r.fin_off != kNoFin && r.delivered == r.fin_off && !r.ended) {
    r.ended = true;
    if (out.end != nullptr) out.end(out.ctx, r.fin_off);
  }
}

}  // namespace

const char* reasm_drop_name(reasm_drop d) {
  static constexpr const char* kNames[reasm_drop_count] = {
      "none",        "duplicate", "retransmit_beyond_history", "before_stream", "beyond_window", "after_fin",
      "fin_moved",   "memcap_flow", "memcap_lcore", "not_started", "aborted"};
  const auto i = static_cast<size_t>(d);
  return i < reasm_drop_count ? kNames[i] : "?";
}

const char* reasm_event_name(reasm_event e) {
  static constexpr const char* kNames[reasm_event_count] = {"none", "memcap_flow", "memcap_lcore",
                                                            "unfillable_gap"};
  const auto i = static_cast<size_t>(e);
  return i < reasm_event_count ? kNames[i] : "?";
}

const char* reasm_config_check(const reasm_config& cfg) {
  if (cfg.max_segments == 0 || cfg.max_segments >= reasm_nil) return "max_segments must be in [1, 2^32 - 2]";
  if (cfg.max_segments_per_flow == 0) return "max_segments_per_flow must be positive";
  if (cfg.max_bytes_per_flow == 0 || cfg.max_bytes == 0) return "byte caps must be positive";
  if (cfg.max_ahead_bytes == 0 || cfg.max_ahead_bytes > (1u << 30))
    return "max_ahead_bytes must be in [1, 2^30] (sequence numbers are unwrapped within 2^31)";
  if (cfg.gap_timeout_ns == 0) return "gap_timeout_ns must be positive";
  return nullptr;
}

reasm_pool* reasm_pool_create(const reasm_config& cfg) {
  if (reasm_config_check(cfg) != nullptr) return nullptr;
  auto* p = new (std::nothrow) reasm_pool;
  if (p == nullptr) return nullptr;
  p->cfg = cfg;
  p->nodes = static_cast<node*>(std::calloc(cfg.max_segments, sizeof(node)));
  p->free_stack = static_cast<uint32_t*>(std::calloc(cfg.max_segments, sizeof(uint32_t)));
  if (p->nodes == nullptr || p->free_stack == nullptr) {
    reasm_pool_destroy(p);
    return nullptr;
  }
  for (uint32_t i = 0; i < cfg.max_segments; ++i) p->free_stack[i] = cfg.max_segments - 1 - i;
  p->free_top = cfg.max_segments;
  return p;
}

void reasm_pool_destroy(reasm_pool* p) {
  if (p == nullptr) return;
  std::free(p->nodes);
  std::free(p->free_stack);
  delete p;
}

reasm_counters& reasm_pool_counters(reasm_pool& p) { return p.counters; }
uint32_t reasm_pool_segments_held(const reasm_pool& p) { return p.cfg.max_segments - p.free_top; }
uint64_t reasm_pool_bytes_held(const reasm_pool& p) { return p.held_bytes; }

void reasm_init(reasm& r, reasm_pool* pool, uint8_t* history, uint32_t history_size) {
  r = reasm{};
  r.pool = pool;
  const bool pow2 = history_size != 0 && (history_size & (history_size - 1)) == 0;
  r.history = pow2 && history != nullptr ? history : nullptr;
  r.history_size = r.history != nullptr ? history_size : 0;
}

void reasm_start(reasm& r, uint32_t base_seq) {
  reasm_pool* pool = r.pool;
  uint8_t* history = r.history;
  const uint32_t history_size = r.history_size;
  r = reasm{};
  r.pool = pool;
  r.history = history;
  r.history_size = history_size;
  r.base_seq = base_seq;
  r.started = true;
}

void reasm_abort(reasm& r, const reasm_sink& out) {
  if (r.pool != nullptr) {
    reasm_pool& p = *r.pool;
    while (r.head != reasm_nil) {
      const uint32_t i = r.head;
      void* pkt = p.nodes[i].pkt;
      free_node(r, p, i);
      ++p.counters.drops[static_cast<size_t>(reasm_drop::aborted)];
      if (out.drop != nullptr) out.drop(out.ctx, pkt, reasm_drop::aborted);
    }
  }
  r.started = false;
  r.gap_since_ns = 0;
}

reasm_result reasm_on_segment(reasm& r, const seg_ref& s, uint64_t now_ns, const reasm_sink& out) {
  if (r.pool == nullptr) {
    if (out.drop != nullptr) out.drop(out.ctx, s.pkt, reasm_drop::not_started);
    return result(reasm_status::dropped, reasm_event::none, reasm_drop::not_started);
  }
  reasm_pool& p = *r.pool;
  reasm_counters& c = p.counters;
  if (!r.started) return drop_packet(p, s, reasm_drop::not_started, out);
  if (s.len == 0 && !s.fin) {  // nothing to order (the tracker forwards these itself)
    if (out.forward != nullptr) out.forward(out.ctx, s.pkt, false);
    return result(reasm_status::forwarded);
  }

  // Unwrap against the in-order point: live segments lie within max_ahead_bytes (< 2^31) of it.
  const int64_t so = seq_to_offset(s.seq, r.base_seq, r.delivered);
  if (so < 0) return drop_packet(p, s, reasm_drop::before_stream, out);
  const uint64_t off = static_cast<uint64_t>(so);
  const uint64_t end = off + s.len;
  if (off > r.delivered + p.cfg.max_ahead_bytes) return drop_packet(p, s, reasm_drop::beyond_window, out);
  if (r.fin_off != kNoFin) {
    if (s.fin && end != r.fin_off) return drop_packet(p, s, reasm_drop::fin_moved, out);
    if (end > r.fin_off) return drop_packet(p, s, reasm_drop::after_fin, out);
  } else if (s.fin && end < r.max_end) {
    return drop_packet(p, s, reasm_drop::fin_moved, out);
  }

  // 1. Bytes already released become exactly what was forwarded.
  uint64_t hist_changed = 0;
  if (off < r.released) {
    const uint32_t n = static_cast<uint32_t>(std::min(end, r.released) - off);
    if (!rewrite_from_history(r, p, off, s.payload, n, hist_changed))
      return drop_packet(p, s, reasm_drop::retransmit_beyond_history, out);
  }

  // 2. Bytes overlapping held packets become the first-seen copy; find any byte nobody holds.
  bool has_new = s.fin && r.fin_state == kFinNone;
  uint64_t overlap_changed = 0;
  uint64_t covered = std::max(off, r.released);  // bytes of s below this are accounted for
  for (uint32_t i = r.head; i != reasm_nil && covered < end; i = p.nodes[i].next) {
    const node& h = p.nodes[i];
    if (h.off >= end) break;
    const uint64_t a = std::max({off, h.off, r.released});
    const uint64_t b = std::min(end, h.end());
    if (a < b)
      overlap_changed += overwrite(s.payload + (a - off), h.payload + (a - h.off), static_cast<uint32_t>(b - a));
    if (h.off > covered) has_new = true;  // a gap in coverage inside s
    covered = std::max(covered, h.end());
  }
  if (covered < end) has_new = true;
  if (overlap_changed != 0) {
    ++c.overlap_packets_rewritten;
    c.overlap_bytes_rewritten += overlap_changed;
  }
  const bool rewritten = hist_changed != 0 || overlap_changed != 0;

  if (!has_new) {
    if (end <= r.released && !(s.fin && r.fin_state == kFinHeld)) {
      // A retransmission of released bytes: the receiver may have lost them.
      ++c.retransmits_forwarded;
      c.retransmit_bytes_changed += hist_changed;
      if (out.forward != nullptr) out.forward(out.ctx, s.pkt, rewritten);
      return result(reasm_status::forwarded);
    }
    return drop_packet(p, s, reasm_drop::duplicate, out);
  }

  // 3. Hold it, within the caps.
  if (r.segments >= p.cfg.max_segments_per_flow || r.held_bytes + uint64_t{s.len} > p.cfg.max_bytes_per_flow)
    return drop_packet(p, s, reasm_drop::memcap_flow, out, reasm_event::memcap_flow);
  if (p.free_top == 0 || p.held_bytes + s.len > p.cfg.max_bytes)
    return drop_packet(p, s, reasm_drop::memcap_lcore, out, reasm_event::memcap_lcore);
  const uint32_t i = p.free_stack[--p.free_top];
  node& n = p.nodes[i];
  n.pkt = s.pkt;
  n.payload = s.payload;
  n.off = off;
  n.len = s.len;
  n.fin = s.fin;
  n.dirty = rewritten;
  insert_sorted(r, p.nodes, i);
  ++r.segments;
  r.held_bytes += s.len;
  p.held_bytes += s.len;
  ++c.segments_held;
  r.max_end = std::max(r.max_end, end);
  if (s.fin) {
    r.fin_off = end;
    r.fin_state = kFinHeld;
  }

  // 4. Feed whatever became in order, then run the gap timer: it measures time without in-order
  // progress while out-of-order data waits.
  const uint64_t before = r.delivered;
  deliver_in_order(r, p, out);
  reasm_event ev = reasm_event::none;
  if (!has_gap(r, p.nodes)) {
    r.gap_since_ns = 0;
  } else if (r.gap_since_ns == 0 || r.delivered != before) {
    r.gap_since_ns = now_ns == 0 ? 1 : now_ns;
  } else if (now_ns - r.gap_since_ns >= p.cfg.gap_timeout_ns) {
    ev = reasm_event::unfillable_gap;
    ++c.events[static_cast<size_t>(ev)];
  }
  return result(reasm_status::held, ev);
}

size_t reasm_release(reasm& r, uint64_t final_off, const reasm_sink& out) {
  if (r.pool == nullptr) return 0;
  reasm_pool& p = *r.pool;
  final_off = std::min(final_off, r.delivered);
  size_t n = 0;
  while (r.head != reasm_nil) {
    const uint32_t i = r.head;
    const node h = p.nodes[i];
    if (h.end() > final_off) break;
    if (h.end() > r.released) {
      const uint64_t from = std::max(h.off, r.released);
      history_append(r, h.payload + (from - h.off), from, h.end());
      p.counters.bytes_released += h.end() - from;
      r.released = h.end();
    }
    if (h.fin) r.fin_state = kFinReleased;
    free_node(r, p, i);
    ++p.counters.segments_released;
    ++n;
    if (out.forward != nullptr) out.forward(out.ctx, h.pkt, h.dirty);
  }
  return n;
}

size_t reasm_apply_mask(reasm& r, const mask::mask_action& a) {
  if (r.pool == nullptr) return 0;
  reasm_pool& p = *r.pool;
  if (a.raw_off < r.released)
    p.counters.late_mask_bytes += std::min<uint64_t>(r.released - a.raw_off, a.raw_len);
  size_t total = 0;
  for (uint32_t i = r.head; i != reasm_nil; i = p.nodes[i].next) {
    node& n = p.nodes[i];
    if (n.off >= a.raw_off + a.raw_len) break;
    const size_t k = mask::mask_apply(n.payload, n.len, n.off, a);
    if (k != 0) n.dirty = true;
    total += k;
  }
  return total;
}

size_t reasm_rewrite(reasm& r, uint64_t off, const uint8_t* bytes, uint32_t len) {
  if (r.pool == nullptr || len == 0) return 0;
  reasm_pool& p = *r.pool;
  const uint64_t end = off + len;
  if (off < r.released) p.counters.late_mask_bytes += std::min<uint64_t>(r.released - off, len);
  size_t total = 0;
  for (uint32_t i = r.head; i != reasm_nil; i = p.nodes[i].next) {
    node& n = p.nodes[i];
    if (n.off >= end) break;
    const uint64_t lo = std::max<uint64_t>(n.off, off), hi = std::min<uint64_t>(n.off + n.len, end);
    if (lo >= hi) continue;
    std::memcpy(n.payload + (lo - n.off), bytes + (lo - off), hi - lo);
    n.dirty = true;
    total += hi - lo;
  }
  return total;
}

void reasm_on_ack(reasm& r, uint32_t ack) {
  if (!r.started) return;
  const int64_t o = seq_to_offset(ack, r.base_seq, r.released);
  if (o <= 0) return;
  // Only bytes that went through us can have reached the receiver.
  const uint64_t a = std::min<uint64_t>(static_cast<uint64_t>(o), r.released);
  if (a > r.acked) r.acked = a;
}

reasm_event reasm_check(reasm& r, uint64_t now_ns) {
  if (r.pool == nullptr || r.gap_since_ns == 0 || now_ns < r.gap_since_ns) return reasm_event::none;
  if (now_ns - r.gap_since_ns < r.pool->cfg.gap_timeout_ns) return reasm_event::none;
  ++r.pool->counters.events[static_cast<size_t>(reasm_event::unfillable_gap)];
  return reasm_event::unfillable_gap;
}

}  // namespace phigate::tcp
