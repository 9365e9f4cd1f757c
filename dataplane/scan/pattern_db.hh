#pragma once
// Compiled pattern database: the Hyperscan databases and per-pattern metadata the scanner
// needs, built once in the control plane (or at start-up) and then immutable.
//
// Ownership and threads: a pattern_db owns its hs_database_t objects and frees them in the
// destructor. After compile()/deserialize() returns, every method is const and safe to call
// concurrently from any number of lcores; each lcore brings its own scratch
// (alloc_scratch), as Hyperscan requires one scratch per concurrent caller.
//
// Three database families, all compiled without HS_FLAG_SOM_LEFTMOST (SOM costs 3-8x and
// fails on some bounded repeats):
//  * stream_db: every expression forward, HS_MODE_STREAM, similar ones merged into groups
//    (scan/stream_groups.hh); match ids are group indexes, stream_members() lists a group's
//    entries. Reports only END offsets.
//  * start_db(i): ^(?:rev(R')), HS_MODE_BLOCK, where R' is expression i without its trailing
//    assertions (regex_reverse_for_start: the stream scan already checked them at e with the
//    byte after e, which the reversed buffer lacks). Scanning the reversed window that ends at
//    a reported end e reports every m such that text[e-m, e) matches entry i.
//  * hold_db: ^(?:rev(Pre(expression i))) for every entry, HS_MODE_BLOCK with
//    HS_FLAG_ALLOWEMPTY; ids are entry indexes. Scanning the reversed tail of the retained
//    text, the largest reported end m says the last m bytes may still become (part of) a
//    match and must be held back. Pre drops assertions, so the answer never depends on bytes
//    outside the scanned window (it may hold slightly more, never less).
//
// Window size for the start scan: give it max_length()+1 bytes when the stream has them, so
// that a leading \b or \B of R (evaluated at the far end of the reversed buffer) sees the
// real byte before the match instead of the buffer edge. A leading ^ of R becomes a trailing
// $ of the start expression: it only matches when the window begins at stream offset 0.
#include <hs.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dataplane/scan/hold_dfa.hh"
#include "dataplane/scan/pattern_set.hh"
#include "dataplane/scan/response_mode.hh"
#include "dataplane/scan/start_dfa.hh"
#include "dataplane/scan/stream_dfa.hh"
#include "dataplane/scan/trigger.hh"
#include "dataplane/validate/validators.hh"

namespace phigate::scan {

// The context keywords of a stream group's members, for one keyword pass per report instead of
// one per member (scan/channel.cc): with nine bare-number entries in one group, checking each
// member's keywords separately cost more than the grouping saved. Derived at load.
struct stream_group_context {
  static constexpr uint32_t max_keywords = 64;
  uint16_t window = 0;         // widest member window: max_length + context_window
  uint8_t keyword_count = 0;   // distinct keywords of the gated members
  uint16_t keywords[max_keywords] = {};  // indexes for pattern_db::keyword()
  uint64_t first[256] = {};    // bit k: keywords[k] starts with this (lowercase) byte
  uint64_t second[256] = {};   // bit k: its second byte is this one (every byte: one-byte keywords)
  uint64_t one_byte = 0;       // bit k: keywords[k] is a single byte
};

// Per-entry metadata the hot path reads by match id; fixed size, no pointers.
struct pattern_meta {
  char id[48];      // NUL-terminated
  char entity[24];  // NUL-terminated
  validate::validator validator;
  mask_style mask;
  uint16_t max_length;
  uint8_t context_window;              // 0: no context requirement
  uint16_t keyword_first, keyword_count;  // range in pattern_db::keyword()
};

class pattern_db {
 public:
  // Validates the set (pattern_set_check) and compiles all databases. On a Hyperscan compile
  // error, `where` names the entry ("patterns[i] (id X).expression") and `reason` carries
  // Hyperscan's message (prefixed for the derived start/hold forms).
  static std::variant<std::unique_ptr<pattern_db>, load_error> compile(const pattern_set& set);

  // Reverses serialize(). Rejects a blob whose magic, format version, length or checksum is
  // wrong, whose metadata is out of range, or whose Hyperscan databases do not deserialize
  // (e.g. built for an incompatible Hyperscan version or platform).
  static std::variant<std::unique_ptr<pattern_db>, load_error> deserialize(
      std::span<const uint8_t> blob);

  // One self-contained blob: "PHIGDB1\0", format version, body length, CRC-32 of the body,
  // then the body (set name and version, metadata, member sets and each pattern's origin,
  // keywords, trigger table, run classes, stream groups, hold and start automata,
  // hs_serialize_database blobs). Format 2-5 blobs (before automata) load without them (hold_db
  // and start_db answer), format 6 blobs with hold automata only. Format 2
  // blobs (before merged sets) still deserialize, as a single set; format 2 and 3 blobs (before
  // stream groups) with one entry per report id; format 2-4 blobs (before run classes) with
  // none, their byte trigger table covering every expression.
  // The CRC detects corruption, not tampering: authenticity is the snapshot signer's job.
  std::vector<uint8_t> serialize() const;

