// libFuzzer target: the whole engine (HTTP parser, decoders, scanner, masker) over arbitrary
// input in arbitrary segments. PHIGATE_FUZZ_CODEC picks what the input is:
//   0: a raw HTTP response stream (framing, content types, everything)
//   1: a JSON body, 2: an SSE body, 3: an NDJSON body, 4: a text body
// The first input byte seeds the segmentation. Besides memory errors, the engine's own
// contract is checked: a mask must never target a byte that was already declared final. The
// text variant also puts the hold and start automata (scan/hold_dfa.hh, start_dfa.hh) against
// the Hyperscan databases they stand in for, at the input's end and at a few offsets in it, and
// the stream automata (scan/stream_dfa.hh, with the missing groups' database) against the full
// stream database over the whole input in two pieces.
#include <hs.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
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
  hs_scratch_t* hs = nullptr;  // for the automata check
  env() {
    db = fuzz::core_catalog();
    cfg.db = db.get();
    x = engine::engine_scratch_create(cfg);
    f = new engine::flow_engine();
    hs = db->alloc_scratch();
    if (!x || !hs || !engine::flow_engine_setup(*f, cfg)) std::abort();
  }
};

int on_max(unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  auto* m = static_cast<uint32_t*>(ctx);
  if (to > *m) *m = static_cast<uint32_t>(to);
  return 0;
}

struct lengths {
  uint32_t v[64];
  uint32_t n = 0;
};
int on_end(unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  auto* l = static_cast<lengths*>(ctx);
  if (l->n < 64) l->v[l->n++] = static_cast<uint32_t>(to);
  return 0;
}

// The automata answer exactly what the Hyperscan hold and start databases answer for text that
// ends at `end` (len bytes available before it); aborts otherwise.
void check_automata(const env& e, const uint8_t* end, size_t len) {
  const scan::pattern_db& db = *e.db;
  uint8_t rev[512];
  const uint32_t t = static_cast<uint32_t>(std::min<size_t>(len, db.max_length()));
  for (uint32_t i = 0; i < t; ++i) rev[i] = end[-1 - static_cast<int64_t>(i)];
  uint32_t held = 0;
  if (hs_scan(db.hold_db(), reinterpret_cast<const char*>(rev), t, 0, e.hs, on_max, &held) != HS_SUCCESS) std::abort();
  if (!db.hold_automata().empty() && scan::hold_dfa_longest(db.hold_automata(), end, t) != held) std::abort();
  for (uint32_t id = 0; id < db.patterns().size(); ++id) {
    const scan::start_dfa* a = db.start_automaton(id);
    if (a == nullptr) continue;
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(len, db.patterns()[id].max_length + 1u));
    for (uint32_t i = 0; i < n; ++i) rev[i] = end[-1 - static_cast<int64_t>(i)];
    lengths want, got;
    if (hs_scan(db.start_db(id), reinterpret_cast<const char*>(rev), n, 0, e.hs, on_end, &want) != HS_SUCCESS) std::abort();
    got.n = scan::start_dfa_lengths(*a, end, n, got.v, 64);
    if (got.n != want.n || !std::equal(got.v, got.v + got.n, want.v)) std::abort();
  }
}

struct reports {
  std::vector<std::pair<uint64_t, uint32_t>> v;  // (end, group)
};
int on_report(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  static_cast<reports*>(ctx)->v.push_back({to, id});
  return 0;
}

// The stream automata and the missing groups' stream report what the full stream database
// reports over data[0..size) fed in two pieces (cut at `cut`), end-of-data reports included.
void check_stream(const env& e, const uint8_t* data, size_t size, size_t cut) {
  const scan::pattern_db& db = *e.db;
  if (db.stream_automata().empty()) return;
  auto feed = [&](const hs_database_t* d, reports& out) {
    if (d == nullptr) return;
    hs_stream_t* st = nullptr;
    if (hs_open_stream(d, 0, &st) != HS_SUCCESS) std::abort();
    const char* p = reinterpret_cast<const char*>(data);
    if (hs_scan_stream(st, p, static_cast<unsigned>(cut), 0, e.hs, on_report, &out) != HS_SUCCESS ||
        hs_scan_stream(st, p + cut, static_cast<unsigned>(size - cut), 0, e.hs, on_report, &out) != HS_SUCCESS ||
        hs_close_stream(st, e.hs, on_report, &out) != HS_SUCCESS)
      std::abort();
  };
  reports want, got;
  feed(db.stream_db(), want);
  feed(db.rest_stream_db(), got);
  uint16_t states[scan::kStreamDfaMaxParts];
  for (size_t k = 0; k < db.stream_automata().size(); ++k) states[k] = db.stream_automata()[k].start;
  auto add = [&](uint32_t g, uint64_t end) { got.v.push_back({end, g}); };
  scan::stream_dfa_scan(db.stream_automata(), states, data, cut, 0, add);
  scan::stream_dfa_scan(db.stream_automata(), states, data + cut, size - cut, cut, add);
  scan::stream_dfa_finish(db.stream_automata(), states, size, add);
  for (reports* r : {&want, &got}) {
    std::sort(r->v.begin(), r->v.end());
    r->v.erase(std::unique(r->v.begin(), r->v.end()), r->v.end());
  }
  if (want.v != got.v) std::abort();
}

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
  if (PHIGATE_FUZZ_CODEC == 4) {
    check_automata(e, data + size, size);
    check_stream(e, data, size, size == 0 ? 0 : seed % (size + 1));
    for (uint32_t k = 1, at = seed; k <= 8 && size > 0; ++k) {
      at = at * 2654435761u + k;
      const size_t end = 1 + at % size;
      check_automata(e, data + end, end);
    }
  }
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
