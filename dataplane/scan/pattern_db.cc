// Pattern database compilation and (de)serialization. Setup code: allocates, returns errors
// as values, never throws out of the API.
#include "dataplane/scan/pattern_db.hh"

#include <algorithm>
#include <atomic>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <utility>

#include "dataplane/core/crc32.hh"
#include "dataplane/scan/regex_ast.hh"
#include "dataplane/scan/stream_groups.hh"

namespace phigate::scan {
namespace {

constexpr char db_magic[8] = {'P', 'H', 'I', 'G', 'D', 'B', '1', '\0'};
// 2: trigger table; 3: member sets, origins; 4: stream groups; 5: run classes; 6: hold automata;
// 7: start automata; 8: stream automata and the missing groups' stream database
constexpr uint32_t db_format_version = 8;
constexpr uint32_t db_format_oldest = 2;   // still read, as a single set
constexpr size_t db_header_bytes = 8 + 4 + 4 + 8;  // magic, format version, crc32, body length
constexpr const char* db_where = "(pattern db)";

load_error err(std::string where, std::string reason) {
  return load_error{std::move(where), std::move(reason)};
}

// Little-endian writer/reader; the reader never reads past its span.
class writer {
 public:
  std::vector<uint8_t> out;
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) { uint_le(v, 2); }
  void u32(uint32_t v) { uint_le(v, 4); }
  void u64(uint64_t v) { uint_le(v, 8); }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  void str8(std::string_view s) {
    u8(static_cast<uint8_t>(s.size()));
    bytes(s.data(), s.size());
  }

