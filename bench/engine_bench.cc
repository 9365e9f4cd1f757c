// Engine throughput per core, with baselines measured in the same run (docs/benchmarks.md).
//
// Shape (hsbench style): 64 flows, each response stream cut into 1448-byte segments, the loop
// feeding one segment per flow round-robin so per-flow state and corpus bytes leave the caches
// between a flow's turns, as on a dataplane core. Everything that allocates (pattern compile,
// corpus, flow setup, baseline compiles) happens before timing: in main() for what the
// benchmarks share, before the `for (auto _ : state)` loop for per-benchmark state.
//
// Benchmarks, each over the three corpora (bench_corpus.hh):
//   engine/<corpus>      flow_engine feed_response + mask_apply of every action (the product)
//   hs_ceiling/<corpus>  hs_scan_stream of the same segments on db->stream_db(), counting callback
//   automata_ceiling/<corpus>  the stream automata (and the missing groups' Hyperscan stream) over
//                        the same segments: the stream scan as the engine runs it
//   pcre2_jit/<corpus>   every catalog expression, one pcre2_code each, all matches per body
//   re2_set/<corpus>     RE2::Set (UNANCHORED) of the expressions RE2 accepts, one Match per body
//   memcpy/<corpus>      the same segments copied, interleaved like the engine (physical limit)
//   flow_state           per-connection reset cost; per-flow memory as counters
// Opt-in (PHIGATE_BENCH_PER_EXPRESSION=1), every corpus, to find which expressions cost:
//   hs_expr_alone/<id>/<corpus>   hs_ceiling with a stream database of that one expression
//   hs_expr_without/<id>/<corpus> hs_ceiling with every expression but that one
// Single-threaded: one engine_scratch and one hs_scratch, as one dataplane lcore owns.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <benchmark/benchmark.h>
#include <hs.h>
#include <pcre2.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "bench/bench_corpus.hh"
#include "dataplane/engine/flow_engine.hh"
#include "dataplane/http/http_parser.hh"
#include "dataplane/mask/mask_action.hh"
#include "dataplane/scan/channel.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/pattern_set.hh"
#include "dataplane/scan/stream_pool.hh"

#ifndef PHIGATE_PATTERN_DIR
#error "PHIGATE_PATTERN_DIR must name the patterns/ folder (set by bench/meson.build)"
#endif

