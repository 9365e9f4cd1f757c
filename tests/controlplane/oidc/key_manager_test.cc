// Unit tests for key_manager (controlplane/oidc/key_manager.hh): schedule, rate-limited
// unknown-kid refresh, failure handling, change notification and thread safety. Keys come from a
// canned provider on 127.0.0.1 through the real oidc_client; time is a fake clock throughout.
#include "controlplane/oidc/key_manager.hh"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/controlplane/auth/jose_test_util.hh"
#include "tests/controlplane/oidc/canned_server.hh"

namespace phigate::oidc {
namespace {

using json = nlohmann::json;
using auth::jws_alg;
using auth::jwt_error;

constexpr int64_t t0 = 1'700'000'000;
const std::string audience = "https://api.phigate.test";

class KeyManagerTest : public ::testing::Test {
 protected:
  test::canned_server srv;
  std::string issuer = srv.origin();
  auth::pkey_ptr k1 = test::generate("EC");
  auth::pkey_ptr k2 = test::generate("ED25519");
  auth::pkey_ptr k3 = test::generate("EC");

  KeyManagerTest() {
    srv.set("/.well-known/openid-configuration", 200,
            json{{"issuer", issuer}, {"jwks_uri", issuer + "/jwks"}}.dump());
    publish({jwk1()});
  }

  json jwk1() { return test::public_jwk(k1.get(), "k1", "ES256"); }
  json jwk2() { return test::public_jwk(k2.get(), "k2", "EdDSA"); }
  json jwk3() { return test::public_jwk(k3.get(), "k3", "ES256"); }
  void publish(std::initializer_list<json> keys) { srv.set("/jwks", 200, test::jwks_of(keys)); }
  int jwks_hits() { return srv.hits("/jwks"); }

  key_manager_options options() {
    key_manager_options o;
    o.policy.issuer = issuer;
    o.policy.audience = audience;
    return o;
  }
  std::unique_ptr<key_manager> make(key_manager_options o) {
    return std::make_unique<key_manager>(oidc_key_fetcher(oidc_client({issuer, {}})), std::move(o));
  }
  std::unique_ptr<key_manager> make() { return make(options()); }

  std::string payload(const std::string& aud = audience, int64_t exp = t0 + 3600) {
    return json{{"iss", issuer}, {"aud", aud},       {"sub", "svc-1"},
                {"iat", t0},     {"exp", exp},       {"groups", {"phi-readers", "ops"}}}
        .dump();
  }
  std::string token(EVP_PKEY* key, jws_alg alg, const std::string& kid, const std::string& body) {
    json h{{"alg", std::string(auth::jws_alg_name(alg))}, {"typ", "at+jwt"}};
    if (!kid.empty()) h["kid"] = kid;
    return test::sign_compact(key, alg, h.dump(), body);
  }
  std::string t1() { return token(k1.get(), jws_alg::es256, "k1", payload()); }
  std::string t2() { return token(k2.get(), jws_alg::eddsa, "k2", payload()); }
  std::string t3() { return token(k3.get(), jws_alg::es256, "k3", payload()); }
};

void expect_ok(const std::variant<auth::verified_token, jwt_error>& r) {
  if (auto* e = std::get_if<jwt_error>(&r)) ADD_FAILURE() << "rejected: " << auth::jwt_error_name(*e);
}
void expect_error(const std::variant<auth::verified_token, jwt_error>& r, jwt_error want) {
  if (std::holds_alternative<auth::verified_token>(r)) {
    ADD_FAILURE() << "accepted, wanted " << auth::jwt_error_name(want);
    return;
  }
  EXPECT_EQ(auth::jwt_error_name(std::get<jwt_error>(r)), auth::jwt_error_name(want));
}

TEST_F(KeyManagerTest, StartsEmptyThenRefreshPublishes) {
  auto km = make();
  EXPECT_EQ(km->current()->version, 0u);
  EXPECT_EQ(km->jwks_json(), R"({"keys":[]})");
  EXPECT_EQ(km->refresh(t0), std::nullopt);
  auto snap = km->current();
  EXPECT_EQ(snap->version, 1u);
  EXPECT_EQ(snap->fetched_at_s, t0);
  ASSERT_EQ(snap->keys.keys.size(), 1u);
  EXPECT_EQ(snap->keys.keys[0].kid, "k1");
  EXPECT_EQ(km->next_refresh_s(), t0 + 600);
  EXPECT_EQ(km->stats().refreshes_ok, 1u);
  EXPECT_EQ(km->stats().last_success_s, t0);
  // The exported JWKS is what the dataplane loads.
  auto parsed = auth::jwks_parse(km->jwks_json());
  ASSERT_TRUE(std::holds_alternative<auth::jwk_set>(parsed));
  EXPECT_NE(std::get<auth::jwk_set>(parsed).find("k1"), nullptr);
}

TEST_F(KeyManagerTest, VerifiesAndReturnsGroups) {
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  auto r = km->verify(t1(), t0 + 5);
  expect_ok(r);
  if (auto* v = std::get_if<auth::verified_token>(&r)) {
    EXPECT_EQ(v->subject, "svc-1");
    EXPECT_EQ(v->groups, (std::vector<std::string>{"phi-readers", "ops"}));
    EXPECT_EQ(v->kid, "k1");
    EXPECT_EQ(v->alg, jws_alg::es256);
  }
}

TEST_F(KeyManagerTest, FirstVerifyLoadsKeysWhenNoneWereFetched) {
  auto km = make();
  expect_ok(km->verify(t1(), t0));
  EXPECT_EQ(jwks_hits(), 1);
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 1u);

