// ipc_contract: every message round-trips; malformed snapshots and pattern databases are refused
// naming the field (and never quoting a credential); newer versions are refused; the line reader
// splits any segmentation of a stream, carries a multi-megabyte line (a pattern database) whole
// and refuses one over max_line_bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "controlplane/auth/crypto_util.hh"
#include "controlplane/ipc/ipc_contract.hh"

namespace phigate::ipc {
namespace {

snapshot sample() {
  snapshot s;
  s.generation = 7;
  s.policy_name = "policy.json";
  s.policy_text = R"({"version":1,"rules":[]})";
  s.jwks_text = R"({"keys":[]})";
  s.issuer = "https://idp";
  s.audience = "phigate";
  s.credentials = {{"openai", "Bearer sk-secret"}};
  s.grants.push_back({"a1", "alice", "chat", std::string(64, 'a'), 1800000000, true});
  return s;
}

TEST(ipc_contract, snapshot_round_trips) {
  const std::string line = encode(sample());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  auto j = parse_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(j));
  EXPECT_EQ(std::get<nlohmann::json>(j)["type"], "snapshot");
  auto s = decode_snapshot(std::get<nlohmann::json>(j));
  ASSERT_TRUE(std::holds_alternative<snapshot>(s)) << std::get<std::string>(s);
  const snapshot& d = std::get<snapshot>(s);
  EXPECT_EQ(d.generation, 7u);
  EXPECT_EQ(d.policy_text, sample().policy_text);
  EXPECT_EQ(d.credentials.at("openai"), "Bearer sk-secret");
  ASSERT_EQ(d.grants.size(), 1u);
  EXPECT_EQ(d.grants[0].subject, "alice");
  EXPECT_EQ(d.grants[0].expires_s, 1800000000);
}

TEST(ipc_contract, bad_snapshots_name_the_field_not_the_value) {
  nlohmann::json j = nlohmann::json::parse(encode(sample()));
  j["credentials"]["openai"] = 42;
  auto r = decode_snapshot(j);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ(std::get<std::string>(r), "credentials.openai: must be a string");
  j = nlohmann::json::parse(encode(sample()));
  j["grants"][0]["body_sha256"] = "xyz";
  EXPECT_EQ(std::get<std::string>(decode_snapshot(j)), "grants[0].body_sha256: must be 64 lowercase hex digits");
  j = nlohmann::json::parse(encode(sample()));
  j.erase("policy");
  EXPECT_EQ(std::get<std::string>(decode_snapshot(j)), "policy: missing");
  j = nlohmann::json::parse(encode(sample()));
  j["generation"] = -1;
  EXPECT_TRUE(std::holds_alternative<std::string>(decode_snapshot(j)));
}

TEST(ipc_contract, results_and_grant_use_round_trip) {
  const std::string a = encode(snapshot_result{9, false, "policy.json: rule x: bad op"});
  auto r = decode_snapshot_result(std::get<nlohmann::json>(parse_line(a.substr(0, a.size() - 1))));
  ASSERT_TRUE(std::holds_alternative<snapshot_result>(r));
  EXPECT_FALSE(std::get<snapshot_result>(r).ok);
  EXPECT_EQ(std::get<snapshot_result>(r).error, "policy.json: rule x: bad op");
  const std::string b = encode(grant_used{"a1", "alice", "chat", std::string(64, 'b')});
  auto g = decode_grant_used(std::get<nlohmann::json>(parse_line(b.substr(0, b.size() - 1))));
  ASSERT_TRUE(std::holds_alternative<grant_used>(g));
  EXPECT_EQ(std::get<grant_used>(g).approval_id, "a1");
  const std::string c = encode_approval_request({{"type", "decision"}, {"approval_id", "a2"}});
  const nlohmann::json cj = nlohmann::json::parse(c);
  EXPECT_EQ(cj["type"], "approval_request");
  EXPECT_EQ(cj["record_type"], "decision");
}

TEST(ipc_contract, audit_records_and_acks_round_trip) {
  const std::string a = encode(audit_record{"0123456789abcdef", 3, 42, {{"type", "decision"}, {"path", "/v1/x"}}});
  ASSERT_EQ(a.find('\n'), a.size() - 1) << "one line";
  auto r = decode_audit_record(std::get<nlohmann::json>(parse_line(a.substr(0, a.size() - 1))));
  ASSERT_TRUE(std::holds_alternative<audit_record>(r)) << std::get<std::string>(r);
  EXPECT_EQ(std::get<audit_record>(r).boot, "0123456789abcdef");
  EXPECT_EQ(std::get<audit_record>(r).stream, 3u);
  EXPECT_EQ(std::get<audit_record>(r).seq, 42u);
  EXPECT_EQ(std::get<audit_record>(r).record["path"], "/v1/x");
  audit_ack ack;
  ack.acks.push_back({"0123456789abcdef", 0, 7});
  ack.acks.push_back({"0123456789abcdef", owner_stream, 1});
  ack.error = "audit.log: fdatasync failed";
  const std::string b = encode(ack);
  auto d = decode_audit_ack(std::get<nlohmann::json>(parse_line(b.substr(0, b.size() - 1))));
  ASSERT_TRUE(std::holds_alternative<audit_ack>(d)) << std::get<std::string>(d);
  ASSERT_EQ(std::get<audit_ack>(d).acks.size(), 2u);
  EXPECT_EQ(std::get<audit_ack>(d).acks[1].stream, owner_stream);
  EXPECT_EQ(std::get<audit_ack>(d).acks[0].seq, 7u);
  EXPECT_EQ(std::get<audit_ack>(d).error, ack.error);
}

TEST(ipc_contract, bad_audit_messages_name_the_field) {
  nlohmann::json j = nlohmann::json::parse(encode(audit_record{"0123456789abcdef", 1, 1, {{"type", "decision"}}}));
  j["boot"] = "XYZ";
  EXPECT_EQ(std::get<std::string>(decode_audit_record(j)), "boot: must be 16 lowercase hex digits");
  j["boot"] = "0123456789abcdef";
  j["seq"] = 0;
  EXPECT_EQ(std::get<std::string>(decode_audit_record(j)), "seq: must be a positive integer");
  j["seq"] = 1;
  j["stream"] = 256;
  EXPECT_EQ(std::get<std::string>(decode_audit_record(j)), "stream: must be an integer 0..255");
  j["stream"] = 1;
  j["record"] = "text";
  EXPECT_EQ(std::get<std::string>(decode_audit_record(j)), "record: must be an object");
  nlohmann::json a = {{"v", 1}, {"type", "audit_ack"}, {"acks", {{{"boot", "0123456789abcdef"}, {"stream", 0}}}}};
  EXPECT_EQ(std::get<std::string>(decode_audit_ack(a)), "acks[0].seq: must be a positive integer");
  a.erase("acks");
  EXPECT_EQ(std::get<std::string>(decode_audit_ack(a)), "acks: must be a list");
}

TEST(ipc_contract, newer_versions_and_junk_are_refused) {
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line(R"({"v":2,"type":"snapshot"})")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line(R"({"type":"snapshot"})")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line("[1,2]")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line("{")));
}

