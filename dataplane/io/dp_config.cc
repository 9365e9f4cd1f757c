#include "dataplane/io/dp_config.hh"

#include <arpa/inet.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace phigate::io {
namespace {

using nlohmann::json;

std::string check_keys(const json& j, std::initializer_list<const char*> allowed, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok |= it.key() == a;
    if (!ok) return where + it.key() + ": unknown field";
  }
  return {};
}

template <typename T>
std::string get_uint(const json& j, const char* key, T lo, T hi, T& out, const std::string& where) {
  if (!j.contains(key)) return {};
  const json& v = j[key];
  if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi)
    return where + key + ": must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  out = static_cast<T>(v.get<uint64_t>());
  return {};
}

}  // namespace

std::string dp_config_parse(const std::string& text, dp_config& c) {
  json j;
  try {
    j = json::parse(text, nullptr, true, true);
  } catch (const json::parse_error& e) {
    return "config: not valid JSON at byte " + std::to_string(e.byte);
  }
  if (!j.is_object()) return "config: must be a JSON object";
  if (auto e = check_keys(j, {"eal", "ports", "protected_services", "patterns", "flows", "mbufs", "timers",
                              "stats_socket", "gate", "identity", "workers", "sharding", "syslog", "reassembly"}, ""); !e.empty())
    return e;
  if (!j.contains("eal") || !j["eal"].is_array()) return "eal: required, an array of EAL arguments";
  for (const auto& a : j["eal"]) {
    if (!a.is_string()) return "eal: every argument must be a string";
    c.eal_args.push_back(a.get<std::string>());
  }
  if (j.contains("ports")) {
    const json& p = j["ports"];
    if (!p.is_object()) return "ports: must be an object {\"client\": id, \"server\": id}";
    if (auto e = check_keys(p, {"client", "server"}, "ports."); !e.empty()) return e;
    if (auto e = get_uint<uint16_t>(p, "client", 0, 1023, c.client_port, "ports."); !e.empty()) return e;
    if (auto e = get_uint<uint16_t>(p, "server", 0, 1023, c.server_port, "ports."); !e.empty()) return e;
    if (c.client_port == c.server_port) return "ports: client and server must differ";
  }
  if (!j.contains("protected_services") || !j["protected_services"].is_array() || j["protected_services"].empty())
    return "protected_services: required, a non-empty array of {\"address\", \"port\"}";
  size_t i = 0;
  for (const auto& s : j["protected_services"]) {
    const std::string where = "protected_services[" + std::to_string(i++) + "].";
    if (!s.is_object()) return where + ": must be an object";
    if (auto e = check_keys(s, {"address", "port"}, where); !e.empty()) return e;
    protected_service ps;
    if (!s.contains("address") || !s["address"].is_string()) return where + "address: required string";
    ps.address = s["address"].get<std::string>();
    if (inet_pton(AF_INET, ps.address.c_str(), ps.addr) == 1) ps.v6 = false;
    else if (inet_pton(AF_INET6, ps.address.c_str(), ps.addr) == 1) ps.v6 = true;
    else return where + "address: not an IPv4 or IPv6 address";
    if (!s.contains("port")) return where + "port: required";
    if (auto e = get_uint<uint16_t>(s, "port", 1, 65535, ps.port, where); !e.empty()) return e;
    c.services.push_back(ps);
  }
  {
    constexpr const char* shape = "patterns: required, a pattern set path or a non-empty list of paths";
    if (!j.contains("patterns")) return shape;
    const json& p = j["patterns"];
    c.patterns.clear();
    if (p.is_string()) {
      c.patterns.push_back(p.get<std::string>());
    } else if (p.is_array() && !p.empty()) {
      // 16: scan::pattern_set_max_merged (this file builds without the engine library).
      if (p.size() > 16) return "patterns: at most 16 pattern sets";
      for (size_t k = 0; k < p.size(); ++k) {
        if (!p[k].is_string()) return "patterns[" + std::to_string(k) + "]: must be a path string";
        c.patterns.push_back(p[k].get<std::string>());
      }
    } else {
      return shape;
    }
    for (size_t k = 0; k < c.patterns.size(); ++k)
      if (c.patterns[k].empty())
        return p.is_string() ? std::string("patterns: must not be empty")
                             : "patterns[" + std::to_string(k) + "]: must not be empty";
  }
  if (j.contains("flows")) {
    const json& f = j["flows"];
    if (!f.is_object()) return "flows: must be an object";
    if (auto e = check_keys(f, {"capacity", "idle_timeout_s", "syn_timeout_s", "closing_timeout_s", "history_bytes",
                                "midstream", "stream_state_bytes", "open_bodies", "clamp_window"}, "flows.");
        !e.empty())
      return e;
    if (auto e = get_uint<uint32_t>(f, "capacity", 64, 1u << 24, c.flow_capacity, "flows."); !e.empty()) return e;
    if (c.flow_capacity & (c.flow_capacity - 1)) return "flows.capacity: must be a power of two";
    if (auto e = get_uint<uint32_t>(f, "idle_timeout_s", 1, 86400, c.idle_timeout_s, "flows."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(f, "syn_timeout_s", 1, 600, c.syn_timeout_s, "flows."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(f, "closing_timeout_s", 1, 600, c.closing_timeout_s, "flows."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(f, "history_bytes", 0, 1u << 20, c.history_bytes, "flows."); !e.empty()) return e;
    if (c.history_bytes != 0 && ((c.history_bytes & (c.history_bytes - 1)) != 0 || c.history_bytes < 4096))
      return "flows.history_bytes: 0 or a power of two from 4096";
    if (auto e = get_uint<uint32_t>(f, "stream_state_bytes", 0, 4096, c.stream_state_bytes, "flows."); !e.empty()) return e;
    if (c.stream_state_bytes != 0 && c.stream_state_bytes < 64) return "flows.stream_state_bytes: 0 (automatic) or 64..4096";
    if (auto e = get_uint<uint32_t>(f, "open_bodies", 0, 1u << 24, c.open_bodies, "flows."); !e.empty()) return e;
    if (c.open_bodies > c.flow_capacity) return "flows.open_bodies: at most flows.capacity (0: flows.capacity)";
    if (f.contains("clamp_window")) {
      if (!f["clamp_window"].is_boolean()) return "flows.clamp_window: must be true or false";
      c.clamp_window = f["clamp_window"].get<bool>();
    }
    if (f.contains("midstream")) {
      const json& m = f["midstream"];
      const std::string v = m.is_string() ? m.get<std::string>() : std::string();
      if (v != "reset" && v != "accept") return "flows.midstream: \"reset\" or \"accept\"";
      c.midstream_accept = v == "accept";
    }
  }
  if (auto e = get_uint<uint32_t>(j, "mbufs", 1023, 1u << 22, c.mbufs, ""); !e.empty()) return e;
  if (j.contains("reassembly")) {
    const json& r = j["reassembly"];
    const std::string w = "reassembly.";
    if (!r.is_object()) return "reassembly: must be an object";
    if (auto e = check_keys(r, {"segments_per_flow", "bytes_per_flow", "segments", "mbytes", "gap_timeout_ms"}, w); !e.empty())
      return e;
    if (auto e = get_uint<uint32_t>(r, "segments_per_flow", 4, 4096, c.reasm_segments_per_flow, w); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(r, "bytes_per_flow", 16384, 64u << 20, c.reasm_bytes_per_flow, w); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(r, "segments", 1024, 1u << 22, c.reasm_segments, w); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(r, "mbytes", 1, 65536, c.reasm_mbytes, w); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(r, "gap_timeout_ms", 10, 120000, c.gap_timeout_ms, w); !e.empty()) return e;
    if (c.reasm_segments < c.reasm_segments_per_flow) return "reassembly.segments: at least segments_per_flow";
  }
  if (auto e = get_uint<uint32_t>(j, "workers", 1, 16, c.workers, ""); !e.empty()) return e;
  if (j.contains("sharding")) {
    const json& m = j["sharding"];
    const std::string v = m.is_string() ? m.get<std::string>() : std::string();
    if (v == "auto") c.sharding = dp_config::sharding_mode::automatic;
    else if (v == "rss") c.sharding = dp_config::sharding_mode::rss;
    else if (v == "software") c.sharding = dp_config::sharding_mode::software;
    else return "sharding: one of \"auto\", \"rss\", \"software\"";
  }
  if (j.contains("timers")) {
    const json& t = j["timers"];
    if (!t.is_object()) return "timers: must be an object";
    if (auto e = check_keys(t, {"hold_timeout_ms", "audit_wait_ms", "request_stall_ms"}, "timers."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(t, "hold_timeout_ms", 1, 60000, c.hold_timeout_ms, "timers."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(t, "audit_wait_ms", 0, 600000, c.audit_wait_ms, "timers."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(t, "request_stall_ms", 0, 10000, c.request_stall_ms, "timers."); !e.empty()) return e;
  }
  if (j.contains("stats_socket")) {
    if (!j["stats_socket"].is_string() || j["stats_socket"].get<std::string>().size() > 100)
      return "stats_socket: a path of at most 100 bytes";
    c.stats_socket = j["stats_socket"].get<std::string>();
  }
  const auto get_str = [](const json& o, const char* key, std::string& out, const std::string& where) -> std::string {
    if (!o.contains(key)) return {};
    if (!o[key].is_string() || o[key].get<std::string>().empty()) return where + key + ": must be a non-empty string";
    out = o[key].get<std::string>();
    return {};
  };
  if (j.contains("gate")) {
    const json& g = j["gate"];
    if (!g.is_object()) return "gate: must be an object";
    c.gate = true;
    if (auto e = check_keys(g, {"policy", "credentials", "audit_log", "audit_signing_key", "event_log",
                                "approval_status_base", "hold_buffers", "hold_buffer_bytes", "audit_ring",
                                "control_socket", "recordings_dir", "recordings_key", "recording_max_bytes"}, "gate.");
        !e.empty())
      return e;
    for (auto [k, dst] : {std::pair{"policy", &c.policy}, {"credentials", &c.credentials}, {"audit_log", &c.audit_log},
                          {"audit_signing_key", &c.audit_signing_key}, {"event_log", &c.event_log},
                          {"approval_status_base", &c.approval_status_base}, {"control_socket", &c.control_socket},
                          {"recordings_dir", &c.recordings_dir}, {"recordings_key", &c.recordings_key}})
      if (auto e = get_str(g, k, *dst, "gate."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(g, "hold_buffers", 1, 1u << 20, c.hold_buffers, "gate."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(g, "hold_buffer_bytes", 17 * 1024, 1u << 22, c.hold_buffer_bytes, "gate."); !e.empty())
      return e;
    if (auto e = get_uint<uint32_t>(g, "audit_ring", 16, 1u << 20, c.audit_ring, "gate."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(g, "recording_max_bytes", 4096, 64u << 20, c.recording_max_bytes, "gate."); !e.empty())
      return e;
    if (c.recordings_dir.empty() != c.recordings_key.empty())
      return "gate.recordings_dir and gate.recordings_key go together";
    if (c.policy.empty() && c.control_socket.empty())
      return "gate: a policy file or a control_socket (for phigate-cp to push one) is required";
    if (c.control_socket.size() > 100) return "gate.control_socket: a path of at most 100 bytes";
    // Where records become durable: in phigate-cp's log over the control socket (no audit_log
    // here), or, for a dataplane without a control plane, in a log of its own.
    if (c.audit_log.empty() != c.audit_signing_key.empty())
      return "gate.audit_log and gate.audit_signing_key go together";
    if (c.audit_log.empty() && c.control_socket.empty())
      return "gate: an audit_log with its audit_signing_key, or a control_socket (phigate-cp keeps the audit log), "
             "is required (no request proceeds without a durable record)";
  }
  if (j.contains("syslog")) {
    const json& g = j["syslog"];
    if (!g.is_object()) return "syslog: must be an object {\"host\", \"port\", \"tls\", \"ca_file\"}";
    if (auto e = check_keys(g, {"host", "port", "tls", "ca_file"}, "syslog."); !e.empty()) return e;
    if (auto e = get_str(g, "host", c.syslog_host, "syslog."); !e.empty()) return e;
    if (auto e = get_str(g, "ca_file", c.syslog_ca, "syslog."); !e.empty()) return e;
    if (auto e = get_uint<uint16_t>(g, "port", 1, 65535, c.syslog_port, "syslog."); !e.empty()) return e;
    if (g.contains("tls")) {
      if (!g["tls"].is_boolean()) return "syslog.tls: must be true or false";
      c.syslog_tls = g["tls"].get<bool>();
    }
    if (c.syslog_host.empty()) return "syslog.host: required";
    if (!c.gate) return "syslog: forwards the gate's audit records: configure the gate";
  }
  if (j.contains("identity")) {
    const json& id = j["identity"];
    if (!id.is_object()) return "identity: must be an object";
    if (auto e = check_keys(id, {"jwks_file", "issuer", "audience", "groups_claim", "token_cache"}, "identity."); !e.empty())
      return e;
    for (auto [k, dst] : {std::pair{"jwks_file", &c.jwks_file}, {"issuer", &c.issuer}, {"audience", &c.audience},
                          {"groups_claim", &c.groups_claim}})
      if (auto e = get_str(id, k, *dst, "identity."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(id, "token_cache", 8, 1u << 22, c.token_cache, "identity."); !e.empty()) return e;
    if (c.jwks_file.empty() || c.issuer.empty() || c.audience.empty())
      return "identity: jwks_file, issuer and audience are required";
  }
  return {};
}

std::string dp_config_load(const std::string& path, dp_config& out) {
  std::ifstream in(path);
  if (!in) return path + ": cannot be read";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string e = dp_config_parse(ss.str(), out);
  return e.empty() ? e : path + ": " + e;
}

}  // namespace phigate::io
