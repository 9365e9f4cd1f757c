#include "cli/capacity/capacity_measure.hh"

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <span>
#include <thread>

#include "dataplane/engine/mask_message.hh"
#include "dataplane/scan/pattern_set.hh"
#include "dataplane/session/session.hh"

namespace phigate::capacity {
namespace {

using bench::buffer_pool;
using bench::clock_ns;
using bench::frame_desc;
using bench::kBurst;
using bench::kPoolBuffers;
using bench::lane_address;
using bench::session_ptr;
using bench::thread_cpu_ns;
using session::packet_action;

constexpr size_t kPoolPrefault = 4096;  // buffers touched at setup, not in a timed run
constexpr double kMaxWarmupS = 0.5;

uint64_t rss_bytes() {
  uint64_t rss = 0;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      unsigned long long kb = 0;
      if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1) rss = kb * 1024;
    }
    std::fclose(f);
  }
  return rss;
}

uint32_t pow2_at_least(uint64_t n) {
  uint32_t c = 64;
  while (c < n) c <<= 1;
  return c;
}

// Lanes of one worker. Global lane g plays script g mod S when there are at least S lanes in all;
// with fewer, every lane cycles through the scripts g, g + lanes, ... so the whole mix is played
// whatever the lcore count.
bench::lane_replay make_lanes(const replay_set& rs, uint32_t group, uint32_t total_lanes, uint32_t first_global,
                              uint32_t stride, uint32_t count) {
  bench::lane_replay rp(rs.fc);
  const uint32_t scripts = static_cast<uint32_t>(rs.fc.scripts.size());
  std::vector<uint32_t> list;
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t g = first_global + k * stride;
    list.clear();
    if (total_lanes >= scripts) {
      list.push_back(g % scripts);
    } else {
      for (uint32_t s = g; s < scripts; s += total_lanes) list.push_back(s);
    }
    rp.add_lane(bench::lane_address_of(group, k), list);
  }
  return rp;
}

// ---------------------------------------------------------------- one worker (one lcore)

// Declaration order matters: the session returns held frames to the pool when destroyed.
struct worker {
  bench::lane_replay rp;
  buffer_pool pool;
  session_ptr s;
  tick_histogram hist;
  uint32_t lane = 0;
  uint64_t dropped = 0;  // held frames the session dropped through the sink
  bool counting = true;  // session_destroy's drops of still-held frames are not refusals
  std::string error;
  std::atomic<uint32_t> warm_done{0};  // lanes warmed (read by the progress display)
  // Timed-run totals.
  uint64_t packets = 0, response_bytes = 0, cpu_ns = 0, wall_ns = 0, bursts = 0, preempted = 0;
  uint64_t requests0 = 0, findings0 = 0, mask0 = 0;

  worker(const engine::engine_config& cfg, const replay_set& rs, uint32_t group, uint32_t total_lanes, uint32_t first,
         uint32_t stride, uint32_t count)
      : rp(make_lanes(rs, group, total_lanes, first, stride, count)), pool(kPoolBuffers, kPoolPrefault) {
    session::session_sink sink;
    sink.ctx = this;
    sink.forward = [](void* ctx, void* pkt) { static_cast<worker*>(ctx)->pool.put(static_cast<uint8_t*>(pkt)); };
    sink.drop = [](void* ctx, void* pkt) {
      auto& w = *static_cast<worker*>(ctx);
      if (w.counting) ++w.dropped;
      w.pool.put(static_cast<uint8_t*>(pkt));
    };
    const char* why = nullptr;
    s.reset(session::session_create(bench::replay_session_config(cfg, pow2_at_least(2ull * count)), sink, &why));
    if (!s) error = std::string("session_create: ") + (why ? why : "failed");
  }

  // Untimed: each lane to its staggered start.
  void warm(const replay_set& rs) {
    for (uint32_t i = 0; i < rp.lanes() && error.empty(); ++i) {
      const uint64_t n = rp.lanes() > 1 ? bench::stagger(i, rp.cycle_frames(i)) : 0;
      for (uint64_t k = 0; k < n && error.empty(); ++k) {
        const frame_desc& f = rp.next(i);
        uint8_t* buf = bench::frame_load(pool, rs.fc, f, rp.addr(i));
        if (!buf) {
          error = "frame pool exhausted during warm-up";
          return;
        }
        const session::session_result r = session::session_on_packet(*s, {buf, buf, f.len}, clock_ns());
        if (r.action != packet_action::held) pool.put(buf);
      }
      session::session_tick(*s, clock_ns(), kBurst);
      warm_done.store(i + 1, std::memory_order_relaxed);
    }
    warm_done.store(rp.lanes(), std::memory_order_relaxed);
  }

