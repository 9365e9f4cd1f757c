// The audit uplink end to end in one process: event_uplink (phigate-dp) encodes ring events as
// audit_record lines, audit_sink (phigate-cp) writes them to the signed log and acknowledges only
// after fdatasync; `durable` (what releases a held request) advances only on that
// acknowledgement. Covers: no acknowledgement without the control plane, resends after a lost
// connection and after a control plane restart land in the log exactly once and in order, a
// gap is not acknowledged, a poisoned or missing log acknowledges nothing, own records, foreign
// acknowledgements, and the bounded queue of own records.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/audit/audit_key.hh"
#include "controlplane/audit/audit_sink.hh"
#include "controlplane/audit/audit_verify.hh"
#include "controlplane/audit/event_uplink.hh"

namespace phigate::audit {
namespace {

constexpr const char* boot = "00112233445566aa";

struct tmp_dir {
  std::string path;
  tmp_dir() {
    char t[] = "/tmp/phigate-uplink-XXXXXX";
    path = mkdtemp(t);
  }
  ~tmp_dir() { std::system(("rm -rf " + path).c_str()); }
};

void decision(gate::event_ring& r, uint64_t seq, uint8_t lcore) {
  gate::audit_event* e = r.claim();
  ASSERT_NE(e, nullptr);
  e->seq = seq;
  e->lcore = lcore;
  e->kind = gate::event_kind::decision;
  e->result = gate::outcome::allowed;
  e->family = 4;
  std::strcpy(e->method, "POST");
  std::strcpy(e->path, "/v1/chat/completions");
  std::strcpy(e->subject, "alice");
  r.publish();
}

// The lines as the control plane's link would decode them.
std::vector<ipc::audit_record> decode_lines(const std::string& text) {
  std::vector<ipc::audit_record> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto j = ipc::parse_line(line);
    EXPECT_TRUE(std::holds_alternative<nlohmann::json>(j));
    auto r = ipc::decode_audit_record(std::get<nlohmann::json>(j));
    EXPECT_TRUE(std::holds_alternative<ipc::audit_record>(r));
    out.push_back(std::get<ipc::audit_record>(r));
  }
  return out;
}

// (stream, seq) of every record in the log, in order.
std::vector<std::pair<uint32_t, uint64_t>> logged(const std::string& path) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("rec")) continue;
    out.emplace_back(j["rec"]["dp_source"]["stream"].get<uint32_t>(), j["rec"]["dp_source"]["seq"].get<uint64_t>());
  }
  return out;
}

struct control_plane {
  auth::pkey_ptr key;
  std::unique_ptr<audit_writer> writer;
  std::unique_ptr<audit_sink> sink;
  void open(const std::string& path, EVP_PKEY* k) {
    auto w = audit_writer::open(path, auth::pkey_share(k));
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<audit_writer>>(w));
    writer = std::move(std::get<std::unique_ptr<audit_writer>>(w));
    sink = std::make_unique<audit_sink>(writer.get());
    ASSERT_FALSE(sink->recover(path));
  }
};

auth::pkey_ptr new_key() {
  auto k = audit_key_generate();
  EXPECT_TRUE(std::holds_alternative<auth::pkey_ptr>(k));
  return std::move(std::get<auth::pkey_ptr>(k));
}

