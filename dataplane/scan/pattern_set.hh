#pragma once
// Pattern set loading and validation (format: specs/pattern_format.md).
//
// Setup code, run by the control plane or at start-up: allocates freely, returns errors as
// values, never lets an exception escape. The result is a plain value; pattern_db compiles
// it. A load_error names where (JSON path, entry index and id) and why; it never quotes
// example texts or other values, which may look like PHI.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dataplane/validate/validators.hh"

namespace phigate::scan {

enum class mask_style : uint8_t { alnum, all };

struct pattern_example {
  std::string text;
  std::string value;  // empty: the whole text is the expected finding
};

struct pattern_entry {
  std::string id, entity, safe_harbor, expression;
  unsigned flags = 0;  // HS_FLAG_* (only HS_FLAG_CASELESS today)
  uint16_t max_length = 0;
  validate::validator validator = validate::validator::none;
  std::vector<std::string> keywords;  // lowercased ASCII; empty when there is no context
  uint8_t context_window = 0;         // 0 when there is no context
  mask_style mask = mask_style::alnum;
  std::vector<pattern_example> match, no_match;
  // Index into pattern_set::origins of the set this entry was loaded from (pattern_set_merge);
  // always 0 in a set loaded from one file.
  uint8_t origin = 0;
};

// One pattern set that went into a merged set, as its file named it.
struct pattern_set_origin {
  std::string name;
  int version = 0;
};

struct pattern_set {
  // A merged set (pattern_set_merge) is named after its members joined by '+'
  // ("us-phi-core+oncology-research"), has version 1 and lists its members in `origins`; a set
  // loaded from one file has no origins (it is its own, single origin).
  std::string name, description;
  int version = 0;
  std::vector<pattern_entry> entries;
  std::vector<pattern_set_origin> origins;  // empty, or 2..pattern_set_max_merged members
};

struct load_error {
  std::string where;   // e.g. "patterns[3] (id ssn-delimited).expression"
  std::string reason;  // what is wrong, without quoting values
};

// Limits of the format, shared with pattern_db.
inline constexpr size_t pattern_set_max_entries = 512;
inline constexpr size_t pattern_max_length_limit = 255;
inline constexpr uint8_t pattern_max_context_window = 64;
inline constexpr size_t pattern_set_max_file_bytes = 16u << 20;
inline constexpr size_t pattern_set_max_merged = 16;  // sets one db can be built from

// Parses and validates a pattern set. `source_name` (a file name) prefixes nothing in
// `where` but is used when the document itself is unreadable ("<source>: offset N").
std::variant<pattern_set, load_error> pattern_set_parse(std::string_view json_text,
                                                        std::string_view source_name);
// Reads `path` (at most pattern_set_max_file_bytes) and parses it.
std::variant<pattern_set, load_error> pattern_set_load(const std::string& path);

// Semantic checks shared by the loader and pattern_db::compile (which may be handed a set
// built in code): id/entity syntax, safe_harbor, flags, max_length range and its agreement
// with Hyperscan's hs_expression_info (not unbounded, not below the true maximum width, no
// empty match), context window and keywords, examples present, expression inside the regex
// subset. `index` is the entry's position, used in `where`.
std::optional<load_error> pattern_entry_check(const pattern_entry& entry, size_t index);
// Whole-set checks: name, version, 1..512 entries, each entry, unique ids; for a merged set
// also its origins (valid, distinct names whose '+' join is the set name; versions >= 1) and
// every entry's origin index.
std::optional<load_error> pattern_set_check(const pattern_set& set);

// Merges several loaded sets, in order, into one that pattern_db compiles (entries keep their
// order, each recording its origin). One set is returned as it is, so a single set behaves
// exactly as before. Errors: no set, more than pattern_set_max_merged, an input that is itself
// merged or fails pattern_set_check (`where` prefixed with "<set name>: "), two sets with the
// same name, a pattern id present in two sets (both named), more than 512 entries in total.
std::variant<pattern_set, load_error> pattern_set_merge(std::vector<pattern_set> sets);
// Loads every file (a file's errors get `where` prefixed with "<path>: ") and merges them: what
// phigate-dp's "patterns" list and repeated `phigate mask --patterns` mean.
std::variant<pattern_set, load_error> pattern_set_load_all(const std::vector<std::string>& paths);

// "patterns[3] (id ssn-delimited)" or "patterns[3]" when the id is not usable.
std::string pattern_entry_where(size_t index, std::string_view id);

bool pattern_id_valid(std::string_view id);
bool pattern_entity_valid(std::string_view entity);
bool pattern_set_name_valid(std::string_view name);
bool safe_harbor_valid(std::string_view safe_harbor);

}  // namespace phigate::scan
