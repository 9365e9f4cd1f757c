#pragma once
// TCP connection tracking for an inline appliance: learns both ISNs from the handshake, follows
// FIN/RST, and tells the caller what to do with each packet. Pure: parsed header fields in, a
// verdict out; no I/O, no allocation. Payload ordering is the reassembler's job (reassembly.hh).
//
// Ownership and threads: a tcp_conn lives in its flow's table payload and is touched only by the
// flow's lcore; tcp_counters is per lcore.
//
// What the caller does with a verdict:
//   forward  control packet without payload (handshake, pure ACK, window update): send it now.
//   stream   payload and/or FIN: hand it to reasm_on_segment() of its direction, with data_seq.
//            Before the first one, reasm_start(r, tcp_stream_base(conn, dir)).
//   drop     invalid in this state (counted by event): free it.
//   reset    fail closed (midstream pickup under the default policy): reset both endpoints and
//            free the flow; nothing held is released.
//   close    RST accepted: abort both reassemblies (held bytes are never released), forward the
//            RST, let the flow expire in class closing.
//   restart  a new SYN on a closed 5-tuple (port reuse): abort and reset the flow's reassembly and
//            engine state, then forward the SYN; the tracker already holds the new connection.
//
// Why these rules: the appliance must never let a receiver assemble bytes the engine did not see,
// so everything ambiguous (data without a handshake, SYN inside a live connection, data past a
// FIN, a FIN that moves) is dropped or reset rather than guessed. RSTs are checked against the
// sender's sequence space (a blind RST could otherwise make us discard state).
#include <cstddef>
#include <cstdint>

#include "dataplane/flow/flow_key.hh"
#include "dataplane/flow/flow_table.hh"

namespace phigate::tcp {

namespace tcp_flag {
inline constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20;
}

enum class tcp_state : uint8_t {
  none,          // no SYN seen yet
  syn_sent,      // client SYN seen
  syn_received,  // SYN-ACK seen
  established,
  fin_wait,      // one side sent FIN
  closing,       // both sides sent FIN
  closed,        // both FINs acknowledged, or RST accepted (tcp_conn::reset_seen)
};
const char* tcp_state_name(tcp_state s);
// The flow table timeout class for a state.
flow::timeout_class tcp_timeout_class(tcp_state s);

enum class midstream_policy : uint8_t {
  reset,   // default: data without a handshake is reset (fail closed)
  accept,  // pick the connection up at the first data packet (the engine then usually refuses the
           // HTTP stream it joins mid-message, and the caller resets anyway)
};

struct tcp_config {
  midstream_policy midstream = midstream_policy::reset;
  // An RST is accepted when its sequence number lies within this many bytes of the sender's next
  // sequence number (we do not track scaled windows; 1 MiB covers ordinary receive windows).
  uint32_t rst_window = 1u << 20;
};

enum class tcp_verdict : uint8_t { forward, stream, drop, reset, close, restart };
inline constexpr size_t tcp_verdict_count = 6;
const char* tcp_verdict_name(tcp_verdict v);

enum class tcp_event : uint8_t {
  none,
  syn,                    // client SYN: connection begins
  syn_retransmit,
  syn_isn_changed,        // client restarted its handshake with a new ISN (adopted)
  synack,
  synack_retransmit,
  synack_bad_ack,         // SYN-ACK not acknowledging the client's ISN: dropped
  synack_pickup,          // SYN-ACK without a SYN seen: both ISNs learned from it
  established,            // handshake completed
  fin,
  fin_retransmit,
  fin_moved,              // FIN at a different sequence number than the first: dropped
  rst,                    // accepted: connection closed
  rst_out_of_window,      // dropped
  midstream,              // data without a handshake (verdict per midstream_policy)
  syn_in_connection,      // SYN (or changed SYN-ACK) inside a live connection: dropped
  simultaneous_open,      // SYN from the responder while the client's SYN is pending: unsupported, dropped
  syn_with_data,          // TCP Fast Open data in a SYN: not inspected, dropped
  data_before_handshake,  // payload or ACK before the handshake completed: dropped
  data_after_fin,         // bytes past the sender's FIN: dropped
  data_after_reset,       // payload or FIN after an accepted RST: dropped
  bad_flags,              // SYN+RST, SYN+FIN, or neither SYN, RST nor ACK: dropped
  port_reuse,             // SYN on a closed connection: restart
  count
};
inline constexpr size_t tcp_event_count = static_cast<size_t>(tcp_event::count);
const char* tcp_event_name(tcp_event e);

struct tcp_counters {
  uint64_t events[tcp_event_count] = {};
  uint64_t verdicts[tcp_verdict_count] = {};
};

// One direction of travel: the sequence space of that direction's sender.
struct tcp_half {
  uint32_t isn = 0;
  uint32_t next_seq = 0;  // highest sequence number sent + 1 (SYN and FIN count)
  uint32_t fin_seq = 0;   // sequence number of the FIN (its sequence slot), when fin_seen
  bool isn_known = false;
  bool fin_seen = false;
  bool fin_acked = false;
};

struct tcp_conn {
  tcp_half half[2];  // indexed by flow::dir_index(direction of travel)
  tcp_state state = tcp_state::none;
  flow::flow_dir client_dir = flow::flow_dir::to_responder;  // direction the SYN travelled
  bool reset_seen = false;
};

// The TCP header fields the tracker needs (host byte order).
struct tcp_packet {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint32_t payload_len = 0;
  uint8_t flags = 0;  // tcp_flag bits
};

struct tcp_result {
  tcp_verdict verdict = tcp_verdict::drop;
  tcp_event event = tcp_event::none;
  uint32_t data_seq = 0;  // with stream: sequence number of the first payload byte
  bool fin = false;       // with stream: the stream ends at data_seq + payload_len
};

void tcp_conn_reset(tcp_conn& c);
// Tracks one packet travelling in direction d. Counts its event and verdict in n.
tcp_result tcp_track(tcp_conn& c, const tcp_config& cfg, flow::flow_dir d, const tcp_packet& p, tcp_counters& n);
// Sequence number of stream offset 0 in direction d (valid once half[d].isn_known).
inline uint32_t tcp_stream_base(const tcp_conn& c, flow::flow_dir d) { return c.half[flow::dir_index(d)].isn + 1; }

}  // namespace phigate::tcp
