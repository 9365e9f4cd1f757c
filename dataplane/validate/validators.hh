#pragma once
// PHI value validators: the second stage after a Hyperscan shape match.
//
// Hyperscan only proves a span has the right *shape*; these functions decide
// whether the span is a plausible real identifier (checksums, reserved ranges,
// calendar validity). They run on the hot path once per candidate finding, so
// every function here is pure: no allocation, no exceptions, no locks, no
// global state, and reads exactly [text, text+len) (safe against a guard page).
// Thread affinity: none; callable concurrently from any lcore.
//
// Input is the engine's "logical text" of the match: ASCII, already
// normalized (fullwidth digits/letters folded, Unicode dashes -> '-',
// zero-width characters removed). Bytes >= 0x80 simply fail validation.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace phigate::validate {

enum class validator : uint8_t {
  none,
  ssn,
  itin,
  mbi,
  npi,
  dea,
  luhn,
  iban,
  aba,
  vin,
  nanp_phone,
  email,
  url,
  ipv4,
  ipv6,
  date,
  zip
};

// Number of enumerators; keeps tables indexed by validator in sync.
inline constexpr size_t validator_count = static_cast<size_t>(validator::zip) + 1;

// Maps the pattern-set name ("ssn", "nanp_phone", ...; exact, lower case) to
// the enumerator. Returns false (and leaves `out` untouched) for unknown names.
bool validator_from_name(std::string_view name, validator& out);

// Stable lower-case name of `v` (static storage); "unknown" for out-of-range.
const char* validator_name(validator v);

// True if `text[0..len)` is a valid value of kind `v`. `validator::none`
// accepts everything (the shape match alone decides). `text` may be null
// only when len == 0.
bool validate(validator v, const uint8_t* text, size_t len);

// Convenience for tests and setup code; same semantics as above.
inline bool validate(validator v, std::string_view text) {
  return validate(v, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace phigate::validate
