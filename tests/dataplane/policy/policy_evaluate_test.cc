// Policy evaluation: matching tables for every condition kind, first-match order, the default,
// routes, approval fields, and the fail-closed handling of bodies and paths it cannot read.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "dataplane/policy/policy.hh"
#include "tests/dataplane/policy/policy_test_util.hh"
#include "tests/support/guard_page.hh"

namespace phigate::policy {
namespace {

using test::make_policy;
using test::must_compile;
using test::req;

// One rule "r" (allow) with the given match; anything else falls to the default (block).
std::unique_ptr<const snapshot> one_rule(std::string_view match, std::string_view action = "allow",
                                         std::string_view extra_rule_fields = "") {
  std::string rule = "[{\"id\":\"r\",\"match\":";
  rule += match;
  rule += ",\"action\":\"";
  rule += action;
  rule += "\"";
  if (action != "allow") rule += ",\"reason\":\"because\"";
  if (action == "require_approval") rule += ",\"approver_groups\":[\"leads\"]";
  rule += extra_rule_fields;
  rule += "}]";
  return must_compile(make_policy(rule));
}

// Whether rule "r" (index 0) decided.
bool hits(const snapshot& s, const req& r) { return r.eval(s).rule == 0; }

TEST(PolicyEvaluate, SubjectsAnonymousAndGroups) {
  auto subj = one_rule(R"({"subjects":["alice","bob@example.org"]})");
  req r;
  EXPECT_TRUE(hits(*subj, r));
  r.subject = "bob@example.org";
  EXPECT_TRUE(hits(*subj, r));
  r.subject = "Alice";  // case matters
  EXPECT_FALSE(hits(*subj, r));
  r.subject = "alic";
  EXPECT_FALSE(hits(*subj, r));
  r.subject = "";
  EXPECT_FALSE(hits(*subj, r));

  auto anon = one_rule(R"({"anonymous":true})");
  auto authed = one_rule(R"({"anonymous":false})");
  r.subject = "";
  EXPECT_TRUE(hits(*anon, r));
  EXPECT_FALSE(hits(*authed, r));
  r.subject = "carol";
  EXPECT_FALSE(hits(*anon, r));
  EXPECT_TRUE(hits(*authed, r));

  auto grp = one_rule(R"({"groups":["clinicians","researchers"]})");
  r.groups = {};
  EXPECT_FALSE(hits(*grp, r));
  r.groups = {"admins", "researchers"};
  EXPECT_TRUE(hits(*grp, r));
  r.groups = {"clinicians"};
  EXPECT_TRUE(hits(*grp, r));
  r.groups = {"clinician", "Clinicians", "researchers2"};
  EXPECT_FALSE(hits(*grp, r));
}

TEST(PolicyEvaluate, GroupsAcrossManyDistinctNames) {
  // 200 groups named by rules: the per-request mask spans several words.
  std::string rules = "[";
  for (int i = 0; i < 200; ++i) {
    rules += (i ? "," : "");
    rules += "{\"id\":\"g" + std::to_string(i) + "\",\"match\":{\"groups\":[\"grp-" +
             std::to_string(i) + "\"]},\"action\":\"allow\"}";
  }
  rules += "]";
  auto s = must_compile(make_policy(rules));
  for (int i : {0, 63, 64, 127, 128, 199}) {
    req r;
    r.groups = {"other", "grp-" + std::to_string(i)};
    EXPECT_EQ(r.eval(*s).rule, i);
  }
  req none;
  none.groups = {"grp-200", "grp-"};
  EXPECT_EQ(none.eval(*s).rule, -1);
}

TEST(PolicyEvaluate, Methods) {
  auto s = one_rule(R"({"methods":["POST","PUT"]})");
  req r;
  for (const char* m : {"POST", "PUT"}) {
    r.method = m;
    EXPECT_TRUE(hits(*s, r)) << m;
  }
  for (const char* m : {"GET", "post", "POSTX", ""}) {
    r.method = m;
    EXPECT_FALSE(hits(*s, r)) << m;
  }
}

TEST(PolicyEvaluate, PathKinds) {
  auto s = one_rule(
      R"({"paths":[{"exact":"/v1/chat/completions"},{"prefix":"/v2/"},{"glob":"/v3/*/completions"},{"glob":"/v4/item?"}]})");
  struct row {
    const char* target;
    bool hit;
  };
  const row rows[] = {
      {"/v1/chat/completions", true},
      {"/v1/chat/completions?x=1", true},  // the query is not part of the path
      {"/v1/chat/completions#frag", true},
      {"/v1/chat/completions/", false},    // exact is exact
      {"/v1/chat/completion", false},
      {"/V1/chat/completions", false},     // case matters
      {"/v2/", true},
      {"/v2/anything/deeper", true},
      {"/v2", false},
      {"/v3/chat/completions", true},
      {"/v3/a/b/completions", true},       // '*' crosses '/'
      {"/v3/completions", false},
      {"/v4/item7", true},
      {"/v4/item", false},
      {"/v4/item77", false},
      {"http://api.example/v1/chat/completions", true},   // absolute-form
      {"HTTPS://api.example:443/v2/x?y", true},
      {"http://api.example", false},                      // path "/"
  };
  for (const row& x : rows) {
    req r;
    r.target = x.target;
    EXPECT_EQ(hits(*s, r), x.hit) << x.target;
  }
}

TEST(PolicyEvaluate, NonCanonicalPathsAreUnknown) {
  // Regression: "/v1/%61dmin" or "/v1//admin" would be routed to /v1/admin by many servers;
  // comparing the raw bytes would let them past a block rule on /v1/admin.
  auto block = one_rule(R"({"paths":[{"prefix":"/v1/admin"}]})", "block");
  auto allow = one_rule(R"({"paths":[{"prefix":"/v1/"}]})", "allow");
  for (const char* t : {"/v1/%61dmin", "/v1//admin", "/v1/./admin", "/v1/x/../admin", "/v1/admin/..",
                        "/v1\\admin", "*", "v1/admin", "/v1/ad min", "/v1/\xc3\xa9", ""}) {
    req r;
    r.target = t;
    const decision b = r.eval(*block);
    EXPECT_EQ(b.rule, 0) << t;
    EXPECT_TRUE(b.on_unknown) << t;
    EXPECT_EQ(r.eval(*allow).rule, -1) << t;  // allow rules skip what they cannot read
  }
  // Dots inside a segment are ordinary.
  req ok;
  ok.target = "/v1/admin.json/..x/.y";
  EXPECT_FALSE(ok.eval(*block).on_unknown);
  EXPECT_EQ(ok.eval(*block).rule, 0);
  // A block rule without path conditions is not affected by an unreadable path.
  auto other = one_rule(R"({"methods":["DELETE"]})", "block");
  req p;
  p.target = "/v1/%61";
  EXPECT_EQ(p.eval(*other).rule, -1);
}

TEST(PolicyEvaluate, ModelsExactGlobAndEscapes) {
  auto s = one_rule(R"({"models":["gpt-4o","llama-3*","o?-mini","star\\*"]})");
  struct row {
    std::string body;
    bool hit;
  };
  const row rows[] = {
      {R"({"model":"gpt-4o"})", true},
      {R"({"model":"gpt-4o-mini"})", false},
      {R"({"model":"GPT-4o"})", false},
      {R"({"model":"llama-3.1-70b"})", true},
      {R"({"model":"llama-2"})", false},
      {R"({"model":"o1-mini"})", true},
      {R"({"model":"o10-mini"})", false},
      {R"({"model":"star*"})", true},
      {R"({"model":"starx"})", false},
      // Escapes in the value and in the key are decoded before matching.
      {R"({"model":"gpt\u002d4o"})", true},
      {R"({"mo\u0064el":"gpt-4o"})", true},
      {R"({"messages":[{"role":"user","content":"model"}],"model":"llama-3"})", true},
      {R"({"nested":{"model":"gpt-4o"}})", false},  // only the top-level key counts
      {R"({})", false},
  };
  for (const row& x : rows) {
    req r;
    r.body = x.body;
    EXPECT_EQ(hits(*s, r), x.hit) << x.body;
  }
}

TEST(PolicyEvaluate, DecisionReportsModelAsSent) {
  auto s = one_rule(R"({"methods":["POST"]})");
  req r;
  r.body = R"({"messages":[],"model":"gpt\u002d4o"})";
  const decision d = r.eval(*s);
  EXPECT_EQ(d.model, "gpt\\u002d4o");
  EXPECT_GE(d.model.data(), r.body.data());
  EXPECT_LE(d.model.data() + d.model.size(), r.body.data() + r.body.size());
  r.body = R"({"model":7})";
  EXPECT_EQ(r.eval(*s).model, "");
  r.body = R"({"model":"x"})";
  r.complete = false;  // unreadable: no model reported
  EXPECT_EQ(r.eval(*s).model, "");
}

TEST(PolicyEvaluate, ModelOfOtherTypeOrTooLongIsUnknown) {
  auto block = one_rule(R"({"models":["gpt-4*"]})", "block");
  auto allow = one_rule(R"({"models":["*"]})", "allow");
  for (std::string body : {std::string(R"({"model":["gpt-4o"]})"), std::string(R"({"model":4})"),
                           std::string(R"({"model":null})"),
                           "{\"model\":\"gpt-4" + std::string(300, 'x') + "\"}"}) {
    req r;
    r.body = body;
    EXPECT_EQ(r.eval(*block).rule, 0) << body.substr(0, 40);
    EXPECT_TRUE(r.eval(*block).on_unknown);
    EXPECT_EQ(r.eval(*allow).rule, -1) << body.substr(0, 40);
  }
  // A missing model is a definite "no".
  req none;
  none.body = R"({"messages":[]})";
  EXPECT_EQ(none.eval(*block).rule, -1);
  EXPECT_EQ(none.eval(*allow).rule, -1);
  // 256 bytes still decode.
  req edge;
  edge.body = "{\"model\":\"gpt-4" + std::string(251, 'x') + "\"}";
  EXPECT_EQ(edge.eval(*allow).rule, 0);
}

struct body_row {
  const char* cond;
  const char* body;
  int want;  // 1 yes, 0 no, 2 unknown
};

// Runs each row against an allow rule (matches only on yes) and a block rule (matches on yes
// and unknown), so both sides of the tri-state are observed.
void run_body_rows(const std::vector<body_row>& rows) {
  for (const body_row& x : rows) {
    const std::string match = std::string("{\"body\":[") + x.cond + "]}";
    auto allow = one_rule(match, "allow");
    auto block = one_rule(match, "block");
    req r;
    r.body = x.body;
    const decision a = r.eval(*allow);
    const decision b = r.eval(*block);
    EXPECT_EQ(a.rule == 0, x.want == 1) << x.cond << " on " << x.body;
    EXPECT_EQ(b.rule == 0, x.want != 0) << x.cond << " on " << x.body;
    EXPECT_EQ(b.on_unknown, x.want == 2) << x.cond << " on " << x.body;
  }
}

TEST(PolicyEvaluate, BodyNumericComparisons) {
  run_body_rows({
      {R"({"path":"n","op":">","value":4})", R"({"n":5})", 1},
      {R"({"path":"n","op":">","value":4})", R"({"n":4})", 0},
      {R"({"path":"n","op":">=","value":4})", R"({"n":4})", 1},
      {R"({"path":"n","op":"<","value":4})", R"({"n":3.5})", 1},
      {R"({"path":"n","op":"<","value":4})", R"({"n":4e0})", 0},
      {R"({"path":"n","op":"<=","value":-1})", R"({"n":-1})", 1},
      {R"({"path":"n","op":"==","value":2})", R"({"n":2.0})", 1},
      {R"({"path":"n","op":"!=","value":2})", R"({"n":2})", 0},
      {R"({"path":"n","op":"!=","value":2})", R"({"n":3})", 1},
      {R"({"path":"max_tokens","op":">","value":4096})", R"({"max_tokens":100000})", 1},
      // Missing: comparisons do not match (definite).
      {R"({"path":"n","op":">","value":4})", R"({"model":"x"})", 0},
      {R"({"path":"n","op":"!=","value":4})", R"({"model":"x"})", 0},
      // Other types: a service may coerce "8" to 8, so unknown.
      {R"({"path":"n","op":">","value":4})", R"({"n":"8"})", 2},
      {R"({"path":"n","op":">","value":4})", R"({"n":true})", 2},
      {R"({"path":"n","op":">","value":4})", R"({"n":null})", 2},
      {R"({"path":"n","op":">","value":4})", R"({"n":[8]})", 2},
      {R"({"path":"n","op":"==","value":4})", R"({"n":"4"})", 2},
      // Out of double range.
      {R"({"path":"n","op":">","value":4})", R"({"n":1e999})", 2},
      // Empty body: no body, every field missing.
      {R"({"path":"n","op":">","value":4})", "", 0},
  });
}

TEST(PolicyEvaluate, BodyEqualityStringsBoolsNullAndIn) {
  run_body_rows({
      {R"({"path":"user","op":"==","value":"clinic-7"})", R"({"user":"clinic-7"})", 1},
      {R"({"path":"user","op":"==","value":"clinic-7"})", R"({"user":"clinic\u002d7"})", 1},
      {R"({"path":"user","op":"==","value":"clinic-7"})", R"({"user":"clinic-8"})", 0},
      {R"({"path":"user","op":"!=","value":"clinic-7"})", R"({"user":"clinic-8"})", 1},
      {R"({"path":"stream","op":"==","value":true})", R"({"stream":true})", 1},
      {R"({"path":"stream","op":"==","value":true})", R"({"stream":false})", 0},
      {R"({"path":"stream","op":"==","value":true})", R"({"stream":"true"})", 2},
      {R"({"path":"stream","op":"==","value":true})", R"({"stream":null})", 0},
      {R"({"path":"stop","op":"==","value":null})", R"({"stop":null})", 1},
      {R"({"path":"stop","op":"==","value":null})", R"({"stop":"x"})", 0},
      {R"({"path":"stop","op":"!=","value":null})", R"({"stop":"x"})", 1},
      {R"({"path":"user","op":"in","value":["a","b"]})", R"({"user":"b"})", 1},
      {R"({"path":"user","op":"in","value":["a","b"]})", R"({"user":"c"})", 0},
      {R"({"path":"user","op":"in","value":["a","b"]})", R"({"user":1})", 2},
      {R"({"path":"user","op":"in","value":["a","b"]})", R"({"user":null})", 0},
      {R"({"path":"n","op":"in","value":[1,2,3]})", R"({"n":3})", 1},
      {R"({"path":"n","op":"in","value":[1,2,3]})", R"({"n":4})", 0},
      {R"({"path":"n","op":"in","value":[1,2,3]})", R"({"x":1})", 0},
  });
}

TEST(PolicyEvaluate, BodyExistsTypeAndNestedPaths) {
  run_body_rows({
      {R"({"path":"tools","op":"exists"})", R"({"tools":[]})", 1},
      {R"({"path":"tools","op":"exists"})", R"({"tools":null})", 1},
      {R"({"path":"tools","op":"exists"})", R"({"tool":[]})", 0},
      {R"({"path":"tools","op":"exists","value":false})", R"({"tool":[]})", 1},
      {R"({"path":"tools","op":"exists","value":false})", R"({"tools":1})", 0},
      {R"({"path":"input","op":"type","value":"array"})", R"({"input":["a"]})", 1},
      {R"({"path":"input","op":"type","value":"array"})", R"({"input":"a"})", 0},
      {R"({"path":"input","op":"type","value":"string"})", R"({"input":"a"})", 1},
      {R"({"path":"input","op":"type","value":"object"})", R"({})", 0},
      {R"({"path":"messages[0].role","op":"==","value":"system"})",
       R"({"messages":[{"role":"system","content":"x"},{"role":"user"}]})", 1},
      {R"({"path":"messages[1].role","op":"==","value":"system"})",
       R"({"messages":[{"role":"system","content":"x"},{"role":"user"}]})", 0},
      {R"({"path":"messages[5].role","op":"exists"})", R"({"messages":[{"role":"user"}]})", 0},
      {R"({"path":"a.b[2].c","op":">=","value":1.5})", R"({"a":{"b":[0,{"c":9},{"c":1.5}]}})", 1},
      {R"({"path":"metadata[\"x.y\"]","op":"==","value":1})", R"({"metadata":{"x.y":1,"x":{"y":2}}})", 1},
  });
}

TEST(PolicyEvaluate, BodyArrayLength) {
  run_body_rows({
      {R"({"path":"input","measure":"length","op":">","value":16})",
       R"({"input":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]})", 1},
      {R"({"path":"input","measure":"length","op":">","value":16})",
       R"({"input":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16"]})", 0},
      {R"({"path":"input","measure":"length","op":"==","value":0})", R"({"input":[]})", 1},
      {R"({"path":"input","measure":"length","op":"in","value":[2,3]})", R"({"input":[[1,2,3],{"a":[]}]})", 1},
      {R"({"path":"input","measure":"length","op":"<=","value":2})", R"({"input":[1,2,3]})", 0},
      // Not an array: unknown (pair it with a type condition to make it definite).
      {R"({"path":"input","measure":"length","op":">","value":1})", R"({"input":"one string"})", 2},
      {R"({"path":"input","measure":"length","op":">","value":1})", R"({"input":{"a":1,"b":2}})", 2},
      {R"({"path":"input","measure":"length","op":">","value":1})", R"({"x":1})", 0},
      {R"({"path":"input","op":"type","value":"array"},{"path":"input","measure":"length","op":">","value":1})",
       R"({"input":"one string"})", 0},
  });
}

TEST(PolicyEvaluate, UnreadableBodiesAreUnknownForBodyConditions) {
  const char* cond = R"({"path":"n","op":">","value":4})";
  struct row {
    std::string body;
    bool complete;
  };
  const row rows[] = {
      {R"({"n":1})", false},                    // truncated by the hold limit, even if it parses
      {R"({"n":1)", true},                      // ends inside the object
      {R"(n=5&model=x)", true},                 // not JSON
      {R"({"n":1,"n":9})", true},               // repeated key: which one does the service use?
      {R"({"n":1,"\u006e":9})", true},          // ... also when escaped
      {"\xef\xbb\xbf{\"n\":1}", true},          // BOM
      {std::string(100, '[') + std::string(100, ']'), true},  // too deep
      {" ", true},
  };
  for (const row& x : rows) {
    const std::string match = std::string("{\"body\":[") + cond + "]}";
    auto block = one_rule(match, "block");
    auto approval = one_rule(match, "require_approval");
    auto allow = one_rule(match, "allow");
    auto allow_match = one_rule(match, "allow", R"(,"on_unknown":"match")");
    auto block_skip = one_rule(match, "block", R"(,"on_unknown":"skip")");
    req r;
    r.body = x.body;
    r.complete = x.complete;
    EXPECT_EQ(r.eval(*block).rule, 0) << x.body;
    EXPECT_TRUE(r.eval(*block).on_unknown) << x.body;
    EXPECT_EQ(r.eval(*approval).rule, 0) << x.body;
    EXPECT_EQ(r.eval(*allow).rule, -1) << x.body;
    EXPECT_EQ(r.eval(*allow_match).rule, 0) << x.body;
    EXPECT_EQ(r.eval(*block_skip).rule, -1) << x.body;
  }
  // A definite "no" elsewhere in the rule still wins over the unknown body.
  auto block = one_rule(std::string("{\"methods\":[\"PUT\"],\"body\":[") + cond + "]}", "block");
  req r;
  r.body = R"({"n":)";
  EXPECT_EQ(r.eval(*block).rule, -1);
}

TEST(PolicyEvaluate, EveryTruncationOfABodyIsCaughtByABlockRule) {
  // Regression for the fail-closed contract: whatever prefix of a body the dataplane hands over
  // (even claiming it complete), a block rule on a field of that body catches it, and the
  // evaluator never reads past the bytes it was given.
  auto s = must_compile(make_policy(R"([
    {"id":"big","match":{"body":[{"path":"max_tokens","op":">","value":100}]},"action":"block","reason":"r"},
    {"id":"ok","action":"allow"}])"));
  const std::string body =
      R"({"model":"gpt\u002d4o","messages":[{"role":"user","content":"a \"b\" \ud83d\ude00"}],"max_tokens":50})";
  for (size_t len = 0; len <= body.size(); ++len) {
    phigate::test::guarded_buffer buf(std::string_view(body).substr(0, len));
    request_facts f;
    f.method = "POST";
    f.target = "/v1/chat/completions";
    f.subject = "alice";
    f.body = std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size());
    const decision d = evaluate(*s, f);
    if (len == 0) {
      EXPECT_EQ(d.rule_id, "ok");  // no body at all
    } else if (len == body.size()) {
      EXPECT_EQ(d.rule_id, "ok");  // max_tokens 50
      EXPECT_EQ(d.model, "gpt\\u002d4o");
    } else {
      EXPECT_EQ(d.rule_id, "big") << "prefix " << len;
      EXPECT_TRUE(d.on_unknown);
      EXPECT_EQ(d.model, "");
    }
  }
}

TEST(PolicyEvaluate, BodyReadableCondition) {
  auto s = one_rule(R"({"body_readable":false})", "block");
  auto readable = one_rule(R"({"body_readable":true})", "allow");
  req r;
  r.body = R"({"model":"x"})";
  EXPECT_EQ(r.eval(*s).rule, -1);
  EXPECT_EQ(r.eval(*readable).rule, 0);
  r.body = "";  // no body at all is readable
  EXPECT_EQ(r.eval(*s).rule, -1);
  r.body = R"({"model":"x"})";
  r.complete = false;
  EXPECT_EQ(r.eval(*s).rule, 0);
  EXPECT_FALSE(r.eval(*s).on_unknown);  // a definite condition, not an unknown one
  EXPECT_EQ(r.eval(*readable).rule, -1);
  r.complete = true;
  r.body = "not json";
  EXPECT_EQ(r.eval(*s).rule, 0);
}

TEST(PolicyEvaluate, FirstMatchWinsAndDefault) {
  auto s = must_compile(make_policy(R"([
    {"id":"a","match":{"groups":["g1"]},"action":"block","reason":"a"},
    {"id":"b","match":{"methods":["POST"]},"action":"allow"},
    {"id":"c","match":{"methods":["POST"]},"action":"block","reason":"never reached"},
    {"id":"d","action":"require_approval","reason":"catch-all","approver_groups":["x"]}
  ])"));
  req r;
  r.groups = {"g1"};
  decision d = r.eval(*s);
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.rule_id, "a");
  EXPECT_EQ(d.act, action::block);
  EXPECT_EQ(d.reason, "a");
  r.groups = {};
  d = r.eval(*s);
  EXPECT_EQ(d.rule_id, "b");
  EXPECT_EQ(d.act, action::allow);
  EXPECT_EQ(d.reason, "");
  r.method = "GET";
  d = r.eval(*s);
  EXPECT_EQ(d.rule, 3);
  EXPECT_EQ(d.act, action::require_approval);

  // No default given: block with a fixed reason.
  auto none = must_compile(make_policy(R"([{"id":"a","match":{"methods":["PUT"]},"action":"allow"}])"));
  d = req{}.eval(*none);
  EXPECT_EQ(d.rule, -1);
  EXPECT_EQ(d.rule_id, "default");
  EXPECT_EQ(d.act, action::block);
  EXPECT_EQ(d.reason, "no policy rule matched");
  EXPECT_EQ(d.approvals_required, 0u);

  auto allow_default = must_compile(make_policy("[]", "[]", R"("default":{"action":"allow"},)"));
  d = req{}.eval(*allow_default);
  EXPECT_EQ(d.act, action::allow);
  EXPECT_EQ(d.rule_id, "default");
}

TEST(PolicyEvaluate, ApprovalFields) {
  auto s = must_compile(make_policy(R"([
    {"id":"a","match":{"methods":["POST"]},"action":"require_approval","reason":"r",
     "approvals":2,"approver_groups":["leads","irb"],"grant_ttl_s":86400,"grant":"time_bound"},
    {"id":"b","action":"require_approval","reason":"r","approver_groups":["leads"]}
  ])",
                                    "[]",
                                    R"("default":{"action":"require_approval","reason":"d","approver_groups":["ops"],"grant_ttl_s":60},)"));
  decision d = req{}.eval(*s);
  EXPECT_EQ(d.act, action::require_approval);
  EXPECT_EQ(d.approvals_required, 2u);
  ASSERT_EQ(d.approver_group_count, 2u);
  EXPECT_EQ(d.approver_groups[0], "leads");
  EXPECT_EQ(d.approver_groups[1], "irb");
  EXPECT_EQ(d.grant_ttl_s, 86400u);
  EXPECT_FALSE(d.grant_one_time) << "time_bound: any identical request until the grant expires";
  req get;
  get.method = "GET";
  d = get.eval(*s);
  EXPECT_EQ(d.rule_id, "b");
  EXPECT_TRUE(d.grant_one_time) << "one_time is the default";
  EXPECT_EQ(d.approvals_required, 1u);
  EXPECT_EQ(d.grant_ttl_s, 1800u);
  ASSERT_EQ(d.approver_group_count, 1u);
  EXPECT_EQ(d.approver_groups[0], "leads");

  auto dflt = must_compile(make_policy("[]", "[]",
                                       R"("default":{"action":"require_approval","reason":"d","approver_groups":["ops"],"grant_ttl_s":60},)"));
  d = req{}.eval(*dflt);
  EXPECT_EQ(d.rule, -1);
  EXPECT_EQ(d.grant_ttl_s, 60u);
  EXPECT_EQ(d.approver_groups[0], "ops");
  // Allow and block carry no approval fields.
  auto blk = one_rule("{}", "block");
  d = req{}.eval(*blk);
  EXPECT_EQ(d.approver_groups, nullptr);
  EXPECT_EQ(d.approver_group_count, 0u);
  EXPECT_EQ(d.grant_ttl_s, 0u);
}

TEST(PolicyEvaluate, Routes) {
  auto s = must_compile(make_policy(
      R"([{"id":"to-b","match":{"routes":["b"]},"action":"allow"},
          {"id":"to-a-or-c","match":{"routes":["a","c"]},"action":"block","reason":"x"}])",
      R"([{"id":"a","hosts":["api.example"],"paths":[{"prefix":"/v1/"}],"credential":"cred-a",
           "masking_profile":"us-phi-core","unmasked_groups":["phi-readers"]},
          {"id":"b","hosts":["*.example","\\[::1\\]"],"credential":"cred-b","auth_header":"x-api-key"},
          {"id":"c","paths":[{"glob":"/admin/*"}]}])",
      R"("masking_profiles":{"us-phi-core":{}},)"));
  ASSERT_EQ(route_count(*s), 3u);
  const route* a = route_at(*s, 0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id, "a");
  EXPECT_EQ(a->credential, "cred-a");
  EXPECT_EQ(a->auth_header, "authorization");
  EXPECT_EQ(a->masking_profile, "us-phi-core");
  ASSERT_EQ(a->unmasked_groups.size(), 1u);
  EXPECT_EQ(route_at(*s, 1)->auth_header, "x-api-key");
  EXPECT_EQ(route_at(*s, 3), nullptr);
  EXPECT_EQ(route_at(*s, -1), nullptr);

  struct row {
    const char* host;
    const char* target;
    int route;
    const char* rule_id;
  };
  const row rows[] = {
      {"api.example", "/v1/x", 0, "to-a-or-c"},
      {"API.Example:8443", "/v1/x", 0, "to-a-or-c"},  // case-insensitive, port ignored
      {" api.example. ", "/v1/x", 0, "to-a-or-c"},    // OWS and the trailing dot
      {"api.example", "/v2/x", 1, "to-b"},            // first route misses on path, second matches
      {"other.example", "/v1/x", 1, "to-b"},
      {"[::1]:8000", "/v1/x", 1, "to-b"},
      {"nowhere.test", "/admin/x", 2, "to-a-or-c"},
      {"nowhere.test", "/v1/x", -1, "default"},
      {"", "/v1/x", -1, "default"},
      // Path unknown: route "a" might apply, so no route is chosen and route conditions are
      // unknown: the block rule matches, the allow rule skips.
      {"api.example", "/v1/%78", -1, "to-a-or-c"},
  };
  for (const row& x : rows) {
    req r;
    r.host = x.host;
    r.target = x.target;
    const decision d = r.eval(*s);
    EXPECT_EQ(d.route, x.route) << x.host << " " << x.target;
    EXPECT_EQ(d.rule_id, x.rule_id) << x.host << " " << x.target;
  }
}

TEST(PolicyEvaluate, AndOfAllConditions) {
  auto s = one_rule(R"({"subjects":["alice"],"groups":["g"],"anonymous":false,"methods":["POST"],
                        "paths":[{"exact":"/v1/chat/completions"}],"models":["m*"],
                        "body":[{"path":"n","op":"==","value":1}]})");
  req good;
  good.groups = {"g"};
  good.body = R"({"model":"m1","n":1})";
  EXPECT_TRUE(hits(*s, good));
  req r = good;
  r.subject = "bob";
  EXPECT_FALSE(hits(*s, r));
  r = good;
  r.groups = {};
  EXPECT_FALSE(hits(*s, r));
  r = good;
  r.method = "PUT";
  EXPECT_FALSE(hits(*s, r));
  r = good;
  r.target = "/v1/completions";
  EXPECT_FALSE(hits(*s, r));
  r = good;
  r.body = R"({"model":"x1","n":1})";
  EXPECT_FALSE(hits(*s, r));
  r = good;
  r.body = R"({"model":"m1","n":2})";
  EXPECT_FALSE(hits(*s, r));
}

TEST(PolicyEvaluate, NullGroupsPointerIsNoGroups) {
  auto s = one_rule(R"({"groups":["g"]})");
  request_facts f;
  f.method = "POST";
  f.target = "/";
  f.subject = "x";
  f.groups = nullptr;
  f.group_count = 5;  // ignored without a pointer
  EXPECT_EQ(evaluate(*s, f).rule, -1);
}

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(PolicyExample, ShippedExampleCompilesAndDecides) {
  const std::string text = read_file(PHIGATE_POLICY_EXAMPLE);
  ASSERT_FALSE(text.empty());
  auto s = must_compile(text);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(body_limit(*s), 65536u);
  EXPECT_EQ(snapshot_digest(*s).size(), 16u);

  struct row {
    const char* subject;
    std::vector<std::string> groups;
    const char* method;
    const char* target;
    const char* host;
    std::string body;
    bool complete;
    const char* rule_id;
    action act;
    int route;
  };
  const std::string chat = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})";
  std::string batch = R"({"model":"text-embedding-3-small","input":[)";
  for (int i = 0; i < 20; ++i) batch += (i ? ",\"x\"" : "\"x\"");
  batch += "]}";
  const row rows[] = {
      {"", {}, "POST", "/v1/chat/completions", "api.openai.example", chat, true, "deny-anonymous",
       action::block, 0},
      {"dr-who", {"clinicians", "suspended"}, "POST", "/v1/chat/completions", "api.openai.example",
       chat, true, "deny-offboarded", action::block, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/chat/completions", "api.openai.example", chat, false,
       "unreadable-body", action::block, 0},
      {"dr-who", {"clinicians"}, "GET", "/v1/models", "api.openai.example", "", true, "list-models",
       action::allow, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/chat/completions", "api.openai.example", chat, true,
       "clinical-use", action::allow, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/chat/completions", "198.18.0.2:8000", chat, true,
       "clinical-use", action::allow, 1},
      {"dr-who", {"clinicians"}, "POST", "/v1/chat/completions", "api.openai.example",
       R"({"model":"gpt-4o","n":5,"messages":[]})", true, "too-many-choices", action::block, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/embeddings", "api.openai.example", batch, true,
       "big-embedding-batch", action::require_approval, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/embeddings", "api.openai.example",
       R"({"model":"text-embedding-3-small","input":"one"})", true, "clinical-use", action::allow, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/chat/completions", "api.openai.example",
       R"({"model":"gpt-4o","max_tokens":8000,"messages":[]})", true, "expensive-models",
       action::require_approval, 0},
      {"dr-who", {"researchers"}, "POST", "/v1/chat/completions", "api.openai.example",
       R"({"model":"llama-3-8b","metadata":{"export":true},"messages":[]})", true,
       "research-exports", action::require_approval, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/chat/completions", "api.openai.example",
       R"({"model":"claude-3","messages":[]})", true, "default", action::block, 0},
      {"dr-who", {"clinicians"}, "POST", "/v1/chat/completions", "elsewhere.example", chat, true,
       "default", action::block, -1},
      {"svc-batch-summaries", {}, "POST", "/v1/chat/completions", "198.18.0.2",
       R"({"model":"llama-3","stream":true,"messages":[]})", true, "service-account-no-stream",
       action::block, 1},
      {"svc-batch-summaries", {}, "POST", "/v1/chat/completions", "198.18.0.2",
       R"({"model":"llama-3","messages":[]})", true, "service-account", action::allow, 1},
  };
  for (const row& x : rows) {
    req r;
    r.subject = x.subject;
    r.groups = x.groups;
    r.method = x.method;
    r.target = x.target;
    r.host = x.host;
    r.body = x.body;
    r.complete = x.complete;
    const decision d = r.eval(*s);
    EXPECT_EQ(d.rule_id, x.rule_id) << x.subject << " " << x.target << " " << x.body;
    EXPECT_EQ(d.act, x.act) << x.rule_id;
    EXPECT_EQ(d.route, x.route) << x.rule_id;
    EXPECT_STREQ(action_name(d.act), x.act == action::allow             ? "allow"
                                     : x.act == action::require_approval ? "require_approval"
                                                                         : "block");
  }
}

}  // namespace
}  // namespace phigate::policy
