// JWS/JWT verification: the RFC 7515 A.2 (RS256), A.3 (ES256) and RFC 8037 A.4 (Ed25519)
// vectors verbatim, PS256 with keys generated here, and one case per named rejection reason
// (the table test fails if a reason has no case).
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controlplane/auth/jwt.hh"
#include "tests/controlplane/auth/jose_test_util.hh"

namespace phigate::auth {
namespace {

using nlohmann::json;
using test::b64u;

// RFC 7515 appendix A.2 / A.3: the exact compact serializations and public keys.
constexpr const char* rfc7515_a2_jws =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dn"
    "ZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eO"
    "kHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr const char* rfc7515_a2_n =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
constexpr const char* rfc7515_a3_jws =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr const char* rfc7515_a3_x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr const char* rfc7515_a3_y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
// The payload both examples sign: {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
constexpr std::string_view rfc7515_payload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

// RFC 8037 appendix A.1 key and A.4 JWS.
constexpr const char* rfc8037_d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr const char* rfc8037_x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr const char* rfc8037_a4_jws =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

jwk_set must_jwks(const std::string& text) {
  auto r = jwks_parse(text);
  if (auto* e = std::get_if<jwk_error>(&r)) ADD_FAILURE() << e->where << ": " << e->reason;
  return std::get<jwk_set>(std::move(r));
}

jwt_error error_of(const std::variant<verified_token, jwt_error>& r) {
  return std::holds_alternative<jwt_error>(r) ? std::get<jwt_error>(r) : jwt_error::policy_invalid;
}

TEST(Rfc7515, A2Rs256VerifiesExactVector) {
  jwk_set keys = must_jwks(test::jwks_of({{{"kty", "RSA"}, {"n", rfc7515_a2_n}, {"e", "AQAB"}}}));
  auto r = jws_verify_compact(rfc7515_a2_jws, keys);
  ASSERT_TRUE(std::holds_alternative<jws_verified>(r)) << jwt_error_name(std::get<jwt_error>(r));
  EXPECT_EQ(std::get<jws_verified>(r).alg, jws_alg::rs256);
  EXPECT_EQ(std::get<jws_verified>(r).payload, rfc7515_payload);

  // The claims layer runs after the signature: the RFC payload has no aud and an exp in 2011.
  jwt_policy policy{.issuer = "joe", .audience = "phigate"};
  EXPECT_EQ(error_of(jwt_verify(rfc7515_a2_jws, keys, policy, 1300819300)), jwt_error::wrong_audience);
  EXPECT_EQ(error_of(jwt_verify(rfc7515_a2_jws, keys, policy, 1300819380 + 60)), jwt_error::expired);

  std::string tampered = rfc7515_a2_jws;
  tampered[30] = tampered[30] == 'A' ? 'B' : 'A';  // inside the payload
  r = jws_verify_compact(tampered, keys);
  ASSERT_TRUE(std::holds_alternative<jwt_error>(r));
  EXPECT_EQ(std::get<jwt_error>(r), jwt_error::bad_signature);
}

TEST(Rfc7515, A3Es256VerifiesExactVector) {
  jwk_set keys =
      must_jwks(test::jwks_of({{{"kty", "EC"}, {"crv", "P-256"}, {"x", rfc7515_a3_x}, {"y", rfc7515_a3_y}}}));
  auto r = jws_verify_compact(rfc7515_a3_jws, keys);
  ASSERT_TRUE(std::holds_alternative<jws_verified>(r)) << jwt_error_name(std::get<jwt_error>(r));
  EXPECT_EQ(std::get<jws_verified>(r).alg, jws_alg::es256);
  EXPECT_EQ(std::get<jws_verified>(r).payload, rfc7515_payload);

  // Flipping one bit of s must fail.
  std::string sig = test::b64u_decode(std::string_view(rfc7515_a3_jws).substr(std::string_view(rfc7515_a3_jws).rfind('.') + 1));
  sig[40] ^= 0x01;
  std::string input(std::string_view(rfc7515_a3_jws).substr(0, std::string_view(rfc7515_a3_jws).rfind('.')));
  r = jws_verify_compact(input + "." + b64u(sig), keys);
  ASSERT_TRUE(std::holds_alternative<jwt_error>(r));
  EXPECT_EQ(std::get<jwt_error>(r), jwt_error::bad_signature);
}

TEST(Rfc7515, Es256RejectsDerEncodedSignature) {
  // JOSE fixes r||s (64 bytes); the same signature in DER must not be accepted.
  auto ec = test::generate("EC");
  jwk_set keys = must_jwks(test::jwks_of({test::public_jwk(ec.get())}));
  std::string input = b64u("{\"alg\":\"ES256\"}") + "." + b64u("{}");
  std::string jose = test::sign_raw(ec.get(), jws_alg::es256, input);
  ASSERT_TRUE(std::holds_alternative<jws_verified>(jws_verify_compact(input + "." + b64u(jose), keys)));
  ECDSA_SIG* s = ECDSA_SIG_new();
  ECDSA_SIG_set0(s, BN_bin2bn(reinterpret_cast<const unsigned char*>(jose.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(jose.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(s, &der);
  std::string der_sig(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(s);
  auto r = jws_verify_compact(input + "." + b64u(der_sig), keys);
  ASSERT_TRUE(std::holds_alternative<jwt_error>(r));
  EXPECT_EQ(std::get<jwt_error>(r), jwt_error::bad_signature);
}

TEST(Rfc8037, A4Ed25519VerifiesExactVector) {
  jwk_set keys = must_jwks(test::jwks_of({{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", rfc8037_x}}}));
  auto r = jws_verify_compact(rfc8037_a4_jws, keys);
  ASSERT_TRUE(std::holds_alternative<jws_verified>(r)) << jwt_error_name(std::get<jwt_error>(r));
  EXPECT_EQ(std::get<jws_verified>(r).alg, jws_alg::eddsa);
  EXPECT_EQ(std::get<jws_verified>(r).payload, "Example of Ed25519 signing");
  // The payload is not a claims set: the JWT layer refuses it after the signature passed.
  jwt_policy policy{.issuer = "i", .audience = "a"};
  EXPECT_EQ(error_of(jwt_verify(rfc8037_a4_jws, keys, policy, 0)), jwt_error::bad_payload);
}

TEST(Rfc8037, A4SignatureReproducedFromA1PrivateKey) {
  // Ed25519 is deterministic: the test signer must reproduce the RFC signature exactly, which
  // validates the helper the rejection tests rely on.
  auto key = test::ed25519_from_seed(test::b64u_decode(rfc8037_d));
  EXPECT_EQ(test::sign_compact(key.get(), jws_alg::eddsa, "{\"alg\":\"EdDSA\"}", "Example of Ed25519 signing"),
            rfc8037_a4_jws);
}

class Ps256 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { rsa_ = test::generate("RSA", 2048).release(); }
  static void TearDownTestSuite() { EVP_PKEY_free(rsa_); }
  static EVP_PKEY* rsa_;
};
EVP_PKEY* Ps256::rsa_ = nullptr;

TEST_F(Ps256, SignThenVerifyAndTamper) {
  jwk_set keys = must_jwks(test::jwks_of({test::public_jwk(rsa_, "r1")}));
  std::string tok = test::sign_compact(rsa_, jws_alg::ps256, "{\"alg\":\"PS256\",\"kid\":\"r1\"}", "{\"x\":1}");
  auto r = jws_verify_compact(tok, keys);
  ASSERT_TRUE(std::holds_alternative<jws_verified>(r)) << jwt_error_name(std::get<jwt_error>(r));
  EXPECT_EQ(std::get<jws_verified>(r).alg, jws_alg::ps256);
  EXPECT_EQ(std::get<jws_verified>(r).kid, "r1");

  // Tampered payload, same signature.
  size_t d1 = tok.find('.'), d2 = tok.rfind('.');
  std::string forged = tok.substr(0, d1 + 1) + b64u("{\"x\":2}") + tok.substr(d2);
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(forged, keys)), jwt_error::bad_signature);
  // Tampered signature byte.
  std::string sig = test::b64u_decode(tok.substr(d2 + 1));
  sig[100] ^= 0x40;
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(tok.substr(0, d2 + 1) + b64u(sig), keys)), jwt_error::bad_signature);
  // Truncated signature.
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(tok.substr(0, d2 + 1) + b64u(sig.substr(1)), keys)),
            jwt_error::bad_signature);
}

TEST_F(Ps256, SaltLengthOtherThanHashSizeIsRefused) {
  // RFC 7518 3.5 fixes the salt at 32 bytes; a maximal-salt PSS signature is not PS256.
  jwk_set keys = must_jwks(test::jwks_of({test::public_jwk(rsa_)}));
  std::string tok = test::sign_compact(rsa_, jws_alg::ps256, "{\"alg\":\"PS256\"}", "{}", {.salt_len = 64});
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(tok, keys)), jwt_error::bad_signature);
}

TEST_F(Ps256, RsaKeyWithoutAlgAcceptsBothRsaAlgsButNoOther) {
  jwk_set keys = must_jwks(test::jwks_of({test::public_jwk(rsa_)}));
  EXPECT_TRUE(std::holds_alternative<jws_verified>(
      jws_verify_compact(test::sign_compact(rsa_, jws_alg::rs256, "{\"alg\":\"RS256\"}", "{}"), keys)));
  EXPECT_TRUE(std::holds_alternative<jws_verified>(
      jws_verify_compact(test::sign_compact(rsa_, jws_alg::ps256, "{\"alg\":\"PS256\"}", "{}"), keys)));
  // PKCS#1 v1.5 signature bytes presented as PS256 (and the reverse) must not verify.
  std::string input = b64u("{\"alg\":\"PS256\"}") + "." + b64u("{}");
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(
                input + "." + b64u(test::sign_raw(rsa_, jws_alg::rs256, input)), keys)),
            jwt_error::bad_signature);
  input = b64u("{\"alg\":\"RS256\"}") + "." + b64u("{}");
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(
                input + "." + b64u(test::sign_raw(rsa_, jws_alg::ps256, input)), keys)),
            jwt_error::bad_signature);
  // EdDSA header against the RSA key: the key decides.
  input = b64u("{\"alg\":\"EdDSA\"}") + "." + b64u("{}");
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(input + "." + b64u(std::string(64, 'x')), keys)),
            jwt_error::alg_key_mismatch);
}

