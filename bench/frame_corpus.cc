#include "bench/frame_corpus.hh"

#include <algorithm>
#include <cstring>

#include "tests/dataplane/net/frame_builder.hh"

namespace phigate::bench {

namespace {

namespace flag {
constexpr uint8_t fin = 0x01, syn = 0x02, psh = 0x08, ack = 0x10;
}

constexpr size_t kMinFrameBytes = 60;  // Ethernet minimum without the FCS

uint16_t word_sum(const uint8_t ip[4]) {
  uint32_t s = (uint32_t{ip[0]} << 8 | ip[1]) + (uint32_t{ip[2]} << 8 | ip[3]);
  s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Builds template frames in either direction (the client side carries kTemplateClientIp).
struct endpoint_frames {
  uint8_t options;  // 4-byte TCP option words on every frame

  test::built_frame build(bool from_server, uint8_t flags, uint32_t seq, uint32_t ack, std::string_view payload) const {
    test::frame_spec fs;
    std::memcpy(fs.src4, kTemplateClientIp, 4);
    std::memcpy(fs.dst4, kServerIp, 4);
    fs.sport = kClientPort;
    fs.dport = kServerPort;
    if (from_server) {
      std::swap(fs.src4, fs.dst4);
      std::swap(fs.sport, fs.dport);
    }
    fs.seq = seq;
    fs.ack = ack;
    fs.flags = flags;
    fs.tcp_option_words = options;
    const size_t bare = 14 + 20 + 20 + 4u * fs.tcp_option_words + payload.size();
    fs.ether_padding = bare < kMinFrameBytes ? kMinFrameBytes - bare : 0;
    return test::build_frame(fs, payload);
  }
};

}  // namespace

uint32_t frame_corpus_builder::push(const std::vector<uint8_t>& bytes, uint16_t payload, bool from_server) {
  const size_t off = (arena_.size() + 63) & ~size_t{63};
  arena_.resize(off + bytes.size());
  std::memcpy(arena_.data() + off, bytes.data(), bytes.size());
  frame_desc d;
  d.off = static_cast<uint32_t>(off);
  d.len = static_cast<uint16_t>(bytes.size());
  d.payload = payload;
  d.from_server = from_server;
  out_.frames.push_back(d);
  return static_cast<uint32_t>(out_.frames.size() - 1);
}

uint32_t frame_corpus_builder::add_connection(std::string_view request, const std::vector<std::string_view>& responses,
                                              const conversation_shape& shape, uint32_t isn_seed) {
  const endpoint_frames ep{shape.tcp_option_words};
  script s;
  s.loop_first = static_cast<uint32_t>(out_.frames.size());
  const uint32_t cisn = 0x10000000u + isn_seed * 0x9E37u, sisn = 0x70000000u + isn_seed * 0x7F4Bu;
  auto add = [&](bool from_server, uint8_t flags, uint32_t seq, uint32_t ack, std::string_view payload) {
    const test::built_frame f = ep.build(from_server, flags, seq, ack, payload);
    push(f.bytes, static_cast<uint16_t>(payload.size()), from_server);
    (from_server ? s.loop_response_payload : s.loop_request_payload) += payload.size();
  };
  add(false, flag::syn, cisn, 0, {});
  add(true, flag::syn | flag::ack, sisn, cisn + 1, {});
  add(false, flag::ack, cisn + 1, sisn + 1, {});
  uint32_t cnext = cisn + 1, snext = sisn + 1;
  const size_t seg = shape.segment_bytes;
  for (uint32_t x = 0; x < shape.exchanges; ++x) {
    const std::string_view resp = responses[x % responses.size()];
    const bool last_exchange = x + 1 == shape.exchanges;
    for (size_t off = 0; off < request.size(); off += seg) {
      const size_t n = std::min(seg, request.size() - off);
      const bool last = off + n == request.size();
      add(false, flag::ack | (last ? flag::psh : 0), cnext, snext, request.substr(off, n));
      cnext += static_cast<uint32_t>(n);
    }
    uint32_t since_ack = 0;
    for (size_t off = 0; off < resp.size(); off += seg) {
      const size_t n = std::min(seg, resp.size() - off);
      const bool last = off + n == resp.size();
      const bool fin = last && last_exchange;  // the server closes after its last response
      add(true, flag::ack | (last ? flag::psh : 0) | (fin ? flag::fin : 0), snext, cnext, resp.substr(off, n));
      snext += static_cast<uint32_t>(n) + (fin ? 1 : 0);
      if (fin) break;  // the client's FIN|ACK below acknowledges the rest
      if (++since_ack == shape.ack_every || last) {
        add(false, flag::ack, cnext, snext, {});
        since_ack = 0;
      }
    }
  }
  add(false, flag::fin | flag::ack, cnext, snext, {});
  add(true, flag::ack, snext, cnext + 1, {});
  s.loop_count = static_cast<uint32_t>(out_.frames.size()) - s.loop_first;
  out_.scripts.push_back(s);
  return static_cast<uint32_t>(out_.scripts.size() - 1);
}

uint32_t frame_corpus_builder::add_ack_only(uint32_t isn_seed, size_t frame_bytes) {
  const endpoint_frames ep{0};
  script s;
  const uint32_t cisn = 0x20000000u + isn_seed * 0x9E37u, sisn = 0x60000000u + isn_seed * 0x7F4Bu;
  auto add = [&](bool from_server, uint8_t flags, uint32_t seq, uint32_t ack) {
    test::built_frame f = ep.build(from_server, flags, seq, ack, {});
    if (f.bytes.size() < frame_bytes) f.bytes.resize(frame_bytes, 0);  // Ethernet padding
    push(f.bytes, 0, from_server);
  };
  s.prologue_first = static_cast<uint32_t>(out_.frames.size());
  add(false, flag::syn, cisn, 0);
  add(true, flag::syn | flag::ack, sisn, cisn + 1);
  add(false, flag::ack, cisn + 1, sisn + 1);
  s.prologue_count = 3;
  s.loop_first = static_cast<uint32_t>(out_.frames.size());
  add(false, flag::ack, cisn + 1, sisn + 1);
  add(true, flag::ack, sisn + 1, cisn + 1);
  s.loop_count = 2;
  out_.scripts.push_back(s);
  return static_cast<uint32_t>(out_.scripts.size() - 1);
}

frame_corpus frame_corpus_builder::take() {
  frame_corpus c = std::move(out_);
  out_ = frame_corpus{};
  c.arena_bytes = arena_.size();
  c.storage.reset(new uint8_t[arena_.size() + 64]);
  c.arena = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(c.storage.get()) + 63) & ~uintptr_t{63});
  std::memcpy(c.arena, arena_.data(), arena_.size());
  std::vector<uint8_t>().swap(arena_);
  return c;
}

lane_address lane_address_of(uint32_t group, uint32_t index) {
  lane_address a;
  a.ip[0] = 10;
  a.ip[1] = static_cast<uint8_t>(1 + group);
  a.ip[2] = static_cast<uint8_t>(index >> 8);
  a.ip[3] = static_cast<uint8_t>(index);
  a.old_sum = word_sum(kTemplateClientIp);
  a.new_sum = word_sum(a.ip);
  return a;
}

}  // namespace phigate::bench