  ~pattern_db();
  pattern_db(const pattern_db&) = delete;
  pattern_db& operator=(const pattern_db&) = delete;

  const hs_database_t* stream_db() const { return stream_db_; }
  // The entries (ascending indexes) behind report id `group` of stream_db; empty when out of
  // range. One entry per group when the set was compiled ungrouped (format 3 blobs, or a
  // grouped compile Hyperscan refused).
  std::span<const uint16_t> stream_members(uint32_t group) const {
    if (group >= stream_group_count()) return {};
    return {group_members_.data() + group_first_[group], group_first_[group + 1] - group_first_[group]};
  }
  uint32_t stream_group_count() const { return group_first_.empty() ? 0 : static_cast<uint32_t>(group_first_.size() - 1); }
  // The shared keyword table of `group`, or nullptr when it has fewer than two members that need
  // context, or more distinct keywords than fit; its members are then checked one by one.
  const stream_group_context* group_context(uint32_t group) const {
    return group < group_context_of_.size() && group_context_of_[group] >= 0
               ? &group_contexts_[static_cast<size_t>(group_context_of_[group])]
               : nullptr;
  }
  // Entry `id`'s keywords as bits of its group's stream_group_context::keywords.
  uint64_t group_keyword_mask(uint32_t id) const { return id < keyword_masks_.size() ? keyword_masks_[id] : 0; }
  // nullptr when id is out of range.
  const hs_database_t* start_db(uint32_t id) const {
    return id < start_dbs_.size() ? start_dbs_[id] : nullptr;
  }
  const hs_database_t* hold_db() const { return hold_db_; }
  // The hold language as table walks (scan/hold_dfa.hh), which answer what hold_db answers
  // without a Hyperscan call; empty when the set is too large for them (hold_db answers then).
  std::span<const byte_dfa> hold_automata() const { return hold_dfas_; }
  // Entry `id`'s start form as a table walk (scan/start_dfa.hh), which answers what start_db(id)
  // answers; nullptr when the entry has none (start_db answers then) or id is out of range.
  const start_dfa* start_automaton(uint32_t id) const {
    return id < start_dfas_.size() && start_dfas_[id].dfa.states ? &start_dfas_[id] : nullptr;
  }
  // The forward stream scan as table walks (scan/stream_dfa.hh): every stream group's reports
  // but those of stream_automata_missing(), which rest_stream_db() makes. Empty when the set has
  // none (format 7 and older blobs, more groups than report masks hold, too many parts): then
  // stream_db() scans everything.
  std::span<const stream_dfa> stream_automata() const { return stream_dfas_; }
  std::span<const uint16_t> stream_automata_missing() const { return rest_groups_; }
  // Hyperscan stream database of the missing groups alone (report ids: their group numbers);
  // nullptr when the automata cover every group or there are none.
  const hs_database_t* rest_stream_db() const { return rest_db_; }
  // Bytes every match needs nearby (scan/trigger.hh): the scanner feeds Hyperscan only the
  // regions around them. Disabled (scan everything) when the set has no rare required bytes.
  const trigger_table& triggers() const { return triggers_; }

  std::span<const pattern_meta> patterns() const { return meta_; }
  // Lowercased context keyword i (see pattern_meta::keyword_first); empty when out of range.
  std::string_view keyword(uint32_t i) const {
    return i < keywords_.size() ? std::string_view(keywords_[i]) : std::string_view();
  }
  uint32_t keyword_total() const { return static_cast<uint32_t>(keywords_.size()); }
  uint16_t max_length() const { return max_length_; }
  uint8_t max_context_window() const { return max_context_window_; }
  // The set's name and version; for a merged db the members' names joined by '+' and 1 (see
  // set_name()/set_version() for the members).
  std::string_view name() const { return name_; }
  int version() const { return version_; }

  // The pattern sets this db was built from (pattern_set_merge), in load order: one for a db
  // compiled from a single set (its name() and version()). Serialized since format 3.
  uint32_t set_count() const { return static_cast<uint32_t>(set_names_.size()); }
  std::string_view set_name(uint32_t i) const {
    return i < set_names_.size() ? std::string_view(set_names_[i]) : std::string_view();
  }
  int set_version(uint32_t i) const { return i < set_versions_.size() ? set_versions_[i] : 0; }
  // Index of the loaded set named `name`, or -1.
  int set_index(std::string_view name) const;
  // The set pattern `id` came from (0 when id is out of range).
  uint32_t pattern_set_of(uint32_t id) const { return id < origins_.size() ? origins_[id] : 0; }

