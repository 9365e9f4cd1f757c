#include "controlplane/audit/audit_format.hh"

#include <nlohmann/json.hpp>

namespace phigate::audit {

namespace {

bool depth_within(const nlohmann::json& v, size_t depth, size_t max_depth) {
  if (!v.is_structured()) return true;
  if (depth + 1 > max_depth) return false;
  for (const auto& child : v)
    if (!depth_within(child, depth + 1, max_depth)) return false;
  return true;
}

}  // namespace

std::optional<std::string> canonical_json(const nlohmann::json& value) try {
  if (!depth_within(value, 0, audit_max_json_depth)) return std::nullopt;
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
} catch (const nlohmann::json::exception&) {
  return std::nullopt;
}

bool json_depth_within(std::string_view text, size_t max_depth) noexcept {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

auth::sha256_digest record_hash(const auth::sha256_digest& prev, std::string_view canonical_record,
                                uint64_t seq) noexcept {
  char be[8];
  for (int i = 0; i < 8; ++i) be[i] = char(seq >> (56 - 8 * i));
  return auth::sha256_concat(auth::as_chars(prev), canonical_record, std::string_view(be, 8));
}

std::string record_line(uint64_t seq, std::string_view prev_hex, std::string_view canonical_record,
                        std::string_view hash_hex) {
  std::string line;
  line.reserve(canonical_record.size() + 180);
  line += "{\"seq\":";
  line += std::to_string(seq);
  line += ",\"prev\":\"";
  line += prev_hex;
  line += "\",\"rec\":";
  line += canonical_record;
  line += ",\"hash\":\"";
  line += hash_hex;
  line += "\"}";
  return line;
}

std::string checkpoint_body(uint64_t count, std::string_view last_hash_hex, int64_t time_ms) {
  std::string body = "{\"count\":";
  body += std::to_string(count);
  body += ",\"last_hash\":\"";
  body += last_hash_hex;
  body += "\",\"time\":";
  body += std::to_string(time_ms);
  body += '}';
  return body;
}

std::string checkpoint_line(uint64_t seq, std::string_view body, std::string_view sig_base64) {
  std::string line = "{\"seq\":";
  line += std::to_string(seq);
  line += ",\"checkpoint\":";
  line += body;
  line += ",\"sig\":\"";
  line += sig_base64;
  line += "\"}";
  return line;
}

}  // namespace phigate::audit
