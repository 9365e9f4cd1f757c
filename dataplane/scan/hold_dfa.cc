#include "dataplane/scan/hold_dfa.hh"

namespace phigate::scan {
namespace {

// The automaton of the union of rev(Pre(entry)) over `entries`.
bool build(std::span<const hold_dfa_entry> entries, byte_dfa& out, std::string& why, uint32_t max_states) {
  std::vector<regex_tree> trees;
  trees.reserve(entries.size());
  std::vector<dfa_language> langs;
  for (const hold_dfa_entry& e : entries) {
    trees.push_back(regex_tree_reverse(regex_tree_prefix_closure(*e.tree)));
    langs.push_back({&trees.back(), e.caseless});
  }
  return byte_dfa_build(langs, out, why, max_states);
}

}  // namespace

bool hold_dfa_build_parts(std::span<const hold_dfa_entry> entries, std::vector<byte_dfa>& out, std::string& why) {
  out.clear();
  size_t first = 0;  // entries [first, k) make the part being grown
  byte_dfa cur, next;
  for (size_t k = 0; k < entries.size(); ++k) {
    std::string ignored;
    // Grow the part while it stays small; a failed attempt stops at kHoldDfaPartStates, so the
    // unions that blow up (e-mail with URL, VIN with the number shapes) cost little to find.
    if (k > first) {
      if (cur.states <= kHoldDfaPartStates &&
          build(entries.subspan(first, k + 1 - first), next, ignored, kHoldDfaPartStates)) {
        cur = std::move(next);
        continue;
      }
      out.push_back(std::move(cur));
      first = k;
    }
    // A part of its own, allowed up to the automaton limit (URL alone: 9.8k states).
    if (out.size() == kHoldDfaMaxParts || !build(entries.subspan(k, 1), cur, ignored, kByteDfaMaxStates)) {
      why = out.size() == kHoldDfaMaxParts ? "more than " + std::to_string(kHoldDfaMaxParts) + " automata"
                                           : "pattern " + std::to_string(k) + " alone: " + ignored;
      out.clear();
      return false;
    }
  }
  if (cur.states) out.push_back(std::move(cur));
  return true;
}

}  // namespace phigate::scan
