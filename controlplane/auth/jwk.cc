#include "controlplane/auth/jwk.hh"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace phigate::auth {

namespace {

using json = nlohmann::json;

constexpr std::string_view alg_names[jws_alg_count] = {"RS256", "PS256", "ES256", "EdDSA"};

constexpr jws_alg_mask type_algs(jwk_type t) {
  switch (t) {
    case jwk_type::rsa: return jws_alg_bit(jws_alg::rs256) | jws_alg_bit(jws_alg::ps256);
    case jwk_type::ec_p256: return jws_alg_bit(jws_alg::es256);
    case jwk_type::ed25519: return jws_alg_bit(jws_alg::eddsa);
  }
  return 0;
}

// A kid is quoted in messages only when it is short printable ASCII; it identifies a key, it is
// not secret, but arbitrary bytes do not belong in logs.
std::string key_where(std::string_view prefix, const json& j) {
  std::string w(prefix);
  auto it = j.find("kid");
  if (it == j.end() || !it->is_string()) return w;
  const auto& kid = it->get_ref<const std::string&>();
  if (kid.empty() || kid.size() > 64) return w;
  for (unsigned char c : kid)
    if (c < 0x21 || c > 0x7e) return w;
  return w + " (kid " + kid + ")";
}

struct parsed {
  std::optional<jwk> key;
  std::optional<jwk_error> error;
  std::string skip_reason;  // non-empty: well formed, not usable here
};

parsed fail(std::string where, std::string reason) {
  parsed p;
  p.error = jwk_error{std::move(where), std::move(reason)};
  return p;
}
parsed skip(std::string reason) {
  parsed p;
  p.skip_reason = std::move(reason);
  return p;
}

std::optional<std::string> member_b64(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return base64url_decode(it->get_ref<const std::string&>());
}

pkey_ptr key_from_params(const char* type, const OSSL_PARAM* params) {
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pk = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pk, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
    openssl_clear_errors();
    return {};
  }
  return pkey_ptr(pk);
}

parsed build_rsa(const json& j, const std::string& where) {
  auto n = member_b64(j, "n");
  if (!n || n->empty()) return fail(where + ".n", "missing or not base64url");
  auto e = member_b64(j, "e");
  if (!e || e->empty()) return fail(where + ".e", "missing or not base64url");
  if (e->size() > 8) return fail(where + ".e", "public exponent longer than 64 bits");
  uint64_t ev = 0;
  for (unsigned char c : *e) ev = ev << 8 | c;
  if (ev < 3 || ev % 2 == 0) return fail(where + ".e", "public exponent must be odd and at least 3");

  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), int(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), int(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  pkey_ptr pk;
  size_t bits = bn_n ? size_t(BN_num_bits(bn_n)) : 0;
  if (bits >= jwk_rsa_min_bits && bits <= jwk_rsa_max_bits && bn_e && bld &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 && (params = OSSL_PARAM_BLD_to_param(bld)))
    pk = key_from_params("RSA", params);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  openssl_clear_errors();
  if (bits < jwk_rsa_min_bits) return fail(where + ".n", "RSA modulus below 2048 bits");
  if (bits > jwk_rsa_max_bits) return fail(where + ".n", "RSA modulus above 16384 bits");
  if (!pk) return fail(where, "OpenSSL rejected the RSA public key");
  parsed p;
  p.key = jwk{{}, jwk_type::rsa, 0, std::move(pk)};
  return p;
}

parsed build_ec(const json& j, const std::string& where) {
  auto x = member_b64(j, "x");
  if (!x || x->size() != 32) return fail(where + ".x", "missing, not base64url or not 32 bytes");
  auto y = member_b64(j, "y");
  if (!y || y->size() != 32) return fail(where + ".y", "missing, not base64url or not 32 bytes");
  unsigned char point[65];
  point[0] = 0x04;  // uncompressed SEC1 point
  std::copy(x->begin(), x->end(), point + 1);
  std::copy(y->begin(), y->end(), point + 33);
  char group[] = "P-256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
      OSSL_PARAM_construct_end(),
  };
  pkey_ptr pk = key_from_params("EC", params);
  if (!pk) return fail(where, "not a point on P-256");
  // Import decodes the point; the explicit check also rejects the point at infinity and any
  // point outside the prime-order subgroup, whatever the provider's import does.
  pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pk.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    openssl_clear_errors();
    return fail(where, "not a point on P-256");
  }
  parsed p;
  p.key = jwk{{}, jwk_type::ec_p256, 0, std::move(pk)};
  return p;
}

parsed build_ed25519(const json& j, const std::string& where) {
  auto x = member_b64(j, "x");
  if (!x || x->size() != 32) return fail(where + ".x", "missing, not base64url or not 32 bytes");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, x->data(), x->size()),
      OSSL_PARAM_construct_end(),
  };
  pkey_ptr pk = key_from_params("ED25519", params);
  if (!pk) return fail(where, "OpenSSL rejected the Ed25519 public key");
  parsed p;
  p.key = jwk{{}, jwk_type::ed25519, 0, std::move(pk)};
  return p;
}

