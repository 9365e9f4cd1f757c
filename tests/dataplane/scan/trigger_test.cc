// Trigger analysis: the guaranteed runs of a byte class that every match holds (a lower bound the
// scanner relies on to skip text), and how a set is split between byte triggers and run classes.
// Whether gating ever changes a result is the differential tests' job (flow_engine_test,
// corpus_gate_test); here the analysis itself, on expressions small enough to check by hand.
#include "dataplane/scan/trigger.hh"

#include <gtest/gtest.h>
#include <hs.h>

#include <string>
#include <utility>
#include <vector>

#include "dataplane/scan/regex_ast.hh"

namespace phigate::scan {
namespace {

struct byte_class {
  bool members[256] = {};
  explicit byte_class(const char* ranges) {
    for (const char* r = ranges; r[0] && r[1]; r += 2)
      for (int b = static_cast<unsigned char>(r[0]); b <= static_cast<unsigned char>(r[1]); ++b) members[b] = true;
  }
};

uint32_t run_of(const std::string& expr, const char* ranges, unsigned flags = 0) {
  regex_parse_result p = regex_parse(expr);
  EXPECT_TRUE(p.ok) << expr << ": " << p.error;
  return trigger_guaranteed_run(p.tree, flags, byte_class(ranges).members);
}

TEST(trigger_runs, concatenation_adds_adjacent_pieces_and_separators_break_runs) {
  EXPECT_EQ(run_of(R"(\b\d{9}\b)", "09"), 9u);
  EXPECT_EQ(run_of(R"(\b\d{3}[- .]\d{2}[- .]\d{4}\b)", "09"), 4u);  // delimited SSN: the serial
  EXPECT_EQ(run_of(R"(\d{3}\d{2})", "09"), 5u);
  EXPECT_EQ(run_of(R"(\d{3}x\d{2})", "09"), 3u);
  EXPECT_EQ(run_of(R"(\d{3}-?\d{2})", "09"), 3u);  // the dash may be there
  EXPECT_EQ(run_of(R"(abc)", "09"), 0u);
}

TEST(trigger_runs, alternation_takes_the_weakest_branch) {
  EXPECT_EQ(run_of(R"(\d{5}|\d{2}x\d{2})", "09"), 2u);
  EXPECT_EQ(run_of(R"((?:\d{5}|\d{6})x)", "09"), 5u);
  EXPECT_EQ(run_of(R"(\d{4}x?)", "09"), 4u);
}

TEST(trigger_runs, repeats_multiply_whole_class_pieces_and_join_copies) {
  EXPECT_EQ(run_of(R"((?:\d\d){3})", "09"), 6u);
  EXPECT_EQ(run_of(R"((?:\d\d)+)", "09"), 2u);  // unbounded: the minimum count
  EXPECT_EQ(run_of(R"((?:\d{0,3}))", "09"), 0u);
  // x? may or may not separate copies: a copy's suffix run and the next copy's prefix run join
  // only when nothing can come between them.
  EXPECT_EQ(run_of(R"((?:\d{2}x?){3})", "09"), 2u);
  EXPECT_EQ(run_of(R"((?:x\d{2}y?\d{3}){2})", "09"), 3u);
  EXPECT_EQ(run_of(R"((?:\d{2}x\d{3}){2})", "09"), 5u);  // "..x123" + "45x..." touch
}

TEST(trigger_runs, the_catalog_shapes) {
  // IPv4: every byte a digit or a dot, at least seven of them; digits alone only one.
  EXPECT_EQ(run_of(R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)", "09.."), 7u);
  EXPECT_EQ(run_of(R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)", "09"), 1u);
  // IBAN: country and check digits, then groups of four that an optional space may separate.
  const std::string iban = R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b)";
  EXPECT_EQ(run_of(iban, "09AZ"), 4u);
  EXPECT_EQ(run_of(iban, "09"), 2u);
  EXPECT_EQ(run_of(R"(\b[A-HJ-NPR-Z0-9]{8}[0-9X][A-HJ-NPR-TV-Y1-9][A-HJ-NPR-Z0-9]{7}\b)", "09AZ"), 17u);
}

TEST(trigger_runs, caseless_letters_leave_an_upper_case_class) {
  EXPECT_EQ(run_of(R"([A-F]{4})", "09AZ"), 4u);
  EXPECT_EQ(run_of(R"([A-F]{4})", "09AZ", HS_FLAG_CASELESS), 0u);  // also matches "abcd"
  EXPECT_EQ(run_of(R"(\d{4})", "09AZ", HS_FLAG_CASELESS), 4u);
}

std::vector<std::pair<std::string, unsigned>> exprs(std::initializer_list<const char*> list) {
  std::vector<std::pair<std::string, unsigned>> v;
  for (const char* e : list) v.emplace_back(e, 0u);
  return v;
}

TEST(trigger_build, number_shapes_go_to_run_classes_and_leave_digits_alone) {
  const trigger_table t = trigger_build(exprs({R"(\b\d{3}[- .]\d{2}[- .]\d{4}\b)", R"(\b\d{6,10}\b)",
                                               R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)"}));
  ASSERT_TRUE(t.enabled);
  ASSERT_EQ(t.run_count, 2u);
  // Digits: the SSN's serial (4) is the shortest run; the reach covers the longest match (11).
  EXPECT_TRUE(t.runs[0].contains('7'));
  EXPECT_FALSE(t.runs[0].contains('.'));
  EXPECT_EQ(t.runs[0].min_run, 4u);
  EXPECT_EQ(t.runs[0].before, 10u);
  EXPECT_EQ(t.runs[0].after, 11u);
  // Digits and dots: the IPv4 address.
  EXPECT_TRUE(t.runs[1].contains('.'));
  EXPECT_EQ(t.runs[1].min_run, 7u);
  EXPECT_EQ(t.runs[1].after, 15u);
  EXPECT_EQ(t.before_max, 14u);  // the IPv4 class's: the scanner's reach back
  for (int c = 0; c < 256; ++c) EXPECT_EQ(t.after[c], 0) << c;  // no byte triggers left
  EXPECT_EQ(t.bits['5'], 2 | 4);
  EXPECT_EQ(t.bits['.'], 4);
  EXPECT_EQ(t.bits['a'], 0);
  // The planes as ranges, for the scanner's range compares: none, '0'-'9', then '.' and '0'-'9'.
  ASSERT_TRUE(t.ranges_ok);
  EXPECT_EQ(t.plane_ranges[0].count, 0u);
  ASSERT_EQ(t.plane_ranges[1].count, 1u);
  EXPECT_EQ(t.plane_ranges[1].lo[0], '0');
  EXPECT_EQ(t.plane_ranges[1].hi[0], '9');
  ASSERT_EQ(t.plane_ranges[2].count, 2u);
  EXPECT_EQ(t.plane_ranges[2].lo[0], '.');
  EXPECT_EQ(t.plane_ranges[2].hi[0], '.');
  EXPECT_EQ(t.plane_ranges[2].lo[1], '0');
}

TEST(trigger_build, scattered_trigger_bytes_fall_back_to_table_lookups) {
  trigger_table t = trigger_build(exprs({"[a-c]{0,2}!", "[a-c]{0,2}#", "[a-c]{0,2}%", "[a-c]{0,2}@"}));
  ASSERT_TRUE(t.enabled);
  EXPECT_TRUE(t.ranges_ok);  // four ranges fit
  EXPECT_EQ(t.plane_ranges[0].count, 4u);
  t = trigger_build(exprs({"[a-c]{0,2}!", "[a-c]{0,2}#", "[a-c]{0,2}%", "[a-c]{0,2}@", "[a-c]{0,2}~"}));
  ASSERT_TRUE(t.enabled);
  EXPECT_FALSE(t.ranges_ok);  // five do not
  EXPECT_EQ(t.bits['~'], 1);
}

TEST(trigger_build, short_runs_keep_byte_triggers) {
  // A US date needs only single digits around its slashes: its slash stays a byte trigger.
  const trigger_table t = trigger_build(exprs({R"(\b\d{1,2}/\d{1,2}/\d{2}\b)", R"(\b\d{9}\b)"}));
  ASSERT_TRUE(t.enabled);
  ASSERT_EQ(t.run_count, 1u);
  EXPECT_EQ(t.runs[0].min_run, 9u);
  EXPECT_GT(t.after['/'], 0);
  EXPECT_EQ(t.after['7'], 0);
  EXPECT_EQ(t.bits['/'], 1);
  EXPECT_EQ(t.bits['7'], 2);
}

TEST(trigger_build, an_expression_without_any_trigger_disables_gating) {
  EXPECT_FALSE(trigger_build(exprs({R"(\b\d{9}\b)", R"(\b[a-z]{3,8}\b)"})).enabled);
  EXPECT_TRUE(trigger_build(exprs({R"(\b\d{9}\b)"})).enabled);  // control
}

}  // namespace
}  // namespace phigate::scan
