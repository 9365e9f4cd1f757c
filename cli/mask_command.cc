// phigate mask: the engine over a file, exactly as the dataplane runs it over packets.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hh"
#include "dataplane/engine/mask_message.hh"
#include "dataplane/scan/pattern_db.hh"

namespace phigate::cli {
namespace {

constexpr const char* kMaskUsage =
    "usage: phigate mask [--patterns FILE]... [--body --content-type TYPE] [--segment N]\n"
    "                    [--findings FILE] [--flush-each] [INPUT]\n"
    "Reads an HTTP/1.1 response message (or, with --body, a bare body of TYPE) from INPUT or\n"
    "stdin and writes it to stdout with PHI masked (same length). Findings go to FILE as JSON\n"
    "lines: entity, pattern, start, end (byte offsets in the input; never the values).\n"
    "--segment N feeds the engine N bytes at a time (the output must not change).\n"
    "--patterns may be given several times: the sets are merged, as phigate-dp does.\n"
    "Exit status: 0 masked, 1 bad usage or unreadable input, 2 the input cannot be masked\n"
    "(nothing is written to stdout then).\n";

bool read_all(const std::string& path, std::vector<uint8_t>& out, std::string& err) {
  if (path.empty() || path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

std::string default_patterns_path() {
  if (const char* env = std::getenv("PHIGATE_PATTERNS"); env && *env) return env;
  return std::string(PHIGATE_PATTERN_DIR) + "/us-phi-core.json";
}

int mask_command(const std::vector<std::string>& args) {
  std::vector<std::string> pattern_files;
  std::string findings_path, input, content_type;
  bool body = false, flush_each = false;
  size_t segment = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> const std::string* {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "phigate mask: %s needs a value\n", name);
        return nullptr;
      }
      return &args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kMaskUsage, stdout);
      return 0;
    } else if (a == "--patterns") {
      auto v = value("--patterns");
      if (!v) return 1;
      pattern_files.push_back(*v);
    } else if (a == "--findings") {
      auto v = value("--findings");
      if (!v) return 1;
      findings_path = *v;
    } else if (a == "--content-type") {
      auto v = value("--content-type");
      if (!v) return 1;
      content_type = *v;
    } else if (a == "--segment") {
      auto v = value("--segment");
      if (!v) return 1;
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v->c_str(), &end, 10);
      if (!end || *end || n == 0 || n > (1u << 30)) {
        std::fprintf(stderr, "phigate mask: --segment takes a byte count from 1 to 1073741824\n");
        return 1;
      }
      segment = n;
    } else if (a == "--body") {
      body = true;
    } else if (a == "--flush-each") {
      flush_each = true;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      std::fprintf(stderr, "phigate mask: unknown option %s\n%s", a.c_str(), kMaskUsage);
      return 1;
    } else if (input.empty()) {
      input = a;
    } else {
      std::fprintf(stderr, "phigate mask: more than one INPUT\n");
      return 1;
    }
  }
  if (body && content_type.empty()) {
    std::fprintf(stderr, "phigate mask: --body needs --content-type TYPE (e.g. application/json)\n");
    return 1;
  }
  if (!body && !content_type.empty()) {
    std::fprintf(stderr, "phigate mask: --content-type only applies with --body\n");
    return 1;
  }

  if (pattern_files.empty()) pattern_files.push_back(default_patterns_path());
  std::string patterns;  // the files, for messages
  for (const std::string& path : pattern_files) patterns += (patterns.empty() ? "" : ", ") + path;
  auto set = scan::pattern_set_load_all(pattern_files);
  if (auto* e = std::get_if<scan::load_error>(&set)) {
    std::fprintf(stderr, "phigate mask: pattern set %s: %s\n", e->where.c_str(), e->reason.c_str());
    return 1;
  }
  auto compiled = scan::pattern_db::compile(std::get<scan::pattern_set>(set));
  if (auto* e = std::get_if<scan::load_error>(&compiled)) {
    std::fprintf(stderr, "phigate mask: pattern set %s: %s: %s\n", patterns.c_str(), e->where.c_str(),
                 e->reason.c_str());
    return 1;
  }
  std::unique_ptr<scan::pattern_db> db = std::move(std::get<0>(compiled));
  engine::engine_config cfg;
  cfg.db = db.get();
  if (const char* why = engine::engine_config_check(cfg)) {
    std::fprintf(stderr, "phigate mask: %s\n", why);
    return 1;
  }
  std::unique_ptr<engine::engine_scratch, void (*)(engine::engine_scratch*)> x(engine::engine_scratch_create(cfg),
                                                                                engine::engine_scratch_destroy);
  if (!x) {
    std::fprintf(stderr, "phigate mask: cannot allocate scanner scratch\n");
    return 1;
  }

  std::vector<uint8_t> in;
  std::string err;
  if (!read_all(input, in, err)) {
    std::fprintf(stderr, "phigate mask: %s\n", err.c_str());
    return 1;
  }
  engine::mask_options opt;
  opt.body_only = body;
  opt.content_type = content_type;
  opt.flush_after_each = flush_each;
  if (segment) opt.segments = std::span<const size_t>(&segment, 1);
  engine::mask_outcome o = engine::mask_message(cfg, *x, in, opt);
  if (!o.ok) {
    std::fprintf(stderr, "phigate mask: %s; nothing written\n", engine::describe_error(o).c_str());
    return 2;
  }
  if (o.late_mask_bytes) {  // an engine bug would show here: refuse rather than claim success
    std::fprintf(stderr, "phigate mask: internal error: %llu masked bytes were released before their mask\n",
                 static_cast<unsigned long long>(o.late_mask_bytes));
    return 2;
  }
  if (!findings_path.empty()) {
    std::ofstream f(findings_path, std::ios::trunc);
    if (!f) {
      std::fprintf(stderr, "phigate mask: cannot write %s: %s\n", findings_path.c_str(), std::strerror(errno));
      return 1;
    }
    for (const auto& fd : o.findings) {
      const auto& m = db->patterns()[fd.pattern];
      f << "{\"entity\":\"" << m.entity << "\",\"pattern\":\"" << m.id << "\",\"start\":" << fd.raw_start
        << ",\"end\":" << fd.raw_end << "}\n";
    }
  }
  std::fwrite(o.output.data(), 1, o.output.size(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "phigate mask: %zu finding(s), %zu bytes\n", o.findings.size(), o.output.size());
  return 0;
}

}  // namespace phigate::cli
