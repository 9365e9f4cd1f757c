// phigate-dp: the inline dataplane process. Bump in the wire between a client-side and a
// server-side DPDK port: traffic to or from a protected service goes through the session
// (TCP tracking, reassembly, engine, masks, hold/release); everything else is bridged untouched.
//
// Threading: the main lcore parses the config, starts ports, then serves the stats and control
// sockets (never the packet path). With one worker, that lcore runs the burst loop (rx both
// ports -> process -> tx) with its own session (flow table, reassembly pool, Hyperscan scratch,
// gate). With N workers, an io lcore polls both ports, bridges unprotected frames, and hands each
// protected frame to the worker its canonical flow key hashes to (symmetric: both directions of
// a connection meet on one worker), over single-producer/single-consumer rings; workers hand
// their frames back the same way for transmission. This works on devices without RSS (af_packet,
// pcap, ring); symmetric Toeplitz RSS on NICs (one queue per worker, no io lcore) is not wired
// yet. The loops never allocate, lock or log.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/io/dp_config.hh"
#include "dataplane/io/dp_gate.hh"
#include "dataplane/io/rss.hh"
#include "dataplane/net/checksum.hh"
#include "dataplane/net/packet_parse.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/stream_pool.hh"
#include "dataplane/session/session.hh"

namespace {

using namespace phigate;

constexpr uint16_t kBurst = 32;
constexpr uint16_t kRingSize = 1024;
constexpr uint64_t kTickNs = 100'000;  // session_tick period of a worker
constexpr uint64_t kTxDrainNs = 50'000;  // the longest a frame waits in a worker's TX staging

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

// Per-worker TX staging: frames leave in bursts; what a port refuses is freed and counted.
struct tx_queue {
  uint16_t port = 0;
  uint16_t n = 0;
  bool waiting = false;  // frames stayed queued past a loop (since since_ns), see tx_drain
  uint64_t since_ns = 0;
  rte_mbuf* pkts[kBurst * 4];
};

struct alignas(64) worker_ctx {
  const io::dp_config* cfg = nullptr;
  session::session_ctx* session = nullptr;
  rte_mempool* pool = nullptr;
  tx_queue tx[2];  // [0] toward the client port, [1] toward the server port
  uint64_t rx_packets = 0, tx_packets = 0, bridged = 0, protected_packets = 0, tx_dropped = 0;
  uint64_t resets_sent = 0, reset_alloc_failed = 0, answers_sent = 0, inject_truncated = 0;
  uint64_t unparsed_dropped = 0;  // unparsable or multi-segment frames that may be protected traffic
  uint64_t tsc_hz = 1;
  uint64_t next_tick_ns = 0;  // the next session_tick (worker_idle_point)
  std::atomic<uint64_t>* quiescent = nullptr;  // the gate's snapshot reclamation (null: no gate)
  // Pattern databases: the worker adopts a new generation at its idle point (dp_patterns.hh).
  io::dp_patterns* patterns = nullptr;
  uint64_t pattern_index = 0;
  unsigned index = 0;
  uint16_t queue = 0;  // RX and TX queue on both ports (rss sharding: the worker's index)
  // Dispatched mode (workers > 1): frames arrive from the io lcore on `in` (m->port = the port
  // they came in on) and leave through `out` (m->port = the port to send them on).
  rte_ring* in = nullptr;
  rte_ring* out = nullptr;
};

inline uint16_t other_port(const worker_ctx& w, uint16_t in) {
  return in == w.cfg->client_port ? w.cfg->server_port : w.cfg->client_port;
}

inline void tx_flush(worker_ctx& w, tx_queue& q) {
  if (!q.n) return;
  const uint16_t sent = rte_eth_tx_burst(q.port, w.queue, q.pkts, q.n);
  w.tx_packets += sent;
  for (uint16_t i = sent; i < q.n; ++i) rte_pktmbuf_free(q.pkts[i]);
  w.tx_dropped += q.n - sent;
  q.n = 0;
  q.waiting = false;
}

// End of a loop: a port's staged frames leave when the loop received nothing (no more input to
// gather them with), when a burst is full, or after kTxDrainNs. While frames keep arriving in
// small bursts, this sends them in larger ones: on af_packet every TX burst is one sendto() that
// runs the receiving stack inline and wakes its sockets, per burst rather than per frame.
inline void tx_drain(worker_ctx& w, tx_queue& q, uint64_t now_ns, bool input_idle) {
  if (q.n == 0) return;
  if (!q.waiting) {
    q.waiting = true;
    q.since_ns = now_ns;
  }
  if (input_idle || q.n >= kBurst || now_ns - q.since_ns >= kTxDrainNs) tx_flush(w, q);
}

inline void tx_enqueue(worker_ctx& w, rte_mbuf* m, uint16_t out_port) {
  if (w.out != nullptr) {
    m->port = out_port;
    if (rte_ring_sp_enqueue(w.out, m) != 0) {
      rte_pktmbuf_free(m);
      ++w.tx_dropped;
    }
    return;
  }
  tx_queue& q = w.tx[out_port == w.cfg->client_port ? 0 : 1];
  if (q.n == std::size(q.pkts)) tx_flush(w, q);
  q.pkts[q.n++] = m;
}

// The session releases a held frame: it continues away from the port it came in on.
void sink_forward(void* ctx, void* pkt) {
  auto& w = *static_cast<worker_ctx*>(ctx);
  auto* m = static_cast<rte_mbuf*>(pkt);
  tx_enqueue(w, m, other_port(w, m->port));
}
void sink_drop(void*, void* pkt) { rte_pktmbuf_free(static_cast<rte_mbuf*>(pkt)); }

// Builds the RSTs of a fail-closed reset (and an injected answer: data + FIN) from the offending
// frame's own headers (addresses, ports, VLANs), swapped for a segment that travels back toward
// the frame's sender. An answer larger than one mbuf's room is cut to it (the gate's answers are
// small JSON documents; the cut is counted).
void send_resets(worker_ctx& w, const uint8_t* frame, const net::packet_view& v, const session::session_result& r,
                 uint16_t in_port) {
  if (!v.has_tcp) return;
  const uint32_t hdr = v.l4_off + 20u;  // headers up to TCP, a bare TCP header
  for (uint8_t i = 0; i < r.rst_count; ++i) {
    const session::rst_spec& rs = r.rst[i];
    rte_mbuf* m = rte_pktmbuf_alloc(w.pool);
    const uint32_t room = m ? rte_pktmbuf_tailroom(m) : 0;
    uint32_t payload = rs.payload_len;
    if (hdr + payload > room) {
      payload = room > hdr ? room - hdr : 0;
      ++w.inject_truncated;
    }
    const uint32_t len = hdr + payload;
    uint8_t* f = m ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(std::max(len, 60u)))) : nullptr;
    if (!f) {
      if (m) rte_pktmbuf_free(m);
      ++w.reset_alloc_failed;
      continue;
    }
    std::memset(f, 0, std::max(len, 60u));
    std::memcpy(f, frame, hdr);
    if (payload != 0) std::memcpy(f + hdr, rs.payload, payload);
    const bool v6 = v.family == flow::ip_family::v6;
    const size_t alen = v6 ? 16 : 4;
    uint8_t* tcp = f + v.l4_off;
    if (rs.reverse) {
      uint8_t tmp[16];
      std::memcpy(tmp, f, 6);
      std::memcpy(f, f + 6, 6);
      std::memcpy(f + 6, tmp, 6);
      std::memcpy(tmp, f + net::src_addr_off(v), alen);
      std::memcpy(f + net::src_addr_off(v), f + net::dst_addr_off(v), alen);
      std::memcpy(f + net::dst_addr_off(v), tmp, alen);
      std::swap(tcp[0], tcp[2]);
      std::swap(tcp[1], tcp[3]);
    }
    const auto put32 = [](uint8_t* p, uint32_t x) {
      p[0] = static_cast<uint8_t>(x >> 24);
      p[1] = static_cast<uint8_t>(x >> 16);
      p[2] = static_cast<uint8_t>(x >> 8);
      p[3] = static_cast<uint8_t>(x);
    };
    put32(tcp + 4, rs.seq);
    put32(tcp + 8, rs.ack);
    tcp[12] = 5 << 4;
    tcp[13] = rs.flags;
    std::memset(tcp + 14, 0, 6);  // window, checksum, urgent pointer
    if (payload != 0) {
      tcp[14] = 0xff;  // the client may answer (ACK, FIN) before the entry expires
      tcp[15] = 0xff;
    }
    uint8_t* ip = f + v.l3_off;
    if (v6) {
      const uint32_t payload = len - v.l3_off - 40;
      ip[4] = static_cast<uint8_t>(payload >> 8);
      ip[5] = static_cast<uint8_t>(payload);
    } else {
      const uint32_t total = len - v.l3_off;
      ip[2] = static_cast<uint8_t>(total >> 8);
      ip[3] = static_cast<uint8_t>(total);
    }
    net::packet_view nv;
    if (net::packet_parse(f, len, nv) != net::parse_error::none) {
      rte_pktmbuf_free(m);
      ++w.reset_alloc_failed;
      continue;
    }
    if (!v6) net::set_ipv4_checksum_field(f, nv, net::ipv4_header_checksum(f, nv));
    net::set_tcp_checksum_field(f, nv, net::tcp_checksum(f, nv));
    if (payload != 0) ++w.answers_sent;
    else ++w.resets_sent;
    tx_enqueue(w, m, rs.reverse ? in_port : other_port(w, in_port));
  }
}

