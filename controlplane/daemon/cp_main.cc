// phigate-cp: the control plane process. Never on the packet path.
//
//   identity   OIDC discovery + JWKS (key_manager), refreshed on schedule and on unknown kids;
//              the verified keys are pushed to the dataplane, which verifies tokens itself.
//   policy     the policy file, the backend credentials (secret store) and the pattern sets
//              (optional), re-read on SIGHUP, validated together (controlplane/daemon/cp_material),
//              and pushed with the keys and the active grants as one snapshot over the
//              dataplane's control socket (controlplane/ipc); the compiled pattern database goes
//              before the first snapshot of a connection that names it. A snapshot the dataplane
//              refuses leaves the running one in place.
//   approvals  approval requests arrive from the dataplane; approvers decide over the REST API
//              (phigate approvals ...); grants go back in the next snapshot; one-time grants are
//              consumed durably when the dataplane reports their use. A webhook announces them.
//   audit      the dataplane sends every audit record over the control socket; this process
//              appends it to the hash-chained log, fdatasyncs, signs checkpoints with its Ed25519
//              key and only then acknowledges, which is what lets the dataplane release the
//              request (controlplane/audit/audit_sink.hh). While it is down, the dataplane answers
//              protected requests 503 (docs/architecture.md section 7).
//   metrics    GET /metrics: Prometheus text of the dataplane's counters and the control plane's.
#include <mimalloc-new-delete.h>

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <thread>

#include "controlplane/approvals/approval_api.hh"
#include "controlplane/approvals/approval_store.hh"
#include "controlplane/approvals/approval_webhook.hh"
#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_log.hh"
#include "controlplane/audit/audit_sink.hh"
#include "controlplane/daemon/cp_config.hh"
#include "controlplane/daemon/cp_material.hh"
#include "controlplane/daemon/dp_link.hh"
#include "controlplane/daemon/metrics.hh"
#include "controlplane/ipc/ipc_contract.hh"
#include "controlplane/oidc/key_manager.hh"
#include "controlplane/oidc/oidc_client.hh"

namespace {

using namespace phigate;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
void on_stop(int) { g_stop.store(true); }
void on_hup(int) { g_reload.store(true); }

int64_t now_ms() { return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }
int64_t now_s() { return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::vector<std::string> json_strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--config") && i + 1 < argc) config_path = argv[++i];
    else if (!std::strcmp(argv[i], "--help")) {
      std::puts("usage: phigate-cp --config FILE   (see configs/phigate-cp.example.json, docs/architecture.md, docs/configuration.md)");
      return 0;
    } else {
      std::fprintf(stderr, "phigate-cp: unknown argument %s (usage: phigate-cp --config FILE)\n", argv[i]);
      return 1;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "phigate-cp: --config FILE is required\n");
    return 1;
  }
  cp::cp_config cfg;
  if (auto e = cp::cp_config_load(config_path, cfg); !e.empty()) {
    std::fprintf(stderr, "phigate-cp: %s\n", e.c_str());
    return 1;
  }
  auto material = cp::load_material(cfg);
  if (auto* e = std::get_if<std::string>(&material)) {
    std::fprintf(stderr, "phigate-cp: %s\n", e->c_str());
    return 1;
  }
  // Replaced whole by a reload on this thread; the link thread copies from it for every push.
  std::mutex material_mu;
  cp::policy_material current = std::move(std::get<cp::policy_material>(material));

  // Identity provider.
  oidc::oidc_config oc;
  oc.issuer = cfg.issuer;
  oc.http.ca_file = cfg.ca_file;
  if (auto e = oidc::oidc_config_check(oc)) {
    std::fprintf(stderr, "phigate-cp: oidc: %s\n", oidc::oidc_error_text(*e).c_str());
    return 1;
  }
  oidc::key_manager_options ko;
  ko.policy.issuer = cfg.issuer;
  ko.policy.audience = cfg.audience;
  ko.policy.groups_claim = cfg.groups_claim;
  ko.refresh_interval_s = cfg.key_refresh_s;
  std::unique_ptr<cp::dp_link> link;
  ko.on_change = [&link](const std::shared_ptr<const oidc::key_snapshot>&) {
    if (link) link->push();  // new keys reach the dataplane at once
  };
  oidc::key_manager keys(oidc::oidc_key_fetcher(oidc::oidc_client(oc)), ko);
  if (auto e = keys.refresh(now_s()))
    std::fprintf(stderr, "phigate-cp: oidc: %s (retrying; until then every caller is anonymous)\n",
                 oidc::oidc_error_text(*e).c_str());