namespace phigate::bench {
namespace {

constexpr size_t kFlows = 64;
constexpr size_t kSegmentBytes = 1448;  // TCP MSS on a 1500-byte MTU with timestamps
constexpr uint64_t kSeed = 20240601;
// Response counts: multiples of kFlows so every flow walks its own disjoint set of responses.
constexpr size_t kResponses[] = {256, 128, 128};  // sparse_json, dense_json, sse
constexpr std::string_view kRequest =
    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";

size_t corpus_index(corpus_kind k) { return static_cast<size_t>(k); }

const uint8_t* bytes_of(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

struct corpus_slot {
  corpus c;
  // One mutable copy per response, prepared once: the engine benchmark applies its masks here
  // (re-masking already masked bytes costs the same) and the memcpy baseline writes here.
  std::vector<std::vector<uint8_t>> masked;
  uint64_t verify_findings = 0;
  uint64_t verify_held_feeds = 0;
  uint64_t verify_feeds = 0;
};

struct pcre2_expr {
  pcre2_code* code = nullptr;
  pcre2_match_data* md = nullptr;
};

// Shared, read-only while benchmarks run; built by environment_build() in main().
struct environment {
  std::unique_ptr<scan::pattern_db> db;
  engine::engine_config cfg;
  engine::engine_scratch* scratch = nullptr;
  hs_scratch_t* hs_scratch = nullptr;
  size_t hs_stream_bytes = 0;
  corpus_slot corpora[3];
  std::vector<pcre2_expr> pcre;
  pcre2_match_context* pcre_ctx = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  size_t pcre_rejected = 0;
  std::unique_ptr<RE2::Set> re2;
  size_t re2_accepted = 0, re2_rejected = 0;
  size_t expressions = 0;
  // Opt-in per-expression databases (id, database); empty unless PHIGATE_BENCH_PER_EXPRESSION.
  std::vector<std::pair<std::string, hs_database_t*>> expr_alone, expr_without;
};
environment* g_env = nullptr;

// ---------------------------------------------------------------- engine sink

struct flow_ctx {
  uint8_t* masked = nullptr;  // the current response's mutable copy (stream offset 0 = byte 0)
  size_t len = 0;
  uint64_t findings = 0;
};

void on_mask(void* ctx, const mask::mask_action& a) {
  auto& c = *static_cast<flow_ctx*>(ctx);
  mask::mask_apply(c.masked, c.len, 0, a);
}

void on_finding(void* ctx, const scan::finding&) { ++static_cast<flow_ctx*>(ctx)->findings; }

void start_connection(engine::flow_engine& f, engine::engine_scratch& x, const engine::engine_sink& sink) {
  engine::flow_engine_reset(f);
  engine::feed_request(f, x, bytes_of(kRequest), kRequest.size(), 0, sink);
}

// ---------------------------------------------------------------- setup

std::string load_error_text(const scan::load_error& e) { return e.where + ": " + e.reason; }

// Feeds every response of `slot` once, segment by segment, outside any timing: proves the corpus
// is accepted (no engine error, each message completes and ends final) so the timed loops can
// treat an error as a bug, and records the findings the engine reports.
bool verify_corpus(environment& e, corpus_slot& slot, std::string& why) {
  engine::flow_engine f;
  if (!engine::flow_engine_setup(f, e.cfg)) {
    why = "flow_engine_setup failed";
    return false;
  }
  flow_ctx ctx;
  const engine::engine_sink sink{&ctx, on_mask, on_finding, nullptr, nullptr, nullptr};
  bool ok = true;
  for (size_t i = 0; i < slot.c.responses.size() && ok; ++i) {
    const http_response& r = slot.c.responses[i];
    ctx.masked = slot.masked[i].data();
    ctx.len = slot.masked[i].size();
    start_connection(f, *e.scratch, sink);
    engine::feed_result res;
    for (size_t off = 0; off < r.bytes.size();) {
      const size_t n = std::min(kSegmentBytes, r.bytes.size() - off);
      res = engine::feed_response(f, *e.scratch, bytes_of(r.bytes) + off, n, off + 1, sink);
      off += n;
      ++slot.verify_feeds;
      if (res.error != engine::engine_error::none) {
        why = "response " + std::to_string(i) + ": engine error " + engine::engine_error_name(res.error) +
              " (http " + http::error_name(res.http_error) + ")";
        ok = false;
        break;
      }
      if (res.final_offset < off) ++slot.verify_held_feeds;
    }
    if (ok && res.final_offset != r.bytes.size()) {
      why = "response " + std::to_string(i) + ": message did not complete (final offset " +
            std::to_string(res.final_offset) + " of " + std::to_string(r.bytes.size()) + ")";
      ok = false;
    }
  }
  slot.verify_findings = ctx.findings;
  engine::flow_engine_teardown(f);
  return ok;
}

bool build_pcre2(environment& e, const scan::pattern_set& set) {
  e.pcre_ctx = pcre2_match_context_create(nullptr);
  e.jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
  if (!e.pcre_ctx || !e.jit_stack) return false;
  pcre2_jit_stack_assign(e.pcre_ctx, nullptr, e.jit_stack);
  for (const scan::pattern_entry& p : set.entries) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    const uint32_t opts = (p.flags & HS_FLAG_CASELESS) ? PCRE2_CASELESS : 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.expression.data()), p.expression.size(), opts,
                                     &err, &err_off, nullptr);
    if (!code || pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0) {
      if (code) pcre2_code_free(code);
      ++e.pcre_rejected;
      continue;
    }
    e.pcre.push_back({code, pcre2_match_data_create_from_pattern(code, nullptr)});
  }
  return true;
}

