// regex_ast: parse/print round trip, error offsets, and property tests of the reverse and
// prefix-closure transforms against Hyperscan block mode on realistic PHI expressions.
#include "dataplane/scan/regex_ast.hh"

#include <gtest/gtest.h>
#include <hs.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace phigate::scan {
namespace {

// A block-mode database compiled from ^(?:expr)\z, answering "does expr match all of w".
// \z, not $: Hyperscan's $ also matches before a final newline, and \s words end in one.
class whole_matcher {
 public:
  whole_matcher(const std::string& expr, unsigned flags) {
    std::string full = "^(?:" + expr + ")\\z";
    hs_compile_error_t* err = nullptr;
    if (hs_compile(full.c_str(), flags | HS_FLAG_SINGLEMATCH, HS_MODE_BLOCK, nullptr, &db_,
                   &err) != HS_SUCCESS) {
      error_ = err ? err->message : "?";
      hs_free_compile_error(err);
      db_ = nullptr;
      return;
    }
    hs_alloc_scratch(db_, &scratch_);
  }
  ~whole_matcher() {
    hs_free_scratch(scratch_);
    hs_free_database(db_);
  }
  bool ok() const { return db_ != nullptr; }
  const std::string& error() const { return error_; }
  bool matches(const std::string& w) const {
    bool hit = false;
    auto cb = [](unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
      *static_cast<bool*>(ctx) = true;
      return 1;
    };
    hs_scan(db_, w.data(), static_cast<unsigned>(w.size()), 0, scratch_, cb, &hit);
    return hit;
  }

 private:
  hs_database_t* db_ = nullptr;
  hs_scratch_t* scratch_ = nullptr;
  std::string error_;
};

std::string reversed(std::string s) {
  std::reverse(s.begin(), s.end());
  return s;
}

// Independent oracle: is w a prefix of some word of the tree's language, assertions read as
// the empty word (the prefix closure drops them by contract)? Backtracking in continuation
// style straight on the tree, sharing nothing with the transform code.
class prefix_oracle {
 public:
  prefix_oracle(const regex_tree& t, const std::string& w, bool caseless = false)
      : t_(t), w_(w), caseless_(caseless) {}
  bool run() {
    return match(t_.root, 0, [&](size_t p) { return p == w_.size(); });
  }

 private:
  using cont = std::function<bool(size_t)>;
  bool match(uint32_t id, size_t pos, const cont& k) {
    if (pos == w_.size()) return true;  // input used up inside a match: the rest can follow
    const regex_node& n = t_.nodes[id];
    switch (n.op) {
      case regex_op::chars:
        return in_set(n.items, static_cast<uint8_t>(w_[pos])) && k(pos + 1);
      case regex_op::concat:
        return seq(n, 0, pos, k);
      case regex_op::alt:
        for (uint32_t kid : n.kids) {
          if (match(kid, pos, k)) return true;
        }
        return false;
      case regex_op::repeat:
        return rep(n, 0, pos, k);
      default:
        return k(pos);
    }
  }
  bool seq(const regex_node& n, size_t i, size_t pos, const cont& k) {
    if (i == n.kids.size()) return k(pos);
    return match(n.kids[i], pos, [&](size_t p) { return seq(n, i + 1, p, k); });
  }
  bool rep(const regex_node& n, uint32_t count, size_t pos, const cont& k) {
    if (count >= n.min && k(pos)) return true;
    if (n.max != regex_unbounded && count >= n.max) return false;
    return match(n.kids[0], pos, [&](size_t p) {
      if (p == pos && count >= n.min) return false;  // no progress: nothing new to find
      return rep(n, count + 1, p, k);
    });
  }
  bool in_set(const std::vector<char_item>& items, uint8_t c) const {
    if (char_items_contain(items, c)) return true;
    if (!caseless_) return false;
    if (c >= 'a' && c <= 'z') return char_items_contain(items, static_cast<uint8_t>(c - 32));
    if (c >= 'A' && c <= 'Z') return char_items_contain(items, static_cast<uint8_t>(c + 32));
    return false;
  }
  const regex_tree& t_;
  const std::string& w_;
  bool caseless_;
};

// Random word of the tree's language (assertions ignored, so the word may fail a \b).
void generate(const regex_tree& t, uint32_t id, std::mt19937& rng, std::string& out) {
  const regex_node& n = t.nodes[id];
  switch (n.op) {
    case regex_op::chars: {
      std::vector<uint8_t> members;
      for (int c = 0; c < 128; ++c) {
        if (char_items_contain(n.items, static_cast<uint8_t>(c))) members.push_back(c);
      }
      out.push_back(static_cast<char>(members[rng() % members.size()]));
      return;
    }
    case regex_op::concat:
      for (uint32_t k : n.kids) generate(t, k, rng, out);
      return;
    case regex_op::alt:
      generate(t, n.kids[rng() % n.kids.size()], rng, out);
      return;
    case regex_op::repeat: {
      uint32_t hi = n.max == regex_unbounded ? n.min + 4 : std::min(n.max, n.min + 6);
      uint32_t count = n.min + rng() % (hi - n.min + 1);
      for (uint32_t i = 0; i < count; ++i) generate(t, n.kids[0], rng, out);
      return;
    }
    default:
      return;
  }
}

// Words of the language plus mutations that mostly fall just outside it.
std::vector<std::string> sample_words(const regex_tree& t, const std::string& alphabet,
                                      uint32_t seed, size_t count) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string w;
    generate(t, t.root, rng, w);
    switch (rng() % 6) {
      case 0:
        break;
      case 1:
        if (!w.empty()) w[rng() % w.size()] = alphabet[rng() % alphabet.size()];
        break;
      case 2:
        if (!w.empty()) w.erase(rng() % w.size(), 1);
        break;
      case 3:
        w.insert(w.begin() + static_cast<long>(rng() % (w.size() + 1)),
                 alphabet[rng() % alphabet.size()]);
        break;
      case 4:
        w.resize(rng() % (w.size() + 1));
        break;
      case 5:
        w.push_back(alphabet[rng() % alphabet.size()]);
        break;
    }
    out.push_back(std::move(w));
  }
  return out;
}

