// libFuzzer target: the whole engine (HTTP parser, decoders, scanner, masker) over arbitrary
// input in arbitrary segments. PHIGATE_FUZZ_CODEC picks what the input is:
//   0: a raw HTTP response stream (framing, content types, everything)
//   1: a JSON body, 2: an SSE body, 3: an NDJSON body, 4: a text body
// The first input byte seeds the segmentation. Besides memory errors, the engine's own
// contract is checked: a mask must never target a byte that was already declared final.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/scan/pattern_db.hh"
#include "tests/fuzz/core_catalog.hh"
#include "tests/fuzz/release_guard.hh"

#ifndef PHIGATE_FUZZ_CODEC
#define PHIGATE_FUZZ_CODEC 0
#endif

namespace {

using namespace phigate;

struct env {
  std::unique_ptr<scan::pattern_db> db;
  engine::engine_config cfg;
  engine::engine_scratch* x = nullptr;
  engine::flow_engine* f = nullptr;
  env() {
    db = fuzz::core_catalog();
    cfg.db = db.get();
    x = engine::engine_scratch_create(cfg);
    f = new engine::flow_engine();
    if (!x || !engine::flow_engine_setup(*f, cfg)) std::abort();
  }
};

using fuzz::guarded_mask;
using fuzz::release_guard;

env* g_env = nullptr;

}  // namespace

// The catalog compiles here, before libFuzzer times any input: as the first input's lazy setup
// it took seconds under ASan and, on a loaded machine, ran past the 10-second per-input timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_env = new env();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  env& e = *g_env;
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  ++data;
  --size;
  std::vector<uint8_t> stream;
  static const char* kTypes[] = {"", "application/json", "text/event-stream", "application/x-ndjson", "text/plain"};
  if (PHIGATE_FUZZ_CODEC != 0) {
    const std::string head = std::string("HTTP/1.1 200 OK\r\nContent-Type: ") + kTypes[PHIGATE_FUZZ_CODEC] +
                              "\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
    stream.assign(head.begin(), head.end());
  }
  stream.insert(stream.end(), data, data + size);
  engine::flow_engine_reset(*e.f);
  release_guard g{0, &stream};
  engine::engine_sink sink;
  sink.ctx = &g;
  sink.on_mask = guarded_mask;
  static const char kReq[] = "GET / HTTP/1.1\r\nHost: f\r\n\r\n";
  for (int i = 0; i < 4; ++i)
    engine::feed_request(*e.f, *e.x, reinterpret_cast<const uint8_t*>(kReq), sizeof kReq - 1, 0, sink);
  size_t off = 0;
  uint64_t now = 1;
  uint32_t rng = seed * 2654435761u + 1;
  engine::feed_result r;
  while (off < stream.size()) {
    rng = rng * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(stream.size() - off, 1 + (rng >> 16) % 97);
    std::vector<uint8_t> piece(stream.begin() + off, stream.begin() + off + n);  // exact-size heap copy: ASan catches over-reads
    r = engine::feed_response(*e.f, *e.x, piece.data(), piece.size(), now++, sink);
    off += n;
    if (r.error != engine::engine_error::none) return 0;
    if (r.final_offset > off) std::abort();
    g.released = r.final_offset;
    if (seed & 1) {
      r = engine::flush_response(*e.f, *e.x, now++, sink);
      g.released = r.final_offset;
    }
  }
  engine::finish_response(*e.f, *e.x, now, sink);
  return 0;
}