bool build_re2(environment& e, const scan::pattern_set& set) {
  RE2::Options opt;
  opt.set_encoding(RE2::Options::EncodingLatin1);  // bytes, as Hyperscan sees them (no UTF-8 mode)
  opt.set_log_errors(false);
  opt.set_max_mem(256 << 20);  // the set's DFA cache: too small and Match() fails on dense text
  e.re2 = std::make_unique<RE2::Set>(opt, RE2::UNANCHORED);
  for (const scan::pattern_entry& p : set.entries) {
    const std::string expr = (p.flags & HS_FLAG_CASELESS) ? "(?i)" + p.expression : p.expression;
    std::string err;
    if (e.re2->Add(expr, &err) < 0)
      ++e.re2_rejected;
    else
      ++e.re2_accepted;
  }
  return e.re2->Compile();
}

// A stream database of `entries` (HS_MODE_STREAM, the entries' own flags, as pattern_db
// compiles its stream_db); grows e.hs_scratch to serve it. nullptr on failure.
hs_database_t* compile_stream_db(environment& e, const std::vector<const scan::pattern_entry*>& entries) {
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (const scan::pattern_entry* p : entries) {
    exprs.push_back(p->expression.c_str());
    flags.push_back(p->flags);
    ids.push_back(static_cast<unsigned>(ids.size()));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), HS_MODE_STREAM,
                       nullptr, &db, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return nullptr;
  }
  if (hs_alloc_scratch(db, &e.hs_scratch) != HS_SUCCESS) {
    hs_free_database(db);
    return nullptr;
  }
  return db;
}

std::string build_per_expression(environment& e, const scan::pattern_set& set) {
  for (size_t i = 0; i < set.entries.size(); ++i) {
    std::vector<const scan::pattern_entry*> alone{&set.entries[i]}, without;
    for (size_t j = 0; j < set.entries.size(); ++j)
      if (j != i) without.push_back(&set.entries[j]);
    hs_database_t* a = compile_stream_db(e, alone);
    hs_database_t* w = compile_stream_db(e, without);
    if (a) e.expr_alone.emplace_back(set.entries[i].id, a);
    if (w) e.expr_without.emplace_back(set.entries[i].id, w);
    if (!a || !w) return "per-expression database for " + scan::pattern_entry_where(i, set.entries[i].id) + " failed";
  }
  return {};
}

// Returns an empty string on success, else why the benchmarks cannot run.
std::string environment_build(environment& e) {
  const std::string path = std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json";
  auto loaded = scan::pattern_set_load(path);
  if (auto* err = std::get_if<scan::load_error>(&loaded)) return path + ": " + load_error_text(*err);
  const scan::pattern_set& set = std::get<scan::pattern_set>(loaded);
  e.expressions = set.entries.size();
  auto compiled = scan::pattern_db::compile(set);
  if (auto* err = std::get_if<scan::load_error>(&compiled)) return "pattern_db::compile: " + load_error_text(*err);
  e.db = std::move(std::get<std::unique_ptr<scan::pattern_db>>(compiled));
  e.cfg.db = e.db.get();
  if (const char* why = engine::engine_config_check(e.cfg)) return std::string("engine config: ") + why;
  e.scratch = engine::engine_scratch_create(e.cfg);
  if (!e.scratch) return "engine_scratch_create failed";
  if (hs_alloc_scratch(e.db->stream_db(), &e.hs_scratch) != HS_SUCCESS) return "hs_alloc_scratch failed";
  if (hs_stream_size(e.db->stream_db(), &e.hs_stream_bytes) != HS_SUCCESS) return "hs_stream_size failed";

  for (const corpus_kind k : kAllCorpusKinds) {
    corpus_slot& slot = e.corpora[corpus_index(k)];
    slot.c = corpus_build(k, kResponses[corpus_index(k)], kSeed);
    for (const http_response& r : slot.c.responses) slot.masked.emplace_back(r.bytes.begin(), r.bytes.end());
    std::string why;
    if (!verify_corpus(e, slot, why)) return std::string(corpus_kind_name(k)) + " corpus: " + why;
  }
  if (!build_pcre2(e, set)) return "pcre2 match context or JIT stack allocation failed";
  if (!build_re2(e, set)) return "RE2::Set::Compile failed (out of memory)";
  if (const char* v = std::getenv("PHIGATE_BENCH_PER_EXPRESSION"); v && *v && std::string_view(v) != "0")
    return build_per_expression(e, set);
  return {};
}

