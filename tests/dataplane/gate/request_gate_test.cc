// request_gate: the session's decider from identity + compiled policy + grants + credentials +
// the audit ring. Covers: allow swaps the route credential and waits for its record; block and
// require_approval answer with OpenAI-style JSON (reason, request id, approval id + status URL);
// a grant is checked against subject, route and body digest; a full ring answers 503 and
// forwards nothing; no policy answers 503; unfit or missing credentials answer 502; records hold
// no query strings or long digit runs; response ends become response records.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/gate/request_gate.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/pattern_set.hh"

namespace phigate::test {
namespace {

using gate::outcome;
using session::request_verdict;

constexpr const char* kPolicy = R"({
  "version": 1,
  "default": {"action": "block", "reason": "no rule allows this"},
  "routes": [
    {"id": "chat", "paths": [{"prefix": "/v1/"}], "credential": "openai"},
    {"id": "triton", "paths": [{"prefix": "/v2/"}], "credential": "missing-one"}
  ],
  "rules": [
    {"id": "big-batch", "match": {"body": [{"path": "n", "op": ">", "value": 4}]},
     "action": "require_approval", "reason": "more than 4 completions", "approvals": 1,
     "approver_groups": ["approvers"], "grant": "time_bound"},
    {"id": "clinicians", "match": {"groups": ["clinicians"], "routes": ["chat", "triton"]}, "action": "allow"},
    {"id": "anon", "match": {"anonymous": true}, "action": "block", "reason": "sign in first"}
  ]
})";

void sha256(const uint8_t* d, size_t n, uint8_t out[32]) { SHA256(d, n, out); }
bool random_bytes(uint8_t* out, size_t n) { return RAND_bytes(out, static_cast<int>(n)) == 1; }

struct fixture {
  policy::compile_result compiled = policy::compile(kPolicy, "test-policy.json");
  gate::credential_store creds;
  gate::gate_snapshot gs{compiled.snap.get(), &creds, 1};
  std::atomic<const gate::gate_snapshot*> snap{&gs};
  std::vector<std::string_view> groups{"clinicians"};
  std::string grant_answer;  // what the grant checker says
  std::string seen_grant_subject;
  std::unique_ptr<gate::request_gate> g;

  std::atomic<bool> audit_up{true};

  explicit fixture(uint32_t ring = 16, const char* policy_text = nullptr) {
    if (policy_text != nullptr) {
      compiled = policy::compile(policy_text, "test-policy.json");
      gs.policy = compiled.snap.get();
    }
    creds.add("openai", "Bearer sk-backend-1234");
    gate::gate_config c;
    c.snapshot = &snap;
    c.sha256 = sha256;
    c.random_bytes = random_bytes;
    c.ring_capacity = ring;
    c.audit_up = &audit_up;
    c.approval_status_base = "https://cp.test/v1/approvals/";
    c.identity.ctx = this;
    c.identity.verify = [](void* ctx, std::string_view token, int64_t) {
      auto& f = *static_cast<fixture*>(ctx);
      gate::identity id;
      if (token.starts_with("good-")) {
        id.verified = true;
        id.subject = token.substr(5);
        id.groups = f.groups.data();
        id.group_count = static_cast<uint32_t>(f.groups.size());
      } else {
        id.error = "bad_signature";
      }
      return id;
    };
    c.grants.ctx = this;
    c.grants.check = [](void* ctx, std::string_view, std::string_view subject, std::string_view,
                        const uint8_t*, int64_t) {
      auto& f = *static_cast<fixture*>(ctx);
      f.seen_grant_subject = std::string(subject);
      return std::string_view(f.grant_answer);
    };
    g = std::make_unique<gate::request_gate>(c);
  }

