// phigate-cp pieces: config checks name the field; Prometheus text flattens the dataplane's
// counters with labels; the dataplane link pushes a snapshot on connect, again on push(), and
// delivers the dataplane's approval requests, grant use and results to its handlers.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "controlplane/daemon/cp_config.hh"
#include "controlplane/daemon/dp_link.hh"
#include "controlplane/daemon/metrics.hh"

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

}  // namespace
}  // namespace phigate::cp

namespace phigate::cp {
namespace {

TEST(cp_config, the_shipped_example_parses) {
  cp_config c;
  EXPECT_EQ(cp_config_load(std::string(PHIGATE_SOURCE_ROOT) + "/configs/phigate-cp.example.json", c), "");
  EXPECT_EQ(c.public_url, "https://phigate-cp.hospital.example:9443");
}

}  // namespace
}  // namespace phigate::cp
