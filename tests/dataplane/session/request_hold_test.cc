// session request hold (issue 3 section 4): every request is held until the decider answers;
// forward swaps the Authorization value in place (same length, padded) and may wait for a durable
// audit record; respond injects the answer toward the client with FIN and resets the server;
// pipelined requests are decided one by one; the buffer limit, Expect: 100-continue and
// exhausted buffers take the documented paths; every response end is reported once.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "tests/dataplane/session/session_harness.hh"

namespace phigate::test {
namespace {

using session::request_answer;
using session::request_info;
using session::request_verdict;
using session::reset_reason;

struct seen_request {
  std::string method, target, host, authorization, body;
  bool body_complete = false;
  uint32_t index = 0;
  uint16_t client_port = 0, server_port = 0;
};

// A scripted decider: answers[i] for the i-th call (the last one repeats).
struct fake_decider {
  std::vector<request_answer> answers;
  std::vector<seen_request> seen;
  std::vector<session::response_info> responses;
  std::vector<std::vector<uint16_t>> findings_copies;  // findings_by_pattern is valid only in the call
  std::atomic<uint64_t> durable{0};
  std::string response_text = "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";

  session::request_decider hook() {
    session::request_decider d;
    d.ctx = this;
    d.decide = [](void* ctx, const request_info& r, uint64_t) {
      auto& self = *static_cast<fake_decider*>(ctx);
      seen_request s{std::string(r.method), std::string(r.target), std::string(r.host),
                     std::string(r.authorization), std::string(r.body), r.body_complete, r.request_index,
                     r.client_port, r.server_port};
      self.seen.push_back(s);
      const size_t i = std::min(self.seen.size() - 1, self.answers.size() - 1);
      request_answer a = self.answers[i];
      if (a.verdict == request_verdict::respond) a.response = self.response_text;
      return a;
    };
    d.response_done = [](void* ctx, const session::response_info& r, uint64_t) {
      auto& self = *static_cast<fake_decider*>(ctx);
      self.findings_copies.emplace_back(r.findings_by_pattern, r.findings_by_pattern + r.patterns);
      self.responses.push_back(r);
      self.responses.back().findings_by_pattern = nullptr;  // dangling after the call
    };
    d.durable = &durable;
    return d;
  }
};

request_answer forward(std::string_view auth = {}, uint64_t wait = 0) {
  request_answer a;
  a.verdict = request_verdict::forward;
  a.rewrite_authorization = !auth.empty();
  a.authorization = auth;
  a.wait_seq = wait;
  return a;
}
request_answer respond() {
  request_answer a;
  a.verdict = request_verdict::respond;
  return a;
}

session::session_config with(fake_decider& d, uint32_t buffers = 4, uint32_t buffer_bytes = 20000) {
  session::session_config sc;
  sc.decider = d.hook();
  sc.hold.buffers = buffers;
  sc.hold.buffer_bytes = buffer_bytes;
  return sc;
}

const std::string kBody = R"({"model":"gpt-x","messages":[{"role":"user","content":"hi"}]})";
const std::string kAuth = "Bearer caller-token-0123456789abcdef";
std::string request(const std::string& body = kBody, const std::string& auth = kAuth, const std::string& extra = "") {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: llm.local\r\nAuthorization: " + auth +
         "\r\nContent-Type: application/json\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Sends `data` from the client in pieces cut at `cuts`; returns the actions.
std::vector<packet_action> send_client(harness& h, const std::string& data, std::vector<size_t> cuts,
                                       uint32_t seq0 = kCisn + 1) {
  std::vector<packet_action> out;
  cuts.push_back(data.size());
  size_t at = 0;
  for (size_t c : cuts) {
    if (c <= at) continue;
    out.push_back(h.send(h.client(seq0 + uint32_t(at), kSisn + 1, data.substr(at, c - at))).action);
    at = c;
  }
  return out;
}

TEST(request_hold, forward_swaps_the_credential_in_place_at_every_split) {
  const std::string req = request();
  const std::string cred = "Bearer backend-key-XYZ";
  std::string expect = req;
  const size_t at = expect.find(kAuth);
  expect.replace(at, kAuth.size(), cred + std::string(kAuth.size() - cred.size(), ' '));
  for (size_t cut = 1; cut < req.size(); ++cut) {
    fake_decider d;
    d.answers = {forward(cred)};
    harness h(with(d));
    ASSERT_NE(h.s, nullptr) << h.why;
    h.handshake("");
    const std::vector<packet_action> acts = send_client(h, req, {cut});
    ASSERT_EQ(acts.size(), 2u);
    EXPECT_EQ(acts[0], packet_action::held) << "nothing leaves before the decision, cut " << cut;
    ASSERT_EQ(d.seen.size(), 1u) << "cut " << cut;
    EXPECT_EQ(d.seen[0].method, "POST");
    EXPECT_EQ(d.seen[0].target, "/v1/chat/completions");
    EXPECT_EQ(d.seen[0].host, "llm.local");
    EXPECT_EQ(d.seen[0].authorization, kAuth);
    EXPECT_EQ(d.seen[0].body, kBody);
    EXPECT_TRUE(d.seen[0].body_complete);
    EXPECT_EQ(d.seen[0].client_port, 40000);
    EXPECT_EQ(d.seen[0].server_port, 8000);
    EXPECT_EQ(h.client_bytes(), expect) << "cut " << cut;  // also checks every checksum
    EXPECT_EQ(session::session_held_packets(*h.s), 0u);
    EXPECT_EQ(session::session_stats(*h.s).credential_swaps, 1u);
  }
}

TEST(request_hold, byte_by_byte_request_is_decided_once_when_complete) {
  const std::string req = request();
  fake_decider d;
  d.answers = {forward()};
  session::session_config sc = with(d);
  sc.reasm.max_segments_per_flow = 1024;  // one held packet per byte (the default caps at 128)
  harness h(sc);
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  std::vector<size_t> cuts;
  for (size_t i = 1; i < req.size(); ++i) cuts.push_back(i);
  const std::vector<packet_action> acts = send_client(h, req, cuts);
  for (size_t i = 0; i + 1 < acts.size(); ++i)
    ASSERT_EQ(acts[i], packet_action::held) << i;
  EXPECT_EQ(d.seen.size(), 1u);
  EXPECT_EQ(h.client_bytes(), req) << "no rewrite asked: the bytes are unchanged";
}

TEST(request_hold, respond_injects_the_answer_closes_the_client_and_resets_the_server) {
  fake_decider d;
  d.answers = {respond()};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request();
  frame* first = h.client(kCisn + 1, kSisn + 1, req.substr(0, 40));
  EXPECT_EQ(h.send(first).action, packet_action::held);
  const session::session_result r = h.send(h.client(kCisn + 41, kSisn + 1, req.substr(40)));
  ASSERT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, reset_reason::request_blocked);
  ASSERT_EQ(r.rst_count, 2);
  // Toward the server: RST at the first request byte it never got.
  EXPECT_EQ(r.rst[0].dir, flow::flow_dir::to_responder);
  EXPECT_EQ(r.rst[0].flags, F::rst | F::ack);
  EXPECT_EQ(r.rst[0].seq, kCisn + 1);
  EXPECT_EQ(r.rst[0].payload_len, 0u);
  // Toward the client: the answer at the server's next byte, acking the whole request, with FIN.
  EXPECT_EQ(r.rst[1].dir, flow::flow_dir::to_initiator);
  EXPECT_EQ(r.rst[1].flags, F::fin | F::psh | F::ack);
  EXPECT_EQ(r.rst[1].seq, kSisn + 1);
  EXPECT_EQ(r.rst[1].ack, kCisn + 1 + uint32_t(req.size()));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.rst[1].payload), r.rst[1].payload_len), d.response_text);
  EXPECT_EQ(first->outcomes, 1) << "the held first part is dropped";
  EXPECT_EQ(h.client_bytes(), "") << "no request byte reached the server";
  // The client's ACK and FIN are absorbed, not answered with a midstream RST.
  const session::session_result late =
      h.send(h.make(true, F::ack | F::fin, kCisn + 1 + uint32_t(req.size()), kSisn + 1 + uint32_t(d.response_text.size()) + 1, ""));
  EXPECT_EQ(late.action, packet_action::drop);
  EXPECT_EQ(late.drop, session::drop_reason::gateway_closed);
}

