// Report writers (cli/capacity/capacity_report.hh): the SVGs are well-formed XML with the measured
// numbers in them, also with a single lcore point; the Markdown and JSON carry the figures and
// the sizing; write_report writes the four files.
#include "cli/capacity/capacity_report.hh"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace phigate::capacity {
namespace {

// A small XML well-formedness check: one root, matching tags, quoted attributes, no raw '<' or
// stray '&' in text or attribute values, only the XML declaration and comments besides elements.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  bool root_seen = false;
  auto bad_amp = [](std::string_view t) {
    for (size_t k = t.find('&'); k != std::string_view::npos; k = t.find('&', k + 1)) {
      const size_t semi = t.find(';', k);
      if (semi == std::string_view::npos) return true;
      const std::string_view ent = t.substr(k + 1, semi - k - 1);
      if (ent != "lt" && ent != "gt" && ent != "amp" && ent != "quot" && ent != "apos" &&
          (ent.empty() || ent[0] != '#'))
        return true;
    }
    return false;
  };
  while (i < s.size()) {
    const size_t lt = s.find('<', i);
    const std::string_view text(s.data() + i, (lt == std::string::npos ? s.size() : lt) - i);
    if (bad_amp(text) || text.find('>') != std::string_view::npos) return "bad text near offset " + std::to_string(i);
    if (!stack.empty() || text.find_first_not_of(" \n\r\t") == std::string_view::npos) {
    } else {
      return "text outside the root at " + std::to_string(i);
    }
    if (lt == std::string::npos) break;
    if (s.compare(lt, 5, "<?xml") == 0) {
      if (lt != 0) return "XML declaration not first";
      const size_t e = s.find("?>", lt);
      if (e == std::string::npos) return "unterminated declaration";
      i = e + 2;
      continue;
    }
    if (s.compare(lt, 4, "<!--") == 0) {
      const size_t e = s.find("-->", lt);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    const size_t gt = s.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    std::string tag = s.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag";
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
    } else {
      const bool self = !tag.empty() && tag.back() == '/';
      if (self) tag.pop_back();
      const size_t sp = tag.find_first_of(" \n\t");
      const std::string name = tag.substr(0, sp);
      if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return "bad element name";
      // Attributes: name="value" pairs.
      size_t k = sp == std::string::npos ? tag.size() : sp;
      while (k < tag.size()) {
        while (k < tag.size() && std::isspace(static_cast<unsigned char>(tag[k]))) ++k;
        if (k >= tag.size()) break;
        const size_t eq = tag.find('=', k);
        if (eq == std::string::npos || tag[eq + 1] != '"') return "unquoted attribute in <" + name + ">";
        const size_t close = tag.find('"', eq + 2);
        if (close == std::string::npos) return "unterminated attribute in <" + name + ">";
        if (bad_amp(std::string_view(tag).substr(eq + 2, close - eq - 2))) return "stray & in an attribute";
        k = close + 1;
      }
      if (stack.empty()) {
        if (root_seen) return "second root element";
        root_seen = true;
      }
      if (!self) stack.push_back(name);
    }
    i = gt + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (!root_seen) return "no root element";
  return {};
}

point_result point(uint32_t lcores, double gbps) {
  point_result p;
  p.lcores = lcores;
  p.wall_s = 1;
  p.gbps = gbps;
  p.gbps_per_lcore = gbps / lcores;
  p.gbps_thread_cpu = gbps / lcores * 1.1;
  p.mpps = gbps / 10;
  p.mpps_per_lcore = p.mpps / lcores;
  p.requests_per_s = 1234.5 * lcores;
  p.requests_thread_cpu = 1300;
  p.cpu_share = 0.95;
  p.latency.p50_ns = 1500;
  p.latency.p90_ns = 4200;
  p.latency.p99_ns = 17800;
  p.latency.p999_ns = 52300;
  p.latency.max_ns = 99000;
  p.latency.samples = 1000;
  for (double q : {0.01, 0.5, 0.9, 0.99, 1.0}) p.latency.cdf.emplace_back(1000 + 60000 * q * q * lcores, q);
  return p;
}

report_data sample(std::vector<point_result> pts) {
  report_data d;
  d.profile.name = "unit-profile";
  d.profile.description = "a | description\nwith a newline";
  d.profile.response_sizes = {{4096, 1}, {65536, 3}};
  d.profile.sse_share = 0.5;
  d.profile.phi_per_kib = 2;
  d.profile.concurrent_flows = 256;
  d.profile.request_rate_per_s = 5000;
  d.profile.request_bytes = 2048;
  d.profile.exchanges_per_connection = 3;
  d.profile_path = "configs/capacity/unit.json";
  d.replay.scripts = 8;
  d.replay.responses = 24;
  d.m.points = std::move(pts);
  d.m.memory.flows = 256;
  d.m.memory.sampled_flows = 256;
  d.m.memory.table_capacity = 512;
  d.m.memory.bytes_per_flow = 81234;
  d.m.verify.planted = 4321;
  d.seconds = 0.25;
  d.sizing_point = 0;
  d.sizing_in = {40, 5000, 0.3, 16, d.m.points[0].gbps_thread_cpu, d.m.points[0].requests_thread_cpu};
  d.sizing = std::get<sizing_result>(size_deployment(d.sizing_in));
  d.sizing_wall = d.sizing;
  d.env.cpu_model = "Test CPU <model> & co";
  d.env.online_cpus = 2;
  d.env.commit = "abc123";
  d.env.patterns = "us-phi-core v1";
  d.env.loadavg = "0.10 0.20 0.30";
  d.env.date_utc = "2026-01-01T00:00:00Z";
  return d;
}

TEST(CapacityReport, XmlCheckerRejectsBrokenXml) {
  EXPECT_EQ(xml_problem("<svg><g/></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg a=b></svg>"), "");
  EXPECT_NE(xml_problem("<svg>a & b</svg>"), "");
  EXPECT_NE(xml_problem("<svg></svg><svg></svg>"), "");
  EXPECT_NE(xml_problem("<svg>"), "");
}

TEST(CapacityReport, ThroughputSvgWellFormedWithNumbers) {
  for (const auto& pts :
       {std::vector<point_result>{point(1, 2.5)}, std::vector<point_result>{point(1, 2.5), point(2, 4.75)}}) {
    const std::string svg = svg_throughput(pts);
    EXPECT_EQ(xml_problem(svg), "") << svg;
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("2.50 Gbps"), std::string::npos) << svg;
    EXPECT_NE(svg.find("ideal linear (2.50 Gbps per lcore)"), std::string::npos);
    EXPECT_EQ(svg.find("nan"), std::string::npos);
    EXPECT_EQ(svg.find("inf"), std::string::npos);
    if (pts.size() == 2) {
      EXPECT_NE(svg.find("4.75 Gbps"), std::string::npos);
      EXPECT_NE(svg.find("<polyline"), std::string::npos);
    }
  }
}