struct phi_expression {
  const char* name;
  const char* expr;
  const char* alphabet;                 // bytes the mutations draw from
  std::vector<std::string> non_prefixes;  // no prefix of any match: Pre must reject them
};

const std::vector<phi_expression>& phi_expressions() {
  static const std::vector<phi_expression> v = {
      {"ssn", R"(\b\d{3}[- .]\d{2}[- .]\d{4}\b)", "0123456789-. xa",
       {"x", "1234", "123-4a", "12-", "123--", "123-45-67890"}},
      {"phone", R"((?:\+?1[-. ]?)?\(?[2-9]\d{2}\)?[-. ]?[2-9]\d{2}[-. ]?\d{4}\b)",
       "0123456789-. ()+x", {"a", "(1", "+2", "415-155", "(415) 555-01234"}},
      {"email", R"(\b[a-z0-9._%+\-]{1,32}@(?:[a-z0-9\-]{1,20}\.){1,4}[a-z]{2,12}\b)",
       "abz09.@-_%+ ", {"@", " a", "a@@", "a@b..", "a@.", "a@b.c_d"}},
      {"date",
       R"(\b(?:(?:0?[1-9]|1[0-2])[/\-](?:0?[1-9]|[12]\d|3[01])[/\-](?:19|20)?\d{2}|(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\.? \d{1,2}(?:st|nd|rd|th)?,? (?:19|20)\d{2})\b)",
       "0123456789/-JanFebDc ., st", {"13/", "0/", "2024-13", "Foo", "Jan 1st, 18", "1/32"}},
      {"nested", R"((?:(?:ab|c(?:de)?)+x){2,3}y?)", "abcdexyz",
       {"b", "ax", "abxabxabxabx", "cdd", "abxy"}},
      {"mrn", R"(\b(?:MRN|mrn)[:# ]{0,3}\d{6,10}\b)", "MRNmrn:# 0123456789x",
       {"MRn", "mrn:::: ", "mrn 12345678901", "x"}},
      {"ipv4", R"(\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b)",
       "0123456789.", {"256", "1.2.3.4.", "1..", "1234"}},
  };
  return v;
}