TEST(request_hold, pipelined_requests_are_decided_in_order_and_a_late_block_resets) {
  fake_decider d;
  d.answers = {forward(), respond()};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string a = request(R"({"n":1})"), b = request(R"({"n":2})");
  // Both in one segment: the first is allowed, the second blocked while the first response is
  // still owed, so an injected answer would be taken as the first's: both sides are reset.
  const session::session_result r = h.send(h.client(kCisn + 1, kSisn + 1, a + b));
  ASSERT_EQ(d.seen.size(), 2u);
  EXPECT_EQ(d.seen[0].body, R"({"n":1})");
  EXPECT_EQ(d.seen[1].body, R"({"n":2})");
  EXPECT_EQ(d.seen[1].index, 1u);
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, reset_reason::request_refused);
}

TEST(request_hold, pipelined_requests_split_anywhere_are_both_forwarded) {
  const std::string a = request(R"({"n":1})"), b = request(R"({"n":22})", "Bearer t2");
  const std::string both = a + b;
  for (size_t cut = 1; cut < both.size(); cut += 7) {
    fake_decider d;
    d.answers = {forward()};
    harness h(with(d));
    ASSERT_NE(h.s, nullptr) << h.why;
    h.handshake("");
    send_client(h, both, {cut});
    ASSERT_EQ(d.seen.size(), 2u) << cut;
    EXPECT_EQ(d.seen[1].authorization, "Bearer t2") << cut;
    EXPECT_EQ(d.seen[1].body, R"({"n":22})") << cut;
    EXPECT_EQ(h.client_bytes(), both) << cut;
  }
}

