#include "cli/capacity/capacity_report.hh"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/capacity/capacity_version.hh"

namespace phigate::capacity {
namespace {

std::string fmt(const char* f, auto... args) {
  const int n = std::snprintf(nullptr, 0, f, args...);
  if (n <= 0) return {};
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), f, args...);
  out.pop_back();
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Markdown table cells: no pipes or newlines from free text (the profile's description).
std::string md_cell(std::string_view s) {
  std::string out;
  for (const char c : s) out += (c == '|' ? '/' : (c == '\n' || c == '\r') ? ' ' : c);
  return out;
}

// 1, 2 or 5 times a power of ten, at least max/target_ticks.
double nice_step(double max, int target_ticks) {
  if (!(max > 0)) return 1;
  const double raw = max / target_ticks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string num(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 100) return fmt("%.0f", v);
  if (std::fabs(v) >= 10) return fmt("%.1f", v);
  if (std::fabs(v) >= 1) return fmt("%.2f", v);
  return fmt("%.3g", v);
}

std::string bytes_h(double b) {
  if (b >= 1 << 30) return fmt("%.2f GiB", b / (1 << 30));
  if (b >= 1 << 20) return fmt("%.1f MiB", b / (1 << 20));
  if (b >= 1 << 10) return fmt("%.1f KiB", b / (1 << 10));
  return fmt("%.0f B", b);
}

constexpr int kW = 640, kH = 400, kL = 70, kR = 24, kT = 40, kB = 56;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string svg_open(const char* title) {
  return fmt("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
             "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
             kW, kH, kW, kH) +
         "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" +
         fmt("<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", kW / 2,
             xml_escape(title).c_str());
}

std::string axes(const char* xlabel, const char* ylabel) {
  std::string s =
      fmt("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", kL, kH - kB, kW - kR, kH - kB);
  s += fmt("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", kL, kT, kL, kH - kB);
  s += fmt("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (kL + kW - kR) / 2, kH - 14, xlabel);
  s += fmt("<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">%s</text>\n",
           (kT + kH - kB) / 2, (kT + kH - kB) / 2, ylabel);
  return s;
}

std::string iso_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

environment_info environment_describe(const std::string& patterns) {
  environment_info e;
  e.cpu_model = "unknown";
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, f)) {
      if (std::strncmp(line, "model name", 10) == 0) {
        const char* c = std::strchr(line, ':');
        if (c) {
          std::string m = c + 1;
          while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.erase(m.begin());
          while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
          if (!m.empty()) e.cpu_model = m;
        }
        break;
      }
    }
    std::fclose(f);
  }
  e.online_cpus = online_cpus();
  e.commit = PHIGATE_CAPACITY_COMMIT;
  if (e.commit.empty()) e.commit = "unknown";
  e.patterns = patterns;
  e.date_utc = iso_now();
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    double a = 0, b = 0, c = 0;
    if (std::fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) e.loadavg = fmt("%.2f %.2f %.2f", a, b, c);
    std::fclose(f);
  }
  if (e.loadavg.empty()) e.loadavg = "unknown";
  return e;
}

replay_summary replay_summary_of(const replay_set& rs) {
  replay_summary s;
  s.scripts = static_cast<uint32_t>(rs.fc.scripts.size());
  s.responses = rs.responses.size();
  s.sse_share = rs.sse_share;
  s.mean_response_bytes = rs.mean_response_bytes;
  s.planted_per_pass = rs.planted_per_pass;
  s.frames_per_pass = rs.frames_per_pass;
  s.response_payload_per_pass = rs.response_payload_per_pass;
  s.requests_per_pass = rs.requests_per_pass;
  return s;
}

// ---------------------------------------------------------------- SVG

