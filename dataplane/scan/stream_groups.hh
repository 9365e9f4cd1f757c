#pragma once
// Which catalog entries share one expression in the forward stream database.
//
// Why: Hyperscan keeps automaton states apart when they lead to different report ids, so N
// similar bare-number expressions (\b\d{9}\b, \b[12]\d{9}\b, \b\d{6,17}\b, ...) cost about N
// automata on every digit. Compiled as one alternation with one report id, they share states:
// on us-phi-core the stream scan ran 1.3-1.5x faster on sparse JSON and SSE and 1.15x on dense
// JSON (docs/benchmarks.md, "Grouped stream expressions"). Nothing is lost: a group reports
// every end where any member matches, and the scanner then runs each member's own start
// database (anchored at that end), validator and context check, exactly as for a report of
// that member alone.
//
// The rule, deterministic for any set: entries with the same forward expression and flags
// form one group (us-phi-core: phone and fax); then every group whose members all need
// context (the weak, bare-number formats) joins one group per flag value. All other entries
// keep a group of their own. Groups are ordered by their first member; members ascend.
#include <cstdint>
#include <string>
#include <vector>

namespace phigate::scan {

struct stream_group_input {
  std::string expression;  // the forward (normalized) expression
  unsigned flags = 0;      // HS_FLAG_*
  bool context_gated = false;
};

std::vector<std::vector<uint16_t>> stream_groups_plan(const std::vector<stream_group_input>& entries);

// One Hyperscan expression for a group: the members' distinct expressions as an alternation.
std::string stream_group_expression(const std::vector<stream_group_input>& entries,
                                    const std::vector<uint16_t>& members);

}  // namespace phigate::scan
