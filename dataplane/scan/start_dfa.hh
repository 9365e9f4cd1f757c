#pragma once
// Start recovery as a table walk. Hyperscan's stream scan reports where a match ends; consider()
// (scan/channel.cc) finds where it may start by matching rev(R') anchored at the end over the
// reversed window before it (pattern_db.hh, start_db). That block scan cost 30-60 ns for most
// entries and ~280 ns for e-mail, on every report of dense text (a fifth of the dense-JSON time).
//
// The same language as a byte_dfa (scan/byte_dfa.hh), walked backwards from the end: every
// position where it accepts is a start, as Hyperscan reported them (in increasing length, the
// first kMaxStarts kept). Automata have no assertions, so an entry gets one when its start form
// has none, or only the word boundary that leads R (\b\d{9}: the walk checks it at each
// candidate with the byte before, as Hyperscan checks it at its buffer's edge, where the window
// starts). Entries with other assertions (\b inside an alternative: phone, fax, IPv6) keep the
// Hyperscan start scan; tests/dataplane/scan/start_dfa_test.cc compares the two on every entry.
#include <cstdint>
#include <string>

#include "dataplane/scan/byte_dfa.hh"

namespace phigate::scan {

struct start_dfa {
  byte_dfa dfa;                   // dfa.states == 0: none (the Hyperscan start database answers)
  bool leading_boundary = false;  // R begins with \b: each start must sit on a word boundary
};

// Setup time. The start automaton of an entry whose expression parsed as `tree`. Returns false
// with `why` set when the entry's start form has assertions an automaton cannot check, or is too
// large; `out` is then empty.
bool start_dfa_build(const regex_tree& tree, bool caseless, start_dfa& out, std::string& why);

inline bool start_dfa_is_word(uint8_t c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
}

// Hot path. The lengths m in 1..n, increasing, for which the m bytes before `end` match the
// entry (and, with a leading boundary, sit on one: the byte before them, or the window's edge
// when m == n, is of the other word class). Reads end[-1] .. end[-n]; keeps the first `cap`.
inline uint32_t start_dfa_lengths(const start_dfa& d, const uint8_t* end, uint32_t n, uint32_t* out, uint32_t cap) {
  const uint16_t* next = d.dfa.next.data();
  const uint8_t* accept = d.dfa.accept.data();
  const uint32_t classes = d.dfa.classes;
  uint32_t s = d.dfa.start, k = 0;
  for (uint32_t i = 1; i <= n; ++i) {
    const uint8_t c = end[-static_cast<int64_t>(i)];
    s = next[s * classes + d.dfa.byte_class[c]];
    if (s == 0) break;
    if (!accept[s]) continue;
    if (d.leading_boundary) {
      const bool before = i < n && start_dfa_is_word(end[-static_cast<int64_t>(i) - 1]);
      if (start_dfa_is_word(c) == before) continue;
    }
    if (k < cap) out[k++] = i;
  }
  return k;
}

}  // namespace phigate::scan
