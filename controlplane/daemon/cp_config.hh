#pragma once
// phigate-cp configuration (JSON, comments allowed; example: configs/phigate-cp.example.json).
// Checked completely before anything starts, so a bad file gives a clear message and exit 1.
#include <cstdint>
#include <string>
#include <vector>

namespace phigate::cp {

struct cp_config {
  // Identity provider (OIDC discovery + JWKS).
  std::string issuer, audience, groups_claim = "groups", ca_file;
  int64_t key_refresh_s = 600;
  // Policy and backend credentials (the secret store: a 0600 file; $PHIGATE_CREDENTIAL_<NAME>
  // overrides). Re-read on SIGHUP.
  std::string policy, credentials;
  // Pattern set files (phigate-dp's "patterns": one path or 1..16, merged into one database),
  // compiled here and pushed to the dataplane; re-read on SIGHUP. Empty: the dataplane keeps the
  // database it loaded from its own configuration. Paths are used as given, like the others.
  std::vector<std::string> patterns;
  // Approvals.
  std::string approvals_db;           // SQLite file
  std::string webhook_url;            // Slack-compatible; "" = none
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 9443;
  std::string tls_cert, tls_key;      // both or neither; without them only loopback is allowed
  std::string public_url;             // base the status URLs point to (default from listen)
  int64_t pending_ttl_s = 24 * 3600, default_grant_ttl_s = 1800, max_grant_ttl_s = 24 * 3600;
  // The dataplane.
  std::string control_socket = "/run/phigate/dp-control.sock";
  std::string stats_socket = "/run/phigate-dp.sock";
  // The audit log the dataplane's records are made durable in ("" = none: a dataplane that
  // relies on this control plane for its audit log then refuses protected requests).
  std::string audit_log, audit_signing_key;
};

std::string cp_config_parse(const std::string& json_text, cp_config& out);  // "" or "field: reason"
std::string cp_config_load(const std::string& path, cp_config& out);

}  // namespace phigate::cp
