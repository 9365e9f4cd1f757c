#pragma once
// Ed25519 key files for signing audit checkpoints: PEM PKCS#8 private key (mode 0600, created
// exclusively) and PEM SubjectPublicKeyInfo public key for verifiers.
//
// Setup code: allocates, returns errors as values, any thread. Loading a private key refuses a
// file readable or writable by group or others (as ssh does) and never prompts for a
// passphrase; loading either kind refuses any key type but Ed25519.
#include <optional>
#include <string>
#include <variant>

#include "controlplane/audit/audit_format.hh"
#include "controlplane/auth/crypto_util.hh"

namespace phigate::audit {

std::variant<auth::pkey_ptr, audit_error> audit_key_generate();

// Writes both files; fails when either exists (never overwrites a key). The private file is
// created 0600 and fsynced before the public one is written.
std::optional<audit_error> audit_key_write(EVP_PKEY* key, const std::string& private_path,
                                           const std::string& public_path);

std::variant<auth::pkey_ptr, audit_error> audit_private_key_load(const std::string& path);
std::variant<auth::pkey_ptr, audit_error> audit_public_key_load(const std::string& path);

// Raw 32-byte public key of an Ed25519 key (private or public), for comparisons and display.
std::optional<std::string> audit_key_public_raw(EVP_PKEY* key);

}  // namespace phigate::audit
