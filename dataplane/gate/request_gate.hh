#pragma once
// The request gate: the session's decider (session/request_hold.hh) built from identity, the
// compiled policy (policy/policy.hh), approval grants, the backend credential store and the audit
// event ring. One gate per lcore; everything it shares (policy snapshot, credential store,
// verifier keys) is read-only on the lcore.
//
// Per request: the bearer token is verified (through the injected verifier, which caches), the
// policy is evaluated on the held head and body, and then:
//   allow             -> decision record into the ring; forward once it is durable, with the
//                        route's credential swapped in place when the route names one, and the
//                        response mode: the route's resolved masking profile, unmasked when the
//                        verified caller is in one of the route's unmasked_groups;
//   require_approval  -> forward if the request carries a grant (header x-phigate-approval) that
//                        binds this subject, route and body digest; else answer 403 with a new
//                        approval id and its status URL;
//   block             -> answer 403 with the rule's reason and the request id.
// When the ring is full (audit writer down or slow) or no policy is loaded, the answer is 503:
// no request proceeds without a durable record (fail closed).
//
// Hot path: no allocation, no locks, no logging; the answer is formatted into a per-gate buffer.
// A verifier cache miss runs the JWS signature check on the lcore (OpenSSL), once per token.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/gate/audit_event.hh"
#include "dataplane/policy/policy.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/response_mode.hh"
#include "dataplane/session/request_hold.hh"

namespace phigate::gate {

// The caller's identity as the verifier saw it. Views stay valid until the next verify() call on
// this lcore.
struct identity {
  bool verified = false;
  std::string_view subject;
  const std::string_view* groups = nullptr;
  uint32_t group_count = 0;
  std::string_view error;  // why a presented token was refused (a stable name, never the token)
};
struct identity_verifier {
  void* ctx = nullptr;
  identity (*verify)(void* ctx, std::string_view bearer_token, int64_t now_s) = nullptr;
};

// A grant check: "" when `approval_id` lets this request through (a one-time grant is consumed),
// else a stable reason ("unknown", "expired", "subject_mismatch", ...).
struct grant_checker {
  void* ctx = nullptr;
  std::string_view (*check)(void* ctx, std::string_view approval_id, std::string_view subject, std::string_view route_id,
                            const uint8_t body_sha256[32], int64_t now_s) = nullptr;
};

// Backend credentials by name: the full header value to send ("Bearer sk-..."). Built at setup
// from the secret store; immutable afterwards; never logged.
class credential_store {
 public:
  void add(std::string name, std::string value) { items_.push_back({std::move(name), std::move(value)}); }
  const std::string* find(std::string_view name) const noexcept {
    for (const auto& i : items_)
      if (i.first == name) return &i.second;
    return nullptr;
  }
  size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// A policy masking profile resolved against the loaded pattern db (index-parallel with
// policy::profile_at): the entity bits its responses are masked with, and the style override.
struct resolved_profile {
  uint64_t entities = scan::all_entities;
  scan::style_override style = scan::style_override::pattern;
  uint32_t db = 0;  // pattern_db::serial() the entity bits refer to (0: every entity)
};

// Setup (snapshot install): resolves every profile of `policy` against `db`
// (pattern_db::entity_mask over the profile's pattern_sets and entities). A set the db did not
// load, or an entity none of the chosen sets has, is an error ("masking_profile <name>: pattern
// set <set> is not loaded (loaded: ...)", "masking_profile <name>: entity <entity> is not in
// pattern set <set>"), so a profile never silently masks less or more than its author meant; the
// caller refuses the snapshot. Without a db (tests, a gate that does not mask) every profile
// resolves to all entities with its style.
struct profile_resolution {
  std::vector<resolved_profile> profiles;
  std::string error;  // empty on success
};
profile_resolution resolve_profiles(const policy::snapshot& policy, const scan::pattern_db* db);

// What the control plane swaps as one unit: the policy and the credentials its routes name.
// Published through an atomic pointer between bursts; the old one stays alive until every lcore
// has passed a quiescent point (the dataplane's snapshot swap). Read once per request.
struct gate_snapshot {
  const policy::snapshot* policy = nullptr;        // nullptr: no policy loaded (answers 503)
  const credential_store* credentials = nullptr;
  uint64_t generation = 0;
  // resolve_profiles(*policy, db).profiles; a route whose profile index has no entry here (none
  // resolved) gets the default mode: every entity masked (fail closed).
  const resolved_profile* profiles = nullptr;
  uint32_t profile_count = 0;
};

struct gate_config {
  const std::atomic<const gate_snapshot*>* snapshot = nullptr;
  identity_verifier identity{};
  grant_checker grants{};                        // check == nullptr: no grants yet (always ask)
  void (*sha256)(const uint8_t* data, size_t len, uint8_t out[32]) = nullptr;  // required
  std::string approval_status_base = "https://127.0.0.1:9443/v1/approvals/";  // + id + "/status"
  std::string approval_header = "x-phigate-approval";
  uint32_t ring_capacity = 4096;
  // When the ring's consumer cannot make records durable right now (the control plane that
  // acknowledges them is disconnected), it clears this flag and new requests get 503 at once
  // instead of waiting for a full ring. nullptr: always up.
  const std::atomic<bool>* audit_up = nullptr;
  uint8_t lcore = 0;
  int64_t wall_offset_ns = 0;  // unix time = the session's monotonic now + this
  // Approval ids: 16 bytes from a CSPRNG (the dataplane passes OpenSSL's RAND_bytes, which does
  // not block once seeded). Required when the policy can ask for approvals.
  bool (*random_bytes)(uint8_t* out, size_t len) = nullptr;
};

struct gate_counters {
  uint64_t outcomes[outcome_count] = {};
  uint64_t identity_verified = 0, identity_refused = 0, anonymous = 0;
  uint64_t policy_on_unknown = 0;         // rules matched through unknown conditions
  uint64_t response_records_lost = 0;     // response-end records dropped on a full ring
  uint64_t forwards_unmasked = 0;         // forwarded requests whose response goes unmasked
  uint64_t responses_unmasked = 0;        // response records of unmasked responses
  // Forwarded requests per masking profile (index = policy profile, last slot = default mode).
  uint64_t profile_forwards[policy::policy_max_profiles + 1] = {};
};

class request_gate {
 public:
  explicit request_gate(const gate_config& cfg);  // setup time
  request_gate(const request_gate&) = delete;
  request_gate& operator=(const request_gate&) = delete;

