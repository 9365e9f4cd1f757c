// phigate patterns check: compile a set and run its examples through the engine.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hh"
#include "dataplane/engine/example_check.hh"
#include "dataplane/scan/pattern_db.hh"

namespace phigate::cli {

int patterns_command(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "check") {
    std::fprintf(stderr, "usage: phigate patterns check FILE\n");
    return 1;
  }
  const std::string& path = args[1];
  auto set = scan::pattern_set_load(path);
  if (auto* e = std::get_if<scan::load_error>(&set)) {
    std::fprintf(stderr, "%s: %s: %s\n", path.c_str(), e->where.c_str(), e->reason.c_str());
    return 2;
  }
  const auto& s = std::get<scan::pattern_set>(set);
  engine::example_report rep = engine::check_examples(s);
  for (const auto& f : rep.failures) std::fprintf(stderr, "%s: %s: %s\n", path.c_str(), f.where.c_str(), f.reason.c_str());
  std::printf("%s: %s v%d: %zu entries, %zu match and %zu no_match examples, %zu failure(s)\n", path.c_str(),
              s.name.c_str(), s.version, rep.entries, rep.match_examples, rep.no_match_examples, rep.failures.size());
  return rep.failures.empty() ? 0 : 2;
}

}  // namespace phigate::cli