  // The loop phigate-dp's worker runs, fed from memory, until `deadline_ns`. kTimed: record.
  template <bool kTimed>
  void run(const replay_set& rs, uint64_t deadline_ns, double ns_per_tick) {
    session::session_ctx& ss = *s;
    uint32_t ln = lane;
    uint64_t pk = 0, rb = 0, nb = 0, np = 0;
    uint64_t pending[kBurst];
    const uint64_t cpu0 = thread_cpu_ns(), wall0 = clock_ns();
    for (;;) {
      const uint64_t now = clock_ns();
      if (now >= deadline_ns) break;
      bench::burst_clock burst;
      if constexpr (kTimed) burst.start();
      size_t npending = 0;
      for (size_t k = 0; k < kBurst; ++k) {
        const frame_desc& f = rp.next(ln);
        const lane_address& a = rp.addr(ln);
        if (++ln == rp.lanes()) ln = 0;
        uint8_t* buf = bench::frame_load(pool, rs.fc, f, a);
        if (buf == nullptr) {
          error = "frame pool exhausted: the session holds more frames than the pool has";
          return;
        }
        session::session_result r;
        if constexpr (kTimed) {
          const uint64_t t0 = bench::tsc_begin();
          r = session::session_on_packet(ss, {buf, buf, f.len}, now);
          pending[npending++] = bench::tsc_end() - t0;
        } else {
          r = session::session_on_packet(ss, {buf, buf, f.len}, now);
        }
        if (r.action != packet_action::held) pool.put(buf);
        rb += f.from_server ? f.payload : 0;
        ++pk;
      }
      if constexpr (kTimed) {
        ++nb;
        if (burst.preempted(ns_per_tick)) {
          ++np;
        } else {
          for (size_t i = 0; i < npending; ++i) hist.add(pending[i]);
        }
      }
      session::session_tick(ss, now, kBurst);
    }
    lane = ln;
    if constexpr (kTimed) {
      cpu_ns = thread_cpu_ns() - cpu0;
      wall_ns = clock_ns() - wall0;
      packets = pk;
      response_bytes = rb;
      bursts = nb;
      preempted = np;
    }
  }
};

void pin_to_cpu(uint32_t cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort (containers may refuse)
}

const double kCdfQuantiles[] = {0.001, 0.01,  0.02, 0.05, 0.1,  0.15, 0.2,   0.25,  0.3,    0.35,
                                0.4,   0.45,  0.5,  0.55, 0.6,  0.65, 0.7,   0.75,  0.8,    0.85,
                                0.9,   0.925, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.0};

