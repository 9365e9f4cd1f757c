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
//   cp -> dp  patterns         {"sha256", "sets", "db"}: a compiled pattern database
//                              (scan::pattern_db::serialize, base64), sent before the first
//                              snapshot of a connection and whenever it changes; a snapshot
//                              names the database it runs with by "patterns_sha256"
//   dp -> cp  snapshot_result  {"generation", "ok", "error"}: the running snapshot stays when
//                              a new one is refused.
//   dp -> cp  approval_request an approval_required decision record (audit record fields: who,
//                              route, path, model, body digest, approval id, approver groups)
//   dp -> cp  grant_used       {"approval_id", "subject", "route", "body_sha256"}: a grant let a
//                              request through (the control plane consumes one-time grants and
//                              pushes a snapshot without them)
//   dp -> cp  audit_record     {"boot", "stream", "seq", "record"}: one audit record for the
//                              control plane's signed log (see "Audit" below)
//   cp -> dp  audit_ack        {"acks": [{"boot", "stream", "seq"}], "error"}: every record of
//                              that stream up to seq is durable (fdatasync'ed) in the log
//
// Audit (issue 4 section 5): the dataplane keeps each record in bounded memory (the workers'
// audit rings) until the control plane acknowledges it as durable, and releases a held request
// only then. A record is named by (boot, stream, seq): boot is a random 16-hex-digit id of one
// phigate-dp run, stream the worker index (0..253) or owner_stream for the dataplane's own
// records (recording digests), seq dense from 1 per stream. The dataplane sends each stream in
// order and sends everything unacknowledged again after a reconnect; the control plane writes a
// record only when its seq is the next one of its stream (a resent record it already holds is
// acknowledged without a second copy, one after a gap is ignored until the gap is resent), so
// the log holds each record exactly once and in stream order.
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
// A compiled pattern database is megabytes (us-phi-core: 3.6 MB, 4.8 MB as base64).
inline constexpr size_t max_line_bytes = 64u << 20;

inline constexpr std::string_view type_snapshot = "snapshot";
inline constexpr std::string_view type_patterns = "patterns";
inline constexpr std::string_view type_snapshot_result = "snapshot_result";
inline constexpr std::string_view type_approval_request = "approval_request";
inline constexpr std::string_view type_grant_used = "grant_used";
inline constexpr std::string_view type_audit_record = "audit_record";
inline constexpr std::string_view type_audit_ack = "audit_ack";
inline constexpr uint32_t owner_stream = 255;

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
  // The pattern database to mask with (patterns::sha256 of a patterns message sent before on
  // this connection); "" = keep the one running (the dataplane's own, or the last one pushed).
  std::string patterns_sha256;
};

std::string encode(const snapshot& s);
// Errors name the field, never a value.
std::variant<snapshot, std::string> decode_snapshot(const nlohmann::json& j);

// A compiled pattern database (the control plane validated the sets and ran their examples).
// The dataplane deserializes it off the lcores, keeps it staged, and swaps it in with the
// snapshot that names it (snapshot::patterns_sha256).
struct patterns {
  std::string sha256;             // of db: 64 lowercase hex digits
  std::vector<std::string> sets;  // the member sets' names, for messages and stats
  std::string db;                 // the serialized database (raw bytes)
};
std::string encode(const patterns& p);
// Checks the fields and that db's SHA-256 is sha256 (a truncated or altered line is refused).
std::variant<patterns, std::string> decode_patterns(const nlohmann::json& j);

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

struct audit_record {
  std::string boot;  // 16 lowercase hex digits
  uint32_t stream = 0;
  uint64_t seq = 0;
  nlohmann::json record;  // an object
};
std::string encode(const audit_record& r);
// Takes the line's object by value: the record moves out of it (they are large; the control
// plane decodes thousands per second).
std::variant<audit_record, std::string> decode_audit_record(nlohmann::json j);

struct audit_ack {
  struct entry {
    std::string boot;
    uint32_t stream = 0;
    uint64_t seq = 0;
  };
  std::vector<entry> acks;
  std::string error;  // why records are not being made durable ("" = none)
};
std::string encode(const audit_ack& a);
std::variant<audit_ack, std::string> decode_audit_ack(const nlohmann::json& j);

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
  // Where the search for the next newline resumes: a megabyte line arriving in 64 KiB reads is
  // searched once, not once per read.
  size_t scan_ = 0;
};

}  // namespace phigate::ipc