TEST_F(Ps256, JwkAlgPinsTheAlgorithm) {
  jwk_set keys = must_jwks(test::jwks_of({test::public_jwk(rsa_, "r1", "PS256")}));
  std::string rs = test::sign_compact(rsa_, jws_alg::rs256, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "{}");
  EXPECT_EQ(std::get<jwt_error>(jws_verify_compact(rs, keys)), jwt_error::alg_key_mismatch);
  std::string ps = test::sign_compact(rsa_, jws_alg::ps256, "{\"alg\":\"PS256\",\"kid\":\"r1\"}", "{}");
  EXPECT_TRUE(std::holds_alternative<jws_verified>(jws_verify_compact(ps, keys)));
}

// ---- claims and every rejection reason ---------------------------------------------------

constexpr int64_t now = 1700000000;

class Claims : public ::testing::Test {
 protected:
  void SetUp() override {
    ed_ = test::ed25519_from_seed(test::b64u_decode(rfc8037_d));
    other_ed_ = test::generate("ED25519");
    ec_ = test::generate("EC");
    one_ = must_jwks(test::jwks_of({test::public_jwk(ed_.get(), "k1")}));
    two_ = must_jwks(test::jwks_of({test::public_jwk(ed_.get(), "k1"), test::public_jwk(ec_.get(), "k2")}));
    policy_ = jwt_policy{.issuer = "https://idp.example", .audience = "phigate"};
  }