void environment_describe(const environment& e) {
  // The console reporter prints these once; the JSON reporter stores them under "context".
  auto put = [](const std::string& k, const std::string& v) { benchmark::AddCustomContext(k, v); };
  put("phigate.patterns", std::string(e.db->name()) + " v" + std::to_string(e.db->version()) + ", " +
                              std::to_string(e.expressions) + " expressions");
  put("phigate.shape", std::to_string(kFlows) + " flows, " + std::to_string(kSegmentBytes) +
                           "-byte segments, round-robin one segment per flow");
  put("phigate.pcre2_jit", std::to_string(e.pcre.size()) + " compiled, " + std::to_string(e.pcre_rejected) +
                               " rejected");
  put("phigate.re2_set", std::to_string(e.re2_accepted) + " accepted, " + std::to_string(e.re2_rejected) +
                             " rejected");
  for (const corpus_kind k : kAllCorpusKinds) {
    const corpus_slot& s = e.corpora[corpus_index(k)];
    const double kb = static_cast<double>(s.c.total_bytes) / 1024.0;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "%zu responses, %llu bytes (%llu body), max %zu; planted %llu (%.2f/KB); "
                  "engine findings %llu (%.2f/KB); held feeds %.3f",
                  s.c.responses.size(), static_cast<unsigned long long>(s.c.total_bytes),
                  static_cast<unsigned long long>(s.c.body_bytes), s.c.max_response_bytes,
                  static_cast<unsigned long long>(s.c.planted), static_cast<double>(s.c.planted) / kb,
                  static_cast<unsigned long long>(s.verify_findings), static_cast<double>(s.verify_findings) / kb,
                  s.verify_feeds ? static_cast<double>(s.verify_held_feeds) / static_cast<double>(s.verify_feeds) : 0.0);
    put(std::string("phigate.corpus.") + corpus_kind_name(k), buf);
  }
  put("phigate.flow_state", "sizeof(flow_engine) " + std::to_string(sizeof(engine::flow_engine)) +
                                ", http parser " + std::to_string(http::parser_state_size()) + " x2, channel_state " +
                                std::to_string(sizeof(scan::channel_state)) + " x2, sse_state " +
                                std::to_string(sizeof(decode::sse_state)) + ", hs stream " +
                                std::to_string(e.hs_stream_bytes) + " x2");
}

void environment_free(environment& e) {
  for (pcre2_expr& p : e.pcre) {
    pcre2_match_data_free(p.md);
    pcre2_code_free(p.code);
  }
  pcre2_jit_stack_free(e.jit_stack);
  pcre2_match_context_free(e.pcre_ctx);
  for (auto& [id, db] : e.expr_alone) hs_free_database(db);
  for (auto& [id, db] : e.expr_without) hs_free_database(db);
  hs_free_scratch(e.hs_scratch);
  engine::engine_scratch_destroy(e.scratch);
}

// ---------------------------------------------------------------- counters

void set_throughput(benchmark::State& state, uint64_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["Gbps"] = benchmark::Counter(static_cast<double>(bytes) * 8.0 / 1e9, benchmark::Counter::kIsRate);
}

double per_kb(uint64_t n, uint64_t bytes) {
  return bytes ? static_cast<double>(n) * 1024.0 / static_cast<double>(bytes) : 0.0;
}

// ---------------------------------------------------------------- engine

struct engine_flow {
  engine::flow_engine f;
  size_t resp = 0;  // index of the response this flow is receiving
  size_t off = 0;   // bytes of it fed so far
};

