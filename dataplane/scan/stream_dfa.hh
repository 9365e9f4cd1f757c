#pragma once
// The forward stream scan as table walks: which stream groups (scan/stream_groups.hh) have a
// match ending where, the question the Hyperscan stream database answers for the scanner
// (scan/channel.hh), which walks these where the database has them (docs/engine.md, "Stream
// automata").
//
// Why: on text dense with numbers Hyperscan keeps many of its bounded-repeat engines active at
// once and scanned us-phi-core's dense JSON at ~15 ns per byte, two thirds of the engine's time
// there (docs/benchmarks.md). A deterministic automaton pays the same per byte whatever the text
// holds: one table load per part.
//
// The language of a group is .*R for each member R (unanchored, as Hyperscan scans), determinized
// with the word boundary assertions resolved on the way: a state remembers whether the last byte
// was a word byte, and \b or \B edges are taken when the next byte is known. So a match whose
// last step is an assertion (a trailing \b) is only known when the next byte arrives, or at the
// end of data, where the next byte counts as a non-word byte, as Hyperscan reports it then. Each
// state carries two report masks: the groups with a match ending here if the next byte is a word
// byte, and if it is not (or the data ends). Groups in both are reported on arrival; the others
// when the next byte (or the end) decides, with the same end offset. That is the set of
// (group, end) reports Hyperscan makes, which tests/dataplane/scan/stream_dfa_test.cc checks.
//
// The union of all groups does not fit one table, so groups are packed in order into parts of at
// most kStreamDfaPartStates states and the walk steps every part on each byte. A group whose
// automaton would be larger (us-phi-core's URL: its path repeat can restart a URL inside itself)
// has none: stream_dfa_build_parts reports which, and Hyperscan scans it.
// ^ and $ are not supported (the build fails; pattern sets use \b).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/scan/regex_ast.hh"

