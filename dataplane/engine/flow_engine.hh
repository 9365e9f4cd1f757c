#pragma once
// The per-flow engine: HTTP/1.1 byte streams in, mask actions, findings and a "final" watermark
// out. I/O-agnostic: the DPDK loop, the CLI, tests and benchmarks all drive it the same way.
//
// Contract with the caller (hold-back):
// - Feed each direction's bytes in order, in any segmentation. After each call, raw response
//   bytes below feed_result::final_offset are final: they may be released, and no later mask
//   action will touch them. Bytes at or above it must be held (the engine may still mask them).
// - Apply every mask action (mask::mask_apply) to the held bytes before releasing them.
// - When the oldest held byte has waited long enough (hold_since() + your timeout), call
//   flush_response(): held candidates are decided (masked by default: fail closed).
// - A feed_result with an error means the response cannot be masked (compressed, malformed,
//   unsupported type, framing error): reset the connection; never release the held bytes.
// - Findings carry entity, pattern and raw offsets; never the value.
//
// Thread affinity: a flow_engine belongs to one thread at a time; engine_scratch is per thread;
// the pattern_db is shared read-only. No allocation after flow_engine_setup().
#include <cstddef>
#include <cstdint>

#include "dataplane/core/object_pool.hh"
#include "dataplane/decode/sse.hh"
#include "dataplane/http/http_parser.hh"
#include "dataplane/mask/mask_action.hh"
#include "dataplane/scan/channel.hh"
#include "dataplane/scan/pattern_db.hh"

