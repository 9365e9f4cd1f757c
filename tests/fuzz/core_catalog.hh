#pragma once
// The shipped us-phi-core set compiled once for a fuzz target (PHIGATE_PATTERN_DIR comes from
// tests/fuzz/meson.build). A set that does not load or compile is a broken build: abort.
#include <cstdlib>
#include <memory>
#include <string>

#include "dataplane/scan/pattern_db.hh"

namespace phigate::fuzz {

inline std::unique_ptr<scan::pattern_db> core_catalog() {
  auto set = scan::pattern_set_load(std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json");
  if (set.index() != 0) std::abort();
  auto r = scan::pattern_db::compile(std::get<0>(set));
  if (r.index() != 0) std::abort();
  return std::move(std::get<0>(r));
}

}  // namespace phigate::fuzz