bool is_protected(const io::dp_config& cfg, const uint8_t* frame, const net::packet_view& v) {
  if (!v.has_tcp && !v.fragment) return false;
  const bool v6 = v.family == flow::ip_family::v6;
  const size_t alen = v6 ? 16 : 4;
  for (const auto& s : cfg.services) {
    if (s.v6 != v6) continue;
    if ((v.dport == s.port && std::memcmp(frame + net::dst_addr_off(v), s.addr, alen) == 0) ||
        (v.sport == s.port && std::memcmp(frame + net::src_addr_off(v), s.addr, alen) == 0))
      return true;
    // Fragments carry no ports: a fragment to or from a protected address is handed over (and
    // dropped there, counted) rather than bridged uninspected.
    if (v.fragment && (std::memcmp(frame + net::dst_addr_off(v), s.addr, alen) == 0 ||
                       std::memcmp(frame + net::src_addr_off(v), s.addr, alen) == 0))
      return true;
  }
  return false;
}

// A frame the parser refused (too many VLAN tags or IPv6 extension headers, truncated...): if it
// is IP and either address is a protected service's, it must not be bridged uninspected.
bool unparsed_touches_protected(const io::dp_config& cfg, const uint8_t* f, uint32_t len) {
  uint32_t off = 12;
  for (int tags = 0; tags < 8 && off + 2 <= len; ++tags) {
    const uint16_t type = static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
    if (type == 0x8100 || type == 0x88a8) {
      off += 4;
      continue;
    }
    const bool v4 = type == 0x0800, v6 = type == 0x86dd;
    if (!v4 && !v6) return false;  // not IP (ARP, LLDP, ...): bridged
    const uint32_t ip = off + 2, src = ip + (v4 ? 12 : 8), dst = ip + (v4 ? 16 : 24), alen = v4 ? 4 : 16;
    if (dst + alen > len) return true;  // an IP header too short to tell: fail closed
    for (const auto& s : cfg.services)
      if (s.v6 == v6 && (std::memcmp(f + src, s.addr, alen) == 0 || std::memcmp(f + dst, s.addr, alen) == 0)) return true;
    return false;
  }
  return true;  // more tags than any sane network uses: fail closed
}

// TSC cycles to nanoseconds without overflowing 64 bits (cycles * 1e9 would after seconds).
inline uint64_t tsc_ns(uint64_t cycles, uint64_t hz) {
  return cycles / hz * 1'000'000'000ULL + cycles % hz * 1'000'000'000ULL / hz;
}

