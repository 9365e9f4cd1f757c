// Profile parsing (cli/capacity/capacity_profile.hh): the shipped profiles load; every rejected
// input names the offending field.
#include "cli/capacity/capacity_profile.hh"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace phigate::capacity {
namespace {

using json = nlohmann::json;

json valid() {
  return json::parse(R"({
    "name": "t", "description": "d",
    "response_sizes": [{"bytes": 4096, "weight": 3}, {"bytes": 65536, "weight": 1}],
    "sse_share": 0.5, "phi_per_kib": 1.5, "concurrent_flows": 64,
    "request_rate_per_s": 1000, "request_bytes": 1024, "exchanges_per_connection": 4})");
}

profile_error error_of(const json& j) {
  profile_result r = profile_parse(j.dump());
  EXPECT_TRUE(std::holds_alternative<profile_error>(r)) << j.dump();
  return std::holds_alternative<profile_error>(r) ? std::get<profile_error>(r) : profile_error{"<accepted>", ""};
}

TEST(CapacityProfile, ParsesEveryField) {
  profile_result r = profile_parse(valid().dump());
  ASSERT_TRUE(std::holds_alternative<traffic_profile>(r)) << std::get<profile_error>(r).message();
  const traffic_profile& p = std::get<traffic_profile>(r);
  EXPECT_EQ(p.name, "t");
  EXPECT_EQ(p.description, "d");
  ASSERT_EQ(p.response_sizes.size(), 2u);
  EXPECT_EQ(p.response_sizes[1].bytes, 65536u);
  EXPECT_DOUBLE_EQ(p.response_sizes[0].weight, 3);
  EXPECT_DOUBLE_EQ(p.sse_share, 0.5);
  EXPECT_DOUBLE_EQ(p.phi_per_kib, 1.5);
  EXPECT_EQ(p.concurrent_flows, 64u);
  EXPECT_DOUBLE_EQ(p.request_rate_per_s, 1000);
  EXPECT_EQ(p.request_bytes, 1024u);
  EXPECT_EQ(p.exchanges_per_connection, 4u);
  EXPECT_DOUBLE_EQ(p.mean_response_bytes(), (3 * 4096.0 + 65536.0) / 4);
}

TEST(CapacityProfile, ExchangesDefaultToOne) {
  json j = valid();
  j.erase("exchanges_per_connection");
  profile_result r = profile_parse(j.dump());
  ASSERT_TRUE(std::holds_alternative<traffic_profile>(r));
  EXPECT_EQ(std::get<traffic_profile>(r).exchanges_per_connection, 1u);
}

TEST(CapacityProfile, ShippedProfilesLoad) {
  for (const char* name : {"chat-streaming", "batch-json"}) {
    const std::string path = std::string(PHIGATE_SOURCE_ROOT) + "/configs/capacity/" + name + ".json";
    profile_result r = profile_load(path);
    ASSERT_TRUE(std::holds_alternative<traffic_profile>(r)) << path << ": " << std::get<profile_error>(r).message();
    EXPECT_EQ(std::get<traffic_profile>(r).name, name);
  }
}

struct bad_case {
  const char* what;
  void (*mutate)(json&);
  const char* field;
};

