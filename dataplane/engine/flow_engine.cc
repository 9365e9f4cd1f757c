#include "dataplane/engine/flow_engine.hh"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <string_view>

namespace phigate::engine {

struct engine_scratch {
  const engine_config* cfg = nullptr;
  scan::scan_scratch* scan = nullptr;
  const scan::pattern_db* dbs[2] = {nullptr, nullptr};
  int current = 0;
  // Written by the owner thread only (load + store, no read-modify-write); read by any.
  std::atomic<int64_t> open_bodies[2] = {0, 0};
  core::object_pool<body_state> bodies;
};

namespace {

constexpr decode::json_slots kSlots{0, 1};
constexpr int kText = 0, kFields = 1;

// The scan sink of the body in progress: its profile, and no masks when it goes unmasked.
// Only called while a body is bound.
scan::scan_sink body_sink(const flow_engine& f, const engine_sink& sink) {
  const body_state& b = *f.body;
  return {flow_engine_body_db(f), sink.ctx, b.unmasked ? nullptr : sink.on_mask, sink.on_finding, b.entities, b.style};
}

struct call {
  flow_engine& f;
  engine_scratch& x;
  const engine_sink& sink;
  bool begun[2] = {false, false};
  // The response mode decides at channel open whether masks reach the caller at all.
  scan::scan_sink scan_sink() const { return body_sink(f, sink); }
};

void begin_open_channels(call& c) {
  for (int slot = 0; slot < 2; ++slot) {
    if (c.f.body == nullptr) return;
    scan::channel_state& ch = c.f.body->channel[slot];
    if (ch.open && !c.begun[slot]) {
      scan::channel_begin(*c.x.scan, slot, ch, c.scan_sink());
      c.begun[slot] = true;
    }
  }
}

void fail(flow_engine& f, engine_error e) {
  if (f.error == engine_error::none) f.error = e;
}

// Why a channel said its body can no longer be masked precisely.
engine_error channel_error(const scan::channel_state& ch) {
  return ch.scan_failed ? engine_error::scan_failed : engine_error::map_overflow;
}

// Saves staged text of the channels begun in this call; false when a held map overflowed.
void end_begun_channels(call& c) {
  for (int slot = 0; slot < 2; ++slot) {
    if (!c.begun[slot]) continue;
    c.begun[slot] = false;
    if (!scan::channel_end(*c.x.scan, slot)) fail(c.f, channel_error(c.f.body->channel[slot]));
  }
}

void open_channel(call& c, int slot, const scan::pattern_db& db) {
  scan::channel_state& ch = c.f.body->channel[slot];
  if (!scan::channel_open(ch, db, c.x.cfg->stream_automata)) {
    scan::scan_scratch_counters(*c.x.scan).no_stream_memory++;
    return fail(c.f, engine_error::no_stream_memory);
  }
  scan::channel_begin(*c.x.scan, slot, ch, c.scan_sink());
  c.begun[slot] = true;
}

inline void count_bodies(engine_scratch& x, int slot, int64_t d) {
  x.open_bodies[slot].store(x.open_bodies[slot].load(std::memory_order_relaxed) + d, std::memory_order_release);
}

// The body's streams are gone (closed or released) and its state is back in the pool: its
// database may be freed once no other body holds it.
void unbind_body(flow_engine& f) {
  body_state* b = f.body;
  if (b == nullptr) return;
  for (auto& ch : b->channel) scan::channel_release(ch);
  count_bodies(*b->x, b->slot, -1);
  b->x->bodies.put(b);
  f.body = nullptr;
}

void on_response_head(void* ctx, const http::message_head& h) {
  call& c = *static_cast<call*>(ctx);
  flow_engine& f = c.f;
  if (f.error != engine_error::none) return;
  f.head_start = scan::kNoOffset;
  body_codec codec = body_codec::none;
  const bool has_body = !h.interim && h.body != http::body_kind::none;
  if (has_body) {
    if (h.has_content_encoding) return fail(f, engine_error::content_encoding);
    if (!codec_for_content_type(h.content_type, h.content_type_len, codec))
      return fail(f, engine_error::unsupported_content_type);
  }
  if (c.sink.on_response_head) c.sink.on_response_head(c.sink.ctx, h, codec);
  f.codec = codec;
  if (!has_body) return;
  engine_scratch& x = c.x;
  const scan::pattern_db& db = *x.dbs[x.current];
  unbind_body(f);  // defensive: a body still bound would keep its slot's count (and database) forever
  body_state* b = x.bodies.take();
  if (b == nullptr) {
    scan::scan_scratch_counters(*x.scan).no_body_memory++;
    return fail(f, engine_error::no_body_memory);
  }
  decode::sse_init(b->dec);
  for (auto& ch : b->channel) scan::channel_init(ch);
  b->x = &x;
  b->slot = static_cast<uint8_t>(x.current);
  count_bodies(x, x.current, +1);
  b->unmasked = f.mode.unmasked;
  b->entities = f.mode.entities;
  b->style = f.mode.style;
  if (b->entities != scan::all_entities && f.mode.db != db.serial()) {
    b->entities = scan::all_entities;
    scan::scan_scratch_counters(*x.scan).profile_db_fallback++;
  }
  f.body = b;
  f.in_body = true;
  if (codec != body_codec::json) open_channel(c, kText, db);
  if (codec != body_codec::text && f.error == engine_error::none) open_channel(c, kFields, db);
}

void on_response_body(void* ctx, const uint8_t* data, size_t len, uint64_t off) {
  call& c = *static_cast<call*>(ctx);
  flow_engine& f = c.f;
  if (f.error != engine_error::none || !f.in_body) return;
  scan::scan_scratch& s = *c.x.scan;
  decode::sse_state& d = f.body->dec;
  switch (f.codec) {
    case body_codec::text: decode::fold_feed(d.fold, s, kText, data, len, off); break;
    case body_codec::json:
      if (!decode::json_feed(d.json, decode::json_mode::document, kSlots, s, data, len, off))
        fail(f, engine_error::json);
      break;
    case body_codec::ndjson:
      if (!decode::json_feed(d.json, decode::json_mode::events, kSlots, s, data, len, off))
        fail(f, engine_error::json);
      break;
    case body_codec::sse:
      if (!decode::sse_feed(d, kSlots, s, data, len, off)) fail(f, engine_error::sse);
      break;
    case body_codec::none: break;
  }
}

void on_response_end(void* ctx, uint64_t off) {
  call& c = *static_cast<call*>(ctx);
  flow_engine& f = c.f;
  if (f.error != engine_error::none) return;
  if (f.in_body) {
    scan::scan_scratch& s = *c.x.scan;
    decode::sse_state& d = f.body->dec;
    switch (f.codec) {
      case body_codec::text: decode::fold_finish(d.fold, s, kText); break;
      case body_codec::json:
      case body_codec::ndjson:
        decode::fold_finish(d.json.fold, s, kFields);
        if (!decode::json_complete(d.json)) fail(f, engine_error::json);
        break;
      case body_codec::sse:
        if (!decode::sse_finish(d, kSlots, s)) fail(f, engine_error::sse);
        break;
      case body_codec::none: break;
    }
    if (f.error != engine_error::none) return;
    end_begun_channels(c);
    for (int slot = 0; slot < 2; ++slot) {
      scan::channel_state& ch = f.body->channel[slot];
      if (ch.open && !scan::channel_close(s, slot, ch, c.scan_sink())) fail(f, channel_error(ch));
    }
    unbind_body(f);
    f.in_body = false;
  }
  f.head_start = off;
  if (c.sink.on_response_end) c.sink.on_response_end(c.sink.ctx, off);
}

void on_request_head(void* ctx, const http::message_head& h) {
  call& c = *static_cast<call*>(ctx);
  http::parser_push_request(c.f.response, h.meth);
  if (c.sink.on_request_head) c.sink.on_request_head(c.sink.ctx, h);
}

void on_request_end(void* ctx, uint64_t off) {
  call& c = *static_cast<call*>(ctx);
  if (c.sink.on_request_end) c.sink.on_request_end(c.sink.ctx, off);
}

http::parser_callbacks response_callbacks(call& c) {
  http::parser_callbacks cb;
  cb.ctx = &c;
  cb.on_head = on_response_head;
  cb.on_body = on_response_body;
  cb.on_message_end = on_response_end;
  return cb;
}

uint64_t pending_raw(const flow_engine& f) {
  if (!f.in_body || f.body == nullptr) return scan::kNoOffset;
  const decode::sse_state& d = f.body->dec;
  switch (f.codec) {
    case body_codec::text: return d.fold.pending_raw;
    case body_codec::json:
    case body_codec::ndjson: return decode::json_pending_raw(d.json);
    case body_codec::sse: return decode::sse_pending_raw(d);
    case body_codec::none: break;
  }
  return scan::kNoOffset;
}

feed_result conclude(flow_engine& f, uint64_t now_ns) {
  feed_result r;
  r.error = f.error;
  r.http_error = http::parser_error(f.response);
  if (f.error == engine_error::none) {
    uint64_t fin = std::min(f.response_end, f.head_start);
    fin = std::min(fin, pending_raw(f));
    if (f.body != nullptr)
      for (const auto& ch : f.body->channel)
        if (ch.open) fin = std::min(fin, ch.first_held_raw);
    if (fin < f.response_end) {
      if (f.hold_since_ns == 0 || fin > f.final_offset) f.hold_since_ns = now_ns ? now_ns : 1;
    } else {
      f.hold_since_ns = 0;
    }
    f.final_offset = std::max(f.final_offset, fin);
  }
  r.final_offset = f.final_offset;
  return r;
}

}  // namespace

const char* engine_error_name(engine_error e) {
  switch (e) {
    case engine_error::none: return "none";
    case engine_error::http: return "http";
    case engine_error::content_encoding: return "content_encoding";
    case engine_error::unsupported_content_type: return "unsupported_content_type";
    case engine_error::json: return "json_malformed";
    case engine_error::sse: return "sse_malformed";
    case engine_error::map_overflow: return "map_overflow";
    case engine_error::no_stream_memory: return "no_stream_memory";
    case engine_error::no_body_memory: return "no_body_memory";
    case engine_error::scan_failed: return "scan_failed";
    case engine_error::count: break;
  }
  return "unknown";
}

const char* body_codec_name(body_codec c) {
  switch (c) {
    case body_codec::none: return "none";
    case body_codec::text: return "text";
    case body_codec::json: return "json";
    case body_codec::sse: return "sse";
    case body_codec::ndjson: return "ndjson";
  }
  return "unknown";
}

bool codec_for_content_type(const char* type, size_t len, body_codec& out) {
  const std::string_view t(type, len);
  auto ends = [&](std::string_view s) { return t.size() >= s.size() && t.substr(t.size() - s.size()) == s; };
  if (t.empty()) {
    out = body_codec::text;  // untyped: scan as text (masks ASCII PHI wherever it is)
  } else if (t == "text/event-stream") {
    out = body_codec::sse;
  } else if (t == "application/x-ndjson" || t == "application/ndjson" || t == "application/jsonl" ||
             t == "application/x-jsonlines" || t == "application/jsonlines") {
    out = body_codec::ndjson;
  } else if (t == "application/json" || t == "text/json" || ends("+json")) {
    out = body_codec::json;
  } else if (t.starts_with("text/") || t == "application/xml" || ends("+xml") || t == "application/javascript" ||
             t == "application/x-www-form-urlencoded" || t == "application/yaml") {
    out = body_codec::text;
  } else {
    return false;  // binary tensors, images, protobuf, multipart: cannot be masked
  }
  return true;
}

const char* engine_config_check(const engine_config& cfg) {
  if (!cfg.db) return "no pattern database";
  if (static_cast<uint32_t>(cfg.db->max_length()) + cfg.db->max_context_window() + 2 > scan::kWindowBytes)
    return "pattern set needs a longer window than the engine retains (max_length + context window + 2 > 256)";
  return nullptr;
}

engine_scratch* engine_scratch_create(const engine_config& cfg, uint32_t open_bodies) {
  if (engine_config_check(cfg)) return nullptr;
  auto* x = new (std::nothrow) engine_scratch();
  if (!x) return nullptr;
  if (!x->bodies.init(open_bodies)) {
    delete x;
    return nullptr;
  }
  x->cfg = &cfg;
  x->dbs[0] = cfg.db;
  x->scan = scan::scan_scratch_create(*cfg.db);
  if (!x->scan) {
    delete x;
    return nullptr;
  }
  scan::scan_scratch_set_gating(*x->scan, cfg.trigger_gating);
  scan::scan_scratch_set_hold_automata(*x->scan, cfg.hold_automata);
  scan::scan_scratch_set_start_automata(*x->scan, cfg.start_automata);
  return x;
}

void engine_scratch_destroy(engine_scratch* x) {
  if (!x) return;
  scan::scan_scratch_destroy(x->scan);
  delete x;
}

scan::scan_counters& engine_scratch_counters(engine_scratch& x) { return scan::scan_scratch_counters(*x.scan); }
core::object_pool_stats engine_scratch_body_stats(const engine_scratch& x) { return x.bodies.stats(); }

int engine_scratch_adopt(engine_scratch& x, const scan::pattern_db& db, hs_scratch_t* stream_scratch,
                         hs_scratch_t* block_scratch) {
  if (x.dbs[x.current] == &db) {
    scan::scan_scratch_use(*x.scan, stream_scratch, block_scratch);
    return x.current;
  }
  const int other = x.current ^ 1;
  if (x.open_bodies[other].load(std::memory_order_acquire) != 0) return -1;
  scan::scan_scratch_use(*x.scan, stream_scratch, block_scratch);
  x.dbs[other] = &db;
  x.current = other;
  return other;
}

const scan::pattern_db* engine_scratch_db(const engine_scratch& x) { return x.dbs[x.current]; }
const scan::pattern_db* flow_engine_body_db(const flow_engine& f) {
  return f.body != nullptr ? f.body->x->dbs[f.body->slot] : nullptr;
}
int64_t engine_scratch_open_bodies(const engine_scratch& x, int slot) {
  return x.open_bodies[slot & 1].load(std::memory_order_acquire);
}

bool flow_engine_setup(flow_engine& f, const engine_config& cfg) {
  f.body = nullptr;
  http::parser_init(f.request, http::direction::request, cfg.limits);
  http::parser_init(f.response, http::direction::response, cfg.limits);
  flow_engine_reset(f);
  return true;
}

void flow_engine_teardown(flow_engine& f) { unbind_body(f); }

void flow_engine_reset(flow_engine& f) {
  http::parser_init(f.request, http::direction::request, http::parser_get_limits(f.request));
  http::parser_init(f.response, http::direction::response, http::parser_get_limits(f.response));
  unbind_body(f);
  f.response_end = f.head_start = f.hold_since_ns = f.final_offset = 0;
  f.codec = body_codec::none;
  f.in_body = false;
  f.error = engine_error::none;
  f.mode = scan::response_mode{};
}

feed_result feed_request(flow_engine& f, engine_scratch& x, const uint8_t* data, size_t len, uint64_t now_ns,
                         const engine_sink& sink) {
  (void)now_ns;
  call c{f, x, sink};
  http::parser_callbacks cb;
  cb.ctx = &c;
  cb.on_head = on_request_head;
  cb.on_message_end = on_request_end;
  http::parser_feed(f.request, data, len, cb);
  feed_result r;
  r.http_error = http::parser_error(f.request);
  if (r.http_error != http::error::none) r.error = engine_error::http;
  r.final_offset = http::parser_offset(f.request);
  return r;
}

feed_result feed_response(flow_engine& f, engine_scratch& x, const uint8_t* data, size_t len, uint64_t now_ns,
                          const engine_sink& sink) {
  if (f.error != engine_error::none) return conclude(f, now_ns);
  call c{f, x, sink};
  begin_open_channels(c);
  const http::parser_callbacks cb = response_callbacks(c);
  http::parser_feed(f.response, data, len, cb);
  f.response_end += len;
  if (http::parser_error(f.response) != http::error::none) fail(f, engine_error::http);
  if (f.error == engine_error::none) end_begun_channels(c);
  return conclude(f, now_ns);
}

feed_result finish_response(flow_engine& f, engine_scratch& x, uint64_t now_ns, const engine_sink& sink) {
  if (f.error != engine_error::none) return conclude(f, now_ns);
  call c{f, x, sink};
  begin_open_channels(c);
  const http::parser_callbacks cb = response_callbacks(c);
  if (http::parser_finish(f.response, cb) != http::error::none) fail(f, engine_error::http);
  if (f.error == engine_error::none) end_begun_channels(c);
  return conclude(f, now_ns);
}

feed_result flush_response(flow_engine& f, engine_scratch& x, uint64_t now_ns, const engine_sink& sink) {
  if (f.error != engine_error::none) return conclude(f, now_ns);
  if (f.body == nullptr) return conclude(f, now_ns);
  const scan::scan_sink ss = body_sink(f, sink);
  for (int slot = 0; slot < 2; ++slot) {
    scan::channel_state& ch = f.body->channel[slot];
    if (ch.open && !scan::channel_flush(*x.scan, slot, ch, x.cfg->flush, ss)) fail(f, channel_error(ch));
  }
  return conclude(f, now_ns);
}

}  // namespace phigate::engine
