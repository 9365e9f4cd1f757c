// Parser, printer and transforms for the pattern-set regex subset. Setup code only.
#include "dataplane/scan/regex_ast.hh"

#include <map>
#include <tuple>
#include <utility>

namespace phigate::scan {
namespace {

constexpr uint32_t no_node = UINT32_MAX;

bool is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ---------------------------------------------------------------------------------------
// Parser: recursive descent over alternation > concatenation > quantified atom. Group
// nesting is bounded by regex_max_depth so hostile input cannot exhaust the stack.
class parser {
 public:
  explicit parser(std::string_view s) : s_(s) {}

  regex_parse_result run() {
    regex_parse_result r;
    if (s_.empty()) {
      fail(0, "empty expression");
    } else if (s_.size() > regex_max_expression_bytes) {
      fail(regex_max_expression_bytes, "expression longer than 4096 bytes");
    } else {
      uint32_t root = no_node;
      if (parse_alt(root) && pos_ < s_.size()) {
        fail(pos_, "unmatched ')'");
      }
      tree_.root = root;
    }
    r.ok = err_.empty();
    if (r.ok) {
      r.tree = std::move(tree_);
    } else {
      r.error = std::move(err_);
      r.error_offset = err_off_;
    }
    return r;
  }

 private:
  bool fail(size_t off, std::string reason) {
    if (err_.empty()) {
      err_ = std::move(reason);
      err_off_ = off;
    }
    return false;
  }

