#pragma once
// The measurement behind `phigate capacity`: the profile's frames replayed in memory through
// session::session_on_packet, as phigate-dp's workers run it, for each lcore count.
//
// Shape (after bench/dp_bench.cc): per lcore count L, L threads, each with its own session (flow
// table, reassembly pool, engine scratch: shared nothing; the pattern db is shared read-only),
// its own LIFO frame pool and its share of the profile's concurrent flows as lanes (distinct
// client addresses) that replay TCP conversations round-robin, in bursts of 32 frames: the clock
// is read once per burst and session_tick() runs after each burst. Lanes start at staggered
// points of their cycle (untimed warm-up) so any window holds the steady-state mix of
// handshakes, heads, bodies and FINs. Each frame is copied into a pool buffer (the NIC's DMA)
// before the call; that copy is part of the measured cost, as the NIC write is on a real lcore.
//
// Every session_on_packet call is timed with rdtsc into a fixed log-linear histogram (no
// allocation in the loop); bursts during which the thread lost its CPU (wall minus thread CPU time
// above 10 us) are left out of the latency figures and counted, since a dataplane lcore is
// dedicated and this shared machine's scheduler would otherwise own the tail.
//
// Verification (outside timing): every script runs through a fresh session first; no frame may be
// dropped or reset, every held frame must come back, checksums must be valid, every forwarded
// response must equal mask_message() of the same response in the same segments (the engine alone),
// and no planted value may survive in the model text of the forwarded responses. The timed runs must end with
// zero drops and resets.
//
// Threads: measure_run is called from one thread and starts its own workers; not reentrant.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bench/replay_kit.hh"
#include "cli/capacity/capacity_profile.hh"
#include "cli/capacity/capacity_traffic.hh"
#include "dataplane/engine/flow_engine.hh"
#include "dataplane/scan/pattern_db.hh"

namespace phigate::capacity {

// The compiled pattern set and the engine configuration over it (setup; owns the db).
struct engine_setup {
  std::unique_ptr<scan::pattern_db> db;
  engine::engine_config cfg;
  std::string description;  // "name vN (K patterns)"
};
std::variant<std::unique_ptr<engine_setup>, std::string> engine_setup_load(const std::string& patterns_path);

// Latencies in rdtsc ticks; quantile() is capped at the largest sample (bench/replay_kit.hh).
using tick_histogram = bench::tick_histogram;

struct latency_summary {
  double p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
  uint64_t samples = 0;
  uint64_t bursts = 0, preempted_bursts = 0;   // preempted bursts are not in the samples
  std::vector<std::pair<double, double>> cdf;  // (latency ns, fraction of calls at or below)
};

struct point_result {
  uint32_t lcores = 0;
  double wall_s = 0;
  uint64_t packets = 0, response_bytes = 0, requests = 0, findings = 0, mask_bytes = 0;
  // Frames the sessions dropped or reset over the point (warm-up included), from their counters.
  // A point with either above 0 is an error, so a returned point always has 0 here.
  uint64_t drops = 0, resets = 0;
  double gbps = 0;  // server->client TCP payload bits per wall second, all lcores
  double mpps = 0;  // frames (both directions) per wall second, all lcores
  double requests_per_s = 0;
  double gbps_per_lcore = 0;  // gbps / lcores
  double mpps_per_lcore = 0;
  double gbps_thread_cpu = 0;  // mean over threads of each thread's Gbps on its own CPU time
  double mpps_thread_cpu = 0;
  double requests_thread_cpu = 0;  // mean over threads of requests per second of the thread's CPU time
  double cpu_share = 0;            // thread CPU time / wall time, mean over threads (1: never preempted)
  latency_summary latency;
};

struct memory_result {
  uint32_t flows = 0;           // the profile's concurrent flows (the table is sized for them)
  uint32_t sampled_flows = 0;   // flows actually driven live (at most kMemorySampleFlows)
  uint32_t table_capacity = 0;  // the session's flow table (a power of two >= 2 x flows)
  double rss_create_bytes = 0;  // RSS growth from session_create
  double rss_live_bytes = 0;    // RSS growth from driving sampled_flows live
  double bytes_per_flow = 0;    // rss_create_bytes / flows + rss_live_bytes / sampled_flows
};
// Live flows driven for the memory figure: enough for a stable RSS delta, few enough to take well
// under a second on a loaded machine.
inline constexpr uint32_t kMemorySampleFlows = 512;

struct verify_result {
  uint32_t scripts = 0;
  uint64_t responses = 0;
  uint64_t planted = 0;     // planted values checked (each must be absent from the forwarded text)
  uint64_t mask_bytes = 0;  // bytes the session rewrote
  uint64_t frames = 0;
};

struct measure_options {
  std::vector<uint32_t> lcores = {1};
  double seconds = 5;        // timed seconds per point (after an untimed warm-up)
  FILE* progress = nullptr;  // stderr for the CLI; nullptr: silent
  bool pin_threads = true;   // worker t on CPU t mod online CPUs (ignored if refused)
};

struct measurement {
  verify_result verify;
  memory_result memory;
  std::vector<point_result> points;  // in options.lcores order
  double ns_per_tick = 0;
  double timer_overhead_ns = 0;  // an empty rdtsc-timed region (included in the latencies)
};

// Verifies the replay (see above). Returns "" or why the replay cannot be measured.
std::string verify_replay(const engine::engine_config& cfg, const replay_set& rs, verify_result& out);

// RSS growth of one session sized for `flows`, with min(flows, kMemorySampleFlows) of them live
// (each a whole connection of the profile's first script without its FIN, so the flow stays live
// with its history rings touched as far as its responses reach).
std::variant<memory_result, std::string> measure_memory(const engine::engine_config& cfg, const replay_set& rs,
                                                        uint32_t flows);

// Verification, memory, then every lcore count. Returns the measurement or why it failed
// (a refused frame names the reason, never payload bytes).
std::variant<measurement, std::string> measure_run(const engine::engine_config& cfg, const traffic_profile& p,
                                                   const replay_set& rs, const measure_options& opt);

uint32_t online_cpus();

}  // namespace phigate::capacity