namespace phigate::scan {

// A group whose automaton exceeds this has none. Every pattern compile pays for finding that out
// (us-phi-core's URL: ~12 ms at 4,096 states, ~25 at 8,192), and under ASan the CLI tests pay it
// per run; us-phi-core's largest group (IBAN) has 1,185 states.
inline constexpr uint32_t kStreamDfaMaxStates = 4096;
inline constexpr uint32_t kStreamDfaPartStates = 4096;
inline constexpr uint32_t kStreamDfaMaxParts = 8;
inline constexpr uint32_t kStreamDfaMaxGroups = 32;  // report masks are 32 bits
// Groups left to Hyperscan beside the automata: the scanner's queue that merges their reports
// with the automata's holds one per group and byte of a call for this many. A set with more
// missing groups is scanned by Hyperscan alone.
inline constexpr uint32_t kStreamDfaMaxMissing = 2;

struct stream_dfa {
  uint16_t states = 0;   // 0: no automaton
  uint16_t classes = 0;  // byte classes; word and non-word bytes never share one
  uint16_t start = 0;    // at the start of data (the byte before counts as non-word)
  // States are numbered so that those with any report come last: the walk tests one compare.
  uint16_t first_reporting = 0;
  uint8_t byte_class[256] = {};
  // Class-major: the successor of state s on class c is next[c * states + s], so a step adds the
  // byte's column offset to the state (no multiply on the walk's dependency chain: ~1.25x faster
  // walk). The database blob stores rows (state-major); load and store transpose.
  std::vector<uint16_t> next;
  uint32_t column[256] = {};         // byte_class[b] * states (stream_dfa_set_columns)
  std::vector<uint32_t> ends_word;   // per state: groups whose match ends here, if a word byte follows
  std::vector<uint32_t> ends_other;  // ... if a non-word byte follows or the data ends
};

// The successor of s on class c.
inline uint16_t stream_dfa_next(const stream_dfa& d, uint32_t s, uint32_t c) { return d.next[c * d.states + s]; }

// Setup time: column[] from byte_class and states (after building or loading the tables).
void stream_dfa_set_columns(stream_dfa& d);

struct stream_dfa_language {
  const regex_tree* tree = nullptr;  // a member's forward expression, as parsed
  bool caseless = false;
  uint32_t group = 0;  // < kStreamDfaMaxGroups
};

// Setup time. One automaton for the union of `languages`; false with `why` when it would exceed
// max_states (at most kStreamDfaMaxStates), a tree has ^ or $, a language matches the empty
// string, or a group is out of range. `out` stays empty then.
bool stream_dfa_build(std::span<const stream_dfa_language> languages, stream_dfa& out, std::string& why,
                      uint32_t max_states = kStreamDfaMaxStates);

// Setup time. The automaton of the union of a's and b's languages, by product construction.
// False when it would exceed max_states (`out` empty then).
bool stream_dfa_union(const stream_dfa& a, const stream_dfa& b, stream_dfa& out,
                      uint32_t max_states = kStreamDfaMaxStates);

// Setup time. Parts covering the languages, which come ordered by group; a group's members share
// a part. Groups that fit no automaton are left out and listed in `missing` (their reports must
// come from elsewhere). False with `why` when more than kStreamDfaMaxParts parts would be needed.
bool stream_dfa_build_parts(std::span<const stream_dfa_language> languages, std::vector<stream_dfa>& out,
                            std::vector<uint32_t>& missing, std::string& why);

// Load time: a deserialized automaton refers only to its own states, classes and `groups`.
// nullptr or why not.
const char* stream_dfa_check(const stream_dfa& d, uint32_t groups);

inline bool stream_dfa_is_word(uint8_t c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
}

// Reports of parts in a reporting state, all ending at `end`: with `arrivals`, those decided on
// arrival (the group's match ends there whatever follows); with `next` >= 0, those that waited for
// the byte after the end, judged by it. Out of line and cold: the walk's loop then keeps its
// states in registers (with the report code inline, the compiler kept them in a stack array).
template <uint32_t P, class F>
[[gnu::noinline, gnu::cold]] void stream_dfa_reports(const stream_dfa* parts, const uint32_t* s, bool arrivals,
                                                     int next, uint64_t end, F& report) {
  for (uint32_t k = 0; k < P; ++k) {
    if (s[k] < parts[k].first_reporting) continue;
    const uint32_t w = parts[k].ends_word[s[k]], o = parts[k].ends_other[s[k]];
    if (arrivals)
      for (uint32_t m = w & o; m; m &= m - 1) report(static_cast<uint32_t>(__builtin_ctz(m)), end);
  }
  if (next < 0) return;
  const bool word = stream_dfa_is_word(static_cast<uint8_t>(next));
  for (uint32_t k = 0; k < P; ++k) {
    if (s[k] < parts[k].first_reporting) continue;
    const uint32_t w = parts[k].ends_word[s[k]], o = parts[k].ends_other[s[k]];
    for (uint32_t m = (word ? w : o) & ~(w & o); m; m &= m - 1) report(static_cast<uint32_t>(__builtin_ctz(m)), end);
  }
}

// Hot path. Walks bytes p[0..n) (stream offsets at .. at+n) through `parts` (P of them), states[k]
// being part k's state before p[0] (its start for a new stream). report(group, end) is called for
// each match end in increasing end order. No allocation, no call but the reports.
//
// Each part's table pointers are held in locals: behind `report` the compiler could not keep them
// in registers. A byte costs one add and one dependent table load per part, and one compare;
// reports leave the loop only when some part is in a reporting state. A match end at offset e is
// reported after the step onto byte e-1: first the groups decided on arrival, then, when byte e
// is in this call, those its word-ness decides; when it is not, those wait for the next call (or
// stream_dfa_finish), which judges them before its first step.
template <uint32_t P, class F>
inline void stream_dfa_walk(const stream_dfa* parts, uint16_t* states, const uint8_t* p, size_t n, uint64_t at,
                            F&& report) {
  const uint16_t* next[P];
  const uint32_t* column[P];
  uint32_t first[P], s[P];
  bool pending = false;  // a part is in a reporting state whose deferred reports wait for p[0]
  for (uint32_t k = 0; k < P; ++k) {
    next[k] = parts[k].next.data();
    column[k] = parts[k].column;
    first[k] = parts[k].first_reporting;
    s[k] = states[k];
    pending |= s[k] >= first[k];
  }
  if (n == 0) return;
  if (__builtin_expect(pending, 0)) {
    uint32_t copy[P];
    for (uint32_t k = 0; k < P; ++k) copy[k] = s[k];
    stream_dfa_reports<P>(parts, copy, false, p[0], at, report);
  }
  size_t i = 0;
  while (i < n) {
    // No call inside this loop, so nothing forces the states out of registers.
    bool any = false;
    for (; i < n; ++i) {
      const uint8_t c = p[i];
      for (uint32_t k = 0; k < P; ++k) {
        s[k] = next[k][column[k][c] + s[k]];
        any |= s[k] >= first[k];
      }
      if (__builtin_expect(any, 0)) break;
    }
    if (!any) break;
    uint32_t copy[P];
    for (uint32_t k = 0; k < P; ++k) copy[k] = s[k];
    stream_dfa_reports<P>(parts, copy, true, i + 1 < n ? p[i + 1] : -1, at + i + 1, report);
    ++i;
  }
  for (uint32_t k = 0; k < P; ++k) states[k] = static_cast<uint16_t>(s[k]);
}

template <class F>
inline void stream_dfa_scan(std::span<const stream_dfa> parts, uint16_t* states, const uint8_t* p, size_t n,
                            uint64_t at, F&& report) {
  switch (parts.size()) {
    case 0: return;
    case 1: return stream_dfa_walk<1>(parts.data(), states, p, n, at, report);
    case 2: return stream_dfa_walk<2>(parts.data(), states, p, n, at, report);
    case 3: return stream_dfa_walk<3>(parts.data(), states, p, n, at, report);
    case 4: return stream_dfa_walk<4>(parts.data(), states, p, n, at, report);
    case 5: return stream_dfa_walk<5>(parts.data(), states, p, n, at, report);
    case 6: return stream_dfa_walk<6>(parts.data(), states, p, n, at, report);
    case 7: return stream_dfa_walk<7>(parts.data(), states, p, n, at, report);
    default: return stream_dfa_walk<kStreamDfaMaxParts>(parts.data(), states, p, n, at, report);
  }
}

// End of data at offset `at`: the reports still waiting for a next byte. The states stay as they
// are, so this also probes "what if the data ended here" without disturbing the stream.
template <class F>
inline void stream_dfa_finish(std::span<const stream_dfa> parts, const uint16_t* states, uint64_t at, F&& report) {
  for (size_t k = 0; k < parts.size(); ++k) {
    const uint32_t w = parts[k].ends_word[states[k]], o = parts[k].ends_other[states[k]];
    for (uint32_t m = o & ~(w & o); m; m &= m - 1) report(static_cast<uint32_t>(__builtin_ctz(m)), at);
  }
}

}  // namespace phigate::scan
