#pragma once
// The Thompson NFA that the table automata (scan/byte_dfa.hh, scan/stream_dfa.hh) determinize:
// built from regex_ast trees at setup time, counted repeats expanded. A state has at most one
// byte edge, any number of empty edges and, for \b and \B, conditional empty edges that the
// subset construction resolves with the bytes on either side. Setup code only: it allocates.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/scan/regex_ast.hh"

namespace phigate::scan {

using byte_set = std::array<uint64_t, 4>;
inline bool byte_set_has(const byte_set& s, uint32_t c) { return (s[c >> 6] >> (c & 63)) & 1; }
inline void byte_set_put(byte_set& s, uint32_t c) { s[c >> 6] |= 1ull << (c & 63); }

// Thompson states before determinizing: counted repeats are expanded, so long bounded repeats
// could otherwise take the build's memory and time.
inline constexpr uint32_t kNfaMaxStates = 200000;

enum class nfa_assertion : uint8_t { word_boundary, not_word_boundary };

class thompson_nfa {
 public:
  struct frag {
    uint32_t in, out;
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  uint32_t add();
  void edge(uint32_t a, uint32_t b);
  // The fragment of node `id`. ^ and $ make the NFA bad(); \b and \B become conditional edges.
  frag build(const regex_tree& t, uint32_t id, bool caseless);

  bool over() const { return over_; }       // more than kNfaMaxStates
  bool bad() const { return bad_; }         // ^ or $
  bool asserts() const { return asserts_; } // some \b or \B edge
  size_t size() const { return sets.size(); }

  std::vector<byte_set> sets;  // per state: the bytes of its byte edge
  std::vector<uint32_t> to;    // per state: its byte edge's target, kNone without one
  std::vector<std::vector<uint32_t>> eps;
  std::vector<std::vector<std::pair<uint32_t, nfa_assertion>>> cond;  // \b, \B edges

 private:
  bool over_ = false, bad_ = false, asserts_ = false;
};

// Helpers the determinizing builders share.

// Byte classes: bytes that every byte edge of `nfa` and every set of `extra` treats alike. Fills
// byte_class[256] and returns the number of classes.
uint16_t nfa_byte_classes(const thompson_nfa& nfa, std::span<const byte_set> extra, uint8_t* byte_class);

// Joint classes of two automata's byte classes (for a product): bytes in the same class of both.
// Fills out[256] and, per joint class, its class in a (ca) and in b (cb); returns the count.
uint16_t joint_byte_classes(const uint8_t* a, const uint8_t* b, uint8_t* out, std::vector<uint8_t>& ca,
                            std::vector<uint8_t>& cb);

// Hash of a sorted NFA state set, the key of a DFA state during subset construction.
struct state_set_hash {
  size_t operator()(const std::vector<uint32_t>& v) const {
    uint64_t h = 1469598103934665603ull;
    for (uint32_t x : v) h = (h ^ x) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

}  // namespace phigate::scan
