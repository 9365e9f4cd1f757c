// End to end without DPDK: a client and a server exchange the shipped SSE sample, as real
// Ethernet/IPv4/TCP frames, through the session module (parser, flow table, TCP tracker,
// reassembler, the real engine, checksum fix), over a path that loses,
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
#include "dataplane/net/checksum.hh"
#include "dataplane/net/packet_parse.hh"
#include "dataplane/session/session.hh"
#include "dataplane/tcp/tcp_tracker.hh"
#include "tests/dataplane/net/frame_builder.hh"
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

// A packet on the wire: a whole Ethernet/IPv4/TCP frame (heap), plus what the test needs to
// route it. The frame's buffer never moves while the session holds it.
struct wire_pkt {
  bool from_client = false;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  std::vector<uint8_t> frame;
  size_t payload_off = 0, payload_len = 0;
  std::span<const uint8_t> payload() const { return {frame.data() + payload_off, payload_len}; }
};

// The appliance for one lcore: the session module (what the DPDK loop will call), minus mbufs.
class appliance {
 public:
  appliance() {
    catalog& c = catalog::shared();
    session::session_config sc;
    sc.table.capacity = 4;
    sc.table.hash_seed = 77;
    sc.engine = &c.cfg;
    sc.history_bytes = kHistory;
    sc.hold_timeout_ns = UINT64_MAX / 4;  // as `phigate mask`: no hold timer decides anything here
    session::session_sink sink;
    sink.ctx = this;
    sink.forward = [](void* ctx, void* pkt) {
      static_cast<appliance*>(ctx)->tx_.emplace_back(static_cast<wire_pkt*>(pkt));
    };
    sink.drop = [](void* ctx, void* pkt) {
      delete static_cast<wire_pkt*>(pkt);
      ++static_cast<appliance*>(ctx)->reasm_drops;
    };
    s_ = session::session_create(sc, sink, &why_);
  }
  ~appliance() { session::session_destroy(s_); }
  bool ok() const { return s_ != nullptr; }

  // Takes ownership of the packet; forwarded packets come out of take_tx().
  void on_packet(std::unique_ptr<wire_pkt> p, uint64_t now) {
    wire_pkt* raw = p.release();  // the session may hold it until its sink forwards or drops it
    const session::session_result r =
        session::session_on_packet(*s_, session::packet_ref{raw, raw->frame.data(), uint32_t(raw->frame.size())}, now);
    switch (r.action) {
      case session::packet_action::forward:
        tx_.emplace_back(raw);
        return;
      case session::packet_action::held:
        return;
      case session::packet_action::drop:
        if (r.drop == session::drop_reason::tcp_invalid) ++tracker_drops;
        else if (r.drop == session::drop_reason::reassembly) ++reasm_drops;
        else ADD_FAILURE() << "unexpected drop " << session::drop_reason_name(r.drop);
        delete raw;
        return;
      default:
        ADD_FAILURE() << "unexpected reset " << session::reset_reason_name(r.reset);
        delete raw;
        return;
    }
  }

  std::vector<std::unique_ptr<wire_pkt>> take_tx() { return std::exchange(tx_, {}); }
  const tcp::reasm_counters& counters() const { return session::session_reasm_stats(*s_); }
  const tcp::tcp_counters& tcp_counters() const { return session::session_tcp_stats(*s_); }
  const session::session_counters& stats() const { return session::session_stats(*s_); }
  uint32_t held_segments() const { return session::session_held_packets(*s_); }
  std::string debug() {
    const session::session_counters& n = stats();
    return "held " + std::to_string(held_segments()) + " mask bytes " + std::to_string(n.mask_bytes) +
           " resets " + std::to_string(n.actions[size_t(session::packet_action::reset)]) + " drops " +
           std::to_string(reasm_drops) + (why_ ? why_ : "");
  }

  int tracker_drops = 0;
  int reasm_drops = 0;

 private:
  session::session_ctx* s_ = nullptr;
  const char* why_ = nullptr;
  std::vector<std::unique_ptr<wire_pkt>> tx_;
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
    frame_spec fs;
    if (!from_client) {
      std::swap(fs.src4, fs.dst4);
      std::swap(fs.sport, fs.dport);
    }
    fs.seq = seq, fs.ack = ack, fs.flags = flags;
    built_frame b = build_frame(fs, data);
    p->frame = std::move(b.bytes);
    p->payload_off = b.payload;
    p->payload_len = data.size();
    return p;
  };
  // Everything the appliance forwards reaches its peer, except server data lost on the far leg.
  auto to_client = [&](std::vector<std::unique_ptr<wire_pkt>> tx) {
    for (auto& p : tx) {
      {  // Every frame that leaves carries a valid TCP checksum, masked or not.
        net::packet_view v;
        if (net::packet_parse(p->frame.data(), p->frame.size(), v) != net::parse_error::none || !v.has_tcp) {
          ADD_FAILURE() << "a forwarded frame does not parse";
          return;
        }
        if (net::tcp_checksum(p->frame.data(), v) != net::tcp_checksum_field(p->frame.data(), v)) {
          ADD_FAILURE() << "bad TCP checksum on a forwarded frame at seq " << p->seq;
          return;
        }
      }
      if (p->from_client || p->payload().empty()) {
        if (!p->from_client && (p->flags & F::fin) && uint32_t(p->seq - (sisn + 1)) == response.size())
          fin_received = true;
        continue;
      }
      const uint64_t off = uint32_t(p->seq - (sisn + 1));
      for (size_t i = 0; i < p->payload().size(); ++i) {
        // The zero-leak check: every byte that leaves is the masked byte.
        if (static_cast<char>(p->payload()[i]) != expect[off + i]) {
          ADD_FAILURE() << "leak or corruption at response offset " << off + i;
          return;
        }
      }
      if (chance(10)) {
        ++st.lost;
        continue;
      }
      for (size_t i = 0; i < p->payload().size(); ++i) {
        received[off + i] = static_cast<char>(p->payload()[i]);
        got[off + i] = true;
      }
      if ((p->flags & F::fin) && off + p->payload().size() == response.size()) fin_received = true;
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
      for (uint64_t o = off; o < off + p->payload().size(); ++o) seen_by_appliance[o] = true;
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
    EXPECT_EQ(app.stats().flows_created, 1u) << "both directions must map to one flow";
    EXPECT_EQ(app.stats().actions[size_t(session::packet_action::reset)], 0u);
    for (tcp::tcp_verdict v : {tcp::tcp_verdict::reset, tcp::tcp_verdict::close, tcp::tcp_verdict::restart})
      EXPECT_EQ(app.tcp_counters().verdicts[size_t(v)], 0u) << "unexpected verdict " << tcp::tcp_verdict_name(v);
    EXPECT_GT(app.stats().checksums_updated, 0u) << "masked frames must have had their checksum adjusted";
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
