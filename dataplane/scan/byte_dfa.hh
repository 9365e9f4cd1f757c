#pragma once
// A deterministic automaton over byte classes, compiled from regex_ast trees at setup time and
// walked on the hot path with one table load per byte (no call, no allocation). The scanner asks
// two questions of the text it has already staged that Hyperscan answered with a block scan
// costing ~0.3-1 us per call whatever the text held: how long a tail may still grow into a match
// (scan/hold_dfa.hh) and where a reported match starts (scan/start_dfa.hh).
//
// Built by subset construction over a Thompson NFA (counted repeats expanded), with bytes that
// every edge treats alike merged into classes. No assertions: callers strip or check them.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/scan/regex_ast.hh"

namespace phigate::scan {

inline constexpr uint32_t kByteDfaMaxStates = 16384;

struct byte_dfa {
  uint16_t states = 0;     // 0: no automaton
  uint16_t classes = 0;    // byte classes, 1..256
  uint16_t start = 0;      // state 0 is dead
  uint8_t byte_class[256] = {};
  std::vector<uint8_t> accept;  // per state: 1 when the bytes read so far are a word of the language
  std::vector<uint16_t> next;   // states x classes
};

struct dfa_language {
  const regex_tree* tree = nullptr;  // used as given (no transform); no assertion nodes
  bool caseless = false;             // ASCII letters match either case
};

// Setup time. The automaton of the union of `languages`. Returns false with `why` set when it
// would exceed max_states (at most kByteDfaMaxStates; or the NFA kNfaMaxStates, scan/thompson_nfa.hh), or a tree
// holds an assertion; `out` stays empty then. The build stops as soon as it knows.
bool byte_dfa_build(std::span<const dfa_language> languages, byte_dfa& out, std::string& why,
                    uint32_t max_states = kByteDfaMaxStates);

// Setup time. The automaton of L(a) | L(b) by product construction (pairs of states, accepting
// when either is): far cheaper than determinizing the union's NFA again, and the same automaton
// when a and b come from disjoint NFAs. False when it would exceed max_states (`out` empty).
bool byte_dfa_union(const byte_dfa& a, const byte_dfa& b, byte_dfa& out, uint32_t max_states = kByteDfaMaxStates);

// Load time: a deserialized automaton refers only to its own states and classes. nullptr or why not.
const char* byte_dfa_check(const byte_dfa& d);

}  // namespace phigate::scan