std::variant<point_result, std::string> measure_point(const engine::engine_config& cfg, const traffic_profile& p,
                                                      const replay_set& rs, uint32_t L, uint32_t point_index,
                                                      const measure_options& opt, const bench::tsc_calibration& cal) {
  const uint32_t flows = p.concurrent_flows;
  if (flows < L)
    return "concurrent_flows (" + std::to_string(flows) + ") is below the lcore count " + std::to_string(L);
  std::vector<std::unique_ptr<worker>> ws;
  for (uint32_t t = 0; t < L; ++t) {
    const uint32_t count = flows / L + (t < flows % L ? 1 : 0);
    ws.push_back(std::make_unique<worker>(cfg, rs, t, flows, t, L, count));
    if (!ws.back()->error.empty()) return ws.back()->error;
  }
  const double warm_s = std::min(kMaxWarmupS, opt.seconds / 4);
  std::atomic<uint32_t> ready{0};
  std::atomic<bool> go{false};
  std::atomic<uint64_t> start_ns{0};
  const uint32_t cpus = online_cpus();
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < L; ++t) {
    threads.emplace_back([&, t] {
      worker& w = *ws[t];
      if (opt.pin_threads) pin_to_cpu(t % cpus);
      w.warm(rs);
      if (w.error.empty()) w.run<false>(rs, clock_ns() + static_cast<uint64_t>(warm_s * 1e9), cal.ns_per_tick);
      const session::session_counters& n = session::session_stats(*w.s);
      w.requests0 = n.requests, w.findings0 = n.findings, w.mask0 = n.mask_bytes;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      if (w.error.empty()) w.run<true>(rs, start_ns.load() + static_cast<uint64_t>(opt.seconds * 1e9), cal.ns_per_tick);
    });
  }
  // On a terminal one line rewritten in place; otherwise a line per phase and per 25%.
  const bool tty = opt.progress && isatty(fileno(opt.progress));
  int last_step = -1;
  const char* last_phase = "";
  auto progress = [&](const char* phase, double pct) {
    if (!opt.progress) return;
    const int step = static_cast<int>(pct / 25);
    if (!tty && phase == last_phase && step == last_step) return;
    last_phase = phase, last_step = step;
    std::fprintf(opt.progress, "%sphigate capacity: point %u/%zu (%u lcore%s): %s %3.0f%%%s", tty ? "\r" : "",
                 point_index + 1, opt.lcores.size(), L, L == 1 ? "" : "s", phase, pct, tty ? "   " : "\n");
    std::fflush(opt.progress);
  };
  for (;;) {
    uint64_t done = 0;
    for (const auto& w : ws) done += w->warm_done.load(std::memory_order_relaxed);
    progress("warm-up", 100.0 * static_cast<double>(done) / static_cast<double>(flows));
    if (ready.load() == L) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  start_ns.store(clock_ns());
  go.store(true, std::memory_order_release);
  const uint64_t t0 = start_ns.load();
  for (;;) {
    const double el = static_cast<double>(clock_ns() - t0) * 1e-9;
    if (el >= opt.seconds) break;
    progress("measuring", 100.0 * el / opt.seconds);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min<int>(200, 1 + static_cast<int>(opt.seconds * 1000 / 20))));
  }
  for (std::thread& th : threads) th.join();
  progress("done", 100);
  if (tty) std::fputc('\n', opt.progress);

  point_result pr;
  pr.lcores = L;
  tick_histogram merged;
  double cpu_share = 0, gcpu = 0, mcpu = 0, rcpu = 0;
  uint64_t max_wall = 0, bursts = 0, preempted = 0;
  for (auto& wp : ws) {
    worker& w = *wp;
    if (!w.error.empty()) return w.error;
    const session::session_counters& n = session::session_stats(*w.s);
    for (size_t i = 1; i < session::drop_reason_count; ++i) pr.drops += n.drops[i];
    for (size_t i = 1; i < session::reset_reason_count; ++i) pr.resets += n.resets[i];
    pr.drops += w.dropped;
    if (const std::string r = bench::refusals(n); !r.empty()) return "the session refused frames of a verified replay: " + r;
    if (w.dropped) return std::to_string(w.dropped) + " held frames dropped by the session during the replay";
    pr.packets += w.packets;
    pr.response_bytes += w.response_bytes;
    pr.requests += n.requests - w.requests0;
    pr.findings += n.findings - w.findings0;
    pr.mask_bytes += n.mask_bytes - w.mask0;
    max_wall = std::max(max_wall, w.wall_ns);
    const double cpu_s = static_cast<double>(w.cpu_ns) * 1e-9;
    if (cpu_s > 0) {
      gcpu += static_cast<double>(w.response_bytes) * 8e-9 / cpu_s;
      mcpu += static_cast<double>(w.packets) * 1e-6 / cpu_s;
      rcpu += static_cast<double>(n.requests - w.requests0) / cpu_s;
    }
    cpu_share += w.wall_ns ? static_cast<double>(w.cpu_ns) / static_cast<double>(w.wall_ns) : 0;
    merged.merge(w.hist);
    bursts += w.bursts;
    preempted += w.preempted;
    w.counting = false;
  }
  if (p.phi_per_kib > 0 && rs.planted_per_pass > 0 && pr.mask_bytes == 0 &&
      pr.response_bytes > rs.response_payload_per_pass)
    return "the timed replay masked nothing although PHI was planted";
  pr.wall_s = static_cast<double>(max_wall) * 1e-9;
  if (pr.wall_s <= 0) return "no time measured";
  pr.gbps = static_cast<double>(pr.response_bytes) * 8e-9 / pr.wall_s;
  pr.mpps = static_cast<double>(pr.packets) * 1e-6 / pr.wall_s;
  pr.requests_per_s = static_cast<double>(pr.requests) / pr.wall_s;
  pr.gbps_per_lcore = pr.gbps / L;
  pr.mpps_per_lcore = pr.mpps / L;
  pr.gbps_thread_cpu = gcpu / L;
  pr.mpps_thread_cpu = mcpu / L;
  pr.requests_thread_cpu = rcpu / L;
  pr.cpu_share = cpu_share / L;
  latency_summary& ls = pr.latency;
  auto ns = [&](uint64_t ticks) { return static_cast<double>(ticks) * cal.ns_per_tick; };
  ls.samples = merged.total();
  ls.bursts = bursts;
  ls.preempted_bursts = preempted;
  ls.p50_ns = ns(merged.quantile(0.5));
  ls.p90_ns = ns(merged.quantile(0.9));
  ls.p99_ns = ns(merged.quantile(0.99));
  ls.p999_ns = ns(merged.quantile(0.999));
  ls.max_ns = ns(merged.max());
  if (ls.samples)
    for (double q : kCdfQuantiles) ls.cdf.emplace_back(q < 1 ? ns(merged.quantile(q)) : ls.max_ns, q);
  return pr;
}

}  // namespace

