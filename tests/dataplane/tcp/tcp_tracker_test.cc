// TCP tracking: sequence arithmetic across 2^32, the handshake and ISN learning, midstream
// pickup policy, FIN/RST handling and the races between SYN, FIN, RST and data.
#include <gtest/gtest.h>

#include "dataplane/tcp/tcp_seq.hh"
#include "dataplane/tcp/tcp_tracker.hh"

namespace phigate::tcp {
namespace {

using flow::flow_dir;
constexpr flow_dir C2S = flow_dir::to_responder;  // the client created the flow
constexpr flow_dir S2C = flow_dir::to_initiator;
namespace F = tcp_flag;

TEST(tcp_seq, serial_arithmetic_wraps) {
  EXPECT_TRUE(seq_lt(0xFFFFFFF0u, 0x10u));
  EXPECT_TRUE(seq_gt(0x10u, 0xFFFFFFF0u));
  EXPECT_TRUE(seq_le(5u, 5u));
  EXPECT_FALSE(seq_lt(5u, 5u));
  EXPECT_EQ(seq_diff(0x10u, 0xFFFFFFF0u), 0x20);
  EXPECT_EQ(seq_max(0xFFFFFFF0u, 0x10u), 0x10u);
  // Offsets keep growing past the wrap, and go negative before the base.
  const uint32_t base = 0xFFFFFF00u;
  EXPECT_EQ(seq_to_offset(0xFFFFFF00u, base, 0), 0);
  EXPECT_EQ(seq_to_offset(0x00000010u, base, 0), 0x110);
  EXPECT_EQ(seq_to_offset(0x00000010u, base, 0x100), 0x110);
  EXPECT_EQ(seq_to_offset(0xFFFFFEFFu, base, 0), -1);
  // After 2^32 bytes the same sequence number means the next lap.
  EXPECT_EQ(seq_to_offset(base + 5, base, (1ull << 32) + 3), int64_t((1ull << 32) + 5));
}

struct conn_fixture : ::testing::Test {
  tcp_conn c;
  tcp_config cfg;
  tcp_counters n;
  uint32_t cisn = 1000, sisn = 0xFFFFFFF0u;  // the server's sequence space wraps early

