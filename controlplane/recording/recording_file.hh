#pragma once
// The on-disk form of a session recording: one AES-256-GCM sealed document per file.
//
//   offset  size  field
//   0       8     magic "PHIGREC\0"
//   8       2     format version, big-endian (1)
//   10      2     reserved, 0 (checked after authentication)
//   12      8     key id (recording_key::id())
//   20      12    nonce, random per file
//   32      n     ciphertext of the document
//   32+n    16    GCM tag
//
// The 20 header bytes are the GCM additional authenticated data, so a changed version, reserved
// field or key id fails authentication like a changed ciphertext byte; the nonce is bound by GCM
// itself. Nonces are random (96 bits): keep one key below 2^32 recordings (NIST SP 800-38D).
// Decryption happens whole before anything is parsed: a file that does not authenticate yields
// an error and no bytes at all.
//
// The document (plaintext) is compact JSON, version 1:
//   {"format":"phigate-recording","version":1,"session_id":S,
//    "flow":{"client_addr":S,"client_port":N,"server_addr":S,"server_port":N},
//    "start_unix_ns":N,"request_ids":[S...],"max_bytes":N,"rejected_masks":N,
//    "events":[{"t_ns":N,"dir":"request"|"response","data":BASE64,"masks":[[off,len,entity]...]}...],
//    "truncated":null|{"cap":S,"at_t_ns":N,"bytes_dropped":N,"events_dropped":N}}
// Event bytes are standard base64 (padded) because they may be any bytes.
//
// Pure functions; any thread.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "controlplane/recording/recording_key.hh"
#include "controlplane/recording/recording_types.hh"

namespace phigate::recording {

inline constexpr std::string_view recording_magic{"PHIGREC\0", 8};
inline constexpr uint16_t recording_format_version = 1;
inline constexpr size_t recording_header_bytes = 20;  // the AAD
inline constexpr size_t recording_nonce_bytes = 12;
inline constexpr size_t recording_tag_bytes = 16;
inline constexpr size_t recording_overhead_bytes = recording_header_bytes + recording_nonce_bytes + recording_tag_bytes;
// Readers refuse larger files (memory bound); writers cap far below it.
inline constexpr uint64_t recording_max_file_bytes = 256ull << 20;
// The largest per-session byte cap a writer accepts (its document stays below the file limit).
inline constexpr uint64_t recording_max_cap_bytes = 64ull << 20;

// What the unauthenticated header claims; enough to tell an operator which key a file needs.
struct recording_header_info {
  uint16_t version = 0;
  std::string key_id;  // hex
};

// Checks magic, version and length; does not authenticate anything.
std::variant<recording_header_info, recording_error> recording_peek(std::span<const uint8_t> file);

// Encrypts `document` under `key` with a fresh random nonce; returns the whole file.
std::variant<std::string, recording_error> recording_seal(std::string_view document, const recording_key& key);
// Same with a caller-chosen nonce: tests and known-answer checks only (a repeated nonce under one
// key breaks GCM).
std::variant<std::string, recording_error> recording_seal_with_nonce(
    std::string_view document, const recording_key& key, std::span<const uint8_t, recording_nonce_bytes> nonce);

// Authenticates and decrypts a whole file; the document, or an error and no plaintext.
std::variant<std::string, recording_error> recording_open(std::span<const uint8_t> file, const recording_key& key);

// The JSON document of a recording (format_version and key_id are not part of it).
std::string recording_serialize(const recording& r);
// Parses and checks a document: types, ranges, masks inside their event, non-decreasing times.
std::variant<recording, recording_error> recording_parse(std::string_view document);

// Lowercase hex SHA-256 of a whole file, the digest the audit record carries.
std::string recording_digest_hex(std::string_view file);

// True for a session id usable as a file name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
bool recording_session_id_valid(std::string_view id);

}  // namespace phigate::recording
