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

  // Guaranteed runs of bytes of one class (trigger_guaranteed_run).
  struct run_info {
    bool all_in;      // every byte of every match is in the class
    uint32_t len;     // shortest match, when all_in
    uint32_t best;    // run every match contains
    uint32_t prefix;  // run every match starts with
    uint32_t suffix;  // run every match ends with
  };

  bool chars_within(const regex_node& n, const bool (&members)[256]) const {
    for (int b = 0; b < 256; ++b) {
      if (!char_items_contain(n.items, static_cast<uint8_t>(b))) continue;
      if (!members[b]) return false;
      if (caseless && ((b | 0x20) >= 'a' && (b | 0x20) <= 'z') && !members[b ^ 0x20]) return false;
    }
    return true;
  }

  run_info run(uint32_t id, const bool (&members)[256]) const {
    const regex_node& n = t.nodes[id];
    switch (n.op) {
      case regex_op::chars: {
        const uint32_t in = chars_within(n, members) ? 1 : 0;
        return {in == 1, 1, in, in, in};
      }
      case regex_op::concat: {
        run_info r{true, 0, 0, 0, 0};
        uint32_t cur = 0;  // run ending at the current kid, carried over all_in kids
        bool in_prefix = true;
        for (uint32_t k : n.kids) {
          const run_info x = run(k, members);
          if (x.all_in) {
            cur = add(cur, x.len);
            if (in_prefix) r.prefix = add(r.prefix, x.len);
            continue;
          }
          r.all_in = false;
          r.best = std::max({r.best, add(cur, x.prefix), x.best});
          if (in_prefix) r.prefix = add(r.prefix, x.prefix);
          in_prefix = false;
          cur = x.suffix;
        }
        r.best = std::max(r.best, cur);
        r.suffix = cur;
        if (r.all_in) r.len = r.best = r.prefix = r.suffix = cur;
        return r;
      }
      case regex_op::alt: {
        run_info r{true, kUnbounded, kUnbounded, kUnbounded, kUnbounded};
        for (uint32_t k : n.kids) {
          const run_info x = run(k, members);
          r.all_in = r.all_in && x.all_in;
          r.len = std::min(r.len, x.all_in ? x.len : 0);
          r.best = std::min(r.best, x.best);
          r.prefix = std::min(r.prefix, x.prefix);
          r.suffix = std::min(r.suffix, x.suffix);
        }
        return r;
      }
      case regex_op::repeat: {
        const run_info x = run(n.kids[0], members);
        if (x.all_in) {
          const uint32_t v = mul(x.len, n.min);
          return {true, v, v, v, v};
        }
        if (n.min == 0) return {false, 0, 0, 0, 0};
        // Copies touch: the suffix of one and the prefix of the next form one run.
        const uint32_t joined = n.min >= 2 ? add(x.suffix, x.prefix) : 0;
        return {false, 0, std::max(x.best, joined), x.prefix, x.suffix};
      }
      default: return {true, 0, 0, 0, 0};  // empty and zero-width assertions
    }
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

uint32_t trigger_guaranteed_run(const regex_tree& tree, unsigned flags, const bool (&members)[256]) {
  analyzer a{tree, (flags & HS_FLAG_CASELESS) != 0};
  const uint32_t r = a.run(tree.root, members).best;
  return r == kUnbounded ? 0 : r;
}

namespace {

// The run classes an expression may be triggered by, narrowest first, and the shortest
// guaranteed run worth using: prose numbers rarely reach four digits in a row ("25 mg", "132/84",
// "37.2 C"), decimals rarely seven bytes of digits and dots, and capitals with digits rarely four
// (acronyms of four capitals do; they are rare next to numbers).
struct run_menu_item {
  bool members[256];
  uint32_t min_useful;
};

run_menu_item menu_item(const char* ranges, uint32_t min_useful) {
  run_menu_item m{};
  for (const char* r = ranges; r[0] && r[1]; r += 2)
    for (int b = static_cast<uint8_t>(r[0]); b <= static_cast<uint8_t>(r[1]); ++b) m.members[b] = true;
  m.min_useful = min_useful;
  return m;
}

const run_menu_item* run_menu(size_t& count) {
  static const run_menu_item items[] = {menu_item("09", 4), menu_item("09..", 7), menu_item("09AZ", 4)};
  count = sizeof(items) / sizeof(items[0]);
  return items;
}

}  // namespace

void trigger_finish(trigger_table& t) {
  t.before_max = 0;
  for (int c = 0; c < 256; ++c) t.before_max = std::max(t.before_max, t.before[c]);
  for (uint32_t j = 0; j < t.run_count && j < kMaxRunClasses; ++j)
    t.before_max = std::max(t.before_max, t.runs[j].before);
  for (int c = 0; c < 256; ++c) {
    uint8_t b = t.after[c] ? 1 : 0;
    for (uint32_t j = 0; j < t.run_count && j < kMaxRunClasses; ++j)
      if (t.runs[j].contains(static_cast<uint8_t>(c))) b |= static_cast<uint8_t>(2u << j);
    t.bits[c] = b;
  }
  t.ranges_ok = true;
  for (uint32_t plane = 0; plane < 1u + t.run_count && plane < 1u + kMaxRunClasses; ++plane) {
    core::byte_ranges& r = t.plane_ranges[plane];
    r = core::byte_ranges{};
    for (int c = 0; c < 256; ++c) {
      if (!((t.bits[c] >> plane) & 1)) continue;
      int hi = c;
      while (hi < 255 && ((t.bits[hi + 1] >> plane) & 1)) ++hi;
      if (!r.add(static_cast<uint8_t>(c), static_cast<uint8_t>(hi))) {
        t.ranges_ok = false;
        break;
      }
      c = hi;
    }
  }
}

trigger_table trigger_build(const std::vector<std::pair<std::string, unsigned>>& expressions) {
  trigger_table t;
  bool any[256] = {};
  size_t menu_count = 0;
  const run_menu_item* menu = run_menu(menu_count);
  int8_t slot_of[kMaxRunClasses] = {-1, -1, -1, -1};  // menu item -> run class index
  for (const auto& [expr, flags] : expressions) {
    regex_parse_result p = regex_parse(expr);
    if (!p.ok) return trigger_table{};
    analyzer a{p.tree, (flags & HS_FLAG_CASELESS) != 0};
    const uint32_t width = a.max_width(p.tree.root);
    bool by_run = false;
    for (size_t m = 0; m < menu_count && m < kMaxRunClasses && width >= 1 && width <= 254; ++m) {
      const uint32_t k = std::min(trigger_guaranteed_run(p.tree, flags, menu[m].members), kMaxRunLength);
      if (k < menu[m].min_useful) continue;
      if (slot_of[m] < 0) {
        slot_of[m] = static_cast<int8_t>(t.run_count++);
        run_class& r = t.runs[slot_of[m]];
        for (int b = 0; b < 256; ++b)
          if (menu[m].members[b]) r.members[b >> 6] |= 1ull << (b & 63);
        r.min_run = kMaxRunLength;
      }
      run_class& r = t.runs[slot_of[m]];
      // The byte where the match's own run reaches min_run lies inside the match.
      r.min_run = std::min<uint8_t>(r.min_run, static_cast<uint8_t>(k));
      r.before = std::max<uint8_t>(r.before, static_cast<uint8_t>(width - 1));
      r.after = std::max<uint8_t>(r.after, static_cast<uint8_t>(width));
      by_run = true;
      break;
    }
    if (by_run) continue;
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
  trigger_finish(t);
  return t;
}

}  // namespace phigate::scan
