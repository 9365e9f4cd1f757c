#include "controlplane/ipc/ipc_contract.hh"

#include <algorithm>

#include "controlplane/auth/crypto_util.hh"

namespace phigate::ipc {

namespace {

using json = nlohmann::json;

json header(std::string_view type) {
  json j;
  j["v"] = contract_version;
  j["type"] = type;
  return j;
}

// Exactly n lowercase hex digits (digests, boot ids).
bool is_lower_hex(const std::string& s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Reads a string member; returns an error text naming the field.
std::optional<std::string> get_string(const json& j, const char* key, std::string& out, bool required) {
  if (!j.contains(key)) return required ? std::optional<std::string>(std::string(key) + ": missing") : std::nullopt;
  if (!j[key].is_string()) return std::string(key) + ": must be a string";
  out = j[key].get<std::string>();
  return std::nullopt;
}

}  // namespace

std::string encode(const snapshot& s) {
  json j = header(type_snapshot);
  j["generation"] = s.generation;
  j["policy_name"] = s.policy_name;
  j["policy"] = s.policy_text;
  j["jwks"] = s.jwks_text;
  j["issuer"] = s.issuer;
  j["audience"] = s.audience;
  j["groups_claim"] = s.groups_claim;
  j["credentials"] = s.credentials;
  json gs = json::array();
  for (const grant& g : s.grants)
    gs.push_back({{"approval_id", g.approval_id}, {"subject", g.subject}, {"route", g.route},
                  {"body_sha256", g.body_sha256}, {"expires_s", g.expires_s}, {"one_time", g.one_time}});
  j["grants"] = std::move(gs);
  if (!s.patterns_sha256.empty()) j["patterns_sha256"] = s.patterns_sha256;
  return j.dump() + "\n";
}

std::variant<snapshot, std::string> decode_snapshot(const json& j) {
  snapshot s;
  if (!j.contains("generation") || !j["generation"].is_number_unsigned()) return "generation: must be an unsigned integer";
  s.generation = j["generation"].get<uint64_t>();
  for (auto [key, dst, required] : {std::tuple{"policy_name", &s.policy_name, false}, {"policy", &s.policy_text, true},
                                    {"jwks", &s.jwks_text, false}, {"issuer", &s.issuer, false},
                                    {"audience", &s.audience, false}, {"groups_claim", &s.groups_claim, false}})
    if (auto e = get_string(j, key, *dst, required)) return *e;
  if (j.contains("credentials")) {
    if (!j["credentials"].is_object()) return "credentials: must be an object";
    for (const auto& [k, v] : j["credentials"].items()) {
      if (!v.is_string()) return "credentials." + k + ": must be a string";
      s.credentials[k] = v.get<std::string>();
    }
  }
  if (j.contains("grants")) {
    if (!j["grants"].is_array()) return "grants: must be a list";
    size_t i = 0;
    for (const json& g : j["grants"]) {
      const std::string where = "grants[" + std::to_string(i++) + "].";
      if (!g.is_object()) return where + ": must be an object";
      grant out;
      for (auto [key, dst] : {std::pair{"approval_id", &out.approval_id}, {"subject", &out.subject},
                              {"route", &out.route}, {"body_sha256", &out.body_sha256}})
        if (auto e = get_string(g, key, *dst, true)) return where + *e;
      if (!is_lower_hex(out.body_sha256, 64)) return where + "body_sha256: must be 64 lowercase hex digits";
      if (!g.contains("expires_s") || !g["expires_s"].is_number_integer()) return where + "expires_s: must be an integer";
      out.expires_s = g["expires_s"].get<int64_t>();
      if (g.contains("one_time")) {
        if (!g["one_time"].is_boolean()) return where + "one_time: must be a boolean";
        out.one_time = g["one_time"].get<bool>();
      }
      s.grants.push_back(std::move(out));
    }
  }
  if (auto e = get_string(j, "patterns_sha256", s.patterns_sha256, false)) return *e;
  if (!s.patterns_sha256.empty() && !is_lower_hex(s.patterns_sha256, 64))
    return std::string("patterns_sha256: must be 64 lowercase hex digits");
  return s;
}

std::string encode(const patterns& p) {
  json j = header(type_patterns);
  j["sha256"] = p.sha256;
  j["sets"] = p.sets;
  j["db"] = auth::base64_encode(p.db);
  return j.dump() + "\n";
}

std::variant<patterns, std::string> decode_patterns(const json& j) {
  patterns p;
  if (auto e = get_string(j, "sha256", p.sha256, true)) return *e;
  if (!is_lower_hex(p.sha256, 64)) return std::string("sha256: must be 64 lowercase hex digits");
  if (!j.contains("sets") || !j["sets"].is_array()) return std::string("sets: must be a list");
  for (const json& s : j["sets"]) {
    if (!s.is_string()) return std::string("sets: must be a list of strings");
    p.sets.push_back(s.get<std::string>());
  }
  std::string b64;
  if (auto e = get_string(j, "db", b64, true)) return *e;
  auto raw = auth::base64_decode(b64);
  if (!raw || raw->empty()) return std::string("db: must be non-empty base64");
  if (auth::hex_encode(auth::as_chars(auth::sha256(*raw))) != p.sha256) return std::string("db: does not match sha256");
  p.db = std::move(*raw);
  return p;
}

std::string encode(const snapshot_result& r) {
  json j = header(type_snapshot_result);
  j["generation"] = r.generation;
  j["ok"] = r.ok;
  if (!r.error.empty()) j["error"] = r.error;
  return j.dump() + "\n";
}

std::variant<snapshot_result, std::string> decode_snapshot_result(const json& j) {
  snapshot_result r;
  if (!j.contains("generation") || !j["generation"].is_number_unsigned()) return "generation: must be an unsigned integer";
  r.generation = j["generation"].get<uint64_t>();
  if (!j.contains("ok") || !j["ok"].is_boolean()) return "ok: must be a boolean";
  r.ok = j["ok"].get<bool>();
  if (auto e = get_string(j, "error", r.error, false)) return *e;
  return r;
}

std::string encode(const grant_used& g) {
  json j = header(type_grant_used);
  j["approval_id"] = g.approval_id;
  j["subject"] = g.subject;
  j["route"] = g.route;
  j["body_sha256"] = g.body_sha256;
  return j.dump() + "\n";
}

std::variant<grant_used, std::string> decode_grant_used(const json& j) {
  grant_used g;
  for (auto [key, dst] : {std::pair{"approval_id", &g.approval_id}, {"subject", &g.subject}, {"route", &g.route},
                          {"body_sha256", &g.body_sha256}})
    if (auto e = get_string(j, key, *dst, true)) return *e;
  return g;
}

namespace {

// boot, stream and seq of a record or an ack entry; `where` prefixes the error.
std::optional<std::string> get_source(const json& j, const std::string& where, std::string& boot, uint32_t& stream,
                                      uint64_t& seq) {
  if (auto e = get_string(j, "boot", boot, true)) return where + *e;
  if (!is_lower_hex(boot, 16)) return where + "boot: must be 16 lowercase hex digits";
  // Integers parsed from text are unsigned when non-negative; built in memory they may be signed.
  const auto non_negative = [&](const char* k) { return j.contains(k) && j[k].is_number_integer() && j[k].get<int64_t>() >= 0; };
  if (!non_negative("stream") || j["stream"].get<uint64_t>() > owner_stream)
    return where + "stream: must be an integer 0.." + std::to_string(owner_stream);
  stream = j["stream"].get<uint32_t>();
  if (!non_negative("seq") || j["seq"].get<uint64_t>() == 0) return where + "seq: must be a positive integer";
  seq = j["seq"].get<uint64_t>();
  return std::nullopt;
}

}  // namespace

std::string encode(const audit_record& r) {
  json j = header(type_audit_record);
  j["boot"] = r.boot;
  j["stream"] = r.stream;
  j["seq"] = r.seq;
  j["record"] = r.record;
  // Record fields are names, addresses and counts, but a path or subject could hold invalid
  // UTF-8 from the wire: replace rather than throw on the drain thread.
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::variant<audit_record, std::string> decode_audit_record(json j) {
  audit_record r;
  if (auto e = get_source(j, "", r.boot, r.stream, r.seq)) return *e;
  if (!j.contains("record") || !j["record"].is_object()) return std::string("record: must be an object");
  r.record = std::move(j["record"]);
  return r;
}

std::string encode(const audit_ack& a) {
  json j = header(type_audit_ack);
  json acks = json::array();
  for (const auto& e : a.acks) acks.push_back({{"boot", e.boot}, {"stream", e.stream}, {"seq", e.seq}});
  j["acks"] = std::move(acks);
  if (!a.error.empty()) j["error"] = a.error;
  return j.dump() + "\n";
}

std::variant<audit_ack, std::string> decode_audit_ack(const json& j) {
  audit_ack a;
  if (!j.contains("acks") || !j["acks"].is_array()) return std::string("acks: must be a list");
  size_t i = 0;
  for (const json& e : j["acks"]) {
    const std::string where = "acks[" + std::to_string(i++) + "].";
    if (!e.is_object()) return where + ": must be an object";
    audit_ack::entry out;
    if (auto err = get_source(e, where, out.boot, out.stream, out.seq)) return *err;
    a.acks.push_back(std::move(out));
  }
  if (auto e = get_string(j, "error", a.error, false)) return *e;
  return a;
}

std::string encode_approval_request(const json& decision_record) {
  json j = decision_record;
  j["v"] = contract_version;
  j["record_type"] = j.value("type", "");
  j["type"] = type_approval_request;
  return j.dump() + "\n";
}

std::variant<json, std::string> parse_line(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::string("not a JSON object");
  if (!j.contains("type") || !j["type"].is_string()) return std::string("type: missing");
  if (!j.contains("v") || !j["v"].is_number_integer()) return std::string("v: missing");
  if (j["v"].get<int64_t>() > contract_version)
    return "v: " + std::to_string(j["v"].get<int64_t>()) + " is newer than this side's " + std::to_string(contract_version);
  return j;
}

bool line_reader::feed(const char* data, size_t len) {
  if (start_ > 0 && start_ == buf_.size()) {
    buf_.clear();
    start_ = scan_ = 0;
  }
  buf_.append(data, len);
  const size_t nl = buf_.find('\n', std::max(start_, scan_));
  if (nl == std::string::npos) scan_ = buf_.size();
  const size_t pending = (nl == std::string::npos ? buf_.size() : nl) - start_;
  return pending <= max_line_bytes;
}

std::optional<std::string> line_reader::next() {
  const size_t nl = buf_.find('\n', std::max(start_, scan_));
  if (nl == std::string::npos) {
    scan_ = buf_.size();
    if (start_ > 0) {
      buf_.erase(0, start_);
      scan_ -= start_;
      start_ = 0;
    }
    return std::nullopt;
  }
  std::string line = buf_.substr(start_, nl - start_);
  start_ = scan_ = nl + 1;
  return line;
}

}  // namespace phigate::ipc
