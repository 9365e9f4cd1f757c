// phigate-cp pieces: config checks name the field; Prometheus text flattens the dataplane's
// counters with labels; the dataplane link pushes a snapshot on connect, again on push(), sends
// the pattern database a snapshot names once per connection and change, and delivers the
// dataplane's approval requests, grant use and results to its handlers; the material loader
// refuses pattern sets whose examples fail and policies naming sets or entities the db lacks.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "controlplane/auth/crypto_util.hh"
#include "controlplane/daemon/cp_config.hh"
#include "controlplane/daemon/cp_material.hh"
#include "controlplane/daemon/dp_link.hh"
#include "controlplane/daemon/metrics.hh"
#include "dataplane/scan/pattern_db.hh"

namespace phigate::cp {
namespace {

const char* kConfig = R"({
  // comments allowed
  "oidc": {"issuer": "https://idp.test", "audience": "phigate"},
  "policy": "/etc/phigate/policy.json",
  "approvals": {"db": "/var/lib/phigate/approvals.db"}
})";

TEST(cp_config, minimal_config_gets_defaults) {
  cp_config c;
  ASSERT_EQ(cp_config_parse(kConfig, c), "");
  EXPECT_EQ(c.listen_port, 9443);
  EXPECT_EQ(c.public_url, "http://127.0.0.1:9443");
  EXPECT_EQ(c.control_socket, "/run/phigate/dp-control.sock");
}

std::string parse(const std::string& text) {
  cp_config c;  // fresh each time: the parser fills in place
  return cp_config_parse(text, c);
}

TEST(cp_config, errors_name_the_field) {
  EXPECT_EQ(parse(R"({"oidc": {"issuer": "x", "audience": "y"}, "policy": "p", "approvals": {"db": "d"},
                                "api": {"host": "0.0.0.0"}})"),
            "api: without tls_cert/tls_key the API may only listen on loopback (bearer tokens travel in it)");
  EXPECT_EQ(parse(R"({"oidc": {"issuer": "x"}, "policy": "p", "approvals": {"db": "d"}})"),
            "oidc: issuer and audience are required");
  EXPECT_EQ(parse(R"({"oidc": {"issuer": "x", "audience": "y"}, "policy": "p", "approvals": {"db": "d"},
                                "surprise": 1})"),
            "surprise: unknown field");
  EXPECT_EQ(parse(R"({"oidc": {"issuer": "x", "audience": "y"}, "policy": "p",
                                "approvals": {"db": "d", "default_grant_ttl_s": 9000, "max_grant_ttl_s": 600}})"),
            "approvals.default_grant_ttl_s: above max_grant_ttl_s");
  EXPECT_EQ(parse(R"({"oidc": {"issuer": "x", "audience": "y"}, "policy": "p", "approvals": {"db": "d"},
                                "audit": {"log": "/var/lib/phigate/audit.log"}})"),
            "audit: log and signing_key are required");
  cp_config c;
  ASSERT_EQ(cp_config_parse(R"({"oidc": {"issuer": "x", "audience": "y"}, "policy": "p", "approvals": {"db": "d"},
                                "audit": {"log": "/a.log", "signing_key": "/k.pem"}})", c), "");
  EXPECT_EQ(c.audit_log, "/a.log");
  EXPECT_EQ(c.audit_signing_key, "/k.pem");
}

const char* kBase = R"("oidc": {"issuer": "x", "audience": "y"}, "policy": "p", "approvals": {"db": "d"})";

std::string parse_patterns(const std::string& patterns_json, std::vector<std::string>* out = nullptr) {
  cp_config c;
  const std::string e = cp_config_parse(std::string("{") + kBase + ", \"patterns\": " + patterns_json + "}", c);
  if (out) *out = c.patterns;
  return e;
}

