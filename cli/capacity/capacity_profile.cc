#include "cli/capacity/capacity_profile.hh"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

namespace phigate::capacity {
namespace {

using json = nlohmann::json;

// nlohmann throws on type mismatches; these helpers check types first so nothing escapes.
std::variant<double, profile_error> get_number(const json& j, const std::string& field, double lo, double hi) {
  if (!j.is_number()) return profile_error{field, "must be a number"};
  const double v = j.get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    return profile_error{field, "out of range (allowed " + json(lo).dump() + " .. " + json(hi).dump() + ")"};
  return v;
}

std::variant<uint64_t, profile_error> get_uint(const json& j, const std::string& field, uint64_t lo, uint64_t hi) {
  if (!j.is_number_integer()) return profile_error{field, "must be an integer"};
  if (j.is_number_unsigned() || j.get<int64_t>() >= 0) {
    const uint64_t v = j.get<uint64_t>();
    if (v >= lo && v <= hi) return v;
  }
  return profile_error{field, "out of range (allowed " + std::to_string(lo) + " .. " + std::to_string(hi) + ")"};
}

}  // namespace

double traffic_profile::mean_response_bytes() const {
  double sum = 0, w = 0;
  for (const size_weight& s : response_sizes) sum += static_cast<double>(s.bytes) * s.weight, w += s.weight;
  return w > 0 ? sum / w : 0;
}

std::string profile_error::message() const { return field.empty() ? reason : field + ": " + reason; }

profile_result profile_parse(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return profile_error{"", "not valid JSON"};
  if (!doc.is_object()) return profile_error{"", "must be a JSON object"};
  static const std::set<std::string> kKeys = {"name",
                                              "description",
                                              "response_sizes",
                                              "sse_share",
                                              "phi_per_kib",
                                              "concurrent_flows",
                                              "request_rate_per_s",
                                              "request_bytes",
                                              "exchanges_per_connection"};
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (!kKeys.count(it.key())) return profile_error{it.key(), "unknown key"};
  for (const char* k : {"name", "response_sizes", "sse_share", "phi_per_kib", "concurrent_flows", "request_rate_per_s",
                        "request_bytes"})
    if (!doc.contains(k)) return profile_error{k, "missing (required)"};

  traffic_profile p;
  if (!doc["name"].is_string() || doc["name"].get<std::string>().empty())
    return profile_error{"name", "must be a non-empty string"};
  p.name = doc["name"].get<std::string>();
  if (p.name.size() > 64) return profile_error{"name", "longer than 64 characters"};
  for (const char c : p.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return profile_error{"name", "only letters, digits, '-', '_' and '.' are allowed"};
  if (doc.contains("description")) {
    if (!doc["description"].is_string()) return profile_error{"description", "must be a string"};
    p.description = doc["description"].get<std::string>();
  }

  const json& sizes = doc["response_sizes"];
  if (!sizes.is_array() || sizes.empty())
    return profile_error{"response_sizes", "must be a non-empty array of {bytes, weight}"};
  if (sizes.size() > kMaxSizeClasses)
    return profile_error{"response_sizes", "more than " + std::to_string(kMaxSizeClasses) + " entries"};
  double total_weight = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const std::string at = "response_sizes[" + std::to_string(i) + "]";
    const json& e = sizes[i];
    if (!e.is_object()) return profile_error{at, "must be an object {bytes, weight}"};
    for (auto it = e.begin(); it != e.end(); ++it)
      if (it.key() != "bytes" && it.key() != "weight") return profile_error{at + "." + it.key(), "unknown key"};
    if (!e.contains("bytes")) return profile_error{at + ".bytes", "missing (required)"};
    if (!e.contains("weight")) return profile_error{at + ".weight", "missing (required)"};
    size_weight sw;
    auto b = get_uint(e["bytes"], at + ".bytes", kMinResponseBytes, kMaxResponseBytes);
    if (auto* err = std::get_if<profile_error>(&b)) return *err;
    sw.bytes = std::get<uint64_t>(b);
    auto w = get_number(e["weight"], at + ".weight", 0, 1e9);
    if (auto* err = std::get_if<profile_error>(&w)) return *err;
    sw.weight = std::get<double>(w);
    if (sw.weight <= 0) return profile_error{at + ".weight", "must be greater than 0"};
    total_weight += sw.weight;
    p.response_sizes.push_back(sw);
  }
  if (!(total_weight > 0)) return profile_error{"response_sizes", "weights must not all be 0"};

  auto num = [&](const char* key, double lo, double hi, double& out) -> std::variant<std::monostate, profile_error> {
    auto v = get_number(doc[key], key, lo, hi);
    if (auto* err = std::get_if<profile_error>(&v)) return *err;
    out = std::get<double>(v);
    return {};
  };
  auto uint = [&](const char* key, uint64_t lo, uint64_t hi,
                  uint32_t& out) -> std::variant<std::monostate, profile_error> {
    auto v = get_uint(doc[key], key, lo, hi);
    if (auto* err = std::get_if<profile_error>(&v)) return *err;
    out = static_cast<uint32_t>(std::get<uint64_t>(v));
    return {};
  };
  std::variant<std::monostate, profile_error> r;
  if (r = num("sse_share", 0, 1, p.sse_share); std::holds_alternative<profile_error>(r))
    return std::get<profile_error>(r);
  if (r = num("phi_per_kib", 0, kMaxPhiPerKib, p.phi_per_kib); std::holds_alternative<profile_error>(r))
    return std::get<profile_error>(r);
  if (r = uint("concurrent_flows", 1, kMaxConcurrentFlows, p.concurrent_flows);
      std::holds_alternative<profile_error>(r))
    return std::get<profile_error>(r);
  if (r = num("request_rate_per_s", 0, kMaxRequestRate, p.request_rate_per_s); std::holds_alternative<profile_error>(r))
    return std::get<profile_error>(r);
  if (!(p.request_rate_per_s > 0)) return profile_error{"request_rate_per_s", "must be greater than 0"};
  if (r = uint("request_bytes", kMinRequestBytes, kMaxRequestBytes, p.request_bytes);
      std::holds_alternative<profile_error>(r))
    return std::get<profile_error>(r);
  if (doc.contains("exchanges_per_connection")) {
    if (r = uint("exchanges_per_connection", 1, kMaxExchanges, p.exchanges_per_connection);
        std::holds_alternative<profile_error>(r))
      return std::get<profile_error>(r);
  }
  return p;
}

profile_result profile_load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return profile_error{"", "cannot open " + path + ": " + std::strerror(errno)};
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  profile_result r = profile_parse(text);
  if (auto* err = std::get_if<profile_error>(&r); err && err->field.empty()) err->reason = path + ": " + err->reason;
  return r;
}

}  // namespace phigate::capacity