TEST(request_hold, longer_credential_is_refused_not_truncated) {
  fake_decider d;
  d.answers = {forward("Bearer a-backend-credential-longer-than-the-callers-token-by-far")};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const session::session_result r = h.send(h.client(kCisn + 1, kSisn + 1, request()));
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, reset_reason::credential_too_long);
  EXPECT_EQ(h.client_bytes(), "");
}

TEST(request_hold, forward_waits_for_the_durable_audit_record) {
  fake_decider d;
  d.answers = {forward({}, 7)};
  d.durable = 6;
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  EXPECT_EQ(h.send(h.client(kCisn + 1, kSisn + 1, request())).action, packet_action::held);
  session::session_tick(*h.s, 2'000'000, 16);
  EXPECT_EQ(h.client_bytes(), "") << "record 7 is not durable yet";
  // No audit_wait_timeout_ns here: a minute later it still waits (a deadline is opt-in).
  session::session_tick(*h.s, 60'000'000'000ULL, 16);
  EXPECT_EQ(h.client_bytes(), "");
  d.durable = 7;
  session::session_tick(*h.s, 60'001'000'000ULL, 16);
  EXPECT_EQ(h.client_bytes(), request()) << "released by the timer once durable";
  EXPECT_EQ(session::session_stats(*h.s).audit_waits, 1u);
  EXPECT_EQ(session::session_stats(*h.s).audit_wait_timeouts, 0u);
}

// The control plane never acknowledges: past audit_wait_timeout_ns the connection is failed (the
// request never leaves) and reset on its next packet, the client's retransmission.
TEST(request_hold, audit_wait_past_its_deadline_resets_and_never_releases) {
  fake_decider d;
  d.answers = {forward({}, 7)};
  d.durable = 6;
  session::session_config sc = with(d);
  sc.hold.audit_wait_timeout_ns = 5'000'000;
  harness h(sc);
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  EXPECT_EQ(h.send(h.client(kCisn + 1, kSisn + 1, request()), 1'000'000).action, packet_action::held);
  session::session_tick(*h.s, 5'900'000, 16);  // 4.9 ms: still waiting
  EXPECT_EQ(session::session_stats(*h.s).audit_wait_timeouts, 0u);
  session::session_tick(*h.s, 6'000'000, 16);  // 5 ms: given up
  EXPECT_EQ(session::session_stats(*h.s).audit_wait_timeouts, 1u);
  d.durable = 7;  // too late: nothing is released any more
  session::session_tick(*h.s, 7'000'000, 16);
  EXPECT_EQ(h.client_bytes(), "");
  const session::session_result r = h.send(h.client(kCisn + 1, kSisn + 1, request()), 8'000'000);
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, reset_reason::audit_wait_timeout);
  EXPECT_EQ(h.client_bytes(), "");
}

TEST(request_hold, body_beyond_the_buffer_is_decided_partial_then_streamed) {
  fake_decider d;
  d.answers = {forward()};
  harness h(with(d, 2, 16385));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string body = "{\"input\":\"" + std::string(40000, 'a') + "\"}";
  const std::string req = request(body);
  std::vector<size_t> cuts;
  for (size_t i = 1400; i < req.size(); i += 1400) cuts.push_back(i);
  send_client(h, req, cuts);
  ASSERT_EQ(d.seen.size(), 1u);
  EXPECT_FALSE(d.seen[0].body_complete);
  EXPECT_LT(d.seen[0].body.size(), body.size());
  EXPECT_EQ(h.client_bytes(), req);
  EXPECT_EQ(session::session_stats(*h.s).decisions_partial_body, 1u);
}

// A client sends only what it may have unacknowledged (congestion or receive window), and the
// server acknowledges nothing of a held request: a body smaller than the buffer but larger than
// that would wait forever. Once the request stops growing for stall_ns, it is decided on what is
// held (from the tick, with no frame at hand: the addresses come from the flow), and the rest
// streams.
TEST(request_hold, a_stalled_incomplete_request_is_decided_by_the_timer_then_streamed) {
  fake_decider d;
  d.answers = {forward(), respond()};
  session::session_config sc = with(d, 2, 60000);
  sc.hold.stall_ns = 10'000'000;
  harness h(sc);
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string body = "{\"input\":\"" + std::string(30000, 'a') + "\"}";
  const std::string req = request(body);
  const size_t window = 14480;  // ten segments of 1448 bytes, then the client waits
  std::vector<size_t> cuts;
  for (size_t i = 1448; i < window; i += 1448) cuts.push_back(i);
  for (packet_action a : send_client(h, req.substr(0, window), cuts)) EXPECT_EQ(a, packet_action::held);
  EXPECT_TRUE(d.seen.empty());
  const uint64_t t0 = 1'000'000;  // the harness's clock
  session::session_tick(*h.s, t0 + 9'000'000, 64);
  EXPECT_TRUE(d.seen.empty()) << "decided before the stall time";
  EXPECT_EQ(h.client_bytes(), "");
  session::session_tick(*h.s, t0 + 10'000'000, 64);
  ASSERT_EQ(d.seen.size(), 1u);
  EXPECT_FALSE(d.seen[0].body_complete);
  EXPECT_EQ(d.seen[0].body.size(), window - (req.size() - body.size()));
  EXPECT_EQ(d.seen[0].client_port, 40000);
  EXPECT_EQ(d.seen[0].server_port, 8000);
  EXPECT_EQ(h.client_bytes(), req.substr(0, window)) << "the held part leaves with the decision";
  const session::session_counters& n = session::session_stats(*h.s);
  EXPECT_EQ(n.decisions_stalled, 1u);
  EXPECT_EQ(n.decisions_partial_body, 1u);
  // The rest streams as it arrives, undecided again.
  cuts.clear();
  for (size_t i = window + 1448; i < req.size(); i += 1448) cuts.push_back(i - window);
  for (packet_action a : send_client(h, req.substr(window), cuts, kCisn + 1 + uint32_t(window)))
    EXPECT_EQ(a, packet_action::forward);
  EXPECT_EQ(h.client_bytes(), req);
  EXPECT_EQ(d.seen.size(), 1u);

  // The next request on the connection stalls too and is refused: the refusal waits for the
  // flow's next packet (the client's retransmission). The decider answered with a response, but
  // the first request's response is still owed, so the connection is reset instead.
  const uint32_t seq = kCisn + 1 + uint32_t(req.size());
  send_client(h, req.substr(0, window), {1448, 2896}, seq);
  session::session_tick(*h.s, t0 + 30'000'000, 64);
  ASSERT_EQ(d.seen.size(), 2u);
  const session::session_result r = h.send(h.client(seq, kSisn + 1, req.substr(0, 1448)), t0 + 230'000'000);
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, reset_reason::request_refused);
  EXPECT_EQ(h.client_bytes(), req) << "nothing of the refused request reached the server";
}