// ---------------------------------------------------------------- setup

uint32_t online_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

std::variant<std::unique_ptr<engine_setup>, std::string> engine_setup_load(const std::string& path) {
  auto loaded = scan::pattern_set_load(path);
  if (auto* err = std::get_if<scan::load_error>(&loaded)) return path + ": " + err->where + ": " + err->reason;
  auto compiled = scan::pattern_db::compile(std::get<scan::pattern_set>(loaded));
  if (auto* err = std::get_if<scan::load_error>(&compiled)) return path + ": " + err->where + ": " + err->reason;
  auto e = std::make_unique<engine_setup>();
  e->db = std::move(std::get<std::unique_ptr<scan::pattern_db>>(compiled));
  e->cfg.db = e->db.get();
  if (const char* why = engine::engine_config_check(e->cfg)) return std::string("engine config: ") + why;
  e->description = std::string(e->db->name()) + " v" + std::to_string(e->db->version()) + " (" +
                   std::to_string(e->db->patterns().size()) + " patterns)";
  return e;
}

// ---------------------------------------------------------------- verification

std::string verify_replay(const engine::engine_config& cfg, const replay_set& rs, verify_result& out) {
  out = verify_result{};
  buffer_pool pool(kPoolBuffers, kPoolPrefault);
  bench::checking_sink v;
  v.pool = &pool;
  const session::session_sink sink = v.sink();
  // What the engine alone makes of each response in the same segments (mask_message, as
  // `phigate mask` runs it): the session's forwarded bytes must equal it.
  std::unique_ptr<engine::engine_scratch, void (*)(engine::engine_scratch*)> x(engine::engine_scratch_create(cfg),
                                                                               engine::engine_scratch_destroy);
  if (!x) return "engine_scratch_create failed";
  std::vector<std::vector<uint8_t>> expected;
  for (size_t ri = 0; ri < rs.responses.size(); ++ri) {
    const std::string& b = rs.responses[ri].bytes;
    const size_t seg[] = {rs.shape.segment_bytes};
    engine::mask_options mo;
    mo.segments = seg;
    engine::mask_outcome o =
        engine::mask_message(cfg, *x, std::span(reinterpret_cast<const uint8_t*>(b.data()), b.size()), mo);
    if (!o.ok) return "response " + std::to_string(ri) + ": mask_message refused it: " + engine::describe_error(o);
    expected.push_back(std::move(o.output));
  }
  const char* why = nullptr;
  session_ptr s(session::session_create(bench::replay_session_config(cfg, 64), sink, &why));
  if (!s) return std::string("session_create: ") + (why ? why : "failed");
  const lane_address addr = bench::lane_address_of(250, 0);
  for (size_t si = 0; si < rs.fc.scripts.size(); ++si) {
    const bench::script& sc = rs.fc.scripts[si];
    // Twice: the second pass is the port-reuse restart the timed loop sees.
    for (int pass = 0; pass < 2; ++pass) {
      v.server_bytes.clear();
      for (uint32_t i = 0; i < sc.loop_count; ++i) {
        const frame_desc& f = rs.fc.frames[sc.loop_first + i];
        uint8_t* buf = bench::frame_load(pool, rs.fc, f, addr);
        if (!buf) return "frame pool exhausted";
        const session::session_result r = session::session_on_packet(*s, {buf, buf, f.len}, 1'000'000);
        ++out.frames;
        if (r.action == packet_action::forward) {
          v.check(buf);
          pool.put(buf);
        } else if (r.action != packet_action::held) {
          pool.put(buf);
          return "script " + std::to_string(si) + " frame " + std::to_string(i) + ": " +
                 session::packet_action_name(r.action) + " (" + session::drop_reason_name(r.drop) + ", " +
                 session::reset_reason_name(r.reset) + ")";
        }
      }
      if (session::session_held_packets(*s) != 0)
        return "script " + std::to_string(si) + ": frames still held after FIN";
      // Split the forwarded stream by the original lengths (masking keeps lengths).
      size_t off = 0;
      for (const uint32_t ri : rs.script_responses[si]) {
        const generated_response& gr = rs.responses[ri];
        if (off + gr.bytes.size() > v.server_bytes.size())
          return "script " + std::to_string(si) + ": forwarded response stream shorter than sent";
        const std::string_view fwd(v.server_bytes.data() + off, gr.bytes.size());
        off += gr.bytes.size();
        const std::vector<uint8_t>& want = expected[ri];
        if (fwd.size() != want.size() || std::memcmp(fwd.data(), want.data(), want.size()) != 0)
          return "script " + std::to_string(si) + " response " + std::to_string(ri) +
                 ": forwarded bytes differ from mask_message() of the same response";
        const std::string sent_text = model_text_of(gr.bytes), fwd_text = model_text_of(fwd);
        if (fwd_text.size() != sent_text.size())
          return "script " + std::to_string(si) + " response " + std::to_string(ri) + ": model text length changed";
        for (size_t k = 0; k < gr.planted.size(); ++k) {
          if (sent_text.find(gr.planted[k]) == std::string::npos)
            return "response " + std::to_string(ri) + ": planted value " + std::to_string(k) +
                   " not in the sent text (generator bug)";
          if (fwd_text.find(gr.planted[k]) != std::string::npos)
            return "response " + std::to_string(ri) + (gr.sse ? " (SSE)" : " (JSON)") + ": planted value " +
                   std::to_string(k) + " survived in the forwarded text";
        }
        if (pass == 0) out.planted += gr.planted.size(), ++out.responses;
      }
      if (off != v.server_bytes.size()) return "script " + std::to_string(si) + ": forwarded more bytes than sent";
    }
  }
  out.scripts = static_cast<uint32_t>(rs.fc.scripts.size());
  if (v.bad) return std::to_string(v.bad) + " forwarded frames with a bad checksum";
  if (v.dropped) return std::to_string(v.dropped) + " held frames dropped";
  if (const std::string r = bench::refusals(session::session_stats(*s)); !r.empty()) return r;
  out.mask_bytes = session::session_stats(*s).mask_bytes;
  s.reset();
  if (pool.available() != pool.size()) return "frames not returned by the session";
  return {};
}