// One protected frame through the worker's session.
void process_protected(worker_ctx& w, rte_mbuf* m, uint8_t* frame, const net::packet_view& v, uint16_t port,
                       uint64_t now_ns) {
  ++w.protected_packets;
  const uint16_t out = other_port(w, port);
  session::packet_ref ref{m, frame, rte_pktmbuf_data_len(m)};
  const session::session_result r = session::session_on_packet(*w.session, ref, now_ns);
  switch (r.action) {
    case session::packet_action::forward: tx_enqueue(w, m, out); break;
    case session::packet_action::held: break;
    case session::packet_action::reset:
      // Fail closed: the frame is dropped and both ends are told the connection is gone.
      send_resets(w, frame, v, r, port);
      rte_pktmbuf_free(m);
      break;
    default: rte_pktmbuf_free(m); break;
  }
}

void worker_idle_point(worker_ctx& w, uint64_t now_ns, bool input_idle) {
  // Session timers (hold 10s-100s of ms, gap, idle eviction, audit waiters) need no finer grain
  // than kTickNs; run every loop they cost several % of a busy worker (each tick walks the flows
  // holding bytes and the flow table's expiry lists).
  if (now_ns >= w.next_tick_ns) {
    session::session_tick(*w.session, now_ns, 64);
    w.next_tick_ns = now_ns + kTickNs;
  }
  tx_drain(w, w.tx[0], now_ns, input_idle);
  tx_drain(w, w.tx[1], now_ns, input_idle);
  // A new pattern database: bodies that start from now on use it (one pointer load per loop).
  if (const io::pattern_gen* pg = w.patterns->current(); pg->index != w.pattern_index) {
    const io::pattern_gen::scratch_pair sp = pg->scratch.empty() ? io::pattern_gen::scratch_pair{} : pg->scratch[w.index];
    if (session::session_adopt_patterns(*w.session, *pg->db, sp.stream, sp.block) >= 0) {
      w.pattern_index = pg->index;
      w.patterns->adopted(w.index, pg->index);
    }
  }
  // Between bursts no snapshot reference is held: a replaced one may be freed after this.
  if (w.quiescent) w.quiescent->store(w.quiescent->load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// Dispatched mode: a worker takes its flows' frames from its ring.
int dispatched_worker_main(void* arg) {
  auto& w = *static_cast<worker_ctx*>(arg);
  session::session_bind_thread(*w.session);  // stream state from the session's pool, no malloc
  rte_mbuf* pkts[kBurst];
  while (!g_stop.load(std::memory_order_relaxed)) {
    const uint64_t now_ns = tsc_ns(rte_get_tsc_cycles(), w.tsc_hz);
    const unsigned n = rte_ring_sc_dequeue_burst(w.in, reinterpret_cast<void**>(pkts), kBurst, nullptr);
    w.rx_packets += n;
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
      net::packet_view v;
      if (net::packet_parse(frame, rte_pktmbuf_data_len(m), v) != net::parse_error::none) {
        rte_pktmbuf_free(m);  // the io lcore parsed it already; cannot happen
        continue;
      }
      process_protected(w, m, frame, v, m->port, now_ns);
    }
    worker_idle_point(w, now_ns, n == 0);
  }
  return 0;
}

// The worker a protected frame belongs to: a hash of the canonical (direction-free) flow key,
// so both directions of a connection meet on one worker (symmetric by construction).
inline unsigned worker_of(const uint8_t* frame, const net::packet_view& v, unsigned workers) {
  if (!v.has_tcp) return 0;  // fragments: dropped by whichever session gets them
  bool swapped = false;
  const flow::flow_key k = net::packet_flow_key(frame, v, swapped);
  uint64_t words[5];
  std::memcpy(words, &k, sizeof words);
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (uint64_t x : words) {
    h ^= x;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  return static_cast<unsigned>(h % workers);
}

struct io_ctx {
  const io::dp_config* cfg = nullptr;
  std::vector<worker_ctx*> workers;
  worker_ctx tx;  // the io lcore's own TX staging and counters (bridged traffic)
  uint64_t dispatch_drops = 0;  // a worker's ring was full: the frame was dropped (TCP retransmits)
};

// Dispatched mode: the io lcore polls both ports, bridges what is not protected, hands protected
// frames to their flow's worker and transmits what workers hand back.
int io_main(void* arg) {
  auto& io = *static_cast<io_ctx*>(arg);
  worker_ctx& t = io.tx;
  const uint16_t ports[2] = {io.cfg->client_port, io.cfg->server_port};
  const unsigned nw = static_cast<unsigned>(io.workers.size());
  rte_mbuf* pkts[kBurst];
  while (!g_stop.load(std::memory_order_relaxed)) {
    for (uint16_t port : ports) {
      const uint16_t n = rte_eth_rx_burst(port, 0, pkts, kBurst);
      t.rx_packets += n;
      for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        m->port = port;
        net::packet_view v;
        uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
        const bool parsed = m->nb_segs == 1 && net::packet_parse(frame, rte_pktmbuf_data_len(m), v) == net::parse_error::none;
        if (!parsed || !is_protected(*io.cfg, frame, v)) {
          if (!parsed && (m->nb_segs > 1 || unparsed_touches_protected(*io.cfg, frame, rte_pktmbuf_data_len(m)))) {
            ++t.unparsed_dropped;
            rte_pktmbuf_free(m);
            continue;
          }
          ++t.bridged;
          tx_enqueue(t, m, other_port(t, port));
          continue;
        }
        if (rte_ring_sp_enqueue(io.workers[worker_of(frame, v, nw)]->in, m) != 0) {
          rte_pktmbuf_free(m);
          ++io.dispatch_drops;
        }
      }
    }
    for (worker_ctx* w : io.workers) {
      const unsigned n = rte_ring_sc_dequeue_burst(w->out, reinterpret_cast<void**>(pkts), kBurst, nullptr);
      for (unsigned i = 0; i < n; ++i) tx_enqueue(t, pkts[i], pkts[i]->port);
    }
    tx_flush(t, t.tx[0]);
    tx_flush(t, t.tx[1]);
  }
  tx_flush(t, t.tx[0]);
  tx_flush(t, t.tx[1]);
  return 0;
}

int worker_main(void* arg) {
  auto& w = *static_cast<worker_ctx*>(arg);
  session::session_bind_thread(*w.session);  // stream state from the session's pool, no malloc
  const io::dp_config& cfg = *w.cfg;
  const uint16_t ports[2] = {cfg.client_port, cfg.server_port};
  rte_mbuf* pkts[kBurst];
  while (!g_stop.load(std::memory_order_relaxed)) {
    const uint64_t now_ns = tsc_ns(rte_get_tsc_cycles(), w.tsc_hz);  // injected clock for the session
    uint32_t received = 0;
    for (uint16_t port : ports) {
      const uint16_t n = rte_eth_rx_burst(port, w.queue, pkts, kBurst);
      w.rx_packets += n;
      received += n;
      for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        m->port = port;
        const uint16_t out = other_port(w, port);
        net::packet_view v;
        uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
        // Multi-segment frames (jumbo) are not inspected; protected ones are caught below.
        const bool parsed = m->nb_segs == 1 && net::packet_parse(frame, rte_pktmbuf_data_len(m), v) == net::parse_error::none;
        if (!parsed || !is_protected(cfg, frame, v)) {
          // Cannot prove it is not protected (a multi-segment frame, or one the parser refused
          // that is IP to or from a protected address): fail closed, counted.
          if (!parsed && (m->nb_segs > 1 || unparsed_touches_protected(cfg, frame, rte_pktmbuf_data_len(m)))) {
            ++w.unparsed_dropped;
            rte_pktmbuf_free(m);
            continue;
          }
          ++w.bridged;
          tx_enqueue(w, m, out);
          continue;
        }
        process_protected(w, m, frame, v, port, now_ns);
      }
    }
    worker_idle_point(w, now_ns, received == 0);
  }
  tx_flush(w, w.tx[0]);
  tx_flush(w, w.tx[1]);
  return 0;
}

