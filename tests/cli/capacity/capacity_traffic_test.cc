// Profile-driven traffic (cli/capacity/capacity_traffic.hh): sizes follow the distribution, the
// streamed share and PHI density are met, planted values are whole in the model text, and the
// same profile and seed give the same bytes.
#include "cli/capacity/capacity_traffic.hh"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace phigate::capacity {
namespace {

traffic_profile profile(double sse_share, double phi) {
  traffic_profile p;
  p.name = "t";
  p.response_sizes = {{2048, 1}, {16384, 1}};
  p.sse_share = sse_share;
  p.phi_per_kib = phi;
  p.concurrent_flows = 16;
  p.request_rate_per_s = 100;
  p.request_bytes = 1024;
  p.exchanges_per_connection = 2;
  return p;
}

TEST(CapacityTraffic, JsonResponseSizeAndPlantedValues) {
  std::mt19937_64 rng(1);
  for (const uint64_t size : {1024u, 8192u, 65536u}) {
    const generated_response r = make_response(rng, size, false, false, 4.0);
    EXPECT_FALSE(r.sse);
    EXPECT_NEAR(static_cast<double>(r.bytes.size()), static_cast<double>(size), size * 0.05 + 64) << size;
    EXPECT_EQ(r.bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(r.bytes.find("Content-Length: "), std::string::npos);
    const std::string text = model_text_of(r.bytes);
    EXPECT_EQ(text.size(), r.model_text_bytes);
    ASSERT_FALSE(r.planted.empty()) << size;
    for (const std::string& v : r.planted) EXPECT_NE(text.find(v), std::string::npos) << v;
    // Density: about 4 per KiB of model text (a sentence of filler between values is ~70 bytes).
    EXPECT_GT(static_cast<double>(r.planted.size()), 2.0 * text.size() / 1024) << size;
  }
}

TEST(CapacityTraffic, SseResponseSplitsValuesOverEvents) {
  std::mt19937_64 rng(2);
  for (const bool chunked : {false, true}) {
    const generated_response r = make_response(rng, 32768, true, chunked, 4.0);
    EXPECT_TRUE(r.sse);
    EXPECT_NEAR(static_cast<double>(r.bytes.size()), 32768.0, 32768 * 0.05 + 64);
    EXPECT_NE(r.bytes.find("text/event-stream"), std::string::npos);
    EXPECT_NE(r.bytes.find(chunked ? "Transfer-Encoding: chunked" : "Content-Length: "), std::string::npos);
    EXPECT_NE(r.bytes.find("data: [DONE]"), std::string::npos);
    const std::string text = model_text_of(r.bytes);
    ASSERT_FALSE(r.planted.empty());
    for (const std::string& v : r.planted) {
      EXPECT_NE(text.find(v), std::string::npos) << v;
      EXPECT_EQ(r.bytes.find(v), std::string::npos) << v << ": should be split over events on the wire";
    }
  }
}

TEST(CapacityTraffic, NoPhiWhenDensityIsZero) {
  std::mt19937_64 rng(3);
  EXPECT_TRUE(make_response(rng, 16384, false, false, 0).planted.empty());
  EXPECT_TRUE(make_response(rng, 16384, true, true, 0).planted.empty());
}

TEST(CapacityTraffic, RequestSizeAndStreamFlag) {
  std::mt19937_64 rng(4);
  const std::string r = make_request(rng, 3000, true);
  EXPECT_NEAR(static_cast<double>(r.size()), 3000.0, 16);
  EXPECT_EQ(r.rfind("POST /v1/chat/completions HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(r.find("\"stream\":true"), std::string::npos);
  const size_t body = r.find("\r\n\r\n") + 4;
  const size_t cl = r.find("Content-Length: ") + 16;
  EXPECT_EQ(std::stoul(r.substr(cl)), r.size() - body);
  EXPECT_NE(make_request(rng, 300, false).find("\"stream\":false"), std::string::npos);
}

TEST(CapacityTraffic, ReplaySetFollowsTheProfile) {
  for (const double share : {0.0, 0.25, 1.0}) {
    auto built = replay_set_build(profile(share, 1.0));
    ASSERT_TRUE(std::holds_alternative<replay_set>(built)) << std::get<std::string>(built);
    const replay_set& rs = std::get<replay_set>(built);
    ASSERT_FALSE(rs.fc.scripts.empty());
    EXPECT_EQ(rs.fc.scripts.size(), rs.script_responses.size());
    EXPECT_NEAR(rs.sse_share, share, 0.05) << share;
    // Half the responses of each size: the mean is about (2048 + 16384) / 2.
    EXPECT_NEAR(rs.mean_response_bytes, 9216.0, 9216.0 * 0.1);
    EXPECT_EQ(rs.requests_per_pass, rs.fc.scripts.size() * 2);
    uint64_t sent = 0;
    for (const generated_response& r : rs.responses) sent += r.bytes.size();
    EXPECT_EQ(rs.response_payload_per_pass, sent);
    EXPECT_GT(rs.planted_per_pass, 0u);
  }
}

TEST(CapacityTraffic, Deterministic) {
  auto a = replay_set_build(profile(0.5, 2.0), 7), b = replay_set_build(profile(0.5, 2.0), 7),
       c = replay_set_build(profile(0.5, 2.0), 8);
  const replay_set &ra = std::get<replay_set>(a), &rb = std::get<replay_set>(b), &rc = std::get<replay_set>(c);
  ASSERT_EQ(ra.responses.size(), rb.responses.size());
  for (size_t i = 0; i < ra.responses.size(); ++i) EXPECT_EQ(ra.responses[i].bytes, rb.responses[i].bytes);
  EXPECT_NE(ra.responses[0].bytes, rc.responses[0].bytes);
}

TEST(CapacityTraffic, ModelTextUnescapes) {
  const std::string r = "HTTP/1.1 200 OK\r\n\r\n{\"content\":\"a\\\"b\\nc\\\\\"}data: {\"content\":\"d\"}";
  EXPECT_EQ(model_text_of(r), "a\"b\nc\\d");
  EXPECT_EQ(model_text_of("no head"), "");
}

}  // namespace
}  // namespace phigate::capacity
