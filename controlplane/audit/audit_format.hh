#pragma once
// The audit log's on-disk format, shared by the writer and the verifier. One JSON object per
// line, '\n'-terminated, each line byte-for-byte equal to what these functions produce:
//
//   {"seq":N,"prev":"<hex>","rec":<canonical record>,"hash":"<hex>"}
//   {"seq":N,"checkpoint":{"count":N,"last_hash":"<hex>","time":T},"sig":"<base64>"}
//
// - Records are numbered seq = 1, 2, 3... with no gaps. prev is the previous record's hash (64
//   zeros for seq 1). hash = SHA-256(prev as 32 raw bytes || canonical(rec) || seq as 8 bytes
//   big-endian): the fixed-width prefix and suffix make the concatenation unambiguous.
// - A checkpoint covers every record before it: seq = count = records so far, last_hash = the
//   chain head, time = unix milliseconds (non-decreasing). sig = standard base64 (padded) of the
//   Ed25519 signature over the canonical checkpoint object exactly as it appears in the line.
// - canonical(v) = JSON with object keys sorted bytewise and no whitespace (nlohmann::json
//   dump of a std::map-backed object, UTF-8 unescaped). Nesting is limited to
//   audit_max_json_depth and a canonical record to audit_max_record_bytes.
//
// Pure functions; any thread.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "controlplane/auth/crypto_util.hh"

namespace phigate::audit {

// Errors of the writer and key helpers. `reason` names the path, line or seq and what failed;
// it never quotes record contents.
struct audit_error {
  std::string reason;
};

inline constexpr size_t audit_max_record_bytes = 64 * 1024;
inline constexpr size_t audit_max_line_bytes = audit_max_record_bytes + 512;
inline constexpr size_t audit_max_json_depth = 32;
// The writer signs at least this often; the verifier flags longer unsigned runs.
inline constexpr uint64_t audit_max_records_per_checkpoint = 1000;

// The chain value before the first record.
inline constexpr std::string_view audit_genesis_hex =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Canonical encoding, or nullopt when the value nests deeper than audit_max_json_depth or holds
// invalid UTF-8.
std::optional<std::string> canonical_json(const nlohmann::json& value);

// True when the JSON text's nesting of arrays and objects stays within `max_depth` (scanned
// without parsing, so hostile input cannot recurse deeply).
bool json_depth_within(std::string_view text, size_t max_depth) noexcept;

auth::sha256_digest record_hash(const auth::sha256_digest& prev, std::string_view canonical_record,
                                uint64_t seq) noexcept;

// Lines without the terminating '\n'.
std::string record_line(uint64_t seq, std::string_view prev_hex, std::string_view canonical_record,
                        std::string_view hash_hex);
std::string checkpoint_body(uint64_t count, std::string_view last_hash_hex, int64_t time_ms);
std::string checkpoint_line(uint64_t seq, std::string_view checkpoint_body, std::string_view sig_base64);

}  // namespace phigate::audit
