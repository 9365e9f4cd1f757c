// The approvals REST API end to end on loopback: a real httplib server, real Ed25519 JWTs
// verified by jwt_verify, an injected clock. Covers 401 (missing, forged, expired, wrong
// audience), 403 (stranger, self-approval, non-approver), 404, 409 (duplicate vote, decided,
// inactive grant), 400 (reason, JSON, state), 413, the quorum, the caller-facing status URL,
// revocation, expiry, and that no response carries the body digest or body values.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "controlplane/approvals/approval_api.hh"
#include "tests/controlplane/approvals/approval_test_util.hh"

namespace phigate::approvals {
namespace {

using nlohmann::json;
using test::alice;
using test::bob;
using test::carol;
using test::dave;
using test::must;

constexpr int64_t t0 = 1'700'000'000;

struct answer {
  int status = 0;
  json body;
  std::string text;
  std::string www_authenticate;
};

class ApprovalApi : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = test::must_open(dir_.file("a.db"));
    ASSERT_TRUE(store_);
    approval_api_options options;
    options.clock = [this] { return now_.load(); };
    mount_approval_api(server_, *store_, idp_.verifier(options.clock), options);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op before the accept loop runs: wait for it.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  answer call(const char* method, const std::string& path, const std::string& token, const std::string& body = "",
              const std::string& raw_auth = "") {
    httplib::Client client("127.0.0.1", port_);
    httplib::Headers headers;
    if (!raw_auth.empty()) headers.emplace("Authorization", raw_auth);
    else if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto res = std::string(method) == "GET" ? client.Get(path.c_str(), headers)
                                            : client.Post(path.c_str(), headers, body, "application/json");
    answer a;
    if (!res) {
      ADD_FAILURE() << "no answer: " << httplib::to_string(res.error());
      return a;
    }
    a.status = res->status;
    a.text = res->body;
    a.body = json::parse(res->body, nullptr, false);
    a.www_authenticate = res->get_header_value("WWW-Authenticate");
    // Nothing the API says may carry the body's values or its digest.
    EXPECT_EQ(a.text.find("marker-c0ffee"), std::string::npos);
    EXPECT_EQ(a.text.find("219-09-9999"), std::string::npos);
    EXPECT_EQ(a.text.find(test::digest_of(test::secret_body)), std::string::npos);
    return a;
  }
  std::string tok(const principal& p) { return idp_.token(p, now_.load()); }
  std::string url(const std::string& id, const char* suffix = "") { return "/v1/approvals/" + id + suffix; }

  test::scratch_dir dir_;
  test::test_idp idp_;
  std::atomic<int64_t> now_{t0};
  std::unique_ptr<approval_store> store_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ApprovalApi, RefusesMissingAndBadTokens) {
  auto r = must(store_->create(test::sample_request(), t0));
  auto a = call("GET", "/v1/approvals", "");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body["error"], "missing_token");
  EXPECT_NE(a.www_authenticate.find("Bearer"), std::string::npos);
  EXPECT_EQ(call("GET", url(r.id), "", "", "Basic Ym9iOnB3").body["error"], "missing_token");
  EXPECT_EQ(call("GET", url(r.id), "", "", "Bearer ").body["error"], "missing_token");

  a = call("POST", url(r.id, "/approve"), idp_.forged(bob, t0));
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body["error"], "invalid_token");
  EXPECT_EQ(a.body["reason"], "bad_signature");
  EXPECT_NE(a.www_authenticate.find("invalid_token"), std::string::npos);
  EXPECT_EQ(call("GET", url(r.id), idp_.token(bob, t0 - 7200, 3600)).body["reason"], "expired");
  EXPECT_EQ(call("GET", url(r.id), idp_.token(bob, t0, 3600, "someone-else")).body["reason"], "wrong_audience");
  EXPECT_EQ(call("GET", url(r.id), "not.a.jwt").body["reason"], "bad_base64");
  // None of the refused calls decided anything.
  EXPECT_TRUE(must(store_->get(r.id)).votes.empty());
}

