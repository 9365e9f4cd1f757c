#pragma once
// What every in-memory replay of frame_corpus frames through session_on_packet shares: the
// dataplane benchmark (bench/dp_bench.cc) and `phigate capacity` (cli/capacity/capacity_measure.cc)
// both model a phigate-dp worker lcore fed from memory instead of a NIC, so both take their
// clocks, TSC calibration, latency histogram, frame buffer pool, lane replay and session set-up
// from here and their figures mean the same thing.
//
// Threads: nothing here is shared; each replay thread owns its pool, lanes, histogram and session.
// Hot path (per frame): lane_replay::next, buffer_pool::get/put, tsc_begin/tsc_end and
// tick_histogram::add never allocate, lock or throw. Set-up (constructors, calibration,
// verification helpers) allocates freely.
#include <x86intrin.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bench/frame_corpus.hh"
#include "dataplane/engine/flow_engine.hh"
#include "dataplane/session/session.hh"

namespace phigate::bench {

inline constexpr size_t kBurst = 32;  // frames per clock read and session_tick, as the DPDK loop
inline constexpr size_t kFrameBufferBytes = 2048;  // one frame buffer (an mbuf's data room)
static_assert(kFrameBufferBytes >= kMaxFrameBytes, "a pool buffer holds any template frame");
// Held frames per lcore: the session's default, as phigate-dp configures it.
inline constexpr uint32_t kReasmSegments = 1u << 16;
// Every frame the session may hold plus two bursts in flight: the pool never runs dry while the
// session keeps within its reassembly budget.
inline constexpr size_t kPoolBuffers = kReasmSegments + 2 * kBurst;
inline constexpr uint64_t kHoldTimeoutNs = 200'000'000;  // phigate-dp's default hold_timeout_ms
// A burst whose wall time exceeds the thread's CPU time by more than this lost its CPU: on a
// shared machine preemption would own the latency tail, while a dataplane lcore is dedicated,
// so such bursts are left out of the latency figures and counted instead.
inline constexpr double kPreemptedNs = 10'000;

// ---------------------------------------------------------------- clocks

inline uint64_t clock_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

uint64_t thread_cpu_ns();

// An rdtsc-timed region: fenced so the region's instructions neither start before tsc_begin nor
// retire after tsc_end. t = tsc_end() - tsc_begin() includes the timer overhead
// (tsc_calibration::timer_overhead_ns).
inline uint64_t tsc_begin() {
  _mm_lfence();
  const uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}
inline uint64_t tsc_end() {
  unsigned aux;
  const uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
}

struct tsc_calibration {
  double ns_per_tick = 0;
  double timer_overhead_ns = 0;  // median of an empty tsc_begin/tsc_end region
};
// Takes ~50 ms of wall time (the TSC counted against the steady clock).
tsc_calibration calibrate_tsc();
// Median of an empty region timed with thread_cpu_ns.
double thread_cpu_clock_overhead_ns();

// One burst's preemption check: start() before the burst, preempted() after it.
struct burst_clock {
  uint64_t cpu0 = 0, tsc0 = 0;
  void start() {
    cpu0 = thread_cpu_ns();
    tsc0 = __rdtsc();
  }
  bool preempted(double ns_per_tick) const {
    const double wall = static_cast<double>(__rdtsc() - tsc0) * ns_per_tick;
    const double cpu = static_cast<double>(thread_cpu_ns() - cpu0);
    return wall - cpu > kPreemptedNs;
  }
};

// ---------------------------------------------------------------- latency histogram

// Log-linear buckets of rdtsc ticks: exact below 32, then 32 sub-buckets per power of two
// (<= 3% error). Fixed size, no allocation while recording.
class tick_histogram {
 public:
  void add(uint64_t t) {
    ++counts_[index(t)];
    ++total_;
    if (t > max_) max_ = t;
  }
  void merge(const tick_histogram& o);
  // Upper bound of the bucket holding quantile q (0..1); may exceed max().
  uint64_t quantile_bound(double q) const;
  // The same, capped at max() (so quantile(1.0) == max()).
  uint64_t quantile(double q) const;
  uint64_t max() const { return max_; }
  uint64_t total() const { return total_; }

 private:
  static constexpr size_t kBuckets = 32 + 59 * 32;
  static size_t index(uint64_t t) {
    if (t < 32) return static_cast<size_t>(t);
    const unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(t));  // >= 5
    return 32 + (e - 5) * 32 + static_cast<size_t>((t >> (e - 5)) - 32);
  }
  static uint64_t upper(size_t i);
  uint64_t counts_[kBuckets] = {};
  uint64_t total_ = 0, max_ = 0;
};

// ---------------------------------------------------------------- frame buffers