// With stall_ns 0 only a full buffer or the request's end decides (the earlier behaviour).
TEST(request_hold, no_stall_timer_keeps_waiting_for_the_buffer_or_the_end) {
  fake_decider d;
  d.answers = {forward()};
  session::session_config sc = with(d, 2, 60000);
  sc.hold.stall_ns = 0;
  harness h(sc);
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request("{\"input\":\"" + std::string(30000, 'a') + "\"}");
  send_client(h, req.substr(0, 14480), {1448, 2896, 4344});
  session::session_tick(*h.s, 10'000'000'000ULL, 64);
  EXPECT_TRUE(d.seen.empty());
  send_client(h, req.substr(14480), {}, kCisn + 1 + 14480);
  ASSERT_EQ(d.seen.size(), 1u);
  EXPECT_TRUE(d.seen[0].body_complete);
  EXPECT_EQ(h.client_bytes(), req);
}

TEST(request_hold, expect_continue_is_decided_on_the_head) {
  fake_decider d;
  d.answers = {forward()};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request(kBody, kAuth, "Expect: 100-continue\r\n");
  const std::string head = req.substr(0, req.find("\r\n\r\n") + 4);
  h.send(h.client(kCisn + 1, kSisn + 1, head));
  ASSERT_EQ(d.seen.size(), 1u);
  EXPECT_FALSE(d.seen[0].body_complete);
  EXPECT_EQ(h.client_bytes(), head) << "the head goes so the server can answer 100";
}

TEST(request_hold, exhausted_buffers_reset_the_new_request) {
  fake_decider d;
  d.answers = {forward()};
  harness h(with(d, 1));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request();
  EXPECT_EQ(h.send(h.client(kCisn + 1, kSisn + 1, req.substr(0, 30))).action, packet_action::held);
  // A second connection (other client port) finds no free buffer.
  frame_spec fs;
  fs.sport = 40001;
  h.send(h.make(true, F::syn, 9000, 0, "", fs));
  frame_spec rs = fs;
  h.send(h.make(false, F::syn | F::ack, 7000, 9001, "", rs));
  h.send(h.make(true, F::ack, 9001, 7001, "", fs));
  const session::session_result r = h.send(h.make(true, F::ack | F::psh, 9001, 7001, req, fs));
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, reset_reason::request_buffers);
}