TEST_F(ApprovalApi, QuorumFlowWithSelfApprovalDuplicateAndStranger) {
  auto r = must(store_->create(test::sample_request(2), t0));

  auto a = call("POST", url(r.id, "/approve"), tok(alice));  // requester, though in the group
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.body["error"], "self_approval");
  a = call("POST", url(r.id, "/approve"), tok(dave));
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.body["error"], "not_approver");

  now_ += 10;
  a = call("POST", url(r.id, "/approve"), tok(bob));
  ASSERT_EQ(a.status, 200) << a.text;
  EXPECT_EQ(a.body["state"], "pending");
  EXPECT_EQ(a.body["approvals"].size(), 1u);
  EXPECT_EQ(a.body["approvals"][0]["approver"], "bob");
  EXPECT_EQ(a.body["approvals"][0]["at"], t0 + 10);

  a = call("POST", url(r.id, "/approve"), tok(bob));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body["error"], "duplicate_vote");
  EXPECT_EQ(a.body["state"], "pending");

  // The requester polls the status URL with her own token; a stranger may not.
  a = call("GET", url(r.id, "/status"), tok(alice));
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["state"], "pending");
  EXPECT_EQ(a.body["approvals"], 1);
  EXPECT_EQ(a.body["approvals_required"], 2);
  EXPECT_FALSE(a.body.contains("summary"));
  EXPECT_EQ(call("GET", url(r.id, "/status"), tok(dave)).status, 403);
  EXPECT_EQ(call("GET", url(r.id), tok(dave)).body["error"], "forbidden");

  now_ += 10;
  a = call("POST", url(r.id, "/approve"), tok(carol));
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["state"], "approved");
  EXPECT_EQ(a.body["grant_expires_at"], t0 + 20 + 1800);
  EXPECT_EQ(call("GET", url(r.id, "/status"), tok(alice)).body["state"], "approved");

  // Deciding again is a conflict; the grant works exactly once for the bound request.
  a = call("POST", url(r.id, "/reject"), tok(carol), R"({"reason":"changed my mind"})");
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body["error"], "not_pending");
  EXPECT_EQ(a.body["state"], "approved");
  const std::string digest = test::digest_of(test::secret_body);
  EXPECT_EQ(store_->check_grant(r.id, "alice", "chat", digest, now_), grant_status::ok);
  EXPECT_EQ(store_->check_grant(r.id, "alice", "chat", digest, now_), grant_status::consumed);
  EXPECT_EQ(call("GET", url(r.id, "/status"), tok(alice)).body["state"], "consumed");
}

TEST_F(ApprovalApi, ShowsTheRecordToApproversWithoutTheDigest) {
  auto r = must(store_->create(test::sample_request(), t0));
  auto a = call("GET", url(r.id), tok(bob));
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["id"], r.id);
  EXPECT_EQ(a.body["state"], "pending");
  EXPECT_EQ(a.body["requester"], "alice");
  EXPECT_EQ(a.body["route"], "chat");
  EXPECT_EQ(a.body["method"], "POST");
  EXPECT_EQ(a.body["path"], "/v1/chat/completions");
  EXPECT_EQ(a.body["model"], "gpt-4o");
  EXPECT_EQ(a.body["rule_id"], "bulk-export");
  EXPECT_EQ(a.body["summary"], r.request.masked_summary);
  EXPECT_EQ(a.body["status_url"], "/v1/approvals/" + r.id + "/status");
  EXPECT_EQ(a.body["expires_at"], t0 + 24 * 3600);
  EXPECT_FALSE(a.body.contains("body_digest"));
  EXPECT_EQ(call("GET", url(r.id), tok(alice)).status, 200);  // the requester may read it too
}