// Frame buffers, as an mbuf pool's per-lcore cache: LIFO, so a buffer freed at once is reused hot.
class buffer_pool {
 public:
  // `prefault`: buffers at the top of the stack (handed out first) touched now, so their page
  // faults land in set-up and not in a timed run.
  buffer_pool(size_t n, size_t prefault);
  uint8_t* get() {
    if (top_ == 0) return nullptr;
    uint8_t* b = free_[--top_];
    if (top_ < low_) low_ = top_;
    return b;
  }
  void put(uint8_t* b) { free_[top_++] = b; }
  size_t deepest() const { return free_.size() - low_; }  // most buffers out at once
  size_t available() const { return top_; }
  size_t size() const { return free_.size(); }
  // A sink that returns every forwarded or dropped frame to this pool.
  session::session_sink sink();

 private:
  std::unique_ptr<uint8_t[]> mem_;
  std::vector<uint8_t*> free_;
  size_t top_ = 0;
  size_t low_ = SIZE_MAX;
};

// Copies frame `f` into a buffer from `pool` (the NIC's DMA) with lane address `a` written in.
// nullptr when the pool is empty.
inline uint8_t* frame_load(buffer_pool& pool, const frame_corpus& fc, const frame_desc& f, const lane_address& a) {
  uint8_t* buf = pool.get();
  if (buf == nullptr) return nullptr;
  std::memcpy(buf, fc.bytes(f), f.len);
  frame_patch_client(buf, f.from_server, a);
  return buf;
}

// Clears the FIN of a server frame carrying payload (TCP checksum adjusted), so a connection
// replayed without its FIN exchange stays live: the memory figures fill flow tables this way.
void frame_keep_open(uint8_t* frame, const frame_desc& f);

// ---------------------------------------------------------------- lanes

// Lanes (distinct client addresses), each replaying a list of scripts in turn: the first script's
// prologue once, then the loop of each script, forever. Callers choose which scripts a lane plays.
class lane_replay {
 public:
  explicit lane_replay(const frame_corpus& fc) : fc_(&fc) {}
  void add_lane(const lane_address& addr, std::span<const uint32_t> scripts);
  uint32_t lanes() const { return static_cast<uint32_t>(lanes_.size()); }
  const lane_address& addr(uint32_t i) const { return lanes_[i].addr; }
  // Frames of one pass over the lane's scripts (prologue excluded).
  uint64_t cycle_frames(uint32_t i) const;
  uint32_t prologue_frames(uint32_t i) const {
    return lanes_[i].prologue ? fc_->scripts[list_[lanes_[i].first + lanes_[i].si]].prologue_count : 0;
  }
  // The lane's next frame in wire order.
  const frame_desc& next(uint32_t i) {
    lane& l = lanes_[i];
    const script& sc = fc_->scripts[list_[l.first + l.si]];
    uint32_t idx;
    if (l.prologue) {
      idx = sc.prologue_first + l.fi;
      if (++l.fi == sc.prologue_count) l.prologue = false, l.fi = 0;
    } else {
      idx = sc.loop_first + l.fi;
      if (++l.fi == sc.loop_count) {
        l.fi = 0;
        if (++l.si == l.count) l.si = 0;
      }
    }
    return fc_->frames[idx];
  }

 private:
  struct lane {
    lane_address addr;
    uint32_t first = 0, count = 0, si = 0, fi = 0;
    bool prologue = false;
  };
  const frame_corpus* fc_;
  std::vector<uint32_t> list_;
  std::vector<lane> lanes_;
};

// Where lane i starts its cycle: spread evenly (golden ratio) so that, with many lanes, the mix of
// handshakes, heads, bodies and FINs in any window is the steady-state mix from the first frame.
inline uint64_t stagger(uint32_t i, uint64_t cycle) {
  const double f = static_cast<double>(i) * 0.6180339887498949;
  return static_cast<uint64_t>((f - static_cast<double>(static_cast<uint64_t>(f))) * static_cast<double>(cycle));
}

// ---------------------------------------------------------------- sessions

struct session_deleter {
  void operator()(session::session_ctx* s) const { session::session_destroy(s); }
};
using session_ptr = std::unique_ptr<session::session_ctx, session_deleter>;

// phigate-dp's session defaults for one lcore over `cfg` (which must outlive the session), with
// a flow table of `capacity` slots and a fixed hash seed (the same buckets every run).
session::session_config replay_session_config(const engine::engine_config& cfg, uint32_t capacity);

// "drop reassembly x3, reset midstream x1": every reason a session refused frames, or "".
std::string refusals(const session::session_counters& n);

// Set-up verification of forwarded frames: a sink that checks each forwarded frame's checksums,
// collects the server->client payload in forwarding order, counts drops and returns every frame
// to `pool`.
struct checking_sink {
  buffer_pool* pool = nullptr;
  std::string server_bytes;  // forwarded response payload, in forwarding order
  uint64_t bad = 0, forwarded = 0, dropped = 0;
  // A frame the session forwarded (or handed back at once): counted, checked, payload collected.
  void check(uint8_t* frame);
  session::session_sink sink();
};

}  // namespace phigate::bench
