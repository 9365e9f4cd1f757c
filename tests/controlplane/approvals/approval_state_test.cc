// The approval state machine as a table: each scenario is a list of steps (an actor's decision,
// a grant check, a time) with the named outcome and the effective state after it. Covers
// self-approval, quorum with a duplicate vote, the approver-group check, pending expiry,
// revocation, one-time grant replay, time-bound grant expiry and binding mismatches. The final
// test fails if a decision error or a grant status has no row.
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "controlplane/approvals/approval_state.hh"
#include "tests/controlplane/approvals/approval_test_util.hh"

namespace phigate::approvals {
namespace {

using test::alice;
using test::bob;
using test::carol;
using test::dave;

constexpr int64_t t0 = 1'700'000'000;
constexpr int64_t day = 24 * 3600;
const std::string id = "0123456789abcdef0123456789abcdef";

enum class op { approve, reject, revoke, check };

struct step {
  op what;
  const principal* who;  // for check: the caller whose subject is presented
  int64_t at;            // seconds after t0
  std::string expect;    // approval_error name, grant_status name, or "ok"
  approval_state state_after;
  std::string arg = {};  // reason (reject, revoke); "route:x" / "digest:x" overrides (check)
};

struct scenario {
  const char* name;
  approval_request request;
  std::vector<step> steps;
};

std::vector<scenario> table() {
  using S = approval_state;
  auto req = [](uint32_t n, bool one_time = true, int64_t ttl = 0) { return test::sample_request(n, one_time, ttl); };
  return {
      {"self_approval_refused_even_in_approver_group",
       req(1),
       {{op::approve, &alice, 0, "self_approval", S::pending},
        {op::reject, &alice, 0, "self_approval", S::pending, "withdraw"},
        {op::approve, &bob, 1, "ok", S::approved}}},
      {"quorum_two_with_duplicate_vote",
       req(2),
       {{op::approve, &bob, 0, "ok", S::pending},
        {op::approve, &bob, 1, "duplicate_vote", S::pending},
        {op::check, &alice, 2, "pending", S::pending},
        {op::approve, &carol, 3, "ok", S::approved},
        {op::approve, &carol, 4, "not_pending", S::approved},
        {op::check, &alice, 5, "ok", S::consumed}}},
      {"approver_group_required",
       req(1),
       {{op::approve, &dave, 0, "not_approver", S::pending},
        {op::reject, &dave, 0, "not_approver", S::pending, "no"},
        {op::revoke, &dave, 0, "not_approver", S::pending, "no"}}},
      {"reject_needs_reason_and_is_final",
       req(2),
       {{op::approve, &bob, 0, "ok", S::pending},
        {op::reject, &carol, 1, "reason_required", S::pending, ""},
        {op::reject, &carol, 1, "reason_required", S::pending, " \n\t"},
        {op::reject, &carol, 1, "reason_too_long", S::pending, std::string(2000, 'x')},
        {op::reject, &carol, 1, "invalid_request", S::pending, "bell\a"},
        {op::reject, &carol, 2, "ok", S::rejected, "export of full records is not allowed"},
        {op::approve, &carol, 3, "not_pending", S::rejected},
        {op::check, &alice, 4, "rejected", S::rejected}}},
      {"pending_request_expires_after_a_day",
       req(1),
       {{op::check, &alice, day - 1, "pending", S::pending},
        {op::approve, &bob, day, "not_pending", S::expired},
        {op::reject, &bob, day, "not_pending", S::expired, "late"},
        {op::check, &alice, day, "expired", S::expired}}},
      {"approval_just_before_pending_expiry_counts",
       req(1),
       {{op::approve, &bob, day - 1, "ok", S::approved}, {op::check, &alice, day + 60, "ok", S::consumed}}},
      {"revoke_by_approver_with_reason",
       req(1, false),
       {{op::revoke, &bob, 0, "not_active", S::pending, "too early"},
        {op::approve, &bob, 1, "ok", S::approved},
        {op::check, &alice, 2, "ok", S::approved},
        {op::revoke, &carol, 3, "reason_required", S::approved, ""},
        {op::revoke, &alice, 3, "self_approval", S::approved, "mine"},
        {op::revoke, &carol, 4, "ok", S::revoked, "sent to the wrong model"},
        {op::check, &alice, 5, "revoked", S::revoked},
        {op::revoke, &bob, 6, "not_active", S::revoked, "again"}}},
      {"one_time_grant_replay_refused",
       req(1, true),
       {{op::approve, &bob, 0, "ok", S::approved},
        {op::check, &alice, 1, "ok", S::consumed},
        {op::check, &alice, 2, "consumed", S::consumed},
        {op::revoke, &bob, 3, "not_active", S::consumed, "too late"}}},
      {"one_time_grant_expires_unused",
       req(1, true, 60),
       {{op::approve, &bob, 0, "ok", S::approved}, {op::check, &alice, 60, "expired", S::expired}}},
      {"time_bound_grant_until_ttl",
       req(1, false, 600),
       {{op::approve, &bob, 100, "ok", S::approved},
        {op::check, &alice, 100, "ok", S::approved},
        {op::check, &alice, 699, "ok", S::approved},
        {op::check, &alice, 700, "expired", S::expired},
        {op::revoke, &bob, 701, "not_active", S::expired, "expired anyway"}}},
      {"bindings_checked_before_state_and_never_consume",
       req(1, true),
       {{op::check, &bob, 0, "subject_mismatch", S::pending},
        {op::approve, &bob, 0, "ok", S::approved},
        {op::check, &bob, 1, "subject_mismatch", S::approved},
        {op::check, &alice, 1, "route_mismatch", S::approved, "route:embeddings"},
        {op::check, &alice, 1, "digest_mismatch", S::approved, "digest:" + test::digest_of("other body")},
        {op::check, &alice, 1, "digest_mismatch", S::approved, "digest:"},
        {op::check, &alice, 2, "ok", S::consumed}}},
  };
}

// Runs one scenario with EXPECTs per step; returns the outcome names seen.
std::set<std::string> run(const scenario& sc) {
  std::set<std::string> seen;
  approval_config config;
  auto made = make_record(sc.request, id, t0, config);
  if (!std::holds_alternative<approval_record>(made)) {
    ADD_FAILURE() << "make_record refused the scenario's request";
    return seen;
  }
  approval_record r = std::get<approval_record>(made);
  for (size_t i = 0; i < sc.steps.size(); ++i) {
    const step& s = sc.steps[i];
    SCOPED_TRACE("step " + std::to_string(i));
    const int64_t now = t0 + s.at;
    const approval_record before = r;
    std::string got;
    if (s.what == op::check) {
      std::string route = sc.request.route, digest = sc.request.body_digest;
      if (s.arg.rfind("route:", 0) == 0) route = s.arg.substr(6);
      if (s.arg.rfind("digest:", 0) == 0) digest = s.arg.substr(7);
      got = grant_status_name(check_grant(r, s.who->subject, route, digest, now));
      if (got != "ok") {
        EXPECT_EQ(r, before) << "a refused check changed the record";
      }
    } else {
      std::optional<approval_failure> f = s.what == op::approve  ? approve(r, *s.who, now)
                                          : s.what == op::reject ? reject(r, *s.who, s.arg, now, config)
                                                                 : revoke(r, *s.who, s.arg, now, config);
      got = f ? std::string(approval_error_name(f->code)) : "ok";
      if (f) {
        EXPECT_EQ(r, before) << "a refused transition changed the record";
        // Messages name rules and fields, never the values involved.
        EXPECT_EQ(f->message.find(s.who->subject), std::string::npos) << f->message;
      }
    }
    EXPECT_EQ(got, s.expect);
    EXPECT_EQ(approval_state_name(effective_state(r, now)), approval_state_name(s.state_after));
    seen.insert(got);
  }
  return seen;
}

void PrintTo(const scenario& sc, std::ostream* os) { *os << sc.name; }

class ApprovalTable : public ::testing::TestWithParam<scenario> {};

TEST_P(ApprovalTable, Steps) { run(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Scenarios, ApprovalTable, ::testing::ValuesIn(table()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ApprovalState, QuorumRecordsVotersAndGrantWindow) {
  approval_record r = std::get<approval_record>(make_record(test::sample_request(2, false, 900), id, t0, {}));
  ASSERT_FALSE(approve(r, bob, t0 + 10));
  ASSERT_FALSE(approve(r, carol, t0 + 20));
  ASSERT_EQ(r.votes.size(), 2u);
  EXPECT_EQ(r.votes[0], (approval_vote{"bob", t0 + 10}));
  EXPECT_EQ(r.votes[1], (approval_vote{"carol", t0 + 20}));
  EXPECT_EQ(r.decided_s, t0 + 20);
  EXPECT_EQ(r.grant_expires_s, t0 + 20 + 900);
  EXPECT_EQ(r.state, approval_state::approved);
}

TEST(ApprovalState, GrantTtlDefaultsAndIsCapped) {
  approval_config config;
  config.default_grant_ttl_s = 1800;
  config.max_grant_ttl_s = 7200;
  auto ttl_of = [&](int64_t asked) {
    return std::get<approval_record>(make_record(test::sample_request(1, false, asked), id, t0, config)).request.grant_ttl_s;
  };
  EXPECT_EQ(ttl_of(0), 1800);
  EXPECT_EQ(ttl_of(60), 60);
  EXPECT_EQ(ttl_of(7200), 7200);
  EXPECT_EQ(ttl_of(10 * day), 7200);
  approval_config short_pending;
  short_pending.pending_ttl_s = 300;
  auto r = std::get<approval_record>(make_record(test::sample_request(), id, t0, short_pending));
  EXPECT_EQ(r.pending_expires_s, t0 + 300);
  EXPECT_EQ(effective_state(r, t0 + 299), approval_state::pending);
  EXPECT_EQ(effective_state(r, t0 + 300), approval_state::expired);
}

TEST(ApprovalState, MakeRecordRejectsMalformedRequests) {
  approval_config config;
  auto refused = [&](auto mutate, const char* field) {
    approval_request q = test::sample_request();
    mutate(q);
    auto made = make_record(q, id, t0, config);
    ASSERT_TRUE(std::holds_alternative<approval_failure>(made)) << field;
    const auto& f = std::get<approval_failure>(made);
    EXPECT_EQ(f.code, approval_error::invalid_request) << field;
    EXPECT_NE(f.message.find(field), std::string::npos) << f.message;
  };
  refused([](approval_request& q) { q.requester.clear(); }, "requester");
  refused([](approval_request& q) { q.route.clear(); }, "route");
  refused([](approval_request& q) { q.body_digest = "ABCDEF"; }, "body_digest");
  refused([](approval_request& q) { q.body_digest = std::string(64, 'A'); }, "body_digest");
  refused([](approval_request& q) { q.approvals_required = 0; }, "approvals_required");
  refused([](approval_request& q) { q.approvals_required = 17; }, "approvals_required");
  refused([](approval_request& q) { q.approver_groups.clear(); }, "approver_groups");
  refused([](approval_request& q) { q.approver_groups = {""}; }, "approver_groups");
  refused([](approval_request& q) { q.path = "/x\r\nX-Injected: 1"; }, "path");
  refused([](approval_request& q) { q.masked_summary = std::string(9000, 's'); }, "masked_summary");
  refused([](approval_request& q) { q.grant_ttl_s = -1; }, "grant_ttl_s");
  auto bad_id = make_record(test::sample_request(), "not-an-id", t0, config);
  EXPECT_TRUE(std::holds_alternative<approval_failure>(bad_id));
  // A summary may span lines.
  approval_request multi = test::sample_request();
  multi.masked_summary = "line one\n\tline two";
  EXPECT_TRUE(std::holds_alternative<approval_record>(make_record(multi, id, t0, config)));
}

TEST(ApprovalState, ConfigCheck) {
  EXPECT_FALSE(approval_config_check({}));
  approval_config c;
  c.default_grant_ttl_s = c.max_grant_ttl_s + 1;
  EXPECT_TRUE(approval_config_check(c));
  c = {};
  c.pending_ttl_s = 0;
  EXPECT_TRUE(approval_config_check(c));
}

TEST(ApprovalState, NamesRoundTrip) {
  for (size_t i = 0; i < approval_state_count; ++i)
    EXPECT_EQ(approval_state_parse(approval_state_name(approval_state(i))), approval_state(i));
  EXPECT_FALSE(approval_state_parse("Pending"));
  EXPECT_TRUE(is_approval_id(id));
  EXPECT_FALSE(is_approval_id("0123456789ABCDEF0123456789ABCDEF"));
  EXPECT_FALSE(is_approval_id(id + "0"));
}

// Every decision error the state machine returns and every grant status has a row in the table.
TEST(ApprovalTableCoverage, EveryOutcomeHasACase) {
  std::set<std::string> covered;
  for (const auto& sc : table()) covered.merge(run(sc));
  for (size_t i = 0; i < grant_status_count; ++i) {
    const std::string name(grant_status_name(grant_status(i)));
    if (name == "unknown" || name == "storage_error") continue;  // store-level, approval_store_test
    EXPECT_TRUE(covered.count(name)) << "no table row yields grant status " << name;
  }
  for (size_t i = 0; i < approval_error_count; ++i) {
    const std::string name(approval_error_name(approval_error(i)));
    if (name == "unknown" || name == "full" || name == "duplicate_id" || name == "storage") continue;  // store-level
    EXPECT_TRUE(covered.count(name)) << "no table row yields error " << name;
  }
}

}  // namespace
}  // namespace phigate::approvals