  // A token without a kid, against an empty set, gets the same chance (missing_kid otherwise).
  auto km2 = make();
  expect_ok(km2->verify(token(k1.get(), jws_alg::es256, "", payload()), t0));
  EXPECT_EQ(km2->stats().unknown_kid_refreshes, 1u);
}

TEST_F(KeyManagerTest, UnknownKidRefreshIsRateLimited) {
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  ASSERT_EQ(jwks_hits(), 1);

  // Rotation at the provider: k2 appears. The first token naming it refreshes at once.
  publish({jwk2(), jwk1()});
  expect_ok(km->verify(t2(), t0 + 100));
  EXPECT_EQ(jwks_hits(), 2);
  EXPECT_EQ(km->current()->version, 2u);

  // Another rotation 10 s later: within the 30 s window, no fetch; the token is refused.
  publish({jwk3(), jwk2(), jwk1()});
  expect_error(km->verify(t3(), t0 + 110), jwt_error::unknown_kid);
  expect_error(km->verify(t3(), t0 + 129), jwt_error::unknown_kid);
  EXPECT_EQ(jwks_hits(), 2);
  EXPECT_EQ(km->stats().unknown_kid_rate_limited, 2u);
  EXPECT_FALSE(km->on_unknown_kid("k3", t0 + 129));
  EXPECT_EQ(km->stats().unknown_kid_rate_limited, 3u);

  // Known kids never wait for the limiter.
  expect_ok(km->verify(t1(), t0 + 120));
  expect_ok(km->verify(t2(), t0 + 120));

  // 30 s after the last unknown-kid refresh the next one is allowed.
  expect_ok(km->verify(t3(), t0 + 130));
  EXPECT_EQ(jwks_hits(), 3);
  auto s = km->stats();
  EXPECT_EQ(s.unknown_kid_refreshes, 2u);
  EXPECT_EQ(s.unknown_kid_rate_limited, 3u);
  EXPECT_EQ(s.refreshes_ok, 3u);
}

TEST_F(KeyManagerTest, RateLimitIsConfigurable) {
  auto o = options();
  o.unknown_kid_min_interval_s = 5;
  auto km = make(o);
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  int base = jwks_hits();
  EXPECT_FALSE(km->on_unknown_kid("zz", t0));  // fetched; still unknown
  EXPECT_EQ(jwks_hits(), base + 1);
  EXPECT_FALSE(km->on_unknown_kid("zz", t0 + 4));
  EXPECT_EQ(jwks_hits(), base + 1);
  EXPECT_FALSE(km->on_unknown_kid("zz", t0 + 5));
  EXPECT_EQ(jwks_hits(), base + 2);
  EXPECT_TRUE(km->on_unknown_kid("k1", t0 + 6));  // known: no fetch, no limiter
  EXPECT_EQ(jwks_hits(), base + 2);
}

TEST_F(KeyManagerTest, ASprayOfRandomKidsCostsOneFetchPerWindow) {
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  for (int i = 0; i < 200; ++i)
    expect_error(km->verify(token(k3.get(), jws_alg::es256, "forged-" + std::to_string(i), payload()), t0 + i % 30),
                 jwt_error::unknown_kid);
  EXPECT_EQ(jwks_hits(), 2);  // start-up + one unknown-kid refresh
  EXPECT_EQ(km->stats().unknown_kid_rate_limited, 199u);
}

TEST_F(KeyManagerTest, LimiterHoldsWhileTheProviderFails) {
  // The window starts at the attempt, not at a success: a provider that is down is not hammered.
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  srv.set("/jwks", 503, "busy");
  expect_error(km->verify(t2(), t0 + 1), jwt_error::unknown_kid);
  EXPECT_EQ(jwks_hits(), 2);
  auto err = km->last_error();
  ASSERT_TRUE(err);
  EXPECT_EQ(err->step, oidc_step::jwks);
  EXPECT_NE(err->reason.find("HTTP status 503"), std::string::npos) << err->reason;
  expect_error(km->verify(t2(), t0 + 5), jwt_error::unknown_kid);
  EXPECT_EQ(jwks_hits(), 2);
  EXPECT_EQ(km->stats().refreshes_failed, 1u);
  // The keys from before the outage still work.
  expect_ok(km->verify(t1(), t0 + 6));
  EXPECT_EQ(km->current()->version, 1u);
}

TEST_F(KeyManagerTest, ScheduledRefreshAndRetryAfterFailure) {
  auto km = make();
  EXPECT_TRUE(km->tick(t0));  // never fetched: due at once
  EXPECT_EQ(jwks_hits(), 1);
  EXPECT_FALSE(km->tick(t0 + 599));
  EXPECT_EQ(jwks_hits(), 1);
  EXPECT_TRUE(km->tick(t0 + 600));
  EXPECT_EQ(jwks_hits(), 2);
  EXPECT_EQ(km->current()->version, 1u);  // same keys: no new version
  EXPECT_EQ(km->next_refresh_s(), t0 + 1200);

  srv.set("/.well-known/openid-configuration", 500, "{}");
  EXPECT_TRUE(km->tick(t0 + 1200));
  auto err = km->last_error();
  ASSERT_TRUE(err);
  EXPECT_EQ(err->step, oidc_step::discovery);
  EXPECT_EQ(km->next_refresh_s(), t0 + 1230);  // retry sooner than the full interval
  EXPECT_FALSE(km->tick(t0 + 1229));
  expect_ok(km->verify(t1(), t0 + 1229));  // keys kept through the outage

  srv.set("/.well-known/openid-configuration", 200, json{{"issuer", issuer}, {"jwks_uri", issuer + "/jwks"}}.dump());
  EXPECT_TRUE(km->tick(t0 + 1230));
  EXPECT_FALSE(km->last_error());
  EXPECT_EQ(km->next_refresh_s(), t0 + 1830);
  auto s = km->stats();
  EXPECT_EQ(s.scheduled_refreshes, 4u);
  EXPECT_EQ(s.refreshes_failed, 1u);
  EXPECT_EQ(s.refreshes_ok, 3u);
  EXPECT_EQ(s.last_success_s, t0 + 1230);
}

TEST_F(KeyManagerTest, IntervalIsConfigurable) {
  auto o = options();
  o.refresh_interval_s = 60;
  o.retry_interval_s = 600;  // capped by the interval
  auto km = make(o);
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  EXPECT_EQ(km->next_refresh_s(), t0 + 60);
  srv.set("/jwks", 500, "");
  EXPECT_TRUE(km->tick(t0 + 60));
  EXPECT_EQ(km->next_refresh_s(), t0 + 120);
}

TEST_F(KeyManagerTest, ChangesBumpTheVersionAndNotify) {
  std::vector<uint64_t> seen;
  std::vector<std::string> texts;
  auto o = options();
  o.on_change = [&](const std::shared_ptr<const key_snapshot>& s) {
    seen.push_back(s->version);
    texts.push_back(s->jwks_json);
  };
  auto km = make(o);
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  ASSERT_EQ(km->refresh(t0 + 1), std::nullopt);  // same keys
  EXPECT_EQ(seen, (std::vector<uint64_t>{1}));
  EXPECT_EQ(km->current()->fetched_at_s, t0);

  publish({jwk2(), jwk1()});
  ASSERT_EQ(km->refresh(t0 + 2), std::nullopt);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(texts.back(), km->jwks_json());
  auto parsed = auth::jwks_parse(texts.back());
  ASSERT_TRUE(std::holds_alternative<auth::jwk_set>(parsed));
  EXPECT_NE(std::get<auth::jwk_set>(parsed).find("k2"), nullptr);
  EXPECT_EQ(km->stats().key_set_changes, 2u);
}

TEST_F(KeyManagerTest, AKeyRemovedAtTheProviderStopsVerifying) {
  publish({jwk1(), jwk2()});
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  expect_ok(km->verify(t1(), t0 + 1));
  publish({jwk2()});
  EXPECT_TRUE(km->tick(t0 + 600));
  expect_error(km->verify(t1(), t0 + 601), jwt_error::unknown_kid);
  expect_ok(km->verify(t2(), t0 + 601));
}

TEST_F(KeyManagerTest, OtherRejectionsNeverRefresh) {
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  expect_error(km->verify(token(k1.get(), jws_alg::es256, "k1", payload("https://other.test")), t0),
               jwt_error::wrong_audience);
  expect_error(km->verify(t1(), t0 + 3600 + 60), jwt_error::expired);
  std::string tampered = t1();
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  expect_error(km->verify(tampered, t0), jwt_error::bad_signature);
  // Signed by k3 but claiming k1.
  expect_error(km->verify(token(k3.get(), jws_alg::es256, "k1", payload()), t0), jwt_error::bad_signature);
  std::string none = test::b64u(R"({"alg":"none","kid":"k9"})") + "." + test::b64u(payload()) + ".";
  expect_error(km->verify(none, t0), jwt_error::alg_none);
  expect_error(km->verify("!!!.e30.c2ln", t0), jwt_error::bad_base64);
  EXPECT_EQ(jwks_hits(), 1);
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 0u);
}

