# JOSE helpers for the integration tests (sourced): Ed25519 keys, a JWKS and signed JWTs with
# the openssl CLI only, so tests need no Python crypto packages.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# jose_key DIR KID: DIR/KID.pem (private) and prints the JWK (public).
jose_key() {
  openssl genpkey -algorithm ed25519 -out "$1/$2.pem" 2>/dev/null
  local x
  x=$(openssl pkey -in "$1/$2.pem" -pubout -outform DER | tail -c 32 | b64url)
  printf '{"kty":"OKP","crv":"Ed25519","x":"%s","kid":"%s","alg":"EdDSA","use":"sig"}' "$x" "$2"
}

# jose_jwt KEYFILE KID PAYLOAD_JSON: a compact EdDSA JWS.
jose_jwt() {
  local h p sig tmp
  h=$(printf '{"alg":"EdDSA","kid":"%s","typ":"JWT"}' "$2" | b64url)
  p=$(printf '%s' "$3" | b64url)
  tmp=$(mktemp)
  printf '%s.%s' "$h" "$p" > "$tmp"
  sig=$(openssl pkeyutl -sign -inkey "$1" -rawin -in "$tmp" | b64url)
  rm -f "$tmp"
  printf '%s.%s.%s' "$h" "$p" "$sig"
}