TEST(request_hold, response_end_is_reported_with_status_and_findings) {
  fake_decider d;
  d.answers = {forward()};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request();
  h.send(h.client(kCisn + 1, kSisn + 1, req));
  const std::string body = R"({"note":"mail jane.doe@example.org or call 415-555-0132"})";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
  h.send(h.server(kSisn + 1, kCisn + 1 + uint32_t(req.size()), resp));
  ASSERT_EQ(d.responses.size(), 1u);
  EXPECT_EQ(d.responses[0].status, 200);
  EXPECT_EQ(d.responses[0].response_bytes, resp.size());
  EXPECT_EQ(d.responses[0].findings, 2u);
  uint32_t sum = 0;
  ASSERT_EQ(d.findings_copies[0].size(), d.responses[0].patterns);
  for (uint16_t n : d.findings_copies[0]) sum += n;
  EXPECT_EQ(sum, d.responses[0].findings);
  EXPECT_FALSE(d.responses[0].aborted);
}

}  // namespace
}  // namespace phigate::test

namespace phigate::test {
namespace {

struct tap {
  std::string request, response;
  int spans = 0, ends = 0;
  uint64_t conn = 0;
  session::session_recorder hook() {
    session::session_recorder r;
    r.ctx = this;
    r.on_bytes = [](void* ctx, uint64_t conn, bool response, uint64_t off, const uint8_t* b, uint32_t n, uint64_t) {
      auto& t = *static_cast<tap*>(ctx);
      t.conn = conn;
      std::string& s = response ? t.response : t.request;
      if (off + n > s.size()) s.resize(off + n, '?');
      s.replace(off, n, reinterpret_cast<const char*>(b), n);
    };
    r.on_span = [](void* ctx, uint64_t, uint64_t, uint32_t len, uint32_t, uint32_t, uint64_t) {
      static_cast<tap*>(ctx)->spans += len > 0;
    };
    r.on_end = [](void* ctx, uint64_t, uint64_t) { ++static_cast<tap*>(ctx)->ends; };
    return r;
  }
};

TEST(request_hold, the_recorder_sees_exactly_what_leaves) {
  fake_decider d;
  d.answers = {forward("Bearer backend-key")};
  tap t;
  session::session_config sc = with(d);
  sc.recorder = t.hook();
  auto h = std::make_unique<harness>(sc);
  ASSERT_NE(h->s, nullptr) << h->why;
  h->handshake("");
  const std::string req = request();
  send_client(*h, req, {40});
  const std::string body = R"({"note":"mail jane.doe@example.org or call 415-555-0132"})";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
  h->send(h->server(kSisn + 1, kCisn + 1 + uint32_t(req.size()), resp.substr(0, 70)));
  h->send(h->server(kSisn + 71, kCisn + 1 + uint32_t(req.size()), resp.substr(70)));
  EXPECT_EQ(t.request, h->client_bytes()) << "the request as forwarded: credential swapped";
  EXPECT_EQ(t.request.find("caller-token"), std::string::npos);
  EXPECT_EQ(t.response, h->server_bytes()) << "the response as forwarded: masked";
  EXPECT_EQ(t.response.find("jane"), std::string::npos);
  EXPECT_EQ(t.spans, 2);
  EXPECT_EQ(t.ends, 0);
  h.reset();  // destroying the session ends its live connections
  EXPECT_EQ(t.ends, 1);
}

// A clean close ends the recording when the last FIN is acknowledged, not when the flow entry is
// evicted a closing timeout later (recordings and audit trails close promptly).
TEST(request_hold, a_clean_close_ends_the_recording_at_the_last_ack) {
  namespace F = tcp::tcp_flag;
  fake_decider d;
  d.answers = {forward()};
  tap t;
  session::session_config sc = with(d);
  sc.recorder = t.hook();
  auto h = std::make_unique<harness>(sc);
  ASSERT_NE(h->s, nullptr) << h->why;
  h->handshake("");
  const std::string req = request();
  send_client(*h, req, {40});
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  const uint32_t c_end = kCisn + 1 + uint32_t(req.size()), s_end = kSisn + 1 + uint32_t(resp.size());
  h->send(h->server(kSisn + 1, c_end, resp));
  h->send(h->make(false, F::ack | F::fin, s_end, c_end, ""));
  EXPECT_EQ(t.ends, 0) << "the client has not closed yet";
  h->send(h->make(true, F::ack | F::fin, c_end, s_end + 1, ""));
  EXPECT_EQ(t.ends, 0) << "the client's FIN is not acknowledged yet";
  h->send(h->make(false, F::ack, s_end + 1, c_end + 1, ""));
  EXPECT_EQ(t.ends, 1) << "both FINs acknowledged: the connection ended";
  h->send(h->make(false, F::ack | F::fin, s_end, c_end + 1, ""));  // a retransmitted FIN
  h.reset();
  EXPECT_EQ(t.ends, 1) << "ended once";
}

}  // namespace
}  // namespace phigate::test

