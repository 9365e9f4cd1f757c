#pragma once
// Defence in depth for recordings: replaces the value of credential headers in a request byte
// stream with the fixed text "[redacted]", whatever its length, so a recording never holds a
// credential even if the dataplane's credential swap missed one.
//
// Why framing-free: every header line of an HTTP/1 message begins right after a line end, so a
// line scanner that never looks at Content-Length or chunk framing cannot be desynchronised by a
// malformed or midstream message; it redacts every line that *looks like* a credential header.
// The price is that a body line shaped like "Cookie: x" is redacted too, which is harmless.
//
// Rules (per line; a line ends at LF, CR is ordinary text outside a redacted value):
// - "<name> <OWS>:" where name (trimmed, case-insensitive) is authorization, proxy-authorization,
//   x-api-key, cookie or a configured extra: everything after the colon and its OWS up to the
//   line end is replaced by "[redacted]" (also an empty value). The CR of the CRLF is kept; a CR
//   not followed by LF is part of the value.
// - A line starting with SP or HT right after a redacted line (obs-fold continuation) is redacted
//   the same way, keeping its leading whitespace.
// All state survives arbitrary segmentation: feeding a stream in any cut gives the same output.
//
// Thread affinity: one redactor per request stream, owned by the thread that feeds it.
// Allocates only when constructed with extra names and when appending to the caller's output.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::recording {

inline constexpr std::string_view redacted_text = "[redacted]";
inline constexpr size_t redactor_max_name_bytes = 64;

class header_redactor {
 public:
  // Extra header names (case-insensitive) redacted besides the four built-in ones; names longer
  // than redactor_max_name_bytes are ignored.
  explicit header_redactor(std::span<const std::string> extra_names = {});

  // Appends the redacted form of `in` to `out`. When `out_index` is not null it is resized to
  // in.size() and out_index[i] is the offset in `out` (relative to its size on entry) of input
  // byte i, or -1 when that byte was removed. Returns true when anything was removed or inserted.
  bool feed(std::span<const uint8_t> in, std::string& out, std::vector<int64_t>* out_index = nullptr);

 private:
  enum class state : uint8_t { line_start, name, value_ows, value, other };
  bool sensitive(std::string_view lowered_name) const;

  std::vector<std::string> extra_;
  state state_ = state::line_start;
  bool last_line_redacted_ = false;
  bool pending_cr_ = false;
  bool name_overflow_ = false;
  uint8_t name_len_ = 0;
  char name_[redactor_max_name_bytes] = {};
};

}  // namespace phigate::recording
