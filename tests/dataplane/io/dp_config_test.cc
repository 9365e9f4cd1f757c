// dp_config: phigate-dp's configuration is checked whole before any port starts; every error
// names the field; the shipped examples parse.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/io/dp_config.hh"

namespace phigate::io {
namespace {

std::string parse(const std::string& text) {
  dp_config c;
  return dp_config_parse(text, c);
}

const std::string kBase = R"("eal": ["--no-huge"], "protected_services": [{"address": "198.18.0.2", "port": 8000}],
                             "patterns": "p.json")";

TEST(dp_config, minimal_and_gate_configs_parse) {
  dp_config c;
  ASSERT_EQ(dp_config_parse("{" + kBase + "}", c), "");
  EXPECT_FALSE(c.gate) << "no gate: requests are not held";
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "gate": {"control_socket": "/run/x.sock", "audit_log": "/a",
                                   "audit_signing_key": "/k", "recordings_dir": "/r", "recordings_key": "/rk"}})", c), "");
  EXPECT_EQ(c.control_socket, "/run/x.sock");
  EXPECT_EQ(c.recordings_dir, "/r");
  EXPECT_EQ(c.hold_buffers, 256u);
  // phigate-cp keeps the audit log: a control socket without a log of the dataplane's own.
  dp_config r;
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "gate": {"control_socket": "/run/x.sock"}})", r), "");
  EXPECT_TRUE(r.audit_log.empty());
  EXPECT_TRUE(r.gate);
}

TEST(dp_config, errors_name_the_field) {
  EXPECT_EQ(parse("{" + kBase + R"(, "gate": {"policy": "/p"}})"),
            "gate: an audit_log with its audit_signing_key, or a control_socket (phigate-cp keeps the audit log), "
            "is required (no request proceeds without a durable record)");
  EXPECT_EQ(parse("{" + kBase + R"(, "gate": {"control_socket": "/s", "audit_log": "/a"}})"),
            "gate.audit_log and gate.audit_signing_key go together");
  EXPECT_EQ(parse("{" + kBase + R"(, "gate": {"audit_log": "/a", "audit_signing_key": "/k"}})"),
            "gate: a policy file or a control_socket (for phigate-cp to push one) is required");
  EXPECT_EQ(parse("{" + kBase + R"(, "gate": {"policy": "/p", "audit_log": "/a", "audit_signing_key": "/k",
                                   "recordings_dir": "/r"}})"),
            "gate.recordings_dir and gate.recordings_key go together");
  EXPECT_EQ(parse("{" + kBase + R"(, "gate": {"policy": "/p", "audit_log": "/a", "audit_signing_key": "/k",
                                   "hold_buffer_bytes": 100}})"),
            "gate.hold_buffer_bytes: must be an integer from 17408 to 4194304");
  EXPECT_EQ(parse("{" + kBase + R"(, "identity": {"issuer": "x"}})"), "identity: jwks_file, issuer and audience are required");
  EXPECT_EQ(parse("{" + kBase + R"(, "gate": {"surprise": 1}})"), "gate.surprise: unknown field");
  EXPECT_EQ(parse("{" + kBase + R"(, "flows": {"capacity": 1000}})"), "flows.capacity: must be a power of two");
  EXPECT_EQ(parse(R"({"eal": [], "protected_services": [], "patterns": "p"})"),
            "protected_services: required, a non-empty array of {\"address\", \"port\"}");
  EXPECT_NE(parse("{ not json").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(parse("{" + kBase + R"(, "sharding": "toeplitz"})"), R"(sharding: one of "auto", "rss", "software")");
}

// Pattern sets per route: "patterns" is one path (as before) or a non-empty list of paths.
TEST(dp_config, patterns_string_or_list) {
  const std::string head = R"("eal": [], "protected_services": [{"address": "198.18.0.2", "port": 8000}], )";
  dp_config one;
  ASSERT_EQ(dp_config_parse("{" + head + R"("patterns": "core.json"})", one), "");
  EXPECT_EQ(one.patterns, (std::vector<std::string>{"core.json"}));
  dp_config two;
  ASSERT_EQ(dp_config_parse("{" + head + R"("patterns": ["core.json", "onc.json"]})", two), "");
  EXPECT_EQ(two.patterns, (std::vector<std::string>{"core.json", "onc.json"}));

  const std::string shape = "patterns: required, a pattern set path or a non-empty list of paths";
  EXPECT_EQ(parse("{" + head + R"("patterns": []})"), shape);
  EXPECT_EQ(parse("{" + head + R"("patterns": 7})"), shape);
  EXPECT_EQ(parse("{" + head + R"("patterns": {"a": "b"}})"), shape);
  EXPECT_EQ(parse(R"({"eal": [], "protected_services": [{"address": "198.18.0.2", "port": 8000}]})"), shape);
  EXPECT_EQ(parse("{" + head + R"("patterns": ["core.json", 3]})"), "patterns[1]: must be a path string");
  EXPECT_EQ(parse("{" + head + R"("patterns": ["core.json", ["x"]]})"), "patterns[1]: must be a path string");
  EXPECT_EQ(parse("{" + head + R"("patterns": ["core.json", ""]})"), "patterns[1]: must not be empty");
  EXPECT_EQ(parse("{" + head + R"("patterns": ""})"), "patterns: must not be empty");
  std::string many = "[";
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + "\"p" + std::to_string(i) + ".json\"";
  EXPECT_EQ(parse("{" + head + "\"patterns\": " + many + "]}"), "patterns: at most 16 pattern sets");
}

