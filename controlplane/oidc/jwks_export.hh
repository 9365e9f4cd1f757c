#pragma once
// Re-encodes a verified key set as a JWKS document, so the control plane can hand the
// dataplane exactly the keys it trusts (the dataplane parses it with auth::jwks_parse and
// verifies tokens locally, never waiting on the control plane or the identity provider).
//
// Written from the parsed OpenSSL keys, not copied from the provider's document: the output holds
// only public members of usable signature keys (kty, crv, n/e or x/y), the kid, "use":"sig" and an
// "alg" when the key is pinned to one algorithm, so keys the verifier skipped, unknown members and
// anything private can never pass through. jwks_parse(jwks_export(s)) yields the same kids, key
// types, algorithm sets and public keys as s.
//
// Setup code: allocates; reentrant (the set is only read). Errors are values.
#include <string>
#include <variant>

#include "controlplane/auth/jwk.hh"

namespace phigate::oidc {

struct jwks_export_error {
  std::string reason;  // names the key by index, never key material
};

// The JWKS JSON text (members sorted, no whitespace: equal sets give equal text).
std::variant<std::string, jwks_export_error> jwks_export(const auth::jwk_set& keys);

}  // namespace phigate::oidc
