#include "controlplane/oidc/jwks_export.hh"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <bit>
#include <exception>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

namespace phigate::oidc {

namespace {

using json = nlohmann::json;

struct bn_free {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;

// Big-endian bytes of a key parameter, left-padded to `width` bytes when width is non-zero
// (EC coordinates are fixed-width in a JWK; RSA n and e are minimal).
std::optional<std::string> bn_param(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    auth::openssl_clear_errors();
    return std::nullopt;
  }
  bn_ptr bn(raw);
  int len = width != 0 ? width : BN_num_bytes(bn.get());
  if (len <= 0 || BN_num_bytes(bn.get()) > len) return std::nullopt;
  std::string out(size_t(len), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), len) != len) {
    auth::openssl_clear_errors();
    return std::nullopt;
  }
  return out;
}

std::optional<json> export_key(const auth::jwk& k) {
  EVP_PKEY* key = k.key.get();
  if (key == nullptr) return std::nullopt;
  json j;
  switch (k.type) {
    case auth::jwk_type::rsa: {
      auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0);
      auto e = bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0);
      if (!n || !e) return std::nullopt;
      j = {{"kty", "RSA"}, {"n", auth::base64url_encode(*n)}, {"e", auth::base64url_encode(*e)}};
      break;
    }
    case auth::jwk_type::ec_p256: {
      auto x = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
      auto y = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
      if (!x || !y) return std::nullopt;
      j = {{"kty", "EC"}, {"crv", "P-256"}, {"x", auth::base64url_encode(*x)}, {"y", auth::base64url_encode(*y)}};
      break;
    }
    case auth::jwk_type::ed25519: {
      unsigned char raw[32];
      size_t len = sizeof raw;
      if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof raw) {
        auth::openssl_clear_errors();
        return std::nullopt;
      }
      j = {{"kty", "OKP"},
           {"crv", "Ed25519"},
           {"x", auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), len))}};
      break;
    }
  }
  j["use"] = "sig";
  if (!k.kid.empty()) j["kid"] = k.kid;
  // A key allowed exactly one algorithm was pinned (JWK "alg"); keep it pinned downstream. A key
  // allowed every algorithm of its type had no "alg" and gets none, so the set round-trips.
  if (std::popcount(unsigned(k.algs)) == 1) j["alg"] = std::string(auth::jws_alg_name(auth::jws_alg(std::countr_zero(unsigned(k.algs)))));
  return j;
}

}  // namespace

std::variant<std::string, jwks_export_error> jwks_export(const auth::jwk_set& keys) try {
  json arr = json::array();
  for (size_t i = 0; i < keys.keys.size(); ++i) {
    auto j = export_key(keys.keys[i]);
    if (!j) {
      std::string where = "keys[" + std::to_string(i) + "]";
      return jwks_export_error{where + ": public key parameters could not be read"};
    }
    arr.push_back(std::move(*j));
  }
  return json{{"keys", std::move(arr)}}.dump();
} catch (const std::exception&) {
  return jwks_export_error{"internal error while exporting the key set"};
}

}  // namespace phigate::oidc
