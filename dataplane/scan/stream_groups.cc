#include "dataplane/scan/stream_groups.hh"

#include <algorithm>

namespace phigate::scan {

std::vector<std::vector<uint16_t>> stream_groups_plan(const std::vector<stream_group_input>& entries) {
  // Phase 1: identical expression and flags.
  std::vector<std::vector<uint16_t>> same;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto it = std::find_if(same.begin(), same.end(), [&](const std::vector<uint16_t>& g) {
      const stream_group_input& f = entries[g.front()];
      return f.expression == entries[i].expression && f.flags == entries[i].flags;
    });
    if (it == same.end()) same.push_back({static_cast<uint16_t>(i)});
    else it->push_back(static_cast<uint16_t>(i));
  }
  // Phase 2: all-gated groups join the first all-gated group with their flags.
  std::vector<std::vector<uint16_t>> out;
  std::vector<std::pair<unsigned, size_t>> gated_at;  // flags -> index in out
  for (std::vector<uint16_t>& g : same) {
    const bool gated = std::all_of(g.begin(), g.end(), [&](uint16_t m) { return entries[m].context_gated; });
    const unsigned flags = entries[g.front()].flags;
    auto it = std::find_if(gated_at.begin(), gated_at.end(), [&](const auto& p) { return p.first == flags; });
    if (!gated || it == gated_at.end()) {
      if (gated) gated_at.emplace_back(flags, out.size());
      out.push_back(std::move(g));
      continue;
    }
    std::vector<uint16_t>& into = out[it->second];
    into.insert(into.end(), g.begin(), g.end());
    std::sort(into.begin(), into.end());
  }
  return out;
}

std::string stream_group_expression(const std::vector<stream_group_input>& entries,
                                    const std::vector<uint16_t>& members) {
  std::vector<const std::string*> seen;
  std::string alt;
  for (uint16_t m : members) {
    const std::string& e = entries[m].expression;
    if (std::find_if(seen.begin(), seen.end(), [&](const std::string* s) { return *s == e; }) != seen.end()) continue;
    seen.push_back(&e);
    if (!alt.empty()) alt += '|';
    alt += "(?:" + e + ")";
  }
  return members.size() == 1 ? entries[members.front()].expression : alt;
}

}  // namespace phigate::scan