TEST(dp_config, flow_and_reassembly_limits) {
  dp_config c;
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "flows": {"history_bytes": 16384, "syn_timeout_s": 5, "closing_timeout_s": 7,
      "midstream": "accept"}, "reassembly": {"segments_per_flow": 64, "bytes_per_flow": 262144, "segments": 8192,
      "mbytes": 16, "gap_timeout_ms": 800}})", c), "");
  EXPECT_EQ(c.history_bytes, 16384u);
  EXPECT_EQ(c.syn_timeout_s, 5u);
  EXPECT_EQ(c.closing_timeout_s, 7u);
  EXPECT_TRUE(c.midstream_accept);
  EXPECT_EQ(c.reasm_segments_per_flow, 64u);
  EXPECT_EQ(c.reasm_bytes_per_flow, 262144u);
  EXPECT_EQ(c.reasm_segments, 8192u);
  EXPECT_EQ(c.reasm_mbytes, 16u);
  EXPECT_EQ(c.gap_timeout_ms, 800u);
  dp_config d;
  ASSERT_EQ(dp_config_parse("{" + kBase + "}", d), "");
  EXPECT_EQ(d.history_bytes, 65536u);
  EXPECT_FALSE(d.midstream_accept);
  EXPECT_EQ(parse("{" + kBase + R"(, "flows": {"history_bytes": 5000}})"), "flows.history_bytes: 0 or a power of two from 4096");
  EXPECT_EQ(parse("{" + kBase + R"(, "flows": {"history_bytes": 0}})"), "");
  // The deadline of a request waiting for its durable audit record: 10 s unless set; 0 = none.
  EXPECT_EQ(d.audit_wait_ms, 10000u);
  dp_config t;
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "timers": {"audit_wait_ms": 0}})", t), "");
  EXPECT_EQ(t.audit_wait_ms, 0u);
  EXPECT_NE(parse("{" + kBase + R"(, "timers": {"audit_wait_ms": 700000}})").find("timers.audit_wait_ms"), std::string::npos);
  // Stream state per channel: 0 (automatic) or 64..4096 (it bounds databases pushed later).
  EXPECT_EQ(d.stream_state_bytes, 0u);
  dp_config e;
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "flows": {"stream_state_bytes": 512}})", e), "");
  EXPECT_EQ(e.stream_state_bytes, 512u);
  EXPECT_EQ(parse("{" + kBase + R"(, "flows": {"stream_state_bytes": 32}})"), "flows.stream_state_bytes: 0 (automatic) or 64..4096");
  EXPECT_NE(parse("{" + kBase + R"(, "flows": {"stream_state_bytes": 8192}})").find("flows.stream_state_bytes"), std::string::npos);
  // Open bodies per worker: 0 (one per flow slot) up to the capacity.
  EXPECT_EQ(d.open_bodies, 0u);
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "flows": {"capacity": 4096, "open_bodies": 1024}})", e), "");
  EXPECT_EQ(e.open_bodies, 1024u);
  EXPECT_EQ(parse("{" + kBase + R"(, "flows": {"capacity": 1024, "open_bodies": 2048}})"),
            "flows.open_bodies: at most flows.capacity (0: flows.capacity)");
  EXPECT_NE(parse("{" + kBase + R"(, "flows": {"open_bodies": -1}})").find("flows.open_bodies"), std::string::npos);
  EXPECT_EQ(d.request_stall_ms, 10u);
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "timers": {"request_stall_ms": 0}})", e), "");
  EXPECT_EQ(e.request_stall_ms, 0u);
  EXPECT_NE(parse("{" + kBase + R"(, "timers": {"request_stall_ms": 20000}})").find("timers.request_stall_ms"), std::string::npos);
  EXPECT_TRUE(d.clamp_window);
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "flows": {"clamp_window": false}})", e), "");
  EXPECT_FALSE(e.clamp_window);
  EXPECT_EQ(parse("{" + kBase + R"(, "flows": {"clamp_window": 1}})"), "flows.clamp_window: must be true or false");
  EXPECT_EQ(parse("{" + kBase + R"(, "flows": {"midstream": "pass"}})"), R"(flows.midstream: "reset" or "accept")");
  EXPECT_EQ(parse("{" + kBase + R"(, "reassembly": {"segments": 1024, "segments_per_flow": 2048}})"),
            "reassembly.segments: at least segments_per_flow");
  EXPECT_EQ(parse("{" + kBase + R"(, "reassembly": {"gap_timeout_ms": 1}})"),
            "reassembly.gap_timeout_ms: must be an integer from 10 to 120000");
  EXPECT_EQ(parse("{" + kBase + R"(, "reassembly": {"window": 1}})"), "reassembly.window: unknown field");
}

TEST(dp_config, sharding_defaults_to_auto) {
  dp_config c;
  ASSERT_EQ(dp_config_parse("{" + kBase + "}", c), "");
  EXPECT_EQ(c.sharding, dp_config::sharding_mode::automatic);
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "workers": 2, "sharding": "rss"})", c), "");
  EXPECT_EQ(c.sharding, dp_config::sharding_mode::rss);
  ASSERT_EQ(dp_config_parse("{" + kBase + R"(, "sharding": "software"})", c), "");
  EXPECT_EQ(c.sharding, dp_config::sharding_mode::software);
}

TEST(dp_config, the_shipped_configs_parse) {
  for (const char* f : {"/configs/phigate-dp.topology.json", "/configs/phigate-dp.example.json"}) {
    dp_config c;
    EXPECT_EQ(dp_config_load(std::string(PHIGATE_SOURCE_ROOT) + f, c), "") << f;
  }
}

}  // namespace
}  // namespace phigate::io
