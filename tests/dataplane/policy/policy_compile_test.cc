// Policy compilation: every rejection names the file, the rule or route and the reason (and
// never quotes values), a rejected policy yields no snapshot, and the digest is canonical.
#include <string>

#include <gtest/gtest.h>

#include "dataplane/policy/glob.hh"
#include "dataplane/policy/policy.hh"
#include "tests/dataplane/policy/policy_test_util.hh"

namespace phigate::policy {
namespace {

using test::make_policy;
using test::must_compile;

struct bad_row {
  std::string text;
  std::string want;  // the whole error, or a substring when it starts with '~'
};

void expect_rejected(const bad_row& r) {
  const compile_result c = compile(r.text, "p.json");
  EXPECT_EQ(c.snap, nullptr) << r.text;
  if (r.want.starts_with("~")) {
    EXPECT_NE(c.error.find(r.want.substr(1)), std::string::npos) << c.error << "\n  for " << r.text;
  } else {
    EXPECT_EQ(c.error, r.want) << r.text;
  }
  EXPECT_TRUE(c.error.starts_with("p.json: ")) << c.error;
}

std::string rule(std::string_view body) { return make_policy(std::string("[") + std::string(body) + "]"); }

TEST(PolicyCompile, DocumentLevelErrors) {
  const bad_row rows[] = {
      {"", "~p.json: policy: JSON syntax error at byte"},
      {"{\"version\":1,", "~JSON syntax error at byte"},
      {"[]", "p.json: policy: the document must be a JSON object"},
      {R"({"rules":[]})", "p.json: version: missing"},
      {R"({"version":2,"rules":[]})", "p.json: version: must be 1"},
      {R"({"version":"1","rules":[]})", "p.json: version: must be 1"},
      {R"({"version":1})", "~p.json: rules: missing"},
      {R"({"version":1,"rules":{}})", "p.json: rules: must be a list"},
      {R"({"version":1,"rules":[],"colour":1})", "p.json: policy: unknown field \"colour\""},
      {R"({"version":1,"rules":[],"version":1})", "p.json: policy: duplicate key \"version\" in an object"},
      {R"({"version":1,"rules":[],"body_limit":-1})", "p.json: body_limit: value must be in 0..1048576"},
      {R"({"version":1,"rules":[],"body_limit":1048577})", "p.json: body_limit: value must be in 0..1048576"},
      {R"({"version":1,"rules":[],"body_limit":1.5})", "p.json: body_limit: value must be an integer"},
      {R"({"version":1,"rules":[],"name":3})", "p.json: name: must be a string"},
      {R"({"version":1,"rules":[],"default":"block"})", "p.json: default: must be an object"},
      {R"({"version":1,"rules":[],"default":{"action":"block"}})",
       "p.json: default: a block rule needs a non-empty \"reason\""},
      {R"({"version":1,"rules":[],"default":{"action":"deny","reason":"x"}})",
       "p.json: default: action must be \"allow\", \"require_approval\" or \"block\""},
      {R"({"version":1,"rules":[],"default":{"action":"allow","match":{}}})",
       "p.json: default: unknown field \"match\""},
      {R"({"version":1,"rules":[],"routes":{}})", "p.json: routes: must be a list"},
  };
  for (const auto& r : rows) expect_rejected(r);
}

TEST(PolicyCompile, RuleErrors) {
  const bad_row rows[] = {
      {rule("3"), "p.json: rule #0: must be an object"},
      {rule(R"({"action":"allow"})"), "p.json: rule #0: missing \"id\""},
      {rule(R"({"id":"has space","action":"allow"})"), "p.json: rule #0: \"id\" must be 1..64 of [A-Za-z0-9_.:-]"},
      {rule(R"({"id":"","action":"allow"})"), "p.json: rule #0: \"id\" must be 1..64 of [A-Za-z0-9_.:-]"},
      {rule(R"({"id":"a","action":"allow"},{"id":"a","action":"allow"})"), "p.json: rule a: duplicate rule id"},
      {rule(R"({"id":"ok","action":"allow"},{"id":"default","action":"allow"})"),
       "p.json: rule default: the id \"default\" is reserved for the default action"},
      {rule(R"({"id":"a","action":"allow","colour":"red"})"), "p.json: rule a: unknown field \"colour\""},
      {rule(R"({"id":"a"})"), "p.json: rule a: missing \"action\""},
      {rule(R"({"id":"a","action":"deny"})"),
       "p.json: rule a: action must be \"allow\", \"require_approval\" or \"block\""},
      {rule(R"({"id":"a","action":"block"})"), "p.json: rule a: a block rule needs a non-empty \"reason\""},
      {rule(R"({"id":"a","action":"block","reason":""})"),
       "p.json: rule a: a block rule needs a non-empty \"reason\""},
      {rule(R"({"id":"a","action":"block","reason":"say \"no\""})"),
       "~p.json: rule a: reason must be at most 256 bytes of printable ASCII"},
      {rule(R"({"id":"a","action":"block","reason":")" + std::string(257, 'r') + "\"}"),
       "~p.json: rule a: reason must be at most 256 bytes"},
      {rule(R"({"id":"a","action":"allow","on_unknown":"maybe"})"),
       "p.json: rule a: on_unknown must be \"match\" or \"skip\""},
      {rule(R"({"id":"a","action":"allow","match":[]})"), "p.json: rule a: match must be an object"},
      {rule(R"({"id":"a","action":"allow","match":{"subject":["x"]}})"),
       "p.json: rule a: match: unknown field \"subject\""},
  };
  for (const auto& r : rows) expect_rejected(r);
  // The second rule's index is used before its id is known.
  expect_rejected({rule(R"({"id":"a","action":"allow"},{"id":7,"action":"allow"})"),
                   "p.json: rule #1: \"id\" must be 1..64 of [A-Za-z0-9_.:-]"});
}

