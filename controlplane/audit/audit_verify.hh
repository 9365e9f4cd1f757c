#pragma once
// Verification of an audit log (format: audit_format.hh) against the checkpoint public key.
//
// Detects, at the first line where the evidence breaks:
//   modification of a record         -> bad_hash on that line (or bad_prev on the next line when
//                                       the forger recomputed the hash, or checkpoint_hash at the
//                                       next checkpoint when the forger rewrote the whole suffix)
//   deletion of a record             -> bad_seq on the line after the gap
//   insertion of a forged line       -> bad_seq / bad_prev on the first line it contradicts
//   reordering                       -> bad_seq on the first line out of place
//   truncation                       -> partial_line (cut inside a line), unsigned_tail (records
//                                       after the last checkpoint), truncated (fewer records than
//                                       an externally known count), empty
//   forged or foreign checkpoints    -> bad_signature
// A hash chain alone can be recomputed by anyone who can write the file; only the signed
// checkpoints bind it to the key holder, which is why records after the last checkpoint are
// reported as an unsigned tail rather than as verified.
//
// Reports carry line numbers, sequence numbers and reasons only: never record contents (callers
// keep PHI out of records, and a verifier printing records would be a second copy anyway).
// Memory is bounded by audit_max_line_bytes whatever the file holds. Any thread; no shared
// state; the public key is only read.
#include <cstdint>
#include <string>
#include <string_view>

#include "controlplane/audit/audit_format.hh"
#include "controlplane/auth/crypto_util.hh"

namespace phigate::audit {

enum class audit_fault : uint8_t {
  none,
  unreadable,          // the file cannot be opened or read
  empty,               // no line at all
  line_too_long,       // longer than audit_max_line_bytes
  partial_line,        // the file ends inside a line (cut mid-write or truncated)
  malformed_line,      // not JSON, not a record or checkpoint, wrong member types or set
  noncanonical_line,   // parses, but is not byte-for-byte the canonical spelling
  bad_seq,             // not the next sequence number
  bad_prev,            // prev is not the previous record's hash
  bad_hash,            // hash does not match the record
  checkpoint_count,    // checkpoint count is not the number of records before it
  checkpoint_hash,     // checkpoint last_hash is not the chain head
  checkpoint_time,     // checkpoint time earlier than the previous checkpoint's
  bad_signature,       // checkpoint signature invalid for the public key
  checkpoint_missing,  // more than max_records_between_checkpoints records without a checkpoint
  unsigned_tail,       // records after the last checkpoint (see allow_unsigned_tail)
  truncated,           // fewer records than expect_min_records
};
std::string_view audit_fault_name(audit_fault f) noexcept;

struct audit_verify_options {
  // A live or crashed writer leaves records after its last checkpoint; accept them (they are
  // counted in unsigned_records) instead of failing.
  bool allow_unsigned_tail = false;
  // A count known from elsewhere (a checkpoint shipped off the machine, the writer's own
  // counter): a log holding fewer records was truncated. 0: no expectation.
  uint64_t expect_min_records = 0;
  // 0 disables the check.
  uint64_t max_records_between_checkpoints = audit_max_records_per_checkpoint;
};

struct audit_report {
  audit_fault fault = audit_fault::none;
  uint64_t line = 0;   // 1-based line of the fault; for empty/partial/truncated the line after
                       // the last complete one; 0 when there is no fault
  std::string detail;  // numbers only, e.g. "expected seq 12, found 14"
  uint64_t lines = 0;  // complete lines accepted before the fault (all of them when intact)
  uint64_t records = 0, checkpoints = 0;
  uint64_t signed_records = 0;    // covered by the last good checkpoint
  uint64_t unsigned_records = 0;  // after it
  int64_t last_checkpoint_ms = 0;
  std::string head_hash{audit_genesis_hex};  // hex hash of the last accepted record
  bool signatures_checked = false;           // false when no public key was given

  // No fault and every checkpoint signature verified.
  bool intact() const noexcept { return fault == audit_fault::none && signatures_checked; }
};

// `public_key` may be null: the chain is still checked, signatures are not, and the report is
// never intact().
audit_report audit_verify(const std::string& path, EVP_PKEY* public_key, const audit_verify_options& options = {});
// The same over a whole log held in memory.
audit_report audit_verify_text(std::string_view log_text, EVP_PKEY* public_key,
                               const audit_verify_options& options = {});

}  // namespace phigate::audit
