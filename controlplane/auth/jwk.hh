#pragma once
// JSON Web Keys (RFC 7517) for verifying identity-provider tokens: parsing a JWK or a JWKS into
// OpenSSL public keys, and the rule that the KEY decides which JWS algorithms may be used with
// it (RFC 8725 section 3.1), never the token header alone.
//
// Setup code (control plane, at start-up or on key rotation): allocates, returns errors as
// values, lets no exception escape. A parsed jwk_set is immutable; any number of threads may
// verify against it concurrently (OpenSSL keys are only read). Errors name the key by index and
// kid and say what is wrong; they never quote key material.
//
// Accepted: kty RSA (n, e; modulus 2048..16384 bits) for RS256/PS256, kty EC crv P-256 (x, y,
// point checked on the curve) for ES256, kty OKP crv Ed25519 (x) for EdDSA. A JWK carrying
// private members (d, p, q, dp, dq, qi, oth, k) is an error: a verification key set must never
// hold secrets. Keys this verifier cannot use (use other than "sig", key_ops without "verify",
// kty oct, other curves, other algs) are skipped and listed in jwk_set::skipped.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "controlplane/auth/crypto_util.hh"

namespace phigate::auth {

enum class jws_alg : uint8_t { rs256, ps256, es256, eddsa };
inline constexpr size_t jws_alg_count = 4;

// "RS256", "PS256", "ES256", "EdDSA".
std::string_view jws_alg_name(jws_alg alg) noexcept;
// Exact, case-sensitive match of the names above.
std::optional<jws_alg> jws_alg_parse(std::string_view name) noexcept;

enum class jwk_type : uint8_t { rsa, ec_p256, ed25519 };
std::string_view jwk_type_name(jwk_type type) noexcept;

// Bit (1 << alg) set for each algorithm this key may verify.
using jws_alg_mask = uint8_t;
constexpr jws_alg_mask jws_alg_bit(jws_alg alg) noexcept { return jws_alg_mask(1u << unsigned(alg)); }

struct jwk {
  std::string kid;  // empty when the JWK has none
  jwk_type type = jwk_type::ed25519;
  // From the JWK "alg" when present, else every algorithm of the key type (RSA: RS256 and PS256).
  jws_alg_mask algs = 0;
  pkey_ptr key;  // public key only

  bool allows(jws_alg alg) const noexcept { return (algs & jws_alg_bit(alg)) != 0; }
};

struct jwk_set {
  std::vector<jwk> keys;
  std::vector<std::string> skipped;  // "keys[3] (kid enc-1): use is not sig", one per skipped key

  // The key with exactly this kid, or null.
  const jwk* find(std::string_view kid) const noexcept;
};

struct jwk_error {
  std::string where;   // "keys[2] (kid abc).n" or "jwks"
  std::string reason;  // what is wrong, never the value
};

inline constexpr size_t jwks_max_text_bytes = 1u << 20;
inline constexpr size_t jwks_max_keys = 64;
inline constexpr size_t jwk_rsa_min_bits = 2048;
inline constexpr size_t jwk_rsa_max_bits = 16384;

// One JWK object. A key that is well formed but not usable here (see the header comment) is
// returned as an error whose reason starts with "skipped: ".
std::variant<jwk, jwk_error> jwk_parse(std::string_view json_text);
// A JWKS {"keys":[...]}: usable keys in order, unusable ones listed in `skipped`. Fails on
// malformed JSON, a malformed usable key, duplicate kids, more than jwks_max_keys keys, or when
// no key is usable.
std::variant<jwk_set, jwk_error> jwks_parse(std::string_view json_text);

}  // namespace phigate::auth