  session::request_answer decide(const std::string& auth, const std::string& target, const std::string& body,
                                 const std::string& extra_headers = "") {
    head = "POST " + target + " HTTP/1.1\r\nHost: llm\r\nAuthorization: " + auth + "\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    this->body = body;
    session::request_info r;
    r.method = "POST";
    r.target = target;
    r.host = "llm";
    r.authorization = auth;
    r.head = head;
    r.body = this->body;
    r.body_kind = http::body_kind::content_length;
    r.content_length = body.size();
    r.conn_id = 7;
    r.request_index = 2;
    return g->decide(r, 1'000);
  }
  // The newest event in the ring (consumed).
  gate::audit_event pop_last() {
    gate::audit_event last;
    while (const gate::audit_event* e = g->ring().peek()) {
      last = *e;
      g->ring().pop();
    }
    return last;
  }
  nlohmann::json answer_body(const session::request_answer& a) {
    const std::string text(a.response);
    return nlohmann::json::parse(text.substr(text.find("\r\n\r\n") + 4));
  }
  std::string head, body;
};

const std::string kToken = "Bearer good-alice-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

TEST(request_gate, allow_swaps_the_route_credential_and_waits_for_its_record) {
  fixture f;
  ASSERT_TRUE(f.compiled.error.empty()) << f.compiled.error;
  const session::request_answer a = f.decide(kToken, "/v1/chat/completions?user=123456", R"({"model":"m1","n":1})");
  EXPECT_EQ(a.verdict, request_verdict::forward);
  EXPECT_TRUE(a.rewrite_authorization);
  EXPECT_EQ(a.authorization, "Bearer sk-backend-1234");
  EXPECT_EQ(a.wait_seq, 1u) << "released only once record 1 is durable";
  const gate::audit_event e = f.pop_last();
  EXPECT_EQ(e.seq, 1u);
  EXPECT_EQ(e.result, outcome::allowed);
  EXPECT_STREQ(e.subject, "alice-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  EXPECT_STREQ(e.groups, "clinicians");
  EXPECT_STREQ(e.rule_id, "clinicians");
  EXPECT_STREQ(e.route_id, "chat");
  EXPECT_STREQ(e.model, "m1");
  EXPECT_STREQ(e.path, "/v1/chat/completions") << "the query never reaches the record";
  EXPECT_TRUE(e.credential_swapped);
  uint8_t want[32];
  SHA256(reinterpret_cast<const uint8_t*>(f.body.data()), f.body.size(), want);
  EXPECT_EQ(std::memcmp(e.body_sha256, want, 32), 0);
  EXPECT_EQ(f.g->stats().outcomes[size_t(outcome::allowed)], 1u);
}

TEST(request_gate, block_answers_with_reason_rule_and_request_id) {
  fixture f;
  const session::request_answer a = f.decide("", "/v1/chat/completions", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::respond);
  EXPECT_TRUE(std::string(a.response).starts_with("HTTP/1.1 403 Forbidden\r\n"));
  EXPECT_NE(std::string(a.response).find("Connection: close\r\n"), std::string::npos);
  const nlohmann::json j = f.answer_body(a);
  EXPECT_EQ(j["error"]["code"], "blocked");
  EXPECT_EQ(j["error"]["message"], "sign in first");
  EXPECT_EQ(j["error"]["rule"], "anon");
  EXPECT_EQ(j["error"]["request_id"], "0-7-2");
  const std::string text(a.response);
  const size_t cl = text.find("Content-Length: ");
  EXPECT_EQ(std::stoul(text.substr(cl + 16)), text.size() - text.find("\r\n\r\n") - 4) << "Content-Length exact";
  EXPECT_EQ(f.pop_last().result, outcome::blocked);
}

TEST(request_gate, a_refused_token_is_anonymous_and_named_in_the_record) {
  fixture f;
  const session::request_answer a = f.decide("Bearer forged", "/v1/chat/completions", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::respond);
  const gate::audit_event e = f.pop_last();
  EXPECT_STREQ(e.identity_error, "bad_signature");
  EXPECT_STREQ(e.subject, "");
  EXPECT_EQ(f.g->stats().identity_refused, 1u);
}

TEST(request_gate, require_approval_answers_an_id_then_a_grant_lets_the_retry_through) {
  fixture f;
  const std::string body = R"({"model":"m1","n":8})";
  const session::request_answer a = f.decide(kToken, "/v1/chat/completions", body);
  ASSERT_EQ(a.verdict, request_verdict::respond);
  const nlohmann::json j = f.answer_body(a);
  EXPECT_EQ(j["error"]["code"], "approval_required");
  const std::string id = j["error"]["approval_id"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(j["error"]["status_url"], "https://cp.test/v1/approvals/" + id + "/status");
  gate::audit_event e = f.pop_last();
  EXPECT_EQ(e.result, outcome::approval_required);
  EXPECT_STREQ(e.approval_id, id.c_str());
  EXPECT_STREQ(e.approver_groups, "approvers");
  EXPECT_EQ(e.approvals_required, 1u);
  EXPECT_FALSE(e.grant_one_time) << "the rule's grant kind travels to the control plane";
  // A second request gets a different id.
  const nlohmann::json j2 = f.answer_body(f.decide(kToken, "/v1/chat/completions", body));
  EXPECT_NE(j2["error"]["approval_id"], id);
  f.pop_last();
  // The retry with a grant the checker refuses is answered with the checker's reason.
  f.grant_answer = "digest_mismatch";
  const session::request_answer r1 = f.decide(kToken, "/v1/chat/completions", body, "X-Phigate-Approval: " + id + "\r\n");
  ASSERT_EQ(r1.verdict, request_verdict::respond);
  EXPECT_EQ(f.answer_body(r1)["error"]["code"], "approval_refused");
  EXPECT_EQ(f.answer_body(r1)["error"]["message"], "digest_mismatch");
  EXPECT_EQ(f.seen_grant_subject, "alice-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  EXPECT_STREQ(f.pop_last().grant_error, "digest_mismatch");
  // With a valid grant it is forwarded (credential swapped, record awaited).
  f.grant_answer = "";
  const session::request_answer r2 = f.decide(kToken, "/v1/chat/completions", body, "x-phigate-approval: " + id + "\r\n");
  EXPECT_EQ(r2.verdict, request_verdict::forward);
  EXPECT_NE(r2.wait_seq, 0u);
  e = f.pop_last();
  EXPECT_EQ(e.result, outcome::approval_granted);
  EXPECT_STREQ(e.approval_id, id.c_str());
}

TEST(request_gate, full_ring_answers_503_and_forwards_nothing) {
  fixture f(2);
  EXPECT_EQ(f.decide(kToken, "/v1/x", R"({"n":1})").verdict, request_verdict::forward);
  EXPECT_EQ(f.decide(kToken, "/v1/x", R"({"n":1})").verdict, request_verdict::forward);
  const session::request_answer a = f.decide(kToken, "/v1/x", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::respond);
  EXPECT_TRUE(std::string(a.response).starts_with("HTTP/1.1 503 "));
  EXPECT_EQ(f.answer_body(a)["error"]["code"], "audit_unavailable");
  EXPECT_EQ(f.g->stats().outcomes[size_t(outcome::audit_unavailable)], 1u);
  f.pop_last();  // the writer drains: requests flow again
  EXPECT_EQ(f.decide(kToken, "/v1/x", R"({"n":1})").verdict, request_verdict::forward);
}

TEST(request_gate, control_plane_away_answers_503_at_once_and_records_nothing) {
  fixture f(16);
  f.audit_up.store(false);  // the control plane that acknowledges records is disconnected
  const session::request_answer a = f.decide(kToken, "/v1/x", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::respond);
  EXPECT_TRUE(std::string(a.response).starts_with("HTTP/1.1 503 "));
  EXPECT_EQ(f.answer_body(a)["error"]["code"], "audit_unavailable");
  EXPECT_EQ(f.g->ring().size(), 0u) << "no slot taken while nobody can make it durable";
  f.audit_up.store(true);
  EXPECT_EQ(f.decide(kToken, "/v1/x", R"({"n":1})").verdict, request_verdict::forward);
}

TEST(request_gate, no_policy_answers_503) {
  fixture f;
  gate::gate_snapshot empty{nullptr, &f.creds, 2};
  f.snap.store(&empty);
  const session::request_answer a = f.decide(kToken, "/v1/x", "{}");
  ASSERT_EQ(a.verdict, request_verdict::respond);
  EXPECT_EQ(f.answer_body(a)["error"]["code"], "no_policy");
}

TEST(request_gate, unfit_or_missing_credentials_answer_502) {
  fixture f;
  const session::request_answer shorter = f.decide("Bearer good-a", "/v1/x", R"({"n":1})");
  ASSERT_EQ(shorter.verdict, request_verdict::respond);
  EXPECT_EQ(f.answer_body(shorter)["error"]["code"], "credential_unfit");
  const session::request_answer missing = f.decide(kToken, "/v2/models/m/infer", R"({"n":1})");
  ASSERT_EQ(missing.verdict, request_verdict::respond);
  EXPECT_EQ(f.answer_body(missing)["error"]["code"], "no_credential");
}

TEST(request_gate, response_end_becomes_a_response_record) {
  fixture f;
  const uint16_t by_pattern[5] = {0, 2, 0, 1, 0};
  session::response_info r;
  r.conn_id = 9;
  r.request_index = 1;
  r.status = 200;
  r.response_bytes = 1234;
  r.findings = 3;
  r.findings_by_pattern = by_pattern;
  r.patterns = 5;
  f.g->response_done(r, 5);
  const gate::audit_event e = f.pop_last();
  EXPECT_EQ(e.kind, gate::event_kind::response);
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.findings, 3u);
  ASSERT_EQ(e.finding_used, 2);
  EXPECT_EQ(e.finding_pattern[0], 1);
  EXPECT_EQ(e.finding_count[0], 2);
  EXPECT_EQ(e.finding_pattern[1], 3);
}

TEST(gate_path_copy, drops_queries_and_long_digit_runs) {
  char out[32];
  gate::gate_path_copy("/v2/models/resnet50/infer?mrn=12345678", out, sizeof out);
  EXPECT_STREQ(out, "/v2/models/resnet50/infer");
  gate::gate_path_copy("/patients/123456789/notes", out, sizeof out);
  EXPECT_STREQ(out, "/patients/#########/notes");
  gate::gate_path_copy("/a/0123456789012345678901234567890123", out, 12);
  EXPECT_STREQ(out, "/a/########");
}

}  // namespace
}  // namespace phigate::test

namespace phigate::test {
namespace {

// Regression: an anonymous caller used to get an approval id the control plane could never store
// (an approval binds a subject); now the answer says an identity is needed.
TEST(request_gate, anonymous_requests_needing_approval_get_no_dead_approval_id) {
  fixture f;
  const session::request_answer a = f.decide("Bearer forged", "/v1/chat/completions", R"({"n":8})");
  ASSERT_EQ(a.verdict, request_verdict::respond);
  const nlohmann::json j = f.answer_body(a);
  EXPECT_EQ(j["error"]["code"], "approval_needs_identity");
  EXPECT_FALSE(j["error"].contains("approval_id"));
}

}  // namespace
}  // namespace phigate::test

// Issue 4 section 2: masking profiles and unmasked groups, as the gate turns them into the
// answer's response mode and the audit records.
namespace phigate::test {
namespace {

constexpr const char* kProfilePolicy = R"({
  "version": 1,
  "default": {"action": "block", "reason": "no rule allows this"},
  "masking_profiles": {"contact": {"entities": ["email", "phone"], "mask_style": "all"}},
  "routes": [
    {"id": "notes", "paths": [{"prefix": "/v1/"}], "masking_profile": "contact", "unmasked_groups": ["phi-readers"]},
    {"id": "plain", "paths": [{"prefix": "/v2/"}], "unmasked_groups": ["phi-readers"]}
  ],
  "rules": [{"id": "everyone", "action": "allow"}]
})";

const scan::pattern_db& catalog_db() {
  static std::unique_ptr<scan::pattern_db> db = [] {
    auto set = scan::pattern_set_load(std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json");
    EXPECT_TRUE(std::holds_alternative<scan::pattern_set>(set));
    auto r = scan::pattern_db::compile(std::get<scan::pattern_set>(set));
    EXPECT_TRUE(r.index() == 0);
    return std::move(std::get<0>(r));
  }();
  return *db;
}

struct profile_fixture : fixture {
  gate::profile_resolution resolved;
  profile_fixture() : fixture(16, kProfilePolicy) {
    EXPECT_TRUE(compiled.error.empty()) << compiled.error;
    resolved = gate::resolve_profiles(*compiled.snap, &catalog_db());
    EXPECT_EQ(resolved.error, "");
    gs.profiles = resolved.profiles.data();
    gs.profile_count = static_cast<uint32_t>(resolved.profiles.size());
  }
};

uint64_t bits_of(std::initializer_list<const char*> names) {
  uint64_t m = 0;
  for (const char* n : names) m |= uint64_t{1} << catalog_db().entity_index(n);
  return m;
}

TEST(request_gate, caller_in_unmasked_groups_gets_the_response_unmasked) {
  profile_fixture f;
  f.groups = {"clinicians", "phi-readers"};
  const session::request_answer a = f.decide(kToken, "/v1/chat/completions", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::forward);
  EXPECT_TRUE(a.unmasked);
  EXPECT_EQ(a.mask_entities, bits_of({"email", "phone"}));
  EXPECT_EQ(a.mask_style, scan::style_override::all);
  const gate::audit_event e = f.pop_last();
  EXPECT_TRUE(e.unmasked);
  EXPECT_STREQ(e.masking_profile, "contact");
  EXPECT_EQ(f.g->stats().forwards_unmasked, 1u);
}

TEST(request_gate, caller_not_in_unmasked_groups_gets_the_profile_masked) {
  profile_fixture f;
  f.groups = {"clinicians", "PHI-readers"};  // group names are case-sensitive
  const session::request_answer a = f.decide(kToken, "/v1/chat/completions", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::forward);
  EXPECT_FALSE(a.unmasked);
  EXPECT_EQ(a.mask_entities, bits_of({"email", "phone"}));
  EXPECT_EQ(a.mask_style, scan::style_override::all);
  const gate::audit_event e = f.pop_last();
  EXPECT_FALSE(e.unmasked);
  EXPECT_STREQ(e.masking_profile, "contact");
  EXPECT_EQ(f.g->stats().forwards_unmasked, 0u);
}

TEST(request_gate, unverified_or_anonymous_caller_is_never_unmasked) {
  profile_fixture f;
  f.groups = {"phi-readers"};
  // A refused token: the verifier would have named phi-readers for a good one.
  session::request_answer a = f.decide("Bearer bad-token-phi-readers", "/v1/chat/completions", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::forward);
  EXPECT_FALSE(a.unmasked);
  a = f.decide("", "/v2/infer", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::forward);
  EXPECT_FALSE(a.unmasked);
  // Control: the same route with a verified member is unmasked.
  a = f.decide(kToken, "/v2/infer", R"({"n":1})");
  EXPECT_TRUE(a.unmasked);
}

TEST(request_gate, route_without_profile_masks_every_entity_in_its_own_style) {
  profile_fixture f;
  f.groups = {"clinicians"};
  const session::request_answer a = f.decide(kToken, "/v2/infer", R"({"n":1})");
  ASSERT_EQ(a.verdict, request_verdict::forward);
  EXPECT_FALSE(a.unmasked);
  EXPECT_EQ(a.mask_entities, scan::all_entities);
  EXPECT_EQ(a.mask_style, scan::style_override::pattern);
  EXPECT_STREQ(f.pop_last().masking_profile, "");
  EXPECT_EQ(f.g->stats().profile_forwards[policy::policy_max_profiles], 1u);
}

TEST(request_gate, unresolved_profiles_fail_closed_to_every_entity) {
  profile_fixture f;
  f.gs.profiles = nullptr;  // a snapshot installed without resolution
  f.gs.profile_count = 0;
  const session::request_answer a = f.decide(kToken, "/v1/chat/completions", R"({"n":1})");
  EXPECT_EQ(a.mask_entities, scan::all_entities);
}

TEST(request_gate, response_record_names_the_profile_and_unmasked) {
  profile_fixture f;
  f.groups = {"phi-readers"};
  const session::request_answer a = f.decide(kToken, "/v1/chat/completions", R"({"n":1})");
  f.pop_last();
  session::response_info r;
  r.conn_id = 7;
  r.request_index = 2;
  r.status = 200;
  r.findings = 1;
  r.unmasked = a.unmasked;
  r.profile_tag = a.profile_tag;
  f.g->response_done(r, 2'000);
  gate::audit_event e = f.pop_last();
  EXPECT_EQ(e.kind, gate::event_kind::response);
  EXPECT_TRUE(e.unmasked);
  EXPECT_STREQ(e.masking_profile, "contact");
  EXPECT_EQ(f.g->stats().responses_unmasked, 1u);
  // A tag from another snapshot generation does not name a profile of the current one.
  r.profile_tag = gate::profile_tag_make(f.gs.generation + 1, 0);
  r.unmasked = false;
  f.g->response_done(r, 3'000);
  e = f.pop_last();
  EXPECT_FALSE(e.unmasked);
  EXPECT_STREQ(e.masking_profile, "");
}

TEST(resolve_profiles, entities_resolve_against_the_pattern_db) {
  auto c = policy::compile(
      R"({"version":1,"rules":[],"masking_profiles":{"a":{"entities":["ssn","email"]},"b":{"mask_style":"alnum"}}})",
      "p.json");
  ASSERT_EQ(c.error, "");
  const gate::profile_resolution r = gate::resolve_profiles(*c.snap, &catalog_db());
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.profiles.size(), 2u);
  EXPECT_EQ(r.profiles[0].entities, bits_of({"ssn", "email"}));
  EXPECT_EQ(r.profiles[0].style, scan::style_override::pattern);
  EXPECT_EQ(r.profiles[1].entities, scan::all_entities);
  EXPECT_EQ(r.profiles[1].style, scan::style_override::alnum);
}

TEST(resolve_profiles, an_entity_the_pattern_set_lacks_is_an_error) {
  auto c = policy::compile(
      R"({"version":1,"rules":[],"masking_profiles":{"typo":{"entities":["ssn","emial"]}}})", "p.json");
  ASSERT_EQ(c.error, "");
  const gate::profile_resolution r = gate::resolve_profiles(*c.snap, &catalog_db());
  EXPECT_EQ(r.error, "masking_profile typo: entity emial is not in pattern set us-phi-core");
  EXPECT_TRUE(r.profiles.empty());
}

// Pattern sets per route: us-phi-core and the oncology-research fixture loaded together.
const scan::pattern_db& two_set_db() {
  static std::unique_ptr<scan::pattern_db> db = [] {
    auto m = scan::pattern_set_load_all({std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json",
                                         std::string(PHIGATE_TEST_DATA) + "/oncology-research.json"});
    EXPECT_TRUE(std::holds_alternative<scan::pattern_set>(m));
    auto r = scan::pattern_db::compile(std::get<scan::pattern_set>(m));
    EXPECT_TRUE(r.index() == 0);
    return std::move(std::get<0>(r));
  }();
  return *db;
}

// The bit of the slot that pattern `id` masks under.
uint64_t pattern_bit(const scan::pattern_db& db, std::string_view id) {
  for (uint32_t p = 0; p < db.patterns().size(); ++p)
    if (db.patterns()[p].id == id) return uint64_t{1} << db.entity_bit(p);
  ADD_FAILURE() << id;
  return 0;
}

TEST(resolve_profiles, pattern_sets_choose_which_sets_a_profile_masks) {
  auto c = policy::compile(
      R"({"version":1,"rules":[],"masking_profiles":{
           "onc":{"pattern_sets":["oncology-research"]},
           "onc_mrn":{"pattern_sets":["oncology-research"],"entities":["mrn"]},
           "core_mrn":{"pattern_sets":["us-phi-core"],"entities":["mrn"]},
           "any_mrn":{"entities":["mrn"]}}})",
      "p.json");
  ASSERT_EQ(c.error, "");
  const scan::pattern_db& db = two_set_db();
  const gate::profile_resolution r = gate::resolve_profiles(*c.snap, &db);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.profiles.size(), 4u);
  auto of = [&](const char* name) {
    for (uint32_t i = 0; i < policy::profile_count(*c.snap); ++i)
      if (policy::profile_at(*c.snap, static_cast<int32_t>(i))->name == name) return r.profiles[i].entities;
    ADD_FAILURE() << name;
    return uint64_t{0};
  };
  EXPECT_EQ(of("onc"), pattern_bit(db, "onc-subject") | pattern_bit(db, "onc-registry"));
  EXPECT_EQ(of("onc_mrn"), pattern_bit(db, "onc-registry"));
  EXPECT_EQ(of("core_mrn"), pattern_bit(db, "mrn"));
  EXPECT_EQ(of("any_mrn"), pattern_bit(db, "mrn") | pattern_bit(db, "onc-registry"));
  EXPECT_NE(pattern_bit(db, "mrn"), pattern_bit(db, "onc-registry"));
}

