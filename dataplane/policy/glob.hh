#pragma once
// Globs for policy matching (paths, hosts, model names): `*` matches any run of bytes
// (including '/'), `?` exactly one byte, `\` escapes `* ? \ [ ]`. Brackets are reserved
// (no character classes) so a future class syntax cannot change what an existing policy means.
//
// glob_compile is setup code (allocates, returns the reason as a value). glob_match is hot
// path: pure, no allocation, reads only [text.data(), text.data() + text.size()). Its time is
// O(text * pattern) in the worst case; patterns are capped (glob_max_bytes, glob_max_stars) so
// that bound stays small. A compiled glob is immutable and may be shared by every lcore.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::policy {

inline constexpr size_t glob_max_bytes = 256;
inline constexpr size_t glob_max_stars = 8;

struct glob {
  // Tokens: 0..255 a literal byte (lowercased when case_insensitive), glob_star, glob_any.
  std::vector<uint16_t> tokens;
  bool case_insensitive = false;
  bool literal = true;  // no wildcard: glob_match is a plain (case-folded) comparison
};
inline constexpr uint16_t glob_star = 256;
inline constexpr uint16_t glob_any = 257;

// Returns "" and fills `out`, or the reason the pattern is rejected (the pattern itself is
// never quoted: callers name the rule and field).
std::string glob_compile(std::string_view pattern, bool case_insensitive, glob& out);

bool glob_match(const glob& g, std::string_view text) noexcept;

}  // namespace phigate::policy
