#pragma once
// Audit events from an lcore to the writer thread, and the ring that carries them.
//
// An event is a fixed-size record (no pointers, no allocation): the lcore fills one in place in
// its ring and publishes it; the writer thread (off the lcores) turns it into an audit record,
// makes it durable and then advances `durable`, which is what releases a held request. So a
// request is never forwarded before its record is on disk, and a full ring (writer down or slow)
// is visible to the lcore at once: the gate then answers 503 instead of forwarding.
//
// Contents are counts, offsets, identities and routing facts only. Never request or response
// bytes: the path is stored without its query and with long digit runs replaced (gate_path_copy),
// the body only as its SHA-256.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace phigate::gate {

enum class event_kind : uint8_t { decision, response, count };
const char* event_kind_name(event_kind k);

// What the gate did with a request (more precise than the session's verdict).
enum class outcome : uint8_t {
  allowed,            // forwarded (after the record was durable)
  blocked,            // policy block: injected 403
  approval_required,  // injected 403 with an approval id
  approval_granted,   // forwarded on a valid grant
  approval_refused,   // a grant was presented but does not apply (named in grant_error)
  audit_unavailable,  // the audit ring was full: injected 503
  credential_unfit,   // the route's credential is longer than the caller's value: injected 502
  no_credential,      // the route names a credential the store does not hold: injected 502
  no_policy,          // no policy snapshot loaded: injected 503
  count
};
inline constexpr size_t outcome_count = static_cast<size_t>(outcome::count);
const char* outcome_name(outcome o);

struct audit_event {
  uint64_t seq = 0;           // per lcore, from 1, dense
  int64_t time_ns = 0;        // unix time
  event_kind kind = event_kind::decision;
  uint8_t lcore = 0;
  uint8_t family = 4;         // 4 or 6
  outcome result = outcome::allowed;
  uint64_t conn_id = 0;
  uint32_t request_index = 0;
  uint8_t client_addr[16] = {}, server_addr[16] = {};
  uint16_t client_port = 0, server_port = 0;
  // decision
  char method[12] = {};
  char path[160] = {};        // query dropped, digit runs of 4+ replaced by '#'
  char model[64] = {};
  char subject[96] = {};
  char groups[160] = {};      // comma-joined, truncated with "..." when longer
  char rule_id[48] = {};
  char route_id[32] = {};
  char identity_error[24] = {};  // why the presented token was not accepted ("" when it was / absent)
  char grant_error[24] = {};
  char approval_id[40] = {};
  uint8_t body_sha256[32] = {};
  uint64_t request_bytes = 0;  // head + body as declared
  bool body_complete = true;
  bool credential_swapped = false;
  uint8_t approvals_required = 0;
  uint32_t grant_ttl_s = 0;
  bool grant_one_time = true;
  char approver_groups[96] = {};
  // both: the route's masking profile ("" = the default) and whether the response goes unmasked
  char masking_profile[48] = {};
  bool unmasked = false;
  // response
  uint16_t status = 0;
  bool aborted = false;
  uint64_t response_bytes = 0;
  uint32_t findings = 0;
  static constexpr uint32_t finding_slots = 8;
  uint16_t finding_pattern[finding_slots] = {};
  uint16_t finding_count[finding_slots] = {};
  uint8_t finding_used = 0;
  uint32_t patterns_db = 0;  // pattern_db::serial() the finding_pattern indexes belong to
};

// Single producer (one lcore), single consumer (the writer thread). Capacity a power of two.
class alignas(64) event_ring {
 public:
  explicit event_ring(uint32_t capacity);  // setup time: allocates
  event_ring(const event_ring&) = delete;
  event_ring& operator=(const event_ring&) = delete;

  // Producer: a slot to fill, or nullptr when full. publish() makes it visible.
  audit_event* claim() noexcept;
  void publish() noexcept;
  // Consumer: the oldest unconsumed event or nullptr; pop() frees it.
  const audit_event* peek() noexcept;
  // The i-th unconsumed event (0 = peek()) or nullptr: a consumer that sends events on and pops
  // them only once acknowledged reads ahead of its tail with this.
  const audit_event* peek_at(uint32_t i) noexcept;
  void pop() noexcept;

  uint32_t capacity() const noexcept { return mask_ + 1; }
  uint32_t size() const noexcept;

  // Written by the consumer once events up to this seq are durable; read by the lcore.
  alignas(64) std::atomic<uint64_t> durable{0};

 private:
  std::unique_ptr<audit_event[]> slots_;
  uint32_t mask_ = 0;
  alignas(64) std::atomic<uint32_t> head_{0};  // producer position
  alignas(64) std::atomic<uint32_t> tail_{0};  // consumer position
};

}  // namespace phigate::gate