TEST(CapacityProfile, EveryErrorNamesTheField) {
  const bad_case cases[] = {
      {"unknown top-level key", [](json& j) { j["sse_shares"] = 1; }, "sse_shares"},
      {"missing name", [](json& j) { j.erase("name"); }, "name"},
      {"empty name", [](json& j) { j["name"] = ""; }, "name"},
      {"name with a slash", [](json& j) { j["name"] = "a/b"; }, "name"},
      {"description not a string", [](json& j) { j["description"] = 3; }, "description"},
      {"missing sizes", [](json& j) { j.erase("response_sizes"); }, "response_sizes"},
      {"sizes empty", [](json& j) { j["response_sizes"] = json::array(); }, "response_sizes"},
      {"sizes not an array", [](json& j) { j["response_sizes"] = 5; }, "response_sizes"},
      {"size entry not an object", [](json& j) { j["response_sizes"][1] = 5; }, "response_sizes[1]"},
      {"size unknown key", [](json& j) { j["response_sizes"][0]["count"] = 1; }, "response_sizes[0].count"},
      {"size bytes missing", [](json& j) { j["response_sizes"][1].erase("bytes"); }, "response_sizes[1].bytes"},
      {"size bytes too small", [](json& j) { j["response_sizes"][0]["bytes"] = 10; }, "response_sizes[0].bytes"},
      {"size bytes too big", [](json& j) { j["response_sizes"][0]["bytes"] = 1ull << 40; }, "response_sizes[0].bytes"},
      {"size bytes fractional", [](json& j) { j["response_sizes"][0]["bytes"] = 4096.5; }, "response_sizes[0].bytes"},
      {"size bytes negative", [](json& j) { j["response_sizes"][0]["bytes"] = -4096; }, "response_sizes[0].bytes"},
      {"weight missing", [](json& j) { j["response_sizes"][0].erase("weight"); }, "response_sizes[0].weight"},
      {"weight zero", [](json& j) { j["response_sizes"][1]["weight"] = 0; }, "response_sizes[1].weight"},
      {"weight negative", [](json& j) { j["response_sizes"][1]["weight"] = -1; }, "response_sizes[1].weight"},
      {"weight a string", [](json& j) { j["response_sizes"][1]["weight"] = "1"; }, "response_sizes[1].weight"},
      {"sse_share above 1", [](json& j) { j["sse_share"] = 1.5; }, "sse_share"},
      {"sse_share negative", [](json& j) { j["sse_share"] = -0.1; }, "sse_share"},
      {"sse_share a string", [](json& j) { j["sse_share"] = "half"; }, "sse_share"},
      {"sse_share missing", [](json& j) { j.erase("sse_share"); }, "sse_share"},
      {"phi density too high", [](json& j) { j["phi_per_kib"] = 1000; }, "phi_per_kib"},
      {"phi density missing", [](json& j) { j.erase("phi_per_kib"); }, "phi_per_kib"},
      {"flows zero", [](json& j) { j["concurrent_flows"] = 0; }, "concurrent_flows"},
      {"flows too many", [](json& j) { j["concurrent_flows"] = 1000000; }, "concurrent_flows"},
      {"flows fractional", [](json& j) { j["concurrent_flows"] = 1.5; }, "concurrent_flows"},
      {"rate zero", [](json& j) { j["request_rate_per_s"] = 0; }, "request_rate_per_s"},
      {"rate missing", [](json& j) { j.erase("request_rate_per_s"); }, "request_rate_per_s"},
      {"request bytes too small", [](json& j) { j["request_bytes"] = 10; }, "request_bytes"},
      {"request bytes missing", [](json& j) { j.erase("request_bytes"); }, "request_bytes"},
      {"exchanges zero", [](json& j) { j["exchanges_per_connection"] = 0; }, "exchanges_per_connection"},
      {"exchanges too many", [](json& j) { j["exchanges_per_connection"] = 100000; }, "exchanges_per_connection"},
  };
  for (const bad_case& c : cases) {
    json j = valid();
    c.mutate(j);
    const profile_error e = error_of(j);
    EXPECT_EQ(e.field, c.field) << c.what << ": " << e.message();
    EXPECT_FALSE(e.reason.empty()) << c.what;
    EXPECT_EQ(e.message().rfind(c.field, 0), 0u) << c.what << ": the message starts with the field";
  }
}

TEST(CapacityProfile, DocumentErrorsHaveNoField) {
  for (const char* text : {"", "{", "[]", "3", "{\"name\": }"}) {
    profile_result r = profile_parse(text);
    ASSERT_TRUE(std::holds_alternative<profile_error>(r)) << text;
    EXPECT_TRUE(std::get<profile_error>(r).field.empty()) << text;
  }
}

TEST(CapacityProfile, MissingFileNamesThePath) {
  profile_result r = profile_load("/nonexistent/profile.json");
  ASSERT_TRUE(std::holds_alternative<profile_error>(r));
  EXPECT_NE(std::get<profile_error>(r).message().find("/nonexistent/profile.json"), std::string::npos);
}

}  // namespace
}  // namespace phigate::capacity
