// session: the per-packet glue on small scripted connections (the hostile end-to-end run lives in
// tests/dataplane/tcp/tcp_engine_test). Covers: masking reaches the client with a valid checksum,
// requests pass at once, an unmaskable response resets both sides with the documented RST
// seq/ack values and drops what was held, midstream data is reset from the frame's own numbers,
// non-inspectable frames are dropped by named reason, and destroy returns every held frame.
#include <gtest/gtest.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/engine/mask_message.hh"
#include "dataplane/net/checksum.hh"
#include "dataplane/net/packet_parse.hh"
#include "dataplane/session/session.hh"
#include "tests/dataplane/net/frame_builder.hh"
#include "tests/support/engine_fixture.hh"
#include "tests/support/guard_page.hh"
#include "tests/dataplane/session/session_harness.hh"

namespace phigate::test {
namespace {

const std::string kRequest = "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";

std::string json_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

TEST(session, masked_response_reaches_the_client_with_valid_checksums) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake(kRequest);
  const std::string resp = json_response("{\"note\":\"patient SSN 219-09-9999 and phone 415-555-0132, ok\"}");
  const engine::mask_outcome m = engine::mask_message(
      catalog::shared().cfg, *catalog::shared().x,
      std::span(reinterpret_cast<const uint8_t*>(resp.data()), resp.size()), engine::mask_options{});
  ASSERT_TRUE(m.ok);
  const std::string expect(m.output.begin(), m.output.end());
  ASSERT_NE(expect, resp) << "the vector must contain something to mask";
  const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
  // Odd-sized segments so masks land at odd and even offsets; the last carries FIN.
  for (size_t off = 0; off < resp.size(); off += 37) {
    const size_t n = std::min<size_t>(37, resp.size() - off);
    const bool last = off + n == resp.size();
    h.send(h.make(false, F::ack | (last ? F::fin : 0), kSisn + 1 + uint32_t(off), ack, resp.substr(off, n)));
  }
  EXPECT_EQ(h.server_bytes(), expect);
  EXPECT_GT(session::session_stats(*h.s).checksums_updated, 0u);
  EXPECT_GT(session::session_stats(*h.s).mask_bytes, 0u);
  EXPECT_EQ(session::session_held_packets(*h.s), 0u);
  for (auto& f : h.frames) EXPECT_EQ(f->outcomes, 1) << "every frame decided exactly once";
}

TEST(session, unmaskable_response_resets_both_sides_with_documented_rsts) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake(kRequest);
  const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n";
  // An out-of-order tail arrives first and is held; then the head makes the response unmaskable.
  frame* tail = h.make(false, F::ack, kSisn + 1 + uint32_t(head.size()), ack, "0123456789");
  EXPECT_EQ(h.send(tail).action, packet_action::held);
  const session::session_result r = h.send(h.make(false, F::ack | F::psh, kSisn + 1, ack, head));
  ASSERT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, session::reset_reason::response_unmaskable);
  ASSERT_EQ(r.rst_count, 2);
  // Toward the server (client's direction, reversed from this server frame): seq = the frame's ack.
  EXPECT_EQ(r.rst[0].dir, flow::flow_dir::to_responder);
  EXPECT_TRUE(r.rst[0].reverse);
  EXPECT_EQ(r.rst[0].seq, ack);
  EXPECT_EQ(r.rst[0].ack, kSisn + 1 + uint32_t(head.size()) + 10);
  // Toward the client: seq = the first response byte not released (nothing was), ack = client next.
  EXPECT_EQ(r.rst[1].dir, flow::flow_dir::to_initiator);
  EXPECT_FALSE(r.rst[1].reverse);
  EXPECT_EQ(r.rst[1].seq, kSisn + 1);
  EXPECT_EQ(r.rst[1].ack, ack);
  EXPECT_EQ(r.rst[1].flags, F::rst | F::ack);
  EXPECT_EQ(h.sink_drops, 1) << "the held tail is dropped, never released";
  EXPECT_EQ(tail->outcomes, 1);
  EXPECT_EQ(h.server_bytes(), "");
  EXPECT_EQ(session::session_held_packets(*h.s), 0u);
  EXPECT_EQ(session::session_live_flows(*h.s), 0u);
  const session::session_counters& n = session::session_stats(*h.s);
  EXPECT_EQ(n.resets[size_t(session::reset_reason::response_unmaskable)], 1u);
  EXPECT_EQ(n.engine_errors[size_t(engine::engine_error::content_encoding)], 1u);
}