std::string svg_throughput(const std::vector<point_result>& points) {
  std::string s = svg_open("Throughput against lcores (in memory)");
  s += axes("worker lcores", "Gbps (server to client payload)");
  uint32_t max_l = 1;
  double max_g = 0;
  for (const point_result& p : points) max_l = std::max(max_l, p.lcores), max_g = std::max(max_g, p.gbps);
  // The ideal line: the smallest lcore count's per-lcore figure, times lcores.
  const point_result* base = nullptr;
  for (const point_result& p : points)
    if (!base || p.lcores < base->lcores) base = &p;
  const double ideal_per = base ? base->gbps_per_lcore : 0;
  max_g = std::max(max_g, ideal_per * max_l);
  const double ystep = nice_step(max_g, 5);
  const double ymax = std::max(ystep, std::ceil(max_g / ystep) * ystep);
  const double xmax = max_l + 0.5;
  auto X = [&](double l) { return kL + (kW - kL - kR) * l / xmax; };
  auto Y = [&](double g) { return (kH - kB) - (kH - kB - kT) * g / ymax; };
  for (double g = 0; g <= ymax + ystep / 2; g += ystep) {
    s += fmt("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", kL, Y(g), kW - kR, Y(g));
    s += fmt("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", kL - 6, Y(g) + 4, num(g).c_str());
  }
  const uint32_t xstep = std::max<uint32_t>(1, static_cast<uint32_t>(nice_step(max_l, 8)));
  for (uint32_t l = 0; l <= max_l; l += xstep)
    s += fmt("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%u</text>\n", X(l), kH - kB + 16, l);
  if (base) {
    s += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"6 4\"/>\n", X(0),
             Y(0), X(max_l), Y(ideal_per * max_l));
  }
  std::vector<const point_result*> sorted;
  for (const point_result& p : points) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->lcores < b->lcores; });
  if (sorted.size() > 1) {
    s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"";
    for (const point_result* p : sorted) s += fmt("%.1f,%.1f ", X(p->lcores), Y(p->gbps));
    s += "\"/>\n";
  }
  for (const point_result* p : sorted) {
    s += fmt("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n", X(p->lcores), Y(p->gbps));
    s += fmt("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s Gbps</text>\n", X(p->lcores), Y(p->gbps) - 9,
             num(p->gbps).c_str());
  }
  s +=
      fmt("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
          "<text x=\"%d\" y=\"%d\">measured</text>\n",
          kL + 12, kT + 10, kL + 36, kT + 10, kL + 42, kT + 14);
  s +=
      fmt("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"6 4\"/>"
          "<text x=\"%d\" y=\"%d\">ideal linear (%s Gbps per lcore)</text>\n",
          kL + 12, kT + 28, kL + 36, kT + 28, kL + 42, kT + 32, num(ideal_per).c_str());
  s += "</svg>\n";
  return s;
}

