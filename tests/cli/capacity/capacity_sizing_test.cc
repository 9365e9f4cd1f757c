// Sizing math (cli/capacity/capacity_sizing.hh): workers from throughput and request rate with
// headroom, the io lcore, appliances per core count, rounding, and input errors.
#include "cli/capacity/capacity_sizing.hh"

#include <gtest/gtest.h>

namespace phigate::capacity {
namespace {

sizing_input input(double target, double per_lcore, double rate, double per_lcore_rps, uint32_t cores,
                   double headroom) {
  sizing_input in;
  in.target_gbps = target;
  in.per_lcore_gbps = per_lcore;
  in.request_rate_per_s = rate;
  in.per_lcore_rps = per_lcore_rps;
  in.cores_per_appliance = cores;
  in.headroom = headroom;
  return in;
}

sizing_result size(const sizing_input& in) {
  auto r = size_deployment(in);
  EXPECT_TRUE(std::holds_alternative<sizing_result>(r)) << std::get<std::string>(r);
  return std::holds_alternative<sizing_result>(r) ? std::get<sizing_result>(r) : sizing_result{};
}

TEST(CapacitySizing, CeilCount) {
  EXPECT_EQ(ceil_count(0), 1u);
  EXPECT_EQ(ceil_count(-3), 1u);
  EXPECT_EQ(ceil_count(0.2), 1u);
  EXPECT_EQ(ceil_count(1.0), 1u);
  EXPECT_EQ(ceil_count(1.0001), 2u);
  EXPECT_EQ(ceil_count(3.0000000000001), 3u);  // floating-point noise does not add a core
  EXPECT_EQ(ceil_count(13.0 / 1.3), 10u);      // 9.999999999999998 or 10.000000000000002
  EXPECT_EQ(ceil_count(41.5), 42u);
}

TEST(CapacitySizing, WorkersPerAppliance) {
  EXPECT_EQ(workers_per_appliance(0), 0u);
  EXPECT_EQ(workers_per_appliance(1), 0u);
  EXPECT_EQ(workers_per_appliance(2), 1u);  // main + one worker polling the ports
  EXPECT_EQ(workers_per_appliance(3), 1u);  // two workers would need an io lcore too
  EXPECT_EQ(workers_per_appliance(4), 2u);
  EXPECT_EQ(workers_per_appliance(32), 30u);
}

TEST(CapacitySizing, ThroughputBound) {
  // 10 Gbps x 1.3 = 13 Gbps at 2 Gbps per lcore: 6.5 -> 7 workers, + io = 8 lcores.
  const sizing_result r = size(input(10, 2, 1000, 1e6, 16, 0.3));
  EXPECT_DOUBLE_EQ(r.required_gbps, 13);
  EXPECT_EQ(r.workers_for_throughput, 7u);
  EXPECT_EQ(r.workers_for_requests, 1u);
  EXPECT_EQ(r.workers, 7u);
  EXPECT_FALSE(r.limited_by_requests);
  EXPECT_EQ(r.io_lcores, 1u);
  EXPECT_EQ(r.lcores, 8u);
  EXPECT_EQ(r.workers_per_appliance, 14u);
  EXPECT_EQ(r.appliances, 1u);
  EXPECT_EQ(r.cores_total, 9u);  // 7 workers + io + main
}

TEST(CapacitySizing, RequestRateBound) {
  // 1 Gbps needs 1 worker at 4 Gbps/lcore, but 50k req/s x 1.5 at 20k per lcore needs 4.
  const sizing_result r = size(input(1, 4, 50000, 20000, 8, 0.5));
  EXPECT_EQ(r.workers_for_throughput, 1u);
  EXPECT_EQ(r.workers_for_requests, 4u);
  EXPECT_EQ(r.workers, 4u);
  EXPECT_TRUE(r.limited_by_requests);
  EXPECT_DOUBLE_EQ(r.required_rps, 75000);
}

TEST(CapacitySizing, ExactFitDoesNotRoundUp) {
  const sizing_result r = size(input(8, 2, 1, 1000, 6, 0));
  EXPECT_EQ(r.workers, 4u);
  EXPECT_EQ(r.appliances, 1u);  // 6 cores: 4 workers + io + main
  EXPECT_EQ(r.cores_total, 6u);
}

TEST(CapacitySizing, SingleWorkerHasNoIoLcore) {
  const sizing_result r = size(input(0.1, 1, 10, 1000, 2, 0.3));
  EXPECT_EQ(r.workers, 1u);
  EXPECT_EQ(r.io_lcores, 0u);
  EXPECT_EQ(r.lcores, 1u);
  EXPECT_EQ(r.appliances, 1u);
  EXPECT_EQ(r.cores_total, 2u);
}

TEST(CapacitySizing, Appliances) {
  // 100 Gbps x 1.2 at 1.5 per lcore = 80 workers; 32-core appliances run 30 workers: 3 appliances
  // (30 + 30 + 20 workers, each with io and main).
  const sizing_result r = size(input(100, 1.5, 1, 1e6, 32, 0.2));
  EXPECT_EQ(r.workers, 80u);
  EXPECT_EQ(r.appliances, 3u);
  EXPECT_EQ(r.cores_total, 80u + 3 * 2);
  // Two-core appliances: one worker each.
  const sizing_result small = size(input(10, 2, 1, 1e6, 2, 0.3));
  EXPECT_EQ(small.workers, 7u);
  EXPECT_EQ(small.appliances, 7u);
  EXPECT_EQ(small.cores_total, 14u);
}

TEST(CapacitySizing, Errors) {
  auto err = [](const sizing_input& in) {
    auto r = size_deployment(in);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
  };
  EXPECT_NE(err(input(0, 1, 1, 1, 4, 0.3)).find("target_gbps"), std::string::npos);
  EXPECT_NE(err(input(1, 0, 1, 1, 4, 0.3)).find("throughput"), std::string::npos);
  EXPECT_NE(err(input(1, 1, 1, 0, 4, 0.3)).find("request rate"), std::string::npos);
  EXPECT_NE(err(input(1, 1, 1, 1, 1, 0.3)).find("cores_per_appliance"), std::string::npos);
  EXPECT_NE(err(input(1, 1, 1, 1, 4, -0.1)).find("headroom"), std::string::npos);
}

TEST(CapacitySizing, SizingPointIsTheLargestAggregateCapacity) {
  std::vector<point_result> pts(3);
  pts[0].lcores = 1, pts[0].gbps_thread_cpu = 2.0;  // 2.0 in all
  pts[1].lcores = 2, pts[1].gbps_thread_cpu = 1.5;  // 3.0 in all
  pts[2].lcores = 4, pts[2].gbps_thread_cpu = 0.7;  // 2.8 in all
  EXPECT_EQ(sizing_point(pts), 1u);
  pts[2].gbps_thread_cpu = 0.75;  // 3.0: a tie goes to fewer lcores
  EXPECT_EQ(sizing_point(pts), 1u);
  EXPECT_EQ(sizing_point(std::vector<point_result>(1)), 0u);
}

}  // namespace
}  // namespace phigate::capacity
