// The real measurement (cli/capacity/capacity_measure.hh), briefly: both shipped profiles on one
// lcore with few flows through session_on_packet; throughput is measured, nothing is dropped or
// reset, and the forwarded responses carry no planted value. A pattern set that cannot see the
// planted SSNs must make the verification fail (the check can fail).
#include "cli/capacity/capacity_measure.hh"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "cli/capacity/capacity_traffic.hh"

namespace phigate::capacity {
namespace {

const std::string kRoot = PHIGATE_SOURCE_ROOT;

std::unique_ptr<engine_setup> load_engine(const std::string& path) {
  auto e = engine_setup_load(path);
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<engine_setup>>(e)) << std::get<std::string>(e);
  return std::holds_alternative<std::unique_ptr<engine_setup>>(e)
             ? std::move(std::get<std::unique_ptr<engine_setup>>(e))
             : nullptr;
}

traffic_profile shipped(const char* name) {
  auto r = profile_load(kRoot + "/configs/capacity/" + name + ".json");
  EXPECT_TRUE(std::holds_alternative<traffic_profile>(r));
  return std::holds_alternative<traffic_profile>(r) ? std::get<traffic_profile>(r) : traffic_profile{};
}

TEST(CapacityMeasure, HistogramQuantiles) {
  tick_histogram h;
  EXPECT_EQ(h.quantile(0.5), 0u);
  for (uint64_t t = 1; t <= 1000; ++t) h.add(t);
  EXPECT_EQ(h.total(), 1000u);
  EXPECT_EQ(h.max(), 1000u);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 500, 500 * 0.04);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 990, 990 * 0.04);
  EXPECT_EQ(h.quantile(1.0), 1000u);
  tick_histogram g;
  g.add(100000);
  h.merge(g);
  EXPECT_EQ(h.total(), 1001u);
  EXPECT_EQ(h.max(), 100000u);
  EXPECT_EQ(h.quantile(1.0), 100000u);
}

TEST(CapacityMeasure, ShippedProfilesMeasureBriefly) {
  auto eng = load_engine(kRoot + "/patterns/us-phi-core.json");
  ASSERT_NE(eng, nullptr);
  for (const char* name : {"chat-streaming", "batch-json"}) {
    SCOPED_TRACE(name);
    traffic_profile p = shipped(name);
    p.concurrent_flows = 8;  // brief: the warm-up replays up to one cycle per flow
    auto built = replay_set_build(p);
    ASSERT_TRUE(std::holds_alternative<replay_set>(built)) << std::get<std::string>(built);
    const replay_set& rs = std::get<replay_set>(built);
    measure_options opt;
    opt.lcores = {1};
    opt.seconds = 0.2;
    auto run = measure_run(eng->cfg, p, rs, opt);
    ASSERT_TRUE(std::holds_alternative<measurement>(run)) << std::get<std::string>(run);
    const measurement& m = std::get<measurement>(run);
    ASSERT_EQ(m.points.size(), 1u);
    const point_result& pt = m.points[0];
    EXPECT_EQ(pt.lcores, 1u);
    EXPECT_GT(pt.gbps, 0);
    EXPECT_GT(pt.mpps, 0);
    EXPECT_GT(pt.gbps_thread_cpu, 0);
    EXPECT_GT(pt.packets, 0u);
    EXPECT_EQ(pt.drops, 0u);
    EXPECT_EQ(pt.resets, 0u);
    EXPECT_GT(pt.mask_bytes, 0u) << "the timed replay masks what it forwards";
    EXPECT_GT(pt.findings, 0u);
    EXPECT_GT(pt.latency.samples, 0u);
    EXPECT_GT(pt.latency.p99_ns, 0);
    EXPECT_LE(pt.latency.p50_ns, pt.latency.p99_ns);
    EXPECT_FALSE(pt.latency.cdf.empty());
    // Every script verified, planted values checked and masked.
    EXPECT_EQ(m.verify.scripts, rs.fc.scripts.size());
    EXPECT_EQ(m.verify.planted, rs.planted_per_pass);
    EXPECT_GT(m.verify.planted, 0u);
    EXPECT_GT(m.verify.mask_bytes, 0u);
    EXPECT_GT(m.memory.bytes_per_flow, 0);
    EXPECT_EQ(m.memory.flows, 8u);
  }
}

