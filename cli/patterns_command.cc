// phigate patterns check: compile a set and run its examples through the engine.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hh"
#include "dataplane/engine/example_check.hh"
#include "dataplane/scan/pattern_db.hh"

namespace phigate::cli {

namespace {

// Compiles a set into the serialized database (what the control plane ships to the dataplane).
int compile_command(const std::string& path, const std::string& out) {
  auto set = scan::pattern_set_load(path);
  if (auto* e = std::get_if<scan::load_error>(&set)) {
    std::fprintf(stderr, "%s: %s: %s\n", path.c_str(), e->where.c_str(), e->reason.c_str());
    return 2;
  }
  auto db = scan::pattern_db::compile(std::get<scan::pattern_set>(set));
  if (auto* e = std::get_if<scan::load_error>(&db)) {
    std::fprintf(stderr, "%s: %s: %s\n", path.c_str(), e->where.c_str(), e->reason.c_str());
    return 2;
  }
  const std::vector<uint8_t> blob = std::get<0>(db)->serialize();
  std::FILE* f = std::fopen(out.c_str(), "wb");
  if (!f || std::fwrite(blob.data(), 1, blob.size(), f) != blob.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "phigate patterns compile: cannot write %s\n", out.c_str());
    return 1;
  }
  const auto& d = *std::get<0>(db);
  // The stream expression count is what the stream scan's cost follows (similar entries share
  // one: docs/engine.md, "Grouped stream expressions"); run classes are what keeps number-heavy
  // prose away from Hyperscan ("Trigger gating").
  std::printf("%s: %zu entries -> %s (%zu bytes, %u stream expressions, trigger gating %s, %u run classes)\n",
              path.c_str(), d.patterns().size(), out.c_str(), blob.size(), d.stream_group_count(),
              d.triggers().enabled ? "on" : "off", d.triggers().enabled ? d.triggers().run_count : 0u);
  return 0;
}

}  // namespace

int patterns_command(const std::vector<std::string>& args) {
  if (args.size() == 3 && args[0] == "compile") return compile_command(args[1], args[2]);
  if (args.size() != 2 || args[0] != "check") {
    std::fprintf(stderr, "usage: phigate patterns check FILE\n       phigate patterns compile FILE OUT.db\n");
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
