#pragma once
// The outputs of `phigate capacity`: report.md (Markdown), throughput.svg (aggregate Gbps against
// lcores with the ideal linear line), latency-cdf.svg (per-packet latency CDF per lcore count) and
// results.json (machine-readable). The SVGs are written by hand (no plotting dependency).
//
// Setup code: builds strings; write_report does the file I/O and returns errors as values.
#include <cstdint>
#include <string>
#include <vector>

#include "cli/capacity/capacity_measure.hh"
#include "cli/capacity/capacity_profile.hh"
#include "cli/capacity/capacity_sizing.hh"

namespace phigate::capacity {

struct environment_info {
  std::string cpu_model;  // /proc/cpuinfo "model name" ("unknown" if absent)
  uint32_t online_cpus = 0;
  std::string commit;    // git describe of the build's source tree, or "unknown"
  std::string patterns;  // pattern set name, version, count
  std::string date_utc;  // ISO 8601
  std::string loadavg;   // /proc/loadavg's first three fields at start
};
environment_info environment_describe(const std::string& patterns);

// What the replay carried (copied from replay_set).
struct replay_summary {
  uint32_t scripts = 0;
  uint64_t responses = 0;
  double sse_share = 0;
  double mean_response_bytes = 0;
  uint64_t planted_per_pass = 0;
  uint64_t frames_per_pass = 0;
  uint64_t response_payload_per_pass = 0;
  uint64_t requests_per_pass = 0;
};
replay_summary replay_summary_of(const replay_set& rs);

struct report_data {
  traffic_profile profile;
  std::string profile_path;
  replay_summary replay;
  measurement m;
  double seconds = 0;
  size_t sizing_point = 0;  // index into m.points
  sizing_input sizing_in;
  sizing_result sizing;       // from per-thread CPU-time figures (a dedicated lcore)
  sizing_result sizing_wall;  // the same from wall-clock per-lcore figures, for comparison
  environment_info env;
};

std::string report_markdown(const report_data& d);
std::string svg_throughput(const std::vector<point_result>& points);
std::string svg_latency_cdf(const std::vector<point_result>& points);
std::string results_json(const report_data& d);

// Creates `dir` if needed and writes the four files. Returns "" or what failed (path and errno text).
std::string write_report(const std::string& dir, const report_data& d);

}  // namespace phigate::capacity
