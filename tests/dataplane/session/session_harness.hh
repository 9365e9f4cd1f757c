#pragma once
// A scripted connection through one session_ctx: frames against guard pages, a sink that records
// what was forwarded or dropped, and helpers for the handshake and the bytes that reached each side.
#include <gtest/gtest.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/net/checksum.hh"
#include "dataplane/net/packet_parse.hh"
#include "dataplane/session/session.hh"
#include "tests/dataplane/net/frame_builder.hh"
#include "tests/support/engine_fixture.hh"
#include "tests/support/guard_page.hh"

namespace phigate::test {

namespace F = tcp::tcp_flag;
using session::packet_action;

constexpr uint32_t kCisn = 1000, kSisn = 5000;

struct frame {
  std::unique_ptr<guarded_buffer> buf;  // against a guard page: no read past the frame
  bool from_client = false;
  int outcomes = 0;
};

class harness {
 public:
  explicit harness(session::session_config sc = {}) {
    sc.engine = &catalog::shared().cfg;
    sc.table.capacity = 8;
    sc.table.hash_seed = 3;
    sc.history_bytes = 4096;
    session::session_sink sink;
    sink.ctx = this;
    sink.forward = [](void* ctx, void* pkt) {
      auto* f = static_cast<frame*>(pkt);
      ++f->outcomes;
      static_cast<harness*>(ctx)->sent.push_back(f);
    };
    sink.drop = [](void* ctx, void* pkt) {
      ++static_cast<frame*>(pkt)->outcomes;
      ++static_cast<harness*>(ctx)->sink_drops;
    };
    s = session::session_create(sc, sink, &why);
  }
  ~harness() { session::session_destroy(s); }

  frame* make(bool from_client, uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data,
              frame_spec fs = {}) {
    if (!from_client) {
      std::swap(fs.src4, fs.dst4);
      std::swap(fs.src6, fs.dst6);
      std::swap(fs.sport, fs.dport);
    }
    fs.seq = seq, fs.ack = ack, fs.flags = flags;
    const built_frame b = build_frame(fs, data);
    frames.push_back(std::make_unique<frame>());
    frames.back()->buf = std::make_unique<guarded_buffer>(std::span<const uint8_t>(b.bytes));
    frames.back()->from_client = from_client;
    return frames.back().get();
  }
  frame* client(uint32_t seq, uint32_t ack, std::string_view data, uint8_t flags = F::ack | F::psh) {
    return make(true, flags, seq, ack, data);
  }
  frame* server(uint32_t seq, uint32_t ack, std::string_view data, uint8_t flags = F::ack | F::psh) {
    return make(false, flags, seq, ack, data);
  }
  session::session_result send(frame* f, uint64_t now = 1'000'000) {
    const session::session_result r =
        session::session_on_packet(*s, {f, f->buf->data(), uint32_t(f->buf->size())}, now);
    last = r;
    if (r.action == packet_action::forward) {
      ++f->outcomes;
      sent.push_back(f);
    } else if (r.action != packet_action::held) {
      ++f->outcomes;
    }
    return r;
  }
  // Without a request decider the request passes at once; with one, it is held (see request_hold).
  void handshake(std::string_view request) {
    ASSERT_EQ(send(make(true, F::syn, kCisn, 0, "")).action, packet_action::forward);
    ASSERT_EQ(send(make(false, F::syn | F::ack, kSisn, kCisn + 1, "")).action, packet_action::forward);
    ASSERT_EQ(send(make(true, F::ack, kCisn + 1, kSisn + 1, "")).action, packet_action::forward);
    if (!request.empty()) {
      const session::session_result r = send(make(true, F::ack | F::psh, kCisn + 1, kSisn + 1, request));
      ASSERT_EQ(r.action, packet_action::forward) << "requests pass as soon as the engine saw them";
    }
  }
  // The server payload that reached the client, in order of forwarding.
  std::string server_bytes() { return bytes_from(false); }
  // The client payload that reached the server.
  std::string client_bytes() { return bytes_from(true); }
  std::string bytes_from(bool client_side) {
    std::string out;
    for (frame* f : sent) {
      if (f->from_client != client_side) continue;
      net::packet_view v;
      EXPECT_EQ(net::packet_parse(f->buf->data(), f->buf->size(), v), net::parse_error::none);
      EXPECT_EQ(net::tcp_checksum(f->buf->data(), v), net::tcp_checksum_field(f->buf->data(), v))
          << "forwarded frame with a bad checksum";
      out.append(reinterpret_cast<const char*>(f->buf->data()) + v.payload_off, v.payload_len);
    }
    return out;
  }

  session::session_ctx* s = nullptr;
  const char* why = nullptr;
  std::vector<std::unique_ptr<frame>> frames;
  std::vector<frame*> sent;
  int sink_drops = 0;
  session::session_result last;  // of the latest send()
};

}  // namespace phigate::test