TEST(CapacityMeasure, TwoLcoresShareTheFlows) {
  auto eng = load_engine(kRoot + "/patterns/us-phi-core.json");
  ASSERT_NE(eng, nullptr);
  traffic_profile p = shipped("batch-json");
  p.concurrent_flows = 4;
  auto built = replay_set_build(p);
  ASSERT_TRUE(std::holds_alternative<replay_set>(built));
  measure_options opt;
  opt.lcores = {2};
  opt.seconds = 0.1;
  auto run = measure_run(eng->cfg, p, std::get<replay_set>(built), opt);
  ASSERT_TRUE(std::holds_alternative<measurement>(run)) << std::get<std::string>(run);
  const point_result& pt = std::get<measurement>(run).points[0];
  EXPECT_EQ(pt.lcores, 2u);
  EXPECT_GT(pt.gbps, 0);
  EXPECT_NEAR(pt.gbps_per_lcore * 2, pt.gbps, 1e-9);
}

TEST(CapacityMeasure, MoreLcoresThanFlowsIsAnError) {
  auto eng = load_engine(kRoot + "/patterns/us-phi-core.json");
  ASSERT_NE(eng, nullptr);
  traffic_profile p = shipped("batch-json");
  p.concurrent_flows = 1;
  auto built = replay_set_build(p);
  measure_options opt;
  opt.lcores = {2};
  opt.seconds = 0.05;
  auto run = measure_run(eng->cfg, p, std::get<replay_set>(built), opt);
  ASSERT_TRUE(std::holds_alternative<std::string>(run));
  EXPECT_NE(std::get<std::string>(run).find("concurrent_flows"), std::string::npos);
}

// Regression guard for the masking check itself: with only the e-mail pattern, the planted SSNs
// and phones reach the client, and the verification must say so (without printing the values).
TEST(CapacityMeasure, VerificationFailsWhenValuesSurvive) {
  std::ifstream in(kRoot + "/patterns/us-phi-core.json");
  std::string core((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Keep the catalog's header and only its "email" entry.
  const size_t list = core.find("\"patterns\"");
  const size_t email = core.find("\"id\": \"email\"");
  ASSERT_NE(list, std::string::npos);
  ASSERT_NE(email, std::string::npos);
  const size_t open = core.rfind('{', email);
  int depth = 0;
  size_t close = open;
  for (; close < core.size(); ++close) {
    if (core[close] == '{') ++depth;
    if (core[close] == '}' && --depth == 0) break;
  }
  const std::string head = core.substr(0, list);
  const std::string only_email = head + "\"patterns\": [" + core.substr(open, close - open + 1) + "]}";
  char path[] = "/tmp/capacity_email_only.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, only_email.data(), only_email.size()), static_cast<ssize_t>(only_email.size()));
  ::close(fd);
  auto eng = load_engine(path);
  std::remove(path);
  ASSERT_NE(eng, nullptr);
  traffic_profile p = shipped("batch-json");
  p.phi_per_kib = 20;  // plenty of SSNs and phones
  auto built = replay_set_build(p);
  ASSERT_TRUE(std::holds_alternative<replay_set>(built));
  const replay_set& rs = std::get<replay_set>(built);
  verify_result v;
  const std::string why = verify_replay(eng->cfg, rs, v);
  EXPECT_NE(why.find("survived"), std::string::npos) << why;
  std::printf("verification message: %s\n", why.c_str());
  for (const generated_response& r : rs.responses)
    for (const std::string& value : r.planted)
      EXPECT_EQ(why.find(value), std::string::npos) << "a value leaked into the error";
}

}  // namespace
}  // namespace phigate::capacity
