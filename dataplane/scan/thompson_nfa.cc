#include "dataplane/scan/thompson_nfa.hh"

#include <map>
#include <unordered_map>

namespace phigate::scan {

uint32_t thompson_nfa::add() {
  if (sets.size() >= kNfaMaxStates) {
    over_ = true;
    return 0;
  }
  sets.push_back({});
  to.push_back(kNone);
  eps.emplace_back();
  cond.emplace_back();
  return static_cast<uint32_t>(sets.size() - 1);
}

void thompson_nfa::edge(uint32_t a, uint32_t b) {
  if (!over_) eps[a].push_back(b);
}

thompson_nfa::frag thompson_nfa::build(const regex_tree& t, uint32_t id, bool caseless) {
  if (over_) return {0, 0};
  const regex_node& n = t.nodes[id];
  switch (n.op) {
    case regex_op::empty: {
      const uint32_t s = add();
      return {s, s};
    }
    case regex_op::chars: {
      const uint32_t a = add(), b = add();
      if (over_) return {0, 0};
      byte_set set{};
      for (uint32_t c = 0; c < 256; ++c) {
        if (!char_items_contain(n.items, static_cast<uint8_t>(c))) continue;
        byte_set_put(set, c);
        if (caseless && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
          byte_set_put(set, c | 0x20);
          byte_set_put(set, c & ~0x20u);
        }
      }
      sets[a] = set;
      to[a] = b;
      return {a, b};
    }
    case regex_op::concat: {
      frag f = build(t, n.kids[0], caseless);
      for (size_t k = 1; k < n.kids.size(); ++k) {
        const frag g = build(t, n.kids[k], caseless);
        edge(f.out, g.in);
        f.out = g.out;
      }
      return f;
    }
    case regex_op::alt: {
      const uint32_t s = add(), e = add();
      for (uint32_t kid : n.kids) {
        const frag g = build(t, kid, caseless);
        edge(s, g.in);
        edge(g.out, e);
      }
      return {s, e};
    }
    case regex_op::repeat: {
      const uint32_t s = add();
      uint32_t out = s;
      for (uint32_t k = 0; k < n.min && !over_; ++k) {
        const frag g = build(t, n.kids[0], caseless);
        edge(out, g.in);
        out = g.out;
      }
      const uint32_t e = add();
      if (n.max == regex_unbounded) {
        // X*: a loop through the kid, entered and left at `out`.
        const frag g = build(t, n.kids[0], caseless);
        edge(out, g.in);
        edge(g.out, out);
        edge(out, e);
        return {s, e};
      }
      for (uint32_t k = n.min; k < n.max && !over_; ++k) {
        const frag g = build(t, n.kids[0], caseless);
        edge(out, e);  // stop after k copies
        edge(out, g.in);
        out = g.out;
      }
      edge(out, e);
      return {s, e};
    }
    case regex_op::word_boundary:
    case regex_op::not_word_boundary: {
      const uint32_t a = add(), b = add();
      if (over_) return {0, 0};
      asserts_ = true;
      cond[a].push_back({b, n.op == regex_op::word_boundary ? nfa_assertion::word_boundary
                                                             : nfa_assertion::not_word_boundary});
      return {a, b};
    }
    default:
      // ^ and $: no stream automaton needs them (pattern sets use \b); callers fall back.
      bad_ = true;
      return {add(), add()};
  }
}

uint16_t nfa_byte_classes(const thompson_nfa& nfa, std::span<const byte_set> extra, uint8_t* byte_class) {
  std::vector<byte_set> distinct;
  std::map<byte_set, bool> seen;
  for (size_t q = 0; q < nfa.size(); ++q)
    if (nfa.to[q] != thompson_nfa::kNone && !seen[nfa.sets[q]]) {
      seen[nfa.sets[q]] = true;
      distinct.push_back(nfa.sets[q]);
    }
  distinct.insert(distinct.end(), extra.begin(), extra.end());
  std::map<std::vector<bool>, uint16_t> sig;
  for (uint32_t c = 0; c < 256; ++c) {
    std::vector<bool> v(distinct.size());
    for (size_t k = 0; k < distinct.size(); ++k) v[k] = byte_set_has(distinct[k], c);
    auto [it, fresh] = sig.emplace(std::move(v), static_cast<uint16_t>(sig.size()));
    byte_class[c] = static_cast<uint8_t>(it->second);
  }
  return static_cast<uint16_t>(sig.size());
}

uint16_t joint_byte_classes(const uint8_t* a, const uint8_t* b, uint8_t* out, std::vector<uint8_t>& ca,
                            std::vector<uint8_t>& cb) {
  std::unordered_map<uint32_t, uint16_t> joint;
  ca.clear();
  cb.clear();
  for (uint32_t c = 0; c < 256; ++c) {
    const uint32_t key = uint32_t{a[c]} << 8 | b[c];
    auto [it, fresh] = joint.emplace(key, static_cast<uint16_t>(joint.size()));
    if (fresh) {
      ca.push_back(a[c]);
      cb.push_back(b[c]);
    }
    out[c] = static_cast<uint8_t>(it->second);
  }
  return static_cast<uint16_t>(joint.size());
}

}  // namespace phigate::scan