// Counters as one JSON object (entity-free: counts and reasons only). Read on the main lcore while
// the worker writes them: aligned 64-bit loads cannot tear on the platforms DPDK supports, and a
// counter a moment old is fine for monitoring.
// Every worker's counters (and the io lcore's, in dispatched mode) summed for the stats socket.
struct totals {
  uint64_t rx_packets = 0, tx_packets = 0, bridged = 0, protected_packets = 0, tx_dropped = 0, resets_sent = 0,
           answers_sent = 0, dispatch_drops = 0, live = 0, held = 0, unparsed_dropped = 0, reset_alloc_failed = 0,
           inject_truncated = 0;
  session::session_counters s{};
};
static_assert(sizeof(session::session_counters) % sizeof(uint64_t) == 0, "summed as an array of counters");

totals sum_workers(const std::vector<worker_ctx*>& ws, const io_ctx* io) {
  totals t;
  auto add = [&t](const worker_ctx& w) {
    t.rx_packets += w.rx_packets;
    t.tx_packets += w.tx_packets;
    t.bridged += w.bridged;
    t.protected_packets += w.protected_packets;
    t.tx_dropped += w.tx_dropped;
    t.resets_sent += w.resets_sent;
    t.answers_sent += w.answers_sent;
    t.unparsed_dropped += w.unparsed_dropped;
    t.reset_alloc_failed += w.reset_alloc_failed;
    t.inject_truncated += w.inject_truncated;
  };
  for (const worker_ctx* w : ws) {
    add(*w);
    if (io != nullptr) t.rx_packets -= w->rx_packets;  // dispatched frames were counted by the io lcore
    const session::session_counters& c = session::session_stats(*w->session);
    uint64_t* dst = reinterpret_cast<uint64_t*>(&t.s);
    const uint64_t* src = reinterpret_cast<const uint64_t*>(&c);
    for (size_t i = 0; i < sizeof c / sizeof(uint64_t); ++i) dst[i] += src[i];
    t.live += session::session_live_flows(*w->session);
    t.held += session::session_held_packets(*w->session);
  }
  if (io != nullptr) {
    add(io->tx);
    t.dispatch_drops = io->dispatch_drops;
  }
  return t;
}

// Findings by entity across pattern swaps (main thread). Workers count findings per engine slot
// and pattern index; an index means a pattern of whichever database occupies the slot. When a
// slot's database is retired its counts so far are folded under its entity names and become the
// slot's baseline.
struct entity_counts {
  std::vector<std::pair<std::string, uint64_t>> retired;
  std::vector<std::array<std::array<uint64_t, 64>, 2>> base;  // [worker][slot][pattern]
};

void add_named(std::vector<std::pair<std::string, uint64_t>>& by, const std::string& name, uint64_t n) {
  if (n == 0) return;
  auto it = std::find_if(by.begin(), by.end(), [&](const auto& p) { return p.first == name; });
  if (it == by.end()) by.emplace_back(name, n);
  else it->second += n;
}

void retire_slot(entity_counts& ec, const std::vector<worker_ctx*>& ws, int slot, const std::vector<std::string>& names) {
  for (size_t w = 0; w < ws.size(); ++w) {
    const auto& c = session::session_stats(*ws[w]->session).findings_by_pattern[slot];
    for (size_t p = 0; p < 64; ++p) {
      if (p < names.size()) add_named(ec.retired, names[p], c[p] - ec.base[w][slot][p]);
      ec.base[w][slot][p] = c[p];
    }
  }
}

