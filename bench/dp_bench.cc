// Dataplane per-packet path without I/O: session_on_packet (parse, flow table, TCP tracking,
// reassembly, engine, masking, checksum fix) fed from pre-built frames in memory, with baselines
// measured in the same run (docs/benchmarks.md).
//
// Shape: `flows` lanes (distinct client addresses), each replaying TCP conversations built by
// frame_corpus (handshake, request, response in segments with the client's delayed ACKs, FIN
// exchange; the next connection reuses the 5-tuple). The loop takes one frame per lane
// round-robin, so per-flow state leaves the caches between a flow's turns as on a busy lcore,
// in bursts of kBurst frames: the clock is read once per burst and session_tick() runs after
// each burst (the DPDK loop ticks at most every 100 us: this is the costlier case). Each frame is
// copied into a buffer from a LIFO pool (the NIC's DMA; the session masks in place and keeps held
// frames) and its lane address is written into the copy; the memcpy baseline does exactly that
// and nothing else.
//
// Steady state: with many lanes, lane i starts at a golden-ratio share of its cycle (an untimed
// warm-up plays it there), so any window holds the steady-state mix of handshakes, heads,
// bodies and FINs; and each benchmark's session (or engine) is kept between Google Benchmark's
// invocations of it, so short runs continue where the last one stopped instead of replaying
// handshakes. The session's clock stops while other benchmarks run.
//
// Benchmarks (<set>: sparse_json, dense_json, sse: bench_corpus responses in 1448-byte segments;
// ack_only: pure ACKs of established flows, 60-byte frames; small_conn: whole connections with
// 6-byte segments, 60-byte frames):
//   session/<set>/flows:N[/threads:2]  session_on_packet per frame (the product), no decider
//   session_gate/<set>/flows:N         the same with a decider that forwards every request at
//                                      once: the request hold (copy, hold, decide, release)
//   session_gate_hold1024/small_conn   the same with 1024 request hold buffers (default 64 reset
//                                      ~1/3 of 1024 flows uploading requests in tiny segments)
//   engine/<set>/flows:N               flow_engine fed the same request/response bytes in the same
//                                      segments and interleaving, no TCP (the raw engine)
//   memcpy/<set>/flows:N               the frame copy and address patch alone
//   parse/<set>/flows:N                copy + packet_parse + flow key: bridged traffic decided
//                                      by the caller (model of unprotected forwarding)
//   latency/<set>/flows:N              session_on_packet timed per call with rdtsc, packets not
//                                      held: p50/p99/p999 (ns) from a log-linear histogram, all
//                                      frames and payload frames; bursts during which the thread
//                                      was preempted are left out (counted: preempted_bursts)
// Counters: Gbps = server->client TCP payload bits per second; Mpps = frames per second (both on
// the benchmark's time base: CPU time single-threaded, wall time with threads, where they are
// aggregates); *_thread_cpu = the same per thread on that thread's own CPU time.
//
// Memory (not a timing benchmark): `dp_bench --memory[=capacities] [--history=bytes,...]
// [--memory_budget=GiB]` creates sessions of each flow capacity and history size, drives one
// small connection into every slot (left open: every flow live), and prints heap and RSS per flow
// slot. Combinations that would touch more than the budget (default 6 GiB) are skipped.
//
// Setup verifies every data set outside timing: each script runs once through a fresh session,
// no frame may be dropped or reset, every frame must come back exactly once, forwarded
// checksums must be valid and the forwarded response bytes must equal mask_message() of the
// same response in the same segments. The timed loops fail the benchmark on any drop or reset.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "bench/bench_corpus.hh"
#include "bench/frame_corpus.hh"
#include "bench/replay_kit.hh"
#include "dataplane/engine/flow_engine.hh"
#include "dataplane/engine/mask_message.hh"
#include "dataplane/mask/mask_action.hh"
#include "dataplane/net/packet_parse.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/pattern_set.hh"
#include "dataplane/session/session.hh"

#ifndef PHIGATE_PATTERN_DIR
#error "PHIGATE_PATTERN_DIR must name the patterns/ folder (set by bench/meson.build)"
#endif

