// phigate stats: reads phigate-dp's local stats socket (counts and reasons only, never values).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hh"

namespace phigate::cli {

int stats_command(const std::vector<std::string>& args) {
  std::string path = "/run/phigate-dp.sock";
  bool as_json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") as_json = true;
    else if (args[i] == "--socket" && i + 1 < args.size()) path = args[++i];
    else {
      std::fprintf(stderr, "usage: phigate stats [--json] [--socket PATH]\n");
      return 1;
    }
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "phigate stats: cannot connect to %s: %s (is phigate-dp running?)\n", path.c_str(),
                 std::strerror(errno));
    if (fd >= 0) close(fd);
    return 1;
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(fd);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::fprintf(stderr, "phigate stats: %s answered something that is not a stats object\n", path.c_str());
    return 1;
  }
  if (as_json) {
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  // One line per counter, nested objects and arrays flattened with dots ("resets.midstream",
  // "workers.0.protected"); text values (a digest, a flag) printed as they are.
  std::function<void(const std::string&, const nlohmann::json&)> print = [&](const std::string& key,
                                                                            const nlohmann::json& v) {
    if (v.is_object()) {
      for (auto r = v.begin(); r != v.end(); ++r) print(key.empty() ? r.key() : key + "." + r.key(), *r);
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) print(key + "." + std::to_string(i), v[i]);
    } else if (v.is_number_unsigned() || v.is_number_integer()) {
      std::printf("%-28s %lld\n", key.c_str(), v.get<long long>());
    } else if (v.is_string()) {
      std::printf("%-28s %s\n", key.c_str(), v.get<std::string>().c_str());
    } else {
      std::printf("%-28s %s\n", key.c_str(), v.dump().c_str());
    }
  };
  print("", j);
  return 0;
}

}  // namespace phigate::cli