TEST(session, midstream_data_is_reset_from_the_frames_numbers) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  const session::session_result r = h.send(h.make(false, F::ack, 7000, 3000, "HTTP/1.1 200 OK\r\n"));
  ASSERT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, session::reset_reason::midstream);
  ASSERT_EQ(r.rst_count, 2);
  EXPECT_FALSE(r.rst[0].reverse);
  EXPECT_EQ(r.rst[0].seq, 7000u + 17);
  EXPECT_TRUE(r.rst[1].reverse);
  EXPECT_EQ(r.rst[1].seq, 3000u);
  EXPECT_EQ(session::session_live_flows(*h.s), 0u);
}

TEST(session, uninspectable_frames_are_dropped_by_named_reason) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  frame_spec frag;
  frag.ipv4_frag = 0x2000;
  EXPECT_EQ(h.send(h.make(true, F::syn, kCisn, 0, "", frag)).drop, session::drop_reason::fragment);
  frame* udp = h.make(true, F::syn, kCisn, 0, "abcd");
  udp->buf->data()[14 + 9] = 17;
  EXPECT_EQ(h.send(udp).drop, session::drop_reason::not_tcp);
  frame* cut = h.make(true, F::syn, kCisn, 0, "");
  const session::session_result r = session::session_on_packet(*h.s, {cut, cut->buf->data(), 30}, 1);
  EXPECT_EQ(r.action, packet_action::drop);
  EXPECT_EQ(r.drop, session::drop_reason::parse_error);
  EXPECT_EQ(r.parse, net::parse_error::truncated_ipv4);
  const session::session_counters& n = session::session_stats(*h.s);
  EXPECT_EQ(n.drops[size_t(session::drop_reason::fragment)], 1u);
  EXPECT_EQ(n.drops[size_t(session::drop_reason::not_tcp)], 1u);
  EXPECT_EQ(n.parse_errors[size_t(net::parse_error::truncated_ipv4)], 1u);
  EXPECT_EQ(session::session_live_flows(*h.s), 0u) << "dropped frames create no flow";
}

TEST(session, ipv6_with_vlan_connection_passes_requests) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  frame_spec fs;
  fs.v6 = true;
  fs.vlan_types = {0x8100};
  fs.ipv6_ext = {0};
  EXPECT_EQ(h.send(h.make(true, F::syn, kCisn, 0, "", fs)).action, packet_action::forward);
  EXPECT_EQ(h.send(h.make(false, F::syn | F::ack, kSisn, kCisn + 1, "", fs)).action, packet_action::forward);
  EXPECT_EQ(h.send(h.make(true, F::ack, kCisn + 1, kSisn + 1, "", fs)).action, packet_action::forward);
  EXPECT_EQ(h.send(h.make(true, F::ack, kCisn + 1, kSisn + 1, kRequest, fs)).action, packet_action::forward);
  EXPECT_EQ(session::session_stats(*h.s).flows_created, 1u);
}

TEST(session, destroy_returns_every_held_frame) {
  int drops = 0;
  std::vector<std::unique_ptr<frame>> keep;
  {
    harness h;
    ASSERT_NE(h.s, nullptr) << h.why;
    h.handshake(kRequest);
    const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
    frame* f = h.make(false, F::ack, kSisn + 1 + 100, ack, "later bytes");  // out of order: held
    EXPECT_EQ(h.send(f).action, packet_action::held);
    EXPECT_EQ(session::session_held_packets(*h.s), 1u);
    session::session_destroy(h.s);
    h.s = nullptr;
    drops = h.sink_drops;
    EXPECT_EQ(f->outcomes, 1);
    keep = std::move(h.frames);
  }
  EXPECT_EQ(drops, 1);
}