  uint32_t add(regex_node n) {
    tree_.nodes.push_back(std::move(n));
    return static_cast<uint32_t>(tree_.nodes.size() - 1);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  uint8_t peek(size_t ahead = 0) const {
    return pos_ + ahead < s_.size() ? static_cast<uint8_t>(s_[pos_ + ahead]) : 0;
  }

  bool parse_alt(uint32_t& out) {
    std::vector<uint32_t> branches;
    for (;;) {
      uint32_t b = no_node;
      if (!parse_concat(b)) return false;
      branches.push_back(b);
      if (!at_end() && peek() == '|') {
        ++pos_;
        continue;
      }
      break;
    }
    if (branches.size() == 1) {
      out = branches[0];
    } else {
      regex_node n;
      n.op = regex_op::alt;
      n.kids = std::move(branches);
      out = add(std::move(n));
    }
    return true;
  }

  bool parse_concat(uint32_t& out) {
    std::vector<uint32_t> items;
    while (!at_end() && peek() != '|' && peek() != ')') {
      uint32_t item = no_node;
      if (!parse_quantified(item)) return false;
      items.push_back(item);
    }
    if (items.size() == 1) {
      out = items[0];
      return true;
    }
    regex_node n;
    n.op = items.empty() ? regex_op::empty : regex_op::concat;
    n.kids = std::move(items);
    out = add(std::move(n));
    return true;
  }

  // Reads {n}, {n,} or {n,m} at pos_ if present. Returns false only on a hard error; sets
  // `found` to tell whether a quantifier was there.
  bool parse_brace(bool& found, uint32_t& lo, uint32_t& hi) {
    found = false;
    size_t p = pos_ + 1;
    auto read_num = [&](uint32_t& v) {
      size_t start = p;
      uint64_t acc = 0;
      while (p < s_.size() && is_digit(static_cast<uint8_t>(s_[p]))) {
        acc = acc * 10 + static_cast<uint8_t>(s_[p]) - '0';
        if (acc > 1000000) acc = 1000000;
        ++p;
      }
      v = static_cast<uint32_t>(acc);
      return p > start;
    };
    uint32_t a = 0, b = 0;
    if (!read_num(a)) return true;
    bool unbounded = false;
    if (p < s_.size() && s_[p] == ',') {
      ++p;
      if (!read_num(b)) unbounded = true;
    } else {
      b = a;
    }
    if (p >= s_.size() || s_[p] != '}') return true;
    found = true;
    if (a > regex_max_repeat || (!unbounded && b > regex_max_repeat)) {
      return fail(pos_, "repeat count above 1000");
    }
    if (!unbounded && b < a) return fail(pos_, "repeat {n,m} with m < n");
    lo = a;
    hi = unbounded ? regex_unbounded : b;
    pos_ = p + 1;
    return true;
  }

  bool parse_quantified(uint32_t& out) {
    bool assertion = false;
    uint32_t atom = no_node;
    if (!parse_atom(atom, assertion)) return false;
    bool quantified = false;
    while (!at_end()) {
      uint8_t c = peek();
      size_t q_off = pos_;
      uint32_t lo = 0, hi = 0;
      if (c == '*') {
        lo = 0, hi = regex_unbounded, ++pos_;
      } else if (c == '+') {
        lo = 1, hi = regex_unbounded, ++pos_;
      } else if (c == '?') {
        lo = 0, hi = 1, ++pos_;
      } else if (c == '{') {
        bool found = false;
        if (!parse_brace(found, lo, hi)) return false;
        if (!found) return fail(q_off, "'{' must be escaped when it is not a quantifier");
      } else {
        break;
      }
      if (assertion) return fail(q_off, "quantifier on an assertion");
      if (quantified) return fail(q_off, "quantifier follows a quantifier; group with (?:...)");
      if (!at_end() && peek() == '?') return fail(pos_, "lazy quantifiers are not supported");
      if (!at_end() && peek() == '+') {
        return fail(pos_, "possessive quantifiers are not supported");
      }
      quantified = true;
      // Hyperscan itself rejects X{0} ("Invalid repeat"); say so with the offset.
      if (hi == 0) return fail(q_off, "repeat {0} matches nothing; remove the item");
      if (!(lo == 1 && hi == 1)) {
        regex_node n;
        n.op = regex_op::repeat;
        n.kids = {atom};
        n.min = lo;
        n.max = hi;
        atom = add(std::move(n));
      }
    }
    out = atom;
    return true;
  }

  bool check_set(const std::vector<char_item>& items, size_t off) {
    for (const char_item& it : items) {
      if (it.kind != char_item_kind::range) continue;
      if (it.lo <= 0x1F && 0x1F <= it.hi) {
        return fail(off, "character set can match the field separator byte 0x1F");
      }
      if (it.hi >= 0x80) return fail(off, "non-ASCII bytes are not supported");
    }
    return true;
  }

  uint32_t add_chars(std::vector<char_item> items) {
    regex_node n;
    n.op = regex_op::chars;
    n.items = std::move(items);
    return add(std::move(n));
  }

  // Escape after a backslash at pos_ (pos_ points at the backslash). Either yields a
  // set item (class escape or single byte) or, outside classes, an assertion.
  bool parse_escape(bool in_class, char_item& item, regex_op& assertion) {
    size_t off = pos_;
    assertion = regex_op::empty;
    if (pos_ + 1 >= s_.size()) return fail(off, "trailing backslash");
    uint8_t c = static_cast<uint8_t>(s_[pos_ + 1]);
    pos_ += 2;
    auto byte = [&](uint8_t v) {
      item = {char_item_kind::range, v, v};
      return true;
    };
    switch (c) {
      case 'd': item = {char_item_kind::digit, 0, 0}; return true;
      case 'w': item = {char_item_kind::word, 0, 0}; return true;
      case 's': item = {char_item_kind::space, 0, 0}; return true;
      case 'D':
      case 'W':
      case 'S':
        return fail(off, "negated class escapes (\\D \\W \\S) are not supported: they match "
                         "the field separator; use a positive class");
      case 'b':
      case 'B':
        if (in_class) return fail(off, "\\b or \\B inside a class is not supported");
        assertion = c == 'b' ? regex_op::word_boundary : regex_op::not_word_boundary;
        return true;
      case 'n': return byte('\n');
      case 'r': return byte('\r');
      case 't': return byte('\t');
      case 'f': return byte('\f');
      case 'x': {
        int h1 = pos_ < s_.size() ? hex_value(static_cast<uint8_t>(s_[pos_])) : -1;
        int h2 = pos_ + 1 < s_.size() ? hex_value(static_cast<uint8_t>(s_[pos_ + 1])) : -1;
        if (h1 < 0 || h2 < 0) return fail(off, "\\x needs exactly two hex digits (\\xHH)");
        pos_ += 2;
        return byte(static_cast<uint8_t>(h1 * 16 + h2));
      }
      case 'k':
      case 'g':
        return fail(off, "backreferences are not supported");
      default:
        break;
    }
    if (c >= '1' && c <= '9') return fail(off, "backreferences are not supported");
    if (is_alnum(c)) return fail(off, "unsupported escape sequence");
    if (c < 0x20 || c >= 0x7F) return fail(off, "escaped control or non-ASCII byte; use \\xHH");
    return byte(c);
  }

  // One set member inside [...]: a byte or a class escape.
  bool parse_class_member(char_item& item) {
    uint8_t c = peek();
    if (c == '\\') {
      regex_op unused;
      return parse_escape(true, item, unused);
    }
    if (c == '[') {
      return fail(pos_, "'[' inside a class must be escaped (POSIX classes are not supported)");
    }
    if (c < 0x20 || c >= 0x7F) return fail(pos_, "control or non-ASCII byte; use \\xHH");
    item = {char_item_kind::range, c, c};
    ++pos_;
    return true;
  }

  bool parse_class(uint32_t& out) {
    size_t open = pos_;
    ++pos_;
    if (!at_end() && peek() == '^') return fail(pos_, "negated classes [^...] are not supported");
    if (!at_end() && peek() == ']') return fail(pos_, "']' first in a class must be escaped");
    std::vector<char_item> items;
    for (;;) {
      if (at_end()) return fail(open, "missing ']'");
      if (peek() == ']') {
        ++pos_;
        break;
      }
      size_t member_off = pos_;
      char_item lo{};
      if (!parse_class_member(lo)) return false;
      bool dash_range = !at_end() && peek() == '-' && pos_ + 1 < s_.size() && s_[pos_ + 1] != ']';
      if (dash_range) {
        if (lo.kind != char_item_kind::range) {
          return fail(member_off, "range starting with a class escape");
        }
        ++pos_;
        char_item hi{};
        size_t hi_off = pos_;
        if (!parse_class_member(hi)) return false;
        if (hi.kind != char_item_kind::range) return fail(hi_off, "range ending with a class escape");
        if (hi.lo < lo.lo) return fail(member_off, "range out of order");
        lo.hi = hi.lo;
      }
      items.push_back(lo);
    }
    if (!check_set(items, open)) return false;
    out = add_chars(std::move(items));
    return true;
  }

  bool parse_group(uint32_t& out) {
    size_t open = pos_;
    ++pos_;
    if (!at_end() && peek() == '?') {
      uint8_t k = peek(1);
      if (k == ':') {
        pos_ += 2;
      } else if (k == '=' || k == '!') {
        return fail(open, "lookahead is not supported");
      } else if (k == '<' && (peek(2) == '=' || peek(2) == '!')) {
        return fail(open, "lookbehind is not supported");
      } else if (k == '<' || k == 'P' || k == '\'') {
        return fail(open, "named groups are not supported; use (?:...)");
      } else if (k == '#') {
        return fail(open, "comments are not supported");
      } else {
        return fail(open, "inline flags and other (?...) constructs are not supported");
      }
    }
    if (++depth_ > regex_max_depth) return fail(open, "groups nested deeper than 32");
    uint32_t inner = no_node;
    if (!parse_alt(inner)) return false;
    if (at_end() || peek() != ')') return fail(open, "missing ')'");
    ++pos_;
    --depth_;
    out = inner;
    return true;
  }

  bool parse_atom(uint32_t& out, bool& assertion) {
    assertion = false;
    uint8_t c = peek();
    size_t off = pos_;
    switch (c) {
      case '(':
        return parse_group(out);
      case '[':
        return parse_class(out);
      case '\\': {
        char_item item{};
        regex_op a = regex_op::empty;
        if (!parse_escape(false, item, a)) return false;
        if (a != regex_op::empty) {
          regex_node n;
          n.op = a;
          out = add(std::move(n));
          assertion = true;
          return true;
        }
        std::vector<char_item> items{item};
        if (!check_set(items, off)) return false;
        out = add_chars(std::move(items));
        return true;
      }
      case '^':
      case '$': {
        ++pos_;
        regex_node n;
        n.op = c == '^' ? regex_op::text_begin : regex_op::text_end;
        out = add(std::move(n));
        assertion = true;
        return true;
      }
      case '.':
        return fail(off, "'.' is not supported (it matches the field separator); use a class");
      case '*':
      case '+':
      case '?':
        return fail(off, "quantifier without a preceding item");
      case '{': {
        bool found = false;
        uint32_t lo = 0, hi = 0;
        size_t save = pos_;
        if (!parse_brace(found, lo, hi)) return false;
        pos_ = save;
        if (found) return fail(off, "quantifier without a preceding item");
        return fail(off, "'{' must be escaped when it is not a quantifier");
      }
      default:
        break;
    }
    if (c < 0x20 || c >= 0x7F) return fail(off, "control or non-ASCII byte; use \\xHH");
    ++pos_;
    out = add_chars({char_item{char_item_kind::range, c, c}});
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  uint32_t depth_ = 0;
  regex_tree tree_;
  std::string err_;
  size_t err_off_ = 0;
};

// ---------------------------------------------------------------------------------------
// Printer.

enum class prec { alt, concat, atom };

void print_byte(uint8_t c, std::string& out) {
  if (is_alnum(c)) {
    out.push_back(static_cast<char>(c));
  } else if (c > 0x20 && c < 0x7F) {
    out.push_back('\\');
    out.push_back(static_cast<char>(c));
  } else {
    static constexpr char hex[] = "0123456789abcdef";
    out += "\\x";
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
}

void print_item(const char_item& it, std::string& out) {
  switch (it.kind) {
    case char_item_kind::digit: out += "\\d"; return;
    case char_item_kind::word: out += "\\w"; return;
    case char_item_kind::space: out += "\\s"; return;
    case char_item_kind::range: break;
  }
  print_byte(it.lo, out);
  if (it.hi == it.lo) return;
  if (it.hi != it.lo + 1) out.push_back('-');
  print_byte(it.hi, out);
}

void print_node(const regex_tree& t, uint32_t id, prec p, std::string& out) {
  const regex_node& n = t.nodes[id];
  switch (n.op) {
    case regex_op::empty:
      out += "(?:)";
      return;
    case regex_op::chars:
      if (n.items.size() == 1 &&
          (n.items[0].kind != char_item_kind::range || n.items[0].lo == n.items[0].hi)) {
        print_item(n.items[0], out);
      } else {
        out.push_back('[');
        for (const char_item& it : n.items) print_item(it, out);
        out.push_back(']');
      }
      return;
    case regex_op::concat: {
      bool wrap = p == prec::atom;
      if (wrap) out += "(?:";
      for (uint32_t k : n.kids) print_node(t, k, prec::concat, out);
      if (wrap) out += ")";
      return;
    }
    case regex_op::alt: {
      bool wrap = p != prec::alt;
      if (wrap) out += "(?:";
      for (size_t i = 0; i < n.kids.size(); ++i) {
        if (i) out.push_back('|');
        print_node(t, n.kids[i], prec::alt, out);
      }
      if (wrap) out += ")";
      return;
    }
    case regex_op::repeat: {
      bool wrap = p == prec::atom;
      if (wrap) out += "(?:";
      print_node(t, n.kids[0], prec::atom, out);
      if (n.min == 0 && n.max == 1) {
        out.push_back('?');
      } else if (n.min == 0 && n.max == regex_unbounded) {
        out.push_back('*');
      } else if (n.min == 1 && n.max == regex_unbounded) {
        out.push_back('+');
      } else {
        out.push_back('{');
        out += std::to_string(n.min);
        if (n.max != n.min) {
          out.push_back(',');
          if (n.max != regex_unbounded) out += std::to_string(n.max);
        }
        out.push_back('}');
      }
      if (wrap) out += ")";
      return;
    }
    case regex_op::word_boundary:
    case regex_op::not_word_boundary:
    case regex_op::text_begin:
    case regex_op::text_end: {
      const char* s = n.op == regex_op::word_boundary       ? "\\b"
                      : n.op == regex_op::not_word_boundary ? "\\B"
                      : n.op == regex_op::text_begin        ? "^"
                                                            : "$";
      if (p == prec::atom) {
        out += "(?:";
        out += s;
        out += ")";
      } else {
        out += s;
      }
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Transforms. Each builds a fresh arena; memo tables keyed by input node index keep shared
// input subtrees shared in the output, and the smart constructors keep the output small.

class builder {
 public:
  regex_tree out;

  uint32_t add(regex_node n) {
    out.nodes.push_back(std::move(n));
    nullable_.push_back(compute_empty(out.nodes.back(), nullable_, false));
    may_be_empty_.push_back(compute_empty(out.nodes.back(), may_be_empty_, true));
    return static_cast<uint32_t>(out.nodes.size() - 1);
  }

  uint32_t empty() {
    if (empty_ == no_node) {
      regex_node n;
      n.op = regex_op::empty;
      empty_ = add(std::move(n));
    }
    return empty_;
  }

  bool is_empty(uint32_t id) const { return out.nodes[id].op == regex_op::empty; }
  // Matches the empty word wherever it is tried. An assertion does not: "\b|" is not "\b".
  bool nullable(uint32_t id) const { return nullable_[id]; }
  // Can match the empty word in some context (assertions count).
  bool may_be_empty(uint32_t id) const { return may_be_empty_[id]; }

  uint32_t concat(const std::vector<uint32_t>& parts) {
    std::vector<uint32_t> kids;
    for (uint32_t k : parts) {
      if (is_empty(k)) continue;
      if (out.nodes[k].op == regex_op::concat) {
        for (uint32_t kk : out.nodes[k].kids) kids.push_back(kk);
      } else {
        kids.push_back(k);
      }
    }
    if (kids.empty()) return empty();
    if (kids.size() == 1) return kids[0];
    regex_node n;
    n.op = regex_op::concat;
    n.kids = std::move(kids);
    return add(std::move(n));
  }

  uint32_t alt(const std::vector<uint32_t>& parts) {
    std::vector<uint32_t> kids;
    bool has_empty = false;
    auto push = [&](uint32_t k) {
      if (is_empty(k)) {
        has_empty = true;
        return;
      }
      for (uint32_t e : kids) {
        if (e == k) return;
      }
      kids.push_back(k);
    };
    for (uint32_t k : parts) {
      if (out.nodes[k].op == regex_op::alt) {
        for (uint32_t kk : out.nodes[k].kids) push(kk);
      } else {
        push(k);
      }
    }
    uint32_t r;
    if (kids.empty()) return empty();
    if (kids.size() == 1) {
      r = kids[0];
    } else {
      regex_node n;
      n.op = regex_op::alt;
      n.kids = std::move(kids);
      r = add(std::move(n));
    }
    return has_empty ? optional(r) : r;
  }

  uint32_t optional(uint32_t id) { return nullable(id) ? id : repeat(id, 0, 1); }

  // Hash-consed, so that structurally equal repeats of one child share an index (which
  // lets prefixer spot prefix-closed elements such as c{0,n} by identity).
  uint32_t repeat(uint32_t id, uint32_t min, uint32_t max) {
    if (max == 0 || is_empty(id)) return empty();
    if (min == 1 && max == 1) return id;
    auto key = std::make_tuple(id, min, max);
    if (auto it = repeats_.find(key); it != repeats_.end()) return it->second;
    regex_node n;
    n.op = regex_op::repeat;
    n.kids = {id};
    n.min = min;
    n.max = max;
    uint32_t r = add(std::move(n));
    repeats_.emplace(key, r);
    return r;
  }

 private:
  static bool compute_empty(const regex_node& n, const std::vector<bool>& kid_empty,
                            bool assertions_empty) {
    switch (n.op) {
      case regex_op::empty:
        return true;
      case regex_op::chars:
        return false;
      case regex_op::concat:
        for (uint32_t k : n.kids) {
          if (!kid_empty[k]) return false;
        }
        return true;
      case regex_op::alt:
        for (uint32_t k : n.kids) {
          if (kid_empty[k]) return true;
        }
        return false;
      case regex_op::repeat:
        return n.min == 0 || kid_empty[n.kids[0]];
      default:
        return assertions_empty;
    }
  }

  std::vector<bool> nullable_;
  std::vector<bool> may_be_empty_;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint32_t> repeats_;
  uint32_t empty_ = no_node;
};

class reverser {
 public:
  explicit reverser(const regex_tree& in) : in_(in), memo_(in.nodes.size(), no_node) {}

  regex_tree run() {
    b_.out.root = rev(in_.root);
    return std::move(b_.out);
  }

 private:
  uint32_t rev(uint32_t id) {
    if (memo_[id] != no_node) return memo_[id];
    const regex_node& n = in_.nodes[id];
    uint32_t r = no_node;
    switch (n.op) {
      case regex_op::concat: {
        std::vector<uint32_t> kids;
        for (auto it = n.kids.rbegin(); it != n.kids.rend(); ++it) kids.push_back(rev(*it));
        r = b_.concat(kids);
        break;
      }
      case regex_op::alt: {
        std::vector<uint32_t> kids;
        for (uint32_t k : n.kids) kids.push_back(rev(k));
        r = b_.alt(kids);
        break;
      }
      case regex_op::repeat:
        r = b_.repeat(rev(n.kids[0]), n.min, n.max);
        break;
      case regex_op::empty:
        r = b_.empty();
        break;
      default: {
        regex_node c = n;
        if (n.op == regex_op::text_begin) c.op = regex_op::text_end;
        if (n.op == regex_op::text_end) c.op = regex_op::text_begin;
        r = b_.add(std::move(c));
        break;
      }
    }
    memo_[id] = r;
    return r;
  }

  const regex_tree& in_;
  builder b_;
  std::vector<uint32_t> memo_;
};

// Pre(c) = c?; Pre(A1..An) = Pre(A1) | A1·Pre(A2..An), with Pre(c·R) = (?:c·Pre(R))? for a
// single-byte c; Pre(A|B) = Pre(A)|Pre(B); Pre(A{m,n}) = A{0,n-1}·Pre(A) (c{0,n} for a
// single byte c). Assertions are dropped everywhere (see the header). Output size is
// O(size x nesting depth): each input node is copied once and pre-closed once.
class prefixer {
 public:
  explicit prefixer(const regex_tree& in)
      : in_(in), copy_memo_(in.nodes.size(), no_node), pre_memo_(in.nodes.size(), no_node) {}

  regex_tree run() {
    b_.out.root = pre(in_.root);
    return std::move(b_.out);
  }

 private:
  // The input subtree with every assertion replaced by the empty word.
  uint32_t copy(uint32_t id) {
    if (copy_memo_[id] != no_node) return copy_memo_[id];
    const regex_node& n = in_.nodes[id];
    uint32_t r = no_node;
    switch (n.op) {
      case regex_op::chars:
        r = b_.add(n);
        break;
      case regex_op::concat: {
        std::vector<uint32_t> kids;
        for (uint32_t k : n.kids) kids.push_back(copy(k));
        r = b_.concat(kids);
        break;
      }
      case regex_op::alt: {
        std::vector<uint32_t> kids;
        for (uint32_t k : n.kids) kids.push_back(copy(k));
        r = b_.alt(kids);
        break;
      }
      case regex_op::repeat:
        r = b_.repeat(copy(n.kids[0]), n.min, n.max);
        break;
      default:
        r = b_.empty();
        break;
    }
    copy_memo_[id] = r;
    return r;
  }

  uint32_t pre(uint32_t id) {
    if (pre_memo_[id] != no_node) return pre_memo_[id];
    const regex_node& n = in_.nodes[id];
    uint32_t r = no_node;
    switch (n.op) {
      case regex_op::chars:
        r = b_.optional(copy(id));
        break;
      case regex_op::alt: {
        std::vector<uint32_t> kids;
        for (uint32_t k : n.kids) kids.push_back(pre(k));
        r = b_.alt(kids);
        break;
      }
      case regex_op::concat: {
        // Built right to left so each element is copied and pre-closed exactly once.
        uint32_t rest = b_.empty();
        for (size_t i = n.kids.size(); i-- > 0;) {
          uint32_t k = n.kids[i];
          uint32_t ck = copy(k);
          if (b_.is_empty(ck)) continue;  // an assertion
          if (i == n.kids.size() - 1 || b_.is_empty(rest)) {
            rest = pre(k);
          } else if (in_.nodes[k].op == regex_op::chars) {
            // c? | c·Pre(R) = (?:c·Pre(R))?  since Pre(R) holds the empty word.
            rest = b_.optional(b_.concat({ck, rest}));
          } else if (pre(k) == ck) {
            // A is its own prefix closure (e.g. c{0,n}): Pre(A) is inside A·Pre(R).
            rest = b_.concat({ck, rest});
          } else {
            rest = b_.alt({pre(k), b_.concat({ck, rest})});
          }
        }
        r = rest;
        break;
      }
      case regex_op::repeat: {
        uint32_t kid = n.kids[0];
        if (n.max == 0) {
          r = b_.empty();
        } else if (in_.nodes[kid].op == regex_op::chars) {
          r = b_.repeat(copy(kid), 0, n.max);
        } else {
          uint32_t head_max = n.max == regex_unbounded ? regex_unbounded : n.max - 1;
          r = b_.concat({b_.repeat(copy(kid), 0, head_max), pre(kid)});
        }
        break;
      }
      default:
        r = b_.empty();
        break;
    }
    pre_memo_[id] = r;
    return r;
  }

  const regex_tree& in_;
  builder b_;
  std::vector<uint32_t> copy_memo_;
  std::vector<uint32_t> pre_memo_;
};

// Copies the tree; assertions that can end a match become the empty word.
class tail_stripper {
 public:
  explicit tail_stripper(const regex_tree& in)
      : in_(in), copy_memo_(in.nodes.size(), no_node), tail_memo_(in.nodes.size(), no_node) {}

  regex_tree run() {
    b_.out.root = tail(in_.root);
    return std::move(b_.out);
  }

 private:
  uint32_t copy(uint32_t id) {
    if (copy_memo_[id] != no_node) return copy_memo_[id];
    const regex_node& n = in_.nodes[id];
    uint32_t r = no_node;
    switch (n.op) {
      case regex_op::concat:
      case regex_op::alt: {
        std::vector<uint32_t> kids;
        for (uint32_t k : n.kids) kids.push_back(copy(k));
        r = n.op == regex_op::concat ? b_.concat(kids) : b_.alt(kids);
        break;
      }
      case regex_op::repeat:
        r = b_.repeat(copy(n.kids[0]), n.min, n.max);
        break;
      case regex_op::empty:
        r = b_.empty();
        break;
      default:
        r = b_.add(n);
        break;
    }
    copy_memo_[id] = r;
    return r;
  }

  uint32_t tail(uint32_t id) {
    if (tail_memo_[id] != no_node) return tail_memo_[id];
    const regex_node& n = in_.nodes[id];
    uint32_t r = no_node;
    switch (n.op) {
      case regex_op::concat: {
        // Right to left while everything to the right can be empty: those kids all touch the
        // end of the match on some path.
        std::vector<uint32_t> kids(n.kids.size(), no_node);
        bool at_tail = true;
        for (size_t i = n.kids.size(); i-- > 0;) {
          kids[i] = at_tail ? tail(n.kids[i]) : copy(n.kids[i]);
          if (!b_.may_be_empty(copy(n.kids[i]))) at_tail = false;
        }
        r = b_.concat(kids);
        break;
      }
      case regex_op::alt: {
        std::vector<uint32_t> kids;
        for (uint32_t k : n.kids) kids.push_back(tail(k));
        r = b_.alt(kids);
        break;
      }
      case regex_op::repeat:
        // Every iteration may be the last one; stripping inside all of them only grows L.
        r = b_.repeat(tail(n.kids[0]), n.min, n.max);
        break;
      case regex_op::chars:
        r = copy(id);
        break;
      default:
        r = b_.empty();  // empty and the assertions themselves
        break;
    }
    tail_memo_[id] = r;
    return r;
  }

  const regex_tree& in_;
  builder b_;
  std::vector<uint32_t> copy_memo_;
  std::vector<uint32_t> tail_memo_;
};

template <typename Transform>
regex_result transform_expr(std::string_view expr, Transform&& f) {
  regex_result r;
  regex_parse_result p = regex_parse(expr);
  if (!p.ok) {
    r.error = std::move(p.error);
    r.error_offset = p.error_offset;
    return r;
  }
  r.expr = regex_print(f(p.tree));
  r.ok = true;
  return r;
}

}  // namespace

regex_parse_result regex_parse(std::string_view expr) { return parser(expr).run(); }

std::string regex_print(const regex_tree& tree) {
  std::string out;
  if (!tree.nodes.empty()) print_node(tree, tree.root, prec::alt, out);
  return out;
}

bool char_items_contain(const std::vector<char_item>& items, uint8_t c) {
  for (const char_item& it : items) {
    switch (it.kind) {
      case char_item_kind::range:
        if (c >= it.lo && c <= it.hi) return true;
        break;
      case char_item_kind::digit:
        if (is_digit(c)) return true;
        break;
      case char_item_kind::word:
        if (is_alnum(c) || c == '_') return true;
        break;
      case char_item_kind::space:
        if (c == ' ' || (c >= '\t' && c <= '\r')) return true;
        break;
    }
  }
  return false;
}

regex_tree regex_tree_reverse(const regex_tree& tree) { return reverser(tree).run(); }
regex_tree regex_tree_prefix_closure(const regex_tree& tree) { return prefixer(tree).run(); }
regex_tree regex_tree_drop_trailing_assertions(const regex_tree& tree) {
  return tail_stripper(tree).run();
}

regex_result regex_normalize(std::string_view expr) {
  return transform_expr(expr, [](const regex_tree& t) -> const regex_tree& { return t; });
}

regex_result regex_reverse(std::string_view expr) {
  return transform_expr(expr, [](const regex_tree& t) { return regex_tree_reverse(t); });
}

regex_result regex_prefix_closure(std::string_view expr) {
  return transform_expr(expr, [](const regex_tree& t) { return regex_tree_prefix_closure(t); });
}

regex_result regex_reverse_prefix_closure(std::string_view expr) {
  return transform_expr(expr, [](const regex_tree& t) {
    return regex_tree_reverse(regex_tree_prefix_closure(t));
  });
}

regex_result regex_reverse_for_start(std::string_view expr) {
  return transform_expr(expr, [](const regex_tree& t) {
    return regex_tree_reverse(regex_tree_drop_trailing_assertions(t));
  });
}

}  // namespace phigate::scan