  static json good_claims() {
    return {{"iss", "https://idp.example"}, {"aud", "phigate"},     {"sub", "alice"},
            {"exp", now + 300},              {"iat", now - 10},      {"nbf", now - 10},
            {"groups", {"clinicians", "admins"}}};
  }
  std::string token(const json& claims, const json& header = {{"alg", "EdDSA"}, {"kid", "k1"}}) const {
    return test::sign_compact(ed_.get(), jws_alg::eddsa, header.dump(), claims.dump());
  }
  std::string token_raw(std::string_view header, std::string_view payload) const {
    return test::sign_compact(ed_.get(), jws_alg::eddsa, header, payload);
  }
  static json with(json c, const std::string& k, json v) {
    c[k] = std::move(v);
    return c;
  }
  static json without(json c, const std::string& k) {
    c.erase(k);
    return c;
  }

  auth::pkey_ptr ed_, other_ed_, ec_;
  jwk_set one_, two_;
  jwt_policy policy_;
};

TEST_F(Claims, GoodTokenYieldsSubjectGroupsExpKid) {
  auto r = jwt_verify(token(good_claims()), one_, policy_, now);
  ASSERT_TRUE(std::holds_alternative<verified_token>(r)) << jwt_error_name(std::get<jwt_error>(r));
  const auto& t = std::get<verified_token>(r);
  EXPECT_EQ(t.subject, "alice");
  EXPECT_EQ(t.groups, (std::vector<std::string>{"clinicians", "admins"}));
  EXPECT_EQ(t.exp, now + 300);
  EXPECT_EQ(t.kid, "k1");
  EXPECT_EQ(t.alg, jws_alg::eddsa);
}

