#include "dataplane/scan/channel.hh"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <new>

#include "dataplane/core/byte_copy.hh"
#include "dataplane/core/byte_scan.hh"
#include "dataplane/scan/trigger.hh"
#include "dataplane/validate/validators.hh"

namespace phigate::scan {
namespace {

constexpr uint32_t kStageCapacity = kWindowBytes + kStageBytes;
constexpr uint32_t kMaxEnds = 64;
constexpr uint32_t kMaxMarks = 64;
// Repeat skip bounds: the longest record shift compared, zones and queued replays per call.
constexpr uint64_t kMaxRepeatShift = 2048;
constexpr uint32_t kMaxRepeatSkips = 1024;
constexpr uint32_t kMaxReplays = 2048;
constexpr uint32_t kDedupGroups = 64;

struct stage {
  scan_scratch* owner = nullptr;
  channel_state* ch = nullptr;
  scan_sink sink{};
  uint64_t base = 0;      // logical offset of buf[0]
  uint32_t len = 0;       // staged bytes
  uint32_t scanned = 0;   // bytes already given to Hyperscan
  uint32_t map_count = 0;
  // Record starts staged in this feed (channel_mark_record), oldest first: hints for the repeat
  // skip. Not kept between feeds (channel_state has no room, and a repeat's source must be
  // scanned in the same call anyway).
  uint32_t mark_count = 0;
  uint64_t marks[kMaxMarks];
  map_entry map[kStageCapacity];
  uint8_t buf[kStageCapacity];
};

}  // namespace

struct scan_scratch {
  hs_scratch_t* hs_stream = nullptr;  // hs_scan_stream / stream close (in use)
  hs_scratch_t* hs_block = nullptr;   // block scans nested inside stream callbacks (in use)
  hs_scratch_t* own_stream = nullptr; // allocated at create, freed at destroy
  hs_scratch_t* own_block = nullptr;
  scan_counters counters;
  uint32_t n_ends = 0;
  bool gating = true;
  bool hold_automata = true;
  bool start_automata = true;
  // Gated regions of one scan, gathered so Hyperscan is called once: its per-call cost (restoring
  // every pattern's stream state) dominated when each region was a call of its own.
  struct region { uint64_t hs_start; int64_t delta; };
  uint32_t gate_len = 0, n_regions = 0, region_cursor = 0;
  region regions[kStageCapacity / 2 + 4];
  uint8_t gate_buf[kStageCapacity * 2];
  uint32_t ends[kMaxEnds];
  uint8_t rev[kWindowBytes];
  // Repeat skip state of the scan_pending call in progress (see there). A zone says: reports at
  // logical offsets [lo, hi] are replayed at + shift. Replays wait, sorted, until Hyperscan's
  // reports pass them.
  struct repeat_zone { uint64_t lo, hi, shift; };
  struct replay { uint64_t at; uint32_t group; bool clean; };
  // Skipped fires [t, t_last] and the union of their regions, while classifying.
  struct repeat_skip { uint64_t t, t_last, rs, re, shift; };
  uint32_t n_skips = 0;
  repeat_skip skips[kMaxRepeatSkips];
  uint32_t n_zones = 0, replay_head = 0, replay_tail = 0;
  uint64_t eq_shift = 0, eq_lo = 0, eq_hi = 0;  // bytes [eq_lo, eq_hi) equal those eq_shift before
  uint64_t last_report[kDedupGroups];  // per group: logical offset + 1 of its last report (0: none)
  repeat_zone zones[kMaxRepeatSkips];
  replay replays[kMaxReplays];
  // Reports of the missing groups' Hyperscan stream during one scan call, merged in end order
  // with the stream automata's (report() wants ends in order). Offsets relative to the call's
  // start; at most one per group and end (a call is at most 2 x kStageCapacity bytes, gate_buf),
  // for at most kStreamDfaMaxMissing groups.
  struct rest_report { uint32_t rel, group; };
  uint64_t rest_base = 0;
  uint32_t rest_len = 0, rest_head = 0;
  rest_report rest[kStreamDfaMaxMissing * (kStageCapacity * 2 + 1)];
  stage st[2];
};

namespace {

// A Hyperscan call's result: anything but success (the callbacks never ask to stop) leaves the
// scan without an answer (a stream scan stopped early, no start, no hold boundary), which could
// let PHI through, so the body fails closed.
inline void check_hs(hs_error_t rc, scan_scratch& sc, channel_state& ch) {
  if (rc == HS_SUCCESS) return;
  sc.counters.hs_errors++;
  ch.scan_failed = true;
}

inline bool is_maskable_logical(uint8_t b) {
  return (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z') || b >= 0x80;
}

int on_end(unsigned int, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
  auto* s = static_cast<scan_scratch*>(ctx);
  if (s->n_ends < kMaxEnds) s->ends[s->n_ends++] = static_cast<uint32_t>(to);
  return 0;
}

int on_max_end(unsigned int, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
  auto* m = static_cast<uint32_t*>(ctx);
  if (to > *m) *m = static_cast<uint32_t>(to);
  return 0;
}

// Map entry containing logical byte `l`, or nullptr (separators and evicted bytes have none).
const map_entry* map_find(const stage& st, uint64_t l) {
  for (uint32_t i = st.map_count; i-- > 0;) {
    const map_entry& e = st.map[i];
    if (l >= e.logical + e.n) return nullptr;
    if (l >= e.logical) return &e;
  }
  return nullptr;
}

uint64_t raw_end_of(const map_entry& e, uint64_t l) {
  if (e.kind == source_kind::text || e.kind == source_kind::number) return e.raw + (l - e.logical) + 1;
  return e.raw + e.raw_len;
}

void emit_masks(stage& st, uint64_t s, uint64_t e, mask_style style) {
  scan_scratch& sc = *st.owner;
  const uint64_t lo = std::max(s, st.ch->final_logical);
  if (lo > s) sc.counters.late_mask_bytes += std::min(e, st.ch->final_logical) - s;
  if (!st.sink.on_mask) return;
  // Map entries are in logical order and an 8 KB stage of JSON fields holds hundreds: start at
  // the first one that reaches past lo rather than walking all of them for every finding.
  const map_entry* const begin = st.map;
  const map_entry* const end = begin + st.map_count;
  const map_entry* it = std::partition_point(begin, end, [lo](const map_entry& m) { return m.logical + m.n <= lo; });
  for (; it != end && it->logical < e; ++it) {
    const map_entry& m = *it;
    const uint64_t a = std::max(lo, m.logical), b = std::min(e, m.logical + m.n);
    if (a >= b) continue;
    mask::mask_action act{};
    switch (m.kind) {
      case source_kind::text:
      case source_kind::number:
        act.raw_off = m.raw + (a - m.logical);
        act.raw_len = static_cast<uint32_t>(b - a);
        act.kind = m.kind == source_kind::number ? mask::mask_kind::number
                   : style == mask_style::all    ? mask::mask_kind::text_all
                                                 : mask::mask_kind::text_alnum;
        break;
      default: {
        bool maskable = style == mask_style::all;
        for (uint64_t l = m.logical; l < m.logical + m.n && !maskable; ++l)
          maskable = is_maskable_logical(st.buf[l - st.base]);
        if (!maskable) continue;
        act.raw_off = m.raw;
        act.raw_len = m.raw_len;
        act.kind = m.kind == source_kind::json_escape    ? mask::mask_kind::json_escape
                   : m.kind == source_kind::short_escape ? mask::mask_kind::short_escape
                                                         : mask::mask_kind::utf8_char;
      }
    }
    st.sink.on_mask(st.sink.ctx, act);
  }
}

void emit_pending(channel_state& ch, const scan_sink& sink) {
  if (!ch.has_pending) return;
  ch.has_pending = false;
  if (sink.on_finding) sink.on_finding(sink.ctx, ch.pending);
}

mask_style effective_style(const scan_sink& sink, mask_style own) {
  switch (sink.style) {
    case style_override::alnum: return mask_style::alnum;
    case style_override::all: return mask_style::all;
    case style_override::pattern: break;
  }
  return own;
}

void record_finding(stage& st, uint32_t id, uint64_t s, uint64_t e) {
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  emit_masks(st, s, e, effective_style(st.sink, st.sink.db->patterns()[id].mask));
  const map_entry* first = map_find(st, s);
  const map_entry* last = map_find(st, e - 1);
  const uint64_t raw_s = first ? first->raw + ((first->kind == source_kind::text ||
                                                first->kind == source_kind::number) ? s - first->logical : 0)
                               : kNoOffset;
  const uint64_t raw_e = last ? raw_end_of(*last, e - 1) : kNoOffset;
  if (ch.has_pending && s < ch.pending_logical_end && e > ch.pending_logical_start) {
    // Hyperscan reports every end of a variable-length match and overlapping entries (phone and
    // fax) fire on one value: merge into one finding; the earlier catalog entry names it.
    ch.pending_logical_start = std::min(ch.pending_logical_start, s);
    ch.pending_logical_end = std::max(ch.pending_logical_end, e);
    ch.pending.raw_start = std::min(ch.pending.raw_start, raw_s);
    if (raw_e != kNoOffset) ch.pending.raw_end = std::max(ch.pending.raw_end, raw_e);
    ch.pending.pattern = std::min(ch.pending.pattern, id);
    return;
  }
  emit_pending(ch, st.sink);
  sc.counters.findings++;
  ch.has_pending = true;
  ch.pending = finding{id, raw_s, raw_e == kNoOffset ? raw_s : raw_e};
  ch.pending_logical_start = s;
  ch.pending_logical_end = e;
}

inline uint8_t ascii_lower(uint8_t c) { return static_cast<uint8_t>(c + (static_cast<uint8_t>(c - 'A') < 26 ? 32 : 0)); }

// A keyword of m within `window` bytes before logical offset s.
//
// Why it is written for speed: it runs on every report of a context-gated entry, i.e. on every
// bare number (timestamps, token counts, and in SSE/NDJSON the envelope: `"created":1700000000`
// of every event is reported by npi, mrn, health-plan and account), and almost always rejects.
// It was 17% of engine/sse cycles comparing at every offset. The envelope fields keep being
// scanned by every pattern: a server can put PHI in any field, and a keyword near an envelope
// number (an id such as "mrn-..." before "created") must still make it a finding. Only the
// rejection got cheaper: the text is lowered once, and each keyword is looked for with memchr on
// its first byte (keywords are stored lowercase; the result is the same as comparing everywhere).
bool context_ok(const stage& st, const pattern_meta& m, uint64_t s, uint32_t window) {
  const uint64_t from = std::max(st.base, s >= window ? s - window : 0);
  const uint8_t* text = st.buf + (from - st.base);
  const size_t n = static_cast<size_t>(s - from);
  uint8_t low[512];  // window <= max_length (255) + context window (255)
  if (n <= sizeof low) {
    for (size_t i = 0; i < n; ++i) low[i] = ascii_lower(text[i]);
    for (uint32_t k = 0; k < m.keyword_count; ++k) {
      std::string_view kw = st.sink.db->keyword(m.keyword_first + k);
      if (kw.empty() || kw.size() > n) continue;
      const uint8_t* p = low;
      const uint8_t* const last = low + (n - kw.size());  // last possible start
      while (p <= last) {
        p = static_cast<const uint8_t*>(std::memchr(p, static_cast<uint8_t>(kw[0]), static_cast<size_t>(last - p) + 1));
        if (p == nullptr) break;
        // Keywords are a few bytes: an inline compare beats a memcmp call on every first-byte hit.
        size_t j = 1;
        while (j < kw.size() && p[j] == static_cast<uint8_t>(kw[j])) ++j;
        if (j == kw.size()) return true;
        ++p;
      }
    }
    return false;
  }
  for (uint32_t k = 0; k < m.keyword_count; ++k) {
    std::string_view kw = st.sink.db->keyword(m.keyword_first + k);
    if (kw.empty() || kw.size() > n) continue;
    for (size_t i = 0; i + kw.size() <= n; ++i) {
      size_t j = 0;
      while (j < kw.size() && static_cast<uint8_t>(text[i + j] | ((text[i + j] >= 'A' && text[i + j] <= 'Z') ? 0x20 : 0)) ==
                                  static_cast<uint8_t>(kw[j]))
        ++j;
      if (j == kw.size()) return true;
    }
  }
  return false;
}

// Where each keyword of a group last starts in the widest member window before a report's end
// (-1: nowhere), from one pass over that window: what context_ok(st, m, e, max_length +
// context_window) would find for every gated member, without a pass per member.
struct keyword_hits {
  const stream_group_context* g = nullptr;
  int64_t last[stream_group_context::max_keywords];

  void scan(const stage& st, uint64_t e) {
    const uint64_t from = std::max(st.base, e >= g->window ? e - g->window : 0);
    const uint8_t* text = st.buf + (from - st.base);
    const size_t n = static_cast<size_t>(e - from);
    for (uint32_t k = 0; k < g->keyword_count; ++k) last[k] = -1;
    for (size_t i = 0; i < n; ++i) {
      uint64_t bits = g->first[ascii_lower(text[i])];
      if (!bits) continue;
      // The second byte rules out most candidates without touching the keyword text.
      bits &= i + 1 < n ? g->second[ascii_lower(text[i + 1])] : g->one_byte;
      for (; bits; bits &= bits - 1) {
        const uint32_t k = static_cast<uint32_t>(__builtin_ctzll(bits));
        const std::string_view kw = st.sink.db->keyword(g->keywords[k]);
        if (kw.size() > n - i) continue;
        size_t j = std::min<size_t>(2, kw.size());  // bytes 0 and 1 matched through the masks
        while (j < kw.size() && ascii_lower(text[i + j]) == static_cast<uint8_t>(kw[j])) ++j;
        if (j == kw.size()) last[k] = static_cast<int64_t>(from + i);  // i grows: the last one wins
      }
    }
  }
  // A keyword of the member (mask) lies wholly inside [e - window, e).
  bool near(uint64_t mask, uint64_t from) const {
    for (; mask; mask &= mask - 1) {
      const int64_t at = last[__builtin_ctzll(mask)];
      if (at >= 0 && static_cast<uint64_t>(at) >= from) return true;
    }
    return false;
  }
};

// Entry `id` may end a match at logical offset e (its group reported e): find where it starts,
// validate, check its context, record it. `hits`: the group's keyword pass, when it has one.
// True when a finding was recorded or already covers e; false when e was rejected, which depends
// only on the lookback bytes before e (repeat_lookback) and the profile.
bool consider(stage& st, uint32_t id, uint64_t e, const keyword_hits* hits) {
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  if (ch.has_pending && ch.pending.pattern == id && ch.pending_logical_end >= e &&
      ch.pending_logical_start < e)
    return true;  // another end inside a value already found
  // The response's masking profile leaves this entity alone: skipped before start recovery, the
  // most expensive step, so a narrow profile also scans faster.
  if (!st.sink.db->entity_enabled(id, st.sink.entities)) {
    sc.counters.entity_skipped++;
    return false;
  }
  const pattern_meta& m = st.sink.db->patterns()[id];
  // Context-gated entries (bare numbers) fire on every timestamp and token count; when no
  // keyword is anywhere near, reject before paying for start recovery.
  if (m.context_window) {
    const uint32_t w = m.max_length + m.context_window;
    const bool ok = hits ? hits->near(st.sink.db->group_keyword_mask(id), std::max(st.base, e >= w ? e - w : 0))
                         : context_ok(st, m, e, w);
    if (!ok) {
      sc.counters.rejected_context++;
      return false;
    }
  }
  // One byte beyond the longest match lets the reversed pattern check its trailing \b.
  const uint64_t want = static_cast<uint64_t>(m.max_length) + 1;
  const uint64_t lo = std::max(st.base, e > want ? e - want : 0);
  const uint32_t n = static_cast<uint32_t>(e - lo);
  sc.n_ends = 0;
  const start_dfa* automaton = sc.start_automata ? st.sink.db->start_automaton(id) : nullptr;
  if (automaton != nullptr) {
    // The same lengths as the Hyperscan start scan below, without its 30-280 ns per call.
    sc.n_ends = start_dfa_lengths(*automaton, st.buf + (e - st.base), n, sc.ends, kMaxEnds);
  } else {
    for (uint32_t i = 0; i < n; ++i) sc.rev[i] = st.buf[e - 1 - i - st.base];
    check_hs(hs_scan(st.sink.db->start_db(id), reinterpret_cast<const char*>(sc.rev), n, 0, sc.hs_block, on_end, &sc),
             sc, ch);
  }
  if (sc.n_ends == 0) {
    sc.counters.no_start++;
    return false;
  }
  std::sort(sc.ends, sc.ends + sc.n_ends, [](uint32_t a, uint32_t b) { return a > b; });
  bool context_failed = false;
  for (uint32_t i = 0; i < sc.n_ends; ++i) {
    const uint32_t len = sc.ends[i];
    if (len == 0 || (i > 0 && len == sc.ends[i - 1])) continue;
    const uint64_t s = e - len;
    if (!validate::validate(m.validator, st.buf + (s - st.base), len)) continue;
    if (m.context_window && !context_ok(st, m, s, m.context_window)) {
      context_failed = true;
      continue;
    }
    record_finding(st, id, s, e);
    return true;
  }
  if (context_failed) sc.counters.rejected_context++;
  else sc.counters.rejected_validator++;
  return false;
}

// Whether everything consider() reads for a report at e (the longest match and its context
// window before e) equals what it reads at e + shift, both staged.
bool repeat_lookback(const stage& st, uint64_t e, uint64_t shift) {
  const pattern_db& db = *st.sink.db;
  const uint64_t w = static_cast<uint64_t>(db.max_length()) + std::max<uint32_t>(1, db.max_context_window());
  if (e < st.base + w || e + shift > st.base + st.len) return false;
  return std::memcmp(st.buf + (e - w - st.base), st.buf + (e + shift - w - st.base), w) == 0;
}

// A report of stream group `group` ending at logical offset e, from Hyperscan or replayed;
// `known_clean`: a replay whose original was rejected on the same bytes (nothing to consider).
// Every member in catalog order, as separate reports were: overlapping findings merge and the
// earliest entry names them (record_finding), whichever member confirmed first.
void report(stage& st, uint32_t group, uint64_t e, bool known_clean = false) {
  scan_scratch& sc = *st.owner;
  if (e < st.base || e > st.base + st.len) {
    // An end outside the staged text cannot be judged (nor read): fail the body closed.
    sc.counters.bad_report++;
    st.ch->scan_failed = true;
    return;
  }
  // Reports come in order of e; a replay can land where Hyperscan reported too (a neighbouring
  // fire was fed): once per group and offset, or findings would be counted twice. Only while
  // zones exist (inside a scan_pending call that skipped something; repeat_zones clears the
  // table): the scratch serves every flow of its thread.
  if (sc.n_zones && group < kDedupGroups) {
    if (sc.last_report[group] == e + 1) return;
    sc.last_report[group] = e + 1;
  }
  bool touched = false;
  if (!known_clean) {
    keyword_hits hits;
    hits.g = st.sink.db->group_context(group);
    if (hits.g) hits.scan(st, e);
    for (const uint16_t id : st.sink.db->stream_members(group)) touched |= consider(st, id, e, hits.g ? &hits : nullptr);
  }
  // A report inside the source of a skipped repeat happened there too (scan_pending): queue it.
  // When it was rejected and the bytes it was judged on repeat as well, the replay is known to
  // be rejected: it only carries the report on (a repeat of a repeat) without being considered.
  for (uint32_t z = 0; z < sc.n_zones; ++z) {
    const scan_scratch::repeat_zone& r = sc.zones[z];
    if (e < r.lo || e > r.hi) continue;
    if (sc.replay_tail == kMaxReplays) {
      // Compact, then give up: a lost replay could be a lost finding, so the body fails closed.
      std::memmove(sc.replays, sc.replays + sc.replay_head, (sc.replay_tail - sc.replay_head) * sizeof(sc.replays[0]));
      sc.replay_tail -= sc.replay_head;
      sc.replay_head = 0;
      if (sc.replay_tail == kMaxReplays) {
        sc.counters.repeat_overflow++;
        st.ch->scan_failed = true;
        return;
      }
    }
    // Sorted insert: replays mostly arrive in order, so this rarely moves anything.
    uint32_t k = sc.replay_tail++;
    const uint64_t at = e + r.shift;
    while (k > sc.replay_head && sc.replays[k - 1].at > at) {
      sc.replays[k] = sc.replays[k - 1];
      --k;
    }
    sc.replays[k] = {at, group, !touched && repeat_lookback(st, e, r.shift)};
  }
}

// Replays due before logical offset e (all of them for UINT64_MAX), in order; a replay may
// queue further ones (a repeat of a repeat).
void drain_replays(stage& st, uint64_t e) {
  scan_scratch& sc = *st.owner;
  while (sc.replay_head < sc.replay_tail && sc.replays[sc.replay_head].at < e) {
    const scan_scratch::replay r = sc.replays[sc.replay_head++];
    sc.counters.repeat_replays++;
    report(st, r.group, r.at, r.clean);
  }
  if (sc.replay_head == sc.replay_tail) sc.replay_head = sc.replay_tail = 0;
}

// A report of stream group `group` (pattern_db::stream_members) ending at Hyperscan offset `to`.
int on_match(unsigned int group, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
  auto& st = *static_cast<stage*>(ctx);
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  sc.counters.reports++;
  if (group >= st.sink.db->stream_group_count()) {
    // Which entries matched is unknown, so nothing can be masked for it: fail the body closed.
    sc.counters.bad_report++;
    ch.scan_failed = true;
    return 0;
  }
  // Map the Hyperscan offset back to logical text: through the gathered regions of this call,
  // or, for a report completing now on bytes of the previous call (a trailing \b needs one more
  // byte), with that call's last delta.
  int64_t delta = ch.prev_delta;
  if (to > ch.call_hs_start) {
    delta = ch.call_delta;
    if (sc.n_regions) {
      uint32_t k = std::min(sc.region_cursor, sc.n_regions - 1);
      while (k + 1 < sc.n_regions && sc.regions[k + 1].hs_start < to) ++k;
      while (k > 0 && sc.regions[k].hs_start >= to) --k;
      sc.region_cursor = k;
      delta = sc.regions[k].delta;
    }
  }
  const uint64_t e = static_cast<uint64_t>(static_cast<int64_t>(to) + delta);
  drain_replays(st, e);
  report(st, group, e);
  return 0;
}

int on_rest(unsigned int group, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
  auto& st = *static_cast<stage*>(ctx);
  scan_scratch& sc = *st.owner;
  if (sc.rest_len == std::size(sc.rest) || to < sc.rest_base) {
    // A lost report could be a lost finding: fail the body closed.
    sc.counters.rest_overflow++;
    st.ch->scan_failed = true;
    return 0;
  }
  sc.rest[sc.rest_len++] = {static_cast<uint32_t>(to - sc.rest_base), group};
  return 0;
}

// The missing groups' queued reports ending at or before `to` (all: UINT64_MAX).
inline void drain_rest(stage& st, uint64_t to) {
  scan_scratch& sc = *st.owner;
  while (sc.rest_head < sc.rest_len && sc.rest_base + sc.rest[sc.rest_head].rel <= to) {
    const scan_scratch::rest_report r = sc.rest[sc.rest_head++];
    on_match(r.group, 0, sc.rest_base + r.rel, 0, &st);
  }
}

// One stream scan call: bytes p[0..n) at Hyperscan offset ch.hs_fed. Through Hyperscan alone, or
// through the stream automata with the missing groups' Hyperscan stream (its reports queued
// first, then merged in end order into the automata's).
void stream_scan(stage& st, const uint8_t* p, uint32_t n) {
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  if (!ch.automata) {
    check_hs(hs_scan_stream(ch.stream, reinterpret_cast<const char*>(p), n, 0, sc.hs_stream, on_match, &st), sc, ch);
    return;
  }
  sc.rest_base = ch.hs_fed;
  sc.rest_len = sc.rest_head = 0;
  if (ch.stream != nullptr)
    check_hs(hs_scan_stream(ch.stream, reinterpret_cast<const char*>(p), n, 0, sc.hs_stream, on_rest, &st), sc, ch);
  stream_dfa_scan(st.sink.db->stream_automata(), ch.dfa, p, n, ch.hs_fed, [&](uint32_t group, uint64_t to) {
    drain_rest(st, to);
    on_match(group, 0, to, 0, &st);
  });
  drain_rest(st, UINT64_MAX);
}

// End of data at Hyperscan offset ch.hs_fed: the reports that waited for a next byte. `stream`
// is closed (freed) by this; for a probe it is a copy of the channel's.
void stream_finish(stage& st, hs_stream_t* stream) {
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  if (stream != nullptr) check_hs(hs_close_stream(stream, sc.hs_stream, on_match, &st), sc, ch);
  else if (!ch.automata) check_hs(HS_INVALID, sc, ch);  // no stream to ask for its last reports
  if (ch.automata)
    stream_dfa_finish(st.sink.db->stream_automata(), ch.dfa, ch.hs_fed,
                      [&](uint32_t group, uint64_t to) { on_match(group, 0, to, 0, &st); });
}

// Gathers logical bytes [a, b) (staged) for the Hyperscan stream; a gap since the last gathered
// byte becomes one separator, so no match can join text across it.
void gather(stage& st, uint64_t a, uint64_t b) {
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  a = std::max(a, ch.fed_upto);
  if (a >= b) return;
  if (a > ch.fed_upto && ch.hs_fed + sc.gate_len > 0) sc.gate_buf[sc.gate_len++] = kFieldSeparator;
  const uint64_t hs_at = ch.hs_fed + sc.gate_len;
  sc.regions[sc.n_regions++] = {hs_at, static_cast<int64_t>(a) - static_cast<int64_t>(hs_at)};
  std::memcpy(sc.gate_buf + sc.gate_len, st.buf + (a - st.base), b - a);
  sc.gate_len += static_cast<uint32_t>(b - a);
  sc.counters.logical_bytes += b - a;
  ch.fed_upto = b;
}

// One Hyperscan call for everything gathered.
void flush_gathered(stage& st) {
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  if (!sc.gate_len) {
    sc.n_regions = 0;
    return;
  }
  ch.prev_delta = ch.call_delta;
  ch.call_hs_start = ch.hs_fed;
  sc.region_cursor = 0;
  stream_scan(st, sc.gate_buf, sc.gate_len);
  ch.hs_fed += sc.gate_len;
  ch.call_delta = sc.regions[sc.n_regions - 1].delta;
  sc.gate_len = 0;
  sc.n_regions = 0;
}

// Ungated: the staged bytes go to Hyperscan as they are, without a copy.
void feed_direct(stage& st, uint64_t a, uint64_t b) {
  scan_scratch& sc = *st.owner;
  channel_state& ch = *st.ch;
  a = std::max(a, ch.fed_upto);
  if (a >= b) return;
  ch.prev_delta = ch.call_delta;
  ch.call_delta = static_cast<int64_t>(a) - static_cast<int64_t>(ch.hs_fed);
  ch.call_hs_start = ch.hs_fed;
  sc.n_regions = 0;
  sc.counters.logical_bytes += b - a;
  stream_scan(st, st.buf + (a - st.base), static_cast<uint32_t>(b - a));
  ch.hs_fed += b - a;
  ch.fed_upto = b;
}

// Bit i set when the run of class bytes ending at byte i of `cur` is at least k long; `prev`
// holds the 64 bytes before cur (bit 63 the nearest). k in 1..64.
inline uint64_t runs_reaching(uint64_t prev, uint64_t cur, uint32_t k) {
  unsigned __int128 r = (static_cast<unsigned __int128>(cur) << 64) | prev;
  uint32_t m = 1;  // r bit i: the m bytes ending at i are all in the class
  while (2 * m <= k) {
    r &= r << m;
    m *= 2;
  }
  if (m < k) r &= r << (k - m);
  return static_cast<uint64_t>(r >> 64);
}

// Repeat skip. SSE and NDJSON streams repeat their envelope byte for byte in every record
// (`"id":"chatcmpl-..","object":..,"created":1700000000,"model":..`), and on the fields channel
// that envelope was most of what Hyperscan scanned. A fire at t is not fed when the bytes of its
// region [rs, re) equal the bytes `shift` earlier (shift: the distance between the last two record
// starts before t), and that earlier copy lies wholly in bytes this call classifies (at or after
// `first_new`). Nothing is lost, by induction over positions: a match M that only skipped fires
// cover contains such a fire t, and M - shift is a
// match in the earlier copy containing the fire t - shift (same bytes, so the same class runs and
// confirm byte), which is either fed (Hyperscan reports M - shift in this call) or skipped itself
// (its report is a replay, by induction). Every report, from Hyperscan or replayed, that ends in
// a skipped region's earlier copy (with the byte after its end, see below) is replayed `shift`
// later: the bytes of the match and the byte after it are the same there, so it is a real report
// of the full scan too, and consider() judges it on the real text as any other.
// So findings are those of a full scan, and a repeated value (a patient id echoed in every event)
// is masked in every event. Byte comparison, not hashes: text a model can be steered to write
// must not be able to forge a repeat. Returns true when t may be skipped (its shift in
// shift_out); a skipped fire that a fed region covers is scanned too (repeat_safe_end).
bool repeat_candidate(stage& st, uint64_t t, uint64_t rs, uint64_t re, uint64_t first_new, uint32_t& mark,
                      uint64_t& shift_out) {
  scan_scratch& sc = *st.owner;
  const uint64_t end = st.base + st.len;
  if (re > end) return false;  // its region reaches bytes not staged yet
  while (mark + 1 < st.mark_count && st.marks[mark + 1] <= t) ++mark;
  if (mark == 0 || st.marks[mark] > t) return false;
  const uint64_t shift = st.marks[mark] - st.marks[mark - 1];
  if (shift == 0 || shift > kMaxRepeatShift || rs < shift) return false;
  // The earlier copy must be classified in this call: only then are its reports made (by
  // Hyperscan, or as replays) in this call. Bytes classified before may have been skipped there
  // and left unfed, with their replays long done.
  if (rs - shift < first_new) return false;
  // Equal bytes already established for this shift need no second compare.
  const bool extends = sc.eq_shift == shift && rs >= sc.eq_lo && rs <= sc.eq_hi;
  const uint64_t from = extends ? std::max(rs, sc.eq_hi) : rs;
  if (from < re && std::memcmp(st.buf + (from - st.base), st.buf + (from - shift - st.base), re - from) != 0)
    return false;
  if (extends) {
    sc.eq_hi = std::max(sc.eq_hi, re);
  } else {
    sc.eq_shift = shift;
    sc.eq_lo = rs;
    sc.eq_hi = re;
  }
  shift_out = shift;
  return true;
}

// Where a fed region may end. Hyperscan sees a separator after a region; if a skipped fire
// inside the region reached past its end, a match cut there would be reported as if it ended
// (consider() does not check the byte after an end) although the full text goes on. Earlier fed
// fires cannot cause that: each one's region already reaches past its longest match. So the
// region ends where no skipped fire inside it reaches past, or at the first real separator after
// its end (fed with the region), which ends every match before it. A skipped fire inside
// a fed region is scanned as well as replayed; replays of reports Hyperscan also made are dropped
// (report()).
uint64_t repeat_safe_end(const stage& st, uint32_t first_skip, uint64_t e) {
  const scan_scratch& sc = *st.owner;
  if (e >= st.base + st.len) return e;  // not cut in this call: the region goes on
  uint64_t need = e;
  for (uint32_t k = first_skip; k < sc.n_skips && sc.skips[k].t < need; ++k) need = std::max(need, sc.skips[k].re);
  if (need == e) return e;
  // The separator itself is fed: a match just before it is then decided in this call (its
  // trailing \b needs the next byte), not by a byte of a later call that may no longer be staged.
  const auto* sep = static_cast<const uint8_t*>(std::memchr(st.buf + (e - st.base), kFieldSeparator, need - e));
  return sep != nullptr ? st.base + static_cast<uint64_t>(sep - st.buf) + 1 : need;
}

// The first skip with a fire at or after s (skips are in fire order), searching back from k.
uint32_t repeat_skips_from(const scan_scratch& sc, uint32_t k, uint64_t s) {
  while (k > 0 && sc.skips[k - 1].t_last >= s) --k;
  return k;
}

// The skipped candidates that stayed skipped become replay zones. Reports ending in
// [rs - shift, re - shift - 1] are replayed; consecutive ones with the same shift share a zone.
// consider() trusts a report's end: start recovery reads the match and the bytes before it, never
// the byte after it (a trailing \b). So a replayed end must have that byte inside the compared
// bytes too: a report at re - shift, whose next byte's counterpart re was not compared, is not
// replayed. No match containing t ends there (a region carries one byte of context after the
// longest match).
void repeat_zones(scan_scratch& sc) {
  for (uint32_t k = 0; k < sc.n_skips; ++k) {
    const scan_scratch::repeat_skip& r = sc.skips[k];
    const uint64_t lo = r.rs - r.shift, hi = r.re - r.shift - 1;
    if (sc.n_zones && sc.zones[sc.n_zones - 1].shift == r.shift && lo <= sc.zones[sc.n_zones - 1].hi + 1 &&
        lo >= sc.zones[sc.n_zones - 1].lo) {
      scan_scratch::repeat_zone& z = sc.zones[sc.n_zones - 1];
      z.hi = std::max(z.hi, hi);
    } else {
      sc.zones[sc.n_zones++] = {lo, hi, r.shift};  // n_zones <= n_skips <= kMaxRepeatSkips
    }
  }
  sc.n_skips = 0;
  // Only a call that skipped something replays, so only it needs (and pays for) the dedup table.
  if (sc.n_zones) std::memset(sc.last_report, 0, sizeof sc.last_report);
}

// Scans the staged bytes not yet considered. With a trigger table, only regions around trigger
// bytes, and around bytes where a run class has reached its length, are fed (one real byte of
// context on each side keeps \b exact); everything else cannot hold a match, by construction of
// the table. Bytes are classified 64 at a time into bit planes (a few vector compares per 16
// bytes), so text without triggers costs no branch per byte.
void scan_pending(stage& st) {
  if (st.scanned == st.len) return;
  channel_state& ch = *st.ch;
  const trigger_table& tt = st.sink.db->triggers();
  const uint64_t end = st.base + st.len;
  if (!tt.enabled || !st.owner->gating) {
    feed_direct(st, st.base + st.scanned, end);
    st.scanned = st.len;
    return;
  }
  // Regions closer than this are merged: a Hyperscan call costs about as much as scanning it.
  constexpr uint64_t kMergeGap = 48;
  const uint64_t reach = static_cast<uint64_t>(st.sink.db->trigger_before_max()) + 1;
  uint64_t cur_s = ch.fed_upto, cur_e = std::max(ch.gate_until, ch.fed_upto);
  bool open = ch.gate_until > ch.fed_upto;
  const uint64_t first_new = st.base + st.scanned;  // the first byte classified in this call
  uint32_t mark = 0;
  uint32_t region_skips = 0;  // skips from this index on lie in the open region
  scan_scratch& sc = *st.owner;
  sc.n_zones = sc.n_skips = 0;
  sc.eq_shift = 0;
  const uint32_t planes = 1 + tt.run_count;
  auto classify = [&](const uint8_t* p, uint32_t n, uint64_t* out) {
    if (tt.ranges_ok) core::range_planes64(p, n, tt.plane_ranges, planes, out);
    else core::bit_planes64(p, n, tt.bits, planes, out);
  };
  // Class bits of the bytes before the first block, for runs that began earlier: the last
  // kMaxRunLength are enough (no class needs a longer run). Older bytes, and bytes before the
  // staged window unless it starts the text, count as class bytes, which can only fire more.
  uint64_t prev[1 + kMaxRunClasses] = {};
  if (tt.run_count) {
    const uint32_t w = std::min<uint32_t>(st.scanned, kMaxRunLength);
    classify(st.buf + st.scanned - w, w, prev);
    const uint64_t unknown = (st.base > 0 || st.scanned > w) ? ~0ull >> w : 0;
    for (uint32_t j = 1; j < planes; ++j) prev[j] = (w ? prev[j] << (64 - w) : 0) | unknown;
  }
  for (uint32_t b0 = st.scanned; b0 < st.len; b0 += 64) {
    const uint32_t n = std::min<uint32_t>(64, st.len - b0);
    uint64_t planes_now[1 + kMaxRunClasses];
    classify(st.buf + b0, n, planes_now);
    uint64_t fired[kMaxRunClasses] = {};
    uint64_t any = planes_now[0];
    for (uint32_t j = 0; j + 1 < planes; ++j) {
      fired[j] = runs_reaching(prev[1 + j], planes_now[1 + j], tt.runs[j].min_run);
      prev[1 + j] = planes_now[1 + j];
      any |= fired[j];
    }
    for (; any; any &= any - 1) {
      const uint32_t bit = static_cast<uint32_t>(__builtin_ctzll(any));
      const uint32_t i = b0 + bit;
      const uint8_t c = st.buf[i];
      uint32_t before = 0, after = 0;  // after == 0: nothing fired here
      if (((planes_now[0] >> bit) & 1) && !(tt.confirm[c] && i + 1 < st.len && !tt.follows(c, st.buf[i + 1]))) {
        before = tt.before[c];
        after = tt.after[c];
      }
      for (uint32_t j = 0; j + 1 < planes; ++j) {
        if (!((fired[j] >> bit) & 1)) continue;
        before = std::max<uint32_t>(before, tt.runs[j].before);
        after = std::max<uint32_t>(after, tt.runs[j].after);
      }
      if (!after) continue;
      const uint64_t t = st.base + i;
      const uint64_t rs = std::max<uint64_t>(st.base, t >= before + 1u ? t - before - 1 : 0);
      const uint64_t re = t + after + 1;
      uint64_t shift = 0;
      if (st.mark_count >= 2 && sc.n_skips < kMaxRepeatSkips && repeat_candidate(st, t, rs, re, first_new, mark, shift)) {
        // A run of digits fires at every byte: overlapping skips with one shift share an entry
        // (the union of compared regions is compared; its first and last fire bound it).
        sc.counters.repeat_skipped++;
        scan_scratch::repeat_skip* last = sc.n_skips ? &sc.skips[sc.n_skips - 1] : nullptr;
        if (last != nullptr && last->shift == shift && rs <= last->re) {
          last->t_last = t;
          last->rs = std::min(last->rs, rs);
          last->re = std::max(last->re, re);
        } else {
          sc.skips[sc.n_skips++] = {t, t, rs, re, shift};
        }
        continue;
      }
      // Close the open region only when no trigger from here on can reach back into it: Hyperscan
      // cannot return to bytes it has passed. Otherwise grow it both ways.
      if (open && (t < reach || t - reach <= cur_e + kMergeGap)) {
        cur_s = std::min(cur_s, rs);
        region_skips = repeat_skips_from(sc, region_skips, cur_s);
        cur_e = std::max(cur_e, re);
        continue;
      }
      if (open) gather(st, cur_s, std::min(repeat_safe_end(st, region_skips, cur_e), end));
      cur_s = rs;
      cur_e = re;
      region_skips = repeat_skips_from(sc, sc.n_skips, cur_s);
      open = true;
    }
  }
  // A trigger in the next bytes reaches back no further than `horizon`. Bytes before it that no
  // region covers are never needed. An open region is fed now, and if it starts after the horizon
  // it is fed from the horizon on: a later trigger may need those bytes, and after this call it
  // can only continue the stream from where this region ends. Bytes after the last region are
  // left unfed: a later trigger feeds what it needs of them, behind a separator.
  const uint64_t horizon = std::max<uint64_t>(st.base, end > reach ? end - reach : 0);
  if (open) {
    const uint64_t from = std::min(cur_s, horizon);
    // A region that ends in this call is cut where no skipped fire inside it reaches past.
    if (cur_e <= end) cur_e = repeat_safe_end(st, repeat_skips_from(sc, region_skips, from), cur_e);
    gather(st, from, std::min(cur_e, end));
  }
  repeat_zones(sc);
  flush_gathered(st);
  drain_replays(st, UINT64_MAX);
  sc.n_zones = 0;
  ch.gate_until = open && cur_e > end ? cur_e : 0;
  st.scanned = st.len;
}

// Keeps the last kWindowBytes of text and the map entries that a future match could still need.
void slide(stage& st) {
  scan_pending(st);
  const uint32_t keep = std::min(st.len, kWindowBytes);
  std::memmove(st.buf, st.buf + st.len - keep, keep);
  st.base += st.len - keep;
  st.len = st.scanned = keep;
  const uint64_t end = st.base + st.len;
  const uint64_t reach = static_cast<uint64_t>(st.sink.db->max_length()) + 2;
  const uint64_t horizon = std::max(st.ch->final_logical, end > reach ? end - reach : 0);
  uint32_t first = 0;
  while (first < st.map_count && st.map[first].logical + st.map[first].n <= horizon) ++first;
  if (first) {
    std::memmove(st.map, st.map + first, (st.map_count - first) * sizeof(map_entry));
    st.map_count -= first;
  }
}

inline void make_room(stage& st, uint32_t n) {
  if (st.len + n > kStageCapacity) slide(st);
}

inline void add_entry(stage& st, uint64_t raw, uint32_t n, uint8_t raw_len, source_kind kind) {
  const uint64_t l = st.base + st.len;
  if (st.map_count) {
    map_entry& last = st.map[st.map_count - 1];
    if ((kind == source_kind::text || kind == source_kind::number) && last.kind == kind &&
        last.logical + last.n == l && last.raw + last.n == raw) {
      last.n += n;
      return;
    }
  }
  if (st.map_count == kStageCapacity) slide(st);  // cannot happen with text-sized stages; defensive
  st.map[st.map_count++] = map_entry{l, raw, n, raw_len, kind};
}

void load(stage& st, scan_scratch& sc, channel_state& ch, const scan_sink& sink) {
  st.owner = &sc;
  st.ch = &ch;
  st.sink = sink;
  st.base = ch.logical_end - ch.window_len;
  std::memcpy(st.buf, ch.window, ch.window_len);
  st.len = st.scanned = ch.window_len;
  for (uint32_t i = 0; i < ch.held_count; ++i) {
    const held_entry& h = ch.held[i];
    st.map[i] = map_entry{ch.logical_end - h.logical_back, ch.first_held_raw + static_cast<uint64_t>(int64_t{h.raw_rel}),
                          h.n, static_cast<uint8_t>(h.raw_len), static_cast<source_kind>(h.kind)};
  }
  st.map_count = ch.held_count;
  st.mark_count = 0;
}

// Packs the map entries of held bytes into the channel (held_entry). False when they do not fit:
// too many, or offsets beyond the packed ranges; the caller fails closed.
bool save_held(stage& st, uint32_t first, uint64_t window_start) {
  channel_state& ch = *st.ch;
  const uint64_t end = st.base + st.len;
  bool ok = st.map_count - first <= kHeldMapEntries;
  uint32_t saved = 0;
  for (uint32_t i = first; i < st.map_count && saved < kHeldMapEntries; ++i) {
    map_entry m = st.map[i];
    if ((m.kind == source_kind::text || m.kind == source_kind::number) && m.logical < window_start) {
      // Nothing before the window is ever looked up again (the next feed's stage starts there).
      const uint64_t d = window_start - m.logical;
      m.logical += d;
      m.raw += d;
      m.n -= static_cast<uint32_t>(d);
    }
    const uint64_t back = end - m.logical;
    const int64_t rel = static_cast<int64_t>(m.raw - ch.first_held_raw);
    if (back >= 1024 || m.n >= 1024 || rel > kHeldRawSpan || rel < -kHeldRawSpan) {
      ok = false;
      break;
    }
    held_entry& h = ch.held[saved++];
    h.raw_rel = static_cast<int32_t>(rel);
    h.logical_back = static_cast<uint32_t>(back);
    h.n = m.n;
    h.raw_len = m.raw_len;
    h.kind = static_cast<uint32_t>(m.kind);
  }
  ch.held_count = static_cast<uint8_t>(saved);
  if (!ok) {
    st.owner->counters.map_overflow++;
    ch.overflow = true;
  }
  return ok;
}

// Persists the window and the map of held bytes; `hold` is the first logical byte not final.
bool save(stage& st, uint64_t hold) {
  channel_state& ch = *st.ch;
  const uint64_t end = st.base + st.len;
  hold = std::max(hold, ch.final_logical);
  ch.final_logical = hold;
  ch.first_held_raw = kNoOffset;
  uint32_t first = 0;
  while (first < st.map_count && st.map[first].logical + st.map[first].n <= hold) ++first;
  if (hold < end && first < st.map_count) {
    const map_entry& m = st.map[first];
    ch.first_held_raw = m.raw + ((m.kind == source_kind::text || m.kind == source_kind::number) && hold > m.logical
                                     ? hold - m.logical : 0);
  }
  const uint32_t keep = std::min(st.len, kWindowBytes);
  const bool ok = save_held(st, first, end - keep);
  std::memcpy(ch.window, st.buf + st.len - keep, keep);
  ch.window_len = static_cast<uint16_t>(keep);
  ch.logical_end = end;
  return ok;
}

}  // namespace

const char* style_override_name(style_override s) {
  switch (s) {
    case style_override::pattern: return "pattern";
    case style_override::alnum: return "alnum";
    case style_override::all: return "all";
  }
  return "pattern";
}

scan_scratch* scan_scratch_create(const pattern_db& db) {
  auto* s = new (std::nothrow) scan_scratch();
  if (!s) return nullptr;
  s->own_stream = s->hs_stream = db.alloc_scratch(nullptr);
  s->own_block = s->hs_block = db.alloc_scratch(nullptr);
  if (!s->hs_stream || !s->hs_block) {
    scan_scratch_destroy(s);
    return nullptr;
  }
  return s;
}

void scan_scratch_destroy(scan_scratch* s) {
  if (!s) return;
  if (s->own_stream) hs_free_scratch(s->own_stream);
  if (s->own_block) hs_free_scratch(s->own_block);
  delete s;
}

void scan_scratch_use(scan_scratch& s, hs_scratch_t* stream_scratch, hs_scratch_t* block_scratch) {
  s.hs_stream = stream_scratch ? stream_scratch : s.own_stream;
  s.hs_block = block_scratch ? block_scratch : s.own_block;
}

scan_counters& scan_scratch_counters(scan_scratch& s) { return s.counters; }

void scan_scratch_set_gating(scan_scratch& s, bool on) { s.gating = on; }

void scan_scratch_set_hold_automata(scan_scratch& s, bool on) { s.hold_automata = on; }

void scan_scratch_set_start_automata(scan_scratch& s, bool on) { s.start_automata = on; }

void channel_init(channel_state& ch) { ch = channel_state{}; }

void channel_release(channel_state& ch) {
  if (ch.stream) hs_close_stream(ch.stream, nullptr, nullptr, nullptr);
  ch.stream = nullptr;
  ch.open = false;
}

bool channel_open(channel_state& ch, const pattern_db& db, bool stream_automata) {
  channel_release(ch);  // a message abandoned without close (its connection was reset)
  // Reset everything; the window and map are rewritten before use.
  ch.logical_end = ch.final_logical = 0;
  ch.first_held_raw = kNoOffset;
  ch.has_pending = ch.overflow = ch.scan_failed = false;
  ch.window_len = 0;
  ch.held_count = 0;
  ch.hs_fed = ch.fed_upto = ch.gate_until = ch.call_hs_start = 0;
  ch.call_delta = ch.prev_delta = 0;
  const std::span<const stream_dfa> parts = db.stream_automata();
  ch.automata = stream_automata && !parts.empty();
  const hs_database_t* hs = db.stream_db();
  if (ch.automata) {
    for (size_t k = 0; k < parts.size(); ++k) ch.dfa[k] = parts[k].start;
    hs = db.rest_stream_db();  // nullptr: the automata cover every group
  }
  if (hs != nullptr && hs_open_stream(hs, 0, &ch.stream) != HS_SUCCESS) {
    ch.stream = nullptr;
    return false;
  }
  ch.open = true;
  return true;
}

void channel_begin(scan_scratch& s, int slot, channel_state& ch, const scan_sink& sink) {
  load(s.st[slot], s, ch, sink);
}

void channel_put_run(scan_scratch& s, int slot, const uint8_t* p, size_t n, uint64_t raw, source_kind kind) {
  stage& st = s.st[slot];
  while (n > 0) {
    make_room(st, 1);
    const uint32_t k = static_cast<uint32_t>(std::min<size_t>(n, kStageCapacity - st.len));
    add_entry(st, raw, k, 1, kind);
    core::copy_short(st.buf + st.len, p, k);
    st.len += k;
    p += k;
    raw += k;
    n -= k;
  }
}

void channel_put_mapped(scan_scratch& s, int slot, const uint8_t* p, size_t n, uint64_t raw,
                        uint8_t raw_len, source_kind kind) {
  stage& st = s.st[slot];
  make_room(st, static_cast<uint32_t>(n));
  add_entry(st, raw, static_cast<uint32_t>(n), raw_len, kind);
  core::copy_short(st.buf + st.len, p, n);
  st.len += static_cast<uint32_t>(n);
}

void channel_put_separator(scan_scratch& s, int slot) {
  stage& st = s.st[slot];
  if (st.len && st.buf[st.len - 1] == kFieldSeparator) return;
  make_room(st, 1);
  st.buf[st.len++] = kFieldSeparator;
}

void channel_mark_record(scan_scratch& s, int slot) {
  stage& st = s.st[slot];
  const uint64_t at = st.base + st.len;
  if (st.mark_count && st.marks[st.mark_count - 1] == at) return;
  if (st.mark_count == kMaxMarks) {
    // Keep the newest half: the hints for bytes not scanned yet.
    std::memmove(st.marks, st.marks + kMaxMarks / 2, (kMaxMarks / 2) * sizeof(st.marks[0]));
    st.mark_count = kMaxMarks / 2;
  }
  st.marks[st.mark_count++] = at;
}

bool channel_end(scan_scratch& s, int slot) {
  stage& st = s.st[slot];
  scan_pending(st);
  uint64_t end = st.base + st.len;
  uint64_t hold = end;
  if (st.len && st.buf[st.len - 1] != kFieldSeparator) {
    const uint32_t t = std::min<uint32_t>(st.len, st.sink.db->max_length());
    uint32_t longest = 0;
    const std::span<const byte_dfa> automata = st.sink.db->hold_automata();
    if (!automata.empty() && s.hold_automata) {
      // The same answer as the Hyperscan scan below, without its ~1 us per call.
      longest = hold_dfa_longest(automata, st.buf + st.len, t);
    } else {
      for (uint32_t i = 0; i < t; ++i) s.rev[i] = st.buf[st.len - 1 - i];
      check_hs(hs_scan(st.sink.db->hold_db(), reinterpret_cast<const char*>(s.rev), t, 0, s.hs_block, on_max_end,
                       &longest),
               s, *st.ch);
    }
    hold = end - longest;
  }
  if (hold < end) s.counters.holds++;
  return save(st, hold) && !st.ch->scan_failed;
}

bool channel_close(scan_scratch& s, int slot, channel_state& ch, const scan_sink& sink) {
  stage& st = s.st[slot];
  load(st, s, ch, sink);
  ch.prev_delta = ch.call_delta;
  ch.call_hs_start = ch.hs_fed;
  stream_finish(st, ch.stream);  // end-of-data matches; frees the stream
  ch.stream = nullptr;
  emit_pending(ch, sink);
  const bool ok = save(st, st.base + st.len);
  ch.open = false;
  return ok && !ch.scan_failed;
}

bool channel_flush(scan_scratch& s, int slot, channel_state& ch, flush_mode mode, const scan_sink& sink) {
  if (ch.final_logical >= ch.logical_end) return !ch.scan_failed;
  stage& st = s.st[slot];
  load(st, s, ch, sink);
  s.counters.flushes++;
  // What would match if the text ended here: probe a copy so the real stream continues. Without
  // memory for the copy the probe is skipped and every held byte is masked (fail closed).
  // The automata's states are only read by the probe: they need no copy.
  hs_stream_t* probe = nullptr;
  if (ch.stream == nullptr || hs_copy_stream(&probe, ch.stream) == HS_SUCCESS) {
    const int64_t saved_prev = ch.prev_delta;
    const uint64_t saved_start = ch.call_hs_start;
    ch.prev_delta = ch.call_delta;
    ch.call_hs_start = ch.hs_fed;
    stream_finish(st, probe);
    ch.prev_delta = saved_prev;
    ch.call_hs_start = saved_start;
  } else {
    s.counters.probe_failed++;
    mode = flush_mode::mask;
  }
  const uint64_t end = st.base + st.len;
  if (mode == flush_mode::mask)
    emit_masks(st, ch.final_logical, end, sink.style == style_override::all ? mask_style::all : mask_style::alnum);
  return save(st, end) && !ch.scan_failed;
}

}  // namespace phigate::scan