// ---------------------------------------------------------------- memory

std::variant<memory_result, std::string> measure_memory(const engine::engine_config& cfg, const replay_set& rs,
                                                        uint32_t flows) {
  memory_result m;
  m.flows = flows;
  m.table_capacity = pow2_at_least(2ull * flows);
  buffer_pool pool(kPoolBuffers, kPoolPrefault);
  const session::session_sink sink = pool.sink();
  // Freed heap pages from earlier work (replay generation, an earlier measurement in the same
  // process) would otherwise be reused without a page fault and hide the session's RSS, as in
  // `dp_bench --memory`.
  malloc_trim(0);
  const uint64_t rss0 = rss_bytes();
  const char* why = nullptr;
  session_ptr s(session::session_create(bench::replay_session_config(cfg, m.table_capacity), sink, &why));
  if (!s) return std::string("session_create: ") + (why ? why : "failed");
  const uint64_t rss1 = rss_bytes();
  session::session_bind_thread(*s);  // as a worker does
  const bench::script& sc = rs.fc.scripts[0];
  uint64_t refused = 0;
  m.sampled_flows = std::min(flows, kMemorySampleFlows);
  for (uint32_t i = 0; i < m.sampled_flows; ++i) {
    const lane_address a = bench::lane_address_of(i >> 16, i & 0xFFFF);
    for (uint32_t k = 0; k + 2 < sc.loop_count; ++k) {  // all but the client's FIN and the last ACK
      const frame_desc& f = rs.fc.frames[sc.loop_first + k];
      uint8_t* buf = bench::frame_load(pool, rs.fc, f, a);
      if (!buf) return std::string("frame pool exhausted while filling the flow table");
      bench::frame_keep_open(buf, f);  // the server's FIN cleared: the flow stays live
      const session::session_result r = session::session_on_packet(*s, {buf, buf, f.len}, 1'000'000 + i);
      if (r.action != packet_action::held) pool.put(buf);
      if (r.action == packet_action::drop || r.action == packet_action::reset) ++refused;
    }
  }
  const uint64_t rss2 = rss_bytes();
  if (refused) return std::to_string(refused) + " frames refused while filling the flow table";
  if (session::session_live_flows(*s) != m.sampled_flows)
    return "only " + std::to_string(session::session_live_flows(*s)) + " of " + std::to_string(m.sampled_flows) +
           " flows live";
  m.rss_create_bytes = static_cast<double>(rss1 > rss0 ? rss1 - rss0 : 0);
  m.rss_live_bytes = static_cast<double>(rss2 > rss1 ? rss2 - rss1 : 0);
  // An open body's state (engine::body_state and two Hyperscan stream blocks) comes from pools of
  // one per table slot (phigate-dp's default flows.open_bodies), touched only while a body is open
  // (the sampled flows' responses are complete). Planned for as if every slot were mid-body.
  const double bodies = (static_cast<double>(sizeof(engine::body_state)) + 2.0 * session::session_stream_block_bytes(*s)) *
                        static_cast<double>(m.table_capacity);
  m.bytes_per_flow = (m.rss_create_bytes + bodies) / flows + m.rss_live_bytes / m.sampled_flows;
  scan::stream_pool_bind(nullptr);
  return m;
}

