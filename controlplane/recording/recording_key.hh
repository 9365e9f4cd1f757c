#pragma once
// The AES-256-GCM key that seals session recordings.
//
// Key file: exactly 32 raw bytes, mode 0600 (no group or other permission bits; loading refuses
// anything else, as ssh does for private keys). Raw on purpose: an operator can make one with
// `(umask 077; head -c 32 /dev/urandom > recording.key)` and there is no encoding to get wrong.
// The key id is derived, not stored: the first 8 bytes of
// SHA-256("phigate-recording-key-id-v1" || key), shown as 16 lowercase hex digits. Every file
// names the id of the key that sealed it, so a reader holding another key says "wrong key"
// instead of only "authentication failed". A truncated hash of a random 256-bit key reveals
// nothing usable about the key.
//
// Setup code: allocates, returns errors as values, any thread. A recording_key is a value the
// control plane holds in memory; copies are independent and each wipes itself on destruction.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "controlplane/recording/recording_types.hh"

namespace phigate::recording {

inline constexpr size_t recording_key_bytes = 32;
inline constexpr size_t recording_key_id_bytes = 8;

class recording_key {
 public:
  explicit recording_key(std::span<const uint8_t, recording_key_bytes> bytes);
  recording_key(const recording_key&) = default;
  recording_key& operator=(const recording_key&) = default;
  ~recording_key();

  std::span<const uint8_t, recording_key_bytes> bytes() const { return key_; }
  const std::array<uint8_t, recording_key_id_bytes>& id() const { return id_; }
  std::string id_hex() const;

 private:
  std::array<uint8_t, recording_key_bytes> key_;
  std::array<uint8_t, recording_key_id_bytes> id_;
};

// Loads a key file. Refuses a file that is not regular, does not hold exactly 32 bytes, or
// carries any group/other permission bit (error kind `key`, reason names the path and the fix).
std::variant<recording_key, recording_error> recording_key_load(const std::string& path);

// Creates a new key file at `path` (mode 0600, created exclusively, fsynced; never overwrites:
// kind `exists`) from the OpenSSL private DRBG. Returns the new key's id (hex).
std::variant<std::string, recording_error> recording_keygen(const std::string& path);

}  // namespace phigate::recording
