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
  byte_dfa cur, solo, next;
  for (size_t k = 0; k < entries.size(); ++k) {
    std::string ignored;
    // Each entry is determinized once, alone (up to the automaton limit: URL's has 9.8k states).
    if (!build(entries.subspan(k, 1), solo, ignored, kByteDfaMaxStates)) {
      why = "pattern " + std::to_string(k) + " alone: " + ignored;
      out.clear();
      return false;
    }
    // The part grows by product construction while it stays under kHoldDfaPartStates; a union
    // that blows up (e-mail with URL, VIN with the number shapes) fails at that size, cheaply.
    if (cur.states != 0 && cur.states <= kHoldDfaPartStates && solo.states <= kHoldDfaPartStates &&
        byte_dfa_union(cur, solo, next, kHoldDfaPartStates)) {
      cur = std::move(next);
      continue;
    }
    if (cur.states != 0) out.push_back(std::move(cur));
    if (out.size() == kHoldDfaMaxParts) {
      why = "more than " + std::to_string(kHoldDfaMaxParts) + " automata";
      out.clear();
      return false;
    }
    cur = std::move(solo);
    solo = byte_dfa{};
  }
  if (cur.states) out.push_back(std::move(cur));
  return true;
}

}  // namespace phigate::scan