TEST(PolicyCompile, ApprovalErrors) {
  const bad_row rows[] = {
      {rule(R"({"id":"a","action":"require_approval","reason":"r"})"),
       "p.json: rule a: require_approval needs \"approver_groups\""},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approvals":2})"),
       "p.json: rule a: require_approval needs \"approver_groups\""},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approver_groups":[]})"),
       "~p.json: rule a: approver_groups is empty"},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approver_groups":["x"],"approvals":0})"),
       "p.json: rule a: approvals must be in 1..16"},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approver_groups":["x"],"approvals":17})"),
       "p.json: rule a: approvals must be in 1..16"},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approver_groups":["x"],"grant_ttl_s":86401})"),
       "p.json: rule a: grant_ttl_s is over the cap of 86400 seconds"},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approver_groups":["x"],"grant_ttl_s":0})"),
       "p.json: rule a: grant_ttl_s must be in 1..86400"},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approver_groups":["x"],"grant_ttl_s":"1h"})"),
       "p.json: rule a: grant_ttl_s must be an integer"},
      {rule(R"({"id":"a","action":"block","reason":"r","approvals":1})"),
       "p.json: rule a: approvals, approver_groups, grant and grant_ttl_s apply only to require_approval"},
      {rule(R"({"id":"a","action":"allow","grant":"time_bound"})"),
       "p.json: rule a: approvals, approver_groups, grant and grant_ttl_s apply only to require_approval"},
      {rule(R"({"id":"a","action":"require_approval","reason":"r","approver_groups":["x"],"grant":"forever"})"),
       "p.json: rule a: grant must be \"one_time\" or \"time_bound\""},
      {rule(R"({"id":"a","action":"allow","grant_ttl_s":60})"),
       "p.json: rule a: approvals, approver_groups, grant and grant_ttl_s apply only to require_approval"},
  };
  for (const auto& r : rows) expect_rejected(r);
}

