// event_drain: audit events from the lcores' rings become hash-chained, signed records; durability
// is published only after the batch is synced; records carry counts and names, never payloads; a
// failed log stops acknowledging (requests stay held).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_verify.hh"
#include "controlplane/audit/event_drain.hh"

namespace phigate::audit {
namespace {

struct tmp_dir {
  std::string path;
  tmp_dir() {
    char t[] = "/tmp/phigate-drain-XXXXXX";
    path = mkdtemp(t);
  }
  ~tmp_dir() { std::system(("rm -rf " + path).c_str()); }
};

gate::audit_event* decision(gate::event_ring& r, uint64_t seq) {
  gate::audit_event* e = r.claim();
  e->seq = seq;
  e->kind = gate::event_kind::decision;
  e->result = gate::outcome::allowed;
  e->family = 4;
  const uint8_t c[4] = {198, 18, 0, 1}, s[4] = {198, 18, 0, 2};
  std::memcpy(e->client_addr, c, 4);
  std::memcpy(e->server_addr, s, 4);
  e->client_port = 40000;
  e->server_port = 8000;
  std::strcpy(e->method, "POST");
  std::strcpy(e->path, "/v1/chat/completions");
  std::strcpy(e->subject, "alice");
  std::strcpy(e->groups, "clinicians,oncology");
  std::strcpy(e->rule_id, "clinicians");
  return e;
}

TEST(event_drain, records_are_chained_signed_and_acknowledged_after_sync) {
  tmp_dir d;
  auto key = audit_key_generate();
  ASSERT_TRUE(std::holds_alternative<auth::pkey_ptr>(key));
  EVP_PKEY* k = std::get<auth::pkey_ptr>(key).get();
  auto w = audit_writer::open(d.path + "/audit.log", auth::pkey_share(k));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<audit_writer>>(w));
  auto& writer = *std::get<std::unique_ptr<audit_writer>>(w);
  gate::event_ring r0(8), r1(8);
  event_drain drain(&writer, {&r0, &r1}, nullptr, d.path + "/events.jsonl");

  decision(r0, 1);
  r0.publish();
  decision(r0, 2);
  r0.publish();
  gate::audit_event* resp = r1.claim();
  resp->seq = 1;
  resp->kind = gate::event_kind::response;
  resp->status = 200;
  resp->findings = 3;
  resp->finding_used = 1;
  resp->finding_pattern[0] = 4;
  resp->finding_count[0] = 3;
  r1.publish();
  EXPECT_EQ(r0.durable.load(), 0u);
  const event_drain::result res = drain.pump(1000);
  ASSERT_FALSE(res.error) << *res.error;
  EXPECT_EQ(res.records, 3u);
  EXPECT_EQ(r0.durable.load(), 2u);
  EXPECT_EQ(r1.durable.load(), 1u);
  EXPECT_EQ(r0.size(), 0u);
  ASSERT_FALSE(writer.close(2000));

  audit_verify_options o;
  const audit_report rep = audit_verify(d.path + "/audit.log", k, o);
  EXPECT_TRUE(rep.intact()) << audit_fault_name(rep.fault) << " " << rep.detail;
  EXPECT_EQ(rep.records, 3u);

  std::ifstream ev(d.path + "/events.jsonl");
  std::string line;
  std::getline(ev, line);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["type"], "decision");
  EXPECT_EQ(j["decision"], "allowed");
  EXPECT_EQ(j["client"], "198.18.0.1:40000");
  EXPECT_EQ(j["groups"], nlohmann::json::array({"clinicians", "oncology"}));
  EXPECT_EQ(j["request_id"], "0-0-0");
  std::getline(ev, line);
  std::getline(ev, line);
  const nlohmann::json jr = nlohmann::json::parse(line);
  EXPECT_EQ(jr["type"], "response");
  EXPECT_EQ(jr["findings_by_entity"][0]["pattern_index"], 4);
  EXPECT_EQ(jr["findings_by_entity"][0]["count"], 3);
}

// Issue 4 section 2: both records of an unmasked exchange say so and name the masking profile;
// the fields are absent in the default case, and the signed log still verifies.
TEST(event_drain, unmasked_and_masking_profile_reach_both_records) {
  tmp_dir d;
  auto key = audit_key_generate();
  ASSERT_TRUE(std::holds_alternative<auth::pkey_ptr>(key));
  EVP_PKEY* k = std::get<auth::pkey_ptr>(key).get();
  auto w = audit_writer::open(d.path + "/audit.log", auth::pkey_share(k));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<audit_writer>>(w));
  auto& writer = *std::get<std::unique_ptr<audit_writer>>(w);
  gate::event_ring r0(8);
  event_drain drain(&writer, {&r0}, nullptr, d.path + "/events.jsonl");
  gate::audit_event* e = decision(r0, 1);
  std::strcpy(e->masking_profile, "contact");
  e->unmasked = true;
  r0.publish();
  gate::audit_event* resp = r0.claim();
  resp->seq = 2;
  resp->kind = gate::event_kind::response;
  resp->status = 200;
  std::strcpy(resp->masking_profile, "contact");
  resp->unmasked = true;
  r0.publish();
  decision(r0, 3);  // the default: neither field
  r0.publish();
  const event_drain::result res = drain.pump(1000);
  ASSERT_FALSE(res.error) << *res.error;
  ASSERT_FALSE(writer.close(2000));
  audit_verify_options o;
  const audit_report rep = audit_verify(d.path + "/audit.log", k, o);
  EXPECT_TRUE(rep.intact()) << audit_fault_name(rep.fault) << " " << rep.detail;
  std::ifstream ev(d.path + "/events.jsonl");
  std::string line;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(std::getline(ev, line));
    const nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["unmasked"], true) << line;
    EXPECT_EQ(j["masking_profile"], "contact") << line;
  }
  ASSERT_TRUE(std::getline(ev, line));
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_FALSE(j.contains("unmasked"));
  EXPECT_FALSE(j.contains("masking_profile"));
}

TEST(event_drain, approval_fields_reach_the_decision_record) {
  gate::event_ring r(4);
  gate::audit_event* e = decision(r, 1);
  e->result = gate::outcome::approval_required;
  e->approvals_required = 2;
  e->grant_ttl_s = 600;
  e->grant_one_time = false;
  std::strcpy(e->approver_groups, "leads,irb");
  const nlohmann::json j = event_record(*e, nullptr);
  EXPECT_EQ(j["approvals_required"], 2);
  EXPECT_EQ(j["grant_ttl_s"], 600);
  EXPECT_EQ(j["grant_one_time"], false);
  EXPECT_EQ(j["approver_groups"], nlohmann::json::array({"leads", "irb"}));
}

TEST(event_drain, a_failed_log_acknowledges_nothing) {
  tmp_dir d;
  auto key = audit_key_generate();
  EVP_PKEY* k = std::get<auth::pkey_ptr>(key).get();
  auto w = audit_writer::open(d.path + "/audit.log", auth::pkey_share(k));
  auto& writer = *std::get<std::unique_ptr<audit_writer>>(w);
  ASSERT_FALSE(writer.close(1));  // every later append fails, as after an I/O error
  gate::event_ring r(4);
  event_drain drain(&writer, {&r}, nullptr, "");
  decision(r, 1);
  r.publish();
  const event_drain::result res = drain.pump(5);
  EXPECT_TRUE(res.error.has_value());
  EXPECT_EQ(r.durable.load(), 0u) << "the request must stay held";
  EXPECT_TRUE(drain.failed());
}

}  // namespace
}  // namespace phigate::audit