TEST(resolve_profiles, an_unknown_pattern_set_is_an_error) {
  auto c = policy::compile(
      R"({"version":1,"rules":[],"masking_profiles":{"research":{"pattern_sets":["oncology-research","cardio-research"]}}})",
      "p.json");
  ASSERT_EQ(c.error, "");
  const gate::profile_resolution r = gate::resolve_profiles(*c.snap, &two_set_db());
  EXPECT_EQ(r.error,
            "masking_profile research: pattern set cardio-research is not loaded (loaded: us-phi-core, oncology-research)");
  EXPECT_TRUE(r.profiles.empty());
  // With only us-phi-core loaded, oncology-research itself is unknown.
  auto c2 = policy::compile(
      R"({"version":1,"rules":[],"masking_profiles":{"onc":{"pattern_sets":["oncology-research"]}}})", "p.json");
  ASSERT_EQ(c2.error, "");
  EXPECT_EQ(gate::resolve_profiles(*c2.snap, &catalog_db()).error,
            "masking_profile onc: pattern set oncology-research is not loaded (loaded: us-phi-core)");
}

TEST(resolve_profiles, an_entity_none_of_the_chosen_sets_has_is_an_error) {
  auto c = policy::compile(
      R"({"version":1,"rules":[],"masking_profiles":{"onc_ssn":{"pattern_sets":["oncology-research"],"entities":["study_subject","ssn"]}}})",
      "p.json");
  ASSERT_EQ(c.error, "");
  const gate::profile_resolution r = gate::resolve_profiles(*c.snap, &two_set_db());
  EXPECT_EQ(r.error, "masking_profile onc_ssn: entity ssn is not in pattern set oncology-research");
  EXPECT_TRUE(r.profiles.empty());
  auto c2 = policy::compile(
      R"({"version":1,"rules":[],"masking_profiles":{"typo":{"entities":["study_subjekt"]}}})", "p.json");
  ASSERT_EQ(c2.error, "");
  EXPECT_EQ(gate::resolve_profiles(*c2.snap, &two_set_db()).error,
            "masking_profile typo: entity study_subjekt is not in pattern sets us-phi-core, oncology-research");
}

TEST(resolve_profiles, the_example_policy_resolves_against_the_shipped_catalog) {
  std::ifstream in(PHIGATE_POLICY_EXAMPLE);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto c = policy::compile(text, "policy.example.json");
  ASSERT_EQ(c.error, "");
  ASSERT_GT(policy::profile_count(*c.snap), 0u);
  EXPECT_EQ(gate::resolve_profiles(*c.snap, &catalog_db()).error, "");
}

}  // namespace
}  // namespace phigate::test
