// JWK / JWKS parsing: accepted key types, the key-decides-the-algorithm mask, refusal of
// private members, weak or off-curve keys, duplicate kids, and skipping of unusable keys.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controlplane/auth/jwk.hh"
#include "tests/controlplane/auth/jose_test_util.hh"

namespace phigate::auth {
namespace {

using nlohmann::json;

// RFC 8037 appendix A.1 (private JWK) and A.2 (its public half).
const json rfc8037_private = {
    {"kty", "OKP"}, {"crv", "Ed25519"}, {"d", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"},
    {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};

jwk_error error_of(const std::variant<jwk, jwk_error>& r) {
  EXPECT_TRUE(std::holds_alternative<jwk_error>(r));
  return std::holds_alternative<jwk_error>(r) ? std::get<jwk_error>(r) : jwk_error{};
}
jwk_error error_of(const std::variant<jwk_set, jwk_error>& r) {
  EXPECT_TRUE(std::holds_alternative<jwk_error>(r));
  return std::holds_alternative<jwk_error>(r) ? std::get<jwk_error>(r) : jwk_error{};
}

TEST(Jwk, Ed25519PublicKeyParses) {
  json pub = rfc8037_private;
  pub.erase("d");
  auto r = jwk_parse(pub.dump());
  ASSERT_TRUE(std::holds_alternative<jwk>(r)) << std::get<jwk_error>(r).reason;
  const jwk& k = std::get<jwk>(r);
  EXPECT_EQ(k.type, jwk_type::ed25519);
  EXPECT_TRUE(k.allows(jws_alg::eddsa));
  EXPECT_FALSE(k.allows(jws_alg::es256));
  EXPECT_TRUE(k.kid.empty());
}

TEST(Jwk, PrivateMembersAreRefusedWithoutQuotingThem) {
  auto e = error_of(jwk_parse(rfc8037_private.dump()));
  EXPECT_NE(e.reason.find("private key member 'd'"), std::string::npos) << e.reason;
  EXPECT_EQ(e.reason.find("nWGxne"), std::string::npos);
  EXPECT_EQ(e.where.find("nWGxne"), std::string::npos);
  // A symmetric key is a secret too.
  error_of(jwk_parse(R"({"kty":"oct","k":"c2VjcmV0"})"));
}

TEST(Jwk, RsaKeysAreSizeChecked) {
  auto small = test::generate("RSA", 1024);
  auto e = error_of(jwk_parse(test::public_jwk(small.get()).dump()));
  EXPECT_NE(e.reason.find("2048"), std::string::npos) << e.reason;
  json bad_e = test::public_jwk(test::generate("RSA", 2048).get());
  bad_e["e"] = test::b64u(std::string("\x01\x00\x00", 3));  // 65536: even
  error_of(jwk_parse(bad_e.dump()));
}

TEST(Jwk, RsaWithoutAlgAllowsRs256AndPs256Only) {
  auto rsa = test::generate("RSA", 2048);
  auto r = jwk_parse(test::public_jwk(rsa.get(), "r").dump());
  ASSERT_TRUE(std::holds_alternative<jwk>(r));
  const jwk& k = std::get<jwk>(r);
  EXPECT_TRUE(k.allows(jws_alg::rs256));
  EXPECT_TRUE(k.allows(jws_alg::ps256));
  EXPECT_FALSE(k.allows(jws_alg::es256));
  EXPECT_FALSE(k.allows(jws_alg::eddsa));
  auto pinned = jwk_parse(test::public_jwk(rsa.get(), "r", "RS256").dump());
  ASSERT_TRUE(std::holds_alternative<jwk>(pinned));
  EXPECT_TRUE(std::get<jwk>(pinned).allows(jws_alg::rs256));
  EXPECT_FALSE(std::get<jwk>(pinned).allows(jws_alg::ps256));
}

TEST(Jwk, AlgContradictingTheKeyTypeIsAnError) {
  auto ec = test::generate("EC");
  auto e = error_of(jwk_parse(test::public_jwk(ec.get(), "e", "RS256").dump()));
  EXPECT_NE(e.where.find(".alg"), std::string::npos);
  json ed = rfc8037_private;
  ed.erase("d");
  ed["alg"] = "ES256";
  error_of(jwk_parse(ed.dump()));
}

TEST(Jwk, EcPointMustBeOnP256) {
  auto ec = test::generate("EC");
  json j = test::public_jwk(ec.get());
  ASSERT_TRUE(std::holds_alternative<jwk>(jwk_parse(j.dump())));
  std::string y = test::b64u_decode(j["y"].get<std::string>());
  y[31] ^= 0x01;
  j["y"] = test::b64u(y);
  auto e = error_of(jwk_parse(j.dump()));
  EXPECT_NE(e.reason.find("P-256"), std::string::npos) << e.reason;
  // Short coordinates are refused rather than zero-padded.
  json shortx = test::public_jwk(ec.get());
  shortx["x"] = test::b64u(test::b64u_decode(shortx["x"].get<std::string>()).substr(1));
  error_of(jwk_parse(shortx.dump()));
}

TEST(Jwk, MalformedMembers) {
  error_of(jwk_parse("not json"));
  error_of(jwk_parse("[]"));
  error_of(jwk_parse(R"({"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})"));       // no kty
  error_of(jwk_parse(R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="})"));  // padded
  error_of(jwk_parse(R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":3})"));
  error_of(jwk_parse(R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","key_ops":"verify"})"));
}

TEST(Jwks, UnusableKeysAreSkippedAndListed) {
  auto ed = test::generate("ED25519");
  json enc = test::public_jwk(test::generate("RSA", 2048).get(), "enc-1");
  enc["use"] = "enc";
  json p384 = {{"kty", "EC"}, {"crv", "P-384"}, {"kid", "p384"}, {"x", "AA"}, {"y", "AA"}};
  json oct = {{"kty", "oct"}, {"kid", "sym"}};
  json rs512 = test::public_jwk(ed.get(), "rs512", "RS512");
  json sign_only = test::public_jwk(ed.get(), "ops");
  sign_only["key_ops"] = {"sign"};
  auto r = jwks_parse(test::jwks_of({enc, p384, oct, rs512, sign_only, test::public_jwk(ed.get(), "good")}));
  ASSERT_TRUE(std::holds_alternative<jwk_set>(r)) << std::get<jwk_error>(r).reason;
  const jwk_set& set = std::get<jwk_set>(r);
  ASSERT_EQ(set.keys.size(), 1u);
  EXPECT_EQ(set.keys[0].kid, "good");
  EXPECT_EQ(set.skipped.size(), 5u);
  EXPECT_NE(set.skipped[0].find("kid enc-1"), std::string::npos) << set.skipped[0];
  EXPECT_NE(set.find("good"), nullptr);
  EXPECT_EQ(set.find("enc-1"), nullptr);
}

TEST(Jwks, SetLevelErrors) {
  auto ed = test::generate("ED25519");
  auto e = error_of(jwks_parse(test::jwks_of({test::public_jwk(ed.get(), "a"), test::public_jwk(ed.get(), "a")})));
  EXPECT_NE(e.reason.find("duplicate kid"), std::string::npos);
  error_of(jwks_parse(R"({"keys":[]})"));
  error_of(jwks_parse(R"({"keys":{}})"));
  error_of(jwks_parse(R"({"kty":"OKP"})"));
  error_of(jwks_parse("{"));
  json many = {{"keys", json::array()}};
  for (int i = 0; i < 65; ++i) many["keys"].push_back(test::public_jwk(ed.get(), "k" + std::to_string(i)));
  error_of(jwks_parse(many.dump()));
  // One malformed usable key fails the whole set: a half-loaded key set is not a key set.
  json bad = test::public_jwk(ed.get(), "bad");
  bad["x"] = "AAAA";
  error_of(jwks_parse(test::jwks_of({test::public_jwk(ed.get(), "ok"), bad})));
}

TEST(JwsAlg, NamesRoundTrip) {
  for (size_t i = 0; i < jws_alg_count; ++i) EXPECT_EQ(jws_alg_parse(jws_alg_name(jws_alg(i))), jws_alg(i));
  EXPECT_FALSE(jws_alg_parse("rs256").has_value());
  EXPECT_FALSE(jws_alg_parse("none").has_value());
  EXPECT_FALSE(jws_alg_parse("HS256").has_value());
}

}  // namespace
}  // namespace phigate::auth
