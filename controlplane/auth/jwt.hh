#pragma once
// JWS compact verification (RFC 7515) and JWT claim checks (RFC 7519, RFC 8725) for the
// tokens of the identity provider. No network code: keys come from a jwk_set loaded elsewhere,
// and header parameters that point at keys (jwk, jku, x5u, x5c) are ignored, never fetched.
//
// Order of checks: size and shape, header (alg none and HMAC are refused before any key is
// looked at), key selection by kid, the KEY's algorithm set, the signature (EVP_DigestVerify),
// and only then the payload and its claims, so a forged token never reaches the claim parser.
//
// Every function is reentrant: the jwk_set and the policy are only read, so any number of
// threads may verify concurrently. Setup-grade code: it allocates (decoded segments, parsed
// JSON); put a token_cache in front of it on busy paths. Errors are values; no exception
// escapes. Reasons name the check that failed, never a claim value.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "controlplane/auth/jwk.hh"

namespace phigate::auth {

enum class jwt_error : uint8_t {
  token_too_large,   // longer than policy.max_token_bytes
  malformed,         // not three '.'-separated segments, or an empty header, payload or signature
  bad_base64,        // a segment is not strict unpadded base64url
  bad_header,        // header not a JSON object, alg missing or not a string, kid not a string
  alg_none,          // "none": unsigned tokens are never accepted
  alg_hmac,          // HS256/384/512: shared-secret algorithms are never accepted
  alg_unsupported,   // any other alg than RS256, PS256, ES256, EdDSA
  crit_unsupported,  // a "crit" header: no extension is understood
  missing_kid,       // the key set has several keys and the token names none
  unknown_kid,       // the token names a kid the key set does not have
  alg_key_mismatch,  // the selected key does not allow the header's alg
  bad_signature,     // wrong length, wrong encoding or not valid for the key
  bad_payload,       // payload not a JSON object
  bad_claim,         // exp/nbf/iat not numbers, iss/sub not strings, aud or groups of the wrong type
  missing_exp,
  expired,           // now >= exp + skew
  not_yet_valid,     // now + skew < nbf
  issued_in_future,  // iat > now + skew
  wrong_issuer,      // iss missing or not policy.issuer
  wrong_audience,    // aud missing, or neither equal to nor containing policy.audience
  missing_subject,   // sub missing or empty
  policy_invalid,    // issuer or audience not configured, skew out of range, no groups claim name
};
inline constexpr size_t jwt_error_count = size_t(jwt_error::policy_invalid) + 1;

// The enumerator's name ("expired", "alg_none", ...): stable, for logs and metrics.
std::string_view jwt_error_name(jwt_error e) noexcept;

struct jwt_policy {
  std::string issuer;                  // required: exact match of "iss"
  std::string audience;                // required: "aud" equals it or is an array holding it
  std::string groups_claim = "groups";  // array of strings; absent means no groups
  int64_t skew_s = 60;                 // tolerance for exp, nbf and iat, 0..300
  size_t max_token_bytes = 16 * 1024;
  size_t max_groups = 256;
};

// Returns an explanation when the policy cannot be used (jwt_verify then refuses every token).
std::optional<std::string> jwt_policy_check(const jwt_policy& policy);

// A token whose signature verified; the payload is not interpreted yet.
struct jws_verified {
  jws_alg alg = jws_alg::eddsa;
  std::string kid;      // the header's kid, empty when absent
  std::string payload;  // decoded payload bytes
};

// Signature layer only: header checks, key selection and signature. `max_token_bytes` bounds
// the work done on hostile input.
std::variant<jws_verified, jwt_error> jws_verify_compact(std::string_view token, const jwk_set& keys,
                                                         size_t max_token_bytes = 16 * 1024);

struct verified_token {
  std::string subject;
  std::vector<std::string> groups;
  int64_t exp = 0;  // unix seconds (a fractional exp is rounded down)
  std::string kid;
  jws_alg alg = jws_alg::eddsa;
};

// Full verification at `now_s` (unix seconds, injected so tests and replays control time).
std::variant<verified_token, jwt_error> jwt_verify(std::string_view token, const jwk_set& keys,
                                                   const jwt_policy& policy, int64_t now_s);

}  // namespace phigate::auth