TEST(cp_config, patterns_are_a_path_or_a_list_of_paths) {
  cp_config none;
  ASSERT_EQ(cp_config_parse(std::string("{") + kBase + "}", none), "");
  EXPECT_TRUE(none.patterns.empty()) << "absent: the dataplane keeps its own database";
  std::vector<std::string> got;
  EXPECT_EQ(parse_patterns(R"("/etc/phigate/patterns/us-phi-core.json")", &got), "");
  EXPECT_EQ(got, std::vector<std::string>{"/etc/phigate/patterns/us-phi-core.json"});
  EXPECT_EQ(parse_patterns(R"(["a.json", "b.json"])", &got), "");
  EXPECT_EQ(got, (std::vector<std::string>{"a.json", "b.json"}));
  std::string sixteen = "[", seventeen;
  for (int i = 0; i < 16; ++i) sixteen += std::string(i ? ", " : "") + "\"s" + std::to_string(i) + ".json\"";
  seventeen = sixteen + ", \"s16.json\"]";
  sixteen += "]";
  EXPECT_EQ(parse_patterns(sixteen, &got), "");
  EXPECT_EQ(got.size(), 16u);
  EXPECT_EQ(parse_patterns(seventeen), "patterns: at most 16 pattern sets");
}

TEST(cp_config, bad_patterns_name_the_field) {
  const char* shape = "patterns: a pattern set path or a non-empty list of paths";
  EXPECT_EQ(parse_patterns("[]"), shape);
  EXPECT_EQ(parse_patterns("42"), shape);
  EXPECT_EQ(parse_patterns(R"({"file": "a.json"})"), shape);
  EXPECT_EQ(parse_patterns("null"), shape);
  EXPECT_EQ(parse_patterns(R"("")"), "patterns: must not be empty");
  EXPECT_EQ(parse_patterns(R"(["a.json", ""])"), "patterns[1]: must not be empty");
  EXPECT_EQ(parse_patterns(R"(["a.json", 3])"), "patterns[1]: must be a path string");
}

