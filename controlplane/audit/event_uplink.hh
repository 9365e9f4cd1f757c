#pragma once
// The dataplane's end of the audit uplink (contract: controlplane/ipc/ipc_contract.hh, "Audit"):
// the alternative to event_drain when phigate-cp keeps the audit log. It turns the lcores' audit
// events into audit_record lines for the control socket and, only when phigate-cp acknowledges
// them as durable, pops them from the rings and advances each ring's `durable` seq, which is
// what releases the held requests.
//
// Bounded memory: an event stays in its worker's ring until acknowledged, so a control plane that
// is down or slow fills the rings and the gates answer 503 (fail closed); nothing else grows
// with the backlog except the encoded records of the current connection (one per ring slot).
// The dataplane's own records (recording digests) wait in a bounded queue (full: dropped,
// counted). After a reconnect, restart() makes the next pump() send everything unacknowledged
// again, oldest first; the control plane keeps each record once.
//
// Thread affinity: one owner thread (the drain thread, never an lcore); acknowledgements are
// handed to it by the caller. Setup-grade code: allocates per record.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/ipc/ipc_contract.hh"
#include "dataplane/gate/audit_event.hh"
#include "dataplane/scan/pattern_names.hh"

namespace phigate::audit {

struct event_uplink_counters {
  uint64_t sent = 0;          // audit_record lines produced (resends included)
  uint64_t resent = 0;        // unacknowledged records queued to be sent again after a reconnect
  uint64_t acked = 0;         // records the control plane made durable
  uint64_t owner_dropped = 0; // own records dropped because their queue was full
  uint64_t foreign_acks = 0;  // acknowledgements for another boot or stream (ignored)
};

class event_uplink {
 public:
  // `boot` is this run's 16-hex-digit id (ipc contract); `event_log_path` "" = no event log.
  event_uplink(std::vector<gate::event_ring*> rings, const scan::pattern_names* db, std::string boot,
               const std::string& event_log_path, size_t owner_capacity = 4096);
  ~event_uplink();
  event_uplink(const event_uplink&) = delete;
  event_uplink& operator=(const event_uplink&) = delete;

  // Appends audit_record lines for records not yet sent on this connection, at most `budget`
  // per stream; returns how many.
  size_t pump(std::string& out, size_t budget = 256);
  // Queues one of the dataplane's own records; false when the queue is full (dropped, counted).
  bool append_record(nlohmann::json record);
  // Applies an acknowledgement from the control plane; returns how many records became durable.
  size_t on_ack(const ipc::audit_ack& ack);
  // The connection is gone: the next pump() starts again from the oldest unacknowledged record.
  void restart();

  // Called with each record once it is durable (owner thread). Set before the first pump().
  void set_listener(std::function<void(const nlohmann::json&)> f) { listener_ = std::move(f); }

  const std::string& boot() const noexcept { return boot_; }
  const event_uplink_counters& counters() const noexcept { return n_; }
  // Records waiting for an acknowledgement (sent or not).
  uint64_t backlog() const noexcept;
  // The event log could not be opened or written ("" = fine); it never holds requests back.
  const std::string& event_log_error() const noexcept { return event_error_; }

 private:
  void durable(const nlohmann::json& rec, std::string& lines);

  std::vector<gate::event_ring*> rings_;
  const scan::pattern_names* db_;
  std::string boot_;
  // Per ring: the records sent on this connection, oldest first (they match the ring's
  // unconsumed events one to one from its tail).
  std::vector<std::deque<nlohmann::json>> sent_;
  std::deque<std::pair<uint64_t, nlohmann::json>> owner_;  // unacknowledged own records
  size_t owner_sent_ = 0;                                  // of owner_, sent on this connection
  size_t owner_capacity_;
  uint64_t owner_seq_ = 0;
  int event_fd_ = -1;
  std::string event_path_, event_error_;
  std::function<void(const nlohmann::json&)> listener_;
  event_uplink_counters n_;
};

}  // namespace phigate::audit
