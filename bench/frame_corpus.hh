#pragma once
// Pre-built Ethernet/IPv4/TCP frame sequences for the dataplane benchmarks (dp_bench.cc), built
// in memory at start-up so the timed loops do no I/O and no frame construction.
//
// Shape: a `script` is the frames of one TCP conversation between a client and the protected
// service, in wire order: a `prologue` sent once (the handshake of a long-lived flow) and a
// `loop` sent over and over (a whole connection: handshake, request, response cut into segments
// with the client's delayed ACKs, FIN exchange; or the pure ACKs of an established flow). A
// `lane` is one 5-tuple that plays scripts one after the other; a connection script starts with
// a SYN on a closed 5-tuple, which the tracker treats as port reuse (a new connection).
//
// Why templates plus a per-lane address: a frame set per flow would take gigabytes for 2048 SSE
// flows. Scripts are built once with a placeholder client address; the replay loop copies each
// frame into a buffer (as the NIC would) and writes the lane's client address into the copy,
// adjusting both checksums incrementally (frame_patch_client). Same cost in every baseline.
//
// Setup code: allocates freely, checksums computed by the tests' naive reference builder
// (tests/dataplane/net/frame_builder.hh), independent of dataplane/net. Read-only afterwards:
// any number of threads may replay one frame_corpus.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::bench {

// Every template frame: no VLAN, IPv4 without options, so the fields sit at fixed offsets.
inline constexpr size_t kFrameIpv4ChecksumOff = 14 + 10;
inline constexpr size_t kFrameIpv4SrcOff = 14 + 12;
inline constexpr size_t kFrameIpv4DstOff = 14 + 16;
inline constexpr size_t kFrameTcpChecksumOff = 14 + 20 + 16;
inline constexpr uint8_t kTemplateClientIp[4] = {10, 0, 0, 1};
inline constexpr uint8_t kServerIp[4] = {198, 18, 0, 2};
inline constexpr uint16_t kClientPort = 40000, kServerPort = 8000;
inline constexpr size_t kMaxFrameBytes = 1600;  // buffers of the replay pool hold any frame

struct frame_desc {
  uint32_t off = 0;          // in the arena, 64-byte aligned
  uint16_t len = 0;          // frame bytes (at least 60: the Ethernet minimum without FCS)
  uint16_t payload = 0;      // TCP payload bytes
  bool from_server = false;  // direction: the client address sits in the destination field
};

struct script {
  uint32_t prologue_first = 0, prologue_count = 0;
  uint32_t loop_first = 0, loop_count = 0;
  uint64_t loop_response_payload = 0;  // server -> client TCP payload bytes per loop pass
  uint64_t loop_request_payload = 0;   // client -> server
};

// How conversations are cut into frames.
struct conversation_shape {
  // TCP payload per frame, both directions (1448: 1500 MTU with timestamps); frames stay within
  // kMaxFrameBytes as long as segment_bytes + 54 + 4 * tcp_option_words does.
  uint32_t segment_bytes = 1448;
  uint8_t tcp_option_words = 3;   // 12 bytes of options, as the timestamp option a 1448 MSS implies
  uint32_t ack_every = 2;         // the client acknowledges every Nth response segment (delayed ACK)
  uint32_t exchanges = 1;         // request/response pairs per connection (HTTP keep-alive when > 1)
};

struct frame_corpus {
  std::unique_ptr<uint8_t[]> storage;
  uint8_t* arena = nullptr;  // 64-byte aligned view into storage
  size_t arena_bytes = 0;
  std::vector<frame_desc> frames;
  std::vector<script> scripts;

  const uint8_t* bytes(const frame_desc& f) const { return arena + f.off; }
};

// Builds scripts into a corpus; take() freezes it.
class frame_corpus_builder {
 public:
  // One script per call; returns its index. Each connection carries `shape.exchanges` copies of
  // request/response pairs taken in order from `responses` (cycled). Client and server ISNs come
  // from `isn_seed`, so scripts differ and a replayed SYN is a new connection.
  uint32_t add_connection(std::string_view request, const std::vector<std::string_view>& responses,
                          const conversation_shape& shape, uint32_t isn_seed);
  // Established flow with no payload: handshake prologue, then client ACK / server ACK forever.
  uint32_t add_ack_only(uint32_t isn_seed, size_t frame_bytes);
  frame_corpus take();

 private:
  uint32_t push(const std::vector<uint8_t>& bytes, uint16_t payload, bool from_server);
  std::vector<uint8_t> arena_;
  frame_corpus out_;
};

// The lane's client address: 10.(1+group).(index/256).(index%256); group separates threads.
struct lane_address {
  uint8_t ip[4] = {};
  uint16_t old_sum = 0;  // ones'-complement sum of kTemplateClientIp
  uint16_t new_sum = 0;  // ... of ip
};
lane_address lane_address_of(uint32_t group, uint32_t index);

// Writes the lane's client address into a copied template frame and adjusts the IPv4 header and
// TCP checksums (RFC 1624). Inline: it runs once per replayed frame.
inline uint16_t frame_fold_adjust(uint16_t checksum, uint16_t old_sum, uint16_t new_sum) {
  uint32_t s = static_cast<uint16_t>(~checksum) + static_cast<uint32_t>(static_cast<uint16_t>(~old_sum)) + new_sum;
  s = (s & 0xFFFF) + (s >> 16);
  s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(~s);
}
inline void frame_patch_checksum(uint8_t* p, uint16_t old_sum, uint16_t new_sum) {
  const uint16_t c = frame_fold_adjust(static_cast<uint16_t>((p[0] << 8) | p[1]), old_sum, new_sum);
  p[0] = static_cast<uint8_t>(c >> 8);
  p[1] = static_cast<uint8_t>(c);
}
inline void frame_patch_client(uint8_t* frame, bool from_server, const lane_address& a) {
  uint8_t* ip = frame + (from_server ? kFrameIpv4DstOff : kFrameIpv4SrcOff);
  ip[0] = a.ip[0], ip[1] = a.ip[1], ip[2] = a.ip[2], ip[3] = a.ip[3];
  frame_patch_checksum(frame + kFrameIpv4ChecksumOff, a.old_sum, a.new_sum);
  frame_patch_checksum(frame + kFrameTcpChecksumOff, a.old_sum, a.new_sum);
}

}  // namespace phigate::bench