void bm_engine(benchmark::State& state, corpus_kind kind) {
  environment& e = *g_env;
  corpus_slot& slot = e.corpora[corpus_index(kind)];
  const std::vector<http_response>& rs = slot.c.responses;
  // Stream state from a per-thread block pool, as phigate-dp's workers have it: every body opens
  // and closes a stream, and with malloc that was ~2% of engine/sse's profile.
  struct pool_binding {
    scan::stream_pool* p = nullptr;
    explicit pool_binding(const scan::pattern_db& db) {
      if (!scan::stream_pool_install()) return;
      p = scan::stream_pool_create(2 * kFlows + 2, scan::stream_pool_block_for(db.stream_bytes(), 0));
      scan::stream_pool_bind(p);
    }
    ~pool_binding() {
      scan::stream_pool_bind(nullptr);
      scan::stream_pool_destroy(p);
    }
  };
  const pool_binding pool(*e.cfg.db);
  if (pool.p == nullptr) {
    state.SkipWithError("stream pool setup failed");
    return;
  }
  auto flows = std::make_unique<engine_flow[]>(kFlows);
  flow_ctx ctx;
  const engine::engine_sink sink{&ctx, on_mask, on_finding, nullptr, nullptr, nullptr};
  for (size_t i = 0; i < kFlows; ++i) {
    if (!engine::flow_engine_setup(flows[i].f, e.cfg)) {
      for (size_t j = 0; j < i; ++j) engine::flow_engine_teardown(flows[j].f);
      state.SkipWithError("flow_engine_setup failed");
      return;
    }
    flows[i].resp = i % rs.size();
    start_connection(flows[i].f, *e.scratch, sink);
  }
  uint64_t bytes = 0, feeds = 0, held = 0, errors = 0, now_ns = 1;
  const scan::scan_counters before = engine::engine_scratch_counters(*e.scratch);
  for (auto _ : state) {
    for (size_t i = 0; i < kFlows; ++i) {
      engine_flow& fl = flows[i];
      const http_response& r = rs[fl.resp];
      const size_t n = std::min(kSegmentBytes, r.bytes.size() - fl.off);
      ctx.masked = slot.masked[fl.resp].data();
      ctx.len = r.bytes.size();
      const engine::feed_result res =
          engine::feed_response(fl.f, *e.scratch, bytes_of(r.bytes) + fl.off, n, now_ns++, sink);
      fl.off += n;
      bytes += n;
      ++feeds;
      if (res.error != engine::engine_error::none) ++errors;
      else if (res.final_offset < fl.off) ++held;
      if (fl.off == r.bytes.size() || res.error != engine::engine_error::none) {
        fl.resp = (fl.resp + kFlows) % rs.size();
        fl.off = 0;
        start_connection(fl.f, *e.scratch, sink);
      }
    }
  }
  for (size_t i = 0; i < kFlows; ++i) engine::flow_engine_teardown(flows[i].f);
  if (errors) {
    state.SkipWithError("engine reported errors on a corpus that verified clean");
    return;
  }
  set_throughput(state, bytes);
  state.counters["findings_per_KB"] = per_kb(ctx.findings, bytes);
  state.counters["held_feed_fraction"] = feeds ? static_cast<double>(held) / static_cast<double>(feeds) : 0.0;
  // Where the scanner's work goes: Hyperscan stream reports (a callback each, and a start scan
  // per member that passes its context check), the members rejected for want of context or by
  // their validator, and the logical bytes trigger gating gave Hyperscan.
  const scan::scan_counters& after = engine::engine_scratch_counters(*e.scratch);
  state.counters["reports_per_KB"] = per_kb(after.reports - before.reports, bytes);
  state.counters["rejected_context_per_KB"] = per_kb(after.rejected_context - before.rejected_context, bytes);
  state.counters["rejected_validator_per_KB"] = per_kb(after.rejected_validator - before.rejected_validator, bytes);
  state.counters["no_start_per_KB"] = per_kb(after.no_start - before.no_start, bytes);
  state.counters["hs_bytes_per_KB"] = per_kb(after.logical_bytes - before.logical_bytes, bytes);
}

// ---------------------------------------------------------------- Hyperscan ceiling

int on_hs_match(unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
  ++*static_cast<uint64_t*>(ctx);
  return 0;
}

struct hs_flow {
  hs_stream_t* stream = nullptr;
  size_t resp = 0, off = 0;
};

