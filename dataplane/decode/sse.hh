#pragma once
// Server-Sent Events (text/event-stream) -> logical text.
//
// OpenAI-compatible servers (chat.completions `delta.content`, completions `text`) and Anthropic
// messages streaming (`content_block_delta` `delta.text`) send one JSON object per event. The
// model text of consecutive events is ONE logical text (the JSON decoder's events mode joins it),
// so "123", "-45-", "6789" in three events is seen as 123-45-6789. Non-JSON data lines are plain
// text on the joined slot; `[DONE]` is ignored; other fields (event, id, comments) are scanned as
// separate fields. Line ends: CRLF, LF or CR, split anywhere. Pure, per flow, fixed size.
#include <cstddef>
#include <cstdint>

#include "dataplane/decode/json_text.hh"
#include "dataplane/decode/text_fold.hh"

namespace phigate::decode {

enum class sse_error : uint8_t { none, json, unterminated_event };

struct sse_state {
  uint8_t line = 0;         // internal line state
  uint8_t field = 0;        // which field the current line holds
  uint8_t name_len = 0;
  uint8_t data_kind = 0;    // this event's data: undecided, json, text, done-marker, ignored
  uint8_t prefix_len = 0;   // bytes of a data value buffered while deciding its kind
  bool data_lines = false;  // the event has had a data line (for joining lines)
  sse_error error = sse_error::none;
  uint64_t prefix_raw = scan::kNoOffset;
  uint8_t name[8] = {};
  uint8_t prefix[8] = {};
  json_state json;
  fold_state fold;
};

void sse_init(sse_state& s);
bool sse_feed(sse_state& st, const json_slots& slots, scan::scan_scratch& s, const uint8_t* p, size_t n,
              uint64_t raw);
// Body end: an event still open is completed as if a blank line followed.
bool sse_finish(sse_state& st, const json_slots& slots, scan::scan_scratch& s);
uint64_t sse_pending_raw(const sse_state& st);

}  // namespace phigate::decode