  // Entity slots: one per distinct (origin set, entity), numbered in order of first appearance
  // (masking profiles choose them; response_mode::entities holds one bit per slot). With one set
  // a slot is simply an entity, numbered as before merging existed. Derived at load, not
  // serialized. entity_name() is the plain entity ("ssn"), whichever set the slot belongs to.
  uint32_t entity_count() const { return static_cast<uint32_t>(entities_.size()); }
  std::string_view entity_name(uint32_t i) const {
    return i < entities_.size() ? std::string_view(entities_[i]) : std::string_view();
  }
  // The set (set_name index) of slot i; 0 when out of range.
  uint32_t entity_set(uint32_t i) const { return i < entity_sets_.size() ? entity_sets_[i] : 0; }
  // First slot whose entity is `entity` (in any set), or -1 when no pattern of this db has it.
  // With several sets an entity may have several slots: build masks with entity_mask().
  int entity_index(std::string_view entity) const;
  // The response_mode::entities bit of pattern `id`: its slot, or no_entity_bit when the slot
  // is 64 or more (or id is out of range): such patterns are always masked.
  uint8_t entity_bit(uint32_t id) const { return id < entity_bits_.size() ? entity_bits_[id] : no_entity_bit; }
  // Whether a match of pattern `id` is masked under `entities` (hot path: one load, one test).
  bool entity_enabled(uint32_t id, uint64_t entities) const {
    const uint8_t b = entity_bit(id);
    return b == no_entity_bit || ((entities >> b) & 1u) != 0;
  }

  // Setup (snapshot install): the response_mode::entities mask of a masking profile that
  // chooses `sets` (set names; empty: every loaded set) and `entities` (empty: every entity of
  // the chosen sets). Both empty: all_entities. `error` is empty on success, else names the
  // set or entity and why ("pattern set x is not loaded (loaded: a, b)", "entity e is not in
  // pattern set a"); names are quoted as given, so pass only syntax-checked names.
  struct mask_result {
    uint64_t mask = all_entities;
    std::string error;
  };
  mask_result entity_mask(std::span<const std::string> sets, std::span<const std::string> entities) const;

  // Allocates (existing == nullptr) or grows `existing` so that it serves every database
  // above. Returns the scratch to use from now on (possibly a new pointer), or nullptr on
  // failure, in which case `existing` has been freed (Hyperscan frees it when growing fails)
  // and must not be used again. Call from the thread that will own the scratch, never while
  // that scratch is in use.
  hs_scratch_t* alloc_scratch(hs_scratch_t* existing = nullptr) const;

  // A number unique to this loaded database within the process (from 1): findings, masking
  // profiles and counters name the database they were made with, as several can be live while
  // a new one replaces the old (bodies that started on the old one finish on it).
  uint32_t serial() const { return serial_; }
  // Bytes of Hyperscan stream state one open channel needs (hs_stream_size).
  uint32_t stream_bytes() const { return stream_bytes_; }
  // The trigger table's longest backward reach (scan/trigger.hh).
  uint32_t trigger_before_max() const { return triggers_.before_max; }

 private:
  pattern_db() = default;
  void finish_summary();
  void finish_load();  // serial, stream size, trigger reach: once everything else is set
  void set_groups(const std::vector<std::vector<uint16_t>>& groups);
  // Stream automata for the set's groups (compile time; fwd: the normalized expressions the
  // stream database was compiled from); leaves none when they cannot be built.
  void build_stream_automata(const pattern_set& set, const std::vector<std::string>& fwd,
                             const std::vector<regex_tree>& trees);

  std::string name_;
  int version_ = 0;
  std::vector<pattern_meta> meta_;
  std::vector<std::string> keywords_;
  std::vector<std::string> set_names_;  // at least one after compile/deserialize
  std::vector<int> set_versions_;
  std::vector<uint8_t> origins_;  // per pattern: index into set_names_
  std::vector<std::string> entities_;  // per slot
  std::vector<uint8_t> entity_sets_;   // per slot: index into set_names_
  std::vector<uint8_t> entity_bits_;   // per pattern
  uint16_t max_length_ = 0;
  uint8_t max_context_window_ = 0;
  hs_database_t* stream_db_ = nullptr;
  hs_database_t* hold_db_ = nullptr;
  std::vector<byte_dfa> hold_dfas_;
  std::vector<start_dfa> start_dfas_;  // per entry (states 0: none)
  std::vector<stream_dfa> stream_dfas_;
  std::vector<uint16_t> rest_groups_;   // groups without an automaton (ascending)
  hs_database_t* rest_db_ = nullptr;    // their stream database
  trigger_table triggers_{};
  std::vector<hs_database_t*> start_dbs_;
  std::vector<uint16_t> group_members_;  // stream report groups, concatenated
  std::vector<uint32_t> group_first_;    // group g: group_members_[first[g], first[g+1])
  std::vector<stream_group_context> group_contexts_;
  std::vector<int32_t> group_context_of_;  // per group: index into group_contexts_, or -1
  std::vector<uint64_t> keyword_masks_;    // per entry
  uint32_t serial_ = 0;
  uint32_t stream_bytes_ = 0;
};

}  // namespace phigate::scan