namespace phigate::bench {
namespace {

using session::packet_action;

constexpr uint64_t kSeed = 20240601;                 // the engine_bench corpora, byte for byte
constexpr size_t kResponses[] = {256, 128, 128};     // sparse_json, dense_json, sse
constexpr uint32_t kManyFlows = 1024;
constexpr uint32_t kMaxThreads = 2;
constexpr uint32_t kSmallSegmentBytes = 6;           // 54 header bytes + 6 = 60: a 64-byte frame with FCS
constexpr uint32_t kTableCapacity = 4096;            // >= 2 x kManyFlows: two-choice buckets stay sparse
// Held frames per lcore (kReasmSegments, kPoolBuffers: bench/replay_kit.hh): in steady state
// 1024 staggered lanes hold ~1 frame each (pool depth ~500-1100), but lanes in lockstep (all in
// a response head of 6-byte segments at once) hold ~25 each, past phigate-dp's 8191 mbufs.
constexpr size_t kPoolPrefault = 2048;  // buffers touched at setup: deeper than any steady state

// ---------------------------------------------------------------- data sets

enum class set_id : uint8_t { sparse_json, dense_json, sse, small_conn, ack_only, count };
constexpr size_t kSetCount = static_cast<size_t>(set_id::count);
const char* set_name(set_id s) {
  static const char* const names[] = {"sparse_json", "dense_json", "sse", "small_conn", "ack_only"};
  return names[static_cast<size_t>(s)];
}

struct dataset {
  set_id id{};
  frame_corpus fc;
  conversation_shape shape;
  bool connections = true;                         // false: ack_only
  std::vector<std::string_view> script_response;   // per script (one exchange each)
  std::vector<std::vector<uint8_t>> expected;      // mask_message() of each script's response
  uint64_t frames_per_pass = 0, response_bytes_per_pass = 0;
};

struct environment {
  std::unique_ptr<scan::pattern_db> db;
  engine::engine_config cfg;
  engine::engine_scratch* scratch = nullptr;  // setup only (expected outputs)
  std::string request;
  corpus corpora[3];
  std::vector<std::string> small_responses;
  dataset sets[kSetCount];
  double ns_per_tick = 0;      // rdtsc calibration
  double timer_overhead_ns = 0;      // an empty rdtsc-timed region
  double cpu_timer_overhead_ns = 0;  // an empty region timed with the thread CPU clock
};
environment* g_env = nullptr;

std::string make_request() {
  const std::string body =
      "{\"model\":\"gpt-4o\",\"stream\":false,\"max_tokens\":1024,\"messages\":[{\"role\":\"system\",\"content\":"
      "\"You are a clinical documentation assistant.\"},{\"role\":\"user\",\"content\":\"Summarize the visit "
      "notes for the patient seen this morning.\"}]}";
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: inference.internal:8000\r\nUser-Agent: openai-python/1.40\r\n"
         "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Short completions for small_conn: a few synthetic values each, so the engine holds and masks.
std::vector<std::string> make_small_responses() {
  static const char* const texts[] = {
      "Call the clinic at 415-555-0132 about the refill.",
      "SSN on file 219-09-9999; the chart is up to date.",
      "Send the summary to pat.doe@example.org before Friday.",
      "No identifiers in this note; vitals are within range.",
  };
  std::vector<std::string> out;
  for (const char* t : texts) {
    const std::string body = std::string("{\"id\":\"chatcmpl-small\",\"object\":\"chat.completion\",\"choices\":[{"
                                         "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"") +
                             t + "\"},\"finish_reason\":\"stop\"}]}";
    out.push_back("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  return out;
}

void build_connection_set(environment& e, dataset& d, const std::vector<std::string_view>& responses,
                          const conversation_shape& shape, uint32_t isn_base) {
  frame_corpus_builder b;
  d.shape = shape;
  for (size_t i = 0; i < responses.size(); ++i) {
    b.add_connection(e.request, {responses[i]}, shape, isn_base + static_cast<uint32_t>(i));
    d.script_response.push_back(responses[i]);
  }
  d.fc = b.take();
}

// ---------------------------------------------------------------- lanes, buffers, sessions

// Which scripts each lane plays: with one flow, every script in turn on the same 5-tuple; with
// many, lane i plays script i mod scripts (every script is covered when flows >= scripts).
lane_replay make_replay(const dataset& d, uint32_t flows, uint32_t group) {
  lane_replay rp(d.fc);
  const uint32_t scripts = static_cast<uint32_t>(d.fc.scripts.size());
  std::vector<uint32_t> all(scripts);
  for (uint32_t s = 0; s < scripts; ++s) all[s] = s;
  for (uint32_t i = 0; i < flows; ++i) {
    const uint32_t one = i % scripts;
    rp.add_lane(lane_address_of(group, i), flows == 1 ? std::span<const uint32_t>(all) : std::span(&one, 1));
  }
  return rp;
}

// The gate's place in the session: a decider that forwards every request at once (no policy,
// no credential swap, no audit wait), so session_gate/* measures the request hold itself.
session::request_answer forward_all(void*, const session::request_info&, uint64_t) {
  session::request_answer a;
  a.verdict = session::request_verdict::forward;
  return a;
}

// gate_buffers: -1 no decider; 0 a decider with the default request hold buffers; N > 0 with N.
session::session_config bench_session_config(const environment& e, uint32_t capacity, uint32_t history,
                                             int gate_buffers = -1) {
  session::session_config c = replay_session_config(e.cfg, capacity);
  if (gate_buffers >= 0) c.decider.decide = forward_all;
  if (gate_buffers > 0) c.hold.buffers = static_cast<uint32_t>(gate_buffers);
  c.history_bytes = history;
  return c;
}

// ---------------------------------------------------------------- verification (setup)

// Runs each script once, sequentially, through a fresh session on fixed time. Returns "" or why
// the set cannot be benchmarked.
std::string verify_set(environment& e, dataset& d, int gate_buffers) {
  buffer_pool pool(kPoolBuffers, kPoolPrefault);
  checking_sink v;
  v.pool = &pool;
  const session::session_sink sink = v.sink();
  const char* why = nullptr;
  session_ptr s(session::session_create(bench_session_config(e, 64, 64 * 1024, gate_buffers), sink, &why));
  if (!s) return std::string("session_create: ") + why;
  const lane_address addr = lane_address_of(kMaxThreads, 0);
  for (size_t si = 0; si < d.fc.scripts.size(); ++si) {
    const script& sc = d.fc.scripts[si];
    v.server_bytes.clear();
    auto send = [&](uint32_t idx) -> std::string {
      const frame_desc& f = d.fc.frames[idx];
      uint8_t* buf = frame_load(pool, d.fc, f, addr);
      if (!buf) return "buffer pool exhausted";
      const session::session_result r = session::session_on_packet(*s, {buf, buf, f.len}, 1'000'000);
      if (r.action == packet_action::forward) {
        v.check(buf);
        pool.put(buf);
      } else if (r.action != packet_action::held) {
        pool.put(buf);
        return std::string("frame ") + std::to_string(idx) + " of script " + std::to_string(si) + ": " +
               session::packet_action_name(r.action) + " (" + session::drop_reason_name(r.drop) + ", " +
               session::reset_reason_name(r.reset) + ")";
      }
      return {};
    };
    for (uint32_t i = 0; i < sc.prologue_count; ++i)
      if (auto err = send(sc.prologue_first + i); !err.empty()) return err;
    // Connection scripts run twice: the second pass is the port-reuse restart the timed loop sees.
    const int passes = d.connections ? 2 : 1;
    for (int pass = 0; pass < passes; ++pass) {
      v.server_bytes.clear();
      for (uint32_t i = 0; i < sc.loop_count; ++i)
        if (auto err = send(sc.loop_first + i); !err.empty()) return err;
      if (d.connections) {
        const std::vector<uint8_t>& want = d.expected[si];
        if (v.server_bytes.size() != want.size() || std::memcmp(v.server_bytes.data(), want.data(), want.size()) != 0)
          return "script " + std::to_string(si) + " pass " + std::to_string(pass) +
                 ": forwarded response differs from mask_message() (" + std::to_string(v.server_bytes.size()) + " of " +
                 std::to_string(want.size()) + " bytes)";
        if (session::session_held_packets(*s) != 0) return "script " + std::to_string(si) + ": frames still held after FIN";
      }
    }
  }
  if (v.bad) return std::to_string(v.bad) + " forwarded frames with a bad checksum";
  if (v.dropped) return std::to_string(v.dropped) + " held frames dropped";
  if (const std::string r = refusals(session::session_stats(*s)); !r.empty()) return r;
  s.reset();
  if (pool.available() != pool.size()) return "frames not returned by the session";
  return {};
}

// ---------------------------------------------------------------- setup

std::string environment_build(environment& e) {
  const std::string path = std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json";
  auto loaded = scan::pattern_set_load(path);
  if (auto* err = std::get_if<scan::load_error>(&loaded)) return path + ": " + err->where + ": " + err->reason;
  auto compiled = scan::pattern_db::compile(std::get<scan::pattern_set>(loaded));
  if (auto* err = std::get_if<scan::load_error>(&compiled)) return "pattern_db::compile: " + err->where + ": " + err->reason;
  e.db = std::move(std::get<std::unique_ptr<scan::pattern_db>>(compiled));
  e.cfg.db = e.db.get();
  if (const char* why = engine::engine_config_check(e.cfg)) return std::string("engine config: ") + why;
  e.scratch = engine::engine_scratch_create(e.cfg);
  if (!e.scratch) return "engine_scratch_create failed";
  e.request = make_request();
  e.small_responses = make_small_responses();
  return {};
}

std::string datasets_build(environment& e) {
  conversation_shape big;  // 1448-byte segments with timestamps, delayed ACKs
  conversation_shape small;
  small.segment_bytes = kSmallSegmentBytes;
  small.tcp_option_words = 0;
  for (const corpus_kind k : kAllCorpusKinds) {
    const size_t ki = static_cast<size_t>(k);
    e.corpora[ki] = corpus_build(k, kResponses[ki], kSeed);
    std::vector<std::string_view> rs;
    for (const http_response& r : e.corpora[ki].responses) rs.push_back(r.bytes);
    dataset& d = e.sets[ki];
    d.id = static_cast<set_id>(ki);
    build_connection_set(e, d, rs, big, static_cast<uint32_t>(ki) << 12);
  }
  {
    dataset& d = e.sets[static_cast<size_t>(set_id::small_conn)];
    d.id = set_id::small_conn;
    std::vector<std::string_view> rs(e.small_responses.begin(), e.small_responses.end());
    build_connection_set(e, d, rs, small, 7u << 12);
  }
  {
    dataset& d = e.sets[static_cast<size_t>(set_id::ack_only)];
    d.id = set_id::ack_only;
    d.connections = false;
    frame_corpus_builder b;
    b.add_ack_only(1, 60);
    d.fc = b.take();
  }
  for (dataset& d : e.sets) {
    for (const script& sc : d.fc.scripts) {
      d.frames_per_pass += sc.loop_count;
      d.response_bytes_per_pass += sc.loop_response_payload;
    }
    for (std::string_view r : d.script_response) {
      const size_t seg[] = {d.shape.segment_bytes};
      engine::mask_options opt;
      opt.segments = seg;
      engine::mask_outcome m = engine::mask_message(
          e.cfg, *e.scratch, std::span(reinterpret_cast<const uint8_t*>(r.data()), r.size()), opt);
      if (!m.ok) return std::string(set_name(d.id)) + ": mask_message refused a response: " + engine::describe_error(m);
      d.expected.push_back(std::move(m.output));
    }
    for (const int gate : {-1, 0})
      if (const std::string why = verify_set(e, d, gate); !why.empty())
        return std::string(set_name(d.id)) + (gate >= 0 ? " (with a decider)" : "") + ": " + why;
  }
  return {};
}

void calibrate(environment& e) {
  const tsc_calibration c = calibrate_tsc();
  e.ns_per_tick = c.ns_per_tick;
  e.timer_overhead_ns = c.timer_overhead_ns;
  e.cpu_timer_overhead_ns = thread_cpu_clock_overhead_ns();
}

void environment_describe(const environment& e) {
  auto put = [](const std::string& k, const std::string& v) { benchmark::AddCustomContext(k, v); };
  put("phigate.patterns", std::string(e.db->name()) + " v" + std::to_string(e.db->version()));
  put("phigate.session", "table capacity " + std::to_string(kTableCapacity) + ", history 65536 B/direction, reasm " +
                             std::to_string(kReasmSegments) + " segments/lcore, hold timeout 200 ms, burst " +
                             std::to_string(kBurst) + ", frame pool " + std::to_string(kPoolBuffers) + " x " +
                             std::to_string(kFrameBufferBytes) + " B");
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.3f ns/tick, timer overhead %.1f ns (rdtsc), %.1f ns (thread CPU clock)",
                e.ns_per_tick, e.timer_overhead_ns, e.cpu_timer_overhead_ns);
  put("phigate.tsc", buf);
  for (const dataset& d : e.sets) {
    char line[320];
    const double conns = static_cast<double>(d.fc.scripts.size());
    std::snprintf(line, sizeof line,
                  "%zu scripts, %llu frames (%.1f per script), %.1f KB response payload per script, segment %u B, "
                  "arena %.1f MB",
                  d.fc.scripts.size(), static_cast<unsigned long long>(d.frames_per_pass),
                  static_cast<double>(d.frames_per_pass) / conns,
                  static_cast<double>(d.response_bytes_per_pass) / conns / 1024.0, d.shape.segment_bytes,
                  static_cast<double>(d.fc.arena_bytes) / 1e6);
    put(std::string("phigate.set.") + set_name(d.id), line);
  }
}

// ---------------------------------------------------------------- counters

void set_counters(benchmark::State& state, uint64_t response_bytes, uint64_t packets, uint64_t cpu_ns) {
  using C = benchmark::Counter;
  state.counters["Gbps"] = C(static_cast<double>(response_bytes) * 8e-9, C::kIsRate);
  state.counters["Mpps"] = C(static_cast<double>(packets) * 1e-6, C::kIsRate);
  const double cpu_s = static_cast<double>(cpu_ns) * 1e-9;
  if (cpu_s > 0) {
    state.counters["Gbps_thread_cpu"] = C(static_cast<double>(response_bytes) * 8e-9 / cpu_s, C::kAvgThreads);
    state.counters["Mpps_thread_cpu"] = C(static_cast<double>(packets) * 1e-6 / cpu_s, C::kAvgThreads);
  }
}

// ---------------------------------------------------------------- steady state

// Per-benchmark state kept across Google Benchmark's invocations of one benchmark (its
// iteration-count probing and repetitions, interleaved with other benchmarks under
// --benchmark_enable_random_interleaving), so the warm-up runs once and every timed iteration
// sees flows in steady state. Every state lives until exit (about 1.5 GB RSS for the whole
// suite). Threads of a multi-threaded benchmark each get their own entry; the lock is taken
// only at entry.
class state_registry {
 public:
  template <class T, class Make>
  T& get(const std::string& family, int thread, Make make) {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [f, t, p] : entries_)
      if (t == thread && f == family) return *static_cast<T*>(p.get());
    std::shared_ptr<T> p = make();
    entries_.emplace_back(family, thread, p);
    return *p;
  }

 private:
  std::mutex mu_;
  std::vector<std::tuple<std::string, int, std::shared_ptr<void>>> entries_;
};
state_registry g_states;

std::string family_of(benchmark::State& state, const char* what, set_id id, uint32_t flows) {
  return std::string(what) + "/" + set_name(id) + "/" + std::to_string(flows) + "/t" + std::to_string(state.threads());
}

// ---------------------------------------------------------------- session

// One thread's session over its lanes. Declaration order matters: the session returns held
// frames to the pool when destroyed, so the pool is destroyed after it.
struct session_runner {
  lane_replay rp;
  buffer_pool pool;
  session_ptr s;
  uint32_t lane = 0;
  std::string error;
  // The session's clock stands still while other benchmarks run, so no flow idles into its
  // timeout and no held byte into the hold timer between two of this benchmark's runs.
  uint64_t paused_ns = 0, left_at_ns = 0;
  void resume() {
    if (left_at_ns != 0) paused_ns += clock_ns() - left_at_ns;
  }
  uint64_t now() const { return clock_ns() - paused_ns; }
  void pause() { left_at_ns = clock_ns(); }

  session_runner(const environment& e, const dataset& d, uint32_t flows, uint32_t group, int gate_buffers)
      : rp(make_replay(d, flows, group)), pool(kPoolBuffers, kPoolPrefault) {
    const char* why = nullptr;
    s.reset(session::session_create(bench_session_config(e, kTableCapacity, 64 * 1024, gate_buffers), pool.sink(), &why));
    if (!s) {
      error = why ? why : "session_create failed";
      return;
    }
    // Stream state from the session's pool, as on a worker (run_session binds it again on the
    // thread that runs each benchmark; the runner is only ever used by one thread at a time).
    session::session_bind_thread(*s);
    // Untimed warm-up: every lane's prologue and one whole cycle (first-touch page faults of
    // history rings and frame buffers cost ~20 us each on this VM and would land in the first
    // timed run), then each lane forward to its staggered start.
    for (uint32_t i = 0; i < rp.lanes() && error.empty(); ++i) {
      const uint64_t cycle = rp.cycle_frames(i);
      const uint64_t n = rp.prologue_frames(i) + cycle + (rp.lanes() > 1 ? stagger(i, cycle) : 0);
      for (uint64_t k = 0; k < n && error.empty(); ++k) send(d, i, now());
    }
    scan::stream_pool_bind(nullptr);
  }
  session::session_result send(const dataset& d, uint32_t i, uint64_t now) {
    const frame_desc& f = rp.next(i);
    uint8_t* buf = frame_load(pool, d.fc, f, rp.addr(i));
    if (buf == nullptr) {
      error = "frame pool exhausted";
      return {};
    }
    const session::session_result r = session::session_on_packet(*s, {buf, buf, f.len}, now);
    if (r.action != packet_action::held) pool.put(buf);
    return r;
  }
};

template <bool kTimed>
void run_session(benchmark::State& state, set_id id, uint32_t flows, int gate_buffers) {
  environment& e = *g_env;
  const dataset& d = e.sets[static_cast<size_t>(id)];
  const uint32_t group = static_cast<uint32_t>(state.thread_index());
  const std::string family = std::string(kTimed ? "latency" : gate_buffers >= 0 ? "session_gate" : "session") +
                             std::to_string(gate_buffers);
  session_runner& run = g_states.get<session_runner>(family_of(state, family.c_str(), id, flows), state.thread_index(), [&] {
    return std::make_shared<session_runner>(e, d, flows, group, gate_buffers);
  });
  if (!run.error.empty()) {
    state.SkipWithError(run.error.c_str());
    return;
  }
  session::session_ctx& s = *run.s;
  lane_replay& rp = run.rp;
  buffer_pool& pool = run.pool;
  // Latency of frames not held, in rdtsc ticks: all frames, and payload-carrying ones. A burst
  // during which the thread lost its CPU (burst_clock, kPreemptedNs) is left out and counted. The
  // two clock reads sit outside the timed calls.
  struct latency {
    tick_histogram all, data;
    uint64_t pending[kBurst];
    bool pending_data[kBurst];
    uint64_t bursts = 0, preempted = 0;
  };
  auto lat = kTimed ? std::make_unique<latency>() : nullptr;
  const uint64_t mask0 = session::session_stats(s).mask_bytes;
  uint64_t response_bytes = 0, packets = 0, held = 0;
  uint32_t lane = run.lane;
  bool starved = false;
  run.resume();
  session::session_bind_thread(s);
  const uint64_t cpu0 = thread_cpu_ns();
  for (auto _ : state) {
    const uint64_t now = run.now();
    [[maybe_unused]] burst_clock burst;
    [[maybe_unused]] size_t npending = 0;
    if constexpr (kTimed) burst.start();
    for (size_t k = 0; k < kBurst; ++k) {
      const frame_desc& f = rp.next(lane);
      const lane_address& a = rp.addr(lane);
      if (++lane == rp.lanes()) lane = 0;
      uint8_t* buf = frame_load(pool, d.fc, f, a);
      if (buf == nullptr) {
        starved = true;
        break;
      }
      session::session_result r;
      if constexpr (kTimed) {
        const uint64_t t0 = tsc_begin();
        r = session::session_on_packet(s, {buf, buf, f.len}, now);
        const uint64_t t1 = tsc_end();
        if (r.action != packet_action::held) {
          lat->pending[npending] = t1 - t0;
          lat->pending_data[npending++] = f.payload > 0;
        }
      } else {
        r = session::session_on_packet(s, {buf, buf, f.len}, now);
      }
      if (r.action == packet_action::held) ++held;
      else pool.put(buf);
      response_bytes += f.from_server ? f.payload : 0;
      ++packets;
    }
    if constexpr (kTimed) {
      ++lat->bursts;
      if (burst.preempted(e.ns_per_tick)) {
        ++lat->preempted;
      } else {
        for (size_t i = 0; i < npending; ++i) {
          lat->all.add(lat->pending[i]);
          if (lat->pending_data[i]) lat->data.add(lat->pending[i]);
        }
      }
    }
    session::session_tick(s, now, kBurst);
    if (starved) {
      state.SkipWithError("frame pool exhausted: the session holds more frames than kPoolBuffers");
      break;
    }
  }
  const uint64_t cpu_ns = thread_cpu_ns() - cpu0;
  scan::stream_pool_bind(nullptr);  // other benchmarks' sessions on this thread must not use this pool
  run.pause();
  run.lane = lane;
  state.counters["pool_depth"] = benchmark::Counter(static_cast<double>(pool.deepest()), benchmark::Counter::kAvgThreads);
  if (starved) return;
  if (const std::string r = refusals(session::session_stats(s)); !r.empty()) {
    state.SkipWithError(("session refused frames of a verified set: " + r).c_str());
    return;
  }
  set_counters(state, response_bytes, packets, cpu_ns);
  using C = benchmark::Counter;
  state.counters["held_fraction"] = C(packets ? static_cast<double>(held) / static_cast<double>(packets) : 0, C::kAvgThreads);
  state.counters["mask_bytes_per_KB"] = C(
      response_bytes ? static_cast<double>(session::session_stats(s).mask_bytes - mask0) * 1024.0 / static_cast<double>(response_bytes)
                     : 0,
      C::kAvgThreads);
  if constexpr (kTimed) {
    auto put = [&](const char* name, const tick_histogram& h, double q) {
      state.counters[name] = C(static_cast<double>(q < 1 ? h.quantile_bound(q) : h.max()) * e.ns_per_tick, C::kAvgThreads);
    };
    put("p50_ns", lat->all, 0.50);
    put("p99_ns", lat->all, 0.99);
    put("p999_ns", lat->all, 0.999);
    put("max_ns", lat->all, 1);
    put("data_p50_ns", lat->data, 0.50);
    put("data_p99_ns", lat->data, 0.99);
    put("data_p999_ns", lat->data, 0.999);
    state.counters["samples"] = C(static_cast<double>(lat->all.total()), C::kAvgThreads);
    state.counters["data_samples"] = C(static_cast<double>(lat->data.total()), C::kAvgThreads);
    state.counters["preempted_bursts"] =
        C(lat->bursts ? static_cast<double>(lat->preempted) / static_cast<double>(lat->bursts) : 0, C::kAvgThreads);
  }
}

void bm_session(benchmark::State& state, set_id id, uint32_t flows) { run_session<false>(state, id, flows, -1); }
void bm_session_gate(benchmark::State& state, set_id id, uint32_t flows) { run_session<false>(state, id, flows, 0); }
// 1024 request hold buffers instead of the default 64: with 1024 flows sending requests in 6-byte
// segments about a third are mid-request at any time, and the default pool resets the rest
// (reset request_buffers).
void bm_session_gate_1024(benchmark::State& state, set_id id, uint32_t flows) {
  run_session<false>(state, id, flows, 1024);
}
void bm_latency(benchmark::State& state, set_id id, uint32_t flows) { run_session<true>(state, id, flows, -1); }

// ---------------------------------------------------------------- baselines

struct copy_runner {
  lane_replay rp;
  buffer_pool pool;
  uint32_t lane = 0;
  copy_runner(const dataset& d, uint32_t flows, uint32_t group)
      : rp(make_replay(d, flows, group)), pool(kBurst, kPoolPrefault) {
    for (uint32_t i = 0; i < rp.lanes(); ++i) {
      uint64_t n = rp.prologue_frames(i);
      if (rp.lanes() > 1) n += stagger(i, rp.cycle_frames(i));
      for (uint64_t k = 0; k < n; ++k) rp.next(i);
    }
  }
};

// The frame copy and address patch (the harness's share of every session figure); with `parse`,
// also packet_parse and the flow key, which is what bridged (unprotected) traffic costs when
// the caller classifies it before deciding not to call the session.
template <bool kParse>
void run_copy(benchmark::State& state, set_id id, uint32_t flows) {
  environment& e = *g_env;
  const dataset& d = e.sets[static_cast<size_t>(id)];
  const uint32_t group = static_cast<uint32_t>(state.thread_index());
  copy_runner& run = g_states.get<copy_runner>(family_of(state, kParse ? "parse" : "memcpy", id, flows),
                                                state.thread_index(),
                                                [&] { return std::make_shared<copy_runner>(d, flows, group); });
  lane_replay& rp = run.rp;
  uint64_t response_bytes = 0, packets = 0, errors = 0;
  uint32_t lane = run.lane;
  const uint64_t cpu0 = thread_cpu_ns();
  for (auto _ : state) {
    for (size_t k = 0; k < kBurst; ++k) {
      const frame_desc& f = rp.next(lane);
      const lane_address& a = rp.addr(lane);
      if (++lane == rp.lanes()) lane = 0;
      uint8_t* buf = run.pool.get();
      std::memcpy(buf, d.fc.bytes(f), f.len);
      frame_patch_client(buf, f.from_server, a);
      if constexpr (kParse) {
        net::packet_view v;
        if (net::packet_parse(buf, f.len, v) != net::parse_error::none) ++errors;
        bool swapped = false;
        const flow::flow_key key = net::packet_flow_key(buf, v, swapped);
        benchmark::DoNotOptimize(key);
        benchmark::DoNotOptimize(swapped);
      }
      benchmark::ClobberMemory();
      run.pool.put(buf);
      response_bytes += f.from_server ? f.payload : 0;
      ++packets;
    }
  }
  const uint64_t cpu_ns = thread_cpu_ns() - cpu0;
  run.lane = lane;
  if (errors) {
    state.SkipWithError("packet_parse refused a verified frame");
    return;
  }
  set_counters(state, response_bytes, packets, cpu_ns);
}

void bm_memcpy(benchmark::State& state, set_id id, uint32_t flows) { run_copy<false>(state, id, flows); }
void bm_parse(benchmark::State& state, set_id id, uint32_t flows) { run_copy<true>(state, id, flows); }

// The raw engine: the same request and response bytes, the same segment sizes and lane
// interleaving, no TCP and no frames. Masks land in this thread's copy of each response.
struct engine_sink_ctx {
  uint8_t* masked = nullptr;
  size_t len = 0;
};

struct engine_runner {
  struct lane {
    engine::flow_engine f;
    uint32_t first = 0, count = 0, si = 0;
    size_t off = 0;
    bool open = false;
    bool ready = false;
  };
  const environment& e;
  const dataset& d;
  std::vector<uint32_t> list;
  std::unique_ptr<lane[]> lanes;
  uint32_t flows = 0, li = 0;
  std::vector<std::vector<uint8_t>> masked;
  engine::engine_scratch* x = nullptr;
  engine_sink_ctx ctx;
  engine::engine_sink sink{};
  uint64_t errors = 0;
  std::string error;

  engine_runner(const environment& env, const dataset& ds, uint32_t n) : e(env), d(ds), lanes(new lane[n]), flows(n) {
    const uint32_t scripts = static_cast<uint32_t>(d.script_response.size());
    for (uint32_t i = 0; i < flows; ++i) {
      lanes[i].first = static_cast<uint32_t>(list.size());
      if (flows == 1)
        for (uint32_t s = 0; s < scripts; ++s) list.push_back(s);
      else
        list.push_back(i % scripts);
      lanes[i].count = static_cast<uint32_t>(list.size()) - lanes[i].first;
    }
    for (std::string_view r : d.script_response) masked.emplace_back(r.begin(), r.end());
    sink.ctx = &ctx;
    sink.on_mask = [](void* c, const mask::mask_action& a) {
      auto& k = *static_cast<engine_sink_ctx*>(c);
      mask::mask_apply(k.masked, k.len, 0, a);
    };
    x = engine::engine_scratch_create(e.cfg, flows);  // every lane may have a body open at once
    if (x == nullptr) {
      error = "engine_scratch_create failed";
      return;
    }
    for (uint32_t i = 0; i < flows; ++i) {
      if (!engine::flow_engine_setup(lanes[i].f, e.cfg)) {
        error = "flow_engine_setup failed";
        return;
      }
      lanes[i].ready = true;
    }
    // Staggered start, as for the session: lane i skips ahead by a share of its cycle of feeds.
    for (uint32_t i = 0; i < flows && flows > 1; ++i) {
      uint64_t cycle = 0;
      for (uint32_t k = 0; k < lanes[i].count; ++k) {
        const size_t len = d.script_response[list[lanes[i].first + k]].size();
        cycle += (len + d.shape.segment_bytes - 1) / d.shape.segment_bytes;
      }
      for (uint64_t k = stagger(i, cycle); k > 0; --k) feed(lanes[i], clock_ns());
    }
  }
  ~engine_runner() {
    for (uint32_t i = 0; i < flows; ++i)
      if (lanes[i].ready) engine::flow_engine_teardown(lanes[i].f);
    engine::engine_scratch_destroy(x);
  }
  // One response segment of lane l (after the request when a connection starts). Returns the
  // response bytes fed.
  size_t feed(lane& l, uint64_t now) {
    const size_t seg = d.shape.segment_bytes;
    const uint32_t si = list[l.first + l.si];
    const std::string_view r = d.script_response[si];
    ctx.masked = masked[si].data();
    ctx.len = masked[si].size();
    if (!l.open) {
      engine::flow_engine_reset(l.f);
      const auto* req = reinterpret_cast<const uint8_t*>(e.request.data());
      for (size_t off = 0; off < e.request.size(); off += seg)
        engine::feed_request(l.f, *x, req + off, std::min(seg, e.request.size() - off), now, sink);
      l.open = true;
    }
    const size_t n = std::min(seg, r.size() - l.off);
    const engine::feed_result res =
        engine::feed_response(l.f, *x, reinterpret_cast<const uint8_t*>(r.data()) + l.off, n, now, sink);
    if (res.error != engine::engine_error::none) ++errors;
    l.off += n;
    if (l.off == r.size()) {
      if (engine::finish_response(l.f, *x, now, sink).error != engine::engine_error::none) ++errors;
      l.off = 0;
      l.open = false;
      if (++l.si == l.count) l.si = 0;
    }
    return n;
  }
};

void bm_engine(benchmark::State& state, set_id id, uint32_t flows) {
  environment& e = *g_env;
  const dataset& d = e.sets[static_cast<size_t>(id)];
  engine_runner& run = g_states.get<engine_runner>(family_of(state, "engine", id, flows), state.thread_index(),
                                                    [&] { return std::make_shared<engine_runner>(e, d, flows); });
  if (!run.error.empty()) {
    state.SkipWithError(run.error.c_str());
    return;
  }
  uint64_t response_bytes = 0, feeds = 0;
  uint32_t li = run.li;
  const uint64_t cpu0 = thread_cpu_ns();
  for (auto _ : state) {
    const uint64_t now = clock_ns();
    for (size_t k = 0; k < kBurst; ++k) {
      response_bytes += run.feed(run.lanes[li], now);
      if (++li == flows) li = 0;
      ++feeds;
    }
  }
  const uint64_t cpu_ns = thread_cpu_ns() - cpu0;
  run.li = li;
  if (run.errors) {
    state.SkipWithError("engine error on a verified set");
    return;
  }
  set_counters(state, response_bytes, feeds, cpu_ns);
}

// ---------------------------------------------------------------- registration

void register_all() {
  using fn = void (*)(benchmark::State&, set_id, uint32_t);
  auto add = [](const std::string& family, fn f, set_id id, uint32_t flows, int threads) {
    const std::string name = family + "/" + set_name(id) + "/flows:" + std::to_string(flows);
    auto* b = benchmark::RegisterBenchmark(name.c_str(), f, id, flows);
    if (threads > 1) b->Threads(threads)->UseRealTime();
    // Enough payload frames for a p999 (dense JSON runs at ~40k frames per second).
    if (family == "latency") b->MinTime(1.0);
  };
  for (const set_id id : {set_id::sparse_json, set_id::dense_json, set_id::sse}) {
    for (const uint32_t flows : {kManyFlows, 1u}) {
      add("session", bm_session, id, flows, 1);
      add("session", bm_session, id, flows, 2);
      add("engine", bm_engine, id, flows, 1);
    }
    add("session_gate", bm_session_gate, id, kManyFlows, 1);
    add("memcpy", bm_memcpy, id, kManyFlows, 1);
    add("latency", bm_latency, id, kManyFlows, 1);
  }
  add("session_gate_hold1024", bm_session_gate_1024, set_id::small_conn, kManyFlows, 1);
  for (const set_id id : {set_id::ack_only, set_id::small_conn}) {
    for (const uint32_t flows : {kManyFlows, 1u}) add("session", bm_session, id, flows, 1);
    add("session", bm_session, id, kManyFlows, 2);
    add("memcpy", bm_memcpy, id, kManyFlows, 1);
    add("parse", bm_parse, id, kManyFlows, 1);
    add("latency", bm_latency, id, kManyFlows, 1);
  }
  add("engine", bm_engine, set_id::small_conn, kManyFlows, 1);
}

// ---------------------------------------------------------------- memory report

struct mem_sample {
  uint64_t rss = 0, vm = 0, heap = 0;
};

mem_sample mem_now() {
  mem_sample m;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      unsigned long long kb = 0;
      if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1) m.rss = kb * 1024;
      if (std::sscanf(line, "VmSize: %llu kB", &kb) == 1) m.vm = kb * 1024;
    }
    std::fclose(f);
  }
  const struct mallinfo2 mi = mallinfo2();
  m.heap = mi.uordblks + mi.hblkhd;  // bytes in use from the heap and from mmap'ed chunks
  return m;
}

std::vector<uint32_t> parse_list(const char* s) {
  std::vector<uint32_t> out;
  while (s && *s) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(s, &end, 0);
    if (end == s) break;
    out.push_back(static_cast<uint32_t>(v));
    s = *end == ',' ? end + 1 : end;
  }
  return out;
}