TEST(regex_ast, parse_print_round_trip_is_stable_and_equivalent) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(\d{3}-\d{2}-\d{4})", R"(\d{3}\-\d{2}\-\d{4})"},
      {"(a|b)c", "(?:a|b)c"},
      {"(?:ab)+", "(?:ab)+"},
      {"a{2,}b{3}c{1,4}d*e+f?", "a{2,}b{3}c{1,4}d*e+f?"},
      {R"([A-Za-z0-9._%+-])", R"([A-Za-z0-9\.\_\%\+\-])"},
      {R"([\d\s\w])", R"([\d\s\w])"},
      {R"(\x41\x2d\t)", R"(A\-\x09)"},
      {"^ab$", "^ab$"},
      {R"(\bx\B)", R"(\bx\B)"},
      {"a b", R"(a\x20b)"},
      {"[ab]", "[ab]"},
      {"[a-b]", "[ab]"},
      {"x{1}", "x"},
      {"((a))", "a"},
      {"a]}", R"(a\]\})"},
  };
  for (const auto& [in, want] : cases) {
    regex_result r = regex_normalize(in);
    ASSERT_TRUE(r.ok) << in << ": " << r.error;
    EXPECT_EQ(r.expr, want) << in;
    regex_result again = regex_normalize(r.expr);
    ASSERT_TRUE(again.ok) << r.expr;
    EXPECT_EQ(again.expr, r.expr) << "printing is not a fixed point for " << in;
  }
  // Semantic equality of input and printed form, decided by Hyperscan.
  for (const phi_expression& p : phi_expressions()) {
    regex_result n = regex_normalize(p.expr);
    ASSERT_TRUE(n.ok) << p.name;
    whole_matcher a(p.expr, 0), b(n.expr, 0);
    ASSERT_TRUE(a.ok() && b.ok()) << p.name << a.error() << b.error();
    regex_parse_result t = regex_parse(p.expr);
    for (const std::string& w : sample_words(t.tree, p.alphabet, 7, 300)) {
      EXPECT_EQ(a.matches(w), b.matches(w)) << p.name << " on " << w;
    }
  }
}

TEST(regex_ast, rejects_unsupported_constructs_with_offsets) {
  struct bad {
    std::string expr;
    size_t offset;
    std::string reason_part;
  };
  const std::vector<bad> cases = {
      {"", 0, "empty"},
      {R"(\d{3}.\d)", 5, "'.'"},
      {"[^0-9]", 1, "negated"},
      {R"(ab\D)", 2, "\\D"},
      {R"(\W)", 0, "\\W"},
      {R"(x\S)", 1, "\\S"},
      {R"((a)\1)", 3, "backreference"},
      {R"(\k<n>)", 0, "backreference"},
      {"(?=a)b", 0, "lookahead"},
      {"(?!a)b", 0, "lookahead"},
      {"(?<=a)b", 0, "lookbehind"},
      {"a(?<!a)b", 1, "lookbehind"},
      {"(?i)abc", 0, "inline flags"},
      {"(?<name>a)", 0, "named"},
      {"a*?", 2, "lazy"},
      {"a{2,3}?", 6, "lazy"},
      {"a++", 2, "possessive"},
      {"a**", 2, "quantifier follows"},
      {"*a", 0, "without a preceding"},
      {"a|+", 2, "without a preceding"},
      {"{2}", 0, "without a preceding"},
      {"a{x}", 1, "'{'"},
      {"a{3,2}", 1, "m < n"},
      {"a{0}", 1, "{0}"},
      {"a{2000}", 1, "above 1000"},
      {R"(\b+)", 2, "assertion"},
      {"^*", 1, "assertion"},
      {"(ab", 0, "missing ')'"},
      {"ab)", 2, "unmatched ')'"},
      {"[ab", 0, "missing ']'"},
      {"[]a]", 1, "']'"},
      {"[z-a]", 1, "out of order"},
      {R"([\d-z])", 1, "class escape"},
      {"[[:digit:]]", 1, "POSIX"},
      {R"([\b])", 1, "inside a class"},
      {R"(\x1f)", 0, "0x1F"},
      {R"([\x00-\x7f])", 0, "0x1F"},
      {R"(\x80)", 0, "non-ASCII"},
      {R"(\xZZ)", 0, "two hex digits"},
      {R"(ab\)", 2, "trailing backslash"},
      {R"(\A)", 0, "unsupported escape"},
      {R"(\p{L})", 0, "unsupported escape"},
      {R"(\v)", 0, "unsupported escape"},
      {"a\tb", 1, "control"},
      {"caf\xc3\xa9", 3, "non-ASCII"},
      {std::string(40, '(') + "a" + std::string(40, ')'), 32, "nested deeper"},
  };
  for (const bad& b : cases) {
    regex_parse_result r = regex_parse(b.expr);
    ASSERT_FALSE(r.ok) << b.expr;
    EXPECT_EQ(r.error_offset, b.offset) << b.expr << ": " << r.error;
    EXPECT_NE(r.error.find(b.reason_part), std::string::npos) << b.expr << ": " << r.error;
    // The public transforms report the same error.
    regex_result t = regex_reverse_prefix_closure(b.expr);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.error_offset, b.offset);
  }
  EXPECT_FALSE(regex_parse(std::string(5000, 'a')).ok);
}

