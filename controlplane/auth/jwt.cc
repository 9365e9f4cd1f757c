#include "controlplane/auth/jwt.hh"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cmath>

#include <nlohmann/json.hpp>

namespace phigate::auth {

namespace {

using json = nlohmann::json;

constexpr std::string_view error_names[jwt_error_count] = {
    "token_too_large", "malformed",     "bad_base64",     "bad_header",       "alg_none",
    "alg_hmac",        "alg_unsupported", "crit_unsupported", "missing_kid",   "unknown_kid",
    "alg_key_mismatch", "bad_signature", "bad_payload",    "bad_claim",        "missing_exp",
    "expired",         "not_yet_valid", "issued_in_future", "wrong_issuer",    "wrong_audience",
    "missing_subject", "policy_invalid",
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// JOSE ECDSA signatures are the fixed-width r || s; OpenSSL verifies DER ECDSA-Sig-Value.
std::string ecdsa_jose_to_der(std::string_view sig) {
  std::string der;
  ECDSA_SIG* s = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
  BIGNUM* t = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
  if (s && r && t && ECDSA_SIG_set0(s, r, t) == 1) {
    r = t = nullptr;  // owned by s now
    int len = i2d_ECDSA_SIG(s, nullptr);
    if (len > 0) {
      der.resize(size_t(len));
      unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
      if (i2d_ECDSA_SIG(s, &out) != len) der.clear();
    }
  }
  BN_free(r);
  BN_free(t);
  ECDSA_SIG_free(s);
  return der;
}

bool verify_signature(const jwk& key, jws_alg alg, std::string_view input, std::string_view sig) {
  const char* md = nullptr;
  std::string der;
  switch (alg) {
    case jws_alg::rs256:
    case jws_alg::ps256:
      // RFC 7518 3.3/3.5: the signature is exactly as long as the modulus.
      if (int(sig.size()) != EVP_PKEY_get_size(key.key.get())) return false;
      md = "SHA256";
      break;
    case jws_alg::es256:
      if (sig.size() != 64) return false;
      der = ecdsa_jose_to_der(sig);
      if (der.empty()) return false;
      sig = der;
      md = "SHA256";
      break;
    case jws_alg::eddsa:
      if (sig.size() != 64) return false;
      break;  // Ed25519 hashes internally: no digest name
  }
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = ctx && EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key.key.get(), nullptr) == 1;
  if (ok && alg == jws_alg::rs256) ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  if (ok && alg == jws_alg::ps256)
    // RFC 7518 3.5: MGF1 with SHA-256 and a salt as long as the hash, nothing else.
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", nullptr) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
  ok = ok && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  openssl_clear_errors();
  return ok;
}

std::optional<json> parse_object(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

enum class member { absent, bad, ok };

// NumericDate (RFC 7519 2): a JSON number of seconds, possibly fractional. Values beyond 2^53
// cannot be compared exactly and are refused.
member numeric_date(const json& claims, const char* name, double& out) {
  auto it = claims.find(name);
  if (it == claims.end()) return member::absent;
  if (!it->is_number()) return member::bad;
  out = it->get<double>();
  if (!std::isfinite(out) || std::fabs(out) > 9007199254740992.0) return member::bad;
  return member::ok;
}

member string_claim(const json& claims, const char* name, std::string& out) {
  auto it = claims.find(name);
  if (it == claims.end()) return member::absent;
  if (!it->is_string()) return member::bad;
  out = it->get<std::string>();
  return member::ok;
}

std::variant<jws_verified, jwt_error> jws_verify_impl(std::string_view token, const jwk_set& keys,
                                                      size_t max_token_bytes) {
  if (token.size() > max_token_bytes) return jwt_error::token_too_large;
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return jwt_error::malformed;
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return jwt_error::malformed;
  std::string_view h64 = token.substr(0, d1), p64 = token.substr(d1 + 1, d2 - d1 - 1), s64 = token.substr(d2 + 1);
  if (h64.empty() || p64.empty()) return jwt_error::malformed;

  auto header_bytes = base64url_decode(h64);
  if (!header_bytes) return jwt_error::bad_base64;
  auto header = parse_object(*header_bytes);
  if (!header) return jwt_error::bad_header;
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return jwt_error::bad_header;
  const std::string& alg_name = alg_it->get_ref<const std::string&>();
  if (iequals(alg_name, "none")) return jwt_error::alg_none;
  if (alg_name.size() >= 2 && iequals(alg_name.substr(0, 2), "HS")) return jwt_error::alg_hmac;
  auto alg = jws_alg_parse(alg_name);
  if (!alg) return jwt_error::alg_unsupported;
  if (header->contains("crit")) return jwt_error::crit_unsupported;

  jws_verified out;
  out.alg = *alg;
  const jwk* key = nullptr;
  if (auto kid_it = header->find("kid"); kid_it != header->end()) {
    if (!kid_it->is_string()) return jwt_error::bad_header;
    out.kid = kid_it->get<std::string>();
    // A lone key without a kid cannot contradict the token's kid.
    if (keys.keys.size() == 1 && keys.keys[0].kid.empty())
      key = &keys.keys[0];
    else
      key = keys.find(out.kid);
    if (key == nullptr) return jwt_error::unknown_kid;
  } else {
    if (keys.keys.size() != 1) return jwt_error::missing_kid;
    key = &keys.keys[0];
  }
  if (!key->allows(*alg)) return jwt_error::alg_key_mismatch;

  if (s64.empty()) return jwt_error::malformed;
  auto sig = base64url_decode(s64);
  if (!sig) return jwt_error::bad_base64;
  if (!verify_signature(*key, *alg, token.substr(0, d2), *sig)) return jwt_error::bad_signature;

  auto payload = base64url_decode(p64);
  if (!payload) return jwt_error::bad_base64;
  out.payload = std::move(*payload);
  return out;
}

}  // namespace

std::string_view jwt_error_name(jwt_error e) noexcept {
  return size_t(e) < jwt_error_count ? error_names[size_t(e)] : std::string_view("unknown");
}

std::optional<std::string> jwt_policy_check(const jwt_policy& policy) {
  if (policy.issuer.empty()) return "issuer is not configured";
  if (policy.audience.empty()) return "audience is not configured";
  if (policy.groups_claim.empty()) return "groups claim name is empty";
  if (policy.skew_s < 0 || policy.skew_s > 300) return "skew must be 0..300 seconds";
  if (policy.max_token_bytes < 16) return "max_token_bytes is too small";
  return std::nullopt;
}

std::variant<jws_verified, jwt_error> jws_verify_compact(std::string_view token, const jwk_set& keys,
                                                         size_t max_token_bytes) try {
  return jws_verify_impl(token, keys, max_token_bytes);
} catch (const std::exception&) {
  openssl_clear_errors();
  return jwt_error::malformed;
}

std::variant<verified_token, jwt_error> jwt_verify(std::string_view token, const jwk_set& keys,
                                                   const jwt_policy& policy, int64_t now_s) try {
  if (jwt_policy_check(policy)) return jwt_error::policy_invalid;
  auto jws = jws_verify_impl(token, keys, policy.max_token_bytes);
  if (auto* e = std::get_if<jwt_error>(&jws)) return *e;
  auto& signed_part = std::get<jws_verified>(jws);

  auto claims = parse_object(signed_part.payload);
  if (!claims) return jwt_error::bad_payload;

  const double now = double(now_s), skew = double(policy.skew_s);
  double exp = 0, nbf = 0, iat = 0;
  switch (numeric_date(*claims, "exp", exp)) {
    case member::absent: return jwt_error::missing_exp;
    case member::bad: return jwt_error::bad_claim;
    case member::ok:
      if (now >= exp + skew) return jwt_error::expired;
  }
  switch (numeric_date(*claims, "nbf", nbf)) {
    case member::absent: break;
    case member::bad: return jwt_error::bad_claim;
    case member::ok:
      if (now + skew < nbf) return jwt_error::not_yet_valid;
  }
  switch (numeric_date(*claims, "iat", iat)) {
    case member::absent: break;
    case member::bad: return jwt_error::bad_claim;
    case member::ok:
      if (iat > now + skew) return jwt_error::issued_in_future;
  }

  std::string iss;
  switch (string_claim(*claims, "iss", iss)) {
    case member::absent: return jwt_error::wrong_issuer;
    case member::bad: return jwt_error::bad_claim;
    case member::ok:
      if (iss != policy.issuer) return jwt_error::wrong_issuer;
  }

  auto aud = claims->find("aud");
  if (aud == claims->end()) return jwt_error::wrong_audience;
  if (aud->is_string()) {
    if (aud->get_ref<const std::string&>() != policy.audience) return jwt_error::wrong_audience;
  } else if (aud->is_array()) {
    bool found = false;
    for (const auto& a : *aud) {
      if (!a.is_string()) return jwt_error::bad_claim;
      found = found || a.get_ref<const std::string&>() == policy.audience;
    }
    if (!found) return jwt_error::wrong_audience;
  } else {
    return jwt_error::bad_claim;
  }

  verified_token out;
  switch (string_claim(*claims, "sub", out.subject)) {
    case member::absent: return jwt_error::missing_subject;
    case member::bad: return jwt_error::bad_claim;
    case member::ok:
      if (out.subject.empty()) return jwt_error::missing_subject;
  }

  if (auto g = claims->find(policy.groups_claim); g != claims->end()) {
    if (!g->is_array() || g->size() > policy.max_groups) return jwt_error::bad_claim;
    out.groups.reserve(g->size());
    for (const auto& v : *g) {
      if (!v.is_string()) return jwt_error::bad_claim;
      out.groups.push_back(v.get<std::string>());
    }
  }

  out.exp = int64_t(std::floor(exp));
  out.kid = std::move(signed_part.kid);
  out.alg = signed_part.alg;
  return out;
} catch (const std::exception&) {
  openssl_clear_errors();
  return jwt_error::malformed;
}

}  // namespace phigate::auth