TEST_F(ApprovalApi, RejectNeedsAReasonInAJsonBody) {
  auto r = must(store_->create(test::sample_request(), t0));
  auto a = call("POST", url(r.id, "/reject"), tok(bob));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body["error"], "reason_required");
  EXPECT_EQ(call("POST", url(r.id, "/reject"), tok(bob), R"({"reason":"   "})").body["error"], "reason_required");
  EXPECT_EQ(call("POST", url(r.id, "/reject"), tok(bob), "{not json").body["error"], "bad_json");
  EXPECT_EQ(call("POST", url(r.id, "/reject"), tok(bob), R"({"reason":42})").body["error"], "bad_json");
  EXPECT_EQ(call("POST", url(r.id, "/reject"), tok(bob), R"(["reason"])").body["error"], "bad_json");
  a = call("POST", url(r.id, "/reject"), tok(bob), json{{"reason", std::string(20000, 'x')}}.dump());
  EXPECT_EQ(a.status, 413);
  EXPECT_EQ(a.body["error"], "body_too_large");
  a = call("POST", url(r.id, "/reject"), tok(dave), R"({"reason":"not mine"})");
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(must(store_->get(r.id)).state, approval_state::pending);

  a = call("POST", url(r.id, "/reject"), tok(bob), R"({"reason":"use the de-identified extract"})");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["state"], "rejected");
  EXPECT_EQ(a.body["rejected_by"], "bob");
  a = call("GET", url(r.id, "/status"), tok(alice));
  EXPECT_EQ(a.body["state"], "rejected");
  EXPECT_EQ(a.body["reason"], "use the de-identified extract");
}

TEST_F(ApprovalApi, RevokeAnActiveGrant) {
  auto r = must(store_->create(test::sample_request(1, false, 3600), t0));
  auto a = call("POST", url(r.id, "/revoke"), tok(carol), R"({"reason":"x"})");
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body["error"], "not_active");
  EXPECT_EQ(a.body["state"], "pending");
  ASSERT_EQ(call("POST", url(r.id, "/approve"), tok(bob)).status, 200);
  EXPECT_EQ(call("POST", url(r.id, "/revoke"), tok(carol), "{}").body["error"], "reason_required");
  EXPECT_EQ(call("POST", url(r.id, "/revoke"), tok(alice), R"({"reason":"mine"})").body["error"], "self_approval");
  a = call("POST", url(r.id, "/revoke"), tok(carol), R"({"reason":"wrong patient cohort"})");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["state"], "revoked");
  EXPECT_EQ(a.body["revoked_by"], "carol");
  EXPECT_EQ(a.body["reason"], "wrong patient cohort");
  EXPECT_EQ(store_->check_grant(r.id, "alice", "chat", r.request.body_digest, now_), grant_status::revoked);
}

TEST_F(ApprovalApi, ListFiltersByStateAndVisibility) {
  auto a1 = must(store_->create(test::sample_request(), t0));
  auto other = test::sample_request();
  other.approver_groups = {"finance"};
  auto d1 = must(store_->create(other, t0 + 1));
  auto ids = [](const answer& a) {
    std::vector<std::string> out;
    for (const auto& r : a.body["approvals"]) out.push_back(r["id"].get<std::string>());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(call("GET", "/v1/approvals?state=pending", tok(bob))), V{a1.id});
  EXPECT_EQ(ids(call("GET", "/v1/approvals?state=pending", tok(dave))), V{d1.id});
  EXPECT_EQ(ids(call("GET", "/v1/approvals", tok(alice))), (V{d1.id, a1.id}));
  EXPECT_EQ(ids(call("GET", "/v1/approvals?limit=1", tok(alice))), V{d1.id});
  EXPECT_EQ(call("GET", "/v1/approvals?state=bogus", tok(bob)).status, 400);
  EXPECT_EQ(call("GET", "/v1/approvals?limit=-1", tok(bob)).status, 400);

  // A day later both expired; tokens are minted at the new time.
  now_ += 24 * 3600;
  EXPECT_EQ(ids(call("GET", "/v1/approvals?state=pending", tok(bob))), V{});
  EXPECT_EQ(ids(call("GET", "/v1/approvals?state=expired", tok(bob))), V{a1.id});
  auto a = call("POST", url(a1.id, "/approve"), tok(bob));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body["state"], "expired");
}

TEST_F(ApprovalApi, UnknownAndMalformedIdsAre404) {
  auto a = call("GET", url("00000000000000000000000000000000"), tok(bob));
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body["error"], "unknown");
  EXPECT_EQ(call("GET", url("ABC"), tok(bob)).body["error"], "unknown");
  EXPECT_EQ(call("POST", url("..%2f..%2fetc", "/approve"), tok(bob)).status, 404);
  EXPECT_EQ(call("POST", url("00000000000000000000000000000000", "/approve"), tok(bob)).body["error"], "unknown");
}

}  // namespace
}  // namespace phigate::approvals