  // Audit log (optional here; a dataplane that relies on it refuses requests without it).
  std::unique_ptr<audit::audit_writer> audit_log;
  if (!cfg.audit_log.empty()) {
    auto key = audit::audit_private_key_load(cfg.audit_signing_key);
    if (auto* e = std::get_if<audit::audit_error>(&key)) {
      std::fprintf(stderr, "phigate-cp: %s: %s\n", cfg.audit_signing_key.c_str(), e->reason.c_str());
      return 1;
    }
    auto w = audit::audit_writer::open(cfg.audit_log, std::move(std::get<auth::pkey_ptr>(key)));
    if (auto* e = std::get_if<audit::audit_error>(&w)) {
      std::fprintf(stderr, "phigate-cp: audit: %s\n", e->reason.c_str());
      return 1;
    }
    audit_log = std::move(std::get<std::unique_ptr<audit::audit_writer>>(w));
  }
  audit::audit_sink sink(audit_log.get());
  if (audit_log)
    if (auto e = sink.recover(cfg.audit_log)) {
      std::fprintf(stderr, "phigate-cp: audit: %s\n", e->c_str());
      return 1;
    }
  // Mirrors of the sink's counters for the metrics thread (the sink is the link thread's).
  std::atomic<uint64_t> audit_written{0}, audit_duplicates{0}, audit_refused{0}, audit_out_of_order{0};
  std::atomic<bool> audit_failed{audit_log == nullptr};
  bool audit_error_said = false;

  // Approvals.
  approvals::approval_config ac;
  ac.pending_ttl_s = cfg.pending_ttl_s;
  ac.default_grant_ttl_s = cfg.default_grant_ttl_s;
  ac.max_grant_ttl_s = cfg.max_grant_ttl_s;
  auto opened = approvals::approval_store::open(cfg.approvals_db, ac);
  if (auto* e = std::get_if<std::string>(&opened)) {
    std::fprintf(stderr, "phigate-cp: approvals: %s\n", e->c_str());
    return 1;
  }
  auto store = std::move(std::get<std::unique_ptr<approvals::approval_store>>(opened));
  std::unique_ptr<approvals::approval_webhook> webhook;
  if (!cfg.webhook_url.empty()) {
    approvals::webhook_config wc;
    wc.url = cfg.webhook_url;
    wc.api_base_url = cfg.public_url;
    auto w = approvals::approval_webhook::start(wc);
    if (auto* e = std::get_if<std::string>(&w)) {
      std::fprintf(stderr, "phigate-cp: webhook: %s\n", e->c_str());
      return 1;
    }
    webhook = std::move(std::get<std::unique_ptr<approvals::approval_webhook>>(w));
  }
  // Generations start from the wall clock so they keep increasing across control plane restarts
  // (the dataplane reports the one it runs; operators compare them).
  std::atomic<uint64_t> generation{static_cast<uint64_t>(now_s()) * 1000};
  std::atomic<uint64_t> approval_requests{0}, approval_request_errors{0}, grants_consumed{0};
  store->set_listener([&](const approvals::approval_event& ev) {
    if (webhook) webhook->notify(ev);
    using k = approvals::approval_event_kind;
    if (ev.kind == k::approved || ev.kind == k::revoked || ev.kind == k::consumed || ev.kind == k::rejected)
      if (link) link->push();  // grants changed
  });