TEST_F(Claims, AudienceArrayCustomGroupsClaimAndFractionalExp) {
  json c = without(good_claims(), "groups");
  c["aud"] = {"other", "phigate"};
  c["roles"] = {"reviewer"};
  c["exp"] = double(now) + 100.75;
  policy_.groups_claim = "roles";
  auto r = jwt_verify(token(c), one_, policy_, now);
  ASSERT_TRUE(std::holds_alternative<verified_token>(r)) << jwt_error_name(std::get<jwt_error>(r));
  EXPECT_EQ(std::get<verified_token>(r).groups, std::vector<std::string>{"reviewer"});
  EXPECT_EQ(std::get<verified_token>(r).exp, now + 100);
  // Absent groups claim: no groups, still valid.
  r = jwt_verify(token(without(good_claims(), "groups")), one_, jwt_policy{.issuer = policy_.issuer, .audience = "phigate"}, now);
  ASSERT_TRUE(std::holds_alternative<verified_token>(r));
  EXPECT_TRUE(std::get<verified_token>(r).groups.empty());
}

TEST_F(Claims, SkewBoundaries) {
  auto ok = [&](const json& c, int64_t at) { return std::holds_alternative<verified_token>(jwt_verify(token(c), one_, policy_, at)); };
  // exp: valid while now < exp + skew.
  EXPECT_TRUE(ok(with(good_claims(), "exp", now - 59), now));
  EXPECT_FALSE(ok(with(good_claims(), "exp", now - 60), now));
  // nbf and iat: valid while value <= now + skew.
  EXPECT_TRUE(ok(with(good_claims(), "nbf", now + 60), now));
  EXPECT_FALSE(ok(with(good_claims(), "nbf", now + 61), now));
  EXPECT_TRUE(ok(with(good_claims(), "iat", now + 60), now));
  EXPECT_FALSE(ok(with(good_claims(), "iat", now + 61), now));
  policy_.skew_s = 0;
  EXPECT_FALSE(ok(with(good_claims(), "exp", now), now));
  EXPECT_TRUE(ok(with(good_claims(), "exp", now + 1), now));
}

TEST_F(Claims, SingleKeyWithoutKidAcceptsTokensWithOrWithoutKid) {
  jwk_set bare = must_jwks(test::jwks_of({test::public_jwk(ed_.get())}));
  EXPECT_TRUE(std::holds_alternative<verified_token>(jwt_verify(token(good_claims()), bare, policy_, now)));
  EXPECT_TRUE(std::holds_alternative<verified_token>(
      jwt_verify(token(good_claims(), {{"alg", "EdDSA"}}), bare, policy_, now)));
  // The second key of a two-key set is selected by kid.
  std::string es = test::sign_compact(ec_.get(), jws_alg::es256, R"({"alg":"ES256","kid":"k2"})", good_claims().dump());
  EXPECT_TRUE(std::holds_alternative<verified_token>(jwt_verify(es, two_, policy_, now)));
}

