#include "dataplane/scan/trigger.hh"

#include <hs.h>

#include <algorithm>

namespace phigate::scan {
namespace {

// How often a byte appears in clinical prose and JSON, roughly; lower is rarer. Only the
// ordering matters: digits and a few punctuation marks make good triggers, letters and spaces
// do not.
uint32_t weight(uint8_t c) {
  if (c >= '0' && c <= '9') return 2;
  if (c >= 'a' && c <= 'z') return 60;
  if (c >= 'A' && c <= 'Z') return 8;
  if (c == ' ' || c == '\n' || c == '\t' || c == '\r') return 200;
  if (c == '.' || c == ',' || c == '"') return 12;
  if (c < 0x20 || c >= 0x7f) return 1;
  return 3;
}

constexpr uint32_t kUnbounded = UINT32_MAX;

uint32_t add(uint32_t a, uint32_t b) { return (a == kUnbounded || b == kUnbounded) ? kUnbounded : a + b; }
uint32_t mul(uint32_t a, uint32_t n) {
  if (a == 0 || n == 0) return 0;
  if (a == kUnbounded || n == kUnbounded || a > kUnbounded / n) return kUnbounded;
  return a * n;
}

struct analyzer {
  const regex_tree& t;
  bool caseless;

  uint32_t max_width(uint32_t id) const {
    const regex_node& n = t.nodes[id];
    switch (n.op) {
      case regex_op::chars: return 1;
      case regex_op::concat: {
        uint32_t w = 0;
        for (uint32_t k : n.kids) w = add(w, max_width(k));
        return w;
      }
      case regex_op::alt: {
        uint32_t w = 0;
        for (uint32_t k : n.kids) w = std::max(w, max_width(k));
        return w;
      }
      case regex_op::repeat: return mul(max_width(n.kids[0]), n.max);
      default: return 0;  // empty and zero-width assertions
    }
  }

  bool nullable(uint32_t id) const {
    const regex_node& n = t.nodes[id];
    switch (n.op) {
      case regex_op::chars: return false;
      case regex_op::concat:
        for (uint32_t k : n.kids)
          if (!nullable(k)) return false;
        return true;
      case regex_op::alt:
        for (uint32_t k : n.kids)
          if (nullable(k)) return true;
        return false;
      case regex_op::repeat: return n.min == 0 || nullable(n.kids[0]);
      default: return true;
    }
  }

  // Adds the bytes a match of node id can begin with.
  void first(uint32_t id, bool* out) const {
    const regex_node& n = t.nodes[id];
    switch (n.op) {
      case regex_op::chars:
        for (int b = 0; b < 256; ++b)
          if (char_items_contain(n.items, static_cast<uint8_t>(b))) {
            out[b] = true;
            if (caseless && ((b | 0x20) >= 'a' && (b | 0x20) <= 'z')) out[b ^ 0x20] = true;
          }
        return;
      case regex_op::concat:
        for (uint32_t k : n.kids) {
          first(k, out);
          if (!nullable(k)) return;
        }
        return;
      case regex_op::alt:
        for (uint32_t k : n.kids) first(k, out);
        return;
      case regex_op::repeat: first(n.kids[0], out); return;
      default: return;
    }
  }

  // The trigger of c may be followed by what follows kids[from..] of a concat.
  void extend_follow(trigger_choice& c, const std::vector<uint32_t>& kids, size_t from) const {
    for (size_t j = from; j < kids.size() && c.may_end; ++j) {
      first(kids[j], c.follow);
      if (!nullable(kids[j])) c.may_end = false;
    }
  }

  static uint32_t score(const trigger_choice& c) {
    uint32_t s = 0;
    for (int b = 0; b < 256; ++b)
      if (c.set[b]) s += weight(static_cast<uint8_t>(b));
    return s;
  }