// open_bodies bounds the response bodies open at once (their state comes from a pool, not the
// flow slot): a body past it is reset as unmaskable, and an ended body makes room again.
TEST(session, bodies_beyond_open_bodies_fail_closed_and_ended_bodies_make_room) {
  session::session_config sc;
  sc.open_bodies = 1;
  harness h(sc);
  ASSERT_NE(h.s, nullptr) << h.why;
  const std::string resp = json_response("{\"note\":\"patient SSN 123-45-6789 on file\"}");
  const size_t mid = resp.size() - 10;
  const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
  auto connect = [&](uint16_t sport) {
    frame_spec fs;
    fs.sport = sport;
    EXPECT_EQ(h.send(h.make(true, F::syn, kCisn, 0, "", fs)).action, packet_action::forward);
    EXPECT_EQ(h.send(h.make(false, F::syn | F::ack, kSisn, kCisn + 1, "", fs)).action, packet_action::forward);
    EXPECT_EQ(h.send(h.make(true, F::ack, kCisn + 1, kSisn + 1, "", fs)).action, packet_action::forward);
    EXPECT_EQ(h.send(h.make(true, F::ack | F::psh, kCisn + 1, kSisn + 1, kRequest, fs)).action, packet_action::forward);
    return fs;
  };
  const frame_spec a = connect(40001), b = connect(40002);
  // a's body is open (its tail has not arrived): it holds the only body state.
  EXPECT_NE(h.send(h.make(false, F::ack, kSisn + 1, ack, resp.substr(0, mid), a)).action, packet_action::reset);
  EXPECT_EQ(session::session_body_stats(*h.s).in_use, 1u);
  const session::session_result r = h.send(h.make(false, F::ack, kSisn + 1, ack, resp, b));
  ASSERT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, session::reset_reason::response_unmaskable);
  const session::session_counters& n = session::session_stats(*h.s);
  EXPECT_EQ(n.engine_errors[size_t(engine::engine_error::no_body_memory)], 1u);
  EXPECT_EQ(session::session_body_stats(*h.s).failed, 1u);
  // a ends: masked, and its state is back for the next body.
  EXPECT_NE(h.send(h.make(false, F::ack, kSisn + 1 + uint32_t(mid), ack, resp.substr(mid), a)).action,
            packet_action::reset);
  EXPECT_EQ(session::session_body_stats(*h.s).in_use, 0u);
  const std::string out = h.server_bytes();
  EXPECT_EQ(out.size(), resp.size());
  EXPECT_EQ(out.find("6789"), std::string::npos) << out;
  EXPECT_NE(out.find("***-**-****"), std::string::npos) << out;
  const frame_spec c = connect(40003);
  EXPECT_NE(h.send(h.make(false, F::ack, kSisn + 1, ack, resp, c)).action, packet_action::reset);
  EXPECT_EQ(session::session_body_stats(*h.s).high_water, 1u);
  EXPECT_EQ(h.server_bytes().size(), 2 * resp.size());
}

