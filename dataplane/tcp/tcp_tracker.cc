#include "dataplane/tcp/tcp_tracker.hh"

#include "dataplane/tcp/tcp_seq.hh"

namespace phigate::tcp {
namespace {

using flow::dir_index;
using flow::flow_dir;

tcp_result verdict(tcp_verdict v, tcp_event e) {
  tcp_result r;
  r.verdict = v;
  r.event = e;
  return r;
}

bool rst_in_window(uint32_t seq, uint32_t next, uint32_t window) {
  const int64_t d = seq_diff(seq, next);
  return (d < 0 ? -d : d) <= int64_t{window};
}

void learn(tcp_half& h, uint32_t isn, uint32_t next) {
  h = tcp_half{};
  h.isn = isn;
  h.next_seq = next;
  h.isn_known = true;
}

tcp_result on_rst(tcp_conn& c, const tcp_config& cfg, flow_dir d, const tcp_packet& p) {
  tcp_half& me = c.half[dir_index(d)];
  const tcp_half& client = c.half[dir_index(c.client_dir)];
  bool ok = false;
  switch (c.state) {
    case tcp_state::none:
      return verdict(tcp_verdict::forward, tcp_event::none);  // stray: nothing to protect
    case tcp_state::closed:
      if (c.reset_seen) return verdict(tcp_verdict::forward, tcp_event::none);
      ok = me.isn_known && rst_in_window(p.seq, me.next_seq, cfg.rst_window);
      break;
    case tcp_state::syn_sent:
      // RFC 793: in SYN-SENT an RST is acceptable when it acknowledges the SYN; the client may
      // abort its own SYN at isn + 1.
      if (d == c.client_dir) ok = p.seq == client.isn + 1 || p.seq == client.isn;
      else ok = (p.flags & tcp_flag::ack) != 0 && p.ack == client.isn + 1;
      break;
    default:
      ok = me.isn_known && rst_in_window(p.seq, me.next_seq, cfg.rst_window);
      break;
  }
  if (!ok) return verdict(tcp_verdict::drop, tcp_event::rst_out_of_window);
  c.state = tcp_state::closed;
  c.reset_seen = true;
  return verdict(tcp_verdict::close, tcp_event::rst);
}

tcp_result on_syn(tcp_conn& c, flow_dir d, const tcp_packet& p) {
  if (p.payload_len > 0) return verdict(tcp_verdict::drop, tcp_event::syn_with_data);
  tcp_half& me = c.half[dir_index(d)];
  const bool from_client = d == c.client_dir;
  tcp_verdict v = tcp_verdict::forward;
  tcp_event e = tcp_event::syn;
  switch (c.state) {
    case tcp_state::none:
      break;
    case tcp_state::syn_sent:
    case tcp_state::syn_received:
      if (!from_client)
        return verdict(tcp_verdict::drop, c.state == tcp_state::syn_sent ? tcp_event::simultaneous_open
                                                                        : tcp_event::syn_in_connection);
      if (p.seq == me.isn) return verdict(tcp_verdict::forward, tcp_event::syn_retransmit);
      e = tcp_event::syn_isn_changed;  // the client gave up on its first ISN: follow the new one
      break;
    case tcp_state::closed:
      v = tcp_verdict::restart;
      e = tcp_event::port_reuse;
      break;
    default:
      return verdict(tcp_verdict::drop, tcp_event::syn_in_connection);
  }
  tcp_conn_reset(c);
  c.client_dir = d;
  learn(c.half[dir_index(d)], p.seq, p.seq + 1);
  c.state = tcp_state::syn_sent;
  return verdict(v, e);
}

tcp_result on_synack(tcp_conn& c, flow_dir d, const tcp_packet& p) {
  if (p.payload_len > 0) return verdict(tcp_verdict::drop, tcp_event::syn_with_data);
  tcp_half& me = c.half[dir_index(d)];
  switch (c.state) {
    case tcp_state::none:
      // Joined at the SYN-ACK: it carries both ISNs, so nothing is guessed.
      c.client_dir = flow::dir_other(d);
      learn(c.half[dir_index(c.client_dir)], p.ack - 1, p.ack);
      learn(me, p.seq, p.seq + 1);
      c.state = tcp_state::syn_received;
      return verdict(tcp_verdict::forward, tcp_event::synack_pickup);
    case tcp_state::closed:
      return verdict(tcp_verdict::drop, tcp_event::syn_in_connection);
    default:
      break;
  }
  if (d == c.client_dir) return verdict(tcp_verdict::drop, tcp_event::simultaneous_open);
  const tcp_half& client = c.half[dir_index(c.client_dir)];
  if (p.ack != client.isn + 1) return verdict(tcp_verdict::drop, tcp_event::synack_bad_ack);
  if (c.state == tcp_state::syn_sent) {
    learn(me, p.seq, p.seq + 1);
    c.state = tcp_state::syn_received;
    return verdict(tcp_verdict::forward, tcp_event::synack);
  }
  if (p.seq == me.isn) return verdict(tcp_verdict::forward, tcp_event::synack_retransmit);
  return verdict(tcp_verdict::drop, tcp_event::syn_in_connection);
}

// Established and later (and the packet completing the handshake): FIN bookkeeping and verdict.
tcp_result on_data(tcp_conn& c, flow_dir d, const tcp_packet& p, tcp_event e) {
  tcp_half& me = c.half[dir_index(d)];
  tcp_half& peer = c.half[dir_index(flow::dir_other(d))];
  const bool fin = (p.flags & tcp_flag::fin) != 0;
  const uint32_t end = p.seq + p.payload_len;  // with FIN: the FIN's own sequence slot
  if (fin) {
    if (me.fin_seen) {
      if (end != me.fin_seq) return verdict(tcp_verdict::drop, tcp_event::fin_moved);
      if (e == tcp_event::none) e = tcp_event::fin_retransmit;
    } else {
      // Bytes already seen past this FIN would contradict it.
      if (seq_lt(end, me.next_seq)) return verdict(tcp_verdict::drop, tcp_event::fin_moved);
      me.fin_seen = true;
      me.fin_seq = end;
      if (e == tcp_event::none) e = tcp_event::fin;
    }
  } else if (p.payload_len > 0 && me.fin_seen && seq_gt(end, me.fin_seq)) {
    return verdict(tcp_verdict::drop, tcp_event::data_after_fin);
  }
  const uint32_t next = fin ? end + 1 : end;
  if (seq_gt(next, me.next_seq)) me.next_seq = next;
  if ((p.flags & tcp_flag::ack) != 0 && peer.fin_seen && seq_ge(p.ack, peer.fin_seq + 1)) peer.fin_acked = true;
  if (c.half[0].fin_seen && c.half[1].fin_seen)
    c.state = c.half[0].fin_acked && c.half[1].fin_acked ? tcp_state::closed : tcp_state::closing;
  else if (c.half[0].fin_seen || c.half[1].fin_seen)
    c.state = tcp_state::fin_wait;
  tcp_result r = verdict(p.payload_len > 0 || fin ? tcp_verdict::stream : tcp_verdict::forward, e);
  r.data_seq = p.seq;
  r.fin = fin;
  return r;
}

tcp_result track(tcp_conn& c, const tcp_config& cfg, flow_dir d, const tcp_packet& p) {
  const uint8_t f = p.flags;
  if ((f & tcp_flag::syn) && (f & (tcp_flag::rst | tcp_flag::fin)))
    return verdict(tcp_verdict::drop, tcp_event::bad_flags);
  if (!(f & (tcp_flag::syn | tcp_flag::rst | tcp_flag::ack))) return verdict(tcp_verdict::drop, tcp_event::bad_flags);
  if (f & tcp_flag::rst) return on_rst(c, cfg, d, p);
  if (f & tcp_flag::syn) return (f & tcp_flag::ack) ? on_synack(c, d, p) : on_syn(c, d, p);

  const bool carries = p.payload_len > 0 || (f & tcp_flag::fin) != 0;
  switch (c.state) {
    case tcp_state::none: {
      if (!carries) return verdict(tcp_verdict::forward, tcp_event::none);
      if (cfg.midstream == midstream_policy::reset) return verdict(tcp_verdict::reset, tcp_event::midstream);
      // Accept: this packet's sequence number starts its direction's stream; its ACK starts the other.
      c.client_dir = d;
      learn(c.half[dir_index(d)], p.seq - 1, p.seq);
      learn(c.half[dir_index(flow::dir_other(d))], p.ack - 1, p.ack);
      c.state = tcp_state::established;
      return on_data(c, d, p, tcp_event::midstream);
    }
    case tcp_state::syn_sent:
      return verdict(tcp_verdict::drop, tcp_event::data_before_handshake);
    case tcp_state::syn_received: {
      const tcp_half& server = c.half[dir_index(flow::dir_other(c.client_dir))];
      if (d != c.client_dir || p.ack != server.isn + 1)
        return verdict(tcp_verdict::drop, tcp_event::data_before_handshake);
      c.state = tcp_state::established;
      return on_data(c, d, p, tcp_event::established);
    }
    case tcp_state::closed:
      if (c.reset_seen)
        return carries ? verdict(tcp_verdict::drop, tcp_event::data_after_reset)
                       : verdict(tcp_verdict::forward, tcp_event::none);
      return on_data(c, d, p, tcp_event::none);  // retransmissions after an orderly close
    default:
      return on_data(c, d, p, tcp_event::none);
  }
}

}  // namespace

const char* tcp_state_name(tcp_state s) {
  switch (s) {
    case tcp_state::none: return "none";
    case tcp_state::syn_sent: return "syn_sent";
    case tcp_state::syn_received: return "syn_received";
    case tcp_state::established: return "established";
    case tcp_state::fin_wait: return "fin_wait";
    case tcp_state::closing: return "closing";
    case tcp_state::closed: return "closed";
  }
  return "?";
}

flow::timeout_class tcp_timeout_class(tcp_state s) {
  switch (s) {
    case tcp_state::none:
    case tcp_state::syn_sent:
    case tcp_state::syn_received: return flow::timeout_class::syn;
    case tcp_state::established: return flow::timeout_class::established;
    default: return flow::timeout_class::closing;
  }
}

const char* tcp_verdict_name(tcp_verdict v) {
  switch (v) {
    case tcp_verdict::forward: return "forward";
    case tcp_verdict::stream: return "stream";
    case tcp_verdict::drop: return "drop";
    case tcp_verdict::reset: return "reset";
    case tcp_verdict::close: return "close";
    case tcp_verdict::restart: return "restart";
  }
  return "?";
}

const char* tcp_event_name(tcp_event e) {
  static constexpr const char* kNames[tcp_event_count] = {
      "none",           "syn",
      "syn_retransmit", "syn_isn_changed",
      "synack",         "synack_retransmit",
      "synack_bad_ack", "synack_pickup",
      "established",    "fin",
      "fin_retransmit", "fin_moved",
      "rst",            "rst_out_of_window",
      "midstream",      "syn_in_connection",
      "simultaneous_open", "syn_with_data",
      "data_before_handshake", "data_after_fin",
      "data_after_reset", "bad_flags",
      "port_reuse",
  };
  const auto i = static_cast<size_t>(e);
  return i < tcp_event_count ? kNames[i] : "?";
}

void tcp_conn_reset(tcp_conn& c) { c = tcp_conn{}; }

tcp_result tcp_track(tcp_conn& c, const tcp_config& cfg, flow::flow_dir d, const tcp_packet& p, tcp_counters& n) {
  const tcp_result r = track(c, cfg, d, p);
  ++n.events[static_cast<size_t>(r.event)];
  ++n.verdicts[static_cast<size_t>(r.verdict)];
  return r;
}

}  // namespace phigate::tcp
