// Tests for jwks_export (controlplane/oidc/jwks_export.hh): what the control plane hands the
// dataplane must parse back into the same keys, pinned to the same algorithms, and carry nothing
// but public verification keys.
#include "controlplane/oidc/jwks_export.hh"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "controlplane/auth/jwt.hh"
#include "tests/controlplane/auth/jose_test_util.hh"

namespace phigate::oidc {
namespace {

using json = nlohmann::json;
using auth::jws_alg;

auth::jwk_set parse_set(const std::string& text) {
  auto r = auth::jwks_parse(text);
  if (auto* e = std::get_if<auth::jwk_error>(&r)) {
    ADD_FAILURE() << e->where << ": " << e->reason;
    return {};
  }
  return std::move(std::get<auth::jwk_set>(r));
}

std::string export_text(const auth::jwk_set& s) {
  auto r = jwks_export(s);
  if (auto* e = std::get_if<jwks_export_error>(&r)) {
    ADD_FAILURE() << e->reason;
    return {};
  }
  return std::get<std::string>(r);
}

TEST(JwksExport, RoundTripsEveryKeyTypeWithItsAlgorithms) {
  auto rsa_any = test::generate("RSA");
  auto rsa_ps = test::generate("RSA");
  auto ec = test::generate("EC");
  auto ed = test::generate("ED25519");
  auto original = parse_set(test::jwks_of({
      test::public_jwk(rsa_any.get(), "rsa-any"),          // no alg: RS256 and PS256
      test::public_jwk(rsa_ps.get(), "rsa-ps", "PS256"),   // pinned
      test::public_jwk(ec.get(), "ec", "ES256"),
      test::public_jwk(ed.get()),                          // no kid
  }));
  ASSERT_EQ(original.keys.size(), 4u);

  std::string text = export_text(original);
  auto back = parse_set(text);
  ASSERT_EQ(back.keys.size(), original.keys.size());
  for (size_t i = 0; i < back.keys.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(back.keys[i].kid, original.keys[i].kid);
    EXPECT_EQ(back.keys[i].type, original.keys[i].type);
    EXPECT_EQ(back.keys[i].algs, original.keys[i].algs);
    EXPECT_EQ(EVP_PKEY_eq(back.keys[i].key.get(), original.keys[i].key.get()), 1);
  }
  EXPECT_TRUE(back.keys[0].allows(jws_alg::rs256));
  EXPECT_TRUE(back.keys[0].allows(jws_alg::ps256));
  EXPECT_FALSE(back.keys[1].allows(jws_alg::rs256));

  // Deterministic: equal sets give equal text (key_manager compares exports to detect changes).
  EXPECT_EQ(export_text(back), text);

  // A token the control plane accepts verifies against the exported set as well.
  auth::jwt_policy policy{"https://idp.example.com", "https://api.example.com"};
  std::string payload = R"({"iss":"https://idp.example.com","aud":"https://api.example.com","sub":"u1","exp":2000})";
  std::string token = test::sign_compact(rsa_ps.get(), jws_alg::ps256, R"({"alg":"PS256","kid":"rsa-ps"})", payload);
  EXPECT_TRUE(std::holds_alternative<auth::verified_token>(auth::jwt_verify(token, original, policy, 1000)));
  EXPECT_TRUE(std::holds_alternative<auth::verified_token>(auth::jwt_verify(token, back, policy, 1000)));
  // ...and the pin survives: the same key under RS256 is refused downstream too.
  std::string rs = test::sign_compact(rsa_ps.get(), jws_alg::rs256, R"({"alg":"RS256","kid":"rsa-ps"})", payload);
  auto r = auth::jwt_verify(rs, back, policy, 1000);
  ASSERT_TRUE(std::holds_alternative<auth::jwt_error>(r));
  EXPECT_EQ(std::get<auth::jwt_error>(r), auth::jwt_error::alg_key_mismatch);
}

TEST(JwksExport, CarriesOnlyPublicMembersOfUsableKeys) {
  auto ec = test::generate("EC");
  auto ed = test::generate("ED25519");
  json enc = test::public_jwk(ed.get(), "enc-1");
  enc["use"] = "enc";
  json extra = test::public_jwk(ec.get(), "ec-1", "ES256");
  extra["x5u"] = "https://example.com/chain.pem";
  extra["custom"] = "anything";
  auto set = parse_set(test::jwks_of({enc, extra}));
  ASSERT_EQ(set.keys.size(), 1u);
  ASSERT_EQ(set.skipped.size(), 1u);

  json out = json::parse(export_text(set));
  ASSERT_EQ(out["keys"].size(), 1u);
  const json& k = out["keys"][0];
  std::set<std::string> members;
  for (auto it = k.begin(); it != k.end(); ++it) members.insert(it.key());
  EXPECT_EQ(members, (std::set<std::string>{"alg", "crv", "kid", "kty", "use", "x", "y"}));
  EXPECT_EQ(k["use"], "sig");
  EXPECT_EQ(k["kid"], "ec-1");
}

TEST(JwksExport, EcCoordinatesKeepTheirLeadingZeroBytes) {
  // Regression: a coordinate whose big-endian form starts with 0x00 must still be 32 bytes in
  // the JWK (RFC 7518 6.2.1.2); a minimal encoding would be refused by jwks_parse downstream.
  // About 1 key in 128 has such a coordinate; generate until one does.
  auth::pkey_ptr found;
  for (int i = 0; i < 4000 && !found; ++i) {
    auto k = test::generate("EC");
    json j = test::public_jwk(k.get());
    auto x = auth::base64url_decode(j["x"].get<std::string>());
    auto y = auth::base64url_decode(j["y"].get<std::string>());
    if ((*x)[0] == '\0' || (*y)[0] == '\0') found = std::move(k);
  }
  ASSERT_TRUE(found) << "no key with a leading zero coordinate in 4000 tries";
  auto set = parse_set(test::jwks_of({test::public_jwk(found.get(), "z")}));
  json out = json::parse(export_text(set));
  EXPECT_EQ(auth::base64url_decode(out["keys"][0]["x"].get<std::string>())->size(), 32u);
  EXPECT_EQ(auth::base64url_decode(out["keys"][0]["y"].get<std::string>())->size(), 32u);
  auto back = parse_set(out.dump());
  ASSERT_EQ(back.keys.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(back.keys[0].key.get(), found.get()), 1);
}

TEST(JwksExport, EmptySetAndKeylessEntry) {
  EXPECT_EQ(export_text(auth::jwk_set{}), R"({"keys":[]})");
  auth::jwk_set broken;
  broken.keys.push_back(auth::jwk{"k", auth::jwk_type::rsa, auth::jws_alg_bit(jws_alg::rs256), {}});
  auto r = jwks_export(broken);
  ASSERT_TRUE(std::holds_alternative<jwks_export_error>(r));
  EXPECT_NE(std::get<jwks_export_error>(r).reason.find("keys[0]"), std::string::npos);
}

}  // namespace
}  // namespace phigate::oidc
