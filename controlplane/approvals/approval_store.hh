#pragma once
// Just-in-time approvals: SQLite persistence of the state machine in approval_state.hh.
//
// Every operation is one transaction (BEGIN IMMEDIATE: load the row, apply the pure
// transition, write the row, COMMIT). The database runs in WAL mode with synchronous=FULL, so
// a committed transition (a vote, a consumed one-time grant) survives a crash or power loss:
// check_grant() returns `ok` for a one-time grant only after its consumption is durable, and a
// replay after a restart is refused. Reopening the file yields identical records.
//
// Thread safety: every member function may be called from any thread (the REST handlers run
// on httplib's pool, grant checks on the IPC thread); one internal mutex serializes them, so
// two concurrent checks of a one-time grant yield exactly one `ok`. Control-plane code: it
// allocates and blocks on disk; never call it from a dataplane lcore.
//
// Ids are 128 bits from OpenSSL's CSPRNG, so holding an id is not a credential but guessing
// one is not a way in either. The body is never stored, only its digest; the API keeps the
// digest to itself (a short body's digest is a dictionary oracle for the values in it).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "controlplane/approvals/approval_state.hh"

struct sqlite3;

namespace phigate::approvals {

enum class approval_event_kind : uint8_t {
  created,   // a new pending request
  voted,     // an approval that did not complete the quorum
  approved,  // the vote that completed the quorum: the grant is active
  rejected,
  revoked,
  consumed,  // a one-time grant was used
};
std::string_view approval_event_kind_name(approval_event_kind k) noexcept;

struct approval_event {
  approval_event_kind kind = approval_event_kind::created;
  std::string actor;  // the deciding approver; the requester for created and consumed
  approval_record record;  // after the transition
};

// Called after each committed transition, in commit order, with the store's mutex held: it must
// not block and must not call back into the store (approval_webhook's notify() only enqueues).
using approval_listener = std::function<void(const approval_event&)>;

class approval_store {
 public:
  // Opens or creates the database at `path` (":memory:" for throwaway tests) and checks the
  // schema. Fails with a message naming the step (open, pragma, schema) and SQLite's reason.
  static std::variant<std::unique_ptr<approval_store>, std::string> open(const std::string& path,
                                                                         approval_config config = {});
  ~approval_store();
  approval_store(const approval_store&) = delete;
  approval_store& operator=(const approval_store&) = delete;

  // Set once before the store is shared between threads.
  void set_listener(approval_listener listener);
  const approval_config& config() const noexcept { return config_; }

  // A new pending request with a fresh random id.
  std::variant<approval_record, approval_failure> create(const approval_request& req, int64_t now_s);
  // A new pending request under an id the dataplane already gave the caller (32 lowercase hex
  // characters). Idempotent for at-least-once delivery: the same id with the same request
  // returns the stored record and announces nothing; the same id with a different request
  // (requester, route, body digest, rule...) fails with duplicate_id.
  std::variant<approval_record, approval_failure> create_with_id(std::string_view id, const approval_request& req,
                                                                 int64_t now_s);

  std::variant<approval_record, approval_failure> get(std::string_view id);

  std::variant<approval_record, approval_failure> approve(std::string_view id, const principal& who, int64_t now_s);
  std::variant<approval_record, approval_failure> reject(std::string_view id, const principal& who,
                                                         std::string_view reason, int64_t now_s);
  std::variant<approval_record, approval_failure> revoke(std::string_view id, const principal& who,
                                                         std::string_view reason, int64_t now_s);

  // The dataplane's question when a caller retries with an approval id. Fails closed: a
  // database error answers storage_error, never ok.
  grant_status check_grant(std::string_view id, std::string_view subject, std::string_view route,
                           std::string_view body_digest, int64_t now_s);

  // Records newest first, in effective state `state` at `now_s` (all states when nullopt), that
  // `visible` accepts (all when empty); at most `limit`.
  std::variant<std::vector<approval_record>, approval_failure> list(
      std::optional<approval_state> state, int64_t now_s, size_t limit,
      const std::function<bool(const approval_record&)>& visible = {});

  // Deletes records that reached a final effective state (rejected, revoked, consumed, expired)
  // and were created before `created_before_s`; returns how many. Keeps the file bounded.
  std::variant<size_t, approval_failure> prune(int64_t created_before_s, int64_t now_s);

 private:
  approval_store(sqlite3* db, approval_config config) : db_(db), config_(config) {}

  std::variant<approval_record, approval_failure> insert(std::string id, const approval_request& req, int64_t now_s,
                                                         bool idempotent);
  using transition = std::function<std::optional<approval_failure>(approval_record&)>;
  std::variant<approval_record, approval_failure> update(std::string_view id, const transition& apply,
                                                         const principal& who);
  std::optional<approval_failure> exec(const char* sql);
  std::variant<std::optional<approval_record>, approval_failure> load(std::string_view id);
  std::optional<approval_failure> store(const approval_record& r, bool insert);
  void emit(approval_event_kind kind, const std::string& actor, const approval_record& r) noexcept;

  std::mutex mu_;
  sqlite3* db_;  // owned; used only with mu_ held
  approval_config config_;
  approval_listener listener_;
};

}  // namespace phigate::approvals