  std::optional<trigger_choice> req(uint32_t id) const {
    const regex_node& n = t.nodes[id];
    switch (n.op) {
      case regex_op::chars: {
        trigger_choice c;
        for (int b = 0; b < 256; ++b) {
          if (!char_items_contain(n.items, static_cast<uint8_t>(b))) continue;
          c.set[b] = true;
          if (caseless && ((b | 0x20) >= 'a' && (b | 0x20) <= 'z')) c.set[b ^ 0x20] = true;
        }
        c.before = 0;
        c.after = 1;
        c.may_end = true;
        return c;
      }
      case regex_op::concat: {
        std::optional<trigger_choice> best;
        uint32_t best_score = kUnbounded;
        uint32_t prefix = 0;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          if (auto c = req(n.kids[i])) {
            uint32_t suffix = 0;
            for (size_t j = i + 1; j < n.kids.size(); ++j) suffix = add(suffix, max_width(n.kids[j]));
            c->before = add(prefix, c->before);
            c->after = add(c->after, suffix);
            extend_follow(*c, n.kids, i + 1);
            const uint32_t s = score(*c);
            if (c->before != kUnbounded && c->after != kUnbounded &&
                (s < best_score || (s == best_score && c->before + c->after < best->before + best->after))) {
              best = c;
              best_score = s;
            }
          }
          prefix = add(prefix, max_width(n.kids[i]));
        }
        return best;
      }
      case regex_op::alt: {
        trigger_choice u;
        u.may_end = false;
        for (uint32_t k : n.kids) {
          auto c = req(k);
          if (!c) return std::nullopt;  // one branch can avoid every rare byte
          u.may_end = u.may_end || c->may_end;
          for (int b = 0; b < 256; ++b) {
            u.set[b] = u.set[b] || c->set[b];
            u.follow[b] = u.follow[b] || c->follow[b];
          }
          u.before = std::max(u.before, c->before);
          u.after = std::max(u.after, c->after);
        }
        return u;
      }
      case regex_op::repeat: {
        if (n.min == 0) return std::nullopt;
        auto c = req(n.kids[0]);
        if (!c) return std::nullopt;
        // Take the trigger in the first copy: later copies only extend the match to the right.
        if (n.max == regex_unbounded) return std::nullopt;
        c->after = add(c->after, mul(max_width(n.kids[0]), n.max - 1));
        if (c->after == kUnbounded) return std::nullopt;
        if (c->may_end && n.max > 1) first(n.kids[0], c->follow);  // the next copy
        if (n.min > 1) c->may_end = false;
        return c;
      }
      default: return std::nullopt;
    }
  }
};

}  // namespace

std::optional<trigger_choice> trigger_analyze(const regex_tree& tree, unsigned flags) {
  analyzer a{tree, (flags & HS_FLAG_CASELESS) != 0};
  return a.req(tree.root);
}

trigger_table trigger_build(const std::vector<std::pair<std::string, unsigned>>& expressions) {
  trigger_table t;
  bool any[256] = {};
  for (const auto& [expr, flags] : expressions) {
    regex_parse_result p = regex_parse(expr);
    if (!p.ok) return trigger_table{};
    auto c = trigger_analyze(p.tree, flags);
    // A reach beyond 254 would not fit the table (and the engine's window); fall back to full scans.
    if (!c || c->before > 254 || c->after > 254) return trigger_table{};
    for (int b = 0; b < 256; ++b) {
      if (!c->set[b]) continue;
      if (!any[b]) t.confirm[b] = true;
      if (c->may_end) t.confirm[b] = false;
      for (int f = 0; f < 256; ++f)
        if (c->follow[f]) t.follow[b][f >> 6] |= 1ull << (f & 63);
      any[b] = true;
      t.before[b] = std::max<uint8_t>(t.before[b], static_cast<uint8_t>(c->before));
      t.after[b] = std::max<uint8_t>(t.after[b], static_cast<uint8_t>(c->after));
    }
  }
  // Worth it only if prose letters and spaces are not triggers.
  for (int b = 0; b < 256; ++b)
    if (any[b] && ((b >= 'a' && b <= 'z') || b == ' ')) return trigger_table{};
  t.enabled = true;
  return t;
}

}  // namespace phigate::scan
