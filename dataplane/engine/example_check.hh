#pragma once
// Runs a pattern set's inline examples through the real engine, so an example that passes here
// behaves the same inline. Each entry is checked twice: alone (its own compiled database: the
// finding must be exactly the example's value, and no_match texts must yield nothing), and
// inside the whole set (the value must come out fully masked). Setup-time code: allocates.
#include <string>
#include <vector>

#include "dataplane/scan/pattern_set.hh"

namespace phigate::engine {

struct example_failure {
  std::string where;   // "patterns[3] (id ssn-delimited).examples.match[1]"
  std::string reason;  // never quotes the example text (it may look like PHI)
};

struct example_report {
  size_t entries = 0, match_examples = 0, no_match_examples = 0;
  std::vector<example_failure> failures;
};

example_report check_examples(const scan::pattern_set& set);

}  // namespace phigate::engine