std::string stats_json(const std::vector<worker_ctx*>& ws, const io_ctx* io, const io::dp_gate* gate,
                       const io::dp_patterns& pats, const entity_counts& ec) {
  const totals w = sum_workers(ws, io);
  const session::session_counters& s = w.s;
  std::string j = "{\"rx_packets\":" + std::to_string(w.rx_packets) + ",\"tx_packets\":" + std::to_string(w.tx_packets) +
                  ",\"bridged\":" + std::to_string(w.bridged) + ",\"protected\":" + std::to_string(w.protected_packets) +
                  ",\"tx_dropped\":" + std::to_string(w.tx_dropped) + ",\"resets_sent\":" + std::to_string(w.resets_sent) +
                  ",\"flows_created\":" + std::to_string(s.flows_created) +
                  ",\"flows_live\":" + std::to_string(w.live) + ",\"held_packets\":" + std::to_string(w.held) +
                  ",\"dispatch_drops\":" + std::to_string(w.dispatch_drops) +
                  ",\"unparsed_dropped\":" + std::to_string(w.unparsed_dropped) +
                  ",\"reset_alloc_failed\":" + std::to_string(w.reset_alloc_failed) +
                  ",\"inject_truncated\":" + std::to_string(w.inject_truncated) +
                  ",\"timer_resets\":" + std::to_string(s.timer_resets) +
                  ",\"mask_bytes\":" + std::to_string(s.mask_bytes) + ",\"checksums_updated\":" +
                  std::to_string(s.checksums_updated) + ",\"windows_clamped\":" + std::to_string(s.windows_clamped) +
                  ",\"hold_flushes\":" + std::to_string(s.hold_flushes) +
                  ",\"answers_sent\":" + std::to_string(w.answers_sent) +
                  ",\"requests\":" + std::to_string(s.requests) + ",\"responses\":" + std::to_string(s.responses) +
                  ",\"credential_swaps\":" + std::to_string(s.credential_swaps) +
                  ",\"audit_waits\":" + std::to_string(s.audit_waits) + ",\"findings\":" + std::to_string(s.findings) +
                  ",\"decisions_partial_body\":" + std::to_string(s.decisions_partial_body) +
                  ",\"decisions_stalled\":" + std::to_string(s.decisions_stalled);
  // Findings by entity (the pattern's entity; counts only).
  j += ",\"findings_by_entity\":{";
  {
    std::vector<std::pair<std::string, uint64_t>> by = ec.retired;
    for (int slot = 0; slot < 2; ++slot) {
      const std::vector<std::string> names = pats.names().entities(pats.slot_serial(slot));
      for (size_t i = 0; i < names.size() && i < 64; ++i) {
        uint64_t base = 0;
        for (size_t w = 0; w < ws.size(); ++w) base += ec.base[w][slot][i];
        add_named(by, names[i], s.findings_by_pattern[slot][i] - base);
      }
    }
    for (size_t i = 0; i < by.size(); ++i)
      j += std::string(i ? "," : "") + "\"" + by[i].first + "\":" + std::to_string(by[i].second);
  }
  // Stream state (per-worker pools) and the scanner's fail-closed counters.
  {
    uint64_t blocks = 0, in_use = 0, high = 0, failed = 0, no_mem = 0, fallback = 0, map_overflow = 0, late = 0;
    uint64_t bad_report = 0, hs_errors = 0, repeat_skipped = 0, repeat_replays = 0, repeat_overflow = 0;
    uint64_t rest_overflow = 0;
    for (const worker_ctx* wk : ws) {
      const scan::stream_pool_stats p = session::session_stream_stats(*wk->session);
      const scan::scan_counters& c = session::session_scan_stats(*wk->session);
      blocks += p.blocks;
      in_use += p.in_use;
      high += p.high_water;
      failed += p.failed;
      no_mem += c.no_stream_memory;
      fallback += c.profile_db_fallback;
      map_overflow += c.map_overflow;
      bad_report += c.bad_report;
      hs_errors += c.hs_errors;
      repeat_skipped += c.repeat_skipped;
      repeat_replays += c.repeat_replays;
      repeat_overflow += c.repeat_overflow;
      rest_overflow += c.rest_overflow;
      late += c.late_mask_bytes;
    }
    j += "},\"streams\":{\"block_bytes\":" + std::to_string(pats.stream_block_bytes()) + ",\"blocks\":" +
         std::to_string(blocks) + ",\"in_use\":" + std::to_string(in_use) + ",\"high_water\":" + std::to_string(high) +
         ",\"failed\":" + std::to_string(failed) + ",\"no_stream_memory\":" + std::to_string(no_mem) +
         ",\"profile_db_fallback\":" + std::to_string(fallback) + ",\"map_overflow\":" + std::to_string(map_overflow) +
         ",\"bad_report\":" + std::to_string(bad_report) + ",\"hs_errors\":" + std::to_string(hs_errors) +
         ",\"late_mask_bytes\":" + std::to_string(late) + ",\"repeat_skipped\":" + std::to_string(repeat_skipped) +
         ",\"repeat_replays\":" + std::to_string(repeat_replays) + ",\"repeat_overflow\":" + std::to_string(repeat_overflow) +
         ",\"rest_overflow\":" + std::to_string(rest_overflow);
  }
  // Body state (per-worker engine pools).
  {
    core::object_pool_stats b{};
    uint64_t no_mem = 0;
    for (const worker_ctx* wk : ws) {
      const core::object_pool_stats p = session::session_body_stats(*wk->session);
      b.capacity += p.capacity;
      b.in_use += p.in_use;
      b.high_water += p.high_water;
      b.failed += p.failed;
      no_mem += session::session_scan_stats(*wk->session).no_body_memory;
    }
    j += "},\"bodies\":{\"block_bytes\":" + std::to_string(sizeof(engine::body_state)) + ",\"blocks\":" +
         std::to_string(b.capacity) + ",\"in_use\":" + std::to_string(b.in_use) + ",\"high_water\":" +
         std::to_string(b.high_water) + ",\"failed\":" + std::to_string(b.failed) + ",\"no_body_memory\":" +
         std::to_string(no_mem);
  }
  j += "},\"decisions_by_verdict\":{";
  for (size_t i = 0; i < session::request_verdict_count; ++i)
    j += std::string(i ? "," : "") + "\"" + session::request_verdict_name(static_cast<session::request_verdict>(i)) +
         "\":" + std::to_string(s.decisions[i]);
  j += "}";
  if (gate != nullptr) j += "," + io::dp_gate_stats_json(*gate);
  j += ",\"workers\":[";
  for (size_t i = 0; i < ws.size(); ++i)
    j += std::string(i ? "," : "") + "{\"rx_packets\":" + std::to_string(ws[i]->rx_packets) +
         ",\"queue\":" + std::to_string(ws[i]->queue) + ",\"protected\":" + std::to_string(ws[i]->protected_packets) +
         ",\"flows_created\":" + std::to_string(session::session_stats(*ws[i]->session).flows_created) + "}";
  j += "]";
  j += ",\"drops\":{";
  for (size_t i = 1; i < session::drop_reason_count; ++i)
    j += std::string(i > 1 ? "," : "") + "\"" + session::drop_reason_name(static_cast<session::drop_reason>(i)) +
         "\":" + std::to_string(s.drops[i]);
  j += "},\"resets\":{";
  for (size_t i = 1; i < session::reset_reason_count; ++i)
    j += std::string(i > 1 ? "," : "") + "\"" + session::reset_reason_name(static_cast<session::reset_reason>(i)) +
         "\":" + std::to_string(s.resets[i]);
  return j + "}}\n";
}

