#include "controlplane/daemon/metrics.hh"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <map>

namespace phigate::cp {

namespace {

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return out;
}

std::string label_for(const std::string& key) {
  static const std::map<std::string, std::string> labels = {
      {"drops", "reason"},       {"resets", "reason"},        {"findings_by_entity", "entity"},
      {"decisions", "outcome"},  {"decisions_by_verdict", "verdict"}, {"identity", "result"},
  };
  auto it = labels.find(key);
  return it == labels.end() ? "name" : it->second;
}

std::string number(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
  return buf;
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string prometheus_text(const nlohmann::json& dp, bool dp_up, const std::vector<std::pair<std::string, double>>& cp) {
  std::string out = "# HELP phigate_dp_up Whether the dataplane's stats socket answered.\n# TYPE phigate_dp_up gauge\n";
  out += "phigate_dp_up " + std::string(dp_up ? "1" : "0") + "\n";
  if (dp.is_object()) {
    for (const auto& [key, v] : dp.items()) {
      const std::string name = "phigate_dp_" + sanitize(key);
      if (v.is_number() || v.is_boolean()) {
        out += "# TYPE " + name + " untyped\n" + name + " " + number(v) + "\n";
      } else if (v.is_object()) {
        bool any = false;
        for (const auto& [sub, sv] : v.items()) {
          if (!(sv.is_number() || sv.is_boolean())) continue;
          if (!any) out += "# TYPE " + name + " untyped\n";
          any = true;
          out += name + "{" + label_for(key) + "=\"" + escape_label(sub) + "\"} " + number(sv) + "\n";
        }
      }
    }
  }
  for (const auto& [k, v] : cp) {
    const std::string name = "phigate_cp_" + sanitize(k);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out += "# TYPE " + name + " gauge\n" + name + " " + buf + "\n";
  }
  return out;
}

nlohmann::json read_dp_stats(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  std::string text;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0 || text.size() > (4u << 20)) break;
      text.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

}  // namespace phigate::cp
