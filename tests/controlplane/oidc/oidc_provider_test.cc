// Integration: oidc_client and key_manager against a real OpenID Provider (the npm package
// oidc-provider, tests/oidc/provider.mjs) on loopback, started by oidc_provider_test.sh, which
// passes PHIGATE_OIDC_ISSUER, PHIGATE_OIDC_CLIENT_ID and PHIGATE_OIDC_CLIENT_SECRET. Run alone it
// skips.
//
// Tokens come from the provider's token endpoint by client credentials (client_secret_basic),
// one resource indicator per signing algorithm. The provider rotates keys on
// POST /admin/rotate?keep_old=0|1; tests read the current signing kids from GET /admin/state
// instead of assuming how many rotations ran before them.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/auth/jwk.hh"
#include "controlplane/auth/jwt.hh"
#include "controlplane/oidc/key_manager.hh"
#include "controlplane/oidc/oidc_client.hh"

namespace phigate::oidc {
namespace {

using json = nlohmann::json;
using auth::jwt_error;

const std::string api_audience = "https://api.phigate.test";
const std::string other_resource = "https://other.phigate.test";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class ProviderTest : public ::testing::Test {
 protected:
  std::string issuer = env("PHIGATE_OIDC_ISSUER");
  std::string client_id = env("PHIGATE_OIDC_CLIENT_ID");
  std::string client_secret = env("PHIGATE_OIDC_CLIENT_SECRET");
  std::string token_path;

  void SetUp() override {
    if (issuer.empty() || client_id.empty() || client_secret.empty())
      GTEST_SKIP() << "PHIGATE_OIDC_ISSUER/CLIENT_ID/CLIENT_SECRET not set: run through oidc_provider_test.sh";
    auto d = oidc_client({issuer, {}}).fetch_discovery();
    ASSERT_TRUE(std::holds_alternative<discovery_document>(d)) << oidc_error_text(std::get<oidc_error>(d));
    auto u = parse_url(std::get<discovery_document>(d).token_endpoint);
    ASSERT_TRUE(std::holds_alternative<http_url>(u)) << "token_endpoint: " << std::get<std::string>(u);
    token_path = std::get<http_url>(u).target;
  }

  httplib::Client http() const {
    httplib::Client c(issuer);
    c.set_connection_timeout(std::chrono::seconds(5));
    c.set_read_timeout(std::chrono::seconds(20));
    return c;
  }

  // An access token (a JWT) for `resource`, by client credentials.
  std::string fetch_token(const std::string& resource) {
    auto c = http();
    c.set_basic_auth(client_id, client_secret);
    httplib::Params form{{"grant_type", "client_credentials"}, {"scope", "api:read"}, {"resource", resource}};
    auto res = c.Post(token_path, form);
    if (!res) {
      ADD_FAILURE() << "token request failed: " << httplib::to_string(res.error());
      return {};
    }
    if (res->status != 200) {
      ADD_FAILURE() << "token endpoint answered " << res->status << ": " << res->body;
      return {};
    }
    auto j = json::parse(res->body, nullptr, false);
    if (!j.is_object() || !j.contains("access_token")) {
      ADD_FAILURE() << "no access_token in " << res->body;
      return {};
    }
    return j["access_token"].get<std::string>();
  }
  std::string token_for(const std::string& alg) { return fetch_token(api_audience + "/" + alg); }

  json admin(const std::string& method, const std::string& path) {
    auto c = http();
    auto res = method == "POST" ? c.Post(path) : c.Get(path);
    if (!res || res->status != 200) {
      ADD_FAILURE() << method << " " << path << " failed";
      return json::object();
    }
    return json::parse(res->body);
  }
  json rotate(bool keep_old) { return admin("POST", std::string("/admin/rotate?keep_old=") + (keep_old ? "1" : "0")); }
  std::string signing_kid(const std::string& alg) { return admin("GET", "/admin/state")["signing"][alg]; }

  key_manager_options options() {
    key_manager_options o;
    o.policy.issuer = issuer;
    o.policy.audience = api_audience;
    return o;
  }
  std::unique_ptr<key_manager> make(key_manager_options o) {
    return std::make_unique<key_manager>(oidc_key_fetcher(oidc_client({issuer, {}})), std::move(o));
  }
  std::unique_ptr<key_manager> make_loaded(int64_t now) {
    auto km = make(options());
    auto e = km->refresh(now);
    EXPECT_FALSE(e) << oidc_error_text(*e);
    return km;
  }
};

std::string kid_of(const std::string& token) { return jws_header_kid(token, 16 * 1024).value_or("?"); }

void expect_ok(const std::variant<auth::verified_token, jwt_error>& r, const char* what) {
  if (auto* e = std::get_if<jwt_error>(&r)) ADD_FAILURE() << what << ": rejected: " << auth::jwt_error_name(*e);
}
void expect_error(const std::variant<auth::verified_token, jwt_error>& r, jwt_error want, const char* what) {
  if (std::holds_alternative<auth::verified_token>(r)) {
    ADD_FAILURE() << what << ": accepted, wanted " << auth::jwt_error_name(want);
    return;
  }
  EXPECT_EQ(auth::jwt_error_name(std::get<jwt_error>(r)), auth::jwt_error_name(want)) << what;
}

TEST_F(ProviderTest, DiscoveryAndKeysComeFromTheProvider) {
  auto r = oidc_client({issuer, {}}).fetch_keys();
  ASSERT_TRUE(std::holds_alternative<fetched_keys>(r)) << oidc_error_text(std::get<oidc_error>(r));
  const auto& f = std::get<fetched_keys>(r);
  EXPECT_EQ(f.discovery.issuer, issuer);
  EXPECT_EQ(f.discovery.jwks_uri.rfind(issuer, 0), 0u) << f.discovery.jwks_uri;
  for (const char* alg : {"RS256", "PS256", "ES256", "EdDSA"}) {
    const auth::jwk* k = f.keys.find(signing_kid(alg));
    ASSERT_NE(k, nullptr) << alg;
    // The provider pins each key to one algorithm; the verifier must take that from the key.
    EXPECT_EQ(k->algs, auth::jws_alg_bit(*auth::jws_alg_parse(alg))) << alg;
  }

  // A configured issuer that differs from the provider's (here by a trailing slash) is refused.
  auto wrong = oidc_client({issuer + "/", {}}).fetch_keys();
  ASSERT_TRUE(std::holds_alternative<oidc_error>(wrong));
  EXPECT_EQ(std::get<oidc_error>(wrong).step, oidc_step::discovery);
  EXPECT_NE(std::get<oidc_error>(wrong).reason.find("is not the configured issuer"), std::string::npos);
}

TEST_F(ProviderTest, VerifiesClientCredentialsTokensOfEveryAlgorithm) {
  int64_t now = unix_now_s();
  auto km = make_loaded(now);
  auto dataplane_keys = auth::jwks_parse(km->jwks_json());  // what the dataplane would load
  ASSERT_TRUE(std::holds_alternative<auth::jwk_set>(dataplane_keys));

  for (const char* alg : {"RS256", "PS256", "ES256", "EdDSA"}) {
    SCOPED_TRACE(alg);
    std::string lower = alg;
    for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    std::string tok = token_for(lower);
    ASSERT_FALSE(tok.empty());
    auto r = km->verify(tok, now);
    expect_ok(r, alg);
    if (auto* v = std::get_if<auth::verified_token>(&r)) {
      EXPECT_EQ(auth::jws_alg_name(v->alg), alg);
      EXPECT_EQ(v->kid, signing_kid(alg));
      EXPECT_EQ(v->subject, client_id);
      EXPECT_EQ(v->groups, (std::vector<std::string>{"phi-readers", "ops"}));
      EXPECT_GT(v->exp, now);
    }
    expect_ok(auth::jwt_verify(tok, std::get<auth::jwk_set>(dataplane_keys), options().policy, now), "exported keys");
  }
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 0u);
}

TEST_F(ProviderTest, RejectsWrongAudienceExpiredAndTamperedTokens) {
  int64_t now = unix_now_s();
  auto km = make_loaded(now);

  expect_error(km->verify(fetch_token(other_resource), now), jwt_error::wrong_audience, "other audience");

  std::string tok = token_for("es256");
  auto ok = km->verify(tok, now);
  expect_ok(ok, "fresh token");
  ASSERT_TRUE(std::holds_alternative<auth::verified_token>(ok));
  int64_t exp = std::get<auth::verified_token>(ok).exp;
  int64_t skew = options().policy.skew_s;
  expect_ok(km->verify(tok, exp + skew - 1), "within the skew");
  expect_error(km->verify(tok, exp + skew), jwt_error::expired, "injected clock past exp");

  // One flipped bit in the signature, then in the payload.
  std::string bad_sig = tok;
  size_t last = bad_sig.size() - 3;
  bad_sig[last] = bad_sig[last] == 'A' ? 'B' : 'A';
  expect_error(km->verify(bad_sig, now), jwt_error::bad_signature, "tampered signature");
  std::string bad_body = tok;
  size_t mid = bad_body.find('.') + 10;
  bad_body[mid] = bad_body[mid] == 'A' ? 'B' : 'A';
  auto r = km->verify(bad_body, now);
  ASSERT_TRUE(std::holds_alternative<jwt_error>(r));
  EXPECT_TRUE(std::get<jwt_error>(r) == jwt_error::bad_signature || std::get<jwt_error>(r) == jwt_error::bad_base64)
      << auth::jwt_error_name(std::get<jwt_error>(r));

  // A verifier configured for another issuer refuses the provider's tokens.
  auto o = options();
  o.policy.issuer = issuer + "/other";
  auto km2 = make(o);
  ASSERT_FALSE(km2->refresh(now));
  expect_error(km2->verify(tok, now), jwt_error::wrong_issuer, "other issuer");
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 0u);
}