TEST(ipc_contract, line_reader_handles_any_split_and_bounds_lines) {
  const std::string stream = "one\ntwo two\n\nthree\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    line_reader r;
    std::vector<std::string> got;
    ASSERT_TRUE(r.feed(stream.data(), cut));
    while (auto l = r.next()) got.push_back(*l);
    ASSERT_TRUE(r.feed(stream.data() + cut, stream.size() - cut));
    while (auto l = r.next()) got.push_back(*l);
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two two", "", "three"})) << cut;
  }
}

// A line of exactly max_line_bytes is still taken; one byte more ends the connection.
TEST(ipc_contract, line_reader_refuses_a_line_over_max_line_bytes) {
  line_reader big;
  const std::string chunk(1 << 20, 'x');
  static_assert(max_line_bytes % (1 << 20) == 0);
  for (size_t i = 0; i < max_line_bytes / chunk.size(); ++i) ASSERT_TRUE(big.feed(chunk.data(), chunk.size())) << i;
  EXPECT_FALSE(big.next().has_value());
  EXPECT_FALSE(big.feed("x", 1)) << "a line over max_line_bytes ends the connection";
}

// A pattern database line (megabytes) arrives in socket-sized reads: it comes out whole, and the
// line after it too.
TEST(ipc_contract, line_reader_carries_a_5mb_line_fed_in_64k_pieces) {
  std::string big(5u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  const std::string stream = big + "\nafter\n";
  line_reader r;
  std::vector<std::string> got;
  for (size_t off = 0; off < stream.size(); off += 65536) {
    ASSERT_TRUE(r.feed(stream.data() + off, std::min<size_t>(65536, stream.size() - off))) << off;
    while (auto l = r.next()) got.push_back(std::move(*l));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].size(), big.size());
  EXPECT_TRUE(got[0] == big);
  EXPECT_EQ(got[1], "after");
}

patterns sample_patterns() {
  patterns p;
  // Binary, as pattern_db::serialize() is: NULs, high bytes, a newline.
  p.db = std::string("PHIGDB1\0\x03\xff\n\x80tail", 16);
  p.sha256 = auth::hex_encode(auth::as_chars(auth::sha256(p.db)));
  p.sets = {"us-phi-core", "oncology-research"};
  return p;
}

nlohmann::json parsed(const std::string& line) {
  auto j = parse_line(std::string_view(line).substr(0, line.size() - 1));
  EXPECT_TRUE(std::holds_alternative<nlohmann::json>(j));
  return std::get<nlohmann::json>(j);
}

