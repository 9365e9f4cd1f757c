#pragma once
// Just-in-time approvals: the pure state machine. No I/O, no clock, no randomness: every
// transition takes the record, the acting principal and `now_s` (unix seconds, injected so
// tests and replays drive expiry), and either changes the record or leaves it untouched and
// names why. approval_store persists what these functions decide; nothing else changes state.
//
//   pending --N distinct approvers--> approved --first check (one-time)--> consumed
//      |  \--reject (reason)--> rejected      \--revoke (reason)--> revoked
//      \--now >= pending_expires_s--> expired  \--now >= grant_expires_s--> expired
//
// "expired" is never stored: it is derived from the stored state and the time, so a record
// read at any later time (after a restart, from a backup) answers the same. The other states
// are stored; rejected, revoked and consumed are terminal and win over expiry.
//
// Rules (issue 4 section 3, GUIDE section 5): a decision comes from a verified principal who
// belongs to one of the request's approver groups and is never the requester (same subject);
// one vote per approver; quorum is N distinct approvers; rejection and revocation need a
// reason. A grant is bound to the requester's subject, the route and the body digest; a
// one-time grant is consumed by its first successful check, so a replay is refused.
//
// Values only: any number of threads may use different records; a record is not synchronized.
// Error reasons and messages name fields and rules, never field values.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace phigate::approvals {

enum class approval_state : uint8_t { pending, approved, rejected, expired, revoked, consumed };
inline constexpr size_t approval_state_count = size_t(approval_state::consumed) + 1;

// "pending", "approved", ...: stable, used in the store, the API and the CLI.
std::string_view approval_state_name(approval_state s) noexcept;
std::optional<approval_state> approval_state_parse(std::string_view name) noexcept;

struct approval_config {
  int64_t pending_ttl_s = 24 * 3600;      // a request nobody decided on expires after this
  int64_t default_grant_ttl_s = 30 * 60;  // grant lifetime when the rule names none
  int64_t max_grant_ttl_s = 24 * 3600;    // a rule asking for more is capped to this
  uint32_t max_approvals_required = 16;
  size_t max_groups = 64;            // per list (requester groups, approver groups)
  size_t max_field_bytes = 2048;     // subject, group, route, method, path, model, rule id
  size_t max_summary_bytes = 8192;   // the masked summary
  size_t max_reason_bytes = 1024;    // rejection / revocation reason
  size_t max_pending = 10000;        // create() fails with `full` beyond this many live pending
};

// An explanation when the configuration cannot be used (the store refuses to open with it).
std::optional<std::string> approval_config_check(const approval_config& config);

// What the dataplane sends when a rule requires approval. Every text is as the dataplane
// forwards it (path and summary already masked): raw bodies are never given to this module,
// only their digest.
struct approval_request {
  std::string requester;  // verified subject of the caller
  std::vector<std::string> requester_groups;
  std::string route;      // policy route id
  std::string method;
  std::string path;
  std::string model;      // may be empty
  std::string body_digest;     // lowercase hex SHA-256 of the request body (64 characters)
  std::string masked_summary;  // shown to approvers; may be empty
  std::string rule_id;
  uint32_t approvals_required = 1;  // N distinct approvers, 1..config.max_approvals_required
  std::vector<std::string> approver_groups;  // at least one
  int64_t grant_ttl_s = 0;  // 0: config.default_grant_ttl_s; capped to config.max_grant_ttl_s
  bool one_time = true;     // consumed by the first successful check

  bool operator==(const approval_request&) const = default;
};

struct approval_vote {
  std::string approver;  // subject
  int64_t at_s = 0;
  bool operator==(const approval_vote&) const = default;
};

