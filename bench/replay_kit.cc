#include "bench/replay_kit.hh"

#include <time.h>

#include <algorithm>

#include "dataplane/net/checksum.hh"
#include "dataplane/net/packet_parse.hh"

namespace phigate::bench {

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

tsc_calibration calibrate_tsc() {
  tsc_calibration c;
  const uint64_t t0 = clock_ns(), c0 = __rdtsc();
  while (clock_ns() - t0 < 50'000'000) {
  }
  const uint64_t t1 = clock_ns(), c1 = __rdtsc();
  c.ns_per_tick = static_cast<double>(t1 - t0) / static_cast<double>(c1 - c0);
  std::vector<uint64_t> empty(4096);
  for (uint64_t& x : empty) {
    const uint64_t a = tsc_begin();
    x = tsc_end() - a;
  }
  std::nth_element(empty.begin(), empty.begin() + empty.size() / 2, empty.end());
  c.timer_overhead_ns = static_cast<double>(empty[empty.size() / 2]) * c.ns_per_tick;
  return c;
}

double thread_cpu_clock_overhead_ns() {
  std::vector<uint64_t> empty(4096);
  for (uint64_t& x : empty) {
    const uint64_t a = thread_cpu_ns();
    x = thread_cpu_ns() - a;
  }
  std::nth_element(empty.begin(), empty.begin() + empty.size() / 2, empty.end());
  return static_cast<double>(empty[empty.size() / 2]);
}

// ---------------------------------------------------------------- histogram

void tick_histogram::merge(const tick_histogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  total_ += o.total_;
  max_ = std::max(max_, o.max_);
}

uint64_t tick_histogram::quantile_bound(double q) const {
  if (total_ == 0) return 0;
  const uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= want) return upper(i);
  }
  return max_;
}

uint64_t tick_histogram::quantile(double q) const { return std::min(quantile_bound(q), max_); }

uint64_t tick_histogram::upper(size_t i) {
  if (i < 32) return i;
  const size_t e = (i - 32) / 32 + 5, sub = (i - 32) % 32;
  return ((32 + sub + 1) << (e - 5)) - 1;
}

// ---------------------------------------------------------------- buffers

buffer_pool::buffer_pool(size_t n, size_t prefault) : mem_(new uint8_t[n * kFrameBufferBytes + 64]), free_(n) {
  uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(mem_.get()) + 63) & ~uintptr_t{63});
  for (size_t i = 0; i < n; ++i) free_[i] = base + i * kFrameBufferBytes;
  top_ = n;
  // The LIFO hands out the top of the stack first: fault those pages in now, not in a timed run.
  for (size_t i = n > prefault ? n - prefault : 0; i < n; ++i) std::memset(free_[i], 0, kFrameBufferBytes);
}

session::session_sink buffer_pool::sink() {
  session::session_sink s;
  s.ctx = this;
  s.forward = [](void* ctx, void* pkt) { static_cast<buffer_pool*>(ctx)->put(static_cast<uint8_t*>(pkt)); };
  s.drop = s.forward;
  return s;
}

void frame_keep_open(uint8_t* buf, const frame_desc& f) {
  constexpr size_t kFlags = 14 + 20 + 12;  // TCP data offset / flags word after Ethernet and IPv4
  if (!f.from_server || f.payload == 0 || !(buf[kFlags + 1] & 0x01)) return;
  const uint16_t old_word = static_cast<uint16_t>(buf[kFlags] << 8 | buf[kFlags + 1]);
  buf[kFlags + 1] &= static_cast<uint8_t>(~0x01);
  const uint16_t new_word = static_cast<uint16_t>(buf[kFlags] << 8 | buf[kFlags + 1]);
  frame_patch_checksum(buf + kFrameTcpChecksumOff, old_word, new_word);
}

// ---------------------------------------------------------------- lanes

void lane_replay::add_lane(const lane_address& addr, std::span<const uint32_t> scripts) {
  lane l;
  l.addr = addr;
  l.first = static_cast<uint32_t>(list_.size());
  list_.insert(list_.end(), scripts.begin(), scripts.end());
  l.count = static_cast<uint32_t>(scripts.size());
  l.prologue = fc_->scripts[list_[l.first]].prologue_count > 0;
  lanes_.push_back(l);
}

uint64_t lane_replay::cycle_frames(uint32_t i) const {
  uint64_t n = 0;
  for (uint32_t k = 0; k < lanes_[i].count; ++k) n += fc_->scripts[list_[lanes_[i].first + k]].loop_count;
  return n;
}

// ---------------------------------------------------------------- sessions

session::session_config replay_session_config(const engine::engine_config& cfg, uint32_t capacity) {
  session::session_config c;
  c.engine = &cfg;
  c.table.capacity = capacity;
  c.table.hash_seed = 0x5eed;
  c.reasm.max_segments = kReasmSegments;
  c.hold_timeout_ns = kHoldTimeoutNs;
  return c;
}

std::string refusals(const session::session_counters& n) {
  std::string out;
  for (size_t i = 1; i < session::drop_reason_count; ++i)
    if (n.drops[i])
      out += std::string(out.empty() ? "" : ", ") + "drop " + session::drop_reason_name(session::drop_reason(i)) +
             " x" + std::to_string(n.drops[i]);
  for (size_t i = 1; i < session::reset_reason_count; ++i)
    if (n.resets[i])
      out += std::string(out.empty() ? "" : ", ") + "reset " + session::reset_reason_name(session::reset_reason(i)) +
             " x" + std::to_string(n.resets[i]);
  return out;
}

void checking_sink::check(uint8_t* frame) {
  ++forwarded;
  net::packet_view pv;
  // The buffer's size: packet_parse bounds the frame itself by the IP total length.
  if (net::packet_parse(frame, static_cast<uint32_t>(kFrameBufferBytes), pv) != net::parse_error::none) {
    ++bad;
    return;
  }
  const uint16_t ip_stored =
      static_cast<uint16_t>(frame[kFrameIpv4ChecksumOff] << 8 | frame[kFrameIpv4ChecksumOff + 1]);
  if (net::tcp_checksum(frame, pv) != net::tcp_checksum_field(frame, pv) ||
      net::ipv4_header_checksum(frame, pv) != ip_stored)
    ++bad;
  if (pv.sport == kServerPort) server_bytes.append(reinterpret_cast<const char*>(frame) + pv.payload_off, pv.payload_len);
}

session::session_sink checking_sink::sink() {
  session::session_sink s;
  s.ctx = this;
  s.forward = [](void* ctx, void* pkt) {
    auto& c = *static_cast<checking_sink*>(ctx);
    c.check(static_cast<uint8_t*>(pkt));
    c.pool->put(static_cast<uint8_t*>(pkt));
  };
  s.drop = [](void* ctx, void* pkt) {
    auto& c = *static_cast<checking_sink*>(ctx);
    ++c.dropped;
    c.pool->put(static_cast<uint8_t*>(pkt));
  };
  return s;
}

}  // namespace phigate::bench