TEST_F(Claims, EveryRejectionHasANamedReason) {
  struct reject_case {
    std::string what;
    std::string token;
    const jwk_set* keys;
    jwt_policy policy;
    jwt_error expected;
  };
  const json good = good_claims();
  const std::string good_tok = token(good);
  const std::string hdr = R"({"alg":"EdDSA","kid":"k1"})";
  std::string flipped_sig = good_tok;
  flipped_sig[good_tok.rfind('.') + 10] = flipped_sig[good_tok.rfind('.') + 10] == 'A' ? 'B' : 'A';
  unsigned char ed_raw[32];
  size_t ed_len = sizeof ed_raw;
  EVP_PKEY_get_raw_public_key(ed_.get(), ed_raw, &ed_len);
  jwt_policy small = policy_;
  small.max_token_bytes = 64;
  jwt_policy no_issuer = policy_;
  no_issuer.issuer.clear();
  // The attacker embeds their own key in the header and signs with it: never used.
  json embedded = {{"alg", "EdDSA"}, {"kid", "k1"}, {"jwk", test::public_jwk(other_ed_.get())}};
  std::string attacker = test::sign_compact(other_ed_.get(), jws_alg::eddsa, embedded.dump(), good.dump());
  std::string p64 = b64u(good.dump());

  std::vector<reject_case> cases = {
      {"token over the size limit", good_tok, &one_, small, jwt_error::token_too_large},
      {"two segments", b64u(hdr) + "." + p64, &one_, policy_, jwt_error::malformed},
      {"four segments", good_tok + ".x", &one_, policy_, jwt_error::malformed},
      {"empty payload", b64u(hdr) + "..sig", &one_, policy_, jwt_error::malformed},
      {"padded header", b64u(hdr) + "==." + p64 + ".AAAA", &one_, policy_, jwt_error::bad_base64},
      {"non-url alphabet", "eyJ+" + good_tok.substr(4), &one_, policy_, jwt_error::bad_base64},
      {"signature not base64url", good_tok + "*", &one_, policy_, jwt_error::bad_base64},
      {"header not JSON", b64u("alg EdDSA") + "." + p64 + ".AAAA", &one_, policy_, jwt_error::bad_header},
      {"header JSON array", b64u("[\"EdDSA\"]") + "." + p64 + ".AAAA", &one_, policy_, jwt_error::bad_header},
      {"alg not a string", b64u(R"({"alg":5})") + "." + p64 + ".AAAA", &one_, policy_, jwt_error::bad_header},
      {"kid not a string", token_raw(R"({"alg":"EdDSA","kid":1})", good.dump()), &one_, policy_, jwt_error::bad_header},
      {"alg none, empty signature", b64u(R"({"alg":"none"})") + "." + p64 + ".", &one_, policy_, jwt_error::alg_none},
      {"alg NONE spelled upper case", b64u(R"({"alg":"NONE"})") + "." + p64 + ".", &one_, policy_, jwt_error::alg_none},
      {"HS256 keyed with the public key (alg confusion)",
       test::hs256_compact(std::string_view(reinterpret_cast<char*>(ed_raw), ed_len), R"({"alg":"HS256","kid":"k1"})",
                           good.dump()),
       &one_, policy_, jwt_error::alg_hmac},
      {"HS512", b64u(R"({"alg":"HS512"})") + "." + p64 + ".AAAA", &one_, policy_, jwt_error::alg_hmac},
      {"RS512", b64u(R"({"alg":"RS512"})") + "." + p64 + ".AAAA", &one_, policy_, jwt_error::alg_unsupported},
      {"crit header", token_raw(R"({"alg":"EdDSA","kid":"k1","crit":["exp"],"exp":1})", good.dump()), &one_,
       policy_, jwt_error::crit_unsupported},
      {"several keys, no kid", token(good, {{"alg", "EdDSA"}}), &two_, policy_, jwt_error::missing_kid},
      {"unknown kid in a set of two", token(good, {{"alg", "EdDSA"}, {"kid", "k9"}}), &two_, policy_,
       jwt_error::unknown_kid},
      {"unknown kid against a single keyed key", token(good, {{"alg", "EdDSA"}, {"kid", "k9"}}), &one_, policy_,
       jwt_error::unknown_kid},
      {"ES256 header on the Ed25519 key",
       test::sign_compact(ec_.get(), jws_alg::es256, R"({"alg":"ES256","kid":"k1"})", good.dump()), &two_, policy_,
       jwt_error::alg_key_mismatch},
      {"EdDSA header on the EC key", token(good, {{"alg", "EdDSA"}, {"kid", "k2"}}), &two_, policy_,
       jwt_error::alg_key_mismatch},
      {"signed by another key", test::sign_compact(other_ed_.get(), jws_alg::eddsa, hdr, good.dump()), &one_, policy_,
       jwt_error::bad_signature},
      {"signature bit flipped", flipped_sig, &one_, policy_, jwt_error::bad_signature},
      {"embedded attacker jwk", attacker, &one_, policy_, jwt_error::bad_signature},
      {"empty signature", good_tok.substr(0, good_tok.rfind('.') + 1), &one_, policy_, jwt_error::malformed},
      {"payload not JSON", token_raw(hdr, "hello"), &one_, policy_, jwt_error::bad_payload},
      {"payload JSON array", token_raw(hdr, "[1,2]"), &one_, policy_, jwt_error::bad_payload},
      {"exp a string", token(with(good, "exp", "soon")), &one_, policy_, jwt_error::bad_claim},
      {"nbf a boolean", token(with(good, "nbf", true)), &one_, policy_, jwt_error::bad_claim},
      {"iat huge", token(with(good, "iat", 1e300)), &one_, policy_, jwt_error::bad_claim},
      {"iss an array", token(with(good, "iss", json::array())), &one_, policy_, jwt_error::bad_claim},
      {"aud a number", token(with(good, "aud", 7)), &one_, policy_, jwt_error::bad_claim},
      {"aud array with a number", token(with(good, "aud", {"phigate", 7})), &one_, policy_, jwt_error::bad_claim},
      {"sub a number", token(with(good, "sub", 5)), &one_, policy_, jwt_error::bad_claim},
      {"groups a string", token(with(good, "groups", "admins")), &one_, policy_, jwt_error::bad_claim},
      {"groups holding a number", token(with(good, "groups", {"a", 1})), &one_, policy_, jwt_error::bad_claim},
      {"no exp", token(without(good, "exp")), &one_, policy_, jwt_error::missing_exp},
      {"expired an hour ago", token(with(good, "exp", now - 3600)), &one_, policy_, jwt_error::expired},
      {"expired exactly at the skew", token(with(good, "exp", now - 60)), &one_, policy_, jwt_error::expired},
      {"nbf beyond the skew", token(with(good, "nbf", now + 61)), &one_, policy_, jwt_error::not_yet_valid},
      {"iat beyond the skew", token(with(good, "iat", now + 61)), &one_, policy_, jwt_error::issued_in_future},
      {"other issuer", token(with(good, "iss", "https://evil.example")), &one_, policy_, jwt_error::wrong_issuer},
      {"issuer prefix only", token(with(good, "iss", "https://idp.example/")), &one_, policy_, jwt_error::wrong_issuer},
      {"no issuer", token(without(good, "iss")), &one_, policy_, jwt_error::wrong_issuer},
      {"other audience", token(with(good, "aud", "billing")), &one_, policy_, jwt_error::wrong_audience},
      {"audience array without ours", token(with(good, "aud", {"a", "b"})), &one_, policy_, jwt_error::wrong_audience},
      {"empty audience array", token(with(good, "aud", json::array())), &one_, policy_, jwt_error::wrong_audience},
      {"no audience", token(without(good, "aud")), &one_, policy_, jwt_error::wrong_audience},
      {"no subject", token(without(good, "sub")), &one_, policy_, jwt_error::missing_subject},
      {"empty subject", token(with(good, "sub", "")), &one_, policy_, jwt_error::missing_subject},
      {"issuer not configured", good_tok, &one_, no_issuer, jwt_error::policy_invalid},
  };

  std::set<jwt_error> covered;
  for (const auto& c : cases) {
    auto r = jwt_verify(c.token, *c.keys, c.policy, now);
    if (std::holds_alternative<verified_token>(r)) {
      ADD_FAILURE() << c.what << ": accepted";
      continue;
    }
    EXPECT_EQ(jwt_error_name(std::get<jwt_error>(r)), jwt_error_name(c.expected)) << c.what;
    covered.insert(std::get<jwt_error>(r));
  }
  for (size_t i = 0; i < jwt_error_count; ++i)
    EXPECT_TRUE(covered.count(jwt_error(i))) << "no case for " << jwt_error_name(jwt_error(i));
  // And the good token itself passes, so the cases fail for their defect only.
  EXPECT_TRUE(std::holds_alternative<verified_token>(jwt_verify(good_tok, one_, policy_, now)));
}

TEST(JwtErrorName, NamesAreUniqueAndNonEmpty) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < jwt_error_count; ++i) {
    auto n = jwt_error_name(jwt_error(i));
    EXPECT_FALSE(n.empty());
    EXPECT_NE(n, "unknown");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), jwt_error_count);
  EXPECT_EQ(jwt_error_name(jwt_error::alg_none), "alg_none");
  EXPECT_EQ(jwt_error_name(jwt_error::expired), "expired");
}

TEST(JwtPolicy, CheckNamesWhatIsMissing) {
  jwt_policy p;
  EXPECT_TRUE(jwt_policy_check(p).has_value());
  p.issuer = "i";
  EXPECT_TRUE(jwt_policy_check(p).has_value());
  p.audience = "a";
  EXPECT_FALSE(jwt_policy_check(p).has_value());
  p.skew_s = -1;
  EXPECT_TRUE(jwt_policy_check(p).has_value());
  p.skew_s = 301;
  EXPECT_TRUE(jwt_policy_check(p).has_value());
  p.skew_s = 60;
  p.groups_claim.clear();
  EXPECT_TRUE(jwt_policy_check(p).has_value());
}

}  // namespace
}  // namespace phigate::auth