parsed parse_object(const json& j, const std::string& where) {
  if (!j.is_object()) return fail(where, "not a JSON object");
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
    if (j.contains(secret)) return fail(where, std::string("holds private key member '") + secret + "'");

  auto str_member = [&](const char* name, std::string& out) -> std::optional<jwk_error> {
    auto it = j.find(name);
    if (it == j.end()) return std::nullopt;
    if (!it->is_string()) return jwk_error{where + "." + name, "not a string"};
    out = it->get<std::string>();
    return std::nullopt;
  };
  std::string kty, crv, alg, use, kid;
  const std::pair<const char*, std::string*> members[] = {
      {"kty", &kty}, {"crv", &crv}, {"alg", &alg}, {"use", &use}, {"kid", &kid}};
  for (auto [name, out] : members)
    if (auto e = str_member(name, *out)) return fail(e->where, e->reason);
  if (kty.empty()) return fail(where + ".kty", "missing");

  if (j.contains("use") && use != "sig") return skip("use is not sig");
  if (auto it = j.find("key_ops"); it != j.end()) {
    if (!it->is_array()) return fail(where + ".key_ops", "not an array");
    bool verify = false;
    for (const auto& op : *it) {
      if (!op.is_string()) return fail(where + ".key_ops", "holds a non-string");
      verify = verify || op.get_ref<const std::string&>() == "verify";
    }
    if (!verify) return skip("key_ops lacks verify");
  }

  std::optional<jws_alg> pinned;
  if (j.contains("alg")) {
    pinned = jws_alg_parse(alg);
    if (!pinned) return skip("alg not supported");
  }

  parsed p;
  if (kty == "RSA") {
    p = build_rsa(j, where);
  } else if (kty == "EC") {
    if (crv != "P-256") return skip("EC curve not supported");
    p = build_ec(j, where);
  } else if (kty == "OKP") {
    if (crv != "Ed25519") return skip("OKP curve not supported");
    p = build_ed25519(j, where);
  } else {
    return skip("kty not supported");
  }
  if (!p.key) return p;

  jws_alg_mask allowed = type_algs(p.key->type);
  if (pinned) {
    if ((allowed & jws_alg_bit(*pinned)) == 0)
      return fail(where + ".alg", "does not match the key type " + std::string(jwk_type_name(p.key->type)));
    allowed = jws_alg_bit(*pinned);
  }
  p.key->algs = allowed;
  p.key->kid = std::move(kid);
  return p;
}

std::optional<json> parse_text(std::string_view text) {
  if (text.size() > jwks_max_text_bytes) return std::nullopt;
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace

std::string_view jws_alg_name(jws_alg alg) noexcept {
  return unsigned(alg) < jws_alg_count ? alg_names[unsigned(alg)] : std::string_view("?");
}

std::optional<jws_alg> jws_alg_parse(std::string_view name) noexcept {
  for (size_t i = 0; i < jws_alg_count; ++i)
    if (alg_names[i] == name) return jws_alg(i);
  return std::nullopt;
}

std::string_view jwk_type_name(jwk_type type) noexcept {
  switch (type) {
    case jwk_type::rsa: return "RSA";
    case jwk_type::ec_p256: return "EC P-256";
    case jwk_type::ed25519: return "OKP Ed25519";
  }
  return "?";
}

const jwk* jwk_set::find(std::string_view kid) const noexcept {
  for (const auto& k : keys)
    if (k.kid == kid) return &k;
  return nullptr;
}

std::variant<jwk, jwk_error> jwk_parse(std::string_view json_text) try {
  auto j = parse_text(json_text);
  if (!j) return jwk_error{"jwk", "not valid JSON or larger than 1 MiB"};
  parsed p = parse_object(*j, key_where("jwk", *j));
  if (p.error) return *p.error;
  if (!p.key) return jwk_error{key_where("jwk", *j), "skipped: " + p.skip_reason};
  return std::move(*p.key);
} catch (const std::exception&) {
  return jwk_error{"jwk", "internal error while parsing"};
}

std::variant<jwk_set, jwk_error> jwks_parse(std::string_view json_text) try {
  auto j = parse_text(json_text);
  if (!j) return jwk_error{"jwks", "not valid JSON or larger than 1 MiB"};
  if (!j->is_object()) return jwk_error{"jwks", "not a JSON object"};
  auto it = j->find("keys");
  if (it == j->end() || !it->is_array()) return jwk_error{"jwks.keys", "missing or not an array"};
  if (it->size() > jwks_max_keys) return jwk_error{"jwks.keys", "more than 64 keys"};
  jwk_set set;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    std::string where = key_where("keys[" + std::to_string(i) + "]", entry);
    parsed p = parse_object(entry, where);
    if (p.error) return *p.error;
    if (!p.key) {
      set.skipped.push_back(where + ": " + p.skip_reason);
      continue;
    }
    if (!p.key->kid.empty() && set.find(p.key->kid) != nullptr) return jwk_error{where + ".kid", "duplicate kid"};
    set.keys.push_back(std::move(*p.key));
  }
  if (set.keys.empty()) return jwk_error{"jwks.keys", "no usable signature verification key"};
  return set;
} catch (const std::exception&) {
  return jwk_error{"jwks", "internal error while parsing"};
}

}  // namespace phigate::auth
