#pragma once
// How one response is masked: which entities, in which style, or not at all. A plain value (no
// pointers into a policy or pattern snapshot), so it can travel from the request decision to the
// response it governs even when the snapshots are swapped in between.
//
// Bits are the loaded pattern_db's entity slots, one per (pattern set, entity) pair
// (pattern_db::entity_mask builds a mask from a profile's sets and entities): bit i of `entities`
// enables slot i. Patterns whose slot has no bit (a db with more than 64 slots) are always
// masked: a profile can only narrow what it can name (fail closed).
#include <cstdint>

namespace phigate::scan {

inline constexpr uint32_t max_entity_bits = 64;
inline constexpr uint64_t all_entities = ~uint64_t{0};
inline constexpr uint8_t no_entity_bit = 0xff;  // pattern_db::entity_bit for patterns past 64

enum class style_override : uint8_t {
  pattern,  // each pattern's own mask style
  alnum,    // letters and digits become '*', punctuation stays
  all,      // every byte of the value becomes '*'
};
const char* style_override_name(style_override s);  // "pattern" | "alnum" | "all"

struct response_mode {
  uint64_t entities = all_entities;  // entities whose matches are masked
  style_override style = style_override::pattern;
  // The response is parsed and scanned (findings counted, fail-closed errors still reset) but no
  // mask is applied: the caller was entitled to the unmasked text.
  bool unmasked = false;
  // pattern_db::serial() of the database `entities` was computed against (0: none, for the
  // default mode). A body that starts on another database (a pattern swap came between the
  // request's decision and its response) masks every entity instead: its bits would name other
  // slots there (fail closed).
  uint32_t db = 0;
};

// Everything masked, each pattern in its own style: the default and the fail-closed fallback.
inline constexpr response_mode default_response_mode{};

}  // namespace phigate::scan