// One small connection (handshake, request, response, ACK) left open in every slot: every flow
// live and both history rings touched. A response body's state (engine::body_state and two
// Hyperscan stream blocks) comes from the session's pools, reserved at create and touched only
// while bodies are open: with complete responses the RSS holds one body's worth; with --mid_body
// each response's Content-Length claims one byte more than is sent, so every slot ends with its
// body open (the worst case).
int run_memory_report(environment& e, const std::vector<uint32_t>& capacities, const std::vector<uint32_t>& histories,
                      double budget_gib, bool mid_body) {
  conversation_shape shape;
  frame_corpus_builder b;
  std::string response = e.small_responses[0];
  if (mid_body) {
    const size_t at = response.find("Content-Length: ") + 16;
    const size_t end = response.find("\r\n", at);
    response.replace(at, end - at, std::to_string(std::stoul(response.substr(at, end - at)) + 1));
  }
  b.add_connection(e.request, {response}, shape, 99);
  const frame_corpus fc = b.take();
  const script& sc = fc.scripts[0];
  // Everything up to the server's FIN: SYN, SYN-ACK, ACK, request, response (with FIN) would
  // close the flow, so the response frame's FIN bit is cleared in the copy and the close skipped.
  std::printf("| flow capacity | history B/dir | heap after create | heap/slot | RSS after create | RSS/slot | "
              "live flows | RSS with all live | RSS/slot live | create s | connections/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const uint32_t cap : capacities) {
    for (const uint32_t hb : histories) {
      // What filling the table touches: ~1.2 KB of slot state (~3.3 KB with a body open) plus one
      // page of each history ring.
      const double slot_bytes = mid_body ? 3300.0 : 1200.0;
      const double touch_gib = static_cast<double>(cap) * (slot_bytes + 2.0 * std::min<uint32_t>(hb, 4096)) / (1u << 30);
      if (touch_gib > budget_gib) {
        std::printf("| %u | %u | skipped: would touch ~%.1f GiB (> --memory_budget=%.1f GiB); worst case %.0f B/slot |\n",
                    cap, hb, touch_gib, budget_gib, slot_bytes + 2.0 * hb);
        continue;
      }
      malloc_trim(0);
      const mem_sample m0 = mem_now();
      buffer_pool pool(256, kPoolPrefault);
      const char* why = nullptr;
      const uint64_t t0 = clock_ns();
      session_ptr s(session::session_create(bench_session_config(e, cap, hb), pool.sink(), &why));
      const uint64_t t1 = clock_ns();
      if (!s) {
        std::printf("| %u | %u | session_create failed: %s |\n", cap, hb, why ? why : "?");
        continue;
      }
      const mem_sample m1 = mem_now();
      session::session_bind_thread(*s);  // as a worker does
      uint64_t refused = 0;
      for (uint32_t i = 0; i < cap; ++i) {
        const lane_address a = lane_address_of(i >> 16, i & 0xFFFF);
        for (uint32_t k = 0; k + 2 < sc.loop_count; ++k) {  // all but the FIN exchange
          const frame_desc& f = fc.frames[sc.loop_first + k];
          uint8_t* buf = frame_load(pool, fc, f, a);
          if (!buf) return std::printf("frame pool exhausted\n"), 1;
          frame_keep_open(buf, f);  // FIN cleared: the flow must stay live
          const session::session_result r = session::session_on_packet(*s, {buf, buf, f.len}, 1'000'000 + i);
          if (r.action != packet_action::held) pool.put(buf);
          if (r.action == packet_action::drop || r.action == packet_action::reset) ++refused;
        }
      }
      const uint64_t t2 = clock_ns();
      const mem_sample m2 = mem_now();
      const uint32_t live = session::session_live_flows(*s);
      auto mb = [](uint64_t a, uint64_t b) { return static_cast<double>(b > a ? b - a : 0) / 1048576.0; };
      auto per = [&](uint64_t a, uint64_t b) { return static_cast<double>(b > a ? b - a : 0) / cap; };
      std::printf("| %u | %u | %.1f MiB | %.0f B | %.1f MiB | %.0f B | %u | %.1f MiB | %.0f B | %.2f | %.0f |\n", cap, hb,
                  mb(m0.heap, m1.heap), per(m0.heap, m1.heap), mb(m0.rss, m1.rss), per(m0.rss, m1.rss), live,
                  mb(m0.rss, m2.rss), per(m0.rss, m2.rss), static_cast<double>(t1 - t0) * 1e-9,
                  static_cast<double>(cap) / (static_cast<double>(t2 - t1) * 1e-9));
      if (refused) std::printf("  (%llu frames dropped or reset while filling the table)\n", static_cast<unsigned long long>(refused));
      const core::object_pool_stats bs = session::session_body_stats(*s);
      std::printf("  stream pool: 2 x %u B per slot reserved (%.1f MiB), %llu blocks touched at most; body pool: %zu B "
                  "per slot reserved (%.1f MiB), %llu open now, %llu touched at most\n",
                  session::session_stream_block_bytes(*s), 2.0 * session::session_stream_block_bytes(*s) * cap / 1048576.0,
                  static_cast<unsigned long long>(session::session_stream_stats(*s).high_water),
                  sizeof(engine::body_state), static_cast<double>(sizeof(engine::body_state)) * cap / 1048576.0,
                  static_cast<unsigned long long>(bs.in_use), static_cast<unsigned long long>(bs.high_water));
      scan::stream_pool_bind(nullptr);
      std::fflush(stdout);
    }
  }
  std::printf("\nsizeof: flow_engine %zu, tcp_conn %zu, reasm %zu x2, flow_entry %zu; index: 2 x 8 B slots per entry "
              "(64-byte buckets of 8); per open body: body_state %zu and 2 Hyperscan stream blocks from the session's "
              "pools\n",
              sizeof(engine::flow_engine), sizeof(tcp::tcp_conn), sizeof(tcp::reasm), sizeof(flow::flow_entry),
              sizeof(engine::body_state));
  return 0;
}

}  // namespace
}  // namespace phigate::bench