TEST_F(ProviderTest, RotationKeepingOldKeys) {
  int64_t now = unix_now_s();
  auto km = make_loaded(now);
  std::string old_tok = token_for("es256");
  expect_ok(km->verify(old_tok, now), "before rotation");

  json rot = rotate(true);
  std::string new_kid = rot["signing"]["ES256"];
  std::string new_tok = token_for("es256");
  ASSERT_EQ(kid_of(new_tok), new_kid);
  ASSERT_NE(kid_of(new_tok), kid_of(old_tok));

  // The old key is still published and still known: no refresh needed for the old token.
  expect_ok(km->verify(old_tok, now + 1), "old token after rotation");
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 0u);
  // The new kid triggers one refresh, then verifies.
  expect_ok(km->verify(new_tok, now + 1), "new token");
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 1u);
  EXPECT_EQ(km->current()->version, 2u);

  // A second rotation inside the 30 s window: the refresh is refused, and counted.
  rotate(true);
  std::string newer_tok = token_for("es256");
  expect_error(km->verify(newer_tok, now + 10), jwt_error::unknown_kid, "rate-limited");
  EXPECT_EQ(km->stats().unknown_kid_rate_limited, 1u);
  // Once the window has passed (fake clock), it refreshes and verifies; every older token still does.
  expect_ok(km->verify(newer_tok, now + 31), "after the window");
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 2u);
  expect_ok(km->verify(new_tok, now + 32), "previous generation");
  expect_ok(km->verify(old_tok, now + 32), "first generation");
}

