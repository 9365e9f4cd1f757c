// The start automata (scan/start_dfa.hh) against the Hyperscan start databases they replace: the
// same match lengths, in the same order, for every entry that has one, on random windows and at
// every end of generated responses; which entries get one; the leading word boundary.
#include "dataplane/scan/start_dfa.hh"

#include <gtest/gtest.h>
#include <hs.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/scan/pattern_db.hh"
#include "tests/support/corpus.hh"

namespace phigate::scan {
namespace {

struct loaded {
  pattern_set set;
  std::unique_ptr<pattern_db> db;
};
loaded compile_set(const std::string& path) {
  auto set = pattern_set_load(path);
  if (set.index() != 0) return {};
  auto r = pattern_db::compile(std::get<0>(set));
  if (r.index() != 0) return {};
  return {std::get<0>(set), std::move(std::get<0>(r))};
}

struct ends {
  std::vector<uint32_t> v;
};
int on_end(unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  static_cast<ends*>(ctx)->v.push_back(static_cast<uint32_t>(to));
  return 0;
}

constexpr uint32_t kCap = 64;  // what the scanner keeps (scan/channel.cc kMaxEnds)

// The lengths a match of entry `id` ending at text.size() may have, from the window of the
// scanner's size before it: by the Hyperscan start database, and by the automaton.
struct both {
  const pattern_db& db;
  hs_scratch_t* s = nullptr;
  explicit both(const pattern_db& d) : db(d) { s = d.alloc_scratch(); }
  ~both() { hs_free_scratch(s); }
  uint32_t window(const std::string& text, uint32_t id) const {
    return static_cast<uint32_t>(std::min<size_t>(text.size(), db.patterns()[id].max_length + 1u));
  }
  std::vector<uint32_t> hyperscan(const std::string& text, uint32_t id) const {
    const uint32_t n = window(text, id);
    const std::string rev(text.rbegin(), text.rbegin() + n);
    ends e;
    EXPECT_EQ(hs_scan(db.start_db(id), rev.data(), n, 0, s, on_end, &e), HS_SUCCESS);
    if (e.v.size() > kCap) e.v.resize(kCap);
    return e.v;
  }
  std::vector<uint32_t> automaton(const std::string& text, uint32_t id) const {
    uint32_t out[kCap];
    const uint32_t k = start_dfa_lengths(*db.start_automaton(id), reinterpret_cast<const uint8_t*>(text.data()) + text.size(),
                                         window(text, id), out, kCap);
    return {out, out + k};
  }
};

void expect_same_as_hyperscan(const pattern_set& set, const pattern_db& db, uint64_t seed, size_t min_with) {
  both b(db);
  ASSERT_NE(b.s, nullptr);
  std::vector<uint32_t> with;
  for (uint32_t id = 0; id < db.patterns().size(); ++id)
    if (db.start_automaton(id) != nullptr) with.push_back(id);
  ASSERT_GE(with.size(), min_with);
  std::mt19937_64 rng(seed);
  // Text where starts are plentiful: digits, separators, letters, '@' and '.', and any byte.
  const std::string alpha = "0123456789-./@:() ,aAbBeEmMoOxXzZ_%+#\x1f\t";
  size_t differ = 0, found = 0;
  auto compare = [&](const std::string& x, uint32_t id, const char* where) {
    const std::vector<uint32_t> a = b.hyperscan(x, id), c = b.automaton(x, id);
    found += !a.empty();
    if (a != c && ++differ <= 5)
      ADD_FAILURE() << db.patterns()[id].id << " " << where << ": hyperscan " << a.size() << " starts, automaton "
                    << c.size();
  };
  for (int it = 0; it < 20000; ++it) {
    std::string x(rng() % 140, ' ');
    for (char& c : x) c = rng() % 6 == 0 ? static_cast<char>(rng() % 256) : alpha[rng() % alpha.size()];
    for (uint32_t id : with) compare(x, id, "random");
  }
  for (test::doc_shape shape : test::kAllShapes) {
    const test::corpus_doc doc = test::make_doc(rng, shape, 20);
    for (size_t n = 1; n <= doc.text.size(); ++n)
      for (uint32_t id : with) compare(doc.text.substr(0, n), id, test::shape_name(shape));
  }
  // The set's own examples, matching and not, run together with short separators: starts of
  // every entry's shapes, next to and inside one another.
  std::vector<const std::string*> examples;
  for (const pattern_entry& e : set.entries) {
    for (const pattern_example& x : e.match) examples.push_back(&x.text);
    for (const pattern_example& x : e.no_match) examples.push_back(&x.text);
  }
  ASSERT_FALSE(examples.empty());
  const char* seps[] = {" ", "", "-", ".", "a", "1", ", ", "\x1f", "@"};
  for (int it = 0; it < 300; ++it) {
    std::string x;
    for (int k = 3 + static_cast<int>(rng() % 4); k > 0; --k)
      x += *examples[rng() % examples.size()] + seps[rng() % std::size(seps)];
    for (size_t n = 1; n <= x.size(); ++n)
      for (uint32_t id : with) compare(x.substr(0, n), id, "examples");
  }
  EXPECT_EQ(differ, 0u);
  EXPECT_GT(found, 500u);  // the comparison saw real starts, not only empty answers
}

TEST(start_dfa, us_phi_core_starts_as_hyperscan_finds_them) {
  auto [set, db] = compile_set(std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json");
  ASSERT_TRUE(db);
  // \b inside an alternative keeps phone, fax and IPv6 on Hyperscan; every other entry has one.
  for (uint32_t id = 0; id < db->patterns().size(); ++id) {
    const std::string name = db->patterns()[id].id;
    EXPECT_EQ(db->start_automaton(id) == nullptr, name == "phone" || name == "fax" || name == "ipv6") << name;
  }
  expect_same_as_hyperscan(set, *db, 1, 22);
}

TEST(start_dfa, a_second_set_starts_as_hyperscan_finds_them) {
  auto [set, db] = compile_set(std::string(PHIGATE_TEST_DATA) + "/oncology-research.json");
  ASSERT_TRUE(db);
  expect_same_as_hyperscan(set, *db, 2, 1);
}

std::vector<uint32_t> lengths(const start_dfa& d, const std::string& text) {
  uint32_t out[kCap];
  const uint32_t k = start_dfa_lengths(d, reinterpret_cast<const uint8_t*>(text.data()) + text.size(),
                                       static_cast<uint32_t>(text.size()), out, kCap);
  return {out, out + k};
}

start_dfa build(const char* expr, bool caseless = false) {
  regex_parse_result p = regex_parse(expr);
  EXPECT_TRUE(p.ok) << expr;
  start_dfa d;
  std::string why;
  EXPECT_TRUE(start_dfa_build(p.tree, caseless, d, why)) << expr << ": " << why;
  return d;
}

TEST(start_dfa, a_leading_boundary_is_checked_at_each_start) {
  const start_dfa d = build(R"(\b\d{3,4}\b)");
  ASSERT_TRUE(d.leading_boundary);
  using v = std::vector<uint32_t>;
  EXPECT_EQ(lengths(d, "id -1234"), (v{4}));  // "234" follows a digit: no boundary
  EXPECT_EQ(lengths(d, "ab1234"), (v{}));     // preceded by a word byte
  EXPECT_EQ(lengths(d, "1234"), (v{4}));      // the window's edge counts as a boundary
  EXPECT_EQ(lengths(d, "12345"), (v{}));
  const start_dfa plain = build(R"([a-z]{1,3}@x)");
  ASSERT_FALSE(plain.leading_boundary);
  EXPECT_EQ(lengths(plain, "abcd@x"), (v{3, 4, 5}));  // every start, shortest first
  const start_dfa ci = build(R"(\bmrn\d{2})", true);
  EXPECT_EQ(lengths(ci, " MrN12"), (v{5}));
}

TEST(start_dfa, other_assertions_keep_hyperscan) {
  for (const char* expr : {R"((?:\+1|\b1)\d{3})", R"(\d{3}\B\d)", R"(^\d{3})", R"(\d{2}\b\d)"}) {
    regex_parse_result p = regex_parse(expr);
    ASSERT_TRUE(p.ok) << expr;
    start_dfa d;
    std::string why;
    EXPECT_FALSE(start_dfa_build(p.tree, false, d, why)) << expr;
    EXPECT_EQ(d.dfa.states, 0u) << expr;
  }
  // Control: trailing assertions are the stream scan's business and do not count.
  regex_parse_result p = regex_parse(R"(\d{3}\b)");
  start_dfa d;
  std::string why;
  EXPECT_TRUE(start_dfa_build(p.tree, false, d, why)) << why;
}

}  // namespace
}  // namespace phigate::scan
