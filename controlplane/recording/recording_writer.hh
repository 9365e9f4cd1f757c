#pragma once
// Records one session as the dataplane forwarded it, then seals it to <dir>/<session-id>.rec.
//
// Lifecycle: construct at the session start (metadata, the start time on the caller's monotonic
// clock, limits) -> append() each forwarded chunk with its time and mask spans, add_request_id()
// as requests are seen -> finish() once, when the session ends, which encrypts, writes the file
// atomically (temp file, fsync, rename without replace, fsync of the directory) and returns the
// SHA-256 of the file for the audit record.
//
// Bounded: at most limits.max_bytes of event bytes, max_events events and max_masks spans are
// kept. The first append that does not fit is cut at the byte cap (or dropped whole for the event
// and span caps), a truncation marker is set, and every later append is only counted (bytes and
// events dropped). append() never fails and never aborts the session.
//
// Defence in depth: request chunks pass through a header_redactor, so credential header values
// are stored as "[redacted]" even if the dataplane's credential swap missed them. Mask spans are
// moved to follow the redaction; a span lying wholly inside a redacted value disappears with it.
// Spans that fall outside their chunk or have zero length are dropped and counted
// (recording::rejected_masks): they signal a dataplane bug, not an attack.
//
// Thread affinity: one writer per session, used by one thread at a time (a control-plane or
// recorder thread, never an lcore: append copies and allocates). No globals; time is an argument.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "controlplane/recording/header_redactor.hh"
#include "controlplane/recording/recording_key.hh"
#include "controlplane/recording/recording_types.hh"

namespace phigate::recording {

// A mask the engine applied to a chunk: [offset, offset + length) of that chunk as forwarded.
// `entity` is only read during append(); names outside [A-Za-z0-9_-]{1,32} are stored as "unknown".
struct recording_mask_span {
  uint32_t offset = 0;
  uint32_t length = 0;
  std::string_view entity;
};

struct recording_limits {
  uint64_t max_bytes = 1u << 20;  // event bytes per session; clamped to recording_max_cap_bytes
  uint32_t max_events = 65536;
  uint32_t max_masks = 65536;
  std::vector<std::string> extra_redacted_headers;  // besides authorization, proxy-authorization, x-api-key, cookie
};

inline constexpr size_t recording_max_request_ids = 1024;
inline constexpr size_t recording_max_meta_text_bytes = 256;  // longer ids and addresses are cut

struct recording_written {
  std::string path;        // <dir>/<session-id>.rec
  std::string sha256_hex;  // of the whole file: goes into the audit record
  uint64_t file_bytes = 0;
};

class recording_writer {
 public:
  // `start_mono_ns` is the session start on the same monotonic clock later passed to append().
  recording_writer(recording_meta meta, int64_t start_mono_ns, recording_limits limits = {});
  ~recording_writer();
  recording_writer(const recording_writer&) = delete;
  recording_writer& operator=(const recording_writer&) = delete;
  recording_writer(recording_writer&&) = default;

  void add_request_id(std::string_view id);

  // Times before the start or before the previous append are clamped, keeping events ordered.
  void append(int64_t now_mono_ns, recording_direction dir, std::span<const uint8_t> bytes,
              std::span<const recording_mask_span> masks = {});
  void append(int64_t now_mono_ns, recording_direction dir, std::string_view bytes,
              std::span<const recording_mask_span> masks = {});

  // What is stored so far (format_version and key_id unset).
  const recording& current() const { return rec_; }
  uint64_t stored_bytes() const { return stored_bytes_; }

  // The sealed file bytes, without writing anything (for another store, or tests). Fails on an
  // invalid session id (recording_session_id_valid).
  std::variant<std::string, recording_error> seal(const recording_key& key) const;

  // Seals and writes <dir>/<session-id>.rec (mode 0600). Refuses to replace an existing file
  // (kind `exists`). On success the stored events are wiped and released and later appends are
  // ignored; on failure nothing is left on disk and finish() may be retried.
  std::variant<recording_written, recording_error> finish(const recording_key& key, const std::string& dir);
  bool finished() const { return finished_; }

 private:
  void truncate(const char* cap, int64_t t_ns);
  void wipe();

  recording rec_;
  header_redactor redactor_;
  int64_t start_mono_ns_;
  int64_t last_t_ns_ = 0;
  uint64_t stored_bytes_ = 0;
  uint64_t stored_masks_ = 0;
  uint32_t max_events_;
  uint32_t max_masks_;
  bool finished_ = false;
};

}  // namespace phigate::recording
