#pragma once
// The control plane's end of the audit uplink (contract: controlplane/ipc/ipc_contract.hh,
// "Audit"): phigate-dp sends each audit record over the control socket, this writes it to the
// hash-chained, signed log (audit_log.hh) and answers with acknowledgements only after the batch
// is fdatasync'ed. The dataplane releases a held request only on that acknowledgement, so no
// request is forwarded without a durable record in the control plane's log.
//
// Exactly once, in order: records are named (boot, stream, seq) with seq dense from 1 per stream.
// A record is written only when it is the next of its stream; a resent one the log already holds
// is acknowledged again without a second copy; one after a gap is left unacknowledged (the
// dataplane resends from its oldest unacknowledged record after a reconnect). A stream the log
// has never seen starts at whatever seq arrives first (a new or rotated log while the dataplane
// runs). After a restart recover() reads the log to learn where each stream stopped. The written record is the
// dataplane's record plus "dp_source": {"boot", "stream", "seq"}.
//
// Fail closed: with no log configured, or once the writer is poisoned (a failed write or
// fdatasync), nothing more is acknowledged and every answer carries the reason, so the dataplane's
// rings fill and new protected requests get 503.
//
// Thread affinity: one owner thread (the dataplane link). Setup-grade code: allocates per record.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/audit/audit_log.hh"
#include "controlplane/ipc/ipc_contract.hh"

namespace phigate::audit {

struct audit_sink_counters {
  uint64_t written = 0;       // records appended and made durable
  uint64_t duplicates = 0;    // resent records already in the log (acknowledged again)
  uint64_t out_of_order = 0;  // records after a gap in their stream (left for the resend)
  uint64_t refused = 0;       // records that arrived while the log could not take them
};

class audit_sink {
 public:
  // `log` may be null (no audit log configured): every record is refused with that reason.
  explicit audit_sink(audit_writer* log, std::string no_log_reason = "the control plane has no audit_log configured");

  // Learns the last seq of each (boot, stream) from an existing log. Errors name the line.
  std::optional<std::string> recover(const std::string& path);

  // Writes the batch's next-in-order records with one fdatasync and acknowledges, per (boot,
  // stream) seen in the batch, the highest seq the log now holds.
  // Takes the batch by value: the records move into the log.
  ipc::audit_ack accept(std::vector<ipc::audit_record> batch, int64_t now_ms);

  // Signs a checkpoint when one is due (call from a timer so quiet periods get signed too).
  std::optional<std::string> tick(int64_t now_ms);

  const audit_sink_counters& counters() const noexcept { return n_; }
  bool failed() const noexcept;
  uint64_t last_seq(const std::string& boot, uint32_t stream) const;

 private:
  void remember(const std::string& boot, uint32_t stream, uint64_t seq);

  audit_writer* log_;
  std::string no_log_reason_;
  std::optional<std::string> error_;
  // Last durable seq per (boot, stream). Only the most recent boots are kept: an older run of
  // the dataplane cannot send again.
  std::map<std::pair<std::string, uint32_t>, uint64_t> last_;
  std::deque<std::string> boots_;
  static constexpr size_t max_boots = 16;
  audit_sink_counters n_;
};

}  // namespace phigate::audit
