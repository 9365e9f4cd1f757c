#include "cli/capacity/capacity_sizing.hh"

#include <algorithm>
#include <cmath>

namespace phigate::capacity {

uint32_t ceil_count(double x) {
  if (!(x > 0)) return 1;
  const double c = std::ceil(x - 1e-9 * std::max(1.0, x));
  return c < 1 ? 1 : static_cast<uint32_t>(std::min(c, 4e9));
}

uint32_t workers_per_appliance(uint32_t cores) {
  if (cores < 2) return 0;
  if (cores < 4) return 1;
  return cores - 2;
}

std::variant<sizing_result, std::string> size_deployment(const sizing_input& in) {
  if (!(in.target_gbps > 0) || !std::isfinite(in.target_gbps)) return std::string("target_gbps must be > 0");
  if (!(in.headroom >= 0) || in.headroom > 10) return std::string("headroom must be within 0 .. 10");
  if (!(in.per_lcore_gbps > 0)) return std::string("per-lcore throughput is 0: nothing to size from");
  if (!(in.per_lcore_rps > 0) && in.request_rate_per_s > 0)
    return std::string("per-lcore request rate is 0: nothing to size from");
  if (in.request_rate_per_s < 0) return std::string("request_rate_per_s must be >= 0");
  sizing_result r;
  r.workers_per_appliance = workers_per_appliance(in.cores_per_appliance);
  if (r.workers_per_appliance == 0)
    return std::string("cores_per_appliance must be at least 2 (a main lcore and a worker)");
  r.required_gbps = in.target_gbps * (1 + in.headroom);
  r.required_rps = in.request_rate_per_s * (1 + in.headroom);
  r.workers_for_throughput = ceil_count(r.required_gbps / in.per_lcore_gbps);
  r.workers_for_requests = in.request_rate_per_s > 0 ? ceil_count(r.required_rps / in.per_lcore_rps) : 1;
  r.workers = std::max(r.workers_for_throughput, r.workers_for_requests);
  r.limited_by_requests = r.workers_for_requests > r.workers_for_throughput;
  r.io_lcores = r.workers > 1 ? 1 : 0;
  r.lcores = r.workers + r.io_lcores;
  r.appliances = (r.workers + r.workers_per_appliance - 1) / r.workers_per_appliance;
  // Per appliance: its workers, an io lcore when it runs more than one, and the main lcore.
  uint32_t left = r.workers;
  for (uint32_t a = 0; a < r.appliances; ++a) {
    const uint32_t w = std::min(left, r.workers_per_appliance);
    left -= w;
    r.cores_total += w + (w > 1 ? 1 : 0) + 1;
  }
  return r;
}

size_t sizing_point(const std::vector<point_result>& points) {
  size_t best = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    const double a = points[i].gbps_thread_cpu * points[i].lcores,
                 b = points[best].gbps_thread_cpu * points[best].lcores;
    const bool better = a > b || (a == b && points[i].lcores < points[best].lcores);
    if (better) best = i;
  }
  return best;
}

}  // namespace phigate::capacity