  session::request_decider decider();  // hooks for session_config::decider
  event_ring& ring() noexcept { return ring_; }
  const event_ring& ring() const noexcept { return ring_; }
  const gate_counters& stats() const noexcept { return n_; }
  void set_wall_offset(int64_t ns) noexcept { cfg_.wall_offset_ns = ns; }  // setup time only

  session::request_answer decide(const session::request_info& r, uint64_t now_ns) noexcept;
  void response_done(const session::response_info& r, uint64_t now_ns) noexcept;

 private:
  session::request_answer answer(uint16_t status, std::string_view code, std::string_view message,
                                 std::string_view rule, const session::request_info& r, std::string_view approval_id);
  bool next_approval_id(char out[33]) noexcept;

  gate_config cfg_;
  event_ring ring_;
  uint64_t seq_ = 0;
  gate_counters n_;
  std::array<char, 2048> response_{};
};

// Copies a request-target's path for audit: the query is dropped, every run of 4 or more digits
// becomes '#' characters, and it is cut to fit `cap` (NUL-terminated). Patient identifiers in
// paths (/patients/123456) do not reach the record; route-like paths stay readable.
void gate_path_copy(std::string_view target, char* out, size_t cap) noexcept;

// request_answer::profile_tag as the gate makes it: the snapshot generation's low 24 bits and the
// profile index + 1 (0: the default mode), so a response record names the profile only when the
// snapshot it came from is still the current one.
inline uint32_t profile_tag_make(uint64_t generation, int32_t profile) noexcept {
  return (static_cast<uint32_t>(generation & 0xffffff) << 8) | static_cast<uint32_t>((profile + 1) & 0xff);
}

}  // namespace phigate::gate