namespace phigate::engine {

enum class engine_error : uint8_t {
  none,
  http,                      // framing error: see feed_result::http_error
  content_encoding,          // compressed body: cannot be masked
  unsupported_content_type,  // binary or unknown media type on a masked route
  json,                      // malformed JSON body
  sse,                       // malformed event stream
  map_overflow,              // too many escapes held at once to map masks precisely
  no_stream_memory,          // no Hyperscan stream state left (the lcore's pool is exhausted)
  no_body_memory,            // no body state left (more bodies open at once than the pool holds)
  scan_failed,               // a Hyperscan call failed, or the database reported an id it has no entry for
  count
};
inline constexpr size_t engine_error_count = static_cast<size_t>(engine_error::count);
const char* engine_error_name(engine_error e);

enum class body_codec : uint8_t { none, text, json, sse, ndjson };
const char* body_codec_name(body_codec c);
// The codec for a media type (lowercase, no parameters); false when it cannot be masked.
bool codec_for_content_type(const char* type, size_t len, body_codec& out);

struct engine_config {
  const scan::pattern_db* db = nullptr;
  scan::flush_mode flush = scan::flush_mode::mask;
  http::parser_limits limits{};
  bool trigger_gating = true;  // feed Hyperscan only regions around trigger bytes (scan/trigger.hh)
  bool hold_automata = true;   // answer the hold-back question by table walks (scan/hold_dfa.hh)
  bool start_automata = true;  // find match starts by table walks where an entry has one (scan/start_dfa.hh)
  bool stream_automata = true; // scan by table walks where the database has them (scan/stream_dfa.hh)
};
// Checks the configuration (window size against the pattern set). Returns nullptr or a reason.
const char* engine_config_check(const engine_config& cfg);

struct engine_sink {
  void* ctx = nullptr;
  void (*on_mask)(void* ctx, const mask::mask_action& a) = nullptr;
  void (*on_finding)(void* ctx, const scan::finding& f) = nullptr;
  void (*on_request_head)(void* ctx, const http::message_head& h) = nullptr;
  // Offset one past a request's last byte (the policy hold decides per request at this point).
  void (*on_request_end)(void* ctx, uint64_t stream_off) = nullptr;
  void (*on_response_head)(void* ctx, const http::message_head& h, body_codec codec) = nullptr;
  void (*on_response_end)(void* ctx, uint64_t stream_off) = nullptr;
};

struct feed_result {
  engine_error error = engine_error::none;
  http::error http_error = http::error::none;
  uint64_t final_offset = 0;  // response bytes below this are final
};

// A response body's decoder and scanner state. Only an open body needs it, so it is not part of
// the flow: the thread's engine_scratch holds a pool of them (engine_scratch_create), a body takes
// one when it starts and returns it when it ends or is abandoned. A body that finds the pool empty
// fails closed (no_body_memory). ~1.6 KB: most of what an open body costs besides its streams.
struct engine_scratch;
struct body_state {
  engine_scratch* x = nullptr;  // the scratch it came from; the body's database is its slot `slot`
  uint64_t entities = scan::all_entities;  // the body's masking profile (copied from the mode)
  scan::style_override style = scan::style_override::pattern;
  bool unmasked = false;
  uint8_t slot = 0;
  decode::sse_state dec;           // SSE state; its JSON and fold states serve the other codecs
  scan::channel_state channel[2];  // [0] joined text, [1] fields
};

// Setup time. `open_bodies`: how many response bodies may be open at once on this thread (the
// body_state pool; reserved here, touched only as bodies need it).
inline constexpr uint32_t kDefaultOpenBodies = 1024;
engine_scratch* engine_scratch_create(const engine_config& cfg, uint32_t open_bodies = kDefaultOpenBodies);
void engine_scratch_destroy(engine_scratch* x);
scan::scan_counters& engine_scratch_counters(engine_scratch& x);
// The body_state pool (any thread may read it: monitoring).
core::object_pool_stats engine_scratch_body_stats(const engine_scratch& x);

// Pattern database swaps (phigate-cp pushes a new one while traffic flows). A thread's bodies
// bind, when they start, to the database current on its engine_scratch and finish on it; two
// slots hold the current database and the one before, which keeps serving bodies that started
// on it until they end.
//
// Between feeds, on the scratch's thread: bodies that start from now on use `db` (in the slot
// the current one does not occupy). The other slot must have no open body (its database is
// replaced); returns that slot, or -1 when it still has open bodies (retry later). The
// Hyperscan scratches must serve `db` and the current database (see scan::scan_scratch_use);
// the caller owns them and frees the previous pair once this thread passed a quiescent point.
int engine_scratch_adopt(engine_scratch& x, const scan::pattern_db& db, hs_scratch_t* stream_scratch,
                         hs_scratch_t* block_scratch);
// The database new bodies bind to.
const scan::pattern_db* engine_scratch_db(const engine_scratch& x);
// Bodies open on slot 0 or 1 (any thread may read it: the owner decides when to free a database).
int64_t engine_scratch_open_bodies(const engine_scratch& x, int slot);

struct alignas(64) flow_engine {
  body_state* body = nullptr;    // while a body is open (a body keeps the database it started with)
  http::parser request;
  http::parser response;
  uint64_t response_end = 0;     // response bytes fed so far
  uint64_t head_start = 0;       // start of the response head being parsed (held until complete)
  uint64_t hold_since_ns = 0;    // when the current hold began (0: nothing held)
  uint64_t final_offset = 0;
  scan::response_mode mode{};    // how the next response body is masked (set_response_mode)
  body_codec codec = body_codec::none;
  bool in_body = false;
  engine_error error = engine_error::none;
};
// One per flow slot: grow it only with a measurement in docs/benchmarks.md. It was 4096 before the
// held map was packed and the request-target copy left the parsers, 2048 before the body state
// moved to a pool.
static_assert(sizeof(flow_engine) <= 384, "flow_engine grew: it is per-flow state");

// The database the body in progress is scanned with (nullptr between bodies): findings name
// their patterns by its indexes. Its slot on the scratch (0 or 1; 0 between bodies).
const scan::pattern_db* flow_engine_body_db(const flow_engine& f);
inline int flow_engine_body_slot(const flow_engine& f) { return f.body != nullptr ? f.body->slot : 0; }

// Setup time (the parsers take cfg.limits; body state and streams are taken per body, see
// body_state and engine_scratch_adopt). Returns false on allocation failure.
bool flow_engine_setup(flow_engine& f, const engine_config& cfg);
// Returns the body state and streams of a body in progress. On the flow's thread, or after it
// stopped.
void flow_engine_teardown(flow_engine& f);
// A new connection on a set-up engine (no allocation). The response mode returns to the default
// (every entity masked, each pattern's own style).
void flow_engine_reset(flow_engine& f);
// How the response whose head comes next is masked. It takes effect when that response's body
// starts: call it before feeding the head, or from engine_sink::on_response_head (which runs
// before the body's channels open). A body already in progress keeps the mode it started with.
// `unmasked`: the body is still decoded and scanned (findings reported, errors still fail the
// response) but no mask action is emitted.
inline void set_response_mode(flow_engine& f, const scan::response_mode& m) { f.mode = m; }

feed_result feed_request(flow_engine& f, engine_scratch& x, const uint8_t* data, size_t len, uint64_t now_ns,
                         const engine_sink& sink);
feed_result feed_response(flow_engine& f, engine_scratch& x, const uint8_t* data, size_t len, uint64_t now_ns,
                          const engine_sink& sink);
// The server closed its side (FIN): completes a read-until-close body, or reports truncation.
feed_result finish_response(flow_engine& f, engine_scratch& x, uint64_t now_ns, const engine_sink& sink);
// Timer: decides every held byte now per cfg.flush (see channel_flush).
feed_result flush_response(flow_engine& f, engine_scratch& x, uint64_t now_ns, const engine_sink& sink);
// When the oldest currently held response byte was first held; 0 when nothing is held.
inline uint64_t hold_since(const flow_engine& f) { return f.hold_since_ns; }

}  // namespace phigate::engine
