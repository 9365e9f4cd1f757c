#pragma once
// Streaming JSON -> logical text for the scanner.
//
// Every string (keys too: a key name such as "mrn" is context for the value after it) and every
// number is scanned, unescaped and folded, as its own field between separators, so a match never
// runs from one field into the next. In `events` mode (SSE and NDJSON streams), string values
// under model-text keys ("content", "text", "response", ...) instead go to the joined text
// channel without separators, so a value split across token events is one logical run.
// Escapes may be split anywhere across segments; their raw bytes stay "pending" (not final) until
// complete. Pure, per flow, fixed size, no allocation.
#include <cstddef>
#include <cstdint>

#include "dataplane/decode/text_fold.hh"
#include "dataplane/scan/channel.hh"

namespace phigate::decode {

enum class json_error : uint8_t { none, malformed, too_deep, control_in_string };
const char* json_error_name(json_error e);

enum class json_mode : uint8_t {
  document,  // one value; everything on the fields slot
  events,    // model-text values joined on the text slot, everything else on the fields slot
};

inline constexpr uint32_t kJsonMaxDepth = 64;

struct json_state {
  uint64_t stack = 0;          // bit d set: depth d is an object
  uint64_t esc_raw = scan::kNoOffset;  // raw offset of the escape (or surrogate pair) in progress
  uint32_t high_surrogate = 0;
  uint16_t hex = 0;
  uint8_t depth = 0;
  uint8_t mode = 0;            // internal parser state
  uint8_t esc = 0;             // escape sub-state
  uint8_t hex_digits = 0;
  uint8_t role = 0;            // what the current string is: key, field, text
  uint8_t key_len = 0;
  uint8_t key_class = 0;       // class of the last completed key at this level
  uint8_t text_class = 0;      // class of the last text run on the joined slot (kept across values)
  uint8_t lit = 0;             // literal being matched: index into "true"/"false"/"null"
  uint8_t lit_pos = 0;
  bool value_done = false;     // a complete top-level value was seen
  json_error error = json_error::none;
  uint8_t key_buf[20] = {};
  fold_state fold;
};

struct json_slots {
  int text;    // joined model text (events mode)
  int fields;  // everything else
};

void json_init(json_state& j);
// Resets for a new top-level value but keeps text continuity (SSE events, NDJSON lines).
void json_next_value(json_state& j);

// Feeds raw bytes [p, p+n) at stream offset raw. Returns false on a JSON error (json_state::error).
// In events mode several top-level values may follow each other (NDJSON); in document mode a
// second value is an error.
bool json_feed(json_state& j, json_mode mode, const json_slots& slots, scan::scan_scratch& s,
               const uint8_t* p, size_t n, uint64_t raw);
// Whether the input so far ends at a value boundary (nothing open).
bool json_complete(const json_state& j);
// Raw offset of the first byte not yet turned into logical text (escape or UTF-8 in progress).
uint64_t json_pending_raw(const json_state& j);

}  // namespace phigate::decode
