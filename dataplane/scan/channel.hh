#pragma once
// The streaming scanner: one "channel" of logical text per message body (two for SSE/NDJSON:
// the joined model text and the other fields), scanned as one stream: the database's stream
// automata (scan/stream_dfa.hh) plus a Hyperscan stream of the groups they miss, or a Hyperscan
// stream of every group (older databases, engine_config::stream_automata off).
//
// Design (why it looks like this):
// - Decoders turn raw body bytes into logical text (unescaped, folded) and append it to a
//   per-thread *stage* together with a map back to raw stream offsets. The stage is scanned in
//   large chunks so Hyperscan's per-call cost is amortised; only a small window (the last
//   kWindowBytes of text and the map entries of still-held bytes) persists per flow.
// - The stream scan reports match ends only (no SOM: 3-8x cheaper in Hyperscan). A match's start
//   is recovered from the text before the end by the pattern's reverse form, anchored there (a
//   start automaton, scan/start_dfa.hh, or the block-mode pattern_db::start_db); the longest start
//   that the validator and the context rule accept wins.
// - Hold-back: at the end of each feed the tail is matched backwards against the reverse
//   prefix closure of the set (hold automata, scan/hold_dfa.hh, or pattern_db::hold_db). Its
//   longest match is the earliest byte that could still begin a match; everything before it is
//   final and may be released. Prefix closure is exact for the pattern set, so text that cannot
//   start PHI is never held.
// - Masks are emitted as raw-offset actions the caller applies; a byte the engine declared final
//   is never masked later (such a "late" mask can only follow a timer flush and is counted).
//
// - A channel's Hyperscan stream lives for one message body: opened at channel_open against the
//   database current then, closed at channel_close (end-of-data matches) or channel_release. A
//   new pattern database therefore takes effect at the next body of every flow, while bodies in
//   progress finish on the one they started with (the stream, the start and hold databases and
//   the pattern metadata must agree for a whole message).
//
// Thread affinity: channel_state belongs to one flow (one lcore); scan_scratch to one thread.
// Neither allocates after setup except for stream state, which comes from Hyperscan's stream
// allocator: the dataplane routes it to a per-lcore block pool (scan/stream_pool.hh).
#include <hs.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/mask/mask_action.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/response_mode.hh"

