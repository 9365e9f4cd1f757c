// End to end without DPDK: a client and a server exchange the shipped SSE sample through the
// flow table, the TCP tracker, the reassembler and the real engine, over a path that loses,
// reorders and duplicates packets, and a server whose retransmissions are cut at new boundaries
// and sometimes carry different bytes. The client's reassembled response must equal what
// `phigate mask` (mask_message) produces for the file, and every server packet that leaves the
// appliance must carry exactly those bytes at its offsets: zero leaks, whatever the path did.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/engine/mask_message.hh"
#include "dataplane/flow/flow_key.hh"
#include "dataplane/flow/flow_table.hh"
#include "dataplane/tcp/reassembly.hh"
#include "dataplane/tcp/tcp_tracker.hh"
#include "tests/support/engine_fixture.hh"

namespace phigate::test {
namespace {

using flow::flow_dir;
namespace F = tcp::tcp_flag;

constexpr uint32_t kHistory = 64 * 1024;
constexpr uint64_t kMs = 1'000'000ULL;

std::string read_sample(const char* name) {
  std::ifstream in(std::string(PHIGATE_SAMPLE_DIR) + "/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A packet on the wire: heap payload, addressed by direction.
struct wire_pkt {
  bool from_client = false;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  std::vector<uint8_t> payload;
};

// Per-flow state, constructed once per table slot (the engine's streams are opened at setup).
struct conn {
  tcp::tcp_conn tcp;
  tcp::reasm r[2];
  std::array<uint8_t, kHistory> history[2];
  engine::flow_engine eng;
  uint64_t response_final = 0;
  bool engine_failed = false;
};

// The appliance for one lcore: what the DPDK loop will do, minus mbufs.
class appliance {
 public:
  appliance() {
    catalog& c = catalog::shared();
    flow::flow_table_config fc;
    fc.capacity = 4;
    fc.hash_seed = 77;
    table_ = flow::flow_table_create_for<conn>(fc);
    pool_ = tcp::reasm_pool_create(tcp::reasm_config{});
    for (uint32_t i = 0; i < flow::flow_table_capacity(*table_); ++i) {
      conn& k = *static_cast<conn*>(flow::flow_table_payload_at(*table_, i));
      setup_ok_ = setup_ok_ && engine::flow_engine_setup(k.eng, c.cfg);
    }
  }
  ~appliance() {
    for (uint32_t i = 0; i < flow::flow_table_capacity(*table_); ++i)
      engine::flow_engine_teardown(static_cast<conn*>(flow::flow_table_payload_at(*table_, i))->eng);
    flow::flow_table_destroy_for<conn>(table_);
    tcp::reasm_pool_destroy(pool_);
  }
  bool ok() const { return setup_ok_ && table_ != nullptr && pool_ != nullptr; }

  // Takes ownership of the packet; forwarded packets come out of take_tx().
  void on_packet(std::unique_ptr<wire_pkt> p, uint64_t now) {
    now_ = now;
    static constexpr uint8_t kClient[4] = {10, 0, 0, 1}, kServer[4] = {10, 0, 0, 2};
    bool swapped = false;
    const flow::flow_key key = p->from_client ? flow::make_flow_key_v4(kClient, kServer, 40000, 8000, 6, swapped)
                                              : flow::make_flow_key_v4(kServer, kClient, 8000, 40000, 6, swapped);
    const uint64_t h = flow::flow_table_hash(*table_, key);
    flow::flow_entry* e = flow::flow_table_find(*table_, key, h);
    if (e == nullptr) {
      e = flow::flow_table_insert(*table_, key, h, swapped, now);
      ASSERT_NE(e, nullptr);
      new_connection(flow::flow_payload<conn>(*table_, *e));
      ++flows_created;
    }
    conn& c = flow::flow_payload<conn>(*table_, *e);
    const flow_dir d = flow::flow_direction(*e, swapped);
    tcp::tcp_packet tp;
    tp.seq = p->seq;
    tp.ack = p->ack;
    tp.flags = p->flags;
    tp.payload_len = static_cast<uint32_t>(p->payload.size());
    const tcp::tcp_result tr = tcp::tcp_track(c.tcp, tcfg_, d, tp, tcnt_);
    flow::flow_table_set_class(*table_, *e, tcp::tcp_timeout_class(c.tcp.state), now);
    if ((p->flags & F::ack) != 0) tcp::reasm_on_ack(c.r[flow::dir_index(flow::dir_other(d))], p->ack);
    switch (tr.verdict) {
      case tcp::tcp_verdict::forward:
        tx_.push_back(std::move(p));
        return;
      case tcp::tcp_verdict::drop:
        ++tracker_drops;
        return;
      case tcp::tcp_verdict::stream:
        break;
      default:
        ADD_FAILURE() << "unexpected verdict " << tcp::tcp_verdict_name(tr.verdict) << " event "
                      << tcp::tcp_event_name(tr.event);
        return;
    }
    tcp::reasm& r = c.r[flow::dir_index(d)];
    if (!r.started) tcp::reasm_start(r, tcp::tcp_stream_base(c.tcp, d));
    tcp::seg_ref s;
    s.payload = p->payload.data();
    s.len = tp.payload_len;
    s.seq = tr.data_seq;
    s.fin = tr.fin;
    wire_pkt* raw = p.release();  // the reassembler owns it until forward() or drop()
    s.pkt = raw;
    call ctx{this, &c, d};
    const tcp::reasm_sink sink = make_sink(&ctx);
    const tcp::reasm_result rr = tcp::reasm_on_segment(r, s, now, sink);
    EXPECT_EQ(rr.event, tcp::reasm_event::none) << tcp::reasm_event_name(rr.event);
    EXPECT_FALSE(c.engine_failed);
    // Requests are never masked: delivered request bytes are final.
    tcp::reasm_release(r, d == flow_dir::to_responder ? r.delivered : c.response_final, sink);
  }

  std::vector<std::unique_ptr<wire_pkt>> take_tx() { return std::exchange(tx_, {}); }
  tcp::reasm_counters& counters() { return tcp::reasm_pool_counters(*pool_); }
  const tcp::tcp_counters& tcp_counters() const { return tcnt_; }
  uint32_t held_segments() const { return tcp::reasm_pool_segments_held(*pool_); }
  std::string debug() {
    conn& c = *static_cast<conn*>(flow::flow_table_payload_at(*table_, 0));
    const tcp::reasm& r = c.r[1];
    return "delivered " + std::to_string(r.delivered) + " released " + std::to_string(r.released) + " final " +
           std::to_string(c.response_final) + " segs " + std::to_string(r.segments) + " failed " +
           std::to_string(c.engine_failed) + " drops " + std::to_string(reasm_drops);
  }

  int flows_created = 0;
  int tracker_drops = 0;

 private:
  struct call {
    appliance* a;
    conn* c;
    flow_dir d;
  };

  void new_connection(conn& c) {
    tcp::tcp_conn_reset(c.tcp);
    for (int i = 0; i < 2; ++i) tcp::reasm_init(c.r[i], pool_, c.history[i].data(), kHistory);
    engine::flow_engine_reset(c.eng);
    c.response_final = 0;
    c.engine_failed = false;
  }

  static engine::engine_sink engine_sink_for(conn* c) {
    engine::engine_sink es;
    es.ctx = c;
    es.on_mask = [](void* ctx, const mask::mask_action& a) {
      // Masks land on the held response packets (server -> client travels to the initiator).
      tcp::reasm_apply_mask(static_cast<conn*>(ctx)->r[flow::dir_index(flow_dir::to_initiator)], a);
    };
    return es;
  }

  static void note(conn& c, const engine::feed_result& fr) {
    if (fr.error != engine::engine_error::none) c.engine_failed = true;
    else c.response_final = std::max(c.response_final, fr.final_offset);
  }

  tcp::reasm_sink make_sink(call* ctx) {
    tcp::reasm_sink s;
    s.ctx = ctx;
    s.deliver = [](void* v, uint64_t, const uint8_t* b, uint32_t n) {
      call& k = *static_cast<call*>(v);
      const engine::engine_sink es = engine_sink_for(k.c);
      engine::engine_scratch& x = *catalog::shared().x;
      if (k.d == flow_dir::to_responder) {
        engine::feed_request(k.c->eng, x, b, n, k.a->now_, es);
      } else {
        note(*k.c, engine::feed_response(k.c->eng, x, b, n, k.a->now_, es));
      }
    };
    s.end = [](void* v, uint64_t) {
      call& k = *static_cast<call*>(v);
      if (k.d != flow_dir::to_initiator) return;
      note(*k.c, engine::finish_response(k.c->eng, *catalog::shared().x, k.a->now_, engine_sink_for(k.c)));
    };
    s.forward = [](void* v, void* pkt, bool) {
      static_cast<call*>(v)->a->tx_.emplace_back(static_cast<wire_pkt*>(pkt));
    };
    s.drop = [](void* v, void* pkt, tcp::reasm_drop) {
      delete static_cast<wire_pkt*>(pkt);
      ++static_cast<call*>(v)->a->reasm_drops;
    };
    return s;
  }

 public:
  int reasm_drops = 0;

 private:
  flow::flow_table* table_ = nullptr;
  tcp::reasm_pool* pool_ = nullptr;
  tcp::tcp_config tcfg_;
  tcp::tcp_counters tcnt_;
  std::vector<std::unique_ptr<wire_pkt>> tx_;
  uint64_t now_ = 0;
  bool setup_ok_ = true;
};

struct run_stats {
  uint64_t server_packets = 0, evil_copies = 0, lost = 0, duplicated = 0, rounds = 0;
};

// One connection: handshake, request, then the response over the hostile path. Returns what
// the client assembled; checks every forwarded server packet against `expect` on the way.
std::string run_connection(const std::string& response, const std::string& expect, uint32_t seed,
                           appliance& app, run_stats& st) {
  std::mt19937 rng(seed);
  auto chance = [&](int pct) { return static_cast<int>(rng() % 100) < pct; };
  const uint32_t cisn = rng(), sisn = 0xFFFFFFFFu - 2500 - rng() % 1000;  // the response wraps 2^32
  uint64_t now = 1'000 * kMs;
  std::string received(response.size(), '\0');
  std::vector<bool> got(response.size(), false);
  uint64_t rcv_nxt = 0;
  bool fin_received = false;

  auto mk = [](bool from_client, uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = {}) {
    auto p = std::make_unique<wire_pkt>();
    p->from_client = from_client;
    p->flags = flags;
    p->seq = seq;
    p->ack = ack;
    p->payload.assign(data.begin(), data.end());
    return p;
  };
  // Everything the appliance forwards reaches its peer, except server data lost on the far leg.
  auto to_client = [&](std::vector<std::unique_ptr<wire_pkt>> tx) {
    for (auto& p : tx) {
      if (p->from_client || p->payload.empty()) {
        if (!p->from_client && (p->flags & F::fin) && uint32_t(p->seq - (sisn + 1)) == response.size())
          fin_received = true;
        continue;
      }
      const uint64_t off = uint32_t(p->seq - (sisn + 1));
      for (size_t i = 0; i < p->payload.size(); ++i) {
        // The zero-leak check: every byte that leaves is the masked byte.
        if (static_cast<char>(p->payload[i]) != expect[off + i]) {
          ADD_FAILURE() << "leak or corruption at response offset " << off + i;
          return;
        }
      }
      if (chance(10)) {
        ++st.lost;
        continue;
      }
      for (size_t i = 0; i < p->payload.size(); ++i) {
        received[off + i] = static_cast<char>(p->payload[i]);
        got[off + i] = true;
      }
      if ((p->flags & F::fin) && off + p->payload.size() == response.size()) fin_received = true;
    }
    while (rcv_nxt < response.size() && got[rcv_nxt]) ++rcv_nxt;
  };

  // Handshake and request, in order and lossless.
  app.on_packet(mk(true, F::syn, cisn, 0), now);
  app.on_packet(mk(false, F::syn | F::ack, sisn, cisn + 1), now);
  app.on_packet(mk(true, F::ack, cisn + 1, sisn + 1), now);
  const std::string req = "GET /v1/chat/completions HTTP/1.1\r\nHost: inference\r\n\r\n";
  app.on_packet(mk(true, F::ack | F::psh, cisn + 1 + 20, sisn + 1, std::string_view(req).substr(20)), now);
  app.on_packet(mk(true, F::ack | F::psh, cisn + 1, sisn + 1, std::string_view(req).substr(0, 20)), now);
  const uint32_t client_next = cisn + 1 + static_cast<uint32_t>(req.size());
  to_client(app.take_tx());

  // The server: 100-byte segments, FIN on the last; a window of 3000 bytes past the client's ACK.
  std::vector<bool> seen_by_appliance(response.size(), false);
  uint64_t una = 0, sent = 0;
  const uint64_t window = 3000;
  auto send = [&](std::vector<std::unique_ptr<wire_pkt>>& batch, uint64_t off, uint64_t len) {
    std::string bytes = response.substr(off, len);
    bool all_seen = len > 0;
    for (uint64_t o = off; o < off + len; ++o) all_seen = all_seen && seen_by_appliance[o];
    if (all_seen && chance(15)) {  // a hostile copy of bytes the appliance already inspected
      for (char& ch : bytes) ch = static_cast<char>('0' + rng() % 10);
      ++st.evil_copies;
    }
    const bool fin = off + len == response.size();
    batch.push_back(mk(false, F::ack | (fin ? F::fin : 0), sisn + 1 + uint32_t(off), client_next, bytes));
  };
  for (int round = 0; round < 4000 && !(rcv_nxt == response.size() && fin_received); ++round) {
    ++st.rounds;
    std::vector<std::unique_ptr<wire_pkt>> batch;
    while (sent < response.size() && sent < una + window) {
      const uint64_t n = std::min<uint64_t>(100, response.size() - sent);
      send(batch, sent, n);
      sent += n;
    }
    // Retransmissions (RTO / SACK-like), cut at new boundaries.
    const int rtx = una < sent ? 1 + static_cast<int>(rng() % 3) : 0;
    for (int i = 0; i < rtx; ++i) {
      const uint64_t from = i == 0 ? una : una + rng() % (sent - una);  // RTO from una, then SACK-like
      send(batch, from, std::min<uint64_t>(1 + rng() % 300, response.size() - from));
    }
    if (una == response.size() && !fin_received) send(batch, response.size() - 100, 100);
    // The near leg: loss, duplication, local reordering.
    std::vector<std::unique_ptr<wire_pkt>> path;
    for (auto& p : batch) {
      if (chance(15)) {
        ++st.lost;
        continue;
      }
      if (chance(10)) {
        path.push_back(std::make_unique<wire_pkt>(*p));
        ++st.duplicated;
      }
      path.push_back(std::move(p));
    }
    for (size_t i = 0; i + 1 < path.size(); ++i)
      if (chance(40)) std::swap(path[i], path[std::min(path.size() - 1, i + 1 + rng() % 5)]);
    for (auto& p : path) {
      const uint64_t off = uint32_t(p->seq - (sisn + 1));
      for (uint64_t o = off; o < off + p->payload.size(); ++o) seen_by_appliance[o] = true;
      ++st.server_packets;
      app.on_packet(std::move(p), now += kMs);
      to_client(app.take_tx());
    }
    // The client acknowledges what it has; ACKs cross the appliance too.
    const uint32_t ack = sisn + 1 + uint32_t(rcv_nxt) + (fin_received && rcv_nxt == response.size() ? 1 : 0);
    app.on_packet(mk(true, F::ack, client_next, ack), now += kMs);
    to_client(app.take_tx());
    una = rcv_nxt;
  }
  EXPECT_EQ(rcv_nxt, response.size()) << "the transfer stalled: " << app.debug();
  EXPECT_TRUE(fin_received);
  return received;
}

TEST(tcp_engine, lossy_reordered_hostile_path_delivers_exactly_the_masked_response) {
  catalog& c = catalog::shared();
  ASSERT_NE(c.x, nullptr);
  const std::string response = read_sample("chat-stream.http");
  ASSERT_GT(response.size(), 5000u) << "sample missing";
  const engine::mask_outcome masked =
      engine::mask_message(c.cfg, *c.x, std::span(reinterpret_cast<const uint8_t*>(response.data()), response.size()),
                           engine::mask_options{});
  ASSERT_TRUE(masked.ok) << engine::describe_error(masked);
  const std::string expect(masked.output.begin(), masked.output.end());
  ASSERT_EQ(expect.size(), response.size());
  ASSERT_NE(expect, response) << "the sample must contain something to mask";
  for (const char* phi : {"\"6789\"", "\"-3456\"", "\"@example\"", "\"/1962\""})
    ASSERT_EQ(expect.find(phi), std::string::npos) << "phigate mask left a planted value of size " << std::strlen(phi);

  run_stats st;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    appliance app;
    ASSERT_TRUE(app.ok());
    const std::string got = run_connection(response, expect, seed, app, st);
    ASSERT_EQ(got, expect) << "the client assembled something other than `phigate mask` output";
    EXPECT_EQ(app.counters().late_mask_bytes, 0u);
    EXPECT_EQ(app.held_segments(), 0u) << "packets left behind";
    EXPECT_EQ(app.flows_created, 1) << "both directions must map to one flow";
    EXPECT_EQ(app.tcp_counters().events[size_t(tcp::tcp_event::established)], 1u);
  }
  // The run must actually have been hostile.
  EXPECT_GT(st.evil_copies, 10u);
  EXPECT_GT(st.lost, 50u);
  EXPECT_GT(st.duplicated, 20u);
  std::printf("tcp_engine: %llu server packets over %llu rounds, %llu lost, %llu duplicated, %llu hostile copies\n",
              (unsigned long long)st.server_packets, (unsigned long long)st.rounds, (unsigned long long)st.lost,
              (unsigned long long)st.duplicated, (unsigned long long)st.evil_copies);
}

}  // namespace
}  // namespace phigate::test