void hs_stream_loop(benchmark::State& state, const hs_database_t* db, corpus_kind kind) {
  environment& e = *g_env;
  const std::vector<http_response>& rs = e.corpora[corpus_index(kind)].c.responses;
  std::vector<hs_flow> flows(kFlows);
  for (size_t i = 0; i < kFlows; ++i) {
    if (hs_open_stream(db, 0, &flows[i].stream) != HS_SUCCESS) {
      for (size_t j = 0; j < i; ++j) hs_close_stream(flows[j].stream, nullptr, nullptr, nullptr);
      state.SkipWithError("hs_open_stream failed");
      return;
    }
    flows[i].resp = i % rs.size();
  }
  uint64_t bytes = 0, reports = 0, errors = 0;
  for (auto _ : state) {
    for (hs_flow& fl : flows) {
      const http_response& r = rs[fl.resp];
      const size_t n = std::min(kSegmentBytes, r.bytes.size() - fl.off);
      if (hs_scan_stream(fl.stream, r.bytes.data() + fl.off, static_cast<unsigned>(n), 0, e.hs_scratch, on_hs_match,
                         &reports) != HS_SUCCESS)
        ++errors;
      fl.off += n;
      bytes += n;
      if (fl.off == r.bytes.size()) {
        // End of message: end-of-data matches are reported, as the engine's channel_close does.
        if (hs_reset_stream(fl.stream, 0, e.hs_scratch, on_hs_match, &reports) != HS_SUCCESS) ++errors;
        fl.resp = (fl.resp + kFlows) % rs.size();
        fl.off = 0;
      }
    }
  }
  for (hs_flow& fl : flows) hs_close_stream(fl.stream, nullptr, nullptr, nullptr);
  if (errors) {
    state.SkipWithError("hs_scan_stream failed");
    return;
  }
  set_throughput(state, bytes);
  state.counters["reports_per_KB"] = per_kb(reports, bytes);
}

void bm_hs_ceiling(benchmark::State& state, corpus_kind kind) { hs_stream_loop(state, g_env->db->stream_db(), kind); }

// The stream scan as the engine now runs it (scan/stream_dfa.hh): the stream automata walked over
// the same segments, plus the Hyperscan stream of the groups they miss, counting reports. What
// hs_ceiling is for Hyperscan alone; the engine's cost over it is everything but the scan.
void bm_automata_ceiling(benchmark::State& state, corpus_kind kind) {
  environment& e = *g_env;
  const scan::pattern_db& db = *e.db;
  const std::span<const scan::stream_dfa> parts = db.stream_automata();
  if (parts.empty()) {
    state.SkipWithError("the pattern database has no stream automata");
    return;
  }
  const std::vector<http_response>& rs = e.corpora[corpus_index(kind)].c.responses;
  struct dfa_flow {
    hs_stream_t* stream = nullptr;
    size_t resp = 0, off = 0;
    uint16_t states[scan::kStreamDfaMaxParts];
  };
  std::vector<dfa_flow> flows(kFlows);
  const hs_database_t* rest = db.rest_stream_db();
  for (size_t i = 0; i < kFlows; ++i) {
    if (rest != nullptr && hs_open_stream(rest, 0, &flows[i].stream) != HS_SUCCESS) {
      state.SkipWithError("hs_open_stream failed");
      return;
    }
    for (size_t k = 0; k < parts.size(); ++k) flows[i].states[k] = parts[k].start;
    flows[i].resp = i % rs.size();
  }
  uint64_t bytes = 0, reports = 0, errors = 0;
  auto count = [&reports](uint32_t, uint64_t) { ++reports; };
  for (auto _ : state) {
    for (dfa_flow& fl : flows) {
      const http_response& r = rs[fl.resp];
      const size_t n = std::min(kSegmentBytes, r.bytes.size() - fl.off);
      const auto* p = reinterpret_cast<const uint8_t*>(r.bytes.data()) + fl.off;
      if (fl.stream != nullptr &&
          hs_scan_stream(fl.stream, reinterpret_cast<const char*>(p), static_cast<unsigned>(n), 0, e.hs_scratch,
                         on_hs_match, &reports) != HS_SUCCESS)
        ++errors;
      scan::stream_dfa_scan(parts, fl.states, p, n, fl.off, count);
      fl.off += n;
      bytes += n;
      if (fl.off == r.bytes.size()) {
        if (fl.stream != nullptr && hs_reset_stream(fl.stream, 0, e.hs_scratch, on_hs_match, &reports) != HS_SUCCESS)
          ++errors;
        scan::stream_dfa_finish(parts, fl.states, fl.off, count);
        for (size_t k = 0; k < parts.size(); ++k) fl.states[k] = parts[k].start;
        fl.resp = (fl.resp + kFlows) % rs.size();
        fl.off = 0;
      }
    }
  }
  for (dfa_flow& fl : flows)
    if (fl.stream != nullptr) hs_close_stream(fl.stream, nullptr, nullptr, nullptr);
  if (errors) {
    state.SkipWithError("hs_scan_stream failed");
    return;
  }
  set_throughput(state, bytes);
  state.counters["reports_per_KB"] = per_kb(reports, bytes);
}

