#include "dataplane/scan/start_dfa.hh"

#include <vector>

namespace phigate::scan {
namespace {

bool has_assertion(const regex_tree& t, uint32_t id, std::vector<uint8_t>& seen) {
  if (seen[id]) return false;
  seen[id] = 1;
  const regex_node& n = t.nodes[id];
  switch (n.op) {
    case regex_op::word_boundary:
    case regex_op::not_word_boundary:
    case regex_op::text_begin:
    case regex_op::text_end:
      return true;
    default:
      for (uint32_t k : n.kids)
        if (has_assertion(t, k, seen)) return true;
      return false;
  }
}

}  // namespace

bool start_dfa_build(const regex_tree& tree, bool caseless, start_dfa& out, std::string& why) {
  out = start_dfa{};
  // What the Hyperscan start database compiles, before reversing: R without its trailing
  // assertions (the stream scan checked them at the reported end).
  regex_tree t = regex_tree_drop_trailing_assertions(tree);
  if (t.nodes.empty()) {
    why = "empty expression";
    return false;
  }
  bool leading = false;
  const regex_node& root = t.nodes[t.root];
  if (root.op == regex_op::concat && !root.kids.empty() && t.nodes[root.kids[0]].op == regex_op::word_boundary) {
    leading = true;
    regex_node rest;
    rest.op = regex_op::concat;
    rest.kids.assign(root.kids.begin() + 1, root.kids.end());
    if (rest.kids.empty()) rest.op = regex_op::empty;
    t.nodes.push_back(std::move(rest));
    t.root = static_cast<uint32_t>(t.nodes.size() - 1);
  }
  std::vector<uint8_t> seen(t.nodes.size(), 0);
  if (has_assertion(t, t.root, seen)) {
    why = "assertions other than a leading \\b";
    return false;
  }
  const regex_tree rev = regex_tree_reverse(t);
  const dfa_language lang{&rev, caseless};
  if (!byte_dfa_build({&lang, 1}, out.dfa, why)) return false;
  out.leading_boundary = leading;
  return true;
}

}  // namespace phigate::scan