  tcp_result pkt(flow_dir d, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len = 0) {
    tcp_packet p;
    p.flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.payload_len = len;
    return tcp_track(c, cfg, d, p, n);
  }
  void handshake() {
    ASSERT_EQ(pkt(C2S, F::syn, cisn, 0).verdict, tcp_verdict::forward);
    ASSERT_EQ(pkt(S2C, F::syn | F::ack, sisn, cisn + 1).verdict, tcp_verdict::forward);
    ASSERT_EQ(pkt(C2S, F::ack, cisn + 1, sisn + 1).event, tcp_event::established);
    ASSERT_EQ(c.state, tcp_state::established);
  }
};

TEST_F(conn_fixture, handshake_learns_both_isns) {
  EXPECT_EQ(pkt(C2S, F::syn, cisn, 0).event, tcp_event::syn);
  EXPECT_EQ(c.state, tcp_state::syn_sent);
  EXPECT_EQ(tcp_timeout_class(c.state), flow::timeout_class::syn);
  EXPECT_EQ(pkt(S2C, F::syn | F::ack, sisn, cisn + 1).event, tcp_event::synack);
  EXPECT_EQ(c.state, tcp_state::syn_received);
  EXPECT_EQ(pkt(C2S, F::ack, cisn + 1, sisn + 1).event, tcp_event::established);
  EXPECT_EQ(c.state, tcp_state::established);
  EXPECT_EQ(tcp_timeout_class(c.state), flow::timeout_class::established);
  EXPECT_EQ(tcp_stream_base(c, C2S), cisn + 1);
  EXPECT_EQ(tcp_stream_base(c, S2C), sisn + 1);
  EXPECT_EQ(n.events[size_t(tcp_event::established)], 1u);
}

TEST_F(conn_fixture, data_on_the_third_packet_establishes_and_streams) {
  pkt(C2S, F::syn, cisn, 0);
  pkt(S2C, F::syn | F::ack, sisn, cisn + 1);
  const tcp_result r = pkt(C2S, F::ack | F::psh, cisn + 1, sisn + 1, 40);
  EXPECT_EQ(r.verdict, tcp_verdict::stream);
  EXPECT_EQ(r.event, tcp_event::established);
  EXPECT_EQ(r.data_seq, cisn + 1);
  EXPECT_EQ(c.half[0].next_seq, cisn + 41);
}

TEST_F(conn_fixture, data_and_acks_before_the_handshake_are_dropped) {
  pkt(C2S, F::syn, cisn, 0);
  EXPECT_EQ(pkt(C2S, F::ack, cisn + 1, 5, 10).event, tcp_event::data_before_handshake);
  EXPECT_EQ(pkt(S2C, F::ack, 77, cisn + 1, 10).verdict, tcp_verdict::drop);
  pkt(S2C, F::syn | F::ack, sisn, cisn + 1);
  // The server may not send data before the client's ACK completes the handshake.
  EXPECT_EQ(pkt(S2C, F::ack, sisn + 1, cisn + 1, 10).event, tcp_event::data_before_handshake);
  // A third packet with the wrong ACK does not establish.
  EXPECT_EQ(pkt(C2S, F::ack, cisn + 1, sisn + 7).verdict, tcp_verdict::drop);
  EXPECT_EQ(c.state, tcp_state::syn_received);
}

TEST_F(conn_fixture, syn_retransmit_and_isn_change) {
  pkt(C2S, F::syn, cisn, 0);
  EXPECT_EQ(pkt(C2S, F::syn, cisn, 0).event, tcp_event::syn_retransmit);
  EXPECT_EQ(pkt(C2S, F::syn, cisn + 500, 0).event, tcp_event::syn_isn_changed);
  EXPECT_EQ(c.half[0].isn, cisn + 500);
  // A SYN-ACK for the old ISN is now wrong.
  EXPECT_EQ(pkt(S2C, F::syn | F::ack, sisn, cisn + 1).event, tcp_event::synack_bad_ack);
  EXPECT_EQ(pkt(S2C, F::syn | F::ack, sisn, cisn + 501).event, tcp_event::synack);
  EXPECT_EQ(pkt(S2C, F::syn | F::ack, sisn, cisn + 501).event, tcp_event::synack_retransmit);
  EXPECT_EQ(pkt(S2C, F::syn | F::ack, sisn + 9, cisn + 501).verdict, tcp_verdict::drop);
}

TEST_F(conn_fixture, synack_pickup_learns_both_isns_from_it) {
  EXPECT_EQ(pkt(S2C, F::syn | F::ack, sisn, cisn + 1).event, tcp_event::synack_pickup);
  EXPECT_EQ(c.client_dir, C2S);
  EXPECT_EQ(tcp_stream_base(c, C2S), cisn + 1);
  EXPECT_EQ(tcp_stream_base(c, S2C), sisn + 1);
  EXPECT_EQ(pkt(C2S, F::ack, cisn + 1, sisn + 1).event, tcp_event::established);
}

TEST_F(conn_fixture, midstream_data_is_reset_by_default) {
  EXPECT_EQ(pkt(C2S, F::ack, 0, 0).verdict, tcp_verdict::forward);  // a pure ACK carries nothing
  const tcp_result r = pkt(S2C, F::ack | F::psh, 5000, 9000, 100);
  EXPECT_EQ(r.verdict, tcp_verdict::reset);
  EXPECT_EQ(r.event, tcp_event::midstream);
  EXPECT_EQ(c.state, tcp_state::none);
  EXPECT_EQ(n.events[size_t(tcp_event::midstream)], 1u);
}

TEST_F(conn_fixture, midstream_accept_policy_picks_up_at_the_data) {
  cfg.midstream = midstream_policy::accept;
  const tcp_result r = pkt(S2C, F::ack | F::psh, 5000, 9000, 100);
  EXPECT_EQ(r.verdict, tcp_verdict::stream);
  EXPECT_EQ(r.event, tcp_event::midstream);
  EXPECT_EQ(tcp_stream_base(c, S2C), 5000u);
  EXPECT_EQ(tcp_stream_base(c, C2S), 9000u);
  EXPECT_EQ(c.state, tcp_state::established);
}

TEST_F(conn_fixture, orderly_close_and_late_retransmissions) {
  handshake();
  EXPECT_EQ(pkt(S2C, F::ack, sisn + 1, cisn + 1, 100).verdict, tcp_verdict::stream);
  const tcp_result f = pkt(S2C, F::ack | F::fin, sisn + 101, cisn + 1);
  EXPECT_EQ(f.verdict, tcp_verdict::stream);  // the FIN is ordered by the reassembler
  EXPECT_TRUE(f.fin);
  EXPECT_EQ(f.event, tcp_event::fin);
  EXPECT_EQ(c.state, tcp_state::fin_wait);
  EXPECT_EQ(tcp_timeout_class(c.state), flow::timeout_class::closing);
  // Data past the FIN, and a FIN that moves, are dropped.
  EXPECT_EQ(pkt(S2C, F::ack, sisn + 101, cisn + 1, 5).event, tcp_event::data_after_fin);
  EXPECT_EQ(pkt(S2C, F::ack | F::fin, sisn + 120, cisn + 1).event, tcp_event::fin_moved);
  // The client may still send, then closes.
  EXPECT_EQ(pkt(C2S, F::ack, cisn + 1, sisn + 102, 10).verdict, tcp_verdict::stream);
  EXPECT_EQ(pkt(C2S, F::ack | F::fin, cisn + 11, sisn + 102).event, tcp_event::fin);
  EXPECT_EQ(c.state, tcp_state::closing);
  EXPECT_EQ(pkt(S2C, F::ack, sisn + 102, cisn + 12).verdict, tcp_verdict::forward);
  EXPECT_EQ(c.state, tcp_state::closed);
  EXPECT_FALSE(c.reset_seen);
  // The last ACK got lost: the retransmitted FIN must still pass so the peer can close.
  const tcp_result rf = pkt(C2S, F::ack | F::fin, cisn + 11, sisn + 102);
  EXPECT_EQ(rf.verdict, tcp_verdict::stream);
  EXPECT_EQ(rf.event, tcp_event::fin_retransmit);
  // A FIN carrying data in the last packet is ordered like data.
}

TEST_F(conn_fixture, fin_with_data_behind_a_gap_and_contradicting_fins) {
  handshake();
  // A later segment was seen first; a FIN before its end contradicts it.
  EXPECT_EQ(pkt(S2C, F::ack, sisn + 201, cisn + 1, 100).verdict, tcp_verdict::stream);
  EXPECT_EQ(pkt(S2C, F::ack | F::fin, sisn + 101, cisn + 1, 50).event, tcp_event::fin_moved);
  const tcp_result ok = pkt(S2C, F::ack | F::fin, sisn + 301, cisn + 1, 20);
  EXPECT_EQ(ok.verdict, tcp_verdict::stream);
  EXPECT_EQ(c.half[1].fin_seq, sisn + 321);
  // The gap's data still flows.
  EXPECT_EQ(pkt(S2C, F::ack, sisn + 1, cisn + 1, 200).verdict, tcp_verdict::stream);
}

TEST_F(conn_fixture, rst_in_window_closes_out_of_window_is_dropped) {
  handshake();
  pkt(S2C, F::ack, sisn + 1, cisn + 1, 1000);
  cfg.rst_window = 4096;
  EXPECT_EQ(pkt(S2C, F::rst, sisn + 1 + 1000 + 5000, 0).event, tcp_event::rst_out_of_window);
  EXPECT_EQ(c.state, tcp_state::established);
  const tcp_result r = pkt(S2C, F::rst | F::ack, sisn + 1001, cisn + 1);
  EXPECT_EQ(r.verdict, tcp_verdict::close);
  EXPECT_EQ(r.event, tcp_event::rst);
  EXPECT_EQ(c.state, tcp_state::closed);
  EXPECT_TRUE(c.reset_seen);
  // Data still in flight after the RST is not forwarded; a second RST is harmless.
  EXPECT_EQ(pkt(C2S, F::ack, cisn + 1, sisn + 1001, 10).event, tcp_event::data_after_reset);
  EXPECT_EQ(pkt(S2C, F::ack | F::fin, sisn + 1001, cisn + 1).event, tcp_event::data_after_reset);
  EXPECT_EQ(pkt(C2S, F::rst, cisn + 1, 0).verdict, tcp_verdict::forward);
}

TEST_F(conn_fixture, rst_in_syn_sent_must_acknowledge_the_syn) {
  pkt(C2S, F::syn, cisn, 0);
  EXPECT_EQ(pkt(S2C, F::rst | F::ack, 0, cisn + 7).event, tcp_event::rst_out_of_window);
  EXPECT_EQ(pkt(S2C, F::rst, 0, 0).event, tcp_event::rst_out_of_window);
  EXPECT_EQ(pkt(S2C, F::rst | F::ack, 0, cisn + 1).verdict, tcp_verdict::close);
}

TEST_F(conn_fixture, fin_and_rst_cross) {
  handshake();
  EXPECT_EQ(pkt(C2S, F::ack | F::fin, cisn + 1, sisn + 1).event, tcp_event::fin);
  EXPECT_EQ(pkt(S2C, F::rst | F::ack, sisn + 1, cisn + 1).verdict, tcp_verdict::close);
  EXPECT_EQ(c.state, tcp_state::closed);
}

TEST_F(conn_fixture, simultaneous_fins) {
  handshake();
  EXPECT_EQ(pkt(C2S, F::ack | F::fin, cisn + 1, sisn + 1).event, tcp_event::fin);
  EXPECT_EQ(pkt(S2C, F::ack | F::fin, sisn + 1, cisn + 1).event, tcp_event::fin);
  EXPECT_EQ(c.state, tcp_state::closing);
  pkt(C2S, F::ack, cisn + 2, sisn + 2);
  EXPECT_EQ(c.state, tcp_state::closing);
  pkt(S2C, F::ack, sisn + 2, cisn + 2);
  EXPECT_EQ(c.state, tcp_state::closed);
}

TEST_F(conn_fixture, syn_inside_a_connection_is_dropped_and_port_reuse_restarts) {
  handshake();
  EXPECT_EQ(pkt(C2S, F::syn, cisn + 99999, 0).event, tcp_event::syn_in_connection);
  EXPECT_EQ(pkt(S2C, F::syn, 5, 0).event, tcp_event::syn_in_connection);
  EXPECT_EQ(c.state, tcp_state::established);
  pkt(S2C, F::rst, sisn + 1, 0);
  ASSERT_EQ(c.state, tcp_state::closed);
  const tcp_result r = pkt(C2S, F::syn, 777, 0);
  EXPECT_EQ(r.verdict, tcp_verdict::restart);
  EXPECT_EQ(r.event, tcp_event::port_reuse);
  EXPECT_EQ(c.state, tcp_state::syn_sent);
  EXPECT_EQ(c.half[0].isn, 777u);
  EXPECT_FALSE(c.reset_seen);
  EXPECT_FALSE(c.half[1].isn_known);
}

TEST_F(conn_fixture, simultaneous_open_and_tfo_data_are_refused) {
  pkt(C2S, F::syn, cisn, 0);
  EXPECT_EQ(pkt(S2C, F::syn, sisn, 0).event, tcp_event::simultaneous_open);
  tcp_conn_reset(c);
  EXPECT_EQ(pkt(C2S, F::syn, cisn, 0, 30).event, tcp_event::syn_with_data);
  EXPECT_EQ(c.state, tcp_state::none);
}

TEST_F(conn_fixture, invalid_flag_combinations) {
  EXPECT_EQ(pkt(C2S, F::syn | F::fin, cisn, 0).event, tcp_event::bad_flags);
  EXPECT_EQ(pkt(C2S, F::syn | F::rst, cisn, 0).event, tcp_event::bad_flags);
  EXPECT_EQ(pkt(C2S, F::fin | F::psh | F::urg, cisn, 0).event, tcp_event::bad_flags);  // xmas
  EXPECT_EQ(pkt(C2S, 0, cisn, 0).event, tcp_event::bad_flags);                         // null
  EXPECT_EQ(n.events[size_t(tcp_event::bad_flags)], 4u);
  EXPECT_EQ(n.verdicts[size_t(tcp_verdict::drop)], 4u);
}

TEST_F(conn_fixture, sequence_space_wraps_during_the_stream) {
  handshake();  // the server's ISN is 2^32 - 16
  uint32_t seq = sisn + 1;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(pkt(S2C, F::ack, seq, cisn + 1, 10).verdict, tcp_verdict::stream);
    seq += 10;
  }
  EXPECT_EQ(c.half[1].next_seq, sisn + 51);  // wrapped
  EXPECT_EQ(pkt(S2C, F::ack | F::fin, seq, cisn + 1).event, tcp_event::fin);
  EXPECT_EQ(pkt(S2C, F::ack, seq - 20, cisn + 1, 10).verdict, tcp_verdict::stream);  // before the FIN: fine
  EXPECT_EQ(pkt(S2C, F::ack, seq - 5, cisn + 1, 10).event, tcp_event::data_after_fin);
}

TEST(tcp_names, every_event_has_a_name) {
  for (size_t i = 0; i < tcp_event_count; ++i) EXPECT_STRNE(tcp_event_name(tcp_event(i)), "?") << i;
  for (size_t i = 0; i < tcp_verdict_count; ++i) EXPECT_STRNE(tcp_verdict_name(tcp_verdict(i)), "?") << i;
}

}  // namespace
}  // namespace phigate::tcp
