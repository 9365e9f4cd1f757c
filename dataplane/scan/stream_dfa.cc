#include "dataplane/scan/stream_dfa.hh"

#include <algorithm>
#include <unordered_map>

#include "dataplane/scan/thompson_nfa.hh"

namespace phigate::scan {
namespace {

// Empty-edge closures for the subset construction. Closure distributes over union, so each NFA
// state's own closure is computed once per mode (plain edges only, or with \b and \B resolved for
// one of the four word classes of the bytes on either side) and a set's closure is the union.
class closures {
 public:
  closures(const thompson_nfa& nfa, std::vector<uint32_t> accept) : b_(nfa), accept_(std::move(accept)) {
    stamp_.assign(b_.size(), 0);
    own_stamp_.assign(b_.size(), 0);
    for (auto& m : own_) m.resize(b_.size());
    for (auto& m : done_) m.assign(b_.size(), 0);
  }

  // prev < 0: plain edges only. Sorted into `out`; `groups` gets the report masks reached.
  void close(const std::vector<uint32_t>& seed, int prev, int next, std::vector<uint32_t>& out, uint32_t& groups) {
    const int mode = prev < 0 ? 0 : 1 + prev * 2 + next;
    out.clear();
    groups = 0;
    ++epoch_;
    for (uint32_t q0 : seed) {
      for (uint32_t q : own(q0, mode, prev, next)) {
        if (stamp_[q] == epoch_) continue;
        stamp_[q] = epoch_;
        out.push_back(q);
        groups |= accept_[q];
      }
    }
    std::sort(out.begin(), out.end());
  }

 private:
  const std::vector<uint32_t>& own(uint32_t q0, int mode, int prev, int next) {
    std::vector<uint32_t>& res = own_[mode][q0];
    if (done_[mode][q0]) return res;
    done_[mode][q0] = 1;
    ++own_epoch_;
    stack_.assign(1, q0);
    own_stamp_[q0] = own_epoch_;
    while (!stack_.empty()) {
      const uint32_t q = stack_.back();
      stack_.pop_back();
      res.push_back(q);
      for (uint32_t r : b_.eps[q]) visit(r);
      if (mode == 0) continue;
      for (const auto& [r, kind] : b_.cond[q])
        if ((prev != next) == (kind == nfa_assertion::word_boundary)) visit(r);
    }
    return res;
  }
  void visit(uint32_t r) {
    if (own_stamp_[r] == own_epoch_) return;
    own_stamp_[r] = own_epoch_;
    stack_.push_back(r);
  }
  const thompson_nfa& b_;
  std::vector<uint32_t> accept_;
  std::vector<uint32_t> stamp_, own_stamp_, stack_;  // stamp_: close()'s union; own_stamp_: own()'s search
  std::vector<std::vector<uint32_t>> own_[5];
  std::vector<uint8_t> done_[5];
  uint32_t epoch_ = 0, own_epoch_ = 0;
};

// Stores an automaton of `count` states, built with its start as state 0, renumbered so that the
// states without reports come first (the walk then tests one compare per byte and part).
void finish(stream_dfa& out, uint32_t count, const std::vector<uint32_t>& next,
            const std::vector<uint32_t>& ends_word, const std::vector<uint32_t>& ends_other) {
  std::vector<uint32_t> order, pos(count);
  for (int pass = 0; pass < 2; ++pass)
    for (uint32_t s = 0; s < count; ++s)
      if (((ends_word[s] | ends_other[s]) != 0) == (pass == 1)) order.push_back(s);
  for (uint32_t i = 0; i < count; ++i) pos[order[i]] = i;
  out.states = static_cast<uint16_t>(count);
  out.start = static_cast<uint16_t>(pos[0]);
  out.first_reporting = static_cast<uint16_t>(count);
  out.next.resize(next.size());
  out.ends_word.resize(count);
  out.ends_other.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t s = order[i];
    if ((ends_word[s] | ends_other[s]) != 0 && out.first_reporting == count) out.first_reporting = static_cast<uint16_t>(i);
    out.ends_word[i] = ends_word[s];
    out.ends_other[i] = ends_other[s];
    for (uint32_t c = 0; c < out.classes; ++c)
      out.next[c * count + i] = static_cast<uint16_t>(pos[next[s * out.classes + c]]);
  }
  stream_dfa_set_columns(out);
}

}  // namespace

