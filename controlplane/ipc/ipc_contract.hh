#pragma once
// The control plane <-> dataplane contract. Both processes include this header; nothing else
// crosses between them.
//
// Transport: a local UNIX stream socket that phigate-dp listens on (mode 0600, owner only);
// phigate-cp connects. Messages are single-line JSON objects ("JSON lines"), each with "v" (the
// contract version) and "type". Lines longer than max_line_bytes end the connection.
//
//   cp -> dp  snapshot         everything the gate needs, swapped as one unit between bursts:
//                              the policy text (compiled by the dataplane too, so a policy the
//                              dataplane cannot run is refused there and then), the JWKS and
//                              token rules, the backend credentials (in memory only: never
//                              written to disk by either side), the active approval grants.
//   dp -> cp  snapshot_result  {"generation", "ok", "error"}: the running snapshot stays when
//                              a new one is refused.
//   dp -> cp  approval_request an approval_required decision record (audit record fields: who,
//                              route, path, model, body digest, approval id, approver groups)
//   dp -> cp  grant_used       {"approval_id", "subject", "route", "body_sha256"}: a grant let a
//                              request through (the control plane consumes one-time grants and
//                              pushes a snapshot without them)
//
// Versioning: a peer that receives a higher "v" than it knows closes the connection with an
// error; fields unknown to a peer are ignored.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace phigate::ipc {

inline constexpr int contract_version = 1;
inline constexpr size_t max_line_bytes = 8u << 20;

inline constexpr std::string_view type_snapshot = "snapshot";
inline constexpr std::string_view type_snapshot_result = "snapshot_result";
inline constexpr std::string_view type_approval_request = "approval_request";
inline constexpr std::string_view type_grant_used = "grant_used";

struct grant {
  std::string approval_id;
  std::string subject;
  std::string route;
  std::string body_sha256;  // hex, 64 characters
  int64_t expires_s = 0;    // unix seconds
  bool one_time = true;
};

struct snapshot {
  uint64_t generation = 0;
  std::string policy_name;  // for error messages ("policy.json")
  std::string policy_text;
  std::string jwks_text;    // "" = no identity (every caller anonymous)
  std::string issuer, audience, groups_claim = "groups";
  std::map<std::string, std::string> credentials;  // name -> header value
  std::vector<grant> grants;
};

std::string encode(const snapshot& s);
// Errors name the field, never a value.
std::variant<snapshot, std::string> decode_snapshot(const nlohmann::json& j);

struct snapshot_result {
  uint64_t generation = 0;
  bool ok = false;
  std::string error;
};
std::string encode(const snapshot_result& r);
std::variant<snapshot_result, std::string> decode_snapshot_result(const nlohmann::json& j);

struct grant_used {
  std::string approval_id, subject, route, body_sha256;
};
std::string encode(const grant_used& g);
std::variant<grant_used, std::string> decode_grant_used(const nlohmann::json& j);

// An approval_request line from a decision record (audit::event_record's JSON).
std::string encode_approval_request(const nlohmann::json& decision_record);

// Parses one line: the object, or why it is unusable (not JSON, no type, newer version).
std::variant<nlohmann::json, std::string> parse_line(std::string_view line);

// Splits a byte stream into lines, bounded by max_line_bytes.
class line_reader {
 public:
  // Appends received bytes; false when a line exceeded the bound (close the connection).
  bool feed(const char* data, size_t len);
  // The next complete line (without the newline), if any.
  std::optional<std::string> next();

 private:
  std::string buf_;
  size_t start_ = 0;
};

}  // namespace phigate::ipc
