#pragma once
// Test-only JOSE signing and JWK export, so rejection tests can build tokens whose signature is
// valid and whose only defect is the one under test. Uses OpenSSL directly (never the code
// under test for signing) so a bug in the verifier cannot hide behind a matching bug here.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "controlplane/auth/crypto_util.hh"
#include "controlplane/auth/jwk.hh"

namespace phigate::test {

inline std::string b64u(std::string_view s) { return auth::base64url_encode(s); }

inline std::string b64u_decode(std::string_view s) {
  auto d = auth::base64url_decode(s);
  if (!d) throw std::runtime_error("bad base64url in test vector");
  return *d;
}

inline auth::pkey_ptr generate(const char* type, size_t rsa_bits = 2048) {
  EVP_PKEY* k = std::string_view(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", rsa_bits)
                : std::string_view(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  if (!k) throw std::runtime_error("keygen failed");
  return auth::pkey_ptr(k);
}

inline auth::pkey_ptr ed25519_from_seed(std::string_view seed32) {
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                             reinterpret_cast<const unsigned char*>(seed32.data()), seed32.size());
  if (!k) throw std::runtime_error("bad Ed25519 seed");
  return auth::pkey_ptr(k);
}

struct pss_options {
  int salt_len = 32;
};

// Raw signature bytes over `input` as the JWS alg prescribes (ES256 in JOSE r||s form).
inline std::string sign_raw(EVP_PKEY* key, auth::jws_alg alg, std::string_view input, pss_options pss = {}) {
  auth::md_ctx_ptr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  const char* md = alg == auth::jws_alg::eddsa ? nullptr : "SHA256";
  if (EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr) != 1)
    throw std::runtime_error("sign init");
  if (alg == auth::jws_alg::ps256) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", nullptr);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss.salt_len);
  }
  size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) throw std::runtime_error("sign size");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1)
    throw std::runtime_error("sign");
  sig.resize(len);
  if (alg != auth::jws_alg::es256) return sig;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
  std::string jose(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(jose.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(jose.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return jose;
}

// header.payload.signature with the header and payload taken verbatim (so tests control bytes).
inline std::string sign_compact(EVP_PKEY* key, auth::jws_alg alg, std::string_view header_json,
                                std::string_view payload, pss_options pss = {}) {
  std::string input = b64u(header_json) + "." + b64u(payload);
  return input + "." + b64u(sign_raw(key, alg, input, pss));
}

inline std::string hs256_compact(std::string_view secret, std::string_view header_json, std::string_view payload) {
  std::string input = b64u(header_json) + "." + b64u(payload);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &len);
  return input + "." + b64u(std::string_view(reinterpret_cast<char*>(mac), len));
}

// Public JWK (as JSON) for a generated key.
inline nlohmann::json public_jwk(EVP_PKEY* key, std::string_view kid = {}, std::string_view alg = {}) {
  nlohmann::json j;
  if (EVP_PKEY_is_a(key, "RSA")) {
    BIGNUM *n = nullptr, *e = nullptr;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
    auto bytes = [](const BIGNUM* b) {
      std::string s(size_t(BN_num_bytes(b)), '\0');
      BN_bn2bin(b, reinterpret_cast<unsigned char*>(s.data()));
      return s;
    };
    j = {{"kty", "RSA"}, {"n", b64u(bytes(n))}, {"e", b64u(bytes(e))}};
    BN_free(n);
    BN_free(e);
  } else if (EVP_PKEY_is_a(key, "EC")) {
    unsigned char pt[65];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &len);
    if (len != 65) throw std::runtime_error("expected an uncompressed point");
    j = {{"kty", "EC"},
         {"crv", "P-256"},
         {"x", b64u(std::string_view(reinterpret_cast<char*>(pt + 1), 32))},
         {"y", b64u(std::string_view(reinterpret_cast<char*>(pt + 33), 32))}};
  } else {
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(key, raw, &len);
    j = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", b64u(std::string_view(reinterpret_cast<char*>(raw), len))}};
  }
  if (!kid.empty()) j["kid"] = kid;
  if (!alg.empty()) j["alg"] = alg;
  return j;
}

inline std::string jwks_of(std::initializer_list<nlohmann::json> keys) {
  return nlohmann::json{{"keys", nlohmann::json(keys)}}.dump();
}

}  // namespace phigate::test