bool stream_dfa_build(std::span<const stream_dfa_language> languages, stream_dfa& out, std::string& why,
                      uint32_t max_states) {
  max_states = std::min(max_states, kStreamDfaMaxStates);
  out = stream_dfa{};
  thompson_nfa b;
  const uint32_t start = b.add();
  std::vector<std::pair<uint32_t, uint32_t>> accepting;  // NFA state, group
  for (const stream_dfa_language& l : languages) {
    if (l.group >= kStreamDfaMaxGroups) {
      why = "group " + std::to_string(l.group) + " out of range";
      return false;
    }
    if (l.tree == nullptr || l.tree->nodes.empty()) continue;
    const thompson_nfa::frag f = b.build(*l.tree, l.tree->root, l.caseless);
    b.edge(start, f.in);
    accepting.push_back({f.out, l.group});
  }
  if (b.bad()) {
    why = "^ or $ in an expression";
    return false;
  }
  if (b.over()) {
    why = "more than " + std::to_string(kNfaMaxStates) + " NFA states";
    return false;
  }
  const size_t n = b.size();
  std::vector<uint32_t> accept(n, 0);
  for (const auto& [q, g] : accepting) accept[q] |= 1u << g;

  // Byte classes: bytes that every byte edge treats alike and that are both word bytes or both
  // not (the walk resolves \b with the class of the next byte).
  byte_set word{};
  for (uint32_t c = 0; c < 256; ++c)
    if (stream_dfa_is_word(static_cast<uint8_t>(c))) byte_set_put(word, c);
  out.classes = nfa_byte_classes(b, std::span<const byte_set>(&word, 1), out.byte_class);
  std::vector<uint8_t> rep(out.classes);
  for (int c = 255; c >= 0; --c) rep[out.byte_class[c]] = static_cast<uint8_t>(c);

  // A DFA state: the NFA states reached by plain empty edges after the last byte (the start state
  // always among them: a match may begin anywhere), and whether that byte was a word byte.
  closures cl(b, accept);
  std::unordered_map<std::vector<uint32_t>, uint32_t, state_set_hash> ids;
  std::vector<std::vector<uint32_t>> todo;
  std::vector<uint32_t> set0, set1, key;
  uint32_t groups = 0;
  auto intern = [&](std::vector<uint32_t>&& k) -> int64_t {
    auto it = ids.find(k);
    if (it != ids.end()) return it->second;
    if (todo.size() >= max_states) return -1;
    const uint32_t id = static_cast<uint32_t>(todo.size());
    ids.emplace(k, id);
    todo.push_back(std::move(k));
    return id;
  };
  cl.close({start}, -1, 0, key, groups);
  key.push_back(0);  // before the data: a non-word byte
  intern(std::move(key));
  std::vector<uint32_t> next, ends_word, ends_other, seed;
  for (size_t d = 0; d < todo.size(); ++d) {
    const std::vector<uint32_t> t(todo[d].begin(), todo[d].end() - 1);
    const int prev = static_cast<int>(todo[d].back());
    uint32_t g0 = 0, g1 = 0;
    cl.close(t, prev, 0, set0, g0);
    cl.close(t, prev, 1, set1, g1);
    ends_other.push_back(g0);
    ends_word.push_back(g1);
    next.resize((d + 1) * out.classes, 0);
    for (uint32_t c = 0; c < out.classes; ++c) {
      const bool word = stream_dfa_is_word(rep[c]);
      seed.assign(1, start);  // reused: no allocation per transition (every compile builds these)
      for (uint32_t q : word ? set1 : set0)
        if (b.to[q] != thompson_nfa::kNone && byte_set_has(b.sets[q], rep[c])) seed.push_back(b.to[q]);
      cl.close(seed, -1, 0, key, groups);
      key.push_back(word ? 1 : 0);
      const int64_t id = intern(std::move(key));
      if (id < 0) {
        why = "more than " + std::to_string(max_states) + " states";
        out = stream_dfa{};
        return false;
      }
      next[d * out.classes + c] = static_cast<uint32_t>(id);
    }
  }
  // Hyperscan refuses expressions that match the empty string; so does this (the start state
  // would report before any byte).
  if (ends_word[0] | ends_other[0]) {
    why = "an expression matches the empty string";
    out = stream_dfa{};
    return false;
  }
  finish(out, static_cast<uint32_t>(todo.size()), next, ends_word, ends_other);
  return true;
}

bool stream_dfa_union(const stream_dfa& a, const stream_dfa& b, stream_dfa& out, uint32_t max_states) {
  out = stream_dfa{};
  max_states = std::min(max_states, kStreamDfaMaxStates);
  // Joint classes: bytes in the same class of both (word-ness then agrees too).
  std::vector<uint8_t> ca, cb;  // per joint class: its class in a and in b
  out.classes = joint_byte_classes(a.byte_class, b.byte_class, out.byte_class, ca, cb);
  // Both automata saw the same bytes, so a pair's word-before bits agree: the pair is the state.
  std::unordered_map<uint32_t, uint32_t> ids;
  std::vector<uint32_t> pairs, next, ends_word, ends_other;
  auto intern = [&](uint32_t sa, uint32_t sb) -> int64_t {
    const uint32_t key = sa << 16 | sb;
    auto it = ids.find(key);
    if (it != ids.end()) return it->second;
    if (pairs.size() >= max_states) return -1;
    const uint32_t id = static_cast<uint32_t>(pairs.size());
    ids.emplace(key, id);
    pairs.push_back(key);
    ends_word.push_back(a.ends_word[sa] | b.ends_word[sb]);
    ends_other.push_back(a.ends_other[sa] | b.ends_other[sb]);
    return id;
  };
  intern(a.start, b.start);
  for (size_t d = 0; d < pairs.size(); ++d) {
    const uint32_t sa = pairs[d] >> 16, sb = pairs[d] & 0xffff;
    next.resize((d + 1) * out.classes, 0);
    for (uint32_t c = 0; c < out.classes; ++c) {
      const int64_t id = intern(stream_dfa_next(a, sa, ca[c]), stream_dfa_next(b, sb, cb[c]));
      if (id < 0) {
        out = stream_dfa{};
        return false;
      }
      next[d * out.classes + c] = static_cast<uint32_t>(id);
    }
  }
  finish(out, static_cast<uint32_t>(pairs.size()), next, ends_word, ends_other);
  return true;
}