namespace phigate::test {
namespace {

// Regression: a pipelined request forwarded without a wait must not release the bytes of an
// earlier request whose audit record is not durable yet (release is in stream order).
TEST(request_hold, a_later_forward_without_wait_does_not_release_an_earlier_waiting_request) {
  fake_decider d;
  d.answers = {forward({}, 7), forward()};
  d.durable = 0;
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string a = request(R"({"n":1})"), b = request(R"({"n":2})");
  h.send(h.client(kCisn + 1, kSisn + 1, a + b));
  ASSERT_EQ(d.seen.size(), 2u);
  session::session_tick(*h.s, 2'000'000, 16);
  EXPECT_EQ(h.client_bytes(), "") << "record 7 is not durable: neither request may leave";
  d.durable = 7;
  session::session_tick(*h.s, 3'000'000, 16);
  EXPECT_EQ(h.client_bytes(), a + b);
}

}  // namespace
}  // namespace phigate::test

// Issue 4 section 2: the answer's response mode (masking profile, unmasked) governs the response
// to that request, in request order.
namespace phigate::test {
namespace {

const std::string kPhiBody = R"({"note":"SSN 123-45-6789, mail jane.doe@example.org"})";
std::string phi_response(const std::string& body = kPhiBody) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

request_answer forward_mode(bool unmasked, uint64_t entities = scan::all_entities, uint32_t tag = 0,
                            scan::style_override style = scan::style_override::pattern) {
  request_answer a = forward();
  a.unmasked = unmasked;
  a.mask_entities = entities;
  a.mask_db = catalog::shared().db->serial();  // the bits name the harness's database's slots
  a.mask_style = style;
  a.profile_tag = tag;
  return a;
}

uint64_t entity_bit(const char* name) {
  const int i = catalog::shared().db->entity_index(name);
  EXPECT_GE(i, 0);
  return i < 0 ? 0 : uint64_t{1} << i;
}

TEST(request_hold, unmasked_answer_forwards_the_origin_bytes_and_still_reports_findings) {
  fake_decider d;
  d.answers = {forward_mode(true, scan::all_entities, 0x1234)};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request();
  h.send(h.client(kCisn + 1, kSisn + 1, req));
  const std::string resp = phi_response();
  h.send(h.server(kSisn + 1, kCisn + 1 + uint32_t(req.size()), resp));
  EXPECT_EQ(h.server_bytes(), resp);
  ASSERT_EQ(d.responses.size(), 1u);
  EXPECT_TRUE(d.responses[0].unmasked);
  EXPECT_EQ(d.responses[0].profile_tag, 0x1234u);
  EXPECT_EQ(d.responses[0].findings, 2u);  // SSN and email, scanned though not masked
  EXPECT_EQ(session::session_stats(*h.s).responses_unmasked, 1u);
  EXPECT_EQ(session::session_stats(*h.s).mask_bytes, 0u);
}

TEST(request_hold, masked_answer_masks_the_same_response) {
  // Control for the test above: the same exchange with a default answer is masked.
  fake_decider d;
  d.answers = {forward()};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request();
  h.send(h.client(kCisn + 1, kSisn + 1, req));
  const std::string resp = phi_response();
  h.send(h.server(kSisn + 1, kCisn + 1 + uint32_t(req.size()), resp));
  const std::string out = h.server_bytes();
  EXPECT_EQ(out.size(), resp.size());
  EXPECT_EQ(out.find("6789"), std::string::npos);
  EXPECT_EQ(out.find("example.org"), std::string::npos);
  ASSERT_EQ(d.responses.size(), 1u);
  EXPECT_FALSE(d.responses[0].unmasked);
  EXPECT_EQ(session::session_stats(*h.s).responses_unmasked, 0u);
}

TEST(request_hold, pipelined_requests_each_get_their_own_response_mode) {
  const std::string a = request(R"({"n":1})"), b = request(R"({"n":2})"), c = request(R"({"n":3})");
  const std::string reqs = a + b + c;
  const std::string r1 = phi_response(), r2 = phi_response(), r3 = phi_response();
  for (bool one_segment : {true, false}) {
    SCOPED_TRACE(one_segment ? "responses in one segment" : "one segment per response");
    fake_decider d;
    d.answers = {forward_mode(true, scan::all_entities, 1), forward_mode(false, scan::all_entities, 2),
                 forward_mode(false, scan::all_entities & ~entity_bit("email"), 3, scan::style_override::all)};
    harness h(with(d));
    ASSERT_NE(h.s, nullptr) << h.why;
    h.handshake("");
    h.send(h.client(kCisn + 1, kSisn + 1, reqs));
    ASSERT_EQ(d.seen.size(), 3u);
    const uint32_t ack = kCisn + 1 + uint32_t(reqs.size());
    if (one_segment) {
      h.send(h.server(kSisn + 1, ack, r1 + r2 + r3));
    } else {
      h.send(h.server(kSisn + 1, ack, r1));
      h.send(h.server(kSisn + 1 + uint32_t(r1.size()), ack, r2));
      h.send(h.server(kSisn + 1 + uint32_t(r1.size() + r2.size()), ack, r3));
    }
    const std::string out = h.server_bytes();
    ASSERT_EQ(out.size(), r1.size() + r2.size() + r3.size());
    const std::string o1 = out.substr(0, r1.size()), o2 = out.substr(r1.size(), r2.size()),
                      o3 = out.substr(r1.size() + r2.size());
    EXPECT_EQ(o1, r1);  // unmasked
    EXPECT_EQ(o2.find("6789"), std::string::npos);
    EXPECT_EQ(o2.find("example.org"), std::string::npos);
    EXPECT_NE(o2.find("***-**-****"), std::string::npos) << o2;  // the pattern's own style
    EXPECT_NE(o3.find("jane.doe@example.org"), std::string::npos) << o3;  // email not in the profile
    EXPECT_NE(o3.find("SSN ***********,"), std::string::npos) << o3;      // style "all"
    ASSERT_EQ(d.responses.size(), 3u);
    EXPECT_TRUE(d.responses[0].unmasked);
    EXPECT_FALSE(d.responses[1].unmasked);
    EXPECT_FALSE(d.responses[2].unmasked);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(d.responses[i].profile_tag, i + 1);
    EXPECT_EQ(d.responses[2].findings, 1u);  // the email is not a finding under this profile
  }
}

TEST(request_hold, pipelining_past_the_mode_depth_falls_back_to_fully_masked) {
  const uint32_t n = session::response_mode_depth + 2;
  std::string reqs, resps;
  for (uint32_t i = 0; i < n; ++i) {
    reqs += request("{\"n\":" + std::to_string(i) + "}");
    resps += phi_response();
  }
  fake_decider d;
  d.answers = {forward_mode(true, scan::all_entities, 7)};  // every request entitled to unmasked
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  h.send(h.client(kCisn + 1, kSisn + 1, reqs));
  ASSERT_EQ(d.seen.size(), n);
  EXPECT_EQ(session::session_stats(*h.s).response_mode_overflow, 2u);
  h.send(h.server(kSisn + 1, kCisn + 1 + uint32_t(reqs.size()), resps));
  const std::string out = h.server_bytes();
  ASSERT_EQ(out.size(), resps.size());
  const size_t one = phi_response().size();
  for (uint32_t i = 0; i < n; ++i) {
    const std::string part = out.substr(i * one, one);
    if (i < session::response_mode_depth) {
      EXPECT_EQ(part, phi_response()) << i;
    } else {
      EXPECT_EQ(part.find("6789"), std::string::npos) << i;
      EXPECT_EQ(part.find("example.org"), std::string::npos) << i;
    }
  }
  ASSERT_EQ(d.responses.size(), n);
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(d.responses[i].unmasked, i < session::response_mode_depth) << i;
  // Once drained, the queue takes modes again: a later request on the connection is unmasked.
  const std::string more = request(R"({"n":99})");
  const uint32_t rq_end = kCisn + 1 + uint32_t(reqs.size());
  h.send(h.client(rq_end, kSisn + 1 + uint32_t(resps.size()), more));
  h.send(h.server(kSisn + 1 + uint32_t(resps.size()), rq_end + uint32_t(more.size()), phi_response()));
  ASSERT_EQ(d.responses.size(), n + 1);
  EXPECT_TRUE(d.responses[n].unmasked);
  EXPECT_EQ(h.server_bytes().substr(resps.size()), phi_response());
}

TEST(request_hold, compressed_response_resets_even_when_unmasked) {
  fake_decider d;
  d.answers = {forward_mode(true)};
  harness h(with(d));
  ASSERT_NE(h.s, nullptr) << h.why;
  h.handshake("");
  const std::string req = request();
  h.send(h.client(kCisn + 1, kSisn + 1, req));
  const std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd";
  const session::session_result r = h.send(h.server(kSisn + 1, kCisn + 1 + uint32_t(req.size()), resp));
  EXPECT_EQ(r.action, packet_action::reset);
  EXPECT_EQ(r.reset, reset_reason::response_unmaskable);
  EXPECT_EQ(h.server_bytes().find("abcd"), std::string::npos);
}

}  // namespace
}  // namespace phigate::test