TEST_F(KeyManagerTest, ConcurrentUnknownKidsShareOneFetch) {
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  publish({jwk2(), jwk1()});
  std::string tok = t2();
  std::atomic<int> ready{0}, ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < 8) std::this_thread::yield();
      if (std::holds_alternative<auth::verified_token>(km->verify(tok, t0 + 1))) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(jwks_hits(), 2);
  EXPECT_EQ(km->stats().unknown_kid_refreshes, 1u);
  EXPECT_EQ(km->stats().unknown_kid_rate_limited, 0u);
}

TEST_F(KeyManagerTest, ReadersKeepVerifyingWhileKeysSwap) {
  auto km = make();
  ASSERT_EQ(km->refresh(t0), std::nullopt);
  std::string tok = t1();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, done{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (!std::holds_alternative<auth::verified_token>(km->verify(tok, t0 + 1))) ++failures;
        ++done;
      }
    });
  for (int i = 0; i < 20; ++i) {
    if (i % 2 == 0)
      publish({jwk3(), jwk1()});
    else
      publish({jwk1()});
    ASSERT_EQ(km->refresh(t0 + i), std::nullopt);
  }
  while (done.load() < 50) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(km->current()->version, 21u);
}

TEST_F(KeyManagerTest, RefresherTicksOnItsOwnThread) {
  auto km = make();
  std::atomic<int64_t> now{t0};
  auto wait_for = [&](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pred();
  };
  {
    key_refresher refresher(*km, [&] { return now.load(); }, 5);
    ASSERT_TRUE(wait_for([&] { return km->current()->version == 1; }));
    publish({jwk2()});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(km->current()->version, 1u);  // not due yet
    now = t0 + 600;
    ASSERT_TRUE(wait_for([&] { return km->current()->version == 2; }));
  }
  int after = jwks_hits();
  now = t0 + 5000;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(jwks_hits(), after);  // stopped with its owner
}

