#pragma once
// Shared test fixture: the shipped catalog compiled once per test binary, and a driver that feeds a
// response through a flow_engine piece by piece from guarded buffers, exactly like the dataplane:
// bytes below final_offset are "released" (copied to the output) and must never be masked later.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dataplane/engine/flow_engine.hh"
#include "dataplane/mask/mask_action.hh"
#include "dataplane/scan/pattern_db.hh"
#include "tests/support/segmentation.hh"

namespace phigate::test {

struct catalog {
  std::unique_ptr<scan::pattern_db> db;
  engine::engine_config cfg;
  engine::engine_config full;  // cfg with trigger gating off (stays put: the scratch was made from it)
  engine::engine_scratch* x = nullptr;
  engine::engine_scratch* x_full_scan = nullptr;  // same set, trigger gating off (reference)

  // Loads and merges the pattern sets at `paths` (one path: that set alone) into this catalog.
  // In place, because the scratches are made from members.
  void load(const std::vector<std::string>& paths) {
    auto merged = scan::pattern_set_load_all(paths);
    if (auto* e = std::get_if<scan::load_error>(&merged)) {
      ADD_FAILURE() << "catalog: " << e->where << ": " << e->reason;
      return;
    }
    auto r = scan::pattern_db::compile(std::get<scan::pattern_set>(merged));
    if (auto* e = std::get_if<scan::load_error>(&r)) {
      ADD_FAILURE() << "catalog: " << e->where << ": " << e->reason;
      return;
    }
    db = std::move(std::get<0>(r));
    cfg.db = db.get();
    x = engine::engine_scratch_create(cfg);
    full = cfg;
    full.trigger_gating = false;
    x_full_scan = engine::engine_scratch_create(full);
  }
  catalog() = default;
  catalog(const catalog&) = delete;
  catalog& operator=(const catalog&) = delete;
  ~catalog() {
    if (x != nullptr) engine::engine_scratch_destroy(x);
    if (x_full_scan != nullptr) engine::engine_scratch_destroy(x_full_scan);
  }
  // us-phi-core alone, loaded once.
  static catalog& shared() {
    static catalog c;
    static const bool loaded = (c.load({std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json"}), true);
    (void)loaded;
    return c;
  }
  std::string entity(uint32_t pattern) const { return db->patterns()[pattern].entity; }
};

struct run_result {
  bool ok = false;
  engine::engine_error error = engine::engine_error::none;
  std::string released;   // what left the appliance, in order
  std::vector<scan::finding> findings;
  uint64_t late = 0;      // mask bytes aimed below the release watermark: must be 0
  uint64_t mask_actions = 0;
  size_t held_feeds = 0, feeds = 0;
  std::vector<uint64_t> finals;  // final_offset after each feed
};

// Feeds request_count GET requests, then the response cut by `seg`, each piece in a guarded
// buffer. Masks are applied to the held pieces in place; released bytes are copied out. `mode`
// (masking profile, unmasked) is set before the response head, as the session does. `with`: a
// catalog other than the shared us-phi-core one.
inline run_result run_guarded(std::string_view response, const segmentation& seg,
                              scan::flush_mode flush = scan::flush_mode::mask, bool flush_each = false,
                              int requests = 4, bool full_scan = false, const scan::response_mode* mode = nullptr,
                              catalog* with = nullptr) {
  catalog& c = with != nullptr ? *with : catalog::shared();
  if (c.x == nullptr) return {};
  engine::engine_scratch* x = full_scan ? c.x_full_scan : c.x;
  run_result out;
  engine::engine_config cfg = c.cfg;
  cfg.flush = flush;
  auto f = std::make_unique<engine::flow_engine>();
  if (!engine::flow_engine_setup(*f, cfg)) return out;
  struct held_piece { uint8_t* p; size_t n; uint64_t off; };
  struct state {
    std::vector<held_piece> held;
    uint64_t released = 0;
    uint64_t late = 0;
    uint64_t mask_actions = 0;
    std::vector<scan::finding>* findings;
  } st;
  st.findings = &out.findings;
  engine::engine_sink sink;
  sink.ctx = &st;
  sink.on_mask = [](void* ctx, const mask::mask_action& a) {
    auto& s = *static_cast<state*>(ctx);
    ++s.mask_actions;
    if (a.raw_off < s.released) s.late += std::min<uint64_t>(s.released - a.raw_off, a.raw_len);
    for (auto& h : s.held) mask::mask_apply(h.p, h.n, h.off, a);
  };
  sink.on_finding = [](void* ctx, const scan::finding& fd) { static_cast<state*>(ctx)->findings->push_back(fd); };
  const std::string req = "GET /v1/x HTTP/1.1\r\nHost: t\r\n\r\n";
  for (int i = 0; i < requests; ++i)
    engine::feed_request(*f, *x, reinterpret_cast<const uint8_t*>(req.data()), req.size(), 0, sink);
  if (mode != nullptr) engine::set_response_mode(*f, *mode);

  auto release_to = [&](uint64_t fin) {
    // Copy out every held byte below fin, then forget fully released pieces.
    while (st.released < fin) {
      for (auto& h : st.held)
        if (st.released >= h.off && st.released < h.off + h.n) {
          const uint64_t upto = std::min<uint64_t>(fin, h.off + h.n);
          out.released.append(reinterpret_cast<const char*>(h.p + (st.released - h.off)), upto - st.released);
          st.released = upto;
          break;
        }
    }
  };
  uint64_t now = 1000, off = 0;
  engine::feed_result r;
  bool failed = false;
  feed_segmented(response, seg, [&](std::span<uint8_t> piece) {
    if (failed) return;
    st.held.push_back({piece.data(), piece.size(), off});
    off += piece.size();
    r = engine::feed_response(*f, *x, piece.data(), piece.size(), now += 1000, sink);
    ++out.feeds;
    if (r.error != engine::engine_error::none) {
      failed = true;
      return;
    }
    if (r.final_offset < off) ++out.held_feeds;
    out.finals.push_back(r.final_offset);
    if (flush_each && r.final_offset < off) r = engine::flush_response(*f, *x, now += 1000, sink);
    release_to(r.final_offset);
  });
  if (!failed) {
    r = engine::finish_response(*f, *x, now += 1000, sink);
    if (r.error == engine::engine_error::none) release_to(r.final_offset);
  }
  engine::flow_engine_teardown(*f);
  out.error = r.error;
  out.ok = r.error == engine::engine_error::none;
  out.late = st.late;
  out.mask_actions = st.mask_actions;
  return out;
}

// Findings as (raw start, raw end, pattern), order aside: the two channels of an event stream
// report in an order that depends on the pieces.
inline std::multiset<std::tuple<uint64_t, uint64_t, uint32_t>> finding_set(const run_result& r) {
  std::multiset<std::tuple<uint64_t, uint64_t, uint32_t>> out;
  for (const scan::finding& f : r.findings) out.insert({f.raw_start, f.raw_end, f.pattern});
  return out;
}

inline std::string http_response(std::string_view content_type, std::string_view body, bool chunked = false,
                                 size_t chunk = 7) {
  std::string r = "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(content_type) + "\r\n";
  if (!chunked) return r + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  r += "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t i = 0; i < body.size(); i += chunk) {
    const size_t n = std::min(chunk, body.size() - i);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx;ext=1\r\n", n);
    r += hex;
    r.append(body.substr(i, n));
    r += "\r\n";
  }
  return r + "0\r\n\r\n";
}

// An OpenAI chat.completion.chunk event carrying one token.
inline std::string openai_event(std::string_view token_json_escaped) {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
         "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
         std::string(token_json_escaped) + "\"},\"finish_reason\":null}]}\n\n";
}

}  // namespace phigate::test
