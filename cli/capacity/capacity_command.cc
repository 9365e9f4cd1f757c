// phigate capacity: the profile's traffic through the dataplane's per-packet path in memory on
// this machine's cores, and the cores and appliances a target needs (cli/capacity/*.hh).
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/capacity/capacity_measure.hh"
#include "cli/capacity/capacity_profile.hh"
#include "cli/capacity/capacity_report.hh"
#include "cli/capacity/capacity_sizing.hh"
#include "cli/capacity/capacity_traffic.hh"
#include "cli/commands.hh"

namespace phigate::cli {
namespace {

constexpr const char* kUsage =
    "usage: phigate capacity --profile FILE --target-gbps N [--patterns FILE] [--out DIR]\n"
    "                        [--lcores 1,2,...] [--seconds S] [--headroom H] [--cores-per-appliance N]\n"
    "Replays the profile's traffic (docs/capacity.md) through the dataplane's per-packet path in memory\n"
    "on this machine's cores, for each lcore count, and writes to DIR (default ./capacity-report):\n"
    "report.md, throughput.svg, latency-cdf.svg, results.json, with the worker lcores and appliances\n"
    "the target needs.\n"
    "  --profile FILE            traffic profile (configs/capacity/*.json)\n"
    "  --target-gbps N           server-to-client throughput to carry (Gbps, > 0)\n"
    "  --patterns FILE           pattern set (default: $PHIGATE_PATTERNS or the shipped core set)\n"
    "  --lcores LIST             worker counts to measure (default: 1..online CPUs)\n"
    "  --seconds S               timed seconds per lcore count (default 5)\n"
    "  --headroom H              spare capacity fraction (default 0.3)\n"
    "  --cores-per-appliance N   cores of one appliance (default: this machine's online CPUs)\n"
    "Progress goes to stderr. Exit status: 0 written, 1 bad usage or input, 2 the measurement failed\n"
    "(a frame dropped or reset, a planted value not masked).\n";

constexpr uint32_t kMaxLcores = 64;

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end && *end == '\0' && std::isfinite(out);
}

bool parse_u32(const std::string& s, uint32_t& out) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || !end || *end != '\0' || v > 0xFFFFFFFFull) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

int fail(const std::string& why) {
  std::fprintf(stderr, "phigate capacity: %s\n", why.c_str());
  return 1;
}

}  // namespace

