#pragma once
// The hold-back question as table walks. After each feed the scanner asks how many trailing
// bytes of a channel may still grow into a match (pattern_db.hh, hold_db): the longest suffix of
// the text that is a prefix of some match of some entry. Hyperscan answered it with a block scan
// of the reversed tail, and that call cost about 1 us whatever the tail held (every anchored
// entry is an engine of its own to set up), twice per feed: a fifth of the sparse-JSON time.
//
// The same language, rev(Pre(entry)) for every entry with its assertions dropped, compiles into
// byte_dfa automata (scan/byte_dfa.hh). The walk reads the tail backwards from its last byte and
// stops at the dead state, usually after one word: ~10 ns. Built at compile time, serialized with
// the database, checked on load.
//
// One automaton for a whole set can be large (the union of us-phi-core's entries determinizes to
// 33k states x 74 classes, 4.9 MB), so entries are packed in catalog order into parts of at most
// kHoldDfaPartStates states (an entry alone may have up to kByteDfaMaxStates: URL's 9.8k), and
// the answer is the longest of their walks. Each entry is determinized once; parts grow by
// product construction (byte_dfa_union), so a compile stays cheap where rebuilding ever larger
// unions from their NFA took 0.25 s (2.4 s under ASan). us-phi-core: 4 parts, 0.69 MB, ~0.05 s.
// A set that needs more than kHoldDfaMaxParts, or one entry alone too large, gets none and keeps
// the Hyperscan scan; both give the same answer (tests/dataplane/scan/hold_dfa_test.cc).
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/scan/byte_dfa.hh"

namespace phigate::scan {

inline constexpr uint32_t kHoldDfaMaxParts = 8;
// A part grows by the next entry only while it stays under this many states.
inline constexpr uint32_t kHoldDfaPartStates = 4096;

struct hold_dfa_entry {
  const regex_tree* tree = nullptr;  // the entry's expression as parsed (not yet transformed)
  bool caseless = false;
};

// Setup time. Packs rev(Pre(entry)) of `entries` into automata (see above). Returns false with
// `why` set when the set needs more than kHoldDfaMaxParts or an entry alone is too large (out
// stays empty: the caller keeps Hyperscan).
bool hold_dfa_build_parts(std::span<const hold_dfa_entry> entries, std::vector<byte_dfa>& out, std::string& why);

// Hot path. The longest m <= t such that the m bytes before `end` form a suffix held by the
// automaton: reads end[-1], end[-2], ... end[-t] at most, stops at the dead state.
inline uint32_t hold_dfa_longest(const byte_dfa& d, const uint8_t* end, uint32_t t) {
  const uint16_t* next = d.next.data();
  const uint8_t* accept = d.accept.data();
  const uint32_t classes = d.classes;
  uint32_t s = d.start, m = 0;
  for (uint32_t i = 1; i <= t; ++i) {
    s = next[s * classes + d.byte_class[end[-static_cast<int64_t>(i)]]];
    if (s == 0) break;
    if (accept[s]) m = i;
  }
  return m;
}

inline uint32_t hold_dfa_longest(std::span<const byte_dfa> parts, const uint8_t* end, uint32_t t) {
  uint32_t m = 0;
  for (const byte_dfa& d : parts) m = std::max(m, hold_dfa_longest(d, end, t));
  return m;
}

}  // namespace phigate::scan
