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

#include "dataplane/scan/regex_ast.hh"

namespace phigate::scan {

// For byte c: a match containing c as its trigger starts at most before[c] bytes before it and
// ends at most after[c] bytes after it (the trigger byte included in after). after[c] == 0: c is
// not a trigger.
// confirm[c]: c is a trigger only when the byte after it is in follow[c] (a sentence-ending '.'
// is not the '.' of a host name); otherwise every c is a trigger.
struct trigger_table {
  bool enabled = false;
  uint8_t before[256] = {};
  uint8_t after[256] = {};
  bool confirm[256] = {};
  uint64_t follow[256][4] = {};  // bit set of bytes that may follow trigger c inside a match
  bool follows(uint8_t c, uint8_t next) const { return (follow[c][next >> 6] >> (next & 63)) & 1; }
};

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

// Builds the table for a whole set of expressions (with their HS flags). Disabled if any
// expression has no usable trigger or the union is too common to pay off.
trigger_table trigger_build(const std::vector<std::pair<std::string, unsigned>>& expressions);

}  // namespace phigate::scan