TEST(audit_uplink, durable_only_after_the_control_plane_acknowledges) {
  tmp_dir d;
  auth::pkey_ptr key = new_key();
  gate::event_ring r0(8), r1(8);
  event_uplink up({&r0, &r1}, nullptr, boot, d.path + "/events.jsonl");
  std::vector<std::string> heard;
  up.set_listener([&](const nlohmann::json& rec) { heard.push_back(rec["lcore_seq"].dump()); });
  decision(r0, 1, 0);
  decision(r0, 2, 0);
  decision(r1, 1, 1);
  std::string lines;
  EXPECT_EQ(up.pump(lines), 3u);
  EXPECT_EQ(up.pump(lines), 0u) << "sent once per connection";
  EXPECT_EQ(r0.durable.load(), 0u) << "sent is not durable";
  EXPECT_EQ(r0.size(), 2u) << "kept in the ring until acknowledged";
  EXPECT_EQ(up.backlog(), 3u);

  control_plane cp;
  cp.open(d.path + "/audit.log", key.get());
  const ipc::audit_ack ack = cp.sink->accept(decode_lines(lines), 1000);
  EXPECT_TRUE(ack.error.empty());
  ASSERT_EQ(ack.acks.size(), 2u);
  EXPECT_EQ(cp.writer->syncs(), 1u) << "one fdatasync per batch";
  EXPECT_EQ(up.on_ack(ack), 3u);
  EXPECT_EQ(r0.durable.load(), 2u);
  EXPECT_EQ(r1.durable.load(), 1u);
  EXPECT_EQ(r0.size(), 0u);
  EXPECT_EQ(heard.size(), 3u);
  EXPECT_EQ(up.backlog(), 0u);
  ASSERT_FALSE(cp.writer->close(2000));
  const audit_report v = audit_verify(d.path + "/audit.log", key.get());
  EXPECT_TRUE(v.intact()) << v.detail;
  EXPECT_EQ(logged(d.path + "/audit.log"), (std::vector<std::pair<uint32_t, uint64_t>>{{0, 1}, {0, 2}, {1, 1}}));
  std::ifstream ev(d.path + "/events.jsonl");
  std::string all((std::istreambuf_iterator<char>(ev)), {});
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 3) << "the event log gets durable records only";
}

TEST(audit_uplink, resends_after_lost_connections_and_restarts_land_once_in_order) {
  tmp_dir d;
  auth::pkey_ptr key = new_key();
  const std::string log = d.path + "/audit.log";
  gate::event_ring r0(16);
  event_uplink up({&r0}, nullptr, boot, "");
  for (uint64_t s = 1; s <= 4; ++s) decision(r0, s, 0);
  std::string first;
  up.pump(first);
  {
    // The control plane writes 1..4 and dies before its acknowledgement reaches the dataplane.
    control_plane cp;
    cp.open(log, key.get());
    EXPECT_EQ(cp.sink->accept(decode_lines(first), 1000).acks.at(0).seq, 4u);
  }
  EXPECT_EQ(r0.durable.load(), 0u);
  up.restart();
  decision(r0, 5, 0);
  std::string again;
  EXPECT_EQ(up.pump(again), 5u) << "everything unacknowledged, oldest first";
  EXPECT_EQ(up.counters().resent, 4u);
  control_plane cp;
  cp.open(log, key.get());  // restarted: learns 1..4 from its log
  EXPECT_EQ(cp.sink->last_seq(boot, 0), 4u);
  const ipc::audit_ack ack = cp.sink->accept(decode_lines(again), 3000);
  EXPECT_EQ(cp.sink->counters().duplicates, 4u);
  EXPECT_EQ(cp.sink->counters().written, 1u);
  EXPECT_EQ(up.on_ack(ack), 5u);
  EXPECT_EQ(r0.durable.load(), 5u);
  ASSERT_FALSE(cp.writer->close(4000));
  EXPECT_EQ(logged(log), (std::vector<std::pair<uint32_t, uint64_t>>{{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}}));
  EXPECT_TRUE(audit_verify(log, key.get()).intact());
}

TEST(audit_uplink, a_gap_is_not_acknowledged_until_it_is_resent) {
  tmp_dir d;
  auth::pkey_ptr key = new_key();
  control_plane cp;
  cp.open(d.path + "/audit.log", key.get());
  gate::event_ring r0(8);
  event_uplink up({&r0}, nullptr, boot, "");
  for (uint64_t s = 1; s <= 4; ++s) decision(r0, s, 0);
  std::string lines;
  up.pump(lines);
  std::vector<ipc::audit_record> recs = decode_lines(lines);
  EXPECT_EQ(up.on_ack(cp.sink->accept({recs[0]}, 1000)), 1u);
  recs.erase(recs.begin(), recs.begin() + 2);  // record 2 never arrived
  ipc::audit_ack ack = cp.sink->accept(recs, 1000);
  EXPECT_EQ(cp.sink->counters().out_of_order, 2u);
  EXPECT_EQ(up.on_ack(ack), 0u) << "the acknowledgement still says 1";
  EXPECT_EQ(r0.durable.load(), 1u);
  up.restart();
  lines.clear();
  up.pump(lines);
  EXPECT_EQ(up.on_ack(cp.sink->accept(decode_lines(lines), 2000)), 3u);
  EXPECT_EQ(r0.durable.load(), 4u);
}

