#pragma once
// Request policy: the format is documented in docs/policy.md (example: configs/policy.example.json).
//
// compile() is setup code, run by the control plane (or at start-up): it parses and validates a
// policy file and builds an immutable snapshot; it allocates and returns errors as values.
// evaluate() runs on the packet path, once per held request: it is noexcept, allocation-free,
// lock-free, does not log, and takes time linear in the body plus the size of the policy. A
// snapshot is shared read-only by every lcore; whoever swaps snapshots keeps the old one alive
// until no lcore can still be evaluating against it. The views in a decision point into the
// snapshot (ids, reasons, approver groups) or into request_facts::body (model), so they live as
// long as the one they point into.
//
// Fail closed: whatever the policy needs from the request but cannot read reliably (a truncated
// or malformed body, a repeated key, a percent-encoded or dot-segment path) makes the conditions
// that read it "unknown". A rule whose conditions are all met or unknown (none false) matches
// when its on_unknown is "match", which is the default for block and require_approval rules;
// allow rules skip by default. So an unreadable body can never slip past a block rule.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/scan/response_mode.hh"

namespace phigate::policy {

enum class action : uint8_t { allow, require_approval, block };
const char* action_name(action a);  // "allow" | "require_approval" | "block"

// Views into the held request; valid during evaluate().
struct request_facts {
  std::string_view method;   // "POST"
  std::string_view target;   // request-target as sent, may hold "?query"
  std::string_view host;     // Host header value ("" if absent)
  std::string_view subject;  // verified identity ("" = anonymous / no valid token)
  const std::string_view* groups = nullptr;
  uint32_t group_count = 0;
  std::string_view body;      // body bytes held (JSON expected)
  bool body_complete = true;  // false: the body exceeded the hold limit
};

struct decision {
  action act = action::block;
  int32_t rule = -1;                // index of the matching rule, -1 = default
  std::string_view rule_id;         // the rule's "id" ("default" for the default; snapshot-owned)
  std::string_view reason;          // the rule's reason (snapshot-owned)
  int32_t route = -1;               // index into routes, -1 = no route matched
  std::string_view model;           // the body's "model" string as sent (escapes not decoded;
                                    // view into body), "" when absent or the body is unreadable
  uint32_t approvals_required = 0;  // require_approval: N
  const std::string_view* approver_groups = nullptr;
  uint32_t approver_group_count = 0;
  uint32_t grant_ttl_s = 0;         // require_approval: grant lifetime (default 1800, cap 86400)
  bool grant_one_time = true;       // require_approval: the grant lets one request through
                                    // (false: any number of identical requests until it expires)
  // The rule matched only because some of its conditions were unknown (on_unknown "match"):
  // worth counting, since it usually means a truncated or unreadable body.
  bool on_unknown = false;
};

// Per-route settings the dataplane needs.
struct route {
  std::string id;
  std::string credential;                     // NAME of the backend credential ("" none)
  std::string auth_header = "authorization";  // header whose value is swapped (lowercase)
  std::string masking_profile;                // profile name ("" = default: every entity, own style)
  int32_t profile = -1;                       // index for profile_at(), -1 = default
  std::vector<std::string> unmasked_groups;   // groups that receive unmasked responses
};

// A top-level "masking_profiles" entry. Set and entity names are checked for syntax only here
// (the policy compiles without pattern sets); the dataplane resolves them against its pattern db
// when it installs the snapshot (gate::resolve_profiles).
struct masking_profile {
  std::string name;
  std::vector<std::string> pattern_sets;  // loaded pattern set names; empty = every loaded set
  std::vector<std::string> entities;      // entity names of those sets; empty = every entity
  scan::style_override style = scan::style_override::pattern;
};

// Whether a caller in `groups` receives the route's responses unmasked: it names one of the
// route's unmasked_groups (exact, case-sensitive). The caller must be verified: pass no groups
// for an anonymous or unverified one. Packet path: no allocation.
bool route_unmasked_for(const route& r, const std::string_view* groups, uint32_t group_count) noexcept;

// Immutable after compile; shared read-only by all lcores. Its layout (policy_snapshot.hh) is
// private to this folder: read it only through the functions below.
struct snapshot;

struct compile_result {
  std::unique_ptr<const snapshot> snap;
  // "<file>: rule <id or #index>: <reason>" (or "<file>: route <id>: ..." / "<file>: <field>: ...");
  // empty on success. Never quotes values from the file other than ids and field names.
  std::string error;
};

// Limits of the format (docs/policy.md).
inline constexpr uint32_t policy_max_rules = 1024;
inline constexpr uint32_t policy_max_routes = 64;
inline constexpr uint32_t policy_max_profiles = 64;
inline constexpr uint32_t policy_max_list = 256;              // entries in any list
inline constexpr uint32_t policy_max_groups = 256;            // distinct groups in rule matches
inline constexpr uint32_t policy_max_body_conditions = 16;    // per rule
inline constexpr uint32_t policy_default_body_limit = 65536;
inline constexpr uint32_t policy_max_body_limit = 1u << 20;
inline constexpr uint32_t policy_default_grant_ttl_s = 1800;
inline constexpr uint32_t policy_max_grant_ttl_s = 86400;
inline constexpr uint32_t policy_max_approvals = 16;
inline constexpr size_t policy_max_file_bytes = 4u << 20;
inline constexpr size_t policy_max_model_bytes = 256;          // longer models: unknown

compile_result compile(std::string_view json_text, std::string_view file_name);
decision evaluate(const snapshot& s, const request_facts& f) noexcept;
const route* route_at(const snapshot& s, int32_t i);  // nullptr when out of range
uint32_t route_count(const snapshot& s);
const masking_profile* profile_at(const snapshot& s, int32_t i);  // nullptr when out of range
uint32_t profile_count(const snapshot& s);
uint32_t body_limit(const snapshot& s);  // bytes of body the dataplane must hold
// 16 hex digits: FNV-1a 64 over the canonical JSON of the policy (comments dropped, keys
// sorted), for audit records. Not a cryptographic digest.
std::string_view snapshot_digest(const snapshot& s);

}  // namespace phigate::policy

// compile_result destroys a snapshot, so the type must be complete wherever it is destroyed.
#include "dataplane/policy/policy_snapshot.hh"  // IWYU pragma: export
