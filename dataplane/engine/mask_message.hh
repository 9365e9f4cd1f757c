#pragma once
// Drives a flow_engine over one complete response (or bare body) held in memory, the way the
// dataplane drives it over packets: segment by segment, releasing only final bytes, applying
// mask actions to held bytes. Used by `phigate mask`, the pattern example checker, tests and
// benchmarks. Not a hot-path API: it allocates its output.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/engine/flow_engine.hh"

namespace phigate::engine {

struct mask_options {
  bool body_only = false;        // input is a bare body of content_type (no HTTP head)
  std::string content_type;      // with body_only
  std::span<const size_t> segments;  // piece lengths; empty: whole input; the last repeats
  bool flush_after_each = false; // fire the hold timer after every piece (worst-case timing)
};

struct mask_outcome {
  bool ok = false;
  engine_error error = engine_error::none;
  http::error http_error = http::error::none;
  std::vector<uint8_t> output;          // masked input (empty when !ok: nothing unmasked escapes)
  std::vector<scan::finding> findings;  // offsets relative to the input
  uint64_t late_mask_bytes = 0;         // mask bytes that hit already released bytes (must be 0)
  uint64_t held_feeds = 0;              // feeds after which some bytes were held
  uint64_t feeds = 0;
  uint64_t max_held_bytes = 0;
};

// A readable description of a failed outcome (never contains input bytes).
std::string describe_error(const mask_outcome& o);

mask_outcome mask_message(const engine_config& cfg, engine_scratch& x, std::span<const uint8_t> input,
                          const mask_options& opt);

}  // namespace phigate::engine