bool stream_dfa_build_parts(std::span<const stream_dfa_language> languages, std::vector<stream_dfa>& out,
                            std::vector<uint32_t>& missing, std::string& why) {
  out.clear();
  missing.clear();
  std::vector<stream_dfa_language> cur;
  stream_dfa part, solo;
  std::string ignored;
  auto flush = [&]() -> bool {
    if (cur.empty()) return true;
    if (out.size() == kStreamDfaMaxParts) {
      why = "more than " + std::to_string(kStreamDfaMaxParts) + " automata";
      out.clear();
      return false;
    }
    out.push_back(std::move(part));
    part = stream_dfa{};
    cur.clear();
    return true;
  };
  for (size_t k = 0; k < languages.size();) {
    // The group's members: consecutive languages with the same group.
    size_t e = k + 1;
    while (e < languages.size() && languages[e].group == languages[k].group) ++e;
    const std::span<const stream_dfa_language> group = languages.subspan(k, e - k);
    // Alone first: a group that fits no automaton is left to Hyperscan.
    if (!stream_dfa_build(group, solo, ignored, kStreamDfaMaxStates)) {
      missing.push_back(languages[k].group);
      k = e;
      continue;
    }
    // The part grows by product construction while it stays under kStreamDfaPartStates (a
    // subset construction of the joined NFA gives the same automaton at many times the cost).
    stream_dfa joined;
    if (!cur.empty() && part.states <= kStreamDfaPartStates && solo.states <= kStreamDfaPartStates &&
        stream_dfa_union(part, solo, joined, kStreamDfaPartStates)) {
      cur.insert(cur.end(), group.begin(), group.end());
      part = std::move(joined);
    } else {
      if (!flush()) return false;
      cur.assign(group.begin(), group.end());
      part = std::move(solo);
      solo = stream_dfa{};
    }
    k = e;
  }
  return flush();
}

void stream_dfa_set_columns(stream_dfa& d) {
  for (int b = 0; b < 256; ++b) d.column[b] = uint32_t{d.byte_class[b]} * d.states;
}

const char* stream_dfa_check(const stream_dfa& d, uint32_t groups) {
  if (d.states == 0)
    return d.classes == 0 && d.next.empty() && d.ends_word.empty() && d.ends_other.empty() ? nullptr
                                                                                            : "empty automaton with tables";
  if (d.states > kStreamDfaMaxStates) return "too many states";
  if (d.classes == 0 || d.classes > 256) return "bad class count";
  if (d.start >= d.states) return "start state out of range";
  if (d.first_reporting > d.states) return "bad first reporting state";
  if (d.ends_word.size() != d.states || d.ends_other.size() != d.states) return "bad report tables";
  if (d.next.size() != static_cast<size_t>(d.states) * d.classes) return "bad transition table size";
  const uint32_t valid = groups >= 32 ? ~0u : (1u << groups) - 1;
  for (uint32_t s = 0; s < d.states; ++s) {
    const uint32_t any = d.ends_word[s] | d.ends_other[s];
    if (any & ~valid) return "report of a group out of range";
    if ((any != 0) != (s >= d.first_reporting)) return "reporting states out of order";
  }
  if (d.ends_word[d.start] | d.ends_other[d.start]) return "the start state reports";
  for (int c = 0; c < 256; ++c) {
    if (d.byte_class[c] >= d.classes) return "byte class out of range";
    if (d.column[c] != uint32_t{d.byte_class[c]} * d.states) return "column offset disagrees with the byte class";
  }
  // The walk takes a class's word-ness from the byte; a class mixing both would misjudge \b.
  std::vector<int> word(d.classes, -1);
  for (int c = 0; c < 256; ++c) {
    const int w = stream_dfa_is_word(static_cast<uint8_t>(c)) ? 1 : 0;
    int& seen = word[d.byte_class[c]];
    if (seen >= 0 && seen != w) return "a class mixes word and non-word bytes";
    seen = w;
  }
  for (uint16_t s : d.next)
    if (s >= d.states) return "transition out of range";
  return nullptr;
}

}  // namespace phigate::scan