TEST(KeyManager, AFailingFetcherIsCountedNotFatal) {
  int calls = 0;
  key_manager km(
      [&]() -> std::variant<auth::jwk_set, oidc_error> {
        ++calls;
        if (calls == 1) throw std::runtime_error("boom");
        return oidc_error{oidc_step::jwks, "canned failure"};
      },
      {});
  auto e = km.refresh(t0);
  ASSERT_TRUE(e);
  EXPECT_NE(e->reason.find("threw"), std::string::npos);
  e = km.refresh(t0 + 1);
  ASSERT_TRUE(e);
  EXPECT_EQ(oidc_error_text(*e), "jwks: canned failure");
  EXPECT_EQ(km.stats().refreshes_failed, 2u);
  EXPECT_EQ(km.current()->version, 0u);

  key_manager none(nullptr, {});
  EXPECT_TRUE(none.refresh(t0));
}

TEST(JwsHeaderKid, ReadsTheKidWithoutVerifying) {
  auto h = [](std::string_view header) { return test::b64u(header) + ".e30.c2ln"; };
  EXPECT_EQ(jws_header_kid(h(R"({"alg":"ES256","kid":"abc"})"), 1024), "abc");
  EXPECT_EQ(jws_header_kid(h(R"({"alg":"ES256"})"), 1024), "");
  EXPECT_EQ(jws_header_kid(h(R"({"alg":"ES256","kid":7})"), 1024), std::nullopt);
  EXPECT_EQ(jws_header_kid(h(R"(["kid"])"), 1024), std::nullopt);
  EXPECT_EQ(jws_header_kid(h("not json"), 1024), std::nullopt);
  EXPECT_EQ(jws_header_kid("e30=.e30.c2ln", 1024), std::nullopt);  // padded base64 is not base64url
  EXPECT_EQ(jws_header_kid("nodots", 1024), std::nullopt);
  EXPECT_EQ(jws_header_kid(h(R"({"kid":"abc"})"), 10), std::nullopt);
}

}  // namespace
}  // namespace phigate::oidc
