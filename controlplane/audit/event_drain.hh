#pragma once
// The audit ring's consumer: turns the lcores' fixed-size audit events (dataplane/gate) into
// hash-chained, signed audit records and an optional plain JSON-lines event log, makes them
// durable with one fdatasync per batch (group commit), and only then advances each ring's
// `durable` seq, which is what lets the held requests go.
//
// Fail closed: when the audit log cannot be written, `durable` stops advancing, so requests stay
// held, the rings fill and the gates answer 503; the error is returned so the owner can say so
// (the writer is poisoned: the log needs an operator, see audit_log.hh).
//
// Thread affinity: one owner thread (never an lcore). Setup-grade code: allocates per record.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_log.hh"
#include "dataplane/gate/audit_event.hh"
#include "dataplane/scan/pattern_names.hh"

namespace phigate::audit {

// The audit record for one event: identities, routing facts, decisions, counts; never payloads.
// Findings are named by entity and pattern id from the names of the database they were made
// with (audit_event::patterns_db; nullptr: pattern indexes only).
nlohmann::json event_record(const gate::audit_event& e, const scan::pattern_names* db);

// Appends whole lines to the plain event log (retrying short writes); false on a write error.
// Shared by event_drain and event_uplink, the two consumers of the audit rings.
bool event_log_write(int fd, const std::string& lines);

class event_drain {
 public:
  // `log` may be null only in tests of the event log alone; `event_log_path` "" = none.
  event_drain(audit_writer* log, std::vector<gate::event_ring*> rings, const scan::pattern_names* db,
              const std::string& event_log_path);
  ~event_drain();
  event_drain(const event_drain&) = delete;
  event_drain& operator=(const event_drain&) = delete;

  // Takes up to `budget` events per ring, writes them, syncs once, then publishes durability.
  // Returns how many records became durable, or the error that stopped it.
  struct result {
    size_t records = 0;
    std::optional<std::string> error;
  };
  result pump(int64_t now_ms, size_t budget = 256);
  // Appends one record of the owner's own (a finished recording's digest) and makes it durable.
  std::optional<std::string> append_record(const nlohmann::json& record, int64_t now_ms);
  // Signs a checkpoint when one is due even without traffic (call from a timer).
  std::optional<std::string> tick(int64_t now_ms);

  // Called with each record once it is durable (owner thread). Set before the first pump().
  void set_listener(std::function<void(const nlohmann::json&)> f) { listener_ = std::move(f); }

  uint64_t records() const noexcept { return records_; }
  bool failed() const noexcept { return failed_; }

 private:
  audit_writer* log_;
  std::vector<gate::event_ring*> rings_;
  const scan::pattern_names* db_;
  int event_fd_ = -1;
  std::string event_path_;
  uint64_t records_ = 0;
  bool failed_ = false;
  std::function<void(const nlohmann::json&)> listener_;
};

}  // namespace phigate::audit