  // The dataplane link.
  cp::dp_link::handlers h;
  // The database the snapshot being pushed names: build() takes it from the same copy of the
  // material as the policy, h.patterns hands it to the link right after. Link thread only.
  std::shared_ptr<const ipc::patterns> building_patterns;
  h.build = [&]() {
    ipc::snapshot s;
    s.generation = ++generation;
    {
      std::lock_guard<std::mutex> lock(material_mu);
      s.policy_name = cfg.policy;
      s.policy_text = current.policy_text;
      s.credentials = current.credentials;
      building_patterns = current.patterns;
    }
    if (building_patterns) s.patterns_sha256 = building_patterns->sha256;
    const auto ks = keys.current();
    if (ks->version != 0) {
      s.jwks_text = ks->jwks_json;
      s.issuer = cfg.issuer;
      s.audience = cfg.audience;
      s.groups_claim = cfg.groups_claim;
    }
    auto active = store->list(approvals::approval_state::approved, now_s(), 10000);
    if (auto* list = std::get_if<std::vector<approvals::approval_record>>(&active))
      for (const auto& r : *list)
        s.grants.push_back({r.id, r.request.requester, r.request.route, r.request.body_digest, r.grant_expires_s,
                            r.request.one_time});
    return s;
  };
  h.patterns = [&building_patterns]() { return building_patterns; };
  h.on_approval_request = [&](const nlohmann::json& rec) {
    approvals::approval_request req;
    req.requester = rec.value("subject", "");
    req.requester_groups = json_strings(rec, "groups");
    req.route = rec.value("route", "");
    req.method = rec.value("method", "");
    req.path = rec.value("path", "");
    req.model = rec.value("model", "");
    req.body_digest = rec.value("body_sha256", "");
    req.rule_id = rec.value("rule", "");
    req.approvals_required = rec.value("approvals_required", 1u);
    req.approver_groups = json_strings(rec, "approver_groups");
    req.grant_ttl_s = rec.value("grant_ttl_s", int64_t{0});
    // The rule says whether the grant serves one request or any identical ones until it expires.
    req.one_time = rec.value("grant_one_time", true);
    // The summary approvers see: routing facts and sizes, never the body (it is not here).
    req.masked_summary = req.method + " " + req.path + (req.model.empty() ? "" : " model=" + req.model) + ", " +
                         std::to_string(rec.value("request_bytes", uint64_t{0})) + " bytes, rule " + req.rule_id;
    ++approval_requests;
    auto r = store->create_with_id(rec.value("approval_id", ""), req, now_s());
    if (auto* f = std::get_if<approvals::approval_failure>(&r)) {
      ++approval_request_errors;
      std::fprintf(stderr, "phigate-cp: approval request %s not recorded: %s\n",
                   rec.value("request_id", "?").c_str(), f->message.c_str());
    }
  };
  h.on_grant_used = [&](const ipc::grant_used& g) {
    // Consumes a one-time grant durably; the listener pushes a snapshot without it.
    const auto st = store->check_grant(g.approval_id, g.subject, g.route, g.body_sha256, now_s());
    if (st == approvals::grant_status::ok) ++grants_consumed;
  };
  h.on_result = [](const ipc::snapshot_result& r) {
    if (!r.ok)
      std::fprintf(stderr, "phigate-cp: the dataplane refused snapshot %llu (its running one stays): %s\n",
                   static_cast<unsigned long long>(r.generation), r.error.c_str());
  };
  h.on_audit = [&](std::vector<ipc::audit_record> batch) {
    ipc::audit_ack ack = sink.accept(std::move(batch), now_ms());
    audit_written.store(sink.counters().written);
    audit_duplicates.store(sink.counters().duplicates);
    audit_refused.store(sink.counters().refused);
    audit_out_of_order.store(sink.counters().out_of_order);
    audit_failed.store(sink.failed());
    if (!ack.error.empty() && !audit_error_said) {
      audit_error_said = true;
      std::fprintf(stderr, "phigate-cp: audit: records cannot be made durable: %s; the dataplane refuses protected "
                           "requests until this is fixed\n", ack.error.c_str());
    }
    return ack;
  };
  h.on_idle = [&] {
    if (auto e = sink.tick(now_ms())) {
      audit_failed.store(true);
      std::fprintf(stderr, "phigate-cp: audit checkpoint: %s\n", e->c_str());
    }
  };
  link = std::make_unique<cp::dp_link>(cfg.control_socket, h);

