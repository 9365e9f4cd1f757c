#include "controlplane/daemon/cp_material.hh"

#include <cstdio>
#include <fstream>
#include <new>
#include <sstream>

#include "controlplane/auth/crypto_util.hh"
#include "controlplane/ipc/secret_store.hh"
#include "dataplane/engine/example_check.hh"
#include "dataplane/engine/flow_engine.hh"
#include "dataplane/gate/request_gate.hh"
#include "dataplane/policy/policy.hh"
#include "dataplane/scan/pattern_db.hh"
#include "dataplane/scan/pattern_set.hh"

namespace phigate::cp {

namespace {

using ipc::read_file;

// The message and the compiled db: load_material resolves the policy's profiles against the db,
// which is then dropped (the dataplane deserializes its own copy from the message).
struct compiled_patterns {
  std::shared_ptr<const ipc::patterns> message;
  std::unique_ptr<scan::pattern_db> db;
};

std::variant<compiled_patterns, std::string> compile_patterns(const std::vector<std::string>& paths) {
  if (paths.empty()) return std::string("patterns: no pattern set given");
  std::string label;
  for (const std::string& p : paths) label += (label.empty() ? "" : ", ") + p;
  // Each file on its own first, as `phigate patterns check` runs it: its examples against the set
  // alone, so a failure names the file (the merged set would only name a merged entry index).
  std::vector<scan::pattern_set> sets;
  for (const std::string& path : paths) {
    auto one = scan::pattern_set_load(path);
    if (auto* e = std::get_if<scan::load_error>(&one)) {
      // The loader names the file itself when it cannot be read.
      if (e->where == path) return "patterns: " + path + ": " + e->reason;
      return "patterns: " + path + ": " + e->where + ": " + e->reason;
    }
    const scan::pattern_set& set = std::get<scan::pattern_set>(one);
    const engine::example_report rep = engine::check_examples(set);
    if (!rep.failures.empty()) {
      const engine::example_failure& f = rep.failures.front();
      std::string more;
      if (rep.failures.size() > 1)
        more = " (and " + std::to_string(rep.failures.size() - 1) + " more failure(s): phigate patterns check " + path + ")";
      return "patterns: " + path + ": " + f.where + ": " + f.reason + more;
    }
    sets.push_back(std::move(std::get<scan::pattern_set>(one)));
  }
  auto merged = scan::pattern_set_merge(std::move(sets));
  if (auto* e = std::get_if<scan::load_error>(&merged)) return "patterns: " + label + ": " + e->where + ": " + e->reason;
  auto compiled = scan::pattern_db::compile(std::get<scan::pattern_set>(merged));
  if (auto* e = std::get_if<scan::load_error>(&compiled)) return "patterns: " + label + ": " + e->where + ": " + e->reason;
  compiled_patterns out;
  out.db = std::move(std::get<0>(compiled));
  engine::engine_config ecfg;
  ecfg.db = out.db.get();
  if (const char* why = engine::engine_config_check(ecfg)) return "patterns: " + label + ": " + why;
  auto msg = std::make_shared<ipc::patterns>();
  const std::vector<uint8_t> blob = out.db->serialize();
  msg->db.assign(blob.begin(), blob.end());
  msg->sha256 = auth::hex_encode(auth::as_chars(auth::sha256(msg->db)));
  for (uint32_t i = 0; i < out.db->set_count(); ++i) msg->sets.emplace_back(out.db->set_name(i));
  out.message = std::move(msg);
  return out;
}

}  // namespace

std::variant<std::shared_ptr<const ipc::patterns>, std::string> load_patterns(const std::vector<std::string>& paths) {
  try {
    auto r = compile_patterns(paths);
    if (auto* e = std::get_if<std::string>(&r)) return *e;
    return std::move(std::get<compiled_patterns>(r).message);
  } catch (const std::bad_alloc&) {
    return std::string("patterns: out of memory");
  }
}

std::variant<policy_material, std::string> load_material(const cp_config& cfg) {
  try {
    policy_material m;
    if (!read_file(cfg.policy, m.policy_text)) return cfg.policy + ": cannot be read";
    const policy::compile_result c = policy::compile(m.policy_text, cfg.policy);
    if (!c.error.empty()) return c.error;
    auto creds = ipc::load_credentials(cfg.credentials);
    if (auto* e = std::get_if<std::string>(&creds)) return *e;
    m.credentials = std::move(std::get<ipc::credential_map>(creds));
    if (!cfg.patterns.empty()) {
      auto p = compile_patterns(cfg.patterns);
      if (auto* e = std::get_if<std::string>(&p)) return *e;
      compiled_patterns& cp = std::get<compiled_patterns>(p);
      // The check the dataplane makes when it installs the snapshot (dataplane/io/dp_gate.cc), made
      // here first so a mismatched policy and pattern set never reach it.
      const gate::profile_resolution pr = gate::resolve_profiles(*c.snap, cp.db.get());
      if (!pr.error.empty()) return cfg.policy + ": " + pr.error;
      m.patterns = std::move(cp.message);
    }
    // Only once everything is accepted: a refused reload should not warn about what stays unused.
    for (uint32_t i = 0; i < policy::route_count(*c.snap); ++i) {
      const policy::route* r = policy::route_at(*c.snap, static_cast<int32_t>(i));
      if (r && !r->credential.empty() && !m.credentials.count(r->credential))
        std::fprintf(stderr, "phigate-cp: warning: route %s names credential %s, which the secret store lacks "
                             "(its requests will be answered 502)\n", r->id.c_str(), r->credential.c_str());
    }
    return m;
  } catch (const std::bad_alloc&) {
    return std::string("out of memory while loading the policy, credentials and pattern sets");
  }
}

}  // namespace phigate::cp
