#pragma once
// Shared fixtures of the approvals tests: a scratch directory (tmpfs when available: the store
// fsyncs every commit), a canonical request, principals, and an identity provider that mints
// real Ed25519-signed JWTs verified by the production jwt_verify.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controlplane/approvals/approval_api.hh"
#include "controlplane/approvals/approval_store.hh"
#include "controlplane/auth/crypto_util.hh"
#include "tests/controlplane/auth/jose_test_util.hh"

namespace phigate::approvals::test {

namespace fs = std::filesystem;

// Every planted value tests look for in outputs that must not carry it.
inline constexpr const char* secret_body = "{\"messages\":[{\"content\":\"SSN 219-09-9999 marker-c0ffee\"}]}";

inline std::string digest_of(std::string_view body) { return auth::hex_encode(auth::as_chars(auth::sha256(body))); }

class scratch_dir {
 public:
  scratch_dir() {
    const fs::path base = fs::exists("/dev/shm") && access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm")
                                                                                  : fs::temp_directory_path();
    std::string tmpl = (base / "phigate-approvals-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string file(const char* name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline const principal alice{"alice", {"dev", "oncall"}};  // the requester, also an approver-group member
inline const principal bob{"bob", {"oncall"}};
inline const principal carol{"carol", {"sre", "oncall"}};
inline const principal dave{"dave", {"finance"}};

inline approval_request sample_request(uint32_t n = 1, bool one_time = true, int64_t ttl_s = 0) {
  approval_request r;
  r.requester = "alice";
  r.requester_groups = {"dev", "oncall"};
  r.route = "chat";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.model = "gpt-4o";
  r.body_digest = digest_of(secret_body);
  r.masked_summary = "messages[0].content: \"SSN ***-**-**** ...\" (1 finding: ssn)";
  r.rule_id = "bulk-export";
  r.approvals_required = n;
  r.approver_groups = {"oncall"};
  r.grant_ttl_s = ttl_s;
  r.one_time = one_time;
  return r;
}

inline std::unique_ptr<approval_store> must_open(const std::string& path, approval_config config = {}) {
  auto opened = approval_store::open(path, config);
  if (auto* e = std::get_if<std::string>(&opened)) {
    ADD_FAILURE() << "open: " << *e;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<approval_store>>(opened));
}

template <typename T>
T must(std::variant<T, approval_failure> v) {
  if (auto* f = std::get_if<approval_failure>(&v)) {
    ADD_FAILURE() << approval_error_name(f->code) << ": " << f->message;
    return T{};
  }
  return std::get<T>(std::move(v));
}

template <typename T>
std::string error_name(const std::variant<T, approval_failure>& v) {
  return std::holds_alternative<approval_failure>(v)
             ? std::string(approval_error_name(std::get<approval_failure>(v).code))
             : "ok";
}

// A test identity provider: one Ed25519 key (kid "k1"), tokens for any subject and groups.
class test_idp {
 public:
  static constexpr const char* issuer = "https://idp.test";
  static constexpr const char* audience = "phigate-cp";

  test_idp() : key_(phigate::test::generate("ED25519")), other_(phigate::test::generate("ED25519")) {
    auto parsed = auth::jwks_parse(phigate::test::jwks_of({phigate::test::public_jwk(key_.get(), "k1")}));
    if (auto* e = std::get_if<auth::jwk_error>(&parsed)) throw std::runtime_error(e->reason);
    keys_ = std::make_shared<const auth::jwk_set>(std::get<auth::jwk_set>(std::move(parsed)));
  }

  // Signed with the provider's key; `exp` relative to `now_s`.
  std::string token(const principal& p, int64_t now_s, int64_t lifetime_s = 3600,
                    const char* aud = audience) const {
    return sign(key_.get(), p, now_s, lifetime_s, aud);
  }
  // Same claims, signed with a key the verifier does not know (same kid): bad_signature.
  std::string forged(const principal& p, int64_t now_s) const { return sign(other_.get(), p, now_s, 3600, audience); }

  token_verifier verifier(clock_fn clock) const {
    auth::jwt_policy policy;
    policy.issuer = issuer;
    policy.audience = audience;
    return jwt_token_verifier(keys_, policy, std::move(clock));
  }

 private:
  static std::string sign(EVP_PKEY* key, const principal& p, int64_t now_s, int64_t lifetime_s, const char* aud) {
    nlohmann::json claims = {{"iss", issuer}, {"aud", aud},         {"sub", p.subject},
                             {"iat", now_s},  {"exp", now_s + lifetime_s}, {"groups", p.groups}};
    return phigate::test::sign_compact(key, auth::jws_alg::eddsa, R"({"alg":"EdDSA","kid":"k1"})", claims.dump());
  }

  auth::pkey_ptr key_;
  auth::pkey_ptr other_;
  std::shared_ptr<const auth::jwk_set> keys_;
};

}  // namespace phigate::approvals::test