TEST(regex_ast, transforms_print_expected_shapes) {
  EXPECT_EQ(regex_reverse(R"(\b\d{3}-\d{2}\b)").expr, R"(\b\d{2}\-\d{3}\b)");
  EXPECT_EQ(regex_reverse("^ab$").expr, "^ba$");
  EXPECT_EQ(regex_reverse("(?:ab|cd)+e").expr, "e(?:ba|dc)+");
  EXPECT_EQ(regex_prefix_closure("abc").expr, "(?:a(?:bc?)?)?");
  EXPECT_EQ(regex_prefix_closure(R"(\d{3})").expr, R"(\d{0,3})");
  EXPECT_EQ(regex_prefix_closure(R"(\b\d+x$)").expr, R"(\d*|\d+x?)");  // assertions dropped
  EXPECT_EQ(regex_reverse_prefix_closure(R"(\d{3}-\d{2})").expr, R"(\d{0,3}|(?:\d{0,2}\-)?\d{3})")
      << regex_reverse_prefix_closure(R"(\d{3}-\d{2})").expr;
}

// Regression (found by random-expression fuzzing): "X|(empty)" was simplified to X when X
// could match empty, but an assertion matches empty only where it holds: rev("\b|") came
// out as "\b", which rejects the empty word between two letters.
TEST(regex_ast, assertions_are_not_unconditionally_empty) {
  EXPECT_EQ(regex_reverse(R"(\b|)").expr, R"((?:\b)?)");
  EXPECT_EQ(regex_reverse(R"(a|\b|)").expr, R"((?:a|\b)?)");
  whole_matcher m("x(?:" + regex_reverse(R"(\b|)").expr + ")y", 0);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_TRUE(m.matches("xy"));
}

TEST(regex_ast, prefix_closure_stays_small_on_deep_and_long_inputs) {
  // Naive Pre(AB) = Pre(A) | A·Pre(B) without sharing doubles per nesting level.
  std::string deep = "x";
  for (int i = 0; i < 20; ++i) deep = "(?:a" + deep + "b){1,2}";
  regex_result r = regex_reverse_prefix_closure(deep);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_LT(r.expr.size(), 40 * deep.size());
  std::string longlit(400, 'q');
  regex_result l = regex_prefix_closure(longlit);
  ASSERT_TRUE(l.ok);
  EXPECT_LT(l.expr.size(), 10 * longlit.size());
  whole_matcher m(l.expr, HS_FLAG_ALLOWEMPTY);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_TRUE(m.matches(std::string(123, 'q')));
  EXPECT_FALSE(m.matches(std::string(401, 'q')));
}