struct approval_record {
  std::string id;  // 32 lowercase hex characters (128 random bits)
  approval_request request;  // grant_ttl_s holds the effective (defaulted, capped) lifetime
  int64_t created_s = 0;
  int64_t pending_expires_s = 0;  // created_s + pending ttl, fixed at creation
  approval_state state = approval_state::pending;  // stored state: never `expired`
  std::vector<approval_vote> votes;  // in order; distinct approvers
  int64_t decided_s = 0;        // when approved (quorum reached) or rejected
  int64_t grant_expires_s = 0;  // approved: decided_s + grant ttl
  std::string rejected_by;
  std::string reject_reason;
  int64_t revoked_s = 0;
  std::string revoked_by;
  std::string revoke_reason;
  int64_t consumed_s = 0;

  bool operator==(const approval_record&) const = default;
};

// The state at `now_s`: the stored state, or `expired` when a pending request or an approved
// grant has outlived its deadline.
approval_state effective_state(const approval_record& r, int64_t now_s) noexcept;

// A verified caller (from an OIDC token): subject and groups.
struct principal {
  std::string subject;
  std::vector<std::string> groups;
};

enum class approval_error : uint8_t {
  invalid_request,  // create: a field is missing, malformed or too long (message names it)
  unknown,          // no request with this id
  not_pending,      // approve/reject: the request is no longer pending (decided or expired)
  not_active,       // revoke: the grant is not active (pending, expired, consumed, revoked...)
  not_approver,     // the principal is in none of the request's approver groups
  self_approval,    // the principal is the requester: nobody decides on their own request
  duplicate_vote,   // this approver already approved this request
  reason_required,  // reject/revoke without a (non-blank) reason
  reason_too_long,
  full,             // too many live pending requests
  duplicate_id,     // create_with_id: the id exists with a different request
  storage,          // the database failed; nothing changed
};
inline constexpr size_t approval_error_count = size_t(approval_error::storage) + 1;
std::string_view approval_error_name(approval_error e) noexcept;

struct approval_failure {
  approval_error code = approval_error::storage;
  std::string message;  // for operators: names fields and rules, never values
};

// Validates `req` and builds the pending record (effective grant ttl filled in). `id` comes
// from the caller (the store draws it at random).
std::variant<approval_record, approval_failure> make_record(const approval_request& req, std::string id,
                                                            int64_t now_s, const approval_config& config);

// Transitions. On success the record holds the new state and nullopt is returned; on failure
// the record is unchanged. approve() moves to `approved` when the vote completes the quorum.
std::optional<approval_failure> approve(approval_record& r, const principal& who, int64_t now_s);
std::optional<approval_failure> reject(approval_record& r, const principal& who, std::string_view reason,
                                       int64_t now_s, const approval_config& config);
std::optional<approval_failure> revoke(approval_record& r, const principal& who, std::string_view reason,
                                       int64_t now_s, const approval_config& config);

// True when `who` may read the request: the requester, or a member of an approver group.
bool may_view(const approval_record& r, const principal& who) noexcept;
// True when `who` belongs to one of the request's approver groups.
bool is_approver(const approval_record& r, const principal& who) noexcept;

enum class grant_status : uint8_t {
  ok,
  unknown,
  pending,
  rejected,
  expired,
  revoked,
  consumed,
  subject_mismatch,
  route_mismatch,
  digest_mismatch,
  storage_error,  // store only: the database failed, the grant is refused (fail closed)
};
inline constexpr size_t grant_status_count = size_t(grant_status::storage_error) + 1;
std::string_view grant_status_name(grant_status s) noexcept;

// Checks a retried request against the grant. Bindings are checked first (a caller who is not
// the requester learns nothing about the request's state), then the state; `ok` on a one-time
// grant marks it consumed at `now_s` (the caller must persist that before forwarding).
grant_status check_grant(approval_record& r, std::string_view subject, std::string_view route,
                         std::string_view body_digest, int64_t now_s) noexcept;

// True for exactly 64 lowercase hex characters.
bool is_body_digest(std::string_view text) noexcept;
// True for exactly 32 lowercase hex characters (the shape of an id).
bool is_approval_id(std::string_view text) noexcept;

}  // namespace phigate::approvals