namespace phigate::scan {

inline constexpr uint8_t kFieldSeparator = 0x1f;
inline constexpr uint32_t kWindowBytes = 256;     // >= max_length + context + 2 (pattern_db enforces)
inline constexpr uint32_t kStageBytes = 8192;     // text scanned per Hyperscan call, at most
// Raw-map entries kept for held bytes per channel: a held candidate split into 1-byte tokens
// needs one entry per token; past this the body fails closed (map_overflow, counted).
inline constexpr uint32_t kHeldMapEntries = 48;
// A held entry's raw offset is kept relative to the first held byte in 32 signed bits: held bytes
// whose raw bytes lie further apart (an event envelope of 2 GiB between two tokens of one held
// candidate) also fail closed as map_overflow.
inline constexpr int64_t kHeldRawSpan = INT32_MAX;
inline constexpr uint64_t kNoOffset = ~0ull;

// How logical bytes were produced from raw bytes; decides how a mask rewrites them.
enum class source_kind : uint8_t {
  text,          // identity run: logical byte i is raw byte raw+i
  number,        // identity run inside a JSON number
  json_escape,   // \uXXXX (6 raw bytes) or a surrogate pair (12): all n logical bytes share them
  short_escape,  // \n \/ ... (2 raw bytes)
  utf8_fold,     // a multi-byte UTF-8 character folded to one ASCII byte
};

struct map_entry {
  uint64_t logical;  // first logical byte
  uint64_t raw;      // first raw byte
  uint32_t n;        // logical bytes covered
  uint8_t raw_len;   // raw bytes per entry for non-identity kinds
  source_kind kind;
};

// map_entry as it persists per flow between feeds (8 bytes instead of 24: the held map is most of
// a flow's state). Held entries cover bytes of the saved window only (an identity run reaching
// further back is trimmed to the window's start when saved), so the logical offset fits as a
// distance back from channel_state::logical_end and n stays below 1024; the raw offset is relative
// to channel_state::first_held_raw (the first held entry may begin up to a window before it).
struct held_entry {
  int32_t raw_rel;            // raw - first_held_raw
  uint32_t logical_back : 10;  // logical_end - logical
  uint32_t n : 10;
  uint32_t raw_len : 8;
  uint32_t kind : 3;           // source_kind
};
static_assert(sizeof(held_entry) == 8);

// A finding: never the value, only where it was and what it is.
struct finding {
  uint32_t pattern;    // index into pattern_db::patterns()
  uint64_t raw_start;  // stream offsets [raw_start, raw_end) of the raw bytes it covers
  uint64_t raw_end;
};

enum class flush_mode : uint8_t {
  mask,     // fail closed: held candidate bytes are masked when the timer fires
  release,  // held bytes are released as they are (counted as late if a match completes later)
};

struct scan_counters {
  uint64_t logical_bytes = 0;
  uint64_t reports = 0;            // Hyperscan match reports
  uint64_t findings = 0;
  uint64_t rejected_validator = 0;
  uint64_t rejected_context = 0;
  uint64_t no_start = 0;           // report whose start could not be recovered (should stay 0)
  uint64_t late_mask_bytes = 0;    // masks that hit bytes already released (only after flush)
  uint64_t holds = 0;              // feeds that ended with held bytes
  uint64_t flushes = 0;
  uint64_t map_overflow = 0;
  uint64_t entity_skipped = 0;     // reports of entities the response's profile leaves unmasked
  uint64_t probe_failed = 0;       // timer flush without memory for its probe: held bytes masked
  uint64_t profile_db_fallback = 0; // bodies masked fully: their profile named another database
  uint64_t no_stream_memory = 0;   // bodies failed closed: no stream state available
  uint64_t no_body_memory = 0;     // bodies failed closed: no body state available (engine/flow_engine.hh)
  // Reports naming no stream group: the Hyperscan database disagrees with its group table (only a
  // corrupt or mismatched blob can do this). The match cannot be attributed, so the body fails
  // closed (channel_state::scan_failed) rather than letting its bytes through unmasked.
  uint64_t bad_report = 0;
  // Hyperscan calls that failed (a scratch not made for the database, a database of the wrong
  // mode, ...): the body fails closed the same way (channel.cc, check_hs).
  uint64_t hs_errors = 0;
  // Repeated records (scan/channel.cc, "Repeat skip"): trigger fires not fed to Hyperscan because
  // their bytes repeat bytes scanned earlier in the same call, and the reports replayed for them.
  uint64_t repeat_skipped = 0;
  uint64_t repeat_replays = 0;
  // Replays that did not fit the per-call queue: the body fails closed (scan_failed).
  uint64_t repeat_overflow = 0;
  // Reports of the groups without stream automata (pattern_db::rest_stream_db) that did not fit
  // the per-call queue merging them with the automata's: the body fails closed (should stay 0).
  uint64_t rest_overflow = 0;
};

// Per-body, per-channel state. The Hyperscan stream exists while a message body is open (see
// above). Not cache-line aligned on its own: it lives inside the (aligned) engine::body_state,
// and padding each channel to 64 bytes cost 128 per body.
struct channel_state {
  hs_stream_t* stream = nullptr;
  uint64_t logical_end = 0;     // logical bytes appended in this message
  uint64_t final_logical = 0;   // bytes below this were declared final (released)
  uint64_t first_held_raw = kNoOffset;
  bool open = false;            // a message is being scanned
  bool has_pending = false;     // a finding not yet reported (may still be extended)
  bool overflow = false;        // held map did not fit: the caller must treat the body as unmaskable
  bool scan_failed = false;     // a report named no group or a Hyperscan call failed: unmaskable
  // The stream scan walks the database's stream automata (scan/stream_dfa.hh), `stream` being the
  // missing groups' Hyperscan stream if any; otherwise `stream` scans every group.
  bool automata = false;
  uint8_t held_count = 0;
  uint16_t window_len = 0;
  // Trigger gating (see scan/trigger.hh): Hyperscan sees only regions around trigger bytes, so
  // its stream offsets differ from logical ones by a delta that changes at every gap.
  uint64_t hs_fed = 0;        // bytes given to the Hyperscan stream
  uint64_t fed_upto = 0;      // logical offset after the last byte given (or skipped)
  uint64_t gate_until = 0;    // an open region continues up to here (logical)
  uint64_t call_hs_start = 0; // Hyperscan offset where the latest feed call began
  int64_t call_delta = 0;     // logical - Hyperscan offset within the latest call
  int64_t prev_delta = 0;     // the same for the call before it (late \b reports)
  finding pending{};
  uint64_t pending_logical_start = 0, pending_logical_end = 0;
  uint16_t dfa[kStreamDfaMaxParts];  // each stream automaton's state (when `automata`)
  held_entry held[kHeldMapEntries];
  uint8_t window[kWindowBytes];
};
// Two per open body: a regression guard for the per-body memory (docs/benchmarks.md). 784 since
// the stream automata states (16 bytes) joined it.
static_assert(sizeof(channel_state) <= 784, "channel_state grew: it is per open body, twice");

// Where masks and findings go, and the message's masking profile. The profile travels with the
// sink rather than in channel_state (which is sized to whole cache lines per flow): the caller
// must pass the same entities and style for every call of one message. Matches of patterns whose
// entity bit is clear in `entities` are skipped before start recovery (no mask, no finding;
// counted in scan_counters::entity_skipped); `style` overrides each pattern's mask style, also
// for the fail-closed masks of a timer flush (which otherwise use alnum). A null on_mask scans
// without masking (findings still reported).
struct scan_sink {
  const pattern_db* db = nullptr;  // the message's: the one its channels were opened against
  void* ctx = nullptr;
  void (*on_mask)(void* ctx, const mask::mask_action& a) = nullptr;
  void (*on_finding)(void* ctx, const finding& f) = nullptr;
  uint64_t entities = all_entities;
  style_override style = style_override::pattern;
};

// Per-thread scratch: Hyperscan scratches and one stage per channel slot of the flow being fed.
struct scan_scratch;

scan_scratch* scan_scratch_create(const pattern_db& db);  // setup time (allocates)
void scan_scratch_destroy(scan_scratch* s);
// Between feeds: scan with these Hyperscan scratches from now on (nullptr: the ones allocated at
// create). Each must serve every database a channel of this thread is open on (a scratch
// allocated for one database and grown for the other, pattern_db::alloc_scratch, or a clone of
// such a one). Not owned: the caller frees them once this thread no longer uses them.
scan_counters& scan_scratch_counters(scan_scratch& s);
// Trigger gating is on by default when the pattern set allows it; off scans every byte (the
// reference behaviour the differential tests compare against).
void scan_scratch_set_gating(scan_scratch& s, bool on);
// Whether the hold-back question is answered by the database's automata (the default, when it
// has them) or by its Hyperscan hold database; tests compare the two.
void scan_scratch_set_hold_automata(scan_scratch& s, bool on);
// Whether match starts are found by the database's start automata (the default, for entries
// that have one) or by its Hyperscan start databases; tests compare the two.
void scan_scratch_set_start_automata(scan_scratch& s, bool on);
void scan_scratch_use(scan_scratch& s, hs_scratch_t* stream_scratch, hs_scratch_t* block_scratch);

void channel_init(channel_state& ch);  // an idle channel without a stream
// Abandons the message in progress, if any (no end-of-data report) and frees its stream.
void channel_release(channel_state& ch);

// Starts a message body on `ch` against `db` (window cleared, stream opened). With
// `stream_automata` (and a database that has them) the stream scan walks the automata and
// Hyperscan scans only the groups they miss; without, Hyperscan scans all (the reference the
// tests compare with). False when no stream memory was available: the body cannot be scanned
// and must fail closed.
bool channel_open(channel_state& ch, const pattern_db& db, bool stream_automata = true);

// --- appending logical text during one feed (between channel_begin and channel_end) ---
// `slot` (0 or 1) picks the thread's stage; a flow uses one slot per channel.
void channel_begin(scan_scratch& s, int slot, channel_state& ch, const scan_sink& sink);
void channel_put_run(scan_scratch& s, int slot, const uint8_t* p, size_t n, uint64_t raw, source_kind kind);
void channel_put_mapped(scan_scratch& s, int slot, const uint8_t* p, size_t n, uint64_t raw,
                        uint8_t raw_len, source_kind kind);
void channel_put_separator(scan_scratch& s, int slot);
// A record (an SSE event's JSON, an NDJSON line) starts here. Only a hint for the repeat skip:
// the distance between record starts is the shift at which a record's bytes are compared with
// the one before it. Every skip is checked byte for byte, so a wrong hint only skips less.
void channel_mark_record(scan_scratch& s, int slot);
// Scans what is staged, computes the hold boundary, saves the window. Returns false when the
// body can no longer be masked precisely (fail closed): the held map overflowed
// (channel_state::overflow), or a report named no stream group or a Hyperscan call failed
// (channel_state::scan_failed).
bool channel_end(scan_scratch& s, int slot);

// Message end: reports end-of-data matches, emits the pending finding, everything final; frees
// the stream. False when the body could not be masked precisely (as channel_end): the caller
// must not release its last bytes.
bool channel_close(scan_scratch& s, int slot, channel_state& ch, const scan_sink& sink);
// Timer: decide held bytes now (end-of-data probe on a copy of the stream, then mask or
// release the rest per mode). Everything becomes final; the stream continues.
// False as channel_close.
bool channel_flush(scan_scratch& s, int slot, channel_state& ch, flush_mode mode, const scan_sink& sink);

}  // namespace phigate::scan