TEST(CapacityReport, LatencySvgWellFormedWithNumbers) {
  for (const auto& pts :
       {std::vector<point_result>{point(1, 2.5)}, std::vector<point_result>{point(1, 2.5), point(2, 4)}}) {
    const std::string svg = svg_latency_cdf(pts);
    EXPECT_EQ(xml_problem(svg), "") << svg;
    EXPECT_NE(svg.find("1 lcore: p50 1500 ns, p99 17800 ns"), std::string::npos) << svg;
    EXPECT_EQ(svg.find("nan"), std::string::npos);
    EXPECT_EQ(svg.find("inf"), std::string::npos);
    size_t lines = 0;
    for (size_t k = svg.find("<polyline"); k != std::string::npos; k = svg.find("<polyline", k + 1)) ++lines;
    EXPECT_EQ(lines, pts.size());
  }
  // No samples at all (nothing timed): still a valid, empty plot.
  point_result empty = point(1, 1);
  empty.latency = latency_summary{};
  EXPECT_EQ(xml_problem(svg_latency_cdf({empty})), "");
}

TEST(CapacityReport, MarkdownCarriesFiguresAndSizing) {
  const report_data d = sample({point(1, 2.5), point(2, 4.75)});
  const std::string md = report_markdown(d);
  for (const char* s : {"# phigate capacity: unit-profile", "| 1 | 2.50 |", "| 2 | 4.75 |", "17800", "52300",
                        "throughput.svg", "latency-cdf.svg", "79.3 KiB", "abc123", "Test CPU <model> & co",
                        "**appliances**", "4321", "Scaling is limited on this machine", "0.10 0.20 0.30"})
    EXPECT_NE(md.find(s), std::string::npos) << s;
  EXPECT_NE(md.find(std::string("| **worker lcores** | **") + std::to_string(d.sizing.workers)), std::string::npos);
  EXPECT_EQ(md.find("a | description"), std::string::npos) << "free text must not break the table";
  EXPECT_EQ(md.find("nan"), std::string::npos);
}

TEST(CapacityReport, ResultsJson) {
  const report_data d = sample({point(1, 2.5)});
  const nlohmann::json j = nlohmann::json::parse(results_json(d));
  ASSERT_EQ(j["points"].size(), 1u);
  EXPECT_DOUBLE_EQ(j["points"][0]["gbps"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(j["points"][0]["latency_ns"]["p99"].get<double>(), 17800);
  EXPECT_EQ(j["points"][0]["latency_ns"]["cdf"].size(), 5u);
  EXPECT_EQ(j["sizing"]["workers"].get<uint32_t>(), d.sizing.workers);
  EXPECT_EQ(j["sizing"]["appliances"].get<uint32_t>(), d.sizing.appliances);
  EXPECT_EQ(j["profile"]["name"], "unit-profile");
  EXPECT_EQ(j["memory"]["bytes_per_flow"].get<double>(), 81234);
}

TEST(CapacityReport, WritesFourFiles) {
  char tmpl[] = "/tmp/capacity_report_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/out";
  EXPECT_EQ(write_report(dir, sample({point(1, 2.5)})), "");
  for (const char* f : {"report.md", "throughput.svg", "latency-cdf.svg", "results.json"}) {
    std::ifstream in(dir + "/" + f);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_GT(ss.str().size(), 100u) << f;
    std::remove((dir + "/" + f).c_str());
  }
  rmdir(dir.c_str());
  rmdir(tmpl);
  EXPECT_NE(write_report("/proc/no/such/dir", sample({point(1, 1)})), "");
}

}  // namespace
}  // namespace phigate::capacity