std::string svg_latency_cdf(const std::vector<point_result>& points) {
  std::string s = svg_open("Per-packet latency CDF (session_on_packet)");
  s += axes("latency per call (ns, log scale)", "fraction of calls at or below");
  double lo = 1e18, hi = 0;
  for (const point_result& p : points)
    for (const auto& [ns, q] : p.latency.cdf)
      if (ns > 0) lo = std::min(lo, ns), hi = std::max(hi, ns);
  if (hi <= 0) lo = 10, hi = 1000;
  const double d0 = std::floor(std::log10(lo)), d1 = std::max(d0 + 1, std::ceil(std::log10(hi)));
  auto X = [&](double ns) { return kL + (kW - kL - kR) * (std::log10(std::max(ns, 1.0)) - d0) / (d1 - d0); };
  auto Y = [&](double q) { return (kH - kB) - (kH - kB - kT) * q; };
  for (double q = 0; q <= 1.0001; q += 0.25) {
    s += fmt("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", kL, Y(q), kW - kR, Y(q));
    s += fmt("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", kL - 6, Y(q) + 4, q);
  }
  for (double d = d0; d <= d1 + 1e-9; d += 1) {
    const double ns = std::pow(10.0, d);
    s += fmt("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", X(ns), kT, X(ns), kH - kB);
    s += fmt("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", X(ns), kH - kB + 16, num(ns).c_str());
  }
  for (size_t i = 0; i < points.size(); ++i) {
    const point_result& p = points[i];
    const char* color = kColors[i % (sizeof kColors / sizeof *kColors)];
    if (!p.latency.cdf.empty()) {
      s += fmt("<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
      for (const auto& [ns, q] : p.latency.cdf) s += fmt("%.1f,%.1f ", X(ns), Y(q));
      s += "\"/>\n";
    }
    const int ly = kT + 10 + 18 * static_cast<int>(i);
    s +=
        fmt("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
            "<text x=\"%d\" y=\"%d\">%u lcore%s: p50 %s ns, p99 %s ns</text>\n",
            kL + 12, ly, kL + 36, ly, color, kL + 42, ly + 4, p.lcores, p.lcores == 1 ? "" : "s",
            num(p.latency.p50_ns).c_str(), num(p.latency.p99_ns).c_str());
  }
  s += "</svg>\n";
  return s;
}

// ---------------------------------------------------------------- Markdown

std::string report_markdown(const report_data& d) {
  const traffic_profile& p = d.profile;
  const measurement& m = d.m;
  std::string r;
  r += "# phigate capacity: " + md_cell(p.name) + "\n\n";
  if (!p.description.empty()) r += md_cell(p.description) + "\n\n";
  r += "| | |\n|---|---|\n";
  r += "| date | " + d.env.date_utc + " |\n";
  r += "| commit | " + md_cell(d.env.commit) + " |\n";
  r += "| CPU | " + md_cell(d.env.cpu_model) + ", " + std::to_string(d.env.online_cpus) + " online |\n";
  r += "| load average at start | " + d.env.loadavg + " |\n";
  r += "| patterns | " + md_cell(d.env.patterns) + " |\n";
  r += "| profile | " + md_cell(d.profile_path) + " |\n";
  r += fmt("| seconds per point | %.2f (after an untimed warm-up) |\n\n", d.seconds);

  r += "## Profile\n\n| field | value | replayed |\n|---|---|---|\n";
  std::string sizes;
  double total_weight = 0;
  for (const size_weight& s : p.response_sizes) total_weight += s.weight;
  for (const size_weight& s : p.response_sizes)
    sizes += (sizes.empty() ? "" : ", ") + bytes_h(static_cast<double>(s.bytes)) +
             fmt(" (%.0f%%)", total_weight > 0 ? 100 * s.weight / total_weight : 0.0);
  r += "| response_sizes | " + sizes +
       fmt(" | mean %s over %llu responses |\n", bytes_h(d.replay.mean_response_bytes).c_str(),
           static_cast<unsigned long long>(d.replay.responses));
  r += fmt("| sse_share | %s | %s |\n", num(p.sse_share).c_str(), num(d.replay.sse_share).c_str());
  r += fmt("| phi_per_kib | %s (of model text) | %llu values planted per pass |\n", num(p.phi_per_kib).c_str(),
           static_cast<unsigned long long>(d.replay.planted_per_pass));
  r += fmt("| concurrent_flows | %u | split evenly over the lcores |\n", p.concurrent_flows);
  r += fmt("| request_rate_per_s | %s | used for sizing |\n", num(p.request_rate_per_s).c_str());
  r += fmt("| request_bytes | %u | |\n", p.request_bytes);
  r += fmt("| exchanges_per_connection | %u | %u connection scripts, %llu frames per pass |\n\n",
           p.exchanges_per_connection, d.replay.scripts, static_cast<unsigned long long>(d.replay.frames_per_pass));

  r += "## Measured\n\n";
  r += "Gbps: server-to-client TCP payload bits per wall-clock second, all lcores. Mpps: frames in both directions. "
       "Per lcore: aggregate / lcores. Thread CPU: each worker's figure on its own CPU time (what a dedicated lcore "
       "would do). CPU share: worker CPU time / wall time (below 1: the workers were preempted).\n\n";
  r += "| lcores | Gbps | Mpps | Gbps/lcore | Mpps/lcore | Gbps/lcore (thread CPU) | requests/s | requests/s/lcore "
       "(thread CPU) | CPU share | p50 ns | p90 ns | p99 ns | p99.9 ns | max ns | preempted bursts |\n";
  r += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const point_result& pt : m.points) {
    const latency_summary& l = pt.latency;
    r += fmt("| %u | %s | %s | %s | %s | %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %.2f%% |\n", pt.lcores,
             num(pt.gbps).c_str(), num(pt.mpps).c_str(), num(pt.gbps_per_lcore).c_str(), num(pt.mpps_per_lcore).c_str(),
             num(pt.gbps_thread_cpu).c_str(), num(pt.requests_per_s).c_str(), num(pt.requests_thread_cpu).c_str(),
             pt.cpu_share, num(l.p50_ns).c_str(), num(l.p90_ns).c_str(), num(l.p99_ns).c_str(), num(l.p999_ns).c_str(),
             num(l.max_ns).c_str(),
             l.bursts ? 100.0 * static_cast<double>(l.preempted_bursts) / static_cast<double>(l.bursts) : 0.0);
  }
  r += "\n## Scaling\n\n![throughput against lcores](throughput.svg)\n\n";
  const point_result* base = m.points.empty() ? nullptr : &m.points[0];
  for (const point_result& pt : m.points)
    if (pt.lcores < base->lcores) base = &pt;
  if (base) {
    r += "| lcores | Gbps | ideal (linear from " + std::to_string(base->lcores) +
         ") | efficiency |\n|---|---|---|---|\n";
    for (const point_result& pt : m.points) {
      const double ideal = base->gbps_per_lcore * pt.lcores;
      r += fmt("| %u | %s | %s | %.0f%% |\n", pt.lcores, num(pt.gbps).c_str(), num(ideal).c_str(),
               ideal > 0 ? 100 * pt.gbps / ideal : 0.0);
    }
    r += "\n";
  }
  r += "## Latency\n\n![latency CDF](latency-cdf.svg)\n\n";
  r +=
      fmt("Every session_on_packet call timed with rdtsc (the frame copy before it is not included); the timer's own "
          "cost, %.0f ns, is included. Bursts of 32 calls during which the worker lost its CPU for more than 10 us are "
          "left out (column \"preempted bursts\"): a dataplane lcore is dedicated, this shared machine is not.\n\n",
          m.timer_overhead_ns);

  r += "## Memory per flow\n\n";
  r +=
      fmt("One session sized for the profile's %u concurrent flows (a %u-entry flow table): RSS growth %s from "
          "session_create (%s per flow), then %s for %u flows driven live (each a whole connection of the first "
          "script without its FIN, so its history rings are touched as far as its responses reach): %s per live "
          "flow. **Memory per flow: %s** (table, TCP and reassembly state, engine streams, history rings). Per lcore "
          "add the frame pool (mbufs) and the reassembly pool, which do not grow with flows.\n\n",
          m.memory.flows, m.memory.table_capacity, bytes_h(m.memory.rss_create_bytes).c_str(),
          bytes_h(m.memory.flows ? m.memory.rss_create_bytes / m.memory.flows : 0).c_str(),
          bytes_h(m.memory.rss_live_bytes).c_str(), m.memory.sampled_flows,
          bytes_h(m.memory.sampled_flows ? m.memory.rss_live_bytes / m.memory.sampled_flows : 0).c_str(),
          bytes_h(m.memory.bytes_per_flow).c_str());

  const sizing_input& si = d.sizing_in;
  const sizing_result& sz = d.sizing;
  r += "## Sizing\n\n";
  if (!m.points.empty()) {
    const point_result& sp = m.points[d.sizing_point];
    r +=
        fmt("Sized from the %u-lcore point (the highest aggregate capacity, contention between workers included): "
            "%s Gbps and %s requests/s per worker lcore, each worker's throughput on its own CPU time, which is what "
            "a dedicated lcore delivers; on this shared machine the wall-clock figures (%s Gbps per lcore) also "
            "count time the scheduler gave to other processes, and would call for %u worker lcores instead.\n\n",
            sp.lcores, num(si.per_lcore_gbps).c_str(), num(si.per_lcore_rps).c_str(), num(sp.gbps_per_lcore).c_str(),
            d.sizing_wall.workers);
  }
  r += "| | |\n|---|---|\n";
  r += fmt("| target | %s Gbps, %s requests/s |\n", num(si.target_gbps).c_str(), num(si.request_rate_per_s).c_str());
  r += fmt("| headroom | %.0f%% (capacity for %s Gbps, %s requests/s) |\n", si.headroom * 100,
           num(sz.required_gbps).c_str(), num(sz.required_rps).c_str());
  r += fmt("| worker lcores for throughput | ceil(%s / %s) = %u |\n", num(sz.required_gbps).c_str(),
           num(si.per_lcore_gbps).c_str(), sz.workers_for_throughput);
  r += fmt("| worker lcores for requests | ceil(%s / %s) = %u |\n", num(sz.required_rps).c_str(),
           num(si.per_lcore_rps).c_str(), sz.workers_for_requests);
  r += fmt("| **worker lcores** | **%u** (limited by %s) |\n", sz.workers,
           sz.limited_by_requests ? "the request rate" : "throughput");
  r += fmt("| lcores (workers + io) | %u (+%u io lcore; plus one main lcore per appliance) |\n", sz.lcores,
           sz.io_lcores);
  r +=
      fmt("| cores per appliance | %u (%u worker%s each, besides the main lcore and, with more than one worker, the io "
          "lcore) |\n",
          si.cores_per_appliance, sz.workers_per_appliance, sz.workers_per_appliance == 1 ? "" : "s");
  r += fmt("| **appliances** | **%u** (%u cores in use over all) |\n\n", sz.appliances, sz.cores_total);

  r += "## Verification\n\n";
  r += fmt(
      "Before timing, every script (%u connections, %llu responses, %llu frames with the port-reuse pass) ran through "
      "a fresh session: nothing dropped or reset, every held frame returned, checksums valid, every forwarded "
      "response equal to mask_message() of the same response in the same segments, and none of the %llu planted "
      "synthetic values left in the model text of the forwarded responses (%llu bytes masked). Every timed run "
      "ended with zero drops and resets.\n\n",
      m.verify.scripts, static_cast<unsigned long long>(m.verify.responses),
      static_cast<unsigned long long>(m.verify.frames), static_cast<unsigned long long>(m.verify.planted),
      static_cast<unsigned long long>(m.verify.mask_bytes));

  r += "## Assumptions and limits\n\n";
  r += "- In memory: frames are copied from memory into pool buffers and handed to session_on_packet as phigate-dp's "
       "worker does; no NIC, no DMA, no PCIe, no io-lcore dispatch rings, no TX. Real appliances lose some of this to "
       "I/O; the headroom is meant to cover it, measure a real port before committing.\n";
  r += "- CPU: " + md_cell(d.env.cpu_model) + ". Figures transfer only to the same CPU model and clock.\n";
  r += "- Requests are not held (no policy decider); a deployment with approvals or credential swaps adds the request "
       "hold (see docs/benchmarks.md, session_gate).\n";
  r += "- Sizing assumes workers scale linearly beyond the lcores measured here (shared nothing), from the per-lcore "
       "figure of the sizing point.\n";
  uint32_t max_l = 0;
  for (const point_result& pt : m.points) max_l = std::max(max_l, pt.lcores);
  bool limited = false;
  if (d.env.online_cpus <= 2 || max_l >= d.env.online_cpus) {
    r +=
        fmt("- **Scaling is limited on this machine**: %u online CPUs shared by the workers, this process's progress "
            "thread, the OS and any other load (load average %s at start). Points at %u lcores or more cannot show "
            "dedicated-core scaling; trust the thread-CPU column over the wall-clock one there.\n",
            d.env.online_cpus, d.env.loadavg.c_str(), d.env.online_cpus);
    limited = true;
  }
  for (const point_result& pt : m.points) {
    if (base && pt.lcores > base->lcores && base->gbps_per_lcore > 0) {
      const double eff = pt.gbps / (base->gbps_per_lcore * pt.lcores);
      if (eff < 0.85)
        r += fmt("- Scaling efficiency at %u lcores is %.0f%% (CPU share %.2f): %s\n", pt.lcores, 100 * eff,
                 pt.cpu_share,
                 pt.cpu_share < 0.9 ? "the workers were preempted (shared cores), not a property of the dataplane."
                                    : "contention in shared caches or memory bandwidth.");
    }
  }
  if (!limited) r += "- The machine had more CPUs than the largest lcore count measured.\n";
  return r;
}