TEST_F(ProviderTest, RotationDroppingOldKeys) {
  int64_t now = unix_now_s();
  auto km = make_loaded(now);
  std::string old_tok = token_for("eddsa");
  expect_ok(km->verify(old_tok, now), "before rotation");

  rotate(false);
  std::string new_tok = token_for("eddsa");
  // Until the verifier refreshes, it still trusts the old key (it cannot know better).
  expect_ok(km->verify(old_tok, now + 1), "old token, stale keys");
  expect_ok(km->verify(new_tok, now + 1), "new token triggers the refresh");
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 1u);
  // After the refresh the old key is gone; the limiter keeps this from refetching.
  expect_error(km->verify(old_tok, now + 2), jwt_error::unknown_kid, "old token after refresh");
  EXPECT_EQ(km->stats().unknown_kid_rate_limited, 1u);
  auto exported = json::parse(km->jwks_json());
  for (const auto& k : exported["keys"]) EXPECT_NE(k["kid"], kid_of(old_tok));

  // A scheduled refresh converges as well.
  auto km2 = make_loaded(now);
  rotate(false);
  std::string third_tok = token_for("eddsa");
  EXPECT_TRUE(km2->tick(now + 600));
  expect_ok(km2->verify(third_tok, now + 601), "after scheduled refresh");
  EXPECT_EQ(km2->stats().unknown_kid_refreshes, 0u);
  expect_error(km2->verify(new_tok, now + 601), jwt_error::unknown_kid, "dropped generation");
}

TEST_F(ProviderTest, RotationWhileTrafficFlows) {
  // Real clock; rotations one refresh window apart (1 s here), old keys kept: no token the
  // provider issued may be refused at any moment.
  auto o = options();
  o.unknown_kid_min_interval_s = 1;
  auto km = make(o);
  ASSERT_FALSE(km->refresh(unix_now_s()));
  key_refresher refresher(*km);

  std::atomic<bool> stop{false};
  std::atomic<int> verified{0}, refused{0};
  std::thread traffic([&] {
    const char* algs[] = {"rs256", "es256", "eddsa", "ps256"};
    for (int i = 0; !stop.load(); ++i) {
      std::string tok = token_for(algs[i % 4]);
      if (tok.empty()) break;
      auto r = km->verify(tok, unix_now_s());
      if (std::holds_alternative<auth::verified_token>(r)) {
        ++verified;
      } else {
        ++refused;
        ADD_FAILURE() << "refused " << kid_of(tok) << ": " << auth::jwt_error_name(std::get<jwt_error>(r));
      }
    }
  });
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    rotate(true);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  stop = true;
  traffic.join();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_GT(verified.load(), 8);
  EXPECT_GE(km->current()->version, 4u);
}

}  // namespace
}  // namespace phigate::oidc
