// The stream automata (scan/stream_dfa.hh) against the Hyperscan stream databases they would
// replace: the same (group, end) reports, end-of-data ones included, whatever pieces the text
// arrives in. On the shipped sets over generated responses, their own examples and random text;
// on hand-written expressions that put \b and \B everywhere an assertion can sit; plus the
// limits and the load checks.
#include "dataplane/scan/stream_dfa.hh"

#include <gtest/gtest.h>
#include <hs.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/scan/pattern_db.hh"
#include "tests/support/corpus.hh"

namespace phigate::scan {
namespace {

struct hit {
  uint64_t end;
  uint32_t group;
  bool operator<(const hit& o) const { return end != o.end ? end < o.end : group < o.group; }
  bool operator==(const hit& o) const { return end == o.end && group == o.group; }
};

int on_hit(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  static_cast<std::vector<hit>*>(ctx)->push_back({to, id});
  return 0;
}

// Random cut points: whole, and pieces of 1..max bytes.
std::vector<size_t> cuts(std::mt19937_64& rng, size_t n, size_t max_piece) {
  std::vector<size_t> c{0};
  while (c.back() < n) c.push_back(std::min(n, c.back() + 1 + rng() % max_piece));
  return c;
}

// Reports of a stream database over `text` fed in the given pieces, then closed.
std::vector<hit> hyperscan(const hs_database_t* db, hs_scratch_t* s, const std::string& text,
                           const std::vector<size_t>& at) {
  std::vector<hit> out;
  hs_stream_t* st = nullptr;
  EXPECT_EQ(hs_open_stream(db, 0, &st), HS_SUCCESS);
  for (size_t k = 0; k + 1 < at.size(); ++k)
    EXPECT_EQ(hs_scan_stream(st, text.data() + at[k], static_cast<unsigned>(at[k + 1] - at[k]), 0, s, on_hit, &out),
              HS_SUCCESS);
  EXPECT_EQ(hs_close_stream(st, s, on_hit, &out), HS_SUCCESS);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The automata's reports in the order made (which must be increasing in end).
std::vector<hit> automata(const std::vector<stream_dfa>& parts, const std::string& text, const std::vector<size_t>& at) {
  std::vector<hit> out;
  uint16_t states[kStreamDfaMaxParts];
  for (size_t k = 0; k < parts.size(); ++k) states[k] = parts[k].start;
  auto report = [&](uint32_t g, uint64_t e) { out.push_back({e, g}); };
  for (size_t k = 0; k + 1 < at.size(); ++k)
    stream_dfa_scan(parts, states, reinterpret_cast<const uint8_t*>(text.data()) + at[k], at[k + 1] - at[k], at[k],
                    report);
  stream_dfa_finish(parts, states, text.size(), report);
  return out;
}

void expect_same(const hs_database_t* db, hs_scratch_t* s, const std::vector<stream_dfa>& parts,
                 const std::vector<uint32_t>& missing, const std::string& text, std::mt19937_64& rng,
                 const std::string& what) {
  const std::vector<size_t> whole{0, text.size()};
  std::vector<hit> want = hyperscan(db, s, text, whole);
  std::erase_if(want, [&](const hit& h) { return std::count(missing.begin(), missing.end(), h.group) != 0; });
  for (const std::vector<size_t>& at : {whole, cuts(rng, text.size(), 7), cuts(rng, text.size(), 300)}) {
    std::vector<hit> got = automata(parts, text, at);
    ASSERT_TRUE(std::is_sorted(got.begin(), got.end(), [](const hit& a, const hit& b) { return a.end < b.end; }))
        << what << ": reports out of order";
    std::sort(got.begin(), got.end());
    ASSERT_EQ(got.size(), want.size()) << what << " in " << at.size() - 1 << " pieces";
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_TRUE(got[i] == want[i]) << what << ": report " << i << " automata (" << got[i].end << ", group "
                                     << got[i].group << ") hyperscan (" << want[i].end << ", group " << want[i].group
                                     << ")";
  }
}

struct compiled_set {
  pattern_set set;
  std::unique_ptr<pattern_db> db;
  std::vector<regex_tree> trees;
  std::vector<stream_dfa_language> langs;
};

void compile_set(const std::string& path, compiled_set& c) {
  auto set = pattern_set_load(path);
  ASSERT_EQ(set.index(), 0u) << path;
  c.set = std::get<0>(set);
  auto r = pattern_db::compile(c.set);
  ASSERT_EQ(r.index(), 0u) << path;
  c.db = std::move(std::get<0>(r));
  c.trees.resize(c.set.entries.size());
  for (size_t i = 0; i < c.set.entries.size(); ++i) {
    regex_parse_result p = regex_parse(c.set.entries[i].expression);
    ASSERT_TRUE(p.ok) << c.set.entries[i].id;
    c.trees[i] = std::move(p.tree);
  }
  for (uint32_t g = 0; g < c.db->stream_group_count(); ++g)
    for (uint16_t id : c.db->stream_members(g))
      c.langs.push_back({&c.trees[id], (c.set.entries[id].flags & HS_FLAG_CASELESS) != 0, g});
}

std::string random_text(std::mt19937_64& rng, size_t n) {
  static const std::string alpha = "0123456789012345678901234567890123456789-./@:() ,aAbBeEmMhtpwsxXZT_%+#\x1f\t\n\"";
  std::string t(n, ' ');
  for (char& ch : t) ch = rng() % 8 == 0 ? static_cast<char>(rng() % 128) : alpha[rng() % alpha.size()];
  return t;
}

void check_set(const std::string& path, std::vector<uint32_t> expect_missing) {
  compiled_set c;
  compile_set(path, c);
  if (::testing::Test::HasFatalFailure()) return;
  std::vector<stream_dfa> parts;
  std::vector<uint32_t> missing;
  std::string why;
  ASSERT_TRUE(stream_dfa_build_parts(c.langs, parts, missing, why)) << why;
  ASSERT_FALSE(parts.empty());
  for (const stream_dfa& p : parts) {
    EXPECT_EQ(stream_dfa_check(p, c.db->stream_group_count()), nullptr);
    EXPECT_LE(p.states, kStreamDfaMaxStates);
  }
  std::vector<std::string> missing_ids;
  for (uint32_t g : missing) missing_ids.push_back(c.set.entries[c.db->stream_members(g)[0]].id);
  std::vector<std::string> want_ids;
  for (uint32_t i : expect_missing) want_ids.push_back(c.set.entries[i].id);
  EXPECT_EQ(missing_ids, want_ids);
  hs_scratch_t* s = c.db->alloc_scratch();
  ASSERT_NE(s, nullptr);
  std::mt19937_64 rng(7);
  // Generated responses of every shape, as the scanner's channels carry them (and as raw bytes).
  for (test::doc_shape shape : test::kAllShapes)
    for (int i = 0; i < 4; ++i) {
      const test::corpus_doc doc = test::make_doc(rng, shape, 12);
      expect_same(c.db->stream_db(), s, parts, missing, doc.text, rng, std::string("text of ") + test::shape_name(shape));
      expect_same(c.db->stream_db(), s, parts, missing, doc.response, rng,
                  std::string("response of ") + test::shape_name(shape));
    }
  // Every example of the set, run together with separators and without.
  std::string joined, tight;
  for (const pattern_entry& e : c.set.entries)
    for (const pattern_example& x : e.match) {
      joined += x.text + "\x1f";
      tight += x.text;
    }
  for (const pattern_entry& e : c.set.entries)
    for (const pattern_example& x : e.no_match) {
      joined += x.text + " ";
      tight += x.text;
    }
  expect_same(c.db->stream_db(), s, parts, missing, joined, rng, "examples");
  expect_same(c.db->stream_db(), s, parts, missing, tight, rng, "examples, no separators");
  for (int i = 0; i < 150 && !::testing::Test::HasFatalFailure(); ++i)
    expect_same(c.db->stream_db(), s, parts, missing, random_text(rng, 1 + rng() % 600), rng, "random text");
  hs_free_scratch(s);
}

TEST(StreamDfa, UsPhiCoreReportsWhatItsStreamDatabaseReports) {
  // URL's automaton does not fit (a URL can begin again inside its own path repeat).
  compiled_set c;
  compile_set(std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json", c);
  uint32_t url = 0;
  for (uint32_t i = 0; i < c.set.entries.size(); ++i)
    if (c.set.entries[i].id == "url") url = i;
  check_set(std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json", {url});
}

TEST(StreamDfa, SecondSetReportsWhatItsStreamDatabaseReports) {
  check_set(std::string(PHIGATE_TEST_DATA) + "/oncology-research.json", {});
}

// Each expression its own group, compiled by Hyperscan in stream mode and as automata.
struct hand_set {
  std::vector<regex_tree> trees;
  std::vector<stream_dfa_language> langs;
  hs_database_t* db = nullptr;
  hs_scratch_t* s = nullptr;
  explicit hand_set(const std::vector<std::string>& exprs, unsigned flags = 0) {
    std::vector<const char*> e;
    std::vector<unsigned> f, ids;
    trees.reserve(exprs.size());
    for (size_t i = 0; i < exprs.size(); ++i) {
      regex_parse_result p = regex_parse(exprs[i]);
      EXPECT_TRUE(p.ok) << exprs[i] << ": " << p.error;
      trees.push_back(std::move(p.tree));
      langs.push_back({&trees.back(), (flags & HS_FLAG_CASELESS) != 0, static_cast<uint32_t>(i)});
      e.push_back(exprs[i].c_str());
      f.push_back(flags);
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_compile_error_t* err = nullptr;
    EXPECT_EQ(hs_compile_multi(e.data(), f.data(), ids.data(), static_cast<unsigned>(e.size()), HS_MODE_STREAM, nullptr,
                               &db, &err),
              HS_SUCCESS);
    if (err) hs_free_compile_error(err);
    if (db) hs_alloc_scratch(db, &s);
  }
  ~hand_set() {
    hs_free_scratch(s);
    hs_free_database(db);
  }
};

TEST(StreamDfa, WordBoundariesAnywhereMatchHyperscan) {
  const std::vector<std::string> exprs = {
      "\\b\\d{3}\\b",       "\\Bab",           "ab\\B",           "a\\b",          "\\b1\\d{2}-?\\d\\b",
      "x\\B\\d",            "(?:\\b|:)\\d{3}", "\\d{2}(?:\\b|x)", "\\b(?:ab|b)\\b", "(?:a|\\b1)\\d",
      "\\B\\d\\B",          "b{1,3}\\b",       ":\\b",            "\\b:",          "[a-c]{2,5}\\b\\.",
      "\\d(?:\\b| )(?:\\b\\d|\\Ba)",
  };
  hand_set h(exprs);
  ASSERT_NE(h.s, nullptr);
  std::vector<stream_dfa> parts;
  std::vector<uint32_t> missing;
  std::string why;
  ASSERT_TRUE(stream_dfa_build_parts(h.langs, parts, missing, why)) << why;
  EXPECT_TRUE(missing.empty());
  std::mt19937_64 rng(11);
  const std::string alpha = "ab1c2x:. _-\x1f";
  for (int i = 0; i < 3000 && !::testing::Test::HasFatalFailure(); ++i) {
    std::string t(1 + rng() % 40, ' ');
    for (char& ch : t) ch = alpha[rng() % alpha.size()];
    expect_same(h.db, h.s, parts, {}, t, rng, "hand expressions on \"" + t + "\"");
  }
}

TEST(StreamDfa, CaselessFoldsLettersOnly) {
  hand_set h({"\\bmrn\\d{2}\\b", "ab[xy]"}, HS_FLAG_CASELESS);
  ASSERT_NE(h.s, nullptr);
  std::vector<stream_dfa> parts;
  std::vector<uint32_t> missing;
  std::string why;
  ASSERT_TRUE(stream_dfa_build_parts(h.langs, parts, missing, why)) << why;
  std::mt19937_64 rng(5);
  const std::string alpha = "mMrRnN12aAbBxXyY _";
  for (int i = 0; i < 2000 && !::testing::Test::HasFatalFailure(); ++i) {
    std::string t(1 + rng() % 30, ' ');
    for (char& ch : t) ch = alpha[rng() % alpha.size()];
    expect_same(h.db, h.s, parts, {}, t, rng, "caseless on \"" + t + "\"");
  }
}

TEST(StreamDfa, BuildRefusesWhatItCannotDo) {
  auto tree = [](const char* e) {
    regex_parse_result p = regex_parse(e);
    EXPECT_TRUE(p.ok) << e;
    return p.tree;
  };
  std::string why;
  stream_dfa d;
  const regex_tree caret = tree("^ab"), dollar = tree("ab$"), empty = tree("a?"), ok = tree("ab");
  EXPECT_FALSE(stream_dfa_build(std::vector<stream_dfa_language>{{&caret, false, 0}}, d, why));
  EXPECT_NE(why.find("^ or $"), std::string::npos);
  EXPECT_EQ(d.states, 0);
  EXPECT_FALSE(stream_dfa_build(std::vector<stream_dfa_language>{{&dollar, false, 0}}, d, why));
  EXPECT_FALSE(stream_dfa_build(std::vector<stream_dfa_language>{{&empty, false, 0}}, d, why));
  EXPECT_NE(why.find("empty string"), std::string::npos);
  EXPECT_FALSE(stream_dfa_build(std::vector<stream_dfa_language>{{&ok, false, kStreamDfaMaxGroups}}, d, why));
  EXPECT_NE(why.find("out of range"), std::string::npos);
  // A state limit: the digits of \d{40} unanchored need a counter per position.
  const regex_tree long_run = tree("x\\d{1,40}y");
  EXPECT_TRUE(stream_dfa_build(std::vector<stream_dfa_language>{{&long_run, false, 0}}, d, why));
  const uint16_t needed = d.states;
  EXPECT_FALSE(stream_dfa_build(std::vector<stream_dfa_language>{{&long_run, false, 0}}, d, why, needed - 1));
  EXPECT_NE(why.find("states"), std::string::npos);
  EXPECT_TRUE(stream_dfa_build(std::vector<stream_dfa_language>{{&long_run, false, 0}}, d, why, needed));
  // A group too large for any automaton is reported missing, and the others still get theirs.
  const regex_tree big = tree("[a-z]{1,60}[0-9][a-z0-9]{1,60}x[a-z0-9]{1,60}");
  std::vector<stream_dfa> parts;
  std::vector<uint32_t> missing;
  ASSERT_TRUE(stream_dfa_build_parts(std::vector<stream_dfa_language>{{&ok, false, 0}, {&big, false, 1}, {&long_run, false, 2}},
                                     parts, missing, why))
      << why;
  EXPECT_EQ(missing, std::vector<uint32_t>{1});
  EXPECT_EQ(parts.size(), 1u);
}

TEST(StreamDfa, CheckRefusesCorruptTables) {
  regex_parse_result p = regex_parse("\\b\\d{3}\\b|ab");
  ASSERT_TRUE(p.ok);
  stream_dfa good;
  std::string why;
  ASSERT_TRUE(stream_dfa_build(std::vector<stream_dfa_language>{{&p.tree, false, 3}}, good, why)) << why;
  EXPECT_EQ(stream_dfa_check(good, 4), nullptr);
  EXPECT_NE(stream_dfa_check(good, 3), nullptr);  // reports group 3 of only 3
  auto broken = [&](auto&& change) {
    stream_dfa d = good;
    change(d);
    return stream_dfa_check(d, 4);
  };
  EXPECT_NE(broken([](stream_dfa& d) { d.next[5] = d.states; }), nullptr);
  EXPECT_NE(broken([](stream_dfa& d) { d.column['7'] += 1; }), nullptr);  // the walk would read off its column
  EXPECT_NE(broken([](stream_dfa& d) { d.start = d.states; }), nullptr);
  EXPECT_NE(broken([](stream_dfa& d) { d.byte_class[7] = static_cast<uint8_t>(d.classes); }), nullptr);
  EXPECT_NE(broken([](stream_dfa& d) { d.next.pop_back(); }), nullptr);
  EXPECT_NE(broken([](stream_dfa& d) { d.ends_word.pop_back(); }), nullptr);
  EXPECT_NE(broken([](stream_dfa& d) { d.first_reporting = static_cast<uint16_t>(d.first_reporting - 1); }), nullptr);
  EXPECT_NE(broken([](stream_dfa& d) { d.ends_other[0] |= 1u << 3; }), nullptr);  // reporting out of order
  // '1' (word) joins the class of ' ' (non-word): \b would be judged by the wrong byte.
  EXPECT_NE(broken([](stream_dfa& d) { d.byte_class['1'] = d.byte_class[' ']; }), nullptr);
  EXPECT_NE(broken([](stream_dfa& d) { d.states = 0; }), nullptr);
}

}  // namespace
}  // namespace phigate::scan
