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
                              "stats_socket"}, ""); !e.empty())
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
  if (!j.contains("patterns") || !j["patterns"].is_string()) return "patterns: required, a pattern set path";
  c.patterns = j["patterns"].get<std::string>();
  if (j.contains("flows")) {
    const json& f = j["flows"];
    if (!f.is_object()) return "flows: must be an object";
    if (auto e = check_keys(f, {"capacity", "idle_timeout_s"}, "flows."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(f, "capacity", 64, 1u << 24, c.flow_capacity, "flows."); !e.empty()) return e;
    if (c.flow_capacity & (c.flow_capacity - 1)) return "flows.capacity: must be a power of two";
    if (auto e = get_uint<uint32_t>(f, "idle_timeout_s", 1, 86400, c.idle_timeout_s, "flows."); !e.empty()) return e;
  }
  if (auto e = get_uint<uint32_t>(j, "mbufs", 1023, 1u << 22, c.mbufs, ""); !e.empty()) return e;
  if (j.contains("timers")) {
    const json& t = j["timers"];
    if (!t.is_object()) return "timers: must be an object";
    if (auto e = check_keys(t, {"hold_timeout_ms"}, "timers."); !e.empty()) return e;
    if (auto e = get_uint<uint32_t>(t, "hold_timeout_ms", 1, 60000, c.hold_timeout_ms, "timers."); !e.empty()) return e;
  }
  if (j.contains("stats_socket")) {
    if (!j["stats_socket"].is_string() || j["stats_socket"].get<std::string>().size() > 100)
      return "stats_socket: a path of at most 100 bytes";
    c.stats_socket = j["stats_socket"].get<std::string>();
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