int capacity_command(const std::vector<std::string>& args) {
  std::string profile_path, patterns = default_patterns_path(), out_dir = "capacity-report";
  double target = -1, seconds = 5, headroom = 0.3;
  std::vector<uint32_t> lcores;
  uint32_t cores_per_appliance = capacity::online_cpus();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= args.size()) {
      if (a.rfind("--", 0) == 0) return fail(a + " needs a value (see --help)");
      return fail("unexpected argument '" + a + "' (see --help)");
    }
    const std::string& v = args[++i];
    if (a == "--profile") {
      profile_path = v;
    } else if (a == "--patterns") {
      patterns = v;
    } else if (a == "--out") {
      if (v.empty()) return fail("--out must not be empty");
      out_dir = v;
    } else if (a == "--target-gbps") {
      if (!parse_double(v, target) || !(target > 0)) return fail("--target-gbps must be a number greater than 0");
    } else if (a == "--seconds") {
      if (!parse_double(v, seconds) || !(seconds > 0) || seconds > 3600)
        return fail("--seconds must be a number greater than 0 and at most 3600");
    } else if (a == "--headroom") {
      if (!parse_double(v, headroom) || headroom < 0 || headroom > 10)
        return fail("--headroom must be a number within 0 .. 10");
    } else if (a == "--cores-per-appliance") {
      if (!parse_u32(v, cores_per_appliance) || cores_per_appliance < 2 || cores_per_appliance > 4096)
        return fail("--cores-per-appliance must be an integer within 2 .. 4096 (a main lcore and a worker)");
    } else if (a == "--lcores") {
      lcores.clear();
      size_t pos = 0;
      while (pos <= v.size()) {
        const size_t comma = v.find(',', pos);
        const std::string item = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        uint32_t n = 0;
        if (!parse_u32(item, n) || n < 1 || n > kMaxLcores)
          return fail("--lcores must be a comma-separated list of integers within 1 .. " + std::to_string(kMaxLcores));
        for (const uint32_t x : lcores)
          if (x == n) return fail("--lcores lists " + std::to_string(n) + " twice");
        lcores.push_back(n);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else {
      return fail("unknown option '" + a + "' (see --help)");
    }
  }
  if (profile_path.empty()) return fail("--profile is required (see --help)");
  if (target <= 0) return fail("--target-gbps is required (see --help)");
  if (lcores.empty())
    for (uint32_t n = 1; n <= std::min(capacity::online_cpus(), kMaxLcores); ++n) lcores.push_back(n);

  auto prof = capacity::profile_load(profile_path);
  if (auto* e = std::get_if<capacity::profile_error>(&prof))
    return fail("profile " + profile_path + ": " + e->message());
  const capacity::traffic_profile& p = std::get<capacity::traffic_profile>(prof);
  for (const uint32_t n : lcores)
    if (n > p.concurrent_flows)
      return fail("--lcores " + std::to_string(n) + " exceeds the profile's concurrent_flows (" +
                  std::to_string(p.concurrent_flows) + "): every lcore needs a flow");
  auto eng = capacity::engine_setup_load(patterns);
  if (auto* e = std::get_if<std::string>(&eng)) return fail("pattern set " + *e);
  const capacity::engine_setup& es = *std::get<std::unique_ptr<capacity::engine_setup>>(eng);

  std::fprintf(stderr, "phigate capacity: building the %s traffic\n", p.name.c_str());
  auto built = capacity::replay_set_build(p);
  if (auto* e = std::get_if<std::string>(&built)) return fail("profile " + profile_path + ": " + *e);
  const capacity::replay_set& rs = std::get<capacity::replay_set>(built);

  capacity::measure_options opt;
  opt.lcores = lcores;
  opt.seconds = seconds;
  opt.progress = stderr;
  auto run = capacity::measure_run(es.cfg, p, rs, opt);
  if (auto* e = std::get_if<std::string>(&run)) {
    std::fprintf(stderr, "phigate capacity: measurement failed: %s\n", e->c_str());
    return 2;
  }
  capacity::report_data d;
  d.profile = p;
  d.profile_path = profile_path;
  d.replay = capacity::replay_summary_of(rs);
  d.m = std::move(std::get<capacity::measurement>(run));
  d.seconds = seconds;
  d.env = capacity::environment_describe(es.description);
  d.sizing_point = capacity::sizing_point(d.m.points);
  const capacity::point_result& sp = d.m.points[d.sizing_point];
  d.sizing_in.target_gbps = target;
  d.sizing_in.request_rate_per_s = p.request_rate_per_s;
  d.sizing_in.headroom = headroom;
  d.sizing_in.cores_per_appliance = cores_per_appliance;
  d.sizing_in.per_lcore_gbps = sp.gbps_thread_cpu;
  d.sizing_in.per_lcore_rps = sp.requests_thread_cpu;
  capacity::sizing_input wall_in = d.sizing_in;
  wall_in.per_lcore_gbps = sp.gbps_per_lcore;
  wall_in.per_lcore_rps = sp.requests_per_s / sp.lcores;
  auto sz = capacity::size_deployment(d.sizing_in);
  auto sz_wall = capacity::size_deployment(wall_in);
  if (auto* e = std::get_if<std::string>(&sz)) {
    std::fprintf(stderr, "phigate capacity: sizing failed: %s\n", e->c_str());
    return 2;
  }
  if (auto* e = std::get_if<std::string>(&sz_wall)) {
    std::fprintf(stderr, "phigate capacity: sizing failed: %s\n", e->c_str());
    return 2;
  }
  d.sizing = std::get<capacity::sizing_result>(sz);
  d.sizing_wall = std::get<capacity::sizing_result>(sz_wall);
  if (const std::string why = capacity::write_report(out_dir, d); !why.empty()) return fail(why);
  std::printf(
      "%s: %.3f Gbps per worker lcore (measured at %u lcore%s); %g Gbps with %.0f%% headroom needs %u worker "
      "lcores (%u with io), %u appliance%s of %u cores\nreport: %s/report.md\n",
      p.name.c_str(), d.sizing_in.per_lcore_gbps, sp.lcores, sp.lcores == 1 ? "" : "s", target, headroom * 100,
      d.sizing.workers, d.sizing.lcores, d.sizing.appliances, d.sizing.appliances == 1 ? "" : "s", cores_per_appliance,
      out_dir.c_str());
  return 0;
}

}  // namespace phigate::cli
