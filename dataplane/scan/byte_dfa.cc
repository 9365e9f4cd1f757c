#include "dataplane/scan/byte_dfa.hh"

#include <algorithm>
#include <unordered_map>

#include "dataplane/scan/thompson_nfa.hh"

namespace phigate::scan {

bool byte_dfa_build(std::span<const dfa_language> languages, byte_dfa& out, std::string& why, uint32_t max_states) {
  max_states = std::min(max_states, kByteDfaMaxStates);
  out = byte_dfa{};
  thompson_nfa b;
  const uint32_t start = b.add();
  std::vector<uint32_t> accepting;
  for (const dfa_language& l : languages) {
    if (l.tree->nodes.empty()) continue;
    const thompson_nfa::frag f = b.build(*l.tree, l.tree->root, l.caseless);
    b.edge(start, f.in);
    accepting.push_back(f.out);
  }
  if (b.bad() || b.asserts()) {
    why = "an assertion in the expression";
    return false;
  }
  if (b.over()) {
    why = "more than " + std::to_string(kNfaMaxStates) + " NFA states";
    return false;
  }
  const size_t n = b.size();
  std::vector<uint8_t> is_accept(n, 0);
  for (uint32_t a : accepting) is_accept[a] = 1;

  // Byte classes: bytes that every byte edge treats alike.
  out.classes = nfa_byte_classes(b, {}, out.byte_class);
  std::vector<uint8_t> rep(out.classes);
  for (int c = 255; c >= 0; --c) rep[out.byte_class[c]] = static_cast<uint8_t>(c);

  // Subset construction. A DFA state is the sorted set of NFA states with a byte edge reached
  // by empty edges, plus whether an accepting state was reached (kNone at the end). Each NFA
  // state's own closure is computed once; a successor set is the union of its targets' closures.
  std::vector<uint32_t> stamp(n, 0);
  uint32_t epoch = 0;
  std::vector<uint32_t> stack;
  std::vector<std::vector<uint32_t>> own(n);  // closure of q: byte-edge states, kNone if accepting
  std::vector<uint8_t> own_done(n, 0);
  auto closure_of = [&](uint32_t q0) -> const std::vector<uint32_t>& {
    if (own_done[q0]) return own[q0];
    ++epoch;
    std::vector<uint32_t>& key = own[q0];
    bool acc = false;
    stack.assign(1, q0);
    stamp[q0] = epoch;
    while (!stack.empty()) {
      const uint32_t q = stack.back();
      stack.pop_back();
      if (b.to[q] != thompson_nfa::kNone) key.push_back(q);
      if (is_accept[q]) acc = true;
      for (uint32_t r : b.eps[q])
        if (stamp[r] != epoch) {
          stamp[r] = epoch;
          stack.push_back(r);
        }
    }
    std::sort(key.begin(), key.end());
    if (acc) key.push_back(thompson_nfa::kNone);
    own_done[q0] = 1;
    return key;
  };
  // Classes each byte-edge state's set covers.
  std::vector<std::vector<uint16_t>> classes_of(n);
  for (size_t q = 0; q < n; ++q) {
    if (b.to[q] == thompson_nfa::kNone) continue;
    for (uint32_t c = 0; c < out.classes; ++c)
      if (byte_set_has(b.sets[q], rep[c])) classes_of[q].push_back(static_cast<uint16_t>(c));
  }
  std::unordered_map<std::vector<uint32_t>, uint16_t, state_set_hash> ids;
  std::vector<std::vector<uint32_t>> todo;
  ids[{}] = 0;  // dead
  todo.emplace_back();
  out.accept.push_back(0);
  auto intern = [&](std::vector<uint32_t>&& key) -> int32_t {
    auto it = ids.find(key);
    if (it != ids.end()) return it->second;
    if (todo.size() >= max_states) return -1;
    const uint16_t id = static_cast<uint16_t>(todo.size());
    out.accept.push_back(!key.empty() && key.back() == thompson_nfa::kNone ? 1 : 0);
    ids.emplace(key, id);
    todo.push_back(std::move(key));
    return id;
  };
  out.start = static_cast<uint16_t>(intern(std::vector<uint32_t>(closure_of(start))));
  std::vector<std::vector<uint32_t>> targets(out.classes);
  std::vector<uint32_t> member_stamp(n, 0);
  uint32_t member_epoch = 0;
  for (size_t d = 0; d < todo.size(); ++d) {
    out.next.resize((d + 1) * out.classes, 0);
    for (auto& t : targets) t.clear();
    for (uint32_t q : todo[d]) {
      if (q == thompson_nfa::kNone) continue;
      for (uint16_t c : classes_of[q]) targets[c].push_back(b.to[q]);
    }
    for (uint32_t c = 0; c < out.classes; ++c) {
      if (targets[c].empty()) continue;  // dead
      ++member_epoch;
      std::vector<uint32_t> key;
      bool acc = false;
      for (uint32_t t : targets[c])
        for (uint32_t q : closure_of(t)) {
          if (q == thompson_nfa::kNone) {
            acc = true;
          } else if (member_stamp[q] != member_epoch) {
            member_stamp[q] = member_epoch;
            key.push_back(q);
          }
        }
      std::sort(key.begin(), key.end());
      if (acc) key.push_back(thompson_nfa::kNone);
      const int32_t id = intern(std::move(key));
      if (id < 0) {
        why = "more than " + std::to_string(max_states) + " states";
        out = byte_dfa{};
        return false;
      }
      out.next[d * out.classes + c] = static_cast<uint16_t>(id);
    }
  }
  out.states = static_cast<uint16_t>(todo.size());
  return true;
}

bool byte_dfa_union(const byte_dfa& a, const byte_dfa& b, byte_dfa& out, uint32_t max_states) {
  out = byte_dfa{};
  max_states = std::min(max_states, kByteDfaMaxStates);
  // Joint classes: bytes in the same class of both.
  std::vector<uint8_t> ca, cb;  // per joint class: its class in a and in b
  out.classes = joint_byte_classes(a.byte_class, b.byte_class, out.byte_class, ca, cb);
  // Pair (0, 0) is the dead state, id 0.
  std::unordered_map<uint32_t, uint16_t> ids;
  std::vector<uint32_t> pairs;
  auto intern = [&](uint32_t sa, uint32_t sb) -> int32_t {
    const uint32_t key = sa << 16 | sb;
    auto it = ids.find(key);
    if (it != ids.end()) return it->second;
    if (pairs.size() >= max_states) return -1;
    const uint16_t id = static_cast<uint16_t>(pairs.size());
    ids.emplace(key, id);
    pairs.push_back(key);
    out.accept.push_back((a.accept[sa] | b.accept[sb]) != 0 ? 1 : 0);
    return id;
  };
  intern(0, 0);
  out.start = static_cast<uint16_t>(intern(a.start, b.start));
  for (size_t d = 0; d < pairs.size(); ++d) {
    const uint32_t sa = pairs[d] >> 16, sb = pairs[d] & 0xffff;
    out.next.resize((d + 1) * out.classes, 0);
    for (uint32_t c = 0; c < out.classes; ++c) {
      const int32_t id = intern(a.next[sa * a.classes + ca[c]], b.next[sb * b.classes + cb[c]]);
      if (id < 0) {
        out = byte_dfa{};
        return false;
      }
      out.next[d * out.classes + c] = static_cast<uint16_t>(id);
    }
  }
  out.states = static_cast<uint16_t>(pairs.size());
  return true;
}

const char* byte_dfa_check(const byte_dfa& d) {
  if (d.states == 0) return d.classes == 0 && d.next.empty() && d.accept.empty() ? nullptr : "empty automaton with tables";
  if (d.states > kByteDfaMaxStates) return "too many states";
  if (d.classes == 0 || d.classes > 256) return "bad class count";
  if (d.start == 0 || d.start >= d.states) return "start state out of range";
  if (d.accept.size() != d.states || d.accept[0] != 0) return "bad accept table";
  if (d.next.size() != static_cast<size_t>(d.states) * d.classes) return "bad transition table size";
  for (int c = 0; c < 256; ++c)
    if (d.byte_class[c] >= d.classes) return "byte class out of range";
  for (uint32_t c = 0; c < d.classes; ++c)
    if (d.next[c] != 0) return "the dead state has a way out";
  for (uint16_t s : d.next)
    if (s >= d.states) return "transition out of range";
  return nullptr;
}

}  // namespace phigate::scan
