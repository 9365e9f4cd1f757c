#pragma once
// Test harness for the reassembler: fake packets (payloads in guarded buffers, so a rewrite or
// mask that runs past a payload faults), a sink that records what was delivered to the "engine",
// what was forwarded (the payload as it left) and what was dropped, and an optional fake engine
// that masks every ASCII digit and lags its final offset behind what it was given.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/mask/mask_action.hh"
#include "dataplane/tcp/reassembly.hh"
#include "tests/support/guard_page.hh"

namespace phigate::test {

struct fake_pkt {
  uint32_t id = 0;
  uint64_t off = 0;  // stream offset (for the test's bookkeeping only)
  bool fin = false;
  std::unique_ptr<guarded_buffer> buf;
  std::string original;
  int outcomes = 0;  // forward or drop calls received: must end at exactly 1
};

struct forwarded {
  uint32_t id;
  uint64_t off;
  std::string bytes;
  bool rewritten;
  bool fin;
};

inline tcp::reasm_config small_reasm_config() {
  tcp::reasm_config c;
  c.max_segments = 1024;
  c.max_segments_per_flow = 256;
  c.max_bytes_per_flow = 1u << 20;
  c.max_bytes = 1u << 24;
  c.max_ahead_bytes = 1u << 20;
  c.gap_timeout_ns = 5'000'000'000ULL;
  return c;
}

class reasm_harness {
 public:
  explicit reasm_harness(uint32_t base_seq = 1000, uint32_t history = 4096, tcp::reasm_pool* shared = nullptr,
                         tcp::reasm_config cfg = small_reasm_config())
      : base_(base_seq), history_(history) {
    pool_ = shared;
    if (pool_ == nullptr) {
      pool_ = tcp::reasm_pool_create(cfg);
      owned_ = pool_;
    }
    tcp::reasm_init(r, pool_, history_.empty() ? nullptr : history_.data(), history);
    tcp::reasm_start(r, base_seq);
    sink.ctx = this;
    sink.deliver = [](void* ctx, uint64_t off, const uint8_t* b, uint32_t n) {
      static_cast<reasm_harness*>(ctx)->on_deliver(off, b, n);
    };
    sink.end = [](void* ctx, uint64_t off) {
      auto& h = *static_cast<reasm_harness*>(ctx);
      EXPECT_FALSE(h.ended) << "end() twice";
      h.ended = true;
      h.end_off = off;
    };
    sink.forward = [](void* ctx, void* pkt, bool rewritten) {
      auto& h = *static_cast<reasm_harness*>(ctx);
      auto& p = *static_cast<fake_pkt*>(pkt);
      ++p.outcomes;
      h.out.push_back({p.id, p.off, std::string(reinterpret_cast<const char*>(p.buf->data()), p.buf->size()),
                       rewritten, p.fin});
    };
    sink.drop = [](void* ctx, void* pkt, tcp::reasm_drop why) {
      auto& h = *static_cast<reasm_harness*>(ctx);
      auto& p = *static_cast<fake_pkt*>(pkt);
      ++p.outcomes;
      h.drops.push_back({p.id, why});
    };
  }
  ~reasm_harness() { tcp::reasm_pool_destroy(owned_); }
  reasm_harness(const reasm_harness&) = delete;
  reasm_harness& operator=(const reasm_harness&) = delete;

  fake_pkt* make(uint64_t off, std::string_view bytes, bool fin = false) {
    auto p = std::make_unique<fake_pkt>();
    p->id = static_cast<uint32_t>(pkts_.size());
    p->off = off;
    p->fin = fin;
    p->original = std::string(bytes);
    p->buf = std::make_unique<guarded_buffer>(bytes);
    pkts_.push_back(std::move(p));
    return pkts_.back().get();
  }

  tcp::seg_ref ref(fake_pkt* p) const {
    tcp::seg_ref s;
    s.pkt = p;
    s.payload = p->buf->data();
    s.len = static_cast<uint32_t>(p->buf->size());
    s.seq = base_ + static_cast<uint32_t>(p->off);
    s.fin = p->fin;
    return s;
  }

  // Hands the packet to the reassembler, then releases up to the fake engine's final offset.
  tcp::reasm_result send(fake_pkt* p, uint64_t now_ns = 1) {
    tcp::reasm_result res = tcp::reasm_on_segment(r, ref(p), now_ns, sink);
    if (auto_release) release();
    return res;
  }
  tcp::reasm_result send(uint64_t off, std::string_view bytes, bool fin = false, uint64_t now_ns = 1) {
    return send(make(off, bytes, fin), now_ns);
  }
  size_t release() {
    const uint64_t fin = engine_seen > lag ? engine_seen - lag : 0;
    return tcp::reasm_release(r, fin, sink);
  }
  size_t release_all() { return tcp::reasm_release(r, UINT64_MAX, sink); }

  // Every packet got exactly one outcome (or is still held when allow_held).
  void expect_accounted(bool allow_held = false) const {
    for (const auto& p : pkts_) {
      if (allow_held) EXPECT_LE(p->outcomes, 1) << "packet " << p->id;
      else EXPECT_EQ(p->outcomes, 1) << "packet " << p->id;
    }
  }
  std::vector<uint32_t> forwarded_ids() const {
    std::vector<uint32_t> v;
    for (const auto& f : out) v.push_back(f.id);
    return v;
  }
  const tcp::reasm_counters& counters() const { return tcp::reasm_pool_counters(*pool_); }
  tcp::reasm_pool& pool() { return *pool_; }
  size_t packets() const { return pkts_.size(); }
  uint32_t base() const { return base_; }
  fake_pkt& pkt(size_t i) { return *pkts_[i]; }

  tcp::reasm r;
  tcp::reasm_sink sink;
  std::string delivered;        // what the engine saw, in order
  uint64_t engine_seen = 0;
  uint64_t lag = 0;             // the fake engine keeps this many bytes unfinal
  bool mask_digits = false;     // the fake engine masks every digit it sees
  bool auto_release = true;
  bool ended = false;
  uint64_t end_off = 0;
  std::vector<forwarded> out;
  std::vector<std::pair<uint32_t, tcp::reasm_drop>> drops;

 private:
  void on_deliver(uint64_t off, const uint8_t* b, uint32_t n) {
    EXPECT_EQ(off, engine_seen) << "delivery out of order";
    const std::string seen(reinterpret_cast<const char*>(b), n);
    delivered += seen;
    engine_seen = off + n;
    if (!mask_digits) return;
    for (uint32_t i = 0; i < n; ++i)
      if (seen[i] >= '0' && seen[i] <= '9') {
        mask::mask_action a{off + i, 1, mask::mask_kind::text_all};
        tcp::reasm_apply_mask(r, a);
      }
  }

  uint32_t base_;
  std::vector<uint8_t> history_;
  tcp::reasm_pool* pool_ = nullptr;
  tcp::reasm_pool* owned_ = nullptr;
  std::deque<std::unique_ptr<fake_pkt>> pkts_;
};

// The stream with every digit masked, as the fake engine would release it.
inline std::string digits_masked(std::string s) {
  for (char& c : s)
    if (c >= '0' && c <= '9') c = '*';
  return s;
}

}  // namespace phigate::test