TEST(metrics, dataplane_counters_become_labelled_metrics) {
  const nlohmann::json dp = {{"rx_packets", 10},
                             {"drops", {{"fragment", 2}, {"tcp_invalid", 0}}},
                             {"findings_by_entity", {{"ssn", 5}}},
                             {"audit", {{"backlog", 3}, {"failed", false}}},
                             {"note", "text is skipped"}};
  const std::string t = prometheus_text(dp, true, {{"approvals_pending", 4}});
  EXPECT_NE(t.find("phigate_dp_up 1\n"), std::string::npos);
  EXPECT_NE(t.find("phigate_dp_rx_packets 10\n"), std::string::npos);
  EXPECT_NE(t.find("phigate_dp_drops{reason=\"fragment\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("phigate_dp_findings_by_entity{entity=\"ssn\"} 5\n"), std::string::npos);
  EXPECT_NE(t.find("phigate_dp_audit{name=\"failed\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("phigate_cp_approvals_pending 4\n"), std::string::npos);
  EXPECT_EQ(t.find("text is skipped"), std::string::npos);
  EXPECT_NE(prometheus_text(nullptr, false, {}).find("phigate_dp_up 0\n"), std::string::npos);
}

// A fake dataplane: listens, reads snapshot lines, answers with results and other messages.
TEST(dp_link, pushes_on_connect_and_on_demand_and_dispatches_messages) {
  const std::string path = "/tmp/phigate-dp-link-test-" + std::to_string(getpid()) + ".sock";
  const int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);

  std::atomic<int> builds{0}, approvals{0}, grants{0}, results{0};
  dp_link::handlers h;
  h.build = [&] {
    ipc::snapshot s;
    s.generation = static_cast<uint64_t>(++builds);
    s.policy_text = "{}";
    return s;
  };
  h.on_approval_request = [&](const nlohmann::json& j) { approvals += j["approval_id"] == "a1"; };
  h.on_grant_used = [&](const ipc::grant_used& g) { grants += g.approval_id == "a2"; };
  h.on_result = [&](const ipc::snapshot_result&) { ++results; };
  // Audit records of one read arrive as one batch; the handler's acknowledgement goes back.
  std::atomic<int> audit_batches{0}, audit_records{0};
  h.on_audit = [&](std::vector<ipc::audit_record> batch) {
    ++audit_batches;
    audit_records += static_cast<int>(batch.size());
    ipc::audit_ack a;
    a.acks.push_back({batch.back().boot, batch.back().stream, batch.back().seq});
    return a;
  };
  dp_link link(path, h);
  link.start();
  const int c = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(c, 0);
  ipc::line_reader reader;
  auto next_line = [&]() -> std::string {
    for (int i = 0; i < 200; ++i) {
      if (auto l = reader.next()) return *l;
      char buf[4096];
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return "";
      reader.feed(buf, static_cast<size_t>(n));
    }
    return "";
  };
  nlohmann::json first = nlohmann::json::parse(next_line());
  EXPECT_EQ(first["type"], "snapshot");
  EXPECT_EQ(first["generation"], 1);
  link.push();
  nlohmann::json second = nlohmann::json::parse(next_line());
  EXPECT_EQ(second["generation"], 2);
  const std::string msgs = ipc::encode(ipc::snapshot_result{2, true, ""}) +
                           ipc::encode_approval_request({{"type", "decision"}, {"approval_id", "a1"}}) +
                           ipc::encode(ipc::grant_used{"a2", "alice", "chat", std::string(64, 'c')});
  ASSERT_EQ(::write(c, msgs.data(), msgs.size()), static_cast<ssize_t>(msgs.size()));
  for (int i = 0; i < 100 && (results < 1 || approvals < 1 || grants < 1); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(results.load(), 1);
  EXPECT_EQ(approvals.load(), 1);
  EXPECT_EQ(grants.load(), 1);
  EXPECT_EQ(link.last_applied_generation(), 2u);
  EXPECT_TRUE(link.connected());
  const std::string recs = ipc::encode(ipc::audit_record{"0123456789abcdef", 0, 1, {{"type", "decision"}}}) +
                           ipc::encode(ipc::audit_record{"0123456789abcdef", 0, 2, {{"type", "response"}}});
  ASSERT_EQ(::write(c, recs.data(), recs.size()), static_cast<ssize_t>(recs.size()));
  nlohmann::json ack = nlohmann::json::parse(next_line());
  EXPECT_EQ(ack["type"], "audit_ack");
  EXPECT_EQ(ack["acks"][0]["seq"], 2);
  EXPECT_EQ(audit_records.load(), 2);
  link.stop();
  ::close(c);
  ::close(lfd);
  ::unlink(path.c_str());
}

// A listening socket standing in for phigate-dp's control socket.
struct fake_dataplane {
  std::string path = "/tmp/phigate-dp-link-test-" + std::to_string(getpid()) + "-p.sock";
  int lfd = -1, c = -1;
  ipc::line_reader reader;
  fake_dataplane() {
    lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ::unlink(path.c_str());
    EXPECT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(lfd, 1), 0);
    timeval tv{5, 0};  // accept() too: a link that never (re)connects fails the test
    ::setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~fake_dataplane() {
    if (c >= 0) ::close(c);
    ::close(lfd);
    ::unlink(path.c_str());
  }
  bool accept() {
    if (c >= 0) ::close(c);
    c = ::accept(lfd, nullptr, nullptr);
    reader = ipc::line_reader{};
    // A line that never comes fails the test instead of hanging it.
    timeval tv{5, 0};
    if (c >= 0) ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return c >= 0;
  }
  // The next line as JSON (null when the link closed or sent nothing usable).
  nlohmann::json next() {
    for (int i = 0; i < 10000; ++i) {
      if (auto l = reader.next()) {
        auto j = ipc::parse_line(*l);
        return std::holds_alternative<nlohmann::json>(j) ? std::get<nlohmann::json>(j) : nlohmann::json();
      }
      char buf[65536];
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0 || !reader.feed(buf, static_cast<size_t>(n))) return nullptr;
    }
    return nullptr;
  }
};

std::shared_ptr<const ipc::patterns> make_patterns(const std::string& db, const std::string& set) {
  auto p = std::make_shared<ipc::patterns>();
  p->db = db;
  p->sha256 = auth::hex_encode(auth::as_chars(auth::sha256(db)));
  p->sets = {set};
  return p;
}

// The sha256 a patterns line carries, after checking it decodes (its db matches it).
std::string patterns_sha(const nlohmann::json& j) {
  if (!j.is_object() || j.value("type", "") != "patterns") return "(not a patterns line)";
  auto d = ipc::decode_patterns(j);
  if (auto* e = std::get_if<std::string>(&d)) return "(refused: " + *e + ")";
  return std::get<ipc::patterns>(d).sha256;
}

TEST(dp_link, the_pattern_database_precedes_the_snapshot_naming_it_once_per_connection_and_change) {
  fake_dataplane dp;
  std::mutex mu;
  std::shared_ptr<const ipc::patterns> current = make_patterns("database A", "set-a");
  const std::string sha_a = current->sha256;
  const std::string sha_b = make_patterns("database B", "set-b")->sha256;
  // As phigate-cp does: build() picks the database from the same material as the snapshot,
  // patterns() hands over that pick.
  std::shared_ptr<const ipc::patterns> building;
  uint64_t generation = 0;
  dp_link::handlers h;
  h.build = [&] {
    ipc::snapshot s;
    s.generation = ++generation;
    s.policy_text = "{}";
    std::lock_guard<std::mutex> lock(mu);
    building = current;
    if (building) s.patterns_sha256 = building->sha256;
    return s;
  };
  h.patterns = [&] { return building; };
  dp_link link(dp.path, h);
  link.start();
  ASSERT_TRUE(dp.accept());
  // Connect: the database first, then the snapshot that names it.
  EXPECT_EQ(patterns_sha(dp.next()), sha_a);
  nlohmann::json s = dp.next();
  EXPECT_EQ(s["type"], "snapshot");
  EXPECT_EQ(s["patterns_sha256"], sha_a);
  // Same database: only the snapshot.
  link.push();
  s = dp.next();
  EXPECT_EQ(s["type"], "snapshot");
  EXPECT_EQ(s["patterns_sha256"], sha_a);
  EXPECT_EQ(link.patterns_pushes(), 1u);
  // Changed (a reload): the new one before the snapshot naming it.
  {
    std::lock_guard<std::mutex> lock(mu);
    current = make_patterns("database B", "set-b");
  }
  link.push();
  EXPECT_EQ(patterns_sha(dp.next()), sha_b);
  s = dp.next();
  EXPECT_EQ(s["type"], "snapshot");
  EXPECT_EQ(s["patterns_sha256"], sha_b);
  // A new connection (a restarted dataplane) has nothing staged: sent again.
  ASSERT_TRUE(dp.accept());
  EXPECT_EQ(patterns_sha(dp.next()), sha_b);
  s = dp.next();
  EXPECT_EQ(s["type"], "snapshot");
  EXPECT_EQ(s["patterns_sha256"], sha_b);
  const uint64_t gen_after_reconnect = s["generation"].get<uint64_t>();
  // Back to A on the new connection: A was never sent on it.
  {
    std::lock_guard<std::mutex> lock(mu);
    current = make_patterns("database A", "set-a");
  }
  link.push();
  EXPECT_EQ(patterns_sha(dp.next()), sha_a);
  EXPECT_EQ(dp.next()["patterns_sha256"], sha_a);
  // No pattern sets configured: no patterns line, the snapshot names none.
  {
    std::lock_guard<std::mutex> lock(mu);
    current = nullptr;
  }
  link.push();
  s = dp.next();
  EXPECT_EQ(s["type"], "snapshot");
  EXPECT_FALSE(s.contains("patterns_sha256"));
  EXPECT_GT(s["generation"].get<uint64_t>(), gen_after_reconnect);
  EXPECT_EQ(link.patterns_pushes(), 4u);
  // The link counts a snapshot after its write returns, which may be after this side read it.
  for (int i = 0; i < 100 && link.pushes() < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(link.pushes(), 6u);
  link.stop();
}

// Files for load_material in a private temporary directory.
struct material_dir {
  std::string dir;
  material_dir() {
    char tmpl[] = "/tmp/phigate-cp-material-XXXXXX";
    dir = ::mkdtemp(tmpl) ? tmpl : "";
    EXPECT_FALSE(dir.empty());
  }
  ~material_dir() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

// A small set of one entry, `prefix`-dddd; `match_text` is its match example (text and value),
// so one that does not have that shape fails the examples.
std::string pattern_set_json(const std::string& name, const std::string& id, const std::string& entity,
                             const std::string& prefix, const std::string& match_text) {
  return R"({"name": ")" + name + R"(", "version": 1, "description": "test set",
  "patterns": [{"id": ")" + id + R"(", "entity": ")" + entity + R"(", "safe_harbor": "other_id",
    "expression": "\\b)" + prefix + R"(-\\d{4}\\b", "max_length": 8,
    "examples": {"match": [{"text": "ref )" + match_text + R"( here", "value": ")" + match_text + R"("}],
                 "no_match": [")" + prefix + R"(-123"]}}]})";
}

cp_config material_config(material_dir& d, const std::string& policy, std::vector<std::string> patterns) {
  cp_config c;
  c.policy = d.write("policy.json", policy);
  c.patterns = std::move(patterns);
  return c;
}

std::string material_error(const cp_config& c) {
  auto m = load_material(c);
  return std::holds_alternative<std::string>(m) ? std::get<std::string>(m) : "(accepted)";
}

const char* kPlainPolicy = R"({"version": 1, "rules": []})";

TEST(load_material, pattern_sets_are_compiled_hashed_and_named) {
  material_dir d;
  const std::string a = d.write("a.json", pattern_set_json("test-a", "a-id", "a_id", "AAA", "AAA-1234"));
  const std::string b = d.write("b.json", pattern_set_json("test-b", "b-id", "b_id", "BBB", "BBB-5678"));
  auto m = load_material(material_config(d, kPlainPolicy, {a, b}));
  ASSERT_TRUE(std::holds_alternative<policy_material>(m)) << std::get<std::string>(m);
  const policy_material& pm = std::get<policy_material>(m);
  EXPECT_EQ(pm.policy_text, kPlainPolicy);
  ASSERT_NE(pm.patterns, nullptr);
  EXPECT_EQ(pm.patterns->sets, (std::vector<std::string>{"test-a", "test-b"}));
  EXPECT_EQ(pm.patterns->sha256, auth::hex_encode(auth::as_chars(auth::sha256(pm.patterns->db))));
  // What the dataplane will do with it.
  const auto* bytes = reinterpret_cast<const uint8_t*>(pm.patterns->db.data());
  auto db = scan::pattern_db::deserialize({bytes, pm.patterns->db.size()});
  ASSERT_EQ(db.index(), 0u) << std::get<scan::load_error>(db).reason;
  EXPECT_EQ(std::get<0>(db)->set_count(), 2u);
  EXPECT_EQ(std::get<0>(db)->patterns().size(), 2u);
  // Without pattern sets nothing is compiled (the dataplane keeps its own).
  auto none = load_material(material_config(d, kPlainPolicy, {}));
  ASSERT_TRUE(std::holds_alternative<policy_material>(none));
  EXPECT_EQ(std::get<policy_material>(none).patterns, nullptr);
}

TEST(load_material, a_set_whose_examples_fail_is_refused_naming_file_and_entry) {
  material_dir d;
  const std::string good = d.write("good.json", pattern_set_json("test-a", "a-id", "a_id", "AAA", "AAA-1234"));
  // The example value has five digits: the expression cannot find exactly it.
  const std::string bad = d.write("bad.json", pattern_set_json("test-b", "b-id", "b_id", "BBB", "BBB-56789"));
  const std::string e = material_error(material_config(d, kPlainPolicy, {good, bad}));
  EXPECT_EQ(e.rfind("patterns: " + bad + ": patterns[0] (id b-id).examples.match[0]: ", 0), 0u) << e;
  EXPECT_EQ(e.find("56789"), std::string::npos) << "never the example's value: " << e;
}

TEST(load_material, unreadable_invalid_and_clashing_sets_are_refused) {
  material_dir d;
  const std::string a = d.write("a.json", pattern_set_json("test-a", "a-id", "a_id", "AAA", "AAA-1234"));
  const std::string missing = d.dir + "/missing.json";
  EXPECT_EQ(material_error(material_config(d, kPlainPolicy, {a, missing})),
            "patterns: " + missing + ": cannot open file");
  const std::string typo = d.write("typo.json", R"({"name": "t", "version": 1, "patterns": [], "extra": 1})");
  const std::string e = material_error(material_config(d, kPlainPolicy, {typo}));
  EXPECT_EQ(e.rfind("patterns: " + typo + ": ", 0), 0u) << e;
  // Two files with the same set name cannot be merged.
  const std::string again = d.write("again.json", pattern_set_json("test-a", "x-id", "x_id", "XXX", "XXX-1234"));
  const std::string clash = material_error(material_config(d, kPlainPolicy, {a, again}));
  EXPECT_EQ(clash.rfind("patterns: ", 0), 0u) << clash;
  EXPECT_NE(clash.find("test-a"), std::string::npos) << clash;
}

TEST(load_material, a_policy_profile_the_database_cannot_serve_is_refused) {
  material_dir d;
  const std::string a = d.write("a.json", pattern_set_json("test-a", "a-id", "a_id", "AAA", "AAA-1234"));
  cp_config c = material_config(d, R"({"version": 1, "rules": [],
      "masking_profiles": {"research": {"pattern_sets": ["cardio-research"]}}})", {a});
  EXPECT_EQ(material_error(c), c.policy + ": masking_profile research: pattern set cardio-research is not loaded (loaded: test-a)");
  c = material_config(d, R"({"version": 1, "rules": [], "masking_profiles": {"typo": {"entities": ["a_idd"]}}})", {a});
  EXPECT_EQ(material_error(c), c.policy + ": masking_profile typo: entity a_idd is not in pattern set test-a");
  // The same policies without cp-side pattern sets: the dataplane's own database decides.
  c.patterns.clear();
  EXPECT_EQ(material_error(c), "(accepted)");
  c = material_config(d, R"({"version": 1, "rules": [], "masking_profiles": {"ok": {"entities": ["a_id"]}}})", {a});
  EXPECT_EQ(material_error(c), "(accepted)");
}

TEST(load_material, the_shipped_catalog_and_example_policy_pass) {
  cp_config c;
  c.policy = std::string(PHIGATE_SOURCE_ROOT) + "/configs/policy.example.json";
  c.patterns = {std::string(PHIGATE_SOURCE_ROOT) + "/patterns/us-phi-core.json"};
  auto m = load_material(c);
  ASSERT_TRUE(std::holds_alternative<policy_material>(m)) << std::get<std::string>(m);
  ASSERT_NE(std::get<policy_material>(m).patterns, nullptr);
  EXPECT_EQ(std::get<policy_material>(m).patterns->sets, std::vector<std::string>{"us-phi-core"});
  EXPECT_LT(ipc::encode(*std::get<policy_material>(m).patterns).size(), ipc::max_line_bytes);
}

}  // namespace
}  // namespace phigate::cp

namespace phigate::cp {
namespace {

TEST(cp_config, the_shipped_example_parses) {
  cp_config c;
  EXPECT_EQ(cp_config_load(std::string(PHIGATE_SOURCE_ROOT) + "/configs/phigate-cp.example.json", c), "");
  EXPECT_EQ(c.public_url, "https://phigate-cp.hospital.example:9443");
  EXPECT_EQ(c.patterns, std::vector<std::string>{"/etc/phigate/patterns/us-phi-core.json"});
}

}  // namespace
}  // namespace phigate::cp