// Windows are lowered to the retransmission history (scaled as both SYNs announced), so a sender
// never has more in flight than the history can reproduce; the checksum stays valid.
TEST(session, advertised_windows_are_clamped_to_the_history_with_scaling) {
  struct seen {
    uint16_t window;
    bool checksum_ok;
  };
  auto window_of = [](frame* f) {
    net::packet_view v;
    EXPECT_EQ(net::packet_parse(f->buf->data(), f->buf->size(), v), net::parse_error::none);
    return seen{v.window, net::tcp_checksum(f->buf->data(), v) == net::tcp_checksum_field(f->buf->data(), v)};
  };
  const std::vector<uint8_t> ws7 = {1, 3, 3, 7}, ws2 = {1, 3, 3, 2}, mss = {2, 4, 5, 0xb4};
  for (const bool server_scales : {true, false}) {
    SCOPED_TRACE(server_scales);
    harness h;  // history 4096 bytes per direction
    ASSERT_NE(h.s, nullptr) << h.why;
    frame_spec syn, synack, plain;
    syn.tcp_options = mss;
    syn.tcp_options.insert(syn.tcp_options.end(), ws7.begin(), ws7.end());  // after another option
    if (server_scales) synack.tcp_options = ws2;
    frame* f = h.make(true, F::syn, kCisn, 0, "", syn);
    EXPECT_EQ(h.send(f).action, packet_action::forward);
    EXPECT_EQ(window_of(f).window, 65535) << "a SYN's window is never scaled: left alone";
    f = h.make(false, F::syn | F::ack, kSisn, kCisn + 1, "", synack);
    EXPECT_EQ(h.send(f).action, packet_action::forward);
    EXPECT_EQ(window_of(f).window, 65535);
    // The client's ACK: 65535 << 7 (8 MiB; unscaled without the server's option) -> 4096 bytes.
    f = h.make(true, F::ack, kCisn + 1, kSisn + 1, "", plain);
    EXPECT_EQ(h.send(f).action, packet_action::forward);
    seen w = window_of(f);
    EXPECT_EQ(w.window, server_scales ? 4096 >> 7 : 4096);
    EXPECT_TRUE(w.checksum_ok);
    // A request with data: clamped the same way, and it still reaches the server intact.
    f = h.make(true, F::ack | F::psh, kCisn + 1, kSisn + 1, kRequest, plain);
    EXPECT_EQ(h.send(f).action, packet_action::forward);
    w = window_of(f);
    EXPECT_EQ(w.window, server_scales ? 4096 >> 7 : 4096);
    EXPECT_TRUE(w.checksum_ok);
    EXPECT_EQ(h.client_bytes(), kRequest);
    // The server's ACK, scaled by 2 (256 KiB) -> 1024 units.
    f = h.make(false, F::ack, kSisn + 1, kCisn + 1 + uint32_t(kRequest.size()), "", plain);
    EXPECT_EQ(h.send(f).action, packet_action::forward);
    w = window_of(f);
    EXPECT_EQ(w.window, server_scales ? 4096 >> 2 : 4096);
    EXPECT_TRUE(w.checksum_ok);
    // A window already within the history is left as it is.
    frame_spec small;
    small.window = server_scales ? 16 : 1000;  // 2048 / 1000 bytes
    f = h.make(true, F::ack, kCisn + 1 + uint32_t(kRequest.size()), kSisn + 1, "", small);
    EXPECT_EQ(h.send(f).action, packet_action::forward);
    EXPECT_EQ(window_of(f).window, small.window);
    EXPECT_EQ(session::session_stats(*h.s).windows_clamped, 3u);
  }
  // Switched off: windows pass unchanged.
  session::session_config off;
  off.clamp_window = false;
  harness h(off);
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake(kRequest);
  for (frame* f : h.sent) EXPECT_EQ(window_of(f).window, 65535);
  EXPECT_EQ(session::session_stats(*h.s).windows_clamped, 0u);
}

// A malformed option list ends the search: no scale is read past the TCP header.
TEST(session, a_malformed_syn_option_list_is_read_safely) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  frame_spec syn, synack;
  syn.tcp_options = {3, 9, 7, 1};     // window scale claiming 9 bytes: beyond the header
  synack.tcp_options = {3, 3, 2, 0};  // valid
  ASSERT_EQ(h.send(h.make(true, F::syn, kCisn, 0, "", syn)).action, packet_action::forward);
  ASSERT_EQ(h.send(h.make(false, F::syn | F::ack, kSisn, kCisn + 1, "", synack)).action, packet_action::forward);
  frame* f = h.make(true, F::ack, kCisn + 1, kSisn + 1, "");
  ASSERT_EQ(h.send(f).action, packet_action::forward);
  net::packet_view v;
  ASSERT_EQ(net::packet_parse(f->buf->data(), f->buf->size(), v), net::parse_error::none);
  EXPECT_EQ(v.window, 4096) << "the client's scale was unreadable: windows count as unscaled";
}

TEST(session, bad_configuration_is_refused_with_a_reason) {
  session::session_config sc;
  sc.engine = &catalog::shared().cfg;
  sc.history_bytes = 1000;  // not a power of two
  session::session_sink sink;
  sink.forward = [](void*, void*) {};
  sink.drop = [](void*, void*) {};
  const char* why = nullptr;
  EXPECT_EQ(session::session_create(sc, sink, &why), nullptr);
  EXPECT_NE(why, nullptr);
  sc.history_bytes = 1024;
  sc.engine = nullptr;
  EXPECT_EQ(session::session_create(sc, sink, &why), nullptr);
  EXPECT_NE(why, nullptr);
}

}  // namespace
}  // namespace phigate::test