// The stats socket: a local UNIX stream socket; each connection gets one JSON object. Served by
// the main lcore, never by the worker.
int stats_listen(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void stats_serve(int fd, const std::vector<worker_ctx*>& ws, const io_ctx* io, const io::dp_gate* gate,
                 const io::dp_patterns& pats, const entity_counts& ec) {
  for (;;) {
    const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    const std::string j = stats_json(ws, io, gate, pats, ec);
    ssize_t off = 0;
    while (off < static_cast<ssize_t>(j.size())) {
      const ssize_t n = write(c, j.data() + off, j.size() - off);
      if (n <= 0) break;
      off += n;
    }
    close(c);
  }
}

// Hashed by the NIC in rss sharding: TCP by 4-tuple (what must stay together), other IP by
// addresses. Fragments hash by addresses only, so they may reach another worker than their flow:
// the session drops fragments of protected traffic anyway (fail closed).
constexpr uint64_t kRssTypes = RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_IPV4 |
                               RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_FRAG_IPV6;
constexpr size_t kMaxRssKey = 64;

// Why these two ports cannot shard `queues` workers by symmetric RSS ("" when they can). Both
// ports must hash TCP by 4-tuple with a settable key, and map a hash to the same queue: equal
// redirection table sizes (the default table spreads entries round-robin, so a frame's queue is
// (hash mod table size) mod queues, the same on both ports only when the sizes agree or queues
// is a power of two).
std::string rss_unfit(uint16_t client, uint16_t server, uint16_t queues) {
  rte_eth_dev_info info[2];
  const uint16_t ports[2] = {client, server};
  for (int i = 0; i < 2; ++i) {
    if (rte_eth_dev_info_get(ports[i], &info[i]) != 0) return "port " + std::to_string(ports[i]) + ": no device info";
    const std::string p = "port " + std::to_string(ports[i]) + " (" + (info[i].driver_name ? info[i].driver_name : "?") + ")";
    if ((info[i].flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) == 0) return p + " has no RSS over TCP";
    if (info[i].max_rx_queues < queues || info[i].max_tx_queues < queues)
      return p + " has fewer than " + std::to_string(queues) + " RX/TX queues";
    if (info[i].hash_key_size > kMaxRssKey) return p + " wants an RSS key longer than " + std::to_string(kMaxRssKey) + " bytes";
  }
  if (info[0].reta_size != info[1].reta_size && (queues & (queues - 1)) != 0)
    return "the ports' redirection tables differ in size (" + std::to_string(info[0].reta_size) + ", " +
           std::to_string(info[1].reta_size) + ") and " + std::to_string(queues) + " is not a power of two";
  return {};
}

// `queues` RX/TX queue pairs; with `rss`, the NIC spreads flows over them with the symmetric key
// (dataplane/io/rss.hh), so both directions of a connection meet on one queue of each port.
int port_start(uint16_t port, rte_mempool* pool, uint16_t queues, bool rss) {
  rte_eth_conf conf{};
  uint8_t key[kMaxRssKey];
  if (rss) {
    rte_eth_dev_info info;
    if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) return rc;
    const uint8_t key_len = info.hash_key_size != 0 ? info.hash_key_size : 40;
    io::symmetric_rss_key(key, key_len);
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key;
    conf.rx_adv_conf.rss_conf.rss_key_len = key_len;
    conf.rx_adv_conf.rss_conf.rss_hf = kRssTypes & info.flow_type_rss_offloads;
  }
  int rc = rte_eth_dev_configure(port, queues, queues, &conf);
  for (uint16_t q = 0; rc == 0 && q < queues; ++q) {
    rc = rte_eth_rx_queue_setup(port, q, kRingSize, rte_eth_dev_socket_id(port), nullptr, pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(port, q, kRingSize, rte_eth_dev_socket_id(port), nullptr);
  }
  if (rc == 0) rc = rte_eth_dev_start(port);
  if (rc == 0) rc = rte_eth_promiscuous_enable(port);  // a bridge forwards frames for others
  return rc;
}

void print_stats(const std::vector<worker_ctx*>& ws, const io_ctx* io) {
  const totals w = sum_workers(ws, io);
  const session::session_counters& s = w.s;
  std::fprintf(stderr,
               "phigate-dp: rx %lu tx %lu bridged %lu protected %lu tx_dropped %lu dispatch_drops %lu flows %lu "
               "held_now %lu mask_bytes %lu checksums %lu hold_flushes %lu resets_sent %lu answers_sent %lu\n",
               w.rx_packets, w.tx_packets, w.bridged, w.protected_packets, w.tx_dropped, w.dispatch_drops,
               s.flows_created, w.held, s.mask_bytes, s.checksums_updated, s.hold_flushes, w.resets_sent, w.answers_sent);
  for (size_t i = 1; i < session::drop_reason_count; ++i)
    if (s.drops[i]) std::fprintf(stderr, "phigate-dp: drop %s %lu\n", session::drop_reason_name(static_cast<session::drop_reason>(i)), s.drops[i]);
  for (size_t i = 1; i < session::reset_reason_count; ++i)
    if (s.resets[i]) std::fprintf(stderr, "phigate-dp: reset %s %lu\n", session::reset_reason_name(static_cast<session::reset_reason>(i)), s.resets[i]);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--config") && i + 1 < argc) config_path = argv[++i];
    else if (!std::strcmp(argv[i], "--help")) {
      std::puts("usage: phigate-dp --config FILE\n(see configs/phigate-dp.topology.json)");
      return 0;
    } else {
      std::fprintf(stderr, "phigate-dp: unknown argument %s (usage: phigate-dp --config FILE)\n", argv[i]);
      return 1;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "phigate-dp: --config FILE is required\n");
    return 1;
  }
  // Everything that can be wrong with the configuration is found before any port starts.
  io::dp_config cfg;
  if (std::string e = io::dp_config_load(config_path, cfg); !e.empty()) {
    std::fprintf(stderr, "phigate-dp: %s\n", e.c_str());
    return 1;
  }
  // Several sets are merged before compiling (one db, one scan per byte); masking profiles
  // choose among them by set name.
  std::string patterns_label;
  for (const std::string& path : cfg.patterns) patterns_label += (patterns_label.empty() ? "" : ", ") + path;
  auto merged = scan::pattern_set_load_all(cfg.patterns);
  if (auto* e = std::get_if<scan::load_error>(&merged)) {
    std::fprintf(stderr, "phigate-dp: patterns: %s: %s\n", e->where.c_str(), e->reason.c_str());
    return 1;
  }
  auto compiled = scan::pattern_db::compile(std::get<scan::pattern_set>(merged));
  if (auto* e = std::get_if<scan::load_error>(&compiled)) {
    std::fprintf(stderr, "phigate-dp: patterns %s: %s: %s\n", patterns_label.c_str(), e->where.c_str(), e->reason.c_str());
    return 1;
  }
  std::unique_ptr<scan::pattern_db> db = std::move(std::get<0>(compiled));
  engine::engine_config ecfg;
  ecfg.db = db.get();  // the first database; dp_patterns owns it and may retire it after swaps
  if (const char* why = engine::engine_config_check(ecfg)) {
    std::fprintf(stderr, "phigate-dp: %s\n", why);
    return 1;
  }
  // Stream state comes from each worker session's block pool (the workers never call malloc for
  // it); the block bounds the databases phigate-cp may push later.
  const uint32_t stream_block = scan::stream_pool_block_for(db->stream_bytes(), cfg.stream_state_bytes);
  if (db->stream_bytes() > stream_block) {
    std::fprintf(stderr, "phigate-dp: patterns %s need %u bytes of stream state per channel; flows.stream_state_bytes "
                 "is %u\n", patterns_label.c_str(), db->stream_bytes(), stream_block);
    return 1;
  }
  io::dp_patterns patterns(std::move(db), patterns_label, cfg.workers, stream_block);

  // The request gate (policy, credentials, identity, audit log) is checked before any port starts.
  io::dp_gate_ptr gate;
  if (cfg.gate) {
    std::string err;
    gate = io::dp_gate_create(cfg, &patterns, cfg.workers, err);
    if (!gate) {
      std::fprintf(stderr, "phigate-dp: gate: %s\n", err.c_str());
      return 1;
    }
  }

  std::vector<std::string> eal = {"phigate-dp"};
  eal.insert(eal.end(), cfg.eal_args.begin(), cfg.eal_args.end());
  std::vector<char*> eal_argv;
  for (auto& a : eal) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "phigate-dp: EAL initialisation failed (check the eal arguments)\n");
    return 1;
  }
  for (uint16_t p : {cfg.client_port, cfg.server_port})
    if (!rte_eth_dev_is_valid_port(p)) {
      std::fprintf(stderr, "phigate-dp: port %u does not exist (%u ports found)\n", p, rte_eth_dev_count_avail());
      rte_eal_cleanup();
      return 1;
    }
  rte_mempool* pool = rte_pktmbuf_pool_create("phigate_mbufs", cfg.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
  if (!pool) {
    std::fprintf(stderr, "phigate-dp: cannot create the mbuf pool (%u mbufs)\n", cfg.mbufs);
    rte_eal_cleanup();
    return 1;
  }
  // Sharding: with several workers, the NIC's symmetric RSS where both ports can (each worker
  // polls its own queues: no io lcore, no second parse), else the io lcore's software hash.
  const unsigned nw = cfg.workers;
  bool use_rss = false;
  if (nw > 1 && cfg.sharding != io::dp_config::sharding_mode::software) {
    const std::string why = rss_unfit(cfg.client_port, cfg.server_port, static_cast<uint16_t>(nw));
    if (why.empty()) {
      use_rss = true;
    } else if (cfg.sharding == io::dp_config::sharding_mode::rss) {
      std::fprintf(stderr, "phigate-dp: sharding \"rss\" is not possible: %s (use \"auto\" or \"software\")\n", why.c_str());
      rte_eal_cleanup();
      return 1;
    } else {
      std::fprintf(stderr, "phigate-dp: software sharding: %s\n", why.c_str());
    }
  }
  for (uint16_t p : {cfg.client_port, cfg.server_port})
    if (int rc = port_start(p, pool, use_rss ? static_cast<uint16_t>(nw) : 1, use_rss); rc != 0) {
      std::fprintf(stderr, "phigate-dp: port %u failed to start (%s)\n", p, std::strerror(-rc));
      rte_eal_cleanup();
      return 1;
    }

  // Lcores: with one worker (or rss sharding) workers poll the ports themselves; with software
  // sharding an io lcore polls and dispatches. Either way the main lcore serves the sockets.
  std::vector<unsigned> lcores;
  for (unsigned l = rte_get_next_lcore(-1, 1, 0); l < RTE_MAX_LCORE; l = rte_get_next_lcore(l, 1, 0)) lcores.push_back(l);
  const size_t need = nw == 1 || use_rss ? nw : nw + 1;
  if (lcores.size() < need) {
    std::fprintf(stderr, "phigate-dp: %u worker(s) need %zu lcores besides the main one; the EAL arguments give %zu "
                 "(e.g. -l 0-%zu, or --lcores to share CPUs)\n", nw, need, lcores.size(), need);
    rte_eal_cleanup();
    return 1;
  }
  const uint64_t hz = rte_get_tsc_hz();
  if (gate) {
    timespec rt{};
    clock_gettime(CLOCK_REALTIME, &rt);
    const int64_t wall = int64_t{rt.tv_sec} * 1'000'000'000 + rt.tv_nsec;
    io::dp_gate_set_wall_offset(*gate, wall - static_cast<int64_t>(tsc_ns(rte_get_tsc_cycles(), hz)));
  }
  std::vector<std::unique_ptr<worker_ctx>> owned;
  std::vector<worker_ctx*> workers;
  for (unsigned i = 0; i < nw; ++i) {
    auto w = std::make_unique<worker_ctx>();
    w->cfg = &cfg;
    w->pool = pool;
    w->tx[0].port = cfg.client_port;
    w->tx[1].port = cfg.server_port;
    w->tsc_hz = hz;
    w->queue = use_rss ? static_cast<uint16_t>(i) : 0;
    w->patterns = &patterns;
    w->index = i;
    session::session_config scfg;
    scfg.engine = &ecfg;
    scfg.table.capacity = cfg.flow_capacity;
    // The configured idle timeout applies to established connections (handshakes and closing
    // connections keep their short defaults).
    scfg.table.timeout_ns[static_cast<size_t>(flow::timeout_class::established)] = uint64_t{cfg.idle_timeout_s} * 1'000'000'000ULL;
    scfg.table.timeout_ns[static_cast<size_t>(flow::timeout_class::syn)] = uint64_t{cfg.syn_timeout_s} * 1'000'000'000ULL;
    scfg.table.timeout_ns[static_cast<size_t>(flow::timeout_class::closing)] = uint64_t{cfg.closing_timeout_s} * 1'000'000'000ULL;
    scfg.history_bytes = cfg.history_bytes;
    scfg.stream_block_bytes = stream_block;
    scfg.open_bodies = cfg.open_bodies;
    scfg.clamp_window = cfg.clamp_window;
    scfg.tcp.midstream = cfg.midstream_accept ? tcp::midstream_policy::accept : tcp::midstream_policy::reset;
    scfg.reasm.max_segments_per_flow = cfg.reasm_segments_per_flow;
    scfg.reasm.max_bytes_per_flow = cfg.reasm_bytes_per_flow;
    scfg.reasm.max_segments = cfg.reasm_segments;
    scfg.reasm.max_bytes = uint64_t{cfg.reasm_mbytes} << 20;
    scfg.reasm.gap_timeout_ns = uint64_t{cfg.gap_timeout_ms} * 1'000'000ULL;
    scfg.hold_timeout_ns = static_cast<uint64_t>(cfg.hold_timeout_ms) * 1'000'000ULL;
    if (gate) {
      scfg.decider = io::dp_gate_decider(*gate, i);
      w->quiescent = &io::dp_gate_quiescent_counter(*gate, i);
      scfg.hold = io::dp_gate_hold_config(*gate);
      scfg.recorder = io::dp_gate_recorder(*gate, i);
    }
    if (nw > 1 && !use_rss) {
      char name[32];
      std::snprintf(name, sizeof name, "pg_w%u_in", i);
      w->in = rte_ring_create(name, 4096, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
      std::snprintf(name, sizeof name, "pg_w%u_out", i);
      w->out = rte_ring_create(name, 4096, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!w->in || !w->out) {
        std::fprintf(stderr, "phigate-dp: cannot create the worker rings\n");
        rte_eal_cleanup();
        return 1;
      }
    }
    const session::session_sink sink{w.get(), sink_forward, sink_drop};
    const char* why = nullptr;
    w->session = session::session_create(scfg, sink, &why);
    if (!w->session) {
      std::fprintf(stderr, "phigate-dp: session setup failed: %s\n", why ? why : "unknown");
      rte_eal_cleanup();
      return 1;
    }
    workers.push_back(w.get());
    owned.push_back(std::move(w));
  }
  entity_counts counts;
  counts.base.assign(nw, {});
  if (gate)
    io::dp_gate_set_pattern_hooks(
        *gate, [&workers](unsigned w, int slot) { return session::session_open_bodies(*workers[w]->session, slot); },
        [&](int slot, uint32_t serial) { retire_slot(counts, workers, slot, patterns.names().entities(serial)); });
  std::unique_ptr<io_ctx> io_lcore;
  if (nw > 1 && !use_rss) {
    io_lcore = std::make_unique<io_ctx>();
    io_lcore->cfg = &cfg;
    io_lcore->workers = workers;
    io_lcore->tx.cfg = &cfg;
    io_lcore->tx.pool = pool;
    io_lcore->tx.tx[0].port = cfg.client_port;
    io_lcore->tx.tx[1].port = cfg.server_port;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "phigate-dp: bridging port %u (client) <-> port %u (server), %zu protected service(s), "
               "%u worker(s)%s\n", cfg.client_port, cfg.server_port, cfg.services.size(), nw,
               nw == 1 ? "" : use_rss ? " on NIC queues (symmetric RSS)" : " behind a dispatching io lcore");
  const int stats_fd = stats_listen(cfg.stats_socket);
  if (gate) io::dp_gate_start(*gate);
  if (stats_fd < 0) std::fprintf(stderr, "phigate-dp: stats socket %s unavailable; continuing without it\n", cfg.stats_socket.c_str());
  if (nw == 1 || use_rss) {
    for (unsigned i = 0; i < nw; ++i) rte_eal_remote_launch(worker_main, workers[i], lcores[i]);
  } else {
    for (unsigned i = 0; i < nw; ++i) rte_eal_remote_launch(dispatched_worker_main, workers[i], lcores[i + 1]);
    rte_eal_remote_launch(io_main, io_lcore.get(), lcores[0]);
  }
  while (!g_stop.load()) {
    if (stats_fd >= 0) stats_serve(stats_fd, workers, io_lcore.get(), gate.get(), patterns, counts);
    // The main lcore sleeps between polls: it usually shares a CPU with other work (the ports'
    // kernel side, the control plane), and rte_delay_ms would busy-wait that CPU away.
    if (gate) {
      io::dp_gate_poll(*gate, 20);
    } else if (stats_fd >= 0) {
      pollfd p{stats_fd, POLLIN, 0};
      (void)poll(&p, 1, 50);
    } else {
      rte_delay_us_sleep(50'000);
    }
  }
  rte_eal_mp_wait_lcore();
  if (stats_fd >= 0) {
    close(stats_fd);
    unlink(cfg.stats_socket.c_str());
  }
  print_stats(workers, io_lcore.get());
  for (uint16_t p : {cfg.client_port, cfg.server_port}) {
    rte_eth_dev_stop(p);
    rte_eth_dev_close(p);
  }
  // Frames still in the rings go back to the pool; then live connections end with their
  // sessions (their audit and recording records are queued), then the drain thread writes what
  // is left and signs the final checkpoint.
  for (worker_ctx* w : workers) {
    void* m = nullptr;
    if (w->in) while (rte_ring_sc_dequeue(w->in, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    session::session_destroy(w->session);
    if (w->out) while (rte_ring_sc_dequeue(w->out, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
  if (gate) io::dp_gate_stop(*gate);
  rte_eal_cleanup();
  return 0;
}