// ---------------------------------------------------------------- memcpy

void bm_memcpy(benchmark::State& state, corpus_kind kind) {
  environment& e = *g_env;
  corpus_slot& slot = e.corpora[corpus_index(kind)];
  const std::vector<http_response>& rs = slot.c.responses;
  struct copy_flow {
    size_t resp = 0, off = 0;
  };
  std::vector<copy_flow> flows(kFlows);
  for (size_t i = 0; i < kFlows; ++i) flows[i].resp = i % rs.size();
  uint64_t bytes = 0;
  for (auto _ : state) {
    for (copy_flow& fl : flows) {
      const http_response& r = rs[fl.resp];
      const size_t n = std::min(kSegmentBytes, r.bytes.size() - fl.off);
      std::memcpy(slot.masked[fl.resp].data() + fl.off, r.bytes.data() + fl.off, n);
      benchmark::ClobberMemory();
      fl.off += n;
      bytes += n;
      if (fl.off == r.bytes.size()) {
        fl.resp = (fl.resp + kFlows) % rs.size();
        fl.off = 0;
      }
    }
  }
  set_throughput(state, bytes);
}

// ---------------------------------------------------------------- PCRE2-JIT

void bm_pcre2_jit(benchmark::State& state, corpus_kind kind) {
  environment& e = *g_env;
  const std::vector<http_response>& rs = e.corpora[corpus_index(kind)].c.responses;
  size_t next = 0;
  uint64_t bytes = 0, matches = 0, errors = 0;
  for (auto _ : state) {
    const std::string_view body = rs[next].body();
    next = (next + 1) % rs.size();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(body.data());
    for (const pcre2_expr& p : e.pcre) {
      PCRE2_SIZE start = 0;
      while (start <= body.size()) {
        const int rc = pcre2_jit_match(p.code, subject, body.size(), start, 0, p.md, e.pcre_ctx);
        if (rc < 0) {
          if (rc != PCRE2_ERROR_NOMATCH) ++errors;
          break;
        }
        ++matches;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(p.md);
        start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
      }
    }
    bytes += body.size();
  }
  if (errors) {
    state.SkipWithError("pcre2_jit_match failed (JIT stack or match limit)");
    return;
  }
  set_throughput(state, bytes);
  state.counters["matches_per_KB"] = per_kb(matches, bytes);
}

// ---------------------------------------------------------------- RE2::Set

void bm_re2_set(benchmark::State& state, corpus_kind kind) {
  environment& e = *g_env;
  const std::vector<http_response>& rs = e.corpora[corpus_index(kind)].c.responses;
  std::vector<int> ids;
  ids.reserve(e.re2_accepted);
  size_t next = 0;
  uint64_t bytes = 0, matched = 0, errors = 0;
  for (auto _ : state) {
    const std::string_view body = rs[next].body();
    next = (next + 1) % rs.size();
    RE2::Set::ErrorInfo info{RE2::Set::kNoError};
    if (!e.re2->Match(re2::StringPiece(body.data(), body.size()), &ids, &info) && info.kind != RE2::Set::kNoError)
      ++errors;
    matched += ids.size();
    bytes += body.size();
  }
  if (errors) {
    state.SkipWithError("RE2::Set::Match failed (DFA out of memory)");
    return;
  }
  set_throughput(state, bytes);
  state.counters["expressions_matched_per_body"] =
      benchmark::Counter(static_cast<double>(matched), benchmark::Counter::kAvgIterations);
}

