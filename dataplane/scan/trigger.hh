#pragma once
// Trigger analysis: which bytes every match of a pattern set must contain, and how far a match
// can reach on either side of such a byte.
//
// Why: on clinical prose, most patterns of a PHI catalog have no literal Hyperscan can search
// for (\d{6,10}, [A-Z]{2}\d{2}...), so each costs automaton work on every byte. But nearly every
// one needs a digit, '@' or ':' somewhere. If every match of every pattern contains a byte of a
// small rare set within known distances, the scanner need only feed Hyperscan the regions around
// those bytes. Derived from the syntax tree, so it holds for any pattern set; when a set has a
// pattern with no rare required byte (or unbounded reach), the table is disabled and everything
// is scanned, as before.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/core/byte_scan.hh"
#include "dataplane/scan/regex_ast.hh"

namespace phigate::scan {

// For byte c: a match containing c as its trigger starts at most before[c] bytes before it and
// ends at most after[c] bytes after it (the trigger byte included in after). after[c] == 0: c is
// not a trigger.
// confirm[c]: c is a trigger only when the byte after it is in follow[c] (a sentence-ending '.'
// is not the '.' of a host name); otherwise every c is a trigger.
//
// Run classes: an expression may instead be triggered by a run of at least min_run consecutive
// bytes of a class (four digits in a row, say). Prose is full of short numbers ("25 mg", "4.1
// mmol/L") that make every digit a poor trigger, while nearly every number-shaped PHI value
// holds a run of four digits or more. Every byte at which the run ending there has reached
// min_run fires; a match that holds such a run contains one of these bytes, and lies within
// before / after of it (same convention as the byte triggers).
inline constexpr uint32_t kMaxRunClasses = 4;
struct run_class {
  uint64_t members[4] = {};  // bit set of the class's bytes
  uint8_t min_run = 0;       // 1..kMaxRunLength
  uint8_t before = 0, after = 0;
  bool contains(uint8_t c) const { return (members[c >> 6] >> (c & 63)) & 1; }
};
inline constexpr uint32_t kMaxRunLength = 32;  // longer guaranteed runs are used as 32

struct trigger_table {
  bool enabled = false;
  uint8_t before[256] = {};
  uint8_t after[256] = {};
  bool confirm[256] = {};
  uint64_t follow[256][4] = {};  // bit set of bytes that may follow trigger c inside a match
  uint8_t run_count = 0;
  run_class runs[kMaxRunClasses] = {};
  // Derived by trigger_finish, not stored: bit 0 set when c is a byte trigger, bit 1 + j when c
  // belongs to run class j; what the scanner looks up per byte.
  uint8_t bits[256] = {};
  uint8_t before_max = 0;  // the longest backward reach of any trigger, byte or run
  // The same planes as byte ranges, when each has at most core::kMaxPlaneRanges of them (the
  // scanner then classifies with range compares instead of lookups).
  bool ranges_ok = false;
  core::byte_ranges plane_ranges[1 + kMaxRunClasses] = {};
  bool follows(uint8_t c, uint8_t next) const { return (follow[c][next >> 6] >> (next & 63)) & 1; }
};

// Fills trigger_table::bits, before_max and plane_ranges from the byte triggers and run classes;
// after building or loading.
void trigger_finish(trigger_table& t);

struct trigger_choice {
  bool set[256] = {};
  uint32_t before = 0, after = 0;  // trigger byte counted in after
  bool follow[256] = {};           // bytes that may come right after the trigger in a match
  bool may_end = true;             // the trigger may be a match's last byte
};

// The rarest required byte set of one expression, or nothing when a match may avoid every rare
// byte or reach unboundedly far from it. `flags` are the entry's HS flags (caseless widens
// letters). Exposed for tests.
std::optional<trigger_choice> trigger_analyze(const regex_tree& tree, unsigned flags);

// The longest run of bytes of `members` that every match of the expression contains (0 when a
// match may hold none), a lower bound computed on the syntax tree. Exposed for tests.
uint32_t trigger_guaranteed_run(const regex_tree& tree, unsigned flags, const bool (&members)[256]);

// Builds the table for a whole set of expressions (with their HS flags). Disabled if any
// expression has no usable trigger or the union is too common to pay off.
trigger_table trigger_build(const std::vector<std::pair<std::string, unsigned>>& expressions);

}  // namespace phigate::scan
