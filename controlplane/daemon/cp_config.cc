#include "controlplane/daemon/cp_config.hh"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dataplane/scan/pattern_set.hh"

namespace phigate::cp {

namespace {

using json = nlohmann::json;

std::string check_keys(const json& j, std::initializer_list<const char*> allowed, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) return where + it.key() + ": unknown field";
  }
  return {};
}

std::string get_str(const json& o, const char* key, std::string& out, const std::string& where) {
  if (!o.contains(key)) return {};
  if (!o[key].is_string() || o[key].get<std::string>().empty()) return where + key + ": must be a non-empty string";
  out = o[key].get<std::string>();
  return {};
}

template <typename T>
std::string get_int(const json& o, const char* key, T lo, T hi, T& out, const std::string& where) {
  if (!o.contains(key)) return {};
  if (!o[key].is_number_integer() || o[key].get<int64_t>() < int64_t(lo) || o[key].get<int64_t>() > int64_t(hi))
    return where + key + ": must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  out = static_cast<T>(o[key].get<int64_t>());
  return {};
}

// The same shape and messages as phigate-dp's "patterns" (dataplane/io/dp_config.cc), except
// that here it is optional.
std::string get_patterns(const json& j, std::vector<std::string>& out) {
  out.clear();
  if (!j.contains("patterns")) return {};
  constexpr const char* shape = "patterns: a pattern set path or a non-empty list of paths";
  const json& p = j["patterns"];
  if (p.is_string()) {
    out.push_back(p.get<std::string>());
  } else if (p.is_array() && !p.empty()) {
    if (p.size() > scan::pattern_set_max_merged)
      return "patterns: at most " + std::to_string(scan::pattern_set_max_merged) + " pattern sets";
    for (size_t k = 0; k < p.size(); ++k) {
      if (!p[k].is_string()) return "patterns[" + std::to_string(k) + "]: must be a path string";
      out.push_back(p[k].get<std::string>());
    }
  } else {
    return shape;
  }
  for (size_t k = 0; k < out.size(); ++k)
    if (out[k].empty())
      return p.is_string() ? std::string("patterns: must not be empty") : "patterns[" + std::to_string(k) + "]: must not be empty";
  return {};
}

}  // namespace

std::string cp_config_parse(const std::string& text, cp_config& c) {
  const json j = json::parse(text, nullptr, false, true);
  if (j.is_discarded() || !j.is_object()) return "config: not a JSON object";
  if (auto e = check_keys(j, {"oidc", "policy", "credentials", "patterns", "approvals", "api", "dataplane", "audit"}, ""); !e.empty()) return e;
  if (!j.contains("oidc") || !j["oidc"].is_object()) return "oidc: required, an object";
  const json& o = j["oidc"];
  if (auto e = check_keys(o, {"issuer", "audience", "groups_claim", "ca_file", "key_refresh_s"}, "oidc."); !e.empty()) return e;
  for (auto [k, d] : {std::pair{"issuer", &c.issuer}, {"audience", &c.audience}, {"groups_claim", &c.groups_claim},
                      {"ca_file", &c.ca_file}})
    if (auto e = get_str(o, k, *d, "oidc."); !e.empty()) return e;
  if (c.issuer.empty() || c.audience.empty()) return "oidc: issuer and audience are required";
  if (auto e = get_int<int64_t>(o, "key_refresh_s", 10, 86400, c.key_refresh_s, "oidc."); !e.empty()) return e;
  if (auto e = get_str(j, "policy", c.policy, ""); !e.empty()) return e;
  if (c.policy.empty()) return "policy: required, the policy file";
  if (auto e = get_str(j, "credentials", c.credentials, ""); !e.empty()) return e;
  if (auto e = get_patterns(j, c.patterns); !e.empty()) return e;
  if (!j.contains("approvals") || !j["approvals"].is_object()) return "approvals: required, an object";
  const json& a = j["approvals"];
  if (auto e = check_keys(a, {"db", "webhook_url", "pending_ttl_s", "default_grant_ttl_s", "max_grant_ttl_s"}, "approvals.");
      !e.empty())
    return e;
  if (auto e = get_str(a, "db", c.approvals_db, "approvals."); !e.empty()) return e;
  if (c.approvals_db.empty()) return "approvals.db: required";
  if (auto e = get_str(a, "webhook_url", c.webhook_url, "approvals."); !e.empty()) return e;
  if (auto e = get_int<int64_t>(a, "pending_ttl_s", 60, 30 * 86400, c.pending_ttl_s, "approvals."); !e.empty()) return e;
  if (auto e = get_int<int64_t>(a, "default_grant_ttl_s", 10, 86400, c.default_grant_ttl_s, "approvals."); !e.empty()) return e;
  if (auto e = get_int<int64_t>(a, "max_grant_ttl_s", 10, 7 * 86400, c.max_grant_ttl_s, "approvals."); !e.empty()) return e;
  if (c.default_grant_ttl_s > c.max_grant_ttl_s) return "approvals.default_grant_ttl_s: above max_grant_ttl_s";
  if (j.contains("api")) {
    const json& p = j["api"];
    if (!p.is_object()) return "api: must be an object";
    if (auto e = check_keys(p, {"host", "port", "tls_cert", "tls_key", "public_url"}, "api."); !e.empty()) return e;
    for (auto [k, d] : {std::pair{"host", &c.listen_host}, {"tls_cert", &c.tls_cert}, {"tls_key", &c.tls_key},
                        {"public_url", &c.public_url}})
      if (auto e = get_str(p, k, *d, "api."); !e.empty()) return e;
    if (auto e = get_int<uint16_t>(p, "port", 1, 65535, c.listen_port, "api."); !e.empty()) return e;
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) return "api: tls_cert and tls_key go together";
  const bool loopback = c.listen_host == "127.0.0.1" || c.listen_host == "::1" || c.listen_host == "localhost";
  if (c.tls_cert.empty() && !loopback)
    return "api: without tls_cert/tls_key the API may only listen on loopback (bearer tokens travel in it)";
  if (c.public_url.empty())
    c.public_url = std::string(c.tls_cert.empty() ? "http://" : "https://") + c.listen_host + ":" + std::to_string(c.listen_port);
  if (j.contains("dataplane")) {
    const json& d = j["dataplane"];
    if (!d.is_object()) return "dataplane: must be an object";
    if (auto e = check_keys(d, {"control_socket", "stats_socket"}, "dataplane."); !e.empty()) return e;
    for (auto [k, dst] : {std::pair{"control_socket", &c.control_socket}, {"stats_socket", &c.stats_socket}})
      if (auto e = get_str(d, k, *dst, "dataplane."); !e.empty()) return e;
  }
  if (j.contains("audit")) {
    const json& a2 = j["audit"];
    if (!a2.is_object()) return "audit: must be an object {\"log\", \"signing_key\"}";
    if (auto e = check_keys(a2, {"log", "signing_key"}, "audit."); !e.empty()) return e;
    if (auto e = get_str(a2, "log", c.audit_log, "audit."); !e.empty()) return e;
    if (auto e = get_str(a2, "signing_key", c.audit_signing_key, "audit."); !e.empty()) return e;
    if (c.audit_log.empty() || c.audit_signing_key.empty()) return "audit: log and signing_key are required";
  }
  return {};
}

std::string cp_config_load(const std::string& path, cp_config& out) {
  std::ifstream in(path);
  if (!in) return path + ": cannot be read";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string e = cp_config_parse(ss.str(), out);
  return e.empty() ? e : path + ": " + e;
}

}  // namespace phigate::cp