// ---------------------------------------------------------------- JSON

std::string results_json(const report_data& d) {
  using json = nlohmann::json;
  json j;
  j["environment"] = {{"cpu_model", d.env.cpu_model}, {"online_cpus", d.env.online_cpus}, {"commit", d.env.commit},
                      {"patterns", d.env.patterns},   {"date_utc", d.env.date_utc},       {"loadavg", d.env.loadavg}};
  json sizes = json::array();
  for (const size_weight& s : d.profile.response_sizes) sizes.push_back({{"bytes", s.bytes}, {"weight", s.weight}});
  j["profile"] = {{"name", d.profile.name},
                  {"path", d.profile_path},
                  {"response_sizes", sizes},
                  {"sse_share", d.profile.sse_share},
                  {"phi_per_kib", d.profile.phi_per_kib},
                  {"concurrent_flows", d.profile.concurrent_flows},
                  {"request_rate_per_s", d.profile.request_rate_per_s},
                  {"request_bytes", d.profile.request_bytes},
                  {"exchanges_per_connection", d.profile.exchanges_per_connection}};
  j["replay"] = {{"scripts", d.replay.scripts},
                 {"responses", d.replay.responses},
                 {"sse_share", d.replay.sse_share},
                 {"mean_response_bytes", d.replay.mean_response_bytes},
                 {"planted_per_pass", d.replay.planted_per_pass},
                 {"frames_per_pass", d.replay.frames_per_pass},
                 {"response_payload_per_pass", d.replay.response_payload_per_pass},
                 {"requests_per_pass", d.replay.requests_per_pass}};
  j["seconds_per_point"] = d.seconds;
  json pts = json::array();
  for (const point_result& p : d.m.points) {
    json cdf = json::array();
    for (const auto& [ns, q] : p.latency.cdf) cdf.push_back({ns, q});
    pts.push_back({{"lcores", p.lcores},
                   {"wall_s", p.wall_s},
                   {"gbps", p.gbps},
                   {"mpps", p.mpps},
                   {"gbps_per_lcore", p.gbps_per_lcore},
                   {"mpps_per_lcore", p.mpps_per_lcore},
                   {"gbps_thread_cpu", p.gbps_thread_cpu},
                   {"mpps_thread_cpu", p.mpps_thread_cpu},
                   {"requests_thread_cpu", p.requests_thread_cpu},
                   {"requests_per_s", p.requests_per_s},
                   {"cpu_share", p.cpu_share},
                   {"packets", p.packets},
                   {"response_bytes", p.response_bytes},
                   {"requests", p.requests},
                   {"findings", p.findings},
                   {"mask_bytes", p.mask_bytes},
                   {"drops", p.drops},
                   {"resets", p.resets},
                   {"latency_ns",
                    {{"p50", p.latency.p50_ns},
                     {"p90", p.latency.p90_ns},
                     {"p99", p.latency.p99_ns},
                     {"p999", p.latency.p999_ns},
                     {"max", p.latency.max_ns},
                     {"samples", p.latency.samples},
                     {"bursts", p.latency.bursts},
                     {"preempted_bursts", p.latency.preempted_bursts},
                     {"cdf", cdf}}}});
  }
  j["points"] = pts;
  j["memory"] = {{"flows", d.m.memory.flows},
                 {"sampled_flows", d.m.memory.sampled_flows},
                 {"table_capacity", d.m.memory.table_capacity},
                 {"rss_create_bytes", d.m.memory.rss_create_bytes},
                 {"rss_live_bytes", d.m.memory.rss_live_bytes},
                 {"bytes_per_flow", d.m.memory.bytes_per_flow}};
  j["verification"] = {{"scripts", d.m.verify.scripts},
                       {"responses", d.m.verify.responses},
                       {"planted", d.m.verify.planted},
                       {"mask_bytes", d.m.verify.mask_bytes},
                       {"frames", d.m.verify.frames}};
  j["timer"] = {{"ns_per_tick", d.m.ns_per_tick}, {"overhead_ns", d.m.timer_overhead_ns}};
  const sizing_input& si = d.sizing_in;
  const sizing_result& sz = d.sizing;
  j["sizing"] = {{"point_lcores", d.m.points.empty() ? 0u : d.m.points[d.sizing_point].lcores},
                 {"target_gbps", si.target_gbps},
                 {"request_rate_per_s", si.request_rate_per_s},
                 {"headroom", si.headroom},
                 {"cores_per_appliance", si.cores_per_appliance},
                 {"per_lcore_gbps", si.per_lcore_gbps},
                 {"per_lcore_rps", si.per_lcore_rps},
                 {"required_gbps", sz.required_gbps},
                 {"required_rps", sz.required_rps},
                 {"workers_for_throughput", sz.workers_for_throughput},
                 {"workers_for_requests", sz.workers_for_requests},
                 {"workers", sz.workers},
                 {"limited_by", sz.limited_by_requests ? "requests" : "throughput"},
                 {"io_lcores", sz.io_lcores},
                 {"lcores", sz.lcores},
                 {"workers_per_appliance", sz.workers_per_appliance},
                 {"appliances", sz.appliances},
                 {"cores_total", sz.cores_total},
                 {"basis", "thread_cpu"},
                 {"workers_wall_clock_basis", d.sizing_wall.workers}};
  return j.dump(2) + "\n";
}

std::string write_report(const std::string& dir, const report_data& d) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return "cannot create " + dir + ": " + std::strerror(errno);
  const std::pair<const char*, std::string> files[] = {
      {"report.md", report_markdown(d)},
      {"throughput.svg", svg_throughput(d.m.points)},
      {"latency-cdf.svg", svg_latency_cdf(d.m.points)},
      {"results.json", results_json(d)},
  };
  for (const auto& [name, text] : files) {
    const std::string path = dir + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return "cannot write " + path + ": " + std::strerror(errno);
    out << text;
    out.close();
    if (!out) return "cannot write " + path + ": " + std::strerror(errno);
  }
  return {};
}

}  // namespace phigate::capacity