TEST(ipc_contract, patterns_round_trip) {
  const patterns p = sample_patterns();
  const std::string line = encode(p);
  ASSERT_EQ(line.find('\n'), line.size() - 1) << "one line, whatever bytes the db holds";
  const nlohmann::json j = parsed(line);
  EXPECT_EQ(j["type"], "patterns");
  auto d = decode_patterns(j);
  ASSERT_TRUE(std::holds_alternative<patterns>(d)) << std::get<std::string>(d);
  EXPECT_EQ(std::get<patterns>(d).sha256, p.sha256);
  EXPECT_EQ(std::get<patterns>(d).sets, p.sets);
  EXPECT_TRUE(std::get<patterns>(d).db == p.db);
}

std::string patterns_error(const nlohmann::json& j) {
  auto d = decode_patterns(j);
  return std::holds_alternative<std::string>(d) ? std::get<std::string>(d) : "(accepted)";
}

TEST(ipc_contract, patterns_whose_db_is_not_the_named_one_are_refused) {
  nlohmann::json j = parsed(encode(sample_patterns()));
  j["sha256"] = std::string(64, '0');
  EXPECT_EQ(patterns_error(j), "db: does not match sha256");
  // A truncated db (a line cut short and re-terminated) fails the digest too.
  patterns cut = sample_patterns();
  cut.db.pop_back();
  j = parsed(encode(cut));
  j["sha256"] = sample_patterns().sha256;
  EXPECT_EQ(patterns_error(j), "db: does not match sha256");
}

TEST(ipc_contract, patterns_with_bad_base64_are_refused) {
  nlohmann::json j = parsed(encode(sample_patterns()));
  j["db"] = "not base64!";
  EXPECT_EQ(patterns_error(j), "db: must be non-empty base64");
  j["db"] = j["db"].get<std::string>().substr(1);
  EXPECT_EQ(patterns_error(j), "db: must be non-empty base64");
  j["db"] = "";
  EXPECT_EQ(patterns_error(j), "db: must be non-empty base64");
}

TEST(ipc_contract, patterns_missing_or_invalid_fields_name_the_field) {
  const nlohmann::json good = parsed(encode(sample_patterns()));
  nlohmann::json j = good;
  j.erase("sha256");
  EXPECT_EQ(patterns_error(j), "sha256: missing");
  j = good;
  j["sha256"] = 7;
  EXPECT_EQ(patterns_error(j), "sha256: must be a string");
  j = good;
  j["sha256"] = std::string(64, 'A');
  EXPECT_EQ(patterns_error(j), "sha256: must be 64 lowercase hex digits");
  j = good;
  j["sha256"] = std::string(63, 'a');
  EXPECT_EQ(patterns_error(j), "sha256: must be 64 lowercase hex digits");
  j = good;
  j.erase("sets");
  EXPECT_EQ(patterns_error(j), "sets: must be a list");
  j = good;
  j["sets"] = "us-phi-core";
  EXPECT_EQ(patterns_error(j), "sets: must be a list");
  j = good;
  j["sets"] = {"us-phi-core", 3};
  EXPECT_EQ(patterns_error(j), "sets: must be a list of strings");
  j = good;
  j.erase("db");
  EXPECT_EQ(patterns_error(j), "db: missing");
  j = good;
  j["db"] = 12;
  EXPECT_EQ(patterns_error(j), "db: must be a string");
  EXPECT_EQ(patterns_error(good), "(accepted)");
}

TEST(ipc_contract, snapshot_names_its_pattern_database) {
  snapshot s = sample();
  s.patterns_sha256 = sample_patterns().sha256;
  auto d = decode_snapshot(parsed(encode(s)));
  ASSERT_TRUE(std::holds_alternative<snapshot>(d)) << std::get<std::string>(d);
  EXPECT_EQ(std::get<snapshot>(d).patterns_sha256, s.patterns_sha256);
  // "" (the dataplane's own database) is left out of the line and decodes as "".
  const std::string own = encode(sample());
  EXPECT_EQ(own.find("patterns_sha256"), std::string::npos);
  auto d2 = decode_snapshot(parsed(own));
  ASSERT_TRUE(std::holds_alternative<snapshot>(d2));
  EXPECT_EQ(std::get<snapshot>(d2).patterns_sha256, "");
  for (const std::string& bad : {std::string("abc"), std::string(64, 'G'), std::string(64, 'A'), std::string(65, 'a')}) {
    nlohmann::json j = parsed(encode(s));
    j["patterns_sha256"] = bad;
    auto r = decode_snapshot(j);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << bad;
    EXPECT_EQ(std::get<std::string>(r), "patterns_sha256: must be 64 lowercase hex digits");
  }
  nlohmann::json j = parsed(encode(s));
  j["patterns_sha256"] = 1;
  EXPECT_EQ(std::get<std::string>(decode_snapshot(j)), "patterns_sha256: must be a string");
}

}  // namespace
}  // namespace phigate::ipc
