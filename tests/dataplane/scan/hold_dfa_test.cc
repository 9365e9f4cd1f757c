// The hold automata (scan/hold_dfa.hh) against the Hyperscan hold database they replace: the same
// longest held suffix for every tail, on the shipped set and a second one; their build limits;
// and the load checks that keep a corrupt table from being walked.
#include "dataplane/scan/hold_dfa.hh"

#include <gtest/gtest.h>
#include <hs.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/scan/pattern_db.hh"
#include "tests/support/corpus.hh"
#include "tests/support/sanitized.hh"

namespace phigate::scan {
namespace {

std::unique_ptr<pattern_db> compile_set(const std::string& path) {
  auto set = pattern_set_load(path);
  if (set.index() != 0) return nullptr;
  auto r = pattern_db::compile(std::get<0>(set));
  if (r.index() != 0) return nullptr;
  return std::move(std::get<0>(r));
}

int on_max(unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  auto* m = static_cast<uint32_t*>(ctx);
  if (to > *m) *m = static_cast<uint32_t>(to);
  return 0;
}

// What the scanner asked Hyperscan before the automata: the reversed last t bytes.
struct hs_hold {
  const pattern_db& db;
  hs_scratch_t* s = nullptr;
  explicit hs_hold(const pattern_db& d) : db(d) { s = d.alloc_scratch(); }
  ~hs_hold() { hs_free_scratch(s); }
  uint32_t longest(const std::string& text) const {
    const uint32_t t = std::min<uint32_t>(static_cast<uint32_t>(text.size()), db.max_length());
    const std::string rev(text.rbegin(), text.rbegin() + t);
    uint32_t m = 0;
    EXPECT_EQ(hs_scan(db.hold_db(), rev.data(), t, 0, s, on_max, &m), HS_SUCCESS);
    return m;
  }
};

uint32_t dfa_longest(const pattern_db& db, const std::string& text) {
  const uint32_t t = std::min<uint32_t>(static_cast<uint32_t>(text.size()), db.max_length());
  return hold_dfa_longest(db.hold_automata(), reinterpret_cast<const uint8_t*>(text.data()) + text.size(), t);
}

// Random tails over the bytes the catalogs' expressions use (and separators, controls and
// high bytes), each compared; then every prefix of generated responses of every shape.
void expect_same_as_hyperscan(const pattern_db& db, uint64_t seed) {
  ASSERT_FALSE(db.hold_automata().empty());
  hs_hold hs(db);
  ASSERT_NE(hs.s, nullptr);
  std::mt19937_64 rng(seed);
  const std::string alpha = "0123456789-./@:()[] ,;aAbBcCdDeEfFmMhHtTpPsSwWxXzZ_%+#?=&~\x1f\t\n";
  size_t differ = 0, held = 0;
  const int tails = test::kSanitized ? 20000 : 60000;  // fewer under ASan (tests/support/sanitized.hh)
  for (int it = 0; it < tails; ++it) {
    std::string x(rng() % 150, ' ');
    for (char& c : x) c = rng() % 5 == 0 ? static_cast<char>(rng() % 256) : alpha[rng() % alpha.size()];
    const uint32_t a = hs.longest(x), b = dfa_longest(db, x);
    held += a > 0;
    if (a != b && ++differ <= 5) ADD_FAILURE() << "tail of " << x.size() << " bytes: hyperscan " << a << ", automata " << b;
  }
  EXPECT_GT(held, static_cast<size_t>(tails / 200));  // the comparison saw held tails, not only dead ones
  for (test::doc_shape shape : test::kAllShapes) {
    const test::corpus_doc doc = test::make_doc(rng, shape, 20);
    for (size_t n = 1; n <= doc.response.size(); ++n) {
      const std::string x = doc.response.substr(0, n);
      const uint32_t a = hs.longest(x), b = dfa_longest(db, x);
      if (a != b && ++differ <= 5) ADD_FAILURE() << test::shape_name(shape) << " prefix " << n << ": " << a << " vs " << b;
    }
  }
  EXPECT_EQ(differ, 0u);
}

TEST(hold_dfa, us_phi_core_answers_as_hyperscan_does) {
  auto db = compile_set(std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json");
  ASSERT_TRUE(db);
  EXPECT_LE(db->hold_automata().size(), 4u);  // packed: the walk count stays small
  expect_same_as_hyperscan(*db, 1);
}

TEST(hold_dfa, a_second_set_answers_as_hyperscan_does) {
  auto db = compile_set(std::string(PHIGATE_TEST_DATA) + "/oncology-research.json");
  ASSERT_TRUE(db);
  expect_same_as_hyperscan(*db, 2);
}

hold_dfa_entry entry(std::vector<regex_tree>& keep, const char* expr, bool caseless = false) {
  regex_parse_result p = regex_parse(expr);
  EXPECT_TRUE(p.ok) << expr;
  keep.push_back(std::move(p.tree));
  return {&keep.back(), caseless};
}

uint32_t walk(const std::vector<byte_dfa>& parts, const std::string& text) {
  return hold_dfa_longest(parts, reinterpret_cast<const uint8_t*>(text.data()) + text.size(),
                          static_cast<uint32_t>(text.size()));
}

TEST(hold_dfa, held_suffixes_are_prefixes_of_matches) {
  std::vector<regex_tree> keep;
  keep.reserve(4);
  const hold_dfa_entry e[] = {entry(keep, R"(\bMRN[0-9]{6}\b)"), entry(keep, R"(\d{3}-\d{2}-\d{4})")};
  std::vector<byte_dfa> parts;
  std::string why;
  ASSERT_TRUE(hold_dfa_build_parts(e, parts, why)) << why;
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(byte_dfa_check(parts[0]), nullptr);
  EXPECT_EQ(walk(parts, "see MR"), 2u);       // could become MRN123456
  EXPECT_EQ(walk(parts, "see MRN12"), 5u);
  EXPECT_EQ(walk(parts, "see mrn12"), 2u);    // case matters: only "12" (an SSN's start)
  EXPECT_EQ(walk(parts, "id 123-45-67"), 9u);
  EXPECT_EQ(walk(parts, "id 123-45-6789"), 11u);  // whole matches are held too (their end may grow)
  EXPECT_EQ(walk(parts, "id 123-45-67890"), 3u);  // too long for an SSN; "890" could start one
  EXPECT_EQ(walk(parts, "a b"), 0u);
  EXPECT_EQ(walk(parts, ""), 0u);
  EXPECT_EQ(walk(parts, "12\x1f"), 0u);  // the field separator is in no class

  std::vector<regex_tree> keep2;
  keep2.reserve(1);
  const hold_dfa_entry c[] = {entry(keep2, R"(MRN[0-9]{6})", true)};
  ASSERT_TRUE(hold_dfa_build_parts(c, parts, why)) << why;
  EXPECT_EQ(walk(parts, "see mrn12"), 5u);  // caseless
  EXPECT_EQ(walk(parts, "see mRn"), 3u);
}

TEST(hold_dfa, sets_too_large_for_automata_are_refused_whole) {
  std::vector<regex_tree> keep;
  keep.reserve(2);
  // Two million Thompson states once the repeats are expanded.
  const hold_dfa_entry big[] = {entry(keep, "[0-9]"), entry(keep, "(?:(?:[a-z]{1,100}){1,100}){1,100}")};
  std::vector<byte_dfa> parts;
  std::string why;
  EXPECT_FALSE(hold_dfa_build_parts(big, parts, why));
  EXPECT_TRUE(parts.empty());
  EXPECT_NE(why.find("pattern 1 alone"), std::string::npos) << why;
  EXPECT_NE(why.find("NFA states"), std::string::npos) << why;
  // Control: the first entry alone builds.
  EXPECT_TRUE(hold_dfa_build_parts(std::span(big, 1), parts, why)) << why;
}

TEST(hold_dfa, corrupt_tables_are_refused) {
  std::vector<regex_tree> keep;
  keep.reserve(1);
  const hold_dfa_entry e[] = {entry(keep, R"(\d{3}-\d{2}-\d{4})")};
  std::vector<byte_dfa> parts;
  std::string why;
  ASSERT_TRUE(hold_dfa_build_parts(e, parts, why)) << why;
  const byte_dfa good = parts[0];
  ASSERT_EQ(byte_dfa_check(good), nullptr);
  auto check = [&](auto&& spoil) {
    byte_dfa d = good;
    spoil(d);
    const char* r = byte_dfa_check(d);
    return std::string(r != nullptr ? r : "accepted");
  };
  EXPECT_EQ(check([](byte_dfa& d) { d.next[0] = 1; }), "the dead state has a way out");
  EXPECT_EQ(check([](byte_dfa& d) { d.next.back() = d.states; }), "transition out of range");
  EXPECT_EQ(check([](byte_dfa& d) { d.byte_class['7'] = static_cast<uint8_t>(d.classes); }), "byte class out of range");
  EXPECT_EQ(check([](byte_dfa& d) { d.start = 0; }), "start state out of range");
  EXPECT_EQ(check([](byte_dfa& d) { d.accept.pop_back(); }), "bad accept table");
  EXPECT_EQ(check([](byte_dfa& d) { d.next.pop_back(); }), "bad transition table size");
  EXPECT_EQ(check([](byte_dfa&) {}), "accepted");  // control
}

}  // namespace
}  // namespace phigate::scan
