// Stream groups: which entries share one expression of the forward stream database, and that a
// grouped database finds exactly what separate expressions found (each member confirmed by its
// own start database, validator and context; overlapping members merged, the earliest naming).
#include "dataplane/scan/stream_groups.hh"

#include <gtest/gtest.h>
#include <hs.h>

#include <string>
#include <vector>

#include "dataplane/scan/pattern_db.hh"
#include "tests/support/engine_fixture.hh"

namespace phigate::scan {
namespace {

using groups = std::vector<std::vector<uint16_t>>;

TEST(stream_groups_plan, identical_expressions_share_a_group) {
  const std::vector<stream_group_input> in = {
      {"a\\d{3}", 0, false}, {"b\\d{3}", 0, false}, {"a\\d{3}", 0, true}, {"a\\d{3}", HS_FLAG_CASELESS, false}};
  EXPECT_EQ(stream_groups_plan(in), (groups{{0, 2}, {1}, {3}}));
  // One copy of the shared expression, not an alternation of equal branches.
  EXPECT_EQ(stream_group_expression(in, {0, 2}), "(?:a\\d{3})");
  EXPECT_EQ(stream_group_expression(in, {1}), "b\\d{3}");
}

TEST(stream_groups_plan, context_gated_entries_join_one_group_per_flag_value) {
  const std::vector<stream_group_input> in = {
      {"\\b\\d{9}\\b", 0, true},          // 0
      {"x@y", 0, false},                  // 1
      {"\\b[12]\\d{9}\\b", 0, true},      // 2
      {"\\b[a-z]\\d{7}\\b", HS_FLAG_CASELESS, true},  // 3
      {"\\b\\d{6,17}\\b", 0, true},       // 4
      {"\\b[a-z]{2}\\d{4}\\b", HS_FLAG_CASELESS, true},  // 5
  };
  EXPECT_EQ(stream_groups_plan(in), (groups{{0, 2, 4}, {1}, {3, 5}}));
  EXPECT_EQ(stream_group_expression(in, {0, 2, 4}), "(?:\\b\\d{9}\\b)|(?:\\b[12]\\d{9}\\b)|(?:\\b\\d{6,17}\\b)");
}

TEST(stream_groups_plan, a_group_with_an_ungated_member_stays_apart) {
  // Phone (no context) and fax (context "fax") have one expression: they share a group, and
  // that group does not join the gated one (phone must be found without any keyword).
  const std::vector<stream_group_input> in = {
      {"\\d{3}-\\d{4}", 0, true}, {"\\b\\d{9}\\b", 0, true}, {"\\d{3}-\\d{4}", 0, false}, {"\\b\\d{5}\\b", 0, true}};
  EXPECT_EQ(stream_groups_plan(in), (groups{{0, 2}, {1, 3}}));
}

TEST(stream_groups_plan, every_entry_lands_in_exactly_one_group) {
  std::vector<stream_group_input> in;
  for (int i = 0; i < 40; ++i)
    in.push_back({"e" + std::to_string(i % 7), (i % 3 == 0) ? unsigned{HS_FLAG_CASELESS} : 0u, i % 2 == 0});
  std::vector<int> seen(in.size(), 0);
  for (const auto& g : stream_groups_plan(in)) {
    ASSERT_FALSE(g.empty());
    for (size_t k = 0; k < g.size(); ++k) {
      ++seen[g[k]];
      if (k) EXPECT_LT(g[k - 1], g[k]);
      EXPECT_EQ(in[g[k]].flags, in[g[0]].flags);  // one compile flag value per group
    }
  }
  for (int n : seen) EXPECT_EQ(n, 1);
}

const test::catalog& core() { return test::catalog::shared(); }

int index_of(const pattern_db& db, std::string_view id) {
  for (size_t i = 0; i < db.patterns().size(); ++i)
    if (id == db.patterns()[i].id) return static_cast<int>(i);
  return -1;
}

TEST(stream_groups_db, us_phi_core_groups_phone_with_fax_and_the_bare_numbers) {
  const pattern_db& db = *core().db;
  ASSERT_GT(db.stream_group_count(), 0u);
  std::vector<std::string> joined;
  for (uint32_t g = 0; g < db.stream_group_count(); ++g) {
    std::string names;
    for (uint16_t id : db.stream_members(g)) names += (names.empty() ? "" : ",") + std::string(db.patterns()[id].id);
    joined.push_back(names);
  }
  EXPECT_NE(std::find(joined.begin(), joined.end(), "fax,phone"), joined.end());
  EXPECT_NE(std::find(joined.begin(), joined.end(),
                      "ssn-bare,itin-bare,npi,phone-bare,mrn,health-plan,account,aba-routing,zip"),
            joined.end());
  EXPECT_EQ(db.stream_group_count(), db.patterns().size() - 1 - 8);
  EXPECT_TRUE(db.stream_members(db.stream_group_count()).empty());  // out of range
  EXPECT_TRUE(db.stream_members(~0u).empty());
}

TEST(stream_groups_db, groups_survive_serialization) {
  const pattern_db& db = *core().db;
  auto r = pattern_db::deserialize(db.serialize());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(r)) << std::get<load_error>(r).reason;
  const pattern_db& copy = *std::get<std::unique_ptr<pattern_db>>(r);
  ASSERT_EQ(copy.stream_group_count(), db.stream_group_count());
  for (uint32_t g = 0; g < db.stream_group_count(); ++g) {
    const auto a = db.stream_members(g), b = copy.stream_members(g);
    EXPECT_EQ(std::vector<uint16_t>(a.begin(), a.end()), std::vector<uint16_t>(b.begin(), b.end())) << g;
  }
}

std::string json_response(const std::string& content) {
  const std::string body = R"({"choices":[{"message":{"role":"assistant","content":")" + content + R"("}}]})";
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

struct expect_finding {
  const char* text;     // model text
  const char* pattern;  // entry that names the one finding, or nullptr for none
  const char* value;    // its bytes in the text
};

// Members of one group confirmed separately, at every two-piece split and byte by byte.
TEST(stream_groups_engine, each_member_is_confirmed_by_its_own_start_validator_and_context) {
  const expect_finding cases[] = {
      // npi (keyword "provider") and account (keyword "account") both confirm the same digits:
      // one finding, named by npi, the earlier entry, as when they were separate expressions.
      {"provider account 1234567893 on file", "npi", "1234567893"},
      // Only account's keyword: the account entry names it.
      {"account 1234567893 on file", "account", "1234567893"},
      // npi's Luhn fails (last digit): account still confirms it.
      {"provider account 1234567894 on file", "account", "1234567894"},
      // No keyword of any member near a bare number: nothing.
      {"the total was 1234567893 tokens", nullptr, nullptr},
      // The keyword must lie wholly within account's 32-byte window before the value: the
      // group's shared keyword pass must not widen or narrow any member's window.
      {"acct                            1234567894", "account", "1234567894"},
      {"acct                             1234567894", nullptr, nullptr},
      // fax and phone share one expression: the keyword decides which names the value.
      {"fax (212) 555-0147 today", "fax", "(212) 555-0147"},
      {"ring (212) 555-0147 today", "phone", "(212) 555-0147"},
  };
  const pattern_db& db = *core().db;
  for (const expect_finding& c : cases) {
    const std::string resp = json_response(c.text);
    std::vector<test::segmentation> segs = {{resp.size()}, std::vector<size_t>(resp.size(), 1)};
    for (size_t cut = 1; cut < resp.size(); ++cut) segs.push_back({cut, resp.size() - cut});
    for (const test::segmentation& seg : segs) {
      const test::run_result r = test::run_guarded(resp, seg);
      ASSERT_TRUE(r.ok) << c.text;
      EXPECT_EQ(r.late, 0u);
      if (c.pattern == nullptr) {
        EXPECT_TRUE(r.findings.empty()) << c.text << " " << test::describe(seg);
        continue;
      }
      ASSERT_EQ(r.findings.size(), 1u) << c.text << " " << test::describe(seg);
      const finding& f = r.findings[0];
      EXPECT_EQ(static_cast<int>(f.pattern), index_of(db, c.pattern)) << c.text << ": " << db.patterns()[f.pattern].id;
      EXPECT_EQ(resp.substr(f.raw_start, f.raw_end - f.raw_start), c.value) << c.text;
    }
  }
}

pattern_entry gated(std::string id, std::string expr, uint16_t max_length, std::vector<std::string> keywords) {
  pattern_entry e;
  e.id = std::move(id);
  e.entity = "account";
  e.safe_harbor = "account";
  e.expression = std::move(expr);
  e.max_length = max_length;
  e.keywords = std::move(keywords);
  e.context_window = 16;
  e.match = {{"m", ""}};
  e.no_match = {{"n", ""}};
  return e;
}

// A set of its own: two gated entries in one group, one with a one-byte keyword ('#'), so the
// shared keyword pass takes its one-byte path. The pass is a pre-check (the exact context check
// follows start recovery), so what matters is that it is never stricter than a member's own
// window: the keyword at the window's first byte must still be found (a pass that dropped it
// fails the "16 bytes before" case).
TEST(stream_groups_engine, shared_keyword_pass_matches_each_members_own_window) {
  pattern_set set;
  set.name = "unit-groups";
  set.version = 1;
  set.entries.push_back(gated("six", R"(\b\d{6}\b)", 6, {"#", "acct"}));
  set.entries.push_back(gated("eight", R"(\b\d{8}\b)", 8, {"id"}));
  auto compiled = pattern_db::compile(set);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pattern_db>>(compiled)) << std::get<load_error>(compiled).reason;
  test::catalog c;
  c.db = std::move(std::get<std::unique_ptr<pattern_db>>(compiled));
  c.cfg.db = c.db.get();
  c.x = engine::engine_scratch_create(c.cfg);
  ASSERT_NE(c.x, nullptr);
  ASSERT_EQ(c.db->stream_group_count(), 1u);
  ASSERT_NE(c.db->group_context(0), nullptr);
  EXPECT_EQ(c.db->group_context(0)->keyword_count, 3);

  const expect_finding cases[] = {
      {"ref # 123456 done", "six", "123456"},
      {"ref #123456 done", "six", "123456"},
      {"#               123456", "six", "123456"},   // '#' starts 16 bytes before: inside
      {"#                123456", nullptr, nullptr},  // 17 bytes: outside
      {"acct 123456", "six", "123456"},
      {"id 12345678", "eight", "12345678"},
      {"id 123456", nullptr, nullptr},                // eight's keyword, six's shape
      {"# 12345678", nullptr, nullptr},               // six's keyword, eight's shape
      {"123456 # after", nullptr, nullptr},           // keyword after the value
  };
  for (const expect_finding& k : cases) {
    const std::string resp = json_response(k.text);
    std::vector<test::segmentation> segs = {{resp.size()}, std::vector<size_t>(resp.size(), 1)};
    for (size_t cut = 1; cut < resp.size(); cut += 3) segs.push_back({cut, resp.size() - cut});
    for (const test::segmentation& seg : segs) {
      const test::run_result r = test::run_guarded(resp, seg, flush_mode::mask, false, 4, false, nullptr, &c);
      ASSERT_TRUE(r.ok) << k.text;
      if (k.pattern == nullptr) {
        EXPECT_TRUE(r.findings.empty()) << k.text << " " << test::describe(seg);
        continue;
      }
      ASSERT_EQ(r.findings.size(), 1u) << k.text << " " << test::describe(seg);
      EXPECT_STREQ(c.db->patterns()[r.findings[0].pattern].id, k.pattern) << k.text;
      EXPECT_EQ(resp.substr(r.findings[0].raw_start, r.findings[0].raw_end - r.findings[0].raw_start), k.value);
    }
  }
  engine::engine_scratch_destroy(c.x);
  c.x = nullptr;
}

}  // namespace
}  // namespace phigate::scan