// The properties the engine relies on, for an expression R (with Hyperscan flags):
//   ^(?:R)$ matches w            <=>  ^(?:rev(R))$ matches reverse(w)
//   w a prefix of a match         =>  ^(?:Pre(R))$ matches w and ^(?:revPre(R))$ reverse(w)
// and, stronger than needed, Pre is exact: it matches w iff the independent oracle says w is
// a prefix of a word of R (assertions read as empty), so it is not "everything".
struct property_counts {
  size_t matched = 0, unmatched = 0, prefix_yes = 0, prefix_no = 0;
};
void check_properties(const std::string& expr, unsigned flags, const std::string& alphabet,
                      size_t samples, property_counts& counts) {
  regex_parse_result parsed = regex_parse(expr);
  ASSERT_TRUE(parsed.ok) << parsed.error;
  regex_result rev = regex_reverse(expr);
  regex_result pre = regex_prefix_closure(expr);
  regex_result rpre = regex_reverse_prefix_closure(expr);
  ASSERT_TRUE(rev.ok && pre.ok && rpre.ok);
  whole_matcher fwd_m(expr, flags), rev_m(rev.expr, flags);
  whole_matcher pre_m(pre.expr, flags | HS_FLAG_ALLOWEMPTY);
  whole_matcher rpre_m(rpre.expr, flags | HS_FLAG_ALLOWEMPTY);
  ASSERT_TRUE(fwd_m.ok()) << fwd_m.error();
  ASSERT_TRUE(rev_m.ok()) << rev.expr << ": " << rev_m.error();
  ASSERT_TRUE(pre_m.ok()) << pre.expr << ": " << pre_m.error();
  ASSERT_TRUE(rpre_m.ok()) << rpre.expr << ": " << rpre_m.error();
  // Start form: rev(R without trailing assertions); compare against that language forward.
  regex_result start = regex_reverse_for_start(expr);
  ASSERT_TRUE(start.ok);
  whole_matcher start_m(start.expr, flags);
  whole_matcher dropped_m(regex_print(regex_tree_drop_trailing_assertions(parsed.tree)), flags);
  ASSERT_TRUE(start_m.ok()) << start.expr << ": " << start_m.error();
  ASSERT_TRUE(dropped_m.ok()) << dropped_m.error();
  bool caseless = (flags & HS_FLAG_CASELESS) != 0;
  std::set<std::string> seen;
  for (const std::string& w : sample_words(parsed.tree, alphabet, 1234, samples)) {
    if (!seen.insert(w).second) continue;
    bool fwd = fwd_m.matches(w);
    ASSERT_EQ(fwd, rev_m.matches(reversed(w))) << "reverse disagrees on " << w;
    (fwd ? counts.matched : counts.unmatched)++;
    bool start_hit = start_m.matches(reversed(w));
    ASSERT_EQ(start_hit, dropped_m.matches(w)) << "start form disagrees on " << w;
    if (fwd) {
      ASSERT_TRUE(start_hit) << "start form loses match " << w;
      for (size_t len = 0; len <= w.size(); ++len) {
        std::string pref = w.substr(0, len);
        ASSERT_TRUE(pre_m.matches(pref)) << "prefix " << len << " of " << w;
        ASSERT_TRUE(rpre_m.matches(reversed(pref))) << "reversed prefix " << len << " of " << w;
      }
    }
    bool oracle = prefix_oracle(parsed.tree, w, caseless).run();
    ASSERT_EQ(pre_m.matches(w), oracle) << "Pre is not exact on " << w;
    ASSERT_EQ(rpre_m.matches(reversed(w)), oracle) << "revPre is not exact on " << w;
    (oracle ? counts.prefix_yes : counts.prefix_no)++;
  }
}

TEST(regex_ast, reverse_and_prefix_closure_properties_hold_under_hyperscan) {
  for (const phi_expression& p : phi_expressions()) {
    SCOPED_TRACE(p.name);
    property_counts c;
    check_properties(p.expr, 0, p.alphabet, 1500, c);
    if (HasFatalFailure()) return;
    // The samples must exercise both sides of every property.
    EXPECT_GT(c.matched, 100u);
    EXPECT_GT(c.unmatched, 100u);
    EXPECT_GT(c.prefix_no, 50u);
    EXPECT_GT(c.prefix_yes, c.matched);

    regex_parse_result parsed = regex_parse(p.expr);
    whole_matcher pre_m(regex_prefix_closure(p.expr).expr, HS_FLAG_ALLOWEMPTY);
    whole_matcher rpre_m(regex_reverse_prefix_closure(p.expr).expr, HS_FLAG_ALLOWEMPTY);
    for (const std::string& w : p.non_prefixes) {
      EXPECT_FALSE(prefix_oracle(parsed.tree, w).run()) << "bad test data " << w;
      EXPECT_FALSE(pre_m.matches(w)) << "Pre matches non-prefix " << w;
      EXPECT_FALSE(rpre_m.matches(reversed(w))) << "revPre matches non-prefix " << w;
    }
  }
}