int main(int argc, char** argv) {
  using namespace phigate::bench;
  // Our own flags first (Google Benchmark rejects unknown ones).
  const char* memory = nullptr;
  const char* history = nullptr;
  double budget_gib = 6.0;
  bool mid_body = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--memory") memory = "1024,65536,1048576";
    else if (a.starts_with("--memory=")) memory = argv[i] + 9;
    else if (a.starts_with("--history=")) history = argv[i] + 10;
    else if (a.starts_with("--memory_budget=")) budget_gib = std::atof(argv[i] + 16);
    else if (a == "--mid_body") mid_body = true;
    else argv[kept++] = argv[i];
  }
  argc = kept;
  auto env = std::make_unique<environment>();
  if (const std::string why = environment_build(*env); !why.empty()) {
    std::fprintf(stderr, "dp_bench: setup failed: %s\n", why.c_str());
    return 1;
  }
  if (memory) return run_memory_report(*env, parse_list(memory), parse_list(history ? history : "0,4096,65536"), budget_gib,
                                       mid_body);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (const std::string why = datasets_build(*env); !why.empty()) {
    std::fprintf(stderr, "dp_bench: setup failed: %s\n", why.c_str());
    return 1;
  }
  calibrate(*env);
  g_env = env.get();
  environment_describe(*env);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  phigate::engine::engine_scratch_destroy(env->scratch);
  return 0;
}