// ---------------------------------------------------------------- the whole run

std::variant<measurement, std::string> measure_run(const engine::engine_config& cfg, const traffic_profile& p,
                                                   const replay_set& rs, const measure_options& opt) {
  measurement out;
  if (opt.lcores.empty()) return std::string("no lcore counts to measure");
  if (!(opt.seconds > 0)) return std::string("seconds must be greater than 0");
  for (const uint32_t L : opt.lcores)
    if (L == 0 || L > p.concurrent_flows)
      return std::to_string(L) + " lcores: concurrent_flows (" + std::to_string(p.concurrent_flows) +
             ") must be at least the lcore count (and the count at least 1)";
  if (opt.progress)
    std::fprintf(opt.progress, "phigate capacity: memory per flow (table for %u flows)\n", p.concurrent_flows);
  auto mem = measure_memory(cfg, rs, p.concurrent_flows);
  if (auto* e = std::get_if<std::string>(&mem)) return "memory: " + *e;
  out.memory = std::get<memory_result>(mem);
  if (opt.progress) std::fprintf(opt.progress, "phigate capacity: verifying %zu scripts\n", rs.fc.scripts.size());
  if (std::string why = verify_replay(cfg, rs, out.verify); !why.empty()) return "verification: " + why;
  const bench::tsc_calibration cal = bench::calibrate_tsc();
  out.ns_per_tick = cal.ns_per_tick;
  out.timer_overhead_ns = cal.timer_overhead_ns;
  for (uint32_t i = 0; i < opt.lcores.size(); ++i) {
    auto r = measure_point(cfg, p, rs, opt.lcores[i], i, opt, cal);
    if (auto* e = std::get_if<std::string>(&r)) return std::to_string(opt.lcores[i]) + " lcores: " + *e;
    out.points.push_back(std::move(std::get<point_result>(r)));
  }
  return out;
}

}  // namespace phigate::capacity
