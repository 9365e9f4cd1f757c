#pragma once
// Sizing for `phigate capacity`: how many worker lcores and appliances carry a target throughput
// and request rate with headroom, from per-lcore figures measured on this machine.
//
// Model (phigate-dp's lcore layout, dataplane/io/dp_main.cc): every appliance has a main lcore
// (stats and control sockets); one worker polls the ports itself, more than one worker needs an
// io lcore that polls and dispatches. So an appliance with C cores runs C - 2 workers when
// C >= 4 (main + io + workers) and 1 worker when C is 2 or 3 (two workers would need 4 cores).
// Pure functions; no I/O.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "cli/capacity/capacity_measure.hh"

namespace phigate::capacity {

struct sizing_input {
  double target_gbps = 0;         // server->client payload the deployment must carry
  double request_rate_per_s = 0;  // the profile's request rate at that target
  double headroom = 0.3;          // spare fraction: capacity = demand x (1 + headroom)
  uint32_t cores_per_appliance = 0;
  double per_lcore_gbps = 0;  // measured at the sizing point
  double per_lcore_rps = 0;   // requests per second per worker at the sizing point
};

struct sizing_result {
  double required_gbps = 0;  // target x (1 + headroom)
  double required_rps = 0;
  uint32_t workers_for_throughput = 0;
  uint32_t workers_for_requests = 0;
  uint32_t workers = 0;              // the larger of the two
  bool limited_by_requests = false;  // the request rate, not the throughput, decides
  uint32_t io_lcores = 0;            // 1 when more than one worker (single-appliance view)
  uint32_t lcores = 0;               // workers + io_lcores
  uint32_t workers_per_appliance = 0;
  uint32_t appliances = 0;
  uint32_t cores_total = 0;  // over all appliances: workers + io + main lcores
};

// ceil(x) that does not round 3.0000000001 (floating-point noise) up to 4; at least 1.
uint32_t ceil_count(double x);

// Workers one appliance of `cores` runs (see the model above); 0 when cores < 2.
uint32_t workers_per_appliance(uint32_t cores);

// Errors name the input: "target_gbps must be > 0", "per-lcore throughput is 0", ...
std::variant<sizing_result, std::string> size_deployment(const sizing_input& in);

// The point the sizing uses: the lcore count with the highest aggregate capacity, counted as
// lcores x per-thread CPU-time Gbps (ties: fewer lcores). Its per-lcore figure includes the
// contention between that many workers (shared caches, memory bandwidth) but not the time other
// processes took from them, which a dedicated lcore does not lose.
size_t sizing_point(const std::vector<point_result>& points);

}  // namespace phigate::capacity
