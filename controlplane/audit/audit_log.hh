#pragma once
// The audit log writer: an append-only, hash-chained JSON-lines file with Ed25519-signed
// checkpoints (format: audit_format.hh; verification: audit_verify.hh).
//
// Durability: append() returns a seq only after the line is written with O_APPEND and
// fdatasync()ed, so an acknowledged record survives a crash. Any write or sync failure poisons
// the writer (every later call fails): after a failed fdatasync the page cache state is unknown
// and retrying could acknowledge lost data. The log then needs an operator.
//
// Checkpoints are written when 1000 records (checkpoint_every_records) are unsigned, when the
// oldest unsigned record is 1 s (checkpoint_every_ms) old at an append() or checkpoint_if_due()
// call, on checkpoint(), and on close(). The owner should call checkpoint_if_due() from a timer
// so quiet periods do not leave records unsigned. Time is injected (unix milliseconds); a clock
// that steps back is clamped so checkpoint times never decrease.
//
// Reopening an existing log verifies it first with the signing key's public half and refuses
// to extend a chain that is not intact (an unsigned tail from a crash is accepted and signed by
// the next checkpoint). An exclusive flock keeps a second writer out.
//
// Thread affinity: one owner thread; no internal locking. Setup-grade code (allocates per
// record); errors are values and never quote record contents.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json_fwd.hpp>

#include "controlplane/audit/audit_format.hh"
#include "controlplane/auth/crypto_util.hh"

namespace phigate::audit {

struct audit_writer_options {
  uint64_t checkpoint_every_records = audit_max_records_per_checkpoint;  // 1..1000
  int64_t checkpoint_every_ms = 1000;                                    // > 0
};

class audit_writer {
 public:
  // Opens or creates (mode 0600) `path`. `signing_key` must be an Ed25519 private key.
  static std::variant<std::unique_ptr<audit_writer>, audit_error> open(const std::string& path, auth::pkey_ptr signing_key,
                                                                       const audit_writer_options& options = {});
  // Closes the file without a checkpoint (as a crash would); call close() for a signed end.
  ~audit_writer();
  audit_writer(const audit_writer&) = delete;
  audit_writer& operator=(const audit_writer&) = delete;

  // Appends a JSON object record; returns its seq once durable. A checkpoint that becomes due
  // is written after the record; if that fails the record is still durable and its seq is
  // returned, and the writer is poisoned for the next call.
  // sync == false (group commit): the line is written but not yet durable; call sync() before
  // acknowledging any record appended this way.
  std::variant<uint64_t, audit_error> append(const nlohmann::json& record, int64_t now_ms, bool sync = true);
  // fdatasync of everything written so far (no-op when nothing is pending).
  std::optional<audit_error> sync();

  // Signs a checkpoint covering every record so far (no-op when the last line already is one).
  std::optional<audit_error> checkpoint(int64_t now_ms);
  // Signs one only when due (see the header comment).
  std::optional<audit_error> checkpoint_if_due(int64_t now_ms);
  // Final checkpoint, then closes the file. Further calls fail.
  std::optional<audit_error> close(int64_t now_ms);

  uint64_t records() const noexcept { return records_; }
  uint64_t unsigned_records() const noexcept { return pending_; }
  bool failed() const noexcept { return failed_; }
  uint64_t syncs() const noexcept { return syncs_; }  // fdatasync calls made (durability tests)
  const std::string& path() const noexcept { return path_; }

 private:
  audit_writer() = default;
  std::optional<audit_error> write_line(std::string line, bool sync = true);
  std::optional<audit_error> usable() const;

  std::string path_;
  int fd_ = -1;
  auth::pkey_ptr key_;
  audit_writer_options options_;
  uint64_t records_ = 0;
  uint64_t pending_ = 0;            // records after the last checkpoint
  int64_t first_pending_ms_ = 0;    // append time of the oldest of them
  bool pending_age_unknown_ = false;  // unsigned tail found at reopen: due at once
  bool last_line_is_checkpoint_ = false;
  bool any_line_ = false;
  int64_t last_checkpoint_ms_ = 0;
  auth::sha256_digest head_{};
  bool failed_ = false;
  bool unsynced_ = false;  // lines written since the last fdatasync
  uint64_t syncs_ = 0;
  bool closed_ = false;
};

}  // namespace phigate::audit
