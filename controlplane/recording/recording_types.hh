#pragma once
// The data model of a session recording, shared by the writer, the reader and `phigate replay`.
//
// A recording is one HTTP exchange, or a keep-alive session of several, as the dataplane
// forwarded it: events in order, each one chunk of one direction with its time relative to the
// session start and the mask spans the engine applied to that chunk. The bytes are the forwarded
// (already masked) bytes, so a recording holds no PHI the engine recognised; it can still hold
// PHI the engine missed, which is why the file is encrypted at rest.
//
// Plain values: no invariants beyond what the writer establishes and the reader checks; any
// thread may copy or read them.
#include <cstdint>
#include <string>
#include <vector>

namespace phigate::recording {

enum class recording_direction : uint8_t { request, response };

// "request" / "response"; never null.
inline const char* recording_direction_name(recording_direction d) {
  return d == recording_direction::request ? "request" : "response";
}

// One masked span inside an event's bytes: [offset, offset + length) of the event as stored.
// The entity names what was masked ("ssn"), never the value.
struct recorded_mask {
  uint32_t offset = 0;
  uint32_t length = 0;
  std::string entity;
};

struct recorded_event {
  int64_t t_ns = 0;  // since the session start; non-decreasing across events
  recording_direction direction = recording_direction::request;
  std::string bytes;                  // as forwarded; request credential header values redacted
  std::vector<recorded_mask> masks;  // ascending offsets, within bytes
};

// Endpoints of the recorded TCP flow. Addresses are textual (inet_ntop form, no brackets).
struct recording_flow {
  std::string client_addr;
  uint16_t client_port = 0;
  std::string server_addr;
  uint16_t server_port = 0;
};

struct recording_meta {
  std::string session_id;  // also the file name: <session_id>.rec
  recording_flow flow;
  int64_t start_unix_ns = 0;             // wall clock (UTC) at the session start
  std::vector<std::string> request_ids;  // one per request of the session, in order
};

// Present when the per-session cap stopped the recording: everything after the cut point was
// dropped (the stored events are an exact prefix of the session, the last one possibly cut).
struct recording_truncation {
  bool truncated = false;
  std::string cap;              // which limit: "max_bytes", "max_events" or "max_masks"
  int64_t at_t_ns = 0;          // time of the first event not stored in full
  uint64_t bytes_dropped = 0;   // bytes not stored
  uint64_t events_dropped = 0;  // events not stored in full (the cut one included)
};

struct recording {
  uint32_t format_version = 0;  // of the file it was read from (the reader fills it)
  std::string key_id;           // hex id of the key that sealed it (the reader fills it)
  recording_meta meta;
  std::vector<recorded_event> events;
  recording_truncation truncation;
  uint64_t max_bytes = 0;        // the byte cap in force while recording
  uint64_t rejected_masks = 0;   // spans the dataplane passed outside their chunk (a bug signal)
};

enum class recording_error_kind : uint8_t {
  invalid_argument,       // a bad session id, directory, option
  io,                     // open, read, write, fsync, rename failed
  exists,                 // the recording or key file already exists (never overwritten)
  key,                    // key file missing, wrong size, readable by others
  not_a_recording,        // wrong magic
  unsupported_version,    // a format version this build cannot read
  truncated,              // shorter than header + nonce + tag
  wrong_key,              // authentication failed and the key ids differ
  authentication_failed,  // the tag does not verify: modified, damaged or truncated
  malformed,              // authenticated but not a valid recording document
};

// `reason` names the file, the field or the limit and what failed; it never quotes recorded
// bytes or key material.
struct recording_error {
  recording_error_kind kind = recording_error_kind::invalid_argument;
  std::string reason;
};

}  // namespace phigate::recording