TEST(audit_uplink, a_new_log_takes_a_running_dataplane_where_it_stands) {
  // The control plane's log was rotated (or is new) while phigate-dp kept running: its oldest
  // unacknowledged record is seq 7, and the new log starts there instead of waiting for seq 1.
  tmp_dir d;
  auth::pkey_ptr key = new_key();
  control_plane cp;
  cp.open(d.path + "/audit.log", key.get());
  gate::event_ring r0(8);
  event_uplink up({&r0}, nullptr, boot, "");
  for (uint64_t s = 7; s <= 9; ++s) decision(r0, s, 0);
  std::string lines;
  up.pump(lines);
  EXPECT_EQ(up.on_ack(cp.sink->accept(decode_lines(lines), 1000)), 3u);
  EXPECT_EQ(r0.durable.load(), 9u);
  EXPECT_EQ(cp.sink->counters().out_of_order, 0u);
}

TEST(audit_uplink, no_log_or_a_failed_log_acknowledges_nothing_and_says_why) {
  audit_sink none(nullptr);
  gate::event_ring r0(8);
  event_uplink up({&r0}, nullptr, boot, "");
  decision(r0, 1, 0);
  std::string lines;
  up.pump(lines);
  ipc::audit_ack ack = none.accept(decode_lines(lines), 1000);
  EXPECT_TRUE(ack.acks.empty());
  EXPECT_NE(ack.error.find("audit_log"), std::string::npos);
  EXPECT_EQ(up.on_ack(ack), 0u);
  EXPECT_EQ(r0.durable.load(), 0u);

  // A writer whose file descriptor goes bad fails at fdatasync: nothing acknowledged, then or later.
  tmp_dir d;
  auth::pkey_ptr key = new_key();
  control_plane cp;
  cp.open(d.path + "/audit.log", key.get());
  std::string path = "/proc/self/fd/";
  // Find the log's descriptor and close it under the writer.
  for (int fd = 3; fd < 256; ++fd) {
    char target[512] = {};
    const ssize_t n = ::readlink((path + std::to_string(fd)).c_str(), target, sizeof target - 1);
    if (n > 0 && std::string(target) == d.path + "/audit.log") ::close(fd);
  }
  ack = cp.sink->accept(decode_lines(lines), 1000);
  EXPECT_TRUE(ack.acks.empty());
  EXPECT_FALSE(ack.error.empty());
  EXPECT_TRUE(cp.sink->failed());
  EXPECT_TRUE(cp.sink->accept(decode_lines(lines), 1000).acks.empty()) << "poisoned for good";
}

TEST(audit_uplink, own_records_foreign_acks_and_the_bounded_owner_queue) {
  tmp_dir d;
  auth::pkey_ptr key = new_key();
  control_plane cp;
  cp.open(d.path + "/audit.log", key.get());
  gate::event_ring r0(8);
  event_uplink up({&r0}, nullptr, boot, "", 2);
  EXPECT_TRUE(up.append_record({{"type", "recording"}, {"session", "s1"}}));
  EXPECT_TRUE(up.append_record({{"type", "recording"}, {"session", "s2"}}));
  EXPECT_FALSE(up.append_record({{"type", "recording"}, {"session", "s3"}}));
  EXPECT_EQ(up.counters().owner_dropped, 1u);
  decision(r0, 1, 0);
  std::string lines;
  EXPECT_EQ(up.pump(lines), 3u);
  ipc::audit_ack ack = cp.sink->accept(decode_lines(lines), 1000);
  ipc::audit_ack foreign = ack;
  for (auto& a : foreign.acks) a.boot = "ffffffffffffffff";
  foreign.acks.push_back({boot, 7, 1});  // no such worker
  EXPECT_EQ(up.on_ack(foreign), 0u);
  EXPECT_EQ(up.counters().foreign_acks, foreign.acks.size());
  EXPECT_EQ(up.on_ack(ack), 3u);
  EXPECT_EQ(up.backlog(), 0u);
  EXPECT_TRUE(up.append_record({{"type", "recording"}, {"session", "s4"}})) << "room again once acknowledged";
  ASSERT_FALSE(cp.writer->close(2000));
  EXPECT_EQ(logged(d.path + "/audit.log"),
            (std::vector<std::pair<uint32_t, uint64_t>>{{0, 1}, {ipc::owner_stream, 1}, {ipc::owner_stream, 2}}));
}

}  // namespace
}  // namespace phigate::audit