 private:
  void uint_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
};

class reader {
 public:
  explicit reader(std::span<const uint8_t> s) : s_(s) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == s_.size(); }
  size_t pos() const { return pos_; }
  // Bytes [from, pos()) already read.
  std::span<const uint8_t> since(size_t from) const { return s_.subspan(from, pos_ - from); }
  uint8_t u8() { return static_cast<uint8_t>(uint_le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(uint_le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(uint_le(4)); }
  uint64_t u64() { return uint_le(8); }
  std::span<const uint8_t> bytes(size_t n) {
    if (!ok_ || s_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    auto r = s_.subspan(pos_, n);
    pos_ += n;
    return r;
  }
  std::string str(size_t n) {
    auto b = bytes(n);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

 private:
  uint64_t uint_le(size_t n) {
    auto b = bytes(n);
    uint64_t v = 0;
    for (size_t i = 0; i < b.size(); ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
    return v;
  }
  std::span<const uint8_t> s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Owns a compile error until it is turned into a load_error.
std::string take_message(hs_compile_error_t* e) {
  std::string m = e && e->message ? e->message : "Hyperscan compile failed";
  hs_free_compile_error(e);
  return m;
}

struct db_request {
  const char* label;  // "" for the forward stream database
  unsigned mode;
  unsigned extra_flags;
};

// Compiles `exprs` (entry indexes in `ids`) and maps a failure back to the entry.
std::optional<load_error> compile_one(const pattern_set& set, const std::vector<std::string>& exprs,
                                      const std::vector<unsigned>& ids, const db_request& req,
                                      hs_database_t** out) {
  std::vector<const char*> cexprs;
  std::vector<unsigned> flags;
  for (size_t k = 0; k < exprs.size(); ++k) {
    cexprs.push_back(exprs[k].c_str());
    flags.push_back(set.entries[ids[k]].flags | req.extra_flags);
  }
  hs_compile_error_t* cerr = nullptr;
  hs_error_t rc = hs_compile_multi(cexprs.data(), flags.data(), ids.data(),
                                   static_cast<unsigned>(cexprs.size()), req.mode, nullptr, out,
                                   &cerr);
  if (rc == HS_SUCCESS) return std::nullopt;
  int k = cerr ? cerr->expression : -1;
  std::string msg = take_message(cerr);
  if (*req.label) msg = std::string("in the derived ") + req.label + " form: " + msg;
  if (k < 0 || static_cast<size_t>(k) >= ids.size()) return err("patterns", msg);
  size_t i = ids[static_cast<size_t>(k)];
  return err(pattern_entry_where(i, set.entries[i].id) + ".expression", msg);
}

// The forward stream database with similar entries merged (scan/stream_groups.hh). False when
// Hyperscan refuses the grouped expressions; the caller then compiles them ungrouped.
std::vector<stream_group_input> group_inputs(const pattern_set& set, const std::vector<std::string>& fwd) {
  std::vector<stream_group_input> in;
  for (size_t i = 0; i < fwd.size(); ++i)
    in.push_back({fwd[i], set.entries[i].flags, set.entries[i].context_window > 0});
  return in;
}

// One Hyperscan stream database of the groups' expressions, report id ids[k] for groups[k].
bool compile_stream_groups(const std::vector<stream_group_input>& in, const std::vector<std::vector<uint16_t>>& groups,
                           const std::vector<unsigned>& ids, hs_database_t** out) {
  std::vector<std::string> exprs;
  std::vector<const char*> cexprs;
  std::vector<unsigned> flags;
  for (const std::vector<uint16_t>& g : groups) {
    exprs.push_back(stream_group_expression(in, g));
    flags.push_back(in[g.front()].flags);
  }
  for (const std::string& e : exprs) cexprs.push_back(e.c_str());
  hs_compile_error_t* cerr = nullptr;
  if (hs_compile_multi(cexprs.data(), flags.data(), ids.data(), static_cast<unsigned>(cexprs.size()), HS_MODE_STREAM,
                       nullptr, out, &cerr) != HS_SUCCESS) {
    hs_free_compile_error(cerr);
    *out = nullptr;
    return false;
  }
  return true;
}

bool compile_grouped(const pattern_set& set, const std::vector<std::string>& fwd, hs_database_t** out,
                     std::vector<std::vector<uint16_t>>& groups) {
  const std::vector<stream_group_input> in = group_inputs(set, fwd);
  groups = stream_groups_plan(in);
  std::vector<unsigned> ids;
  for (size_t k = 0; k < groups.size(); ++k) ids.push_back(static_cast<unsigned>(k));
  return compile_stream_groups(in, groups, ids, out);
}

// Whether Hyperscan says `d` was compiled for block mode. A start or hold database of another
// mode loads, but every hs_scan on it fails: the scanner would fail every body closed
// (scan_failed), so such a blob is refused at load instead.
bool block_mode(const hs_database_t* d) {
  char* info = nullptr;
  if (hs_database_info(d, &info) != HS_SUCCESS || info == nullptr) return false;
  const bool block = std::string_view(info).find("Mode: BLOCK") != std::string_view::npos;
  std::free(info);  // misc allocator, malloc by default
  return block;
}

// Every stream group reported by exactly one of: one stream automaton, or the missing list
// (ascending, no repeats). nullptr or why not. A group in two places would be reported twice,
// a group in none never: both break the scan, so compile drops such automata and load refuses them.
const char* stream_automata_cover(std::span<const stream_dfa> parts, std::span<const uint16_t> missing,
                                  uint32_t groups) {
  if (parts.empty()) return missing.empty() ? nullptr : "missing groups without stream automata";
  if (parts.size() > kStreamDfaMaxParts || groups > kStreamDfaMaxGroups || missing.size() > kStreamDfaMaxMissing)
    return "too many stream automata, groups or missing groups";
  uint64_t seen = 0;
  for (const stream_dfa& d : parts) {
    uint64_t mine = 0;
    for (uint32_t s = 0; s < d.states; ++s) mine |= d.ends_word[s] | d.ends_other[s];
    if (mine & seen) return "a group in two stream automata";
    seen |= mine;
  }
  for (size_t k = 0; k < missing.size(); ++k) {
    if (missing[k] >= groups || (k > 0 && missing[k] <= missing[k - 1])) return "bad missing group list";
    if ((seen >> missing[k]) & 1) return "a missing group has a stream automaton";
    seen |= uint64_t{1} << missing[k];
  }
  if (seen != (groups == 64 ? ~0ull : (uint64_t{1} << groups) - 1)) return "a group without stream automaton";
  return nullptr;
}

void copy_name(char* dst, size_t cap, std::string_view s) {
  size_t n = std::min(cap - 1, s.size());
  std::memcpy(dst, s.data(), n);
  std::memset(dst + n, 0, cap - n);
}

}  // namespace

pattern_db::~pattern_db() {
  hs_free_database(stream_db_);
  hs_free_database(hold_db_);
  for (hs_database_t* d : start_dbs_) hs_free_database(d);
  hs_free_database(rest_db_);
}

namespace {
std::atomic<uint32_t> g_serial{0};
}  // namespace

void pattern_db::finish_load() {
  serial_ = g_serial.fetch_add(1, std::memory_order_relaxed) + 1;
  trigger_finish(triggers_);
  size_t n = 0;
  stream_bytes_ = hs_stream_size(stream_db_, &n) == HS_SUCCESS ? static_cast<uint32_t>(n) : 0;
}

// Needs meta_ and keywords_ in place (both callers set them first).
void pattern_db::set_groups(const std::vector<std::vector<uint16_t>>& groups) {
  group_members_.clear();
  group_first_.assign(1, 0);
  group_contexts_.clear();
  group_context_of_.assign(groups.size(), -1);
  keyword_masks_.assign(meta_.size(), 0);
  for (size_t g = 0; g < groups.size(); ++g) {
    group_members_.insert(group_members_.end(), groups[g].begin(), groups[g].end());
    group_first_.push_back(static_cast<uint32_t>(group_members_.size()));
    stream_group_context c;
    uint32_t gated = 0;
    bool fits = true;
    for (const uint16_t id : groups[g]) {
      const pattern_meta& m = meta_[id];
      if (!m.context_window) continue;
      ++gated;
      c.window = std::max<uint16_t>(c.window, static_cast<uint16_t>(m.max_length + m.context_window));
      for (uint32_t k = 0; k < m.keyword_count && fits; ++k) {
        const std::string& kw = keywords_[m.keyword_first + k];
        if (kw.empty()) continue;  // never matches (context_ok skips it too)
        uint32_t slot = 0;
        while (slot < c.keyword_count && keywords_[c.keywords[slot]] != kw) ++slot;
        if (slot == c.keyword_count) {
          if (c.keyword_count == stream_group_context::max_keywords) {
            fits = false;
            break;
          }
          c.keywords[c.keyword_count++] = static_cast<uint16_t>(m.keyword_first + k);
          const uint64_t bit = uint64_t{1} << slot;
          c.first[static_cast<uint8_t>(kw[0])] |= bit;
          if (kw.size() == 1) {
            c.one_byte |= bit;
            for (uint64_t& row : c.second) row |= bit;
          } else {
            c.second[static_cast<uint8_t>(kw[1])] |= bit;
          }
        }
        keyword_masks_[id] |= uint64_t{1} << slot;
      }
    }
    if (gated >= 2 && fits) {
      group_context_of_[g] = static_cast<int32_t>(group_contexts_.size());
      group_contexts_.push_back(c);
    }
  }
}

void pattern_db::finish_summary() {
  max_length_ = 0;
  max_context_window_ = 0;
  for (const pattern_meta& m : meta_) {
    max_length_ = std::max(max_length_, m.max_length);
    max_context_window_ = std::max(max_context_window_, m.context_window);
  }
  entities_.clear();
  entity_sets_.clear();
  entity_bits_.clear();
  for (size_t p = 0; p < meta_.size(); ++p) {
    const pattern_meta& m = meta_[p];
    const std::string_view e(m.entity, strnlen(m.entity, sizeof m.entity));
    const uint8_t origin = p < origins_.size() ? origins_[p] : 0;
    size_t i = 0;
    while (i < entities_.size() && (entities_[i] != e || entity_sets_[i] != origin)) ++i;
    if (i == entities_.size()) {
      entities_.emplace_back(e);
      entity_sets_.push_back(origin);
    }
    entity_bits_.push_back(i < max_entity_bits ? static_cast<uint8_t>(i) : no_entity_bit);
  }
}

int pattern_db::entity_index(std::string_view entity) const {
  for (size_t i = 0; i < entities_.size(); ++i)
    if (entities_[i] == entity) return static_cast<int>(i);
  return -1;
}

int pattern_db::set_index(std::string_view name) const {
  for (size_t i = 0; i < set_names_.size(); ++i)
    if (set_names_[i] == name) return static_cast<int>(i);
  return -1;
}

pattern_db::mask_result pattern_db::entity_mask(std::span<const std::string> sets,
                                                std::span<const std::string> entities) const {
  mask_result out;
  try {
    if (sets.empty() && entities.empty()) return out;
    std::vector<bool> chosen(set_names_.size(), sets.empty());
    for (const std::string& s : sets) {
      const int k = set_index(s);
      if (k < 0) {
        out.error = "pattern set " + s + " is not loaded (loaded: ";
        for (size_t i = 0; i < set_names_.size(); ++i) out.error += (i ? ", " : "") + set_names_[i];
        out.error += ")";
        return out;
      }
      chosen[static_cast<size_t>(k)] = true;
    }
    // Slots past 64 have no bit: their patterns are always masked (entity_bit), so a profile
    // can never unmask them by leaving them out.
    const size_t bits = std::min<size_t>(entities_.size(), max_entity_bits);
    out.mask = 0;
    if (entities.empty()) {
      for (size_t i = 0; i < bits; ++i)
        if (chosen[entity_sets_[i]]) out.mask |= uint64_t{1} << i;
      return out;
    }
    for (const std::string& e : entities) {
      bool found = false;
      for (size_t i = 0; i < entities_.size(); ++i) {
        if (entities_[i] != e || !chosen[entity_sets_[i]]) continue;
        found = true;
        if (i < bits) out.mask |= uint64_t{1} << i;
      }
      if (!found) {
        size_t n = 0;
        std::string names;
        for (size_t i = 0; i < set_names_.size(); ++i) {
          if (!chosen[i]) continue;
          names += (n++ ? ", " : "") + set_names_[i];
        }
        out.error = "entity " + e + " is not in pattern set" + (n > 1 ? "s " : " ") + names;
        out.mask = all_entities;
        return out;
      }
    }
  } catch (const std::exception&) {
    out.mask = all_entities;
    out.error = "out of memory";
  }
  return out;
}

std::variant<std::unique_ptr<pattern_db>, load_error> pattern_db::compile(const pattern_set& set) {
  try {
    if (auto r = pattern_set_check(set)) return *r;
    std::unique_ptr<pattern_db> db(new pattern_db());
    db->name_ = set.name;
    db->version_ = set.version;
    if (set.origins.empty()) {
      db->set_names_.push_back(set.name);
      db->set_versions_.push_back(set.version);
    } else {
      for (const pattern_set_origin& o : set.origins) {
        db->set_names_.push_back(o.name);
        db->set_versions_.push_back(o.version);
      }
    }

    const size_t n = set.entries.size();
    std::vector<std::string> fwd(n), start(n), hold(n);
    std::vector<unsigned> ids(n);
    for (size_t i = 0; i < n; ++i) {
      const pattern_entry& e = set.entries[i];
      std::string where = pattern_entry_where(i, e.id) + ".expression";
      // All three forms come from the same syntax tree, so the start and hold languages are
      // derived from exactly the language the stream database scans.
      regex_result f = regex_normalize(e.expression);
      regex_result r = regex_reverse_for_start(e.expression);
      regex_result h = regex_reverse_prefix_closure(e.expression);
      for (const regex_result* x : {&f, &r, &h}) {
        if (!x->ok) {
          return err(where, "offset " + std::to_string(x->error_offset) + ": " + x->error);
        }
      }
      fwd[i] = std::move(f.expr);
      start[i] = "^(?:" + r.expr + ")";
      hold[i] = "^(?:" + h.expr + ")";
      ids[i] = static_cast<unsigned>(i);

      pattern_meta m{};
      copy_name(m.id, sizeof(m.id), e.id);
      copy_name(m.entity, sizeof(m.entity), e.entity);
      m.validator = e.validator;
      m.mask = e.mask;
      m.max_length = e.max_length;
      m.context_window = e.context_window;
      m.keyword_first = static_cast<uint16_t>(db->keywords_.size());
      m.keyword_count = static_cast<uint16_t>(e.keywords.size());
      for (const std::string& k : e.keywords) db->keywords_.push_back(k);
      db->meta_.push_back(m);
      db->origins_.push_back(e.origin);
    }
    db->finish_summary();
    {
      std::vector<std::pair<std::string, unsigned>> exprs;
      for (const pattern_entry& e : set.entries) exprs.emplace_back(e.expression, e.flags);
      db->triggers_ = trigger_build(exprs);
    }

    std::vector<std::vector<uint16_t>> groups;
    if (compile_grouped(set, fwd, &db->stream_db_, groups)) {
      db->set_groups(groups);
    } else {
      // Hyperscan refused the merged expressions (a limit of the alternation's size): compile
      // them one per entry, which also names the entry if one of them is itself at fault.
      std::vector<std::vector<uint16_t>> alone;
      for (size_t i = 0; i < n; ++i) alone.push_back({static_cast<uint16_t>(i)});
      db->set_groups(alone);
      if (auto r = compile_one(set, fwd, ids, {"", HS_MODE_STREAM, 0}, &db->stream_db_)) return *r;
    }
    if (auto r = compile_one(set, hold, ids, {"hold (reverse prefix)", HS_MODE_BLOCK,
                                              HS_FLAG_ALLOWEMPTY},
                             &db->hold_db_)) {
      return *r;
    }
    {
      // The same hold language as table walks (scan/hold_dfa.hh); when the set is too large for
      // them the Hyperscan database above answers instead.
      std::vector<regex_tree> trees(n);
      std::vector<hold_dfa_entry> entries(n);
      for (size_t i = 0; i < n; ++i) {
        regex_parse_result p = regex_parse(set.entries[i].expression);
        if (!p.ok) return err(pattern_entry_where(i, set.entries[i].id) + ".expression", p.error);
        trees[i] = std::move(p.tree);
        entries[i] = {&trees[i], (set.entries[i].flags & HS_FLAG_CASELESS) != 0};
      }
      std::string why;
      if (!hold_dfa_build_parts(entries, db->hold_dfas_, why)) db->hold_dfas_.clear();
      // Start recovery as table walks where an entry's start form allows (scan/start_dfa.hh).
      db->start_dfas_.assign(n, start_dfa{});
      for (size_t i = 0; i < n; ++i) start_dfa_build(trees[i], entries[i].caseless, db->start_dfas_[i], why);
      db->build_stream_automata(set, fwd, trees);
    }
    db->start_dbs_.assign(n, nullptr);
    for (size_t i = 0; i < n; ++i) {
      if (auto r = compile_one(set, {start[i]}, {ids[i]}, {"start (reverse)", HS_MODE_BLOCK, 0},
                               &db->start_dbs_[i])) {
        return *r;
      }
    }
    db->finish_load();
    return db;
  } catch (const std::bad_alloc&) {
    return err("patterns", "out of memory");
  } catch (const std::exception&) {
    return err("patterns", "internal error while compiling");
  }
}

void pattern_db::build_stream_automata(const pattern_set& set, const std::vector<std::string>& fwd,
                                       const std::vector<regex_tree>& trees) {
  stream_dfas_.clear();
  rest_groups_.clear();
  const uint32_t groups = stream_group_count();
  if (groups == 0 || groups > kStreamDfaMaxGroups) return;
  std::vector<stream_dfa_language> langs;
  for (uint32_t g = 0; g < groups; ++g)
    for (uint16_t id : stream_members(g))
      langs.push_back({&trees[id], (set.entries[id].flags & HS_FLAG_CASELESS) != 0, g});
  std::vector<stream_dfa> parts;
  std::vector<uint32_t> missing;
  std::string why;
  if (!stream_dfa_build_parts(langs, parts, missing, why)) return;
  std::vector<uint16_t> rest(missing.begin(), missing.end());
  if (stream_automata_cover(parts, rest, groups) != nullptr) return;
  hs_database_t* rest_db = nullptr;
  if (!rest.empty()) {
    // The missing groups compiled as the full stream database has them, report id = group.
    std::vector<std::vector<uint16_t>> members;
    std::vector<unsigned> ids;
    for (uint16_t g : rest) {
      const std::span<const uint16_t> m = stream_members(g);
      members.emplace_back(m.begin(), m.end());
      ids.push_back(g);
    }
    // Refused: the full stream database scans everything, as before.
    if (!compile_stream_groups(group_inputs(set, fwd), members, ids, &rest_db)) return;
  }
  stream_dfas_ = std::move(parts);
  rest_groups_ = std::move(rest);
  rest_db_ = rest_db;
}

std::vector<uint8_t> pattern_db::serialize() const {
  writer body;
  body.u32(static_cast<uint32_t>(name_.size()));
  body.bytes(name_.data(), name_.size());
  body.u32(static_cast<uint32_t>(version_));
  body.u32(static_cast<uint32_t>(meta_.size()));
  for (const pattern_meta& m : meta_) {
    body.str8(std::string_view(m.id, strnlen(m.id, sizeof(m.id))));
    body.str8(std::string_view(m.entity, strnlen(m.entity, sizeof(m.entity))));
    body.u8(static_cast<uint8_t>(m.validator));
    body.u8(static_cast<uint8_t>(m.mask));
    body.u16(m.max_length);
    body.u8(m.context_window);
    body.u16(m.keyword_first);
    body.u16(m.keyword_count);
  }
  body.u8(static_cast<uint8_t>(set_names_.size()));
  for (size_t i = 0; i < set_names_.size(); ++i) {
    body.str8(set_names_[i]);
    body.u32(static_cast<uint32_t>(set_versions_[i]));
  }
  for (size_t p = 0; p < meta_.size(); ++p) body.u8(p < origins_.size() ? origins_[p] : 0);
  body.u32(static_cast<uint32_t>(keywords_.size()));
  for (const std::string& k : keywords_) body.str8(k);
  body.u8(triggers_.enabled ? 1 : 0);
  for (int c = 0; c < 256; ++c) {
    body.u8(triggers_.before[c]);
    body.u8(triggers_.after[c]);
    body.u8(triggers_.confirm[c] ? 1 : 0);
    for (int w = 0; w < 4; ++w) body.u64(triggers_.follow[c][w]);
  }
  body.u8(triggers_.run_count);
  for (uint32_t j = 0; j < triggers_.run_count; ++j) {
    const run_class& rc = triggers_.runs[j];
    for (int w = 0; w < 4; ++w) body.u64(rc.members[w]);
    body.u8(rc.min_run);
    body.u8(rc.before);
    body.u8(rc.after);
  }
  body.u16(static_cast<uint16_t>(stream_group_count()));
  for (uint32_t g = 0; g < stream_group_count(); ++g) {
    const std::span<const uint16_t> m = stream_members(g);
    body.u16(static_cast<uint16_t>(m.size()));
    for (uint16_t id : m) body.u16(id);
  }

  // Hold automata, start automata (a kind byte per entry: 0 none, 1 plain, 2 after a leading
  // \b), then a CRC-32 of their bytes. A table whose entries are in range can still be wrong, and
  // a wrong one holds too little or misses a start: the Hyperscan databases carry a checksum of
  // their own, this section gets one too.
  auto put_dfa = [&](const byte_dfa& d) {
    body.u16(d.states);
    body.u16(d.classes);
    body.u16(d.start);
    body.bytes(d.byte_class, sizeof d.byte_class);
    body.bytes(d.accept.data(), d.accept.size());
    for (uint16_t x : d.next) body.u16(x);
  };
  const size_t automata_at = body.out.size();
  body.u8(static_cast<uint8_t>(hold_dfas_.size()));
  for (const byte_dfa& d : hold_dfas_) put_dfa(d);
  body.u16(static_cast<uint16_t>(start_dfas_.size()));
  for (const start_dfa& d : start_dfas_) {
    body.u8(d.dfa.states == 0 ? 0 : d.leading_boundary ? 2 : 1);
    if (d.dfa.states) put_dfa(d.dfa);
  }
  body.u8(static_cast<uint8_t>(stream_dfas_.size()));
  for (const stream_dfa& d : stream_dfas_) {
    body.u16(d.states);
    body.u16(d.classes);
    body.u16(d.start);
    body.u16(d.first_reporting);
    body.bytes(d.byte_class, sizeof d.byte_class);
    for (uint32_t x : d.ends_word) body.u32(x);
    for (uint32_t x : d.ends_other) body.u32(x);
    // Rows in the blob (state-major), as format 8 defines; the walk's copy is class-major.
    for (uint32_t st = 0; st < d.states; ++st)
      for (uint32_t c = 0; c < d.classes; ++c) body.u16(stream_dfa_next(d, st, c));
  }
  body.u8(static_cast<uint8_t>(rest_groups_.size()));
  for (uint16_t g : rest_groups_) body.u16(g);
  body.u32(core::crc32(body.out.data() + automata_at, body.out.size() - automata_at));

  auto put_db = [&](const hs_database_t* d) {
    char* bytes = nullptr;
    size_t len = 0;
    if (hs_serialize_database(d, &bytes, &len) != HS_SUCCESS) {
      // Only allocation can fail here; an empty blob makes deserialize() reject the result.
      body.u64(0);
      return;
    }
    body.u64(len);
    body.bytes(bytes, len);
    std::free(bytes);  // misc allocator, malloc by default
  };
  put_db(stream_db_);
  put_db(hold_db_);
  for (const hs_database_t* d : start_dbs_) put_db(d);
  if (rest_db_ != nullptr) put_db(rest_db_);

  writer out;
  out.bytes(db_magic, sizeof(db_magic));
  out.u32(db_format_version);
  out.u32(core::crc32(body.out.data(), body.out.size()));
  out.u64(body.out.size());
  out.out.insert(out.out.end(), body.out.begin(), body.out.end());
  return std::move(out.out);
}

std::variant<std::unique_ptr<pattern_db>, load_error> pattern_db::deserialize(
    std::span<const uint8_t> blob) {
  try {
    if (blob.size() < db_header_bytes) return err(db_where, "blob shorter than its header");
    if (std::memcmp(blob.data(), db_magic, sizeof(db_magic)) != 0) {
      return err(db_where, "bad magic (not a phigate pattern db)");
    }
    reader hdr(blob.subspan(sizeof(db_magic), db_header_bytes - sizeof(db_magic)));
    uint32_t format = hdr.u32();
    uint32_t crc = hdr.u32();
    uint64_t body_len = hdr.u64();
    if (format < db_format_oldest || format > db_format_version) {
      return err(db_where, "unsupported format version");
    }
    if (body_len != blob.size() - db_header_bytes) return err(db_where, "length mismatch");
    std::span<const uint8_t> body = blob.subspan(db_header_bytes);
    if (core::crc32(body.data(), body.size()) != crc) return err(db_where, "checksum mismatch");

    std::unique_ptr<pattern_db> db(new pattern_db());
    reader r(body);
    uint32_t name_len = r.u32();
    // A merged db is named after up to 16 members of up to 47 bytes, joined by '+'.
    if (name_len > pattern_set_max_merged * 48) return err(db_where, "bad set name");
    db->name_ = r.str(name_len);
    db->version_ = static_cast<int>(r.u32());
    uint32_t n = r.u32();
    if (!r.ok() || db->version_ < 1) return err(db_where, "bad set header");
    if (format == 2 && !pattern_set_name_valid(db->name_)) return err(db_where, "bad set header");
    if (n == 0 || n > pattern_set_max_entries) return err(db_where, "bad pattern count");
    for (uint32_t i = 0; i < n; ++i) {
      pattern_meta m{};
      std::string id = r.str(r.u8());
      std::string entity = r.str(r.u8());
      uint8_t validator = r.u8();
      uint8_t mask = r.u8();
      m.max_length = r.u16();
      m.context_window = r.u8();
      m.keyword_first = r.u16();
      m.keyword_count = r.u16();
      if (!r.ok() || !pattern_id_valid(id) || !pattern_entity_valid(entity) ||
          validator >= validate::validator_count || mask > static_cast<uint8_t>(mask_style::all) ||
          m.max_length < 1 || m.max_length > pattern_max_length_limit ||
          m.context_window > pattern_max_context_window ||
          (m.context_window == 0) != (m.keyword_count == 0)) {
        return err(db_where, "bad metadata for pattern " + std::to_string(i));
      }
      copy_name(m.id, sizeof(m.id), id);
      copy_name(m.entity, sizeof(m.entity), entity);
      m.validator = static_cast<validate::validator>(validator);
      m.mask = static_cast<mask_style>(mask);
      db->meta_.push_back(m);
    }
    if (format == 2) {
      db->set_names_.push_back(db->name_);
      db->set_versions_.push_back(db->version_);
      db->origins_.assign(n, 0);
    } else {
      const uint8_t sets = r.u8();
      if (!r.ok() || sets == 0 || sets > pattern_set_max_merged) return err(db_where, "bad set count");
      std::string joined;
      for (uint8_t k = 0; k < sets; ++k) {
        std::string name = r.str(r.u8());
        const int version = static_cast<int>(r.u32());
        if (!r.ok() || !pattern_set_name_valid(name) || version < 1 || db->set_index(name) >= 0) {
          return err(db_where, "bad member set " + std::to_string(k));
        }
        joined += (k ? "+" : "") + name;
        db->set_names_.push_back(std::move(name));
        db->set_versions_.push_back(version);
      }
      // The db's own name is its member's, or the members' joined: as pattern_set_check wants.
      if (db->name_ != joined) return err(db_where, "set name does not match the member sets");
      for (uint32_t i = 0; i < n; ++i) {
        const uint8_t o = r.u8();
        if (!r.ok() || o >= sets) return err(db_where, "bad origin for pattern " + std::to_string(i));
        db->origins_.push_back(o);
      }
    }
    uint32_t nk = r.u32();
    if (!r.ok() || nk > pattern_set_max_entries * 64u) return err(db_where, "bad keyword count");
    for (uint32_t i = 0; i < nk; ++i) {
      db->keywords_.push_back(r.str(r.u8()));
      if (!r.ok() || db->keywords_.back().empty()) return err(db_where, "bad keyword");
    }
    for (const pattern_meta& m : db->meta_) {
      if (static_cast<uint32_t>(m.keyword_first) + m.keyword_count > nk) {
        return err(db_where, "keyword range out of bounds");
      }
    }
    db->finish_summary();
    const uint8_t enabled = r.u8();
    for (int c = 0; c < 256; ++c) {
      db->triggers_.before[c] = r.u8();
      db->triggers_.after[c] = r.u8();
      db->triggers_.confirm[c] = r.u8() != 0;
      for (int w = 0; w < 4; ++w) db->triggers_.follow[c][w] = r.u64();
    }
    if (!r.ok() || enabled > 1) return err(db_where, "bad trigger table");
    db->triggers_.enabled = enabled == 1;
    if (format >= 5) {
      // Earlier formats have none: their byte table covers every expression.
      const uint8_t runs = r.u8();
      if (!r.ok() || runs > kMaxRunClasses) return err(db_where, "bad run class count");
      db->triggers_.run_count = runs;
      for (uint32_t j = 0; j < runs; ++j) {
        run_class& rc = db->triggers_.runs[j];
        for (int w = 0; w < 4; ++w) rc.members[w] = r.u64();
        rc.min_run = r.u8();
        rc.before = r.u8();
        rc.after = r.u8();
        // A class no byte can fire would leave its expressions unscanned.
        const bool empty = (rc.members[0] | rc.members[1] | rc.members[2] | rc.members[3]) == 0;
        if (!r.ok() || rc.min_run == 0 || rc.min_run > kMaxRunLength || rc.after == 0 || rc.before > 254 ||
            rc.after > 254 || empty) {
          return err(db_where, "bad run class " + std::to_string(j));
        }
      }
    }
    std::vector<std::vector<uint16_t>> groups;
    if (format < 4) {
      for (uint32_t i = 0; i < n; ++i) groups.push_back({static_cast<uint16_t>(i)});
    } else {
      // A partition of the entries: every entry in exactly one group, ascending within it.
      const uint16_t count = r.u16();
      if (!r.ok() || count == 0 || count > n) return err(db_where, "bad stream group count");
      std::vector<bool> seen(n, false);
      for (uint16_t g = 0; g < count; ++g) {
        const uint16_t size = r.u16();
        if (!r.ok() || size == 0 || size > n) return err(db_where, "bad stream group " + std::to_string(g));
        std::vector<uint16_t>& members = groups.emplace_back();
        for (uint16_t k = 0; k < size; ++k) {
          const uint16_t id = r.u16();
          if (!r.ok() || id >= n || seen[id] || (k > 0 && id <= members.back()))
            return err(db_where, "bad stream group " + std::to_string(g));
          seen[id] = true;
          members.push_back(id);
        }
      }
      if (std::find(seen.begin(), seen.end(), false) != seen.end())
        return err(db_where, "a pattern is in no stream group");
    }
    db->set_groups(groups);
    db->start_dfas_.assign(n, start_dfa{});
    if (format >= 6) {
      // Earlier formats have none: their bodies keep the Hyperscan hold and start scans. Format 6
      // has hold automata only.
      auto get_dfa = [&](byte_dfa& d, const std::string& what) -> std::optional<load_error> {
        d.states = r.u16();
        d.classes = r.u16();
        d.start = r.u16();
        auto classes = r.bytes(sizeof d.byte_class);
        if (!r.ok() || d.states == 0 || d.states > kByteDfaMaxStates || d.classes == 0 || d.classes > 256)
          return err(db_where, "bad " + what);
        std::memcpy(d.byte_class, classes.data(), sizeof d.byte_class);
        auto accept = r.bytes(d.states);
        d.accept.assign(accept.begin(), accept.end());
        d.next.resize(static_cast<size_t>(d.states) * d.classes);
        for (uint16_t& x : d.next) x = r.u16();
        if (!r.ok()) return err(db_where, "bad " + what);
        if (const char* why = byte_dfa_check(d)) return err(db_where, what + ": " + why);
        return std::nullopt;
      };
      const size_t automata_at = r.pos();
      const uint8_t parts = r.u8();
      if (!r.ok() || parts > kHoldDfaMaxParts) return err(db_where, "bad hold automaton count");
      for (uint32_t k = 0; k < parts; ++k) {
        byte_dfa d;
        if (auto e = get_dfa(d, "hold automaton " + std::to_string(k))) return *e;
        db->hold_dfas_.push_back(std::move(d));
      }
      if (format >= 7) {
        if (r.u16() != n || !r.ok()) return err(db_where, "bad start automaton count");
        for (uint32_t i = 0; i < n; ++i) {
          const uint8_t kind = r.u8();
          if (!r.ok() || kind > 2) return err(db_where, "bad start automaton " + std::to_string(i));
          if (kind == 0) continue;
          start_dfa& d = db->start_dfas_[i];
          if (auto e = get_dfa(d.dfa, "start automaton " + std::to_string(i))) return *e;
          d.leading_boundary = kind == 2;
        }
      }
      if (format >= 8) {
        const uint8_t parts = r.u8();
        if (!r.ok() || parts > kStreamDfaMaxParts) return err(db_where, "bad stream automaton count");
        for (uint32_t k = 0; k < parts; ++k) {
          const std::string what = "stream automaton " + std::to_string(k);
          stream_dfa d;
          d.states = r.u16();
          d.classes = r.u16();
          d.start = r.u16();
          d.first_reporting = r.u16();
          auto classes = r.bytes(sizeof d.byte_class);
          if (!r.ok() || d.states == 0 || d.states > kStreamDfaMaxStates || d.classes == 0 || d.classes > 256)
            return err(db_where, "bad " + what);
          std::memcpy(d.byte_class, classes.data(), sizeof d.byte_class);
          d.ends_word.resize(d.states);
          d.ends_other.resize(d.states);
          for (uint32_t& x : d.ends_word) x = r.u32();
          for (uint32_t& x : d.ends_other) x = r.u32();
          d.next.resize(static_cast<size_t>(d.states) * d.classes);
          for (uint32_t st = 0; st < d.states; ++st)
            for (uint32_t c = 0; c < d.classes; ++c) d.next[c * d.states + st] = r.u16();
          stream_dfa_set_columns(d);
          if (!r.ok()) return err(db_where, "bad " + what);
          if (const char* why = stream_dfa_check(d, db->stream_group_count())) return err(db_where, what + ": " + why);
          db->stream_dfas_.push_back(std::move(d));
        }
        const uint8_t missing = r.u8();
        for (uint32_t k = 0; k < missing && r.ok(); ++k) db->rest_groups_.push_back(r.u16());
        if (!r.ok()) return err(db_where, "bad missing group list");
        if (const char* why = stream_automata_cover(db->stream_dfas_, db->rest_groups_, db->stream_group_count()))
          return err(db_where, why);
      }
      const std::span<const uint8_t> section = r.since(automata_at);
      const uint32_t sum = r.u32();
      if (!r.ok() || sum != core::crc32(section.data(), section.size()))
        return err(db_where, "automata checksum mismatch");
    }

    auto get_db = [&](hs_database_t** out) -> bool {
      uint64_t len = r.u64();
      auto bytes = r.bytes(len);
      if (!r.ok() || len == 0) return false;
      return hs_deserialize_database(reinterpret_cast<const char*>(bytes.data()), bytes.size(),
                                     out) == HS_SUCCESS;
    };
    if (!get_db(&db->stream_db_)) return err(db_where, "stream database does not deserialize");
    size_t stream_state = 0;
    if (hs_stream_size(db->stream_db_, &stream_state) != HS_SUCCESS) {
      return err(db_where, "stream database is not a streaming database");
    }
    if (!get_db(&db->hold_db_)) return err(db_where, "hold database does not deserialize");
    if (!block_mode(db->hold_db_)) return err(db_where, "hold database is not a block-mode database");
    db->start_dbs_.assign(n, nullptr);
    for (uint32_t i = 0; i < n; ++i) {
      if (!get_db(&db->start_dbs_[i])) {
        return err(db_where, "start database " + std::to_string(i) + " does not deserialize");
      }
      if (!block_mode(db->start_dbs_[i]))
        return err(db_where, "start database " + std::to_string(i) + " is not a block-mode database");
    }
    if (!db->rest_groups_.empty()) {
      if (!get_db(&db->rest_db_)) return err(db_where, "missing groups' stream database does not deserialize");
      size_t rest_state = 0;
      if (hs_stream_size(db->rest_db_, &rest_state) != HS_SUCCESS)
        return err(db_where, "missing groups' database is not a streaming database");
    }
    if (!r.at_end()) return err(db_where, "trailing bytes after the last database");
    db->finish_load();
    return db;
  } catch (const std::bad_alloc&) {
    return err(db_where, "out of memory");
  } catch (const std::exception&) {
    return err(db_where, "internal error while deserializing");
  }
}

hs_scratch_t* pattern_db::alloc_scratch(hs_scratch_t* existing) const {
  hs_scratch_t* s = existing;
  auto grow = [&](const hs_database_t* d) {
    if (d == nullptr) return true;
    if (hs_alloc_scratch(d, &s) == HS_SUCCESS) return true;
    // On HS_NOMEM Hyperscan has already freed s and nulled it; on argument errors it left s
    // alone. Either way the caller gets nothing back, so release what is left.
    if (s != nullptr) hs_free_scratch(s);
    s = nullptr;
    return false;
  };
  if (!grow(stream_db_) || !grow(hold_db_) || !grow(rest_db_)) return nullptr;
  for (const hs_database_t* d : start_dbs_) {
    if (!grow(d)) return nullptr;
  }
  return s;
}

}  // namespace phigate::scan
