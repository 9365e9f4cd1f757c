#include "dataplane/engine/example_check.hh"

#include <memory>
#include <string_view>

#include "dataplane/engine/mask_message.hh"

namespace phigate::engine {
namespace {

struct compiled {
  std::unique_ptr<scan::pattern_db> db;
  engine_config cfg;
  engine_scratch* x = nullptr;
  std::string error;
  ~compiled() { engine_scratch_destroy(x); }
};

std::unique_ptr<compiled> build(const scan::pattern_set& set) {
  auto c = std::make_unique<compiled>();
  auto r = scan::pattern_db::compile(set);
  if (auto* e = std::get_if<scan::load_error>(&r)) {
    c->error = e->where + ": " + e->reason;
    return c;
  }
  c->db = std::move(std::get<0>(r));
  c->cfg.db = c->db.get();
  if (const char* why = engine_config_check(c->cfg)) {
    c->error = why;
    return c;
  }
  c->x = engine_scratch_create(c->cfg);
  if (!c->x) c->error = "cannot allocate scanner scratch";
  return c;
}

mask_outcome run(compiled& c, std::string_view text) {
  mask_options opt;
  opt.body_only = true;
  opt.content_type = "text/plain";
  return mask_message(c.cfg, *c.x, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, opt);
}

bool fully_masked(const std::vector<uint8_t>& out, size_t start, size_t len, std::string_view original) {
  for (size_t i = start; i < start + len; ++i) {
    const uint8_t b = static_cast<uint8_t>(original[i]);
    const bool alnum = (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z') || b >= 0x80;
    if (alnum && out[i] == b) return false;
  }
  return true;
}

}  // namespace

example_report check_examples(const scan::pattern_set& set) {
  example_report rep;
  rep.entries = set.entries.size();
  auto whole = build(set);
  if (!whole->error.empty()) {
    rep.failures.push_back({"pattern set", whole->error});
    return rep;
  }
  for (size_t i = 0; i < set.entries.size(); ++i) {
    const scan::pattern_entry& e = set.entries[i];
    const std::string where = scan::pattern_entry_where(i, e.id) + ".examples.";
    scan::pattern_set one;
    one.name = set.name;
    one.version = set.version;
    one.entries.push_back(e);
    auto alone = build(one);
    if (!alone->error.empty()) {
      rep.failures.push_back({scan::pattern_entry_where(i, e.id), alone->error});
      continue;
    }
    for (size_t k = 0; k < e.match.size(); ++k) {
      ++rep.match_examples;
      const auto& ex = e.match[k];
      const std::string w = where + "match[" + std::to_string(k) + "]";
      const std::string_view value = ex.value.empty() ? std::string_view(ex.text) : std::string_view(ex.value);
      const size_t at = ex.value.empty() ? 0 : ex.text.find(ex.value);
      if (at == std::string::npos) {
        rep.failures.push_back({w, "value is not inside text"});
        continue;
      }
      mask_outcome o = run(*alone, ex.text);
      if (!o.ok) {
        rep.failures.push_back({w, describe_error(o)});
        continue;
      }
      bool exact = false;
      for (const auto& f : o.findings) exact |= f.raw_start == at && f.raw_end == at + value.size();
      if (!exact) {
        rep.failures.push_back({w, o.findings.empty() ? "no finding" : "finding does not cover exactly the value (" +
                                                            std::to_string(o.findings.size()) + " findings)"});
        continue;
      }
      mask_outcome all = run(*whole, ex.text);
      if (!all.ok || !fully_masked(all.output, at, value.size(), ex.text))
        rep.failures.push_back({w, "value not fully masked by the whole set"});
    }
    for (size_t k = 0; k < e.no_match.size(); ++k) {
      ++rep.no_match_examples;
      const std::string w = where + "no_match[" + std::to_string(k) + "]";
      mask_outcome o = run(*alone, e.no_match[k].text);
      if (!o.ok) rep.failures.push_back({w, describe_error(o)});
      else if (!o.findings.empty())
        rep.failures.push_back({w, std::to_string(o.findings.size()) + " unexpected finding(s) at offset " +
                                       std::to_string(o.findings[0].raw_start)});
    }
  }
  return rep;
}

}  // namespace phigate::engine
