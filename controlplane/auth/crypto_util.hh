#pragma once
// Small OpenSSL helpers shared by the control plane's auth and audit code: owning handles,
// strict base64/base64url and hex codecs, and SHA-256.
//
// Everything here is reentrant and keeps no state; any thread may call it. The decoders are
// strict on purpose: a token or log line has exactly one accepted spelling, so a second spelling
// cannot slip past a cache keyed by the text or a byte-for-byte canonical check.
#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace phigate::auth {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept;
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const noexcept;
};
struct pkey_ctx_free {
  void operator()(EVP_PKEY_CTX* p) const noexcept;
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free>;

// A second owning reference to `key` (EVP_PKEY_up_ref); empty when `key` is null.
pkey_ptr pkey_share(EVP_PKEY* key);

using sha256_digest = std::array<uint8_t, 32>;

// SHA-256 without any heap allocation (OpenSSL 3.0's EVP digests allocate an algorithm context
// on every init, measured; the one-shot SHA256() goes through EVP too). Safe on hot paths.
sha256_digest sha256(std::string_view data) noexcept;
// SHA-256 of the concatenation a || b || c, same properties.
sha256_digest sha256_concat(std::string_view a, std::string_view b, std::string_view c) noexcept;

// RFC 4648 section 5 without padding (JOSE). Decoding rejects '=', any byte outside the
// alphabet, a length of 1 mod 4 and non-zero unused trailing bits.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);
// RFC 4648 section 4 with padding. Decoding rejects missing or misplaced '=', whitespace and
// non-zero unused trailing bits.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// Lowercase hex. hex_decode accepts lowercase only (the one spelling the writers emit).
std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view text);

inline std::string_view as_chars(const sha256_digest& d) noexcept {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// Empties this thread's OpenSSL error queue. Called after every failed OpenSSL call so a stale
// error never surfaces later in an unrelated caller on the same thread.
void openssl_clear_errors() noexcept;

}  // namespace phigate::auth