namespace phigate::test {
namespace {

TEST(session, held_response_bytes_are_flushed_by_the_tick_without_another_packet) {
  session::session_config sc;
  sc.hold_timeout_ns = 1'000'000'000ULL;
  harness h(sc);
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake(kRequest);
  const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
  // The body is cut right after a phone number's first groups: those bytes may be the start of
  // a match, so the engine holds them; the server then pauses (a model thinking).
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
  const std::string part = "{\"note\":\"call 415-555-";
  frame* f = h.make(false, F::ack | F::psh, kSisn + 1, ack, head + part);
  EXPECT_EQ(h.send(f, 1'000'000).action, packet_action::held);
  session::session_tick(*h.s, 500'000'000, 64);
  EXPECT_EQ(f->outcomes, 0) << "still within the hold timeout";
  session::session_tick(*h.s, 1'100'000'000, 64);
  ASSERT_EQ(f->outcomes, 1) << "the tick flushed and released the held frame";
  const std::string out = h.server_bytes();
  EXPECT_EQ(out.size(), head.size() + part.size());
  EXPECT_EQ(out.find("415"), std::string::npos) << "fail closed: the held candidate is masked";
  EXPECT_EQ(session::session_stats(*h.s).hold_flushes, 1u);
}

}  // namespace
}  // namespace phigate::test

namespace phigate::test {
namespace {

TEST(session, a_gap_timer_failing_from_the_tick_drops_and_resets_on_the_next_packet) {
  session::session_config sc;
  sc.reasm.gap_timeout_ns = 1'000'000'000ULL;
  harness h(sc);
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake(kRequest);
  const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
  frame* ahead = h.make(false, F::ack, kSisn + 1 + 50, ack, "out of order bytes");
  EXPECT_EQ(h.send(ahead, 1'000'000).action, packet_action::held);
  session::session_tick(*h.s, 2'000'000'000, 64);
  EXPECT_EQ(ahead->outcomes, 1) << "dropped by the tick, never released";
  EXPECT_EQ(h.sink_drops, 1);
  EXPECT_EQ(session::session_stats(*h.s).timer_resets, 1u);
  const session::session_result r = h.send(h.make(true, F::ack, ack, kSisn + 1, ""), 2'100'000'000);
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, session::reset_reason::unfillable_gap);
  EXPECT_EQ(r.rst_count, 2);
  EXPECT_EQ(session::session_live_flows(*h.s), 0u);
}

}  // namespace
}  // namespace phigate::test

namespace phigate::test {
namespace {

// Regression (found by scripts/bench-wire): a response segment lost after phigate-dp, then
// retransmitted once we had released more than the history holds beyond it, was dropped on every
// retransmission: we can no longer say what we forwarded in its place, and the connection hung
// until the client gave up. It must fail closed at once: reset, named.
// A 9 KB response in 1000-byte segments, none acknowledged yet: released well past the 4 KiB
// history of the harness. Returns the response.
std::string send_long_response(harness& h, uint32_t ack) {
  h.handshake(kRequest);
  const std::string resp = json_response("{\"text\":\"" + std::string(9000, 'a') + "\"}");
  for (size_t off = 0; off < resp.size(); off += 1000)
    h.send(h.server(kSisn + 1 + uint32_t(off), ack, resp.substr(off, std::min<size_t>(1000, resp.size() - off))));
  EXPECT_GE(h.server_bytes().size(), 8000u);
  return resp;
}

TEST(session, a_retransmission_we_can_no_longer_reproduce_resets_instead_of_hanging) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
  const std::string resp = send_long_response(h, ack);
  // The client acknowledged only the first 1000 bytes; the sender retransmits the next segment.
  h.send(h.client(ack, kSisn + 1 + 1000, "", F::ack));
  const session::session_result r = h.send(h.server(kSisn + 1 + 1000, ack, resp.substr(1000, 1000)));
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, session::reset_reason::retransmit_unrecoverable);
  EXPECT_EQ(r.rst_count, 2);
}

TEST(session, a_retransmission_of_acknowledged_old_bytes_is_filled_and_forwarded) {
  harness h;
  ASSERT_NE(h.s, nullptr) << h.why;
  const uint32_t ack = kCisn + 1 + uint32_t(kRequest.size());
  const std::string resp = send_long_response(h, ack);
  h.send(h.client(ack, kSisn + 1 + 2000, "", F::ack));
  // A spurious retransmission of acknowledged bytes: the receiver discards them; not a failure.
  EXPECT_EQ(h.send(h.server(kSisn + 1 + 1000, ack, resp.substr(1000, 1000))).action, packet_action::forward);
}

}  // namespace
}  // namespace phigate::test