  // REST API (approvals) and metrics.
  std::unique_ptr<httplib::Server> server;
  if (!cfg.tls_cert.empty()) server = std::make_unique<httplib::SSLServer>(cfg.tls_cert.c_str(), cfg.tls_key.c_str());
  else server = std::make_unique<httplib::Server>();
  if (!server->is_valid()) {
    std::fprintf(stderr, "phigate-cp: api: cannot use the TLS certificate or key\n");
    return 1;
  }
  approvals::token_verifier verify = [&keys](std::string_view token) -> approvals::verify_result {
    auto r = keys.verify(token, now_s());
    if (auto* e = std::get_if<auth::jwt_error>(&r)) return approvals::auth_failure{std::string(auth::jwt_error_name(*e))};
    const auto& t = std::get<auth::verified_token>(r);
    return approvals::principal{t.subject, t.groups};
  };
  approvals::mount_approval_api(*server, *store, verify);
  server->Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(link->connected() ? "ok\n" : "dataplane not connected\n", "text/plain");
    res.status = link->connected() ? 200 : 503;
  });
  server->Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    const nlohmann::json dp = cp::read_dp_stats(cfg.stats_socket);
    uint64_t pending = 0;
    if (auto l = store->list(approvals::approval_state::pending, now_s(), 100000);
        auto* v = std::get_if<std::vector<approvals::approval_record>>(&l))
      pending = v->size();
    const auto ks = keys.stats();
    double pattern_db_bytes = 0;
    {
      std::lock_guard<std::mutex> lock(material_mu);
      if (current.patterns) pattern_db_bytes = double(current.patterns->db.size());
    }
    std::vector<std::pair<std::string, double>> m = {
        {"approvals_pending", double(pending)},
        {"approval_requests_total", double(approval_requests.load())},
        {"approval_request_errors_total", double(approval_request_errors.load())},
        {"grants_consumed_total", double(grants_consumed.load())},
        {"dataplane_connected", link->connected() ? 1.0 : 0.0},
        {"snapshots_pushed_total", double(link->pushes())},
        {"patterns_pushed_total", double(link->patterns_pushes())},
        {"pattern_db_bytes", pattern_db_bytes},
        {"snapshots_refused_total", double(link->refused())},
        {"snapshot_generation_applied", double(link->last_applied_generation())},
        {"key_refreshes_ok_total", double(ks.refreshes_ok)},
        {"key_refreshes_failed_total", double(ks.refreshes_failed)},
        {"key_set_version", double(keys.current()->version)},
        {"audit_records_written_total", double(audit_written.load())},
        {"audit_records_duplicate_total", double(audit_duplicates.load())},
        {"audit_records_refused_total", double(audit_refused.load())},
        {"audit_records_out_of_order_total", double(audit_out_of_order.load())},
        {"audit_log_failed", audit_failed.load() ? 1.0 : 0.0},
    };
    if (dp.is_object() && dp.contains("audit") && dp["audit"].contains("backlog"))
      m.push_back({"audit_backlog", dp["audit"]["backlog"].get<double>()});
    res.set_content(cp::prometheus_text(dp, dp.is_object(), m), "text/plain; version=0.0.4");
  });
  if (!server->bind_to_port(cfg.listen_host, cfg.listen_port)) {
    std::fprintf(stderr, "phigate-cp: api: cannot listen on %s:%u\n", cfg.listen_host.c_str(), cfg.listen_port);
    return 1;
  }

  struct sigaction sa{};
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_hup;
  sigaction(SIGHUP, &sa, nullptr);

  link->start();
  oidc::key_refresher refresher(keys);
  std::thread api([&] { server->listen_after_bind(); });
  std::fprintf(stderr, "phigate-cp: api on %s, dataplane control socket %s, issuer %s, audit log %s\n",
               cfg.public_url.c_str(), cfg.control_socket.c_str(), cfg.issuer.c_str(),
               cfg.audit_log.empty() ? "(none)" : cfg.audit_log.c_str());
  if (current.patterns) {
    std::string names;
    for (const std::string& n : current.patterns->sets) names += (names.empty() ? "" : ", ") + n;
    std::fprintf(stderr, "phigate-cp: pattern sets %s compiled (patterns %s, %zu bytes)\n",
                 names.c_str(), current.patterns->sha256.substr(0, 12).c_str(), current.patterns->db.size());
  }
  while (!g_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_reload.exchange(false)) {
      auto m2 = cp::load_material(cfg);
      if (auto* e = std::get_if<std::string>(&m2)) {
        std::fprintf(stderr, "phigate-cp: reload refused, the running policy, credentials and pattern sets stay: %s\n",
                     e->c_str());
      } else {
        cp::policy_material& next = std::get<cp::policy_material>(m2);
        const std::string sha = next.patterns ? next.patterns->sha256.substr(0, 12) : std::string("none configured");
        {
          std::lock_guard<std::mutex> lock(material_mu);
          current = std::move(next);
        }
        link->push();
        std::fprintf(stderr, "phigate-cp: policy, credentials and pattern sets reloaded (patterns %s)\n", sha.c_str());
      }
    }
  }
  server->stop();
  api.join();
  link->stop();
  if (audit_log && !audit_log->failed())
    if (auto e = audit_log->close(now_ms())) std::fprintf(stderr, "phigate-cp: audit: %s\n", e->reason.c_str());
  return 0;
}