TEST(regex_ast, caseless_properties_hold) {
  property_counts c;
  check_properties(R"(\b(?:mrn|mr)[:# ]{0,2}[a-z]{2}\d{6,8}\b)", HS_FLAG_CASELESS,
                   "mrMR:# abAB0123456789x", 1500, c);
  EXPECT_GT(c.matched, 100u);
  EXPECT_GT(c.prefix_no, 50u);
}

// Every expression of the shipped catalog, when it is present: the engine compiles exactly
// these, so the transforms must agree with Hyperscan on them too.
TEST(regex_ast, shipped_catalog_expressions_satisfy_the_properties) {
  const std::string path = std::string(PHIGATE_SOURCE_ROOT) + "/patterns/us-phi-core.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) GTEST_SKIP() << "no catalog at " << path;
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false, true);
  ASSERT_FALSE(doc.is_discarded());
  size_t entries = 0;
  for (const auto& e : doc["patterns"]) {
    std::string id = e.value("id", std::string("?"));
    SCOPED_TRACE(id);
    unsigned flags = 0;
    if (e.contains("flags")) {
      for (const auto& f : e["flags"]) {
        if (f == "caseless") flags |= HS_FLAG_CASELESS;
      }
    }
    // Mutations draw from the entry's own examples plus common separators.
    std::string alphabet = " -./:x";
    for (const auto& m : e["examples"]["match"]) {
      alphabet += m.is_string() ? m.get<std::string>() : m.value("text", std::string());
    }
    property_counts c;
    check_properties(e["expression"].get<std::string>(), flags, alphabet, 600, c);
    if (HasFatalFailure()) return;
    EXPECT_GT(c.matched, 0u);
    ++entries;
  }
  EXPECT_GT(entries, 0u);
}

// Regression: with the trailing assertion kept, ^(?:\B\d{3}) is rejected by Hyperscan ("can
// never match") and ^(?:\b\-) loses every start; the forward scan already checked them.
TEST(regex_ast, start_form_drops_only_trailing_assertions) {
  EXPECT_EQ(regex_reverse_for_start(R"(\d{3}\B)").expr, R"(\d{3})");
  EXPECT_EQ(regex_reverse_for_start(R"(\bab-\b)").expr, R"(\-ba\b)");
  EXPECT_EQ(regex_reverse_for_start(R"(\b\d{3}-\d{2}\b)").expr, R"(\d{2}\-\d{3}\b)");
  EXPECT_EQ(regex_reverse_for_start(R"(a\b\d?)").expr, R"(\d?a)");
  EXPECT_EQ(regex_reverse_for_start(R"((?:a\b|b)c?\b)").expr, R"(c?(?:a|b))");
  EXPECT_EQ(regex_reverse_for_start(R"(a\bb)").expr, R"(b\ba)");  // internal: kept
  EXPECT_EQ(regex_reverse_for_start(R"(^ab$)").expr, R"(ba$)");
  for (const char* e : {R"(\d{3}\B)", R"(\bab-\b)", R"(x\s\b)"}) {
    whole_matcher m(regex_reverse_for_start(e).expr, 0);
    EXPECT_TRUE(m.ok()) << e << ": " << m.error();
  }
  whole_matcher kept("^(?:" + regex_reverse(R"(\d{3}\B)").expr + ")", 0);
  EXPECT_FALSE(kept.ok()) << "Hyperscan now accepts ^\\B\\d: the regression test is moot";
}

TEST(regex_ast, reverse_swaps_anchors_and_keeps_word_boundaries) {
  regex_result r = regex_reverse(R"(^\d{2}\b-x)");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.expr, R"(x\-\b\d{2}$)");
  whole_matcher m(r.expr, 0);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_TRUE(m.matches("x-21"));
  EXPECT_FALSE(m.matches("x-2"));
}

TEST(regex_ast, char_items_contain_matches_hyperscan_classes) {
  regex_parse_result p = regex_parse(R"([\d\w\s])");
  ASSERT_TRUE(p.ok);
  const auto& items = p.tree.nodes[p.tree.root].items;
  whole_matcher m(R"([\d\w\s])", 0);
  ASSERT_TRUE(m.ok());
  for (int c = 1; c < 128; ++c) {
    EXPECT_EQ(char_items_contain(items, static_cast<uint8_t>(c)), m.matches(std::string(1, c)))
        << "byte " << c;
  }
  EXPECT_FALSE(char_items_contain(items, 0x1F));
}

}  // namespace
}  // namespace phigate::scan