// ---------------------------------------------------------------- per-flow state

void bm_flow_state(benchmark::State& state) {
  environment& e = *g_env;
  engine::flow_engine f;
  if (!engine::flow_engine_setup(f, e.cfg)) {
    state.SkipWithError("flow_engine_setup failed");
    return;
  }
  const engine::engine_sink sink{};
  for (auto _ : state) {
    start_connection(f, *e.scratch, sink);
    benchmark::DoNotOptimize(f);
  }
  engine::flow_engine_teardown(f);
  const size_t streams = sizeof(engine::body_state::channel) / sizeof(engine::body_state::channel[0]);
  state.counters["sizeof_flow_engine"] = static_cast<double>(sizeof(engine::flow_engine));
  state.counters["sizeof_body_state"] = static_cast<double>(sizeof(engine::body_state));
  state.counters["http_parser_bytes"] = static_cast<double>(http::parser_state_size());
  state.counters["channel_state_bytes"] = static_cast<double>(sizeof(scan::channel_state));
  state.counters["hs_stream_bytes"] = static_cast<double>(e.hs_stream_bytes);
  state.counters["hs_streams"] = static_cast<double>(streams);
  // Every flow carries flow_engine; an open body adds its body_state and streams (from pools).
  state.counters["per_flow_bytes"] = static_cast<double>(sizeof(engine::flow_engine));
  state.counters["per_open_body_bytes"] =
      static_cast<double>(sizeof(engine::body_state) + streams * e.hs_stream_bytes);
  // With stream automata a channel's Hyperscan stream covers only the groups they miss: what an
  // open body uses from the stream pool then (the pool's blocks are still sized for the full
  // database, which a body scanned without automata needs).
  size_t rest = 0;
  if (e.db->rest_stream_db() != nullptr && hs_stream_size(e.db->rest_stream_db(), &rest) != HS_SUCCESS) rest = 0;
  state.counters["rest_stream_bytes"] = static_cast<double>(rest);
  state.counters["per_open_body_bytes_automata"] = static_cast<double>(sizeof(engine::body_state) + streams * rest);
}

void register_all() {
  using bench_fn = void (*)(benchmark::State&, corpus_kind);
  struct family {
    const char* name;
    bench_fn fn;
  };
  static constexpr family kFamilies[] = {{"engine", bm_engine},
                                         {"hs_ceiling", bm_hs_ceiling},
                                         {"automata_ceiling", bm_automata_ceiling},
                                         {"pcre2_jit", bm_pcre2_jit},
                                         {"re2_set", bm_re2_set},
                                         {"memcpy", bm_memcpy}};
  for (const corpus_kind k : kAllCorpusKinds)
    for (const family& f : kFamilies) {
      const std::string name = std::string(f.name) + "/" + corpus_kind_name(k);
      benchmark::RegisterBenchmark(name.c_str(), f.fn, k);
    }
  benchmark::RegisterBenchmark("flow_state", bm_flow_state);
  for (const corpus_kind k : kAllCorpusKinds) {
    const std::string corpus = std::string("/") + corpus_kind_name(k);
    for (const auto& [id, db] : g_env->expr_alone)
      benchmark::RegisterBenchmark(("hs_expr_alone/" + id + corpus).c_str(), hs_stream_loop, db, k);
    for (const auto& [id, db] : g_env->expr_without)
      benchmark::RegisterBenchmark(("hs_expr_without/" + id + corpus).c_str(), hs_stream_loop, db, k);
  }
}

}  // namespace
}  // namespace phigate::bench

int main(int argc, char** argv) {
  using namespace phigate::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  auto env = std::make_unique<environment>();
  const std::string why = environment_build(*env);
  if (!why.empty()) {
    std::fprintf(stderr, "engine_bench: setup failed: %s\n", why.c_str());
    return 1;
  }
  g_env = env.get();
  environment_describe(*env);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  environment_free(*env);
  return 0;
}