TEST(PolicyCompile, MatchFieldErrors) {
  auto m = [](std::string_view match) {
    return rule(std::string(R"({"id":"a","action":"allow","match":)") + std::string(match) + "}");
  };
  const bad_row rows[] = {
      {m(R"({"subjects":[]})"), "~p.json: rule a: subjects is empty"},
      {m(R"({"subjects":"alice"})"), "p.json: rule a: subjects must be a list"},
      {m(R"({"subjects":[""]})"), "~p.json: rule a: subjects[0] must be"},
      {m(R"({"groups":["ok","\u0001"]})"), "~p.json: rule a: groups[1] must be"},
      {m(R"({"anonymous":"yes"})"), "p.json: rule a: anonymous must be true or false"},
      {m(R"({"subjects":["x"],"anonymous":true})"),
       "p.json: rule a: anonymous: true with subjects or groups can never match"},
      {m(R"({"methods":["post"]})"), "~p.json: rule a: methods[0] must be an uppercase method"},
      {m(R"({"paths":[{"exact":"v1/x"}]})"), "p.json: rule a: paths[0].exact must start with '/'"},
      {m(R"({"paths":[{"prefix":"/v1/%61"}]})"), "~p.json: rule a: paths[0].prefix must not hold %"},
      {m(R"({"paths":[{"exact":"/v1/x?y=1"}]})"), "~p.json: rule a: paths[0].exact must not hold %"},
      {m(R"({"paths":[{"exact":"/v1//x"}]})"), "p.json: rule a: paths[0].exact must not hold empty or dot segments"},
      {m(R"({"paths":[{"exact":"/v1/.."}]})"), "p.json: rule a: paths[0].exact must not end in a dot segment"},
      {m(R"({"paths":[{"exact":"/a b"}]})"), "~p.json: rule a: paths[0].exact must be printable ASCII"},
      {m(R"({"paths":[{"regex":"/v1/.*"}]})"), "~p.json: rule a: paths[0]: unknown path kind \"regex\""},
      {m(R"({"paths":[{"exact":"/a","prefix":"/b"}]})"), "~p.json: rule a: paths[0] must be an object with one of"},
      {m(R"({"paths":["/v1/x"]})"), "~p.json: rule a: paths[0] must be an object with one of"},
      {m(R"({"paths":[{"glob":"v1/*"}]})"), "p.json: rule a: paths[0].glob must start with '/' or '*'"},
      {m(R"({"paths":[{"glob":"/v1/**"}]})"), "~p.json: rule a: paths[0].glob: bad glob: '**'"},
      {m(R"({"paths":[{"glob":"/v1/[ab]"}]})"), "~p.json: rule a: paths[0].glob: bad glob: '[' and ']' are reserved"},
      {m(R"({"routes":["nope"]})"), "p.json: rule a: route \"nope\" is not defined in routes"},
      {m(R"({"models":["gpt-4o\\"]})"), "~p.json: rule a: models[0]: bad glob: glob ends with a lone"},
      {m(R"({"models":[""]})"), "p.json: rule a: models[0]: bad glob: empty glob"},
      {m(R"({"body_readable":1})"), "p.json: rule a: body_readable must be true or false"},
      {m(R"({"body":[]})"), "p.json: rule a: body must be a non-empty list of conditions"},
      {m(R"({"body":{"path":"n"}})"), "p.json: rule a: body must be a non-empty list of conditions"},
  };
  for (const auto& r : rows) expect_rejected(r);
}

TEST(PolicyCompile, BodyConditionErrors) {
  auto b = [](std::string_view cond) {
    return rule(std::string(R"({"id":"a","action":"block","reason":"r","match":{"body":[)") +
                std::string(cond) + "]}}");
  };
  const bad_row rows[] = {
      {b("1"), "p.json: rule a: body[0] must be an object"},
      {b(R"({"op":">","value":1})"), "p.json: rule a: body[0]: missing \"path\""},
      {b(R"({"path":"n","value":1})"), "p.json: rule a: body[0]: missing \"op\""},
      {b(R"({"path":"n","op":"=>","value":1})"), "p.json: rule a: body[0].op: unknown op (use > >= < <= == != in exists type)"},
      {b(R"({"path":"n","op":"~","value":1})"), "~p.json: rule a: body[0].op: unknown op"},
      {b(R"({"path":"n","op":">","value":1,"extra":1})"), "p.json: rule a: body[0]: unknown field \"extra\""},
      {b(R"({"path":"a..b","op":"exists"})"), "~p.json: rule a: body[0].path: "},
      {b(R"({"path":"","op":"exists"})"), "p.json: rule a: body[0].path: empty path"},
      {b(R"({"path":"n","op":">"})"), "p.json: rule a: body[0]: missing \"value\""},
      {b(R"({"path":"n","op":">","value":"4"})"), "p.json: rule a: body[0].value must be a number for >"},
      {b(R"({"path":"n","op":"==","value":[1]})"),
       "p.json: rule a: body[0].value must be a string, number, boolean or null"},
      {b(R"({"path":"n","op":"in","value":[]})"), "~p.json: rule a: body[0].value must be a list of 1..256"},
      {b(R"({"path":"n","op":"in","value":3})"), "~p.json: rule a: body[0].value must be a list of 1..256"},
      {b(R"({"path":"n","op":"in","value":[1,"a"]})"),
       "p.json: rule a: body[0].value must hold only strings or only numbers"},
      {b(R"({"path":"n","op":"in","value":[true]})"),
       "p.json: rule a: body[0].value must hold only strings or only numbers"},
      {b(R"({"path":"n","op":"exists","value":"yes"})"),
       "p.json: rule a: body[0].value must be true or false for exists"},
      {b(R"({"path":"n","op":"type","value":"int"})"),
       "p.json: rule a: body[0].value must be one of null boolean number string array object"},
      {b(R"({"path":"n","op":"type"})"), "p.json: rule a: body[0]: missing \"value\""},
      {b(R"({"path":"n","op":">","value":1,"measure":"size"})"),
       "p.json: rule a: body[0].measure must be \"value\" or \"length\""},
      {b(R"({"path":"n","op":"exists","measure":"length"})"),
       "p.json: rule a: body[0]: \"measure\": \"length\" does not apply to exists"},
      {b(R"({"path":"n","op":"type","value":"array","measure":"length"})"),
       "p.json: rule a: body[0]: \"measure\": \"length\" does not apply to type"},
      {b(R"({"path":"n","op":"==","value":"x","measure":"length"})"),
       "p.json: rule a: body[0].value must be a number for == with \"measure\": \"length\""},
      {b(R"({"path":"n","op":"in","value":[1.5],"measure":"length"})"),
       "~p.json: rule a: body[0].value must hold non-negative integers"},
  };
  for (const auto& r : rows) expect_rejected(r);

  std::string many;
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + R"({"path":"n","op":"exists"})";
  expect_rejected({b(many), "p.json: rule a: body has more than 16 conditions"});

  // 64 distinct paths in all, "model" included.
  std::string rules;
  for (int i = 0; i < 64; ++i) {
    rules += std::string(i ? "," : "") + R"({"id":"r)" + std::to_string(i) +
             R"(","action":"allow","match":{"body":[{"path":"p)" + std::to_string(i) + R"(","op":"exists"}]}})";
  }
  expect_rejected({make_policy("[" + rules + "]"), "p.json: rule r63: body[0].path: more than 64 distinct body paths in the policy"});
}

TEST(PolicyCompile, RouteErrors) {
  auto rt = [](std::string_view routes) { return make_policy("[]", routes); };
  const bad_row rows[] = {
      {rt(R"([1])"), "p.json: route #0: must be an object"},
      {rt(R"([{"hosts":["a"]}])"), "p.json: route #0: \"id\" must be 1..64 of [A-Za-z0-9_.:-]"},
      {rt(R"([{"id":"a"},{"id":"a"}])"), "p.json: route a: duplicate route id"},
      {rt(R"([{"id":"a","upstream":"x"}])"), "p.json: route a: unknown field \"upstream\""},
      {rt(R"([{"id":"a","hosts":[]}])"), "~p.json: route a: hosts is empty"},
      {rt(R"([{"id":"a","hosts":["a**"]}])"), "~p.json: route a: hosts[0]: bad glob: '**'"},
      {rt(R"([{"id":"a","paths":[{"prefix":"x"}]}])"), "p.json: route a: paths[0].prefix must start with '/'"},
      {rt(R"([{"id":"a","credential":"has space"}])"), "p.json: route a: credential must be 1..64 of [A-Za-z0-9_.:-]"},
      {rt(R"([{"id":"a","auth_header":"Authorization"}])"), "~p.json: route a: auth_header must be a lowercase header name"},
      {rt(R"([{"id":"a","masking_profile":""}])"), "p.json: route a: masking_profile must be 1..64 of [A-Za-z0-9_.:-]"},
      {rt(R"([{"id":"a","masking_profile":"nope"}])"),
       "p.json: route a: masking_profile \"nope\" is not defined in masking_profiles"},
      {rt(R"([{"id":"a","unmasked_groups":"phi"}])"), "p.json: route a: unmasked_groups must be a list"},
  };
  for (const auto& r : rows) expect_rejected(r);
  std::string many = "[";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + R"({"id":"r)" + std::to_string(i) + "\"}";
  expect_rejected({rt(many + "]"), "p.json: routes: more than 64 routes"});
}

// Issue 4 section 2: per-route masking profiles.
TEST(PolicyCompile, MaskingProfilesParsed) {
  auto s = test::must_compile(make_policy(
      "[]", R"([{"id":"a","masking_profile":"contact"},{"id":"b"},{"id":"c","masking_profile":"every"}])",
      R"("masking_profiles":{"contact":{"description":"x","entities":["email","phone"],"mask_style":"all"},
                             "every":{},"ids":{"entities":["ssn"],"mask_style":"alnum"}},)"));
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(profile_count(*s), 3u);
  const route* a = route_at(*s, 0);
  ASSERT_NE(a, nullptr);
  const masking_profile* p = profile_at(*s, a->profile);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "contact");
  EXPECT_EQ(p->entities, (std::vector<std::string>{"email", "phone"}));
  EXPECT_EQ(p->style, scan::style_override::all);
  EXPECT_EQ(route_at(*s, 1)->profile, -1);  // no profile: the default
  const masking_profile* every = profile_at(*s, route_at(*s, 2)->profile);
  ASSERT_NE(every, nullptr);
  EXPECT_EQ(every->name, "every");
  EXPECT_TRUE(every->entities.empty());
  EXPECT_EQ(every->style, scan::style_override::pattern);
  bool saw_ids = false;
  for (uint32_t i = 0; i < profile_count(*s); ++i)
    if (profile_at(*s, static_cast<int32_t>(i))->name == "ids") {
      saw_ids = true;
      EXPECT_EQ(profile_at(*s, static_cast<int32_t>(i))->style, scan::style_override::alnum);
    }
  EXPECT_TRUE(saw_ids);
  EXPECT_EQ(profile_at(*s, 3), nullptr);
  EXPECT_EQ(profile_at(*s, -1), nullptr);
}

TEST(PolicyCompile, MaskingProfileErrors) {
  auto pr = [](std::string_view profiles) {
    return make_policy("[]", "[]", "\"masking_profiles\":" + std::string(profiles) + ",");
  };
  const bad_row rows[] = {
      {pr("[]"), "p.json: masking_profiles: must be an object of named profiles"},
      {pr("{}"), "p.json: masking_profiles: must not be empty (leave it out instead)"},
      {pr(R"({"has space":{}})"), "p.json: masking_profiles: profile names must be 1..64 of [A-Za-z0-9_.:-]"},
      {pr(R"({"p":[]})"), "p.json: masking_profile p: must be an object"},
      {pr(R"({"p":{"entity":["ssn"]}})"), "p.json: masking_profile p: unknown field \"entity\""},
      {pr(R"({"p":{"entities":[]}})"), "~p.json: masking_profile p: entities is empty"},
      {pr(R"({"p":{"entities":"ssn"}})"), "p.json: masking_profile p: entities must be a list"},
      {pr(R"({"p":{"entities":["SSN"]}})"),
       "p.json: masking_profile p: entities[0] must be an entity name ([a-z0-9_]{1,23})"},
      {pr(R"({"p":{"entities":["ssn","e-mail"]}})"),
       "p.json: masking_profile p: entities[1] must be an entity name ([a-z0-9_]{1,23})"},
      {pr(R"({"p":{"entities":["ssn",3]}})"), "p.json: masking_profile p: entities[1] must be a string"},
      {pr(R"({"p":{"entities":["ssn","ssn"]}})"), "p.json: masking_profile p: entities[1] repeats entity \"ssn\""},
      {pr(R"({"p":{"mask_style":"stars"}})"), "p.json: masking_profile p: mask_style must be \"alnum\" or \"all\""},
      {pr(R"({"p":{"mask_style":1}})"), "p.json: masking_profile p: mask_style must be a string"},
      {pr(R"({"p":{"mask_style":"pattern"}})"),
       "p.json: masking_profile p: mask_style must be \"alnum\" or \"all\""},
  };
  for (const auto& r : rows) expect_rejected(r);
  std::string many = "{";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + "\"p" + std::to_string(i) + "\":{}";
  expect_rejected({pr(many + "}"), "p.json: masking_profiles: more than 64 profiles"});
}

// Pattern sets per route (several loaded sets): a profile names the sets it draws from; the
// names are syntax-checked here and resolved against the loaded db by gate::resolve_profiles.
TEST(PolicyCompile, MaskingProfilePatternSetsParsed) {
  auto s = test::must_compile(make_policy(
      "[]", R"([{"id":"a","masking_profile":"onc"},{"id":"b","masking_profile":"plain"}])",
      R"("masking_profiles":{"onc":{"pattern_sets":["oncology-research","us-phi-core"],"entities":["mrn"]},
                             "plain":{"entities":["ssn"]}},)"));
  ASSERT_NE(s, nullptr);
  const masking_profile* onc = profile_at(*s, route_at(*s, 0)->profile);
  ASSERT_NE(onc, nullptr);
  EXPECT_EQ(onc->pattern_sets, (std::vector<std::string>{"oncology-research", "us-phi-core"}));
  EXPECT_EQ(onc->entities, (std::vector<std::string>{"mrn"}));
  const masking_profile* plain = profile_at(*s, route_at(*s, 1)->profile);
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain->pattern_sets.empty());  // absent: every loaded set
}

TEST(PolicyCompile, MaskingProfilePatternSetErrors) {
  auto pr = [](std::string_view profiles) {
    return make_policy("[]", "[]", "\"masking_profiles\":" + std::string(profiles) + ",");
  };
  const bad_row rows[] = {
      {pr(R"({"p":{"pattern_sets":[]}})"), "~p.json: masking_profile p: pattern_sets is empty"},
      {pr(R"({"p":{"pattern_sets":"us-phi-core"}})"), "p.json: masking_profile p: pattern_sets must be a list"},
      {pr(R"({"p":{"pattern_sets":["US-PHI-core"]}})"),
       "p.json: masking_profile p: pattern_sets[0] must be a pattern set name ([a-z0-9-]{1,47})"},
      {pr(R"({"p":{"pattern_sets":["a",7]}})"), "p.json: masking_profile p: pattern_sets[1] must be a string"},
      {pr(R"({"p":{"pattern_sets":["a","b","a"]}})"),
       "p.json: masking_profile p: pattern_sets[2] repeats pattern set \"a\""},
      {pr(R"({"p":{"pattern_set":["a"]}})"), "p.json: masking_profile p: unknown field \"pattern_set\""},
  };
  for (const auto& r : rows) expect_rejected(r);
}

TEST(PolicyCompile, UnmaskedGroupsMatchExactly) {
  auto s = test::must_compile(make_policy("[]", R"([{"id":"a","unmasked_groups":["phi-readers","audit"]},{"id":"b"}])"));
  const route* a = route_at(*s, 0);
  const std::string_view readers[] = {"staff", "phi-readers"};
  const std::string_view others[] = {"PHI-readers", "phi-reader", "phi-readers-x"};
  EXPECT_TRUE(route_unmasked_for(*a, readers, 2));
  EXPECT_FALSE(route_unmasked_for(*a, readers, 1));
  EXPECT_FALSE(route_unmasked_for(*a, others, 3));
  EXPECT_FALSE(route_unmasked_for(*a, nullptr, 0));
  EXPECT_FALSE(route_unmasked_for(*route_at(*s, 1), readers, 2));
}

TEST(PolicyCompile, LimitErrors) {
  std::string groups;
  for (int i = 0; i < 257; ++i) groups += std::string(i ? "," : "") + "\"g" + std::to_string(i) + "\"";
  // One list is capped at 256 entries, so spread 257 groups over two rules.
  std::string two = R"({"id":"a","action":"allow","match":{"groups":[)";
  for (int i = 0; i < 200; ++i) two += std::string(i ? "," : "") + "\"g" + std::to_string(i) + "\"";
  two += R"(]}},{"id":"b","action":"allow","match":{"groups":[)";
  for (int i = 200; i < 257; ++i) two += std::string(i > 200 ? "," : "") + "\"g" + std::to_string(i) + "\"";
  two += "]}}";
  expect_rejected({rule(two), "p.json: rules: more than 256 distinct groups"});
  expect_rejected({rule(R"({"id":"a","action":"allow","match":{"groups":[)" + groups + "]}}"),
                   "p.json: rule a: groups has more than 256 entries"});
  std::string rules;
  for (int i = 0; i < 1025; ++i) rules += std::string(i ? "," : "") + R"({"id":"r)" + std::to_string(i) + R"(","action":"allow"})";
  expect_rejected({make_policy("[" + rules + "]"), "p.json: rules: more than 1024 rules"});
  expect_rejected({std::string(policy_max_file_bytes + 1, ' '), "p.json: policy: file larger than 4 MiB"});
}

TEST(PolicyCompile, ErrorsNeverQuoteValues) {
  // A reason, subject or path holding something PHI-like must not come back in the message.
  const std::string secret = "123-45-6789";
  for (const std::string& text :
       {rule(R"({"id":"a","action":"block","reason":"SSN \")" + secret + "\"}"),
        rule(R"({"id":"a","action":"allow","match":{"subjects":[")" + secret + "\x01\"]}}"),
        rule(R"({"id":"a","action":"allow","match":{"paths":[{"exact":")" + secret + "\"}]}}"),
        rule(R"({"id":"a","action":"allow","match":{"models":[")" + secret + "[\"]}}"),
        rule(R"({"id":"a","action":"allow","match":{"body":[{"path":"n","op":")" + secret + "\"}]}}"),
        std::string(R"({"version":1,"rules":[],"x":")") + secret + "\""}) {
    const compile_result c = compile(text, "p.json");
    EXPECT_FALSE(c.error.empty());
    EXPECT_EQ(c.error.find(secret), std::string::npos) << c.error;
  }
}

TEST(PolicyCompile, CommentsAndDefaults) {
  auto s = must_compile(R"(// a comment
    { /* block */ "version": 1, "rules": [ {"id":"a","action":"allow"} ] })");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(body_limit(*s), 65536u);
  EXPECT_EQ(route_count(*s), 0u);
  auto z = must_compile(R"({"version":1,"body_limit":0,"rules":[]})");
  EXPECT_EQ(body_limit(*z), 0u);
}

TEST(PolicyCompile, DigestIsCanonical) {
  auto a = must_compile(R"({"version":1,"rules":[{"id":"a","action":"allow"}],"body_limit":100})");
  auto b = must_compile(R"(
    // same policy, other layout and key order
    { "body_limit": 100,
      "rules": [ { "action": "allow", "id": "a" } ], "version": 1 })");
  auto c = must_compile(R"({"version":1,"rules":[{"id":"a","action":"allow"}],"body_limit":101})");
  EXPECT_EQ(snapshot_digest(*a), snapshot_digest(*b));
  EXPECT_NE(snapshot_digest(*a), snapshot_digest(*c));
  EXPECT_EQ(snapshot_digest(*a).find_first_not_of("0123456789abcdef"), std::string_view::npos);
}

TEST(Glob, CompileAndMatch) {
  glob g;
  ASSERT_EQ(glob_compile("a*b?c", false, g), "");
  EXPECT_TRUE(glob_match(g, "abxc"));
  EXPECT_TRUE(glob_match(g, "a/x/yb_c"));
  EXPECT_TRUE(glob_match(g, "abbbbc"));
  EXPECT_FALSE(glob_match(g, "abc"));
  EXPECT_FALSE(glob_match(g, "Abxc"));
  ASSERT_EQ(glob_compile("*", false, g), "");
  EXPECT_TRUE(glob_match(g, ""));
  EXPECT_TRUE(glob_match(g, "anything"));
  ASSERT_EQ(glob_compile("*.Example.COM", true, g), "");
  EXPECT_TRUE(glob_match(g, "API.example.com"));
  EXPECT_FALSE(glob_match(g, "example.com"));
  ASSERT_EQ(glob_compile("lit\\*\\?\\\\\\[x\\]", false, g), "");
  EXPECT_TRUE(g.literal);
  EXPECT_TRUE(glob_match(g, "lit*?\\[x]"));
  EXPECT_FALSE(glob_match(g, "litx?\\[x]"));
  ASSERT_EQ(glob_compile("*a*a*a*b", false, g), "");
  EXPECT_FALSE(glob_match(g, std::string(2000, 'a')));  // bounded backtracking, still correct
  EXPECT_TRUE(glob_match(g, std::string(2000, 'a') + "b"));

  for (const char* bad : {"", "a**", "[a]", "a]", "a\\", "a\\b", "\x01", "*********"}) {
    EXPECT_NE(glob_compile(bad, false, g), "") << bad;
  }
  EXPECT_NE(glob_compile(std::string(257, 'a'), false, g), "");
  EXPECT_EQ(glob_compile(std::string(256, 'a'), false, g), "");
}

}  // namespace
}  // namespace phigate::policy
